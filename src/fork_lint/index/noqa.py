"""``# noqa`` comments of a module, told apart from text in string literals."""

from __future__ import annotations

import ast
import bisect
import re

__all__ = ["NOQA", "parse_noqa"]

_NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
NOQA = _NOQA  # the comment's syntax, for the fix of FRK100


def parse_noqa(
    source: str, tree: ast.AST | None = None, columns: dict[str, tuple[int, int]] | None = None
) -> dict[str, list[str] | None]:
    """``# noqa`` comments by line. With the module's ``tree``, text that only looks
    like one inside a string literal (a test's source code) is not a comment.

    ``columns`` receives, for each line with a comment that names codes, the
    character columns (start, end) of the first such comment: where FRK100
    reports a code that suppresses nothing."""
    if "noqa" not in source and "NOQA" not in source and "NoQA" not in source:
        return {}
    hits = list(_NOQA.finditer(source))
    if not hits:
        return {}
    lines = _lines_of(source, [m.start() for m in hits])
    strings = _string_spans(tree, sorted({line for line, _ in lines})) if tree is not None else []
    out: dict[str, list[str] | None] = {}
    for m, (line, line_start) in zip(hits, lines, strict=True):
        if strings:
            # ast columns count UTF-8 bytes
            col = len(source[line_start : m.start()].encode("utf-8", "surrogatepass"))
            if any(start <= (line, col) < end for start, end in strings):
                continue
        codes = m.group("codes")
        key = str(line)
        if codes is not None and columns is not None and key not in columns:
            columns[key] = (m.start() - line_start, m.end() - line_start)
        if codes is None:
            out[key] = None
        elif key not in out or out[key] is not None:
            prev = out.get(key) or []
            out[key] = [*prev, *(c.upper() for c in re.split(r"[,\s]+", codes) if c)]
    return out


def _lines_of(source: str, positions: list[int]) -> list[tuple[int, int]]:
    """(line, offset of the line's start) of each of the ascending ``positions``."""
    out = []
    if "\r" in source:  # rare: line breaks of more than one kind
        starts = [0]
        starts.extend(m.end() for m in re.finditer(r"\r\n|\r|\n", source))
        for pos in positions:
            line = bisect.bisect_right(starts, pos)
            out.append((line, starts[line - 1]))
        return out
    # Counting from one match to the next is cheaper than finding every line start.
    line, prev = 1, 0
    for pos in positions:
        line += source.count("\n", prev, pos)
        prev = pos
        out.append((line, source.rfind("\n", 0, pos) + 1))
    return out


def _string_spans(tree: ast.AST, lines: list[int]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Spans of the string literals that may hold a comment-like text on one of
    ``lines`` (ascending). A statement that reaches none of them is skipped whole:
    its literals lie within its lines, decorators included. Walking only those
    statements instead of the whole tree saves most of the cost of the noqa pass."""
    out = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
        ):
            end_line, end_col = node.end_lineno, node.end_col_offset
            if end_line is not None and end_col is not None:
                out.append(((node.lineno, node.col_offset), (end_line, end_col)))
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt) or _reaches(child, lines):
                todo.append(child)
    return out


def _reaches(stmt: ast.stmt, lines: list[int]) -> bool:
    """Whether one of ``lines`` (ascending) is within the statement's lines."""
    first, last = stmt.lineno, stmt.end_lineno
    if last is None:
        return True
    decorators = getattr(stmt, "decorator_list", None)
    if decorators:  # before the `def` or `class` line
        first = min(first, *(d.lineno for d in decorators))
    i = bisect.bisect_left(lines, first)
    return i < len(lines) and lines[i] <= last
