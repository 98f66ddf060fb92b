"""FRK001: `os.fork()` whose child only calls `os.exec*` becomes `os.posix_spawn[p]`.

::

    pid = os.fork()                       pid = os.posix_spawnp(
    if pid == 0:                    ->        "gzip", ["gzip", path], os.environ
        os.execvp("gzip", ["gzip", path])  )
    os.waitpid(pid, 0)                     os.waitpid(pid, 0)

`posix_spawn` returns the child's pid just as `fork` did, so code that waits
for or signals the pid keeps working, and the child inherits the same file
descriptors and signal dispositions as after fork + exec. Offered only when the
pattern is unambiguous: the fork's result is tested by the very next statement,
and the child branch holds nothing but the exec call (and an `os._exit` after it).
Unsafe: a failing exec raises `OSError` in the parent instead of ending the child.
"""

from __future__ import annotations

import libcst as cst

from fork_lint.fixes._cst import (
    ParsedFile,
    Rewriter,
    StatementEdit,
    body_statements,
    code,
    ensure_import,
    following,
    proposal,
    prune_module,
    resolve,
    scope_table,
)
from fork_lint.fixes.base import NoFix, Proposal
from fork_lint.fixes.context import FixContext
from fork_lint.model import Applicability, Finding

# exec function -> (spawn function, takes a list of arguments, last argument is env)
_EXECS: dict[str, tuple[str, bool, bool]] = {
    "execv": ("posix_spawn", True, False),
    "execve": ("posix_spawn", True, True),
    "execvp": ("posix_spawnp", True, False),
    "execvpe": ("posix_spawnp", True, True),
    "execl": ("posix_spawn", False, False),
    "execle": ("posix_spawn", False, True),
    "execlp": ("posix_spawnp", False, False),
    "execlpe": ("posix_spawnp", False, True),
}


