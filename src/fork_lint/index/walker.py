"""The extractor's state while it walks a module: the scope being walked, the
facts it appends to, call sites and source positions.

The walk is built in layers, each a module: this one, `expressions`, `bindings`
(assignments and definitions) and `flow` (statements and control flow).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from fork_lint.index.facts import CallSite, Expr, ModuleFacts, Scope

__all__ = [
    "SCOPE_LISTS",
    "UNLESS",
    "Env",
    "Flow",
    "Loop",
    "Reaching",
    "ScopeState",
    "State",
    "TopVersions",
    "Walker",
]

SCOPE_LISTS = (
    "params", "kwonly", "decorators", "bases", "locals", "globals", "nonlocals", "assigns",
    "returns", "joins", "passes", "tails", "tries", "annotations",
)  # fmt: skip


# What reaches a name: one version, or several not yet merged by one of their own.
Reaching = str | frozenset[str]
Env = dict[str, Reaching]
# The key of `Env` (no name can be empty) under which a function's walk keeps when
# the point it is at is not reached: clauses over the calls in statement position
# passed on the way, each a comma-separated string of call ids; the point is not
# reached if each clause names a call that never returns. One empty clause: it is
# reached. Kept in the versions' `Env` so that every branch, merge and loop of the
# walk carries it: a merge of two states is the union of their clauses.
UNLESS = ""
State = tuple[Env, bool]  # (versions, dead)


class Loop:
    """A loop being walked: its head's versions and the states that reach them."""

    __slots__ = ("breaks", "continues", "dead", "heads", "late", "pre")

    def __init__(self, pre: Env, dead: bool) -> None:
        self.pre = pre  # the versions on entry
        self.dead = dead
        self.heads: dict[str, str] = {}  # name -> its version at the loop head
        self.breaks: list[State] = []
        self.continues: list[State] = []
        self.late: set[str] = set()  # bound in the loop, but not found by the scan


class Flow:
    """The versions of one function's locals while its body is walked
    (`fork_lint.index.versions`)."""

    __slots__ = (
        "consts", "counts", "dead", "declared", "defs", "env", "generator", "hook", "lazy",
        "lazy_bound", "logs", "loops", "nest", "open", "ops", "passes", "phis", "returned",
        "wanted",
    )  # fmt: skip

    def __init__(self, params: Iterable[str]) -> None:
        self.env: Env = {p: p for p in params}
        self.env[UNLESS] = ""
        self.dead = False  # no path reaches the statement being walked
        self.counts: dict[str, int] = {}
        self.defs: dict[str, list[str]] = {}  # name -> the versions its bindings made
        # Versions bound to a constant (`t = None`): they hold no value a merge needs.
        self.consts: set[str] = set()
        self.phis: dict[frozenset[str], str] = {}  # merged versions -> their version
        self.ops: dict[str, frozenset[str]] = {}  # a merging version -> what it merges
        # Loop-head versions not yet written: their operands, None while the loop is open.
        self.open: dict[str, frozenset[str] | None] = {}
        self.wanted: set[str] = set()  # loop-head versions read while the loop is open
        self.loops: list[Loop] = []
        self.logs: list[list[tuple[str, str]]] = []  # bindings inside `try` bodies
        self.declared: set[str] = set()  # global and nonlocal
        self.returned = False  # a reachable `return` (or the end of the body) was seen
        self.generator = False
        self.hook = False  # raises NotImplementedError, or is an abstract method
        self.nest = 0  # blocks the walk is in (1: the function's own body)
        self.lazy = 0  # generator expressions the walk is in (past their first `in`)
        self.lazy_bound: set[str] = set()  # their own targets
        # The clauses (`UNLESS`) of every point the function returns from.
        self.passes: set[str] = set()


class TopVersions:
    """The versions of module-level names bound more than once, each time by a
    statement of the module's own block (`fork_lint.index.versions`): module code
    reads the binding before it (``a = dec1; a = dec2``, then ``@a`` is ``dec2``);
    functions and other modules read the name itself, which holds every version."""

    __slots__ = ("counts", "depth", "env", "spoiled")

    def __init__(self, names: Iterable[str]) -> None:
        self.env: dict[str, str] = dict.fromkeys(names, "")  # name -> its version now
        self.counts: dict[str, int] = {}
        self.depth = 0  # blocks the walk is in (1: the module's own)
        # Bound otherwise too (a comprehension, `:=`, a function's `global`): every
        # version holds what the name holds.
        self.spoiled: set[str] = set()


