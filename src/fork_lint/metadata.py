"""The entry points a project declares in its packaging metadata.

Plugin hosts load plugins by name (`graph.plugins`); which objects a group's
names stand for is written in the project's metadata, not in its code. Read from
the project's root, without running anything:

* ``pyproject.toml``: ``[project.entry-points.<group>]``, ``[project.scripts]``
  and ``[project.gui-scripts]``; Poetry's ``[tool.poetry.plugins.<group>]`` and
  ``[tool.poetry.scripts]``;
* ``setup.cfg``: ``[options.entry_points]``;
* ``setup.py``: a literal ``entry_points={...}`` argument of a ``setup(...)`` call
  (read with `ast`, never run);
* ``entry_points.txt`` of the ``*.dist-info`` and ``*.egg-info`` folders in the root
  or in ``src/`` (an unpacked wheel or sdist, a project built in place).

A file that is a link, is not a regular file, is too large or does not parse is
skipped: the entry points are evidence the analysis may use, never a reason to
fail a run or to read outside the project.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import stat
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from fork_lint.fsio import read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = ["project_entry_points"]

EntryPoint = tuple[str, str, str]  # (group, name, "module:attr")

_MAX_BYTES = 1 << 20
_MAX_ENTRIES = 10_000
_DOTTED = r"[^\W\d]\w*(?:\s*\.\s*[^\W\d]\w*)*"
_TARGET = re.compile(rf"\s*({_DOTTED})\s*(?::\s*({_DOTTED}))?\s*(?:\[[^\]]*\])?\s*")


def project_entry_points(root: Path) -> tuple[EntryPoint, ...]:
    """Every entry point the project at ``root`` declares, sorted, without repeats."""
    found: set[EntryPoint] = set()
    for entry in _all(root):
        found.add(entry)
        if len(found) >= _MAX_ENTRIES:
            break
    return tuple(sorted(found))


def _all(root: Path) -> Iterator[EntryPoint]:
    data = _read(root / "pyproject.toml")
    if data is not None:
        yield from _pyproject(data)
    data = _read(root / "setup.cfg")
    if data is not None:
        yield from _setup_cfg(data)
    data = _read(root / "setup.py")
    if data is not None:
        yield from _setup_py(data)
    for folder in (root, root / "src"):
        for info in _info_folders(folder):
            data = _read(info / "entry_points.txt")
            if data is not None:
                yield from _ini(data, "")


def _read(path: Path) -> str | None:
    """The text of a regular file that is not a link, or None."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        return read_regular(path, _MAX_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _info_folders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(
                Path(e.path)
                for e in entries
                if e.name.endswith((".dist-info", ".egg-info")) and e.is_dir(follow_symlinks=False)
            )
    except OSError:
        return []


def _entry(group: object, name: object, target: object) -> EntryPoint | None:
    if not (isinstance(group, str) and isinstance(name, str) and isinstance(target, str)):
        return None
    m = _TARGET.fullmatch(target)
    group, name = group.strip(), name.strip()
    if m is None or not group or not name:
        return None
    module = re.sub(r"\s+", "", m[1])
    attr = re.sub(r"\s+", "", m[2] or "")
    return (group, name, f"{module}:{attr}" if attr else module)


def _table(group: str, table: object) -> Iterator[EntryPoint]:
    if isinstance(table, Mapping):
        for name, target in table.items():
            entry = _entry(group, name, target)
            if entry is not None:
                yield entry


def _pyproject(text: str) -> Iterator[EntryPoint]:
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return
    project = data.get("project")
    if isinstance(project, Mapping):
        yield from _table("console_scripts", project.get("scripts"))
        yield from _table("gui_scripts", project.get("gui-scripts"))
        groups = project.get("entry-points")
        if isinstance(groups, Mapping):
            for group, table in groups.items():
                yield from _table(group, table)
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, Mapping) else None
    if isinstance(poetry, Mapping):
        # A script that is a table (``{reference = ..., type = "file"}``) names no object.
        yield from _table("console_scripts", poetry.get("scripts"))
        plugins = poetry.get("plugins")
        if isinstance(plugins, Mapping):
            for group, table in plugins.items():
                yield from _table(group, table)


def _lines(group: str, lines: Iterable[object]) -> Iterator[EntryPoint]:
    for line in lines:
        if isinstance(line, str) and "=" in line:
            name, _, target = line.partition("=")
            entry = _entry(group, name, target)
            if entry is not None:
                yield entry


def _ini(text: str, section: str) -> Iterator[EntryPoint]:
    """``entry_points.txt`` (a section per group, ``section`` "") or setup.cfg's
    ``[options.entry_points]`` (a key per group, its value the lines)."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return
    if section:
        if parser.has_section(section):
            for group, value in parser.items(section):
                yield from _lines(group, value.splitlines())
        return
    for group in parser.sections():
        for name, target in parser.items(group):
            entry = _entry(group, name, target)
            if entry is not None:
                yield entry


def _setup_cfg(text: str) -> Iterator[EntryPoint]:
    yield from _ini(text, "options.entry_points")


def _setup_py(text: str) -> Iterator[EntryPoint]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes etc.
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name != "setup":
            continue
        for kw in node.keywords:
            if kw.arg != "entry_points" or not isinstance(kw.value, ast.Dict):
                continue
            try:
                groups = ast.literal_eval(kw.value)
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                continue
            for group, value in groups.items():
                lines = value.splitlines() if isinstance(value, str) else value
                if isinstance(lines, (list, tuple)) and isinstance(group, str):
                    yield from _lines(group, lines)
