"""Calls: binding arguments to parameters, call results, constructors, iteration,
and calls of library values (callbacks, pass-through functions)."""

from __future__ import annotations

from fork_lint.catalog import PatternIndex
from fork_lint.catalog.stdlib import CALLBACK_ARGS, PASS_THROUGH
from fork_lint.graph.decorators import Decorators
from fork_lint.graph.values import INSTANCES, Args, SiteRef, Value, alloc_name
from fork_lint.index.facts import CallSite, Expr, Scope

__all__ = ["Calls"]

_CONTEXT_FUNCS = ("get_context",)
_PASS_THROUGH = PatternIndex((pattern, pos) for pattern, pos in PASS_THROUGH)
_CALLBACKS = PatternIndex((pattern, (pos, kw)) for pattern, pos, kw in CALLBACK_ARGS)
# Values whose call binds the call's arguments to a project function's parameters.
_ENTERING = frozenset(("f", "b", "c", "i", "s"))
# Builtins whose result holds what the callback returns.
_MAP_RESULTS = frozenset(("builtins.map",))


class Calls(Decorators):
    """What a call site calls, and what it returns."""

    def _call_returns(
        self, qualname: str, offset: int, args: Args, site: CallSite | None = None
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
            elif kind in INSTANCES:
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

    def _iterate(self, ref: SiteRef, mod: str, site: CallSite, values: set[Value]) -> None:
        """``for x in v``: ``__iter__`` of a project instance, then ``__next__`` of the
        iterator it returns; the site's results are the items. Other values are
        iterated as containers (their elements are the value itself, see ``item``)."""
        iter_name, next_name = (
            ("__aiter__", "__anext__") if site["kind"] == "aiter" else ("__iter__", "__next__")
        )
        args = self._arguments(mod, site)
        for v in sorted(values):
            if v[0] not in INSTANCES:
                continue
            for method in self.getattr(v, iter_name):
                if method[0] != "b":
                    continue
                self._enter(ref, method[1], 1, args)
                for it in self._returns(method[1]):
                    nexts = [m for m in self.getattr(it, next_name) if m[0] == "b"]
                    if it[0] not in INSTANCES or not nexts:
                        # a generator `__iter__` yields the items
                        self._add_at(self.results, ref, {it})
                        continue
                    for m in nexts:
                        self._enter(ref, m[1], 1, args)
                        self._add_at(self.results, ref, self._returns(m[1]))

    def _arguments(self, mod: str, site: CallSite, args: list[Expr] | None = None) -> Args:
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
        self, ref: SiteRef, qualname: str, offset: int, args: Args, *, own: bool = True
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
            if arg is None or arg == ("const", None):
                suffixes = {"()"}
            elif arg[0] == "star":
                suffixes = {"(?)"}
            else:
                # The start method names the argument may hold (a constant, or one
                # that reaches it through names, returns, attributes and defaults),
                # each a context of its own; anything else makes one unknown context.
                # While the argument holds nothing (not known yet, or never) the call
                # gives nothing, as an unknown context would: no start method can be
                # read from either.
                suffixes = set()
                for v in self.eval(mod, i, arg):
                    suffixes.add(f"('{v[1]}')" if v[0] == "v" else "(?)")
            self._add_at(self.results, ref, {("x", path + s, "") for s in suffixes})
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
                if v[0] in INSTANCES:
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

    def _enter_wrappers(self, ref: SiteRef, qualname: str, offset: int, args: Args) -> None:
        """A call of a decorated definition also runs its forwarding wrappers."""
        wrappers = self.wrappers.get(qualname)
        if wrappers:
            for w in sorted(wrappers):
                self._enter(ref, w[1], offset, args)


def _bound_argument(sc: Scope, offset: int, args: Args, name: str) -> set[Value] | None:
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
