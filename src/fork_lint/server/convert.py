"""Findings and fixes in the Language Server Protocol's terms.

Positions: fork-lint's spans count lines from 1 and columns in characters (code
points) from 0; the protocol counts lines from 0 and columns in the code units of
the encoding negotiated at initialisation (UTF-16 unless the client offers
another). A column is converted from the text of its line as the analysis read
it, so a character outside ASCII before a finding moves the column exactly as
the editor expects. Lines end at "\\n", "\\r\\n" and "\\r" for both Python and the
protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from lsprotocol import types

from fork_lint.fixes import TextEdit, edits_between, position
from fork_lint.model import Finding, Hop, Location, Severity
from fork_lint.output import split_source_lines
from fork_lint.rules import BY_CODE, UNUSED_NOQA

__all__ = [
    "Columns",
    "diagnostic",
    "hover_markdown",
    "lsp_range",
    "text_edits",
]

SOURCE = "fork-lint"

# (path, 1-based line) -> the line's text, as analysed
Lines = Mapping[tuple[str, int], str]


class Columns:
    """Character columns to the client's code units."""

    def __init__(self, encoding: str) -> None:
        self.encoding = str(encoding)

    def units(self, text: str, col: int) -> int:
        prefix = text[:col]
        if prefix.isascii():
            return len(prefix)
        if self.encoding == types.PositionEncodingKind.Utf8:
            return len(prefix.encode("utf-8", "surrogatepass"))
        if self.encoding == types.PositionEncodingKind.Utf32:
            return len(prefix)
        return len(prefix.encode("utf-16-le", "surrogatepass")) // 2

    def position(self, line: int, col: int, text: str | None) -> types.Position:
        """The protocol's position of 1-based `line`, character column `col` of `text`."""
        character = col if text is None else self.units(text, col)
        return types.Position(line=line - 1, character=character)


def lsp_range(location: Location, lines: Lines, columns: Columns) -> types.Range:
    span, path = location.span, location.path
    return types.Range(
        start=columns.position(span.line, span.col, lines.get((path, span.line))),
        end=columns.position(span.end_line, span.end_col, lines.get((path, span.end_line))),
    )


def _hop_message(kind: str, hop: Hop) -> str:
    return f"{kind}: in `{hop.function}`: {hop.description}"


def _related(
    location: Location, message: str, lines: Lines, columns: Columns, uri_of: Callable[[str], str]
) -> types.DiagnosticRelatedInformation:
    where = types.Location(uri=uri_of(location.path), range=lsp_range(location, lines, columns))
    return types.DiagnosticRelatedInformation(location=where, message=message)


def diagnostic(
    finding: Finding,
    lines: Lines,
    columns: Columns,
    uri_of: Callable[[str], str],
    data: object = None,
) -> types.Diagnostic:
    """The finding as a diagnostic: its witness as related information (the thread
    start, then every step of the thread path and the fork path, in the order
    they run) and its rule's page as the code description."""
    related = []
    witness = finding.witness
    if witness is not None:
        steps = [("thread", h) for h in witness.thread_path] + [
            ("fork", h) for h in witness.fork_path
        ]
        if witness.thread_path:  # the thread start first, then the other steps in order
            start = witness.thread_path[-1]
            steps.remove(("thread", start))
            related.append(
                _related(
                    start.location,
                    f"thread started here: {start.description}; {witness.reason}",
                    lines,
                    columns,
                    uri_of,
                )
            )
        for kind, hop in steps:
            related.append(_related(hop.location, _hop_message(kind, hop), lines, columns, uri_of))
    rule = BY_CODE.get(finding.code)
    return types.Diagnostic(
        range=lsp_range(finding.location, lines, columns),
        message=finding.message,
        severity=(
            types.DiagnosticSeverity.Warning
            if finding.severity is Severity.WARNING
            else types.DiagnosticSeverity.Error
        ),
        code=finding.code,
        code_description=types.CodeDescription(href=rule.doc_url) if rule is not None else None,
        source=SOURCE,
        tags=[types.DiagnosticTag.Unnecessary] if finding.code == UNUSED_NOQA.code else None,
        related_information=related or None,
        data=data,
    )


def _place(location: Location) -> str:
    s = location.span
    return f"{location.path}:{s.line}:{s.col + 1}"


def hover_markdown(findings: Sequence[Finding]) -> str:
    """The findings of a line, each with its witness, as markdown."""
    blocks = []
    for f in findings:
        rule = BY_CODE.get(f.code)
        name = f" ({rule.name})" if rule is not None else ""
        out = [f"**{f.code}**{name}: {_escape(f.message)}"]
        witness = f.witness
        if witness is not None:
            if witness.thread_path:
                out.append(
                    f"Thread started at `{_place(witness.thread_start)}` "
                    f"(`{witness.thread_source}`)."
                )
            out.append(f"Witness: {_escape(witness.reason)}, starting from `{witness.anchor}`:")
            steps = [
                f"- {kind}: `{_place(h.location)}` in `{h.function}`: {_escape(h.description)}"
                for kind, hops in (("thread", witness.thread_path), ("fork", witness.fork_path))
                for h in hops
            ]
            out.append("\n".join(steps))
        if f.fix is not None:
            out.append(f"Fix ({f.fix.applicability.value}): {_escape(f.fix.message)}")
        if rule is not None:
            out.append(f"[{f.code} documentation]({rule.doc_url})")
        blocks.append("\n\n".join(out))
    return "\n\n---\n\n".join(blocks)


def _escape(text: str) -> str:
    """Markdown would take `*`, `_` and `<` outside code spans as markup; the
    texts hold code in backticks, which stays as it is."""
    out = []
    for i, part in enumerate(text.split("`")):
        escaped = part
        if i % 2 == 0:
            for ch in "\\*_<[]":
                escaped = escaped.replace(ch, "\\" + ch)
        out.append(escaped)
    return "`".join(out)


def text_edits(before: str, after: str, columns: Columns) -> list[types.TextEdit]:
    """Small edits that turn `before` into `after`, in the client's positions in `before`."""
    lines = split_source_lines(before)

    def at(offset: int) -> types.Position:
        line, col = position(before, offset)
        text = lines[line - 1] if line <= len(lines) else ""
        return columns.position(line, col, text)

    return [
        types.TextEdit(range=types.Range(start=at(e.begin), end=at(e.end)), new_text=e.content)
        for e in _sorted(edits_between(before, after))
    ]


def _sorted(edits: Iterable[TextEdit]) -> list[TextEdit]:
    return sorted(edits, key=lambda e: (e.begin, e.end))


def workspace_edit(
    changes: Mapping[str, tuple[str, str]],
    versions: Mapping[str, int | None],
    uri_of: Callable[[str], str],
    columns: Columns,
    *,
    document_changes: bool,
) -> types.WorkspaceEdit:
    """One edit for all the changed files. An open document's edit names the
    version the fix was computed from, so a client whose text has moved on
    refuses it instead of applying it in the wrong place."""
    if document_changes:
        edits: list[types.TextDocumentEdit] = []
        for path in sorted(changes):
            before, after = changes[path]
            identifier = types.OptionalVersionedTextDocumentIdentifier(
                uri=uri_of(path), version=versions.get(path)
            )
            edits.append(
                types.TextDocumentEdit(
                    text_document=identifier, edits=list(text_edits(before, after, columns))
                )
            )
        return types.WorkspaceEdit(document_changes=edits)
    return types.WorkspaceEdit(
        changes={
            uri_of(path): text_edits(before, after, columns)
            for path, (before, after) in sorted(changes.items())
        }
    )
