"""libcst's parser, kept from ending the run.

libcst parses in native code (Rust), recursively, and some inputs `ast` accepts
are beyond it: a chain of 10,000 `and` (60 kB) overflows the 8 MB stack of the
main thread, and `import a.a.a...` with 10,000 parts (20 kB) does too; the
process dies of SIGSEGV, with no Python exception and no message. A size bound
alone does not prevent it. So:

1. a file larger than `MAX_CHARS` is not parsed at all (no fix is offered for it;
   the measurements behind the bound are in docs/reliability.md);
2. libcst parses on a thread whose stack (`_STACK`) holds any nesting a file of
   `_SAFE_CHARS` can have, even at one character and 8 kB of stack per level;
3. a larger file is parsed first by a child process (a fresh interpreter, not a
   fork), on a stack half that size and with its address space limited to
   `CHILD_MEMORY`; only if the child comes back with a tree is the file parsed
   here. A child that dies takes only its own verdict with it;
4. whatever libcst raises (a syntax error, RecursionError, MemoryError, a Rust
   panic) becomes `CannotParse`.

Verdicts are kept by content for the life of the process, and one child, started
when the first large file needs it (0.2-0.5 s), serves every file in turn.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import subprocess
import sys
import threading
from typing import IO

import libcst as cst

from fork_lint.fixes.base import LIBCST_MAX_CHARS

__all__ = ["CHILD_MEMORY", "MAX_CHARS", "CannotParse", "TooLarge", "parse_module"]

MAX_CHARS = LIBCST_MAX_CHARS
_SAFE_CHARS = 1 << 16  # parsed without a child first: 64k levels of 8 kB fit in `_STACK`
_STACK = 512 << 20  # the parsing thread's stack (reserved, used only as deep as needed)
_CHILD_STACK = 256 << 20  # the child's: less, so what it parses, this process can
CHILD_MEMORY = 3 << 30  # the child's address space
_ANSWER_SECONDS = 600  # a child that has not answered by then counts as failed


class TooLarge(Exception):
    """The file is larger than `MAX_CHARS`."""


class CannotParse(Exception):
    """libcst cannot parse the text (its reason is the message)."""


def parse_module(text: str) -> cst.Module:
    """libcst's parse of `text`, or `TooLarge` or `CannotParse`; never a crash."""
    if len(text) > MAX_CHARS:
        raise TooLarge(len(text))
    if len(text) > _SAFE_CHARS:
        problem = _PROBE.verdict(text)
        if problem is not None:
            raise CannotParse(problem)
    return _parse_on_a_deep_stack(text)


def _parse_on_a_deep_stack(text: str) -> cst.Module:
    result: list[cst.Module] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.append(cst.parse_module(text))
        except BaseException as exc:  # a Rust panic is a BaseException
            failure.append(exc)

    previous = threading.stack_size()
    try:
        threading.stack_size(_STACK)
        # Not a daemon: at exit (Ctrl-C while parsing) the interpreter ends daemon
        # threads with pthread_exit, which unwinding through libcst's native
        # parser turns into an abort. A parse is bounded by `MAX_CHARS`, so the
        # exit waits seconds at most.
        thread = threading.Thread(target=work, name="fork-lint libcst", daemon=False)
        thread.start()
    except (RuntimeError, ValueError, MemoryError) as exc:
        raise CannotParse(f"cannot start the parsing thread: {exc}") from exc
    finally:
        threading.stack_size(previous)
    thread.join()
    if failure:
        error = failure[0]
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise error
        raise CannotParse(_describe(error)) from error
    return result[0]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, cst.ParserSyntaxError):
        return "libcst cannot parse it"
    if isinstance(exc, RecursionError):
        return "it nests too deeply for libcst"
    if isinstance(exc, MemoryError):
        return "libcst runs out of memory parsing it"
    return f"libcst fails on it ({type(exc).__name__})"


