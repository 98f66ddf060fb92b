"""Fixture projects with their expected findings marked inline.

Two layouts:

* ``tests/fixtures/checks/<case>.py``: one file holding several modules, each
  introduced by a line ``# --- path/to/module.py``;
* ``tests/fixtures/projects/<case>/``: a directory tree of ``.py`` files.

A line that must be reported ends with ``# expect: FRK001`` (several codes
separated by commas). Every other line must stay quiet: the test compares the
set of (file, line, code) exactly. A first line ``# fork-lint: key = value; ...``
sets options (``target-version = py314``, ``target-platform = darwin``,
``thread-sources = a:b, c:d``, ``fork-sinks = ...``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fork_lint.api import check_sources
from fork_lint.model import Finding

FIXTURES = Path(__file__).parent / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>FRK\d{3}(?:\s*,\s*FRK\d{3})*)")
_SEPARATOR = re.compile(r"^# --- (?P<path>\S+)\s*$")
_OPTIONS = re.compile(r"^# fork-lint:(?P<opts>.*)$")


def load_case(path: Path) -> dict[str, str]:
    if path.is_dir():
        return {
            f.relative_to(path).as_posix(): f.read_text(encoding="utf-8")
            for f in sorted(path.rglob("*.py"))
        }
    files: dict[str, list[str]] = {}
    current = "main.py"
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        m = _SEPARATOR.match(line)
        if m:
            current = m.group("path")
            files[current] = []
            continue
        files.setdefault(current, []).append(line)
    return {name: "".join(lines) for name, lines in files.items()}


def options_of(files: dict[str, str]) -> dict[str, object]:
    opts: dict[str, object] = {}
    for source in files.values():
        first = source.split("\n", 1)[0]
        m = _OPTIONS.match(first)
        if not m:
            continue
        for item in m.group("opts").split(";"):
            key, _, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if key == "target-version":
                opts["target_version"] = (int(value[2]), int(value[3:]))
            elif key == "target-platform":
                opts["platform"] = value
            elif key in ("thread-sources", "fork-sinks"):
                opts[key.replace("-", "_")] = tuple(v.strip() for v in value.split(","))
            elif key:
                raise ValueError(f"unknown fixture option {key!r}")
    return opts


def expected_marks(files: dict[str, str]) -> set[tuple[str, int, str]]:
    out = set()
    for name, source in files.items():
        for lineno, line in enumerate(source.splitlines(), start=1):
            m = _EXPECT.search(line)
            if m:
                for code in m.group("codes").split(","):
                    out.add((name, lineno, code.strip()))
    return out


def reported(findings: list[Finding]) -> set[tuple[str, int, str]]:
    return {(f.location.path, f.location.span.line, f.code) for f in findings}


CASES = sorted(
    [*FIXTURES.glob("checks/*.py"), *(p for p in FIXTURES.glob("projects/*") if p.is_dir())]
)


def analyse_case(path: Path) -> list[Finding]:
    files = load_case(path)
    return check_sources(files, **options_of(files))  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_marks_match_findings(case: Path) -> None:
    files = load_case(case)
    got = reported(analyse_case(case))
    want = expected_marks(files)
    assert sorted(got - want) == [], "unexpected findings"
    assert sorted(want - got) == [], "missing findings"


def test_every_rule_has_firing_and_quiet_cases() -> None:
    firing: set[str] = set()
    for case in CASES:
        firing |= {code for _, _, code in expected_marks(load_case(case))}
    assert {"FRK001", "FRK002", "FRK003", "FRK004", "FRK005"} <= firing
    quiet = [c for c in CASES if c.stem.startswith("quiet_")]
    assert len(quiet) >= 8
