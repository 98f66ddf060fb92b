"""`# noqa: FRK...` comments and ruff: with the documented `lint.external = ["FRK"]` they
survive `ruff check --fix`; without it ruff deletes them and the finding comes back."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration_project import run_cli, write

RUFF = shutil.which("ruff")
pytestmark = pytest.mark.skipif(RUFF is None, reason="ruff is not installed")
DOCS = Path(__file__).parent.parent / "docs" / "integrations.md"

SOURCE = """\
import os
import threading


def main():
    threading.Thread(target=print).start()
    pid = os.fork()  # noqa: FRK001
    return pid
"""


def documented_ruff_config() -> str:
    (block,) = re.findall(r"^```toml\n(.*?)^```$", DOCS.read_text(encoding="utf-8"), re.M | re.S)
    assert block.startswith("[tool.ruff.lint]\n")
    return block


def project(root: Path, ruff_config: str) -> Path:
    # RUF100 (unused noqa) and RUF102 (invalid noqa code) are what remove foreign codes.
    pyproject = '[project]\nname = "p"\n\n' + ruff_config + 'select = ["RUF100", "RUF102"]\n'
    write(root, {"pyproject.toml": pyproject, "p/__init__.py": "", "p/main.py": SOURCE})
    return root


def ruff_fix(root: Path) -> subprocess.CompletedProcess[str]:
    assert RUFF is not None
    return subprocess.run(
        [RUFF, "check", "--fix", "--preview", "--no-cache", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def test_fork_lint_honours_the_noqa_comment(tmp_path: Path) -> None:
    root = project(tmp_path / "p", "[tool.ruff.lint]\n")
    assert run_cli(root, ".").returncode == 0
    main = root / "p" / "main.py"
    main.write_text(SOURCE.replace("  # noqa: FRK001", ""), encoding="utf-8")
    assert run_cli(root, ".").returncode == 1


def test_noqa_survives_ruff_with_external(tmp_path: Path) -> None:
    root = project(tmp_path / "p", documented_ruff_config())
    proc = ruff_fix(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (root / "p" / "main.py").read_text(encoding="utf-8") == SOURCE
    assert run_cli(root, ".").returncode == 0


def test_without_external_ruff_removes_the_noqa(tmp_path: Path) -> None:
    root = project(tmp_path / "p", "[tool.ruff.lint]\n")
    ruff_fix(root)
    text = (root / "p" / "main.py").read_text(encoding="utf-8")
    assert "noqa" not in text
    proc = run_cli(root, "--output-format", "concise", ".")
    assert proc.returncode == 1
    assert "p/main.py:7:11: FRK001" in proc.stdout