# The child: reads the parent's sys.path, then texts, and answers each with one
# byte. Only the standard library and libcst: it must not depend on how fork-lint
# itself was imported.
_CHILD = """\
import json, os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
except (ImportError, ValueError, OSError):
    pass
read, write = sys.stdin.buffer, sys.stdout.buffer
size = int.from_bytes(read.read(8), "big")
sys.path[:0] = json.loads(read.read(size))
import threading
import libcst
def parse(text, answer):
    try:
        libcst.parse_module(text)
        answer.append(b"o")
    except libcst.ParserSyntaxError:
        answer.append(b"s")
    except RecursionError:
        answer.append(b"d")
    except MemoryError:
        answer.append(b"m")
    except BaseException:
        answer.append(b"e")
threading.stack_size({stack})
write.write(b"r"); write.flush()
while True:
    head = read.read(8)
    if len(head) < 8:
        break
    text = read.read(int.from_bytes(head, "big")).decode("utf-8", "surrogatepass")
    answer = []
    worker = threading.Thread(target=parse, args=(text, answer))
    worker.start()
    worker.join()
    write.write(answer[0] if answer else b"e"); write.flush()
"""

_ANSWERS = {
    b"o": None,
    b"s": "libcst cannot parse it",
    b"d": "it nests too deeply for libcst",
    b"m": "libcst runs out of memory parsing it",
    b"e": "libcst fails on it",
    b"": "libcst crashes on it (the process that tried it died)",
}


class _Probe:
    """The probing child and its verdicts (content hash -> problem or None)."""

    def __init__(self) -> None:
        self.known: dict[bytes, str | None] = {}
        self.child: subprocess.Popen[bytes] | None = None
        self.unavailable = False  # no interpreter to start: parse here without a probe

    def verdict(self, text: str) -> str | None:
        data = text.encode("utf-8", "surrogatepass")
        key = hashlib.sha256(data).digest()
        if key not in self.known:
            self.known[key] = self._ask(data)
        return self.known[key]

    def _ask(self, data: bytes) -> str | None:
        child = self._child()
        if child is None:
            return None
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(len(data).to_bytes(8, "big") + data)
            child.stdin.flush()
            answer = _read(child.stdout, 1)
        except OSError:
            answer = b""
        if answer not in _ANSWERS or not answer:
            self._stop()
            answer = b""
        return _ANSWERS[answer]

    def _child(self) -> subprocess.Popen[bytes] | None:
        if self.child is not None and self.child.poll() is None:
            return self.child
        self.child = None
        if self.unavailable or not sys.executable:
            self.unavailable = True
            return None
        try:
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    _CHILD.format(memory=CHILD_MEMORY, stack=_CHILD_STACK),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self.unavailable = True
            return None
        assert child.stdin is not None and child.stdout is not None
        paths = json.dumps([p for p in sys.path if isinstance(p, str)]).encode()
        try:
            child.stdin.write(len(paths).to_bytes(8, "big") + paths)
            child.stdin.flush()
            ready = _read(child.stdout, 1)
        except OSError:
            ready = b""
        if ready != b"r":  # no libcst there, or it died starting: no probing this run
            child.kill()
            child.wait()
            self.unavailable = True
            return None
        self.child = child
        return child

    def _stop(self) -> None:
        child, self.child = self.child, None
        if child is not None:
            child.kill()
            child.wait()

    def close(self) -> None:
        child, self.child = self.child, None
        if child is None:
            return
        try:
            if child.stdin is not None:
                child.stdin.close()  # the child ends at the end of its input
            child.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()


def _read(stream: IO[bytes], n: int) -> bytes:
    """`n` bytes, or b"" if the child died or did not answer in time."""
    if os.name == "posix":
        import select

        ready, _, _ = select.select([stream], [], [], _ANSWER_SECONDS)
        if not ready:
            return b""
    return stream.read(n)


_PROBE = _Probe()
atexit.register(_PROBE.close)
