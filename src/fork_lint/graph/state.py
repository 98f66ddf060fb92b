"""The solver's state: the program's modules and scopes, the value stores, and how
a value set grows (widening) and wakes the units that read it.

See `fork_lint.graph.solver` for the analysis as a whole; the layers above this
one (`hierarchy`, `evaluate`, `decorators`, `calls`) add the semantics.
"""

from __future__ import annotations

import sys
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from fork_lint.catalog import PathFilter
from fork_lint.graph.plugins import Declared
from fork_lint.graph.values import (
    RELEASED,
    STRIDE,
    LookupKey,
    SiteRef,
    Store,
    Unit,
    Value,
    ValueSet,
    node_name,
)
from fork_lint.index.facts import CallSite, ModuleFacts, Scope

__all__ = ["CORE_ROOTS", "ProgramState"]

_STDLIB = frozenset(sys.stdlib_module_names) - {"__main__"}
# Widening thresholds of a value set (see `ProgramState._grow`).
_WIDEN = 24
_WIDEN_CALLABLES = 48
# Attribute hops allowed after the last call in an external path. Catalogue
# entries need one (`redis.Redis().pubsub().run_in_thread`); without a bound,
# `node = node.value` in a recursive function grows new paths every round.
_MAX_ATTR_HOPS = 2
_MAX_CALLS = 4
# Always tracked: what fork sinks, runners and pass-through calls are made of.
CORE_ROOTS = frozenset(
    (
        "builtins", "functools", "os", "posix", "pty", "subprocess", "multiprocessing",
        "billiard", "concurrent", "threading", "_thread", "asyncio", "signal", "atexit",
        "contextvars", "copy", "typing", "uvloop", "trio", "anyio",
    )
)  # fmt: skip


