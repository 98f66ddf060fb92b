"""Statements and control flow: blocks, the arms of `if` statements, loops, code
that runs only in a fork child, and the main guard."""

from __future__ import annotations

import ast

from fork_lint.index.bindings import Bindings
from fork_lint.index.syntax import (
    TRY_STAR,
    callee_text,
    is_main_guard,
    is_zero,
    names_fork,
    pattern_names,
    recv_key,
    terminates,
)

__all__ = ["Statements"]


class Statements(Bindings):
    """The walk over a module's statements."""

    def run(self, tree: ast.Module) -> None:
        st = self._new_scope("module", self.module.rpartition(".")[2], self.module, None, -1)
        self.cur = st
        self._block(tree.body)
        self._finish(st)

    def _block(self, body: list[ast.stmt]) -> None:
        st = self.cur
        saved_child = st.child
        depth = len(st.arms)  # `_if` may put the rest of the block in an arm
        for stmt in body:
            if self._stmt(stmt):  # the rest of the block runs in the child
                st.child = True
        st.child = saved_child
        del st.arms[depth:]

    def _arm(self, body: list[ast.stmt], arm: int | None) -> None:
        st = self.cur
        if arm is not None:
            st.arms.append(arm)
        self._block(body)
        if arm is not None:
            st.arms.pop()

    def _stmt(self, node: ast.stmt) -> bool:
        """Handle one statement; True when the rest of the block runs only in a fork child."""
        # The most common kinds first, matched by exact type: a parsed tree holds no
        # subclasses of the node classes, and a miss costs less than isinstance's.
        st = self.cur
        sc = st.scope
        if type(node) is ast.Assign:
            value = self.expr(node.value)
            for target in node.targets:
                self._assign(target, value, node.value)
            if value[0] == "call":
                self._set_bind(value, node.targets[0])
        elif type(node) is ast.Expr:
            self.expr(node.value)
        elif type(node) is ast.If:
            return self._if(node)
        elif type(node) is ast.FunctionDef or type(node) is ast.AsyncFunctionDef:
            self._function(node)
        elif type(node) is ast.Return:
            if node.value is not None:
                sc["returns"].append(self.expr(node.value))
        elif type(node) is ast.ImportFrom:
            base = self._resolve_from(node.module, node.level)
            for alias in node.names:
                if alias.name == "*":
                    self.facts["star_imports"].append(base)
                    self._site(("module", base), [], [], node, "import", base)
                    continue
                local = alias.asname or alias.name
                self._bind(local)
                value = ("from", base, alias.name)
                sc["assigns"].append((("name", local), value))
                self._site(value, [], [], node, "import", f"{base}.{alias.name}")
        elif type(node) is ast.AnnAssign:
            if node.value is not None:
                self._assign(node.target, self.expr(node.value), node.value)
            elif isinstance(node.target, ast.Name):
                self._bind(node.target.id)
        elif type(node) is ast.Raise:
            if node.exc is not None:
                exc = self.expr(node.exc)
                if isinstance(node.exc, (ast.Name, ast.Attribute)):
                    # `raise Cls` instantiates `Cls` (an instance is raised as it is).
                    self._site(exc, [], [], node.exc, "raise", callee_text(node.exc))
            if node.cause is not None:
                self.expr(node.cause)
        elif type(node) is ast.ClassDef:
            self._class(node)
        elif type(node) is ast.For or type(node) is ast.AsyncFor:
            it = self._iterate(node.iter, isinstance(node, ast.AsyncFor))
            self._enter_loop()
            self._assign(node.target, it, None)
            self._block(node.body)
            self.cur.loops.pop()
            self._block(node.orelse)
        elif type(node) is ast.Try or type(node) is TRY_STAR:
            self._block(node.body)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                if handler.type is not None:
                    self.expr(handler.type)
                if handler.name:
                    self._bind(handler.name)
                self._block(handler.body)
            self._block(node.orelse)  # type: ignore[attr-defined]
            self._block(node.finalbody)  # type: ignore[attr-defined]
        elif type(node) is ast.Import:
            for alias in node.names:
                if alias.asname:
                    self._bind(alias.asname)
                    sc["assigns"].append((("name", alias.asname), ("module", alias.name)))
                else:
                    top = alias.name.partition(".")[0]
                    self._bind(top)
                    sc["assigns"].append((("name", top), ("module", top)))
                self._site(("module", alias.name), [], [], node, "import", alias.name)
        elif type(node) is ast.With or type(node) is ast.AsyncWith:
            keys = []
            for item in node.items:
                ctx = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, ctx, None)
                    self._set_bind(ctx, item.optional_vars)
                    keys.append(recv_key(item.optional_vars))
                keys.append(recv_key(item.context_expr))
            self._block(node.body)
            for key in keys:
                if key:
                    sc["joins"].append((key, st.order))
            st.order += 1
        elif type(node) is ast.AugAssign:
            self._assign(node.target, self.expr(node.value), None)
        elif type(node) is ast.While:
            self._enter_loop()
            self.expr(node.test)
            self._block(node.body)
            self.cur.loops.pop()
            self._block(node.orelse)
        elif type(node) is ast.Global:
            sc["globals"].extend(node.names)
        elif type(node) is ast.Nonlocal:
            sc["nonlocals"].extend(node.names)
        elif type(node) is ast.Assert:
            self.expr(node.test)
            if node.msg is not None:
                self.expr(node.msg)
        elif type(node) is ast.Delete:
            for t in node.targets:
                self.expr(t)
        elif type(node) is ast.Match:
            self.expr(node.subject)
            for case in node.cases:
                for name in pattern_names(case.pattern):
                    self._bind(name)
                if case.guard is not None:
                    self.expr(case.guard)
                self._block(case.body)
        return False

    def _if(self, node: ast.If) -> bool:
        st = self.cur
        self.expr(node.test)
        # Outside a loop one run takes one arm: an arm's calls never follow the
        # other's. After an arm that always leaves, the rest of the block is in the other.
        arm = None
        if not st.loops:
            self.if_ids += 1
            arm = 2 * self.if_ids
        if st.scope["kind"] == "module" and is_main_guard(node.test):
            saved_guard, st.guard = st.guard, True
            self._arm(node.body, arm)
            st.guard = saved_guard
            self._arm(node.orelse, None if arm is None else arm + 1)
            self._rest_in_arm(node, arm)
            return False
        branch = self._fork_branch(node.test)
        saved = st.child
        if branch == "body":
            st.child = True
        self._arm(node.body, arm)
        st.child = saved
        if branch == "else":
            st.child = True
        self._arm(node.orelse, None if arm is None else arm + 1)
        st.child = saved
        self._rest_in_arm(node, arm)
        # `if pid: return` leaves only the child to run the rest of the block.
        if branch == "else" and terminates(node.body) and not node.orelse:
            return True
        return branch == "body" and terminates(node.orelse) and bool(node.orelse)

    def _rest_in_arm(self, node: ast.If, arm: int | None) -> None:
        if arm is None:
            return
        body_leaves, else_leaves = terminates(node.body), terminates(node.orelse)
        if body_leaves and not else_leaves:
            self.cur.arms.append(arm + 1)  # popped at the end of the block (`_block`)
        elif else_leaves and not body_leaves:
            self.cur.arms.append(arm)

    def _fork_branch(self, test: ast.expr) -> str | None:
        """Which branch of ``if <test>`` runs in the child of a fork, if any."""
        negate = False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negate = test.operand, True
        if self._is_fork_value(test):
            return "body" if negate else "else"
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, right = test.left, test.comparators[0]
            if is_zero(left):
                left, right = right, left
            if self._is_fork_value(left) and is_zero(right):
                op = test.ops[0]
                child_in_body = isinstance(op, (ast.Eq, ast.Is))
                if isinstance(op, (ast.NotEq, ast.Gt, ast.IsNot)):
                    child_in_body = False
                elif not child_in_body:
                    return None
                if negate:
                    child_in_body = not child_in_body
                return "body" if child_in_body else "else"
        return None

    def _is_fork_value(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.cur.fork_vars
        if isinstance(node, ast.Call):
            return names_fork(node.func)
        return False
