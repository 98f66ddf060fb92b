"""The command line on top of the check core: a path analyses its project, standard
input, --show-fixes, --add-noqa, -o, --show-settings, --show-files, clean, -s, -v,
--output-format everywhere, colors, the summary's counts after every filter, a
mistyped command, and every option described in --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fork_lint.cli import build_parser
from tests.integration_project import PROJECT, run_cli, write

THREADED_NOQA = """\
import os
import threading


def main():
    threading.Thread(target=print).start()
    os.fork()  # noqa: FRK001
    x = 1  # noqa: FRK004
    return x
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    write(root, PROJECT)
    return root


def rows(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, int, str]]:
    return [(r["filename"], r["location"]["row"], r["code"]) for r in json.loads(proc.stdout)]


def stdin_run(cwd: Path, data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "fork_lint", "--no-cache", *args],
        cwd=cwd,
        input=data,
        capture_output=True,
        check=False,
    )


# ---------------------------------------------------------------------------- project scope


def test_a_file_path_analyses_its_project(project: Path) -> None:
    """svc/main.py holds no sink, but its thread reaches the forks of other files."""
    proc = run_cli(project, "--no-cache", "svc/main.py")
    assert proc.returncode == 1
    assert "svc/jobs.py:5:11: FRK001" in proc.stdout
    assert proc.stdout.endswith("Analysed 5 more files of the project, beyond the paths given.\n")
    alone = run_cli(project, "--no-cache", "--no-whole-project", "svc/main.py")
    assert (alone.returncode, alone.stdout) == (0, "All checks passed!\n")
    whole = run_cli(project, "--no-cache", ".")
    assert "beyond the paths given" not in whole.stdout


def test_api_check_paths_analyses_the_project(project: Path) -> None:
    from fork_lint.api import check_paths

    report = check_paths([project / "svc" / "main.py"], no_cache=True)
    assert {f.code for f in report.findings} == {"FRK001", "FRK004"}
    assert report.files_analyzed == 6
    alone = check_paths([project / "svc" / "main.py"], no_cache=True, whole_project=False)
    assert (alone.findings, alone.files_analyzed) == ([], 1)


def test_summary_counts_hidden_fixes_after_every_filter(project: Path) -> None:
    """svc/tool.py's FRK004 (os.nice) has no fix; svc/jobs.py's FRK001 has none either;
    a scope on worker.py leaves only its safe fix, and nothing is hidden."""
    write(project, {"svc/pool.py": POOL})
    everything = run_cli(project, "--no-cache", ".")
    assert "hidden fix" in everything.stdout
    scoped = run_cli(project, "--no-cache", "svc/worker.py")
    assert "hidden" not in scoped.stdout
    assert "[*] 1 fixable with the `--fix` option." in scoped.stdout
    baseline = project / "base.json"
    run_cli(project, "--no-cache", "--write-baseline", str(baseline), "svc/pool.py")
    hidden = run_cli(project, "--no-cache", "--baseline", str(baseline), ".")
    assert "hidden" not in hidden.stdout


POOL = """\
import multiprocessing
import threading


def work(x):
    return x


def main():
    threading.Thread(target=print).start()
    multiprocessing.Process(target=work, args=(1,)).start()
"""


# ---------------------------------------------------------------------------- stdin


def test_stdin_is_analysed_as_the_named_file_within_its_project(project: Path) -> None:
    buffer = PROJECT["svc/clean.py"] + "\n\ndef go():\n    import os\n    return os.fork()\n"
    code = "import threading\nfrom svc import clean\n\n\ndef start():\n"
    code += "    threading.Thread(target=clean.go).start()\n"
    write(project, {"svc/starter.py": code})
    proc = stdin_run(
        project, buffer.encode(), "--output-format", "json", "--stdin-filename", "svc/clean.py", "-"
    )
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)
    assert [(f["filename"], f["code"]) for f in found] == [("svc/clean.py", "FRK001")]
    assert (project / "svc" / "clean.py").read_text() == PROJECT["svc/clean.py"]  # untouched
    # A file that does not exist yet.
    proc = stdin_run(project, buffer.encode(), "--stdin-filename", "svc/new.py", "-")
    assert proc.returncode == 0, proc.stdout


