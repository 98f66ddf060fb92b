"""The fix machinery: the safety gate, the command line, and how files are written."""

from __future__ import annotations

import itertools
import json
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fork_lint import interrupts
from fork_lint.cli import main
from fork_lint.config import ConfigError, Overrides, load_settings
from fork_lint.fixes import (
    FIXERS,
    FixContext,
    FixOptions,
    NoFix,
    Proposal,
    apply_edits,
    edits_between,
    offset_of,
    position,
)
from fork_lint.fixes.apply import DiskSources, FixResult, FixRun, fix_sources
from fork_lint.fixes.stage import _write
from fork_lint.index import source as source_module
from fork_lint.model import Applicability, Finding

THREADED = """\
import os
import subprocess
import threading


def run(cmd):
    threading.Thread(target=print).start()
    subprocess.Popen(cmd, preexec_fn=os.setsid, cwd=os.getcwd())
"""
FIXED = THREADED.replace("preexec_fn=os.setsid", "start_new_session=True")
# One finding with a safe fix, one with an unsafe fix, one with none.
MIXED = """\
import os
import subprocess
import threading


def task():
    pass


def unfixable(cmd):
    threading.Thread(target=print).start()
    subprocess.Popen(cmd, preexec_fn=lambda: os.nice(5))


def run(cmd):
    threading.Thread(target=print).start()
    subprocess.Popen(cmd, preexec_fn=os.setsid)
    pid = os.fork()
    if pid == 0:
        os.execv(cmd[0], cmd)
    return pid
"""


# ---------------------------------------------------------------------------- the gate


