"""Calls: binding arguments to parameters, call results, constructors, iteration,
and calls of library values (callbacks, pass-through functions)."""

from __future__ import annotations

from typing import Any

from fork_lint.catalog import PatternIndex
from fork_lint.catalog.stdlib import CALLBACK_ARGS, PASS_THROUGH
from fork_lint.graph.containers import without_markers
from fork_lint.graph.decorators import Decorators
from fork_lint.graph.plugins import entry_point_call, handles
from fork_lint.graph.values import (
    INSTANCES,
    STRIDE,
    Args,
    SiteRef,
    Value,
    alloc_name,
    base_name,
    node_name,
)
from fork_lint.index.facts import CallSite, Expr, Scope, slot_of

__all__ = ["Calls"]

_CONTEXT_FUNCS = ("get_context",)
_PASS_THROUGH = PatternIndex((pattern, pos) for pattern, pos in PASS_THROUGH)
_CALLBACKS = PatternIndex((pattern, (pos, kw)) for pattern, pos, kw in CALLBACK_ARGS)
# Values whose call binds the call's arguments to a project function's parameters.
_ENTERING = frozenset(("f", "b", "c", "i", "s"))
# Builtins whose result holds what the callback returns.
_MAP_RESULTS = frozenset(("builtins.map",))
_BUILT_KINDS = {"dict": "dict", "tuple": "tuple", "set": "set", "frozenset": "set"}
# Builtins whose result is a new container (`Calls._build`).
_BUILDERS = frozenset(
    f"builtins.{name}"
    for name in (
        "dict", "list", "tuple", "set", "frozenset", "sorted", "reversed", "enumerate", "zip",
        "next", "min", "max",
    )
)  # fmt: skip


