"""Measure what fork-lint's runtime guard costs: per thread start, per fork, at start-up.

    python scripts/bench_runtime.py [--quick]

Each scenario runs in a fresh interpreter that alternates rounds without and with the guard
(installed and uninstalled in place), and the best round of each is printed as a Markdown
table (docs/runtime.md quotes it). The scenario code is kept in strings so that the forks it
makes never mix with threads of this process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

# name -> (guard mode, code defining `op()`); "" means the default mode, warn.
_SCENARIOS: dict[str, tuple[str, str]] = {
    "thread start + join (no-op thread)": (
        "",
        """
import threading
def op():
    t = threading.Thread(target=int)
    t.start()
    t.join()
""",
    ),
    "fork + waitpid, no other thread": (
        "",
        """
import os
def op():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
""",
    ),
    "fork + waitpid, 4 idle threads (log mode)": (
        "log",
        """
import os, threading
stop = threading.Event()
for _ in range(4):
    threading.Thread(target=stop.wait, daemon=True).start()
def op():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
""",
    ),
    "subprocess.run(['true'])": (
        "",
        """
import subprocess
def op():
    subprocess.run(["true"], check=True)
""",
    ),
}

_RUNNER = """
import sys, time
import fork_lint.runtime as rt
{body}

def timed(n):
    start = time.perf_counter()
    for _ in range(n):
        op()
    return (time.perf_counter() - start) / n

op()
base, guarded = [], []
for _ in range({rounds}):  # alternate, so drift in machine load hits both sides alike
    base.append(timed({n}))
    rt.install(mode={mode!r}, log_path="/dev/null")
    guarded.append(timed({n}))
    rt.uninstall()
print(min(base), min(guarded))
"""

# The guard's own work, without the system calls around it: each wrapper around a no-op.
_HOOKS = """
import os, threading, time
import fork_lint.runtime as rt
from fork_lint.runtime import guard

class Thread:  # stands in for threading.Thread: the wrapper only needs __dict__ and native_id
    native_id = None

noop_start = lambda self: None
noop_fork = lambda: 0
start_hook = guard._wrap_thread_start(noop_start)
fork_hook = guard._wrap_fork(noop_fork, "os.fork")

def best(fn, arg, n={n}, rounds={rounds}):
    times = []
    for _ in range(rounds):
        begin = time.perf_counter()
        for _ in range(n):
            fn(*arg)
        times.append((time.perf_counter() - begin) / n)
    return min(times)

def nested(depth, fn, *arg):  # the hook walks the stack to the first user frame
    return nested(depth - 1, fn, *arg) if depth else fn(*arg)

rt.install(mode="log", log_path="/dev/null")
print(best(noop_start, (Thread(),)), best(start_hook, (Thread(),)))
print(best(noop_fork, ()), best(fork_hook, ()))
stop = threading.Event()
for _ in range(4):
    threading.Thread(target=stop.wait, daemon=True).start()
print(best(noop_fork, ()), best(fork_hook, ()))
"""

_IMPORT = """
import time
start = time.perf_counter()
import fork_lint.runtime as rt
rt.install(mode="warn")
print(time.perf_counter() - start)
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FORK_LINT_RUNTIME")}


def _run(code: str) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        env=_env(),
    )
    return [float(x) for x in out.stdout.split()]


def _measure(body: str, mode: str, n: int, rounds: int) -> tuple[float, float]:
    """Best time per operation without and with the guard (the minimum, as timeit does)."""
    base, guarded = _run(_RUNNER.format(body=body, mode=mode or "warn", n=n, rounds=rounds))
    return base, guarded


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
    n, rounds = (200, 3) if args.quick else (2000, 7)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, best of {rounds} rounds\n")
    print("| operation | without guard | with guard | overhead |")
    print("|---|---|---|---|")
    for name, (mode, body) in _SCENARIOS.items():
        count = n // 10 if "fork" in name or "subprocess" in name else n
        base, guarded = _measure(body, mode, count, rounds)
        print(f"| {name} | {_us(base)} | {_us(guarded)} | {_us(guarded - base)} |")
    hooks = _run(_HOOKS.format(n=n * 10, rounds=rounds))
    rows = (
        "`Thread.start` hook (records the start site)",
        "fork hook, no other thread (the check)",
        "fork hook, 4 live threads, log mode (check + hazard record)",
    )
    for name, base, guarded in zip(rows, hooks[0::2], hooks[1::2], strict=True):
        print(f"| {name} | {_us(base)} | {_us(guarded)} | {_us(guarded - base)} |")
    imports = min(min(_run(_IMPORT)) for _ in range(rounds))
    print(
        f"| `import fork_lint.runtime` + `install()` (once, at start-up) | — | — | "
        f"{imports * 1e3:.1f} ms |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
