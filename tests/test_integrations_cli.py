"""The CI and pre-commit flags of `fork-lint check`, run as a subprocess on real git repositories:
--whole-project, --diff-base, --only-changed, --baseline, --write-baseline, $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fork_lint.model import Location, Span
from fork_lint.vcs import ChangedLines, changed_lines, parse_unified_diff
from tests.integration_project import EXPECTED, PROJECT, fork_lint, git, make_repo, run_cli, write

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def reported(cwd: Path, *args: str) -> tuple[int, list[tuple[str, int, str]]]:
    """Exit code and (path, line, code) of each finding, in output order."""
    proc = run_cli(cwd, "--output-format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    rows = json.loads(proc.stdout)
    return proc.returncode, [(r["filename"], r["location"]["row"], r["code"]) for r in rows]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_project_reports_what_the_tests_expect(repo: Path) -> None:
    code, rows = reported(repo, ".")
    assert code == 1
    assert set(rows) == EXPECTED


def test_the_installed_command_takes_the_new_flags(repo: Path) -> None:
    proc = fork_lint(repo, "--whole-project", "--diff-base", "HEAD", "--only-changed", "svc")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "All checks passed!\n", "")


# -- --whole-project ----------------------------------------------------------------


def test_whole_project_reports_findings_in_or_through_the_given_files(repo: Path) -> None:
    # Alone, svc/main.py has no sink: --no-whole-project analyses only the files given.
    assert reported(repo, "--no-whole-project", "svc/main.py") == (0, [])
    # The project analysed whole (the default), findings whose witness passes through main.py.
    code, rows = reported(repo, "svc/main.py")
    assert code == 1
    assert set(rows) == {("svc/jobs.py", 5, "FRK001"), ("svc/tool.py", 6, "FRK004")}
    assert reported(repo, "--whole-project", "svc/main.py") == (code, rows)
    assert reported(repo, "--whole-project", "svc/worker.py") == (
        1,
        [("svc/worker.py", 7, "FRK004")],
    )
    assert reported(repo, "--whole-project", "svc/clean.py") == (0, [])
    assert {path for path, _, _ in reported(repo, "--whole-project", "svc")[1]} == {
        "svc/jobs.py",
        "svc/tool.py",
        "svc/worker.py",
    }  # a directory stands for every file below it
    assert reported(repo, "--whole-project", "svc/jobs.py", "svc/worker.py") == (
        1,
        [("svc/jobs.py", 5, "FRK001"), ("svc/worker.py", 7, "FRK004")],
    )


def test_whole_project_from_a_subdirectory_and_without_files(repo: Path) -> None:
    code, rows = reported(repo / "svc", "--whole-project", "jobs.py")
    assert (code, rows) == (1, [("jobs.py", 5, "FRK001")])
    code, rows = reported(repo / "svc", "--whole-project")
    assert code == 1
    assert {(path, code) for path, _, code in rows} == {
        ("jobs.py", "FRK001"),
        ("tool.py", "FRK004"),
        ("worker.py", "FRK004"),
    }


def test_whole_project_respects_the_projects_exclusions(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        PROJECT["pyproject.toml"] + '\n[tool.fork-lint]\nextend-exclude = ["svc/jobs.py"]\n',
        encoding="utf-8",
    )
    # The walk of the project leaves it out: not analysed, not reported.
    assert ("svc/jobs.py", 5, "FRK001") not in reported(repo, ".")[1]
    # Named explicitly, an excluded file is analysed (within its project), as in ruff,
    # unless --force-exclude (the hooks' flag) leaves it out as the walk does.
    assert reported(repo, "svc/jobs.py") == (1, [("svc/jobs.py", 5, "FRK001")])
    assert reported(repo, "--force-exclude", "svc/jobs.py") == (0, [])
    assert reported(repo, "--no-whole-project", "svc/jobs.py") == (0, [])  # alone: no thread


TWO_PROJECTS = {
    # Both projects have a package `app` with the same module names: analysed together,
    # b's fork would look reachable from a's thread.
    "a/pyproject.toml": '[project]\nname = "a"\n',
    "a/app/__init__.py": "",
    "a/app/main.py": (
        "import threading\nfrom app import jobs\n\n\ndef main():\n"
        "    threading.Thread(target=print).start()\n    jobs.spawn()\n"
    ),
    "a/app/jobs.py": "import os\n\n\ndef spawn():\n    return os.fork()\n",
    "b/pyproject.toml": '[project]\nname = "b"\n',
    "b/app/__init__.py": "",
    "b/app/main.py": "from app import jobs\n\n\ndef main():\n    jobs.spawn()\n",
    "b/app/jobs.py": "import os\n\n\ndef spawn():\n    return os.fork()\n",
}


def test_whole_project_analyses_each_project_separately(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "mono", TWO_PROJECTS)
    code, rows = reported(
        repo, "--whole-project", "a/app/jobs.py", "b/app/jobs.py", "b/app/main.py"
    )
    assert (code, rows) == (1, [("a/app/jobs.py", 5, "FRK001")])
    proc = run_cli(repo, "--whole-project", "a/app/main.py", "b/app/main.py")
    assert proc.returncode == 1
    assert "Found 1 error." in proc.stdout


def test_whole_project_missing_file_is_a_usage_error(repo: Path) -> None:
    proc = run_cli(repo, "--whole-project", "svc/nope.py")
    assert proc.returncode == 2
    assert "svc/nope.py: no such file or directory" in proc.stderr


# -- --diff-base and --only-changed ---------------------------------------------------


@pytest.fixture
def changed(repo: Path) -> Path:
    """A feature branch: tool.py's sink line edited, worker.py's thread start edited, a
    line added in main.py that moves the rest down, and an untracked file with a fork."""
    git(repo, "checkout", "-q", "-b", "feature")
    write(
        repo,
        {
            "svc/tool.py": PROJECT["svc/tool.py"].replace("os.nice", "os.setpgrp"),
            "svc/worker.py": PROJECT["svc/worker.py"].replace(
                'args=(["true"],))', 'args=(["true"],), daemon=True)'
            ),
            "svc/main.py": PROJECT["svc/main.py"].replace(
                "    jobs.spawn()", "    print('starting')\n    jobs.spawn()"
            ),
        },
    )
    git(repo, "commit", "-q", "-am", "feature")
    write(
        repo,
        {
            "svc/extra.py": (
                "import os\nimport threading\n\n\ndef boom():\n    os.fork()\n\n\n"
                "def start():\n    threading.Thread(target=boom).start()\n"
            )
        },
    )
    return repo


def test_diff_base_puts_changed_findings_first(changed: Path) -> None:
    proc = run_cli(changed, "--output-format", "github", "--diff-base", "main", ".")
    assert proc.returncode == 1, proc.stderr
    files = [line.split("file=")[1].split(",")[0] for line in proc.stdout.splitlines()]
    # Rank 0 (sink line changed or new file), then rank 1 (witness changed), then the rest.
    assert files == ["svc/extra.py", "svc/tool.py", "svc/worker.py", "svc/jobs.py"]


def test_only_changed_leaves_out_the_rest_in_every_format(changed: Path) -> None:
    code, rows = reported(changed, "--diff-base", "main", "--only-changed", ".")
    assert code == 1
    assert {path for path, _, _ in rows} == {"svc/extra.py", "svc/tool.py", "svc/worker.py"}
    args = ("--diff-base", "main", "--only-changed", "svc/jobs.py", "svc/main.py")
    proc = run_cli(changed, "--no-whole-project", *args)
    assert (proc.returncode, proc.stdout) == (0, "All checks passed!\n")
    # Within the project, the changed svc/tool.py is reached through svc/main.py.
    assert reported(changed, *args) == (1, [("svc/tool.py", 6, "FRK004")])


def test_step_summary_lists_every_reported_finding(changed: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    args = ("--output-format", "github", "--diff-base", "main", "--only-changed", ".")
    proc = run_cli(changed, *args, env=env)
    assert proc.returncode == 1
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## fork-lint\n")  # appended, not overwritten
    assert "3 findings, 3 touching lines changed since `main`." in text
    assert "- 1 finding away from the changed lines left out (`--only-changed`)." in text
    rows = [line for line in text.splitlines() if line.startswith("| line") or "| witness" in line]
    assert len(rows) == 3
    # Other formats leave the summary alone.
    before = summary.read_text(encoding="utf-8")
    run_cli(changed, "--output-format", "json", "--diff-base", "main", ".", env=env)
    assert summary.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--diff-base", "no-such-branch"), "--diff-base no-such-branch: unknown revision"),
        (("--only-changed",), "--only-changed needs --diff-base REF"),
    ],
)
def test_diff_base_usage_errors(repo: Path, args: tuple[str, ...], message: str) -> None:
    proc = run_cli(repo, *args, ".")
    assert proc.returncode == 2
    assert message in proc.stderr


def test_diff_base_outside_a_repository(tmp_path: Path) -> None:
    write(tmp_path / "plain", {"m.py": "x = 1\n"})
    proc = run_cli(tmp_path / "plain", "--diff-base", "main", ".")
    assert proc.returncode == 2
    assert "--diff-base main:" in proc.stderr


def test_changed_lines_without_a_merge_base_compares_with_the_revision(repo: Path) -> None:
    git(repo, "checkout", "-q", "--orphan", "other")
    git(repo, "rm", "-rq", "--cached", ".")
    write(repo, {"svc/jobs.py": PROJECT["svc/jobs.py"] + "\n\nX = 1\n"})
    git(repo, "add", "svc/jobs.py")
    git(repo, "commit", "-q", "-m", "unrelated history")
    lines = changed_lines("main", repo)
    jobs = str((repo / "svc/jobs.py").resolve())
    assert lines.files[jobs] == frozenset({7, 8, 9})


def test_changed_lines_ranks() -> None:
    cwd = Path("/r")
    lines = ChangedLines("b", {"/r/a.py": frozenset({3, 4}), "/r/new.py": None})
    at = lambda path, first, last: Location(path, Span(first, 0, last, 1))  # noqa: E731
    assert lines.touches(at("a.py", 4, 4), cwd)
    assert lines.touches(at("a.py", 1, 3), cwd)  # a multi-line span reaching a changed line
    assert not lines.touches(at("a.py", 5, 9), cwd)
    assert lines.touches(at("new.py", 100, 100), cwd)
    assert not lines.touches(at("other.py", 3, 3), cwd)


def test_parse_unified_diff() -> None:
    diff = """\