def test_stdin_fix_prints_the_fixed_code(project: Path) -> None:
    buffer = PROJECT["svc/worker.py"].encode()
    proc = stdin_run(project, buffer, "--fix", "--stdin-filename", "svc/worker.py", "-")
    assert proc.returncode == 0, proc.stderr
    assert b"start_new_session=True" in proc.stdout
    assert b"Fixed 1 error." in proc.stderr
    assert (project / "svc" / "worker.py").read_text() == PROJECT["svc/worker.py"]


def test_stdin_needs_the_dash(project: Path) -> None:
    proc = run_cli(project, "--stdin-filename", "svc/a.py", "svc")
    assert proc.returncode == 2
    assert "pass `-` too" in proc.stderr


# ---------------------------------------------------------------------------- fixes


def test_show_fixes_lists_what_was_fixed(project: Path) -> None:
    proc = run_cli(project, "--no-cache", "--fix", "--show-fixes", "svc/worker.py")
    assert "Fixed 1 error:\n- svc/worker.py:\n    1 FRK004 (preexec-fn-with-threads)\n" in (
        proc.stdout
    )


def test_add_noqa_keeps_existing_codes(project: Path) -> None:
    write(project, {"svc/more.py": "import os\n\n\ndef f():\n    os.fork()  # noqa: E501\n"})
    write(project, {"svc/go.py": "import threading\nfrom svc import more\n\n\ndef g():\n"
                                 "    threading.Thread(target=more.f).start()\n"})  # fmt: skip
    proc = run_cli(project, "--no-cache", "--add-noqa", ".")
    assert proc.returncode == 0
    assert "Added 4 noqa comments." in proc.stderr
    assert "os.fork()  # noqa: E501, FRK001\n" in (project / "svc" / "more.py").read_text()
    assert "pid = os.fork()  # noqa: FRK001\n" in (project / "svc" / "jobs.py").read_text()
    again = run_cli(project, "--no-cache", ".")
    assert (again.returncode, again.stdout) == (0, "All checks passed!\n")


def test_add_noqa_leaves_a_line_that_ends_inside_a_string(tmp_path: Path) -> None:
    source = (
        "import os\nimport threading\n\n\ndef f():\n    threading.Thread(target=print).start()\n"
        '    os.fork() if """\n    x""" else None\n'
    )
    write(tmp_path, {"m.py": source})
    proc = run_cli(tmp_path, "--no-cache", "--add-noqa", "m.py")
    assert "a comment at the end of this line would not be one" in proc.stderr
    assert (tmp_path / "m.py").read_text() == source


def test_unused_noqa_is_reported_and_fixed(tmp_path: Path) -> None:
    write(tmp_path, {"m.py": THREADED_NOQA})
    proc = run_cli(tmp_path, "--no-cache", "--output-format", "concise", "m.py")
    assert proc.returncode == 1
    assert "m.py:8:12: FRK100 [*] Unused `noqa` code `FRK004`" in proc.stdout
    # Deselected: not reported; and a noqa of a deselected rule that suppresses its
    # finding is in use.
    quiet = run_cli(tmp_path, "--no-cache", "--select", "FRK004", "m.py")
    assert quiet.returncode == 0
    only = run_cli(tmp_path, "--no-cache", "--select", "FRK100", "--output-format", "json")
    assert rows(only) == [("m.py", 8, "FRK100")]
    # Analysed alone, a file cannot tell.
    alone = run_cli(tmp_path, "--no-cache", "--no-whole-project", "m.py")
    assert alone.returncode == 0
    fixed = run_cli(tmp_path, "--no-cache", "--fix", "m.py")
    assert fixed.returncode == 0, fixed.stdout
    assert (tmp_path / "m.py").read_text() == THREADED_NOQA.replace("  # noqa: FRK004", "")


# ---------------------------------------------------------------------------- output


def test_output_file(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    proc = run_cli(project, "--no-cache", "--output-format", "json", "-o", str(target))
    assert (proc.returncode, proc.stdout) == (1, "")
    assert len(json.loads(target.read_text())) == 3


def test_silent_prints_nothing_but_keeps_the_exit_code(project: Path) -> None:
    proc = run_cli(project, "--no-cache", "-s")
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "")


