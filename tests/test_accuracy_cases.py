"""The accuracy review's cases file and the harness's matching logic (offline).

scripts/accuracy_cases.toml is the single source of truth for the verdicts of issue
16's review; these tests keep it loadable and consistent, and pin down how a finding
is matched to a verdict and a documented hazard, without downloading anything.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def accuracy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("accuracy", ROOT / "scripts" / "accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["accuracy"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _finding(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "FRK002",
        "file": "pkg/mod.py",
        "line": 10,
        "function": "pkg.mod.C.run",
        "sink": "multiprocessing.Process.start",
        "thread_source": "threading.Thread.start",
        "thread_function": "pkg.mod.C.start",
        "line_text": "p.start()",
    }
    base.update(over)
    return base


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.toml"
    path.write_text(text, encoding="utf-8")
    return path


CASE = """
[[package]]
requirement = "pkg==1.0"
set = "review"
analyse = "pkg"

[[package.verdict]]
code = "FRK002"
file = "pkg/mod.py"
function = "pkg.mod.C.run"
sink = "multiprocessing.Process.start"
thread_source = "threading.Thread.start"
thread_function = "pkg.mod.C.start"
line_text = "p.start()"
occurrence = 2
verdict = "false"
reason = "the second start runs before the thread"
construct = "flow-insensitive local"
impossible_hop = true

[[package.hazard]]
file = "pkg/mod.py"
function = "pkg.mod.C.run"
issue = "https://example.invalid/1"
thread_from = "package"
description = "forks beside the thread"
"""


def test_the_recorded_review_loads_and_is_large_enough(accuracy: ModuleType) -> None:
    cases = accuracy.load_cases(accuracy.DEFAULT_CASES)
    review = [c for c in cases if c.set == "review"]
    assert len(review) >= 40
    assert all(c.requirement.count("==") == 1 for c in cases)
    assert any(c.hazards for c in cases if c.set == "recall")
    for case in cases:
        for v in case.verdicts:
            assert v.verdict in accuracy.VERDICTS and v.reason
            assert v.verdict == "true" or v.construct


def test_identical_calls_are_told_apart_by_occurrence(accuracy: ModuleType, tmp_path: Path) -> None:
    (case,) = accuracy.load_cases(_write(tmp_path, CASE))
    findings = accuracy.number([_finding(line=30), _finding(line=20)])
    assert [f["occurrence"] for f in findings] == [1, 2]
    outcome = accuracy.Outcome(case, findings=findings)
    result = accuracy.compare(outcome)
    judged = {f["line"]: f.get("verdict") for f in result["findings"]}
    assert judged == {20: None, 30: "false"}
    assert result["unclassified"] == 1 and result["no_longer_reported"] == []


def test_a_verdict_matches_by_key_not_by_line(accuracy: ModuleType, tmp_path: Path) -> None:
    (case,) = accuracy.load_cases(_write(tmp_path, CASE))
    moved = accuracy.number([_finding(line=5), _finding(line=500)])
    assert accuracy.compare(accuracy.Outcome(case, findings=moved))["classified"] == 1
    other_function = accuracy.number([_finding(function="pkg.mod.C.stop")] * 2)
    result = accuracy.compare(accuracy.Outcome(case, findings=other_function))
    assert result["classified"] == 0
    assert len(result["no_longer_reported"]) == 1


def test_a_hazard_is_found_only_with_a_true_witness_that_can_happen(
    accuracy: ModuleType, tmp_path: Path
) -> None:
    (case,) = accuracy.load_cases(_write(tmp_path, CASE))
    (hazard,) = case.hazards
    at = _finding()
    assert accuracy.hazard_state(hazard, []) == "missed"
    assert accuracy.hazard_state(hazard, [at]) == "unjudged"
    assert accuracy.hazard_state(hazard, [{**at, "verdict": "false"}]) == "missed"
    wrong = {**at, "verdict": "true", "impossible_hop": True}
    assert accuracy.hazard_state(hazard, [wrong]) == "wrong-witness"
    assert accuracy.hazard_state(hazard, [wrong, {**at, "verdict": "true"}]) == "found"


def test_metrics_count_verdicts_and_leave_out_syntax_errors(accuracy: ModuleType) -> None:
    findings = [
        _finding(verdict="true"),
        _finding(verdict="false", construct="x", impossible_hop=True),
        _finding(verdict="false", construct="x"),
        _finding(verdict="doubtful", construct="y"),
        _finding(code="FRK900"),
    ]
    hazards = [
        {"state": "found", "thread_from": "package", "fork_from": "package"},
        {"state": "wrong-witness", "thread_from": "package", "fork_from": "package"},
        {"state": "missed", "thread_from": "library", "fork_from": "package"},
    ]
    results = [
        {"set": "review", "error": "", "findings": findings, "hazards": []},
        {"set": "recall", "error": "", "findings": [], "hazards": hazards},
    ]
    m = accuracy.metrics(results)
    assert (m["findings"], m["true"], m["false"], m["doubtful"]) == (4, 1, 2, 1)
    assert m["false_rate"] == 0.5 and m["with_impossible_hop"] == 1
    assert m["constructs"] == {"x": 2, "y": 1}
    assert (m["hazards"], m["hazards_found"], m["hazards_wrong_witness"]) == (3, 1, 1)
    assert (m["hazards_in_package"], m["hazards_in_package_found"]) == (2, 1)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('verdict = "false"', "names a construct"),
        ('verdict = "maybe"', "not in"),
        ('requirement = "pkg"', "pin one version"),
    ],
)
def test_an_inconsistent_cases_file_is_refused(
    accuracy: ModuleType, tmp_path: Path, bad: str, message: str
) -> None:
    text = CASE.replace('construct = "flow-insensitive local"\n', "")
    key = bad.split(" = ", maxsplit=1)[0]
    lines = [bad if line.startswith(key + " = ") else line for line in text.splitlines()]
    with pytest.raises(ValueError, match=message):
        accuracy.load_cases(_write(tmp_path, "\n".join(lines) + "\n"))


def test_the_recall_table_names_the_cause_of_each_miss(accuracy: ModuleType) -> None:
    def hazard(state: str, why: str) -> dict[str, Any]:
        return {
            "function": "pkg.mod.C.run",
            "file": "pkg/mod.py",
            "issue": "https://example.invalid/1",
            "thread_from": "package",
            "fork_from": "caller",
            "state": state,
            "why_missed": why,
        }

    results = [
        {"requirement": "a==1", "set": "recall", "findings": [], "hazards": [hazard("found", "")]},
        {
            "requirement": "b==1",
            "set": "recall",
            "findings": [],
            "hazards": [hazard("missed", "the fork is the caller's | not analysed")],
        },
    ]
    table = accuracy.markdown(results).splitlines()
    (found,) = [row for row in table if row.startswith("| a==1 ")]
    (missed,) = [row for row in table if row.startswith("| b==1 ")]
    assert found.split(" | ")[3:6] == ["caller", "found", ""]
    assert "the fork is the caller's \\| not analysed" in missed
    assert missed.count(" | ") == found.count(" | ")
