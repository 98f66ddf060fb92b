"""Which files to analyse: walk the given paths as ruff does.

Excluded and git-ignored directories are pruned before descending, so large
trees (virtualenvs, node_modules, build output) cost one name check each.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import stat
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from fork_lint.config import DEFAULT_EXCLUDES, GlobMatcher, Settings
from fork_lint.fsio import kind_of, read_regular

__all__ = ["DEFAULT_EXCLUDES", "Discovery", "DiscoveryError", "discover"]


class DiscoveryError(Exception):
    """Paths given on the command line that do not exist: a usage error, like ConfigError."""

    def __init__(self, missing: Sequence[Path]) -> None:
        self.paths = tuple(missing)
        super().__init__("\n".join(f"{p}: no such file or directory" for p in self.paths))


@dataclass
class Discovery:
    """The result of a walk: what to analyse, and what could not be looked at."""

    files: list[Path] = field(default_factory=list)  # sorted, each file once
    errors: list[tuple[Path, str]] = field(default_factory=list)  # reported, never raised


# ---------------------------------------------------------------------------- gitignore


@dataclass(frozen=True)
class _IgnoreFile:
    """One .gitignore (or .git/info/exclude), as runs of patterns of one polarity.

    Git lets the last matching pattern win; grouping consecutive patterns of the
    same polarity into one regex keeps that rule with one match per run.
    """

    base: str  # its directory, relative to the repository root ("" for the root)
    runs: tuple[tuple[bool, re.Pattern[str]], ...]  # (ignores?, regex), in file order

    def decide(self, rel_repo: str, is_dir: bool) -> bool | None:
        sub = rel_repo[len(self.base) + 1 :] if self.base else rel_repo
        if is_dir:
            sub += "/"
        # A whole-path match, as git's own matching: a directory rule (`instance/`)
        # decides the directory, and the walk prunes it there, so the files below it
        # are never asked about; matching a prefix would also hide the files of an
        # ignored directory the user names on the command line, which a walk never
        # prunes (ruff, ripgrep).
        for ignores, regex in reversed(self.runs):
            if regex.fullmatch(sub):
                return ignores
        return None


def _load_ignore_file(path: str, base: str, errors: list[tuple[Path, str]]) -> _IgnoreFile | None:
    try:
        lines = read_regular(path).decode("utf-8", "surrogateescape").splitlines()
    except OSError as e:
        if e.errno != errno.ENOENT:
            errors.append((Path(path), f"cannot read: {e.strerror or e}"))
        return None
    groups: list[tuple[bool, list[str]]] = []
    for pattern in pathspec.GitIgnoreSpec.from_lines(lines).patterns:
        regex = getattr(pattern, "regex", None)
        if pattern.include is None or regex is None:
            continue
        # Named groups would clash once several patterns share one regex.
        source = re.sub(r"\(\?P<\w+>", "(?:", regex.pattern)
        if groups and groups[-1][0] == pattern.include:
            groups[-1][1].append(source)
        else:
            groups.append((pattern.include, [source]))
    if not groups:
        return None
    runs = tuple((inc, re.compile("|".join(f"(?:{s})" for s in src))) for inc, src in groups)
    return _IgnoreFile(base, runs)


_Chain = tuple[_IgnoreFile, ...]  # the ignore files in force, lowest precedence first


def _ignored(chain: _Chain, rel_repo: str, is_dir: bool) -> bool:
    """Deeper .gitignore files take precedence over shallower ones and info/exclude."""
    for ignore_file in reversed(chain):
        decision = ignore_file.decide(rel_repo, is_dir)
        if decision is not None:
            return decision
    return False


def _repo_root(directory: str) -> str | None:
    current = directory
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _common_git_dir(repo: str) -> str | None:
    """The directory holding the repository's ``info/exclude``.

    ``.git`` is that directory in a plain clone; in a linked worktree or a
    submodule it is a file naming the git directory (``gitdir: PATH``), and a
    worktree's git directory names the shared one in ``commondir``. Both are
    read as files git wrote, through `read_regular`, and only a directory is
    returned: anything else means no exclude file.
    """
    dot_git = os.path.join(repo, ".git")
    if os.path.isdir(dot_git) and not os.path.islink(dot_git):
        return dot_git
    try:
        text = read_regular(dot_git).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    first = text.splitlines()[0] if text else ""
    if not first.startswith("gitdir:"):
        return None
    git_dir = os.path.join(repo, first[len("gitdir:") :].strip())
    try:
        common = read_regular(os.path.join(git_dir, "commondir"))
    except OSError:
        common = b""
    named = common.decode("utf-8", "surrogateescape").strip()
    if named:
        git_dir = os.path.join(git_dir, named)
    return git_dir if os.path.isdir(git_dir) else None


# ---------------------------------------------------------------------------- walking


@dataclass
class _Walk:
    settings: Settings
    excluded: GlobMatcher
    real_roots: tuple[str, ...]
    errors: list[tuple[Path, str]] = field(default_factory=list)
    # real path -> (reached through a symlink?, discovery order, path to report)
    found: dict[str, tuple[bool, int, str]] = field(default_factory=dict)
    visited: set[str] = field(default_factory=set)  # real paths of walked directories
    deferred: deque[tuple[str, str, str | None, _Chain]] = field(default_factory=deque)
    order: Iterator[int] = field(default_factory=itertools.count)

    def add(self, real: str, shown: str, via_link: bool) -> None:
        """Keep one path per real file, preferring one that does not go through a link."""
        entry = (via_link, next(self.order), shown)
        if real not in self.found or entry < self.found[real]:
            self.found[real] = entry

    def initial_chain(self, abs_dir: str) -> tuple[str | None, _Chain]:
        """`abs_dir` relative to its repository, and the ignore files that apply above it."""
        if not self.settings.respect_gitignore:
            return None, ()
        repo = _repo_root(abs_dir)
        if repo is None:
            return None, ()
        git_dir = _common_git_dir(repo)
        exclude = None
        if git_dir is not None:
            exclude = _load_ignore_file(os.path.join(git_dir, "info", "exclude"), "", self.errors)
        chain = [exclude] if exclude else []
        rel = os.path.relpath(abs_dir, repo).replace(os.sep, "/")
        parts = [] if rel == "." else rel.split("/")
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            loaded = _load_ignore_file(os.path.join(repo, base, ".gitignore"), base, self.errors)
            if loaded:
                chain.append(loaded)
        return "/".join(parts), tuple(chain)

    def walk(
        self, shown: str, abs_dir: str, real: str, rel: str | None, chain: _Chain, *, via_link: bool
    ) -> None:
        """Walk one directory tree. `shown` is how paths are reported, `abs_dir` the
        logical absolute path (excludes match it), `real` the resolved one (for
        de-duplication) and `rel` the path inside the git repository (None: no repo)."""
        respect_gitignore = self.settings.respect_gitignore
        self.visited.add(real)
        stack = [(shown, abs_dir, real, rel, chain)]
        while stack:
            shown, abs_dir, real, rel, chain = stack.pop()
            try:
                with os.scandir(abs_dir) as it:
                    entries = list(it)
            except OSError as e:
                self.errors.append((Path(shown), f"cannot read directory: {e.strerror or e}"))
                continue
            if respect_gitignore:
                names = {e.name for e in entries}
                if ".git" in names and rel != "":
                    rel, chain = self.initial_chain(abs_dir)  # a nested repository
                if ".gitignore" in names and rel is not None:
                    loaded = _load_ignore_file(f"{abs_dir}/.gitignore", rel, self.errors)
                    chain = (*chain, loaded) if loaded else chain
            for entry in entries:
                name = entry.name
                child_abs = f"{abs_dir.rstrip('/')}/{name}"
                child_shown = f"{shown.rstrip('/')}/{name}"
                child_rel = None if rel is None else f"{rel}/{name}" if rel else name
                link = entry.is_symlink()
                if link:
                    try:
                        mode = os.stat(child_abs).st_mode
                    except FileNotFoundError:
                        if name.endswith(".py") and not self._skip(
                            child_abs, name, child_rel, chain, False
                        ):
                            self.errors.append((Path(child_shown), "broken symbolic link"))
                        continue
                    except OSError as e:  # ELOOP: a link that resolves to itself
                        problem = f"cannot follow symbolic link: {e.strerror or e}"
                        self.errors.append((Path(child_shown), problem))
                        continue
                    is_dir = stat.S_ISDIR(mode)
                else:
                    is_dir = entry.is_dir(follow_symlinks=False)
                    # From the directory entry's type, without a stat per file.
                    regular = not is_dir and entry.is_file(follow_symlinks=False)
                    mode = stat.S_IFDIR if is_dir else stat.S_IFREG if regular else 0
                if not is_dir and not name.endswith(".py"):
                    continue
                if self._skip(child_abs, name, child_rel, chain, is_dir):
                    continue
                if not is_dir and not stat.S_ISREG(mode):
                    # A device or FIFO named *.py (or a link to one): reading it would
                    # never end or never start.
                    with suppress(OSError):
                        mode = mode or entry.stat(follow_symlinks=False).st_mode
                    problem = f"not a regular file ({kind_of(mode)}): not analysed"
                    self.errors.append((Path(child_shown), problem))
                    continue
                if link and is_dir:
                    self.deferred.append((child_shown, child_abs, child_rel, chain))
                elif is_dir:
                    child_real = f"{real.rstrip('/')}/{name}"
                    if child_real not in self.visited:  # not already walked as a root
                        self.visited.add(child_real)
                        stack.append((child_shown, child_abs, child_real, child_rel, chain))
                elif link:
                    self.add(os.path.realpath(child_abs), child_shown, True)
                else:
                    self.add(f"{real.rstrip('/')}/{name}", child_shown, via_link)

    def _skip(self, abs_path: str, name: str, rel: str | None, chain: _Chain, is_dir: bool) -> bool:
        if self.excluded.match(abs_path, name, is_dir):
            return True
        return rel is not None and bool(chain) and _ignored(chain, rel, is_dir)

    def follow_links(self) -> None:
        """Walk symlinked directories last, so a tree reached both directly and through
        a link is reported under its real path, and a link back up (a loop) is skipped."""
        while self.deferred:
            shown, abs_dir, rel, chain = self.deferred.popleft()
            real = os.path.realpath(abs_dir)
            if real in self.visited or not any(_inside(real, r) for r in self.real_roots):
                continue
            self.walk(shown, abs_dir, real, rel, chain, via_link=True)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def discover(paths: Sequence[Path], settings: Settings) -> Discovery:
    """Files to analyse under `paths` (default: the working directory).

    As in ruff, a path given explicitly is analysed even when excluded or not a .py
    file; inside directories only `*.py` files that no exclude pattern and no
    .gitignore rule matches. Symlinked directories are followed only when they point
    inside the given roots.
    """
    paths = list(paths) or [Path(".")]
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        raise DiscoveryError(missing)
    roots = [p for p in paths if os.path.isdir(p)]
    walk = _Walk(
        settings,
        GlobMatcher((*settings.exclude, *settings.extend_exclude), settings.project_root),
        tuple(os.path.realpath(p) for p in roots),
    )
    for path in paths:
        shown = str(path)
        if os.path.isdir(path):
            abs_dir = Path(os.path.abspath(path)).as_posix()
            real = os.path.realpath(path)
            if real in walk.visited:
                continue
            rel, chain = walk.initial_chain(abs_dir)
            walk.walk(shown, abs_dir, real, rel, chain, via_link=False)
        elif os.path.isfile(path):
            walk.add(os.path.realpath(path), shown, os.path.islink(path))
        elif not os.path.exists(path):
            walk.errors.append((path, "broken symbolic link"))
        else:
            walk.errors.append((path, "not a regular file or directory"))
    walk.follow_links()
    # `found` holds one path per real file. Sorting on `parts` gives Path's order
    # without its slow Python-level __lt__.
    files = sorted((Path(shown) for _, _, shown in walk.found.values()), key=lambda p: p.parts)
    return Discovery(files, sorted(walk.errors))
