"""``python -m fork_lint``.

``-m`` puts the working directory first on ``sys.path``, and the working
directory is usually the tree being analysed: its ``json.py`` or
``tempfile.py`` would be imported, and run, in place of the standard library's
the first time fork-lint imports that module. fork-lint never runs analysed
code, so the working directory leaves ``sys.path`` before anything else is
imported. (Run from a tree that has its own ``fork_lint`` package, ``-m``
imports that package before this file runs; ``python -P -m fork_lint`` on
Python 3.11 and later, or the ``fork-lint`` command, do not.)
"""

import os
import sys


def _forget_working_directory() -> None:
    cwd = os.getcwd()
    # "" and "." are the working directory wherever it is; ``-m`` inserted its
    # absolute path at the front (``-P`` and ``-I`` do not insert it).
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    if sys.path and os.path.abspath(sys.path[0]) == cwd:
        del sys.path[0]


_forget_working_directory()

from fork_lint.cli import main  # noqa: E402  (sys.path must be fixed first)

raise SystemExit(main())
