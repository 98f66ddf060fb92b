"""Settings from `[tool.fork-lint]`, `fork-lint.toml` and the command line.

Key names, selector semantics and path globs follow ruff, so a project that
already configures ruff can configure fork-lint without learning a new dialect.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import keyword
import os
import posixpath
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fork_lint.fixes import LaunchOptions
from fork_lint.fsio import read_regular
from fork_lint.rules import BY_CODE

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = [
    "DEFAULT_EXCLUDES",
    "DEFAULT_SELECT",
    "DEFAULT_TARGET_VERSION",
    "TARGET_VERSIONS",
    "ConfigError",
    "GlobMatcher",
    "Overrides",
    "Settings",
    "expand_selector",
    "find_project_root",
    "load_settings",
    "parse_requires_python",
    "validate_codes",
]

CONFIG_NAMES = (".fork-lint.toml", "fork-lint.toml")  # preferred over pyproject.toml, as ruff
TOOL_TABLE = "[tool.fork-lint]"
ALL_CODES: frozenset[str] = frozenset(BY_CODE)
DEFAULT_SELECT: frozenset[str] = ALL_CODES
TARGET_VERSIONS: dict[str, tuple[int, int]] = {f"py3{m}": (3, m) for m in range(7, 16)}
OLDEST, NEWEST = (3, 7), (3, 15)
DEFAULT_TARGET_VERSION = OLDEST  # as ruff: assume the oldest supported Python

# Directories that are never project sources; `exclude` replaces these, `extend-exclude`
# adds to them (discovery re-exports this list).
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    ".eggs",
    "__pypackages__",
    "_build",
    "build",
    "dist",
    "site-packages",
    "node_modules",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".fork_lint_cache",
    "__pycache__",
    "buck-out",
    ".direnv",
    ".ipynb_checkpoints",
)

_KEYS = (
    "select",
    "ignore",
    "extend-select",
    "exclude",
    "extend-exclude",
    "per-file-ignores",
    "target-version",
    "target-platform",
    "respect-gitignore",
    "thread-sources",
    "fork-sinks",
    "fix",
)


class ConfigError(Exception):
    """A configuration problem; the message names the file (or flag) and the key."""


# ---------------------------------------------------------------------------- rule selectors


def expand_selector(selector: str) -> frozenset[str]:
    """Codes a selector stands for: "ALL", a full code or any prefix ("FRK", "FRK00").

    Unknown selectors give an empty set; `validate_codes` turns that into an error.
    """
    if selector == "ALL":
        return ALL_CODES
    if not selector:
        return frozenset()
    return frozenset(c for c in ALL_CODES if c.startswith(selector))


def validate_codes(codes: Iterable[str], where: str) -> frozenset[str]:
    """Expand selectors, failing on one that matches no rule (typos must not go quiet).

    `where` prefixes the message, e.g. "pyproject.toml: [tool.fork-lint] select";
    `# noqa` validation reuses this with a file and line.
    """
    out: set[str] = set()
    for code in codes:
        expanded = expand_selector(code)
        if not expanded:
            hint = " (rule codes are upper case)" if expand_selector(code.upper()) else ""
            raise ConfigError(f"{where}: unknown rule code {code!r}{hint}")
        out |= expanded
    return frozenset(out)


def _specificity(selector: str) -> int:
    return 0 if selector == "ALL" else len(selector)


@dataclass(frozen=True)
class _Selection:
    """One layer of select/extend-select/ignore (defaults, config file, command line)."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


def _resolve_selection(layers: Sequence[_Selection]) -> frozenset[str]:
    """ruff's algorithm: within a layer the more specific selector wins and `ignore`
    beats `select` at equal specificity; a layer with `select` replaces what came
    before, a layer without it edits it."""
    enabled: set[str] = set()
    for layer in layers:
        ranked = [
            (_specificity(s), False, s) for s in (*(layer.select or ()), *layer.extend_select)
        ]
        ranked += [(_specificity(s), True, s) for s in layer.ignore]
        updates: dict[str, bool] = {}
        for _, is_ignore, selector in sorted(ranked):
            for code in expand_selector(selector):
                updates[code] = not is_ignore
        if layer.select is not None:
            enabled = {code for code, on in updates.items() if on}
        else:
            enabled |= {code for code, on in updates.items() if on}
            enabled -= {code for code, on in updates.items() if not on}
    return frozenset(enabled)


