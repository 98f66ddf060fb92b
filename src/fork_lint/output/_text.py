"""Shared pieces of the text reporters: ANSI styling, display widths and code frames."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from fork_lint.model import Finding, Location, Span

TAB_WIDTH = 4
# A frame longer than this shows its first FRAME_HEAD and last FRAME_TAIL lines.
FRAME_MAX_LINES = 8
FRAME_HEAD = 4
FRAME_TAIL = 3

# Characters that reorder text on a terminal (Trojan Source) or end a line there:
# shown as <U+XXXX> so the frame shows what the file holds.
_ESCAPED = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)


class Style:
    """ANSI styling that is the identity when color is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, codes: str, text: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{codes}m{text}\x1b[0m"

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def error(self, text: str) -> str:  # rule codes and underlines
        return self._wrap("1;31", text)

    def accent(self, text: str) -> str:  # separators and the fixable star
        return self._wrap("36", text)

    def gutter(self, text: str) -> str:  # line numbers and the frame border
        return self._wrap("1;36", text)

    def removed(self, text: str) -> str:
        return self._wrap("31", text)

    def added(self, text: str) -> str:
        return self._wrap("32", text)


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.sort_key(), f.message, f.sink))


def position(loc: Location) -> str:
    """`path:line:col` with a 1-based column, as ruff prints it."""
    return f"{loc.path}:{loc.span.line}:{loc.span.col + 1}"


def styled_position(loc: Location, style: Style) -> str:
    sep = style.accent(":")
    return f"{style.bold(loc.path)}{sep}{loc.span.line}{sep}{loc.span.col + 1}"


def header(finding: Finding, style: Style, *, unsafe: bool = False) -> str:
    """`path:line:col: CODE [*] message`; `[*]` when `--fix` would apply the fix."""
    fixable = f"[{style.accent('*')}] " if finding.fixable_with(unsafe=unsafe) else ""
    return (
        f"{styled_position(finding.location, style)}{style.accent(':')} "
        f"{style.error(finding.code)} {fixable}{finding.message}"
    )


def _cell(ch: str) -> tuple[str, int]:
    """How one character (not a tab) is shown, and how many columns it takes."""
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code), 1  # control pictures: ␀ .. ␟
    if code == 0x7F:
        return "\u2421", 1  # ␡
    if ch in _ESCAPED:
        shown = f"<U+{code:04X}>"
        return shown, len(shown)
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs"):  # C1 controls; lone surrogates cannot be printed
        return "\ufffd", 1
    if category in ("Mn", "Me", "Cf"):  # combining marks, zero-width joiners
        return ch, 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return ch, 2
    return ch, 1


def layout(line: str) -> tuple[str, list[int]]:
    """The displayed form of `line` and the display column at which each character starts.

    The second value has `len(line) + 1` entries; the last one is the line's width.
    Tabs expand to the next multiple of TAB_WIDTH.
    """
    parts: list[str] = []
    starts: list[int] = []
    column = 0
    for ch in line:
        starts.append(column)
        if ch == "\t":
            width = TAB_WIDTH - column % TAB_WIDTH
            parts.append(" " * width)
        else:
            shown, width = _cell(ch)
            parts.append(shown)
        column += width
    starts.append(column)
    return "".join(parts), starts


def display(line: str) -> str:
    return layout(line)[0]


@dataclass
class _Row:
    lineno: int
    text: str
    start: int  # display columns of the underline; start == end: no underline
    end: int


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def frame(
    lines: list[str] | None,
    span: Span,
    style: Style,
    *,
    label: str = "",
    first_line_only: bool = False,
) -> list[str]:
    """A code frame: the lines of `span`, numbered, with `^^^` under the span.

    Returns no lines when the file could not be read or the span lies outside it.
    A span may end past the end of its line (clamped) or start on the line after
    the last (an error at end of file: an empty line is shown).
    """
    if lines is None or span.line < 1 or span.line > len(lines) + 1:
        return []
    first = span.line
    last = max(span.end_line, first)
    if last > first and span.end_col == 0:
        last -= 1  # the span ends where a line starts: that line is not part of it
    if first_line_only:
        last = first
    last = min(last, max(len(lines), first))
    rows: list[_Row] = []
    for lineno in range(first, last + 1):
        source = (lines[lineno - 1] if lineno <= len(lines) else "").rstrip()
        start = span.col if lineno == first else _indent(source)
        end = span.end_col if lineno == span.end_line else len(source)
        start = min(max(start, 0), len(source))
        end = min(max(end, start), len(source))
        shown, starts = layout(source)
        rows.append(_Row(lineno, shown, starts[start], starts[end]))
    if all(row.end <= row.start for row in rows):
        rows[0].end = rows[0].start + 1  # an empty span still gets one caret
    label_row = max(i for i, row in enumerate(rows) if row.end > row.start)
    shown_rows: list[_Row | None] = list(rows)
    if len(rows) > FRAME_MAX_LINES:
        shown_rows = [*rows[:FRAME_HEAD], None, *rows[-FRAME_TAIL:]]
        label_row = max(
            i for i, row in enumerate(shown_rows) if row is not None and row.end > row.start
        )

    width = len(str(last))
    border = style.gutter(" " * width + " |")
    out = [border]
    for i, maybe_row in enumerate(shown_rows):
        if maybe_row is None:
            out.append(style.gutter("..."))
            continue
        row = maybe_row
        number = style.gutter(f"{row.lineno:>{width}} |")
        out.append(f"{number} {row.text}" if row.text else number)
        if row.end > row.start:
            marks = "^" * (row.end - row.start)
            if i == label_row and label:
                marks += f" {label}"
            out.append(f"{border} {' ' * row.start}{style.error(marks)}")
    out.append(border)
    return out
