"""The settings every reporter receives, and the default way to read source files."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fork_lint.fsio import read_regular
from fork_lint.model import Finding

# Python's tokenizer ends lines at "\n", "\r\n" and "\r" only; `str.splitlines`
# would also split at form feeds, "\x1c".."\x1e", "\x85", U+2028 and U+2029 and
# so shift every line number after them.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_source_lines(text: str) -> list[str]:
    """Split source text into lines the way Python numbers them (no line-break characters)."""
    lines = _LINE_BREAK.split(text)
    if lines[-1] == "":  # the newline at the end of the file (or an empty file)
        lines.pop()
    return lines


def read_source_lines(path: str) -> list[str] | None:
    """Read `path` as UTF-8 (a BOM is dropped, bad bytes become U+FFFD); None if unreadable."""
    try:
        data = read_regular(path)
    except OSError:
        return None
    return split_source_lines(data.decode("utf-8-sig", errors="replace"))


@dataclass(frozen=True)
class RenderContext:
    """What a reporter needs besides the findings.

    `read_lines` maps a finding's path to the file's lines (without line-break
    characters), or None when the file cannot be read; reporters then leave the
    code frame out. `fixed` and `unsafe_hidden` only feed `summary()`.
    """

    color: bool = False
    read_lines: Callable[[str], list[str] | None] = read_source_lines
    fixed: int = 0  # fixes applied this run
    unsafe_hidden: int = 0  # unsafe fixes available but not enabled
    unsafe_fixes: bool = False  # `--unsafe-fixes`: unsafe fixes are marked `[*]` too
    show_fixes: bool = True  # `full` shows the diff of each fix under its `help:` line
    why: bool = False  # `full` says why each witness step calls the next (`--explain-path`)
    # With `--diff-base`: 0 the finding's span changed, 1 a witness step changed, 2 neither.
    # Formats whose consumer shows only the first few findings (`github`) put low ranks first.
    rank: Callable[[Finding], int] | None = None
    # Files analysed beyond the paths given (the rest of their projects), for `summary`.
    beyond: int = 0


def cached_reader(read: Callable[[str], list[str] | None]) -> Callable[[str], list[str] | None]:
    """Wrap `read` so each path is read at most once per rendering."""
    cache: dict[str, list[str] | None] = {}

    def reader(path: str) -> list[str] | None:
        if path not in cache:
            cache[path] = read(path)
        return cache[path]

    return reader
