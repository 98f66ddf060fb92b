"""Decorators: forwarding wrappers, what a decorator hands back for the definition
it decorates, and functions that return a parameter unchanged."""

from __future__ import annotations

from collections import defaultdict

from fork_lint.graph.evaluate import Evaluator
from fork_lint.graph.values import SiteRef, Value
from fork_lint.index.facts import CallSite, Scope

__all__ = ["Decorators"]

_DEFINED = frozenset(("c", "f", "b"))


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
                        # `wrap@1`: the version a nested `def wrap` binds
                        and f"{sc['qualname']}.{func[1].partition('@')[0]}" in self._forwarders
                    ):
                        found[n] = args[0][1]
            self._returned[key] = found
        return found

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