def _swap_fixer(monkeypatch: pytest.MonkeyPatch, code: str, make_text: object) -> None:
    """Replace the fixers of a rule by one that proposes `make_text(old_text)`."""

    def fixer(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
        text = ctx.source(finding.path) or ""
        new = make_text(text)  # type: ignore[operator]
        if new == text:
            return None
        return Proposal("test fix", Applicability.SAFE, {finding.path: new})

    monkeypatch.setitem(FIXERS, code, (fixer,))


def test_a_fix_that_breaks_the_syntax_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    _swap_fixer(monkeypatch, "FRK004", lambda t: t.replace("preexec_fn=os.setsid", "preexec_fn="))
    result = fix_sources({"m.py": THREADED})
    assert result.changed == {}
    [dropped] = result.dropped
    # The parser's wording differs between Python versions; the position does not.
    assert dropped.reason.startswith("the fixed m.py does not compile: ")
    assert dropped.reason.endswith("(m.py, line 8)")
    assert [f.code for f in result.remaining] == ["FRK004"]
    assert result.remaining[0].fix is None  # the reason is the dropped fix's, not a help line


def test_a_fix_that_leaves_the_finding_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    _swap_fixer(monkeypatch, "FRK004", lambda t: t.replace("(cmd, ", "(cmd,  "))
    result = fix_sources({"m.py": THREADED})
    assert result.changed == {}
    assert result.dropped[0].reason == "FRK004 is still reported in `m.run` after the fix"


def test_a_fix_that_adds_a_finding_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    _swap_fixer(
        monkeypatch,
        "FRK004",
        lambda t: t.replace("os.getcwd())", "os.getcwd())\n    os.fork()").replace(
            "preexec_fn=os.setsid", "start_new_session=True"
        ),
    )
    result = fix_sources({"m.py": THREADED})
    assert result.changed == {}
    assert result.dropped[0].reason == "the fix introduces FRK001 (`os.fork`) in `m.run`"


def test_a_fix_that_is_not_idempotent_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Removes the finding, but proposes to add another comment every time it runs.
    _swap_fixer(
        monkeypatch,
        "FRK004",
        lambda t: t.replace("preexec_fn=os.setsid", "start_new_session=True") + "# again\n",
    )
    result = fix_sources({"m.py": THREADED})
    assert result.changed == {}
    assert result.dropped[0].reason == (
        "applying the fix again would change the code again (not idempotent)"
    )


def test_one_bad_fix_does_not_hold_back_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"a.py": THREADED, "b.py": THREADED.replace("def run", "def other")}

    def fixer(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
        text = ctx.source(finding.path) or ""
        broken = "start_new_session=True" if finding.path == "a.py" else "preexec_fn="
        return Proposal(
            "test", Applicability.SAFE, {finding.path: text.replace("preexec_fn=os.setsid", broken)}
        )

    monkeypatch.setitem(FIXERS, "FRK004", (fixer,))
    result = fix_sources(files)
    assert set(result.changed) == {"a.py"}
    assert [d.finding.path for d in result.dropped] == ["b.py"]
    assert [f.path for f in result.fixed] == ["a.py"]


def test_fixes_that_keep_each_others_import_leave_none_unused() -> None:
    """Two fixes each see the other still use `fork`; applied together, the import goes."""
    source = """\
import os
import threading
from os import fork


def one(argv):
    if fork() == 0:
        os.execv(argv[0], argv)


def two(argv):
    if fork() == 0:
        os.execv(argv[0], argv)


def main():
    threading.Thread(target=print).start()
    one(["/bin/true"])
    two(["/bin/true"])
"""
    result = fix_sources({"m.py": source}, unsafe=True)
    assert len(result.fixed) == 2
    new = result.changed["m.py"][1]
    assert "from os import fork" not in new
    assert new.count("os.posix_spawn(argv[0], argv, os.environ)") == 2


def test_display_only_and_unsafe_fixes_are_not_applied_without_the_flag() -> None:
    result = fix_sources({"m.py": MIXED}, options=FixOptions(target_version=(3, 12)))
    assert [f.code for f in result.fixed] == ["FRK004"]
    codes = sorted((f.code, f.fix.applicability.value) for f in result.remaining if f.fix)
    assert codes == [("FRK001", "unsafe")]  # `os.nice` has no fix: no fix attached
    assert result.unsafe_hidden == 1
    # A fix the target version cannot take is only shown.
    setpgrp = MIXED.replace("lambda: os.nice(5)", "os.setpgrp")
    result = fix_sources({"m.py": setpgrp}, options=FixOptions(target_version=(3, 10)))
    codes = sorted((f.code, f.fix.applicability.value) for f in result.remaining if f.fix)
    assert ("FRK004", "display-only") in codes


def test_imports_a_fix_makes_unused_are_removed() -> None:
    source = THREADED.replace(", cwd=os.getcwd()", "")
    result = fix_sources({"m.py": source})
    assert result.changed["m.py"][1] == source.replace(
        "preexec_fn=os.setsid", "start_new_session=True"
    ).replace("import os\n", "")


# ---------------------------------------------------------------------------- command line


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fork-lint.toml").write_text('target-version = "py312"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FORK_LINT_OUTPUT_FORMAT", raising=False)
    return tmp_path


def test_check_marks_safe_fixes_and_counts_hidden_ones(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "m.py").write_text(MIXED)
    assert main(["--output-format", "concise", "."]) == 1
    out = capsys.readouterr().out
    assert "m.py:17:5: FRK004 [*]" in out
    assert "m.py:18:11: FRK001 `os.fork()`" in out
    assert "Found 3 errors." in out
    assert (
        "[*] 1 fixable with the `--fix` option "
        "(1 hidden fix can be enabled with the `--unsafe-fixes` option)." in out
    )
    assert (project / "m.py").read_text() == MIXED


def test_fix_writes_and_reports_what_remains(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "m.py").write_text(MIXED)
    assert main(["--fix", "--output-format", "concise", "."]) == 1
    out = capsys.readouterr().out
    assert "Found 3 errors (1 fixed, 2 remaining)." in out
    assert "start_new_session=True" in (project / "m.py").read_text()


def test_fix_exits_0_when_nothing_remains(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "m.py").write_text(THREADED)
    assert main(["--fix", "."]) == 0
    assert "Fixed 1 error." in capsys.readouterr().out
    assert (project / "m.py").read_text() == FIXED
    assert main(["."]) == 0  # and the next run finds nothing


