"""Reporters: snapshot tests of every format, plus colors, statistics and summary.

The snapshots in tests/snapshots/ are written by hand-review: after a deliberate
change to a format, run

    FORK_LINT_UPDATE_SNAPSHOTS=1 pytest tests/test_output.py

and read every rewritten file before committing it.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
from pathlib import Path

import pytest

from fork_lint.model import (
    Applicability,
    Edit,
    Finding,
    Fix,
    Hop,
    Location,
    Span,
    Witness,
)
from fork_lint.output import FORMATS, RenderContext, render, statistics, summary
from fork_lint.output._context import split_source_lines

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("FORK_LINT_UPDATE_SNAPSHOTS") == "1"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

SOURCES: dict[str, str] = {
    "app/main.py": '''\
"""Service entry point."""

from app import jobs, metrics


def main():
    metrics.start_metrics()
    jobs.run_jobs(["a", "b"])
    jobs.run_pool(["c"])
    jobs.run_tool(["ls"])


if __name__ == "__main__":
    main()
''',
    "app/metrics.py": """\
import threading
import time


def _report():
    while True:
        time.sleep(10)


def start_metrics():
    t = threading.Thread(target=_report, daemon=True)
    t.start()
""",
    "app/jobs.py": """\
import multiprocessing
import os
import subprocess


def _spawn(job):
    pid = os.fork()
    if pid == 0:
        os.execvp("worker", ["worker", job])
    return pid


def run_jobs(jobs):
    return [_spawn(job) for job in jobs]


def run_pool(jobs):
    with multiprocessing.Pool(4) as pool:
        return pool.map(len, jobs)


def run_tool(cmd):
    return subprocess.Popen(
        cmd,
        preexec_fn=os.setsid,
    )
""",
    "app/broken.py": """\
def broken(x)
    return x
""",
    "app/rapport.py": """\
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

_io = ThreadPoolExecutor(max_workers=1)