# ---------------------------------------------------------------------------- globs


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
def _matcher(pattern: str, root: Path) -> GlobMatcher:
    return GlobMatcher((pattern,), root)


# ---------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one run; paths in patterns are relative to `project_root`."""

    project_root: Path
    config_file: Path | None
    select: frozenset[str]
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...]
    exclude: tuple[str, ...]
    extend_exclude: tuple[str, ...]
    respect_gitignore: bool
    target_version: tuple[int, int]
    target_version_source: str
    thread_sources: tuple[str, ...]
    fork_sinks: tuple[str, ...]
    target_platform: str = "linux"  # decides the multiprocessing default start method
    fix_start_method: str = "forkserver"  # [tool.fork-lint.fix] start-method
    fix_launch: LaunchOptions = dataclasses.field(default_factory=LaunchOptions)

    def ignored_codes(self, path: str) -> frozenset[str]:
        """Codes per-file-ignores switch off for `path` (relative to the root, or absolute).

        A pattern starting with "!" applies to the files it does *not* match, as in ruff.
        """
        path = path.replace(os.sep, "/") if os.sep != "/" else path
        if not posixpath.isabs(path):
            root = Path(os.path.abspath(self.project_root)).as_posix()
            path = posixpath.normpath(f"{root}/{path}")
        name = posixpath.basename(path)
        out: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            negated = pattern.startswith("!")
            hit = _matcher(pattern[1:] if negated else pattern, self.project_root).match(path, name)
            if hit != negated:
                out |= codes
        return frozenset(out)

    def enabled(self, code: str, path: str) -> bool:
        """Whether `code` is reported in `path`: selected and not per-file-ignored."""
        return code in self.select and code not in self.ignored_codes(path)


@dataclass
class Overrides:
    """Command-line values; `None` means "not given", so the config file decides."""

    select: Sequence[str] | None = None
    extend_select: Sequence[str] | None = None
    ignore: Sequence[str] | None = None
    exclude: Sequence[str] | None = None
    extend_exclude: Sequence[str] | None = None
    per_file_ignores: Sequence[tuple[str, Sequence[str]]] | None = None  # replaces the file's
    target_version: str | None = None  # "py312"
    target_platform: str | None = None  # "linux", "darwin", "win32"
    config: Path | None = None  # a pyproject.toml, or a fork-lint.toml-style file
    isolated: bool = False  # ignore every configuration file
    respect_gitignore: bool | None = None


# ---------------------------------------------------------------------------- locating files


