"""Run fork-lint in a child process that cannot take the machine down.

Reading a device such as /dev/zero ends with a MemoryError at 2 GiB of address
space instead of taking the machine's memory, and a run that waits forever (a
FIFO) is killed after ``timeout`` seconds, which fails the test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_LIMITED = (
    "import resource, sys\n"
    "limit = 2 << 30\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "from fork_lint.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def run_limited(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`fork-lint check --output-format concise ARGS` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-c", _LIMITED, "check", "--output-format", "concise", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
