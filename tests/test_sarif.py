"""The `sarif` format: snapshot, validation against the official SARIF 2.1.0 schema,
and the properties code scanning relies on (rules, flows, fixes, stable fingerprints)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fork_lint.api import check_sources
from fork_lint.model import Finding
from fork_lint.output import RenderContext, render
from fork_lint.output._context import split_source_lines
from fork_lint.output.sarif import FINGERPRINT_KEY
from fork_lint.rules import ALL_RULES
from tests.test_output import CTX, FINDINGS, OS_FORK, check_snapshot

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def validate(log: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def sarif(findings: Any, ctx: RenderContext = CTX) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render("sarif", findings, ctx))
    return data


def results_by_rule(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["ruleId"]: r for r in log["runs"][0]["results"]}


def test_sarif_snapshot() -> None:
    check_snapshot("output_sarif.json", render("sarif", FINDINGS, CTX))


@pytest.mark.parametrize("findings", [FINDINGS, ()], ids=["findings", "empty"])
def test_sarif_validates_against_the_official_schema(findings: Any) -> None:
    validate(sarif(findings))


def test_the_schema_is_the_official_one() -> None:
    assert SCHEMA["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    # The validator is not vacuous: a result without a message is rejected.
    bad = sarif([OS_FORK])
    del bad["runs"][0]["results"][0]["message"]
    assert list(jsonschema.Draft4Validator(SCHEMA).iter_errors(bad))


def test_sarif_rules() -> None:
    driver = sarif(FINDINGS)["runs"][0]["tool"]["driver"]
    assert driver["name"] == "fork-lint"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [r.code for r in ALL_RULES]
    for rule, meta in zip(rules, ALL_RULES, strict=True):
        assert rule["name"] == meta.name
        assert rule["shortDescription"]["text"] == meta.summary
        assert rule["fullDescription"]["text"]
        assert rule["fullDescription"]["text"] != meta.summary  # from the rule's page
        assert rule["helpUri"] == meta.doc_url
        assert rule["help"]["markdown"].startswith(f"# {meta.code} ")
        assert rule["defaultConfiguration"]["level"] == "error"
    frk004 = rules[[r.code for r in ALL_RULES].index("FRK004")]
    assert frk004["fullDescription"]["text"].startswith("Reports subprocess launches")


def test_sarif_results() -> None:
    log = sarif(FINDINGS)
    run = log["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    results = results_by_rule(log)
    assert len(run["results"]) == len(FINDINGS)
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]

    fork = results["FRK001"]
    assert fork["level"] == "error"
    assert fork["message"]["text"].endswith("The thread is started [here](1).")
    (location,) = fork["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "app/jobs.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 7, "startColumn": 11, "endLine": 7, "endColumn": 20},
    }
    assert location["logicalLocations"] == [
        {"fullyQualifiedName": "app.jobs._spawn", "kind": "function"}
    ]
    (related,) = fork["relatedLocations"]
    assert related["id"] == 1
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "app/metrics.py"
    assert related["physicalLocation"]["region"]["startLine"] == 12
    (flow,) = fork["codeFlows"]
    steps = flow["threadFlows"][0]["locations"]
    texts = [s["location"]["message"]["text"] for s in steps]
    assert len(steps) == 5  # two thread hops, then three fork hops
    assert texts[0].startswith("thread: calls `app.metrics.start_metrics()`")
    assert texts[-1] == "fork: calls `os.fork()` (in app.jobs._spawn)"
    assert [s["nestingLevel"] for s in steps] == [0, 1, 0, 1, 2]
    assert "fixes" not in fork  # a display-only fix has no edits to apply

    syntax = results["FRK900"]
    assert "relatedLocations" not in syntax
    assert "codeFlows" not in syntax
    region = syntax["locations"][0]["physicalLocation"]["region"]
    assert region["startColumn"] == region["endColumn"] == 14  # an insertion point


def test_sarif_fixes() -> None:
    results = results_by_rule(sarif(FINDINGS))
    (fix,) = results["FRK004"]["fixes"]
    assert fix["properties"]["applicability"] == "safe"
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "app/jobs.py"
    (replacement,) = change["replacements"]
    assert replacement["insertedContent"]["text"] == "start_new_session=True"
    assert replacement["deletedRegion"] == {
        "startLine": 25,
        "startColumn": 9,
        "endLine": 25,
        "endColumn": 29,
    }
    line = split_source_lines(PREEXEC_FN_SOURCE)[24]
    assert line[8:28] == "preexec_fn=os.setsid"
    assert results["FRK002"]["fixes"][0]["properties"]["applicability"] == "unsafe"


PREEXEC_FN_SOURCE = "\n".join(CTX.read_lines("app/jobs.py") or [])


def test_sarif_uris_are_escaped() -> None:
    odd = Finding(
        OS_FORK.code,
        OS_FORK.name,
        "msg [with brackets]",
        type(OS_FORK.location)("dir with space/é#.py", OS_FORK.location.span),
        "os.fork",
    )
    ((result,),) = [sarif([odd], RenderContext(read_lines=lambda _: None))["runs"][0]["results"]]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "dir%20with%20space/%C3%A9%23.py"
    assert result["message"]["text"] == "msg \\[with brackets\\]"


# -- fingerprints against the real analysis ------------------------------------------

PROJECT = {
    "svc/__init__.py": "",
    "svc/main.py": """\
import threading

from svc import jobs


def main():
    threading.Thread(target=print).start()
    jobs.spawn()
""",
    "svc/jobs.py": """\
import os


def spawn():
    pid = os.fork()
    return pid
""",
}


def fingerprints(files: dict[str, str]) -> dict[str, tuple[str, int]]:
    findings = check_sources(files)
    lines = {path: split_source_lines(text) for path, text in files.items()}
    log = sarif(findings, RenderContext(read_lines=lines.get))
    validate(log)
    out = {}
    for result in log["runs"][0]["results"]:
        region = result["locations"][0]["physicalLocation"]["region"]
        out[result["ruleId"]] = (
            result["partialFingerprints"][FINGERPRINT_KEY],
            region["startLine"],
        )
    return out


def test_partial_fingerprints_survive_unrelated_line_moves() -> None:
    before = fingerprints(PROJECT)
    assert set(before) == {"FRK001"}
    moved = dict(PROJECT)
    moved["svc/jobs.py"] = '"""Jobs."""\n\nimport os\n\nLIMIT = 3\n\n' + PROJECT["svc/jobs.py"][10:]
    moved["svc/main.py"] = "# started by systemd\n" + PROJECT["svc/main.py"]
    after = fingerprints(moved)
    assert after["FRK001"][1] == before["FRK001"][1] + 5  # the sink moved down ...
    assert after["FRK001"][0] == before["FRK001"][0]  # ... and kept its fingerprint
    edited = dict(PROJECT)
    edited["svc/jobs.py"] = PROJECT["svc/jobs.py"].replace("pid = os.fork()", "child = os.fork()")
    assert fingerprints(edited)["FRK001"][0] != before["FRK001"][0]  # the sink line changed


def test_cli_writes_valid_sarif(tmp_path: Path) -> None:
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "fork_lint", "--output-format", "sarif", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    log = json.loads(proc.stdout)
    validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "svc/jobs.py"
    assert result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "svc/main.py"
    )