def générer_rapport(données):
\t_io.submit(print, "début du rapport")
\t池 = ProcessPoolExecutor(max_workers=2)  # 进程池
\treturn list(池.map(str, données))
""",
}
LINES = {path: split_source_lines(text) for path, text in SOURCES.items()}


def at(path: str, line: int, text: str) -> Location:
    """The location of the first `text` on `line` of SOURCES[path] (a one-line span)."""
    col = LINES[path][line - 1].index(text)
    return Location(path, Span(line, col, line, col + len(text)))


def hop(function: str, loc: Location, description: str) -> Hop:
    return Hop(function, loc, description)


MAIN_STARTS_METRICS = (
    hop(
        "app.main.main",
        at("app/main.py", 7, "metrics.start_metrics()"),
        "calls `app.metrics.start_metrics()`",
    ),
    hop(
        "app.metrics.start_metrics",
        at("app/metrics.py", 12, "t.start()"),
        "starts a thread: `threading.Thread.start()`",
    ),
)
METRICS_REASON = (
    "the daemon thread started by `app.metrics.start_metrics()` runs until the process exits"
)

OS_FORK = Finding(
    code="FRK001",
    name="os-fork-with-threads",
    message="`os.fork()` may run while a thread started by `threading.Thread.start` is alive",
    location=at("app/jobs.py", 7, "os.fork()"),
    sink="os.fork",
    function="app.jobs._spawn",
    witness=Witness(
        anchor="app.main.main",
        reason=METRICS_REASON,
        thread_source="threading.Thread.start",
        thread_path=MAIN_STARTS_METRICS,
        fork_path=(
            hop(
                "app.main.main",
                at("app/main.py", 8, 'jobs.run_jobs(["a", "b"])'),
                "calls `app.jobs.run_jobs()`",
            ),
            hop(
                "app.jobs.run_jobs",
                at("app/jobs.py", 14, "_spawn(job)"),
                "calls `app.jobs._spawn()`",
            ),
            hop("app.jobs._spawn", at("app/jobs.py", 7, "os.fork()"), "calls `os.fork()`"),
        ),
    ),
    fix=Fix(
        "Replace `os.fork()` followed by `os.execvp()` with `subprocess.Popen()`",
        Applicability.DISPLAY_ONLY,
    ),
)

POOL_CALL = at("app/jobs.py", 18, "multiprocessing.Pool(4)")
MULTIPROCESSING = Finding(
    code="FRK002",
    name="multiprocessing-fork-with-threads",
    message="`multiprocessing.Pool()` uses the 'fork' start method while a thread started by "
    "`threading.Thread.start` may be alive",
    location=POOL_CALL,
    sink="multiprocessing.Pool",
    function="app.jobs.run_pool",
    witness=Witness(
        anchor="app.main.main",
        reason=METRICS_REASON,
        thread_source="threading.Thread.start",
        thread_path=MAIN_STARTS_METRICS,
        fork_path=(
            hop(
                "app.main.main",
                at("app/main.py", 9, 'jobs.run_pool(["c"])'),
                "calls `app.jobs.run_pool()`",
            ),
            hop("app.jobs.run_pool", POOL_CALL, "creates a `multiprocessing.Pool`"),
        ),
    ),
    fix=Fix(
        "Use the 'forkserver' start method: `multiprocessing.get_context(\"forkserver\").Pool`",
        Applicability.UNSAFE,
        (
            Edit(
                "app/jobs.py",
                at("app/jobs.py", 18, "multiprocessing.Pool").span,
                'multiprocessing.get_context("forkserver").Pool',
            ),
        ),
    ),
)

POPEN_CALL = Location("app/jobs.py", Span(23, 11, 26, 5))
PREEXEC_FN = Finding(
    code="FRK004",
    name="preexec-fn-with-threads",
    message="`subprocess.Popen()` with `preexec_fn` may run while a thread started by "
    "`threading.Thread.start` is alive",
    location=POPEN_CALL,
    sink="subprocess.Popen(preexec_fn)",
    function="app.jobs.run_tool",
    witness=Witness(
        anchor="app.main.main",
        reason=METRICS_REASON,
        thread_source="threading.Thread.start",
        thread_path=MAIN_STARTS_METRICS,
        fork_path=(
            hop(
                "app.main.main",
                at("app/main.py", 10, 'jobs.run_tool(["ls"])'),
                "calls `app.jobs.run_tool()`",
            ),
            hop(
                "app.jobs.run_tool",
                POPEN_CALL,
                "calls `subprocess.Popen()` with `preexec_fn=os.setsid`",
            ),
        ),
    ),
    fix=Fix(
        "Replace `preexec_fn=os.setsid` with `start_new_session=True`",
        Applicability.SAFE,
        (
            Edit(
                "app/jobs.py",
                at("app/jobs.py", 25, "preexec_fn=os.setsid").span,
                "start_new_session=True",
            ),
        ),
    ),
)

SYNTAX_ERROR = Finding(
    code="FRK900",
    name="syntax-error",
    message="SyntaxError: expected ':'",
    # Points just past the end of the line, as parsers do.
    location=Location("app/broken.py", Span(1, 13, 1, 13)),
    sink="",
)

EXECUTOR_CALL = at("app/rapport.py", 8, "ProcessPoolExecutor(max_workers=2)")
NON_ASCII = Finding(
    code="FRK003",
    name="process-pool-fork-with-threads",
    message="`ProcessPoolExecutor()` uses the 'fork' start method while a thread started by "
    "`concurrent.futures.ThreadPoolExecutor.submit` may be alive",
    location=EXECUTOR_CALL,
    sink="concurrent.futures.ProcessPoolExecutor",
    function="app.rapport.générer_rapport",
    witness=Witness(
        anchor="app.rapport.générer_rapport",
        reason="the worker thread of `_io` lives until the executor is shut down",
        thread_source="concurrent.futures.ThreadPoolExecutor.submit",
        thread_path=(
            hop(
                "app.rapport.générer_rapport",
                at("app/rapport.py", 7, '_io.submit(print, "début du rapport")'),
                "starts a thread: `concurrent.futures.ThreadPoolExecutor.submit()`",
            ),
        ),
        fork_path=(
            hop(
                "app.rapport.générer_rapport",
                EXECUTOR_CALL,
                "creates a `concurrent.futures.ProcessPoolExecutor`",
            ),
        ),
    ),
)

# Deliberately out of order: every format sorts by location.
FINDINGS = (NON_ASCII, PREEXEC_FN, SYNTAX_ERROR, OS_FORK, MULTIPROCESSING)


def read_lines(path: str) -> list[str] | None:
    return LINES.get(path)


CTX = RenderContext(read_lines=read_lines)


def check_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    if not path.exists():
        pytest.fail(
            f"snapshot {path} is missing; create it with FORK_LINT_UPDATE_SNAPSHOTS=1 and review it"
        )
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{name} (snapshot)",
                tofile=f"{name} (actual)",
            )
        )
        pytest.fail(
            f"output differs from snapshot {name} "
            f"(FORK_LINT_UPDATE_SNAPSHOTS=1 rewrites it):\n{diff}",
            pytrace=False,
        )


# -- snapshots ----------------------------------------------------------------


def test_sources_match_the_hand_written_spans() -> None:
    # Guards the fixture itself: the multi-line span covers the whole Popen call.
    assert LINES["app/jobs.py"][22][POPEN_CALL.span.col :].startswith("subprocess.Popen(")
    assert LINES["app/jobs.py"][25][: POPEN_CALL.span.end_col] == "    )"
    assert LINES["app/broken.py"][0] == "def broken(x)"
    assert len(LINES["app/broken.py"][0]) == SYNTAX_ERROR.location.span.col


def test_full_snapshot() -> None:
    check_snapshot("output_full.txt", render("full", FINDINGS, CTX))


def test_full_without_fix_diffs_snapshot() -> None:
    ctx = RenderContext(read_lines=read_lines, show_fixes=False)
    check_snapshot("output_full_no_fixes.txt", render("full", FINDINGS, ctx))


def test_concise_snapshot() -> None:
    check_snapshot("output_concise.txt", render("concise", FINDINGS, CTX))


def test_json_snapshot() -> None:
    check_snapshot("output_json.json", render("json", FINDINGS, CTX))


def test_default_reader_reads_files_from_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, text in SOURCES.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for fmt in FORMATS:
        assert render(fmt, FINDINGS, RenderContext()) == render(fmt, FINDINGS, CTX), fmt


def test_default_reader_line_breaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CRLF, a lone CR and a BOM are handled as Python does; a form feed is not a line break.
    (tmp_path / "m.py").write_bytes(b"\xef\xbb\xbfa = 1\r\nb = 2\rc = '\x0c'\nd = '\xff'\n")
    monkeypatch.chdir(tmp_path)
    finding = Finding(
        "FRK005", "custom-fork-sink-with-threads", "m", Location("m.py", Span(4, 0, 4, 1)), "x"
    )
    out = render("full", [finding], RenderContext())
    assert "4 | d = '\ufffd'" in out
    assert "3 | c = '\u240c'" not in out  # only line 4 is shown
    assert render("full", [finding], RenderContext(read_lines=lambda _: None)) == (
        "m.py:4:1: FRK005 m\n"
    )


# -- details of the full format -------------------------------------------------


def one(finding: Finding, lines: dict[str, list[str]], **kwargs: object) -> str:
    ctx = RenderContext(read_lines=lines.get, **kwargs)  # type: ignore[arg-type]
    return render("full", [finding], ctx)


def plain(path: str, span: Span, code: str = "FRK001", message: str = "msg") -> Finding:
    return Finding(code, "n", message, Location(path, span), "os.fork")


def test_frame_handles_tabs_and_wide_characters() -> None:
    # The tab fills 4 columns and 池 two, so `fork()` starts at display column 9.
    out = one(plain("t.py", Span(1, 5, 1, 11)), {"t.py": ["\t池 = fork()"]})
    assert out.splitlines() == [
        "t.py:1:6: FRK001 msg",
        "  |",
        "1 |     池 = fork()",
        "  |          ^^^^^^ FRK001",
        "  |",
    ]


def test_frame_span_past_end_of_line_and_file() -> None:
    lines = {"t.py": ["x = (", "y"]}
    past_line = one(plain("t.py", Span(1, 9, 1, 12)), lines)
    assert "1 | x = (\n  |      ^ FRK001\n" in past_line
    at_eof = one(plain("t.py", Span(3, 0, 3, 0)), lines)
    assert "3 |\n  | ^ FRK001\n" in at_eof
    beyond = one(plain("t.py", Span(7, 0, 7, 1)), lines)
    assert beyond == "t.py:7:1: FRK001 msg\n"


def test_frame_long_multiline_span_is_shortened() -> None:
    lines = {"t.py": [f"    line{i}" for i in range(1, 21)]}
    out = one(plain("t.py", Span(2, 4, 15, 10)), lines)
    assert "...\n" in out
    assert " 5 |" in out
    assert " 6 |" not in out
    assert "13 |" in out
    assert out.endswith("15 |     line15\n   |     ^^^^^^ FRK001\n   |\n")


def test_frame_span_ending_at_column_zero_leaves_out_that_line() -> None:
    out = one(plain("t.py", Span(1, 0, 2, 0)), {"t.py": ["a = 1", "b = 2"]})
    assert "2 |" not in out
    assert "1 | a = 1\n  | ^^^^^ FRK001\n" in out


def test_bidi_controls_are_made_visible() -> None:
    out = one(plain("t.py", Span(1, 0, 1, 1)), {"t.py": ["x = '\u202e'"]})
    assert "x = '<U+202E>'" in out
    assert "\u202e" not in out


def test_fix_in_another_file_and_overlapping_edits() -> None:
    lines = {"a.py": ["import os", "os.fork()"], "b.py": ["x = 1"]}
    fix = Fix(
        "do it",
        Applicability.SAFE,
        (Edit("b.py", Span(1, 4, 1, 5), "2"), Edit("a.py", Span(2, 0, 2, 2), "posix")),
    )
    finding = Finding("FRK001", "n", "m", Location("a.py", Span(2, 0, 2, 9)), "os.fork", fix=fix)
    out = one(finding, lines)
    assert out.endswith(
        "help: do it\n"
        "  |\n"
        "2 - os.fork()\n"
        "2 + posix.fork()\n"
        "  |\n"
        " --> b.py\n"
        "  |\n"
        "1 - x = 1\n"
        "1 + x = 2\n"
        "  |\n"
    )
    overlapping = Fix(
        "do it",
        Applicability.SAFE,
        (Edit("a.py", Span(2, 0, 2, 5), "a"), Edit("a.py", Span(2, 3, 2, 7), "b")),
    )
    out = one(Finding("FRK001", "n", "m", finding.location, "os.fork", fix=overlapping), lines)
    assert out.endswith("help: do it\n")


# -- colors -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_escapes_without_color(fmt: str) -> None:
    ctx = RenderContext(read_lines=read_lines, color=False, fixed=1, unsafe_hidden=2)
    assert "\x1b" not in render(fmt, FINDINGS, ctx)
    assert "\x1b" not in statistics(FINDINGS, ctx)
    assert "\x1b" not in summary(FINDINGS, ctx)


@pytest.mark.parametrize("fmt", ["full", "concise"])
def test_color_adds_escapes_only(fmt: str) -> None:
    ctx = RenderContext(read_lines=read_lines, color=True)
    colored = render(fmt, FINDINGS, ctx)
    assert "\x1b[1m" in colored  # bold path
    assert "\x1b[1;31mFRK001\x1b[0m" in colored  # red code
    assert ANSI.sub("", colored) == render(fmt, FINDINGS, CTX)
    if fmt == "full":
        assert "\x1b[1;36m 7 |\x1b[0m" in colored or "\x1b[1;36m7 |\x1b[0m" in colored


def test_json_never_colored() -> None:
    ctx = RenderContext(read_lines=read_lines, color=True)
    assert render("json", FINDINGS, ctx) == render("json", FINDINGS, CTX)


def test_color_in_statistics_and_summary() -> None:
    ctx = RenderContext(read_lines=read_lines, color=True)
    assert "\x1b[" in statistics(FINDINGS, ctx)
    assert ANSI.sub("", statistics(FINDINGS, ctx)) == statistics(FINDINGS, CTX)
    assert ANSI.sub("", summary(FINDINGS, ctx)) == summary(FINDINGS, CTX)


# -- json ---------------------------------------------------------------------

FINDING_KEYS = {
    "code",
    "name",
    "message",
    "severity",
    "filename",
    "location",
    "end_location",
    "sink",
    "fix",
    "url",
    "fingerprint",
    "witness",
}
HOP_KEYS = {"function", "filename", "location", "end_location", "description"}


def test_json_round_trips_with_documented_keys() -> None:
    data = json.loads(render("json", FINDINGS, CTX))
    assert isinstance(data, list)
    assert len(data) == len(FINDINGS)
    keys = [(d["filename"], d["location"]["row"], d["location"]["column"]) for d in data]
    assert keys == sorted(keys)
    for item in data:
        assert set(item) == FINDING_KEYS
        assert set(item["location"]) == {"row", "column"}
        assert re.fullmatch(r"[0-9a-f]{32}", item["fingerprint"])
        if item["fix"] is not None:
            assert set(item["fix"]) == {"applicability", "message", "edits"}
            for edit in item["fix"]["edits"]:
                assert set(edit) == {"filename", "content", "location", "end_location"}
        if item["witness"] is not None:
            assert set(item["witness"]) == {
                "anchor",
                "reason",
                "thread_source",
                "thread_start",
                "thread_path",
                "fork_path",
            }
            assert set(item["witness"]["thread_start"]) == {
                "filename",
                "location",
                "end_location",
            }
            for h in item["witness"]["thread_path"] + item["witness"]["fork_path"]:
                assert set(h) == HOP_KEYS
    by_code = {d["code"]: d for d in data}
    assert by_code["FRK900"]["witness"] is None
    assert by_code["FRK001"]["location"] == {"row": 7, "column": 11}  # 1-based column
    assert by_code["FRK001"]["end_location"] == {"row": 7, "column": 20}
    assert by_code["FRK002"]["fix"]["applicability"] == "unsafe"
    assert by_code["FRK001"]["url"].endswith("/docs/rules/FRK001.md")
    assert by_code["FRK001"]["fingerprint"] == OS_FORK.fingerprint("    pid = os.fork()")
    assert len(by_code["FRK001"]["witness"]["fork_path"]) == 3


def test_json_empty_and_unreadable() -> None:
    assert json.loads(render("json", [], CTX)) == []
    ctx = RenderContext(read_lines=lambda _: None)
    data = json.loads(render("json", [OS_FORK], ctx))
    assert data[0]["fingerprint"] == OS_FORK.fingerprint("")


# -- statistics and summary ---------------------------------------------------


def test_statistics() -> None:
    findings = [*FINDINGS, OS_FORK, OS_FORK] + [PREEXEC_FN] * 9
    assert statistics(findings, CTX) == (
        "10\tFRK004\t[*] A subprocess with `preexec_fn` may be launched while other threads "
        "are alive\n"
        " 3\tFRK001\t[ ] `os.fork()`, `os.forkpty()` or `pty.fork()` may run while other "
        "threads are alive\n"
        " 1\tFRK002\t[ ] A `multiprocessing` process, pool or manager using the 'fork' start "
        "method may be started while other threads are alive\n"
        " 1\tFRK003\t[ ] A `ProcessPoolExecutor` using the 'fork' start method may fork while "
        "other threads are alive\n"
        " 1\tFRK900\t[ ] A file could not be parsed\n"
    )


def test_statistics_without_fixable_findings_and_unknown_codes() -> None:
    odd = plain("x.py", Span(1, 0, 1, 1), code="X1")
    assert statistics([OS_FORK, odd], CTX) == (
        "1\tFRK001\t`os.fork()`, `os.forkpty()` or `pty.fork()` may run while other threads "
        "are alive\n"
        "1\tX1    \tn\n"
    )
    assert statistics([], CTX) == ""


@pytest.mark.parametrize(
    ("findings", "fixed", "hidden", "expected"),
    [
        ((), 0, 0, "All checks passed!\n"),
        ((), 2, 0, "Fixed 2 errors.\n"),
        ((), 1, 0, "Fixed 1 error.\n"),
        ((OS_FORK,), 0, 0, "Found 1 error.\n"),
        (
            FINDINGS,
            0,
            0,
            "Found 5 errors.\n[*] 1 fixable with the `--fix` option.\n",
        ),
        (
            FINDINGS,
            0,
            1,
            "Found 5 errors.\n[*] 1 fixable with the `--fix` option "
            "(1 hidden fix can be enabled with the `--unsafe-fixes` option).\n",
        ),
        (
            (OS_FORK, MULTIPROCESSING),
            0,
            2,
            "Found 2 errors.\n"
            "No fixes available "
            "(2 hidden fixes can be enabled with the `--unsafe-fixes` option).\n",
        ),
        (
            (OS_FORK,),
            2,
            0,
            "Found 3 errors (2 fixed, 1 remaining).\n",
        ),
    ],
)
def test_summary(findings: tuple[Finding, ...], fixed: int, hidden: int, expected: str) -> None:
    ctx = RenderContext(read_lines=read_lines, fixed=fixed, unsafe_hidden=hidden)
    assert summary(findings, ctx) == expected


def test_unsafe_fixes_are_marked_fixable_only_with_unsafe_fixes() -> None:
    # As ruff: with `--unsafe-fixes`, an unsafe fix is one `--fix` would apply.
    for unsafe, star in ((False, ""), (True, "[*] ")):
        ctx = RenderContext(read_lines=read_lines, unsafe_fixes=unsafe)
        header = f"FRK002 {star}`multiprocessing.Pool()`"
        assert header in render("concise", (MULTIPROCESSING,), ctx)
        assert header in render("full", (MULTIPROCESSING,), ctx)
        assert f"help: {star}Use the" in render("github", (MULTIPROCESSING,), ctx)
        fixable = "[*] 1 fixable with the `--fix` option.\n" if unsafe else ""
        assert summary((MULTIPROCESSING,), ctx) == f"Found 1 error.\n{fixable}"
        assert ("[*]" in statistics((MULTIPROCESSING, OS_FORK), ctx)) is unsafe
    display_only = MULTIPROCESSING.fix
    assert display_only is not None
    suggestion = dataclasses.replace(
        MULTIPROCESSING,
        fix=dataclasses.replace(display_only, applicability=Applicability.DISPLAY_ONLY),
    )
    ctx = RenderContext(read_lines=read_lines, unsafe_fixes=True)
    assert "[*]" not in render("concise", (suggestion,), ctx)


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        render("xml", FINDINGS, CTX)


def test_empty_text_formats() -> None:
    assert render("full", [], CTX) == ""
    assert render("concise", [], CTX) == ""


# -- docs/output.md -------------------------------------------------------------

DOCS = Path(__file__).parent.parent / "docs" / "output.md"


def fenced_blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", DOCS.read_text(encoding="utf-8"), re.M | re.S)


def test_docs_examples_match_the_output() -> None:
    full_example, concise_example, statistics_example, summary_example = fenced_blocks("text")
    assert full_example in render("full", FINDINGS, CTX)
    assert set(concise_example.splitlines()) <= set(render("concise", FINDINGS, CTX).splitlines())
    assert statistics_example == statistics([OS_FORK, OS_FORK, OS_FORK, PREEXEC_FN], CTX)
    ctx = RenderContext(read_lines=read_lines, unsafe_hidden=1)
    assert summary_example == summary(FINDINGS, ctx)
    (json_example,) = fenced_blocks("json")
    assert json.loads(json_example) == json.loads(render("json", [PREEXEC_FN], CTX))
