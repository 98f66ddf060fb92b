"""`fork-lint check --runtime-report FILE`: join the runtime guard's log with the findings.

A runtime hazard confirms a finding when one of its frames outside the standard library (the
fork site, or a caller of it; for a process pool's worker, first the frames that created the
pool) lies in the finding's file, within the finding's lines. Hazards
that confirm nothing are forks the static analysis missed: concrete examples for the catalogue.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fork_lint.model import Finding
from fork_lint.runtime.hazard import Hazard, Site, display_path, display_site, format_hazard


class RuntimeLogError(Exception):
    """The log cannot be read, or holds no record at all among invalid lines."""


@dataclass(frozen=True)
class RuntimeLog:
    path: Path
    hazards: tuple[Hazard, ...]
    problems: tuple[str, ...] = ()  # "line N: why", for lines that were skipped


def read_runtime_log(path: Path) -> RuntimeLog:
    """Parse a JSON Lines log written by the guard; blank and invalid lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise RuntimeLogError(f"cannot read {path}: {exc.strerror or exc}") from None
    hazards: list[Hazard] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            hazards.append(Hazard.from_json(json.loads(line)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            problems.append(f"line {number}: {exc}")
    if problems and not hazards:
        raise RuntimeLogError(f"{path} is not a fork-lint runtime log ({problems[0]})")
    return RuntimeLog(path, tuple(hazards), tuple(problems))


def runtime_log_argument(value: str) -> RuntimeLog:
    """argparse `type=` for `--runtime-report`: a bad file is a usage error (exit 2)."""
    try:
        log = read_runtime_log(Path(value))
    except RuntimeLogError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    for problem in log.problems:
        sys.stderr.write(f"fork-lint: warning: {value}: skipped {problem}\n")
    return log


@dataclass
class HazardGroup:
    """Hazards with the same rule, fork site and thread start sites (e.g. a fork in a loop)."""

    hazard: Hazard
    count: int = 1


@dataclass
class RuntimeMatch:
    confirmed: dict[Finding, list[HazardGroup]] = field(default_factory=dict)
    missed: list[HazardGroup] = field(default_factory=list)
    total: int = 0  # hazards in the log


def _group_key(hazard: Hazard) -> tuple[object, ...]:
    threads = tuple(sorted((t.origin, str(t.started_at or t.name)) for t in hazard.threads))
    return (hazard.rule, hazard.sink, hazard.site, threads, hazard.created_at)


def group_hazards(hazards: Sequence[Hazard]) -> list[HazardGroup]:
    groups: dict[tuple[object, ...], HazardGroup] = {}
    for hazard in hazards:
        key = _group_key(hazard)
        if key in groups:
            groups[key].count += 1
        else:
            groups[key] = HazardGroup(hazard)
    return list(groups.values())


class _FileMatcher:
    """Does a runtime file name (absolute, from another machine perhaps) name a finding's file?

    Same file after resolving symlinks, or else the runtime path ends with the file's path
    relative to the project root (the project ran from another checkout or a container).
    """

    def __init__(self, cwd: Path, project_root: Path) -> None:
        self.cwd = cwd
        self.root = project_root.resolve()
        self._finding: dict[str, tuple[str, str | None]] = {}
        self._runtime: dict[str, str] = {}

    def _finding_keys(self, path: str) -> tuple[str, str | None]:
        if path not in self._finding:
            absolute = (self.cwd / path).resolve()
            try:
                rel: str | None = absolute.relative_to(self.root).as_posix()
            except ValueError:
                rel = None
            self._finding[path] = (str(absolute), rel)
        return self._finding[path]

    def _runtime_key(self, file: str) -> str:
        if file not in self._runtime:
            self._runtime[file] = str(Path(file).resolve()) if not file.startswith("<") else file
        return self._runtime[file]

    def same(self, runtime_file: str, finding_path: str) -> bool:
        absolute, rel = self._finding_keys(finding_path)
        if self._runtime_key(runtime_file) == absolute:
            return True
        return rel is not None and runtime_file.replace("\\", "/").endswith("/" + rel)


def match_findings(
    findings: Sequence[Finding], hazards: Sequence[Hazard], cwd: Path, project_root: Path
) -> RuntimeMatch:
    """Each hazard group confirms the findings that its innermost matching frame lies in:
    for a process pool's worker, first among the frames that created the pool (where
    FRK003 is reported), then among those of the fork (a `submit()`, or a configured
    fork sink further up)."""
    matcher = _FileMatcher(cwd, project_root)
    result = RuntimeMatch(total=len(hazards))
    for group in group_hazards(hazards):
        hazard = group.hazard
        hits = _hits(hazard.created_at, findings, matcher) or _hits(hazard.stack, findings, matcher)
        if not hits:
            result.missed.append(group)
        for finding in hits:
            result.confirmed.setdefault(finding, []).append(group)
    return result


def _hits(
    stack: Sequence[Site], findings: Sequence[Finding], matcher: _FileMatcher
) -> list[Finding]:
    for frame in stack:
        hits = [
            f
            for f in findings
            if f.location.span.line <= frame.line <= f.location.span.end_line
            and matcher.same(frame.file, f.location.path)
        ]
        if hits:
            return hits
    return []


# ---------------------------------------------------------------------------- rendering


def apply_runtime_report(
    text: str,
    output_format: str,
    findings: Sequence[Finding],
    log: RuntimeLog,
    cwd: Path,
    project_root: Path,
) -> str:
    """`text` (the rendered findings) with the runtime report added in `output_format`'s way.

    full/concise: a "Runtime report" section after the findings. json: each finding object
    gets `"confirmed_at_runtime": true|false`, and hazards without a finding go to stderr so
    stdout stays one JSON array. Other formats are returned unchanged (with a note on stderr).
    """
    match = match_findings(findings, log.hazards, cwd, project_root)
    if output_format == "json":
        for group in match.missed:
            line = _missed_line(group, str(cwd))
            sys.stderr.write(f"fork-lint: runtime hazard not found by static analysis: {line}\n")
        return annotate_json(text, match)
    if output_format in ("full", "concise"):
        return text + render_section(match, log, str(cwd), full=output_format == "full")
    sys.stderr.write(
        f"fork-lint: warning: --runtime-report is shown by the full, concise and json "
        f"formats, not {output_format}\n"
    )
    return text


def annotate_json(text: str, match: RuntimeMatch) -> str:
    rows = json.loads(text)
    confirmed = {
        (f.location.path, f.location.span.line, f.location.span.col + 1, f.code)
        for f in match.confirmed
    }
    for row in rows:
        key = (row["filename"], row["location"]["row"], row["location"]["column"], row["code"])
        row["confirmed_at_runtime"] = key in confirmed
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def _times(count: int) -> str:
    """How many log records (each from a different process, or with different threads)."""
    return f" ({count} records)" if count > 1 else ""


def _missed_line(group: HazardGroup, cwd: str) -> str:
    hazard = group.hazard
    where = display_site(hazard.site, cwd) if hazard.site is not None else "<unknown>"
    head = format_hazard(hazard, cwd).splitlines()[0].rsplit(" [", 1)[0]
    return f"{where}: {hazard.rule} {head}{_times(group.count)}"


def render_section(match: RuntimeMatch, log: RuntimeLog, cwd: str, full: bool) -> str:
    places = len(match.missed) + sum(len(g) for g in match.confirmed.values())
    lines = [
        "",
        f"Runtime report ({display_path(str(log.path), cwd)}: {match.total} "
        f"hazard{'s' if match.total != 1 else ''} in {places} "
        f"place{'s' if places != 1 else ''})",
    ]
    if match.confirmed:
        lines.append(f"confirmed at run time ({len(match.confirmed)}):")
    for finding in sorted(match.confirmed, key=Finding.sort_key):
        groups = match.confirmed[finding]
        span = finding.location.span
        count = sum(g.count for g in groups)
        lines.append(
            f"  {finding.location.path}:{span.line}:{span.col + 1}: {finding.code}{_times(count)}"
        )
        if full:
            threads = {t.describe(cwd) for g in groups for t in g.hazard.threads}
            lines.extend(f"    {description}" for description in sorted(threads))
    if match.missed:
        lines.append(f"not found by static analysis ({len(match.missed)}):")
    for group in match.missed:
        if full:
            text = format_hazard(group.hazard, cwd)
            head, _, rest = text.partition("\n")
            lines.append(f"  {head}{_times(group.count)}")
            lines.extend(f"  {line}" for line in rest.splitlines())
        else:
            lines.append(f"  {_missed_line(group, cwd)}")
    if not match.confirmed and not match.missed:
        lines.append("no hazard was recorded at run time")
    return "\n".join(lines) + "\n"
