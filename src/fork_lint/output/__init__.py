"""Reporters: turn findings into text for the terminal or for tools.

Every format is a function `(findings, ctx) -> str`; the string ends with a
newline unless it is empty. See docs/output.md for what each format prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fork_lint.fsio import printable
from fork_lint.model import Finding
from fork_lint.output._context import RenderContext, read_source_lines, split_source_lines
from fork_lint.output.concise import render_concise
from fork_lint.output.full import render_full
from fork_lint.output.github import render_github
from fork_lint.output.gitlab import render_gitlab
from fork_lint.output.json_format import finding_to_json, render_json
from fork_lint.output.junit import render_junit
from fork_lint.output.sarif import render_sarif
from fork_lint.output.summary import statistics, summary

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "RenderContext",
    "finding_to_json",
    "printable_output",
    "read_source_lines",
    "render",
    "split_source_lines",
    "statistics",
    "summary",
]

Renderer = Callable[[Sequence[Finding], RenderContext], str]

FORMATS: dict[str, Renderer] = {
    "full": render_full,
    "concise": render_concise,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
    "gitlab": render_gitlab,
    "junit": render_junit,
}
DEFAULT_FORMAT = "full"


# Formats whose text is JSON: a name's escapes go inside JSON strings.
_JSON_FORMATS = frozenset({"json", "sarif", "gitlab"})


def render(fmt: str, findings: Sequence[Finding], ctx: RenderContext) -> str:
    """Render `findings` in format `fmt` (a key of FORMATS); ValueError for unknown formats.

    File names that are not UTF-8 (and module names made from them) come out with
    their bytes escaped (`fsio.printable`), so every format can be written.
    """
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"unknown output format {fmt!r} (expected one of: {known})") from None
    return printable_output(fmt, renderer(findings, ctx))


def printable_output(fmt: str, text: str) -> str:
    """`fsio.printable` for the text of format `fmt`."""
    return printable(text, "\\\\" if fmt in _JSON_FORMATS else "\\")
