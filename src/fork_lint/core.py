"""The check pipeline: one run object, settings in, findings with their fixes out.

Every front end runs a check through `check`: the command line (and so the
pre-commit hooks), `fork_lint.api`, the flake8 plugin and the language server.
This module knows nothing of argument parsing or printing; what a run has to say
comes back in its `CheckResult` (warnings, internal errors, counts, timings),
and usage errors are raised as `CheckError`.

For each project the given paths belong to (`scope.project_scopes`), a run

1. loads the settings and discovers the files, laying unsaved buffers
   (`CheckRequest.sources`: standard input, an editor's) over the disk;
2. builds every file's facts, through the cache;
3. analyses the whole program (answered by the cache when nothing changed);
4. keeps the findings of the selected rules, then those the report shows: in
   or through the given paths, not in the baseline, touching a changed line
   (`filters`);
5. attaches to each its proposed fix, or applies the fixes of those it shows
   (written, or only computed as a diff).

Counts (`fixed`, `unsafe_hidden`) are taken after every filter, so a summary
built from them describes exactly the findings reported.
"""

from __future__ import annotations

import enum
import os
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from fork_lint import project as indexing  # by module: tests replace its functions
from fork_lint.baseline import BaselineError, load_baseline
from fork_lint.cache import CACHE_DIR_ENV, resolve_cache_dir
from fork_lint.config import ConfigError, Overrides, Settings, load_settings
from fork_lint.discovery import Discovery, DiscoveryError, discover
from fork_lint.engine import AnalysisOptions
from fork_lint.filters import Filters, ReportFilter
from fork_lint.fsio import printable
from fork_lint.index.facts import ModuleFacts
from fork_lint.interrupts import interruption
from fork_lint.metadata import project_entry_points
from fork_lint.model import Applicability, Finding
from fork_lint.overlay import Overlay
from fork_lint.scope import FileScope, project_scopes
from fork_lint.vcs import VcsError, changed_lines

if TYPE_CHECKING:
    from fork_lint.fixes.stage import FixStage

__all__ = [
    "CheckError",
    "CheckRequest",
    "CheckResult",
    "FixMode",
    "Project",
    "analysis_options",
    "check",
    "resolve_projects",
]


class CheckError(Exception):
    """A usage or configuration problem (the command line's exit 2): a bad setting,
    a missing path, an unusable --diff-base or baseline. The message is complete."""


class FixMode(enum.Enum):
    PROPOSE = "propose"  # attach each finding's proposed fix; write nothing
    APPLY = "apply"  # apply the enabled fixes and write the files
    DIFF = "diff"  # apply them in memory only; `CheckResult.diff` holds the changes


@dataclass(frozen=True)
class CheckRequest:
    """What to check, and how. Every field has the command line's default."""

    paths: tuple[Path, ...] = ()  # files or directories; () is the working directory
    cwd: Path | None = None  # where relative paths start; None: the process's
    overrides: Overrides = field(default_factory=Overrides)  # above the configuration files
    # True: analyse the whole project each path belongs to, report findings in (or
    # whose witness passes through) the paths. False: analyse the paths alone.
    whole_project: bool = True
    # Unsaved content of files (path as given, relative to `cwd` or absolute) to
    # analyse instead of what is on disk; such a file need not exist. Fixes to them
    # are not written: their new text comes back in `CheckResult.buffers` (and a
    # fix that would also change a file on disk is not applied).
    sources: Mapping[str, str | bytes] = field(default_factory=dict)
    fix: FixMode | None = None  # None: APPLY if the configuration says `fix = true`
    # With APPLY or DIFF: fix only the reported findings this accepts (an editor's
    # "fix this finding", "fix this file"); None: every reported finding.
    fix_select: Callable[[Finding], bool] | None = None
    # Called with each project's reported findings as soon as they are known, before
    # their fixes are proposed or applied: an editor shows them while fixes follow.
    reported: Callable[[list[Finding]], None] | None = None
    unsafe_fixes: bool | None = None  # None: the configuration's `unsafe-fixes`
    propose_fixes: bool = True  # False: no fix is attached (and libcst never loaded)
    cache_dir: Path | None = None  # None: $FORK_LINT_CACHE_DIR, `cache-dir`, the default
    no_cache: bool = False
    jobs: int | None = None  # processes that extract facts; None: the CPUs available
    diff_base: str | None = None  # git revision: rank findings by the change since it
    only_changed: bool = False  # with diff_base: leave out findings that touch no change
    baseline: Path | None = None  # hide the findings recorded in this file
    record_baseline: bool = False  # compute `CheckResult.baseline_entries`; hide nothing
    # Paths given by name that the configuration excludes are left out, as a walk
    # leaves them out (pre-commit passes every staged file); by default they are
    # analysed: a file within its project, a directory on its own.
    force_exclude: bool = False


