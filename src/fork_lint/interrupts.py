"""Ctrl-C and SIGTERM: stop the run, but never in the middle of writing a fixed file.

For the length of a command, `stoppable()` handles both signals: SIGINT raises
KeyboardInterrupt as usual, and SIGTERM `Terminated`, a `KeyboardInterrupt`, so
both take the same way out (every
``except KeyboardInterrupt`` and ``finally`` runs) and the command line can exit
with 130 or 143, the shell's code for a process stopped by SIGINT or SIGTERM.
Inside `signals_held()` (writing one fix's files), either signal is only
recorded, and acted upon when the block ends: each file is left fully old or
fully new, and a fix spread over several files is written whole or not at all.
The block also keeps the signals from the thread at the OS level, so that a
handler fork-lint did not install (or SIGTERM's default action) waits too.

Python runs signal handlers in the main thread only, so elsewhere (fork-lint
called from a thread of another program) these change nothing, and a signal
handler someone else installed, or a signal ignored (``SIG_IGN``, as for a
background job of a non-interactive shell), is left as it is.
"""

from __future__ import annotations

import _imp
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from types import FrameType

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "Terminated",
    "interruption",
    "signals_held",
    "stoppable",
]

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised like Ctrl-C's KeyboardInterrupt so clean-up treats both alike."""


def interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (or `Terminated`) `exc` was raised while handling, if any.

    Clean-up code that fails while the interruption unwinds the stack (libcst's
    context managers raise KeyError then) must not turn Ctrl-C into an internal
    error, nor into an FRK999 that lets the run go on.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__context__
    return None


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    def __init__(self) -> None:
        self.held = 0  # depth of `signals_held` blocks
        self.pending: list[int] = []  # signals that arrived inside them


_state = _State()


def _raise(signum: int) -> None:
    if signum == signal.SIGTERM:
        raise Terminated
    raise KeyboardInterrupt


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.held:
        _state.pending.append(signum)
    elif _imp.lock_held():
        # Raised inside importlib's own code (a module lock's clean-up callback),
        # the exception is ignored there and the interpreter's import lock stays
        # held: every later import, in any thread, then waits forever. The
        # signal is sent again once the lock is likely free.
        again = threading.Timer(0.01, os.kill, (os.getpid(), signum))
        again.daemon = True
        again.start()
    else:
        _raise(signum)


def _ours(signum: int) -> bool:
    """Whether `stoppable` may take this signal over: it has Python's default behaviour."""
    current = signal.getsignal(signum)
    if signum == signal.SIGINT:
        return current is signal.default_int_handler
    return current == signal.SIG_DFL


@contextmanager
def stoppable() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt and SIGTERM `Terminated`, except inside `signals_held`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    try:
        for signum in _SIGNALS:
            if _ours(signum):
                previous[signum] = signal.signal(signum, _handler)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def signals_held() -> Iterator[None]:
    """Act on SIGINT and SIGTERM only once the block is done.

    Under `stoppable` the handler records them; and whoever handles them, this
    thread does not receive them until the block ends (`pthread_sigmask`): a
    handler fork-lint left alone (Python's own, when fork-lint runs as a
    library, or a program's), or SIGTERM's default action, then takes effect
    after the block, not between creating a temporary file and the code that
    removes it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers run in the main thread: nothing to hold here
        return
    outermost = not _state.held
    _state.held += 1
    try:
        with _blocked() if outermost else nullcontext():
            yield
    finally:
        _state.held -= 1
        if not _state.held and _state.pending:
            signum = _state.pending[0]
            _state.pending.clear()
            _raise(signum)


@contextmanager
def _blocked() -> Iterator[None]:
    """SIGINT and SIGTERM blocked for this thread (where the platform can)."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        # A signal that came meanwhile is delivered here, and its handler runs
        # (records it, under `stoppable`) at the next bytecode.
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
