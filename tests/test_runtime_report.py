"""`fork-lint check --runtime-report FILE`: the guard's log joined with the static findings.

The end-to-end test produces the log for real (the programs run under the guard, installed by
`FORK_LINT_RUNTIME_LOG`, in subprocesses with a timeout), then runs the checker on them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fork_lint.model import Finding, Location, Span
from fork_lint.runtime import Hazard, Site, ThreadInfo
from fork_lint.runtime.hazard import format_hazard
from fork_lint.runtime.report import match_findings, read_runtime_log

APP = """\
import os
import threading
import time


def tick():
    time.sleep(30)


def spawn():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def main():
    threading.Thread(target=tick, daemon=True).start()
    spawn()
    spawn()


if __name__ == "__main__":
    main()
"""

# The thread comes from a module the analysis cannot name, so only the run time sees it.
TOOL = """\
import importlib
import os
import time


def run_tool():
    threads = importlib.import_module("thr" + "eading")
    threads.Thread(target=time.sleep, args=(30,), daemon=True).start()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    run_tool()
"""

# The pool is made in one function and forks its workers at `map()` in another.
POOL = """\
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def make_pool():
    return ProcessPoolExecutor(
        max_workers=2, mp_context=multiprocessing.get_context("fork")
    )


def run(pool):
    return list(pool.map(abs, [-1, -2]))


def main():
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
    with make_pool() as pool:
        run(pool)


if __name__ == "__main__":
    main()
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORK_LINT")}
    env.update(extra)
    return env


def check(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fork_lint", "check", "--isolated", *args],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runtime_report")
    (root / "app.py").write_text(APP)
    (root / "tool.py").write_text(TOOL)
    if hasattr(os, "fork"):
        for script in ("app.py", "tool.py"):
            subprocess.run(
                [sys.executable, script],
                cwd=root,
                env=_env(FORK_LINT_RUNTIME_LOG="hazards.jsonl"),
                timeout=60,
                check=True,
            )
    return root


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
def test_full_report_confirms_the_finding_and_lists_the_missed_fork(project: Path) -> None:
    result = check(project, "app.py", "tool.py", "--runtime-report", "hazards.jsonl")
    assert result.returncode == 1, result.stderr  # the exit status still follows the findings
    section = result.stdout.split("\nRuntime report", 1)[1]
    assert section.splitlines() == [
        " (hazards.jsonl: 2 hazards in 2 places)",
        "confirmed at run time (1):",
        "  app.py:11:11: FRK001",
        "    thread 'Thread-1 (tick)' (daemon) started at app.py:18 in main",
        "not found by static analysis (1):",
        "  `os.fork()` ran while 1 other thread was alive [FRK001 os-fork-with-threads]",
        "    fork site: tool.py:9 in run_tool",
        "    thread 'Thread-1 (sleep)' (daemon) started at tool.py:8 in run_tool",
        "    see https://github.com/fork-lint/fork-lint/blob/main/docs/rules/FRK001.md",
        "Found 1 error.",
    ]


@needs_fork
def test_concise_report(project: Path) -> None:
    result = check(project, "--output-format", "concise", "--runtime-report", "hazards.jsonl", ".")
    assert "confirmed at run time (1):\n  app.py:11:11: FRK001\n" in result.stdout
    assert (
        "not found by static analysis (1):\n"
        "  tool.py:9 in run_tool: FRK001 `os.fork()` ran while 1 other thread was alive\n"
    ) in result.stdout


@needs_fork
def test_json_marks_confirmed_findings_and_keeps_stdout_one_array(project: Path) -> None:
    result = check(project, "--output-format", "json", "--runtime-report", "hazards.jsonl", ".")
    rows = json.loads(result.stdout)
    assert [(r["filename"], r["location"]["row"], r["confirmed_at_runtime"]) for r in rows] == [
        ("app.py", 11, True)
    ]
    assert "runtime hazard not found by static analysis: tool.py:9 in run_tool: FRK001" in (
        result.stderr
    )
    plain = json.loads(check(project, "--output-format", "json", ".").stdout)
    assert "confirmed_at_runtime" not in plain[0]  # only with --runtime-report


@needs_fork
def test_a_pool_made_in_one_function_and_forking_in_another_is_confirmed(tmp_path: Path) -> None:
    """FRK003 is reported at the constructor; the workers fork at `map()`. The guard
    records where the pool was made, and the report matches the finding by that."""
    project = tmp_path
    (project / "pool.py").write_text(POOL)
    subprocess.run(
        [sys.executable, "pool.py"],
        cwd=project,
        env=_env(FORK_LINT_RUNTIME_LOG="pool.jsonl"),
        timeout=60,
        check=True,
    )
    (record,) = read_runtime_log(project / "pool.jsonl").hazards
    assert (record.rule, record.site and record.site.function) == ("FRK003", "run")
    assert [(s.line, s.function) for s in record.created_at][:2] == [(8, "make_pool"), (19, "main")]
    result = check(project, "--output-format", "concise", "--runtime-report", "pool.jsonl", ".")
    assert "confirmed at run time (1):\n  pool.py:8:12: FRK003\n" in result.stdout
    assert "not found by static analysis" not in result.stdout


def test_unreadable_or_foreign_log_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    result = check(tmp_path, "--runtime-report", "missing.jsonl", ".")
    assert result.returncode == 2
    assert "argument --runtime-report: cannot read missing.jsonl" in result.stderr
    (tmp_path / "other.jsonl").write_text('{"level": "info"}\n')
    result = check(tmp_path, "--runtime-report", "other.jsonl", ".")
    assert result.returncode == 2
    assert "is not a fork-lint runtime log" in result.stderr