@dataclass
class Project:
    """One project of a run: its settings and files, and once analysed its facts."""

    root: Path  # as discovery walked it
    settings: Settings
    files: list[Path]
    scope: FileScope | None  # the paths reported on; None: every file
    modules: Sequence[ModuleFacts] = ()  # a `project.ProjectFacts` once indexed
    beyond: int = 0  # files analysed that are not in `scope`
    warnings: list[str] = field(default_factory=list)  # files discovery could not look at
    # Some files analysed alone, not their whole project (`whole_project=False`, or
    # directories given by name that their project's configuration excludes).
    partial: bool = False


@dataclass
class CheckResult:
    """What a run found and did."""

    findings: list[Finding] = field(default_factory=list)  # reported, sorted, fixes attached
    fixed: list[Finding] = field(default_factory=list)  # fixed (or, for a diff, fixable)
    unsafe_hidden: int = 0  # reported findings whose unsafe fix is not enabled
    unsafe_fixes: bool = False  # unsafe fixes were enabled
    fix: FixMode = FixMode.PROPOSE
    diff: str = ""  # FixMode.DIFF: the unified diff of every change
    # APPLY, DIFF: every file the fixes changed (written, for APPLY), by the name it
    # is reported by: (text before, text after). An editor turns them into edits.
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    buffers: dict[str, str] = field(default_factory=dict)  # fixed text of unsaved sources
    projects: list[Project] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one line each, without a prefix
    errors: list[str] = field(default_factory=list)  # internal errors (the run is unreliable)
    tracebacks: list[str] = field(default_factory=list)  # of the internal errors and FRK999s
    left_out: int = 0  # findings only_changed left out
    left_out_findings: list[Finding] = field(default_factory=list)  # those findings, sorted
    baseline_matched: int = 0  # findings the baseline hid
    baseline_entries: list[dict[str, str | int]] = field(default_factory=list)
    rank: Callable[[Finding], int] | None = None  # diff_base: 0 line, 1 witness, 2 neither
    read_lines: Callable[[str], list[str] | None] | None = None  # sees the unsaved sources
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds (wall)

    @property
    def analysis_failed(self) -> bool:
        return bool(self.errors)

    @property
    def files_analysed(self) -> int:
        return sum(len(p.modules) for p in self.projects)

    @property
    def files_beyond(self) -> int:
        """Files analysed that the given paths do not contain (the rest of their projects)."""
        return sum(p.beyond for p in self.projects)

    @property
    def settings(self) -> Settings | None:
        return self.projects[0].settings if self.projects else None


def analysis_options(settings: Settings, *, whole_program: bool = True) -> AnalysisOptions:
    """The analysis options of a project. FRK100 (unused ``noqa``) needs the whole
    program: analysing some files alone cannot tell that a comment suppresses nothing."""
    return replace(
        AnalysisOptions.from_settings(settings),
        unused_noqa=whole_program,
        entry_points=project_entry_points(settings.project_root),
    )


# ---------------------------------------------------------------------------- the run


