"""Facts about single ``ast`` nodes that need no scope: dotted names, callee
texts, `if` tests the extractor recognises, statements that always leave."""

from __future__ import annotations

import ast
from typing import Any

from fork_lint.index.facts import Expr, slot_of

EXITS = frozenset(("sys.exit", "os._exit", "exit", "quit", "os.abort"))
# Exits that raise `SystemExit`, which an `except` or a context manager may stop.
_SOFT_EXITS = frozenset(("sys.exit", "exit", "quit"))
FORK_NAMES = ("fork", "forkpty")
# Calls that end a thread (or a pool's threads) kept under the receiver's key.
JOIN_METHODS = frozenset(("join", "shutdown", "terminate", "stop"))
# `cancel()` ends a `threading.Timer` (it wakes only to exit, running nothing more)
# and nothing else that starts a thread (a future's or a task's `cancel()` leaves
# the pool's threads running): its joins are kept under the key with this prefix,
# which only a timer's start matches (`graph.paths.Joins`).
CANCEL_PREFIX = "~"
CONST_TYPES = (str, int, float, bool, type(None))
# Operands nested deeper than this inside one expression have an unknown value
# (`Expressions._inner`): the facts of `1 + 1 + ...` with 1,500 terms, which `ast`
# parses, would be too deep for marshal to store and for the solver to walk.
MAX_EXPR_DEPTH = 200
TRY_STAR: type | None = getattr(ast, "TryStar", None)  # 3.11+


def own_super(node: ast.Call, cls: str) -> bool:
    """``super()``, or ``super(Cls, self)`` naming the enclosing class ``cls``."""
    if not node.args and not node.keywords:
        return True
    first = node.args[0] if len(node.args) == 2 else None
    return isinstance(first, ast.Name) and first.id == cls.rpartition(".")[2]


def dotted(node: ast.expr) -> str:
    # The common shapes `name` and `name.attr` first, as the loop below would spell them.
    if type(node) is ast.Name:
        return node.id
    if type(node) is ast.Attribute and type(node.value) is ast.Name:
        return f"{node.value.id}.{node.attr}"
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def names_fork(func: ast.expr) -> bool:
    """Whether the callee ``func`` is ``fork`` or ``forkpty``, bare or as the last
    part of a dotted name; cheaper than building the dotted name for every call."""
    if isinstance(func, ast.Name):
        return func.id in FORK_NAMES
    return isinstance(func, ast.Attribute) and func.attr in FORK_NAMES and dotted(func) != ""


recv_key = dotted  # a receiver is known by its dotted name


def callee_text(node: ast.expr) -> str:
    """Short display text of a callee: ``threading.Thread(...).start``."""
    name = dotted(node)  # most callees, spelled as the loop below would
    if name:
        return name
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            parts.append("(...)")
            node = node.func
        elif isinstance(node, ast.Subscript):
            parts.append("[...]")
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            parts.append("<expr>")
            break
    out = ""
    for p in reversed(parts):
        out += p if (not out or p.startswith(("(", "["))) else "." + p
    return out


def is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0 and not isinstance(node.value, bool)


def kw_false(node: ast.Call, name: str) -> bool:
    return any(
        kw.arg == name and isinstance(kw.value, ast.Constant) and kw.value.value is False
        for kw in node.keywords
    )


def terminates(body: list[ast.stmt]) -> bool:
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
        return True
    return isinstance(last, ast.Expr) and is_exit(last.value)


def ends_process(body: list[ast.stmt], *, hard: bool = False) -> bool:
    """Does every path through ``body`` end the process (exit, exec, or an exception
    it raises) before leaving it? A forked child running such a block never returns
    to the code it shares with the parent. A ``return``, a ``break``/``continue`` out
    of the block, a ``yield`` or an ``await`` before the end lets other code run.
    ``hard``: only by what no ``except`` or context manager can stop (``os._exit``,
    ``os.exec*``, ``os.abort``, a loop without end)."""
    for stmt in body:
        if _ends(stmt, hard):
            return True
        if _may_leave(stmt):
            return False
    return False


def _ends(stmt: ast.stmt, hard: bool) -> bool:
    if isinstance(stmt, ast.Raise):
        return not hard
    if isinstance(stmt, ast.Expr):
        if not is_exit(stmt.value):
            return False
        return not hard or dotted(stmt.value.func) not in _SOFT_EXITS  # type: ignore[attr-defined]
    if isinstance(stmt, ast.If):
        return ends_process(stmt.body, hard=hard) and ends_process(stmt.orelse, hard=hard)
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        # The context manager may swallow the exception (`SystemExit` too).
        return ends_process(stmt.body, hard=True)
    if isinstance(stmt, ast.Try) or (TRY_STAR is not None and isinstance(stmt, TRY_STAR)):
        if ends_process(stmt.finalbody, hard=hard):  # type: ignore[attr-defined]
            return True
        body = stmt.body + stmt.orelse  # type: ignore[attr-defined]
        handlers = stmt.handlers  # type: ignore[attr-defined]
        return ends_process(body, hard=hard) and all(
            ends_process(h.body, hard=hard) for h in handlers
        )
    if isinstance(stmt, ast.While):  # `while True:` without a `break` of its own
        return (
            isinstance(stmt.test, ast.Constant)
            and bool(stmt.test.value)
            and not any(isinstance(n, ast.Break) for n in _own_loop_nodes(stmt.body))
            and not any(_may_leave(s, in_loop=True) for s in stmt.body)
        )
    return False


def _may_leave(stmt: ast.stmt, *, in_loop: bool = False) -> bool:
    """Can control leave ``stmt`` for code after its block other than by running on
    (a ``return``, a ``break``/``continue`` of an enclosing loop), or suspend
    (``yield``, ``await``) so that other code runs?"""
    loops = 1 if in_loop else 0
    todo: list[tuple[ast.AST, int]] = [(stmt, loops)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await)):
            return True
        if isinstance(node, (ast.Break, ast.Continue)) and depth == 0:
            return True
        inner = depth + 1 if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) else depth
        for child in ast.iter_child_nodes(node):
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and child in node.orelse:
                todo.append((child, depth))  # a loop's `else` is outside the loop
            else:
                todo.append((child, inner))
    return False


def _own_loop_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """The nodes of a loop body outside nested loops and definitions."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(
            node,
            (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef),
        ):
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def is_exit(node: ast.expr) -> bool:
    """Whether ``node`` is a call that exits the process (or replaces it)."""
    if type(node) is ast.Await:
        node = node.value
    if type(node) is not ast.Call:
        return False
    name = dotted(node.func)
    return name in EXITS or name.startswith("os.exec")


def pattern_names(pattern: Any) -> list[str]:
    names = []
    for node in ast.walk(pattern):
        for attr in ("name", "rest"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                names.append(value)
    return names


def key_slot(key: Expr) -> str | Expr:
    """The slot a subscript reads or writes: of a constant key, or the key's own
    expression (a dict key that may be a function); ``""`` when nothing is known."""
    if key[0] == "const":
        return slot_of(key[1])
    return key if key[0] in ("name", "attr", "call") else ""


def sequence_slots(elements: list[ast.expr], kind: str) -> tuple[str, ...]:
    """The slots of a literal's elements: positions up to the first ``*x``; a set's
    elements have none."""
    out: list[str] = []
    known = kind != "set"
    for i, e in enumerate(elements):
        known = known and not isinstance(e, ast.Starred)
        out.append(f"i:{i}" if known else "")
    return tuple(out)


def slice_bounds(node: ast.Slice) -> tuple[int, int]:
    """``[i:j]`` with constant ``0 <= i`` (and ``j``, or none) and no step: (i, j),
    ``j`` -1 when open; (-1, -1) when the positions cannot be told."""
    lower, upper = node.lower, node.upper
    if node.step is not None:
        return (-1, -1)
    start = 0 if lower is None else _index(lower)
    stop = -1 if upper is None else _index(upper)
    if start < 0 or (upper is not None and stop < 0):
        return (-1, -1)
    return (start, stop)


def _index(node: ast.expr) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 0:
        return node.value
    return -1
