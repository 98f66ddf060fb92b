"""The CLI's fix stage: attach fixes to findings, or apply them (`--fix`, `--diff`, `--fix-only`).

Without a fix flag, every finding gets its proposed fix (for `[*]`, the `help:`
line and the JSON `fix` object) and nothing is written. With one, `FixRun`
applies the enabled fixes through the safety gate; `--diff` prints what would
change, the others write the files.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from fork_lint.fixes import FixOptions, attach, propose, split_lines
from fork_lint.fsio import printable
from fork_lint.interrupts import signals_held
from fork_lint.model import Applicability, Finding

if TYPE_CHECKING:
    from fork_lint.cli import CheckRun
    from fork_lint.fixes.apply import DiskSources, FixResult, FixRun


def fix_options(run: CheckRun) -> FixOptions:
    s = run.settings
    return FixOptions(
        target_version=s.target_version, start_method=s.fix_start_method, launch=s.fix_launch
    )


def _fix_run(run: CheckRun, sources: DiskSources) -> FixRun:
    from fork_lint.cli import analysis_options
    from fork_lint.fixes.apply import FixRun

    settings, cwd = run.settings, run.cwd

    def keep(f: Finding) -> bool:
        return settings.enabled(f.code, str(cwd / f.location.path))

    return FixRun(
        run.modules,
        analysis_options(settings),
        fix_options(run),
        sources.read,
        keep,
        sources.lacks,
        sources.expect,
    )


def applying(run: CheckRun) -> bool:
    args = run.args
    return bool(args.fix or args.diff or args.fix_only)


def fix_stage(run: CheckRun) -> None:
    if not run.findings:
        return  # nothing to fix; spare the import of libcst
    from fork_lint.fixes.apply import DiskSources

    sources = DiskSources(run.cwd)
    if not applying(run):
        _attach_cached(run, sources)
        return
    scope = run.scope
    cwd = run.cwd
    select: Callable[[Finding], bool] = (
        (lambda f: scope.touches(f, cwd)) if scope is not None else (lambda f: True)
    )
    result = _fix_run(run, sources).run(run.findings, unsafe=run.args.unsafe_fixes, select=select)
    for dropped in result.dropped:
        f = dropped.finding
        s = f.location.span
        sys.stderr.write(
            f"fork-lint: warning: {f.path}:{s.line}:{s.col + 1}: {f.code} fix not applied: "
            f"{dropped.reason}\n"
        )
    if not result.converged:
        sys.stderr.write(
            f"fork-lint: warning: fixes did not settle after {result.passes} passes; "
            "run again to apply the rest\n"
        )
    run.unsafe_hidden = result.unsafe_hidden
    if run.args.diff:
        sys.stdout.write(printable(unified_diff(result)))  # a path may not be UTF-8
        run.findings = result.remaining
        run.fixed = len(result.fixed)
        return
    written, problems = _write(result, sources)
    for path, problem in problems:
        sys.stderr.write(f"fork-lint: warning: {path}: fixes not written: {problem}\n")
    run.fixed = sum(1 for _, files in result.touched if files <= written)
    if problems:
        # What is on disk is not what the gate saw: analyse it again.
        from fork_lint.cli import _analyse, _index

        _index(run)
        _analyse(run)
        _attach_all(run, _fix_run(run, DiskSources(run.cwd)))
    else:
        run.findings = result.remaining


def _attach_cached(run: CheckRun, sources: DiskSources) -> None:
    """`_attach_all`, answered from the cache: all at once when the project, the
    findings and the fix settings are those of an earlier run, else finding by
    finding (`fixes.proposals`). Proposals parse the files they rewrite with
    libcst, which would otherwise dominate a run whose analysis was answered from
    the cache, and weigh on a run after an edit elsewhere."""
    from fork_lint.cache import fixes_key
    from fork_lint.cli import analysis_options
    from fork_lint.fixes.proposals import attach_cached
    from fork_lint.project import ProjectFacts

    modules = run.modules
    results = None
    if isinstance(modules, ProjectFacts) and modules.cache is not None:
        results = modules.results_key(analysis_options(run.settings))
    if not isinstance(modules, ProjectFacts) or modules.cache is None or results is None:
        _attach_all(run, _fix_run(run, sources))
        return
    options = fix_options(run)
    key = fixes_key(results, options, run.findings)
    cached = modules.cache.load_results(key)
    if cached is not None and len(cached) == len(run.findings):
        run.findings = cached
        run.unsafe_hidden = _unsafe_hidden(run)
        return
    if not modules.stable:
        _attach_all(run, _fix_run(run, sources))
        return
    file_keys = {f.shown: k for f, k in zip(modules.files, modules.keys, strict=True) if k}
    # The proposals' searches of every file, answered from earlier runs for files
    # whose content has not changed since (an edit reads one file, not all).
    words = modules.cache.load_words()
    sources.seed({f.shown: words[f.digest] for f in modules.files if f.digest in words})
    ctx = _fix_run(run, sources).context()
    run.findings = attach_cached(run.findings, ctx, modules.cache, file_keys, results, options)
    run.unsafe_hidden = _unsafe_hidden(run)
    modules.cache.store_results(key, run.findings)
    modules.cache.store_words(words, sources.searched())


def _attach_all(run: CheckRun, fixrun: FixRun) -> None:
    ctx = fixrun.context()
    run.findings = [attach(f, propose(f, ctx), ctx) for f in run.findings]
    run.unsafe_hidden = _unsafe_hidden(run)


def _unsafe_hidden(run: CheckRun) -> int:
    """Unsafe fixes not shown without `--unsafe-fixes` (the summary's "hidden fixes")."""
    if run.args.unsafe_fixes:
        return 0
    return sum(
        1 for f in run.findings if f.fix is not None and f.fix.applicability is Applicability.UNSAFE
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
                    if not sources.stale(path):
                        problems.append((path, "it shares a fix with a file that changed on disk"))
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
    out = []
    for path in sorted(result.changed):
        old, new = result.changed[path]
        lines = difflib.unified_diff(split_lines(old), split_lines(new), f"a/{path}", f"b/{path}")
        for line in lines:
            out.append(
                line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
            )
    return "".join(out)


def fix_only_outcome(run: CheckRun) -> int:
    """`--diff` and `--fix-only` report only what was (or would be) fixed."""
    n = run.fixed
    noun = "error" if n == 1 else "errors"
    hidden = run.unsafe_hidden
    extra = (
        f" ({hidden} additional fix{'' if hidden == 1 else 'es'} available with `--unsafe-fixes`)"
        if hidden
        else ""
    )
    if run.args.diff:
        if n or hidden:
            sys.stderr.write(f"Would fix {n} {noun}{extra}.\n")
        return 1 if n else 0
    if not run.args.quiet:
        sys.stdout.write(f"Fixed {n} {noun}{extra}.\n" if n or hidden else "No errors fixed.\n")
    return 1 if n and getattr(run.args, "exit_non_zero_on_fix", False) else 0
