"""The runtime guard: record where threads start, check every fork for other live threads.

Hooks, all installed by `install()` and removed by `uninstall()`:

* `threading.Thread.start` and `_thread.start_new_thread` record the first user frame of the
  code that starts a thread (a few dictionary look-ups on the way up the stack).
* `os.fork`, `os.forkpty`, `multiprocessing.popen_fork.Popen._launch` (raise mode; it opens
  pipes before forking) and `subprocess.Popen._execute_child` when `preexec_fn` is given run
  the check *before* the fork, so raise mode can refuse it in the parent.
* `ProcessPoolExecutor.__init__` records the user's frames that create the pool
  (`_pools`), so a worker forked at a later `submit()` also names where the pool was made.
* `os.register_at_fork(before=...)` catches the forks nobody wrapped (a reference to `os.fork`
  taken before `install()`, C code calling `PyOS_BeforeFork`). Exceptions raised there are
  printed and ignored by CPython, so those forks are reported, never refused.

The checks and records are process-global; the hooks call the originals unchanged when the
guard is not installed.
"""

from __future__ import annotations

import _thread
import functools
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, ModuleType
from typing import Any, NamedTuple

from fork_lint.runtime._frames import first_user_site, user_stack
from fork_lint.runtime._pools import POOL_MODULE, OnImport, created_at, record_creation
from fork_lint.runtime.hazard import (
    SINK_FORK,
    SINK_FORKPTY,
    SINK_MULTIPROCESSING,
    SINK_PREEXEC,
    SINK_UNKNOWN,
    Hazard,
    Site,
    ThreadInfo,
    format_hazard,
)

MODES = ("warn", "raise", "log")
MODE_ENV = "FORK_LINT_RUNTIME"
LOG_ENV = "FORK_LINT_RUNTIME_LOG"
DEFAULT_LOG = "fork-lint-runtime.jsonl"

_SITE_ATTR = "_fork_lint_started_at"  # set on each Thread started through the guard
_TASKS = "/proc/self/task"  # one entry per OS thread of this process (Linux)
_MAX_PYTHON_TIDS = 4096


class ForkWithThreadsError(RuntimeError):
    """Raised in the parent, instead of forking, in mode "raise"."""

    __module__ = "fork_lint.runtime"  # the name users catch it by

    def __init__(self, hazard: Hazard) -> None:
        super().__init__(format_hazard(hazard))
        self.hazard = hazard


class ForkWithThreadsWarning(RuntimeWarning):
    """Issued at the fork site in mode "warn". A RuntimeWarning, so `-W error::RuntimeWarning`
    (or an "error" filter for this class) turns it into an exception that stops wrapped forks."""

    __module__ = "fork_lint.runtime"

    hazard: Hazard | None = None


class _Config(NamedTuple):
    mode: str  # "warn", "raise" or "log" (report only to listeners and the log)
    log_path: str | None
    native_threads: bool


class _RawThread(NamedTuple):
    name: str
    native_id: int
    site: Site | None


class _State:
    """The guard's mutable settings (one per process)."""

    config: _Config | None = None
    allow_depth = 0
    at_fork_registered = False
    log_error_reported = False


_state = _State()
_patched: list[tuple[object, str, object, object]] = []  # owner, attribute, original, wrapper
_listeners: list[Callable[[Hazard], None]] = []
_inside: set[int] = set()  # idents of threads inside a wrapper that already checked this fork
_raw_threads: dict[int, _RawThread] = {}  # threads started through `_thread`, while running
# Native ids of threads Python started: on 3.10-3.12 a joined thread's OS thread can linger in
# /proc for a moment after `join()` returns, and must not be taken for a foreign thread.
_python_tids: set[int] = set()
_logged: set[tuple[object, ...]] = set()
_warn_registry: dict[Any, Any] = {}


# ---------------------------------------------------------------------------- public API


