"""Statements and control flow: blocks, the arms of `if` statements, loops, code
that runs only in a fork child, and the main guard."""

from __future__ import annotations

import ast

from fork_lint.index.annotations import is_type_checking
from fork_lint.index.bindings import Bindings
from fork_lint.index.facts import Expr
from fork_lint.index.syntax import (
    TRY_STAR,
    callee_text,
    dotted,
    ends_process,
    is_exit,
    is_main_guard,
    is_zero,
    names_fork,
    pattern_names,
    terminates,
)
from fork_lint.index.versions import expr_key, passed, target_names, top_names, versions_of, widen
from fork_lint.index.walker import UNLESS, TopVersions

__all__ = ["Statements"]


class Statements(Bindings):
    """The walk over a module's statements."""

    def run(self, tree: ast.Module) -> None:
        st = self._new_scope("module", self.module.rpartition(".")[2], self.module, None, -1)
        names = top_names(tree.body)
        if names:
            st.top = TopVersions(names)
        self.cur = st
        self._block(tree.body)
        self._finish(st)

    def _block(self, body: list[ast.stmt]) -> None:
        st = self.cur
        flow = st.flow
        if flow is not None:
            flow.nest += 1
        top = st.top
        if top is not None:
            top.depth += 1
        saved_child = st.child, st.child_exits, st.fork_at
        depth = len(st.arms)  # `_if` may put the rest of the block in an arm
        tails: list[int] | None = None
        for i, stmt in enumerate(body):
            fork_at = self._stmt(stmt)
            if fork_at is not None:  # the rest of the block runs in the child
                self._enter_child(fork_at, body[i + 1 :])
            if self.tail is not None:
                if tails is None:
                    tails = []
                tails.append(self.tail)
                self.tail = None
        if tails is not None:
            end = len(self.calls)
            followed = tuple(t for t in tails if (~t if t < 0 else t) + 1 < end)
            if followed:
                st.scope["tails"].append((end, *followed))
        st.child, st.child_exits, st.fork_at = saved_child
        del st.arms[depth:]
        if flow is not None:
            flow.nest -= 1
        if top is not None:
            top.depth -= 1

    def _arm(self, body: list[ast.stmt], arm: int | None, *, typing_only: bool = False) -> None:
        st = self.cur
        if arm is not None:
            st.arms.append(arm)
        saved, self.typing_only = self.typing_only, self.typing_only or typing_only
        self._block(body)
        self.typing_only = saved
        if arm is not None:
            st.arms.pop()

    def _enter_child(self, fork_at: int, region: list[ast.stmt]) -> None:
        """From here on, the code runs in the child of the fork call at ``fork_at``
        (an order); ``region``: the statements that only the child runs."""
        st = self.cur
        st.child = True
        st.fork_at = fork_at
        # Inside a child that ends the process, an inner child that does not still
        # ends with the outer one.
        st.child_exits = st.child_exits or ends_process(region)

    def _stmt(self, node: ast.stmt) -> int | None:
        """Handle one statement; when the rest of the block runs only in a fork child,
        the order of the fork call."""
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
            value = self.expr(node.value)
            if value[0] == "call":
                self._statement_call(node.value, value[1])
        elif type(node) is ast.If:
            return self._if(node)
        elif type(node) is ast.FunctionDef or type(node) is ast.AsyncFunctionDef:
            self._function(node)
        elif type(node) is ast.Return:
            self._return(node)
        elif type(node) is ast.ImportFrom:
            base = self._resolve_from(node.module, node.level)
            for alias in node.names:
                if alias.name == "*":
                    self.facts["star_imports"].append(base)
                    if not self.typing_only:
                        self._site(("module", base), [], [], node, "import", base)
                    continue
                local = self._define(alias.asname or alias.name)
                value = ("from", base, alias.name)
                sc["assigns"].append((("name", local), value))
                if not self.typing_only:  # a type checker's import runs no module
                    self._site(value, [], [], node, "import", f"{base}.{alias.name}")
        elif type(node) is ast.AnnAssign:
            if node.value is not None:
                self._assign(node.target, self.expr(node.value), node.value)
            elif isinstance(node.target, ast.Name):
                self._bind(node.target.id)
            self._annotate(node)
        elif type(node) is ast.Raise:
            if node.exc is not None:
                exc = self.expr(node.exc)
                if isinstance(node.exc, (ast.Name, ast.Attribute)):
                    # `raise Cls` instantiates `Cls` (an instance is raised as it is).
                    self._site(exc, [], [], node.exc, "raise", callee_text(node.exc))
            if node.cause is not None:
                self.expr(node.cause)
            if st.flow is not None:
                st.flow.dead = True
                if node.exc is not None and _not_implemented(node.exc):
                    st.flow.hook = True
        elif type(node) is ast.ClassDef:
            self._class(node)
        elif type(node) is ast.For or type(node) is ast.AsyncFor:
            it = self._iterate(node.iter, isinstance(node, ast.AsyncFor))
            self._enter_loop()
            bound: set[str] = set()
            target_names(node.target, bound)
            loop = self._loop_open(node.body, bound)
            self._assign(node.target, it, None)
            self._block(node.body)
            self.cur.loops.pop()
            self._loop_back(loop)
            self._block(node.orelse)
            self._loop_close(loop)
        elif type(node) is ast.Try or type(node) is TRY_STAR:
            self._try(node)  # type: ignore[arg-type]
        elif type(node) is ast.Import:
            for alias in node.names:
                if alias.asname:
                    local = self._define(alias.asname)
                    sc["assigns"].append((("name", local), ("module", alias.name)))
                else:
                    top = alias.name.partition(".")[0]
                    local = self._define(top)
                    sc["assigns"].append((("name", local), ("module", top)))
                if not self.typing_only:
                    self._site(("module", alias.name), [], [], node, "import", alias.name)
        elif type(node) is ast.With or type(node) is ast.AsyncWith:
            self._with(node)
        elif type(node) is ast.AugAssign:
            target = node.target
            value = self.expr(node.value)
            if type(target) is ast.Name and st.flow is not None:
                # `x += y` keeps the object (a list) or makes a new one from both.
                value = ("union", (("name", self._read(st, st.flow, target.id)), value))
            self._assign(target, value, None)
        elif type(node) is ast.While:
            self._enter_loop()
            loop = self._loop_open(node.body, _walrus_names(node.test))
            self.expr(node.test)
            self._block(node.body)
            self.cur.loops.pop()
            self._loop_back(loop)
            if loop is not None and _always_true(node.test):
                st.flow.dead = True  # type: ignore[union-attr]  # left only by `break`
            self._block(node.orelse)
            self._loop_close(loop)
        elif type(node) is ast.Global or type(node) is ast.Nonlocal:
            sc["globals" if type(node) is ast.Global else "nonlocals"].extend(node.names)
            if st.flow is not None:
                st.flow.declared.update(node.names)
        elif type(node) is ast.Assert:
            self.expr(node.test)
            if node.msg is not None:
                self.expr(node.msg)
        elif type(node) is ast.Delete:
            for t in node.targets:
                if type(t) is ast.Name and st.flow is not None:
                    st.flow.env.pop(t.id, None)  # unbound from here on
                else:
                    self.expr(t)
        elif type(node) is ast.Break or type(node) is ast.Continue:
            self._jump(is_break=type(node) is ast.Break)
        elif type(node) is ast.Match:
            self._match(node)
        return None

    def _first_use(self, node: ast.If) -> bool:
        """Is ``node`` ``if X is None:`` or ``if not X:`` whose body binds the
        module-level name ``X`` (`CallSite.once`)?"""
        test = node.test
        if (
            type(test) is ast.Compare
            and len(test.ops) == 1
            and type(test.ops[0]) is ast.Is
            and type(test.comparators[0]) is ast.Constant
            and test.comparators[0].value is None
        ):
            subject = test.left
        elif type(test) is ast.UnaryOp and type(test.op) is ast.Not:
            subject = test.operand
        else:
            return False
        if type(subject) is not ast.Name:
            return False
        name = subject.id
        sc = self.cur.scope
        if sc["kind"] != "module" and name not in sc["globals"]:
            return False
        return any(
            type(stmt) in (ast.Assign, ast.AnnAssign)
            and any(
                type(t) is ast.Name and t.id == name
                for t in (stmt.targets if type(stmt) is ast.Assign else [stmt.target])  # type: ignore[attr-defined]
            )
            for stmt in node.body
        )

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        """Each item's ``__enter__`` is called before the body, its ``__exit__``
        after it, in the reverse order: call sites of their own, so that what a
        context manager of the project starts or forks there is reached, in order,
        from the function with the ``with``."""
        st = self.cur
        sc = st.scope
        asynchronous = type(node) is ast.AsyncWith
        enter, leave = ("__aenter__", "__aexit__") if asynchronous else ("__enter__", "__exit__")
        keys = []
        managers: list[tuple[Expr, ast.expr]] = []
        for item in node.items:
            ctx = self.expr(item.context_expr)
            text = callee_text(item.context_expr)
            self._site(("attr", ctx, enter), [], [], item.context_expr, "call", f"{text}.{enter}")
            managers.append((ctx, item.context_expr))
            if item.optional_vars is not None:
                # Most `__enter__`s return the manager itself (a pool, a server).
                self._assign(item.optional_vars, ctx, None)
                self._set_bind(ctx, item.optional_vars)
                keys.append(self._target_key(item.optional_vars))
            keys.append(expr_key(ctx))
        flow = st.flow
        live = flow is not None and not flow.dead
        before = flow.env[UNLESS] if flow is not None else ""
        opened = self._open_catch()
        self._block(node.body)
        self._close_catch(opened)
        if live:
            # The context manager may swallow what the body raised, or what a call
            # that never returns raised.
            assert flow is not None
            flow.dead = False
            flow.env[UNLESS] = before
        for key in keys:
            if key:
                sc["joins"].append((key, st.order))
        for ctx, expr in reversed(managers):
            text = callee_text(expr)
            self._site(("attr", ctx, leave), [], [], expr, "call", f"{text}.{leave}")

    def _statement_call(self, node: ast.expr, site: int) -> None:
        """A call whose result is dropped: if it never returns, nothing after it in the
        block runs (`Scope.tails`); in a function's own body, every later return
        passes it (`Scope.passes`)."""
        exits = is_exit(node)
        self.tail = ~site if exits else site
        flow = self.cur.flow
        if flow is None or flow.dead:
            return
        if exits:
            flow.dead = True
        else:
            passed(flow, site)

    def _return(self, node: ast.Return) -> None:
        st = self.cur
        flow = st.flow
        if node.value is not None:
            value = self.expr(node.value)
            st.scope["returns"].append(value)
            if value[0] == "call" and flow is not None and not flow.dead:
                passed(flow, value[1])  # `return fail()`
        if flow is not None:
            if not flow.dead:
                flow.passes |= versions_of(flow.env[UNLESS])
            flow.returned = flow.returned or not flow.dead
            flow.dead = True

    def _try(self, node: ast.Try) -> None:
        """An exception may leave the body after any of its bindings: a handler sees
        the versions from before the body and all the body binds; ``finally`` sees
        those of the handlers and ``else`` too."""
        flow = self.cur.flow
        if flow is None:
            opened = self._open_catch()
            self._block(node.body)
            self._close_catch(opened)
            for handler in node.handlers:
                if handler.type is not None:
                    self.expr(handler.type)
                if handler.name:
                    self._bind(handler.name)
                self._block(handler.body)
            self._block(node.orelse)
            self._block(node.finalbody)
            return
        pre, pre_dead = flow.env, flow.dead
        flow.env = dict(pre)
        flow.logs.append([])
        opened = self._open_catch()
        self._block(node.body)
        self._close_catch(opened)
        log = flow.logs.pop()
        body_state = (flow.env, flow.dead)
        entry = dict(pre)
        self._log_into(flow, entry, log)
        flow.logs.append(log)  # `finally` sees the body's bindings and the rest's
        ends = []
        for handler in node.handlers:
            flow.env, flow.dead = dict(entry), pre_dead
            if handler.type is not None:
                self.expr(handler.type)
            if handler.name:
                self._define(handler.name)
            self._block(handler.body)
            if handler.name:
                flow.env.pop(handler.name, None)  # deleted when the handler ends
            ends.append((flow.env, flow.dead))
        flow.env, flow.dead = body_state
        self._block(node.orelse)
        ends.insert(0, (flow.env, flow.dead))
        log = flow.logs.pop()
        if flow.logs:
            flow.logs[-1].extend(log)
        self._merge(flow, ends)
        if node.finalbody:
            normal_dead = flow.dead
            self._log_into(flow, flow.env, log)
            for name, reaching in pre.items():
                widen(flow.env, name, reaching)
            flow.dead = pre_dead
            self._block(node.finalbody)
            flow.dead = flow.dead or normal_dead

    def _match(self, node: ast.Match) -> None:
        self.expr(node.subject)
        flow = self.cur.flow
        pre = None if flow is None else (flow.env, flow.dead)
        ends = [] if pre is None else [pre]  # no case may match
        for case in node.cases:
            if flow is not None and pre is not None:
                flow.env, flow.dead = dict(pre[0]), pre[1]
            for name in pattern_names(case.pattern):
                self._define(name)
            if case.guard is not None:
                self.expr(case.guard)
            self._block(case.body)
            if flow is not None:
                ends.append((flow.env, flow.dead))
        if flow is not None:
            self._merge(flow, ends)

    def _if(self, node: ast.If) -> int | None:
        st = self.cur
        first = len(self.calls)
        self.expr(node.test)
        flow = st.flow
        if flow is not None:
            pre = (flow.env, flow.dead)
            flow.env = dict(pre[0])
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
            return None
        branch, fork_at = self._fork_branch(node.test, first)
        checking = _type_checking_arm(node.test)
        saved = st.child, st.child_exits, st.fork_at
        if branch == "body":
            self._enter_child(fork_at, node.body)
        saved_once = st.once
        st.once = st.once or self._first_use(node)
        self._arm(node.body, arm, typing_only=checking == "body")
        st.once = saved_once
        st.child, st.child_exits, st.fork_at = saved
        if flow is not None:
            body = (flow.env, flow.dead)
            flow.env, flow.dead = pre
        if branch == "else":
            self._enter_child(fork_at, node.orelse)
        self._arm(node.orelse, None if arm is None else arm + 1, typing_only=checking == "else")
        st.child, st.child_exits, st.fork_at = saved
        if flow is not None:
            self._merge(flow, [body, (flow.env, flow.dead)])
        self._rest_in_arm(node, arm)
        # `if pid: return` leaves only the child to run the rest of the block.
        if branch == "else" and terminates(node.body) and not node.orelse:
            return fork_at
        if branch == "body" and terminates(node.orelse) and bool(node.orelse):
            return fork_at
        return None

    def _rest_in_arm(self, node: ast.If, arm: int | None) -> None:
        if arm is None:
            return
        body_leaves, else_leaves = terminates(node.body), terminates(node.orelse)
        if body_leaves and not else_leaves:
            self.cur.arms.append(arm + 1)  # popped at the end of the block (`_block`)
        elif else_leaves and not body_leaves:
            self.cur.arms.append(arm)

    def _fork_branch(self, test: ast.expr, first: int) -> tuple[str | None, int]:
        """Which branch of ``if <test>`` runs in the child of a fork, if any, and the
        order of that fork call; ``first``: the first site the test made."""
        negate = False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negate = test.operand, True
        fork_at = self._fork_value(test, first)
        if fork_at >= 0:
            return ("body" if negate else "else"), fork_at
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, right = test.left, test.comparators[0]
            if is_zero(left):
                left, right = right, left
            fork_at = self._fork_value(left, first)
            if fork_at >= 0 and is_zero(right):
                op = test.ops[0]
                child_in_body = isinstance(op, (ast.Eq, ast.Is))
                if isinstance(op, (ast.NotEq, ast.Gt, ast.IsNot)):
                    child_in_body = False
                elif not child_in_body:
                    return None, -1
                if negate:
                    child_in_body = not child_in_body
                return ("body" if child_in_body else "else"), fork_at
        return None, -1

    def _fork_value(self, node: ast.expr, first: int) -> int:
        """The order of the fork call whose result ``node`` is (-1: none): a name or
        attribute bound to one (`Bindings._note_fork`), ``pid := os.fork()``, or the
        call itself, made by the test (its sites from ``first`` on)."""
        if isinstance(node, ast.NamedExpr):
            node = node.target
        if isinstance(node, (ast.Name, ast.Attribute)):
            key = dotted(node)
            return self.cur.fork_vars.get(key, -1) if key else -1
        if isinstance(node, ast.Call) and names_fork(node.func):
            span = self._span(node)
            for site in self.calls[first:]:
                if site["span"] == span and site["kind"] == "call":
                    return site["order"]
        return -1


def _walrus_names(test: ast.expr) -> set[str]:
    """Names a loop's test binds with ``:=`` (``while (line := f.readline()):``)."""
    return {n.target.id for n in ast.walk(test) if isinstance(n, ast.NamedExpr)}


def _always_true(test: ast.expr) -> bool:
    """``while True:``, ``while 1:``: the loop is left only by ``break``."""
    return isinstance(test, ast.Constant) and bool(test.value)


def _not_implemented(exc: ast.expr) -> bool:
    """``raise NotImplementedError(...)``: a hook for subclasses to override, maybe
    outside the project, not a function that never returns."""
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def _type_checking_arm(test: ast.expr) -> str | None:
    """The arm of ``if TYPE_CHECKING:`` (or ``if not TYPE_CHECKING:``) that only type
    checkers run: its imports bind names for annotations, but import nothing."""
    if is_type_checking(test):
        return "body"
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return "else" if is_type_checking(test.operand) else None
    return None
