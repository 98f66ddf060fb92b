"""The flake8 plugin, run through the real `flake8` executable (with -j 1 and -j 2) and in-process.

`flake8 --select FRK` must report for each file exactly what `fork-lint` reports for it
when run on the file's project, with the analysis done once per process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.integration_project import PROJECT, run_cli, write

FLAKE8 = shutil.which("flake8")
pytestmark = pytest.mark.skipif(FLAKE8 is None, reason="flake8 is not installed")

LINE = re.compile(r"^(?:\./)?(?P<path>[^:]+):(?P<row>\d+):(?P<col>\d+): (?P<text>FRK\d{3} .*)$")
DOCS = Path(__file__).parent.parent / "docs" / "integrations.md"


def flake8(cwd: Path, *args: str) -> tuple[int, set[tuple[str, int, int, str]], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    found = set()
    for line in proc.stdout.splitlines():
        match = LINE.match(line)
        if match:
            found.add((match["path"], int(match["row"]), int(match["col"]), match["text"]))
    return proc.returncode, found, proc.stderr


def fork_lint_findings(cwd: Path, *args: str) -> set[tuple[str, int, int, str]]:
    proc = run_cli(cwd, "--output-format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return {
        (
            r["filename"],
            r["location"]["row"],
            r["location"]["column"],
            f"{r['code']} {r['message']}",
        )
        for r in json.loads(proc.stdout)
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(root, PROJECT)
    return root


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_flake8_reports_what_fork_lint_reports(project: Path, jobs: str) -> None:
    expected = fork_lint_findings(project, ".")
    assert len(expected) == 3
    code, found, stderr = flake8(project, "--select", "FRK", "-j", jobs, ".")
    assert code == 1, stderr
    assert found == expected


def test_one_file_gets_the_whole_project_analysis(project: Path) -> None:
    # svc/tool.py alone starts no thread; the thread is in svc/main.py.
    whole = fork_lint_findings(project, ".")
    in_tool = {f for f in whole if f[0] == "svc/tool.py"}
    assert len(in_tool) == 1
    code, found, stderr = flake8(
        project, "--select", "FRK", "-j", "2", "svc/tool.py", "svc/clean.py"
    )
    assert (code, found) == (1, in_tool), stderr


def test_flake8_from_a_subdirectory_and_with_noqa(project: Path) -> None:
    tool = project / "svc" / "tool.py"
    tool.write_text(tool.read_text().replace("os.nice)", "os.nice)  # noqa: FRK004"))
    code, found, _ = flake8(project / "svc", "--select", "FRK", ".")
    assert code == 1
    assert {(path, row) for path, row, _, _ in found} == {("jobs.py", 5), ("worker.py", 7)}


def flake8_config_from_the_docs() -> str:
    (block,) = re.findall(r"^```ini\n(.*?)^```$", DOCS.read_text(encoding="utf-8"), re.M | re.S)
    return block


MYAPP = {
    "pyproject.toml": '[project]\nname = "myapp"\n',
    "myapp/__init__.py": "",
    # A C extension fork-lint cannot see into starts the reporter thread.
    "myapp/metrics.py": "import _native\n\n\ndef start_reporter():\n    _native.spawn()\n",
    "myapp/main.py": textwrap.dedent(
        """\
        import multiprocessing
        import os

        from myapp import metrics


        def main():
            metrics.start_reporter()
            os.fork()
            multiprocessing.Process(target=print).start()
        """
    ),
}


def test_options_from_the_documented_config_file(tmp_path: Path) -> None:
    root = tmp_path / "myapp"
    write(root, MYAPP)
    code, found, _ = flake8(root, "--select", "FRK", ".")
    assert (code, found) == (0, set())  # the thread source is unknown
    (root / ".flake8").write_text(flake8_config_from_the_docs(), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "."], cwd=root, capture_output=True, text=True, check=False
    )
    codes = sorted(line.split()[1] for line in proc.stdout.splitlines() if " FRK" in line)
    # py312 in the config: the default start method is still 'fork'.
    assert codes == ["FRK001", "FRK002"], proc.stdout + proc.stderr
    # The command line overrides the file: from 3.14 on, Linux defaults to forkserver.
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--fork-lint-target-version", "py314", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    codes = sorted(line.split()[1] for line in proc.stdout.splitlines() if " FRK" in line)
    assert codes == ["FRK001"], proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--fork-lint-target-version", "py99", "'py99' is not one of"),
        ("--fork-lint-thread-sources", "not a name", "is not of the form 'module:qualname'"),
        ("--fork-lint-fork-sinks", "pkg.mod", "is not of the form 'module:qualname'"),
    ],
)
def test_bad_option_values_are_usage_errors(
    project: Path, option: str, value: str, message: str
) -> None:
    code, _, stderr = flake8(project, "--select", "FRK", option, value, ".")
    assert code == 2
    assert message in stderr


def test_fork_sinks_option(tmp_path: Path) -> None:
    root = tmp_path / "sinks"
    write(
        root,
        {
            "pyproject.toml": '[project]\nname = "s"\n',
            "s/__init__.py": "",
            "s/run.py": (
                "import threading\nimport daemonize\n\n\ndef main():\n"
                "    threading.Thread(target=print).start()\n    daemonize.detach()\n"
            ),
        },
    )
    assert flake8(root, "--select", "FRK", ".")[0] == 0
    code, found, _ = flake8(
        root, "--select", "FRK", "--fork-lint-fork-sinks", "daemonize:detach", "."
    )
    assert code == 1
    assert [text.split()[0] for *_, text in found] == ["FRK005"]


# -- in-process: memoisation and no side effects on import ---------------------------


def test_analysis_runs_once_per_project_per_process(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fork_lint.core
    from fork_lint.integrations import flake8 as plugin

    calls: list[int] = []
    real = fork_lint.core.check

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fork_lint.core, "check", counting)
    monkeypatch.setattr(plugin, "_MEMO", {})
    monkeypatch.setattr(plugin, "_ROOTS", {})
    monkeypatch.chdir(project)
    results = {}
    for name in ("svc/main.py", "svc/jobs.py", "svc/tool.py", "svc/worker.py", "svc/clean.py"):
        checker = plugin.ForkLintChecker(tree=None, filename=name)  # type: ignore[arg-type]
        results[name] = [(line, col, text.split()[0]) for line, col, text, _ in checker.run()]
    assert len(calls) == 1
    assert results == {
        "svc/main.py": [],
        "svc/jobs.py": [(5, 10, "FRK001")],
        "svc/tool.py": [(6, 11, "FRK004")],
        "svc/worker.py": [(7, 11, "FRK004")],
        "svc/clean.py": [],
    }
    # Other options are another analysis; the same options are not.
    plugin.findings_for("svc/jobs.py", plugin._Options(target_version="py314"))
    plugin.findings_for("svc/jobs.py", plugin._Options(target_version="py314"))
    assert len(calls) == 2


def test_loading_the_plugin_starts_no_thread_and_imports_no_analysis() -> None:
    script = textwrap.dedent(
        """\
        import os, sys, threading
        import fork_lint.integrations.flake8 as plugin
        assert threading.active_count() == 1, threading.enumerate()
        heavy = [m for m in ("fork_lint.engine", "fork_lint.graph.solver") if m in sys.modules]
        assert not heavy, heavy
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert (proc.returncode, proc.stdout) == (0, "ok\n"), proc.stderr


def test_running_the_analysis_starts_no_thread(project: Path) -> None:
    script = textwrap.dedent(
        """\
        import threading
        from fork_lint.integrations.flake8 import ForkLintChecker
        found = list(ForkLintChecker(None, "svc/jobs.py").run())
        assert len(found) == 1, found
        assert threading.active_count() == 1, threading.enumerate()
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=project, capture_output=True, text=True, check=False
    )
    assert (proc.returncode, proc.stdout) == (0, "ok\n"), proc.stderr
