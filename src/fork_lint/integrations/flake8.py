"""flake8 plugin: `flake8 --select FRK` reports fork-lint's findings for each file it checks.

fork-lint's rules need the whole program, flake8 hands a plugin one file at a time.
So the first file of a project triggers the check of the whole project that
contains it (through the check core, `fork_lint.core`: the same root, discovery,
configuration and cache as `fork-lint` run in that root), the findings are kept
per file for the rest of the process, and every later file of that project is a
dictionary lookup. With `-j N`, flake8 forks N workers
after loading plugins; each worker analyses a project at most once.

Importing this module does nothing but define the class: flake8 loads every plugin
in the parent process and then forks, so a plugin must not start threads, open
pools or import the analysis at import time. The analysis itself is single-threaded.

Known differences from `fork-lint`: flake8 reports its own E999 for a file it
cannot parse and does not run plugins on it, so FRK900 never appears; files that
fork-lint's configuration excludes get no FRK findings; code read from stdin is
matched to a file of the project by `--stdin-display-name`, with the file's on-disk
contents analysed.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from fork_lint import __version__

__all__ = ["ForkLintChecker"]

_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class _Options:
    """The plugin's flake8 options, hashable so that they can key the memo."""

    target_version: str | None = None
    thread_sources: tuple[str, ...] = ()
    fork_sinks: tuple[str, ...] = ()
    config: str | None = None


# (project root, options) -> {real path of a file: [(line, col, "FRKnnn message")]}.
# Filled lazily, one entry per project analysed in this process.
_Results = dict[str, list[tuple[int, int, str]]]
_MEMO: dict[tuple[str, _Options], _Results] = {}
_ROOTS: dict[str, str] = {}  # directory -> project root, so each directory is looked up once


def _project_root(directory: str, options: _Options) -> str:
    from fork_lint.config import find_project_root

    if options.config is not None:
        return os.path.dirname(os.path.abspath(options.config))
    if directory not in _ROOTS:
        _ROOTS[directory] = os.path.abspath(find_project_root([Path(directory)]))
    return _ROOTS[directory]


def _analyse_project(root: str, options: _Options) -> _Results:
    """Check the project at `root` with the check core, as `fork-lint` run in that
    root does (its cache included); group the findings by file."""
    from fork_lint.config import Overrides
    from fork_lint.core import CheckError, CheckRequest, FixMode, check

    overrides = Overrides(
        target_version=options.target_version,
        config=Path(options.config) if options.config else None,
        extend_thread_sources=options.thread_sources,
        extend_fork_sinks=options.fork_sinks,
    )
    request = CheckRequest(
        paths=(Path(root),),
        overrides=overrides,
        fix=FixMode.PROPOSE,
        propose_fixes=False,  # flake8 shows no fix: spare libcst
        jobs=1,  # flake8's workers are daemonic, and its parent forks: no pool
    )
    try:
        result = check(request)
    except CheckError as exc:
        raise ValueError(f"fork-lint: {exc}") from None
    cwd = Path.cwd()
    results: _Results = {}
    for finding in result.findings:
        real = os.path.realpath(cwd / finding.location.path)
        span = finding.location.span
        results.setdefault(real, []).append(
            (span.line, span.col, f"{finding.code} {finding.message}")
        )
    return results


def findings_for(filename: str, options: _Options) -> list[tuple[int, int, str]]:
    """fork-lint's findings in `filename`, analysing its project on first use."""
    real = os.path.realpath(filename)
    root = _project_root(os.path.dirname(real), options)
    key = (root, options)
    if key not in _MEMO:
        _MEMO[key] = _analyse_project(root, options)
    return _MEMO[key].get(real, [])


def _target_version(value: str | None) -> str | None:
    from fork_lint.config import TARGET_VERSIONS

    if value is None or value == "":
        return None
    if value not in TARGET_VERSIONS:
        known = ", ".join(TARGET_VERSIONS)
        raise ValueError(f"--fork-lint-target-version: {value!r} is not one of {known}")
    return value


def _entries(flag: str, values: list[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    items = [v.strip() for v in values.split(",")] if isinstance(values, str) else values
    for item in items:
        if item and not _ENTRY.match(item):
            raise ValueError(
                f"{flag}: {item!r} is not of the form 'module:qualname' "
                "(e.g. 'mypkg.metrics:start_reporter')"
            )
    return tuple(i for i in items if i)


class ForkLintChecker:
    """The flake8 entry point (`FRK`). One instance per checked file."""

    name = "fork-lint"
    version = __version__
    options: ClassVar[_Options] = _Options()

    def __init__(self, tree: ast.AST, filename: str) -> None:
        self.tree = tree  # requested so flake8 runs this plugin once per parsed file
        self.filename = filename

    @classmethod
    def add_options(cls, parser: Any) -> None:
        parser.add_option(
            "--fork-lint-target-version",
            metavar="pyXY",
            parse_from_config=True,
            help="fork-lint: oldest Python the project supports, e.g. py312 "
            "(default: fork-lint's configuration or requires-python)",
        )
        parser.add_option(
            "--fork-lint-thread-sources",
            metavar="MODULE:QUALNAME,...",
            parse_from_config=True,
            comma_separated_list=True,
            help="fork-lint: extra functions that start threads",
        )
        parser.add_option(
            "--fork-lint-fork-sinks",
            metavar="MODULE:QUALNAME,...",
            parse_from_config=True,
            comma_separated_list=True,
            help="fork-lint: extra functions that fork (reported as FRK005)",
        )
        parser.add_option(
            "--fork-lint-config",
            metavar="FILE",
            parse_from_config=True,
            normalize_paths=True,
            help="fork-lint: configuration file to use instead of the one found "
            "from each file (its directory is then the project root)",
        )

    @classmethod
    def parse_options(
        cls, option_manager: Any, options: argparse.Namespace, filenames: object = None
    ) -> None:
        try:
            cls.options = _Options(
                target_version=_target_version(options.fork_lint_target_version),
                thread_sources=_entries(
                    "--fork-lint-thread-sources", options.fork_lint_thread_sources
                ),
                fork_sinks=_entries("--fork-lint-fork-sinks", options.fork_lint_fork_sinks),
                config=options.fork_lint_config or None,
            )
        except ValueError as exc:
            option_manager.parser.error(str(exc))

    def run(self) -> Iterator[tuple[int, int, str, type[ForkLintChecker]]]:
        for line, col, message in findings_for(self.filename, self.options):
            yield line, col, message, type(self)