def fix(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
    if finding.sink in ("os.forkpty", "pty.fork", "posix.forkpty"):
        return NoFix(f"`{finding.sink}()` gives the child a terminal, which no spawn call does")
    if finding.sink not in ("os.fork", "posix.fork"):
        return None
    pf = ctx.parsed(finding.path)
    if pf is None:
        return None
    span = finding.location.span
    fork = pf.call_at(span.line, span.col, (span.end_line, span.end_col))
    if fork is None or fork.args:
        return None
    stmt = pf.statement_of(fork)
    if stmt is None:
        return None
    pid: str | None = None
    if_stmt: cst.If | None = None
    if isinstance(stmt, cst.SimpleStatementLine) and _assigns_call(stmt, fork):
        small = stmt.body[0]
        assert isinstance(small, cst.Assign)
        target = small.targets[0].target
        assert isinstance(target, cst.Name)
        pid = target.value
        rest = following(pf, stmt)
        if not rest or not isinstance(rest[0], cst.If):
            return NoFix("the fork's result is not tested by the next statement")
        if_stmt = rest[0]
    elif isinstance(stmt, cst.If):
        if_stmt = stmt
    else:
        return NoFix("the fork is not of the form `pid = os.fork()` followed by `if pid == 0:`")
    child_in_body = _child_branch(if_stmt.test, pid, fork)
    if child_in_body is None:
        return NoFix("cannot tell which branch of the `if` runs in the child")
    if isinstance(if_stmt.orelse, cst.If):
        return NoFix("the test has an `elif`")
    orelse = body_statements(if_stmt.orelse.body) if if_stmt.orelse is not None else []
    child = body_statements(if_stmt.body) if child_in_body else orelse
    parent = orelse if child_in_body else body_statements(if_stmt.body)
    spawn = _spawn_call(pf, child, fork)
    if isinstance(spawn, NoFix):
        return spawn
    if ctx.options.target_version < (3, 8):
        applicability = Applicability.DISPLAY_ONLY
        note = " (needs Python 3.8; raise target-version to apply it)"
    else:
        applicability = Applicability.UNSAFE
        note = ""
    module, os_name = ensure_import(pf.module, "os")
    if os_name is None:
        return NoFix("the name `os` is taken in this module")
    func, path, argv, env = spawn
    spawn_call = cst.parse_expression(
        f"{os_name}.{func}({path}, {argv}, {env or os_name + '.environ'})"
    )
    statements: dict[cst.CSTNode, StatementEdit] = {}
    nodes: dict[cst.CSTNode, cst.CSTNode] = {}
    if pid is not None:
        nodes[fork] = spawn_call
        statements[if_stmt] = StatementEdit.replace(*parent)
    else:
        spawn_stmt = cst.SimpleStatementLine([cst.Expr(spawn_call)])
        statements[if_stmt] = StatementEdit.replace(spawn_stmt, *parent)
    rewriter = Rewriter(nodes=nodes, statements=statements, parents=pf.parents)
    new_module = prune_module(pf.text, module.visit(rewriter))
    return proposal(
        f"Start the program with `{os_name}.{func}()` instead of fork + exec{note}",
        applicability,
        {finding.path: (pf, new_module)},
    )


def _assigns_call(stmt: cst.SimpleStatementLine, call: cst.Call) -> bool:
    if len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    return (
        isinstance(small, cst.Assign)
        and small.value is call
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    )


def _is_zero(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.evaluated_value == 0


def _is_fork(node: cst.BaseExpression, pid: str | None, fork: cst.Call) -> bool:
    if node is fork:
        return True
    return pid is not None and isinstance(node, cst.Name) and node.value == pid


def _child_branch(test: cst.BaseExpression, pid: str | None, fork: cst.Call) -> bool | None:
    """True when the `if` body runs in the child, False for the `else`, None if unclear."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _child_branch(test.expression, pid, fork)
        return None if inner is None else not inner
    if _is_fork(test, pid, fork):
        return False  # `if pid:` is the parent
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left, right = test.left, test.comparisons[0].comparator
        op = test.comparisons[0].operator
        if _is_zero(left):
            left, right = right, left
        if not (_is_fork(left, pid, fork) and _is_zero(right)):
            return None
        if isinstance(op, cst.Equal):
            return True
        if isinstance(op, (cst.NotEqual, cst.GreaterThan)):
            return False
    return None


def _spawn_call(
    pf: ParsedFile, child: list[cst.BaseStatement], fork: cst.Call
) -> tuple[str, str, str, str | None] | NoFix:
    smalls: list[cst.BaseSmallStatement] = []
    for stmt in child:
        if not isinstance(stmt, cst.SimpleStatementLine):
            return NoFix("the child runs more than an `os.exec*` call")
        smalls.extend(stmt.body)
    if not smalls or not isinstance(smalls[0], cst.Expr):
        return NoFix("the child does not start with an `os.exec*` call")
    table = scope_table(pf, fork)
    exec_call = smalls[0].value
    if not isinstance(exec_call, cst.Call):
        return NoFix("the child does not start with an `os.exec*` call")
    origin = resolve(exec_call.func, table) or ""
    name = origin[3:] if origin.startswith("os.") else ""
    if name not in _EXECS:
        return NoFix("the child does not start with an `os.exec*` call")
    for extra in smalls[1:]:
        if not (
            isinstance(extra, cst.Expr)
            and isinstance(extra.value, cst.Call)
            and resolve(extra.value.func, table) == "os._exit"
        ):
            return NoFix("the child runs more than an `os.exec*` call")
    if any(a.keyword is not None or a.star for a in exec_call.args):
        return NoFix("the exec call uses keywords or `*` arguments")
    values = [code(a.value) for a in exec_call.args]
    func, vector, with_env = _EXECS[name]
    minimum = 2 + (1 if with_env else 0)
    if len(values) < minimum or (vector and len(values) != minimum):
        return NoFix("the exec call has an unexpected number of arguments")
    env = values[-1] if with_env else None
    middle = values[1:-1] if with_env else values[1:]
    argv = middle[0] if vector else "[" + ", ".join(middle) + "]"
    return func, values[0], argv, env
