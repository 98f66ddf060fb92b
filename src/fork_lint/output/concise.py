"""The `concise` format: `path:line:col: CODE [*] message`, one finding per line."""

from __future__ import annotations

from collections.abc import Sequence

from fork_lint.model import Finding
from fork_lint.output._context import RenderContext
from fork_lint.output._text import Style, header, sort_findings


def render_concise(findings: Sequence[Finding], ctx: RenderContext) -> str:
    style = Style(ctx.color)
    return "".join(
        header(f, style, unsafe=ctx.unsafe_fixes) + "\n" for f in sort_findings(findings)
    )
