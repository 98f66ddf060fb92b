"""The README's example output is exactly what `fork-lint` prints for the example
project (`tests/fixtures/readme/`, copied out of this repository so that it is its
own project)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = re.compile(r"```console\n\$ fork-lint\n(?P<output>.*?)```\n", re.S)


def test_readme_example_is_what_fork_lint_prints(tmp_path: Path) -> None:
    match = EXAMPLE.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match is not None, "the README has no `$ fork-lint` example"
    project = tmp_path / "example"
    shutil.copytree(ROOT / "tests" / "fixtures" / "readme", project)
    proc = subprocess.run(
        [sys.executable, "-m", "fork_lint", "--no-cache"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == match.group("output")