def _display(path: Path) -> str:
    """Paths in messages: relative to the working directory when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_toml(path: Path, raw: bytes | None = None) -> dict[str, Any]:
    try:
        data = (read_regular(path) if raw is None else raw).decode("utf-8")
    except OSError as e:
        raise ConfigError(f"{_display(path)}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{_display(path)}: invalid TOML: not UTF-8 ({e.reason})") from None
    try:
        return tomllib.loads(data)
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively.
        raise ConfigError(
            f"{_display(path)}: invalid TOML: arrays or inline tables nested too deeply"
        ) from None
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if at:
            loc = f"{_display(path)}:{at[1]}:{at[2]}"
            raise ConfigError(f"{loc}: invalid TOML: {msg[: at.start()]}") from None
        raise ConfigError(f"{_display(path)}: invalid TOML: {msg}") from None


def _fork_lint_table(data: dict[str, Any]) -> object:
    tool = data.get("tool")
    return tool.get("fork-lint") if isinstance(tool, dict) else None


@dataclass(frozen=True)
class _Located:
    root: Path
    config_file: Path | None = None
    pyproject: dict[str, Any] | None = None  # the parsed root pyproject.toml, if read


def _start_dir(paths: Sequence[Path]) -> Path:
    start = Path(os.path.abspath(paths[0])) if paths else Path.cwd()
    return start.parent if start.is_file() else start


def _read_bytes(path: Path) -> bytes:
    try:
        return read_regular(path)
    except OSError:
        return b""


def _locate(paths: Sequence[Path], *, read_config: bool = True) -> _Located:
    start = _start_dir(paths)
    nearest_pyproject: Path | None = None
    nearest_git: Path | None = None
    for directory in (start, *start.parents):
        if read_config:
            for name in CONFIG_NAMES:
                if (directory / name).is_file():
                    return _Located(directory, directory / name)
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            nearest_pyproject = nearest_pyproject or directory
            # Cheap pre-check: an unrelated (even broken) pyproject.toml above us stays unread.
            raw = _read_bytes(candidate) if read_config else b""
            if b"fork-lint" in raw:
                data = _read_toml(candidate, raw)
                if _fork_lint_table(data) is not None:
                    return _Located(directory, candidate, data)
        if nearest_git is None and (directory / ".git").exists():
            nearest_git = directory
    found = nearest_pyproject or nearest_git
    if found is not None:
        return _Located(found)
    cwd = Path.cwd()
    if start == cwd or cwd in start.parents:
        return _Located(cwd)
    from fork_lint.project import package_root

    # A directory outside the working directory with no project around it (an
    # unpacked sdist or wheel): module names start above its outermost package.
    return _Located(package_root(start))


def find_project_root(paths: Sequence[Path]) -> Path:
    """The directory that patterns and per-file-ignores are relative to.

    Walk up from the first path (or the working directory) and stop at the nearest
    directory with `.fork-lint.toml`, `fork-lint.toml` or a `pyproject.toml` holding
    `[tool.fork-lint]` -- like ruff, which skips pyproject files without `[tool.ruff]`,
    so a sub-package's bare pyproject.toml does not hide the repository's settings.
    Without any, the nearest pyproject.toml, then the nearest `.git`, then the cwd
    if it holds the first path, else the directory above that path's outermost
    package (an unpacked wheel or sdist checked from elsewhere).
    """
    return _locate(paths).root


# ---------------------------------------------------------------------------- validation


_TOML_TYPES: dict[type, str] = {
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    str: "a string",
    list: "an array",
    dict: "a table",
}


def _type_name(value: object) -> str:
    return _TOML_TYPES.get(type(value), "a date-time")  # the only other TOML values


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected an array of strings, got {_type_name(value)}")
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(
                f"{where}: expected an array of strings, got {_type_name(item)} in the array"
            )
    return tuple(value)


def _dotted(text: str) -> bool:
    return all(p.isidentifier() and not keyword.iskeyword(p) for p in text.split("."))


def _qualified_names(value: Iterable[str], where: str) -> tuple[str, ...]:
    """Catalogue entries are `module:qualname` so the analysis can resolve them
    without importing user code."""
    for entry in value:
        module, sep, qualname = entry.partition(":")
        if not (sep and _dotted(module) and _dotted(qualname)):
            raise ConfigError(
                f"{where}: {entry!r} is not of the form 'module:qualname' "
                "(e.g. 'mypkg.metrics:start_reporter')"
            )
    return tuple(dict.fromkeys(value))


TARGET_PLATFORMS = ("linux", "darwin", "win32")


def _target_platform(value: object, where: str) -> str:
    """The platform whose multiprocessing default applies: fork on Linux before 3.14,
    forkserver on Linux from 3.14, spawn on macOS and Windows."""
    if not isinstance(value, str) or value not in TARGET_PLATFORMS:
        shown = repr(value) if isinstance(value, str) else _type_name(value)
        raise ConfigError(f"{where}: expected one of {', '.join(TARGET_PLATFORMS)}, got {shown}")
    return value


def _target_version(value: object, where: str) -> tuple[int, int]:
    if isinstance(value, str) and value in TARGET_VERSIONS:
        return TARGET_VERSIONS[value]
    shown = repr(value) if isinstance(value, str) else _type_name(value)
    raise ConfigError(f"{where}: expected one of py37, py38, ..., py315, got {shown}")


_CLAUSE = re.compile(
    r"(?P<op>===|==|~=|!=|<=|>=|<|>|\^|~|=)?\s*v?(?P<major>\d+)"
    r"(?:\.(?P<minor>\d+|\*))?(?P<patch>\.(?:\d+|\*))?(?:\.\d+)*(?:[a-z+][a-z0-9.+\-_]*)?",
    re.I,
)


def _clause_lower_bound(clause: str) -> tuple[int, int] | None:
    m = _CLAUSE.fullmatch(clause.strip())
    if m is None:
        raise ValueError(clause)
    op, major, minor = m["op"] or "==", int(m["major"]), m["minor"]
    if op in ("<", "<=", "!="):
        return None
    low = (major, 0 if minor in (None, "*") else int(minor))
    if op == ">" and not m["patch"] and minor != "*":
        low = (major + 1, 0) if minor is None else (major, low[1] + 1)
    return low


def parse_requires_python(spec: str) -> tuple[int, int] | None:
    """Lowest Python (major, minor) a PEP 440 or Poetry specifier admits, or None.

    None when the specifier has no lower bound or cannot be parsed: then the caller
    falls back to the default instead of guessing.
    """
    bounds: list[tuple[int, int]] = []
    try:
        for alternative in spec.split("||"):  # Poetry's "or"
            clauses = [c for c in alternative.split(",") if c.strip() not in ("", "*")]
            lows = [low for c in clauses if (low := _clause_lower_bound(c)) is not None]
            if not lows:
                return None
            bounds.append(max(lows))
    except ValueError:
        return None
    low = min(bounds)
    if low[0] > 3:
        return None
    return max(OLDEST, min(low, NEWEST)) if low[0] == 3 else OLDEST


def _inferred_target_version(pyproject: dict[str, Any] | None) -> tuple[tuple[int, int], str]:
    if pyproject is not None:
        project = pyproject.get("project")
        spec = project.get("requires-python") if isinstance(project, dict) else None
        if isinstance(spec, str) and (low := parse_requires_python(spec)):
            return low, "pyproject.toml requires-python"
        tool = pyproject.get("tool")
        poetry = tool.get("poetry") if isinstance(tool, dict) else None
        deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
        spec = deps.get("python") if isinstance(deps, dict) else None
        if isinstance(spec, str) and (low := parse_requires_python(spec)):
            return low, "pyproject.toml [tool.poetry.dependencies] python"
    return DEFAULT_TARGET_VERSION, "default"


@dataclass
class _FileValues:
    """What the configuration file says, validated; None for keys it leaves out."""

    selection: _Selection
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    target_version: tuple[int, int] | None = None
    target_platform: str | None = None
    respect_gitignore: bool | None = None
    thread_sources: tuple[str, ...] = ()
    fork_sinks: tuple[str, ...] = ()
    fix_start_method: str | None = None
    fix_launch: LaunchOptions | None = None


_FIX_KEYS = ("start-method", "launch")
_START_METHODS = ("forkserver", "spawn")
_LAUNCH_KEYS = (
    "entry-module",
    "json-option",
    "serialize-expression",
    "target-methods",
    "workload-parameter",
    "popen-arguments",
)


def _unknown_key(key: str, known: Sequence[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"{where}.{_toml_key(key)}: unknown key{hint}")


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {_type_name(value)}")
    return value


def _parse_fix(table: object, where: str, values: _FileValues) -> None:
    """`[tool.fork-lint.fix]` and `[tool.fork-lint.fix.launch]`."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {_type_name(table)}")
    for key in table:
        if key not in _FIX_KEYS:
            raise _unknown_key(key, _FIX_KEYS, where)
    if "start-method" in table:
        method = _string(table["start-method"], f"{where}.start-method")
        if method not in _START_METHODS:
            raise ConfigError(
                f"{where}.start-method: expected 'forkserver' or 'spawn', got {method!r}"
            )
        values.fix_start_method = method
    if "launch" in table:
        values.fix_launch = _parse_launch(table["launch"], f"{where}.launch")