def test_diff_prints_and_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "m.py").write_text(THREADED)
    assert main(["--diff", "."]) == 1
    captured = capsys.readouterr()
    assert captured.out == (
        "--- a/m.py\n+++ b/m.py\n@@ -5,4 +5,4 @@\n \n def run(cmd):\n"
        "     threading.Thread(target=print).start()\n"
        "-    subprocess.Popen(cmd, preexec_fn=os.setsid, cwd=os.getcwd())\n"
        "+    subprocess.Popen(cmd, start_new_session=True, cwd=os.getcwd())\n"
    )
    assert "Would fix 1 error." in captured.err
    assert (project / "m.py").read_text() == THREADED
    (project / "m.py").write_text(FIXED)
    assert main(["--diff", "."]) == 0
    assert capsys.readouterr().out == ""


def test_fix_only_does_not_report_the_rest(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "m.py").write_text(MIXED)
    assert main(["--fix-only", "."]) == 0
    out = capsys.readouterr().out
    assert out == "Fixed 1 error (1 additional fix available with `--unsafe-fixes`).\n"


def test_unsafe_fixes_apply_with_the_flag(project: Path) -> None:
    (project / "m.py").write_text(MIXED)
    assert main(["--fix", "--unsafe-fixes", "--quiet", "."]) == 1  # the lambda hook stays
    text = (project / "m.py").read_text()
    assert "start_new_session=True" in text
    assert "pid = os.posix_spawn(cmd[0], cmd, os.environ)" in text
    assert "os.fork()" not in text


def test_json_output_carries_the_fix(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "m.py").write_text(THREADED)
    main(["--output-format", "json", "."])
    [row] = json.loads(capsys.readouterr().out)
    assert row["fix"] == {
        "applicability": "safe",
        "message": "Replace `preexec_fn=os.setsid` with `start_new_session=True`",
        "edits": [
            {
                "filename": "m.py",
                "content": "start_new_session=True",
                "location": {"row": 8, "column": 27},
                "end_location": {"row": 8, "column": 47},
            }
        ],
    }


_ACCENTED = THREADED.replace(
    "(cmd, preexec_fn=os.setsid, cwd=os.getcwd())",
    '(cmd, env={"caf\xe9": "\xe9t\xe9"}, preexec_fn=os.setsid, cwd=os.getcwd())  # \xe7a',
)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("crlf.py", THREADED.replace("\n", "\r\n").encode()),
        ("bom.py", b"\xef\xbb\xbf" + THREADED.encode()),
        (
            "latin1.py",
            ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + THREADED).encode("latin-1"),
        ),
        ("no_newline.py", THREADED.rstrip("\n").encode()),
        # Non-ASCII characters before and after the edit, on the edited line.
        ("latin1_same_line.py", ("# -*- coding: latin-1 -*-\n" + _ACCENTED).encode("latin-1")),
        ("utf8_same_line.py", _ACCENTED.encode()),
        ("bom_cr.py", b"\xef\xbb\xbf" + _ACCENTED.replace("\n", "\r").encode()),
    ],
)
def test_fix_keeps_newlines_encoding_and_bom(project: Path, name: str, data: bytes) -> None:
    path = project / name
    path.write_bytes(data)
    assert main(["--fix", "--quiet", "."]) == 0
    assert path.read_bytes() == data.replace(b"preexec_fn=os.setsid", b"start_new_session=True")


def test_fix_keeps_lone_cr_newlines(project: Path) -> None:
    """libcst drops the final line break of a CR-only file; the fix keeps it."""
    path = project / "m.py"
    data = MIXED.replace("\n", "\r").encode()
    path.write_bytes(data)
    assert main(["--fix", "--unsafe-fixes", "--quiet", "."]) == 1  # the lambda hook stays
    new = path.read_bytes()
    assert new == data.replace(b"preexec_fn=os.setsid", b"start_new_session=True").replace(
        b"pid = os.fork()\r    if pid == 0:\r        os.execv(cmd[0], cmd)\r",
        b"pid = os.posix_spawn(cmd[0], cmd, os.environ)\r",
    )
    assert new.endswith(b"return pid\r")


