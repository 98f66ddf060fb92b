"""`fork-lint check`: the parsed options as a `core.CheckRequest`, and the result printed.

Nothing here analyses or fixes: `core.check` does, and this module decides what
to print where (findings and summaries to standard output or ``-o FILE``,
warnings and errors to standard error) and the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from fork_lint.cli_base import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    EXPLAIN_FORMATS,
    ConfigOptionError,
    config_option,
    error,
    write_output,
)
from fork_lint.config import Overrides, Settings
from fork_lint.core import CheckError, CheckRequest, CheckResult, FixMode, check, resolve_projects
from fork_lint.model import Finding
from fork_lint.output import RenderContext, printable_output, render, statistics, summary
from fork_lint.overlay import shown_path

# Codes of files that could not be analysed at all: --strict makes them a usage error.
_UNANALYSED = frozenset({"FRK900", "FRK999"})
# --add-noqa leaves these alone: a noqa comment for FRK100 keeps an unused one,
# and a file that cannot be parsed takes no comment safely.
_NO_NOQA = frozenset({"FRK100", *_UNANALYSED})


@dataclass
class _Stdin:
    path: Path  # as given with --stdin-filename, or `-`
    data: bytes


def run_check(args: argparse.Namespace) -> int:
    problem = _conflicts(args)
    if problem:
        return error(problem)
    try:
        config_file, pairs = config_option(args.config or [])
    except ConfigOptionError as exc:
        return error(str(exc))
    stdin = _read_stdin(args)
    request = _request(args, stdin, config_file, pairs)
    with _Output.open(args) as out:
        if out is None:
            return EXIT_ERROR
        if args.show_settings or args.show_files:
            return _show(args, request, out)
        if args.watch:
            from fork_lint.watch import watch

            return watch(request, lambda: _once(args, request, stdin, out))
        return _once(args, request, stdin, out)


def _conflicts(args: argparse.Namespace) -> str | None:
    reading = Path("-") in args.paths
    if args.stdin_filename is not None and not reading:
        return "--stdin-filename names the file read from standard input: pass `-` too"
    if reading and len(args.paths) > 1:
        return "`-` (standard input) cannot be checked together with other paths"
    if reading and (args.watch or args.add_noqa):
        flag = "--watch" if args.watch else "--add-noqa"
        return f"{flag} works on files: it cannot read standard input"
    if args.add_noqa and (args.fix or args.diff or args.fix_only):
        return "--add-noqa cannot be combined with --fix, --diff or --fix-only"
    if args.explain_path is not None and args.output_format not in (None, "full", *EXPLAIN_FORMATS):
        return "--explain-path writes text, dot, svg or png (--output-format)"
    if args.explain_path is None and args.output_format in ("text", "dot", "svg", "png"):
        return f"--output-format {args.output_format} is for --explain-path"
    if args.extra_output:
        for flag, given in (
            ("--diff", args.diff),
            ("--fix-only", args.fix_only),
            ("--write-baseline", args.write_baseline is not None),
            ("--add-noqa", args.add_noqa),
            ("--explain-path", args.explain_path is not None),
            ("--statistics", args.statistics),
        ):
            if given:
                return f"--extra-output writes findings: it cannot be combined with {flag}"
    return None


def _read_stdin(args: argparse.Namespace) -> _Stdin | None:
    if Path("-") not in args.paths:
        return None
    return _Stdin(args.stdin_filename or Path("-"), sys.stdin.buffer.read())


def _request(
    args: argparse.Namespace,
    stdin: _Stdin | None,
    config_file: Path | None,
    pairs: tuple[str, ...],
) -> CheckRequest:
    overrides = Overrides(
        select=args.select,
        extend_select=args.extend_select,
        ignore=args.ignore,
        exclude=args.exclude,
        extend_exclude=args.extend_exclude,
        per_file_ignores=args.per_file_ignores,
        target_version=args.target_version,
        target_platform=args.target_platform,
        config=config_file,
        config_values=pairs,
        isolated=args.isolated,
        respect_gitignore=args.respect_gitignore,
    )
    fix: FixMode | None = None
    if args.diff:
        fix = FixMode.DIFF
    elif args.fix_only or args.fix:
        fix = FixMode.APPLY
    elif args.fix is False or args.add_noqa or args.explain_path is not None:
        fix = FixMode.PROPOSE
    paths = tuple(args.paths)
    sources: dict[str, str | bytes] = {}
    if stdin is not None:
        paths = (stdin.path,)
        sources[str(stdin.path)] = stdin.data
    return CheckRequest(
        paths=paths,
        overrides=overrides,
        whole_project=args.whole_project,
        sources=sources,
        fix=fix,
        unsafe_fixes=args.unsafe_fixes,
        propose_fixes=not args.add_noqa and args.explain_path is None,
        cache_dir=args.cache_dir,
        no_cache=args.no_cache,
        jobs=args.jobs,
        diff_base=args.diff_base,
        only_changed=args.only_changed,
        baseline=args.baseline,
        record_baseline=args.write_baseline is not None,
        force_exclude=args.force_exclude,
    )


class _Output:
    """Where the report goes: standard output, or the file of ``-o``."""

    def __init__(self, stream: TextIO, args: argparse.Namespace) -> None:
        self.stream = stream
        self.args = args

    @classmethod
    @contextmanager
    def open(cls, args: argparse.Namespace) -> Iterator[_Output | None]:
        if args.output_file is None:
            yield cls(sys.stdout, args)
            return
        try:
            stream = open(args.output_file, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            error(f"cannot write {args.output_file}: {exc.strerror or exc}")
            yield None
            return
        with stream:
            yield cls(stream, args)

    def write(self, text: str) -> None:
        if not self.args.silent:
            self.stream.write(text)

    @property
    def color(self) -> bool:
        """ruff's rules: --color, then FORCE_COLOR or CLICOLOR_FORCE, then NO_COLOR,
        then whether the output is a terminal."""
        choice = self.args.color
        if choice != "auto":
            return bool(choice == "always")
        env = os.environ
        if env.get("FORCE_COLOR") or env.get("CLICOLOR_FORCE", "0") != "0":
            return True
        if env.get("NO_COLOR"):
            return False
        return self.stream.isatty()


def _warn(args: argparse.Namespace, message: str) -> None:
    if not args.silent:
        sys.stderr.write(f"fork-lint: warning: {message}\n")


def _once(
    args: argparse.Namespace, request: CheckRequest, stdin: _Stdin | None, out: _Output
) -> int:
    try:
        result = check(request)
    except CheckError as exc:
        return error(str(exc))
    for warning in result.warnings:
        _warn(args, warning)
    if args.verbose:
        for text in result.tracebacks:
            prefix = "" if text.startswith("Traceback") else "fork-lint: "
            sys.stderr.write(prefix + (text if text.endswith("\n") else text + "\n"))
    for message in result.errors:
        sys.stderr.write(f"fork-lint: {message}\n")
    code = _conclude(args, result, stdin, out)
    if args.verbose and not args.silent:
        _timings(result)
    # An internal error is exit 2 whatever else happened (ruff's convention), after
    # the diagnostics of the files, which are still reported.
    return EXIT_ERROR if result.analysis_failed else code


def _conclude(
    args: argparse.Namespace, result: CheckResult, stdin: _Stdin | None, out: _Output
) -> int:
    if stdin is not None and result.fix is FixMode.APPLY:
        _write_buffer(args, result, stdin)
        out = _Output(sys.stderr, args)  # the fixed code owns standard output
    if args.diff or args.fix_only:
        if result.fix is FixMode.DIFF:
            out.write(result.diff)
        return _fix_only_outcome(args, result, out)
    if args.write_baseline is not None:
        return _write_baseline(args, result)
    if args.add_noqa:
        return _add_noqa(args, result)
    _step_summary(args, result)
    if args.explain_path is not None:
        return _explain(args, result)
    return _report(args, result, out)


def _write_buffer(args: argparse.Namespace, result: CheckResult, stdin: _Stdin) -> None:
    """The fixed file read from standard input, in its own encoding (ruff's convention)."""
    import io
    import tokenize

    key = shown_path(stdin.path, Path.cwd())
    text = result.buffers.get(key)
    if text is None:
        data = stdin.data
    else:
        try:
            encoding = tokenize.detect_encoding(io.BytesIO(stdin.data).readline)[0]
            data = text.encode(encoding)
        except (SyntaxError, LookupError, UnicodeEncodeError):
            data = text.encode("utf-8", "surrogateescape")
    write_output(data, None)


def _fix_only_outcome(args: argparse.Namespace, result: CheckResult, out: _Output) -> int:
    """`--diff` and `--fix-only` report only what was (or would be) fixed."""
    n = len(result.fixed)
    noun = "error" if n == 1 else "errors"
    hidden = result.unsafe_hidden
    extra = (
        f" ({hidden} additional fix{'' if hidden == 1 else 'es'} available with `--unsafe-fixes`)"
        if hidden
        else ""
    )
    if result.fix is FixMode.DIFF:
        if (n or hidden) and not args.silent:
            sys.stderr.write(f"Would fix {n} {noun}{extra}.\n")
        return EXIT_FINDINGS if n else EXIT_OK
    if not args.quiet:
        if args.show_fixes:
            out.write(_fixed_listing(result.fixed))
        out.write(f"Fixed {n} {noun}{extra}.\n" if n or hidden else "No errors fixed.\n")
    return EXIT_FINDINGS if n and args.exit_non_zero_on_fix else EXIT_OK


def _write_baseline(args: argparse.Namespace, result: CheckResult) -> int:
    from fork_lint.baseline import BaselineError, write_baseline

    path = args.write_baseline
    if result.analysis_failed:
        return error(f"{path} not written: the analysis failed")
    try:
        write_baseline(path, result.baseline_entries)
    except BaselineError as exc:
        return error(str(exc))
    count = len(result.baseline_entries)
    if not args.silent:
        sys.stderr.write(f"fork-lint: wrote {count} finding{'' if count == 1 else 's'} to {path}\n")
    return EXIT_OK


def _add_noqa(args: argparse.Namespace, result: CheckResult) -> int:
    """`--add-noqa`: a ``# noqa`` code on the line of every finding reported."""
    from fork_lint.fixes.add_noqa import add_noqa
    from fork_lint.fixes.apply import DiskSources

    if result.analysis_failed:
        return error("no noqa comment added: the analysis failed")
    wanted = [f for f in result.findings if f.code not in _NO_NOQA]
    added, problems = add_noqa(wanted, DiskSources(Path.cwd()))
    for problem in problems:
        _warn(args, problem)
    if not args.silent:
        plural = "" if added == 1 else "s"
        sys.stderr.write(f"Added {added} noqa comment{plural}.\n" if added else "")
        if not added:
            sys.stderr.write("No noqa comment added.\n")
    return EXIT_OK


def _step_summary(args: argparse.Namespace, result: CheckResult) -> None:
    """With the github format, append a table of all findings to $GITHUB_STEP_SUMMARY."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if _format(args, result) != "github" or not target:
        return
    from fork_lint.output.github import step_summary

    findings, ctx = _shown(
        args, result.findings, RenderContext(rank=result.rank, read_lines=_reader(result))
    )
    text = step_summary(
        findings,
        ctx,
        diff_base=args.diff_base,
        left_out=result.left_out,
        baseline_matched=result.baseline_matched,
    )
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(printable_output("github", text))
    except OSError as exc:
        _warn(args, f"cannot write {target}: {exc.strerror or exc}")


def _explain(args: argparse.Namespace, result: CheckResult) -> int:
    """`check --explain-path FILE:LINE`: the witness of the findings on that line."""
    from fork_lint.graph.export import GraphvizMissing, explain_output, findings_at

    path, line = args.explain_path
    cwd = Path.cwd()
    chosen = findings_at(result.findings, path, line, cwd)
    if not chosen:
        in_file = sorted({f.location.span.line for f in findings_at(result.findings, path, 0, cwd)})
        known = f" (findings there are on lines {', '.join(map(str, in_file))})" if in_file else ""
        return error(f"no finding at {path}:{line}{known}")
    fmt = args.output_format if args.output_format in EXPLAIN_FORMATS else "text"
    try:
        data = explain_output(chosen, fmt)
    except GraphvizMissing as exc:
        return error(str(exc))
    return write_output(data, args.output_file)


def _format(args: argparse.Namespace, result: CheckResult) -> str:
    """--output-format, then $FORK_LINT_OUTPUT_FORMAT, then `output-format`, then full."""
    chosen = args.output_format or os.environ.get("FORK_LINT_OUTPUT_FORMAT")
    if chosen:
        return str(chosen)
    settings = result.settings
    return settings.output_format if settings and settings.output_format else "full"


def _reader(result: CheckResult) -> Callable[[str], list[str] | None]:
    from fork_lint.output import read_source_lines

    return result.read_lines or read_source_lines


def _report(args: argparse.Namespace, result: CheckResult, out: _Output) -> int:
    fmt = _format(args, result)
    ctx = RenderContext(
        color=out.color,
        read_lines=_reader(result),
        fixed=len(result.fixed),
        unsafe_hidden=result.unsafe_hidden,
        unsafe_fixes=result.unsafe_fixes,
        rank=result.rank,
        beyond=result.files_beyond,
    )
    findings, ctx = _shown(args, result.findings, ctx)
    if args.statistics:
        if fmt == "json":
            out.write(printable_output("json", _statistics_json(findings, ctx)))
        else:
            out.write(printable_output("full", statistics(findings, ctx)))
    else:
        text = render(fmt, findings, ctx)
        if args.runtime_report is not None:
            from fork_lint.runtime.report import apply_runtime_report

            settings = result.settings
            root = settings.project_root if settings is not None else Path.cwd()
            # The findings' paths start where they are shown from.
            start = _relative_to(args) or Path.cwd()
            text = apply_runtime_report(text, fmt, findings, args.runtime_report, start, root)
        out.write(printable_output(fmt, text))
        if fmt in ("full", "concise") and not args.quiet:
            if args.show_fixes and result.fixed:
                out.write(_fixed_listing(_shown(args, result.fixed, ctx)[0]))
            out.write(summary(findings, ctx))
    if not _extra_outputs(args, result):
        return EXIT_ERROR
    if args.strict and any(f.code in _UNANALYSED for f in findings):
        return EXIT_ERROR
    failed = bool(findings) or (args.exit_non_zero_on_fix and bool(result.fixed))
    return EXIT_FINDINGS if failed and not args.exit_zero else EXIT_OK


def _relative_to(args: argparse.Namespace) -> Path | None:
    base: Path | None = args.paths_relative_to
    return None if base is None else Path(os.path.abspath(base))


def _shown(
    args: argparse.Namespace, findings: list[Finding], ctx: RenderContext
) -> tuple[list[Finding], RenderContext]:
    """The findings as reported: with `--paths-relative-to`, their paths moved there."""
    base = _relative_to(args)
    if base is None:
        return findings, ctx
    from fork_lint.output.relocate import Relocation

    return Relocation(base, Path.cwd()).findings(findings, ctx)


def _extra_outputs(args: argparse.Namespace, result: CheckResult) -> bool:
    """`--extra-output FORMAT=FILE`: the run's findings in more formats, each with those
    `--only-changed` left out (a report of the whole repository). False if one failed."""
    if not args.extra_output:
        return True
    everything = sorted([*result.findings, *result.left_out_findings], key=Finding.sort_key)
    base = RenderContext(
        read_lines=_reader(result),
        unsafe_fixes=result.unsafe_fixes,
        rank=result.rank,
        beyond=result.files_beyond,
    )
    findings, ctx = _shown(args, everything, base)
    ok = True
    for fmt, path in args.extra_output:
        try:
            data = render(fmt, findings, ctx).encode("utf-8")
            with open(path, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            error(f"cannot write {path}: {exc.strerror or exc}")
            ok = False
    return ok


def _statistics_json(findings: list[Finding], ctx: RenderContext) -> str:
    """`--statistics --output-format json`: one object per rule, most frequent first."""
    from fork_lint.rules import BY_CODE

    counts = Counter(f.code for f in findings)
    rows = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = BY_CODE.get(code)
        rows.append(
            {
                "code": code,
                "name": rule.name if rule is not None else "",
                "count": count,
                "fixable": any(
                    f.fixable_with(unsafe=ctx.unsafe_fixes) for f in findings if f.code == code
                ),
                "summary": rule.summary if rule is not None else "",
            }
        )
    return json.dumps(rows, indent=2) + "\n"


def _fixed_listing(fixed: list[Finding]) -> str:
    """`--show-fixes`: the findings fixed, by file and rule."""
    if not fixed:
        return ""
    by_file: dict[str, Counter[tuple[str, str]]] = {}
    for f in fixed:
        by_file.setdefault(f.path, Counter())[(f.code, f.name)] += 1
    n = len(fixed)
    lines = [f"Fixed {n} error{'' if n == 1 else 's'}:"]
    for path in sorted(by_file):
        lines.append(f"- {path}:")
        for (code, name), count in sorted(by_file[path].items()):
            lines.append(f"    {count} {code} ({name})")
    return "\n".join(lines) + "\n\n"


def _timings(result: CheckResult) -> None:
    stages = ", ".join(f"{stage} {seconds:.3f} s" for stage, seconds in result.timings.items())
    beyond = result.files_beyond
    extra = f" ({beyond} beyond the paths given)" if beyond else ""
    sys.stderr.write(f"fork-lint: analysed {result.files_analysed} files{extra}\n")
    sys.stderr.write(f"fork-lint: timings: {stages}\n")


def _show(args: argparse.Namespace, request: CheckRequest, out: _Output) -> int:
    """--show-settings and --show-files: what a check would use, without analysing."""
    try:
        projects = resolve_projects(request)
    except CheckError as exc:
        return error(str(exc))
    cwd = Path.cwd()
    for project in projects:
        for warning in project.warnings:
            _warn(args, warning)
        if args.show_settings:
            out.write(_settings_text(project.settings, request))
        if args.show_files:
            for path in sorted(shown_path(p, cwd) for p in project.files):
                out.write(f"{path}\n")
    return EXIT_OK


def _settings_text(settings: Settings, request: CheckRequest) -> str:
    from fork_lint.cache import resolve_cache_dir

    def toml(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple, frozenset)):
            return "[" + ", ".join(toml(v) for v in sorted(value, key=str)) + "]"
        if isinstance(value, Path):
            value = str(value)
        return json.dumps(value, ensure_ascii=False)

    root = settings.project_root
    cache = settings.cache_dir if request.cache_dir is None else request.cache_dir
    cache = resolve_cache_dir(cache, request.no_cache, root, Path.cwd())
    version = f"py3{settings.target_version[1]}"
    launch = settings.fix_launch
    lines = [
        f"# Settings of the project in {os.path.abspath(root)}",
        f"project-root = {toml(os.path.abspath(root))}",
        f"config-files = {toml([os.path.abspath(p) for p in settings.config_files])}",
        f"select = {toml(settings.select)}",
        "per-file-ignores = {"
        + ", ".join(f"{toml(p)} = {toml(c)}" for p, c in settings.per_file_ignores)
        + "}",
        f"exclude = {toml(list(settings.exclude))}",
        f"extend-exclude = {toml(list(settings.extend_exclude))}",
        f"respect-gitignore = {toml(settings.respect_gitignore)}",
        f"target-version = {toml(version)}  # {settings.target_version_source}",
        f"target-platform = {toml(settings.target_platform)}",
        f"thread-sources = {toml(list(settings.thread_sources))}",
        f"fork-sinks = {toml(list(settings.fork_sinks))}",
        f"unsafe-fixes = {toml(settings.unsafe_fixes)}",
        f"output-format = {toml(settings.output_format or 'full')}",
        f"cache-dir = {toml(str(cache) if cache is not None else '')}",
        f"line-length = {settings.line_length}  # {settings.line_length_source}",
        "",
        "[fix]",
        f"apply = {toml(settings.fix)}",
        f"start-method = {toml(settings.fix_start_method)}",
        "",
        "[fix.launch]",
        f"entry-module = {toml(launch.entry_module)}",
        f"json-option = {toml(launch.json_option)}",
        f"serialize-expression = {toml(launch.serialize_expression)}",
        f"target-methods = {toml(list(launch.target_methods))}",
        f"workload-parameter = {toml(launch.workload_parameter)}",
        f"popen-arguments = {toml(list(launch.popen_arguments))}",
        "",
    ]
    return "\n".join(lines) + "\n"
