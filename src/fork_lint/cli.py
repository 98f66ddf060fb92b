"""Command line: ``fork-lint [check] [PATH ...]``, ``graph``, ``rule``, ``clean``, ``server``,
``version``.

This module parses arguments and dispatches; `cli_check` turns a parsed
``check`` into a `core.CheckRequest` and prints the result. Option names and
behaviours follow ruff's. Exit codes too: 0 no findings, 1 findings, 2 usage,
configuration or internal error; and the shell's 130 when stopped by Ctrl-C
(SIGINT), 143 by SIGTERM, 141 when the reader of its output went away
(`fork-lint | head`).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from fork_lint import __version__
from fork_lint.cli_base import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_OK,
    EXPLAIN_FORMATS,
    GRAPH_FORMATS,
    RULE_FORMATS,
    ConfigOptionError,
    config_option,
    error,
    write_output,
)
from fork_lint.config import OUTPUT_FORMATS
from fork_lint.interrupts import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    interruption,
    stoppable,
)

COMMANDS = ("check", "graph", "rule", "clean", "server", "version")


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


def _format_option(parser: argparse._ActionsContainer, choices: Sequence[str], help: str) -> None:
    """``--output-format``, and the old ``--format`` as a hidden alias of it."""
    parser.add_argument(
        "--output-format", choices=choices, metavar="FORMAT", help=f"{help} ({', '.join(choices)})"
    )
    parser.add_argument("--format", dest="output_format", choices=choices, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fork-lint",
        description="Find fork() calls that can run while other threads are alive.",
    )
    parser.add_argument("--version", action="version", version=f"fork-lint {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    _check_parser(sub.add_parser("check", help="analyse a project (the default command)"))

    graph = sub.add_parser("graph", help="export the call graph (PyCG's JSON format) or draw it")
    graph.add_argument("paths", nargs="*", type=Path, help="files or directories (default: .)")
    _format_option(
        graph,
        GRAPH_FORMATS,
        "json: PyCG's format; dot, svg, png: thread sources, sinks and the chains between",
    )
    graph.add_argument(
        "-o",
        "--output",
        "--output-file",
        type=Path,
        metavar="FILE",
        help="write to FILE instead of standard output",
    )
    graph.add_argument(
        "--root", type=Path, metavar="DIR", help="name modules relative to DIR (default: project)"
    )
    graph.add_argument("--config", action="append", metavar="CONFIG_OPTION", help="as for check")
    graph.add_argument("--isolated", action="store_true", help="ignore configuration files")
    graph.add_argument("--target-version", metavar="pyXY", help="e.g. py312")

    rule = sub.add_parser("rule", help="print the documentation of a rule")
    rule.add_argument("code", nargs="?", help="e.g. FRK001")
    rule.add_argument("--all", action="store_true", help="list every rule")
    _format_option(rule, RULE_FORMATS, "text: the rule's page; json: its fields")

    clean = sub.add_parser(
        "clean", help="remove the .fork_lint_cache directories here and in every subdirectory"
    )
    clean.add_argument("-v", "--verbose", action="store_true", help="name each one removed")

    server = sub.add_parser(
        "server",
        help="run the language server (LSP) on standard input and output, for editors",
    )
    server.add_argument(
        "--stdio", action="store_true", help="talk over standard input and output (the default)"
    )
    server.add_argument(
        "-j", "--jobs", type=_jobs, default=None, metavar="N", help="as for check (default: auto)"
    )
    server.add_argument("--cache-dir", metavar="DIR", help="as for check")
    server.add_argument("--no-cache", action="store_true", help="as for check")
    server.add_argument(
        "--debounce",
        type=_seconds,
        metavar="SECONDS",
        help="pause after an edit before the project is checked (default: 0.2)",
    )
    server.add_argument("--log-file", metavar="FILE", help="write the server's log to FILE")

    sub.add_parser("version", help="print the version")
    return parser


def _extra_output(value: str) -> tuple[str, Path]:
    fmt, equals, file = value.partition("=")
    if not equals or not file:
        raise argparse.ArgumentTypeError(f"expected FORMAT=FILE, got {value!r}")
    if fmt not in OUTPUT_FORMATS:
        known = ", ".join(OUTPUT_FORMATS)
        raise argparse.ArgumentTypeError(f"unknown format {fmt!r} (expected one of: {known})")
    return fmt, Path(file)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 3600:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}")
    return seconds


def _check_parser(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or directories (default: .); `-` reads the file from standard input",
    )
    out = check.add_argument_group("output")
    _format_option(
        out,
        (*OUTPUT_FORMATS, *EXPLAIN_FORMATS),
        "how findings are printed (default: $FORK_LINT_OUTPUT_FORMAT, the configuration's "
        "output-format, else full); with --explain-path: text, dot, svg or png",
    )
    out.add_argument(
        "-o",
        "--output-file",
        type=Path,
        metavar="FILE",
        help="write the report to FILE instead of standard output",
    )
    out.add_argument(
        "--extra-output",
        type=_extra_output,
        action="append",
        default=[],
        metavar="FORMAT=FILE",
        help="also write the findings of the same run in FORMAT to FILE (repeatable), e.g. "
        "sarif=fork-lint.sarif; --only-changed does not thin them: code scanning and code "
        "quality compare whole reports",
    )
    out.add_argument(
        "--paths-relative-to",
        type=Path,
        metavar="DIR",
        help="show file paths relative to DIR (e.g. the repository root, for annotations, "
        "SARIF and code quality of a check run in a subdirectory) instead of the working "
        "directory",
    )
    out.add_argument("--statistics", action="store_true", help="count findings per rule")
    out.add_argument(
        "--show-fixes",
        action="store_true",
        help="after --fix, list the findings fixed, by file and rule",
    )
    out.add_argument(
        "--show-files", action="store_true", help="list the files that would be analysed, and exit"
    )
    out.add_argument(
        "--show-settings",
        action="store_true",
        help="print the settings each project resolves to, and exit",
    )
    out.add_argument(
        "-q", "--quiet", action="store_true", help="print the findings, without the summary"
    )
    out.add_argument(
        "-s",
        "--silent",
        action="store_true",
        help="print nothing but errors; the exit code still tells",
    )
    out.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the time of each stage and tracebacks of internal errors",
    )
    out.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="auto: when writing to a terminal, or when FORCE_COLOR or "
        "CLICOLOR_FORCE asks, unless NO_COLOR is set",
    )
    out.add_argument("-e", "--exit-zero", action="store_true", help="exit 0 even with findings")
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
    fixes.add_argument(
        "--fix",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply safe fixes (default: the configuration's fix)",
    )
    fixes.add_argument(
        "--unsafe-fixes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also apply (with --fix) or offer unsafe fixes",
    )
    fixes.add_argument(
        "--diff", action="store_true", help="print the fixes as a unified diff; write nothing"
    )
    fixes.add_argument(
        "--fix-only", action="store_true", help="apply fixes without reporting what remains"
    )
    fixes.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: FRKnnn` to the line of every finding reported, "
        "keeping the codes already there",
    )
    fixes.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="with --fix: exit 1 when a file was changed, even if no finding remains",
    )
    rules = check.add_argument_group("rule selection")
    rules.add_argument(
        "--select",
        type=_codes,
        metavar="CODES",
        help="comma-separated rule codes or prefixes to report (ALL: every rule)",
    )
    rules.add_argument(
        "--extend-select",
        type=_codes,
        metavar="CODES",
        help="like --select, added to the selected rules",
    )
    rules.add_argument(
        "--ignore",
        type=_codes,
        metavar="CODES",
        help="comma-separated rule codes or prefixes not to report",
    )
    rules.add_argument(
        "--per-file-ignores",
        type=_per_file,
        action="append",
        metavar="PATTERN:CODES",
        help="rules not to report in files matching PATTERN (repeatable; "
        "replaces the configuration's)",
    )
    files = check.add_argument_group("file selection")
    files.add_argument(
        "--exclude",
        type=_codes,
        metavar="PATTERNS",
        help="comma-separated globs of paths to skip (replaces the defaults)",
    )
    files.add_argument(
        "--extend-exclude",
        type=_codes,
        metavar="PATTERNS",
        help="like --exclude, added to the excluded paths",
    )
    files.add_argument(
        "--force-exclude",
        action="store_true",
        help="leave out paths given by name that the configuration excludes (as the "
        "pre-commit hooks do); by default they are analysed",
    )
    files.add_argument(
        "--respect-gitignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="skip what .gitignore files ignore (default: yes)",
    )
    cfg = check.add_argument_group("configuration")
    cfg.add_argument(
        "--config",
        action="append",
        metavar="CONFIG_OPTION",
        help="a configuration file (a fork-lint.toml, or a pyproject.toml-shaped "
        "file), or a TOML 'KEY = VALUE' pair overriding one setting, e.g. "
        "--config 'target-version = \"py312\"' (repeatable)",
    )
    cfg.add_argument("--isolated", action="store_true", help="ignore configuration files")
    cfg.add_argument(
        "--target-version",
        metavar="pyXY",
        help="the oldest Python the project supports, e.g. py312",
    )
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
        help="default: $FORK_LINT_CACHE_DIR, the configuration's cache-dir, else "
        ".fork_lint_cache in the project root",
    )
    perf.add_argument(
        "-n", "--no-cache", action="store_true", help="neither read nor write the cache"
    )
    perf.add_argument(
        "-w",
        "--watch",
        action="store_true",
        help="check again whenever a file changes (Ctrl-C stops)",
    )
    scope = check.add_argument_group("project and CI")
    scope.add_argument(
        "--whole-project",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="analyse the whole project each path belongs to, and report the findings in "
        "the paths or whose witness passes through them (the default); "
        "--no-whole-project analyses the given files alone",
    )
    scope.add_argument(
        "--stdin-filename",
        type=Path,
        metavar="PATH",
        help="the path of the file read from standard input (`-`): it is "
        "analysed in its project, in place of the file on disk",
    )
    scope.add_argument(
        "--diff-base",
        metavar="REF",
        help="git revision, e.g. origin/main: findings on lines changed since REF come first",
    )
    scope.add_argument(
        "--only-changed",
        action="store_true",
        help="with --diff-base: leave out findings that touch no changed line",
    )
    scope.add_argument(
        "--baseline", type=Path, metavar="FILE", help="report only findings not recorded in FILE"
    )
    scope.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="record the current findings in FILE (for --baseline) and exit 0",
    )
    scope.add_argument(
        "--explain-path",
        type=_file_line,
        metavar="FILE:LINE",
        help="show only the witness of the finding at FILE:LINE, in --output-format "
        "text (default), dot, svg or png (svg and png need Graphviz)",
    )


def _command_args(argv: list[str]) -> list[str] | str:
    """The arguments with `check` put first when no command is named; an error
    message for a word that looks like a mistyped command."""
    if argv and argv[0] in (*COMMANDS, "-h", "--help", "--version"):
        return argv
    first = argv[0] if argv else ""
    if first and not first.startswith("-") and not os.path.lexists(first):
        close = difflib.get_close_matches(first, COMMANDS, n=1, cutoff=0.6)
        if close:
            return f"unknown command {first!r} (did you mean `{close[0]}`?)"
    return ["check", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    args_list = _command_args(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    if isinstance(args_list, str):
        parser.print_usage(sys.stderr)
        return error(args_list)
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
            if args.command == "clean":
                return _clean(args)
            if args.command == "server":
                from fork_lint.server import run

                return run(
                    jobs=args.jobs,
                    cache_dir=args.cache_dir,
                    no_cache=args.no_cache,
                    debounce=args.debounce,
                    log_file=args.log_file,
                )
            from fork_lint.cli_check import run_check

            return run_check(args)
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
    from fork_lint.rules import ALL_RULES, BY_CODE

    as_json = args.output_format == "json"
    if args.all or not args.code:
        if as_json:
            print(json.dumps([rule_json(r.code) for r in ALL_RULES], indent=2))
            return EXIT_OK
        for r in ALL_RULES:
            print(f"{r.code}  {r.name:<36} {r.summary}")
        return EXIT_OK
    code = args.code.strip().upper()
    if code not in BY_CODE:
        sys.stderr.write(f"fork-lint: error: unknown rule code {args.code!r}\n")
        return EXIT_ERROR
    if as_json:
        print(json.dumps(rule_json(code), indent=2))
    else:
        print(rule_doc(code), end="")
    return EXIT_OK


def rule_json(code: str) -> dict[str, object]:
    """`rule --output-format json`: a rule's fields and its page (markdown)."""
    from fork_lint.docs import rule_doc
    from fork_lint.fixes import REGISTRY
    from fork_lint.rules import BY_CODE

    rule = BY_CODE[code]
    return {
        "code": rule.code,
        "name": rule.name,
        "summary": rule.summary,
        "fixable": code in REGISTRY,
        "url": rule.doc_url,
        "explanation": rule_doc(code),
    }


