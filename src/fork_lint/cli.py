"""Command line: ``fork-lint [check] [PATH ...]``, ``fork-lint rule CODE``.

Exit codes follow ruff: 0 no findings, 1 findings, 2 usage, configuration or
internal error; and the shell's 130 when stopped by Ctrl-C (SIGINT), 143 by
SIGTERM, 141 when the reader of its output went away (`fork-lint | head`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fork_lint import __version__
from fork_lint.config import Settings
from fork_lint.engine import AnalysisOptions
from fork_lint.fsio import printable
from fork_lint.index.facts import ModuleFacts
from fork_lint.interrupts import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    interruption,
    stoppable,
)
from fork_lint.model import Finding
from fork_lint.output import FORMATS

if TYPE_CHECKING:
    from fork_lint.baseline import Baseline
    from fork_lint.integrations.precommit import FileScope
    from fork_lint.vcs import ChangedLines

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as the shell reports a tool SIGPIPE killed
# Codes of files that could not be analysed at all: --strict makes them a usage error.
_UNANALYSED = frozenset({"FRK900", "FRK999"})
_COMMANDS = ("check", "graph", "rule", "version")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"fork-lint: error: {message}\n")
        raise SystemExit(EXIT_ERROR)


def _codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _file_line(value: str) -> tuple[Path, int]:
    path, sep, line = value.rpartition(":")
    if not sep or not path or not line.isdigit():
        raise argparse.ArgumentTypeError(f"expected FILE:LINE, got {value!r}")
    return Path(path), int(line)


def _runtime_log(value: str) -> object:
    from fork_lint.runtime.report import runtime_log_argument

    return runtime_log_argument(value)


def _jobs(value: str) -> int | None:
    if value == "auto":
        return None
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'auto', got {value!r}")
    return jobs


def _per_file(value: str) -> tuple[str, list[str]]:
    pattern, sep, codes = value.rpartition(":")
    if not sep or not pattern:
        raise argparse.ArgumentTypeError(f"expected PATTERN:CODES, got {value!r}")
    return pattern, _codes(codes)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fork-lint",
        description="Find fork() calls that can run while other threads are alive.",
    )
    parser.add_argument("--version", action="version", version=f"fork-lint {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    check = sub.add_parser("check", help="analyse a project (the default command)")
    check.add_argument("paths", nargs="*", type=Path, help="files or directories (default: .)")
    out = check.add_argument_group("output")
    out.add_argument(
        "--output-format",
        choices=sorted(FORMATS),
        default=os.environ.get("FORK_LINT_OUTPUT_FORMAT", "full"),
    )
    out.add_argument("--statistics", action="store_true", help="count findings per rule")
    out.add_argument("-q", "--quiet", action="store_true", help="print findings only")
    out.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and timings")
    out.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    out.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 when a file could not be analysed (FRK900 syntax or decoding error, "
        "FRK999 internal error) instead of reporting it as a finding (exit 1)",
    )
    out.add_argument(
        "--runtime-report",
        type=_runtime_log,
        metavar="FILE",
        help="JSON Lines log of fork-lint's runtime guard: mark findings confirmed at run "
        "time and list runtime hazards the analysis missed",
    )
    fixes = check.add_argument_group("fixes")
    fixes.add_argument("--fix", action="store_true", help="apply safe fixes")
    fixes.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply (with --fix) or offer unsafe fixes"
    )
    fixes.add_argument(
        "--diff", action="store_true", help="print the fixes as a unified diff; write nothing"
    )
    fixes.add_argument(
        "--fix-only", action="store_true", help="apply fixes without reporting what remains"
    )
    rules = check.add_argument_group("rule selection")
    rules.add_argument("--select", type=_codes, metavar="CODES")
    rules.add_argument("--extend-select", type=_codes, metavar="CODES")
    rules.add_argument("--ignore", type=_codes, metavar="CODES")
    rules.add_argument(
        "--per-file-ignores", type=_per_file, action="append", metavar="PATTERN:CODES"
    )
    files = check.add_argument_group("file selection")
    files.add_argument("--exclude", type=_codes, metavar="PATTERNS")
    files.add_argument("--extend-exclude", type=_codes, metavar="PATTERNS")
    files.add_argument("--respect-gitignore", action=argparse.BooleanOptionalAction, default=None)
    cfg = check.add_argument_group("configuration")
    cfg.add_argument("--config", type=Path, metavar="FILE", help="pyproject.toml to use")
    cfg.add_argument("--isolated", action="store_true", help="ignore configuration files")
    cfg.add_argument("--target-version", metavar="pyXY", help="e.g. py312")
    cfg.add_argument(
        "--target-platform",
        metavar="PLATFORM",
        help="linux (default), darwin or win32: decides multiprocessing's default start method",
    )
    perf = check.add_argument_group("performance")
    perf.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        metavar="N",
        help="processes that read files (default: the CPUs available; 1: this one only)",
    )
    perf.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="default: $FORK_LINT_CACHE_DIR, else .fork_lint_cache in the project root",
    )
    perf.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    ci = check.add_argument_group("pre-commit and CI")
    ci.add_argument(
        "--whole-project",
        action="store_true",
        help="analyse the whole project(s) containing PATHS, but report only findings in "
        "PATHS or whose witness passes through them (what the pre-commit hook runs)",
    )
    ci.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="with --fix: exit 1 when a file was changed, even if no finding remains",
    )
    ci.add_argument(
        "--diff-base",
        metavar="REF",
        help="git revision, e.g. origin/main: findings on lines changed since REF come first",
    )
    ci.add_argument(
        "--only-changed",
        action="store_true",
        help="with --diff-base: leave out findings that touch no changed line",
    )
    ci.add_argument(
        "--baseline", type=Path, metavar="FILE", help="report only findings not recorded in FILE"
    )
    ci.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="record the current findings in FILE (for --baseline) and exit 0",
    )
    explain = check.add_argument_group("witness of one finding")
    explain.add_argument(
        "--explain-path",
        type=_file_line,
        metavar="FILE:LINE",
        help="show only the witness of the finding at FILE:LINE, in --format",
    )
    explain.add_argument(
        "--format",
        dest="explain_format",
        choices=("text", "dot", "svg", "png"),
        default="text",
        help="format of --explain-path (svg and png need Graphviz)",
    )

    graph = sub.add_parser("graph", help="export the call graph (PyCG's JSON format) or draw it")
    graph.add_argument("paths", nargs="*", type=Path, help="files or directories (default: .)")
    graph.add_argument(
        "--format",
        choices=("json", "dot", "svg", "png"),
        default="json",
        help="json: PyCG's format; dot/svg/png: thread sources, sinks and the chains between",
    )
    graph.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    graph.add_argument(
        "--root", type=Path, metavar="DIR", help="name modules relative to DIR (default: project)"
    )
    graph.add_argument("--config", type=Path, metavar="FILE", help="pyproject.toml to use")
    graph.add_argument("--isolated", action="store_true", help="ignore configuration files")
    graph.add_argument("--target-version", metavar="pyXY", help="e.g. py312")

    rule = sub.add_parser("rule", help="print the documentation of a rule")
    rule.add_argument("code", nargs="?", help="e.g. FRK001")
    rule.add_argument("--all", action="store_true", help="list every rule")

    sub.add_parser("version", help="print the version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (
        args_list[0] not in _COMMANDS and args_list[0] not in ("-h", "--help", "--version")
    ):
        args_list.insert(0, "check")
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        with stoppable():
            if args.command == "rule":
                return _rule(args)
            if args.command == "version":
                print(f"fork-lint {__version__}")
                return EXIT_OK
            if args.command == "graph":
                return _graph(args)
            return _check(args)
    except KeyboardInterrupt as exc:
        return _stopped(exc)
    except BrokenPipeError:
        # The reader of stdout is gone: not an error of ours, and nothing more can be
        # said there. Point stdout at /dev/null so the interpreter's last flush at exit
        # does not fail again, and end as a tool killed by SIGPIPE would.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a crash is a bug: say so in one line unless asked for more
        stopped = interruption(exc)
        if stopped is not None:  # raised by clean-up code the interruption ran
            return _stopped(stopped)
        if getattr(args, "verbose", False):
            traceback.print_exc()
        sys.stderr.write(f"fork-lint: error: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR


def _stopped(exc: KeyboardInterrupt) -> int:
    if isinstance(exc, Terminated):
        sys.stderr.write("fork-lint: terminated\n")
        return EXIT_TERMINATED
    sys.stderr.write("fork-lint: interrupted\n")
    return EXIT_INTERRUPTED


def _rule(args: argparse.Namespace) -> int:
    from fork_lint.docs import rule_doc
    from fork_lint.rules import ALL_RULES

    if args.all or not args.code:
        for r in ALL_RULES:
            print(f"{r.code}  {r.name:<36} {r.summary}")
        return EXIT_OK
    try:
        print(rule_doc(args.code), end="")
    except KeyError:
        sys.stderr.write(f"fork-lint: error: unknown rule code {args.code!r}\n")
        return EXIT_ERROR
    return EXIT_OK


@dataclass
class CheckRun:
    """State of one `check` run, handed from stage to stage."""

    args: argparse.Namespace
    settings: Settings
    files: list[Path]
    cwd: Path
    modules: Sequence[ModuleFacts] = field(default_factory=list)  # project.ProjectFacts
    findings: list[Finding] = field(default_factory=list)
    fixed: int = 0
    unsafe_hidden: int = 0
    scope: FileScope | None = None  # --whole-project: the files to report on
    rank: Callable[[Finding], int] | None = None  # --diff-base: 0 line, 1 witness, 2 unchanged
    left_out: int = 0  # findings --only-changed dropped
    baseline_matched: int = 0  # findings --baseline hid
    analysis_failed: bool = False  # the whole-program analysis raised: only file diagnostics


def _check(args: argparse.Namespace) -> int:
    from fork_lint.config import ConfigError, Overrides, load_settings
    from fork_lint.discovery import DiscoveryError, discover

    paths = list(args.paths) or [Path(".")]
    overrides = Overrides(
        select=args.select,
        extend_select=args.extend_select,
        ignore=args.ignore,
        exclude=args.exclude,
        extend_exclude=args.extend_exclude,
        per_file_ignores=args.per_file_ignores,
        target_version=args.target_version,
        target_platform=args.target_platform,
        config=args.config,
        isolated=args.isolated,
        respect_gitignore=args.respect_gitignore,
    )
    cwd = Path.cwd()
    runs: list[CheckRun] = []
    try:
        ci = _ci_inputs(args, cwd)
        for scope_paths, scope in _scopes(args, paths, cwd):
            settings = load_settings(scope_paths, overrides)
            found = discover(scope_paths, settings)
            for path, message in found.errors:
                sys.stderr.write(f"fork-lint: warning: {printable(str(path))}: {message}\n")
            runs.append(CheckRun(args, settings, found.files, cwd, scope=scope))
    except (ConfigError, DiscoveryError, _CiError) as exc:
        sys.stderr.write(f"fork-lint: error: {exc}\n")
        return EXIT_ERROR
    for run in runs:
        _index(run)
        _analyse(run)
        _fix(run)
        _restrict(run)
        _baseline(run, ci)
    run = _merge(runs)
    code = _conclude(run, ci)
    # An internal error is exit 2 whatever else happened (ruff's convention), after
    # the diagnostics of the files, which are still reported.
    return EXIT_ERROR if run.analysis_failed else code


def _conclude(run: CheckRun, ci: _CiInputs) -> int:
    """Report (or fix, or record) the findings of the merged run; the exit code."""
    args = run.args
    if args.diff or args.fix_only:
        from fork_lint.fixes.stage import fix_only_outcome

        return fix_only_outcome(run)
    if args.write_baseline is not None:
        if run.analysis_failed:
            sys.stderr.write(
                f"fork-lint: error: {args.write_baseline} not written: the analysis failed\n"
            )
            return EXIT_ERROR
        return _write_baseline(args.write_baseline, ci)
    _changes(run, ci)
    _step_summary(run)
    if args.explain_path is not None:
        return _explain(run)
    return _report(run)


def _graph(args: argparse.Namespace) -> int:
    """`fork-lint graph`: the call graph as PyCG JSON, or a picture of sinks and sources."""
    from fork_lint.config import ConfigError, Overrides, load_settings
    from fork_lint.discovery import DiscoveryError, discover
    from fork_lint.graph.export import GraphvizMissing, graph_output, require_graphviz
    from fork_lint.project import collect_facts

    paths = list(args.paths) or [Path(".")]
    overrides = Overrides(
        target_version=args.target_version, config=args.config, isolated=args.isolated
    )
    try:
        require_graphviz(args.format)
        settings = load_settings(paths, overrides)
        found = discover(paths, settings)
    except (ConfigError, DiscoveryError, GraphvizMissing) as exc:
        sys.stderr.write(f"fork-lint: error: {exc}\n")
        return EXIT_ERROR
    for path, message in found.errors:
        sys.stderr.write(f"fork-lint: warning: {printable(str(path))}: {message}\n")
    modules = collect_facts(found.files, args.root or settings.project_root, Path.cwd())
    data = graph_output(modules, args.format, analysis_options(settings))
    return _write(data, args.output)


def _explain(run: CheckRun) -> int:
    """`check --explain-path FILE:LINE`: the witness of the findings on that line."""
    from fork_lint.graph.export import GraphvizMissing, explain_output, findings_at

    path, line = run.args.explain_path
    cwd = run.cwd
    chosen = findings_at(run.findings, path, line, cwd)
    if not chosen:
        in_file = sorted({f.location.span.line for f in findings_at(run.findings, path, 0, cwd)})
        known = f" (findings there are on lines {', '.join(map(str, in_file))})" if in_file else ""
        sys.stderr.write(f"fork-lint: error: no finding at {path}:{line}{known}\n")
        return EXIT_ERROR
    try:
        data = explain_output(chosen, run.args.explain_format)
    except GraphvizMissing as exc:
        sys.stderr.write(f"fork-lint: error: {exc}\n")
        return EXIT_ERROR
    return _write(data, None)


def _write(data: bytes, output: Path | None) -> int:
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return EXIT_OK
    try:
        output.write_bytes(data)
    except OSError as exc:
        sys.stderr.write(f"fork-lint: error: cannot write {output}: {exc.strerror or exc}\n")
        return EXIT_ERROR
    return EXIT_OK


def analysis_options(settings: Settings) -> AnalysisOptions:
    return AnalysisOptions.from_settings(settings)


def _index(run: CheckRun) -> None:
    """Files -> module facts (read from the cache or extracted when first needed)."""
    from fork_lint.cache import resolve_cache_dir
    from fork_lint.project import index_project

    args, root = run.args, run.settings.project_root
    cache_dir = resolve_cache_dir(args.cache_dir, args.no_cache, root, run.cwd)
    run.modules = index_project(run.files, root, run.cwd, cache_dir=cache_dir, jobs=args.jobs)


def _analyse(run: CheckRun) -> None:
    """Module facts -> findings, with rule selection and per-file ignores applied.

    An exception in the whole-program stages (call graph, classification,
    reachability) cannot be pinned on one file as an FRK999: it is reported on
    its own line and makes the run exit 2, and the files' own diagnostics
    (FRK900, FRK999) are still reported.
    """
    from fork_lint.project import analyse_project, file_diagnostics

    try:
        findings = analyse_project(run.modules, analysis_options(run.settings))
    except Exception as exc:
        if interruption(exc) is not None or not getattr(run.modules, "loaded", True):
            raise  # Ctrl-C, or reading the files' facts failed, not the analysis
        if run.args.verbose:
            traceback.print_exc()
        sys.stderr.write(
            "fork-lint: internal error in the whole-program analysis: "
            f"{type(exc).__name__}: {exc}\n"
        )
        run.analysis_failed = True
        findings = file_diagnostics(run.modules)
    loaded = getattr(run.modules, "loaded", True)  # False when answered from the cache
    if loaded:
        _warn_unknown_noqa(run.modules)
    if run.args.verbose and loaded:
        for facts in run.modules:
            if "traceback" in facts:  # FRK999: the extractor crashed on this file
                sys.stderr.write(f"fork-lint: internal error in {facts['path']}:\n")
                sys.stderr.write(facts["traceback"])
    run.findings = [
        f for f in findings if run.settings.enabled(f.code, str(run.cwd / f.location.path))
    ]


def _warn_unknown_noqa(modules: Sequence[ModuleFacts]) -> None:
    """Warn about ``# noqa: FRKnnn`` codes no rule has (a typo silences nothing).

    Codes of other tools (``E501``) are left alone: one comment often serves several linters.
    """
    from fork_lint.rules import BY_CODE

    for facts in modules:
        for line, codes in facts["noqa"].items():
            for code in codes or ():
                if code.startswith("FRK") and code not in BY_CODE:
                    sys.stderr.write(
                        f"fork-lint: warning: {facts['path']}:{line}: unknown rule code "
                        f"{code!r} in noqa comment\n"
                    )


def _fix(run: CheckRun) -> None:
    """Findings -> findings with their fixes; with --fix/--diff/--fix-only, apply them."""
    from fork_lint.fixes.stage import fix_stage

    if not run.analysis_failed:  # a fix is checked by the analysis that just failed
        fix_stage(run)


class _CiError(Exception):
    """A --diff-base, --baseline or --only-changed problem: a usage error (exit 2)."""


@dataclass
class _CiInputs:
    """What the CI stages read before the analysis, so a bad flag fails fast."""

    changes: ChangedLines | None = None
    baseline: Baseline | None = None
    entries: list[dict[str, str | int]] = field(default_factory=list)  # for --write-baseline


def _ci_inputs(args: argparse.Namespace, cwd: Path) -> _CiInputs:
    from fork_lint.baseline import BaselineError, load_baseline
    from fork_lint.vcs import VcsError, changed_lines

    if args.only_changed and args.diff_base is None:
        raise _CiError("--only-changed needs --diff-base REF")
    ci = _CiInputs()
    try:
        if args.diff_base is not None:
            ci.changes = changed_lines(args.diff_base, cwd)
        if args.baseline is not None and args.write_baseline is None:
            ci.baseline = load_baseline(args.baseline)
    except VcsError as exc:
        raise _CiError(f"--diff-base {args.diff_base}: {exc}") from None
    except BaselineError as exc:
        raise _CiError(str(exc)) from None
    return ci


def _scopes(
    args: argparse.Namespace, paths: list[Path], cwd: Path
) -> list[tuple[list[Path], FileScope | None]]:
    """What each run analyses, and which files it reports on (None: everything)."""
    if not args.whole_project:
        return [(paths, None)]
    from fork_lint.config import find_project_root
    from fork_lint.discovery import DiscoveryError
    from fork_lint.integrations.precommit import project_scopes

    if not args.paths:
        return [([find_project_root([cwd])], None)]
    missing = [p for p in args.paths if not os.path.lexists(p)]
    if missing:
        raise DiscoveryError(missing)
    config_root = args.config.resolve().parent if args.config and not args.isolated else None
    return [([root], scope) for root, scope in project_scopes(args.paths, cwd, config_root)]


def _restrict(run: CheckRun) -> None:
    """--whole-project: keep findings in the given files or whose witness passes through them."""
    if run.scope is not None:
        scope = run.scope
        run.findings = [f for f in run.findings if scope.touches(f, run.cwd)]


def _baseline(run: CheckRun, ci: _CiInputs) -> None:
    """--write-baseline records the findings; --baseline hides those it recorded."""
    from fork_lint.baseline import Fingerprinter, baseline_entries
    from fork_lint.output import read_source_lines

    if run.args.write_baseline is None and ci.baseline is None:
        return
    fingerprinter = Fingerprinter(run.settings.project_root, run.cwd, read_source_lines)
    if run.args.write_baseline is not None:
        ci.entries += baseline_entries(run.findings, fingerprinter)
    elif ci.baseline is not None:
        run.findings, run.baseline_matched = ci.baseline.filter(run.findings, fingerprinter)


def _merge(runs: list[CheckRun]) -> CheckRun:
    """One run to report, from the runs of several projects (--whole-project)."""
    if len(runs) == 1:
        return runs[0]
    first = runs[0]
    return CheckRun(
        first.args,
        first.settings,
        [f for r in runs for f in r.files],
        first.cwd,
        modules=[m for r in runs for m in r.modules],
        findings=sorted((f for r in runs for f in r.findings), key=Finding.sort_key),
        fixed=sum(r.fixed for r in runs),
        unsafe_hidden=sum(r.unsafe_hidden for r in runs),
        baseline_matched=sum(r.baseline_matched for r in runs),
        analysis_failed=any(r.analysis_failed for r in runs),
    )


def _write_baseline(path: Path, ci: _CiInputs) -> int:
    from fork_lint.baseline import BaselineError, write_baseline

    try:
        write_baseline(path, ci.entries)
    except BaselineError as exc:
        sys.stderr.write(f"fork-lint: error: {exc}\n")
        return EXIT_ERROR
    count = len(ci.entries)
    sys.stderr.write(f"fork-lint: wrote {count} finding{'' if count == 1 else 's'} to {path}\n")
    return EXIT_OK


def _changes(run: CheckRun, ci: _CiInputs) -> None:
    """--diff-base ranks findings by the change; --only-changed drops untouched ones."""
    changes = ci.changes
    if changes is None:
        return
    ranks: dict[Finding, int] = {}

    def rank(finding: Finding) -> int:
        if finding not in ranks:
            ranks[finding] = changes.rank(finding, run.cwd)
        return ranks[finding]

    run.rank = rank
    if run.args.only_changed:
        kept = [f for f in run.findings if rank(f) < 2]
        run.left_out = len(run.findings) - len(kept)
        run.findings = kept


def _step_summary(run: CheckRun) -> None:
    """With the github format, append a table of all findings to $GITHUB_STEP_SUMMARY."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if run.args.output_format != "github" or not target:
        return
    from fork_lint.output import RenderContext, printable_output
    from fork_lint.output.github import step_summary

    text = step_summary(
        run.findings,
        RenderContext(rank=run.rank),
        diff_base=run.args.diff_base,
        left_out=run.left_out,
        baseline_matched=run.baseline_matched,
    )
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(printable_output("github", text))
    except OSError as exc:
        sys.stderr.write(f"fork-lint: warning: cannot write {target}: {exc.strerror or exc}\n")


