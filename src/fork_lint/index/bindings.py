"""Bindings: assignments to names, attributes and items, and the definitions
of functions and classes (their scopes, parameters and decorators)."""

from __future__ import annotations

import ast

from fork_lint.index.annotations import annotation_types
from fork_lint.index.expressions import Expressions
from fork_lint.index.facts import TRACKED_CONSTANTS, Expr
from fork_lint.index.syntax import dotted, key_slot, names_fork
from fork_lint.index.walker import Flow

__all__ = ["Bindings"]


class Bindings(Expressions):
    """What a binding statement records."""

    def _assign(
        self, target: ast.expr, value: Expr, value_node: ast.expr | None, *, scoped: bool = False
    ) -> None:
        st = self.cur
        sc = st.scope
        if st.fork_vars or isinstance(value_node, ast.Call):
            self._note_fork(target, value, value_node)
        if type(target) is ast.Name:
            name = target.id
            if scoped and st.flow is None:
                name = st.renames.get(name, name)
            dict_keys = None
            if isinstance(value_node, (ast.Call, ast.Dict)):
                dict_keys = self._dict_literal(value_node)
            if dict_keys is not None:  # read before the name is bound: `kw = dict(kw=kw)`
                st.dicts[name] = dict_keys
            if st.flow is None and st.top is None:
                sc["locals"].append(name)  # self._define, inlined: the most common case
            elif st.flow is None:
                name = self._define(name, scoped=scoped)
            else:
                name = self._define(name, scoped=scoped)
                if value[0] == "const" and value[1] not in TRACKED_CONSTANTS:
                    st.flow.consts.add(name)
            sc["assigns"].append((("name", name), value))
        elif isinstance(target, ast.Attribute):
            sc["assigns"].append((("attr", self.expr(target.value), target.attr), value))
        elif isinstance(target, ast.Subscript):
            base = self.expr(target.value)
            key = self.expr(target.slice)
            slot = "~" if isinstance(target.slice, ast.Slice) else key_slot(key)
            sc["assigns"].append((("item", base, slot), value))
            if (
                isinstance(target.value, ast.Name)
                and isinstance(target.slice, ast.Constant)
                and isinstance(target.slice.value, str)
                and target.value.id in st.dicts
            ):
                st.dicts[target.value.id][target.slice.value] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if self._unpack(target.elts, value, value_node):
                return
            star = next(
                (i for i, elt in enumerate(target.elts) if isinstance(elt, ast.Starred)),
                len(target.elts),
            )
            for i, elt in enumerate(target.elts):
                sub_node = None
                if i == 0 and isinstance(value_node, ast.Call):
                    sub_node = value_node  # `pid, fd = pty.fork()`
                # The i-th element up to a starred target, which gets a list of them.
                element = ("item", value, i) if i < star else ("item", value)
                if i == star:
                    element = self._coll((("item", value),), ("",))
                named = isinstance(elt, (ast.Name, ast.Attribute))
                self._assign(elt, element, sub_node if named else None, scoped=scoped)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, value, None, scoped=scoped)

    def _note_fork(self, target: ast.expr, value: Expr, value_node: ast.expr | None) -> None:
        """Track the names and attributes that hold a fork's result (`_fork_branch`
        tests them): bound to a fork call, or to the first element of one
        (``pid, fd = pty.fork()``); any other binding forgets them."""
        key = dotted(target) if isinstance(target, (ast.Name, ast.Attribute)) else ""
        if not key:
            return
        if value[0] == "item" and value[2:] == (0,):
            value = value[1]  # the first element of an unpacked call's result
        if (
            isinstance(value_node, ast.Call)
            and names_fork(value_node.func)
            and value[0] == "call"
            and isinstance(value[1], int)
        ):
            self.cur.fork_vars[key] = self.calls[value[1]]["order"]
        else:
            self.cur.fork_vars.pop(key, None)

    def _unpack(self, targets: list[ast.expr], value: Expr, value_node: ast.expr | None) -> bool:
        """``a, *b, c = x, y, z, w``: assign element by element; False if the shapes differ."""
        if value[0] != "coll" or not isinstance(value_node, (ast.Tuple, ast.List)):
            return False
        nodes = value_node.elts
        if any(isinstance(n, ast.Starred) for n in nodes):
            return False
        stars = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        values = list(value[1])
        if len(stars) > 1 or len(values) < len(targets) - len(stars):
            return False
        if not stars and len(values) != len(targets):
            return False
        star = stars[0] if stars else len(targets)
        tail = len(targets) - star - 1 if stars else 0
        for i in range(star):
            self._assign(targets[i], values[i], nodes[i])
        if stars:
            middle = values[star : len(values) - tail]
            self._assign(targets[star], self._coll(tuple(middle)), None)
            for j in range(1, tail + 1):
                self._assign(targets[-j], values[-j], nodes[-j])
        return True

    def _set_bind(self, value: Expr, target: ast.expr) -> None:
        if value[0] == "call":
            key = self._target_key(target)
            if key:
                self.facts["calls"][value[1]]["bind"] = key

    def _target_key(self, node: ast.expr) -> str:
        """The key (`CallSite.recv`) of a name or attribute chain just bound."""
        if type(node) is ast.Name:
            st = self.cur
            flow = st.flow
            if flow is not None:
                version = flow.env.get(node.id)
                if isinstance(version, str):
                    return version
            elif node.id in st.renames:
                return st.renames[node.id]
            elif st.top is not None:
                return st.top.env.get(node.id) or node.id
            return node.id
        if type(node) is ast.Attribute:
            base = self._target_key(node.value)
            return f"{base}.{node.attr}" if base else ""
        return ""

    # -- definitions ------------------------------------------------------
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        parent = self.cur
        decorators = [self.expr(d) for d in node.decorator_list] if node.decorator_list else []
        args = node.args
        defaults = self._defaults(args)
        qualname = f"{parent.scope['qualname']}.{node.name}"
        self._bind_defaults(qualname, defaults)
        self._annotate_signature(qualname, node)
        st = self._new_scope("function", node.name, qualname, node, parent.index)
        sc = st.scope
        positional = [*args.posonlyargs, *args.args]
        sc["params"] = [a.arg for a in positional]
        sc["posonly"] = len(args.posonlyargs)
        sc["vararg"] = args.vararg.arg if args.vararg else None
        sc["kwonly"] = [a.arg for a in args.kwonlyargs]
        sc["kwarg"] = args.kwarg.arg if args.kwarg else None
        sc["decorators"] = decorators
        if parent.scope["kind"] == "class":
            kind = "method"
            for d in node.decorator_list:
                dname = dotted(d)
                if dname in ("staticmethod", "classmethod"):
                    kind = dname
                elif dname in ("property", "functools.cached_property", "cached_property"):
                    kind = "property"
            sc["method_kind"] = kind
        sc["locals"].extend(sc["params"])
        sc["locals"].extend(sc["kwonly"])
        if sc["vararg"]:
            sc["locals"].append(sc["vararg"])
        if sc["kwarg"]:
            sc["locals"].append(sc["kwarg"])
        st.flow = Flow(sc["locals"])
        st.flow.hook = any(dotted(d).endswith("abstractmethod") for d in node.decorator_list)
        self.cur = st
        try:
            self._block(node.body)
        finally:
            self.cur = parent
        self._finish(st)
        self._bind_decorated(node.name, ("func", qualname), decorators, node)

    def _annotate_signature(
        self, qualname: str, node: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> None:
        """The annotations of the parameters and the return, evaluated where the
        function is defined (as Python evaluates them)."""
        args = node.args
        out = self.cur.scope["annotations"]
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None and arg.annotation is not None:
                types = annotation_types(arg.annotation, self._annotation_name)
                if types:
                    out.append((("param", qualname, arg.arg), types))
        if node.returns is not None:
            types = annotation_types(node.returns, self._annotation_name)
            if types:
                out.append((("return", qualname), types))

    def _annotate(self, node: ast.AnnAssign) -> None:
        """``x: T = v``, ``self.x: T``, and ``x: T`` in a module or class body."""
        target = node.target
        key: Expr
        if isinstance(target, ast.Name):
            if self.cur.flow is not None and node.value is None:
                return  # a function's local without a value: no version to annotate
            key = ("name", self._target_key(target))
        elif isinstance(target, ast.Attribute):
            base = annotation_types(target.value, self._annotation_name)
            if len(base) != 1:
                return
            key = ("attr", base[0], target.attr)
        else:
            return
        types = annotation_types(node.annotation, self._annotation_name)
        if types:
            self.cur.scope["annotations"].append((key, types))

    def _annotation_name(self, name: str) -> str:
        """The version of ``name`` an annotation here names, without reading it (a
        function's annotations are not evaluated where they are written)."""
        flow = self.cur.flow
        if flow is not None:
            version = flow.env.get(name)
            if isinstance(version, str):
                return version
        return name

    def _bind_decorated(
        self, name: str, value: Expr, decorators: list[Expr], node: ast.stmt
    ) -> None:
        # The name is bound to what the decorators return. The solver falls back
        # on the undecorated value when a decorator's result is not known.
        result = value
        for dec in reversed(decorators):
            site = self._site(dec, [result], [], node, "decorator", "")
            result = ("call", site)
        self.cur.scope["assigns"].append((("name", self._define(name)), result))

    def _class(self, node: ast.ClassDef) -> None:
        parent = self.cur
        decorators = [self.expr(d) for d in node.decorator_list]
        bases = [self.expr(b) for b in node.bases]
        for kw in node.keywords:
            self.expr(kw.value)
        qualname = f"{parent.scope['qualname']}.{node.name}"
        st = self._new_scope("class", node.name, qualname, node, parent.index)
        st.scope["bases"] = bases
        st.scope["decorators"] = decorators
        self.cur = st
        self.class_stack.append(qualname)
        try:
            self._block(node.body)
        finally:
            self.cur = parent
            self.class_stack.pop()
        self._finish(st)
        self._bind_decorated(node.name, ("class", qualname), decorators, node)
