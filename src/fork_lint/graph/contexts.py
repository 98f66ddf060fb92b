"""Contexts: a function analysed once per receiver object or per call site.

A context-insensitive analysis merges what every call of a function passes: a
constructor's ``pool`` argument over every instance (pathos' ``Smap(ThreadPool)``
and ``Map(ProcessPool)`` then both fork in ``self.pool(...)``), a helper's
parameter over every caller (a list of threads from one, of processes from
another: the loop "starts a thread, then forks"). Here a function may have
several *contexts*, each with its own parameters, locals, call results and
returns, and its own call sites in the call graph (`values.node_name`):

* **Methods**, per receiver (1-object sensitivity): a method called on an
  instance runs in the context of that instance. Instances of most classes are
  told apart by their class only (``("i", C)``: a base method called on two
  sibling subclasses resolves ``self.m()`` in each separately); instances of a
  *configured* class are told apart by the call that created them (``("i", C,
  alloc)``, their fields kept per object), so ``__init__(self, pool)`` binds the
  pool of that object only and ``self.pool(...)`` in ``__call__`` on that object
  sees only it. A class is configured when a method of its MRO stores a value
  derived from one of its parameters in a field (``self.pool = pool``) and a
  method of its MRO *starts* with that field (`starts_with`): calls a method the
  catalogue lists as starting a thread or forking on it (or on what calling it
  returns), reads such a method of it with ``getattr``, or passes it to one.
  An instance created inside a context is named by the virtual site of that
  context: a factory analysed per caller creates one object per caller. A method
  whose calls on ``self`` differ between subclasses (and may start or fork,
  directly or through a function nested in the override) runs per receiver
  class; entered with ``self`` any instance of a cone of classes (nothing in the
  project calls it, or its caller's ``self`` is such a cone), it runs once per
  class of the cone (`Contexts.split_cone`), so that no path enters it on one
  subclass and leaves through a sibling's override.
* **Functions** whose parameter they start with (the same test, with the
  parameter instead of the field) run in one context per calling site
  (1-call-site sensitivity): ``start_all(procs)`` called with threads at one
  site and processes at another starts one kind in each.

The first context a function is entered in is its *primary* one, kept under the
function's own name, call sites and stores, so that a function with one context
costs nothing more than before. A function has at most ``_MAX_CONTEXTS``; past
that, the others share one merged context, and a configured class has at most
``_MAX_OBJECTS`` objects told apart, the others being one ``("i", C)``: both
only merge, which loses precision, never a call. A function whose local a
nested function rebinds (``nonlocal``) keeps one context; nested functions read
an enclosing function's locals over all its contexts.

Reachability runs over the nodes, so a thread started in one context and a fork
in another do not combine in one activation; the exported call graph projects
the contexts away (`Contexts.projected`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from fork_lint.graph.hierarchy import Hierarchy
from fork_lint.graph.keys import (
    called_with_constants,
    key_defaults,
    key_parameters,
    keys_passed,
)
from fork_lint.graph.starters import (
    fields_read,
    last_call,
    may_start,
    parameters,
    starting_sites,
    starts_with,
    stored_parameters,
)
from fork_lint.graph.values import (
    ASSIGN,
    CALL,
    RETURN,
    STATEMENT,
    STRIDE,
    SiteRef,
    Unit,
    Value,
    alloc_name,
    alloc_site,
    base_name,
    context_of,
    node_name,
)
from fork_lint.index.facts import CallSite, Expr, Scope

__all__ = ["Contexts"]

# Contexts of a function: per object told apart by its creation, and others
# (per receiver class, per calling site).
_MAX_OBJECT_CONTEXTS = 32
_MAX_CONTEXTS = 8
_MAX_OBJECTS = 16
# Past this many receivers, ``self`` in a merged context is the cone of the
# method's class.
_MAX_RECEIVERS = 8
# A cone of at most this many classes splits into one context per class (`split_cone`).
_MAX_SPLIT = 6
# Special methods the solver calls on their receivers itself (constructors, calls
# of instances); the interpreter calls the others on any instance.
_RECEIVED = frozenset(("__init__", "__new__", "__post_init__", "__call__"))
# Run on the objects the project creates (`_bind_self`); a library base does not
# create an object of its subclass that the project has not (`_seed_uncalled`).
_CONSTRUCTORS = frozenset(("__init__", "__new__", "__post_init__"))
_MERGED = ("*",)  # the key of a function's merged context
_UNCLAIMED = object()
_SHARED = "\u27e8*\u27e9"  # suffix of the names nested functions read


class Contexts(Hierarchy):
    """Which functions have contexts, which context a call enters, and the objects
    of configured classes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._per_site: set[str] = set()  # functions analysed per calling site
        self._per_receiver: set[str] = set()  # methods analysed per receiver class
        # Functions analysed per constant key they are passed (`graph.keys`): the
        # positions of the parameters they subscript by.
        self._per_key: dict[str, tuple[int, ...]] = {}
        self._key_defaults: dict[str, dict[int, Expr]] = {}
        self._self_called: dict[str, set[str]] | None = None  # `_self_calls`
        self._single: set[str] = set()  # functions kept in one context
        self._enclosing: set[str] = set()  # functions with nested functions
        self._scope_sites: dict[tuple[str, int], list[int]] = {}
        self._splits: dict[Value, list[Value]] = {}  # memo of `split_cone`
        # The functions that may start a thread or fork (`may_start`); None: any.
        self._starting: set[str] | None = None

    def getattr(self, value: Value, attr: str) -> set[Value]:
        """Defined by the evaluation layer (`fork_lint.graph.evaluate`)."""
        raise NotImplementedError

    def eval(self, mod: str, scope_index: int, expr: Expr) -> set[Value]:
        """Defined by the evaluation layer (`fork_lint.graph.evaluate`)."""
        raise NotImplementedError

    def _hierarchy_changed(self) -> None:
        super()._hierarchy_changed()
        self._splits.clear()

    # -- which functions and classes --------------------------------------
    def _select_contexts(self) -> None:
        """Decide, once the class hierarchy of the top level is known, which classes
        are configured and which functions run per calling site (see the module
        docstring); also which functions keep one context."""
        stored: dict[str, set[str]] = defaultdict(set)
        started: dict[str, set[str]] = defaultdict(set)
        methods: list[tuple[str, Scope, list[CallSite]]] = []
        grouped = []
        for facts in self.modules.values():
            by_scope: dict[int, list[CallSite]] = defaultdict(list)
            for site in facts["calls"]:
                by_scope[site["scope"]].append(site)
            grouped.append((facts["scopes"], by_scope))
        if self._starting_names is not None:
            # Receivers' classes matter only where an override may start or fork.
            self._starting = may_start(
                (
                    (sc, by_scope.get(i, []))
                    for scopes, by_scope in grouped
                    for i, sc in enumerate(scopes)
                ),
                self._starting_names,
            )
            # A method whose nested function (a returned lambda, a closure stored
            # on ``self``) may start: what its callers then call depends on it.
            enclosing = {q.rpartition(".")[0] for q in self._starting}
            self._starting |= {
                q for q in enclosing if (sc := self.scope(q)) is not None and sc["method_kind"]
            }
        # Only a function some call passes a constant can be keyed (`graph.keys`).
        keyed_names = {
            name
            for _, by_scope in grouped
            for sites in by_scope.values()
            for name in called_with_constants(sites)
        }
        for scopes, by_scope in grouped:
            for i, sc in enumerate(scopes):
                parent = sc["parent"]
                if parent >= 0 and sc["kind"] in ("function", "lambda"):
                    outer = scopes[parent]
                    if outer["kind"] in ("function", "lambda"):
                        self._enclosing.add(outer["qualname"])
                        if sc["nonlocals"]:
                            self._single.add(outer["qualname"])
                if sc["kind"] not in ("function", "lambda"):
                    continue
                sites = by_scope.get(i, [])
                kind = sc["method_kind"]
                keyed = key_parameters(sc, sites) if sc["name"] in keyed_names else ()
                if keyed:
                    self._per_key[sc["qualname"]] = keyed
                    if parent >= 0:
                        self._key_defaults[sc["qualname"]] = key_defaults(sc, scopes[parent])
                if kind in ("method", "classmethod") and sc["params"]:
                    owner = sc["qualname"].rpartition(".")[0]
                    if self._overridden_call(sc, sites, owner):
                        self._per_receiver.add(sc["qualname"])
                if kind == "method" and sc["params"]:
                    methods.append((owner, sc, sites))
                    me = ("name", sc["params"][0])
                    if starting_sites(sites):
                        for attr in sorted(fields_read(sc, sites)):
                            if starts_with(sc, sites, [("attr", me, attr)]):
                                started[owner].add(attr)
                elif kind in ("", "staticmethod"):
                    seeds = [("name", p) for p in parameters(sc, 0)]
                    if seeds and starts_with(sc, sites, seeds):
                        self._per_site.add(sc["qualname"])
        # Only a field some method starts with can configure a class: what methods
        # store from their parameters is worked out only where they store one.
        wanted = set().union(*started.values())
        for owner, sc, sites in methods if wanted else ():
            me = ("name", sc["params"][0])
            if any(t[0] == "attr" and t[1] == me and t[2] in wanted for t, _ in sc["assigns"]):
                stored[owner] |= stored_parameters(sc, sites) & wanted
        for cls in sorted(self._classes):
            mro = [entry[1] for entry in self.mro(cls) if entry[0] == "c"]
            fields = set().union(*(stored.get(c, ()) for c in mro))
            if fields & set().union(*(started.get(c, ()) for c in mro)):
                self._configured.add(cls)

    def _overridden_call(self, sc: Scope, sites: list[CallSite], owner: str) -> bool:
        """Does the method call a method of ``self`` that subclasses of its class
        define differently? Then what it calls depends on its receiver's class."""
        me = ("name", sc["params"][0])
        called = {s["func"][2] for s in sites if s["func"][0] == "attr" and s["func"][1] == me}
        if not called:
            return False
        cone = self.subclasses(owner)
        if len(cone) < 2:
            return False
        starting = self._starting
        for attr in called:
            defining = [c for c in cone if attr in self._namespace(c)]
            if len(defining) > 1 and (
                starting is None or any(f"{c}.{attr}" in starting for c in defining)
            ):
                return True
        return False

    # -- objects ------------------------------------------------------------
    def _new_object(self, cls: str, ref: SiteRef) -> Value:
        """The instance a construction at ``ref`` creates."""
        if cls not in self._configured:
            return ("i", cls)
        alloc = alloc_name(ref)
        objects = self._objects[cls]
        if alloc not in objects:
            if len(objects) >= _MAX_OBJECTS:
                return ("i", cls)
            objects.add(alloc)
        return ("i", cls, alloc)

    # -- receivers ----------------------------------------------------------
    def _bind_self(self) -> None:
        """Give ``self`` the cone of its class (an instance of the class or of any
        subclass) in the methods that code outside the project may call on any
        instance: the methods of classes with a library base (which calls the
        methods it declares on whatever instance it is given), properties (read,
        never entered) and the special methods the interpreter calls itself. Every
        other method runs in the context of each receiver it is called on
        (`_bind_receiver`), and takes the cone only if nothing in the project calls
        it (`_seed_uncalled`). A private method (``_m``) that the project calls on
        ``self`` is not taken to be called by the library base: it runs where the
        project calls it, with the arguments those calls pass (`graph.keys`); a
        constructor runs on the objects the project creates, and takes the cone
        only if the project creates none (its ``self =`` writes would otherwise
        reach every object of every subclass: the default thread-pool executor of
        APScheduler got the process pool of another executor class)."""
        on_self = set().union(*self._self_calls().values())
        for qualname, refs in self.scopes.items():
            mod, i = refs[-1]
            sc = self.modules[mod]["scopes"][i]
            kind = sc["method_kind"]
            if kind not in ("method", "property", "classmethod") or not sc["params"]:
                continue
            cls = self.modules[mod]["scopes"][sc["parent"]]["qualname"]
            name = sc["name"]
            private = name.startswith("_") and not name.startswith("__")
            if (
                kind == "property"
                or (name.startswith("__") and name.endswith("__") and name not in _RECEIVED)
                or (
                    self._open(cls)
                    and name not in _CONSTRUCTORS
                    and not (private and name in on_self)
                )
            ):
                self._bind_cone(qualname, sc, cls)

    def _seed_uncalled(self) -> bool:
        """At a fixed point, the methods whose ``self`` is still unknown are not called
        on any receiver the project knows (entry points, public API, callbacks of
        frameworks): their ``self`` is the cone of their class. True if one was.

        A method keyed by a parameter (`graph.keys`) that another of them calls on
        ``self`` waits while the others are seeded: they may call it, in the
        context their arguments decide, rather than with every argument unknown."""
        uncalled: list[tuple[str, Scope, str]] = []
        for qualname, refs in self.scopes.items():
            mod, i = refs[-1]
            sc = self.modules[mod]["scopes"][i]
            if sc["method_kind"] not in ("method", "classmethod") or not sc["params"]:
                continue
            if self.vars.get((qualname, sc["params"][0])) or any(
                self.vars.get((node_name(qualname, n), sc["params"][0]))
                for n in self.secondaries.get(qualname, ())
            ):
                continue
            cls = self.modules[mod]["scopes"][sc["parent"]]["qualname"]
            uncalled.append((qualname, sc, cls))
        calls = self._self_calls()
        inner = {name for q, _, _ in uncalled for name in calls.get(q, ())}
        first = [u for u in uncalled if u[0] not in self._per_key or u[1]["name"] not in inner]
        for qualname, sc, cls in first or uncalled:
            self._bind_cone(qualname, sc, cls)
        return bool(uncalled)

    def _self_calls(self) -> dict[str, set[str]]:
        """Method -> the names of the methods it calls on ``self``."""
        if self._self_called is None:
            self._self_called = defaultdict(set)
            for facts in self.modules.values():
                scopes = facts["scopes"]
                for site in facts["calls"]:
                    func = site["func"]
                    sc = scopes[site["scope"]]
                    if (
                        func[0] == "attr"
                        and sc["method_kind"] == "method"
                        and sc["params"]
                        and func[1] == ("name", sc["params"][0])
                    ):
                        self._self_called[sc["qualname"]].add(func[2])
        return self._self_called

    def _bind_cone(self, qualname: str, sc: Scope, cls: str) -> None:
        if qualname in self._per_receiver:
            split = self.split_cone(("b", qualname, "s", cls))
            if split[0][2] == "i":  # a context per class of the cone
                for method in split:
                    node = node_name(qualname, self._context(qualname, method[2:]))
                    self._add(self.vars[(node, sc["params"][0])], self._receiver_values(method))
                return
        if sc["method_kind"] == "classmethod":
            values = [("c", c) for c in sorted(self.subclasses(cls))]
        else:
            # One value for the instances of every subclass: a base class
            # with a hundred subclasses would otherwise fill every set that
            # `self` flows into (see `_cone_attr`).
            values = [("s", cls)]
        key = ("s", cls) if qualname in self._per_receiver else _MERGED
        node = node_name(qualname, self._context(qualname, key))
        self._add(self.vars[(node, sc["params"][0])], values)

    def split_cone(self, method: Value) -> list[Value]:
        """A method whose calls depend on its receiver's class (`_per_receiver`),
        bound to any instance of a class or of a subclass (``("s", C)``), as bound to
        an instance of exactly each class of that cone that finds it: each runs in a
        context of its own, where ``self.m()`` resolves in that class's MRO and
        ``self.x = ...`` stores on that class, so that no path enters the method on
        one subclass and leaves it through a sibling's override. Past
        ``_MAX_SPLIT`` classes, the cone stays one receiver."""
        if len(method) != 4 or method[2] != "s" or method[1] not in self._per_receiver:
            return [method]
        found = self._splits.get(method)
        if found is None:
            found = self._splits[method] = self._split(method)
        return found

    def _split(self, method: Value) -> list[Value]:
        qualname = method[1]
        sc = self.scope(qualname)
        if sc is None or sc["method_kind"] != "method":
            return [method]
        owner, _, name = qualname.rpartition(".")
        classes: list[str] = []
        for sub in sorted(self.subclasses(method[3])):
            for entry in self.mro(sub):
                if entry[0] == "c" and name in self._namespace(entry[1]):
                    if entry[1] == owner:
                        classes.append(sub)
                    break
        if not classes or len(classes) > _MAX_SPLIT:
            return [method]
        return [("b", qualname, "i", c) for c in classes]

    def _receiver_values(self, method: Value) -> set[Value]:
        """What ``self`` (``cls``) of a bound method is: its receiver."""
        mode, cls = method[2], method[3]
        sc = self.scope(method[1])
        if sc is not None and sc["method_kind"] == "classmethod":
            return {("c", c) for c in self.subclasses(cls)} if mode == "s" else {("c", cls)}
        if len(method) > 4:
            return {("i", cls, method[4])}
        return {("i" if mode == "c" else mode, cls)}

    def _bind_receiver(self, method: Value, node: str) -> None:
        """Bind ``self`` (``cls``) of a bound method being called in the context
        ``node`` to its receiver, so that ``self.m()`` in it resolves in the classes
        the receiver can be, not in every subclass of the class that defines it."""
        if (method, node) in self._bound:  # bound before: its receivers are there
            return
        self._bound.add((method, node))
        qualname = method[1]
        sc = self.scope(qualname)
        if sc is None or not sc["params"] or sc["method_kind"] == "staticmethod":
            return
        store = self.vars[(node, sc["params"][0])]
        values = self._receiver_values(method)
        cones = [v[1] for v in store if v[0] == "s"]
        if cones:
            # Already an instance of any subclass of these: nothing to add.
            values = {
                v
                for v in values
                if len(v) > 2 or not any(v[1] in self.subclasses(c) for c in cones)
            }
        if not values:
            return
        if len(store) + len(values) > _MAX_RECEIVERS and sc["method_kind"] != "classmethod":
            # Called on many classes: the cone of the class that defines it holds them all.
            owner = qualname.rpartition(".")[0]
            if owner in self._classes:
                values = {("s", owner)}
        self._add(store, values)

    def _prime_handed(self, ref: SiteRef, handed: list[set[Value]]) -> None:
        """Methods handed to library code (a thread's target, a pool's function, an
        object called through its ``__call__``) run when the library calls them, on
        the object they are bound to; the call graph has no edge for that call, but
        the method's context for that receiver is made, with ``self`` bound, so that
        what runs there (`node_for`) is analysed for that object alone."""
        for values in handed:
            for v in values:
                if v[0] == "i" and len(v) > 2:
                    methods = [m for m in self.getattr(v, "__call__") if m[0] == "b"]
                elif v[0] == "b" and (len(v) > 4 or v[1] in self._per_receiver):
                    methods = self.split_cone(v)
                else:
                    continue
                for m in methods:
                    sc = self.scope(m[1])
                    if sc is None or not sc["params"] or sc["method_kind"] == "staticmethod":
                        continue
                    key = self._context_key(m[1], ref, m)
                    self._bind_receiver(m, node_name(m[1], self._context(m[1], key)))

    # -- which context ------------------------------------------------------
    def _context_key(self, qualname: str, ref: SiteRef, method: Value | None) -> Any:
        """What tells apart the contexts of ``qualname`` entered at ``ref``: the
        receiver of a bound ``method``, the calling site of a function analysed per
        site; None: its primary context."""
        if qualname in self._single:
            return None
        keyed = self._per_key.get(qualname)
        if keyed is not None:
            sc = self.scope(qualname)
            assert sc is not None
            offset = 1 if method is not None and sc["method_kind"] != "staticmethod" else 0
            defaults = self._key_defaults.get(qualname, {})
            passed = keys_passed(sc, keyed, self.site(ref), offset, defaults)
            plain = self._plain_key(qualname, ref, method)
            if passed:
                return ("key", passed, plain)
            # Not the primary context a constant key may have claimed.
            return _MERGED if plain is None else plain
        return self._plain_key(qualname, ref, method)

    def _plain_key(self, qualname: str, ref: SiteRef, method: Value | None) -> Any:
        if method is not None:
            # An object told apart by its creation, or a receiver of a method whose
            # calls depend on its class; other receivers share one context.
            if len(method) > 4 or qualname in self._per_receiver:
                return method[2:]
            return _MERGED
        if qualname in self._per_site:
            if self.scope_of_site(ref)["qualname"] == qualname:
                # A recursive call stays in the context it is made in.
                return self.contexts[self._ctx][1] if self._ctx else self._primary.get(qualname)
            return ("site", *ref)
        return None

    def _context(self, qualname: str, key: Any) -> int:
        """The context of ``qualname`` for ``key``, made if new (0: primary)."""
        if key is None:
            return 0
        primary = self._primary.get(qualname, _UNCLAIMED)
        if primary is _UNCLAIMED:
            self._primary[qualname] = key
            return 0
        if key == primary:
            return 0
        found = self._context_ids.get((qualname, key))
        if found is not None:
            return found
        if self._covers(primary, key):
            return 0
        if self._full(qualname, key):
            if primary == _MERGED:
                return 0
            key = _MERGED
            found = self._context_ids.get((qualname, key))
            if found is not None:
                return found
        return self._new_context(qualname, key)

    def _full(self, qualname: str, key: Any) -> bool:
        """Has ``qualname`` as many contexts of the kind of ``key`` as it may have?"""
        objects = len(key) > 2 and key[0] == "i"
        keys = [self._primary.get(qualname)]
        keys += [self.contexts[n][1] for n in self.secondaries.get(qualname, ())]
        same = sum(1 for k in keys if k is not None and (len(k) > 2 and k[0] == "i") == objects)
        return same >= (_MAX_OBJECT_CONTEXTS if objects else _MAX_CONTEXTS)

    def _covers(self, primary: Any, key: Any) -> bool:
        """A primary context for ``self`` being any instance of a class or of a
        subclass takes the receivers it holds that are not objects told apart: one
        more context would say nothing more of them."""
        return (
            primary.__class__ is tuple
            and len(primary) == 2
            and primary[0] == "s"
            and len(key) == 2
            and key[0] in ("i", "s")
            and key[1] in self.subclasses(primary[1])
        )

    def _new_context(self, qualname: str, key: Any) -> int:
        number = len(self.contexts)
        self.contexts.append((qualname, key))
        self._context_ids[(qualname, key)] = number
        self.secondaries.setdefault(qualname, []).append(number)
        self._changed = True
        queue, queued = self._queue, self._queued
        for unit in self._context_units(qualname, number):
            if unit not in queued:
                queued.add(unit)
                queue.append(unit)
        return number

    def _context_units(self, qualname: str, number: int) -> Iterator[Unit]:
        """The units of every definition of ``qualname``, in context ``number``."""
        for mod, i in self.scopes.get(qualname, ()):
            facts = self.modules[mod]
            calls = facts["calls"]
            sc = facts["scopes"][i]
            at = -1
            for k, (target, value) in enumerate(sc["assigns"]):
                at = max(at, last_call(value, calls), last_call(target, calls))
                yield (STATEMENT, mod, i, at, ASSIGN, k, number)
            if sc["returns"]:
                yield (STATEMENT, mod, i, sc["end_order"], RETURN, 0, number)
            for sid in self._sites_in(mod, i):
                yield (STATEMENT, mod, i, calls[sid]["order"], CALL, sid, number)

    def _sites_in(self, mod: str, scope_index: int) -> list[int]:
        key = (mod, scope_index)
        found = self._scope_sites.get(key)
        if found is None:
            found = [s["id"] for s in self.modules[mod]["calls"] if s["scope"] == scope_index]
            self._scope_sites[key] = found
        return found

    def _set_context(self, number: int) -> tuple[int, str, str]:
        """Run what follows in context ``number``; returns the one to restore."""
        saved = (self._ctx, self._ctx_qualname, self._ctx_node)
        qualname = self.contexts[number][0] if number else ""
        self._ctx, self._ctx_qualname = number, qualname
        self._ctx_node = node_name(qualname, number)
        return saved

    def _restore_context(self, saved: tuple[int, str, str]) -> None:
        self._ctx, self._ctx_qualname, self._ctx_node = saved

    def _shared(self, owner: str, name: str) -> set[Value]:
        """What the contexts of ``owner`` besides its primary one bind ``name`` to,
        for the nested functions that read it."""
        found: set[Value] | None = self.vars.get((owner + _SHARED, name))
        return found if found is not None else set()

    def _share(self, node: str, name: str, values: set[Value]) -> None:
        """A binding in a context besides the primary one, for nested functions."""
        qualname = base_name(node)
        if node != qualname and qualname in self._enclosing and values:
            self._add(self.vars[(qualname + _SHARED, name)], values)

    def _returns(self, qualname: str) -> set[Value]:
        """What ``qualname`` returns in any of its contexts."""
        values: set[Value] | None = self.rets.get(qualname)
        out = values if values is not None else set()
        if qualname in self.secondaries:
            shared: set[Value] | None = self.rets.get(qualname + _SHARED)
            if shared:
                out = out | shared
        return out

    # -- after solving --------------------------------------------------------
    def nodes_of(self, qualname: str) -> list[str]:
        """The call-graph nodes of a function: its primary context, then the others."""
        return [qualname, *(node_name(qualname, n) for n in self.secondaries.get(qualname, ()))]

    def in_contexts(self, ref: SiteRef) -> list[SiteRef]:
        """A call site of the facts in each context of its function."""
        qualname = self.scope_of_site(ref)["qualname"]
        return [ref, *((ref[0], ref[1] + n * STRIDE) for n in self.secondaries.get(qualname, ()))]

    def context_key(self, node: str) -> Any:
        """What a node's context stands for: the receiver (``(mode, class[,
        alloc])``), the calling site (``("site", module, id)``), the merged context
        (``("*",)``), or None for a primary context entered without one."""
        number = context_of(node)
        if number:
            return self.contexts[number][1]
        found = self._primary.get(node, _UNCLAIMED)
        return None if found is _UNCLAIMED else found

    def eval_at(self, ref: SiteRef, expr: Expr) -> set[Value]:
        """What ``expr``, written at call site ``ref``, holds in the site's context."""
        site = self.site(ref)
        saved = self._set_context(ref[1] // STRIDE)
        try:
            return set(self.eval(ref[0], site["scope"], expr))
        finally:
            self._restore_context(saved)

    def nodes_for(self, value: Value, ref: SiteRef) -> list[str]:
        """The nodes a function or bound method found at call site ``ref`` runs in
        when it is called there: one, or one per class of a split cone (`split_cone`)."""
        if value[0] == "b":
            return [self.node_for(m, ref) for m in self.split_cone(value)]
        return [self.node_for(value, ref)]

    def node_for(self, value: Value, ref: SiteRef) -> str:
        """The node a function or bound method found at call site ``ref`` runs in when
        it is called there (without making a context)."""
        qualname = str(value[1])
        method = value if value[0] == "b" else None
        if method is not None:
            sc = self.scope(qualname)
            if sc is None or sc["method_kind"] == "staticmethod":
                method = None
        key = self._context_key(qualname, ref, method)
        if key is None:
            return qualname
        primary = self._primary.get(qualname, _UNCLAIMED)
        if key == primary or (primary is not _UNCLAIMED and self._covers(primary, key)):
            return qualname
        number = self._context_ids.get((qualname, key)) or self._context_ids.get(
            (qualname, _MERGED)
        )
        return node_name(qualname, number or 0)

    def object_site(self, value: Value) -> SiteRef | None:
        """Where an object told apart by its creation was created."""
        if value[0] in ("i", "b") and len(value) == (3 if value[0] == "i" else 5):
            return alloc_site(str(value[-1]))
        return None

    def projected(self) -> tuple[dict[SiteRef, set[str]], dict[SiteRef, set[Value]]]:
        """The call graph without contexts: each real call site, the functions it
        calls in any context, and the values called there."""
        edges: dict[SiteRef, set[str]] = defaultdict(set)
        callees: dict[SiteRef, set[Value]] = defaultdict(set)
        for ref, targets in self.edges.items():
            if targets:
                edges[(ref[0], ref[1] % STRIDE)].update(base_name(t) for t in targets)
        for ref, values in self.callees.items():
            if values:
                callees[(ref[0], ref[1] % STRIDE)].update(values)
        return edges, callees
