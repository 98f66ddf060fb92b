"""Fixes: libcst codemods that remove a finding and keep every other byte of the file.

A fixer looks at one finding and the project's current sources and answers with a
`Proposal` (new text for each file it changes, where, and how safe that is), a `NoFix`
(the pattern is recognised but cannot be rewritten, and why), or None (not its
pattern). The first proposal among a rule's fixers wins; otherwise the first
reason, which the fix stage keeps and reports leave out. `fixes.apply` turns
proposals into edits, checks each one (the safety gate) and writes files.
"""

from __future__ import annotations

from fork_lint.fixes.base import (
    LIBCST_MAX_CHARS,
    UNPLACEABLE,
    NoFix,
    Proposal,
    TextEdit,
    Unplaceable,
    apply_edits,
    changed_outside,
    edits_between,
    offset_of,
    position,
    split_lines,
)
from fork_lint.fixes.context import FactsView, FixContext, Fixer
from fork_lint.fixes.options import FixOptions, LaunchOptions
from fork_lint.fixes.registry import FIXERS, REGISTRY, attach, fixers_for, propose, to_fix

# The package re-exports its modules' names for callers outside it; its own
# modules import from `base`, `context` and `registry`, never from the package,
# so that the fixers the registry loads do not import it back.
__all__ = [
    "FIXERS",
    "LIBCST_MAX_CHARS",
    "REGISTRY",
    "UNPLACEABLE",
    "FactsView",
    "FixContext",
    "FixOptions",
    "Fixer",
    "LaunchOptions",
    "NoFix",
    "Proposal",
    "TextEdit",
    "Unplaceable",
    "apply_edits",
    "attach",
    "changed_outside",
    "edits_between",
    "fixers_for",
    "offset_of",
    "position",
    "propose",
    "split_lines",
    "to_fix",
]
