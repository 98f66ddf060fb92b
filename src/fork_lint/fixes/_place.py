"""Where a fix edits a file: ranges of the file's own text, found by node identity.

libcst prints a module from its tree, and for some files the print is not the
file (`cst.parse_module(text).code != text`): a form feed at the start of the
file, comments dedented below the end of a block followed by whitespace at the
end of the file, the last lone CR. Writing the print of a fixed tree would
delete those bytes, far from the fix. So a fix never writes libcst's print of a
whole module. Instead:

1. the original tree and the fixed tree are printed, recording where each node
   lands (`spans`);
2. a node of the original tree that is also in the fixed tree (the same object:
   transformers hand back unchanged subtrees as they are, see `preserved`) and
   prints the same text in both is an anchor; what lies between two anchors is
   what the fix changed there (`tree_edits`). Edits found this way belong to the
   node that changed, not to the first piece of identical text: two identical
   calls in one function are two places;
3. the edits, positions in libcst's print, are moved to the original text
   through an alignment of the two (`Alignment`). An edit that touches text the
   print does not reproduce cannot be placed, and the fix is refused.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import functools
from collections.abc import Mapping, Sequence
from typing import cast

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodeRange, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from fork_lint.fixes.base import TextEdit, Unplaceable, edits_between, split_lines

__all__ = ["Alignment", "Layout", "Printed", "layout", "preserved", "spans", "tree_edits"]

Span = tuple[int, int]


class _SpanState(CodegenState):
    """Code generation that records the character span of every node it prints."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.offset = 0
        self.found: dict[cst.CSTNode, Span] = {}
        self.twice: set[cst.CSTNode] = set()  # printed more than once: no anchor
        self._starts: list[int] = []

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        self.offset += sum(len(t) for t in self.indent_tokens)

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.offset -= len(self.tokens.pop())

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._starts.pop()
        if node in self.found:
            self.twice.add(node)
        self.found[node] = (start, self.offset)


Printing = tuple[str, dict[cst.CSTNode, Span], set[cst.CSTNode]]


def spans(module: cst.Module) -> Printing:
    """The module's print, where each node lands in it, and the nodes printed twice.

    The last answer is kept: a fix prints its new tree to see which imports it
    left unused, and again to place its edits.
    """
    if _last and _last[0][0] is module:
        return _last[0][1]
    state = _SpanState(module)
    module._codegen(state)
    printing = _finish(state)
    _last[:] = [(module, printing)]
    return printing


_last: list[tuple[cst.Module, Printing]] = []


def _finish(state: _SpanState | _LayoutState) -> Printing:
    text = "".join(state.tokens)
    end = len(text)  # the last line break may have been taken back after it was recorded
    found = {n: (min(s, end), min(e, end)) for n, (s, e) in state.found.items()}
    return text, found, state.twice


class _LayoutState(PositionProvidingCodegenState):
    """One printing of a parsed module for everything the fixes ask of it: the
    print and each node's span in it (for placing edits), each node's line and
    column (`PositionProvider`'s, for finding a finding's node) and each node's
    parent. libcst computes each of these with a walk of its own; a large file
    pays for one."""

    def __init__(self, module: cst.Module, provider: PositionProvider) -> None:
        super().__init__(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=provider,
        )
        self.offset = 0
        self.found: dict[cst.CSTNode, Span] = {}
        self.twice: set[cst.CSTNode] = set()
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.order: list[cst.CSTNode] = []  # parents before children
        self._open: list[tuple[cst.CSTNode, int]] = []

    def add_token(self, value: str) -> None:
        super().add_token(value)
        self.offset += len(value)

    def add_indent_tokens(self) -> None:
        super().add_indent_tokens()
        self.offset += sum(len(t) for t in self.indent_tokens)

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.offset -= len(self.tokens[-1])
        super().pop_trailing_newline()

    def before_codegen(self, node: cst.CSTNode) -> None:
        super().before_codegen(node)
        if self._open:
            self.parents[node] = self._open[-1][0]
        self.order.append(node)
        self._open.append((node, self.offset))

    def after_codegen(self, node: cst.CSTNode) -> None:
        super().after_codegen(node)
        _, start = self._open.pop()
        if node in self.found:
            self.twice.add(node)
        self.found[node] = (start, self.offset)


@dataclasses.dataclass
class Layout:
    printed: Printed
    positions: Mapping[cst.CSTNode, CodeRange]
    parents: dict[cst.CSTNode, cst.CSTNode]
    order: list[cst.CSTNode]


def layout(original: str, module: cst.Module) -> Layout:
    """Print the parsed module once, recording what `ParsedFile` needs."""
    provider = PositionProvider()
    state = _LayoutState(module, provider)
    module._codegen(state)
    text, found, _ = _finish(state)
    printed = Printed(original, text, found)
    positions = cast("Mapping[cst.CSTNode, CodeRange]", provider._computed)
    return Layout(printed, positions, state.parents, state.order)


def preserved(original: cst.CSTNode, updated: cst.CSTNode, result: cst.CSTNode) -> cst.CSTNode:
    """`original` if a transformer left the node as it was, else `result`.

    libcst builds a new node for every node it visits; handing back the original
    object when none of its children changed keeps untouched subtrees shared
    between the old and the new tree, which is what `tree_edits` anchors on.
    """
    if result is not updated or updated is original or type(updated) is not type(original):
        return result
    for name in _field_names(type(original)):
        a, b = getattr(original, name), getattr(updated, name)
        if a is b:
            continue
        if (
            isinstance(a, (list, tuple))
            and isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(x is y for x, y in zip(a, b, strict=True))
        ):
            continue
        return result
    return original


