"""The `github` format: one workflow command per finding, shown as a pull-request annotation.

    ::error title=fork-lint (FRK001),file=app/jobs.py,line=7,col=11,endLine=7,endColumn=20::...

Columns are 1-based and `endColumn` points one past the last character, as in the
`json` format. GitHub accepts columns only on one-line ranges, so a multi-line span
gives `line` and `endLine` alone. The message carries the witness on further lines.

GitHub shows at most 10 annotations of each level per step. With `--diff-base`, the
context's `rank` puts findings on changed lines first; `step_summary` renders the
markdown table the CLI appends to `$GITHUB_STEP_SUMMARY`, which lists every finding.
"""

from __future__ import annotations

from collections.abc import Sequence

from fork_lint.model import Finding, Severity
from fork_lint.output._context import RenderContext
from fork_lint.output._text import position, sort_findings
from fork_lint.rules import BY_CODE

__all__ = [
    "ANNOTATIONS_SHOWN",
    "escape_data",
    "escape_property",
    "render_github",
    "step_summary",
]

ANNOTATIONS_SHOWN = 10  # per level and step, on GitHub's side


def escape_data(text: str) -> str:
    """Escape a command's message as the runner decodes it (`%`, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value: the message escapes plus `:` and `,`, which end a value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def ordered(findings: Sequence[Finding], ctx: RenderContext) -> list[Finding]:
    """By location, or by (rank, location) when the context ranks findings."""
    by_location = sort_findings(findings)
    rank = ctx.rank
    if rank is None:
        return by_location
    return sorted(by_location, key=rank)  # stable: location order within a rank


def _details(finding: Finding, unsafe: bool) -> str:
    lines = [finding.message]
    witness = finding.witness
    if witness is not None:
        if witness.thread_path:
            lines.append(
                f"thread started at {position(witness.thread_start)} ({witness.thread_source})"
            )
        lines.append(f"witness: {witness.reason}")
        for label, hops in (("thread", witness.thread_path), ("fork", witness.fork_path)):
            for hop in hops:
                lines.append(
                    f"  {label + ':':<7} {position(hop.location)} in {hop.function}: "
                    f"{hop.description}"
                )
    if finding.fix is not None:
        star = "[*] " if finding.fixable_with(unsafe=unsafe) else ""
        lines.append(f"help: {star}{finding.fix.message}")
    rule = BY_CODE.get(finding.code)
    if rule is not None:
        lines.append(f"docs: {rule.doc_url}")
    return "\n".join(lines)


def annotation(finding: Finding, *, unsafe: bool = False) -> str:
    """The workflow command for one finding, without the trailing newline."""
    span = finding.location.span
    level = "warning" if finding.severity is Severity.WARNING else "error"
    props = [
        ("title", f"fork-lint ({finding.code})"),
        ("file", finding.location.path),
        ("line", str(span.line)),
    ]
    if span.end_line == span.line:
        props += [("col", str(span.col + 1))]
    props += [("endLine", str(max(span.end_line, span.line)))]
    if span.end_line == span.line:
        props += [("endColumn", str(max(span.end_col, span.col) + 1))]
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{level} {rendered}::{escape_data(_details(finding, unsafe))}"


def render_github(findings: Sequence[Finding], ctx: RenderContext) -> str:
    return "".join(annotation(f, unsafe=ctx.unsafe_fixes) + "\n" for f in ordered(findings, ctx))


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell: no row or cell breaks, no raw HTML."""
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def step_summary(
    findings: Sequence[Finding],
    ctx: RenderContext,
    *,
    diff_base: str | None = None,
    left_out: int = 0,
    baseline_matched: int = 0,
) -> str:
    """Markdown for `$GITHUB_STEP_SUMMARY`: a heading, a count and a table of every finding.

    `left_out` counts findings away from the change that `--only-changed` dropped;
    `baseline_matched` those a `--baseline` hid. Rows follow the annotations' order.
    """
    rows = ordered(findings, ctx)
    out = ["## fork-lint", ""]
    if not rows:
        out.append("No findings.")
    else:
        count = f"{_plural(len(rows), 'finding')}"
        if ctx.rank is not None and diff_base is not None:
            touched = sum(1 for f in rows if ctx.rank(f) < 2)
            count += f", {touched} touching lines changed since `{_cell(diff_base)}`"
        out.append(count + ".")
    notes = []
    if left_out:
        notes.append(
            f"{_plural(left_out, 'finding')} away from the changed lines "
            "left out (`--only-changed`)."
        )
    if baseline_matched:
        notes.append(f"{_plural(baseline_matched, 'finding')} in the baseline not shown.")
    if len(rows) > ANNOTATIONS_SHOWN:
        notes.append(
            f"GitHub shows the first {ANNOTATIONS_SHOWN} annotations of each level per step; "
            "this table lists them all."
        )
    if notes:
        out += ["", *(f"- {note}" for note in notes)]
    if rows:
        ranked = ctx.rank is not None
        head = ["Code", "Location", "Message", "Thread started at"]
        if ranked:
            head.insert(0, "Changed")
        out += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        labels = {0: "line", 1: "witness", 2: ""}
        for finding in rows:
            rule = BY_CODE.get(finding.code)
            code = f"[{finding.code}]({rule.doc_url})" if rule is not None else finding.code
            witness = finding.witness
            start = position(witness.thread_start) if witness and witness.thread_path else ""
            cells = [
                code,
                _cell(position(finding.location)),
                _cell(finding.message),
                _cell(start),
            ]
            if ranked and ctx.rank is not None:
                cells.insert(0, labels.get(ctx.rank(finding), ""))
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
