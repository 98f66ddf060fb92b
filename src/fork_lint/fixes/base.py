"""The fixes' vocabulary: what a fixer answers (`Proposal`, `NoFix`) and edits of
a file's text.

A leaf of the package: libcst, the fixers and the gate import it, it imports none
of them.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fork_lint.model import Applicability

__all__ = [
    "LIBCST_MAX_CHARS",
    "UNPLACEABLE",
    "NoFix",
    "Proposal",
    "TextEdit",
    "Unplaceable",
    "apply_edits",
    "changed_outside",
    "edits_between",
    "offset_of",
    "position",
    "reason_of",
    "split_lines",
]


@dataclass(frozen=True)
class Proposal:
    """A fix: the new text of every file it changes, and the edits that make it.

    `edits` are ranges of each file's current text, found from the rewritten
    syntax tree (`_cst.proposal`), so that they belong to the nodes the fix
    changed. A fixer that only has texts leaves them out; they are then found by
    comparing texts, and a text is taken as libcst prints the file (which differs
    from the file itself where libcst does not reproduce it, see `fixes._place`).
    `propose` hands out proposals whose `changes` are the current texts with the
    `edits` applied, and nothing else.
    """

    message: str
    applicability: Applicability
    changes: Mapping[str, str]  # path -> new text
    edits: Mapping[str, tuple[TextEdit, ...]] = field(default_factory=dict)


class Unplaceable(Exception):
    """A fix edits text that libcst does not reproduce, so it cannot be placed in the file."""


# Files larger than this are analysed, but not parsed by libcst: no fix is offered
# for them (`fixes._parse`; measurements in docs/reliability.md).
LIBCST_MAX_CHARS = 1_000_000

UNPLACEABLE = (
    "libcst does not reproduce this file's text exactly where the fix would edit it "
    "(unusual whitespace, comments or form feeds nearby), so the fix could not keep "
    "every other byte"
)


@dataclass(frozen=True)
class NoFix:
    """The finding's pattern was recognised, but no fix is offered; `reason` says why."""

    reason: str
    # The fix could not be computed (a file libcst cannot take, an error in a
    # fixer), as opposed to a pattern the fixer declines: `--fix` says so.
    failed: bool = False


def reason_of(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it nests too deeply for libcst"
    if isinstance(exc, MemoryError):
        return "libcst runs out of memory on it"
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------------------- edits

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their line breaks, split where Python's tokenizer splits them."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class TextEdit:
    """Replace `text[begin:end]` with `content` (character offsets)."""

    begin: int
    end: int
    content: str


def edits_between(old: str, new: str) -> list[TextEdit]:
    """Small edits that turn `old` into `new`: changed line runs, trimmed to the
    characters that differ."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    new_starts = [0]
    for line in new_lines:
        new_starts.append(new_starts[-1] + len(line))
    out: list[TextEdit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        begin, end = starts[i1], starts[i2]
        content = new[new_starts[j1] : new_starts[j2]]
        removed = old[begin:end]
        prefix = 0
        limit = min(len(removed), len(content))
        while prefix < limit and removed[prefix] == content[prefix]:
            prefix += 1
        suffix = 0
        while (
            suffix < limit - prefix
            and removed[len(removed) - 1 - suffix] == content[len(content) - 1 - suffix]
        ):
            suffix += 1
        out.append(TextEdit(begin + prefix, end - suffix, content[prefix : len(content) - suffix]))
    return [e for e in out if e.begin != e.end or e.content]


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """The text with the (non-overlapping) edits applied; insertions at the same
    place in the order given."""
    out: list[str] = []
    at = 0
    for edit in sorted(edits, key=lambda e: (e.begin, e.end)):
        out.append(text[at : edit.begin])
        out.append(edit.content)
        at = max(at, edit.end)
    out.append(text[at:])
    return "".join(out)


def changed_outside(old: str, new: str, ranges: Iterable[tuple[int, int]]) -> int | None:
    """Where `new` fails to keep a character of `old` that lies outside `ranges`.

    The ranges (of `old`) are what edits may replace, with anything. Every piece
    of `old` between them must be in `new`, whole and in order: the first at the
    start, the last at the end. Returns the offset in `old` of the first piece
    that is not (None when all are kept). This is the safety gate's byte check:
    it compares texts and asks nothing of how the edits were made.
    """
    cuts: list[tuple[int, int]] = []
    for begin, end in sorted(ranges):
        if cuts and begin <= cuts[-1][1]:
            cuts[-1] = (cuts[-1][0], max(end, cuts[-1][1]))
        else:
            cuts.append((begin, end))
    if not cuts:
        return None if old == new else 0
    pieces = [(0, cuts[0][0])]
    pieces += [(a[1], b[0]) for a, b in itertools.pairwise(cuts)]
    pieces.append((cuts[-1][1], len(old)))
    first, last = pieces[0], pieces[-1]
    head, tail = old[first[0] : first[1]], old[last[0] : last[1]]
    if not new.startswith(head):
        differ = (i for i, (a, b) in enumerate(zip(head, new, strict=False)) if a != b)
        return next(differ, len(new))
    limit = len(new) - len(tail)
    if limit < len(head) or not new.endswith(tail):
        return last[0]
    at = len(head)
    for begin, end in pieces[1:-1]:
        found = new.find(old[begin:end], at, limit)
        if found < 0:
            return begin
        at = found + end - begin
    return None


def position(text: str, offset: int) -> tuple[int, int]:
    """(1-based line, 0-based column) of a character offset."""
    line = 1
    col_start = 0
    for m in re.finditer(r"\r\n|\r|\n", text[:offset]):
        line += 1
        col_start = m.end()
    return line, offset - col_start


def offset_of(text: str, line: int, col: int) -> int:
    lines = split_lines(text)
    return sum(len(x) for x in lines[: line - 1]) + col
