"""The line length the project's formatter keeps, for fixes that wrap what they write.

ruff's `line-length` (`.ruff.toml`, `ruff.toml`, then `[tool.ruff]` in pyproject.toml,
ruff's own order), else black's `[tool.black] line-length`, else 88, the default of
both. fork-lint's own `line-length` setting, read with the rest of its configuration,
comes before all of them. Only the project root's files are read, and a formatter's
file that cannot be read or parsed is skipped: it is that tool's to complain about.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fork_lint.fsio import read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = ["DEFAULT_LINE_LENGTH", "MAX_LINE_LENGTH", "formatter_line_length", "valid_length"]

DEFAULT_LINE_LENGTH = 88
MAX_LINE_LENGTH = 320  # ruff's limit


def valid_length(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LINE_LENGTH


def _table(path: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads(read_regular(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None


def formatter_line_length(pyproject: dict[str, Any] | None, root: Path) -> tuple[int, str]:
    """(length, where it was found) for the project rooted at `root`, whose
    pyproject.toml (already read, or None) is `pyproject`."""
    for name in (".ruff.toml", "ruff.toml"):
        path = root / name
        if path.is_file():
            data = _table(path)
            if data is not None and valid_length(data.get("line-length")):
                return data["line-length"], f"{name} line-length"
            if data is not None:  # ruff reads this file alone: pyproject is not consulted
                return DEFAULT_LINE_LENGTH, "default"
    tool = pyproject.get("tool") if pyproject is not None else None
    if isinstance(tool, dict):
        for formatter in ("ruff", "black"):
            table = tool.get(formatter)
            if isinstance(table, dict) and valid_length(table.get("line-length")):
                return table["line-length"], f"pyproject.toml [tool.{formatter}] line-length"
            if formatter == "ruff" and isinstance(table, dict):
                return DEFAULT_LINE_LENGTH, "default"  # ruff configured, its default length
    return DEFAULT_LINE_LENGTH, "default"
