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
``("b", func)``             a method bound to an instance
``("x", path, alloc)``      a value from outside the project, named by its
                            import path (see ``fork_lint.catalog``); ``alloc``
                            is the call site that created it, ``""`` if none
==========================  ==============================================

Precision choices: a container literal is a value ``("k", key)`` whose
elements are kept together (keys and indices are not told apart); ``self`` is
one value standing for an instance of the method's class or of any subclass
(so overrides are found, and a base class with many subclasses costs one
value, not one per subclass); a function that returns a parameter unchanged
returns, at each call, that call's own argument; a project decorator's result
keeps the definition it decorates and its own wrappers, not every other
definition it was applied to; a wrapper that forwards to the function it
decorates is entered with that function, not through its forwarding call
(`Program._find_forwarders`); unknown external calls do not call their
arguments; a set that grows past ``_WIDEN`` values keeps only functions,
methods and library values, in sorted order (widening), which bounds the work
on large dynamic code bases. Attribute lookups on classes are memoised as
units of their own.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from fork_lint.catalog import PathFilter, PatternIndex
from fork_lint.catalog.stdlib import CALLBACK_ARGS, PASS_THROUGH
from fork_lint.index.facts import CallSite, Expr, ModuleFacts, Scope

Value = tuple[Any, ...]
SiteRef = tuple[str, int]  # (module, call site id)

_BUILTINS = frozenset(dir(__import__("builtins")))
_STDLIB = frozenset(sys.stdlib_module_names) - {"__main__"}
_CONTEXT_FUNCS = ("get_context",)
_PASS_THROUGH = PatternIndex((pattern, pos) for pattern, pos in PASS_THROUGH)
_CALLBACKS = PatternIndex((pattern, (pos, kw)) for pattern, pos, kw in CALLBACK_ARGS)
_MAX_ROUNDS = 60
_NONE: frozenset[Any] = frozenset()
# Values whose call binds the call's arguments to a project function's parameters.
_ENTERING = frozenset(("f", "b", "c", "i", "s"))
_INSTANCES = frozenset(("i", "s"))
_DEFINED = frozenset(("c", "f", "b"))
# Widening thresholds of a value set (see `Program._add_widened`).
_WIDEN = 24
_WIDEN_CALLABLES = 48
_CONTAINER_ADD = frozenset(("append", "add", "appendleft", "insert", "setdefault"))
_CONTAINER_MERGE = frozenset(("extend", "update", "extendleft"))
_CONTAINER_GET = frozenset(("get", "pop", "popleft", "popitem", "setdefault", "__getitem__"))
_CONTAINER_VIEW = frozenset(("values", "keys", "items", "copy", "__iter__"))
_CONTAINER_METHODS = _CONTAINER_ADD | _CONTAINER_MERGE | _CONTAINER_GET | _CONTAINER_VIEW
# Builtins whose result holds what the callback returns.
_MAP_RESULTS = frozenset(("builtins.map",))
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


# ("a", module, scope, position, kind, index): an assignment (kind 1, its index in
# the scope), a call site (kind 0, its id) or the scope's returns (kind 2, 0), at
# its position in the scope's evaluation order (`CallSite.order`);
# ("l", LookupKey): an attribute lookup, shared by every unit that makes it.
Unit = tuple[Any, ...]
# (class, attribute, mode): mode "i" on an instance, "c" on the class itself,
# "s" on ``self`` (the class or any subclass), "sup" through ``super()``
LookupKey = tuple[str, str, str]
# Waves run in sorted order: statements in source order, then lookups.
_STATEMENT, _LOOKUP = "a", "l"
_CALL, _ASSIGN, _RETURN = 0, 1, 2
# Positional argument values (with whether each is `*args`), keyword argument values.
_Args = tuple[list[tuple[bool, set["Value"]]], list[tuple[str, set["Value"]]]]


class _Released:
    """Stands in for the program of a released store: no unit is running."""

    _unit = None


_RELEASED: Any = _Released()


class _ValueSet(set[Value]):
    """A stored value set that knows where its readers are recorded, so that growing
    it finds the units to re-run (a side table keyed by `id` cost 70 MB on the
    benchmark corpus). It holds the store's `deps`, not the store, which holds it:
    no reference cycle."""

    __slots__ = ("deps", "key")

    deps: dict[Any, Any]
    key: Any


class _Store(dict[Any, set[Value]]):
    """A value store that records which unit read which key, so that growing a set
    re-evaluates exactly the units that depend on it (a worklist fixed point
    instead of re-evaluating the whole program every round).

    The readers of a key are one unit, or a set of them when there are several:
    most keys have one reader, and 700,000 one-element sets took 400 MB on the
    benchmark corpus.
    """

    __slots__ = ("deps", "program")

    def __init__(self, program: Program) -> None:
        super().__init__()
        self.program = program
        self.deps: dict[Any, Any] = {}  # key -> Unit | set[Unit]

    def __missing__(self, key: Any) -> set[Value]:
        values = _ValueSet()
        values.deps = self.deps
        values.key = key
        self[key] = values
        return values

    def get(self, key: Any, default: Any = None) -> Any:
        unit = self.program._unit
        if unit is not None:
            deps = self.deps
            readers = deps.get(key)
            if readers is None:
                deps[key] = unit
            elif readers.__class__ is set:
                readers.add(unit)
            elif readers is not unit and readers != unit:
                deps[key] = {readers, unit}
        return dict.get(self, key, default)


