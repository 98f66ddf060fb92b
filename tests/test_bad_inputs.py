"""Bad input gets one clear diagnostic and the rest of the project is still analysed.

Every case is written at test time next to ``good.py``, a file with a real
FRK001 finding: each test asserts the exact diagnostic for the bad file *and*
that ``good.py`` was still analysed (its FRK001 is reported).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from fork_lint import project
from fork_lint.cli import main
from fork_lint.index import source

GOOD = "import os, threading\nthreading.Thread(target=print).start()\nos.fork()\n"


def run(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[tuple[str, str, int, int, str]], str]:
    """Run the CLI with JSON output: (exit code, [(file, code, line, col, message)], stderr)."""
    code = main(["check", "--no-cache", "-j", "1", "--output-format", "json", *args])
    out = capsys.readouterr()
    rows = [
        (
            Path(f["filename"]).name,
            f["code"],
            f["location"]["row"],
            f["location"]["column"],
            f["message"],
        )
        for f in json.loads(out.out)
    ]
    return code, sorted(rows), out.err


def project_with(tmp_path: Path, name: str, data: bytes) -> Path:
    root = tmp_path / "proj"
    root.mkdir(exist_ok=True)
    (root / "good.py").write_text(GOOD)
    (root / name).write_bytes(data)
    return root


def good_analysed(rows: list[tuple[str, str, int, int, str]]) -> bool:
    return any(r[0] == "good.py" and r[1] == "FRK001" and r[2] == 3 for r in rows)


# (file content, expected (code, row, column, message)); columns are 1-based as in JSON.
_UNPARSABLE = {
    "syntax_error": (b"def f(:\n    pass\n", ("FRK900", 1, 7, "SyntaxError: invalid syntax")),
    "python2": (
        b'print "hello"\n',
        (
            "FRK900",
            1,
            1,
            "SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?",
        ),
    ),
    "merge_conflict": (
        b"x = 1\n<<<<<<< HEAD\ny = 2\n=======\ny = 3\n>>>>>>> branch\n",
        ("FRK900", 2, 1, "SyntaxError: invalid syntax"),
    ),
    "truncated": (
        b"def f():\n    return (1,\n",
        ("FRK900", 2, 12, "SyntaxError: '(' was never closed"),
    ),
    "nul_byte": (
        b"x = 1\x00\n",
        ("FRK900", 1, 1, "SyntaxError: source code string cannot contain null bytes"),
    ),
    "invalid_utf8": (
        b's = "\xff\xfe"\n',
        ("FRK900", 1, 1, "cannot decode file: invalid or missing encoding declaration"),
    ),
    "unknown_cookie": (
        b"# coding: bogus-enc\nx = 1\n",
        ("FRK900", 1, 1, "cannot decode file: unknown encoding: bogus-enc"),
    ),
    "deep_parens": (
        b"x = " + b"(" * 300 + b"1" + b")" * 300 + b"\n",
        ("FRK900", 1, 205, "SyntaxError: too many nested parentheses"),
    ),
    "long_chain": (
        b"x = " + b"+".join([b"1"] * 20_000) + b"\n",
        # 3.10's parser accepts the chain and fork-lint's own walk gives up on it;
        # later parsers give up first. Either way: one diagnostic, the rest analysed.
        (
            "FRK900",
            1,
            1,
            "cannot analyse: nesting too deep"
            if sys.version_info < (3, 11)
            else "cannot parse: nesting too deep for the parser",
        ),
    ),
}

if sys.version_info < (3, 12):  # PEP 695 is newer than the parser of the running Python
    _UNPARSABLE["newer_syntax"] = (
        b"type X = int\n",
        ("FRK900", 1, 6, "SyntaxError: invalid syntax"),
    )
if sys.version_info >= (3, 12):  # 3.10/3.11 say "invalid syntax" at another column
    _UNPARSABLE["python2_except"] = (
        b"try:\n    pass\nexcept ValueError, e:\n    pass\n",
        ("FRK900", 3, 8, "SyntaxError: multiple exception types must be parenthesized"),
    )


@pytest.mark.parametrize("case", sorted(_UNPARSABLE))
def test_unparsable_file_is_one_diagnostic(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, (code, row, col, message) = _UNPARSABLE[case]
    root = project_with(tmp_path, "bad.py", data)
    status, rows, err = run(capsys, str(root))
    assert [r for r in rows if r[0] == "bad.py"] == [("bad.py", code, row, col, message)]
    assert good_analysed(rows)
    assert status == 1
    assert err == ""


def test_strict_makes_unparsable_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "bad.py", b"def f(:\n")
    status, rows, _ = run(capsys, "--strict", str(root))
    assert status == 2
    assert good_analysed(rows)  # still reported in full
    (root / "bad.py").write_text("x = 1\n")
    status, _, _ = run(capsys, "--strict", str(root))
    assert status == 1  # only ordinary findings: --strict changes nothing


# Files that are valid Python in unusual encodings or layouts: analysed normally.
_ANALYSABLE = {
    "bom": b"\xef\xbb\xbfimport os, threading\nthreading.Thread().start()\nos.fork()\n",
    "latin1_cookie": (
        b"# -*- coding: latin-1 -*-\nimport os, threading\n"
        b's = "caf\xe9"\nthreading.Thread().start()\nos.fork()\n'
    ),
    "crlf": b"import os, threading\r\n\r\nthreading.Thread().start()\r\nos.fork()\r\n",
    "cr_only": b"import os, threading\r\rthreading.Thread().start()\ros.fork()\r",
    "form_feed_tabs": (
        b"import os, threading\n\x0c\ndef f():\n\tthreading.Thread().start()\n\tos.fork()\nf()\n"
    ),
}
_ANALYSABLE_LINE = {
    "bom": 3,
    "latin1_cookie": 5,
    "crlf": 4,
    "cr_only": 4,
    "form_feed_tabs": 5,
}


@pytest.mark.parametrize("case", sorted(_ANALYSABLE))
def test_unusual_encodings_and_layouts_are_analysed(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "odd.py", _ANALYSABLE[case])
    status, rows, err = run(capsys, str(root))
    odd = [r[:3] for r in rows if r[0] == "odd.py"]
    assert odd == [("odd.py", "FRK001", _ANALYSABLE_LINE[case])]
    assert good_analysed(rows)
    assert status == 1
    assert err == ""


def test_broken_and_looping_symlinks_are_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "plain.py", b"x = 1\n")
    (root / "broken.py").symlink_to("nowhere.py")
    (root / "loop1.py").symlink_to("loop2.py")
    (root / "loop2.py").symlink_to("loop1.py")
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to("..")  # a directory cycle
    status, rows, err = run(capsys, str(root))
    assert [r[:2] for r in rows] == [("good.py", "FRK001")]
    assert status == 1
    lines = sorted(err.splitlines())
    assert lines[0].endswith("proj/broken.py: broken symbolic link")
    assert "loop1.py: cannot follow symbolic link" in lines[1]
    assert "loop2.py: cannot follow symbolic link" in lines[2]
    assert len(lines) == 3


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--no-cache", str(tmp_path / "missing.py")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"fork-lint: error: {tmp_path / 'missing.py'}: no such file or directory\n"


def test_non_python_file_passed_explicitly_is_analysed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "notes.txt", b"x = (\n")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    status, rows, _ = run(capsys, str(root / "notes.txt"), str(root / "image.png"), str(root))
    assert ("notes.txt", "FRK900", 1, 5, "SyntaxError: '(' was never closed") in rows
    png = [r for r in rows if r[0] == "image.png"]
    assert len(png) == 1 and png[0][1] == "FRK900" and png[0][4].startswith("cannot decode")
    assert good_analysed(rows)
    assert status == 1


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads all")
def test_unreadable_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project_with(tmp_path, "secret.py", b"x = 1\n")
    (root / "locked").mkdir()
    (root / "locked" / "inner.py").write_text("x = 1\n")
    (root / "secret.py").chmod(0)
    (root / "locked").chmod(0)
    try:
        status, rows, err = run(capsys, str(root))
    finally:
        (root / "secret.py").chmod(0o644)
        (root / "locked").chmod(0o755)
    assert ("secret.py", "FRK900", 1, 1, "cannot read file: Permission denied") in rows
    assert "locked" in err and "ermission denied" in err
    assert good_analysed(rows)
    assert status == 1


def test_unreadable_file_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root nothing is unreadable: make `open` and `os.open` refuse one file instead."""
    root = project_with(tmp_path, "secret.py", b"x = 1\n")
    real_open, real_os_open = open, os.open

    def refusing_open(file: object, *args: object, **kwargs: object) -> object:
        if str(file).endswith("secret.py"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    def refusing_os_open(file: object, *args: object, **kwargs: object) -> int:
        if str(file).endswith("secret.py"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_os_open(file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("builtins.open", refusing_open)
    monkeypatch.setattr("os.open", refusing_os_open)
    status, rows, _ = run(capsys, str(root))
    assert ("secret.py", "FRK900", 1, 1, "cannot read file: Permission denied") in rows
    assert good_analysed(rows)
    assert status == 1


def test_file_deleted_during_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that vanishes between discovery and reading is reported, not a crash."""
    root = project_with(tmp_path, "gone.py", b"x = 1\n")
    real_index = project.index_project

    def deleting_index(files: list[Path], *args: object, **kwargs: object) -> object:
        (root / "gone.py").unlink()
        return real_index(files, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(project, "index_project", deleting_index)
    status, rows, _ = run(capsys, str(root))
    assert ("gone.py", "FRK900", 1, 1, "cannot read file: No such file or directory") in rows
    assert good_analysed(rows)
    assert status == 1


def test_internal_error_is_frk999_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_with(tmp_path, "boom.py", b"x = 1\n")
    real_extract = source.extract

    def exploding_extract(source: str, path: str, module: str, is_package: bool) -> object:
        if path.endswith("boom.py"):
            raise KeyError("simulated bug")
        return real_extract(source, path, module, is_package)

    monkeypatch.setattr(source, "extract", exploding_extract)
    status, rows, err = run(capsys, str(root))
    assert ("boom.py", "FRK999", 1, 1, "internal error: KeyError: 'simulated bug'") in rows
    assert good_analysed(rows)
    assert status == 1
    assert "Traceback" not in err
    status, _, err = run(capsys, "--verbose", str(root))
    assert "internal error in" in err and "boom.py" in err
    assert "Traceback (most recent call last)" in err and "KeyError: 'simulated bug'" in err
    status, _, _ = run(capsys, "--strict", str(root))
    assert status == 2


def _exploding_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    def solve(self: object) -> None:
        raise RuntimeError("simulated solver bug")

    monkeypatch.setattr("fork_lint.graph.solver.Program.solve", solve)


_SOLVER_ERROR = (
    "fork-lint: internal error in the whole-program analysis: RuntimeError: simulated solver bug\n"
)


def test_whole_program_crash_keeps_the_file_diagnostics_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_with(tmp_path, "bad.py", b"def f(:\n")
    (root / "quiet.py").write_bytes(b"def g(:  # noqa: FRK900\n")
    _exploding_solver(monkeypatch)
    status, rows, err = run(capsys, str(root))
    assert status == 2
    assert err == _SOLVER_ERROR
    # The files' own diagnostics, noqa included, but no finding of the failed analysis.
    assert rows == [("bad.py", "FRK900", 1, 7, "SyntaxError: invalid syntax")]
    status, _, err = run(capsys, "--verbose", str(root))
    assert status == 2
    assert "Traceback (most recent call last)" in err and "in solve" in err
    assert err.index("Traceback") < err.index(_SOLVER_ERROR)
    for flags in (["--exit-zero"], ["--fix"], ["--strict"]):
        status, rows, err = run(capsys, *flags, str(root))
        assert (status, err) == (2, _SOLVER_ERROR), flags
        assert [r[0] for r in rows] == ["bad.py"]
    assert (root / "good.py").read_text() == GOOD  # --fix wrote nothing


def test_whole_program_crash_in_the_concise_output_and_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_with(tmp_path, "bad.py", b"def f(:\n")
    _exploding_solver(monkeypatch)
    args = ["check", "--no-cache", "--output-format", "concise", str(root)]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert err == _SOLVER_ERROR
    assert out == (f"{root / 'bad.py'}:1:7: FRK900 SyntaxError: invalid syntax\nFound 1 error.\n")
    baseline = tmp_path / "baseline.json"
    assert main([*args, "--write-baseline", str(baseline)]) == 2
    assert capsys.readouterr().err == (
        _SOLVER_ERROR + f"fork-lint: error: {baseline} not written: the analysis failed\n"
    )
    assert not baseline.exists()


def test_unknown_noqa_code_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project_with(tmp_path, "n.py", b"import os\nos.fork()  # noqa: FRK01, E501\n")
    status, rows, err = run(capsys, str(root))
    assert err.endswith("n.py:2: unknown rule code 'FRK01' in noqa comment\n")
    assert err.count("warning") == 1  # E501 belongs to another tool: no warning
    assert good_analysed(rows)
    assert status == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.fork-lint\n", "invalid TOML"),
        ("[tool.fork-lint]\nbogus = 1\n", "[tool.fork-lint] bogus: unknown key"),
        (
            '[tool.fork-lint]\nselect = "FRK001"\n',
            "[tool.fork-lint] select: expected an array of strings, got a string",
        ),
        ('[tool.fork-lint]\nselect = ["FRK123"]\n', "select: unknown rule code 'FRK123'"),
        (
            '[tool.fork-lint]\nthread-sources = ["nocolon"]\n',
            "thread-sources: 'nocolon' is not of the form 'module:qualname'",
        ),
    ],
)
def test_bad_configuration_is_exit_2_naming_file_and_key(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "a.py", b"x = 1\n")
    (root / "pyproject.toml").write_text(text)
    code = main(["check", "--no-cache", str(root)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("fork-lint: error: ") and "pyproject.toml" in err
    assert message in err


def test_very_large_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """About 20 MB of source (mostly data and comments) is analysed, not rejected."""
    body = "DATA = '" + "x" * 10_000_000 + "'\n" + "# padding\n" * 1_000_000
    root = project_with(tmp_path, "big.py", body.encode())
    assert (root / "big.py").stat().st_size > 15_000_000
    status, rows, err = run(capsys, str(root))
    assert [r[0] for r in rows] == ["good.py"]
    assert status == 1 and err == ""


def test_deep_statement_nesting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nesting beyond the parser's limit is one FRK900, never a RecursionError crash."""
    depth = 120
    src = "".join("    " * i + "if x:\n" for i in range(depth)) + "    " * depth + "pass\n"
    root = project_with(tmp_path, "deep.py", src.encode())
    status, rows, _ = run(capsys, str(root))
    deep = [r for r in rows if r[0] == "deep.py"]
    assert [r[1:] for r in deep] == [
        ("FRK900", 101, 1, "SyntaxError: too many levels of indentation")
    ]
    assert good_analysed(rows)
    assert status == 1


def test_many_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory of tens of thousands of files is analysed in one run (each file once)."""
    root = project_with(tmp_path, "a.py", b"x = 1\n")
    many = root / "many"
    many.mkdir()
    for i in range(20_000):
        (many / f"m{i}.py").write_bytes(b"y = 1\n")
    code = main(["check", "--no-cache", "-j", "1", "--verbose", "-q", str(root)])
    err = capsys.readouterr().err
    assert code == 1
    assert "analysed 20002 files" in err


# A thread, then a `preexec_fn` launch (a fixable FRK004) after a deep expression.
_DEEP = """\
import os
import subprocess
import threading

a = None
X = {expr}


def main():
    threading.Thread(target=print).start()
    subprocess.Popen(["ls"], preexec_fn=os.setsid)
"""


@pytest.mark.parametrize(
    ("expr", "fixed"),
    [
        # parses, but nests deeper than marshal stores, and than libcst walks
        (" + ".join(["1"] * 1500), False),
        # parses, but nests deeper than the solver would recurse
        ("a" + ".b" * 1500, False),
        ("[" * 90 + "f(x)[0]" + "]" * 90, True),
    ],
    ids=["sum_of_1500_terms", "chain_of_1500_attributes", "nested_lists"],
)
def test_deep_expressions_are_analysed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], expr: str, fixed: bool
) -> None:
    """Deep expressions that `ast` still parses: the file is analysed (its finding is
    reported, without a fix when libcst cannot walk the file), and so is the rest."""
    root = project_with(tmp_path, "deep.py", _DEEP.format(expr=expr).encode())
    status, rows, err = run(capsys, str(root))
    assert [r[:3] for r in rows if r[0] == "deep.py"] == [("deep.py", "FRK004", 11)]
    assert good_analysed(rows)
    assert status == 1 and err == ""
    main(["check", "--no-cache", "-j", "1", "--fix", "--unsafe-fixes", str(root)])
    out = capsys.readouterr().out
    assert ("start_new_session=True" in (root / "deep.py").read_text()) is fixed
    # A finding whose file libcst cannot walk gets no fix, and no line saying so.
    assert "help:" not in out
