"""FRK100's fix: take the unused codes out of a ``# noqa`` comment.

The comment keeps the codes still in use, other tools' codes included, in the
order and with the separator it had. A comment left without codes goes, with
the text after its codes (a reason) and the spaces before it; a comment that
follows it on the line stays (``# type: ignore  # noqa: FRK001`` becomes
``# type: ignore``). Only the characters of the comment change: it is a text
edit, the code of the line is not touched, so the fix is safe.
"""

from __future__ import annotations

import re

from fork_lint.fixes.base import NoFix, Proposal, split_lines
from fork_lint.fixes.context import FixContext
from fork_lint.index.noqa import NOQA
from fork_lint.model import Applicability, Finding
from fork_lint.rules import UNUSED_NOQA
from fork_lint.rules.unused_noqa import UNUSED_CODES

_SEPARATOR = re.compile(r"[,\s]+")


def fix(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
    if finding.code != UNUSED_NOQA.code:
        return None
    unused = set(dict(finding.extra).get(UNUSED_CODES, "").split(","))
    path = finding.location.path
    text = ctx.source(path)
    span = finding.location.span
    if text is None or not unused:
        return None
    lines = split_lines(text)
    if not 1 <= span.line <= len(lines):
        return None
    line = lines[span.line - 1]
    body = line.rstrip("\r\n")
    match = next((m for m in NOQA.finditer(body) if m.start() == span.col), None)
    if match is None or match.group("codes") is None:
        return None  # the comment is not where the analysis saw it (or already fixed)
    codes_text = match.group("codes")
    codes = [c for c in _SEPARATOR.split(codes_text) if c]
    keep = [c for c in codes if c.upper() not in unused]
    if len(keep) == len(codes):
        return None
    if keep:
        separators = _SEPARATOR.findall(codes_text)
        joined = (separators[0] if separators else ", ").join(keep)
        new_body = body[: match.start("codes")] + joined + body[match.end("codes") :]
        message = "Remove the unused code" + ("s" if len(codes) - len(keep) > 1 else "")
    else:
        after = body.find("#", match.end())
        head = body[: match.start()]
        new_body = head + body[after:] if after >= 0 else head.rstrip()
        message = "Remove the unused `noqa` comment"
    new_line = new_body + line[len(body) :]
    lines[span.line - 1] = new_line
    return Proposal(message, Applicability.SAFE, {path: "".join(lines)})
