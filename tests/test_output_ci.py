"""The CI formats `github`, `gitlab` and `junit`, snapshot-tested on the findings of test_output.

Snapshots live in tests/snapshots/; after a deliberate change run
`FORK_LINT_UPDATE_SNAPSHOTS=1 pytest tests/test_output_ci.py` and review every rewritten file.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from fork_lint.model import Finding, Location, Span
from fork_lint.output import RenderContext, render
from fork_lint.output.github import escape_data, escape_property, step_summary
from tests.test_output import (
    CTX,
    FINDINGS,
    MULTIPROCESSING,
    NON_ASCII,
    OS_FORK,
    PREEXEC_FN,
    SYNTAX_ERROR,
    check_snapshot,
    read_lines,
)

# -- github -------------------------------------------------------------------------

COMMAND = re.compile(r"^::(error|warning) ([^:]*)::(.*)$")


def unescape(text: str) -> str:
    """What GitHub's runner does to a command's data and property values."""
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def parse_commands(text: str) -> list[tuple[str, dict[str, str], str]]:
    out = []
    for line in text.splitlines():
        match = COMMAND.match(line)
        assert match, line
        props = dict(item.split("=", 1) for item in match[2].split(","))
        out.append((match[1], {k: unescape(v) for k, v in props.items()}, unescape(match[3])))
    return out


def test_github_snapshot() -> None:
    check_snapshot("output_github.txt", render("github", FINDINGS, CTX))


def test_github_one_command_per_finding_sorted_by_location() -> None:
    commands = parse_commands(render("github", FINDINGS, CTX))
    assert len(commands) == len(FINDINGS)
    positions = [(p["file"], int(p["line"])) for _, p, _ in commands]
    assert positions == sorted(positions)
    level, props, message = commands[1]
    assert level == "error"
    assert props == {
        "title": "fork-lint (FRK001)",
        "file": "app/jobs.py",
        "line": "7",
        "col": "11",
        "endLine": "7",
        "endColumn": "20",
    }
    lines = message.split("\n")
    assert lines[0] == OS_FORK.message
    assert "thread started at app/metrics.py:12:5 (threading.Thread.start)" in lines
    assert lines[-1].endswith("/docs/rules/FRK001.md")


def test_github_multiline_span_has_no_columns() -> None:
    (_, props, message) = parse_commands(render("github", [PREEXEC_FN], CTX))[0]
    assert props["line"] == "23"
    assert props["endLine"] == "26"
    assert "col" not in props
    assert "endColumn" not in props
    assert "help: [*] Replace `preexec_fn=os.setsid` with `start_new_session=True`" in message


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("100%", "100%25", "100%25"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("x:y,z", "x:y,z", "x%3Ay%2Cz"),
        ("%3A", "%253A", "%253A"),  # an escape sequence in the text stays literal
    ],
)
def test_github_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop
    assert unescape(data) == raw
    assert unescape(prop) == raw


def test_github_hostile_path_and_message_round_trip() -> None:
    path = "odd dir/a:b,c%d.py"
    message = "line one\nline two: 50% done, really\r"
    finding = Finding("FRK001", "n", message, Location(path, Span(3, 0, 3, 4)), "os.fork")
    out = render("github", [finding], RenderContext(read_lines=lambda _: None))
    assert out.count("\n") == 1  # one command, one line
    ((_, props, text),) = parse_commands(out)
    assert props["file"] == path
    assert text.split("\n")[:2] == ["line one", "line two: 50% done, really\r"]


def test_github_rank_puts_changed_findings_first() -> None:
    changed = {PREEXEC_FN: 0, NON_ASCII: 1}
    ctx = RenderContext(read_lines=read_lines, rank=lambda f: changed.get(f, 2))
    files = [(p["file"], p["line"]) for _, p, _ in parse_commands(render("github", FINDINGS, ctx))]
    assert files == [
        ("app/jobs.py", "23"),  # rank 0
        ("app/rapport.py", "8"),  # rank 1
        ("app/broken.py", "1"),  # then by location
        ("app/jobs.py", "7"),
        ("app/jobs.py", "18"),
    ]


def test_github_step_summary_snapshot() -> None:
    changed = {PREEXEC_FN: 0, NON_ASCII: 1}
    ctx = RenderContext(read_lines=read_lines, rank=lambda f: changed.get(f, 2))
    text = step_summary(FINDINGS, ctx, diff_base="origin/main", left_out=2, baseline_matched=1)
    check_snapshot("output_github_summary.md", text)


def test_github_step_summary_cells_are_escaped() -> None:
    finding = Finding(
        "FRK005", "n", "a | b <script>\nnext", Location("x.py", Span(1, 0, 1, 1)), "s"
    )
    text = step_summary([finding], RenderContext())
    row = text.splitlines()[-1]
    assert row.count(" | ") == 3  # four cells, the message's bar is escaped
    assert "a \\| b &lt;script&gt; next" in row
    assert "Changed" not in text  # no diff base, no column for it
    assert step_summary([], RenderContext()) == "## fork-lint\n\nNo findings.\n"


def test_github_step_summary_mentions_the_annotation_limit() -> None:
    many = [
        Finding("FRK001", "n", "m", Location("x.py", Span(i, 0, i, 1)), "os.fork")
        for i in range(1, 13)
    ]
    text = step_summary(many, RenderContext())
    assert "12 findings." in text
    assert "first 10 annotations" in text
    assert len([line for line in text.splitlines() if line.startswith("| [FRK001]")]) == 12


# -- gitlab -------------------------------------------------------------------------


def test_gitlab_snapshot() -> None:
    check_snapshot("output_gitlab.json", render("gitlab", FINDINGS, CTX))


def test_gitlab_required_fields() -> None:
    issues = json.loads(render("gitlab", FINDINGS, CTX))
    assert len(issues) == len(FINDINGS)
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert re.fullmatch(r"FRK\d{3}", issue["check_name"])
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["path"], str)
        assert issue["location"]["lines"]["begin"] >= 1
        assert issue["location"]["lines"]["end"] >= issue["location"]["lines"]["begin"]
    by_code = {i["check_name"]: i for i in issues}
    assert by_code["FRK001"]["fingerprint"] == OS_FORK.fingerprint("    pid = os.fork()")
    assert by_code["FRK004"]["location"]["lines"] == {"begin": 23, "end": 26}
    assert "content" not in by_code["FRK900"]
    assert "- fork: `app/jobs.py:7:11` in `app.jobs._spawn`" in by_code["FRK001"]["content"]["body"]


def test_gitlab_fingerprints_are_unique() -> None:
    # The same finding three times (one function repeating a sink line): GitLab would
    # show only one of them if the fingerprints were equal.
    issues = json.loads(render("gitlab", [OS_FORK, OS_FORK, OS_FORK, MULTIPROCESSING], CTX))
    prints = [i["fingerprint"] for i in issues]
    assert len(set(prints)) == 4
    assert prints[0] == OS_FORK.fingerprint("    pid = os.fork()")
    again = json.loads(render("gitlab", [OS_FORK, OS_FORK, OS_FORK, MULTIPROCESSING], CTX))
    assert [i["fingerprint"] for i in again] == prints  # deterministic


def test_gitlab_empty() -> None:
    assert json.loads(render("gitlab", [], CTX)) == []


# -- junit --------------------------------------------------------------------------


def test_junit_snapshot() -> None:
    check_snapshot("output_junit.xml", render("junit", FINDINGS, CTX))


def test_junit_structure() -> None:
    root = ET.fromstring(render("junit", FINDINGS, CTX))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "5", "0")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"app/broken.py", "app/jobs.py", "app/rapport.py"}
    jobs = suites["app/jobs.py"]
    assert (jobs.get("tests"), jobs.get("failures")) == ("3", "3")
    cases = jobs.findall("testcase")
    assert [c.get("line") for c in cases] == ["7", "18", "23"]
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("type") == "FRK001"
    assert failure.get("message") == OS_FORK.message
    assert (failure.text or "").startswith("line 7, col 11, ")
    assert "thread started at app/metrics.py:12:5" in (failure.text or "")
    assert SYNTAX_ERROR.message in ET.tostring(root, encoding="unicode")


def test_junit_empty_is_one_passing_case() -> None:
    root = ET.fromstring(render("junit", [], CTX))
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    (case,) = root.iter("testcase")
    assert case.find("failure") is None


def test_junit_escapes_markup_and_control_characters() -> None:
    message = 'a <b> & "c"\x00\x1b'
    finding = Finding("FRK005", "n", message, Location("x.py", Span(1, 0, 1, 1)), "s")
    text = render("junit", [finding], RenderContext(read_lines=lambda _: None))
    failure = ET.fromstring(text).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == 'a <b> & "c"\\u0000\\u001b'
