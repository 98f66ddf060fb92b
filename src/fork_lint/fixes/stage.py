"""The check's fix stage: attach fixes to findings, or apply them.

Called by the check core (`fork_lint.core`) with one project's facts, never by
a front end directly, and prints nothing: what it has to say comes back as
warnings. `propose_fixes` gives every finding its proposed fix (for `[*]`, the
`help:` line and the JSON `fix` object) and writes nothing; `apply_fixes` runs
the enabled fixes through the safety gate (`fixes.apply`) and writes the files,
or only computes the diff.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fork_lint.config import Settings
from fork_lint.engine import AnalysisOptions
from fork_lint.fixes.apply import DiskSources, FixResult, FixRun
from fork_lint.fixes.base import split_lines
from fork_lint.fixes.options import FixOptions
from fork_lint.fixes.registry import attach, propose
from fork_lint.fsio import printable
from fork_lint.index.facts import ModuleFacts
from fork_lint.interrupts import signals_held
from fork_lint.model import Finding

__all__ = ["Applied", "FixStage", "apply_fixes", "fix_options", "propose_fixes", "unified_diff"]


def fix_options(settings: Settings) -> FixOptions:
    return FixOptions(
        target_version=settings.target_version,
        start_method=settings.fix_start_method,
        launch=settings.fix_launch,
        line_length=settings.line_length,
    )


@dataclass
class FixStage:
    """One project as the fix stage sees it."""

    modules: Sequence[ModuleFacts]  # usually a `project.ProjectFacts`
    settings: Settings
    analysis: AnalysisOptions
    cwd: Path
    sources: DiskSources  # how files are read and written (`core` may lay buffers over them)

    def fix_run(self) -> FixRun:
        settings, cwd = self.settings, self.cwd

        def keep(f: Finding) -> bool:
            return settings.enabled(f.code, str(cwd / f.location.path))

        return FixRun(
            self.modules,
            self.analysis,
            fix_options(settings),
            self.sources.read,
            keep,
            self.sources.lacks,
            self.sources.expect,
        )


@dataclass
class Applied:
    """What `apply_fixes` did."""

    remaining: list[Finding]  # findings left, with their fixes attached
    fixed: list[Finding]  # the findings whose fix was applied (or, for a diff, would be)
    diff: str = ""  # with ``write=False``: the unified diff of every change
    written: dict[str, str] = field(default_factory=dict)  # path -> new text, as written
    # path -> (text before, text after) of every file changed (with ``write``: written)
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # A file could not be written: what is on disk is not what the gate saw, and
    # the remaining findings must come from a new analysis.
    stale: bool = False


def propose_fixes(stage: FixStage, findings: list[Finding]) -> list[Finding]:
    """The findings with their proposed fixes attached; nothing is written.

    Answered from the cache when it can be: all at once when the project, the
    findings and the fix settings are those of an earlier run, else finding by
    finding (`fixes.proposals`). Proposals parse the files they rewrite with
    libcst, which would otherwise dominate a run whose analysis was answered from
    the cache, and weigh on a run after an edit elsewhere.
    """
    if not findings:
        return findings  # nothing to fix; spare the import of libcst
    from fork_lint.cache import fixes_key
    from fork_lint.fixes.proposals import attach_cached
    from fork_lint.project import ProjectFacts

    modules = stage.modules
    results = None
    if isinstance(modules, ProjectFacts) and modules.cache is not None:
        results = modules.results_key(stage.analysis)
    if not isinstance(modules, ProjectFacts) or modules.cache is None or results is None:
        return _attach_all(stage.fix_run(), findings)
    options = fix_options(stage.settings)
    key = fixes_key(results, options, findings)
    cached = modules.cache.load_results(key)
    if cached is not None and len(cached) == len(findings):
        return cached
    if not modules.stable:
        return _attach_all(stage.fix_run(), findings)
    file_keys = {f.shown: k for f, k in zip(modules.files, modules.keys, strict=True) if k}
    # The proposals' searches of every file, answered from earlier runs for files
    # whose content has not changed since (an edit reads one file, not all).
    words = modules.cache.load_words()
    sources = stage.sources
    sources.seed({f.shown: words[f.digest] for f in modules.files if f.digest in words})
    ctx = stage.fix_run().context()
    out = attach_cached(findings, ctx, modules.cache, file_keys, results, options)
    modules.cache.store_results(key, out)
    modules.cache.store_words(words, sources.searched())
    return out


def _attach_all(fixrun: FixRun, findings: list[Finding]) -> list[Finding]:
    ctx = fixrun.context()
    return [attach(f, propose(f, ctx), ctx) for f in findings]


def apply_fixes(
    stage: FixStage,
    findings: list[Finding],
    *,
    select: Callable[[Finding], bool],
    unsafe: bool,
    write: bool,
) -> Applied:
    """Apply the fixes of the findings `select` accepts (safe ones, and unsafe ones
    if ``unsafe``); with ``write=False`` only compute the diff.

    ``findings`` are all the project's selected findings, also those `select`
    refuses: the safety gate compares them with the findings after the fix.
    """
    if not findings:
        return Applied([], [])
    result = stage.fix_run().run(findings, unsafe=unsafe, select=select)
    warnings = []
    for dropped in result.dropped:
        f = dropped.finding
        s = f.location.span
        warnings.append(
            f"{f.path}:{s.line}:{s.col + 1}: {f.code} fix not applied: {dropped.reason}"
        )
    for failure in result.failed:
        f = failure.finding
        s = f.location.span
        warnings.append(f"{f.path}:{s.line}:{s.col + 1}: {f.code} no fix: {failure.reason}")
    if not result.converged:
        warnings.append(
            f"fixes did not settle after {result.passes} passes; run again to apply the rest"
        )
    if not write:
        return Applied(
            result.remaining,
            result.fixed,
            unified_diff(result),
            changes=dict(result.changed),
            warnings=warnings,
        )
    written, problems = _write(result, stage.sources)
    for path, problem in problems:
        warnings.append(f"{path}: fixes not written: {problem}")
    fixed = [f for f, files in result.touched if files <= written]
    texts = {path: result.changed[path][1] for path in written}
    changes = {path: result.changed[path] for path in written}
    return Applied(
        result.remaining,
        fixed,
        written=texts,
        changes=changes,
        warnings=warnings,
        stale=bool(problems),
    )


def _write(result: FixResult, sources: DiskSources) -> tuple[set[str], list[tuple[str, str]]]:
    """Write every changed file, except those a file changed on disk would leave half-fixed.

    A fix may change several files; if one of them changed on disk since it was
    read, none of that fix's files is written (nor those of fixes sharing a file
    with it).
    """
    problems: list[tuple[str, str]] = []
    blocked = {path for path in result.changed if sources.stale(path)}
    for path in sorted(blocked):
        problems.append((path, "it changed on disk since it was read"))
    refuses = getattr(sources, "refuses", None)  # `overlay.BufferSources`
    if refuses is not None:
        for path in sorted(result.changed):
            reason = refuses(path)
            if reason is not None and path not in blocked:
                blocked.add(path)
                problems.append((path, reason))
    grew = True
    while grew:
        grew = False
        for _, files in result.touched:
            if files & blocked and not files <= blocked:
                blocked |= files
                grew = True
    written: set[str] = set()
    for group in _fix_groups(result):
        # Ctrl-C or SIGTERM stops the run between fixes, never inside one.
        with signals_held():
            for path in group:
                if path in blocked:
                    if not any(p == path for p, _ in problems):
                        problems.append((path, "it shares a fix with a file that was not written"))
                    continue
                error = sources.write(path, result.changed[path][1])
                if error is None:
                    written.add(path)
                else:
                    problems.append((path, error))
    return written, problems


def _fix_groups(result: FixResult) -> list[list[str]]:
    """The changed files, sorted, in groups of the files that fixes tie together."""
    group_of: dict[str, set[str]] = {path: {path} for path in result.changed}
    for _, files in result.touched:
        merged: set[str] = set()
        for path in files:
            merged |= group_of.get(path, set())
        for path in merged:
            group_of[path] = merged
    unique = {id(group): group for group in group_of.values()}
    return sorted(sorted(group) for group in unique.values())


def unified_diff(result: FixResult) -> str:
    """The changes as a unified diff; names that are not UTF-8 escaped (`fsio.printable`)."""
    out = []
    for path in sorted(result.changed):
        old, new = result.changed[path]
        lines = difflib.unified_diff(split_lines(old), split_lines(new), f"a/{path}", f"b/{path}")
        for line in lines:
            out.append(
                line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
            )
    return printable("".join(out))
