"""Evaluating fact expressions to value sets, and assigning value sets to targets:
names through the scope chain, attributes, containers, imports."""

from __future__ import annotations

from fork_lint.graph.hierarchy import Hierarchy
from fork_lint.graph.values import SiteRef, Value
from fork_lint.index.facts import TRACKED_CONSTANTS, CallSite, Expr

__all__ = ["Evaluator"]

_BUILTINS = frozenset(dir(__import__("builtins")))
_CONTAINER_ADD = frozenset(("append", "add", "appendleft", "insert", "setdefault"))
_CONTAINER_MERGE = frozenset(("extend", "update", "extendleft"))
_CONTAINER_GET = frozenset(("get", "pop", "popleft", "popitem", "setdefault", "__getitem__"))
_CONTAINER_VIEW = frozenset(("values", "keys", "items", "copy", "__iter__"))
_CONTAINER_METHODS = _CONTAINER_ADD | _CONTAINER_MERGE | _CONTAINER_GET | _CONTAINER_VIEW


class Evaluator(Hierarchy):
    """What an expression of the facts may hold."""

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
        if tag == "const" and expr[1] in TRACKED_CONSTANTS:
            # A start method name, followed through assignments, returns, class
            # attributes and defaults to the `get_context()` or `set_start_method()`
            # that reads it.
            return {("v", expr[1])}
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
