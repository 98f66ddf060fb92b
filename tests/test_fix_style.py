"""Fixes that pass the project's other checks: the unsafe forkserver fix keeps type
annotations valid (mypy) and wraps what it lengthens at the project's line length as
the formatter would (`ruff format --check` passes on the fixed file)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fork_lint.config import ConfigError, Overrides, load_settings
from fork_lint.formatting import formatter_line_length
from tests.integration_project import run_cli

BIN = Path(sys.executable).parent

APP = """\
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor


def work(n: int) -> None:
    print(n)


def setup() -> None:
    print("worker")


def make(n: int) -> multiprocessing.Process:
    return multiprocessing.Process(target=work, args=(n, n + 1))


def made_later(n: int) -> "multiprocessing.Process":
    proc = multiprocessing.Process(target=work, args=(n,))
    return proc


class Runner:
    proc: multiprocessing.Process | None = None

    def start(self, n: int) -> None:
        self.proc = multiprocessing.Process(target=work, args=(n,))
        self.proc.start()


def pool(n: int) -> None:
    with ProcessPoolExecutor(max_workers=n, initializer=setup) as ex:
        ex.submit(work, n)


def main() -> None:
    threading.Thread(target=work, args=(0,)).start()
    p: multiprocessing.Process = multiprocessing.Process(target=work)
    p.start()
    make(2).start()
    made_later(2).start()
    Runner().start(3)
    pool(4)
"""


def _tool(name: str) -> list[str]:
    if (BIN / name).exists():
        return [str(BIN / name)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (the test extra has it)")
    return [found]


def _run(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)


def _project(root: Path, config: str) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nrequires-python = ">=3.10"\n\n{config}', encoding="utf-8"
    )
    (root / "app.py").write_text(APP, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "config",
    ["[tool.ruff]\nline-length = 72\n", "[tool.black]\nline-length = 72\n"],
    ids=["ruff", "black"],
)
def test_forkserver_fix_keeps_the_project_typed_and_formatted(tmp_path: Path, config: str) -> None:
    project = _project(tmp_path / "p", config)
    ruff, mypy = _tool("ruff"), [sys.executable, "-m", "mypy"]
    formatted = ["format", "--check", "--line-length", "72", "app.py"]
    typed = ["--strict", "--no-incremental", "--python-version", "3.10", "app.py"]
    assert _run(project, *ruff, *formatted).returncode == 0  # the fixture itself is clean
    assert _run(project, *mypy, *typed).returncode == 0

    proc = run_cli(project, "check", "--fix", "--unsafe-fixes", "--no-cache", "-q")
    assert proc.returncode == 0, proc.stdout  # every finding fixed
    fixed = (project / "app.py").read_text(encoding="utf-8")
    assert fixed.count('get_context("forkserver")') == 5
    assert "-> multiprocessing.process.BaseProcess:" in fixed
    assert '-> "multiprocessing.process.BaseProcess":' in fixed
    assert max(len(line) for line in fixed.splitlines()) <= 72

    check = _run(project, *ruff, *formatted)
    assert check.returncode == 0, _run(project, *ruff, "format", "--diff", "app.py").stdout
    types = _run(project, *mypy, *typed)
    assert types.returncode == 0, types.stdout
    again = run_cli(project, "check", "--fix", "--unsafe-fixes", "--no-cache")
    assert again.returncode == 0, again.stdout
    assert (project / "app.py").read_text(encoding="utf-8") == fixed


def test_the_annotations_of_the_attribute_or_name_assigned_are_widened() -> None:
    """Unit level: every declaration of the attribute or name assigned is widened."""
    from fork_lint.fixes._annotations import widened_annotations
    from fork_lint.fixes._cst import parse_file

    text = """\
import multiprocessing as mp
from multiprocessing import Process


class Runner:
    proc: mp.Process | None = None

    def __init__(self) -> None:
        self.proc: "Process | None" = None
        self.other: mp.Process | None = None

    def start(self) -> None:
        self.proc = mp.Process(target=print)


def local() -> None:
    p: list[int]
    q: Process
    q = Process(target=print)
"""
    pf = parse_file(text)
    lines = text.splitlines()
    calls = [
        pf.call_at(n, line.index("= ") + 2)
        for n, line in enumerate(lines, 1)
        if line.endswith("Process(target=print)")
    ]
    widened = []
    for call in calls:
        assert call is not None
        for new in widened_annotations(pf, call, "mp").values():
            widened.append(pf.module.code_for_node(new))
    # The class body's and __init__'s declarations of `proc`, and `q`'s (not `other`'s,
    # nor `p`'s); `Process` imported by name is recognised too.
    assert sorted(widened) == [
        '"mp.process.BaseProcess | None"',
        "mp.process.BaseProcess",
        "mp.process.BaseProcess | None",
    ]


def test_a_line_that_fits_or_has_a_comment_is_not_wrapped(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "")
    source = APP.replace(
        "    return multiprocessing.Process(target=work, args=(n, n + 1))",
        "    return multiprocessing.Process("
        "target=work, args=(n, n + 1, n + 2, n + 3, n + 4, n + 5))  # many",
    )
    (project / "app.py").write_text(source, encoding="utf-8")
    run_cli(project, "check", "--fix", "--unsafe-fixes", "--no-cache")
    fixed = (project / "app.py").read_text(encoding="utf-8")
    # 88 columns by default: the other fixed lines fit and stay on one line.
    assert (
        '    proc = multiprocessing.get_context("forkserver").Process(target=work, args=(n,))\n'
        in (fixed)
    )
    # After the call, a comment: the formatters move comments their own way.
    assert (
        '    return multiprocessing.get_context("forkserver").Process(target=work, '
        "args=(n, n + 1, n + 2, n + 3, n + 4, n + 5))  # many\n"
    ) in fixed


def test_line_length_comes_from_fork_lint_then_ruff_then_black(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    assert formatter_line_length(None, root) == (88, "default")
    black = {"tool": {"black": {"line-length": 79}}}
    assert formatter_line_length(black, root)[0] == 79
    both = {"tool": {"black": {"line-length": 79}, "ruff": {"line-length": 100}}}
    assert formatter_line_length(both, root)[0] == 100
    # ruff configured without a length: its default, not black's.
    assert (
        formatter_line_length({"tool": {"black": {"line-length": 79}, "ruff": {}}}, root)[0] == 88
    )
    (root / "ruff.toml").write_text("line-length = 120\n", encoding="utf-8")
    assert formatter_line_length(both, root) == (120, "ruff.toml line-length")
    (root / ".ruff.toml").write_text("line-length = 60\n", encoding="utf-8")
    assert formatter_line_length(both, root)[0] == 60

    project = tmp_path / "own"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[tool.ruff]\nline-length = 100\n\n[tool.fork-lint]\nline-length = 70\n", encoding="utf-8"
    )
    settings = load_settings([project], Overrides())
    assert (settings.line_length, settings.line_length_source) == (70, "line-length")
    (project / "pyproject.toml").write_text("[tool.fork-lint]\nline-length = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line-length"):
        load_settings([project], Overrides())
