"""ruff-style path globs (`exclude`, `per-file-ignores`), compiled to regexes once."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["GlobMatcher", "matcher"]


def _translate(glob: str) -> str:
    """Translate a globset-style glob (ruff's) to a regex. As in ruff, `*` and `?` also
    match `/`, `**/` matches zero or more directories, `{a,b}` is an alternation."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            j = i
            while j < n and glob[j] == "*":
                j += 1
            if j - i >= 2 and (i == 0 or glob[i - 1] == "/") and j < n and glob[j] == "/":
                out.append("(?:.*/)?")
                j += 1
            else:
                out.append(".*")
            i = j
        elif c == "?":
            out.append(".")
            i += 1
        elif c == "[":
            j = i + 1
            if j < n and glob[j] in "!^":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
                i += 1
                continue
            body = glob[i + 1 : j]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            body = "".join("\\" + ch if ch in "\\[]&~|^" else ch for ch in body)
            out.append(f"[{'^' if negate else ''}{body}]")
            i = j + 1
        elif c == "{":
            depth, j, start, alternatives = 0, i, i + 1, []
            while j < n:
                if glob[j] == "{":
                    depth += 1
                elif glob[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                elif glob[j] == "," and depth == 1:
                    alternatives.append(glob[start:j])
                    start = j + 1
                j += 1
            if j >= n:
                out.append(re.escape(c))
                i += 1
                continue
            alternatives.append(glob[start:j])
            out.append("(?:" + "|".join(_translate(a) for a in alternatives) + ")")
            i = j + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _alternatives(parts: Sequence[str]) -> str:
    return "(?:" + "|".join(parts) + ")" if parts else ""


def _join_regex(parts: Sequence[str]) -> re.Pattern[str] | None:
    return re.compile(_alternatives(parts) + r"\Z", re.S) if parts else None


class GlobMatcher:
    """ruff-style path globs, compiled once for the hot path of the file walk.

    A pattern with a slash is anchored at `root` ("tests/fixtures" is the project's,
    not any) and matched against the whole path; a pattern without one matches the
    basename at any depth ("build", "*_pb2.py"). Absolute patterns stay absolute. A
    trailing slash restricts a pattern to directories. Callers prune a matching
    directory, so a pattern also covers everything below it.
    """

    __slots__ = ("_base", "_dir_base", "_dir_names", "_dir_path", "_names", "_path")

    def __init__(self, patterns: Iterable[str], root: Path) -> None:
        anchor = re.escape(Path(os.path.abspath(root)).as_posix().rstrip("/") + "/")
        names: dict[bool, set[str]] = {False: set(), True: set()}
        relative: dict[bool, list[str]] = {False: [], True: []}
        absolute: dict[bool, list[str]] = {False: [], True: []}
        bases: dict[bool, list[str]] = {False: [], True: []}
        for raw in patterns:
            pattern = raw.replace(os.sep, "/") if os.sep != "/" else raw
            dir_only = pattern.endswith("/") and pattern != "/"
            pattern = pattern.rstrip("/") if dir_only else pattern
            while pattern.startswith("./"):
                pattern = pattern[2:]
            if "/" not in pattern and not any(ch in pattern for ch in "*?[{\\"):
                names[dir_only].add(pattern)  # the common case: a plain name
                continue
            if "/" not in pattern:
                bases[dir_only].append(_translate(pattern))
                continue
            is_abs = pattern.startswith("/") or bool(re.match(r"[A-Za-z]:/", pattern))
            (absolute if is_abs else relative)[dir_only].append(_translate(pattern))

        def paths(dir_only: bool) -> re.Pattern[str] | None:
            # One shared literal prefix lets the regex engine reject other paths quickly.
            rel = _alternatives(relative[dir_only])
            either = [*absolute[dir_only], *([anchor + rel] if rel else [])]
            return re.compile(_alternatives(either) + r"\Z", re.S) if either else None

        self._names, self._dir_names = frozenset(names[False]), frozenset(names[True])
        self._path, self._dir_path = paths(False), paths(True)
        self._base, self._dir_base = _join_regex(bases[False]), _join_regex(bases[True])

    def match(self, abs_path: str, name: str, is_dir: bool = False) -> bool:
        """`abs_path` is absolute and uses "/"; `name` is its last component."""
        if name in self._names or (self._path and self._path.match(abs_path)):
            return True
        if self._base and self._base.match(name):
            return True
        if not is_dir:
            return False
        return (
            name in self._dir_names
            or bool(self._dir_path and self._dir_path.match(abs_path))
            or bool(self._dir_base and self._dir_base.match(name))
        )


@functools.lru_cache(maxsize=256)
def matcher(pattern: str, root: Path) -> GlobMatcher:
    return GlobMatcher((pattern,), root)
