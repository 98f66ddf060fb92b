"""Command line: ``fork-lint [check] [PATH ...]``, ``fork-lint rule CODE``.

Exit codes follow ruff: 0 no findings, 1 findings, 2 usage, configuration or
internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fork_lint import __version__
from fork_lint.config import Settings
from fork_lint.engine import AnalysisOptions
from fork_lint.index.facts import ModuleFacts
from fork_lint.model import Finding
from fork_lint.output import FORMATS

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
_COMMANDS = ("check", "rule", "version")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"fork-lint: error: {message}\n")
        raise SystemExit(EXIT_ERROR)


def _codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


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
        if args.command == "rule":
            return _rule(args)
        if args.command == "version":
            print(f"fork-lint {__version__}")
            return EXIT_OK
        return _check(args)
    except KeyboardInterrupt:
        sys.stderr.write("fork-lint: interrupted\n")
        return EXIT_ERROR
    except Exception as exc:  # a crash is a bug: say so in one line unless asked for more
        if getattr(args, "verbose", False):
            traceback.print_exc()
        sys.stderr.write(f"fork-lint: error: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR


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
    modules: list[ModuleFacts] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    fixed: int = 0
    unsafe_hidden: int = 0


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
        config=args.config,
        isolated=args.isolated,
        respect_gitignore=args.respect_gitignore,
    )
    try:
        settings = load_settings(paths, overrides)
        found = discover(paths, settings)
    except (ConfigError, DiscoveryError) as exc:
        sys.stderr.write(f"fork-lint: error: {exc}\n")
        return EXIT_ERROR
    for path, message in found.errors:
        sys.stderr.write(f"fork-lint: warning: {path}: {message}\n")
    run = CheckRun(args=args, settings=settings, files=found.files, cwd=Path.cwd())
    _index(run)
    _analyse(run)
    return _report(run)


def analysis_options(settings: Settings) -> AnalysisOptions:
    return AnalysisOptions(
        target_version=settings.target_version,
        thread_sources=settings.thread_sources,
        fork_sinks=settings.fork_sinks,
    )


def _index(run: CheckRun) -> None:
    """Files -> module facts."""
    from fork_lint.project import collect_facts

    run.modules = collect_facts(run.files, run.settings.project_root, run.cwd)


def _analyse(run: CheckRun) -> None:
    """Module facts -> findings, with rule selection and per-file ignores applied."""
    from fork_lint.engine import analyse

    findings = analyse(run.modules, analysis_options(run.settings))
    run.findings = [
        f for f in findings if run.settings.enabled(f.code, str(run.cwd / f.location.path))
    ]


def _report(run: CheckRun) -> int:
    from fork_lint.output import RenderContext, render, statistics, summary

    args = run.args
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    ctx = RenderContext(color=color, fixed=run.fixed, unsafe_hidden=run.unsafe_hidden)
    findings = run.findings
    if args.statistics:
        sys.stdout.write(statistics(findings, ctx))
    else:
        sys.stdout.write(render(args.output_format, findings, ctx))
        if args.output_format in ("full", "concise") and not args.quiet:
            sys.stdout.write(summary(findings, ctx))
    if args.verbose:
        sys.stderr.write(f"fork-lint: analysed {len(run.modules)} files\n")
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_OK
