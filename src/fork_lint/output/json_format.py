"""The `json` format: a JSON array of findings; the schema is documented in docs/output.md.

Rows are 1-based; columns are 1-based characters, and an end column points one past
the last character, as in ruff's JSON output.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fork_lint.model import Finding, Fix, Hop, Location, Span, Witness
from fork_lint.output._context import RenderContext, cached_reader
from fork_lint.output._text import sort_findings
from fork_lint.rules import BY_CODE

JsonObject = dict[str, Any]


def render_json(findings: Sequence[Finding], ctx: RenderContext) -> str:
    read = cached_reader(ctx.read_lines)
    rows: list[JsonObject] = []
    for finding in sort_findings(findings):
        lines = read(finding.path)
        line_no = finding.location.span.line
        source_line = lines[line_no - 1] if lines is not None and 1 <= line_no <= len(lines) else ""
        rows.append(finding_to_json(finding, source_line))
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def finding_to_json(finding: Finding, source_line: str = "") -> JsonObject:
    """One element of the `json` output; `source_line` is the sink's first line."""
    rule = BY_CODE.get(finding.code)
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "severity": finding.severity.value,
        **_location(finding.location),
        "sink": finding.sink,
        "fix": _fix(finding.fix),
        "url": rule.doc_url if rule is not None else None,
        "fingerprint": finding.fingerprint(source_line),
        "witness": _witness(finding.witness),
    }


def _position(line: int, col: int) -> JsonObject:
    return {"row": line, "column": col + 1}


def _range(span: Span) -> JsonObject:
    return {
        "location": _position(span.line, span.col),
        "end_location": _position(span.end_line, span.end_col),
    }


def _location(loc: Location) -> JsonObject:
    return {"filename": loc.path, **_range(loc.span)}


def _fix(fix: Fix | None) -> JsonObject | None:
    if fix is None:
        return None
    return {
        "applicability": fix.applicability.value,
        "message": fix.message,
        "edits": [
            {"filename": edit.path, "content": edit.content, **_range(edit.span)}
            for edit in fix.edits
        ],
    }


def _hop(hop: Hop) -> JsonObject:
    return {
        "function": hop.function,
        **_location(hop.location),
        "description": hop.description,
    }


def _witness(witness: Witness | None) -> JsonObject | None:
    if witness is None:
        return None
    return {
        "anchor": witness.anchor,
        "reason": witness.reason,
        "thread_source": witness.thread_source,
        "thread_start": _location(witness.thread_start) if witness.thread_path else None,
        "thread_path": [_hop(hop) for hop in witness.thread_path],
        "fork_path": [_hop(hop) for hop in witness.fork_path],
    }
