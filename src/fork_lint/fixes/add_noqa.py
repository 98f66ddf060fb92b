"""`--add-noqa`: a ``# noqa: FRKnnn`` comment on the line of every finding.

A line that already has a ``# noqa:`` comment naming codes gets the new codes
appended to it (other tools' codes stay); any other line gets a comment at its
end. A comment added where it would not be one, inside a string that goes on
past the line or after a backslash continuing it, is caught before anything is
written: the new text must compile and must hold exactly the intended comments
(`index.noqa.parse_noqa` with the syntax tree, which tells comments from strings),
else that line is left alone with a warning. Files are written atomically and
only if unchanged since they were read (`fixes.apply.DiskSources`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from fork_lint.fixes.apply import DiskSources
from fork_lint.fixes.base import split_lines
from fork_lint.index.noqa import NOQA, parse_noqa
from fork_lint.model import Finding

__all__ = ["add_noqa"]


def add_noqa(findings: Iterable[Finding], sources: DiskSources) -> tuple[int, list[str]]:
    """Add the comments; the number of lines given a comment or a code, and the
    problems (one line each)."""
    wanted: dict[str, dict[int, set[str]]] = {}
    for f in findings:
        wanted.setdefault(f.path, {}).setdefault(f.location.span.line, set()).add(f.code)
    added = 0
    problems: list[str] = []
    for path in sorted(wanted):
        text = sources.read(path)
        if text is None:
            problems.append(f"{path}: cannot read it: no noqa comment added")
            continue
        new, lines, skipped = _commented(text, wanted[path])
        problems += [f"{path}:{line}: {why}: no noqa comment added" for line, why in skipped]
        if not lines:
            continue
        error = sources.write(path, new)
        if error is not None:
            problems.append(f"{path}: noqa comments not written: {error}")
            continue
        added += lines
    return added, problems


def _commented(text: str, wanted: dict[int, set[str]]) -> tuple[str, int, list[tuple[int, str]]]:
    """The text with the comments added, how many lines changed, and the lines
    skipped with the reason."""
    noqa = _comments(text)
    if noqa is None:
        return text, 0, [(min(wanted), "the file does not parse")]
    lines = split_lines(text)
    changed = 0
    skipped: list[tuple[int, str]] = []
    for number in sorted(wanted):
        if not 1 <= number <= len(lines):
            skipped.append((number, "no such line"))
            continue
        existing = noqa.get(str(number), [])
        if existing is None:
            continue  # a bare noqa comment already silences every code
        codes = sorted(c for c in wanted[number] if c not in existing)
        if not codes:
            continue
        old = lines[number - 1]
        lines[number - 1] = _with_codes(old, codes, existing)
        trial = "".join(lines)
        if not _holds(trial, number, [*existing, *codes]):
            lines[number - 1] = old
            skipped.append((number, "a comment at the end of this line would not be one"))
            continue
        changed += 1
    return "".join(lines), changed, skipped


def _comments(text: str) -> dict[str, list[str] | None] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    return parse_noqa(text, tree)


def _with_codes(line: str, codes: list[str], existing: list[str]) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    if existing:
        for match in NOQA.finditer(body):
            if match.group("codes") is not None:
                end = match.end("codes")
                return body[:end] + "".join(f", {c}" for c in codes) + body[end:] + ending
    gap = "  " if body.strip() else ""
    return f"{body.rstrip()}{gap}# noqa: {', '.join(codes)}{ending}"


def _holds(text: str, number: int, codes: list[str]) -> bool:
    """The new text compiles and its comment on line `number` names `codes`."""
    try:
        compile(text, "<add-noqa>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError):
        return False
    noqa = _comments(text)
    found = noqa.get(str(number)) if noqa is not None else None
    return found is not None and set(codes) <= set(found)