@functools.cache
def _field_names(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def tree_edits(
    old_text: str, old_spans: dict[cst.CSTNode, Span], new: cst.Module
) -> list[TextEdit]:
    """Edits of `old_text` (the print of the original tree) that give the print of `new`."""
    new_text, new_spans, twice = spans(new)
    _last.clear()  # the tree is done with: do not keep it alive
    anchors: list[tuple[Span, Span]] = []
    stack: list[cst.CSTNode] = [new]
    while stack:
        node = stack.pop()
        old = old_spans.get(node)
        here = new_spans.get(node)
        if (
            old is not None
            and here is not None
            and old[0] != old[1]  # an empty node anchors nothing
            and node not in twice
            and old[1] - old[0] == here[1] - here[0]
            and old_text[old[0] : old[1]] == new_text[here[0] : here[1]]
        ):
            anchors.append((old, here))
            continue
        stack.extend(reversed(node.children))
    edits: list[TextEdit] = []
    old_at = new_at = 0
    for old, here in anchors:
        if old[0] < old_at or here[0] < new_at:
            continue  # a node moved: the text around it is compared as text
        edits.extend(_gap(old_text, new_text, (old_at, old[0]), (new_at, here[0])))
        old_at, new_at = old[1], here[1]
    edits.extend(_gap(old_text, new_text, (old_at, len(old_text)), (new_at, len(new_text))))
    return edits


def _gap(old_text: str, new_text: str, old: Span, new: Span) -> list[TextEdit]:
    before, after = old_text[old[0] : old[1]], new_text[new[0] : new[1]]
    if before == after:
        return []
    return [
        TextEdit(e.begin + old[0], e.end + old[0], e.content) for e in edits_between(before, after)
    ]


class Printed:
    """A parsed file as libcst prints it: the text, where each node lands in it, and
    how that text lines up with the file's own."""

    def __init__(self, original: str, text: str, found: dict[cst.CSTNode, Span]) -> None:
        self.original = original
        self.text, self.spans = text, found
        self.alignment = Alignment(original, text)

    def edits(self, new: cst.Module) -> list[TextEdit]:
        """Edits of the file's text that make the change from its tree to `new`."""
        placed = self.alignment.place(tree_edits(self.text, self.spans, new))
        return _by_line(self.original, placed)

    def text_edits(self, new_text: str) -> list[TextEdit]:
        """The same for a fix that only has the new text (as libcst printed it):
        compared as text, so of two identical lines the first may take the edit."""
        return self.alignment.place(edits_between(self.text, new_text))


def _by_line(text: str, edits: Sequence[TextEdit]) -> list[TextEdit]:
    """Edits with nothing but the same line between them made one, as a reader (and
    the JSON output) sees them: `preexec_fn=os.setsid` -> `start_new_session=True`,
    not two edits around the `=` that both happen to keep."""
    out: list[TextEdit] = []
    for e in sorted(edits, key=lambda e: (e.begin, e.end)):
        if out and "\n" not in (between := text[out[-1].end : e.begin]) and "\r" not in between:
            last = out[-1]
            out[-1] = TextEdit(last.begin, e.end, last.content + between + e.content)
        else:
            out.append(e)
    return out


class Alignment:
    """Offsets in libcst's print of a file moved to the file's own text."""

    def __init__(self, original: str, printed: str) -> None:
        self.exact = original == printed
        # (offset in the print, offset in the file, length) of the text both share
        self._blocks: list[tuple[int, int, int]] = []
        if not self.exact:
            self._blocks = _matching(original, printed)
        self._starts = [b[0] for b in self._blocks]

    def place(self, edits: Sequence[TextEdit]) -> list[TextEdit]:
        """The edits in the file's text; `Unplaceable` if one touches what the print lost."""
        if self.exact:
            return list(edits)
        return [self._place(e) for e in edits]

    def _place(self, edit: TextEdit) -> TextEdit:
        # The last block that holds the whole range, ends included: an insertion
        # where the print dropped text goes after that text (after a leading form
        # feed, for an import added at the top).
        i = bisect.bisect_right(self._starts, edit.begin) - 1
        while i >= 0:
            printed_at, file_at, size = self._blocks[i]
            if printed_at + size < edit.begin:
                break
            if edit.end <= printed_at + size:
                shift = file_at - printed_at
                return TextEdit(edit.begin + shift, edit.end + shift, edit.content)
            i -= 1
        raise Unplaceable


def _matching(original: str, printed: str) -> list[tuple[int, int, int]]:
    """Blocks of text the file and its print share, in order: by lines, then by
    characters inside the lines that differ."""
    file_lines, print_lines = split_lines(original), split_lines(printed)
    file_starts = _starts(file_lines)
    print_starts = _starts(print_lines)
    out: list[tuple[int, int, int]] = []
    matcher = difflib.SequenceMatcher(None, file_lines, print_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        f0, p0 = file_starts[i1], print_starts[j1]
        if tag == "equal":
            out.append((p0, f0, file_starts[i2] - f0))
            continue
        part_file = original[f0 : file_starts[i2]]
        part_print = printed[p0 : print_starts[j2]]
        chars = difflib.SequenceMatcher(None, part_file, part_print, autojunk=False)
        for a, b, size in chars.get_matching_blocks():
            if size:
                out.append((p0 + b, f0 + a, size))
    # Zero-length blocks at both ends let an insertion at the very start or end be placed.
    return [(0, 0, 0), *out, (len(printed), len(original), 0)]


def _starts(lines: Sequence[str]) -> list[int]:
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts
