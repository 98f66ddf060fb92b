"""Lines changed since a git revision, for `--diff-base` and `--only-changed`.

fork-lint only reads the repository: it runs `git merge-base`, `git diff` and
`git ls-files` and parses their output, always through `run_git`, which turns off
everything a repository's configuration could make git run. Paths are kept absolute so a finding's
display path (relative to the working directory) can be matched from any subdirectory.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fork_lint.fsio import find_executable
from fork_lint.model import Finding, Location

__all__ = ["ChangedLines", "VcsError", "changed_lines", "parse_unified_diff", "run_git"]

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


class VcsError(Exception):
    """git is missing, the directory is not a repository, or the revision is unknown."""


@dataclass(frozen=True)
class ChangedLines:
    """Added or modified lines per file (absolute POSIX paths).

    A file mapped to None is new to git (untracked): every line of it counts as
    changed. Deleted lines leave nothing to point at and are not recorded. Keys are
    real paths, so a working directory reached through a symbolic link still matches.
    """

    base: str  # the revision the lines were compared with, as given
    files: Mapping[str, frozenset[int] | None] = field(default_factory=dict)

    def touches(self, location: Location, cwd: Path) -> bool:
        """Whether any line of `location`'s span was added or modified."""
        key = _absolute(location.path, cwd)
        if key not in self.files:
            return False
        lines = self.files[key]
        span = location.span
        if lines is None:
            return True
        return any(line in lines for line in range(span.line, max(span.line, span.end_line) + 1))

    def rank(self, finding: Finding, cwd: Path) -> int:
        """0: the finding's own span changed; 1: a step of its witness changed; 2: neither.

        A change to a witness step (say, a new thread start) is what made an old
        sink hazardous, so it belongs to the change as much as an edit of the sink.
        """
        if self.touches(finding.location, cwd):
            return 0
        witness = finding.witness
        if witness is not None and any(
            self.touches(hop.location, cwd) for hop in (*witness.thread_path, *witness.fork_path)
        ):
            return 1
        return 2


@functools.lru_cache(maxsize=4096)
def _absolute(path: str, cwd: Path) -> str:
    """The real path: git prints resolved names, the command line may go through links."""
    return Path(os.path.realpath(cwd / path)).as_posix()


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of unusual path names ("a\\303\\251.py" -> "aé.py")."""
    if not (len(name) >= 2 and name[0] == name[-1] == '"'):
        return name
    out = bytearray()
    body = name[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 == len(body):
            out += char.encode()
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in "01234567":
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out.append(_ESCAPES.get(nxt, ord(nxt)))
            i += 2
    return out.decode("utf-8", errors="surrogateescape")


def parse_unified_diff(text: str) -> dict[str, frozenset[int]]:
    """Map each file of a `git diff -U0` to the line numbers it adds, in the new version.

    Keys are paths relative to the repository root (the `+++ b/` name); deleted
    files are left out; a file whose hunks only delete lines maps to an empty set.
    """
    out: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            name = _unquote(line[4:].rstrip("\t"))
            if name == "/dev/null":
                current = None
                continue
            name = name[2:] if name.startswith("b/") else name
            current = out.setdefault(name, set())
        elif line.startswith("@@") and current is not None:
            match = _HUNK.match(line)
            if match is None:
                continue
            start = int(match[1])
            count = 1 if match[2] is None else int(match[2])
            current.update(range(start, start + count))
    return {name: frozenset(lines) for name, lines in out.items()}


# Settings that make git run a program, which a hostile repository's own
# .git/config (or one it includes) can set, turned off on the command line,
# which takes precedence over every configuration file. See docs/reliability.md.
_SAFE_CONFIG = (
    "core.fsmonitor=false",  # a hook git runs to ask which files changed
    f"core.hooksPath={os.devnull}",  # no command used here runs hooks; in case one does
    "core.pager=cat",
    "core.askPass=",
    "credential.helper=",
    "diff.external=",  # with --no-ext-diff; textconv is off by --no-textconv
    "protocol.allow=never",  # no fetch, so no core.sshCommand, proxies or lazy fetches
    "safe.bareRepository=explicit",  # no repository embedded in the tree's directories
    "core.quotepath=off",
)
_SAFE_ENV = {
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_NO_LAZY_FETCH": "1",  # a partial clone must not fetch missing objects
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "LC_ALL": "C",
}
# Variables that would make git run a program or read another configuration.
_UNSAFE_ENV = ("GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND")
_FILTER_KEY = re.compile(r"^filter\.(.+)\.(?:clean|smudge|process|required)$", re.IGNORECASE)


def run_git(args: Sequence[str], cwd: Path, *, reads_content: bool = False) -> bytes:
    """Run git with every setting that runs a program turned off; its stdout.

    The one way fork-lint runs git. ``reads_content``: the command compares files
    of the working tree with the repository (``git diff REV``), which runs the
    configured clean filters of the files' attributes (`filter.<driver>.clean`
    and ``.process``); those drivers are then listed (reading configuration runs
    nothing) and each is turned off. Filtered files (git-lfs, git-crypt) are then
    compared as they are on disk. Raises `VcsError`.
    """
    git = find_executable("git")
    if git is None:
        raise VcsError("git is not installed")
    options = [arg for setting in _SAFE_CONFIG for arg in ("-c", setting)]
    if reads_content:
        for name in sorted(_filter_drivers(git, options, cwd)):
            if "=" in name:  # `-c` cannot name it: fail closed rather than run it
                raise VcsError(f"cannot turn off the filter driver {name!r} of this repository")
            for var in ("clean", "smudge", "process"):
                options += ["-c", f"filter.{name}.{var}="]
            options += ["-c", f"filter.{name}.required=false"]
    return _run(git, options, args, cwd)


def _filter_drivers(git: str, options: list[str], cwd: Path) -> set[str]:
    try:
        listed = _run(git, options, ["config", "-z", "--get-regexp", r"^filter\."], cwd)
    except VcsError:
        return set()  # none configured (exit 1), or no repository: the command itself says
    names = set()
    for record in listed.split(b"\0"):
        key = record.split(b"\n", 1)[0].decode("utf-8", "surrogateescape")
        match = _FILTER_KEY.match(key)
        if match:
            names.add(match[1])
    return names


# A git that waits for a lock, a credential prompt or a network file system would
# otherwise hold the check (and a pre-commit hook) forever; no query fork-lint
# makes takes seconds on a healthy repository.
GIT_TIMEOUT = 120.0


def _run(git: str, options: Sequence[str], args: Sequence[str], cwd: Path) -> bytes:
    env = {k: v for k, v in os.environ.items() if k not in _UNSAFE_ENV}
    env.update(_SAFE_ENV)
    try:
        proc = subprocess.run(
            [git, *options, "--no-pager", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
            env=env,
            timeout=GIT_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise VcsError(f"git {args[0]} did not finish within {GIT_TIMEOUT:g} s") from None
    except OSError as exc:
        raise VcsError(f"cannot run git: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VcsError(message[0] if message else f"git {args[0]} failed")
    return proc.stdout


def _git(args: Sequence[str], cwd: Path, *, reads_content: bool = False) -> str:
    out = run_git(args, cwd, reads_content=reads_content)
    return out.decode("utf-8", errors="surrogateescape")


def _merge_base(base: str, cwd: Path) -> str:
    """The commit HEAD branched from `base`; `base` itself when history is too shallow."""
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], cwd)
    except VcsError:
        raise VcsError(
            f"unknown revision {base!r} (in a shallow CI checkout, fetch it first, "
            "e.g. `git fetch origin main` or `actions/checkout` with `fetch-depth: 0`)"
        ) from None
    try:
        return _git(["merge-base", base, "HEAD"], cwd).strip()
    except VcsError:
        return base


def changed_lines(base: str, cwd: Path, untracked: bool = True) -> ChangedLines:
    """Lines added or modified in the working tree since HEAD branched from `base`.

    Like a pull request's diff plus uncommitted work: the comparison is with the
    merge base of `base` and HEAD (with `base` itself when history is too shallow to
    find one), against the files on disk. Untracked files count as changed in full.
    """
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    commit = _merge_base(base, cwd)
    diff = _git(
        [
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            commit,
            "--",
        ],
        top,
        reads_content=True,
    )
    files: dict[str, frozenset[int] | None] = {
        _absolute(name, top): lines for name, lines in parse_unified_diff(diff).items()
    }
    if untracked:
        listed = _git(["ls-files", "-z", "--others", "--exclude-standard"], top)
        files.update(_whole_files(top, listed.split("\0")))
    return ChangedLines(base, files)


def _whole_files(top: Path, names: Iterable[str]) -> dict[str, None]:
    return {_absolute(name, top): None for name in names if name}
