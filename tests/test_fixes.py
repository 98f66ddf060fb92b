"""Fixture pairs for every fix: ``tests/fixtures/fixes/<fix>/<case>/``.

Each case holds:

* ``input/``: a small project;
* ``expected/``: the project after ``--fix`` (absent: nothing changes);
* ``expected-unsafe/``: after ``--fix --unsafe-fixes`` (absent: as ``expected``);
* ``fork-lint.toml`` (optional): ``target-version`` and ``[fix]`` options, read by
  fork-lint's own configuration loader;
* ``expect.toml``: how many findings each run fixes (``fixed``, ``fixed-unsafe``),
  optionally in how many passes (``passes-unsafe``), and ``reasons``: text that
  must appear in why a finding is left unfixed (the fixer's reason, which reports
  do not show, or the message of a suggestion that is only displayed).

Expected trees are written and reviewed by hand. Every pair is also checked for
idempotency: fixing the expected output again changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from fork_lint.config import Overrides, load_settings
from fork_lint.fixes import REGISTRY, FixContext, FixOptions, NoFix, propose
from fork_lint.fixes.apply import FixResult, fix_sources
from fork_lint.index.extract import extract, module_name_for
from fork_lint.model import Applicability

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FIXTURES = Path(__file__).parent / "fixtures" / "fixes"
CASES = sorted(p for p in FIXTURES.glob("*/*") if (p / "input").is_dir())
IDS = [case.relative_to(FIXTURES).as_posix() for case in CASES]


def tree(directory: Path) -> dict[str, str]:
    return {
        f.relative_to(directory).as_posix(): f.read_text(encoding="utf-8")
        for f in sorted(directory.rglob("*.py"))
    }


def options(case: Path) -> FixOptions:
    config = case / "fork-lint.toml"
    if not config.is_file():
        return FixOptions(target_version=(3, 12))
    settings = load_settings([case], Overrides(config=config))
    return FixOptions(
        target_version=settings.target_version,
        start_method=settings.fix_start_method,
        launch=settings.fix_launch,
    )


def expectations(case: Path) -> dict[str, Any]:
    with (case / "expect.toml").open("rb") as f:
        return tomllib.load(f)


def expected(case: Path, *, unsafe: bool) -> dict[str, str]:
    names = ["expected-unsafe", "expected"] if unsafe else ["expected"]
    for name in names:
        if (case / name).is_dir():
            return {**tree(case / "input"), **tree(case / name)}
    return tree(case / "input")


def fixed_tree(files: dict[str, str], result: FixResult) -> dict[str, str]:
    return {path: result.changed.get(path, (text, text))[1] for path, text in files.items()}


def run(case: Path, *, unsafe: bool, files: dict[str, str] | None = None) -> FixResult:
    return fix_sources(
        files if files is not None else tree(case / "input"), unsafe=unsafe, options=options(case)
    )


def test_cases_exist() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("unsafe", [False, True], ids=["fix", "unsafe-fixes"])
def test_fix_gives_expected_tree(case: Path, unsafe: bool) -> None:
    files = tree(case / "input")
    result = run(case, unsafe=unsafe, files=files)
    assert result.dropped == [], [d.reason for d in result.dropped]
    assert result.converged
    got = fixed_tree(files, result)
    want = expected(case, unsafe=unsafe)
    for path in sorted(want):
        assert got[path] == want[path], f"{path} differs from the expected tree"
    counts = expectations(case)
    key = "fixed-unsafe" if unsafe else "fixed"
    assert len(result.fixed) == counts[key]
    if unsafe and "passes-unsafe" in counts:
        assert result.passes == counts["passes-unsafe"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("unsafe", [False, True], ids=["fix", "unsafe-fixes"])
def test_fixing_the_expected_tree_changes_nothing(case: Path, unsafe: bool) -> None:
    result = run(case, unsafe=unsafe, files=expected(case, unsafe=unsafe))
    assert result.changed == {}
    assert result.fixed == []


def reasons_left(case: Path, files: dict[str, str], result: FixResult) -> list[str]:
    """Why each finding left is not fixed: the fixers' reasons (`NoFix`, which reports
    do not show), or the message of a fix that is only displayed."""
    texts = fixed_tree(files, result)
    modules = [extract(text, path, *module_name_for(path)) for path, text in sorted(texts.items())]
    ctx = FixContext(modules, texts.get, options(case))
    out = []
    for f in result.remaining:
        proposal = propose(f, ctx)
        if isinstance(proposal, NoFix):
            out.append(proposal.reason)
        elif f.fix is not None:
            out.append(f.fix.message)
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reasons_for_findings_left_unfixed(case: Path) -> None:
    reasons = expectations(case).get("reasons", [])
    files = tree(case / "input")
    result = run(case, unsafe=True, files=files)
    messages = reasons_left(case, files, result)
    for reason in reasons:
        assert any(reason in m for m in messages), f"{reason!r} not in {messages}"
    for f in result.remaining:
        # What is left after --unsafe-fixes has no fix that could still be applied.
        assert f.fix is None or f.fix.applicability is Applicability.DISPLAY_ONLY


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_safe_run_leaves_unsafe_fixes_for_later(case: Path) -> None:
    """After `--fix`, the findings with unsafe fixes are counted as hidden fixes."""
    safe = run(case, unsafe=False)
    unsafe = run(case, unsafe=True)
    assert safe.unsafe_hidden == len(unsafe.fixed) - len(safe.fixed)


# Fixers that never refuse: taking an unused code out of a comment is always safe.
NEVER_REFUSE = frozenset({"unused_noqa"})


@pytest.mark.parametrize("fixer", sorted({m for mods in REGISTRY.values() for m in mods}))
def test_every_fixer_has_fixing_and_refusing_cases(fixer: str) -> None:
    cases = [c for c in CASES if c.parent.name == fixer]
    fixing = [c for c in cases if expected(c, unsafe=True) != tree(c / "input")]
    refusing = [c for c in cases if expectations(c).get("reasons")]
    assert fixing, f"no case where the {fixer} fix changes code"
    assert refusing or fixer in NEVER_REFUSE, f"no case where the {fixer} fix is refused or shown"