def test_fix_keeps_trailing_whitespace_outside_the_edit(project: Path) -> None:
    # Trailing spaces and tabs everywhere, including on the edited line after the edit.
    data = (
        b"import os \nimport subprocess\t\nimport threading\n  \n\n"
        b"def run(cmd):   \n"
        b"    threading.Thread(target=print).start()\t \n"
        b"    subprocess.Popen(cmd, preexec_fn=os.setsid, cwd=os.getcwd())  \n"
        b"    return cmd \t\n"
    )
    path = project / "m.py"
    path.write_bytes(data)
    assert main(["--fix", "--quiet", "."]) == 0
    assert path.read_bytes() == data.replace(b"preexec_fn=os.setsid", b"start_new_session=True")


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o754, 0o440])
def test_fix_keeps_permissions(project: Path, mode: int) -> None:
    path = project / "m.py"
    path.write_text(THREADED)
    path.chmod(mode)
    assert main(["--fix", "--quiet", "."]) == 0
    assert path.read_text() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert [p.name for p in project.iterdir() if p.name.endswith(".fork-lint")] == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_fix_keeps_owner_and_group(project: Path) -> None:
    """A file of another user and group, read-only for the group, keeps all three."""
    path = project / "m.py"
    path.write_text(THREADED)
    os.chown(path, 4321, 8765)
    path.chmod(0o640)
    assert main(["--fix", "--quiet", "."]) == 0
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 8765, 0o640)
    assert path.read_text() == FIXED


def test_a_file_edited_during_the_fix_is_skipped_with_a_message(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """b.py is edited after the fixes were computed, before they are written."""
    (project / "a.py").write_text(THREADED)
    (project / "b.py").write_text(THREADED)
    edited = THREADED + "# edited meanwhile\n"
    run = FixRun.run

    def run_then_edit(self: FixRun, *args: Any, **kwargs: Any) -> FixResult:
        result = run(self, *args, **kwargs)
        (project / "b.py").write_text(edited)
        return result

    monkeypatch.setattr(FixRun, "run", run_then_edit)
    assert main(["--fix", "--no-cache", "--output-format", "concise", "."]) == 1
    out, err = capsys.readouterr()
    assert err == (
        "fork-lint: warning: b.py: fixes not written: it changed on disk since it was read\n"
    )
    assert (project / "a.py").read_text() == FIXED
    assert (project / "b.py").read_text() == edited
    # What is reported is what is on disk: b.py's finding, not a.py's.
    assert "b.py:8:5: FRK004 [*]" in out
    assert "Found 2 errors (1 fixed, 1 remaining)." in out
    assert "a.py" not in out


# ---------------------------------------------------------------------------- interruption


def _temps(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*.fork-lint")]


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    path = tmp_path / "m.py"
    path.write_text(THREADED)
    sources = DiskSources(tmp_path)
    sources.read("m.py")

    def interrupt(*args: object) -> None:
        assert _temps(tmp_path)  # the temporary file exists when it happens
        raise KeyboardInterrupt

    monkeypatch.setattr(f"fork_lint.fixes.apply.os.{where}", interrupt)
    with pytest.raises(KeyboardInterrupt):
        sources.write("m.py", FIXED)
    assert path.read_text() == THREADED
    assert _temps(tmp_path) == []
    assert sources.files["m.py"].text == THREADED  # still known as what is on disk


_needs_default_handlers = pytest.mark.skipif(
    sys.platform == "win32"
    or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL,
    reason="needs POSIX signals with Python's default handlers",
)


def _fix_of_a_and_b_then_c(tmp_path: Path) -> tuple[DiskSources, FixResult]:
    """Three files read from disk; one fix changes a.py and b.py, another c.py."""
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text("x = 1\n")
    sources = DiskSources(tmp_path)
    for name in ("a.py", "b.py", "c.py"):
        sources.read(name)
    finding = fix_sources({"m.py": THREADED}).fixed[0]
    result = FixResult(
        remaining=[],
        fixed=[finding, finding],
        dropped=[],
        changed=dict.fromkeys(("a.py", "b.py", "c.py"), ("x = 1\n", "x = 3\n")),
        touched=[(finding, frozenset({"a.py", "b.py"})), (finding, frozenset({"c.py"}))],
    )
    return sources, result


@_needs_default_handlers
@pytest.mark.parametrize(
    ("signum", "raised"),
    [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, interrupts.Terminated)],
)
def test_a_signal_during_a_fix_waits_until_its_files_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, raised: type[BaseException]
) -> None:
    """A signal while writing a fix of a.py and b.py stops the run after b.py, before c.py."""
    sources, result = _fix_of_a_and_b_then_c(tmp_path)
    replace = os.replace
    signalled: list[str] = []

    def replace_and_signal(src: str, dst: Path) -> None:
        if not signalled:
            signalled.append(dst.name)
            signal.raise_signal(signum)  # the handler runs before the next line
        replace(src, dst)

    monkeypatch.setattr("fork_lint.fixes.apply.os.replace", replace_and_signal)
    with interrupts.stoppable(), pytest.raises(raised):
        _write(result, sources)
    assert signalled == ["a.py"]
    assert (tmp_path / "a.py").read_text() == "x = 3\n"
    assert (tmp_path / "b.py").read_text() == "x = 3\n"
    assert (tmp_path / "c.py").read_text() == "x = 1\n"
    assert _temps(tmp_path) == []
    # Outside `stoppable` the handlers are Python's again.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


