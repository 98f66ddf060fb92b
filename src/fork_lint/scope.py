"""The projects that contain the given paths, and which findings are theirs.

Whether a fork can meet a thread depends on the whole program, not on the files a
user, an editor or pre-commit names. So each path is mapped to its project root
(`config.find_project_root`: the nearest fork-lint configuration, else the nearest
pyproject.toml, else the git root), each project is discovered and analysed in
full, and a finding is kept when it lies in one of the given paths or a step of its
witness does (a staged change that starts a thread makes an old fork hazardous).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fork_lint.config import find_project_root
from fork_lint.model import Finding

__all__ = ["FileScope", "project_scopes"]


@dataclass(frozen=True)
class FileScope:
    """The files a run reports on: real paths of files, and of directories (with all below)."""

    files: frozenset[str]
    dirs: tuple[str, ...] = ()
    # Real paths of directories already resolved: a project's files share few of them.
    _parents: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, paths: Sequence[Path], cwd: Path) -> FileScope:
        files: set[str] = set()
        dirs: list[str] = []
        for path in paths:
            real = os.path.realpath(cwd / path)
            if os.path.isdir(real):
                dirs.append(real.rstrip(os.sep) + os.sep)
            else:
                files.add(real)
        return cls(frozenset(files), tuple(dirs))

    def _realpath(self, path: str) -> str:
        if os.path.islink(path):
            return os.path.realpath(path)
        parent, name = os.path.split(os.path.abspath(path))
        real = self._parents.get(parent)
        if real is None:
            real = self._parents[parent] = os.path.realpath(parent)
        return os.path.join(real, name)

    def contains(self, path: str, cwd: Path) -> bool:
        """Whether `path` (relative to `cwd`) is one of the files, or one of the
        directories or below it."""
        real = self._realpath(os.path.join(cwd, path))
        if real in self.files:
            return True
        inside = real + os.sep
        return any(inside.startswith(d) for d in self.dirs)

    def touches(self, finding: Finding, cwd: Path) -> bool:
        """The finding lies in the scope, or one step of its witness does."""
        if self.contains(finding.location.path, cwd):
            return True
        witness = finding.witness
        if witness is None:
            return False
        return any(
            self.contains(hop.location.path, cwd)
            for hop in (*witness.thread_path, *witness.fork_path)
        )


def _shown(root: Path, cwd: Path) -> Path:
    """The root as discovery should walk it: relative to `cwd` when below it, as ruff prints."""
    try:
        rel = root.relative_to(cwd)
    except ValueError:
        return root
    return rel if rel.parts else Path(".")


def project_scopes(
    paths: Sequence[Path], cwd: Path, config_root: Path | None = None
) -> list[tuple[Path, FileScope]]:
    """Group `paths` by project: `(root to analyse, files to report on)`, in order of first use.

    With `config_root` (an explicit `--config`), every path belongs to that one project.
    Directories are looked up once, so thousands of staged files cost a few lookups.
    """
    roots: dict[str, Path] = {}
    groups: dict[Path, list[Path]] = {}
    for path in paths:
        if config_root is not None:
            root = config_root
        else:
            absolute = Path(os.path.abspath(cwd / path))
            directory = absolute if absolute.is_dir() else absolute.parent
            key = str(directory)
            if key not in roots:
                found = Path(os.path.abspath(find_project_root([directory], cwd=cwd)))
                # Without any marker the finder falls back to the working directory,
                # which need not contain the file: then its own directory is the project.
                inside = directory == found or found in directory.parents
                roots[key] = found if inside else directory
            root = roots[key]
        groups.setdefault(root, []).append(path)
    return [(_shown(root, cwd), FileScope.of(members, cwd)) for root, members in groups.items()]
