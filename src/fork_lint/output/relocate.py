"""`--paths-relative-to DIR`: findings shown with paths relative to another directory.

A check run in a subdirectory of a repository (a monorepo's service, the GitHub
Action's `working-directory`) names files relative to that subdirectory, while a
pull-request annotation, a SARIF result for code scanning and a GitLab code-quality
entry name them relative to the repository root: shown as they are, they land on no
file. The reporters receive copies of the findings with every path (location,
witness steps, fix edits) relative to the directory given, a reader that finds the
files under their old names, and a rank that asks about the original findings.
Paths outside the directory are shown absolute.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from fork_lint.model import Finding, Fix, Hop, Location, Witness
from fork_lint.output._context import RenderContext

__all__ = ["Relocation"]


class Relocation:
    """Paths relative to the working directory, re-expressed relative to `base`."""

    def __init__(self, base: Path, cwd: Path) -> None:
        # Both resolved, so a working directory reached through a link still lies in base.
        self._cwd = os.path.realpath(cwd)
        self._base = os.path.join(os.path.realpath(cwd / base), "")
        self._shown: dict[str, str] = {}
        self._given: dict[str, str] = {}  # shown -> as the run names it

    def path(self, path: str) -> str:
        shown = self._shown.get(path)
        if shown is None:
            if path.startswith("<"):  # "<stdin>"-like names are no files
                shown = path
            else:
                joined = os.path.normpath(os.path.join(self._cwd, path))
                if joined.startswith(self._base):
                    joined = joined[len(self._base) :]
                shown = joined.replace(os.sep, "/")
            self._shown[path] = shown
            self._given.setdefault(shown, path)
        return shown

    def findings(
        self, findings: Sequence[Finding], ctx: RenderContext
    ) -> tuple[list[Finding], RenderContext]:
        """Copies of `findings` and a context whose reader and rank accept them."""
        originals: dict[Finding, Finding] = {}
        moved = []
        for finding in findings:
            copy = self._finding(finding)
            originals[copy] = finding
            moved.append(copy)
        read, rank, given = ctx.read_lines, ctx.rank, self._given

        def read_lines(path: str) -> list[str] | None:
            return read(given.get(path, path))

        ranked: Callable[[Finding], int] | None = None
        if rank is not None:

            def ranked(finding: Finding) -> int:
                return rank(originals.get(finding, finding))

        return moved, replace(ctx, read_lines=read_lines, rank=ranked)

    def _location(self, location: Location) -> Location:
        return replace(location, path=self.path(location.path))

    def _hops(self, hops: tuple[Hop, ...]) -> tuple[Hop, ...]:
        return tuple(replace(h, location=self._location(h.location)) for h in hops)

    def _finding(self, finding: Finding) -> Finding:
        witness: Witness | None = finding.witness
        if witness is not None:
            witness = replace(
                witness,
                thread_path=self._hops(witness.thread_path),
                fork_path=self._hops(witness.fork_path),
            )
        fix: Fix | None = finding.fix
        if fix is not None:
            fix = replace(fix, edits=tuple(replace(e, path=self.path(e.path)) for e in fix.edits))
        return replace(finding, location=self._location(finding.location), witness=witness, fix=fix)