def check(request: CheckRequest) -> CheckResult:
    """Run a check. Raises `CheckError` for a usage or configuration problem;
    an internal error of the analysis is reported in `CheckResult.errors`."""
    cwd = request.cwd or Path.cwd()
    result = CheckResult()
    clock = _Clock(result.timings)
    with clock("settings"):
        overlay = Overlay.of(request.sources, cwd)
        projects = resolve_projects(request, cwd, overlay)
        filters = _filters(request, cwd)
    result.projects = projects
    result.read_lines = overlay.read_lines
    if projects:
        first = projects[0].settings
        result.unsafe_fixes = _unsafe(request, first)
        result.fix = _mode(request, first)
    else:  # nothing to analyse (every path given is excluded)
        result.unsafe_fixes = bool(request.unsafe_fixes)
        result.fix = request.fix or FixMode.PROPOSE
    for project in projects:
        _Run(request, project, cwd, overlay, filters, result, clock).run()
    result.findings.sort(key=Finding.sort_key)
    result.fixed.sort(key=Finding.sort_key)
    result.left_out = filters.left_out
    result.left_out_findings = filters.left_out_findings
    result.baseline_matched = filters.baseline_matched
    result.baseline_entries = filters.entries
    result.rank = filters.rank
    if not result.unsafe_fixes:
        result.unsafe_hidden = sum(
            1
            for f in result.findings
            if f.fix is not None and f.fix.applicability is Applicability.UNSAFE
        )
    return result


def _unsafe(request: CheckRequest, settings: Settings) -> bool:
    return request.unsafe_fixes if request.unsafe_fixes is not None else settings.unsafe_fixes


def _mode(request: CheckRequest, settings: Settings) -> FixMode:
    if request.fix is not None:
        return request.fix
    return FixMode.APPLY if settings.fix else FixMode.PROPOSE


def resolve_projects(
    request: CheckRequest, cwd: Path | None = None, overlay: Overlay | None = None
) -> list[Project]:
    """The projects a request covers, with their settings and files (nothing read
    yet): what `--show-settings` and `--show-files` print, and `graph` analyses."""
    cwd = cwd or request.cwd or Path.cwd()
    overlay = overlay or Overlay.of(request.sources, cwd)
    paths = list(request.paths) or [Path(".")]
    missing = [p for p in paths if not os.path.lexists(cwd / p) and not overlay.holds(p)]
    if missing:
        raise CheckError(str(DiscoveryError(missing)))
    # (paths that decide the settings, paths to walk, the paths reported on)
    runs: list[tuple[list[Path], list[Path], FileScope | None]]
    if request.whole_project:
        config_root = None
        overrides = request.overrides
        if overrides.config is not None and not overrides.isolated:
            config_root = Path(os.path.abspath(cwd / overrides.config)).parent
        try:
            scopes = project_scopes(paths, cwd, config_root)
        except ConfigError as exc:  # a configuration file on the way up is broken
            raise CheckError(str(exc)) from None
        runs = [([r], [r], scope) for r, scope in scopes]
    else:
        runs = [(paths, [p for p in paths if os.path.lexists(cwd / p)], None)]
    partial = not request.whole_project
    projects = []
    try:
        for located, roots, scope in runs:
            projects += _projects(request, cwd, overlay, paths, located, roots, scope)
        for project in projects:
            project.partial = project.partial or partial
    except (ConfigError, DiscoveryError) as exc:
        raise CheckError(str(exc)) from None
    return projects


def _projects(
    request: CheckRequest,
    cwd: Path,
    overlay: Overlay,
    paths: Sequence[Path],
    located: list[Path],
    roots: list[Path],
    scope: FileScope | None,
) -> list[Project]:
    """One project, and the explicitly given directories its configuration excludes,
    analysed on their own (as ruff analyses a path given by name), unless
    `force_exclude`."""
    settings = load_settings([cwd / p for p in located], request.overrides, cwd=cwd)
    found = _discover(roots, settings, cwd)
    warnings = [f"{printable(str(p))}: {m}" for p, m in found.errors]
    files = found.files + overlay.new_files(found.files, cwd)
    if scope is None:
        return [Project(located[0], settings, files, None, warnings=warnings)]
    mine = [p for p in paths if scope.contains(str(p), cwd)]
    listed = _Listed(files, cwd)
    excluded: list[Path] = []
    reported = False  # some file of the project is in the scope
    for path in mine:
        if listed.holds(path):
            reported = True
            continue
        real = os.path.realpath(cwd / path)
        if os.path.isdir(real):
            if not request.force_exclude:
                excluded.append(path)
        elif os.path.isfile(real):
            # A file the walk left out: excluded, or not named *.py (a script).
            if request.force_exclude and path.name.endswith((".py", ".pyi")):
                continue
            files.append(path)
            reported = True
    out = []
    if reported or any(overlay.holds(p) for p in mine):
        out.append(Project(located[0], settings, files, scope, warnings=warnings))
    if excluded:
        alone = _discover(excluded, settings, cwd)
        out.append(Project(excluded[0], settings, alone.files, None, partial=True))
    return out


