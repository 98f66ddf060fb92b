"""A fix changes only the fix: every other byte kept, edits placed by position, a
second run finds nothing, no stray output, no temporary file left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import libcst as cst
import pytest

from fork_lint import interrupts
from fork_lint.engine import AnalysisOptions
from fork_lint.fixes import (
    FIXERS,
    UNPLACEABLE,
    FixContext,
    NoFix,
    Proposal,
    changed_outside,
    propose,
)
from fork_lint.fixes.apply import DiskFile, DiskSources, FixRun, fix_sources
from fork_lint.fixes.options import FixOptions
from fork_lint.index.extract import extract
from fork_lint.model import Applicability, Finding

THREADED = """\
import os
import subprocess
import threading


def run(cmd):
    threading.Thread(target=print).start()
    subprocess.Popen(cmd, preexec_fn=os.setsid, cwd=os.getcwd())
"""
OLD_CALL, NEW_CALL = "preexec_fn=os.setsid", "start_new_session=True"


# ---------------------------------------------------------------------------- every other byte

# Files libcst does not print back as they are (`parse_module(text).code != text`):
# before, a fix wrote libcst's print and deleted these comments, blank lines and
# form feeds, far from the fix.
UNREPRODUCED = {
    "comments dedented below the block, then whitespace": THREADED + "    # c\n  # d\n\n\n   ",
    "a form feed first": "\x0c" + THREADED,
    "CRLF, a dedented comment, whitespace": (THREADED + "  # x\n\n  ").replace("\n", "\r\n"),
    "a dedented comment, then a tab": THREADED + "  # c\n\t\n",
}


@pytest.mark.parametrize("source", UNREPRODUCED.values(), ids=UNREPRODUCED)
@pytest.mark.parametrize("unsafe", [False, True], ids=["fix", "unsafe-fixes"])
def test_a_fix_keeps_what_libcst_does_not_reproduce(source: str, unsafe: bool) -> None:
    assert cst.parse_module(source).code != source
    result = fix_sources({"m.py": source}, unsafe=unsafe)
    assert result.dropped == []
    assert result.changed["m.py"] == (source, source.replace(OLD_CALL, NEW_CALL))


def test_an_import_added_at_the_top_goes_after_a_leading_form_feed() -> None:
    source = "\x0c" + THREADED.replace(
        "    subprocess.Popen(cmd, preexec_fn=os.setsid, cwd=os.getcwd())\n",
        "    concurrent.futures.ProcessPoolExecutor(2).submit(print)\n",
    ).replace("import os\n", "import concurrent.futures\nimport os\n")
    result = fix_sources({"m.py": source}, unsafe=True)
    new = result.changed["m.py"][1]
    assert new.startswith("\x0cimport concurrent.futures\nimport multiprocessing\nimport os\n")
    assert 'ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver"))' in new


def _swap_fixer(monkeypatch: pytest.MonkeyPatch, make: Callable[[str], str]) -> None:
    """FRK004's fixers replaced by one that proposes `make(text)` as the new text."""

    def fixer(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
        return Proposal("test", Applicability.SAFE, {finding.path: make(ctx.source("m.py") or "")})

    monkeypatch.setitem(FIXERS, "FRK004", (fixer,))


def test_a_fix_given_as_libcsts_print_is_placed_in_the_files_own_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = UNREPRODUCED["comments dedented below the block, then whitespace"]
    _swap_fixer(monkeypatch, lambda text: cst.parse_module(text).code.replace(OLD_CALL, NEW_CALL))
    result = fix_sources({"m.py": source})
    assert result.changed["m.py"][1] == source.replace(OLD_CALL, NEW_CALL)


def test_a_fix_that_edits_text_libcst_drops_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The edit spans the comment libcst does not print: it cannot be placed."""
    source = THREADED + "    return 1\n  # c\n\t\n"
    printed = cst.parse_module(source).code
    assert "  # c\n" not in printed
    _swap_fixer(
        monkeypatch,
        lambda text: cst.parse_module(text).code.replace(OLD_CALL, NEW_CALL)[: len(printed) - 14],
    )
    result = fix_sources({"m.py": source})
    assert result.changed == {}
    [finding] = result.remaining
    assert finding.fix is None  # reports show no fix where there is none
    assert _fix_message(source) == f"No fix available: {UNPLACEABLE}"
    assert [d.reason for d in result.failed] == [UNPLACEABLE]  # `--fix` says why


def test_the_gate_refuses_a_change_outside_the_edits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever produced it, a text that lost a byte outside the edits is not written."""
    from fork_lint.fixes import apply, apply_edits

    real = apply_edits

    def losing_a_comment(text: str, edits: object) -> str:
        return real(text, edits).replace("# keep me\n", "")  # type: ignore[arg-type]

    monkeypatch.setattr(apply, "apply_edits", losing_a_comment)
    result = fix_sources({"m.py": "# keep me\n" + THREADED})
    assert result.changed == {}
    [dropped] = result.dropped
    assert dropped.reason == (
        "the fix would change m.py outside its edits (line 1); "
        "fork-lint keeps every other byte of a file it fixes"
    )


@pytest.mark.parametrize(
    ("old", "new", "ranges", "where"),
    [
        ("abcdef", "abXYef", [(2, 4)], None),
        ("abcdef", "abef", [(2, 4)], None),
        ("abcdef", "aXcdef", [(2, 4)], 1),  # before the range
        ("abcdef", "abcdXf", [(2, 4)], 4),  # after it
        ("a-b-c", "aX-bY-c", [(1, 1), (3, 3)], None),  # insertions
        ("a-b-c", "aX-Y-c", [(1, 1), (3, 3)], 1),  # the `-b` between them is gone
        ("abc", "abc", [], None),
        ("abc", "abd", [], 0),
    ],
)
def test_changed_outside(old: str, new: str, ranges: list[tuple[int, int]], where: int) -> None:
    assert changed_outside(old, new, ranges) == where


def test_a_file_whose_encoding_does_not_give_back_its_bytes_is_not_written(
    tmp_path: Path,
) -> None:
    (tmp_path / "m.py").write_bytes(b"x = 1\n")
    sources = DiskSources(tmp_path)
    sources.files["m.py"] = DiskFile(b"x = 1\n", "utf-8", "x = 1\r\n")  # as if decoded lossily
    assert sources.write("m.py", "x = 2\r\n") == (
        "encoding its text as utf-8 does not give back its bytes, "
        "so the bytes outside the fix would change"
    )
    assert (tmp_path / "m.py").read_bytes() == b"x = 1\n"


# ---------------------------------------------------------------------------- identical code

TWO_CALLS = """\
import os
import subprocess
import threading


def run(cmd):
    threading.Thread(target=print).start()
    subprocess.Popen(["a"], preexec_fn=os.setsid)
    subprocess.Popen(["a"], preexec_fn=os.setsid)
"""


def test_two_identical_calls_get_a_fix_each() -> None:
    """Before, the fix of the first call was taken for a change of the second
    (edits found by comparing texts) and refused as not idempotent."""
    result = fix_sources({"m.py": TWO_CALLS})
    assert result.dropped == []
    assert len(result.fixed) == 2
    assert result.changed["m.py"][1] == TWO_CALLS.replace(OLD_CALL, NEW_CALL).replace(
        "import os\n", ""
    )


@pytest.mark.parametrize(
    "order",
    [("popen", "pool", "popen", "pool"), ("popen", "pool", "pool", "popen")],
    ids=["PXPX", "PXXP"],
)
def test_identical_calls_beside_process_pools_are_fixed_in_one_run(order: tuple[str, ...]) -> None:
    """The flip-flop: fixes refused in one run, applied by the next. The gate moved
    a finding through edits found by comparing texts, onto an identical line
    that was not fixed yet, and refused the fix for the rest of the run."""
    lines = {
        "popen": "    subprocess.Popen(cmd, preexec_fn=os.setsid)\n",
        "pool": "    concurrent.futures.ProcessPoolExecutor(2).submit(print)\n",
    }
    source = (
        "import concurrent.futures\nimport os\nimport subprocess\nimport threading\n\n\n"
        "def run(cmd):\n    threading.Thread(target=print).start()\n"
        + "".join(lines[k] for k in order)
    )
    first = fix_sources({"m.py": source}, unsafe=True)
    assert first.dropped == []
    assert len(first.fixed) == 4
    fixed = first.changed["m.py"][1]
    assert fix_sources({"m.py": fixed}, unsafe=True).changed == {}


def test_a_fix_refused_beside_others_is_tried_again_once_they_are_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fix that fails the gate only while another finding is unfixed is applied
    in a later pass of the same run, not left to the next run."""
    from fork_lint.fixes import preexec

    def fixer(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
        text = ctx.source(finding.path) or ""
        if "mp_context" not in text:  # the pool is not fixed yet: a fix that breaks
            return Proposal("test", Applicability.SAFE, {finding.path: text.replace(OLD_CALL, "(")})
        return preexec.fix(finding, ctx)

    monkeypatch.setitem(FIXERS, "FRK004", (fixer,))
    source = THREADED + "    concurrent.futures.ProcessPoolExecutor(2).submit(print)\n"
    source = "import concurrent.futures\n" + source
    result = fix_sources({"m.py": source}, unsafe=True)
    assert result.dropped == []
    assert sorted(f.code for f in result.fixed) == ["FRK003", "FRK004"]
    assert result.passes == 2  # the pool (the broken fix refused), then the retry


# ---------------------------------------------------------------------------- warnings


def test_the_gate_does_not_print_the_codes_warnings() -> None:
    source = THREADED.replace("import os\n", 'import os\nimport re\n\nPAT = re.compile("\\d+")\n')
    source += "    return os.getpid() is 1\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fix_sources({"m.py": source})
    assert len(result.fixed) == 1
    assert [str(w.message) for w in caught] == []


# ---------------------------------------------------------------------------- temporary files

# Each call the write makes, from creating the temporary file to the rename.
_STEPS = {
    "mkstemp": ("fork_lint.fixes.apply.tempfile", "mkstemp"),
    "fdopen": ("fork_lint.fixes.apply.os", "fdopen"),
    "fsync": ("fork_lint.fixes.apply.os", "fsync"),
    "keep owner": ("fork_lint.fixes.apply", "_keep_owner"),
    "chmod": ("fork_lint.fixes.apply.os", "chmod"),
    "replace": ("fork_lint.fixes.apply.os", "replace"),
}


def _held() -> AbstractContextManager[None]:
    return interrupts.stoppable()


@pytest.mark.skipif(
    sys.platform == "win32" or signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="needs POSIX signals with Python's default SIGINT handler",
)
@pytest.mark.parametrize("step", _STEPS)
@pytest.mark.parametrize(
    "handler",
    [_held, nullcontext],
    ids=["under the command line's handlers", "under Python's default handler"],
)
def test_a_signal_at_any_step_of_a_write_leaves_no_temporary_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    handler: Callable[[], AbstractContextManager[None]],
) -> None:
    """SIGINT raised right after each step: it takes effect once the file is in
    place. Before, under Python's own handler (fork-lint used as a library), the
    KeyboardInterrupt came between `mkstemp` and the `try` that removes its file."""
    path = tmp_path / "m.py"
    path.write_text(THREADED)
    sources = DiskSources(tmp_path)
    sources.read("m.py")
    owner, name = _STEPS[step]
    real = getattr(sys.modules[owner] if owner in sys.modules else _module(owner), name)
    signalled: list[str] = []

    def then_signal(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)
        if not signalled:
            signalled.append(step)
            signal.raise_signal(signal.SIGINT)  # Python runs the handler at the next bytecode
        return result

    monkeypatch.setattr(f"{owner}.{name}", then_signal)
    with handler(), pytest.raises(KeyboardInterrupt):
        sources.write("m.py", THREADED.replace(OLD_CALL, NEW_CALL))
    assert signalled == [step]
    assert path.read_text() == THREADED.replace(OLD_CALL, NEW_CALL)
    assert list(tmp_path.glob("*.fork-lint")) == []


def _module(dotted: str) -> object:
    target = dotted.rpartition(".")
    module = sys.modules[target[0]]
    return getattr(module, target[2])


@pytest.mark.parametrize("step", [s for s in _STEPS if s != "mkstemp"])
def test_an_error_at_any_step_of_a_write_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    path = tmp_path / "m.py"
    path.write_text(THREADED)
    sources = DiskSources(tmp_path)
    sources.read("m.py")
    owner, name = _STEPS[step]

    def fail(*args: object, **kwargs: object) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(f"{owner}.{name}", fail)
    assert sources.write("m.py", "x = 1\n") == "cannot write it: No space left on device"
    assert path.read_text() == THREADED
    assert list(tmp_path.glob("*.fork-lint")) == []


# ---------------------------------------------------------------------------- large and deep files

_RUN = (
    "import os\nimport subprocess\nimport threading\n\n\ndef run(cmd):\n"
    "    threading.Thread(target=print).start()\n    subprocess.Popen(cmd, preexec_fn=os.setsid)\n"
)


def _fix_message(source: str) -> str:
    """What the fix stage proposes for the one finding of ``source`` (a `NoFix`
    reason is not shown in reports, which show only the fixes there are)."""
    files = {"m.py": source}
    modules = [extract(source, "m.py", "m", False)]
    options = FixOptions(target_version=(3, 12))
    run = FixRun(modules, AnalysisOptions(target_version=(3, 12)), options, files.get)
    [finding] = run.analyse(modules)
    proposal = propose(finding, run.context())
    if isinstance(proposal, NoFix):
        return f"No fix available: {proposal.reason}"
    assert proposal is not None
    return proposal.message


def test_a_file_over_the_libcst_limit_gets_no_fix_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fork_lint.fixes import _parse

    monkeypatch.setattr(_parse, "MAX_CHARS", len(_RUN) - 1)
    assert _fix_message(_RUN) == (
        f"No fix available: m.py is larger than fork-lint rewrites ({len(_RUN):,} characters; "
        "the limit is 1,000,000)"
    )


def _run_cli(root: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORK_LINT_")}
    proc = subprocess.run(
        [sys.executable, "-m", "fork_lint", "--no-cache", *args, "."],
        check=False,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


# libcst's parser recurses natively: these overflow the main thread's stack (SIGSEGV,
# no message) although `ast` takes them and they are small.
DEEP = {
    "10,000 `and` (60 kB)": "x = " + " and ".join(["a"] * 10_000) + "\n",
    "an import of 10,000 dotted parts (20 kB)": "import " + ".".join(["a"] * 10_000) + "\n",
}


@pytest.mark.parametrize("tail", DEEP.values(), ids=DEEP)
def test_a_file_libcst_cannot_parse_costs_its_fix_not_the_run(tmp_path: Path, tail: str) -> None:
    (tmp_path / "m.py").write_text(_RUN + "\n\n" + tail)
    code, out, err = _run_cli(tmp_path, "--output-format", "full")
    assert (code, err) == (1, "")  # before: killed by SIGSEGV (-11), nothing printed
    assert "m.py:8:5: FRK004" in out
    assert "help:" not in out  # no fix, and the run goes on
    code, out, err = _run_cli(tmp_path, "--fix", "--output-format", "concise")
    assert code == 1
    assert "m.py:8:5: FRK004" in out
    # before: no word on why the finding asked to be fixed was not
    assert "m.py:8:5: FRK004 no fix: fork-lint cannot rewrite m.py: " in err


def test_a_large_file_is_parsed_first_by_a_child_that_may_die(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over `_SAFE_CHARS`, a child parses the file first: one that dies (as on a native
    crash) costs the file its fix, and the next file gets a new child."""
    from fork_lint.fixes import _parse

    probe = _parse._Probe()
    monkeypatch.setattr(_parse, "_PROBE", probe)
    monkeypatch.setattr(_parse, "_SAFE_CHARS", 10)
    # The child's code, made to die on a marker as libcst dies on a deep file.
    monkeypatch.setattr(
        _parse,
        "_CHILD",
        _parse._CHILD.replace(
            "    answer = []\n", "    answer = []\n    if 'CRASH' in text:\n        os.abort()\n"
        ),
    )
    try:
        assert _fix_message(_RUN + "# CRASH\n") == (
            "No fix available: fork-lint cannot rewrite m.py: "
            "libcst crashes on it (the process that tried it died)"
        )
        assert _fix_message(_RUN) == "Replace `preexec_fn=os.setsid` with `start_new_session=True`"
    finally:
        probe.close()


def test_an_error_in_a_fixer_costs_its_finding_the_fix_not_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
        raise ValueError("something unexpected")

    monkeypatch.setitem(FIXERS, "FRK004", (broken,))
    assert _fix_message(_RUN) == (
        "No fix available: computing the fix failed (ValueError: something unexpected)"
    )


def test_a_fix_run_proposes_fixes_only_for_the_findings_it_may_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A proposal parses the files it rewrites with libcst: a finding the report
    hides (ignored, outside the changed lines, in the baseline) costs nothing."""
    asked: list[int] = []

    def fixer(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
        asked.append(finding.location.span.line)
        return None

    monkeypatch.setitem(FIXERS, "FRK004", (fixer,))

    def fix_run() -> FixRun:
        modules = [extract(_RUN, "m.py", "m", False)]
        options = FixOptions(target_version=(3, 12))
        return FixRun(modules, AnalysisOptions(target_version=(3, 12)), options, {"m.py": _RUN}.get)

    run = fix_run()
    [finding] = run.analyse([extract(_RUN, "m.py", "m", False)])
    result = run.run([finding], unsafe=True, select=lambda f: False)
    assert asked == []  # before: proposed (and parsed) for every finding
    assert [f.fix for f in result.remaining] == [None]
    fix_run().run([finding], unsafe=True)
    assert asked == [8]
