"""Baselines: record today's findings so that only new ones fail a run.

A large project adopts fork-lint with `--write-baseline FILE` once, then runs with
`--baseline FILE`. Findings are matched by fingerprint (rule, file, enclosing
function, sink and the text of the sink's line), never by line number, so edits
elsewhere in a file do not turn old findings into new ones. Matching counts: a
baseline that holds a fingerprint twice hides at most two findings with it.
Paths in fingerprints are relative to the project root, so the baseline works from
any working directory.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from fork_lint.fsio import printable, read_regular
from fork_lint.model import Finding, Location

__all__ = [
    "BASELINE_VERSION",
    "Baseline",
    "BaselineError",
    "Fingerprinter",
    "baseline_entries",
    "load_baseline",
    "write_baseline",
]

BASELINE_VERSION = 1

ReadLines = Callable[[str], "list[str] | None"]


class BaselineError(Exception):
    """The baseline file cannot be read, is not JSON, or is not a fork-lint baseline."""


class Fingerprinter:
    """Fingerprints of findings, with paths made relative to the project root.

    `read_lines` reads a finding's file by its display path (relative to `cwd`);
    each file is read once.
    """

    def __init__(self, root: Path, cwd: Path, read_lines: ReadLines) -> None:
        self._root = Path(os.path.abspath(root))
        self._cwd = cwd
        self._read = read_lines
        self._lines: dict[str, list[str] | None] = {}

    def project_path(self, path: str) -> str:
        absolute = Path(os.path.abspath(self._cwd / path))
        try:
            return absolute.relative_to(self._root).as_posix()
        except ValueError:
            return absolute.as_posix()

    def source_line(self, finding: Finding) -> str:
        path = finding.location.path
        if path not in self._lines:
            self._lines[path] = self._read(path)
        lines = self._lines[path]
        line = finding.location.span.line
        return lines[line - 1] if lines is not None and 1 <= line <= len(lines) else ""

    def __call__(self, finding: Finding) -> str:
        location = Location(self.project_path(finding.location.path), finding.location.span)
        return replace(finding, location=location).fingerprint(self.source_line(finding))


class Baseline:
    """The fingerprints of a baseline file, consumed as findings match them.

    One object serves every project of a run, so a fingerprint recorded once hides
    one finding in total, however the run is split.
    """

    def __init__(self, counts: Counter[str]) -> None:
        self.remaining = Counter(counts)

    def filter(
        self, findings: Sequence[Finding], fingerprint: Callable[[Finding], str]
    ) -> tuple[list[Finding], int]:
        """Findings not in the baseline, and how many were matched (and so hidden)."""
        new: list[Finding] = []
        matched = 0
        for finding in findings:
            key = fingerprint(finding)
            if self.remaining[key] > 0:
                self.remaining[key] -= 1
                matched += 1
            else:
                new.append(finding)
        return new, matched


def load_baseline(path: Path) -> Baseline:
    try:
        data: Any = json.loads(read_regular(path).decode("utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: not a fork-lint baseline: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("tool") != "fork-lint"
        or not isinstance(data.get("findings"), list)
    ):
        raise BaselineError(
            f"{path}: not a fork-lint baseline (expected an object with "
            '"tool": "fork-lint" and a "findings" list; write one with --write-baseline)'
        )
    if data.get("version") != BASELINE_VERSION:
        raise BaselineError(
            f"{path}: baseline version {data.get('version')!r} is not supported "
            f"(expected {BASELINE_VERSION}); write it again with --write-baseline"
        )
    counts: Counter[str] = Counter()
    for index, entry in enumerate(data["findings"]):
        fingerprint = entry.get("fingerprint") if isinstance(entry, dict) else None
        if not isinstance(fingerprint, str):
            raise BaselineError(f"{path}: findings[{index}] has no string 'fingerprint'")
        counts[fingerprint] += 1
    return Baseline(counts)


def baseline_entries(
    findings: Sequence[Finding], fingerprinter: Fingerprinter
) -> list[dict[str, str | int]]:
    """One baseline entry per finding.

    Besides the fingerprint, each entry names the rule, file, line and message so a
    reviewer can read the baseline; only the fingerprint is used for matching.
    """
    return [
        {
            "fingerprint": fingerprinter(f),
            "code": f.code,
            "path": fingerprinter.project_path(f.location.path),
            "line": f.location.span.line,
            "message": f.message,
        }
        for f in findings
    ]


def write_baseline(path: Path, entries: Sequence[dict[str, str | int]]) -> None:
    """Write `entries` to `path`, sorted: an unchanged baseline is rewritten byte for byte."""
    ordered = sorted(
        entries,
        key=lambda e: (str(e["path"]), int(e["line"]), str(e["code"]), str(e["fingerprint"])),
    )
    document = {"tool": "fork-lint", "version": BASELINE_VERSION, "findings": ordered}
    text = printable(json.dumps(document, indent=2, ensure_ascii=False), "\\\\") + "\n"
    try:
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None