class _Listed:
    """Whether discovery listed a path (a file, or a directory holding one): by the
    paths' absolute names, which match unless a link is on the way, and only then by
    their real paths (resolving every file of a large project costs a second)."""

    def __init__(self, files: Sequence[Path], cwd: Path) -> None:
        self.files = files
        self.cwd = cwd
        self._absolute: set[str] | None = None
        self._real: set[str] | None = None

    def holds(self, path: Path) -> bool:
        name = os.path.abspath(self.cwd / path)
        prefix = name.rstrip(os.sep) + os.sep
        cwd = self.cwd
        if os.path.isdir(name):  # most often the project's root: the first file answers
            if any(os.path.abspath(cwd / p).startswith(prefix) for p in self.files):
                return True
        else:
            if self._absolute is None:
                self._absolute = {os.path.abspath(cwd / p) for p in self.files}
            if name in self._absolute:
                return True
        if self._real is None:
            self._real = {os.path.realpath(cwd / p) for p in self.files}
        real = os.path.realpath(cwd / path)
        inside = real.rstrip(os.sep) + os.sep
        return real in self._real or any(r.startswith(inside) for r in self._real)


def _discover(roots: Sequence[Path], settings: Settings, cwd: Path) -> Discovery:
    # Discovery shows paths as it is given them, relative to the process's working
    # directory: a caller's other `cwd` makes them absolute.
    walk = list(roots) if Path.cwd() == cwd else [cwd / p for p in roots]
    return discover(walk, settings) if walk else Discovery()


def _filters(request: CheckRequest, cwd: Path) -> Filters:
    if request.only_changed and request.diff_base is None:
        raise CheckError("--only-changed needs --diff-base REF")
    changes = baseline = None
    try:
        if request.diff_base is not None:
            changes = changed_lines(request.diff_base, cwd)
        if request.baseline is not None and not request.record_baseline:
            baseline = load_baseline(cwd / request.baseline)
    except VcsError as exc:
        raise CheckError(f"--diff-base {request.diff_base}: {exc}") from None
    except BaselineError as exc:
        raise CheckError(str(exc)) from None
    return Filters(cwd, changes, request.only_changed, baseline, request.record_baseline)