def install(
    mode: str = "warn",
    *,
    log_path: str | os.PathLike[str] | None = None,
    native_threads: bool = True,
) -> None:
    """Install the guard, or change its settings when it is installed already.

    `mode`: "warn" issues a `ForkWithThreadsWarning` at the fork site, "raise" makes wrapped
    forks fail with `ForkWithThreadsError` in the parent, "log" only writes the JSON Lines log.
    `log_path`: where hazards are appended as JSON Lines; default `$FORK_LINT_RUNTIME_LOG`, and
    for mode "log" without it `./fork-lint-runtime.jsonl`. `native_threads`: also count OS
    threads Python did not start (C extensions), on Linux.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (expected one of: {', '.join(MODES)})")
    path = os.fspath(log_path) if log_path is not None else os.environ.get(LOG_ENV) or None
    if path is None and mode == "log":
        path = DEFAULT_LOG
    configure(mode, path, native_threads)


def uninstall() -> None:
    """Remove the hooks (a `register_at_fork` hook stays registered but does nothing)."""
    _state.config = None
    _pool_import.remove()
    for owner, attribute, original, wrapper in reversed(_patched):
        if getattr(owner, attribute, None) is wrapper:  # leave alone what others wrapped since
            setattr(owner, attribute, original)
    _patched.clear()


def installed_mode() -> str | None:
    """The mode of the installed guard, or None."""
    return None if _state.config is None else _state.config.mode


def add_listener(listener: Callable[[Hazard], None]) -> None:
    """Call `listener(hazard)` for every hazard, before the guard warns or raises."""
    _listeners.append(listener)


def remove_listener(listener: Callable[[Hazard], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


@contextmanager
def allow_fork() -> Iterator[None]:
    """Skip the check for forks made while this is active (in any thread): for code that
    forks with threads alive on purpose and knows it is safe."""
    _state.allow_depth += 1
    try:
        yield
    finally:
        _state.allow_depth -= 1


def configure(mode: str, log_path: str | None, native_threads: bool = True) -> None:
    """`install()` without defaults: mode "log" with `log_path` None reports to listeners only
    (what the pytest plugin uses in its warn mode)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if log_path is not None:
        log_path = os.path.abspath(log_path)
    first = _state.config is None
    _state.config = _Config(mode, log_path, native_threads)
    if first:
        _record_existing_threads()
        _patch_all()
    elif mode == "raise":
        _patch_multiprocessing()


# ---------------------------------------------------------------------------- installation


def _patch(owner: object, attribute: str, make: Callable[[Any], Any]) -> None:
    original = getattr(owner, attribute, None)
    if original is None:
        return
    wrapper = make(original)
    if wrapper is None:
        return
    setattr(owner, attribute, wrapper)
    _patched.append((owner, attribute, original, wrapper))


def _patch_all() -> None:
    _patch(threading.Thread, "start", _wrap_thread_start)
    _patch(_thread, "start_new_thread", _wrap_start_new_thread)
    _patch(_thread, "start_new", _wrap_start_new_thread)  # the old alias
    _patch(os, "fork", lambda original: _wrap_fork(original, SINK_FORK))
    _patch(os, "forkpty", lambda original: _wrap_fork(original, SINK_FORKPTY))
    _patch(subprocess.Popen, "_execute_child", _wrap_execute_child)
    if _state.config is not None and _state.config.mode == "raise":
        _patch_multiprocessing()
    pools = sys.modules.get(POOL_MODULE)
    if pools is not None:
        _patch_pools(pools)
    else:
        _pool_import.install()
    if not _state.at_fork_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
        _state.at_fork_registered = True


def _patch_multiprocessing() -> None:
    """Wrap `Popen._launch` so a refused multiprocessing fork leaks no pipe.

    Only raise mode needs it (in the other modes the fork goes ahead and `os.fork`'s wrapper
    sees it), so the import is not paid otherwise.
    """
    try:
        from multiprocessing import popen_fork
    except ImportError:  # no fork on this platform
        return
    if any(owner is popen_fork.Popen for owner, *_ in _patched):
        return
    _patch(popen_fork.Popen, "_launch", _wrap_launch)


def _patch_pools(module: ModuleType) -> None:
    executor = getattr(module, "ProcessPoolExecutor", None)
    if executor is None or any(owner is executor for owner, *_ in _patched):
        return
    _patch(executor, "__init__", _wrap_executor_init)


def _on_pool_import(module: ModuleType) -> None:
    _pool_import.remove()
    if _state.config is not None:
        _patch_pools(module)


_pool_import = OnImport(POOL_MODULE, _on_pool_import)


def _wrap_executor_init(original: Callable[..., None]) -> Any:
    @functools.wraps(original)
    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        if _state.config is not None:
            record_creation(self, sys._getframe(1))
        original(self, *args, **kwargs)

    return __init__


def _record_existing_threads() -> None:
    for thread in threading.enumerate():
        native_id = getattr(thread, "native_id", None)
        if native_id is not None:
            _python_tids.add(native_id)


# ---------------------------------------------------------------------------- thread starts


