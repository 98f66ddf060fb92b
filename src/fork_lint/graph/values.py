"""The solver's vocabulary: abstract values, units of work and value stores.

Abstract values are tuples:

==========================  ==============================================
``("m", module)``           a module of the project
``("f", qualname)``         a function or lambda of the project
``("c", qualname)``         a class of the project
``("i", qualname)``         an instance of a project class
``("s", qualname)``         ``self``: an instance of the class or of any subclass
``("b", func, mode, cls)``  a method bound to a receiver: an instance of
                            exactly ``cls`` (mode ``"i"``), of ``cls`` or a
                            subclass (``"s"``), or the class ``cls`` (``"c"``)
``("k", key)``              a container (see `fork_lint.graph.containers`)
``("km", key, method)``     a method of such a container
``("sup", cls)``            ``super()`` inside class ``cls``
``("v", text)``             a constant string the analysis follows (a start
                            method name, see ``facts.TRACKED_CONSTANTS``)
``("const", text)``         in a container slot: a constant stored there
``("x", path, alloc)``      a value from outside the project, named by its
                            import path (see ``fork_lint.catalog``); ``alloc``
                            is the call site that created it, ``""`` if none
==========================  ==============================================

An instance of a class whose objects are told apart (`fork_lint.graph.contexts`)
carries the call site that created it: ``("i", qualname, alloc)``; a method bound
to it, ``("b", func, "i", cls, alloc)``; ``super()`` in a method, the receiver
the method runs on: ``("sup", cls, mode, cls2[, alloc])``.

A function analysed in several contexts (`fork_lint.graph.contexts`) has a
*node* per context: its qualified name for the first (primary) context,
``qualname⟨n⟩`` for context ``n``. A call site of the function in context ``n``
is the *virtual site* ``(module, id + n * STRIDE)``; `real_site` maps it back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ASSIGN",
    "CALL",
    "INSTANCES",
    "LOOKUP",
    "RELEASED",
    "RETURN",
    "STATEMENT",
    "STRIDE",
    "Args",
    "LookupKey",
    "SiteRef",
    "Store",
    "Unit",
    "Value",
    "ValueSet",
    "alloc_name",
    "alloc_site",
    "base_name",
    "closure",
    "context_of",
    "node_name",
    "real_site",
    "start_method_in",
]

Value = tuple[Any, ...]
SiteRef = tuple[str, int]  # (module, call site id)
# ("a", module, scope, position, kind, index): an assignment (kind 1, its index in
# the scope), a call site (kind 0, its id) or the scope's returns (kind 2, 0), at
# its position in the scope's evaluation order (`CallSite.order`);
# ("l", LookupKey): an attribute lookup, shared by every unit that makes it.
Unit = tuple[Any, ...]
# (class, attribute, mode): mode "i" on an instance, "c" on the class itself,
# "s" on ``self`` (the class or any subclass), "sup" through ``super()``
LookupKey = tuple[str, str, str]
# Waves run in sorted order: statements in source order, then lookups.
STATEMENT, LOOKUP = "a", "l"
CALL, ASSIGN, RETURN = 0, 1, 2
# Positional argument values (with whether each is `*args`), keyword argument values
# (key None: a `**mapping`; a constant keyword value is a marker `("const", repr)`).
Args = tuple[list[tuple[bool, set[Value]]], list[tuple[str | None, set[Value]]]]
INSTANCES = frozenset(("i", "s"))
# Virtual call sites: call site ``id`` of a function in context ``n`` is
# ``id + n * STRIDE`` (no module has a million call sites).
STRIDE = 1 << 20
_OPEN, _CLOSE = "\u27e8", "\u27e9"  # ⟨ ⟩: never in a qualified name


def node_name(qualname: str, context: int) -> str:
    """The call-graph node of ``qualname`` in ``context`` (0: the primary one)."""
    return f"{qualname}{_OPEN}{context}{_CLOSE}" if context else qualname


def base_name(node: str) -> str:
    """The function (or module) a call-graph node is a context of."""
    return node.partition(_OPEN)[0]


def context_of(node: str) -> int:
    """The context number of a call-graph node (0: primary)."""
    _, sep, rest = node.partition(_OPEN)
    return int(rest[:-1]) if sep else 0


def real_site(ref: SiteRef) -> SiteRef:
    """The call site of the facts a (possibly virtual) call site stands for."""
    return (ref[0], ref[1] % STRIDE) if ref[1] >= STRIDE else ref


class _Released:
    """Stands in for the program of a released store: no unit is running."""

    _unit = None


RELEASED: Any = _Released()


class ValueSet(set[Value]):
    """A stored value set that holds its own readers (one unit, or a set of them),
    so that reading it and growing it need no second lookup in a table of readers
    (a side table keyed by `id` cost 70 MB on the benchmark corpus, and the store's
    table of readers, looked up on every read, a tenth of the solving time). It
    holds the store's `deps`, not the store, which holds it: no reference cycle."""

    __slots__ = ("deps", "key", "readers")

    deps: dict[Any, Any]
    key: Any
    readers: Any  # None | Unit | set[Unit]