class Program:
    """All modules of the project, the solved value sets and the call graph."""

    def __init__(
        self,
        modules: Iterable[ModuleFacts],
        roots: Iterable[str] | None = CORE_ROOTS,
        paths: PathFilter | None = None,
        *,
        allocs: bool = True,
        transparent: bool = True,
    ) -> None:
        self.paths = paths
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
        # qualname -> [(module, scope index)]
        self.scopes: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for mod, facts in self.modules.items():
            for i, sc in enumerate(facts["scopes"]):
                self.scopes[sc["qualname"]].append((mod, i))
        self._unit: Unit | None = None
        # store id -> [store, values, whether `values` is a copy of our own]
        self._buffer: dict[int, list[Any]] | None = None
        self._queue: deque[Unit] = deque()
        self._queued: set[Unit] = set()
        self.vars: dict[tuple[str, str], set[Value]] = _Store(self)
        self.fields: dict[tuple[str, str], set[Value]] = _Store(self)
        self.results: dict[SiteRef, set[Value]] = _Store(self)
        # what each function returns (or yields), updated when its scope is evaluated
        self.rets: dict[str, set[Value]] = _Store(self)
        # the same without parameters returned unchanged (see `_returning`)
        self.direct_rets: dict[str, set[Value]] = _Store(self)
        self._returned: dict[int, dict[int, str]] = {}
        # default values of parameters, (function, parameter) -> values
        self.defaults: dict[tuple[str, str], set[Value]] = _Store(self)
        # elements of each container literal
        self.items: dict[str, set[Value]] = _Store(self)
        # memoised lookups of (class, attribute, mode), see `LookupKey`
        self.lookups: dict[LookupKey, set[Value]] = _Store(self)
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
        self._mro: dict[str, list[Value]] = {}
        self._subclasses: dict[str, set[str]] = {}
        self._tails: dict[str, list[list[Value]]] = {}
        self._old_bases: dict[str, list[Value]] = {}  # before the last change
        self._lookup_cache: dict[tuple[int, str], tuple[str, str] | None] = {}
        self._own_methods: dict[str, list[str]] | None = None
        self._entered: dict[tuple[SiteRef, str], tuple[int | None, ...]] = {}
        self._changed = False
        self.rounds = 0
        # Forwarding wrappers (see `_find_forwarders`): decorator -> its wrappers;
        # forwarding call site -> its decorator; decorated definition -> the
        # wrappers around it; decorators whose wrappers may hold something else.
        self._forwarders: dict[str, frozenset[str]] = {}
        self._forwarded: dict[str, str] = {}  # decorator -> the parameter forwarded to
        self.forwarding: dict[SiteRef, str] = {}
        self.wrappers: dict[str, set[Value]] = _Store(self)
        self.opaque: set[str] = set()
        if transparent:
            self._find_forwarders()

    def release(self) -> None:
        """Break the stores' references back to the program, so that reference
        counting frees it when the last user lets go: left to the cyclic collector,
        millions of small objects are walked once more before they are freed."""
        for store in (
            self.vars, self.fields, self.results, self.rets, self.direct_rets, self.items,
            self.lookups, self.wrappers, self.defaults,
        ):  # fmt: skip
            if isinstance(store, _Store):
                store.program = _RELEASED

    def _find_forwarders(self) -> None:
        """Wrappers that forward to the function they decorate: in

            def provide_session(func):
                @functools.wraps(func)
                def wrapper(*args, **kwargs):
                    ...
                    return func(*args, **kwargs)
                return wrapper

        ``func(...)`` calls, context-insensitively, every function the decorator was
        ever applied to (hundreds in Airflow), so every caller of one decorated
        function would reach all of them. Instead, a decorated name holds the
        definition itself, a call of it also enters the wrapper (`wrappers`), and
        reachability skips the forwarding call (`skipped_sites`). A decorator that
        is used otherwise than on a function definition stays as it was (`opaque`).
        """
        found: dict[str, set[str]] = defaultdict(set)
        for mod, facts in self.modules.items():
            scopes = facts["scopes"]
            for site in facts["calls"]:
                func = site["func"]
                if func[0] != "name" or site["kind"] != "call":
                    continue
                wrapper = scopes[site["scope"]]
                if wrapper["kind"] != "function" or wrapper["parent"] < 0:
                    continue
                decorator = scopes[wrapper["parent"]]
                name = func[1]
                if (
                    decorator["kind"] != "function"
                    or not decorator["params"]
                    or decorator["params"][0] != name
                    or name in wrapper["locals"]
                    or name in wrapper["params"]
                    or name in wrapper["kwonly"]
                    or name in (wrapper["vararg"], wrapper["kwarg"])
                    or any(t == ("name", name) for t, _ in decorator["assigns"])
                    or len(self.scopes[decorator["qualname"]]) != 1
                    or len(self.scopes[wrapper["qualname"]]) != 1
                ):
                    continue
                found[decorator["qualname"]].add(wrapper["qualname"])
                self._forwarded[decorator["qualname"]] = name
                self.forwarding[(mod, site["id"])] = decorator["qualname"]
        self._forwarders = {d: frozenset(ws) for d, ws in found.items()}

    def skipped_sites(self) -> set[SiteRef]:
        """Forwarding calls whose targets are reached directly from the callers of
        the decorated functions (see `_find_forwarders`): reachability skips them."""
        return {ref for ref, d in self.forwarding.items() if d not in self.opaque}

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
        refs = self.scopes.get(qualname)
        if not refs:
            return None
        mod, i = refs[0]
        return self.modules[mod]["scopes"][i]

    def site(self, ref: SiteRef) -> CallSite:
        return self.modules[ref[0]]["calls"][ref[1]]

    def scope_of_site(self, ref: SiteRef) -> Scope:
        facts = self.modules[ref[0]]
        return facts["scopes"][facts["calls"][ref[1]]["scope"]]

    def _var_key(self, mod: str, scope_index: int, name: str) -> tuple[str, str] | None:
        ck = (id(self.modules[mod]["scopes"][scope_index]), name)
        if ck in self._lookup_cache:
            return self._lookup_cache[ck]
        key = self._resolve_name(mod, scope_index, name)
        self._lookup_cache[ck] = key
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
        new = (values if isinstance(values, (set, frozenset)) else set(values)) - store
        if not new:
            return
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
        if store.__class__ is _ValueSet:
            key = store.key
            deps = store.deps
            readers = deps.get(key)
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

    def _notify_lookups(self, cls: str, attr: str, *, fields: bool) -> None:
        """Re-run the memoised lookups that read ``(cls, attr)`` (see `_lookup_in`): of
        an instance or class of ``cls`` or of a subclass, and, for a class attribute,
        ``super()`` lookups in classes of those MROs (a superset of the ones whose
        MRO tail holds ``cls``)."""
        fresh, queued = self._fresh, self._queued
        due: list[LookupKey] = []
        subclasses = self.subclasses(cls)
        for sub in subclasses:
            due.append((sub, attr, "i"))
            due.append((sub, attr, "c"))
        if not fields:
            seen: set[str] = set()
            for sub in subclasses:
                for entry in self.mro(sub):
                    if entry[0] == "c" and entry[1] not in seen:
                        seen.add(entry[1])
                        due.append((entry[1], attr, "sup"))
        for key in due:
            if key in fresh:
                unit = (_LOOKUP, key)
                if unit not in queued:
                    queued.add(unit)
                    self._queue.append(unit)

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
                    at = max(at, _last_call(value, calls), _last_call(target, calls))
                    out.append((_STATEMENT, mod, i, at, _ASSIGN, k))
                if sc["returns"]:
                    rest.append((_STATEMENT, mod, i, sc["end_order"], _RETURN, 0))
            rest.extend(
                (_STATEMENT, mod, site["scope"], site["order"], _CALL, site["id"]) for site in calls
            )
        self._drain(toplevel)
        for _ in range(_MAX_ROUNDS):
            if not self._update_bases():
                break
            self._hierarchy_changed()
            self._drain(())
        # Then everything; a unit runs again only when something it read grew.
        self._bind_self()
        self._drain(rest)
        for _ in range(_MAX_ROUNDS):
            if self._settle_decorators():
                self._drain(())
                continue
            if not self._update_bases():
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

    def _hierarchy_changed(self) -> None:
        """Every class-dependent answer goes through a memoised lookup (see
        `_class_attr`): walk again those whose walk the new hierarchy changes; the
        lookups that find more re-run the units that read them, and nothing else
        runs.

        A lookup on ``cls`` walks the MRO of ``cls`` ("i", "c"), or the MROs of its
        subclasses ("s", "sup"). An MRO changes only if the bases of the class or of
        one of its ancestors did, so only the lookups on descendants of such classes,
        in the old or the new hierarchy, can find anything else (on the benchmark
        corpus, one lookup in twenty after the main pass)."""
        old, new = self._old_bases, self.bases
        moved = {c for c in old.keys() | new.keys() if old.get(c) != new.get(c)}
        affected = _related(old, moved, down=True) | _related(new, moved, down=True)
        # classes with an affected subclass, in either hierarchy
        cones = _related(old, affected, down=False) | _related(new, affected, down=False)
        self._mro.clear()
        self._subclasses.clear()
        self._tails.clear()
        for key in sorted(self._fresh):
            cls, _, mode = key
            if cls not in (cones if mode in ("s", "sup") else affected):
                continue
            unit = (_LOOKUP, key)
            if unit not in self._queued:
                self._queued.add(unit)
                self._queue.append(unit)

    def _run_unit(self, unit: Unit) -> None:
        self._unit = unit
        if unit[0] == _LOOKUP:
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
        _, mod, i, _, kind, k = unit
        facts = self.modules[mod]
        if kind == _CALL:
            self._call(mod, facts["calls"][k])
            return
        sc = facts["scopes"][i]
        if kind == _ASSIGN:
            target, value = sc["assigns"][k]
            self._assign(mod, i, target, self.eval(mod, i, value))
        else:
            qualname = sc["qualname"]
            out: set[Value] = set()
            direct: set[Value] = set()
            returning = self._returning(mod, sc)
            for n, r in enumerate(sc["returns"]):
                values = self.eval(mod, i, r)
                out |= values
                if n not in returning:
                    direct |= values
            self._add_at(self.rets, qualname, out)
            if returning:
                self._add_at(self.direct_rets, qualname, direct)

    def _update_bases(self) -> bool:
        # A class defined twice under one name (`if PY2: class A(X) else: class A(Y)`)
        # has the bases of both; comparing per definition would flip between them
        # and never reach a fixed point.
        new: dict[str, list[Value]] = {}
        for mod, facts in self.modules.items():
            for i, sc in enumerate(facts["scopes"]):
                if sc["kind"] == "class":
                    bases = new.setdefault(sc["qualname"], [])
                    for b in sc["bases"]:
                        bases.extend(v for v in sorted(self.eval(mod, i, b)) if v not in bases)
        changed = new != self.bases
        if changed:
            self._old_bases = self.bases
        self.bases = new
        return changed

    def _settle_decorators(self) -> bool:
        """At a fixed point, a decorator whose result is still unknown or opaque (a
        library that is not tracked, a name that does not resolve) keeps the function
        it decorates: most decorators return it or a wrapper that calls it."""
        changed = False
        for mod, facts in self.modules.items():
            for site in facts["calls"]:
                if site["kind"] != "decorator":
                    continue
                ref = (mod, site["id"])
                known = self.results.get(ref)
                if known and any(v[0] != "x" for v in known):
                    continue
                before = len(known) if known else 0
                self._add_at(self.results, ref, self.eval(mod, site["scope"], site["args"][0]))
                changed = changed or len(self.results.get(ref, ())) != before
        return changed

    def _bind_self(self) -> None:
        for qualname, refs in self.scopes.items():
            mod, i = refs[0]
            sc = self.modules[mod]["scopes"][i]
            kind = sc["method_kind"]
            if kind in ("method", "property", "classmethod") and sc["params"]:
                cls = self.modules[mod]["scopes"][sc["parent"]]["qualname"]
                if kind == "classmethod":
                    values = [("c", c) for c in sorted(self.subclasses(cls))]
                else:
                    # One value for the instances of every subclass: a base class
                    # with a hundred subclasses would otherwise fill every set that
                    # `self` flows into (see `_cone_attr`).
                    values = [("s", cls)]
                self._add(self.vars[(qualname, sc["params"][0])], values)

    def subclasses(self, cls: str) -> set[str]:
        if not self._subclasses:
            children: dict[str, set[str]] = defaultdict(set)
            for c, bases in self.bases.items():
                for b in bases:
                    if b[0] == "c":
                        children[b[1]].add(c)
            for c in self.bases:
                self._subclasses[c] = closure((c,), children)
        return self._subclasses.get(cls, {cls})

    def own_methods(self, cls: str) -> list[str]:
        """Qualified names of the methods a class body defines."""
        if self._own_methods is None:
            index: dict[str, list[str]] = defaultdict(list)
            for q, refs in self.scopes.items():
                mod, i = refs[0]
                sc = self.modules[mod]["scopes"][i]
                if sc["method_kind"]:
                    index[q.rpartition(".")[0]].append(q)
            self._own_methods = index
        return self._own_methods.get(cls, [])

    def methods_of(self, cls: str) -> set[str]:
        """Qualified names of the methods a class defines or inherits from project classes."""
        out: set[str] = set()
        for entry in self.mro(cls):
            if entry[0] == "c":
                out.update(self.own_methods(entry[1]))
        return out

    def mro(self, cls: str) -> list[Value]:
        """Classes in method resolution order; external bases as ``("x", path, "")``."""
        cached = self._mro.get(cls)
        if cached is not None:
            return cached
        self._mro[cls] = [("c", cls)]  # guards against cycles while computing
        out: list[Value] = [("c", cls)]
        for base in self.bases.get(cls, []):
            chain = self.mro(base[1]) if base[0] == "c" else [("x", base[1], "")]
            for entry in chain:
                if entry in out:
                    out.remove(entry)
                out.append(entry)
        # Depth-first with later duplicates winning approximates C3 for
        # ordinary diamonds; exact C3 is not needed to find candidate callees.
        self._mro[cls] = out
        return out

    def _assign(self, mod: str, scope_index: int, target: Expr, values: set[Value]) -> None:
        if not values:
            return
        tag = target[0]
        if tag == "name":
            key = self._var_key(mod, scope_index, target[1])
            if key is not None:
                self._add(self.vars[key], values)
        elif tag == "attr":
            for base in sorted(self.eval(mod, scope_index, target[1])):
                kind = base[0]
                if kind in ("i", "s", "c"):
                    self._add(self.fields[(base[1], target[2])], values)
                elif kind == "m" and base[1] in self.modules:
                    self._add(self.vars[(base[1], target[2])], values)
        elif tag == "item":
            containers = [v for v in self.eval(mod, scope_index, target[1]) if v[0] == "k"]
            for c in containers:
                self._add(self.items[c[1]], values)
            if not containers:
                self._assign(mod, scope_index, target[1], values)
        elif tag == "param":  # a default value, bound where the function is defined
            self._add(self.vars[(target[1], target[2])], values)
            self._add(self.defaults[(target[1], target[2])], values)

    # -- evaluation -------------------------------------------------------
    def eval(self, mod: str, scope_index: int, expr: Expr) -> set[Value]:
        tag = expr[0]
        if tag == "name":
            return self._name(mod, scope_index, expr[1])
        if tag == "attr":
            out: set[Value] = set()
            for base in self.eval(mod, scope_index, expr[1]):
                out |= self.getattr(base, expr[2])
            return out
        if tag == "call":
            return self.results.get((mod, expr[1]), set())
        if tag == "func":
            return {("f", expr[1])}
        if tag == "class":
            return {("c", expr[1])}
        if tag == "module":
            return self._module(expr[1])
        if tag == "from":
            return self._from(expr[1], expr[2])
        if tag == "union":
            out = set()
            for e in expr[1]:
                out |= self.eval(mod, scope_index, e)
            return out
        if tag == "coll":
            # A container is a value of its own, holding its elements: calling
            # `d.get()` must not dispatch to methods of the elements.
            key = f"{mod}#{expr[2]}"
            elements: set[Value] = set()
            for e in expr[1]:
                elements |= self.eval(mod, scope_index, e)
            self._add_at(self.items, key, elements)
            return {("k", key)}
        if tag in ("item", "star"):
            return self._items_of(self.eval(mod, scope_index, expr[1]))
        if tag == "super":
            return self._super(expr[1])
        return set()

    def _items_of(self, values: set[Value]) -> set[Value]:
        """Elements of containers; other values stand for their own elements
        (``*args`` parameters hold the arguments themselves)."""
        out: set[Value] = set()
        for v in values:
            if v[0] == "k":
                out |= self.items.get(v[1], set())
            else:
                out.add(v)
        return out

    def _container_call(self, ref: SiteRef, mod: str, site: CallSite, f: Value) -> None:
        key, method = f[1], f[2]
        args = [self.eval(mod, site["scope"], a) for a in site["args"]]
        if method in _CONTAINER_ADD and args:
            self._add(self.items[key], args[-1])
        elif method in _CONTAINER_MERGE and args:
            self._add(self.items[key], self._items_of(args[0]))
        if method in _CONTAINER_GET:
            self._add_at(self.results, ref, self.items.get(key, set()))
        elif method in _CONTAINER_VIEW:
            self._add_at(self.results, ref, {("k", key)})

    def _name(self, mod: str, scope_index: int, name: str) -> set[Value]:
        key = self._var_key(mod, scope_index, name)
        if key is not None:
            return self.vars.get(key, set())
        return self._global(mod, name, set())

    def _global(self, mod: str, name: str, seen: set[str]) -> set[Value]:
        """A module-level name that is not bound by an assignment: star imports, builtins."""
        seen.add(mod)
        facts = self.modules.get(mod)
        if facts is None:
            return set()
        for star in facts["star_imports"]:
            if star in self.modules:
                if star in seen:
                    continue
                values = self.vars.get((star, name))
                if values:
                    return values
                found = self._global(star, name, seen)
                if found:
                    return found
        if name in _BUILTINS:
            return self._ext(f"builtins.{name}", "")
        # `from posix import *` / `from nt import *` in two branches (os.py): the
        # name may come from either library module.
        out: set[Value] = set()
        for star in facts["star_imports"]:
            if star not in self.modules:
                out |= self._ext(f"{star}.{name}", "")
        return out

    def _module(self, name: str) -> set[Value]:
        name = self.canon(name)
        if name in self.modules:
            return {("m", name)}
        return self._ext(name, "")

    def _from(self, module: str, name: str) -> set[Value]:
        module = self.canon(module)
        sub = self.canon(f"{module}.{name}" if module else name)
        if sub in self.modules:
            return {("m", sub)}
        if module in self.modules:
            values = self.vars.get((module, name))
            if values:
                return values
            return self._global(module, name, set()) - {("x", f"builtins.{name}", "")}
        return self._ext(sub, "")

    def _super(self, cls: str) -> set[Value]:
        # Methods found after `cls` in its MRO, bound to the class's instances
        # (none while the class has no known base).
        return {("sup", cls)}

    def getattr(self, value: Value, attr: str) -> set[Value]:
        kind = value[0]
        if kind == "k":
            return {("km", value[1], attr)} if attr in _CONTAINER_METHODS else set()
        if kind == "x":
            return self._ext(f"{value[1]}.{attr}", value[2])
        if kind == "m":
            mod = value[1]
            sub = f"{mod}.{attr}"
            out = set(self.vars.get((mod, attr), ()))
            if sub in self.modules:
                out.add(("m", sub))
            if not out:
                out = self._global(mod, attr, set()) - {("x", f"builtins.{attr}", "")}
            return out
        if kind == "i":
            return self._class_attr(value[1], attr, instance=True)
        if kind == "s":
            return self._cone_attr(value[1], attr)
        if kind == "c":
            return self._class_attr(value[1], attr, instance=False)
        if kind == "sup":
            return self._memo_lookup((value[1], attr, "sup"))
        return set()

    def _super_tails(self, cls: str) -> list[list[Value]]:
        """Where ``super()`` in ``cls`` looks: the classes after ``cls`` in the MRO of
        ``cls`` and of each subclass (``self`` may be an instance of any of them), so
        cooperative multiple inheritance reaches the sibling class."""
        cached = self._tails.get(cls)
        if cached is not None:
            return cached
        tails: list[list[Value]] = []
        for sub in sorted(self.subclasses(cls)):
            mro = self.mro(sub)
            if ("c", cls) in mro:
                tail = mro[mro.index(("c", cls)) + 1 :]
                if tail not in tails:
                    tails.append(tail)
        self._tails[cls] = tails
        return tails

    def _class_attr(self, cls: str, attr: str, *, instance: bool) -> set[Value]:
        return self._memo_lookup((cls, attr, "i" if instance else "c"))

    def _cone_attr(self, cls: str, attr: str) -> set[Value]:
        """An attribute of ``self`` in a method of ``cls``: what the lookup finds on an
        instance of ``cls`` or of any subclass (so overrides are found)."""
        return self._memo_lookup((cls, attr, "s"))

    def _memo_lookup(self, key: LookupKey) -> set[Value]:
        # Lookups are memoised as units of their own: frameworks look up the same
        # few attributes on the same classes from thousands of call sites, and
        # walking the MRO each time dominated solving. The memo depends on what
        # the walk read, so a grown class attribute or field re-runs it, and a
        # changed class hierarchy re-runs them all (`_hierarchy_changed`).
        if key not in self._fresh:
            self._fresh.add(key)
            self._looked_up.add(key[1])
            saved, buffer = self._unit, self._buffer
            self._unit, self._buffer = (_LOOKUP, key), None
            self._run_lookup(key)
            self._unit, self._buffer = saved, buffer
        values: set[Value] | None = self.lookups.get(key)
        return set() if values is None else values

    def _run_lookup(self, key: LookupKey) -> None:
        cls, attr, mode = key
        out: set[Value] = set()
        if mode == "s":
            for sub in sorted(self.subclasses(cls)):
                out |= self._class_attr(sub, attr, instance=True)
        elif mode == "sup":
            for tail in self._super_tails(cls):
                out |= self._lookup_in(tail, cls, attr, instance=True, skip_fields=True)
        else:
            out = self._lookup_in(self.mro(cls), cls, attr, instance=mode == "i")
        self._add_at(self.lookups, key, out)

    def _lookup_in(
        self,
        mro: list[Value],
        cls: str,
        attr: str,
        *,
        instance: bool,
        skip_fields: bool = False,
    ) -> set[Value]:
        out: set[Value] = set()
        # The walk reads class attributes and fields without recording itself as
        # their reader: the readers of ``(M, attr)`` are known from the hierarchy
        # (`_notify_lookups`), and recording them took 10 million reads and 300 MB.
        fields, variables = self._fields_get, self._vars_get
        if not skip_fields:
            # Set on the object by code of its class or of a base class (`self.x = ...`
            # in a base method stores on the base, see `("s", cls)`).
            for entry in mro:
                if entry[0] == "c":
                    found = fields((entry[1], attr))
                    if found:
                        out |= found
        for entry in mro:
            if entry[0] == "x":
                if out:
                    # Set on the object by project code: it hides whatever the
                    # library class may define, so no library attribute is invented.
                    continue
                path = f"{entry[1]}().{attr}" if instance else f"{entry[1]}.{attr}"
                out |= self._ext(path, "")
                continue
            values = variables((entry[1], attr))
            if not values:
                continue
            for v in values:
                if v[0] == "f":
                    sc = self.scope(v[1])
                    mk = sc["method_kind"] if sc else ""
                    if mk == "staticmethod":
                        out.add(v)
                    elif mk == "classmethod":
                        out.add(("b", v[1]))
                    elif mk == "property" and instance:
                        out |= self._returns(v[1])
                    elif instance:
                        out.add(("b", v[1]))
                    else:
                        out.add(v)
                else:
                    out.add(v)
            break  # the first class in the MRO that defines it wins
        return out

    def _returning(self, mod: str, sc: Scope) -> dict[int, str]:
        """Return statements (by index) that hand back a parameter unchanged, and
        which: ``return fn`` in a decorator, ``return value`` in a helper, and
        ``return wrap(fn)`` where ``wrap`` is a forwarding decorator defined inside
        (`_find_forwarders`: such a call is ``fn`` itself). A call's result then
        holds that call's own argument, not every argument of every call: one
        registration decorator would otherwise hand each decorated name every class
        it ever decorated."""
        key = id(sc)
        found = self._returned.get(key)
        if found is None:
            found = {}
            names = set(sc["params"]) | set(sc["kwonly"])
            for target, _ in sc["assigns"]:
                if target[0] == "name":
                    names.discard(target[1])
            calls = self.modules[mod]["calls"]
            for n, r in enumerate(sc["returns"] if names else ()):
                if r[0] == "name" and r[1] in names:
                    found[n] = r[1]
                elif r[0] == "call":
                    site = calls[r[1]]
                    func, args = site["func"], site["args"]
                    if (
                        site["kind"] == "call"
                        and func[0] == "name"
                        and args
                        and args[0][0] == "name"
                        and args[0][1] in names
                        and f"{sc['qualname']}.{func[1]}" in self._forwarders
                    ):
                        found[n] = args[0][1]
            self._returned[key] = found
        return found

    def _call_returns(
        self, qualname: str, offset: int, args: _Args, site: CallSite | None = None
    ) -> set[Value]:
        """What calling ``qualname`` with ``args`` at ``site`` returns (see `_returning`).
        A returned parameter the call does not pass holds its default, unless the
        call has ``*args`` or ``**kwargs`` that may pass it."""
        refs = self.scopes.get(qualname)
        if not refs:
            return self._returns(qualname)
        mod, i = refs[0]
        sc = self.modules[mod]["scopes"][i]
        returning = self._returning(mod, sc)
        if not returning:
            return self._returns(qualname)
        values: set[Value] | None = self.direct_rets.get(qualname)
        out = set(values) if values else set()
        unknown = (
            site is None
            or any(a[0] == "star" for a in site["args"])
            or any(k is None for k, _ in site["kwargs"])
        )
        receivers = sc["params"][:offset]  # `return self`: bound by the receiver
        for name in sorted(set(returning.values())):
            bound = _bound_argument(sc, offset, args, name)
            if bound is None:
                store = self.vars if unknown or name in receivers else self.defaults
                bound = store.get((qualname, name))
            if bound:
                out |= bound
        return out

    def _returns(self, qualname: str) -> set[Value]:
        """What a function returns, as last computed by evaluating its scope; the
        reader is re-evaluated when that grows."""
        values: set[Value] | None = self.rets.get(qualname)
        return values if values is not None else set()

    # -- calls ------------------------------------------------------------
    def _call(self, mod: str, site: CallSite) -> None:
        ref = (mod, site["id"])
        i = site["scope"]
        # A copy: evaluation returns the stored sets, and calling may grow them.
        funcs = set(self.eval(mod, i, site["func"]))
        if site["kind"] in ("iter", "aiter"):
            self._iterate(ref, mod, site, funcs)
            return
        if site["kind"] == "import":
            # An import runs modules: `from a.b import c` runs a and a.b, and a.b.c
            # if that is a module; it calls no function or class it binds.
            func = site["func"]
            if func[0] == "from":
                self._enter_module(ref, func[1])
            funcs = {f for f in funcs if f[0] == "m"}
        elif site["kind"] == "raise":
            # `raise Cls` instantiates the class; a raised instance calls nothing.
            funcs = {f for f in funcs if f[0] == "c" or (f[0] == "x" and not f[1].endswith(")"))}
        if not funcs:
            return
        self._add(self.callees[ref], funcs)
        if site["kind"] == "decorator" and any(f[0] == "x" for f in funcs):
            # A library decorator returns the function or a wrapper that calls it.
            self._add_at(self.results, ref, self.eval(mod, i, site["args"][0]))
        args = self._arguments(mod, site) if any(f[0] in _ENTERING for f in funcs) else ([], [])
        for f in sorted(funcs):  # several callees may add to one widened result
            kind = f[0]
            if kind == "f":
                self._enter(ref, f[1], 0, args)
                self._enter_wrappers(ref, f[1], 0, args)
                self._add_at(
                    self.results,
                    ref,
                    self._decorated(mod, site, f[1], self._call_returns(f[1], 0, args, site)),
                )
            elif kind == "b":
                sc = self.scope(f[1])
                offset = 0 if sc and sc["method_kind"] == "staticmethod" else 1
                self._enter(ref, f[1], offset, args)
                self._enter_wrappers(ref, f[1], offset, args)
                self._add_at(
                    self.results,
                    ref,
                    self._decorated(mod, site, f[1], self._call_returns(f[1], offset, args, site)),
                )
            elif kind == "c":
                self._add_at(self.results, ref, {("i", f[1])})
                init = self._class_attr(f[1], "__init__", instance=True)
                for v in init:
                    if v[0] == "b":
                        self._enter(ref, v[1], 1, args)
                    elif v[0] == "x":
                        # Construction of an external base: record it as a call of the base.
                        base = v[1][: -len("().__init__")]
                        self._add(self.callees[ref], {("x", base, "")})
            elif kind in _INSTANCES:
                for m in self.getattr(f, "__call__"):
                    if m[0] == "b":
                        self._enter(ref, m[1], 1, args)
                        self._add_at(self.results, ref, self._returns(m[1]))
            elif kind == "km":
                self._container_call(ref, mod, site, f)
            elif kind == "m":
                if site["kind"] == "import":
                    self._enter_module(ref, f[1])
            elif kind == "x":
                self._external(ref, mod, site, f)

    def _decorated(
        self, mod: str, site: CallSite, decorator: str, values: set[Value]
    ) -> set[Value]:
        """What a project decorator returns for this definition: its wrappers (defined
        inside it), other values, and the definition itself if it may come back, but
        not classes and functions defined elsewhere: a decorator that hands back what
        it decorates through a registry or ``*args`` would otherwise give each
        decorated name everything it ever decorated."""
        forwarders = self._forwarders.get(decorator)
        if forwarders:
            values = self._unwrapped(mod, site, decorator, forwarders, values)
        if site["kind"] != "decorator":
            return values
        prefix = decorator + "."
        own = self.eval(mod, site["scope"], site["args"][0])
        return {v for v in values if v[0] not in _DEFINED or v[1].startswith(prefix) or v in own}

    def _unwrapped(
        self,
        mod: str,
        site: CallSite,
        decorator: str,
        forwarders: frozenset[str],
        values: set[Value],
    ) -> set[Value]:
        """``decorator(f)`` (``@decorator`` or a plain call) is ``f`` itself where the
        decorator returns a forwarding wrapper; calling ``f`` then enters the wrapper
        too (`_enter_wrappers`). Anything but functions and methods in that argument,
        or an argument that may come through ``*args`` or ``**kwargs``, leaves the
        wrapper, and the forwarding call is then followed as it is (`opaque`)."""
        wrapped = {v for v in values if v[0] == "f" and v[1] in forwarders}
        if not wrapped:
            return values
        args, kwargs = site["args"], site["kwargs"]
        param = self._forwarded[decorator]
        passed = [e for k, e in kwargs if k == param]
        if args and args[0][0] != "star":
            passed = [args[0]]
        elif args or any(k is None for k, _ in kwargs):
            self.opaque.add(decorator)  # through `*args` or `**kwargs`: anything
            return values
        if not passed:
            return values  # not passed: the wrapper forwards to the default
        own = self.eval(mod, site["scope"], passed[0])
        defined = {v for v in own if v[0] in ("f", "b")}
        if len(defined) != len(own):
            self.opaque.add(decorator)
        if not defined:
            return values
        for v in sorted(defined):
            self._add_at(self.wrappers, v[1], wrapped)
        return (values - wrapped) | defined if len(defined) == len(own) else values | defined

    def _enter_wrappers(self, ref: SiteRef, qualname: str, offset: int, args: _Args) -> None:
        """A call of a decorated definition also runs its forwarding wrappers."""
        wrappers = self.wrappers.get(qualname)
        if wrappers:
            for w in sorted(wrappers):
                self._enter(ref, w[1], offset, args)

    def _iterate(self, ref: SiteRef, mod: str, site: CallSite, values: set[Value]) -> None:
        """``for x in v``: ``__iter__`` of a project instance, then ``__next__`` of the
        iterator it returns; the site's results are the items. Other values are
        iterated as containers (their elements are the value itself, see ``item``)."""
        iter_name, next_name = (
            ("__aiter__", "__anext__") if site["kind"] == "aiter" else ("__iter__", "__next__")
        )
        args = self._arguments(mod, site)
        for v in sorted(values):
            if v[0] not in _INSTANCES:
                continue
            for method in self.getattr(v, iter_name):
                if method[0] != "b":
                    continue
                self._enter(ref, method[1], 1, args)
                for it in self._returns(method[1]):
                    nexts = [m for m in self.getattr(it, next_name) if m[0] == "b"]
                    if it[0] not in _INSTANCES or not nexts:
                        # a generator `__iter__` yields the items
                        self._add_at(self.results, ref, {it})
                        continue
                    for m in nexts:
                        self._enter(ref, m[1], 1, args)
                        self._add_at(self.results, ref, self._returns(m[1]))

    def _arguments(self, mod: str, site: CallSite, args: list[Expr] | None = None) -> _Args:
        """The values of a call's arguments, evaluated once for all its callees."""
        i = site["scope"]
        pos = [
            (arg[0] == "star", self.eval(mod, i, arg))
            for arg in (site["args"] if args is None else args)
        ]
        kws = (
            []
            if args is not None
            else [(key, self.eval(mod, i, arg)) for key, arg in site["kwargs"] if key is not None]
        )
        return pos, kws

    def _enter(
        self, ref: SiteRef, qualname: str, offset: int, args: _Args, *, own: bool = True
    ) -> None:
        """Add the edge ``ref -> qualname`` and bind the arguments to the parameters."""
        edges = self.edges[ref]
        if qualname not in edges:
            edges.add(qualname)
            self._changed = True
            if qualname in self._forwarders and not (
                own and self.site(ref)["kind"] in ("call", "decorator")
            ):
                # Called by a library, or by an iteration: its wrappers may wrap anything.
                self.opaque.add(qualname)
        # Sets only grow: arguments of the same sizes as at the last binding are the
        # same arguments. A call site whose callee set grows (a decorator's `func(*args)`
        # that reaches every decorated function) re-runs often, and would otherwise
        # bind every argument to every callee again each time.
        # Only for the site's own arguments (``own``): a callback a library call
        # invokes gets other arguments from the same site.
        if own:
            sig = (offset, *(len(v) for _, v in args[0]), None, *(len(v) for _, v in args[1]))
            if self._entered.get((ref, qualname)) == sig:
                return
            self._entered[(ref, qualname)] = sig
        sc = self.scope(qualname)
        if sc is None:
            return
        params = sc["params"]
        pos = offset
        for star, values in args[0]:
            if not values:
                pos += 1
                continue
            if star:
                for p in params[pos:]:
                    self._add(self.vars[(qualname, p)], values)
                if sc["vararg"]:
                    self._add(self.vars[(qualname, sc["vararg"])], values)
                continue
            if pos < len(params):
                self._add(self.vars[(qualname, params[pos])], values)
            elif sc["vararg"]:
                self._add(self.vars[(qualname, sc["vararg"])], values)
            pos += 1
        if not args[1]:
            return
        names = set(params[sc["posonly"] :]) | set(sc["kwonly"])
        for key, values in args[1]:
            if not values:
                continue
            if key in names:
                self._add(self.vars[(qualname, key)], values)
            elif sc["kwarg"]:
                self._add(self.vars[(qualname, sc["kwarg"])], values)

    def _enter_module(self, ref: SiteRef, module: str) -> None:
        edges = self.edges[ref]
        parts = module.split(".")
        # `import a.b.c` runs a, a.b and a.b.c.
        for n in range(1, len(parts) + 1):
            name = self.canon(".".join(parts[:n]))
            if name in self.modules and name not in edges:
                edges.add(name)
                self._changed = True

    def _external(self, ref: SiteRef, mod: str, site: CallSite, f: Value) -> None:
        path: str = f[1]
        i = site["scope"]
        args = site["args"]
        if path.rpartition(".")[2] in _CONTEXT_FUNCS:
            arg = args[0] if args else next((v for k, v in site["kwargs"] if k == "method"), None)
            if arg is None:
                suffix = "()"
            elif arg[0] == "const" and isinstance(arg[1], str):
                suffix = f"('{arg[1]}')"
            elif arg[0] == "const" and arg[1] is None:
                suffix = "()"
            else:
                suffix = "(?)"
            self._add_at(self.results, ref, {("x", path + suffix, "")})
            return
        if not path.startswith("builtins."):
            self._add_at(self.results, ref, self._ext(path + "()", alloc_name((mod, site["id"]))))
        if path == "builtins.super":
            return
        if path == "builtins.getattr" and len(args) >= 2 and args[1][0] == "const":
            for base in sorted(self.eval(mod, i, args[0])):
                self._add_at(self.results, ref, self.getattr(base, str(args[1][1])))
            return
        if path == "builtins.type" and len(args) == 1:
            for v in sorted(self.eval(mod, i, args[0])):
                if v[0] in _INSTANCES:
                    self._add_at(self.results, ref, {("c", v[1])})
            return
        for pos in _PASS_THROUGH.lookup(path):
            if pos < len(args):
                self._add_at(self.results, ref, self.eval(mod, i, args[pos]))
        for pos_or_none, kw in _CALLBACKS.lookup(path):
            exprs: list[Expr] = []
            if pos_or_none is not None and pos_or_none < len(args):
                exprs.append(args[pos_or_none])
            exprs.extend(v for k, v in site["kwargs"] if k == kw)
            # The callback receives the arguments after it (`atexit.register(f, *args)`,
            # `map(f, xs)`), or the elements of the first (`sorted(xs, key=f)`).
            passed = args[pos_or_none + 1 :] if pos_or_none is not None else args[:1]
            if path.startswith(("builtins.", "functools.")):
                passed = [("item", a) for a in passed]  # iterables: the callback gets elements
            for e in exprs:
                for target in sorted(self.eval(mod, i, e)):
                    self.call_value(ref, target)
                    if target[0] in ("f", "b"):
                        sc = self.scope(target[1])
                        static = sc is not None and sc["method_kind"] == "staticmethod"
                        offset = 1 if target[0] == "b" and not static else 0
                        self._enter(
                            ref, target[1], offset, self._arguments(mod, site, passed), own=False
                        )
                        if path in _MAP_RESULTS:
                            self._add_at(self.results, ref, self._returns(target[1]))

    def call_value(self, ref: SiteRef, value: Value) -> None:
        """Record that call site ``ref`` invokes ``value`` (with unknown arguments)."""
        if value[0] in ("f", "b"):
            if value[1] not in self.edges[ref]:
                self.edges[ref].add(value[1])
                self._changed = True
        elif value[0] == "c":
            for v in self._class_attr(value[1], "__init__", instance=True):
                if v[0] == "b" and v[1] not in self.edges[ref]:
                    self.edges[ref].add(v[1])
                    self._changed = True