def _wrap_thread_start(original: Callable[[threading.Thread], None]) -> Any:
    @functools.wraps(original)
    def start(self: threading.Thread) -> None:
        if _state.config is not None:
            self.__dict__.setdefault(_SITE_ATTR, first_user_site(sys._getframe(1)))
        original(self)
        native_id = getattr(self, "native_id", None)
        if native_id is not None:
            _remember_tid(native_id)

    return start


def _wrap_start_new_thread(original: Callable[..., int]) -> Any:
    @functools.wraps(original)
    def start_new_thread(function: Any, args: Any, kwargs: Any = None) -> int:
        if _state.config is None or not isinstance(args, tuple):
            # not recording, or a call the original rejects with its own error message
            return original(function, args) if kwargs is None else original(function, args, kwargs)
        if kwargs is not None and not isinstance(kwargs, dict):
            return original(function, args, kwargs)
        site = first_user_site(sys._getframe(1))
        return original(_raw_bootstrap, (function, args, kwargs or {}, site))

    return start_new_thread


def _raw_bootstrap(function: Any, args: tuple[Any, ...], kwargs: Any, site: Site | None) -> Any:
    ident = _thread.get_ident()
    native_id = _thread.get_native_id()
    name = getattr(function, "__qualname__", None) or repr(function)
    _raw_threads[ident] = _RawThread(name, native_id, site)
    _remember_tid(native_id)
    try:
        return function(*args, **kwargs)
    finally:
        _raw_threads.pop(ident, None)


def _remember_tid(native_id: int) -> None:
    _python_tids.add(native_id)
    if len(_python_tids) > _MAX_PYTHON_TIDS:
        current = _os_threads()
        if current is not None:
            _python_tids.intersection_update(current)


# ---------------------------------------------------------------------------- forks


def _forking(original: Callable[..., Any], sink_of: Callable[..., str | None]) -> Any:
    """Wrap a function that forks: check before calling it, refuse in raise mode.

    `sink_of(*args, **kwargs)` names the sink, or None when this call does not fork in a
    way that matters (`preexec_fn=None`). The refusal is raised here, so a traceback shows
    one frame of the guard between the user's call and the error.
    """

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest: show the user's frames, not the guard's
        sink = sink_of(*args, **kwargs)
        ident = _thread.get_ident()
        if sink is None or ident in _inside:  # nothing to check, or an outer wrapper did
            return original(*args, **kwargs)
        refused = _check(sink, sys._getframe(1), blockable=True)
        if refused is not None:
            raise ForkWithThreadsError(refused)
        _inside.add(ident)
        try:
            return original(*args, **kwargs)
        finally:
            _inside.discard(ident)

    return wrapper


def _wrap_fork(original: Callable[[], Any], sink: str) -> Any:
    return _forking(original, lambda: sink)


def _wrap_launch(original: Callable[..., Any]) -> Any:
    return _forking(original, lambda self, process_obj: SINK_MULTIPROCESSING)


def _wrap_execute_child(original: Callable[..., Any]) -> Any:
    code = getattr(original, "__code__", None)
    if code is None or "preexec_fn" not in code.co_varnames[: code.co_argcount]:
        return None  # an unknown signature: leave it to the register_at_fork hook
    position = code.co_varnames.index("preexec_fn")  # counting `self`

    def sink_of(*args: Any, **kwargs: Any) -> str | None:
        if "preexec_fn" in kwargs:
            preexec_fn = kwargs["preexec_fn"]
        else:
            preexec_fn = args[position] if len(args) > position else None
        return None if preexec_fn is None else SINK_PREEXEC

    return _forking(original, sink_of)


def _before_fork() -> None:
    """The catch-all: a fork no wrapper saw. Called by CPython in the forking thread."""
    if _state.config is None or _thread.get_ident() in _inside:
        return
    _check(None, sys._getframe(1), blockable=False)


def _after_fork_in_child() -> None:
    me = _thread.get_ident()
    mine = _raw_threads.get(me)
    _raw_threads.clear()
    if mine is not None:
        _raw_threads[me] = mine
    _python_tids.clear()
    _python_tids.add(_thread.get_native_id())


# ---------------------------------------------------------------------------- the check