def _report(run: CheckRun) -> int:
    from fork_lint.output import RenderContext, printable_output, render, statistics, summary

    args = run.args
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    ctx = RenderContext(
        color=color,
        fixed=run.fixed,
        unsafe_hidden=run.unsafe_hidden,
        unsafe_fixes=args.unsafe_fixes,
        rank=run.rank,
    )
    findings = run.findings
    if args.statistics:
        sys.stdout.write(printable_output("full", statistics(findings, ctx)))
    else:
        text = render(args.output_format, findings, ctx)
        if args.runtime_report is not None:
            from fork_lint.runtime.report import apply_runtime_report

            text = apply_runtime_report(
                text,
                args.output_format,
                findings,
                args.runtime_report,
                run.cwd,
                run.settings.project_root,
            )
        sys.stdout.write(printable_output(args.output_format, text))
        if args.output_format in ("full", "concise") and not args.quiet:
            sys.stdout.write(summary(findings, ctx))
    if args.verbose:
        sys.stderr.write(f"fork-lint: analysed {len(run.modules)} files\n")
    if args.strict and any(f.code in _UNANALYSED for f in findings):
        return EXIT_ERROR
    failed = bool(findings) or (args.exit_non_zero_on_fix and run.fixed > 0)
    return EXIT_FINDINGS if failed and not args.exit_zero else EXIT_OK