def _parse_launch(table: object, where: str) -> LaunchOptions:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {_type_name(table)}")
    for key in table:
        if key not in _LAUNCH_KEYS:
            raise _unknown_key(key, _LAUNCH_KEYS, where)
    out = LaunchOptions()
    if "entry-module" in table:
        module = _string(table["entry-module"], f"{where}.entry-module")
        if not _dotted(module):
            raise ConfigError(f"{where}.entry-module: {module!r} is not a dotted module name")
        out = dataclasses.replace(out, entry_module=module)
    if "json-option" in table:
        option = _string(table["json-option"], f"{where}.json-option")
        out = dataclasses.replace(out, json_option=option)
    if "serialize-expression" in table:
        w = f"{where}.serialize-expression"
        expr = _string(table["serialize-expression"], w)
        if "{workload}" not in expr:
            raise ConfigError(
                f"{w}: must contain '{{workload}}', e.g. '{{workload}}.model_dump_json()'"
            )
        try:
            ast.parse(expr.format(workload="workload"), mode="eval")
        except (SyntaxError, ValueError, IndexError, KeyError) as exc:
            raise ConfigError(f"{w}: not a Python expression: {exc}") from None
        out = dataclasses.replace(out, serialize_expression=expr)
    if "target-methods" in table:
        w = f"{where}.target-methods"
        methods = _string_list(table["target-methods"], w)
        for name in methods:
            if not name.isidentifier():
                raise ConfigError(f"{w}: {name!r} is not a method name")
        out = dataclasses.replace(out, target_methods=methods)
    if "workload-parameter" in table:
        w = f"{where}.workload-parameter"
        name = _string(table["workload-parameter"], w)
        if not name.isidentifier():
            raise ConfigError(f"{w}: {name!r} is not a parameter name")
        out = dataclasses.replace(out, workload_parameter=name)
    if "popen-arguments" in table:
        w = f"{where}.popen-arguments"
        arguments = _string_list(table["popen-arguments"], w)
        for argument in arguments:
            try:
                call = ast.parse(f"f({argument})", mode="eval").body
            except SyntaxError:
                call = None
            if not (
                isinstance(call, ast.Call)
                and not call.args
                and len(call.keywords) == 1
                and call.keywords[0].arg is not None
            ):
                raise ConfigError(f"{w}: {argument!r} is not of the form 'name=expression'")
        out = dataclasses.replace(out, popen_arguments=arguments)
    return out