def _check(sink: str | None, frame: FrameType | None, blockable: bool) -> Hazard | None:
    """Report a fork about to happen from `frame` if other threads are alive; returns the
    hazard when the caller must refuse the fork (raise mode), else None."""
    config = _state.config
    if config is None or _state.allow_depth > 0:
        return None
    threads = other_threads(config.native_threads)
    if not threads:
        return None
    stack, internal = user_stack(frame)
    if sink is None:
        sink = (
            SINK_PREEXEC if any(_endswith(f, "subprocess.py") for f in internal) else SINK_UNKNOWN
        )
    blocked = blockable and config.mode == "raise"
    rule = _rule(sink, internal)
    hazard = Hazard(
        rule=rule,
        sink=sink,
        site=stack[0] if stack else None,
        stack=tuple(stack),
        threads=tuple(threads),
        mode=config.mode,
        blocked=blocked,
        pid=os.getpid(),
        timestamp=time.time(),
        created_at=created_at(frame) if rule == "FRK003" else (),
    )
    for listener in list(_listeners):
        listener(hazard)
    if config.log_path is not None:
        _write_log(config.log_path, hazard)
    if blocked:
        return hazard
    if config.mode in ("warn", "raise"):
        _warn(hazard)
    return None


def _endswith(path: str, tail: str) -> bool:
    return path.replace("\\", "/").endswith("/" + tail)


def _rule(sink: str, internal: list[str]) -> str:
    """Which rule covers the fork, from the standard-library frames between it and the user."""
    if any(_endswith(f, "concurrent/futures/process.py") for f in internal):
        return "FRK003"
    if sink == SINK_MULTIPROCESSING or any(
        "/multiprocessing/" in f.replace("\\", "/") for f in internal
    ):
        return "FRK002"
    if sink == SINK_PREEXEC:
        return "FRK004"
    return "FRK001"


def other_threads(native_threads: bool = True) -> list[ThreadInfo]:
    """Every live thread but the calling one, with where it was started when known."""
    me = _thread.get_ident()
    main = threading.main_thread()
    dummy = getattr(threading, "_DummyThread", ())
    known_tids = {_thread.get_native_id()}
    found: list[ThreadInfo] = []
    seen: set[int | None] = {me}
    for thread in threading.enumerate():
        native_id = getattr(thread, "native_id", None)
        if native_id is not None:
            known_tids.add(native_id)
        if thread.ident in seen or not thread.is_alive():
            continue
        seen.add(thread.ident)
        raw = _raw_threads.get(thread.ident) if thread.ident is not None else None
        if raw is not None:
            found.append(
                ThreadInfo(
                    raw.name, thread.ident, raw.native_id, thread.daemon, "_thread", raw.site
                )
            )
            continue
        if _SITE_ATTR in thread.__dict__:
            origin, site = "threading", thread.__dict__[_SITE_ATTR]
        elif thread is main:
            origin, site = "main", None
        elif isinstance(thread, dummy):
            origin, site = "foreign", None
        else:
            origin, site = "before-install", None
        found.append(ThreadInfo(thread.name, thread.ident, native_id, thread.daemon, origin, site))
    for ident, raw in list(_raw_threads.items()):
        known_tids.add(raw.native_id)
        if ident not in seen:
            seen.add(ident)
            found.append(ThreadInfo(raw.name, ident, raw.native_id, None, "_thread", raw.site))
    if native_threads:
        tids = _os_threads()
        if tids is not None:
            for tid in sorted(tids - known_tids - _python_tids):
                name = _thread_name(tid)
                if name is not None:  # None: it exited meanwhile
                    found.append(ThreadInfo(name, None, tid, None, "native", None))
    return found


def _os_threads() -> set[int] | None:
    try:
        return {int(entry) for entry in os.listdir(_TASKS)}
    except (OSError, ValueError):
        return None


def _thread_name(tid: int) -> str | None:
    try:
        with open(f"{_TASKS}/{tid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


# ---------------------------------------------------------------------------- reporting


def _warn(hazard: Hazard) -> None:
    warning = ForkWithThreadsWarning(format_hazard(hazard))
    warning.hazard = hazard
    site = hazard.site
    warnings.warn_explicit(
        warning,
        ForkWithThreadsWarning,
        site.file if site is not None else "<unknown>",
        site.line if site is not None else 0,
        registry=_warn_registry,
    )


def _write_log(path: str, hazard: Hazard) -> None:
    """Append one JSON line with a single write on an O_APPEND descriptor, so lines from
    several processes sharing the log do not interleave. Repeats within a process (a fork in
    a loop) are written once."""
    key = (
        hazard.rule,
        hazard.site,
        hazard.blocked,
        tuple((t.origin, t.started_at, t.name) for t in hazard.threads),
        hazard.created_at,
    )
    if key in _logged:
        return
    _logged.add(key)
    import json

    data = (json.dumps(hazard.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        if not _state.log_error_reported:
            _state.log_error_reported = True
            sys.stderr.write(f"fork-lint: cannot write the runtime log {path}: {exc}\n")