class _FailingCleanUp:
    """Clean-up that raises while an exception unwinds the stack, as libcst's can."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        raise KeyError("clean-up failed")


@pytest.mark.parametrize("clean_up_fails", [False, True])
@pytest.mark.parametrize(
    ("raised", "code", "message"),
    [
        (KeyboardInterrupt, 130, "fork-lint: interrupted\n"),
        (interrupts.Terminated, 143, "fork-lint: terminated\n"),
    ],
)
def test_exit_codes_when_stopped(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    raised: type[BaseException],
    code: int,
    message: str,
    clean_up_fails: bool,
) -> None:
    def stop(args: object) -> int:
        if clean_up_fails:
            with _FailingCleanUp():
                raise raised
        raise raised

    monkeypatch.setattr("fork_lint.cli_check.run_check", stop)
    assert main(["."]) == code
    assert capsys.readouterr().err == message


def test_an_interruption_is_not_an_frk999(monkeypatch: pytest.MonkeyPatch) -> None:
    """The extractor's crash handler lets an interruption through, even disguised."""

    def interrupted(*args: object) -> None:
        with _FailingCleanUp():
            raise KeyboardInterrupt

    monkeypatch.setattr(source_module, "extract", interrupted)
    with pytest.raises(KeyError) as excinfo:
        source_module.facts_from_bytes(b"x = 1\n", "m.py", "m", False)
    assert isinstance(excinfo.value.__context__, KeyboardInterrupt)


def test_a_file_changed_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(THREADED)
    sources = DiskSources(tmp_path)
    assert sources.read("m.py") == THREADED
    path.write_text(THREADED + "# edited meanwhile\n")
    assert sources.stale("m.py")
    assert sources.write("m.py", FIXED) == "it changed on disk since it was read"
    assert path.read_text() == THREADED + "# edited meanwhile\n"


