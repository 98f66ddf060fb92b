"""The `full` format: header, code frame, thread-start note, witness and fix (the default)."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Sequence

from fork_lint.model import Applicability, Edit, Finding, Fix, Hop, Witness
from fork_lint.output._context import RenderContext, cached_reader
from fork_lint.output._text import Style, display, frame, header, position, sort_findings

ReadLines = Callable[[str], "list[str] | None"]

_APPLICABILITY_NOTE = {
    Applicability.SAFE: "",
    Applicability.UNSAFE: " (unsafe fix)",
    Applicability.DISPLAY_ONLY: " (suggestion)",
}


def render_full(findings: Sequence[Finding], ctx: RenderContext) -> str:
    """One block per finding, blocks separated by an empty line; "" when there are none."""
    read = cached_reader(ctx.read_lines)
    style = Style(ctx.color)
    blocks = [
        "\n".join(
            _finding_lines(
                f, read, style, show_fixes=ctx.show_fixes, unsafe=ctx.unsafe_fixes, why=ctx.why
            )
        )
        + "\n"
        for f in sort_findings(findings)
    ]
    return "\n".join(blocks)


def _finding_lines(
    finding: Finding,
    read: ReadLines,
    style: Style,
    *,
    show_fixes: bool,
    unsafe: bool,
    why: bool = False,
) -> list[str]:
    out = [header(finding, style, unsafe=unsafe)]
    out += frame(read(finding.path), finding.location.span, style, label=finding.code)
    if finding.witness is not None:
        out += _witness_lines(finding.witness, read, style, why=why)
    if finding.fix is not None:
        out += _fix_lines(finding.fix, finding.path, read, style, show_fixes=show_fixes)
    return out


def _witness_lines(witness: Witness, read: ReadLines, style: Style, *, why: bool) -> list[str]:
    out: list[str] = []
    if witness.thread_path:
        start = witness.thread_start
        out.append(
            f"{style.bold('note')}: thread started here: {position(start)} "
            f"({witness.thread_source})"
        )
        out += frame(read(start.path), start.span, style, first_line_only=True)
    out.append(f"{style.bold('witness')}: {witness.reason}")
    out.append(f"  starting from `{witness.anchor}`:")
    for kind, path in (("thread", witness.thread_path), ("fork", witness.fork_path)):
        for hop in path:
            out.append(_hop_line(kind, hop, style))
            if why and hop.why:
                out.append(f"            {style.gutter('why:')} {hop.why}")
    return out


def _hop_line(kind: str, hop: Hop, style: Style) -> str:
    label = style.bold(f"{kind}:")
    padding = " " * (len("thread") - len(kind))
    return f"    {label}{padding} {position(hop.location)} in {hop.function}: {hop.description}"


def _fix_lines(
    fix: Fix, path: str, read: ReadLines, style: Style, *, show_fixes: bool
) -> list[str]:
    out = [f"{style.bold('help')}: {fix.message}{_APPLICABILITY_NOTE[fix.applicability]}"]
    if show_fixes:
        out += _diff_lines(fix.edits, path, read, style)
    return out


def _diff_lines(edits: Sequence[Edit], path: str, read: ReadLines, style: Style) -> list[str]:
    """The changed lines of each edited file: `N - old` and `N + new`, no context."""
    by_path: dict[str, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    # The finding's own file first, then the others by name.
    paths = sorted(by_path, key=lambda p: (p != path, p))
    files: list[tuple[str, list[list[tuple[str, int, str]]]]] = []
    for edit_path in paths:
        lines = read(edit_path)
        hunks = _changed_lines(lines, by_path[edit_path]) if lines is not None else None
        if hunks:
            files.append((edit_path, hunks))
    if not files:
        return []
    width = max(len(str(n)) for _, hunks in files for hunk in hunks for _, n, _ in hunk)
    border = style.gutter(" " * width + " |")
    out: list[str] = []
    for edit_path, hunks in files:
        if edit_path != path:
            out.append(f"{' ' * width}{style.gutter('-->')} {edit_path}")
        out.append(border)
        for i, hunk in enumerate(hunks):
            if i:
                out.append(style.gutter("..."))
            for sign, lineno, text in hunk:
                paint = style.removed if sign == "-" else style.added
                shown = display(text).rstrip()
                line = f"{sign} {shown}" if shown else sign
                out.append(f"{style.gutter(f'{lineno:>{width}}')} {paint(line)}")
        out.append(border)
    return out


def _changed_lines(lines: list[str], edits: list[Edit]) -> list[list[tuple[str, int, str]]] | None:
    """Apply `edits` to `lines` and diff: hunks of removed lines (numbered as in the old
    file) followed by added lines (numbered as in the new file).

    None when an edit lies outside the file or two edits overlap.
    """
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    text = "\n".join(lines) + "\n"

    def offset(line: int, col: int) -> int | None:
        if line == len(lines) + 1 and col == 0:
            return len(text)
        if not 1 <= line <= len(lines):
            return None
        return starts[line - 1] + min(max(col, 0), len(lines[line - 1]))

    ranges: list[tuple[int, int, str]] = []
    for edit in edits:
        begin = offset(edit.span.line, edit.span.col)
        end = offset(edit.span.end_line, edit.span.end_col)
        if begin is None or end is None or end < begin:
            return None
        ranges.append((begin, end, edit.content))
    ranges.sort(key=lambda r: (r[0], r[1]))
    for (_, end, _), (begin, _, _) in itertools.pairwise(ranges):
        if begin < end:
            return None
    new_text = text
    for begin, end, content in reversed(ranges):
        new_text = new_text[:begin] + content + new_text[end:]
    new_lines = new_text.split("\n")
    if new_lines[-1] == "":
        new_lines.pop()

    # Lines before the first edit and after the last one are unchanged.
    first = min(e.span.line for e in edits) - 1
    last = min(max(e.span.end_line for e in edits), len(lines))
    tail = len(lines) - last
    old_part = lines[first:last]
    new_part = new_lines[first : len(new_lines) - tail]
    hunks: list[list[tuple[str, int, str]]] = []
    matcher = difflib.SequenceMatcher(None, old_part, new_part, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            hunks.append(
                [("-", first + i + 1, old_part[i]) for i in range(i1, i2)]
                + [("+", first + j + 1, new_part[j]) for j in range(j1, j2)]
            )
    return hunks