def _parse_table(table: dict[str, Any], prefix: str) -> _FileValues:
    """Validate a `[tool.fork-lint]` table (or a fork-lint.toml document); `prefix`
    starts every message, e.g. "pyproject.toml: [tool.fork-lint] "."""

    def where(key: str) -> str:
        return prefix + key

    for key in table:
        if key not in _KEYS:
            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where(key)}: unknown key{hint}")

    def codes(key: str) -> tuple[str, ...]:
        selectors = _string_list(table[key], where(key))
        validate_codes(selectors, where(key))
        return selectors

    select = codes("select") if "select" in table else None
    extend = codes("extend-select") if "extend-select" in table else ()
    ignore = codes("ignore") if "ignore" in table else ()
    values = _FileValues(_Selection(select, extend, ignore))
    if "exclude" in table:
        values.exclude = _string_list(table["exclude"], where("exclude"))
    if "extend-exclude" in table:
        values.extend_exclude = _string_list(table["extend-exclude"], where("extend-exclude"))
    if "per-file-ignores" in table:
        pfi = table["per-file-ignores"]
        if not isinstance(pfi, dict):
            raise ConfigError(
                f"{where('per-file-ignores')}: expected a table, got {_type_name(pfi)}"
            )
        entries = []
        for pattern, selectors in pfi.items():
            w = f"{where('per-file-ignores')}.{_toml_key(pattern)}"
            entries.append((pattern, validate_codes(_string_list(selectors, w), w)))
        values.per_file_ignores = tuple(entries)
    if "target-version" in table:
        values.target_version = _target_version(table["target-version"], where("target-version"))
    if "target-platform" in table:
        values.target_platform = _target_platform(
            table["target-platform"], where("target-platform")
        )
    if "respect-gitignore" in table:
        flag = table["respect-gitignore"]
        if not isinstance(flag, bool):
            raise ConfigError(
                f"{where('respect-gitignore')}: expected a boolean, got {_type_name(flag)}"
            )
        values.respect_gitignore = flag
    for key in ("thread-sources", "fork-sinks"):
        if key in table:
            names = _qualified_names(_string_list(table[key], where(key)), where(key))
            setattr(values, key.replace("-", "_"), names)
    if "fix" in table:
        _parse_fix(table["fix"], where("fix"), values)
    return values


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + key.replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------- loading


