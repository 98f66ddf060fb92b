"""Settings from `[tool.fork-lint]`, `fork-lint.toml` and the command line.

Key names, selector semantics and path globs follow ruff, so a project that
already configures ruff can configure fork-lint without learning a new dialect.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import keyword
import os
import posixpath
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fork_lint.fixes.options import LaunchOptions
from fork_lint.formatting import MAX_LINE_LENGTH, formatter_line_length, valid_length
from fork_lint.fsio import read_regular
from fork_lint.globs import GlobMatcher, matcher
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
    "unsafe-fixes",
    "output-format",
    "cache-dir",
    "extend",
    "line-length",
)
# The names of `output.FORMATS` (kept here so that reading a configuration does not
# import every reporter; a test keeps the two equal).
OUTPUT_FORMATS = ("concise", "full", "github", "gitlab", "json", "junit", "sarif")


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
    fix: bool = False  # `fix = true`: apply safe fixes without `--fix`
    unsafe_fixes: bool = False  # `unsafe-fixes = true`: offer and apply unsafe fixes too
    output_format: str | None = None  # `output-format`; None: the command line's default
    cache_dir: Path | None = None  # `cache-dir`, absolute; None: the default place
    config_files: tuple[Path, ...] = ()  # every file read, extended ones first
    # Where fixes wrap lines: `line-length`, else ruff's, else black's (`formatting`).
    line_length: int = 88
    line_length_source: str = "default"

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
            hit = matcher(pattern[1:] if negated else pattern, self.project_root).match(path, name)
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
    # `--config "KEY = VALUE"`: TOML pairs as a configuration file would hold them,
    # above every configuration file (applied in order).
    config_values: Sequence[str] = ()
    # Added to the configured ones (the flake8 plugin's options).
    extend_thread_sources: Sequence[str] = ()
    extend_fork_sinks: Sequence[str] = ()


# ---------------------------------------------------------------------------- locating files


def _display(path: Path) -> str:
    """Paths in messages: relative to the working directory when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Far beyond any real configuration, far below the interpreter's recursion limit.