class ProgramState:
    """All modules of the project, the solved value sets and the call graph."""

    def __init__(
        self,
        modules: Iterable[ModuleFacts],
        roots: Iterable[str] | None = CORE_ROOTS,
        paths: PathFilter | None = None,
        *,
        allocs: bool = True,
    ) -> None:
        self.paths = paths
        # The entry points the project declares, by group (`graph.plugins`).
        self.entry_points: Declared = {}
        # The names calls that start threads or fork end with (`graph.starters`);
        # None: not known (exporting the graph), every function may.
        self._starting_names: frozenset[str] | None = None
        # Without `allocs`, external instances are not told apart by the call that
        # created them: enough to name callees (graph export), far fewer values.
        self.allocs = allocs
        # Values from external modules outside `roots` can never match a sink or
        # a source, so they are not tracked at all: this keeps value sets small.
        # `roots=None` tracks every external module (for exporting the graph).
        self.roots = None if roots is None else frozenset(roots) | CORE_ROOTS
        self.modules: dict[str, ModuleFacts] = {}
        for facts in modules:
            if facts["error"] is None:
                self.modules.setdefault(facts["module"], facts)
        self.alias: dict[str, str] = {}
        for name, facts in self.modules.items():
            short = self._package_relative(name, facts["is_package"])
            # `airflow/sdk/_shared/logging/` (in a directory without `__init__.py`)
            # must not take over `import logging`.
            if short.partition(".")[0] in _STDLIB:
                continue
            if short != name and short not in self.modules:
                self.alias.setdefault(short, name)
        # Packages without an `__init__.py` that hold project modules: `import a.b`
        # binds `a`, whose attribute `b` is the project's module. Other
        # distributions may add portions to the same namespace.
        self.namespace_packages = frozenset(
            prefix
            for name in (*self.modules, *self.alias)
            for prefix in _prefixes(name)
            if prefix not in self.modules
        )
        # qualname -> [(module, scope index)]
        self.scopes: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for mod, facts in self.modules.items():
            for i, sc in enumerate(facts["scopes"]):
                self.scopes[sc["qualname"]].append((mod, i))
        self._unit: Unit | None = None
        # Contexts (`fork_lint.graph.contexts`): context n -> (function, key); the
        # key of each function's primary context; the contexts of each function
        # besides it. While a unit of context n runs, `_ctx` is n and the
        # function's own names are read and written under its node.
        self.contexts: list[tuple[str, Any]] = [("", None)]
        self._context_ids: dict[tuple[str, Any], int] = {}
        self._primary: dict[str, Any] = {}
        self.secondaries: dict[str, list[int]] = defaultdict(list)
        self._ctx = 0
        self._ctx_qualname = ""
        self._ctx_node = ""
        # store id -> [store, values, whether `values` is a copy of our own]
        self._buffer: dict[int, list[Any]] | None = None
        self._queue: deque[Unit] = deque()
        self._queued: set[Unit] = set()
        self.vars: dict[tuple[str, str], set[Value]] = Store(self)
        self.fields: dict[tuple[str, str], set[Value]] = Store(self)
        self.results: dict[SiteRef, set[Value]] = Store(self)
        # what each function returns (or yields), updated when its scope is evaluated
        self.rets: dict[str, set[Value]] = Store(self)
        # the same without parameters returned unchanged (see `_returning`)
        self.direct_rets: dict[str, set[Value]] = Store(self)
        self._returned: dict[int, dict[int, str]] = {}
        # What annotations gave (`graph.annotations`), for `graph.why`: the store
        # ("vars", "rets" or "fields") and key -> the values given and the annotation.
        self.annotated: dict[tuple[str, Any], tuple[frozenset[Value], str]] = {}
        # default values of parameters, (function, parameter) -> values
        self.defaults: dict[tuple[str, str], set[Value]] = Store(self)
        # what containers hold, slot by slot, and their slots (`graph.containers`)
        self.items: dict[tuple[str, str], set[Value]] = Store(self)
        self.slots: dict[str, set[Value]] = Store(self)
        self.kinds: dict[str, str] = {}
        # what callers pass into each `**kwargs` container, slot by slot
        self.passed_in: dict[tuple[str, str], set[Value]] = {}
        # memoised lookups of (class, attribute, mode), see `LookupKey`
        self.lookups: Store = Store(self)
        self._fresh: set[LookupKey] = set()
        self._looked_up: set[str] = set()  # attributes of the lookups in `_fresh`
        self._fields_get = partial(dict.get, self.fields)
        self._vars_get = partial(dict.get, self.vars)
        self._fields_deps = self.fields.deps
        self._vars_deps = self.vars.deps
        self._classes = {
            q
            for q, refs in self.scopes.items()
            if any(self.modules[m]["scopes"][i]["kind"] == "class" for m, i in refs)
        }
        self.callees: dict[SiteRef, set[Value]] = defaultdict(set)
        # call site -> project functions / modules it invokes (its call edges)
        self.edges: dict[SiteRef, set[str]] = defaultdict(set)
        self.bases: dict[str, list[Value]] = {}
        # classes with a base whose code may call their methods (see `_open`)
        self._open_bases: set[str] = set()
        self._opened: set[str] | None = None  # classes with an open base in their MRO
        self._namespaces: dict[str, frozenset[str]] = {}
        # (bound method, node) whose receiver the node's `self` holds
        self._bound: set[tuple[Value, str]] = set()
        # configured classes and the allocations of their objects (`graph.contexts`)
        self._configured: set[str] = set()
        self._objects: dict[str, set[str]] = defaultdict(set)
        self._mro: dict[str, list[Value]] = {}
        self._subclasses: dict[str, set[str]] = {}
        self._tails: dict[str, list[list[Value]]] = {}
        self._old_bases: dict[str, list[Value]] = {}  # before the last change
        self._lookup_cache: dict[tuple[str, int, str], tuple[str, str] | None] = {}
        self._scope_of: dict[str, Scope | None] = {}  # memo of `scope`
        self._own_methods: dict[str, list[str]] | None = None
        self._entered: dict[tuple[SiteRef, str], tuple[int | None, ...]] = {}
        self._changed = False
        self.rounds = 0
        # Forwarding wrappers (see `_find_forwarders`): decorator -> its wrappers
        # (the values to call: functions, or a class's bound `__call__`), and the
        # units of its forwarding calls;
        # forwarding call site -> its decorator; decorated definition -> the
        # wrappers around it; decorators whose wrappers may hold something else.
        self._forwarders: dict[str, frozenset[Value]] = {}
        self._forwarding_units: dict[str, list[Unit]] = {}
        self._forwarded: dict[str, str] = {}  # decorator -> the parameter forwarded to
        self.forwarding: dict[SiteRef, str] = {}
        self.wrappers: dict[str, set[Value]] = Store(self)
        self.opaque: set[str] = set()

    def release(self) -> None:
        """Break the stores' references back to the program, so that reference
        counting frees it when the last user lets go: left to the cyclic collector,
        millions of small objects are walked once more before they are freed."""
        for store in (
            self.vars, self.fields, self.results, self.rets, self.direct_rets, self.items,
            self.slots, self.lookups, self.wrappers, self.defaults,
        ):  # fmt: skip
            if isinstance(store, Store):
                store.program = RELEASED

    def _package_relative(self, name: str, is_package: bool) -> str:
        """The name the innermost chain of regular packages gives a module."""
        parts = name.split(".")
        pkg_parts = parts if is_package else parts[:-1]
        start = len(pkg_parts)
        while start > 0:
            candidate = ".".join(parts[:start])
            facts = self.modules.get(candidate)
            if facts is None or not facts["is_package"]:
                break
            start -= 1
        return ".".join(parts[start:]) if start < len(parts) else name

    def canon(self, module: str) -> str:
        return module if module in self.modules else self.alias.get(module, module)

    def _ext(self, path: str, alloc: str) -> set[Value]:
        if self.roots is not None and path.partition(".")[0] not in self.roots:
            return set()
        if self.paths is not None and not self.paths.useful(path):
            return set()
        calls = path.count("(")
        if calls > _MAX_CALLS or path.rpartition(")")[2].count(".") > _MAX_ATTR_HOPS:
            return set()
        if not self.allocs or (calls and path.rpartition(")")[2].count(".") > 1):
            alloc = ""  # only an instance and its methods need their creation site
        return {("x", path, alloc)}

    # -- scope helpers ----------------------------------------------------
    def scope(self, qualname: str) -> Scope | None:
        """The scope of a function or class; of its last definition when there are
        several (`typing.overload` stubs come before the implementation)."""
        try:
            return self._scope_of[qualname]
        except KeyError:  # once per name
            refs = self.scopes.get(qualname)
            found = self.modules[refs[-1][0]]["scopes"][refs[-1][1]] if refs else None
            self._scope_of[qualname] = found
            return found

    def site(self, ref: SiteRef) -> CallSite:
        """The call site of the facts; of a virtual site, the one it stands for."""
        return self.modules[ref[0]]["calls"][ref[1] % STRIDE]

    def scope_of_site(self, ref: SiteRef) -> Scope:
        facts = self.modules[ref[0]]
        return facts["scopes"][facts["calls"][ref[1] % STRIDE]["scope"]]

    def node_of(self, ref: SiteRef) -> str:
        """The call-graph node a (possibly virtual) call site belongs to."""
        return node_name(self.scope_of_site(ref)["qualname"], ref[1] // STRIDE)

    def _var_key(self, mod: str, scope_index: int, name: str) -> tuple[str, str] | None:
        ck = (mod, scope_index, name)
        try:
            key = self._lookup_cache[ck]
        except KeyError:  # once per name and scope
            key = self._lookup_cache[ck] = self._resolve_name(mod, scope_index, name)
        if self._ctx and key is not None and key[0] == self._ctx_qualname:
            return (self._ctx_node, key[1])  # the function's own name, in this context
        return key

    def _resolve_name(self, mod: str, scope_index: int, name: str) -> tuple[str, str] | None:
        scopes = self.modules[mod]["scopes"]
        sc = scopes[scope_index]
        first = True
        while True:
            if name in sc["globals"]:
                return (mod, name)
            if (first or sc["kind"] != "class") and name in sc["locals"]:
                return (sc["qualname"], name)
            first = False
            if sc["parent"] < 0:
                return None
            sc = scopes[sc["parent"]]

    def _add_at(self, store: dict[Any, set[Value]], key: Any, values: set[Value]) -> None:
        """`_add` to ``store[key]``, making no set for nothing: half the call results
        and lookups stay empty."""
        if values:
            self._add(store[key], values)

    def _add(self, store: set[Value], values: Iterable[Value]) -> None:
        buffer = self._buffer
        if buffer is not None:
            # A running unit's additions are applied when it ends (`_run_unit`):
            # past `_WIDEN` which values a set keeps depends on the order they come
            # in, and within a unit that order is the iteration order of sets.
            # Store sets do not grow while a unit runs, so the first values are kept
            # uncopied; a second addition to the same set merges into a copy.
            pending = buffer.get(id(store))
            if pending is None:
                buffer[id(store)] = [store, values, False]
            elif pending[2]:
                pending[1].update(values)
            else:
                pending[1] = set(pending[1]) | set(values)
                pending[2] = True
            return
        self._grow(store, values)

    def _grow(self, store: set[Value], values: Iterable[Value]) -> None:
        if not isinstance(values, (set, frozenset)):
            values = set(values)
        if store.issuperset(values):  # most units run again find nothing new
            return
        new = values - store
        if len(store) + len(new) > _WIDEN:
            # Past `_WIDEN` values a set says little about what the code does and
            # keeps growing with the program: stop adding data (instances,
            # containers), keep what can be called, up to a hard bound.
            room = _WIDEN_CALLABLES - len(store)
            data = max(_WIDEN - len(store), 0)
            kept: list[Value] = []
            for v in sorted(new):  # the same values on every run, whatever the hash seed
                if v[0] in ("f", "b", "x"):
                    if room > 0:
                        kept.append(v)
                        room -= 1
                elif data > 0:
                    kept.append(v)
                    data -= 1
                    room -= 1
            if not kept:
                return
            new = set(kept)
        store |= new
        self._changed = True
        if store.__class__ is ValueSet:
            key = store.key
            deps = store.deps
            readers = store.readers
            if readers is not None:
                queued = self._queued
                for unit in readers if readers.__class__ is set else (readers,):
                    if unit not in queued:
                        queued.add(unit)
                        self._queue.append(unit)
            if deps is self._fields_deps:
                if key[1] in self._looked_up:
                    self._notify_lookups(key[0], key[1], fields=True)
            elif deps is self._vars_deps and key[1] in self._looked_up and key[0] in self._classes:
                self._notify_lookups(key[0], key[1], fields=False)

    def _returns(self, qualname: str) -> set[Value]:
        """What a function returns, as last computed by evaluating its scope; the
        reader is re-evaluated when that grows."""
        values: set[Value] | None = self.rets.get(qualname)
        return values if values is not None else set()

    def _notify_lookups(self, cls: str, attr: str, *, fields: bool) -> None:
        """Re-run the memoised lookups that read ``(cls, attr)``: defined by the class
        hierarchy layer (`fork_lint.graph.hierarchy`), which owns the lookups."""
        raise NotImplementedError


def _prefixes(name: str) -> Iterator[str]:
    """``a`` and ``a.b`` for ``a.b.c``."""
    parts = name.split(".")
    for n in range(1, len(parts)):
        yield ".".join(parts[:n])