def _explicit_config(path: Path) -> _Located:
    path = Path(os.path.abspath(path))
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "no such file"
        raise ConfigError(f"{_display(path)}: {problem} (given as --config)")
    data = _read_toml(path) if path.name == "pyproject.toml" else None
    return _Located(path.parent, path, data)


def _file_values(located: _Located) -> tuple[_FileValues, str]:
    """Values from the config file, and the label its target-version is reported under."""
    path = located.config_file
    if path is None:
        return _FileValues(_Selection()), ""
    if path.name == "pyproject.toml":
        data = located.pyproject if located.pyproject is not None else _read_toml(path)
        table = _fork_lint_table(data)
        label = f"{_display(path)}: {TOOL_TABLE}"
        if table is not None and not isinstance(table, dict):
            raise ConfigError(f"{label}: expected a table, got {_type_name(table)}")
        values = _parse_table(table or {}, label + " ")
        return values, f"pyproject.toml {TOOL_TABLE} target-version"
    return _parse_table(_read_toml(path), f"{_display(path)}: "), f"{path.name} target-version"


def load_settings(paths: Sequence[Path], overrides: Overrides) -> Settings:
    """Resolve settings: defaults < configuration file < command line.

    The configuration file is `overrides.config`, or the one `find_project_root`
    finds; `requires-python` is read from the pyproject.toml in the project root.
    """
    if overrides.isolated:
        located = _locate(paths, read_config=False)
        pyproject: dict[str, Any] | None = None
    else:
        located = _explicit_config(overrides.config) if overrides.config else _locate(paths)
        pyproject = located.pyproject
        if pyproject is None and (located.root / "pyproject.toml").is_file():
            pyproject = _read_toml(located.root / "pyproject.toml")
    values, tv_label = _file_values(located)

    def cli_codes(flag: str, value: Sequence[str] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        validate_codes(value, flag)
        return tuple(value)

    cli = _Selection(
        cli_codes("--select", overrides.select),
        cli_codes("--extend-select", overrides.extend_select) or (),
        cli_codes("--ignore", overrides.ignore) or (),
    )
    select = _resolve_selection([_Selection(tuple(DEFAULT_SELECT)), values.selection, cli])

    if overrides.target_version is not None:
        target = _target_version(overrides.target_version, "--target-version")
        source = "command line"
    elif values.target_version is not None:
        target, source = values.target_version, tv_label
    else:
        target, source = _inferred_target_version(pyproject)

    per_file_ignores = values.per_file_ignores
    if overrides.per_file_ignores is not None:
        per_file_ignores = tuple(
            (pattern, validate_codes(codes, "--per-file-ignores"))
            for pattern, codes in overrides.per_file_ignores
        )
    if overrides.exclude is not None:
        exclude = tuple(overrides.exclude)
    elif values.exclude is not None:
        exclude = values.exclude
    else:
        exclude = DEFAULT_EXCLUDES
    respect_gitignore = next(
        (v for v in (overrides.respect_gitignore, values.respect_gitignore) if v is not None),
        True,
    )
    return Settings(
        project_root=located.root,
        config_file=located.config_file,
        select=select,
        per_file_ignores=per_file_ignores,
        exclude=exclude,
        extend_exclude=(*values.extend_exclude, *(overrides.extend_exclude or ())),
        respect_gitignore=respect_gitignore,
        target_version=target,
        target_version_source=source,
        thread_sources=values.thread_sources,
        fork_sinks=values.fork_sinks,
        target_platform=(
            _target_platform(overrides.target_platform, "--target-platform")
            if overrides.target_platform is not None
            else values.target_platform or "linux"
        ),
        fix_start_method=values.fix_start_method or "forkserver",
        fix_launch=values.fix_launch or LaunchOptions(),
    )