diff --git a/m.py b/m.py
--- a/m.py
+++ b/m.py
@@ -1,0 +2,2 @@ def f():
+    x = 1
+    y = 2
@@ -10 +12 @@
-a
+b
@@ -20,3 +24,0 @@
-gone
diff --git "a/d\\303\\251j\\303\\240 vu.py" "b/d\\303\\251j\\303\\240 vu.py"
--- "a/d\\303\\251j\\303\\240 vu.py"
+++ "b/d\\303\\251j\\303\\240 vu.py"
@@ -0,0 +1,3 @@
+1
+2
+3
diff --git a/removed.py b/removed.py
--- a/removed.py
+++ /dev/null
@@ -1,2 +0,0 @@
-x
-y
diff --git a/only_deleted.py b/only_deleted.py
--- a/only_deleted.py
+++ b/only_deleted.py
@@ -4,2 +3,0 @@
-x
-y
"""
    assert parse_unified_diff(diff) == {
        "m.py": frozenset({2, 3, 12}),
        "déjà vu.py": frozenset({1, 2, 3}),
        "only_deleted.py": frozenset(),
    }


# -- baselines -----------------------------------------------------------------------


def test_baseline_hides_recorded_findings_and_reports_new_ones(repo: Path) -> None:
    baseline = repo / "fork-lint-baseline.json"
    proc = run_cli(repo, "--write-baseline", str(baseline), ".")
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert "wrote 3 findings" in proc.stderr
    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert data["tool"] == "fork-lint"
    assert [(e["path"], e["line"], e["code"]) for e in data["findings"]] == sorted(EXPECTED)

    assert run_cli(repo, "--baseline", str(baseline), ".").stdout == "All checks passed!\n"

    # Unrelated lines move: the findings stay hidden.
    write(repo, {"svc/jobs.py": '"""Jobs."""\n\nLIMIT = 1\n\n' + PROJECT["svc/jobs.py"]})
    assert reported(repo, "--baseline", str(baseline), ".") == (0, [])

    # A second, identical fork line in the same function is new: one entry hides one finding.
    write(
        repo,
        {
            "svc/jobs.py": PROJECT["svc/jobs.py"].replace(
                "    return pid", "    pid = os.fork()\n    return pid"
            )
        },
    )
    assert reported(repo, "--baseline", str(baseline), ".") == (1, [("svc/jobs.py", 6, "FRK001")])

    # From a subdirectory the same baseline applies (paths are relative to the project root).
    assert reported(repo / "svc", "--baseline", str(baseline), ".") == (
        1,
        [("jobs.py", 6, "FRK001")],
    )


def test_rewriting_a_baseline_is_byte_identical(repo: Path) -> None:
    baseline = repo / "b.json"
    run_cli(repo, "--write-baseline", str(baseline), ".")
    first = baseline.read_bytes()
    proc = run_cli(repo, "--baseline", str(baseline), "--write-baseline", str(baseline), "svc")
    assert proc.returncode == 0
    assert baseline.read_bytes() == first


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read baseline"),
        ("{not json", "not a fork-lint baseline"),
        ('{"tool": "ruff", "findings": []}', "not a fork-lint baseline"),
        ('{"tool": "fork-lint", "version": 99, "findings": []}', "version 99 is not supported"),
        ('{"tool": "fork-lint", "version": 1, "findings": [{}]}', "findings[0] has no string"),
    ],
)
def test_bad_baselines_are_usage_errors(repo: Path, content: str | None, message: str) -> None:
    path = repo / "baseline.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    proc = run_cli(repo, "--baseline", str(path), ".")
    assert proc.returncode == 2
    assert message in proc.stderr


# -- the fix hook's command ------------------------------------------------------------


def test_exit_non_zero_on_fix(repo: Path) -> None:
    worker = repo / "svc" / "worker.py"
    hook = ("--whole-project", "--fix", "svc/worker.py")
    proc = run_cli(repo, *hook, "--exit-non-zero-on-fix")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # changed a file, nothing remains
    assert "Fixed 1 error." in proc.stdout
    assert "start_new_session=True" in worker.read_text(encoding="utf-8")
    assert "svc/jobs.py" not in proc.stdout  # only findings touching the given file
    assert "preexec_fn=os.nice" in (repo / "svc" / "tool.py").read_text(encoding="utf-8")
    proc = run_cli(repo, *hook, "--exit-non-zero-on-fix")
    assert (proc.returncode, proc.stdout) == (
        0,
        "All checks passed!\nAnalysed 5 more files of the project, beyond the paths given.\n",
    )
    git(repo, "checkout", "-q", "--", "svc/worker.py")
    assert run_cli(repo, *hook).returncode == 0  # without the flag, as ruff: nothing remains


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_a_reader_that_goes_away_is_not_an_internal_error(repo: Path) -> None:
    # `fork-lint | head -1` with more output than the pipe holds: the exit status of a
    # tool SIGPIPE killed, and nothing on stderr (it used to say "internal error").
    process = subprocess.Popen(
        [sys.executable, "-m", "fork_lint", "--no-cache", "--unsafe-fixes"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert err == b""
