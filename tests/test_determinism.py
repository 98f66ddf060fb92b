"""Findings do not depend on the order of Python's sets, which changes from one
process to the next (string hashing is salted per process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# One call site whose callees hold the same library method twice: made at a known
# place, and from an annotation (made outside). Which of the two named the
# finding once depended on the set's order.
PROJECT = """
    import os
    from typing import Optional

    try:
        from multiprocessing import Process
    except ImportError:
        from threading import Thread as Process


    class Worker:
        def __init__(self, proc: Optional[Process] = None):
            self.proc = proc

        def start(self):
            if self.proc is None:
                self.proc = Process(target=print)
            self.proc.start()


    def run():
        first = Worker()
        first.start()
        second = Worker()
        second.start()
        os.fork()
"""


def test_findings_are_the_same_whatever_the_hash_seed(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(PROJECT))
    command = [sys.executable, "-m", "fork_lint", "check", "--isolated", "--no-cache"]
    outputs = set()
    for seed in ("1", "3", "4", "6"):
        proc = subprocess.run(
            [*command, "--output-format", "json", "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1
