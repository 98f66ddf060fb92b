"""The runtime guard, checked with real threads and real forks.

Every scenario runs in its own interpreter (`subprocess.run` with a timeout), so a fork that
deadlocks cannot hang the suite and the guard's hooks never touch the test process.
Expected line numbers come from `# <- NAME` markers in the scripts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fork_lint.runtime import LOG_SCHEMA, Hazard, Site, ThreadInfo, format_hazard
from fork_lint.runtime._autostart import mode_from_env
from fork_lint.runtime._frames import first_user_site, is_internal

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
LINUX = sys.platform.startswith("linux")

PRELUDE = """\
import json, os, sys, threading, time
import fork_lint.runtime as rt


def fork_and_wait():
    pid = os.fork()  # <- FORK
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    print("child exit", os.waitstatus_to_exitcode(status))


def no_children():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def attempt(fn):
    try:
        fn()
    except rt.ForkWithThreadsError as exc:
        print("REFUSED", exc.hazard.rule, "no child:", no_children())
        print(exc)
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORK_LINT_RUNTIME")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run(
    tmp_path: Path,
    body: str,
    *,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    prelude: bool = True,
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run PRELUDE + `body` as tmp_path/app.py; returns the result and the script text."""
    code = (PRELUDE if prelude else "") + textwrap.dedent(body)
    (tmp_path / "app.py").write_text(code)
    result = subprocess.run(
        [sys.executable, *args, "app.py"],
        cwd=tmp_path,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return result, code


def line(code: str, name: str) -> int:
    for number, text in enumerate(code.splitlines(), 1):
        if text.rstrip().endswith(f"# <- {name}"):
            return number
    raise AssertionError(f"no marker {name}")


def hazards(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "hazards.jsonl"
    if not log.exists():
        return []
    records = [json.loads(text) for text in log.read_text().splitlines()]
    for record in records:
        jsonschema.validate(record, LOG_SCHEMA)
    return records


def site(tmp_path: Path, code: str, name: str, function: str) -> dict[str, Any]:
    return {"file": str(tmp_path / "app.py"), "line": line(code, name), "function": function}


# ---------------------------------------------------------------------------- firing


def test_fork_with_live_thread_is_refused_naming_both_sites(tmp_path: Path) -> None:
    result, code = run(
        tmp_path,
        """
        def main():
            rt.install(mode="raise", log_path="hazards.jsonl")
            stop = threading.Event()
            worker = threading.Thread(target=stop.wait, name="metrics")
            worker.start()  # <- START
            attempt(fork_and_wait)
            stop.set()
            worker.join()

        main()
        """,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "REFUSED FRK001 no child: True" in out
    assert "child exit" not in out
    assert "fork-lint refused `os.fork()`: 1 other thread is alive [FRK001" in out
    assert f"fork site: app.py:{line(code, 'FORK')} in fork_and_wait" in out
    assert f"thread 'metrics' started at app.py:{line(code, 'START')} in main" in out
    assert "docs/rules/FRK001.md" in out
    [record] = hazards(tmp_path)
    assert record["blocked"] is True
    assert record["site"] == site(tmp_path, code, "FORK", "fork_and_wait")
    [thread] = record["threads"]
    assert thread["name"] == "metrics"
    assert thread["origin"] == "threading"
    assert thread["daemon"] is False
    assert thread["started_at"] == site(tmp_path, code, "START", "main")


def test_warn_mode_warns_at_the_fork_site_and_lets_the_fork_happen(tmp_path: Path) -> None:
    result, code = run(
        tmp_path,
        """
        rt.install(mode="warn")
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True, name="ticker").start()  # <- START
        fork_and_wait()
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "child exit 7" in result.stdout
    fork_line = line(code, "FORK")
    assert f"app.py:{fork_line}: ForkWithThreadsWarning: `os.fork()` ran while 1 other" in (
        result.stderr
    )
    assert f"thread 'ticker' (daemon) started at app.py:{line(code, 'START')} in <module>" in (
        result.stderr
    )


def test_warning_can_be_turned_into_an_error_that_stops_the_fork(tmp_path: Path) -> None:
    # CPython's own fork warning cannot be escalated with -W error; this one can. (A category
    # outside the standard library cannot be named in -W: it is read before site-packages.)
    result, _ = run(
        tmp_path,
        """
        rt.install(mode="warn")
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True).start()
        try:
            fork_and_wait()
        except rt.ForkWithThreadsWarning:
            print("stopped, no child:", no_children())
        """,
        args=("-W", "error::RuntimeWarning"),
    )
    assert result.returncode == 0, result.stderr
    assert "stopped, no child: True" in result.stdout


