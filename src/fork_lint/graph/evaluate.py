"""Evaluating fact expressions to value sets, and assigning value sets to targets:
names through the scope chain, attributes, containers, imports."""

from __future__ import annotations

from fork_lint.graph.containers import Containers, without_markers
from fork_lint.graph.values import STRIDE, SiteRef, Value
from fork_lint.index.facts import TRACKED_CONSTANTS, CallSite, Expr, slot_of

__all__ = ["Evaluator"]

_BUILTINS = frozenset(dir(__import__("builtins")))
_CONTAINER_METHODS = frozenset(
    (
        "append", "add", "appendleft", "insert", "setdefault", "extend", "update",
        "extendleft", "get", "pop", "popleft", "popitem", "__getitem__", "values", "keys",
        "items", "copy", "__iter__", "remove", "reverse", "sort", "rotate",
    )
)  # fmt: skip
# Methods after which a list's positions are not known.
_SHIFTING = frozenset(
    ("insert", "appendleft", "extendleft", "popleft", "remove", "reverse", "sort", "rotate")
)


class Evaluator(Containers):
    """What an expression of the facts may hold."""

    def _assign(self, mod: str, scope_index: int, target: Expr, values: set[Value]) -> None:
        tag = target[0]
        if not values and tag != "item":  # a key stored even with no known value
            return
        if tag == "name":
            key = self._var_key(mod, scope_index, target[1])
            if key is not None:
                self._add(self.vars[key], values)
                if self._ctx:
                    self._share(key[0], key[1], values)
        elif tag == "attr":
            for base in sorted(self.eval(mod, scope_index, target[1])):
                kind = base[0]
                if kind == "i" and len(base) > 2:  # an object told apart by its creation
                    self._add(self.fields[(f"{base[1]}@{base[2]}", target[2])], values)
                    self._add(self.fields[(f"{base[1]}@*", target[2])], values)
                elif kind in ("i", "s", "c"):
                    self._add(self.fields[(base[1], target[2])], values)
                elif kind == "m" and base[1] in self.modules:
                    self._add(self.vars[(base[1], target[2])], values)
        elif tag == "item":
            self._store_item(mod, scope_index, target, values)
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
            return self.results.get((mod, expr[1] + self._ctx * STRIDE), set())
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
            return {self._literal(mod, scope_index, expr)}
        if tag == "item":
            slot = expr[2] if len(expr) > 2 else None
            if (
                slot.__class__ is tuple
                and self._per_key
                and self.modules[mod]["scopes"][scope_index]["qualname"] in self._per_key
            ):
                # A key that holds the constant a call passed (`graph.keys`), or a
                # start method name the analysis follows (a default, say).
                keys = self.eval(mod, scope_index, slot)
                if keys and all(k[0] in ("key", "v") for k in keys):
                    tables = self.eval(mod, scope_index, expr[1])
                    found: set[Value] = set()
                    for k in keys:
                        found |= self._elements(tables, k[1] if k[0] == "key" else slot_of(k[1]))
                    return found
            return self._elements(self.eval(mod, scope_index, expr[1]), slot)
        if tag == "star":
            return self._elements(self.eval(mod, scope_index, expr[1]))
        if tag == "slice":
            return {self._slice(mod, scope_index, expr)}
        if tag == "super":
            return self._super(mod, scope_index, expr[1])
        if tag == "const" and expr[1] in TRACKED_CONSTANTS:
            # A start method name, followed through assignments, returns, class
            # attributes and defaults to the `get_context()` or `set_start_method()`
            # that reads it.
            return {("v", expr[1])}
        return set()

    def _container_call(self, ref: SiteRef, mod: str, site: CallSite, f: Value) -> None:
        """A method of a container: what it stores, where, and what it returns."""
        key, method = f[1], f[2]
        i = site["scope"]
        exprs = site["args"]
        slot = _slot(exprs[0]) if exprs and method not in ("append", "add", "extend") else ""
        if method in _SHIFTING or (method == "pop" and exprs and self.kinds.get(key) != "dict"):
            self._shift(key)
        if method in ("append", "add", "appendleft", "insert") and exprs:
            self._write(key, "*", self._stored(mod, i, exprs[-1]))
        elif method in ("extend", "extendleft") and exprs:
            self._write(key, "*", self._elements(self.eval(mod, i, exprs[0])))
        elif method == "setdefault" and exprs:
            stored = self._stored(mod, i, exprs[1]) if len(exprs) > 1 else {("const", "None")}
            self._write(key, slot or "*", stored)
        elif method == "update":
            self._update(key, mod, site)
        got: set[Value] = set()
        if method in ("get", "pop", "setdefault", "__getitem__"):
            got = self._read(key, slot)
            if method in ("get", "pop") and len(exprs) > 1:  # the default
                got = got | self.eval(mod, i, exprs[1])
        elif method == "popleft":
            got = self._read(key, "")
        elif method == "popitem":
            got = {self._pairs(ref, key, "")}
        elif method == "values":
            got = {self._site_container(ref, "list")}
            self._write(got_key(got), "*", self._read(key, ""))
        elif method == "keys":
            got = {self._site_container(ref, "list")}
            self._write(got_key(got), "*", self._got((key, "k")))
        elif method == "items":
            got = {self._site_container(ref, "list")}
            self._write(got_key(got), "*", {self._pairs(ref, key, ".p")})
        elif method == "copy":
            got = {self._site_container(ref, self.kinds.get(key, "list"))}
            self._copy(got_key(got), key)
        elif method == "__iter__":
            got = {("k", key)}
        self._add_at(self.results, ref, without_markers(got))

    def _pairs(self, ref: SiteRef, key: str, part: str) -> Value:
        """A ``(key, value)`` tuple of a dict, built at ``ref``."""
        pair = self._site_container(ref, "tuple", part or ".p")
        self._write(pair[1], "i:0", self._got((key, "k")))
        self._write(pair[1], "i:1", self._read(key, ""))
        return pair

    def _update(self, key: str, mod: str, site: CallSite) -> None:
        """``d.update(other, k=v, **more)``."""
        i = site["scope"]
        sources = site["args"][:1] + [e for k, e in site["kwargs"] if k is None]
        for e in sources:
            for v in self.eval(mod, i, e):
                if v[0] == "k":
                    self._copy(key, v[1])
                else:
                    self._write(key, "*", set())  # keys that are not known
        for name, e in site["kwargs"]:
            if name is not None:
                self._write(key, slot_of(name), self._stored(mod, i, e))

    def _name(self, mod: str, scope_index: int, name: str) -> set[Value]:
        key = self._var_key(mod, scope_index, name)
        if key is not None:
            values: set[Value] | None = self.vars.get(key)
            if values is None:
                values = set()
            # A local of a function with several contexts, read by a function
            # nested in it: what any of its contexts binds.
            if (
                key[0] in self.secondaries
                and key[0] != self.modules[mod]["scopes"][scope_index]["qualname"]
            ):
                shared = self._shared(key[0], key[1])
                if shared:
                    values = values | shared
            return values
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
        if name in self.namespace_packages:
            return {("m", name)} | self._ext(name, "")
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

    def _super(self, mod: str, scope_index: int, cls: str) -> set[Value]:
        """Methods found after `cls` in its MRO (none while the class has no known
        base), bound to the receiver of the method ``super()`` is called in: the
        object a constructor builds, not any instance of the class."""
        sc = self.modules[mod]["scopes"][scope_index]
        if sc["method_kind"] != "method" or not sc["params"] or sc["parent"] < 0:
            return {("sup", cls)}
        if self.modules[mod]["scopes"][sc["parent"]]["qualname"] != cls:
            return {("sup", cls)}
        selves = self._name(mod, scope_index, sc["params"][0])
        out = {("sup", cls, *v) for v in selves if v[0] in ("i", "s")}
        return out or {("sup", cls)}

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
            if sub in self.modules or sub in self.namespace_packages:
                out.add(("m", sub))
            if mod in self.namespace_packages:
                # A portion of the namespace that another distribution installs.
                return out | self._ext(sub, "")
            if not out:
                out = self._global(mod, attr, set()) - {("x", f"builtins.{attr}", "")}
            return out
        if kind == "i":
            if len(value) > 2:
                return self._object_attr(value[1], value[2], attr)
            return self._class_attr(value[1], attr, instance=True)
        if kind == "s":
            return self._cone_attr(value[1], attr)
        if kind == "c":
            return self._class_attr(value[1], attr, instance=False)
        if kind == "sup":
            found = self._memo_lookup((value[1], attr, "sup"))
            if len(value) == 2:
                return found
            # Bound to the receiver the method `super()` is called in runs on.
            return {("b", v[1], *value[2:]) if v[0] == "b" and v[2] == "s" else v for v in found}
        return set()


def _slot(expr: Expr) -> str:
    """The slot a method's key argument names; ``""`` when it is not a constant."""
    return slot_of(expr[1]) if expr[0] == "const" else ""


def got_key(values: set[Value]) -> str:
    """The key of the one container in ``values``."""
    return str(next(iter(values))[1])