class Store(dict[Any, set[Value]]):
    """A value store that records which unit read which key, so that growing a set
    re-evaluates exactly the units that depend on it (a worklist fixed point
    instead of re-evaluating the whole program every round).

    The readers of a key are one unit, or a set of them when there are several:
    most keys have one reader, and 700,000 one-element sets took 400 MB on the
    benchmark corpus. They are kept on the key's `ValueSet`; `deps` holds only
    the readers of keys that have no set yet, which the set takes when it is made.
    """

    __slots__ = ("deps", "program")

    def __init__(self, program: Any) -> None:
        super().__init__()
        self.program = program
        self.deps: dict[Any, Any] = {}  # key without a set -> Unit | set[Unit]

    def __missing__(self, key: Any) -> set[Value]:
        values = ValueSet()
        values.deps = self.deps
        values.key = key
        values.readers = self.deps.pop(key, None)
        self[key] = values
        return values

    def get_present(self, key: Any) -> Any:
        """The set of ``key`` if it has one, read as `get` reads it; None, and no
        reader recorded, if not."""
        # The reader is recorded inline here and in `get`, not through a shared
        # helper: both run millions of times per solve, and the call cost showed.
        values: Any = dict.get(self, key)
        if values is not None:
            unit = self.program._unit
            if unit is not None:
                readers = values.readers
                if readers is None:
                    values.readers = unit
                elif readers.__class__ is set:
                    readers.add(unit)
                elif readers is not unit and readers != unit:
                    values.readers = {readers, unit}
        return values

    def get(self, key: Any, default: Any = None) -> Any:
        values: Any = dict.get(self, key)
        unit = self.program._unit
        if unit is not None:
            if values is not None:
                readers = values.readers
                if readers is None:
                    values.readers = unit
                elif readers.__class__ is set:
                    readers.add(unit)
                elif readers is not unit and readers != unit:
                    values.readers = {readers, unit}
            else:
                deps = self.deps
                readers = deps.get(key)
                if readers is None:
                    deps[key] = unit
                elif readers.__class__ is set:
                    readers.add(unit)
                elif readers is not unit and readers != unit:
                    deps[key] = {readers, unit}
        return default if values is None else values


def alloc_name(ref: SiteRef) -> str:
    """The name a library value keeps of the call site that created it."""
    return f"{ref[0]}#{ref[1]}"


def alloc_site(name: str) -> SiteRef:
    """The call site `alloc_name` names."""
    mod, _, sid = name.rpartition("#")
    return (mod, int(sid))


def closure(start: Iterable[str], step: Mapping[str, Iterable[str]]) -> set[str]:
    """``start`` and everything reachable from it through ``step``."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in step.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


_CTX_RE = re.compile(r"get_context\((?:'(?P<m>[a-z]+)'|(?P<q>\?))?\)")


def start_method_in(path: str) -> str | None:
    """The start method named by a ``get_context(...)`` in a resolved path.

    ``"default"`` when the path uses the module-level default context,
    ``None`` when the method cannot be known statically.
    """
    matches = list(_CTX_RE.finditer(path))
    if not matches:
        return "default"
    m = matches[-1]
    if m.group("q"):
        return None
    return m.group("m") or "default"
