"""The `sarif` format: SARIF 2.1.0, as GitHub code scanning and other SARIF viewers read it.

One run; `tool.driver.rules` lists every rule with its documentation. Each result
points at the sink, links the thread start as related location 1, carries the
witness as a code flow (the thread path, then the fork path, in the order they
execute) and any fix with edits as `fixes`. `partialFingerprints["forkLint/v1"]` is
the finding's fingerprint, which leaves line numbers out so it survives unrelated
edits. URIs are relative to the working directory (`%SRCROOT%`), columns count code
points (`columnKind`), and an end column points one past the last character.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from fork_lint import __version__
from fork_lint.model import Finding, Fix, Hop, Location, Severity, Span
from fork_lint.output._context import RenderContext, cached_reader
from fork_lint.output._text import sort_findings
from fork_lint.rules import ALL_RULES, Rule

__all__ = ["FINGERPRINT_KEY", "SARIF_SCHEMA", "SARIF_VERSION", "render_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "forkLint/v1"
INFORMATION_URI = "https://github.com/fork-lint/fork-lint"
SRCROOT = "%SRCROOT%"

JsonObject = dict[str, Any]


def render_sarif(findings: Sequence[Finding], ctx: RenderContext) -> str:
    read = cached_reader(ctx.read_lines)
    index = {rule.code: i for i, rule in enumerate(ALL_RULES)}
    results = []
    for finding in sort_findings(findings):
        lines = read(finding.path)
        line_no = finding.location.span.line
        source_line = lines[line_no - 1] if lines is not None and 1 <= line_no <= len(lines) else ""
        results.append(_result(finding, source_line, index.get(finding.code)))
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "fork-lint",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rule) for rule in ALL_RULES],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# -- rules --------------------------------------------------------------------------


def _section(doc: str, heading: str) -> str:
    """The text of `## heading` in a rule page, or "" if absent.

    Lines are joined within a paragraph and within a list item, so viewers that wrap
    text (GitHub's rule help) do not show the page's hard line breaks.
    """
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", doc, re.M | re.S)
    if match is None:
        return ""
    paragraphs = []
    for paragraph in match[1].strip().split("\n\n"):
        items: list[list[str]] = []
        for line in paragraph.splitlines():
            if not items or re.match(r"\s*(?:[-*]|\d+\.)\s", line):
                items.append([])
            items[-1].append(line.strip())
        paragraphs.append("\n".join(" ".join(item) for item in items if item))
    return "\n\n".join(p for p in paragraphs if p)


@functools.cache
def _rule_doc(code: str) -> str:
    from fork_lint.docs import rule_doc

    try:
        return rule_doc(code)
    except (KeyError, FileNotFoundError):
        return ""


def _rule(rule: Rule) -> JsonObject:
    doc = _rule_doc(rule.code)
    full = _section(doc, "What it does") or rule.summary
    tags = ["concurrency", "reliability"] if rule.sink_kind else ["fork-lint"]
    out: JsonObject = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": full},
        "helpUri": rule.doc_url,
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": tags, "problem.severity": "error"},
    }
    if doc:
        out["help"] = {"text": doc, "markdown": doc}
    return out


# -- results --------------------------------------------------------------------------


def _uri(path: str) -> JsonObject:
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return {"uri": "file://" + _quote(posix.as_posix())}
    return {"uri": _quote(posix.as_posix()), "uriBaseId": SRCROOT}


def _quote(path: str) -> str:
    """Percent-encode a path; a name that is not UTF-8 gives its own bytes (%FF)."""
    return quote(path, errors="surrogateescape")


def _region(span: Span) -> JsonObject:
    end_line = max(span.end_line, span.line)
    end_col = span.end_col if end_line > span.line else max(span.end_col, span.col)
    return {
        "startLine": span.line,
        "startColumn": span.col + 1,
        "endLine": end_line,
        "endColumn": end_col + 1,
    }


def _physical(loc: Location) -> JsonObject:
    return {"artifactLocation": _uri(loc.path), "region": _region(loc.span)}


def _text(text: str) -> str:
    """Plain SARIF message text: literal brackets are escaped, as links use them."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _flow_step(label: str, hop: Hop, depth: int) -> JsonObject:
    return {
        "location": {
            "physicalLocation": _physical(hop.location),
            "message": {"text": _text(f"{label}: {hop.description} (in {hop.function})")},
        },
        "nestingLevel": depth,
    }


def _fixes(fix: Fix) -> list[JsonObject]:
    by_path: dict[str, list[JsonObject]] = {}
    for edit in fix.edits:
        by_path.setdefault(edit.path, []).append(
            {"deletedRegion": _region(edit.span), "insertedContent": {"text": edit.content}}
        )
    if not by_path:
        return []  # a display-only fix: nothing a tool could apply
    return [
        {
            "description": {"text": _text(fix.message)},
            "artifactChanges": [
                {"artifactLocation": _uri(path), "replacements": replacements}
                for path, replacements in by_path.items()
            ],
            "properties": {"applicability": fix.applicability.value},
        }
    ]


def _result(finding: Finding, source_line: str, rule_index: int | None) -> JsonObject:
    location: JsonObject = {"physicalLocation": _physical(finding.location)}
    if finding.function:
        location["logicalLocations"] = [
            {"fullyQualifiedName": finding.function, "kind": "function"}
        ]
    message = _text(finding.message)
    witness = finding.witness
    result: JsonObject = {"ruleId": finding.code}
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    result["level"] = "warning" if finding.severity is Severity.WARNING else "error"
    if witness is not None and witness.thread_path:
        message = message.rstrip(".") + ". The thread is started [here](1)."
    result["message"] = {"text": message}
    result["locations"] = [location]
    result["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint(source_line)}
    if witness is not None:
        if witness.thread_path:
            result["relatedLocations"] = [
                {
                    "id": 1,
                    "physicalLocation": _physical(witness.thread_start),
                    "message": {"text": _text(f"thread started here ({witness.thread_source})")},
                }
            ]
        steps = [_flow_step("thread", hop, i) for i, hop in enumerate(witness.thread_path)]
        steps += [_flow_step("fork", hop, i) for i, hop in enumerate(witness.fork_path)]
        if steps:
            result["codeFlows"] = [
                {
                    "message": {"text": _text(witness.reason)},
                    "threadFlows": [{"locations": steps}],
                }
            ]
    if finding.fix is not None:
        fixes = _fixes(finding.fix)
        if fixes:
            result["fixes"] = fixes
    result["properties"] = {"sink": finding.sink} if finding.sink else {}
    if not result["properties"]:
        del result["properties"]
    return result
