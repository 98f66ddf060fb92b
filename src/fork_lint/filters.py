"""Which of the selected findings a run reports: the report filters, in order.

1. the scope: findings in one of the given paths, or whose witness passes
   through one (`scope.FileScope`); a project run analyses more than it reports;
2. the baseline: findings recorded there are hidden (`baseline`);
3. the changed lines: with ``only_changed``, findings that touch no line changed
   since the diff base are left out (`vcs`).

The fix stage applies only the fixes of findings the filters let through
(`ReportFilter.selects`), and the filters run again on what remains after the
fixes, so the counts a summary prints describe exactly the findings reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fork_lint.baseline import Baseline, Fingerprinter, baseline_entries
from fork_lint.fixes.apply import FindingKey, finding_key
from fork_lint.model import Finding
from fork_lint.scope import FileScope
from fork_lint.vcs import ChangedLines

__all__ = ["Filters", "ReportFilter"]

ReadLines = Callable[[str], "list[str] | None"]


@dataclass
class Filters:
    """The filters of a whole run; one `Baseline` serves every project, so a
    fingerprint recorded once hides one finding in total."""

    cwd: Path
    changes: ChangedLines | None = None
    only_changed: bool = False
    baseline: Baseline | None = None
    record: bool = False  # record the findings for a new baseline instead of hiding any
    entries: list[dict[str, str | int]] = field(default_factory=list)
    left_out: int = 0
    baseline_matched: int = 0
    _ranks: dict[Finding, int] = field(default_factory=dict)
    _reports: list[ReportFilter] = field(default_factory=list)

    @property
    def left_out_findings(self) -> list[Finding]:
        """What ``only_changed`` left out, for reports of the whole repository (SARIF
        for code scanning) written from the same run."""
        return sorted((f for r in self._reports for f in r.left), key=Finding.sort_key)

    @property
    def rank(self) -> Callable[[Finding], int] | None:
        """0: the finding's span changed; 1: a step of its witness did; 2: neither."""
        changes = self.changes
        if changes is None:
            return None
        ranks, cwd = self._ranks, self.cwd

        def rank(finding: Finding) -> int:
            if finding not in ranks:
                ranks[finding] = changes.rank(finding, cwd)
            return ranks[finding]

        return rank

    def for_project(self, root: Path, scope: FileScope | None, read: ReadLines) -> ReportFilter:
        report = ReportFilter(self, scope, Fingerprinter(root, self.cwd, read))
        self._reports.append(report)
        return report


@dataclass
class ReportFilter:
    """The filters for one project."""

    run: Filters
    scope: FileScope | None
    fingerprinter: Fingerprinter
    _hidden: frozenset[FindingKey] = frozenset()  # hidden by the baseline, never reported
    _counted: tuple[int, int, int] = (0, 0, 0)  # (left out, matched, entries) of the last apply
    _saved: Counter[str] | None = None  # the baseline before this project consumed it
    left: list[Finding] = field(default_factory=list)  # only_changed left out (last apply)

    def apply(self, findings: Sequence[Finding], *, again: bool = False) -> list[Finding]:
        """The findings reported, in order. ``again``: the same project's findings
        after fixes; what the first application counted is taken back first."""
        run = self.run
        if again:
            left_out, matched, entries = self._counted
            run.left_out -= left_out
            run.baseline_matched -= matched
            del run.entries[len(run.entries) - entries :]
            if run.baseline is not None and self._saved is not None:
                run.baseline.remaining = Counter(self._saved)
        elif run.baseline is not None:
            self._saved = Counter(run.baseline.remaining)
        cwd = run.cwd
        kept = list(findings)
        if self.scope is not None:
            scope = self.scope
            kept = [f for f in kept if scope.touches(f, cwd)]
        entries = 0
        matched = 0
        if run.record:
            new = baseline_entries(kept, self.fingerprinter)
            run.entries += new
            entries = len(new)
        elif run.baseline is not None:
            before = kept
            kept, matched = run.baseline.filter(kept, self.fingerprinter)
            if not again:
                shown = {finding_key(f) for f in kept}
                self._hidden = frozenset(k for k in map(finding_key, before) if k not in shown)
            run.baseline_matched += matched
        left_out = 0
        rank = run.rank
        if run.only_changed and rank is not None:
            touching = [f for f in kept if rank(f) < 2]
            left_out = len(kept) - len(touching)
            self.left = [f for f in kept if rank(f) >= 2]
            kept = touching
            run.left_out += left_out
        self._counted = (left_out, matched, entries)
        return kept

    def selects(self, finding: Finding) -> bool:
        """Whether the report shows `finding` (or would, for one a fix just made):
        only such findings get their fixes applied."""
        run = self.run
        if self.scope is not None and not self.scope.touches(finding, run.cwd):
            return False
        if finding_key(finding) in self._hidden:
            return False
        rank = run.rank
        return not (run.only_changed and rank is not None and rank(finding) >= 2)