_MAX_TOML_NESTING = 100


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and inline tables, outside strings and comments.

    A lexical scan, not a parse: table headers open and close on their line, so
    they add nothing to the depth that remains.
    """
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                if c == '"' and text[i] == "\\":
                    i += 1
                elif len(quote) == 1 and text[i] == "\n":
                    break
                i += 1
            i += len(quote)
            continue
        i += 1
    return deepest


def _read_toml(path: Path, raw: bytes | None = None) -> dict[str, Any]:
    try:
        data = (read_regular(path) if raw is None else raw).decode("utf-8")
    except OSError as e:
        raise ConfigError(f"{_display(path)}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{_display(path)}: invalid TOML: not UTF-8 ({e.reason})") from None
    too_deep = ConfigError(
        f"{_display(path)}: invalid TOML: arrays or inline tables nested too deeply"
    )
    # tomllib parses nested arrays and inline tables recursively: refused before
    # parsing, since a RecursionError deep inside the parser can also fail in
    # finalisers and print to stderr on its way out.
    if _nesting_depth(data) > _MAX_TOML_NESTING:
        raise too_deep
    try:
        return tomllib.loads(data)
    except RecursionError:
        raise too_deep from None
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


def _locate(
    paths: Sequence[Path], *, read_config: bool = True, cwd: Path | None = None
) -> _Located:
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
    cwd = Path(os.path.abspath(cwd)) if cwd is not None else Path.cwd()
    if start == cwd or cwd in start.parents:
        return _Located(cwd)
    from fork_lint.index.source import package_root

    # A directory outside the working directory with no project around it (an
    # unpacked sdist or wheel): module names start above its outermost package.
    return _Located(package_root(start))


def find_project_root(paths: Sequence[Path], *, cwd: Path | None = None) -> Path:
    """The directory that patterns and per-file-ignores are relative to.

    Walk up from the first path (or the working directory) and stop at the nearest
    directory with `.fork-lint.toml`, `fork-lint.toml` or a `pyproject.toml` holding
    `[tool.fork-lint]` -- like ruff, which skips pyproject files without `[tool.ruff]`,
    so a sub-package's bare pyproject.toml does not hide the repository's settings.
    Without any, the nearest pyproject.toml, then the nearest `.git`, then the cwd
    if it holds the first path, else the directory above that path's outermost
    package (an unpacked wheel or sdist checked from elsewhere). `cwd` stands for the
    working directory: a run's own (`CheckRequest.cwd`), an editor's workspace folder.
    """
    return _locate(paths, cwd=cwd).root


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
    """What a configuration says, validated; None (or empty) for keys it leaves out."""

    selections: tuple[_Selection, ...] = ()  # one layer per file, extended ones first
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] | None = None
    target_version: tuple[int, int] | None = None
    target_version_source: str = ""  # where `target_version` was set, for --show-settings
    target_platform: str | None = None
    respect_gitignore: bool | None = None
    thread_sources: tuple[str, ...] | None = None
    fork_sinks: tuple[str, ...] | None = None
    fix: bool | None = None
    unsafe_fixes: bool | None = None
    output_format: str | None = None
    cache_dir: str | None = None
    line_length: int | None = None
    fix_start_method: str | None = None
    launch: dict[str, Any] = dataclasses.field(default_factory=dict)  # keys of [fix.launch]
    extend: str | None = None
    files: tuple[Path, ...] = ()

    def over(self, base: _FileValues) -> _FileValues:
        """These values on top of ``base`` (the file this one extends, or everything
        below a `--config KEY=VALUE`): what a layer sets replaces what is below it,
        except that `extend-exclude` and the rule selection add up, as in ruff."""

        def pick(name: str) -> Any:
            mine = getattr(self, name)
            return mine if mine is not None else getattr(base, name)

        return _FileValues(
            selections=(*base.selections, *self.selections),
            exclude=pick("exclude"),
            extend_exclude=(*base.extend_exclude, *self.extend_exclude),
            per_file_ignores=pick("per_file_ignores"),
            target_version=pick("target_version"),
            target_version_source=(
                self.target_version_source
                if self.target_version is not None
                else base.target_version_source
            ),
            target_platform=pick("target_platform"),
            respect_gitignore=pick("respect_gitignore"),
            thread_sources=pick("thread_sources"),
            fork_sinks=pick("fork_sinks"),
            fix=pick("fix"),
            unsafe_fixes=pick("unsafe_fixes"),
            output_format=pick("output_format"),
            cache_dir=pick("cache_dir"),
            line_length=pick("line_length"),
            fix_start_method=pick("fix_start_method"),
            launch={**base.launch, **self.launch},
            files=(*base.files, *self.files),
        )


_FIX_KEYS = ("apply", "start-method", "launch")
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


def line_length_value(value: object, where: str) -> int:
    if not valid_length(value):
        raise ConfigError(
            f"{where}: expected an integer from 1 to {MAX_LINE_LENGTH}, got {value!r}"
        )
    assert isinstance(value, int)
    return value


def _boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected a boolean, got {_type_name(value)}")
    return value


def _parse_fix(table: object, where: str, values: _FileValues) -> None:
    """`fix = true` (ruff's key: apply fixes without `--fix`), or the table
    `[tool.fork-lint.fix]` with `[tool.fork-lint.fix.launch]`, where `apply = true`
    says the same (TOML cannot hold both a `fix` value and a `fix` table)."""
    if isinstance(table, bool):
        values.fix = table
        return
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a boolean or a table, got {_type_name(table)}")
    for key in table:
        if key not in _FIX_KEYS:
            raise _unknown_key(key, _FIX_KEYS, where)
    if "apply" in table:
        values.fix = _boolean(table["apply"], f"{where}.apply")
    if "start-method" in table:
        method = _string(table["start-method"], f"{where}.start-method")
        if method not in _START_METHODS:
            raise ConfigError(
                f"{where}.start-method: expected 'forkserver' or 'spawn', got {method!r}"
            )
        values.fix_start_method = method
    if "launch" in table:
        values.launch = _parse_launch(table["launch"], f"{where}.launch")


def _parse_launch(table: object, where: str) -> dict[str, Any]:
    """The `LaunchOptions` fields the table sets (an extending file sets the others)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {_type_name(table)}")
    for key in table:
        if key not in _LAUNCH_KEYS:
            raise _unknown_key(key, _LAUNCH_KEYS, where)
    out: dict[str, Any] = {}
    if "entry-module" in table:
        module = _string(table["entry-module"], f"{where}.entry-module")
        if not _dotted(module):
            raise ConfigError(f"{where}.entry-module: {module!r} is not a dotted module name")
        out["entry_module"] = module
    if "json-option" in table:
        option = _string(table["json-option"], f"{where}.json-option")
        out["json_option"] = option
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
        out["serialize_expression"] = expr
    if "target-methods" in table:
        w = f"{where}.target-methods"
        methods = _string_list(table["target-methods"], w)
        for name in methods:
            if not name.isidentifier():
                raise ConfigError(f"{w}: {name!r} is not a method name")
        out["target_methods"] = methods
    if "workload-parameter" in table:
        w = f"{where}.workload-parameter"
        name = _string(table["workload-parameter"], w)
        if not name.isidentifier():
            raise ConfigError(f"{w}: {name!r} is not a parameter name")
        out["workload_parameter"] = name
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
        out["popen_arguments"] = arguments
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
    values = _FileValues((_Selection(select, extend, ignore),))
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
        values.respect_gitignore = _boolean(table["respect-gitignore"], where("respect-gitignore"))
    if "unsafe-fixes" in table:
        values.unsafe_fixes = _boolean(table["unsafe-fixes"], where("unsafe-fixes"))
    if "output-format" in table:
        fmt = _string(table["output-format"], where("output-format"))
        if fmt not in OUTPUT_FORMATS:
            known = ", ".join(OUTPUT_FORMATS)
            raise ConfigError(f"{where('output-format')}: expected one of {known}, got {fmt!r}")
        values.output_format = fmt
    if "line-length" in table:
        values.line_length = line_length_value(table["line-length"], where("line-length"))
    for key in ("cache-dir", "extend"):
        if key in table:
            text = _string(table[key], where(key))
            if not text.strip():
                raise ConfigError(f"{where(key)}: expected a path, got an empty string")
            setattr(values, key.replace("-", "_"), text)
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
    data = _read_toml(path)
    return _Located(path.parent, path, data if _pyproject_shaped(path, data) else None)


def _pyproject_shaped(path: Path, data: dict[str, Any]) -> bool:
    """Whether a configuration file holds its settings in `[tool.fork-lint]`: a
    pyproject.toml, or any file with a pyproject's tables. A fork-lint.toml has
    none of them (they are not fork-lint keys), so its content tells it apart
    whatever its name."""
    return path.name == "pyproject.toml" or any(
        key in data for key in ("tool", "project", "build-system")
    )


def _read_config(
    path: Path, data: dict[str, Any] | None = None, chain: tuple[Path, ...] = ()
) -> _FileValues:
    """The values of one configuration file, on top of those of the file it extends."""
    data = data if data is not None else _read_toml(path)
    if _pyproject_shaped(path, data):
        table = _fork_lint_table(data)
        label = f"{_display(path)}: {TOOL_TABLE}"
        if table is not None and not isinstance(table, dict):
            raise ConfigError(f"{label}: expected a table, got {_type_name(table)}")
        values = _parse_table(table or {}, label + " ")
        source = f"{path.name} {TOOL_TABLE} target-version"
        where = f"{label} extend"
    else:
        values = _parse_table(data, f"{_display(path)}: ")
        source = f"{path.name} target-version"
        where = f"{_display(path)}: extend"
    values.target_version_source = source
    values.files = (path,)
    if values.extend is None:
        return values
    base = _extended(values.extend, path.parent, where)
    if base == path or base in chain:
        raise ConfigError(f"{where}: {_display(base)} extends this file again (a cycle)")
    return values.over(_read_config(base, chain=(*chain, path)))


def _extended(text: str, directory: Path, where: str) -> Path:
    """The file `extend` names: ``~`` and environment variables expanded, relative
    to the directory of the file that names it."""
    path = Path(os.path.expandvars(os.path.expanduser(text)))
    path = Path(os.path.abspath(directory / path))
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "no such file"
        raise ConfigError(f"{where}: {_display(path)}: {problem}")
    return path


def _inline_values(pairs: Sequence[str]) -> _FileValues:
    """`--config "KEY = VALUE"` pairs, each a TOML document in a fork-lint.toml's shape."""
    values = _FileValues()
    for text in pairs:
        where = f"--config {text!r}"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{where}: neither a configuration file nor a TOML 'KEY = VALUE' pair ({exc})"
            ) from None
        pair = _parse_table(data, f"{where}: ")
        pair.target_version_source = "--config"
        if pair.extend is not None:
            base = _extended(pair.extend, Path.cwd(), f"{where}: extend")
            pair = pair.over(_read_config(base))
        values = pair.over(values)
    return values