def test_daemon_threads_count(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        """
        rt.install(mode="log", log_path="hazards.jsonl")
        threading.Thread(target=time.sleep, args=(30,), daemon=True, name="d").start()
        fork_and_wait()
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # log mode prints nothing
    [record] = hazards(tmp_path)
    assert record["mode"] == "log"
    assert record["blocked"] is False
    assert [(t["name"], t["daemon"]) for t in record["threads"]] == [("d", True)]


def test_preexec_fn_with_live_thread_is_refused(tmp_path: Path) -> None:
    result, code = run(
        tmp_path,
        """
        import subprocess

        def launch():
            subprocess.run(  # <- RUN
                ["true"],
                preexec_fn=os.setsid,
            )

        rt.install(mode="raise", log_path="hazards.jsonl")
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True, name="poller").start()  # <- START
        attempt(launch)
        subprocess.run(["true"], check=True)  # without preexec_fn: no hazard
        print("plain ok")
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "REFUSED FRK004 no child: True" in result.stdout
    assert "plain ok" in result.stdout
    assert "a subprocess with `preexec_fn`" in result.stdout
    [record] = hazards(tmp_path)
    assert record["sink"] == "subprocess.Popen(preexec_fn)"
    assert record["site"]["line"] == line(code, "RUN")
    assert record["threads"][0]["started_at"]["line"] == line(code, "START")


