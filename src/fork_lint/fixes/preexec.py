"""FRK004: replace a `preexec_fn` hook by the `subprocess` keyword that does the same in C.

Safe: `subprocess` makes the same system calls in the child, after fork and before
exec, without running Python code there. Only hooks made entirely of these calls
qualify; the keywords that are newer than the target version are shown as a
suggestion and not applied.

=====================================  ==========================  =====
hook                                   keyword                     since
=====================================  ==========================  =====
``os.setsid``                          ``start_new_session=True``  3.2
``os.setpgrp``, ``os.setpgid(0, 0)``   ``process_group=0``         3.11
``os.umask(n)``                        ``umask=n``                 3.9
``os.setgid(g)``                       ``group=g``                 3.9
``os.setgroups(l)``                    ``extra_groups=l``          3.9
``os.setuid(u)``                       ``user=u``                  3.9
=====================================  ==========================  =====
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from fork_lint.fixes._cst import (
    ParsedFile,
    Rewriter,
    code,
    keyword,
    proposal,
    prune_module,
    resolve,
    scope_table,
)
from fork_lint.fixes.base import NoFix, Proposal
from fork_lint.fixes.context import FixContext
from fork_lint.model import Applicability, Finding

# os function -> (keyword, minimum Python version)
_KEYWORDS: dict[str, tuple[str, tuple[int, int]]] = {
    "setsid": ("start_new_session", (3, 2)),
    "setpgrp": ("process_group", (3, 11)),
    "setpgid": ("process_group", (3, 11)),
    "umask": ("umask", (3, 9)),
    "setgid": ("group", (3, 9)),
    "setgroups": ("extra_groups", (3, 9)),
    "setuid": ("user", (3, 9)),
}
_NO_ARGS = frozenset(("setsid", "setpgrp"))


def fix(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
    pf = ctx.parsed(finding.path)
    if pf is None:
        return None
    span = finding.location.span
    call = pf.call_at(span.line, span.col, (span.end_line, span.end_col))
    if call is None:
        return None
    arg = keyword(call, "preexec_fn")
    if arg is None:
        how = "through `**kwargs`" if any(a.star == "**" for a in call.args) else "positionally"
        return NoFix(f"`preexec_fn` is passed {how}; pass a keyword such as `start_new_session`")
    if any(a.star == "**" for a in call.args):
        return NoFix("the call also passes `**kwargs`, which may already hold the keyword")
    hook = _hook_calls(pf, arg.value)
    if isinstance(hook, NoFix):
        return hook
    plan = _keywords(hook)
    if isinstance(plan, NoFix):
        return plan
    taken = [name for name, _ in plan if keyword(call, name) is not None]
    if taken:
        return NoFix(f"the call already passes `{taken[0]}`")
    new_args = _new_args(call, arg, plan)
    new_call = call.with_changes(
        args=[x for a in call.args for x in (new_args if a is arg else [a])]
    )
    rewriter = Rewriter(nodes={call: new_call}, parents=pf.parents)
    new_module = prune_module(pf.text, pf.module.visit(rewriter))
    shown = ", ".join(f"{name}={code(value)}" for name, value in plan)
    needed = max(_KEYWORDS[op][1] for op, _ in hook)
    message = f"Replace `preexec_fn={code(arg.value)}` with `{shown}`"
    applicability = Applicability.SAFE
    if ctx.options.target_version < needed:
        applicability = Applicability.DISPLAY_ONLY
        have = ctx.options.target_version
        message += (
            f" (needs Python {needed[0]}.{needed[1]}; target-version is py{have[0]}{have[1]})"
        )
    return proposal(message, applicability, {finding.path: (pf, new_module)})


# A hook, reduced to the os calls it makes: [(os function name, its call node)].
Hook = list[tuple[str, cst.Call]]


def _hook_calls(pf: ParsedFile, value: cst.BaseExpression) -> Hook | NoFix:
    table = scope_table(pf, value)
    origin = resolve(value, table)
    if origin is not None and origin.startswith("os.") and origin[3:] in _NO_ARGS:
        return [(origin[3:], cst.Call(func=value))]
    if isinstance(value, cst.Lambda):
        if value.params.params or value.params.star_arg != cst.MaybeSentinel.DEFAULT:
            return NoFix("the hook takes arguments")
        return _os_calls(pf, [value.body], value, allow_names=True)
    if isinstance(value, cst.Name):
        func = _local_def(pf, value)
        if func is None:
            return NoFix(f"`{value.value}` is not a function defined in this file")
        params = func.params
        if params.params or params.kwonly_params or params.posonly_params:
            return NoFix(f"`{value.value}` takes arguments")
        body = func.body.body if isinstance(func.body, cst.IndentedBlock) else ()
        exprs: list[cst.BaseExpression] = []
        for i, stmt in enumerate(body):
            if not isinstance(stmt, cst.SimpleStatementLine):
                return NoFix(f"`{value.value}` does more than call `os` functions")
            for small in stmt.body:
                if not isinstance(small, cst.Expr):
                    return NoFix(f"`{value.value}` does more than call `os` functions")
                if i == 0 and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                    continue  # docstring
                exprs.append(small.value)
        return _os_calls(pf, exprs, value, allow_names=False)
    return NoFix(f"`{code(value)}` has no equivalent `subprocess` keyword")


def _local_def(pf: ParsedFile, name: cst.Name) -> cst.FunctionDef | None:
    """A def of that name in the enclosing function bodies or at module level."""
    blocks: list[Sequence[cst.BaseStatement]] = [
        a.body.body
        for a in pf.ancestors(name)
        if isinstance(a, cst.FunctionDef) and isinstance(a.body, cst.IndentedBlock)
    ]
    blocks.append(pf.module.body)
    for block in blocks:
        found = [s for s in block if isinstance(s, cst.FunctionDef) and s.name.value == name.value]
        if found:
            return found[-1] if not found[-1].decorators else None
    return None


def _os_calls(
    pf: ParsedFile, exprs: Sequence[cst.BaseExpression], where: cst.CSTNode, *, allow_names: bool
) -> Hook | NoFix:
    table = scope_table(pf, where)
    out: Hook = []
    for expr in exprs:
        if not isinstance(expr, cst.Call):
            return NoFix(f"`{code(expr)}` has no equivalent `subprocess` keyword")
        origin = resolve(expr.func, table)
        op = origin[3:] if origin is not None and origin.startswith("os.") else None
        if op not in _KEYWORDS:
            return NoFix(f"`{code(expr)}` has no equivalent `subprocess` keyword")
        assert op is not None
        if any(a.keyword is not None or a.star for a in expr.args):
            return NoFix(f"`{code(expr)}` is called with keywords or `*` arguments")
        values = [a.value for a in expr.args]
        if op in _NO_ARGS and values:
            return NoFix(f"`{code(expr)}` is called with arguments")
        if op == "setpgid" and not (len(values) == 2 and all(_is_zero(v) for v in values)):
            return NoFix("only `os.setpgid(0, 0)` has an equivalent (`process_group=0`)")
        if op not in _NO_ARGS and op != "setpgid":
            if len(values) != 1:
                return NoFix(f"`{code(expr)}` does not take one argument")
            if not _movable(values[0], allow_names=allow_names):
                return NoFix(f"the argument of `{code(expr)}` cannot move to the call site")
        out.append((op, expr))
    if not out:
        return NoFix("the hook does nothing `subprocess` can do")
    return out


def _keywords(hook: Hook) -> list[tuple[str, cst.BaseExpression]] | NoFix:
    names = [_KEYWORDS[op][0] for op, _ in hook]
    if len(set(names)) != len(names):
        return NoFix("the hook sets the same thing twice")
    if "start_new_session" in names and "process_group" in names:
        return NoFix("the hook both starts a session and sets a process group")
    ops = [op for op, _ in hook]
    if "setuid" in ops and any(
        op in ("setgid", "setgroups") for op in ops[ops.index("setuid") + 1 :]
    ):
        return NoFix("the hook changes groups after the user; `subprocess` does it the other way")
    out: list[tuple[str, cst.BaseExpression]] = []
    for op, call in hook:
        name = _KEYWORDS[op][0]
        if op == "setsid":
            out.append((name, cst.Name("True")))
        elif op in ("setpgrp", "setpgid"):
            out.append((name, cst.Integer("0")))
        else:
            out.append((name, call.args[0].value))
    return out


def _is_zero(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.evaluated_value == 0


def _movable(node: cst.BaseExpression, *, allow_names: bool) -> bool:
    """Evaluating the expression at the call site gives what the hook would have used."""
    if isinstance(node, (cst.Integer, cst.SimpleString)):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return _movable(node.expression, allow_names=allow_names)
    if isinstance(node, (cst.List, cst.Tuple)):
        return all(
            isinstance(e, cst.Element) and _movable(e.value, allow_names=allow_names)
            for e in node.elements
        )
    if isinstance(node, (cst.Name, cst.Attribute)):
        return allow_names
    return False


def _new_args(
    call: cst.Call, old: cst.Arg, plan: list[tuple[str, cst.BaseExpression]]
) -> list[cst.Arg]:
    others = [a for a in call.args if a is not old and a.comma != cst.MaybeSentinel.DEFAULT]
    between: cst.Comma | cst.MaybeSentinel
    if isinstance(old.comma, cst.Comma):
        between = old.comma
    elif others and isinstance(others[-1].comma, cst.Comma):
        between = others[-1].comma
    else:
        between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    out = []
    for i, (name, value) in enumerate(plan):
        last = i == len(plan) - 1
        out.append(
            cst.Arg(
                value=value,
                keyword=cst.Name(name),
                equal=old.equal,
                comma=old.comma if last else between,
                whitespace_after_arg=old.whitespace_after_arg if last else cst.SimpleWhitespace(""),
            )
        )
    return out
