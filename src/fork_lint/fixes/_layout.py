"""Keep a fixed line within the project's line length, as ruff and black would wrap it.

A fix that lengthens a call (`multiprocessing.Process(...)` becoming
`multiprocessing.get_context("forkserver").Process(...)`, an added `mp_context=`)
can push its line past `line-length`, which `ruff format --check` or `black --check`
in the project's CI then rejects. When the call is the whole value of a one-line
statement (`x = CALL`, `x: T = CALL`, `return CALL`, `CALL`, `with CALL as x:`), its
arguments are split the way both formatters split such a line: on one indented line
of their own when they fit there, else one per line with a trailing comma. When the
line up to the call's `(` does not fit by itself, an assigned or returned call that
fits on a line of its own goes between parentheses, as both formatters put it. Any
other shape (the call inside another expression, a trailing comment, tabs) is where
the formatters' choices differ or depend on more than this line: it is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider

__all__ = ["DEFAULT_LINE_LENGTH", "fit_line"]

DEFAULT_LINE_LENGTH = 88  # ruff's and black's
_WITH_TAIL = re.compile(r"(?:\s+as\s+[^\W\d]\w*)?\s*:\s*")


def fit_line(module: cst.Module, changed: cst.CSTNode, line_length: int) -> cst.Module:
    """`module` with the statement holding `changed` wrapped to `line_length`, if it can
    be wrapped as the formatters would; else `module` itself."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    call = _whole_value_call(changed, parents)
    if call is None or call not in positions:
        return module
    where = positions[call]
    lines = module.code.split("\n")
    if where.start.line != where.end.line or where.start.line > len(lines):
        return module
    line = lines[where.start.line - 1]
    if len(line) <= line_length or not _tail_allows(call, parents, line[where.end.column :]):
        return module
    new_call = _split(call, module, line, positions, line_length)
    if new_call is None:
        new_call = _parenthesized(call, parents, module, line, line_length)
    if new_call is None:
        return module
    new = module.deep_replace(call, new_call)
    return new if isinstance(new, cst.Module) else module


def _parenthesized(
    call: cst.Call, parents: _Parents, module: cst.Module, line: str, line_length: int
) -> cst.Call | None:
    """An assigned or returned call whose head does not fit, but which fits on a line
    of its own: both formatters put it between parentheses."""
    if not isinstance(parents.get(call), (cst.Assign, cst.AnnAssign, cst.Return)):
        return None
    unit = module.default_indent
    indent = line[: len(line) - len(line.lstrip())]
    if unit.strip(" ") or indent.strip(" ") or call.lpar:
        return None
    if len(indent) + len(unit) + len(cst.Module(body=[]).code_for_node(call)) > line_length:
        return None
    return call.with_changes(
        lpar=[cst.LeftParen(whitespace_after=_newline(unit))],
        rpar=[cst.RightParen(whitespace_before=_newline(""))],
    )


_Parents = Mapping[cst.CSTNode, cst.CSTNode]


def _whole_value_call(node: cst.CSTNode, parent_of: _Parents) -> cst.Call | None:
    """The call that is the whole value of the statement holding `node`, if any."""
    current: cst.CSTNode | None = node
    while current is not None:
        parent = parent_of.get(current)
        if isinstance(parent, (cst.Return, cst.Assign, cst.AnnAssign, cst.Expr)):
            value = parent.value
            if not isinstance(value, cst.Call) or not _is_inside(node, value, parent_of):
                return None
            line = parent_of.get(parent)
            ok = isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1
            return value if ok else None
        if isinstance(parent, cst.WithItem):
            with_ = parent_of.get(parent)
            item = parent.item
            if not isinstance(item, cst.Call) or not isinstance(with_, cst.With):
                return None
            if len(with_.items) != 1 or with_.lpar is not cst.MaybeSentinel.DEFAULT:
                return None
            return item if _is_inside(node, item, parent_of) else None
        if isinstance(parent, (cst.BaseCompoundStatement, cst.Module)) or parent is None:
            return None
        current = parent
    return None


def _is_inside(node: cst.CSTNode, container: cst.CSTNode, parent_of: _Parents) -> bool:
    current: cst.CSTNode | None = node
    while current is not None:
        if current is container:
            return True
        current = parent_of.get(current)
    return False


def _tail_allows(call: cst.Call, parents: _Parents, tail: str) -> bool:
    """Nothing but the statement's end follows the call: no comment, no `;`."""
    if isinstance(parents.get(call), cst.WithItem):
        return _WITH_TAIL.fullmatch(tail) is not None
    return tail.strip() == ""


def _plain(arg: cst.Arg) -> str:
    bare = arg.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=_NONE)
    return cst.Module(body=[]).code_for_node(bare)


_NONE = cst.SimpleWhitespace("")


def _newline(indent: str) -> cst.ParenthesizedWhitespace:
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(),
        empty_lines=[],
        indent=True,
        last_line=cst.SimpleWhitespace(indent),
    )


def _split(
    call: cst.Call,
    module: cst.Module,
    line: str,
    positions: Mapping[cst.CSTNode, CodeRange],
    line_length: int,
) -> cst.Call | None:
    unit = module.default_indent
    indent = line[: len(line) - len(line.lstrip())]
    if not call.args or unit.strip(" ") or indent.strip(" "):
        return None  # nothing to split, or tabs
    if not isinstance(call.whitespace_after_func, cst.SimpleWhitespace) or not isinstance(
        call.whitespace_before_args, cst.SimpleWhitespace
    ):
        return None
    func_end = positions[call.func].end.column
    head = func_end + len(call.whitespace_after_func.value) + 1  # up to the `(`
    if head > line_length:
        return None  # the formatters then split elsewhere, each its own way
    texts = [_plain(arg) for arg in call.args]
    magic = isinstance(call.args[-1].comma, cst.Comma)  # a trailing comma: one per line
    hugged = len(indent) + len(unit) + len(", ".join(texts))
    args = list(call.args)
    last = len(args) - 1
    if hugged <= line_length and not magic:
        comma = cst.Comma(whitespace_before=_NONE, whitespace_after=cst.SimpleWhitespace(" "))
        new_args = [
            a.with_changes(comma=comma, whitespace_after_arg=_NONE)
            if i < last
            else a.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=_newline(""))
            for i, a in enumerate(args)
        ]
    else:
        new_args = [
            a.with_changes(
                comma=cst.Comma(
                    whitespace_before=_NONE, whitespace_after=_newline(unit if i < last else "")
                ),
                whitespace_after_arg=_NONE,
            )
            for i, a in enumerate(args)
        ]
    return call.with_changes(whitespace_before_args=_newline(unit), args=new_args)
