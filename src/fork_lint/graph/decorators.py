"""Decorators: forwarding wrappers, what a decorator hands back for the definition
it decorates, and functions that return a parameter unchanged."""

from __future__ import annotations

from collections import defaultdict

from fork_lint.graph.evaluate import Evaluator
from fork_lint.graph.values import CALL, STATEMENT, SiteRef, Value
from fork_lint.index.facts import CallSite, Expr, Scope

__all__ = ["Decorators"]

_DEFINED = frozenset(("c", "f", "b"))


def _decorated_param(sc: Scope) -> str | None:
    """The parameter a function or method that decorates takes the definition in."""
    params = sc["params"]
    first = 1 if sc["method_kind"] in ("method", "classmethod") else 0
    return params[first] if len(params) > first else None


class Decorators(Evaluator):
    """How decorated definitions and their wrappers are called."""

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
        the forwarding call passes on only what the wrapper adds (`_forward`);
        reachability skips it (`skipped_sites`). The same holds for a method that
        decorates (``def __call__(self, func)`` of a decorator with arguments), and
        for a class whose ``__init__(self, func)`` keeps the function in an
        attribute that ``__call__`` calls. A decorator that is used otherwise than
        on a function definition stays as it was (`opaque`).
        """
        found: dict[str, set[Value]] = defaultdict(set)
        for mod, facts in self.modules.items():
            scopes = facts["scopes"]
            for site in facts["calls"]:
                func = site["func"]
                if site["kind"] != "call" or func[0] not in ("name", "attr"):
                    continue
                wrapper = scopes[site["scope"]]
                if wrapper["kind"] != "function" or wrapper["parent"] < 0:
                    continue
                if func[0] == "attr":
                    if wrapper["name"] != "__call__":
                        continue
                    decorator = self._class_forwarder(mod, wrapper, func)
                    if decorator is not None:
                        found[decorator].add(("b", wrapper["qualname"], "i", decorator))
                        self.forwarding[(mod, site["id"])] = decorator
                    continue
                decorator_scope = scopes[wrapper["parent"]]
                name = func[1]
                if (
                    decorator_scope["kind"] != "function"
                    or _decorated_param(decorator_scope) != name
                    or name in wrapper["locals"]
                    or name in wrapper["params"]
                    or name in wrapper["kwonly"]
                    or name in (wrapper["vararg"], wrapper["kwarg"])
                    or any(t == ("name", name) for t, _ in decorator_scope["assigns"])
                    or len(self.scopes[decorator_scope["qualname"]]) != 1
                    or len(self.scopes[wrapper["qualname"]]) != 1
                ):
                    continue
                decorator = decorator_scope["qualname"]
                found[decorator].add(("f", wrapper["qualname"]))
                self._forwarded[decorator] = name
                self.forwarding[(mod, site["id"])] = decorator
        self._forwarders = {d: frozenset(ws) for d, ws in found.items()}
        for ref, decorator in self.forwarding.items():
            site = self.site(ref)
            unit = (STATEMENT, ref[0], site["scope"], site["order"], CALL, ref[1])
            self._forwarding_units.setdefault(decorator, []).append(unit)

    def _class_forwarder(self, mod: str, method: Scope, func: Expr) -> str | None:
        """The class whose ``__call__`` (``method``) forwards with ``self.<attr>(...)``
        (``func``) to the function its ``__init__(self, func)`` keeps in ``attr``
        and nothing else sets; None if it is not such a class."""
        if method["name"] != "__call__" or method["method_kind"] != "method":
            return None
        if not method["params"] or func[1] != ("name", method["params"][0]):
            return None  # `def __call__(*args)` has no `self` to forward through
        if len(self.scopes[method["qualname"]]) != 1:
            return None
        attr = func[2]
        cls = method["qualname"].rpartition(".")[0]
        scopes = self.modules[mod]["scopes"]
        init = self.scope(f"{cls}.__init__")
        if (
            init is None
            or len(self.scopes[cls]) != 1
            or len(self.scopes[f"{cls}.__init__"]) != 1
            or init["method_kind"] != "method"
            or len(init["params"]) < 2
        ):
            return None
        kept = init["params"][1]
        stores = [
            value
            for sc in scopes
            if sc["method_kind"] and sc["qualname"].rpartition(".")[0] == cls and sc["params"]
            for target, value in sc["assigns"]
            if target == ("attr", ("name", sc["params"][0]), attr)
        ]
        if stores != [("name", kept)] or any(t == ("name", kept) for t, _ in init["assigns"]):
            return None
        self._forwarded[cls] = kept
        return cls

    def skipped_sites(self) -> set[SiteRef]:
        """Forwarding calls whose targets are reached directly from the callers of
        the decorated functions (see `_find_forwarders`): reachability skips them."""
        return {ref for ref, d in self.forwarding.items() if d not in self.opaque}

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

    def _returning(self, mod: str, sc: Scope) -> dict[int, str]:
        """Return statements (by index) that hand back a parameter unchanged, and
        which: ``return fn`` in a decorator, ``return value`` in a helper, and
        ``return wrap(fn)`` where ``wrap``, defined inside, hands back its argument
        (`_passed_back`). A call's result then
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
                    passed = self._passed_back(mod, sc, calls[r[1]])
                    if passed is not None and passed[0] == "name" and passed[1] in names:
                        found[n] = passed[1]
            self._returned[key] = found
        return found

    def _passed_back(self, mod: str, sc: Scope, site: CallSite) -> Expr | None:
        """The argument a call of a function defined inside ``sc`` hands back
        unchanged: ``wrap(fn)`` of a forwarding decorator is ``fn`` itself, and so is
        ``register(fn, event)`` of a helper whose every return is that parameter."""
        func, args = site["func"], site["args"]
        if site["kind"] != "call" or func[0] != "name":
            return None
        inner = f"{sc['qualname']}.{func[1].partition('@')[0]}"  # `wrap@1`: a nested def
        if inner in self._forwarders:
            return args[0] if args else None
        refs = self.scopes.get(inner)
        if not refs or len(refs) != 1 or refs[0][0] != mod:
            return None
        inner_sc = self.modules[mod]["scopes"][refs[0][1]]
        returning = self._returning(mod, inner_sc)
        kept = set(returning.values())
        if len(kept) != 1 or len(returning) != len(inner_sc["returns"]):
            return None
        param = kept.pop()
        if param in inner_sc["params"]:
            index = inner_sc["params"].index(param)
            if index < len(args) and not any(a[0] == "star" for a in args[: index + 1]):
                return args[index]
        return next((e for k, e in site["kwargs"] if k == param), None)

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
        forwarders: frozenset[Value],
        values: set[Value],
    ) -> set[Value]:
        """``decorator(f)`` (``@decorator`` or a plain call) is ``f`` itself where the
        decorator returns a forwarding wrapper (or is a forwarding class); calling
        ``f`` then enters the wrapper too (`_enter_wrappers`). Anything but functions
        and methods in that argument, or an argument that may come through ``*args``
        or ``**kwargs``, leaves the wrapper, and the forwarding call is then followed
        as it is (`opaque`)."""
        # A forwarding class: its instance (an object told apart by its creation,
        # `graph.contexts`, when the class is configured) wraps.
        instances = {v for v in values if v[0] == "i" and v[1] == decorator}
        if instances:
            wrapped = instances
            entered = set(forwarders)
        else:
            wrapped = entered = {v for v in values if v in forwarders}
        if not wrapped:
            return values
        args, kwargs = site["args"], site["kwargs"]
        param = self._forwarded[decorator]
        passed = [e for k, e in kwargs if k == param]
        if args and args[0][0] != "star":
            passed = [args[0]]
        elif args or any(k is None for k, _ in kwargs):
            self._make_opaque(decorator)  # through `*args` or `**kwargs`: anything
            return values
        if not passed:
            return values  # not passed: the wrapper forwards to the default
        own = self.eval(mod, site["scope"], passed[0])
        if not own:
            # Not known yet (a decorator below this one has not run): the wrapper
            # must not stay in the result once the function is known.
            return values - wrapped
        defined = {v for v in own if v[0] in ("f", "b")}
        # Anything else in the argument may be wrapped too, but the instance of a
        # forwarding class below this decorator (stacked) wraps a function of it.
        others = any(
            v[0] not in ("f", "b") and not (v[0] == "i" and v[1] in self._forwarders) for v in own
        )
        if others:
            self._make_opaque(decorator)
        if not defined:
            return values
        for v in sorted(defined):
            self._add_at(self.wrappers, v[1], entered)
        if others or instances:
            # A forwarding class's instance stays beside the function: its other
            # attributes (`task.delay()`) are the instance's, and calling it goes to
            # its `__call__`, whose forwarding call passes nothing of its callers.
            return values | defined
        return (values - wrapped) | defined

    def _make_opaque(self, decorator: str) -> None:
        """The wrappers of ``decorator`` may wrap anything: its forwarding calls are
        followed as they are from now on."""
        if decorator in self.opaque:
            return
        self.opaque.add(decorator)
        self._changed = True
        for unit in self._forwarding_units.get(decorator, ()):
            if unit not in self._queued:
                self._queued.add(unit)
                self._queue.append(unit)