def test_a_file_changed_while_being_written_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked again just before the rename: an edit made while the new content was
    being written and flushed is kept."""
    path = tmp_path / "m.py"
    path.write_text(THREADED)
    sources = DiskSources(tmp_path)
    sources.read("m.py")
    fsync = os.fsync

    def fsync_while_edited(fd: int) -> None:
        fsync(fd)
        path.write_text(THREADED + "# edited meanwhile\n")

    monkeypatch.setattr("fork_lint.fixes.apply.os.fsync", fsync_while_edited)
    assert sources.write("m.py", FIXED) == "it changed on disk since it was read"
    assert path.read_text() == THREADED + "# edited meanwhile\n"
    assert _temps(tmp_path) == []


def test_a_multi_file_fix_is_not_half_written(tmp_path: Path) -> None:
    sources, result = _fix_of_a_and_b_then_c(tmp_path)
    (tmp_path / "b.py").write_text("x = 2\n")  # edited after the read
    written, problems = _write(result, sources)
    assert written == {"c.py"}
    assert (tmp_path / "a.py").read_text() == "x = 1\n"
    assert (tmp_path / "c.py").read_text() == "x = 3\n"
    assert sorted(p for p, _ in problems) == ["a.py", "b.py"]


# ---------------------------------------------------------------------------- configuration


def _settings(tmp_path: Path, body: str) -> FixOptions:
    (tmp_path / "pyproject.toml").write_text(body)
    s = load_settings([tmp_path], Overrides())
    return FixOptions(s.target_version, s.fix_start_method, s.fix_launch)


def test_fix_configuration(tmp_path: Path) -> None:
    opts = _settings(
        tmp_path,
        """
[tool.fork-lint.fix]
start-method = "spawn"