@dataclass
class _Run:
    """The stages of one project."""

    request: CheckRequest
    project: Project
    cwd: Path
    overlay: Overlay
    filters: Filters
    result: CheckResult
    clock: _Clock

    def run(self) -> None:
        project, result, clock = self.project, self.result, self.clock
        settings = project.settings
        result.warnings += project.warnings
        self.options = analysis_options(settings, whole_program=not project.partial)
        with clock("index"):
            self.index()
        with clock("analysis"):
            selected = self.analyse()
        report = self.filters.for_project(settings.project_root, project.scope, self.read_lines)
        with clock("filters"):
            shown = report.apply(selected)
        if self.request.reported is not None:
            self.request.reported(list(shown))
        mode = _mode(self.request, settings)
        if result.analysis_failed:  # a fix is checked by the analysis that just failed
            result.findings += shown
            return
        with clock("fixes"):
            if mode is FixMode.PROPOSE:
                result.findings += self.propose(shown)
            else:
                self.fix(selected, report, write=mode is FixMode.APPLY)

    def read_lines(self, path: str) -> list[str] | None:
        return self.overlay.read_lines(path)

    def index(self) -> None:
        """Files -> module facts (from the cache, or extracted when first needed)."""
        request, project, cwd = self.request, self.project, self.cwd
        root = project.settings.project_root
        option = request.cache_dir
        named = option is not None or bool(os.environ.get(CACHE_DIR_ENV))
        if not named and project.settings.cache_dir is not None:
            option = project.settings.cache_dir
        project.modules = indexing.index_project(
            project.files,
            root,
            cwd,
            cache_dir=resolve_cache_dir(option, request.no_cache, root, cwd),
            jobs=request.jobs,
            overlay=self.overlay.data,
            # Only a directory the user named may be reached through a link: a
            # `cache-dir` in the configuration comes with the checkout.
            explicit_cache=named,
        )
        scope = project.scope
        if scope is not None and not scope.contains(str(root), cwd):  # else: all inside
            project.beyond = sum(1 for m in _shown(project.modules) if not scope.contains(m, cwd))

    def analyse(self) -> list[Finding]:
        """Module facts -> findings of the selected rules.

        An exception in the whole-program stages (call graph, classification,
        reachability) cannot be pinned on one file as an FRK999: it is an error of
        the run, and the files' own diagnostics (FRK900, FRK999) are still reported.
        """
        modules, result = self.project.modules, self.result
        try:
            findings = indexing.analyse_project(modules, self.options)
        except Exception as exc:
            if interruption(exc) is not None or not getattr(modules, "loaded", True):
                raise  # Ctrl-C, or reading the files' facts failed, not the analysis
            result.tracebacks.append(traceback.format_exc())
            result.errors.append(
                f"internal error in the whole-program analysis: {type(exc).__name__}: {exc}"
            )
            findings = indexing.file_diagnostics(modules)
        if getattr(modules, "loaded", True):  # False when answered from the cache
            result.warnings += _unknown_noqa(modules)
            for facts in modules:
                if "traceback" in facts:  # FRK999: the extractor crashed on this file
                    result.tracebacks.append(
                        f"internal error in {facts['path']}:\n{facts['traceback']}"
                    )
        settings, cwd = self.project.settings, self.cwd
        return [f for f in findings if settings.enabled(f.code, str(cwd / f.location.path))]

    def stage(self) -> FixStage:
        from fork_lint.fixes.stage import FixStage

        project = self.project
        return FixStage(
            project.modules, project.settings, self.options, self.cwd, self.overlay.sources()
        )

    def propose(self, findings: list[Finding]) -> list[Finding]:
        if not self.request.propose_fixes:
            return findings
        from fork_lint.fixes.stage import propose_fixes

        return propose_fixes(self.stage(), findings)

    def fix(self, selected: list[Finding], report: ReportFilter, *, write: bool) -> None:
        """Apply (or, for a diff, compute) the fixes of the findings the report shows."""
        from fork_lint.fixes.stage import apply_fixes

        result = self.result
        unsafe = _unsafe(self.request, self.project.settings)
        only = self.request.fix_select
        select = report.selects if only is None else lambda f: report.selects(f) and only(f)
        applied = apply_fixes(self.stage(), selected, select=select, unsafe=unsafe, write=write)
        result.warnings += applied.warnings
        result.diff += applied.diff
        result.changes.update(applied.changes)
        result.fixed += applied.fixed
        result.buffers.update(self.overlay.written())
        remaining = applied.remaining
        if applied.stale:
            # What is on disk is not what the gate saw: analyse it again.
            self.overlay.forget_disk()
            self.index()
            remaining = self.propose(self.analyse())
        result.findings += report.apply(remaining, again=True)


def _shown(modules: Sequence[ModuleFacts]) -> Iterator[str]:
    files = getattr(modules, "files", None)
    if files is not None:  # a ProjectFacts: the names without loading any facts
        yield from (f.shown for f in files)
    else:
        yield from (m["path"] for m in modules)


def _unknown_noqa(modules: Sequence[ModuleFacts]) -> list[str]:
    """``# noqa: FRKnnn`` codes no rule has (a typo silences nothing). Codes of other
    tools (``E501``) are left alone: one comment often serves several linters."""
    from fork_lint.rules import BY_CODE

    out = []
    for facts in modules:
        for line, codes in facts["noqa"].items():
            for code in codes or ():
                if code.startswith("FRK") and code not in BY_CODE:
                    out.append(
                        f"{facts['path']}:{line}: unknown rule code {code!r} in noqa comment"
                    )
    return out


class _Clock:
    """Wall time of each stage, summed over projects."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.timings[stage] = self.timings.get(stage, 0.0) + elapsed
