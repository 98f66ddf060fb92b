"""What the check core offers an editor: findings as soon as they are known, the
fixes of chosen findings only, and the changed texts instead of a diff."""

from __future__ import annotations

from pathlib import Path

from fork_lint.core import CheckRequest, FixMode, check
from fork_lint.model import Finding

LAUNCH = """\
import os
import subprocess
import threading


def run(cmd):
    return subprocess.Popen(cmd, preexec_fn=os.setsid)


def start():
    threading.Thread(target=run, args=(["true"],)).start()
"""


def _project(root: Path) -> Path:
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nrequires-python = ">=3.10"\n')
    (root / "a.py").write_text(LAUNCH)
    (root / "b.py").write_text(LAUNCH)
    return root


def test_fix_select_fixes_only_the_chosen_findings_and_changes_hold_the_texts(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    unsaved = LAUNCH.replace("def run(cmd):", "def run(cmd):  # not saved")
    result = check(
        CheckRequest(
            cwd=root,
            sources={"a.py": unsaved},
            fix=FixMode.DIFF,
            fix_select=lambda f: f.path == "a.py",
            no_cache=True,
        )
    )
    assert sorted(result.changes) == ["a.py"]
    before, after = result.changes["a.py"]
    assert before == unsaved
    assert after == unsaved.replace("preexec_fn=os.setsid", "start_new_session=True").replace(
        "import os\n", ""
    )
    assert [f.path for f in result.fixed] == ["a.py"]
    assert [f.path for f in result.findings] == ["b.py"]  # left as it was
    assert (root / "a.py").read_text() == LAUNCH  # DIFF writes nothing
    everything = check(CheckRequest(cwd=root, fix=FixMode.DIFF, no_cache=True))
    assert sorted(everything.changes) == ["a.py", "b.py"]


def test_reported_sees_the_findings_before_their_fixes_are_proposed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    seen: list[list[Finding]] = []
    result = check(CheckRequest(cwd=root, reported=seen.append, no_cache=True))
    [early] = seen
    assert [f.path for f in early] == ["a.py", "b.py"]
    assert all(f.fix is None for f in early)
    assert all(f.fix is not None for f in result.findings)
    assert [f.location for f in early] == [f.location for f in result.findings]
