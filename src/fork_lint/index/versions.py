"""Flow-sensitive local names: each binding of a function's local is a version of
its own, and a read names the version that reaches it.

``t = Thread(); t.start()`` followed by ``for t in procs: t.start()`` binds
``t@1`` and ``t@2``: the first start reads ``t@1`` (a thread), the second
``t@2`` (a process), and the solver, which knows nothing of versions, keeps
them apart as two locals. Where control flow merges (after an ``if``, at a loop
head, in an ``except``), the reaching versions are merged by a version of their
own, ``t@3 = t@1 | t@2`` (an assignment from the union), made when something
reads it. A loop head merges the versions from before the loop with those its
body carries round (``continue`` and the end of the body): its operands are
known only at the end of the loop, so the loop's bound names are found first by
a scan of its statements (`bound_names`), and a name bound only inside an
expression there (``:=``) widens the version that reaches the loop instead.

Function scopes are versioned fully. Module and class names are read from
anywhere (other modules, methods): the unversioned name holds every binding. A
module-level name bound more than once, each time by a statement of the module's
own block (`top_names`), also gets a version per binding for the module code
that reads it (`TopVersions`): ``a = dec1; a = dec2`` then ``@a`` applies
``dec2``, and ``f = deco(f)`` passes only the function. A name a nested scope
reads (a closure, a lambda, a class body, a generator expression's lazy part)
may be read at any time: the unversioned name holds every version for it,
while the function's own reads stay flow-sensitive. A name a nested function
rebinds (``nonlocal``) flows back into every version. Parameters are version 0,
the unversioned name. Names declared ``global`` or ``nonlocal`` are not locals.

The same walk records whether the function can return at all (`Scope.leaves`,
`Scope.passes`): code after ``return``, ``raise``, ``break``, ``continue`` and
the known process exits is dead, and merges leave dead paths out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from fork_lint.index.facts import Expr
from fork_lint.index.walker import (
    UNLESS,
    Env,
    Flow,
    Loop,
    Reaching,
    ScopeState,
    State,
    TopVersions,
    Walker,
)

__all__ = [
    "Flow",
    "Loop",
    "Versions",
    "bound_names",
    "expr_key",
    "target_names",
    "top_names",
    "widen",
]


def bound_names(body: list[ast.stmt], out: set[str]) -> set[str]:
    """Names the statements bind, nested blocks included, nested scopes and
    expressions (``:=``, comprehension targets) not: a scan of statements only
    is a tenth of the cost of `ast.walk`."""
    for node in body:
        kind = type(node)
        if kind is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                target_names(target, out)
        elif kind is ast.AugAssign or kind is ast.AnnAssign:
            target_names(node.target, out)  # type: ignore[attr-defined]
        elif kind is ast.For or kind is ast.AsyncFor:
            target_names(node.target, out)  # type: ignore[attr-defined]
            bound_names(node.body, out)  # type: ignore[attr-defined]
            bound_names(node.orelse, out)  # type: ignore[attr-defined]
        elif kind is ast.If or kind is ast.While:
            bound_names(node.body, out)  # type: ignore[attr-defined]
            bound_names(node.orelse, out)  # type: ignore[attr-defined]
        elif kind is ast.With or kind is ast.AsyncWith:
            for item in node.items:  # type: ignore[attr-defined]
                if item.optional_vars is not None:
                    target_names(item.optional_vars, out)
            bound_names(node.body, out)  # type: ignore[attr-defined]
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            out.add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:  # type: ignore[attr-defined]
                out.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, ast.Match):
            for case in node.cases:
                for n in ast.walk(case.pattern):
                    if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name is not None:
                        out.add(n.name)
                    elif isinstance(n, ast.MatchMapping) and n.rest is not None:
                        out.add(n.rest)
                bound_names(case.body, out)
        elif hasattr(node, "handlers"):  # try, try*
            bound_names(node.body, out)  # type: ignore[attr-defined]
            for handler in node.handlers:
                if handler.name:
                    out.add(handler.name)
                bound_names(handler.body, out)
            bound_names(node.orelse, out)  # type: ignore[attr-defined]
            bound_names(node.finalbody, out)  # type: ignore[attr-defined]
    return out


def expr_key(expr: Expr) -> str:
    """The dotted spelling of a name or attribute chain (``t@2.proc``), "" for
    anything else: receivers and targets are matched by it (`CallSite.recv`)."""
    parts: list[str] = []
    while expr[0] == "attr":
        parts.append(expr[2])
        expr = expr[1]
    if expr[0] != "name":
        return ""
    parts.append(expr[1])
    return ".".join(reversed(parts))


def target_names(target: ast.expr, out: set[str]) -> None:
    """The names an assignment target binds."""
    kind = type(target)
    if kind is ast.Name:
        out.add(target.id)  # type: ignore[attr-defined]
    elif kind is ast.Tuple or kind is ast.List:
        for elt in target.elts:  # type: ignore[attr-defined]
            target_names(elt, out)
    elif kind is ast.Starred:
        target_names(target.value, out)  # type: ignore[attr-defined]


def widen(env: Env, name: str, more: Reaching) -> None:
    """Let ``more`` reach ``name`` too."""
    cur = env.get(name)
    if cur is None or cur == more:
        env[name] = more
        return
    merged = versions_of(cur) | versions_of(more)
    env[name] = merged if len(merged) > 1 else next(iter(merged))


# Past these, `passed` keeps a weaker condition (the point may be reached): the
# clauses of one function stay small whatever its size.
_MAX_CLAUSES = 16
_MAX_CLAUSE_CALLS = 24


def passed(flow: Flow, site: int) -> None:
    """The walk passes the call ``site`` in statement position: the point after it
    is not reached if the call never returns, or if it was not reached before
    (`UNLESS`)."""
    clauses = versions_of(flow.env[UNLESS])
    if len(clauses) > 1:
        clauses = minimal_clauses(clauses)
    if len(clauses) > _MAX_CLAUSES:
        flow.env[UNLESS] = ""
        return
    grown = frozenset(
        c if c.count(",") >= _MAX_CLAUSE_CALLS else f"{c},{site}" if c else str(site)
        for c in clauses
    )
    flow.env[UNLESS] = grown if len(grown) > 1 else next(iter(grown))


def minimal_clauses(clauses: frozenset[str] | set[str]) -> frozenset[str]:
    """Leave out each clause that holds another (`UNLESS`): ``a`` and ``a or b``
    is ``a``. Merges of ``if`` arms make many such."""
    sets = sorted(
        ((frozenset(c.split(",")) if c else frozenset(), c) for c in clauses),
        key=lambda item: (len(item[0]), item[1]),
    )
    kept: list[tuple[frozenset[str], str]] = []
    for calls, text in sets:
        if not any(other <= calls for other, _ in kept):
            kept.append((calls, text))
    return frozenset(text for _, text in kept)


def versions_of(reaching: Reaching) -> frozenset[str]:
    return frozenset((reaching,)) if isinstance(reaching, str) else reaching


def _union(names: Iterable[str]) -> Expr:
    ordered = sorted(names)
    if len(ordered) == 1:
        return ("name", ordered[0])
    return ("union", tuple(("name", n) for n in ordered))


class Versions(Walker):
    """Reads and bindings of names, and the merges of control flow."""

    # -- reads and bindings -----------------------------------------------
    def _read(self, st: ScopeState, flow: Flow, name: str) -> str:
        """The version of ``name`` a read here names."""
        reaching = flow.env.get(name)
        if flow.lazy and name not in flow.lazy_bound:
            st.free.add(name)  # read whenever the generator runs: every version
            return name
        if reaching is None:  # not a local, or not bound yet
            if st.reads is not None:
                st.reads.add(name)
            return name
        if isinstance(reaching, str):
            if reaching in flow.open:
                self._use(st, flow, reaching)
            return reaching
        version = self._phi(st, flow, name, reaching)
        flow.env[name] = version
        return version

    def _read_name(self, name: str) -> str:
        st = self.cur
        flow = st.flow
        if flow is None:
            if st.renames and name in st.renames:
                return st.renames[name]
            top = st.top
            if top is not None:
                return top.env.get(name) or name
            if st.reads is not None:
                st.reads.add(name)
            return name
        return self._read(st, flow, name)

    def _define(self, name: str, *, scoped: bool = False) -> str:
        """A binding of ``name`` here: its new version. ``scoped``: a comprehension's
        target, unbound again after the comprehension."""
        st = self.cur
        st.scope["locals"].append(name)
        flow = st.flow
        if flow is None:
            top = st.top
            if top is not None and name in top.env:
                return _top_define(st, top, name, scoped=scoped)
            return name
        if name in flow.declared:
            return name
        if flow.lazy and not scoped:
            # `:=` in a generator expression binds whenever the generator runs.
            st.shared.add(name)
            return name
        version = self._version(st, flow, name)
        flow.env[name] = version
        flow.defs.setdefault(name, []).append(version)
        if scoped:
            if flow.lazy:
                flow.lazy_bound.add(name)
            return version
        if flow.logs:
            flow.logs[-1].append((name, version))
        for loop in flow.loops:
            if name not in loop.heads:
                loop.late.add(name)
        return version

    def _version(self, st: ScopeState, flow: Flow, name: str) -> str:
        count = flow.counts.get(name, 0) + 1
        flow.counts[name] = count
        version = f"{name}@{count}"
        st.scope["locals"].append(version)
        return version

    def _phi(self, st: ScopeState, flow: Flow, name: str, reaching: frozenset[str]) -> str:
        """The version merging ``reaching``, made (and written) at its first read. The
        constants among them add nothing: ``t = None``, ``if c: t = Thread()``, then
        ``t.start()`` reads the thread's version itself (and matches its joins)."""
        if name not in st.shared:  # a nested function's rebinding reaches every version
            values = reaching - flow.consts
            if len(values) <= 1:
                single = min(values or reaching)
                if single in flow.open:
                    self._use(st, flow, single)
                return single
            reaching = values
        version = flow.phis.get(reaching)
        if version is None:
            version = self._version(st, flow, name)
            flow.phis[reaching] = version
            flow.ops[version] = reaching
            self._write(st, flow, version, reaching)
        return version

    def _write(self, st: ScopeState, flow: Flow, version: str, ops: frozenset[str]) -> None:
        if not ops:  # a loop head nothing reaches: the name is unbound there
            return
        st.scope["assigns"].append((("name", version), _union(ops)))
        for op in sorted(ops):  # a set's order changes from run to run; facts must not
            if op in flow.open:
                self._use(st, flow, op)

    def _use(self, st: ScopeState, flow: Flow, head: str) -> None:
        """A loop-head version is read: write it once its operands are known."""
        ops = flow.open[head]
        if ops is None:
            flow.wanted.add(head)
            return
        del flow.open[head]
        self._write(st, flow, head, ops)

    # -- merges -----------------------------------------------------------
    def _merge(self, flow: Flow, states: list[State]) -> None:
        """Continue from where ``states`` meet (each state's versions are its own)."""
        live = [env for env, dead in states if not dead]
        if not live:
            flow.env, flow.dead = states[-1][0], True
            return
        flow.dead = False
        first = live[0]
        if all(env == first for env in live[1:]):
            flow.env = first
            return
        merged: Env = dict(first)
        for env in live[1:]:
            for name, reaching in env.items():
                widen(merged, name, reaching)
        flow.env = merged

    def _log_into(self, flow: Flow, env: Env, log: list[tuple[str, str]]) -> None:
        for name, version in log:
            widen(env, name, version)

    # -- loops ------------------------------------------------------------
    def _loop_open(self, body: list[ast.stmt], extra: Iterable[str] = ()) -> Loop | None:
        """Enter a loop: the names its body binds get a version at the loop head."""
        st = self.cur
        flow = st.flow
        if flow is None:
            return None
        loop = Loop(flow.env, flow.dead)
        env = dict(flow.env)
        names = bound_names(body, set(extra))
        for name in sorted(names - flow.declared):
            head = self._version(st, flow, name)
            flow.open[head] = None
            loop.heads[name] = head
            env[name] = head
        flow.env = env
        flow.loops.append(loop)
        return loop

    def _loop_back(self, loop: Loop | None) -> None:
        """At the end of a loop's body: the loop head's operands are known now.
        Continue from the head (where the loop exits normally)."""
        st = self.cur
        flow = st.flow
        if loop is None or flow is None:
            return
        flow.loops.pop()
        back = [env for env, dead in [(flow.env, flow.dead), *loop.continues] if not dead]
        for name, head in loop.heads.items():
            ops: set[str] = set()
            for env in (loop.pre, *back):
                reaching = env.get(name)
                if reaching is not None:
                    ops |= versions_of(reaching)
            ops.discard(head)
            frozen = frozenset(ops)
            flow.ops[head] = frozen
            flow.open[head] = frozen
            if head in flow.wanted:
                flow.wanted.discard(head)
                self._use(st, flow, head)
        env = dict(loop.pre)
        env.update(loop.heads)
        for name in sorted(loop.late - loop.heads.keys()):
            self._widen_late(st, flow, loop, name, back)
        flow.env = env
        flow.dead = loop.dead

    def _widen_late(
        self, st: ScopeState, flow: Flow, loop: Loop, name: str, back: list[Env]
    ) -> None:
        """A binding the scan did not see (``:=``): reads in the loop before it named
        the version from before the loop, which takes the loop's versions too."""
        before = loop.pre.get(name)
        if before is None:
            target = name
        elif isinstance(before, str):
            target = before
        else:
            target = self._phi(st, flow, name, before)
        ops: set[str] = set()
        for env in back:
            reaching = env.get(name)
            if reaching is not None:
                ops |= versions_of(reaching)
        ops.discard(target)
        if ops:
            flow.consts.discard(target)
            self._write(st, flow, target, frozenset(ops))

    def _loop_close(self, loop: Loop | None) -> None:
        """After a loop's ``else``: the loop exits there and at its ``break``s."""
        flow = self.cur.flow
        if loop is None or flow is None:
            return
        self._merge(flow, [(flow.env, flow.dead), *loop.breaks])

    def _jump(self, *, is_break: bool) -> None:
        flow = self.cur.flow
        if flow is None or not flow.loops:
            return
        if not flow.dead:
            loop = flow.loops[-1]
            (loop.breaks if is_break else loop.continues).append((flow.env, False))
            flow.env = dict(flow.env)  # the dead code after it must not change the saved state
        flow.dead = True

    # -- closing a scope ----------------------------------------------------
    def _finish(self, st: ScopeState) -> None:
        parent = self.cur if self.cur is not st else None
        sc = st.scope
        flow = st.flow
        if flow is not None:
            self._close_flow(st, flow)
        elif st.top is not None:
            self._close_top(st, st.top)
        if parent is not None and st.reads is not None:  # a function encloses it
            # Methods do not see class-level names: what a class body reads goes up.
            own = set() if sc["kind"] == "class" else set(sc["locals"])
            parent.free |= st.reads - own
            parent.free |= st.free - own
            parent.shared |= (st.shared - own) | set(sc["nonlocals"])
        if sc["nonlocals"]:
            sc["locals"] = [n for n in sc["locals"] if n not in sc["nonlocals"]]
        super()._finish(st)

    def _close_top(self, st: ScopeState, top: TopVersions) -> None:
        """Functions and other modules read a module-level name at any time: it
        holds every version; a binding not in the module's own block (a function's
        ``global``, a comprehension) reaches every version."""
        for scope in self.facts["scopes"]:
            top.spoiled.update(scope["globals"])
        assigns = st.scope["assigns"]
        for name, count in sorted(top.counts.items()):
            versions = [f"{name}@{k}" for k in range(1, count + 1)]
            assigns.extend((("name", name), ("name", v)) for v in versions)
            if name in top.spoiled:
                assigns.extend((("name", v), ("name", name)) for v in versions)

    def _close_flow(self, st: ScopeState, flow: Flow) -> None:
        sc = st.scope
        assigns = sc["assigns"]
        # A nested scope may read (or rebind) the name at any time: the unversioned
        # name holds every version, and a rebinding reaches every version.
        for name in sorted(st.free & flow.defs.keys()):
            assigns.extend((("name", name), ("name", v)) for v in flow.defs[name])
        for name in sorted(st.shared & flow.defs.keys()):
            assigns.extend((("name", v), ("name", name)) for v in flow.defs[name])
        if sc["joins"] and flow.ops:
            sc["joins"] = self._join_leaves(flow, sc["joins"])
        if not flow.dead:  # the end of the body returns
            flow.passes |= versions_of(flow.env[UNLESS])
        leaves = flow.dead and not flow.returned
        if flow.generator or sc["is_async"] or flow.hook:
            leaves = False
            flow.passes.clear()
        sc["leaves"] = leaves
        if "" not in flow.passes:  # else a path returns without passing any call
            kept = minimal_clauses(flow.passes)
            sc["passes"] = sorted([int(i) for i in c.split(",")] for c in kept)

    def _join_leaves(self, flow: Flow, joins: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """A join through a merging version may join each version it merges:
        ``t = None``, ``if c: t = Thread(); t.start()``, then ``if t: t.join()``."""
        out = list(joins)
        for key, order in joins:
            base, dot, rest = key.partition(".")
            if base in flow.ops:
                out.extend((leaf + dot + rest, order) for leaf in _leaves(flow, base))
        return out


def _leaves(flow: Flow, version: str) -> list[str]:
    """The bound versions a merging version merges, through merges of merges."""
    out: set[str] = set()
    seen = {version}
    todo = [version]
    while todo:
        for op in flow.ops.get(todo.pop(), ()):
            if op in seen:
                continue
            seen.add(op)
            if op in flow.ops:
                todo.append(op)
            else:
                out.add(op)
    return sorted(out)


def _top_define(st: ScopeState, top: TopVersions, name: str, *, scoped: bool) -> str:
    """A binding of a module-level name `TopVersions` keeps: a version of its own
    when a statement of the module's block makes it."""
    if scoped or top.depth != 1 or name in top.spoiled:
        top.spoiled.add(name)
        return name
    count = top.counts.get(name, 0) + 1
    top.counts[name] = count
    version = f"{name}@{count}"
    st.scope["locals"].append(version)
    top.env[name] = version
    return version


def top_names(body: list[ast.stmt]) -> set[str]:
    """The module-level names `TopVersions` keeps: bound more than once, each time
    by an assignment, definition or import in the module's own block."""
    counts: dict[str, int] = {}
    others: set[str] = set()
    for node in body:
        kind = type(node)
        names: set[str] = set()
        if kind is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                target_names(target, names)
        elif kind is ast.AnnAssign:
            if node.value is not None and type(node.target) is ast.Name:  # type: ignore[attr-defined]
                names.add(node.target.id)  # type: ignore[attr-defined]
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            names.add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name != "*":
                    names.add(alias.asname or alias.name.partition(".")[0])
        elif kind not in (ast.Expr, ast.Pass, ast.Raise, ast.Assert):
            bound_names([node], others)  # in a branch or a loop: merges, not kept
            continue
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return {name for name, count in counts.items() if count > 1} - others