class Calls(Decorators):
    """What a call site calls, and what it returns."""

    def _call_returns(
        self,
        node: str,
        offset: int,
        args: Args,
        site: CallSite | None = None,
        method: Value | None = None,
    ) -> set[Value]:
        """What calling ``node`` (a function in a context) with ``args`` at ``site``
        returns (see `_returning`). A returned parameter the call does not pass
        holds its default, unless the call has ``*args`` or ``**kwargs`` that may
        pass it; ``return self`` in a bound ``method`` returns its receiver."""
        qualname = method[1] if method is not None else node.partition("\u27e8")[0]
        refs = self.scopes.get(qualname)
        if not refs:
            return self._returns(qualname)
        mod, i = refs[-1]
        sc = self.modules[mod]["scopes"][i]
        returning = self._returning(mod, sc)
        if not returning:
            return self._node_returns(node)
        values: set[Value] | None = self.direct_rets.get(node)
        out = set(values) if values else set()
        unknown = (
            site is None
            or any(a[0] == "star" for a in site["args"])
            or any(k is None for k, _ in site["kwargs"])
        )
        receivers = sc["params"][:offset]  # `return self`: bound by the receiver
        for name in sorted(set(returning.values())):
            bound = _bound_argument(sc, offset, args, name)
            if bound is None and method is not None and name in receivers:
                bound = self._receiver_values(method)
            if bound is None:
                if unknown or name in receivers:
                    bound = self.vars.get((node, name))
                else:
                    bound = self.defaults.get((qualname, name))
            if bound:
                out |= bound
        return out

    def _node_returns(self, node: str) -> set[Value]:
        """What a function returns in one context."""
        values: set[Value] | None = self.rets.get(node)
        return values if values is not None else set()

    # -- calls ------------------------------------------------------------
    def _call(self, mod: str, site: CallSite) -> None:
        ref = (mod, site["id"] + self._ctx * STRIDE)  # the call site in this context
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
        decorator = self.forwarding.get((mod, site["id"]))
        if decorator is not None and decorator not in self.opaque:
            self._forward(ref, mod, site, funcs)
            return
        if site["kind"] == "decorator" and any(f[0] == "x" for f in funcs):
            # A library decorator returns the function or a wrapper that calls it.
            self._add_at(self.results, ref, self.eval(mod, i, site["args"][0]))
        args = self._arguments(mod, site) if any(f[0] in _ENTERING for f in funcs) else ([], [])
        for f in sorted(funcs):  # several callees may add to one widened result
            kind = f[0]
            if kind == "f":
                if self._call_unbound(ref, mod, site, f[1], args):
                    continue
                node = self._enter(ref, f[1], 0, args)
                self._enter_wrappers(ref, f[1], 0, args)
                self._add_at(
                    self.results,
                    ref,
                    self._decorated(mod, site, f[1], self._call_returns(node, 0, args, site)),
                )
            elif kind == "b":
                self._call_method(ref, mod, site, f, args)
            elif kind == "c":
                obj = self._new_object(f[1], ref)
                made: set[Value] = {obj}
                if f[1] in self._forwarders:
                    if site["kind"] not in ("call", "decorator"):
                        self._make_opaque(f[1])
                    made = self._decorated(mod, site, f[1], made)
                self._add_at(self.results, ref, made)
                for v in self.getattr(obj, "__init__"):
                    if v[0] == "b":
                        self._enter_method(ref, v, args)
                    elif v[0] == "x":
                        # Construction of an external base: record it as a call of the base.
                        base = v[1][: -len("().__init__")]
                        self._add(self.callees[ref], {("x", base, "")})
            elif kind in INSTANCES:
                for m in self.getattr(f, "__call__"):
                    if m[0] == "b":
                        self._call_method(ref, mod, site, m, args)
            elif kind == "km":
                self._container_call(ref, mod, site, f)
            elif kind == "m":
                if site["kind"] == "import":
                    self._enter_module(ref, f[1])
            elif kind == "x":
                self._external(ref, mod, site, f)

    def _call_method(
        self, ref: SiteRef, mod: str, site: CallSite, method: Value, args: Args
    ) -> None:
        """Call a bound method at ``ref``: in the context of its receiver (of each
        class its receiver can be, `split_cone`)."""
        for bound in self.split_cone(method):
            offset, node = self._enter_method(ref, bound, args)
            self._enter_wrappers(ref, bound[1], offset, args)
            returns = self._call_returns(node, offset, args, site, bound)
            self._add_at(self.results, ref, self._decorated(mod, site, bound[1], returns))

    def _call_unbound(
        self, ref: SiteRef, mod: str, site: CallSite, qualname: str, args: Args
    ) -> bool:
        """``Base.__init__(self, pool)``: a method called through its class, with its
        receiver as the first argument, runs in the context of each receiver that
        argument holds, as ``self.__init__(pool)`` would. False when the first
        argument is not known to be an instance (a plain call then)."""
        sc = self.scope(qualname)
        pos = args[0]
        if sc is None or sc["method_kind"] != "method" or not pos or pos[0][0]:
            return False
        receivers = sorted(v for v in pos[0][1] if v[0] in INSTANCES)
        if not receivers or len(receivers) != len(pos[0][1]):
            return False
        rest = (pos[1:], args[1])
        for r in receivers:
            self._call_method(ref, mod, site, ("b", qualname, *r), rest)
        return True

    def _iterate(self, ref: SiteRef, mod: str, site: CallSite, values: set[Value]) -> None:
        """``for x in v``: ``__iter__`` of a project instance, then ``__next__`` of the
        iterator it returns; the site's results are the items. Other values are
        iterated as containers (their elements are the value itself, see ``item``)."""
        iter_name, next_name = (
            ("__aiter__", "__anext__") if site["kind"] == "aiter" else ("__iter__", "__next__")
        )
        args = self._arguments(mod, site)
        for v in sorted(values):
            if v[0] == "k" and str(v[1]).endswith("#yield"):
                # A generator's body runs as it is iterated, not when it is called.
                node = str(v[1])[: -len("#yield")]
                if self.scope(base_name(node)) is not None and node not in self.edges[ref]:
                    self.edges[ref].add(node)
                    self._changed = True
            if v[0] not in INSTANCES:
                continue
            for method in self.getattr(v, iter_name):
                if method[0] != "b":
                    continue
                _, node = self._enter_method(ref, method, args)
                for it in self._node_returns(node):
                    nexts = [m for m in self.getattr(it, next_name) if m[0] == "b"]
                    if it[0] not in INSTANCES or not nexts:
                        # a generator `__iter__` yields the items
                        self._add_at(self.results, ref, self._elements({it}))
                        continue
                    for m in nexts:
                        _, at = self._enter_method(ref, m, args)
                        self._add_at(self.results, ref, self._node_returns(at))

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
            else [(key, self._stored(mod, i, arg)) for key, arg in site["kwargs"]]
        )
        return pos, kws

    def _enter_method(
        self, ref: SiteRef, method: Value, args: Args, *, own: bool = True
    ) -> tuple[int, str]:
        """Call a bound method in the context of its receiver, which becomes ``self``;
        returns how many parameters the receiver takes (0 for a static method) and
        the node entered."""
        sc = self.scope(method[1])
        offset = 0 if sc and sc["method_kind"] == "staticmethod" else 1
        node = self._enter(ref, method[1], offset, args, own=own, method=method if offset else None)
        if offset:
            self._bind_receiver(method, node)
        return offset, node

    def _enter(
        self,
        ref: SiteRef,
        qualname: str,
        offset: int,
        args: Args,
        *,
        own: bool = True,
        method: Value | None = None,
    ) -> str:
        """Add the edge from ``ref`` to ``qualname`` in the context this call enters
        (`graph.contexts`), bind the arguments to its parameters there, and return
        that node."""
        key = self._context_key(qualname, ref, method)
        number = self._context(qualname, key)
        node = node_name(qualname, number)
        if key.__class__ is tuple and key[0] == "key":
            self._bind_keys(qualname, node, number, key)
        edges = self.edges[ref]
        if node not in edges:
            edges.add(node)
            self._changed = True
            if qualname in self._forwarders and not (
                own and self.site(ref)["kind"] in ("call", "decorator")
            ):
                # Called by a library, or by an iteration: its wrappers may wrap anything.
                self._make_opaque(qualname)
        # Sets only grow: arguments of the same sizes as at the last binding are the
        # same arguments. A call site whose callee set grows (a decorator's `func(*args)`
        # that reaches every decorated function) re-runs often, and would otherwise
        # bind every argument to every callee again each time.
        # Only for the site's own arguments (``own``): a callback a library call
        # invokes gets other arguments from the same site.
        if own:
            sig = (offset, *(len(v) for _, v in args[0]), None, *(len(v) for _, v in args[1]))
            if self._entered.get((ref, node)) == sig:
                return node
            self._entered[(ref, node)] = sig
        sc = self.scope(qualname)
        if sc is None:
            return node
        if number:
            self._bind_defaults(qualname, node, sc, offset, args)
        params = sc["params"]
        # `*args` and `**kwargs` hold containers of what the calls pass there.
        rest = extra = None
        if sc["vararg"] is not None:
            rest = self._param_container(node, sc["vararg"], "*", "tuple")
        if sc["kwarg"] is not None:
            extra = self._param_container(node, sc["kwarg"], "**", "dict")
        pos = offset
        known = True  # positions in `*args` are known up to a `*xs` argument
        for star, values in args[0]:
            if star:  # the elements of `*xs`
                for p in params[pos:]:
                    self._bind(node, p, values)
                if rest is not None:
                    self._write(rest, "*", values)
                known = False
                continue
            if pos < len(params):
                self._bind(node, params[pos], values)
            elif rest is not None:
                self._write(rest, f"i:{pos - len(params)}" if known else "*", values)
            pos += 1
        if not args[1]:
            return node
        names = set(params[sc["posonly"] :]) | set(sc["kwonly"])
        # What `**mapping` can still bind: not the receiver, not a parameter the
        # call gives by position or by name (Python raises "multiple values").
        given = set(params[:pos]) | {key for key, _ in args[1] if key is not None}
        for key, values in args[1]:
            if key is None:  # `**mapping`: its keys one by one
                self._expand(node, values, names - given, given, extra)
            elif key in names:
                self._bind(node, key, without_markers(values))
            elif extra is not None:
                self._pass_in(extra, slot_of(key), values)
        return node

    def _bind_keys(self, qualname: str, node: str, number: int, key: Any) -> None:
        """In the context of the constant keys a call passes (`graph.keys`), the
        parameters hold markers of them; in a context that took other calls as
        well (too many contexts), they do not."""
        if (self.contexts[number][1] if number else self._primary.get(qualname)) != key:
            return
        sc = self.scope(qualname)
        assert sc is not None
        for position, slot in key[1]:
            self._bind(node, sc["params"][position], {("key", slot)})

    def _bind(self, node: str, param: str, values: set[Value]) -> None:
        if values:
            self._add(self.vars[(node, param)], values)
            self._share(node, param, values)

    def _bind_defaults(self, qualname: str, node: str, sc: Scope, offset: int, args: Args) -> None:
        """In a context besides the primary one, the parameters a call may leave
        out hold their defaults (bound where the function is defined)."""
        pos, kws = args
        passed: set[str] = set()
        if not any(star for star, _ in pos) and all(k is not None for k, _ in kws):
            passed = set(sc["params"][: offset + len(pos)]) | {k for k, _ in kws if k}
        for p in (*sc["params"][offset:], *sc["kwonly"]):
            if p not in passed:
                values: set[Value] | None = self.defaults.get((qualname, p))
                if values:
                    self._bind(node, p, values)

    def _param_container(self, node: str, param: str, mark: str, kind: str) -> str:
        """The container a `*args` or `**kwargs` parameter holds."""
        key = node + mark
        if key not in self.kinds:
            self._bind(node, param, {self._container(key, kind)})
        return key

    def _expand(
        self, node: str, values: set[Value], names: set[str], given: set[str], extra: str | None
    ) -> None:
        """Bind ``f(**mapping)``: each key to its parameter (one of ``names``) or to
        ``**kwargs``; a key among the parameters already ``given`` makes no call."""
        for v in sorted(values):
            if v[0] != "k":
                continue
            for slot in self._slots_of(v[1]):
                got = self._got((v[1], slot))
                name = slot[2:] if slot.startswith("s:") else None
                if name in given:
                    continue
                if name in names:
                    self._bind(node, name, without_markers(got))
                elif slot == "*":  # keys not known: any parameter
                    for p in sorted(names):
                        self._bind(node, p, without_markers(got))
                    if extra is not None:
                        self._pass_in(extra, "*", got)
                elif extra is not None:
                    self._pass_in(extra, slot, got)

    def _pass_in(self, key: str, slot: str, values: set[Value]) -> None:
        """A caller's keyword into a function's ``**kwargs`` (see `star_keywords`)."""
        self._write(key, slot, values)
        self.passed_in.setdefault((key, slot), set()).update(values)

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
        if self.entry_points and handles(path):
            self._add_at(self.results, ref, entry_point_call(self, path, site, self.entry_points))
            return
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
            self._add_at(self.results, ref, self._ext(path + "()", alloc_name(ref)))
        if path == "builtins.super":
            return
        if not path.startswith("builtins."):
            handed = [*args, *(e for _, e in site["kwargs"])]
            self._prime_handed(ref, [self.eval(mod, i, e) for e in handed if e[0] != "star"])
        if path == "builtins.getattr" and len(args) >= 2 and args[1][0] == "const":
            for base in sorted(self.eval(mod, i, args[0])):
                self._add_at(self.results, ref, self.getattr(base, str(args[1][1])))
            return
        if path == "builtins.type" and len(args) == 1:
            for v in sorted(self.eval(mod, i, args[0])):
                if v[0] in INSTANCES:
                    self._add_at(self.results, ref, {("c", v[1])})
            return
        if path in _BUILDERS:
            self._build(ref, mod, site, path)
        else:
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
                for target in sorted(self._callables(self.eval(mod, i, e))):
                    self.call_value(ref, target)
                    if target[0] not in ("f", "b"):
                        continue
                    given = self._arguments(mod, site, passed)
                    if target[0] == "f":
                        nodes = [self._enter(ref, target[1], 0, given, own=False)]
                    else:
                        nodes = [
                            self._enter_method(ref, bound, given, own=False)[1]
                            for bound in self.split_cone(target)
                        ]
                    if path in _MAP_RESULTS:
                        mapped = self._site_container(ref, "list")
                        for node in nodes:
                            self._write(mapped[1], "*", self._node_returns(node))
                        self._add_at(self.results, ref, {mapped})

    def _callables(self, values: set[Value]) -> set[Value]:
        """What a library calls when given ``values``: an instance of a project class
        is called through its ``__call__``, on that instance."""
        out = set(values)
        for v in values:
            if v[0] in INSTANCES:
                out |= {m for m in self.getattr(v, "__call__") if m[0] == "b"}
        return out

    def _build(self, ref: SiteRef, mod: str, site: CallSite, path: str) -> None:
        """A builtin that makes a container of its arguments, or takes an element."""
        i = site["scope"]
        name = path.rpartition(".")[2]
        args = site["args"]
        first = self.eval(mod, i, args[0]) if args and args[0][0] != "star" else set()
        if name in ("next", "min", "max"):
            if name == "next" or len(args) == 1:
                got = self._elements(first)
                for v in sorted(first):
                    if v[0] in INSTANCES and name == "next":
                        for m in self.getattr(v, "__next__"):
                            if m[0] == "b":
                                got = got | self._returns(m[1])
            else:
                got = set()
                for a in args:
                    got |= self.eval(mod, i, a)
            if name == "next" and len(args) > 1:  # the default
                got = got | self.eval(mod, i, args[1])
            self._add_at(self.results, ref, got)
            return
        kind = _BUILT_KINDS.get(name, "list")
        made = self._site_container(ref, kind)
        key = made[1]
        if name == "dict":
            self._update(key, mod, site)
        elif name in ("enumerate", "zip"):
            pair = self._site_container(ref, "tuple", ".p")
            if name == "enumerate":
                self._write(pair[1], "i:1", self._elements(first))
            for k, a in enumerate(args if name == "zip" else ()):
                values = self._elements(self.eval(mod, i, a))
                self._write(pair[1], "*" if a[0] == "star" else f"i:{k}", values)
            self._write(key, "*", {pair})
        else:
            for v in sorted(first):
                if v[0] != "k":
                    continue
                if name in ("list", "tuple") and self.kinds.get(v[1]) in ("list", "tuple"):
                    self._copy(key, v[1])  # the same positions
                else:
                    self._write(key, "*", self._iterated(v[1]))
        self._add_at(self.results, ref, {made})

    def call_value(self, ref: SiteRef, value: Value) -> None:
        """Record that call site ``ref`` (library code) constructs the class ``value``
        (with unknown arguments); functions and methods it calls are entered."""
        if value[0] == "c":
            if value[1] in self._forwarders:
                self._make_opaque(value[1])  # constructed by a library: wraps anything
            for v in self._class_attr(value[1], "__init__", instance=True):
                if v[0] == "b" and v[1] not in self.edges[ref]:
                    self.edges[ref].add(v[1])
                    self._changed = True

    def _forward(self, ref: SiteRef, mod: str, site: CallSite, funcs: set[Value]) -> None:
        """A forwarding call in a wrapper (`_find_forwarders`) whose decorator is not
        opaque: the decorated functions are entered from their own callers, with
        their own arguments; here they get only what the wrapper adds itself (a
        ``session=`` it opens), the same for all of them. What the wrapper passes on
        from its parameters (``*args``, ``**kwargs``, ``self``) is its caller's."""
        wrapper = self.scope_of_site(ref)
        own = {*wrapper["params"], *wrapper["kwonly"], wrapper["vararg"], wrapper["kwarg"]}
        i = site["scope"]

        def added(expr: Expr) -> set[Value]:
            inner = expr[1] if expr[0] == "star" else expr
            return set() if inner[0] == "name" and inner[1] in own else self.eval(mod, i, expr)

        pos = [(arg[0] == "star", added(arg)) for arg in site["args"]]
        kws: list[tuple[str | None, set[Value]]] = [
            (key, added(arg)) for key, arg in site["kwargs"] if key is not None
        ]
        for f in sorted(funcs):
            if f[0] == "f":
                self._enter(ref, f[1], 0, (pos, kws))
            elif f[0] == "b":  # in the context of its receiver, bound by its callers
                self._enter(ref, f[1], 1, (pos, kws), method=f)

    def _enter_wrappers(self, ref: SiteRef, qualname: str, offset: int, args: Args) -> None:
        """A call of a decorated definition also runs its forwarding wrappers."""
        wrappers = self.wrappers.get(qualname)
        if wrappers:
            for w in sorted(wrappers):
                if w[0] == "b":  # a forwarding class's `__call__`, on its instance
                    self._enter_method(ref, w, args)
                else:
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
            return without_markers(values)
    return None