def _hazard(file: str, line: int, rule: str = "FRK001") -> Hazard:
    where = Site(file, line, "spawn")
    thread = ThreadInfo("t", 1, 2, True, "threading", Site(file, 3, "main"))
    return Hazard(rule, "os.fork", where, (where,), (thread,), "log", False, 9, 0.0)


def test_bad_lines_are_skipped_with_a_warning(tmp_path: Path) -> None:
    good = json.dumps(_hazard("/x/app.py", 5).to_json())
    (tmp_path / "h.jsonl").write_text(f"{good}\n\nnot json\n{good[:40]}\n")
    log = read_runtime_log(tmp_path / "h.jsonl")
    assert len(log.hazards) == 1
    assert [p.split(":")[0] for p in log.problems] == ["line 3", "line 4"]


def _finding(path: str, line: int, end_line: int | None = None) -> Finding:
    span = Span(line, 4, end_line or line, 20)
    return Finding("FRK004", "preexec-fn-with-threads", "m", Location(path, span), "s")


def test_match_by_line_range_and_by_path_from_another_checkout(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    popen = _finding("pkg/jobs.py", 10, end_line=13)  # a call written over four lines
    other = _finding("pkg/other.py", 10)
    hazards = [
        _hazard(str(tmp_path / "pkg" / "jobs.py"), 12, "FRK004"),  # inside the call's lines
        _hazard("/app/pkg/jobs.py", 10, "FRK004"),  # the same file, run in a container
        _hazard("/app/pkg/jobs.py", 10, "FRK004"),  # again: grouped
        _hazard("/app/pkg/jobs.py", 14),  # after the call: no finding there
        _hazard("/app/vendor/other.py", 10),  # another file with the same name
    ]
    match = match_findings([popen, other], hazards, tmp_path, tmp_path)
    assert list(match.confirmed) == [popen]
    assert [g.count for g in match.confirmed[popen]] == [1, 2]
    assert [(g.hazard.site.file, g.hazard.site.line) for g in match.missed if g.hazard.site] == [
        ("/app/pkg/jobs.py", 14),
        ("/app/vendor/other.py", 10),
    ]
    assert match.total == 5


def test_the_pools_creation_confirms_a_finding_at_the_constructor(tmp_path: Path) -> None:
    submit = Site(str(tmp_path / "jobs.py"), 30, "Jobs.run")
    made = Site(str(tmp_path / "jobs.py"), 12, "Jobs.__init__")
    thread = ThreadInfo("t", 1, 2, True, "threading", Site(str(tmp_path / "app.py"), 3, "main"))
    at = Location("jobs.py", Span(12, 20, 13, 5))
    pool = Finding("FRK003", "process-pool-fork-with-threads", "m", at, "s")
    other = Finding(
        "FRK003",
        "process-pool-fork-with-threads",
        "m",
        Location("jobs.py", Span(40, 4, 40, 30)),
        "s",
    )
    hazard = Hazard("FRK003", "os.fork", submit, (submit,), (thread,), "log", False, 1, 0, (made,))
    again = Hazard.from_json(json.loads(json.dumps(hazard.to_json())))
    assert again == hazard
    assert "\n  pool created at: jobs.py:12 in Jobs.__init__\n" in format_hazard(
        hazard, str(tmp_path)
    )
    match = match_findings([pool, other], [again], tmp_path, tmp_path)
    assert list(match.confirmed) == [pool]
    assert match.missed == []
    # A log of an older version has no `created_at`: the fork's frames alone decide.
    old = hazard.to_json()
    del old["created_at"]
    match = match_findings([pool], [Hazard.from_json(old)], tmp_path, tmp_path)
    assert not match.confirmed


def test_a_callers_frame_confirms_a_finding_on_the_call(tmp_path: Path) -> None:
    # A custom fork sink (FRK005) is reported at the user's call; at run time the fork happens
    # inside the library, and the user's frame is further up the stack.
    library = Site("/venv/lib/python3.12/site-packages/billiard/popen_fork.py", 70, "_launch")
    user = Site(str(tmp_path / "tasks.py"), 21, "run")
    thread = ThreadInfo("t", 1, 2, True, "threading", user)
    hazard = Hazard("FRK001", "os.fork", library, (library, user), (thread,), "log", False, 1, 0)
    finding = Finding("FRK005", "custom", "m", Location("tasks.py", Span(21, 4, 21, 30)), "s")
    match = match_findings([finding], [hazard], tmp_path, tmp_path)
    assert list(match.confirmed) == [finding]
    assert match.missed == []


def test_the_pool_hook_waits_for_the_import_and_leaves_with_the_guard(tmp_path: Path) -> None:
    """The guard does not import multiprocessing at start-up: the executor's constructor
    is wrapped when `concurrent.futures.process` is imported, and unwrapped by
    `uninstall()`."""
    code = """\
import sys
from fork_lint.runtime import guard
assert "concurrent.futures.process" not in sys.modules
guard.install("warn")
assert "concurrent.futures.process" not in sys.modules
assert guard._pool_import in sys.meta_path
from concurrent.futures import ProcessPoolExecutor
assert guard._pool_import not in sys.meta_path
assert hasattr(ProcessPoolExecutor.__init__, "__wrapped__")
import inspect, concurrent.futures.process as module
assert "class ProcessPoolExecutor" in inspect.getsource(module)
guard.uninstall()
assert not hasattr(ProcessPoolExecutor.__init__, "__wrapped__")
print("ok")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout == "ok\n", proc.stderr
