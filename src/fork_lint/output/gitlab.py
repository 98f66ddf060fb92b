"""The `gitlab` format: a GitLab Code Quality report (a subset of the Code Climate spec).

Upload it as `artifacts: reports: codequality:` and GitLab shows new and fixed
findings in the merge request. GitLab keys findings by `fingerprint` and shows one
finding per fingerprint, so a repeated fingerprint (two identical sink lines in one
function) is made unique by hashing in its occurrence number; the first occurrence
keeps the plain fingerprint, as in the `json` and `sarif` formats. Paths are as
printed elsewhere, relative to the working directory: run fork-lint from the
repository root in CI.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from fork_lint.model import Finding, Severity
from fork_lint.output._context import RenderContext, cached_reader
from fork_lint.output._text import position, sort_findings

__all__ = ["render_gitlab"]

JsonObject = dict[str, Any]


def _body(finding: Finding) -> str:
    """Markdown with the witness, for the Code Climate `content.body` field."""
    witness = finding.witness
    lines: list[str] = []
    if witness is not None:
        if witness.thread_path:
            lines.append(
                f"Thread started at `{position(witness.thread_start)}` (`{witness.thread_source}`)."
            )
        lines.append(f"Witness: {witness.reason}.")
        for label, hops in (("thread", witness.thread_path), ("fork", witness.fork_path)):
            lines.extend(
                f"- {label}: `{position(hop.location)}` in `{hop.function}`: {hop.description}"
                for hop in hops
            )
    if finding.fix is not None:
        lines.append(f"Fix ({finding.fix.applicability.value}): {finding.fix.message}")
    return "\n".join(lines)


def render_gitlab(findings: Sequence[Finding], ctx: RenderContext) -> str:
    read = cached_reader(ctx.read_lines)
    seen: Counter[str] = Counter()
    issues: list[JsonObject] = []
    for finding in sort_findings(findings):
        lines = read(finding.path)
        line_no = finding.location.span.line
        source_line = lines[line_no - 1] if lines is not None and 1 <= line_no <= len(lines) else ""
        fingerprint = finding.fingerprint(source_line)
        seen[fingerprint] += 1
        if seen[fingerprint] > 1:
            fingerprint = hashlib.sha256(
                f"{fingerprint}\x00{seen[fingerprint]}".encode("utf-8", "surrogatepass")
            ).hexdigest()[:32]
        span = finding.location.span
        issue: JsonObject = {
            "type": "issue",
            "check_name": finding.code,
            "description": f"{finding.code} {finding.message}",
            "categories": ["Bug Risk"],
            "severity": "minor" if finding.severity is Severity.WARNING else "major",
            "fingerprint": fingerprint,
            "location": {
                "path": finding.location.path,
                "lines": {"begin": span.line, "end": max(span.end_line, span.line)},
            },
        }
        body = _body(finding)
        if body:
            issue["content"] = {"body": body}
        issues.append(issue)
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