def _related(bases: dict[str, list[Value]], roots: set[str], *, down: bool) -> set[str]:
    """``roots`` and their descendants (``down``) or ancestors in ``bases``."""
    links: dict[str, list[str]] = defaultdict(list)
    for c, bs in bases.items():
        for b in bs:
            if b[0] == "c":
                if down:
                    links[b[1]].append(c)
                else:
                    links[c].append(b[1])
    return closure(roots, links)


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


def _last_call(expr: Expr, calls: list[CallSite]) -> int:
    """The evaluation order of the last call whose result ``expr`` reads, -1 if none."""
    tag = expr[0]
    if tag == "call":
        return int(calls[expr[1]]["order"])
    last = -1
    for part in expr[1:]:
        if part.__class__ is tuple and part and part[0].__class__ is str:
            last = max(last, _last_call(part, calls))
        elif part.__class__ is tuple or part.__class__ is list:
            for e in part:
                if e.__class__ is tuple and e and e[0].__class__ is str:
                    last = max(last, _last_call(e, calls))
    return last


def _bound_argument(sc: Scope, offset: int, args: _Args, name: str) -> set[Value] | None:
    """The values a call passes for parameter ``name``; None when that cannot be told
    (not passed, or passed through ``*args``/``**kwargs``)."""
    params = sc["params"]
    if name in params:
        index = params.index(name) - offset
        if index < 0:
            return None  # `self`: bound by the receiver
        for k, (star, values) in enumerate(args[0]):
            if star:
                return None
            if k == index:
                return values
    for key, values in args[1]:
        if key == name:
            return values
    return None


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