class ScopeState:
    __slots__ = (
        "arms", "catch", "child", "child_exits", "dicts", "flow", "fork_at", "fork_vars", "free",
        "guard", "index", "lambdas", "loops", "once", "order", "reads", "renames", "scope",
        "shared", "top",
    )  # fmt: skip

    def __init__(self, index: int, scope: Scope, *, enclosed: bool = False) -> None:
        self.index = index
        self.scope = scope
        self.order = 0
        self.loops: list[int] = []
        self.arms: list[int] = []  # see `CallSite.arms`
        self.catch = -1  # see `CallSite.catch`
        self.child = False
        self.child_exits = False  # see `CallSite.child_exits`
        self.fork_at = -1  # see `CallSite.fork_order`
        self.guard = False  # inside `if __name__ == "__main__":`
        self.once = False  # see `CallSite.once`
        self.lambdas = 0
        # The names and attributes (``self.pid``) last bound to what a fork call
        # returns, with that call's order.
        self.fork_vars: dict[str, int] = {}
        # name -> {key: expr} for dicts that may be passed as **name
        self.dicts: dict[str, dict[str, Expr]] = {}
        # The versions of a function's locals (`fork_lint.index.versions`); None
        # in module, class and lambda scopes, whose names are not versioned.
        self.flow: Flow | None = None
        # Names read here that are not bound here, kept for an enclosing function
        # (None where no function encloses the scope); names nested scopes read
        # without binding them, and those they rebind (`nonlocal`): the enclosing
        # function keeps them whole.
        self.reads: set[str] | None = set() if enclosed else None
        self.free: set[str] = set()
        self.shared: set[str] = set()
        self.top: TopVersions | None = None  # in the module scope only
        # In a module or class scope, a comprehension's targets under names of their
        # own (`Expressions._comprehension`): name -> that name.
        self.renames: dict[str, str] = {}


