"""Whole-program call graph from module facts.

A flow-insensitive, context-insensitive points-to analysis in the spirit of
PyCG: every name, attribute and call site holds a set of abstract values, and
the sets grow until nothing changes. Abstract values are tuples:

==========================  ==============================================
``("m", module)``           a module of the project
``("f", qualname)``         a function or lambda of the project
``("c", qualname)``         a class of the project
``("i", qualname)``         an instance of a project class
``("s", qualname)``         ``self``: an instance of the class or of any subclass
``("b", func, mode, cls)``  a method bound to a receiver: an instance of
                            exactly ``cls`` (mode ``"i"``), of ``cls`` or a
                            subclass (``"s"``), or the class ``cls`` (``"c"``)
``("k", key)``              a container (see `graph.containers`)
``("km", key, method)``     a method of such a container
``("v", text)``             a constant string the analysis follows (a start
                            method name, see ``facts.TRACKED_CONSTANTS``)
``("x", path, alloc)``      a value from outside the project, named by its
                            import path (see ``fork_lint.catalog``); ``alloc``
                            is the call site that created it, ``""`` if none
==========================  ==============================================

Precision choices: a container is a value ``("k", key)`` whose elements are
kept slot by slot (constant keys and positions, see `graph.containers`);
``self`` is the receivers a method is called on (`Hierarchy._bind_receiver`),
or one value standing for an instance of the method's class or of any subclass
where the receivers are not known (methods nothing in the project calls,
methods of classes with a library base) or are many; a function that returns a
parameter unchanged returns, at each call, that call's own argument; a project
decorator's result keeps the definition it decorates and its own wrappers, not
every other definition it was applied to; a wrapper that forwards to the
function it decorates is entered with that function, and its forwarding call
passes on only what the wrapper adds (`Decorators._find_forwarders`); unknown
external calls do not call their arguments; an element of a value that is not
a container is not that value; a set that grows past ``_WIDEN`` values keeps
only functions, methods and library values, in sorted order (widening), which
bounds the work on large dynamic code bases: it drops values, it never adds
one. Attribute lookups on classes are memoised as units of their own.

The analysis is built in layers, each a module: `state` (stores, widening),
`hierarchy` (classes and attribute lookups), `containers` (slots),
`evaluate` (expressions), `decorators`, `calls`, `annotations` (values for
what nothing in the project sets), and this one, which runs the units to a
fixed point; `why` reads back why an edge exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fork_lint.catalog import PathFilter
from fork_lint.graph.annotations import Annotations
from fork_lint.graph.plugins import Declared
from fork_lint.graph.starters import last_call
from fork_lint.graph.state import CORE_ROOTS
from fork_lint.graph.values import (
    ASSIGN,
    CALL,
    LOOKUP,
    RETURN,
    STATEMENT,
    SiteRef,
    Unit,
    Value,
    alloc_name,
    alloc_site,
    closure,
    node_name,
    start_method_in,
)
from fork_lint.index.facts import Expr, ModuleFacts

__all__ = [
    "CORE_ROOTS",
    "Program",
    "SiteRef",
    "Value",
    "alloc_name",
    "alloc_site",
    "closure",
    "start_method_in",
]

_MAX_ROUNDS = 60


class Program(Annotations):
    """All modules of the project, solved: the value sets and the call graph."""

    def __init__(
        self,
        modules: Iterable[ModuleFacts],
        roots: Iterable[str] | None = CORE_ROOTS,
        paths: PathFilter | None = None,
        *,
        allocs: bool = True,
        transparent: bool = True,
        starting: frozenset[str] | None = None,
        entry_points: Declared | None = None,
    ) -> None:
        super().__init__(modules, roots, paths, allocs=allocs)
        if entry_points:
            self.entry_points = entry_points
        # Names of calls that start threads or fork: contexts are made only where
        # they can tell those apart (`graph.contexts`); None makes them everywhere.
        self._starting_names = starting
        if transparent:
            self._find_forwarders()

    # -- solving ----------------------------------------------------------
    def solve(self) -> None:
        # A unit is one assignment, one call site or one function's returns: a
        # grown value set re-evaluates just the units that read it.
        # Units sort in source order within each scope (see `Unit`): a call before
        # the assignment that takes its result, an assignment before the calls on
        # the name it binds, the returns last. Sorted by kind (all assignments, then
        # all calls), 54,000 more units ran again on the benchmark corpus (862,000
        # runs), having read a set before the unit that fills it ran.
        # Class hierarchies decide attribute lookups everywhere: settle them first
        # from module-level and class bindings (imports, definitions), where base
        # classes almost always come from.
        toplevel: list[Unit] = []
        rest: list[Unit] = []
        for mod, facts in self.modules.items():
            calls = facts["calls"]
            for i, sc in enumerate(facts["scopes"]):
                at = -1
                out = toplevel if sc["kind"] in ("module", "class") else rest
                for k, (target, value) in enumerate(sc["assigns"]):
                    at = max(at, last_call(value, calls), last_call(target, calls))
                    out.append((STATEMENT, mod, i, at, ASSIGN, k))
                if sc["returns"]:
                    rest.append((STATEMENT, mod, i, sc["end_order"], RETURN, 0))
            rest.extend(
                (STATEMENT, mod, site["scope"], site["order"], CALL, site["id"]) for site in calls
            )
        self._drain(toplevel)
        for _ in range(_MAX_ROUNDS):
            if not self._update_bases():
                break
            self._hierarchy_changed()
            self._drain(())
        self._select_contexts()
        # Then everything; a unit runs again only when something it read grew.
        self._bind_self()
        self._drain(rest)
        for _ in range(_MAX_ROUNDS):
            if self._settle_decorators() or self._seed_uncalled():
                self._drain(())
                continue
            if not self._update_bases():
                # A fixed point: values the analysis has none for come from annotations.
                if self._seed_annotations():
                    self._drain(())
                    continue
                break
            self.rounds += 1
            self._hierarchy_changed()
            self._bind_self()
            self._drain(())
        self._unit = None

    def _drain(self, units: Iterable[Unit]) -> None:
        # In waves, each run in sorted order: what a unit finds when a set is widened
        # (`_add`) depends on what ran before it, and an order that followed set
        # iteration would follow the interpreter's hash seed, so that two runs on the
        # same code could report different findings.
        queue, queued = self._queue, self._queued
        for unit in units:
            if unit not in queued:
                queued.add(unit)
                queue.append(unit)
        while queue:
            wave = sorted(queue)
            queue.clear()  # what the wave queues runs in the next one
            for unit in wave:
                queued.discard(unit)
                self._run_unit(unit)
        self._unit = None

    def _run_unit(self, unit: Unit) -> None:
        self._unit = unit
        if unit[0] == LOOKUP:
            self._run_lookup(unit[1])
            return
        buffer: dict[int, list[Any]] = {}
        self._buffer = buffer
        try:
            self._run_statement(unit)
        finally:
            self._buffer = None
        if len(buffer) > 1:
            # Values that are themselves a set this unit adds to are taken as they
            # were before any of its additions, whatever order these are applied in.
            for pending in buffer.values():
                if id(pending[1]) in buffer:
                    pending[1] = set(pending[1])
        for store, values, _ in buffer.values():
            self._grow(store, values)

    def _run_statement(self, unit: Unit) -> None:
        if len(unit) > 6:  # a unit of a context besides the function's primary one
            saved = self._set_context(unit[6])
            try:
                self._run_in_context(unit)
            finally:
                self._restore_context(saved)
        else:
            self._run_in_context(unit)

    def _run_in_context(self, unit: Unit) -> None:
        mod, i, kind, k = unit[1], unit[2], unit[4], unit[5]
        facts = self.modules[mod]
        if kind == CALL:
            self._call(mod, facts["calls"][k])
            return
        sc = facts["scopes"][i]
        if kind == ASSIGN:
            target, value = sc["assigns"][k]
            # A constant stored in a container is kept as a marker (`graph.containers`).
            stored = self._stored if target[0] == "item" else self.eval
            self._assign(mod, i, target, stored(mod, i, value))
        else:
            qualname = node_name(sc["qualname"], self._ctx)
            out: set[Value] = set()
            direct: set[Value] = set()
            returning = self._returning(mod, sc)
            generator = None
            for n, r in enumerate(sc["returns"]):
                if r[0] == "yield":
                    # A call of a generator returns it: iterating it gives what it yields.
                    generator = generator or self._container(qualname + "#yield", "gen")
                    self._write(generator[1], "*", self._stored(mod, i, r[1]))
                    continue
                values = self.eval(mod, i, r)
                out |= values
                if n not in returning:
                    direct |= values
            if generator is not None:  # what it returns ends the iteration
                out, direct = {generator}, {generator}
            self._add_at(self.rets, qualname, out)
            if self._ctx:
                self._add_at(self.rets, sc["qualname"] + "\u27e8*\u27e9", out)
            if returning:
                self._add_at(self.direct_rets, qualname, direct)

    def _update_bases(self) -> bool:
        # A class defined twice under one name (`if PY2: class A(X) else: class A(Y)`)
        # has the bases of both; comparing per definition would flip between them
        # and never reach a fixed point.
        new: dict[str, list[Value]] = {}
        opened: set[str] = set()
        for mod, facts in self.modules.items():
            for i, sc in enumerate(facts["scopes"]):
                if sc["kind"] == "class":
                    bases = new.setdefault(sc["qualname"], [])
                    for b in sc["bases"]:
                        values = sorted(self.eval(mod, i, b))
                        if not values and not _inert_name(facts, b):
                            # A class the analysis does not have: it keeps its place
                            # in the MRO, where it may define any attribute.
                            values = [("o", _opaque_name(mod, facts, b))]
                        bases.extend(v for v in values if v not in bases)
                        if not any(v[0] == "c" or _inert_base(v) for v in values):
                            opened.add(sc["qualname"])
        changed = new != self.bases or opened != self._open_bases
        if changed:
            self._old_bases = self.bases
        self.bases = new
        self._open_bases = opened
        self._opened = None
        return changed


# Library bases that call no method a subclass defines (other than special ones).
_INERT_ROOTS = ("builtins.", "typing.", "typing_extensions.", "abc.", "collections.abc.", "enum.")


def _inert_base(value: Value) -> bool:
    return value[0] == "x" and value[1].startswith(_INERT_ROOTS) and "(" not in value[1]


def _inert_name(facts: ModuleFacts, base: Expr) -> bool:
    """Whether a base that names nothing the analysis tracks (``ABC`` from ``abc``,
    a module outside the tracked roots) is imported from an inert library module."""
    path = _imported_path(facts, base)
    return path is not None and (path + ".").startswith(_INERT_ROOTS)


def _imported_path(facts: ModuleFacts, base: Expr) -> str | None:
    """The import path a base names (``Generic[T]``, ``mod.Name``, ``Name``), when a
    module-level import binds it."""
    while base[0] == "item":  # `Generic[T]`
        base = base[1]
    attr = ""
    if base[0] == "attr" and base[1][0] == "name":
        base, attr = base[1], base[2]
    if base[0] != "name":
        return None
    for target, value in facts["scopes"][0]["assigns"]:
        if target == base:
            if value[0] == "from":
                path = f"{value[1]}.{value[2]}"
            elif value[0] == "module":
                path = value[1]
            else:
                continue
            return f"{path}.{attr}" if attr else path
    return None


def _opaque_name(mod: str, facts: ModuleFacts, base: Expr) -> str:
    """A name for a base class the analysis does not have: its import path, so that
    the classes deriving from it share one MRO entry, else where it is written."""
    path = _imported_path(facts, base)
    return path if path is not None else f"{mod}:{base!r}"
