"""The built-in catalogue of fork sinks and thread sources.

Entries match *resolved paths* of external values. The resolver names a value
that comes from outside the analysed project by the dotted path it was imported
from, after aliases are undone, with ``()`` for a call result:

* ``import threading as t; t.Thread`` -> ``threading.Thread``
* ``t.Thread(target=f)`` -> ``threading.Thread()``; ``.start`` on it -> ``threading.Thread().start``
* an instance of a project class ``class W(threading.Thread)`` falls back to
  ``threading.Thread()`` for attributes the project does not define, so
  ``W().start`` -> ``threading.Thread().start``
* ``redis.Redis().pubsub().run_in_thread``

Patterns are ``fnmatch`` globs over that path (``*`` also matches dots and
parentheses). Packages re-export names, so an entry lists every import path in
common use, or uses a glob.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ThreadSource:
    """A call that starts (or may start) a thread that outlives the call."""

    patterns: tuple[str, ...]  # globs over resolved paths of the *called* value
    name: str  # display name in messages, e.g. "threading.Thread.start"
    why: str  # one or two sentences: which thread, started when, how long it lives
    reference: str = ""  # URL to the library's docs or source that shows it
    # Which argument runs on the new thread, if any: (position, keyword). The
    # position counts arguments as written at the call (no implicit self).
    target: tuple[int | None, str | None] | None = None
    # The thread comes from an asyncio event loop's default executor or the
    # event loop's own machinery: it lives as long as the loop does.
    event_loop: bool = False
    # Method name that also matches on a receiver the resolver could not
    # resolve (e.g. ``self._loop.run_in_executor``). Only for names distinctive
    # enough that a false match is implausible.
    any_receiver_method: str | None = None
    # The callable that runs on the thread was given when the receiver object
    # was created (``Thread(target=f).start()``), not to this call.
    target_from_alloc: bool = False
    # When the receiver is an instance of a project subclass, this method of the
    # subclass runs on the new thread (``Thread.run``, ``QThread.run``).
    run_method: str | None = None
    # The threads are joined before the call returns: the target runs on another
    # thread, but no thread outlives the call.
    transient: bool = False
    # Starts a thread only when one of these keyword arguments is passed this
    # literal value (``logger.add(sink, enqueue=True)``); empty means always.
    only_if: tuple[tuple[str, object], ...] = ()

    def matches(self, path: str) -> bool:
        return any(_compiled(p).fullmatch(path) is not None for p in self.patterns)


@dataclass(frozen=True)
class ForkSink:
    """A call that forks the calling process."""

    patterns: tuple[str, ...]
    name: str
    kind: str  # rule sink kind: os-fork, multiprocessing, process-pool, preexec-fn, custom
    why: str = ""


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def match_any(patterns: tuple[str, ...], path: str) -> bool:
    return any(_compiled(p).fullmatch(path) is not None for p in patterns)


class PatternIndex(Generic[T]):
    """Look up every payload whose pattern matches a path; exact patterns by dict,
    globs by one combined regex, results memoised (the solver asks for the same
    paths in every round)."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._exact: dict[str, list[T]] = {}
        self._globs: list[tuple[re.Pattern[str], T]] = []
        for pattern, payload in entries:
            if any(c in pattern for c in "*?["):
                self._globs.append((_compiled(pattern), payload))
            else:
                self._exact.setdefault(pattern, []).append(payload)
        self._any = (
            re.compile("|".join(f"(?:{p.pattern})" for p, _ in self._globs))
            if self._globs
            else None
        )
        self._cache: dict[str, tuple[T, ...]] = {}

    def lookup(self, path: str) -> tuple[T, ...]:
        hit = self._cache.get(path)
        if hit is not None:
            return hit
        found: list[T] = list(self._exact.get(path, ()))
        if self._any is not None and self._any.match(path):
            found.extend(payload for rx, payload in self._globs if rx.fullmatch(path))
        result = tuple(dict.fromkeys(found))
        self._cache[path] = result
        return result


_BOUNDARY = re.compile(r"[.(]")


class PathFilter:
    """Which external paths are worth tracking: those that can still grow into a
    catalogue pattern. ``copy.deepcopy()`` or ``json.loads().get`` never can, and
    tracking them through a large program multiplies value sets for nothing."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._prefixes: set[str] = set()
        heads: set[str] = set()
        for pattern in patterns:
            glob = min((i for i, c in enumerate(pattern) if c in "*?["), default=-1)
            literal = pattern if glob < 0 else pattern[:glob]
            if glob >= 0:
                heads.add(literal)
            self._prefixes.add(literal)
            for m in _BOUNDARY.finditer(literal):
                self._prefixes.add(literal[: m.start()])
                if m.group() == "(":
                    self._prefixes.add(literal[: m.start() + 2])
        self._heads = tuple(sorted(h for h in heads if h))
        self._cache: dict[str, bool] = {}

    def useful(self, path: str) -> bool:
        hit = self._cache.get(path)
        if hit is None:
            hit = path in self._prefixes or path.startswith(self._heads)
            self._cache[path] = hit
        return hit
