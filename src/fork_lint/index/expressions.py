"""Expressions: their fact records, the call sites they make, lambdas and
comprehensions."""

from __future__ import annotations

import ast

from fork_lint.index.facts import TRACKED_CONSTANTS, UNKNOWN, Expr, slot_of
from fork_lint.index.syntax import (
    CANCEL_PREFIX,
    CONST_TYPES,
    JOIN_METHODS,
    MAX_EXPR_DEPTH,
    callee_text,
    key_slot,
    kw_false,
    own_super,
    sequence_slots,
    slice_bounds,
)
from fork_lint.index.versions import Versions, expr_key, target_names

__all__ = ["Expressions"]

_KINDS: dict[type, str] = {ast.Tuple: "tuple", ast.List: "list", ast.Set: "set"}


class Expressions(Versions):
    """What an expression is, as a fact expression."""

    def expr(self, node: ast.expr) -> Expr:
        # Most common kinds first, matched by exact type as in `_stmt`.
        if type(node) is ast.Name:
            st = self.cur
            flow = st.flow
            if flow is None:
                if st.renames and node.id in st.renames:
                    return ("name", st.renames[node.id])
                top = st.top
                if top is not None:
                    return ("name", top.env.get(node.id) or node.id)
                reads = st.reads
                if reads is not None:
                    reads.add(node.id)
                return ("name", node.id)
            return ("name", self._read(st, flow, node.id))
        if type(node) is ast.Attribute:
            owner = node.value
            if type(owner) is ast.Name:  # most are `name.attr`: spare the call
                return ("attr", ("name", self._read_name(owner.id)), node.attr)
            return ("attr", self._inner(owner), node.attr)
        if type(node) is ast.Constant:
            if isinstance(node.value, CONST_TYPES):
                return ("const", node.value)
            return UNKNOWN
        if type(node) is ast.Call:
            return self._call(node)
        if type(node) is ast.Compare:
            self.expr(node.left)
            for e in node.comparators:
                self.expr(e)
            return UNKNOWN
        if type(node) is ast.Subscript:
            base = self._inner(node.value)
            key = self.expr(node.slice)
            if type(node.slice) is ast.Slice:
                self.containers += 1
                return ("slice", base, self.containers, *slice_bounds(node.slice))
            return ("item", base, key_slot(key))
        if type(node) is ast.Tuple or type(node) is ast.List or type(node) is ast.Set:
            kind = _KINDS[type(node)]
            parts = tuple(self._inner(e) for e in node.elts)
            return self._coll(parts, sequence_slots(node.elts, kind), kind)
        if type(node) is ast.BoolOp:
            return ("union", tuple(self._inner(v) for v in node.values))
        if type(node) is ast.BinOp:
            return ("union", (self._inner(node.left), self._inner(node.right)))
        if type(node) is ast.UnaryOp:
            self.expr(node.operand)
            return UNKNOWN
        if type(node) is ast.Dict:
            values: list[Expr] = []
            slots: list[str] = []
            for k, v in zip(node.keys, node.values, strict=True):
                dict_key = self.expr(k) if k is not None else None
                values.append(self._inner(v))
                if dict_key is None:
                    slots.append("**")  # `{**other}`
                elif dict_key[0] == "const":
                    slots.append(slot_of(dict_key[1]))
                else:
                    slots.append("")
                    values.append(dict_key)  # a key that may be a function: `{f: 1}`
                    slots.append("k")
            return self._coll(tuple(values), tuple(slots), "dict")
        if type(node) is ast.JoinedStr:
            for v in node.values:
                self.expr(v)
            return UNKNOWN
        if type(node) is ast.Await:
            return self.expr(node.value)
        if type(node) is ast.Starred:
            return ("star", self._inner(node.value))
        if type(node) is ast.IfExp:
            self.expr(node.test)
            return ("union", (self._inner(node.body), self._inner(node.orelse)))
        if type(node) is ast.NamedExpr:
            value = self.expr(node.value)
            top = self.cur.top
            if top is not None and type(node.target) is ast.Name:
                top.spoiled.add(node.target.id)  # perhaps in a generator, run later
            self._assign(node.target, value, node.value)
            return value
        if type(node) is ast.Lambda:
            return self._lambda(node)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self._comprehension(node)
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            if self.cur.flow is not None:
                self.cur.flow.generator = True
            if node.value is not None:
                value = self.expr(node.value)
                self.cur.scope["returns"].append(
                    ("yield", ("item", value) if isinstance(node, ast.YieldFrom) else value)
                )
            return UNKNOWN
        for child in ast.iter_child_nodes(node):  # FormattedValue, Slice, later additions
            if isinstance(child, ast.expr):
                self.expr(child)
        return UNKNOWN

    def _inner(self, node: ast.expr) -> Expr:
        """An operand whose value becomes part of the enclosing expression's. Past
        `MAX_EXPR_DEPTH` of them its calls are still recorded, but its value is
        unknown, so no expression in the facts nests deeper than that."""
        self.depth += 1
        value = self.expr(node)
        self.depth -= 1
        return UNKNOWN if self.depth >= MAX_EXPR_DEPTH else value

    def _call(self, node: ast.Call) -> Expr:
        func_node = node.func
        if (
            isinstance(func_node, ast.Name)
            and func_node.id == "super"
            and self.class_stack
            and own_super(node, self.class_stack[-1])
        ):
            args = [self.expr(a) for a in node.args]
            self._site(("name", "super"), args, [], node, "call", "super")
            return ("super", self.class_stack[-1])
        func = self.expr(func_node)
        # A comprehension costs a frame even when empty, and many calls have no arguments.
        args = [self.expr(a) for a in node.args] if node.args else []
        kwargs: list[tuple[str | None, Expr]] = []
        via: list[str] = []
        for kw in node.keywords:
            value = self.expr(kw.value)
            kwargs.append((kw.arg, value))
            if kw.arg is None:
                keys = None
                if isinstance(kw.value, ast.Name):
                    keys = self.cur.dicts.get(kw.value.id)
                elif isinstance(kw.value, (ast.Dict, ast.Call)):
                    keys = self._dict_literal(kw.value)
                for key, v in (keys or {}).items():
                    kwargs.append((key, v))
                    via.append(key)
        # The receiver as read here: `t@2.start()` is not joined by `t@3.join()`.
        recv = expr_key(func[1]) if isinstance(func_node, ast.Attribute) else ""
        site = self._site(func, args, kwargs, node, "call", callee_text(func_node), recv, via)
        st = self.cur
        if (
            isinstance(func_node, ast.Attribute)
            and func_node.attr in JOIN_METHODS
            and recv
            and not (func_node.attr == "shutdown" and kw_false(node, "wait"))
        ):
            st.scope["joins"].append((recv, st.order - 1))
        elif isinstance(func_node, ast.Attribute) and func_node.attr == "cancel" and recv:
            st.scope["joins"].append((CANCEL_PREFIX + recv, st.order - 1))
        return ("call", site)

    def _lambda(self, node: ast.Lambda) -> Expr:
        parent = self.cur
        defaults = self._defaults(node.args)
        parent.lambdas += 1
        name = f"<lambda{parent.lambdas}>"
        qualname = f"{parent.scope['qualname']}.{name}"
        self._bind_defaults(qualname, defaults)
        st = self._new_scope("lambda", name, qualname, node, parent.index)
        args = node.args
        st.scope["params"] = [a.arg for a in (*args.posonlyargs, *args.args)]
        st.scope["vararg"] = args.vararg.arg if args.vararg else None
        st.scope["kwonly"] = [a.arg for a in args.kwonlyargs]
        st.scope["kwarg"] = args.kwarg.arg if args.kwarg else None
        st.scope["locals"] = [*st.scope["params"], *st.scope["kwonly"]]
        self.cur = st
        try:
            st.scope["returns"].append(self.expr(node.body))
        finally:
            self.cur = parent
        self._finish(st)
        return ("func", qualname)

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> Expr:
        # Comprehension variables are folded into the enclosing scope: cheaper,
        # and the only loss is shadowing, which does not create call edges. In a
        # function they are versions of their own, unbound again after it; a
        # generator runs its body later, past its first iterable, when a name it
        # reads from the function may have any of its versions. In a module or a
        # class they get names of their own: six comprehensions over six
        # registries, all with `ep`, would otherwise hand each one's items to all.
        st = self.cur
        flow = st.flow
        lazy = flow is not None and isinstance(node, ast.GeneratorExp)
        saved: dict[str, object] = {}
        bound: set[str] = set()
        for gen in node.generators:
            target_names(gen.target, bound)
        renames = st.renames
        if flow is not None:
            saved = {name: flow.env.get(name) for name in bound}
            saved_lazy = flow.lazy_bound
        elif bound:
            self.comprehensions += 1
            st.renames = {**renames, **{n: f"{n}\u27e8c{self.comprehensions}\u27e9" for n in bound}}

        def body() -> Expr:
            for i, gen in enumerate(node.generators):
                it = self._iterate(gen.iter, bool(gen.is_async))
                if lazy and i == 0:
                    assert flow is not None
                    flow.lazy += 1
                    flow.lazy_bound = set(flow.lazy_bound)
                self._assign(gen.target, it, None, scoped=True)
                for cond in gen.ifs:
                    self.expr(cond)
            if isinstance(node, ast.DictComp):
                key = self.expr(node.key)
                return self._coll((self.expr(node.value), key), ("", "k"), "dict")
            kind = "set" if isinstance(node, ast.SetComp) else "list"
            return self._coll((self.expr(node.elt),), ("",), kind)

        self._enter_loop()
        result = body()
        self.cur.loops.pop()
        st.renames = renames
        if flow is not None:
            for name, reaching in saved.items():
                if reaching is None:
                    flow.env.pop(name, None)
                else:
                    flow.env[name] = reaching  # type: ignore[assignment]
            if lazy:
                flow.lazy -= 1
                flow.lazy_bound = saved_lazy
        return result

    def _iterate(self, node: ast.expr, is_async: bool) -> Expr:
        """The items of iterating ``node``: its elements, or what ``__next__`` returns."""
        it = self.expr(node)
        method = "__aiter__" if is_async else "__iter__"
        site = self._site(it, [], [], node, "iter", f"{callee_text(node)}.{method}")
        return ("union", (("item", it), ("call", site)))

    def _defaults(self, args: ast.arguments) -> list[tuple[str, Expr]]:
        """Default values with their parameters, evaluated in the enclosing scope."""
        if not args.defaults and not args.kw_defaults:  # most functions
            return []
        positional = [*args.posonlyargs, *args.args]
        with_default = positional[len(positional) - len(args.defaults) :]
        out = [(p.arg, self.expr(d)) for p, d in zip(with_default, args.defaults, strict=True)]
        for p, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if default is not None:
                out.append((p.arg, self.expr(default)))
        return out

    def _bind_defaults(self, qualname: str, defaults: list[tuple[str, Expr]]) -> None:
        assigns = self.cur.scope["assigns"]
        for name, value in defaults:
            if value[0] == "const" and value[1] in TRACKED_CONSTANTS:
                # `def f(method="spawn")`: a constant the analysis follows.
                assigns.append((("param", qualname, name), value))
            elif value[0] not in ("const", "unknown"):
                assigns.append((("param", qualname, name), value))

    def _dict_literal(self, node: ast.expr) -> dict[str, Expr] | None:
        if isinstance(node, ast.Dict):
            out: dict[str, Expr] = {}
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    out[k.value] = self._peek(v)
            return out
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "dict"
            and not node.args
        ):
            return {kw.arg: self._peek(kw.value) for kw in node.keywords if kw.arg}
        return None

    def _peek(self, node: ast.expr) -> Expr:
        """A cheap, side-effect-free expression record (no new call sites)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, CONST_TYPES):
            return ("const", node.value)
        if isinstance(node, ast.Name):
            return ("name", self._read_name(node.id))
        if isinstance(node, ast.Attribute):
            return ("attr", self._peek(node.value), node.attr)
        return UNKNOWN