def test_verbose_prints_stage_timings(project: Path) -> None:
    proc = run_cli(project, "--no-cache", "-v", "svc/main.py")
    assert "fork-lint: analysed 6 files (5 beyond the paths given)" in proc.stderr
    timings = proc.stderr.split("fork-lint: timings: ", 1)[1]
    for stage in ("settings", "index", "analysis", "filters", "fixes"):
        assert f"{stage} " in timings


def test_statistics_in_json(project: Path) -> None:
    proc = run_cli(project, "--no-cache", "--statistics", "--output-format", "json")
    data = json.loads(proc.stdout)
    assert [(d["code"], d["count"]) for d in data] == [("FRK004", 2), ("FRK001", 1)]
    assert data[0]["fixable"] is True


def test_show_settings_and_files(project: Path) -> None:
    proc = run_cli(project, "--show-files", "svc/main.py")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == sorted(
        p for p in PROJECT if p.endswith(".py")
    )  # the whole project is analysed
    settings = run_cli(project, "--show-settings", "--config", "unsafe-fixes = true")
    assert "unsafe-fixes = true" in settings.stdout
    assert f"project-root = {json.dumps(str(project))}" in settings.stdout


def test_colors_follow_the_environment(project: Path) -> None:
    plain = run_cli(project, "--no-cache", "svc/jobs.py")
    assert "\x1b[" not in plain.stdout
    for env in ({"FORCE_COLOR": "1"}, {"CLICOLOR_FORCE": "1"}):
        forced = run_cli(project, "--no-cache", "svc/jobs.py", env=env)
        assert "\x1b[" in forced.stdout, env
    off = run_cli(project, "--no-cache", "svc/jobs.py", env={"CLICOLOR_FORCE": "0"})
    assert "\x1b[" not in off.stdout
    never = run_cli(project, "--no-cache", "--color", "never", env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in never.stdout


def test_output_format_everywhere(project: Path) -> None:
    rule = run_cli(project, "rule", "FRK100", "--output-format", "json")
    data = json.loads(rule.stdout)
    assert (data["code"], data["name"], data["fixable"]) == ("FRK100", "unused-noqa", True)
    assert data["explanation"].startswith("# FRK100 unused-noqa")
    old = run_cli(project, "rule", "--all", "--format", "json")
    assert [r["code"] for r in json.loads(old.stdout)][-3:] == ["FRK100", "FRK900", "FRK999"]
    graph = run_cli(project, "graph", "--output-format", "json", "-o", "new.json")
    old_graph = run_cli(project, "graph", "--format", "json", "-o", "old.json")
    assert graph.returncode == old_graph.returncode == 0
    assert (project / "new.json").read_text() == (project / "old.json").read_text()
    explain = run_cli(project, "--no-cache", "--explain-path", "svc/jobs.py:5",
                      "--output-format", "dot", "-o", "witness.dot")  # fmt: skip
    assert explain.returncode == 0, explain.stderr
    assert (project / "witness.dot").read_text().startswith("digraph")
    assert run_cli(project, "--output-format", "dot").returncode == 2


def test_a_mistyped_command_is_not_a_path(project: Path) -> None:
    proc = run_cli(project, "chek")
    assert proc.returncode == 2
    assert "unknown command 'chek' (did you mean `check`?)" in proc.stderr


def test_every_option_of_check_has_a_description() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    check = sub.choices["check"]  # type: ignore[attr-defined]
    for action in check._actions:
        if action.help == "==SUPPRESS==":  # the hidden --format alias
            continue
        assert action.help, f"{action.option_strings or action.dest} has no description"


def test_clean_removes_caches_below(project: Path) -> None:
    (project / "sub").mkdir()
    run_cli(project, ".")
    assert (project / ".fork_lint_cache").is_dir()
    (project / "sub" / ".fork_lint_cache").mkdir()
    outside = project.parent / "keep"
    outside.mkdir()
    (project / "link").symlink_to(outside)
    (outside / ".fork_lint_cache").mkdir()
    proc = run_cli(project, "clean")
    assert proc.returncode == 0
    assert not (project / ".fork_lint_cache").exists()
    assert not (project / "sub" / ".fork_lint_cache").exists()
    assert (outside / ".fork_lint_cache").is_dir()  # never through a link


# ---------------------------------------------------------------------------- configuration


def test_configuration_keys_ruff_users_reach_for(project: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared.toml"
    shared.write_text("ignore = ['FRK001']\noutput-format = 'concise'\n", encoding="utf-8")
    write(project, {"fork-lint.toml": f"extend = {json.dumps(str(shared))}\n"
                                      "cache-dir = 'cachedir'\n"})  # fmt: skip
    proc = run_cli(project, ".")
    assert proc.stdout.splitlines()[:2] == [  # concise, and no FRK001
        "svc/tool.py:6:12: FRK004 `subprocess.Popen()` may run while a thread started by "
        "`threading.Thread.start()` at svc/main.py:7 is alive (`preexec_fn` is set)",
        "svc/worker.py:7:12: FRK004 [*] `subprocess.Popen()` may run while a thread started "
        "by `threading.Thread.start()` at svc/worker.py:11 is alive (`preexec_fn` is set)",
    ]
    assert (project / "cachedir").is_dir() and not (project / ".fork_lint_cache").exists()
    write(project, {"fork-lint.toml": "fix = true\n"})
    proc = run_cli(project, "--no-cache", "svc/worker.py")
    assert "start_new_session=True" in (project / "svc" / "worker.py").read_text()
    assert "Fixed 1 error." in proc.stdout
    proc = run_cli(project, "--no-cache", "--no-fix", "--config", "unsafe-fixes = true", ".")
    assert "hidden" not in proc.stdout


def test_config_file_by_content_and_overrides(project: Path, tmp_path: Path) -> None:
    odd = tmp_path / "settings.cfg.toml"
    odd.write_text("[tool.fork-lint]\nselect = ['FRK001']\n", encoding="utf-8")
    proc = run_cli(project, "--no-cache", "--output-format", "json", "--config", str(odd))
    assert {code for _, _, code in rows(proc)} == {"FRK001"}
    proc = run_cli(project, "--no-cache", "--output-format", "json",
                   "--config", "select = ['FRK004']")  # fmt: skip
    assert {code for _, _, code in rows(proc)} == {"FRK004"}
    bad = run_cli(project, "--config", "select = [", ".")
    assert bad.returncode == 2
    assert "neither a configuration file nor a TOML 'KEY = VALUE' pair" in bad.stderr


def test_extend_cycle_is_an_error(project: Path) -> None:
    write(project, {"fork-lint.toml": "extend = 'other.toml'\n", "other.toml": "extend = "
                    "'fork-lint.toml'\n"})  # fmt: skip
    proc = run_cli(project, ".")
    assert proc.returncode == 2
    assert "extends this file again (a cycle)" in proc.stderr


# ---------------------------------------------------------------------------- watch


def test_watch_runs_again_on_relevant_changes_only() -> None:
    from fork_lint.watch import run_watch

    runs: list[int] = []

    def run() -> int:
        runs.append(1)
        return len(runs)

    batches = [{"a/.fork_lint_cache/x"}, {"a/notes.txt"}, {"a/m.py"}, {"a/pyproject.toml"}]
    assert run_watch(run, batches) == 3
    assert len(runs) == 3


def test_polling_sees_edits_without_waiting(tmp_path: Path) -> None:
    from fork_lint.watch import poll

    target = tmp_path / "m.py"
    target.write_text("x = 1\n")
    edits = iter(
        [
            lambda: (tmp_path / "notes.txt").write_text("n"),  # not relevant: no batch
            lambda: target.write_text("x = 22\n"),
            lambda: (tmp_path / "new.py").write_text(""),
        ]
    )

    def sleep(_seconds: float) -> None:
        next(edits)()

    batches = poll([tmp_path], sleep=sleep)
    assert next(batches) == {str(target)}
    assert next(batches) == {str(tmp_path / "new.py")}


def test_watch_reuses_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second run of a watch reads the facts of unchanged files from the cache."""
    from fork_lint import watch
    from fork_lint.project import ProjectFacts

    extracted: list[int] = []
    real = ProjectFacts._fill

    def fill(self: ProjectFacts, indices: object) -> None:
        before = self.extracted
        real(self, indices)  # type: ignore[arg-type]
        extracted.append(self.extracted - before)

    monkeypatch.setattr(ProjectFacts, "_fill", fill)
    edited = project / "svc" / "clean.py"

    def one_edit(roots: object) -> object:
        edited.write_text("X = 2\n")
        yield {str(edited)}

    monkeypatch.setattr(watch, "changes", one_edit)
    proc = run_cli(project, "--watch", "-j", "1", "svc")
    assert proc.returncode == 1
    assert "1 file changed, checking again" in proc.stderr
    assert sum(extracted) == len([p for p in PROJECT if p.endswith(".py")]) + 1


# -- one run, several reports; paths from another directory (CI in a monorepo) ----------


@pytest.mark.skipif(sys.platform == "win32", reason="git in a temporary directory")
def test_extra_output_writes_the_same_runs_findings_and_ignores_only_changed(
    tmp_path: Path,
) -> None:
    from tests.integration_project import git, make_repo

    repo = make_repo(tmp_path / "repo")
    tool = repo / "svc" / "tool.py"
    tool.write_text(tool.read_text().replace("os.nice", "os.setpgrp"), encoding="utf-8")
    proc = run_cli(
        repo,
        "check",
        "--output-format",
        "json",
        "--diff-base",
        "HEAD",
        "--only-changed",
        "--extra-output",
        "sarif=all.sarif",
        "--extra-output",
        "concise=all.txt",
        "--no-cache",
    )
    assert proc.returncode == 1, proc.stderr
    assert rows(proc) == [("svc/tool.py", 6, "FRK004")]
    sarif = json.loads((repo / "all.sarif").read_text(encoding="utf-8"))
    assert len(sarif["runs"][0]["results"]) == 3
    assert (repo / "all.txt").read_text(encoding="utf-8").count(": FRK00") == 3
    assert git(repo, "status", "--porcelain", "--untracked-files=no").strip() == "M svc/tool.py"


def test_extra_output_refuses_bad_values_and_runs_that_print_no_findings(project: Path) -> None:
    from tests.integration_project import fork_lint

    for value in ("sarif", "yaml=x.yaml", "sarif="):
        proc = fork_lint(project, "check", "--extra-output", value)
        assert proc.returncode == 2
        assert "--extra-output" in proc.stderr
    proc = run_cli(project, "check", "--statistics", "--extra-output", "sarif=x.sarif")
    assert proc.returncode == 2
    assert "cannot be combined with --statistics" in proc.stderr
    assert not (project / "x.sarif").exists()


def test_paths_relative_to_moves_every_path_of_every_format(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / "services" / "api", PROJECT)
    api = repo / "services" / "api"
    shown = {"svc/jobs.py", "svc/tool.py", "svc/worker.py"}
    moved = {f"services/api/{p}" for p in shown}
    github = run_cli(api, "check", "--output-format", "github", "--paths-relative-to", "../..")
    files = {line.split("file=")[1].split(",")[0] for line in github.stdout.splitlines()}
    assert files == moved
    assert "thread started at services/api/svc/main.py:" in github.stdout
    sarif = run_cli(api, "check", "--output-format", "sarif", "--paths-relative-to", "../..")
    log = json.loads(sarif.stdout)
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
        for loc in r["locations"] + r.get("relatedLocations", [])
    }
    assert moved <= uris
    assert all((repo / uri).is_file() for uri in uris)
    # The code frames are still read from the files: the full format shows the source.
    full = run_cli(api, "check", "--paths-relative-to", str(repo), "--no-cache")
    assert "services/api/svc/jobs.py:5:" in full.stdout
    assert "pid = os.fork()" in full.stdout
    # A directory the files are not under: they are shown absolute.
    other = run_cli(
        api, "check", "--output-format", "json", "--paths-relative-to", str(tmp_path / "x")
    )
    assert {r["filename"] for r in json.loads(other.stdout)} == {
        str(api.resolve() / p) for p in shown
    }
    plain = run_cli(api, "check", "--output-format", "json")
    assert {r["filename"] for r in json.loads(plain.stdout)} == shown
