"""Which fixers serve a rule, and a finding's fix: the first proposal of its fixers,
placed in the file's own text, in the form reports show."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import replace

from fork_lint.fixes.base import (
    UNPLACEABLE,
    NoFix,
    Proposal,
    Unplaceable,
    apply_edits,
    edits_between,
    position,
    reason_of,
)
from fork_lint.fixes.context import FixContext, Fixer
from fork_lint.model import Edit, Finding, Fix, Span

__all__ = ["FIXERS", "REGISTRY", "attach", "fixers_for", "propose", "to_fix"]


# Rule code -> fixer modules (each has `fix(finding, ctx)`), tried in order.
REGISTRY: dict[str, tuple[str, ...]] = {
    "FRK001": ("fork_exec",),
    "FRK002": ("edge_launch", "start_method"),
    "FRK003": ("start_method",),
    "FRK004": ("preexec",),
    "FRK100": ("unused_noqa",),
}
FIXERS: dict[str, tuple[Fixer, ...]] = {}


def fixers_for(code: str) -> tuple[Fixer, ...]:
    if code not in FIXERS:
        FIXERS[code] = tuple(
            importlib.import_module(f"fork_lint.fixes.{name}").fix
            for name in REGISTRY.get(code, ())
        )
    return FIXERS[code]


def propose(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
    """The first proposal of the rule's fixers, else the first reason, else None.

    A fixer that fails costs its finding the fix, never the run: a file libcst
    cannot take (too large, nested too deeply, see `fixes._parse`), a tree
    deeper than libcst can walk, or an error in the fixer itself.
    """
    fixers = fixers_for(finding.code)
    if not fixers:
        return None
    reason: NoFix | None = None
    unparsed = dict(ctx.unparsed)
    for fixer in fixers:
        try:
            result = fixer(finding, ctx)
            if isinstance(result, Proposal):
                result = _placed(result, ctx)
        except (RecursionError, MemoryError) as exc:
            result = NoFix(f"fork-lint cannot rewrite the file: {reason_of(exc)}", failed=True)
        except Unplaceable:
            result = NoFix(UNPLACEABLE, failed=True)
        except Exception as exc:
            from fork_lint.interrupts import interruption

            if interruption(exc) is not None:
                raise
            result = NoFix(f"computing the fix failed ({type(exc).__name__}: {exc})", failed=True)
        if isinstance(result, Proposal):
            return result
        if result is None:  # not its pattern, or a file it needed could not be parsed
            skipped = [why for path, why in ctx.unparsed.items() if path not in unparsed]
            if finding.path in ctx.unparsed:
                skipped.insert(0, ctx.unparsed[finding.path])
            result = NoFix(skipped[0], failed=True) if skipped else None
        if isinstance(result, NoFix) and reason is None:
            reason = result
    return reason


def _placed(proposal: Proposal, ctx: FixContext) -> Proposal:
    """The proposal with edits for every file, and texts that are exactly those edits
    applied to the current texts."""
    edits = dict(proposal.edits)
    changes: dict[str, str] = {}
    for path, new in proposal.changes.items():
        old = ctx.source(path) or ""
        if path not in edits:
            pf = ctx.parsed(path)
            found = edits_between(old, new) if pf is None else pf.printed.text_edits(new)
            edits[path] = tuple(found)
        changes[path] = apply_edits(old, edits[path])
    changes = {path: text for path, text in changes.items() if text != ctx.source(path)}
    edits = {path: e for path, e in edits.items() if path in changes}
    return replace(proposal, changes=changes, edits=edits)


def to_fix(proposal: Proposal, sources: Mapping[str, str]) -> Fix:
    """The reporting form of a proposal (spans in the files as they are now)."""
    edits: list[Edit] = []
    for path in sorted(proposal.changes):
        old = sources[path]
        found = proposal.edits.get(path)
        for e in sorted(
            found if found is not None else edits_between(old, proposal.changes[path]),
            key=lambda e: (e.begin, e.end),
        ):
            line, col = position(old, e.begin)
            end_line, end_col = position(old, e.end)
            edits.append(Edit(path, Span(line, col, end_line, end_col), e.content))
    return Fix(proposal.message, proposal.applicability, tuple(edits))


def attach(finding: Finding, proposal: Proposal | NoFix | None, ctx: FixContext) -> Finding:
    """The finding with its fix. A `NoFix` attaches nothing: reports show a fix
    where there is one, and no line about the fixes there are not."""
    if not isinstance(proposal, Proposal):
        return finding
    sources = {p: ctx.source(p) or "" for p in proposal.changes}
    return replace(finding, fix=to_fix(proposal, sources))