def load_settings(
    paths: Sequence[Path], overrides: Overrides, *, cwd: Path | None = None
) -> Settings:
    """Resolve settings: defaults < configuration file (< the files it extends)
    < `--config KEY=VALUE` < the other command-line options.

    The configuration file is `overrides.config`, or the one `find_project_root`
    finds (from `cwd`, the working directory); `requires-python` is read from the
    pyproject.toml in the project root.
    """
    if overrides.isolated:
        located = _locate(paths, read_config=False, cwd=cwd)
        pyproject: dict[str, Any] | None = None
    else:
        located = (
            _explicit_config(overrides.config) if overrides.config else _locate(paths, cwd=cwd)
        )
        pyproject = located.pyproject
        if pyproject is None and (located.root / "pyproject.toml").is_file():
            pyproject = _read_toml(located.root / "pyproject.toml")
    values = _FileValues()
    if located.config_file is not None:
        values = _read_config(located.config_file, located.pyproject)
    if overrides.config_values:
        values = _inline_values(overrides.config_values).over(values)

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
    select = _resolve_selection([_Selection(tuple(DEFAULT_SELECT)), *values.selections, cli])

    if overrides.target_version is not None:
        target = _target_version(overrides.target_version, "--target-version")
        source = "command line"
    elif values.target_version is not None:
        target, source = values.target_version, values.target_version_source
    else:
        target, source = _inferred_target_version(pyproject)

    per_file_ignores = values.per_file_ignores or ()
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
        thread_sources=_extended_names(values.thread_sources, overrides.extend_thread_sources),
        fork_sinks=_extended_names(values.fork_sinks, overrides.extend_fork_sinks),
        target_platform=(
            _target_platform(overrides.target_platform, "--target-platform")
            if overrides.target_platform is not None
            else values.target_platform or "linux"
        ),
        fix_start_method=values.fix_start_method or "forkserver",
        fix_launch=dataclasses.replace(LaunchOptions(), **values.launch),
        fix=bool(values.fix),
        unsafe_fixes=bool(values.unsafe_fixes),
        output_format=values.output_format,
        cache_dir=_cache_dir(values.cache_dir, located.root),
        config_files=values.files,
        **_line_length(values, pyproject, located.root),
    )


def _line_length(values: _FileValues, pyproject: dict[str, Any] | None, root: Path) -> Any:
    if values.line_length is not None:
        return {"line_length": values.line_length, "line_length_source": "line-length"}
    length, source = formatter_line_length(pyproject, root)
    return {"line_length": length, "line_length_source": source}


def _extended_names(configured: tuple[str, ...] | None, extra: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*(configured or ()), *extra)))


def _cache_dir(text: str | None, root: Path) -> Path | None:
    """`cache-dir`, relative to the project root, ``~`` and variables expanded."""
    if text is None:
        return None
    path = Path(os.path.expandvars(os.path.expanduser(text)))
    return Path(os.path.abspath(root / path))
