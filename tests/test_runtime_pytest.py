"""The pytest plugin, run as a real pytest in a subprocess (with a timeout) on small suites."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

SUITE = """\
import os, threading
import pytest


def fork_and_wait():
    pid = os.fork()  # <- FORK
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


@pytest.fixture
def worker():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="worker")
    thread.start()  # <- START
    yield
    stop.set()
    thread.join()


def test_quiet():
    fork_and_wait()


def test_hazard(worker):
    fork_and_wait()


@pytest.mark.fork_lint_allow_fork
def test_on_purpose(worker):
    fork_and_wait()


def test_error_swallowed(worker):
    try:
        fork_and_wait()
    except Exception:
        pass


def test_after_join(worker):
    pass


def test_guard_state():
    import fork_lint.runtime as rt
    print("GUARD", rt.installed_mode(), os.fork.__module__)
"""


def line(code: str, name: str) -> int:
    return next(n for n, text in enumerate(code.splitlines(), 1) if text.endswith(f"# <- {name}"))


def pytest_run(
    tmp_path: Path, *args: str, ini: str = "", files: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORK_LINT", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-rA", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def runtime_summary(output: str) -> str:
    """The plugin's terminal-summary section."""
    section = output.split("= fork-lint runtime =", 1)[1]
    return section.split("short test summary info", 1)[0]


def outcomes(output: str) -> dict[str, str]:
    found = {}
    for text in output.splitlines():
        parts = text.split()
        if len(parts) >= 2 and parts[0] in ("PASSED", "FAILED", "ERROR"):
            found[parts[1].split("::")[-1]] = parts[0]
    return found


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    names = {(e.name, e.value) for e in entry_points(group="pytest11")}
    assert ("fork_lint", "fork_lint.pytest_plugin") in names


def test_raise_mode_fails_tests_that_fork_with_live_threads(tmp_path: Path) -> None:
    result = pytest_run(tmp_path, "--fork-lint-runtime=raise")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert outcomes(out) == {
        "test_quiet": "PASSED",
        "test_hazard": "FAILED",
        "test_on_purpose": "PASSED",
        "test_error_swallowed": "FAILED",
        "test_after_join": "PASSED",
        "test_guard_state": "PASSED",
    }
    assert "fork_lint.runtime.ForkWithThreadsError: fork-lint refused `os.fork()`" in out
    fork_site = f"fork site: test_suite.py:{line(SUITE, 'FORK')} in fork_and_wait"
    start_site = f"thread 'worker' started at test_suite.py:{line(SUITE, 'START')} in worker"
    assert fork_site in out
    assert start_site in out
    summary = runtime_summary(out)
    assert "test_suite.py::test_hazard\n" in summary
    assert "test_suite.py::test_error_swallowed\n" in summary
    assert "test_on_purpose" not in summary
    assert "2 forks with other threads alive in 2 tests" in summary
    assert "GUARD raise" in out


def test_warn_mode_reports_in_the_terminal_summary(tmp_path: Path) -> None:
    result = pytest_run(tmp_path, "--fork-lint-runtime")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert set(outcomes(out).values()) == {"PASSED"}
    summary = runtime_summary(out)
    assert "test_suite.py::test_hazard\n  `os.fork()` ran while 1 other thread was alive" in (
        summary
    )
    assert f"fork site: test_suite.py:{line(SUITE, 'FORK')} in fork_and_wait" in summary
    assert f"started at test_suite.py:{line(SUITE, 'START')} in worker" in summary
    assert "2 forks with other threads alive in 2 tests" in summary
    assert "ForkWithThreadsWarning" not in out  # reported once, in the summary
    assert "guard.py" not in out  # CPython 3.12+'s own warning would point into the guard


def test_ini_option_turns_it_on(tmp_path: Path) -> None:
    result = pytest_run(tmp_path, ini="fork_lint_runtime = raise\n")
    assert result.returncode == 1
    assert outcomes(result.stdout)["test_hazard"] == "FAILED"
    result = pytest_run(tmp_path, "--fork-lint-runtime=off", ini="fork_lint_runtime = raise\n")
    assert result.returncode == 0, result.stdout


def test_plugin_is_inert_unless_asked(tmp_path: Path) -> None:
    result = pytest_run(tmp_path, "--strict-markers")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "fork-lint runtime" not in out
    assert "GUARD None posix" in out  # nothing installed: os.fork is the builtin


def test_threads_started_by_conftest_are_traced(tmp_path: Path) -> None:
    conftest = """\
        import threading
        threading.Thread(target=threading.Event().wait, daemon=True, name="cf").start()
        """
    result = pytest_run(
        tmp_path, "--fork-lint-runtime=raise", "-k", "quiet", files={"conftest.py": conftest}
    )
    assert result.returncode == 1
    assert "thread 'cf' (daemon) started at conftest.py:2 in <module>" in result.stdout


def test_bad_ini_value_is_a_usage_error(tmp_path: Path) -> None:
    result = pytest_run(tmp_path, ini="fork_lint_runtime = loud\n")
    assert result.returncode == 4
    assert "fork_lint_runtime = 'loud': expected warn, raise or off" in result.stderr
