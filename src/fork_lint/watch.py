"""`check --watch`: check again whenever a file of the checked projects changes.

Changes come from watchfiles (the `watch` extra: the operating system's file
events, through a compiled extension) when it is installed, else from polling
the projects' files twice a second. The polling walk costs about as much as the
indexing step already does on every run (a stat per file), so a watch without
the extra stays cheap. Each run goes through the cache like any other: after an
edit, only the edited files are read again.

A batch of changes counts only if it touches a Python file or a configuration
file (`relevant`); the cache's own writes, editors' swap files and ``.git``
never start a run.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fork_lint.config import CONFIG_NAMES, DEFAULT_EXCLUDES

if TYPE_CHECKING:
    from fork_lint.core import CheckRequest

__all__ = ["POLL_SECONDS", "changes", "poll", "relevant", "run_watch", "watch"]

POLL_SECONDS = 0.5
_CONFIG_FILES = frozenset({*CONFIG_NAMES, "pyproject.toml", ".gitignore"})
_PRUNED = frozenset(DEFAULT_EXCLUDES)

Snapshot = dict[str, tuple[int, int]]  # path -> (mtime in ns, size)


def relevant(path: str) -> bool:
    """Whether a change to `path` can change a check's result."""
    parts = Path(path).parts
    if any(part in _PRUNED for part in parts[:-1]):
        return False
    name = parts[-1] if parts else ""
    return name.endswith((".py", ".pyi")) or name in _CONFIG_FILES


def snapshot(roots: Sequence[Path]) -> Snapshot:
    """(mtime, size) of every relevant file under `roots`, never through a link."""
    out: Snapshot = {}
    for root in roots:
        for directory, names, files in os.walk(root):
            names[:] = [n for n in names if n not in _PRUNED]
            for name in files:
                path = os.path.join(directory, name)
                if not relevant(path):
                    continue
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                out[path] = (info.st_mtime_ns, info.st_size)
    return out


def poll(
    roots: Sequence[Path],
    *,
    interval: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[set[str]]:
    """Batches of changed paths (added, modified or removed), found by comparing
    snapshots every `interval` seconds."""
    before = snapshot(roots)
    while True:
        sleep(interval)
        after = snapshot(roots)
        changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
        before = after
        if changed:
            yield changed


def _watchfiles(roots: Sequence[Path]) -> Iterator[set[str]] | None:
    try:  # an optional dependency (the `watch` extra), without type information
        watchfiles = importlib.import_module("watchfiles")
    except ImportError:
        return None

    def keep(_change: object, path: str) -> bool:
        return relevant(path)

    return (
        {path for _, path in batch}
        for batch in watchfiles.watch(*roots, watch_filter=keep, raise_interrupt=False)
    )


def changes(roots: Sequence[Path]) -> Iterator[set[str]]:
    """Batches of relevant changed paths under `roots`: from watchfiles, else by polling."""
    found = _watchfiles(roots)
    return found if found is not None else poll(roots)


def run_watch(
    run: Callable[[], int],
    batches: Iterable[set[str]],
    announce: Callable[[set[str]], None] = lambda changed: None,
) -> int:
    """Run once, then again after every batch with a relevant path; the last exit code.

    Returns when `batches` ends (in use it never does: Ctrl-C stops the command).
    """
    code = run()
    for batch in batches:
        changed = {p for p in batch if relevant(p)}
        if not changed:
            continue
        announce(changed)
        code = run()
    return code


def watch(request: CheckRequest, run: Callable[[], int]) -> int:
    """The command line's `--watch`: the projects of `request`, checked by `run`."""
    from fork_lint.core import CheckError, resolve_projects

    try:
        roots = sorted(
            {Path(os.path.abspath(p.settings.project_root)) for p in resolve_projects(request)}
        )
    except CheckError:
        return run()  # the run says what is wrong

    def announce(changed: set[str]) -> None:
        if sys.stdout.isatty():
            sys.stdout.write("\x1b[2J\x1b[H")  # a fresh screen for the new report
        n = len(changed)
        sys.stderr.write(f"fork-lint: {n} file{'' if n == 1 else 's'} changed, checking again\n")

    sys.stderr.write("fork-lint: watching for changes (Ctrl-C stops)\n")
    return run_watch(run, changes(roots), announce)