class Walker:
    """Where the walk is, and how facts are recorded."""

    def __init__(self, source: str, module: str, is_package: bool, facts: ModuleFacts) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.facts = facts
        self.ascii = source.isascii()
        # The lines whose character columns differ from ast's byte columns, by number.
        self.lines: dict[int, str] = {}
        if not self.ascii:
            # str.split is much cheaper than re.split, and the same without "\r"
            lines = source.split("\n") if "\r" not in source else re.split(r"\r\n|\r|\n", source)
            self.lines = {i: text for i, text in enumerate(lines, 1) if not text.isascii()}
        # The scope being walked; its parents are held by the frames walking them.
        self.cur: ScopeState
        self.comprehensions = 0  # in module and class scopes (`ScopeState.renames`)
        # Every empty list of the module's sites and scopes is this one object.
        # Facts are never changed after extraction. marshal writes a shared object
        # once and loads it shared, so a cached module holds one empty list instead
        # of thousands: 49 MB on the benchmark corpus.
        self.empty: list[Any] = []
        self.calls = facts["calls"]
        self.loop_ids = 0
        self.if_ids = 0
        self.containers = 0
        self.class_stack: list[str] = []
        self.depth = 0  # operands `_inner` is in
        # The call a statement of the block being walked makes, if it is one:
        # ``f()`` (see `Scope.tails`); written as ``~id`` when it exits the process.
        self.tail: int | None = None
        self.typing_only = False  # in `if TYPE_CHECKING:`, which never runs

    def _coll(
        self, elements: tuple[Expr, ...], keys: tuple[str, ...] | None = None, kind: str = "list"
    ) -> Expr:
        """A container value, numbered in source order: the number names it in the
        solver the same way on every run. ``keys`` are the slots of the elements
        (positions by default)."""
        self.containers += 1
        if keys is None:
            keys = tuple(f"i:{i}" for i in range(len(elements)))
        return ("coll", elements, self.containers, keys, kind)

    # -- scopes -----------------------------------------------------------
    def _new_scope(
        self, kind: str, name: str, qualname: str, node: ast.stmt | ast.expr | None, parent: int
    ) -> ScopeState:
        scope: Scope = {
            "qualname": qualname,
            "name": name,
            "kind": kind,
            "parent": parent,
            "params": [],
            "posonly": 0,
            "vararg": None,
            "kwonly": [],
            "kwarg": None,
            "is_async": isinstance(node, ast.AsyncFunctionDef),
            "decorators": [],
            "method_kind": "",
            "bases": [],
            "span": self._span(node) if node is not None else (1, 0, 1, 0),
            "locals": [],
            "globals": [],
            "nonlocals": [],
            "assigns": [],
            "returns": [],
            "joins": [],
            "end_order": 0,
            "leaves": False,
            "passes": [],
            "tails": [],
            "tries": [],
            "annotations": [],
        }
        index = len(self.facts["scopes"])
        self.facts["scopes"].append(scope)
        enclosed = parent >= 0 and (self.cur.flow is not None or self.cur.reads is not None)
        return ScopeState(index, scope, enclosed=enclosed)

    def _finish(self, st: ScopeState) -> None:
        """Close a scope; its lists are final from here on."""
        sc = st.scope
        sc["end_order"] = st.order
        sc["locals"] = sorted(set(sc["locals"]))
        for key in SCOPE_LISTS:
            if not sc[key]:  # type: ignore[literal-required]
                sc[key] = self.empty  # type: ignore[literal-required]

    def _bind(self, name: str) -> None:
        self.cur.scope["locals"].append(name)

    # -- positions --------------------------------------------------------
    def _col(self, line: int, byte_col: int) -> int:
        text = self.lines.get(line)
        if text is None:
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def _span(self, node: ast.stmt | ast.expr) -> tuple[int, int, int, int]:
        line = node.lineno
        end_line = node.end_lineno or line
        if self.ascii:  # byte columns are character columns
            return (line, node.col_offset, end_line, node.end_col_offset or 0)
        col = self._col(line, node.col_offset)
        end_col = self._col(end_line, node.end_col_offset or 0)
        return (line, col, end_line, end_col)

    # -- call sites -------------------------------------------------------
    def _site(
        self,
        func: Expr,
        args: list[Expr],
        kwargs: list[tuple[str | None, Expr]],
        node: ast.stmt | ast.expr,
        kind: str,
        text: str,
        recv: str = "",
        via_kwargs: list[str] | None = None,
    ) -> int:
        st = self.cur
        calls = self.calls
        empty = self.empty
        site: CallSite = {
            "id": len(calls),
            "func": func,
            "args": args or empty,
            "kwargs": kwargs or empty,
            "span": self._span(node),
            "scope": st.index,
            "order": st.order,
            "loops": list(st.loops) if st.loops else empty,
            "arms": list(st.arms) if st.arms else empty,
            "child": st.child,
            "child_exits": st.child_exits,
            "fork_order": st.fork_at,
            "guard": st.guard,
            "once": st.once,
            "recv": recv,
            "text": text,
            "kind": kind,
            "via_kwargs": via_kwargs or empty,
            "bind": "",
            "catch": st.catch,
        }
        st.order += 1
        calls.append(site)
        return site["id"]

    def _open_catch(self) -> tuple[int, int]:
        """Enter the body of a ``try`` or ``with`` (`CallSite.catch`); returns what
        `_close_catch` needs."""
        st = self.cur
        tries = st.scope["tries"]
        tries.append((-1, list(st.loops)))
        saved, st.catch = st.catch, len(tries) - 1
        return saved, st.catch

    def _close_catch(self, opened: tuple[int, int]) -> None:
        """Leave the body: code from the current order on may run after it raised."""
        st = self.cur
        saved, k = opened
        tries = st.scope["tries"]
        tries[k] = (st.order, tries[k][1])
        st.catch = saved

    def _enter_loop(self) -> None:
        self.loop_ids += 1
        self.cur.loops.append(self.loop_ids)

    def _resolve_from(self, module: str | None, level: int) -> str:
        if level == 0:
            return module or ""
        base = self.package
        for _ in range(level - 1):
            base = base.rpartition(".")[0]
        if module:
            return f"{base}.{module}" if base else module
        return base

    # -- defined by the layers above --------------------------------------
    def expr(self, node: ast.expr) -> Expr:
        """The fact expression of ``node`` (`fork_lint.index.expressions`)."""
        raise NotImplementedError

    def _assign(
        self, target: ast.expr, value: Expr, value_node: ast.expr | None, *, scoped: bool = False
    ) -> None:
        """Record ``target = value`` (`fork_lint.index.bindings`); ``scoped``: the
        target of a comprehension."""
        raise NotImplementedError

    def _block(self, body: list[ast.stmt]) -> None:
        """Walk a block of statements (`fork_lint.index.flow`)."""
        raise NotImplementedError
