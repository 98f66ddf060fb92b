"""`--statistics` table and the closing summary lines, worded as ruff words them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fork_lint.model import Finding
from fork_lint.output._context import RenderContext
from fork_lint.output._text import Style
from fork_lint.rules import BY_CODE


@dataclass
class _Row:
    code: str
    text: str
    count: int = 0
    fixable: bool = False


def statistics(findings: Sequence[Finding], ctx: RenderContext) -> str:
    """One line per rule: count, code, `[*]` when fixable, the rule's summary.

    Columns are aligned and separated by tabs, as in `ruff check --statistics`;
    the `[*]`/`[ ]` column appears only when some finding is fixable. Most
    frequent rules first. "" when there are no findings.
    """
    style = Style(ctx.color)
    rows: dict[str, _Row] = {}
    for finding in findings:
        rule = BY_CODE.get(finding.code)
        row = rows.setdefault(
            finding.code, _Row(finding.code, rule.summary if rule is not None else finding.name)
        )
        row.count += 1
        row.fixable = row.fixable or finding.fixable_with(unsafe=ctx.unsafe_fixes)
    ordered = sorted(rows.values(), key=lambda r: (-r.count, r.code))
    if not ordered:
        return ""
    count_width = max(len(str(r.count)) for r in ordered)
    code_width = max(len(r.code) for r in ordered)
    any_fixable = any(r.fixable for r in ordered)
    out = []
    for r in ordered:
        mark = (f"[{style.accent('*')}] " if r.fixable else "[ ] ") if any_fixable else ""
        count = style.bold(f"{r.count:>{count_width}}")
        code = style.error(r.code) + " " * (code_width - len(r.code))
        out.append(f"{count}\t{code}\t{mark}{r.text}\n")
    return "".join(out)


def _plural(n: int, word: str, suffix: str = "s") -> str:
    return f"{n} {word}{'' if n == 1 else suffix}"


def summary(findings: Sequence[Finding], ctx: RenderContext) -> str:
    """The lines printed after the findings, e.g.::

        Found 3 errors.
        [*] 1 fixable with the `--fix` option (1 hidden fix can be enabled with the
        `--unsafe-fixes` option).
        Analysed 12 more files of the project, beyond the paths given.

    `findings` are those that remain; `ctx.fixed` of them were fixed this run. The
    last line appears when the paths given were analysed within their project.
    """
    style = Style(ctx.color)
    remaining = len(findings)
    fixed = ctx.fixed
    out: list[str] = []
    if fixed and remaining:
        total = fixed + remaining
        out.append(f"Found {_plural(total, 'error')} ({fixed} fixed, {remaining} remaining).")
    elif fixed:
        out.append(f"Fixed {_plural(fixed, 'error')}.")
    elif remaining:
        out.append(f"Found {_plural(remaining, 'error')}.")
    else:
        out.append("All checks passed!")
    fixable = sum(1 for f in findings if f.fixable_with(unsafe=ctx.unsafe_fixes))
    hidden = ctx.unsafe_hidden
    hidden_text = (
        f"{_plural(hidden, 'hidden fix', 'es')} can be enabled with the `--unsafe-fixes` option"
    )
    star = f"[{style.accent('*')}]"
    if fixable and hidden:
        out.append(f"{star} {fixable} fixable with the `--fix` option ({hidden_text}).")
    elif fixable:
        out.append(f"{star} {fixable} fixable with the `--fix` option.")
    elif hidden:
        out.append(f"No fixes available ({hidden_text}).")
    if ctx.beyond:
        beyond = _plural(ctx.beyond, "more file")
        out.append(f"Analysed {beyond} of the project, beyond the paths given.")
    return "".join(line + "\n" for line in out)