def _graph(args: argparse.Namespace) -> int:
    """`fork-lint graph`: the call graph as PyCG JSON, or a picture of sinks and sources."""
    from fork_lint.config import Overrides
    from fork_lint.core import CheckError, CheckRequest, analysis_options, resolve_projects
    from fork_lint.graph.export import GraphvizMissing, graph_output, require_graphviz
    from fork_lint.project import collect_facts

    fmt = args.output_format or "json"
    try:
        file, values = config_option(args.config or [])
    except ConfigOptionError as exc:
        return error(str(exc))
    overrides = Overrides(
        target_version=args.target_version,
        config=file,
        config_values=values,
        isolated=args.isolated,
    )
    request = CheckRequest(tuple(args.paths), overrides=overrides, whole_project=False)
    try:
        require_graphviz(fmt)
        [project] = resolve_projects(request)
    except (CheckError, GraphvizMissing) as exc:
        sys.stderr.write(f"fork-lint: error: {exc}\n")
        return EXIT_ERROR
    for warning in project.warnings:
        sys.stderr.write(f"fork-lint: warning: {warning}\n")
    settings = project.settings
    modules = collect_facts(project.files, args.root or settings.project_root, Path.cwd())
    data = graph_output(modules, fmt, analysis_options(settings))
    return write_output(data, args.output)


def _clean(args: argparse.Namespace) -> int:
    import shutil

    from fork_lint.cache import DEFAULT_CACHE_DIR

    for directory, names, _ in os.walk("."):  # never into a link
        if DEFAULT_CACHE_DIR in names:
            names.remove(DEFAULT_CACHE_DIR)
            path = os.path.join(directory, DEFAULT_CACHE_DIR)
            if os.path.islink(path) or not os.path.isdir(path):
                continue
            try:
                shutil.rmtree(path)  # removes links inside, never what they point to
            except OSError as exc:
                sys.stderr.write(f"fork-lint: warning: cannot remove {path}: {exc}\n")
                continue
            if args.verbose:
                sys.stderr.write(f"fork-lint: removed {os.path.normpath(path)}\n")
    return EXIT_OK
