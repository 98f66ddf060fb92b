"""Witness paths of key fixture cases: the chain a user reads must be the real one."""

from __future__ import annotations

import pytest

from fork_lint.api import check_sources
from fork_lint.model import Finding
from tests.test_fixtures import FIXTURES, load_case

Chain = list[tuple[str, int]]


def _finding(case: str, path: str, line: int) -> Finding:
    files = load_case(FIXTURES / "checks" / f"{case}.py")
    for f in check_sources(files):
        if f.location.path == path and f.location.span.line == line:
            return f
    raise AssertionError(f"no finding at {path}:{line}")


def _chain(hops: tuple[object, ...]) -> Chain:
    return [(h.function, h.location.span.line) for h in hops]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("case", "path", "line", "anchor", "source", "thread", "fork"),
    [
        (
            "start_then_call",
            "runner.py",
            12,
            "service.main",
            "threading.Thread.start",
            [("service.main", 14)],
            [("service.main", 15), ("runner.run_jobs", 7), ("runner.launch", 12)],
        ),
        (
            "asyncio_to_thread",
            "main.py",
            14,
            "main",
            "asyncio.to_thread",
            [("main", 26), ("main.main", 21), ("main.fetch", 10)],
            [("main", 26), ("main.main", 22), ("main.launch", 14)],
        ),
        (
            "thread_target_forks",
            "app/jobs.py",
            5,
            "app.main.main",
            "threading.Thread.start",
            [("app.main.main", 7)],
            [("app.main.main", 7), ("app.jobs.work", 5)],
        ),
        (
            "class_keeps_thread",
            "main.py",
            18,
            "main.Monitor",
            "threading.Thread.start",
            [("main.Monitor.start", 11)],
            [("main.Monitor.spawn", 18)],
        ),
        (
            "import_time_thread",
            "app.py",
            7,
            "app",
            "threading.Thread.start",
            [("app", 3), ("metrics", 9)],
            [("app.daemonize", 7)],
        ),
        (
            "library_next_call",
            "workers/pool.py",
            25,
            "workers.pool.launch",
            "threading.Thread.start",
            [("workers.pool.launch", 21), ("workers.pool._watch_later", 29)],
            [("workers.pool.launch", 20), ("workers.pool._spawn", 25)],
        ),
        (
            "thread_subclass_start",
            "workers.py",
            12,
            "workers.Starting.start",
            "threading.Thread.start",
            [("workers.Starting.start", 9)],
            [("workers.Starting.start", 9), ("workers.Starting.run", 12)],
        ),
    ],
)
def test_witness_chain(
    case: str, path: str, line: int, anchor: str, source: str, thread: Chain, fork: Chain
) -> None:
    w = _finding(case, path, line).witness
    assert w is not None
    assert w.anchor == anchor
    assert w.thread_source == source
    assert _chain(w.thread_path) == thread
    assert _chain(w.fork_path) == fork
    assert w.fork_path[-1].description.startswith("forks: ")
    assert "starts a thread" in w.thread_path[-1].description


def test_message_names_sink_and_source() -> None:
    f = _finding("start_then_call", "runner.py", 12)
    assert f.message == (
        "`pty.fork()` may run while a thread started by `threading.Thread.start()` "
        "at service.py:14 is alive"
    )
    assert (f.location.span.col, f.location.span.end_col) == (4, 14)


def test_next_call_reason() -> None:
    w = _finding("library_next_call", "workers/pool.py", 34).witness
    assert w is not None
    assert w.reason == (
        "`workers.pool.Supervisor()` leaves the thread started at workers/pool.py:38 "
        "running when it returns; the next `workers.pool.Supervisor()` forks here"
    )


def test_start_method_explained() -> None:
    f = _finding("start_method_order", "app/work.py", 5)
    assert f.message.endswith(
        "(start method 'fork': the default on Linux before Python 3.14; "
        "`multiprocessing.set_start_method('spawn')` at app/cli.py:11 does not run before "
        "this fork when it is reached from `app.cli.main`)"
    )
    f = _finding("start_method_override", "main.py", 9)
    assert "set by `multiprocessing.set_start_method('fork')` at main.py:7" in f.message


def test_hops_name_the_context_they_run_in() -> None:
    # One method, two objects: the thread starts in `launch` on the object built
    # with `threading.Thread`, the fork in `launch` on the one built with
    # `multiprocessing.Process`; each hop says which.
    f = _finding("object_contexts", "main.py", 56)
    assert f.witness is not None
    thread, fork = f.witness.thread_path[-1], f.witness.fork_path[-1]
    assert (thread.function, fork.function) == ("main.Backed.launch", "main.Backed.launch")
    assert "the `main.ThreadBacked` object created at main.py:70" in thread.why
    assert "the `main.ProcessBacked` object created at main.py:71" in fork.why