[tool.fork-lint.fix.launch]
entry-module = "tasks.run_one"
json-option = "--spec"
serialize-expression = "{workload}.to_json()"
target-methods = ["_supervise", "_run"]
workload-parameter = "spec"
popen-arguments = ["start_new_session=True", "env=dict(os.environ)"]
""",
    )
    assert opts.start_method == "spawn"
    assert opts.launch.entry_module == "tasks.run_one"
    assert opts.launch.json_option == "--spec"
    assert opts.launch.serialize_expression == "{workload}.to_json()"
    assert opts.launch.target_methods == ("_supervise", "_run")
    assert opts.launch.workload_parameter == "spec"
    assert opts.launch.popen_arguments == ("start_new_session=True", "env=dict(os.environ)")


def test_fix_defaults_are_airflows(tmp_path: Path) -> None:
    opts = _settings(tmp_path, "[tool.fork-lint]\n")
    assert opts.start_method == "forkserver"
    assert opts.launch.entry_module == "airflow.sdk.execution_time.execute_workload"
    assert opts.launch.target_methods == ("_run_job_via_supervisor",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool.fork-lint.fix]\nstart-methd = 'spawn'", "fix.start-methd: unknown key"),
        ("[tool.fork-lint.fix]\nstart-method = 'fork'", "expected 'forkserver' or 'spawn'"),
        ("[tool.fork-lint.fix]\nlaunch = 1", "fix.launch: expected a table, got an integer"),
        ("[tool.fork-lint.fix.launch]\nentry = 'x'", "fix.launch.entry: unknown key"),
        ("[tool.fork-lint.fix.launch]\nentry-module = 'a b'", "is not a dotted module name"),
        (
            "[tool.fork-lint.fix.launch]\nserialize-expression = 'x.json()'",
            "must contain '{workload}'",
        ),
        (
            "[tool.fork-lint.fix.launch]\nserialize-expression = '{workload}.('",
            "not a Python expression",
        ),
        ("[tool.fork-lint.fix.launch]\ntarget-methods = ['a.b']", "'a.b' is not a method name"),
        (
            "[tool.fork-lint.fix.launch]\npopen-arguments = ['True']",
            "'True' is not of the form 'name=expression'",
        ),
    ],
)
def test_fix_configuration_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"pyproject\.toml") as excinfo:
        _settings(tmp_path, body)
    assert message in str(excinfo.value)


# ---------------------------------------------------------------------------- edits


_TEXT = st.lists(
    st.sampled_from(["a", "b", " ", "\n", "\r\n", "é", "x = 1\n", "#c\r"]), max_size=30
).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(_TEXT, _TEXT)
def test_edits_between_rebuild_the_new_text(old: str, new: str) -> None:
    edits = edits_between(old, new)
    assert apply_edits(old, edits) == new
    spans = sorted((e.begin, e.end) for e in edits)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


@settings(max_examples=200, deadline=None, database=None)
@given(_TEXT, st.integers(min_value=0, max_value=40))
def test_position_and_offset_agree(text: str, offset: int) -> None:
    offset = min(offset, len(text))
    line, col = position(text, offset)
    if "\r" not in text[max(offset - 1, 0) : offset + 1]:
        assert offset_of(text, line, col) == offset


def test_lacks_searches_each_file_once_for_every_expected_word(tmp_path: Path) -> None:
    """Reusing cached fix proposals asks several words of every file; with the words
    announced, each file is read once, and the answers are those of one-by-one."""
    (tmp_path / "a.py").write_text("Process = 1\n_launch_job = 2\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("x = 1\n", encoding="utf-8")
    words = ["Process", "_launch_job", "missing"]
    one_by_one = {
        (p, w): DiskSources(tmp_path).lacks(p, w) for p in ("a.py", "b.py") for w in words
    }
    sources = DiskSources(tmp_path)
    sources.expect(words)
    first = {p: sources.lacks(p, "Process") for p in ("a.py", "b.py")}
    (tmp_path / "a.py").unlink()  # answered from the one read above, not from the disk
    (tmp_path / "b.py").unlink()
    batched = {(p, w): sources.lacks(p, w) for p in ("a.py", "b.py") for w in words}
    assert batched == one_by_one
    assert first == {"a.py": False, "b.py": True}
    assert not sources.lacks("a.py", "other")  # not expected: read again, and now missing


def test_lacks_answers_carry_over_to_a_later_run_by_content(tmp_path: Path) -> None:
    """What one run's `lacks` found is kept by content hash (`FactsCache.store_words`);
    a later run seeded with it reads no file whose content is unchanged."""
    import hashlib

    (tmp_path / "a.py").write_text("Process = 1\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("x = 1\n", encoding="utf-8")
    first = DiskSources(tmp_path)
    first.expect(["Process", "_launch_job"])
    answers = {p: first.lacks(p, "Process") for p in ("a.py", "b.py")}
    found = first.searched()
    digest = {p: hashlib.sha256((tmp_path / p).read_bytes()).digest() for p in ("a.py", "b.py")}
    assert set(found) == set(digest.values())
    later = DiskSources(tmp_path)
    later.seed({p: found[d] for p, d in digest.items()})
    later.seed({"c.py": ("not", "an entry")})  # type: ignore[dict-item]
    (tmp_path / "a.py").unlink()
    (tmp_path / "b.py").unlink()
    assert {p: later.lacks(p, "Process") for p in ("a.py", "b.py")} == answers
    assert later.lacks("b.py", "_launch_job")
    assert later.searched() == {}  # nothing read: nothing new to store
    assert not later.lacks("c.py", "Process")  # the malformed seed was ignored


def test_lacks_answers_from_bytes_only_when_the_encoding_allows(tmp_path: Path) -> None:
    """`DiskSources.lacks` may say "absent" only when the text certainly lacks the word."""
    (tmp_path / "plain.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "has.py").write_text("_launch_job()\n", encoding="utf-8")
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n")
    # In Shift JIS the second byte of a character may be any ASCII letter: the
    # bytes alone can neither prove nor disprove a word.
    (tmp_path / "sjis.py").write_bytes("# coding: shift_jis\ns = 'ソ'\n".encode("shift_jis"))
    sources = DiskSources(tmp_path)
    assert sources.lacks("plain.py", "_launch_job")
    assert not sources.lacks("has.py", "_launch_job")
    assert sources.lacks("latin.py", "_launch_job")
    assert not sources.lacks("sjis.py", "_launch_job")
    assert not sources.lacks("missing.py", "_launch_job")
    assert not sources.lacks("plain.py", "données")  # not ASCII: decode to know
    sources.read("plain.py")
    # The same answer once read: what a fix proposal asked is recorded and asked
    # again later (`fixes.proposals`), so it must not depend on what was read before.
    assert sources.lacks("plain.py", "_launch_job")