def test_multiprocessing_fork_is_frk002_at_process_start_and_leaks_no_pipe(
    tmp_path: Path,
) -> None:
    result, code = run(
        tmp_path,
        """
        import multiprocessing

        def child():
            pass

        def open_fds():
            return len(os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"))

        if __name__ == "__main__":
            rt.install(mode="raise", log_path="hazards.jsonl")
            stop = threading.Event()
            threading.Thread(target=stop.wait, daemon=True).start()
            ctx = multiprocessing.get_context("fork")
            before = open_fds()
            process = ctx.Process(target=child)
            attempt(lambda: process.start())  # <- START_PROCESS
            print("fds leaked:", open_fds() - before)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "REFUSED FRK002 no child: True" in result.stdout
    assert "fds leaked: 0" in result.stdout
    assert "a multiprocessing process started with the 'fork' start method" in result.stdout
    [record] = hazards(tmp_path)
    assert record["rule"] == "FRK002"
    assert record["site"]["line"] == line(code, "START_PROCESS")


def test_process_pool_fork_is_frk003_at_submit(tmp_path: Path) -> None:
    result, code = run(
        tmp_path,
        """
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        def square(x):
            return x * x

        if __name__ == "__main__":
            rt.install(mode="log", log_path="hazards.jsonl")
            stop = threading.Event()
            threading.Thread(target=stop.wait, daemon=True).start()
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(1, mp_context=ctx) as pool:
                print("result", pool.submit(square, 7).result())  # <- SUBMIT
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "result 49" in result.stdout
    records = hazards(tmp_path)
    assert records, result.stderr
    assert {r["rule"] for r in records} == {"FRK003"}
    assert records[0]["site"]["line"] == line(code, "SUBMIT")


def test_forkpty_and_pty_fork_are_frk001(tmp_path: Path) -> None:
    result, code = run(
        tmp_path,
        """
        import pty

        rt.install(mode="raise", log_path="hazards.jsonl")
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        attempt(lambda: os.forkpty())  # <- FORKPTY
        attempt(lambda: pty.fork())  # <- PTY
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("REFUSED FRK001 no child: True") == 2
    records = hazards(tmp_path)
    assert [(r["sink"], r["site"]["line"]) for r in records] == [
        ("os.forkpty", line(code, "FORKPTY")),
        ("os.forkpty", line(code, "PTY")),
    ]


def test_thread_started_with_low_level_thread_module_is_named(tmp_path: Path) -> None:
    result, code = run(
        tmp_path,
        """
        import _thread

        def serve(ready, stop):
            ready.set()
            stop.wait()

        rt.install(mode="log", log_path="hazards.jsonl")
        ready, stop = threading.Event(), threading.Event()
        _thread.start_new_thread(serve, (ready, stop))  # <- RAW
        ready.wait()
        fork_and_wait()
        """,
    )
    assert result.returncode == 0, result.stderr
    [record] = hazards(tmp_path)
    [thread] = record["threads"]
    assert thread["origin"] == "_thread"
    assert thread["name"] == "serve"
    assert thread["started_at"]["line"] == line(code, "RAW")


def test_thread_started_before_install_is_reported_as_such(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        """
        threading.Thread(target=time.sleep, args=(30,), daemon=True, name="early").start()
        rt.install(mode="raise")
        attempt(fork_and_wait)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "thread 'early' (daemon) was started before fork-lint's guard was installed" in (
        result.stdout
    )


def test_foreign_dummy_thread_counts(tmp_path: Path) -> None:
    # A thread Python did not start through `threading` (here `_thread` before the guard,
    # like a C extension's thread) becomes a _DummyThread once it calls current_thread().
    result, _ = run(
        tmp_path,
        """
        import _thread

        ready, stop = threading.Event(), threading.Event()

        def foreign():
            threading.current_thread()
            ready.set()
            stop.wait()

        _thread.start_new_thread(foreign, ())
        ready.wait()
        rt.install(mode="log", log_path="hazards.jsonl")
        fork_and_wait()
        """,
    )
    assert result.returncode == 0, result.stderr
    [record] = hazards(tmp_path)
    [thread] = record["threads"]
    assert (thread["origin"], thread["started_at"]) == ("foreign", None)
    assert thread["name"].startswith("Dummy-")


def test_executor_threads_are_traced_to_the_user_call(tmp_path: Path) -> None:
    result, code = run(
        tmp_path,
        """
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        async def main():
            await asyncio.to_thread(time.sleep, 0)  # <- TO_THREAD
            fork_and_wait()

        rt.install(mode="log", log_path="hazards.jsonl")
        pool = ThreadPoolExecutor(1)
        pool.submit(time.sleep, 0).result()  # <- SUBMIT
        asyncio.run(main())
        """,
    )
    assert result.returncode == 0, result.stderr
    [record] = hazards(tmp_path)
    starts = sorted(
        (t["started_at"]["line"], t["started_at"]["function"]) for t in record["threads"]
    )
    assert starts == [(line(code, "TO_THREAD"), "main"), (line(code, "SUBMIT"), "<module>")]


def test_fork_from_a_worker_thread_reports_the_main_thread(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        """
        rt.install(mode="log", log_path="hazards.jsonl")
        worker = threading.Thread(target=fork_and_wait)
        worker.start()
        worker.join()
        """,
    )
    assert result.returncode == 0, result.stderr
    [record] = hazards(tmp_path)
    assert [(t["name"], t["origin"]) for t in record["threads"]] == [("MainThread", "main")]


@pytest.mark.skipif(not LINUX, reason="native threads are found through /proc")
def test_native_thread_from_c_code_is_caught(tmp_path: Path) -> None:
    # pthread_create(sleep) makes a thread that never runs Python: only /proc knows of it.
    result, _ = run(
        tmp_path,
        """
        import ctypes

        libc = ctypes.CDLL(None)
        thread_id = ctypes.c_ulong()
        sleep = ctypes.cast(libc.sleep, ctypes.c_void_p)
        rt.install(mode="log", log_path="hazards.jsonl")
        assert libc.pthread_create(ctypes.byref(thread_id), None, sleep, ctypes.c_void_p(30)) == 0
        fork_and_wait()
        """,
    )
    assert result.returncode == 0, result.stderr
    [record] = hazards(tmp_path)
    [thread] = record["threads"]
    assert thread["origin"] == "native"
    assert thread["ident"] is None
    assert isinstance(thread["native_id"], int)


def test_fork_not_going_through_a_wrapper_is_still_reported(tmp_path: Path) -> None:
    result, code = run(
        tmp_path,
        """
        from os import fork as early_fork  # taken before install: not wrapped

        rt.install(mode="raise", log_path="hazards.jsonl")
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        pid = early_fork()  # <- EARLY
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        print("forked anyway")
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "forked anyway" in result.stdout
    assert "a fork that fork-lint did not intercept ran while 1 other thread" in result.stderr
    assert "could not be stopped" in result.stderr
    [record] = hazards(tmp_path)
    assert (record["sink"], record["blocked"]) == ("fork", False)
    assert record["site"]["line"] == line(code, "EARLY")


# ---------------------------------------------------------------------------- quiet


def test_fork_with_no_other_thread_is_quiet(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        """
        rt.install(mode="raise", log_path="hazards.jsonl")
        fork_and_wait()
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "child exit 7"
    assert result.stderr == ""
    assert not (tmp_path / "hazards.jsonl").exists()


def test_fork_after_threads_were_joined_is_quiet(tmp_path: Path) -> None:
    # Many rounds: on 3.10-3.12 a joined thread's OS thread lingers for a moment, which must
    # not be mistaken for a native thread.
    result, _ = run(
        tmp_path,
        """
        import _thread

        rt.install(mode="raise", log_path="hazards.jsonl")
        for _ in range(100):
            workers = [threading.Thread(target=sum, args=([1, 2],)) for _ in range(3)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            done = threading.Event()
            _thread.start_new_thread(done.set, ())
            done.wait()
            while rt.other_threads(native_threads=False):
                time.sleep(0.001)  # a raw thread cannot be joined: wait until it is gone
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
        print("all quiet")
        """,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "all quiet"
    assert not (tmp_path / "hazards.jsonl").exists()


def test_finished_but_not_joined_thread_does_not_count(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        """
        rt.install(mode="raise", log_path="hazards.jsonl")
        worker = threading.Thread(target=sum, args=([1],))
        worker.start()
        while worker.is_alive():
            time.sleep(0.001)
        fork_and_wait()
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "child exit 7" in result.stdout
    assert not (tmp_path / "hazards.jsonl").exists()


def test_spawn_and_forkserver_are_quiet(tmp_path: Path) -> None:
    # Installed from the environment, so the forkserver process is guarded too.
    result, _ = run(
        tmp_path,
        """
        import multiprocessing, os, subprocess, sys, threading

        def child(queue):
            queue.put(os.getpid())

        if __name__ == "__main__":
            stop = threading.Event()
            threading.Thread(target=stop.wait, daemon=True).start()
            for method in ("spawn", "forkserver"):
                ctx = multiprocessing.get_context(method)
                queue = ctx.Queue()
                process = ctx.Process(target=child, args=(queue,))
                process.start()
                queue.get(timeout=60)
                process.join(60)
                print(method, process.exitcode)
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            import fork_lint.runtime as rt
            print("mode", rt.installed_mode())
        """,
        prelude=False,
        env={"FORK_LINT_RUNTIME": "raise", "FORK_LINT_RUNTIME_LOG": str(tmp_path / "h.jsonl")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["spawn", "0", "forkserver", "0", "mode", "raise"]
    assert "fork-lint" not in result.stderr
    assert not (tmp_path / "h.jsonl").exists()


def test_allow_fork_silences_the_check(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        """
        rt.install(mode="raise", log_path="hazards.jsonl")
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        with rt.allow_fork():
            fork_and_wait()
        attempt(fork_and_wait)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "child exit 7" in result.stdout
    assert "REFUSED FRK001 no child: True" in result.stdout
    assert len(hazards(tmp_path)) == 1


def test_uninstall_restores_everything(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        """
        import _thread, subprocess, posix
        originals = (os.fork, os.forkpty, threading.Thread.start, _thread.start_new_thread,
                     subprocess.Popen._execute_child)
        rt.install(mode="raise")
        wrapped = (os.fork, os.forkpty, threading.Thread.start, _thread.start_new_thread,
                   subprocess.Popen._execute_child)
        print("wrapped", [a is not b for a, b in zip(originals, wrapped)])
        rt.uninstall()
        now = (os.fork, os.forkpty, threading.Thread.start, _thread.start_new_thread,
               subprocess.Popen._execute_child)
        print("restored", [a is b for a, b in zip(originals, now)])
        print("mode", rt.installed_mode())
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        fork_and_wait()
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "wrapped [True, True, True, True, True]" in result.stdout
    assert "restored [True, True, True, True, True]" in result.stdout
    assert "mode None" in result.stdout
    assert "child exit 7" in result.stdout


# ---------------------------------------------------------------------------- environment


def test_environment_variable_installs_the_guard_without_code_changes(tmp_path: Path) -> None:
    body = """
        import os, threading, time
        threading.Thread(target=time.sleep, args=(30,), daemon=True, name="w").start()  # <- S
        pid = os.fork()  # <- F
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        print("forked")
        """
    result, code = run(tmp_path, body, prelude=False, env={"FORK_LINT_RUNTIME": "raise"})
    assert result.returncode == 1
    assert "forked" not in result.stdout
    assert "fork_lint.runtime.ForkWithThreadsError: fork-lint refused `os.fork()`" in (
        result.stderr
    )
    assert f"fork site: app.py:{line(code, 'F')} in <module>" in result.stderr
    assert f"thread 'w' (daemon) started at app.py:{line(code, 'S')} in <module>" in (result.stderr)

    log = tmp_path / "only-log.jsonl"
    result, _ = run(tmp_path, body, prelude=False, env={"FORK_LINT_RUNTIME_LOG": str(log)})
    assert (result.returncode, result.stdout.strip()) == (0, "forked")
    [record] = [json.loads(text) for text in log.read_text().splitlines()]
    assert record["mode"] == "log"

    result, _ = run(tmp_path, body, prelude=False, env={"FORK_LINT_RUNTIME": "rasie"})
    assert (result.returncode, result.stdout.strip()) == (0, "forked")
    assert "runtime guard not installed: FORK_LINT_RUNTIME='rasie'" in result.stderr


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, None),
        ({"FORK_LINT_RUNTIME": "raise"}, "raise"),
        ({"FORK_LINT_RUNTIME": " WARN "}, "warn"),
        ({"FORK_LINT_RUNTIME": "1"}, "warn"),
        ({"FORK_LINT_RUNTIME": "off", "FORK_LINT_RUNTIME_LOG": "x"}, None),
        ({"FORK_LINT_RUNTIME": "", "FORK_LINT_RUNTIME_LOG": "x"}, "log"),
        ({"FORK_LINT_RUNTIME_LOG": "x"}, "log"),
        ({"FORK_LINT_RUNTIME": "0"}, None),
    ],
)
def test_mode_from_environment(env: dict[str, str], mode: str | None) -> None:
    assert mode_from_env(env) == mode


def test_bad_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="expected warn, raise, log or off"):
        mode_from_env({"FORK_LINT_RUNTIME": "loud"})


# ---------------------------------------------------------------------------- records


def test_log_records_round_trip_and_follow_the_schema(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        """
        import subprocess
        rt.install(mode="log", log_path="hazards.jsonl")
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        for _ in range(5):
            fork_and_wait()  # a loop: logged once
        subprocess.run(["true"], preexec_fn=os.getpid)
        """,
    )
    assert result.returncode == 0, result.stderr
    records = hazards(tmp_path)  # validated against LOG_SCHEMA
    assert [r["rule"] for r in records] == ["FRK001", "FRK004"]
    for record in records:
        assert Hazard.from_json(record).to_json() == record
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
        assert record["pid"] > 0
        assert record["stack"][0] == record["site"]


def test_format_names_each_kind_of_thread() -> None:
    started = Site("/srv/app/jobs.py", 12, "start_metrics")
    hazard = Hazard(
        rule="FRK002",
        sink="multiprocessing.popen_fork.Popen",
        site=Site("/srv/app/jobs.py", 30, "run"),
        stack=(Site("/srv/app/jobs.py", 30, "run"),),
        threads=(
            ThreadInfo("metrics", 1, 11, True, "threading", started),
            ThreadInfo("MainThread", 2, 12, False, "main", None),
            ThreadInfo("Dummy-1", 3, 13, True, "foreign", None),
            ThreadInfo("python3", None, 14, None, "native", None),
        ),
        mode="warn",
        blocked=False,
        pid=1,
        timestamp=0.0,
    )
    text = format_hazard(hazard, cwd="/srv")
    assert text.splitlines() == [
        "a multiprocessing process started with the 'fork' start method ran while 4 other "
        "threads were alive [FRK002 multiprocessing-fork-with-threads]",
        "  fork site: app/jobs.py:30 in run",
        "  thread 'metrics' (daemon) started at app/jobs.py:12 in start_metrics",
        "  thread 'MainThread' is the main thread",
        "  thread 'Dummy-1' (daemon) was started outside Python (a C extension or an "
        "embedding application)",
        "  native thread 14 ('python3') that Python did not start: a C extension or library thread",
        "  see https://github.com/fork-lint/fork-lint/blob/main/docs/rules/FRK002.md",
    ]


def test_fork_inside_an_installed_library_names_the_callers_frame() -> None:
    library = Site("/venv/lib/python3.11/site-packages/billiard/popen.py", 5, "launch")
    user = Site("/srv/app/tasks.py", 40, "run")
    hazard = Hazard("FRK001", "os.fork", library, (library, user), (), "warn", False, 1, 0.0)
    assert "  called from: app/tasks.py:40 in run" in format_hazard(hazard, cwd="/srv")


def test_frames_of_the_standard_library_and_the_guard_are_internal() -> None:
    import threading

    from fork_lint.runtime import guard

    assert is_internal(threading.__file__)
    assert is_internal(guard.__file__)
    assert is_internal("<frozen runpy>")
    assert not is_internal("<string>")
    assert not is_internal(__file__)
    assert not is_internal(pytest.__file__)  # site-packages is not the standard library
    found = first_user_site(sys._getframe())
    assert found is not None
    assert (found.file, found.function.rsplit(".", 1)[-1]) == (
        os.path.abspath(__file__),
        "test_frames_of_the_standard_library_and_the_guard_are_internal",
    )
