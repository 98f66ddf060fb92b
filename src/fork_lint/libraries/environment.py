"""The Python environment whose libraries the project imports, read without running it.

fork-lint sees through library code (`fork_lint.libraries`) by reading the
library's source, so it must find that source as the interpreter would: the
standard library of the environment's Python, its ``site-packages``, the paths
its ``.pth`` files add, editable installs, namespace packages. None of it is
found by running the environment's interpreter: starting it runs the ``import``
lines of every ``.pth`` file (code of the installed distributions), and asking it
for ``sys.path`` would be running what fork-lint only reads. Everything here is
derived from files: ``pyvenv.cfg``, the ``lib/pythonX.Y`` layout, ``.pth`` lines,
the ``*.dist-info`` folders, and the mapping literal of setuptools' editable
finders, parsed with `ast`.

Which environment (the first that applies):

1. ``--python PATH`` or ``python = "PATH"`` in ``[tool.fork-lint]``: an
   interpreter or the folder of an environment;
2. ``$VIRTUAL_ENV``;
3. a ``.venv`` or ``venv`` folder with a ``pyvenv.cfg`` in the project root;
4. the interpreter running fork-lint.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path

from fork_lint.fsio import read_regular

__all__ = [
    "Distribution",
    "Environment",
    "EnvironmentNotFound",
    "ModuleSource",
    "find_environment",
    "normalize_name",
]

# Files larger than this are not configuration: a .pth, pyvenv.cfg, METADATA,
# RECORD or editable finder this big is skipped rather than read into memory.
_MAX_META_BYTES = 8 * 1024 * 1024
_LIB_PYTHON = re.compile(r"^python(\d+)\.(\d+)t?$")
_NAME_NORMALIZE = re.compile(r"[-_.]+")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_SOURCE_SUFFIXES = (".py", ".pyi")


class EnvironmentNotFound(Exception):
    """The environment named by ``--python`` or the configuration cannot be used."""


def normalize_name(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``Foo_Bar`` is ``foo-bar``."""
    return _NAME_NORMALIZE.sub("-", name).lower()


@dataclass(frozen=True)
class Distribution:
    """An installed distribution, from its ``*.dist-info`` folder."""

    name: str  # normalised (`normalize_name`)
    version: str
    dist_info: Path
    # Import names it provides: from top_level.txt, else the top-level entries of RECORD.
    top_level: tuple[str, ...]
    requires: tuple[str, ...]  # normalised names of the distributions it requires
    # SHA-256 of RECORD, which lists every installed file with its own hash: it
    # identifies the installed content (a model of it is valid while it is the same).
    record_digest: str
    editable: bool = False


@dataclass(frozen=True)
class ModuleSource:
    """Where a module's Python source is, or why it has none."""

    name: str
    path: Path | None  # the .py file (``__init__.py`` for a package); None: no source
    is_package: bool
    search_root: Path | None  # the sys.path entry it was found under
    # "source", "namespace" (a folder without __init__.py, possibly in several
    # roots), "extension" (a compiled module: no Python source), "builtin"
    kind: str = "source"
    portions: tuple[Path, ...] = ()  # the folders of a namespace package


@dataclass
class Environment:
    """A Python environment, as the files on disk describe it."""

    prefix: Path
    version: tuple[int, int] | None
    origin: str  # how it was chosen, for messages: "--python", "$VIRTUAL_ENV", ...
    stdlib: Path | None
    site_packages: tuple[Path, ...]
    # sys.path as the interpreter would build it (stdlib, lib-dynload, site-packages
    # and the paths their .pth files add), without the working directory.
    paths: tuple[Path, ...]
    # Top-level import names mapped to folders or files by setuptools' editable
    # finders (``__editable___*_finder.py``), which sys.path does not show.
    editable: Mapping[str, Path] = field(default_factory=dict)
    _dists: dict[str, Distribution] | None = field(default=None, repr=False)
    _by_module: dict[str, str] | None = field(default=None, repr=False)

    # -- modules ----------------------------------------------------------
    def find_module(self, name: str) -> ModuleSource | None:
        """The source of module ``name`` (dotted), searched as the import system
        would: a regular package or module in the first path that has one wins,
        namespace portions are merged; None when nothing provides it."""
        if not name or any(not part.isidentifier() for part in name.split(".")):
            return None
        head, _, rest = name.partition(".")
        if head in sys.builtin_module_names and not rest:
            return ModuleSource(name, None, False, None, kind="builtin")
        mapped = self.editable.get(head)
        roots: Sequence[Path] = self.paths
        if mapped is not None:
            # The finder maps the top-level name to one location, ahead of sys.path.
            found = _find_under(mapped.parent, name, mapped.name)
            if found is not None:
                return found
        return _search(roots, name)

    # -- distributions ----------------------------------------------------
    def distributions(self) -> dict[str, Distribution]:
        """Installed distributions by normalised name; the first found on the path
        wins, as ``importlib.metadata`` does."""
        if self._dists is None:
            dists: dict[str, Distribution] = {}
            for root in self.paths:
                for dist in _dist_infos(root):
                    dists.setdefault(dist.name, dist)
            self._dists = dists
        return self._dists

    def distribution_of(self, module: str) -> Distribution | None:
        """The distribution that provides the top-level package of ``module``."""
        if self._by_module is None:
            by_module: dict[str, str] = {}
            for dist in self.distributions().values():
                for top in dist.top_level:
                    by_module.setdefault(top, dist.name)
            self._by_module = by_module
        name = self._by_module.get(module.partition(".")[0])
        return None if name is None else self.distributions().get(name)

    def is_stdlib(self, module: str) -> bool:
        """Whether ``module`` belongs to the standard library of this environment."""
        found = self.find_module(module.partition(".")[0])
        if found is None or found.search_root is None:
            return found is not None and found.kind == "builtin"
        return self.stdlib is not None and found.search_root in (
            self.stdlib,
            self.stdlib / "lib-dynload",
        )


# ---------------------------------------------------------------------------- choice


def find_environment(
    python: str | Path | None,
    project_root: Path,
    *,
    environ: Mapping[str, str] | None = None,
) -> Environment:
    """The environment to resolve library imports in (see the module docstring).

    Raises `EnvironmentNotFound` only for an explicitly named ``python`` that is not an
    environment; the other sources are skipped when they do not hold one.
    """
    env = os.environ if environ is None else environ
    if python is not None:
        prefix = _prefix_of(Path(python).expanduser())
        if prefix is None:
            raise EnvironmentNotFound(f"{python}: not a Python interpreter or environment")
        return read_environment(prefix, "--python")
    virtual = env.get("VIRTUAL_ENV")
    if virtual:
        prefix = _prefix_of(Path(virtual))
        if prefix is not None:
            return read_environment(prefix, "$VIRTUAL_ENV")
    for name in (".venv", "venv"):
        candidate = project_root / name
        if (candidate / "pyvenv.cfg").is_file():
            return read_environment(candidate, f"{name} in the project root")
    return read_environment(Path(sys.prefix), "the running interpreter")


def _prefix_of(path: Path) -> Path | None:
    """The environment folder of an interpreter path or of an environment folder."""
    if path.is_dir():
        if (path / "pyvenv.cfg").is_file() or _lib_dirs(path):
            return path
        return None
    if not path.exists():
        return None
    # bin/python (POSIX) or Scripts/python.exe / python.exe (Windows)
    for prefix in (path.parent.parent, path.parent):
        if (prefix / "pyvenv.cfg").is_file():
            return prefix
    real = Path(os.path.realpath(path))  # the interpreter the user named
    for prefix in (real.parent.parent, real.parent):
        if _lib_dirs(prefix) or (prefix / "Lib" / "os.py").is_file():
            return prefix
    return None


def read_environment(prefix: Path, origin: str) -> Environment:
    """The environment whose folder is ``prefix`` (a venv or an installation)."""
    cfg = _pyvenv_cfg(prefix)
    version = _cfg_version(cfg) or _version_from_lib(prefix)
    base = prefix
    home = cfg.get("home")
    if home:
        found = _prefix_of(Path(home) / "python") or _installation_above(Path(home))
        if found is not None:
            base = found
    if version is None:
        version = _version_from_lib(base)
    stdlib = _stdlib_dir(base, version)
    site = _site_dirs(prefix, version)
    if cfg.get("include-system-site-packages", "false").lower() == "true" and base != prefix:
        site += [s for s in _site_dirs(base, version) if s not in site]
    paths: list[Path] = []
    if stdlib is not None:
        paths.append(stdlib)
        dynload = stdlib / "lib-dynload"
        if dynload.is_dir():
            paths.append(dynload)
    editable: dict[str, Path] = {}
    for directory in site:
        paths.append(directory)
        for extra in _pth_paths(directory, editable):
            if extra not in paths:
                paths.append(extra)
    return Environment(
        prefix=prefix,
        version=version,
        origin=origin,
        stdlib=stdlib,
        site_packages=tuple(site),
        paths=tuple(paths),
        editable=editable,
    )


def _installation_above(home: Path) -> Path | None:
    """``home`` in pyvenv.cfg names the base interpreter's folder (its ``bin``)."""
    for prefix in (home.parent, home):
        if _lib_dirs(prefix) or (prefix / "Lib" / "os.py").is_file():
            return prefix
    return None


def _read_small(path: Path) -> bytes | None:
    """A configuration file's bytes; None when it is missing, not a regular file
    (a FIFO or device would block or never end) or too large."""
    try:
        return read_regular(path, _MAX_META_BYTES)
    except OSError:
        return None


def _read_text(path: Path) -> str | None:
    data = _read_small(path)
    return None if data is None else data.decode("utf-8", "replace")


def _pyvenv_cfg(prefix: Path) -> dict[str, str]:
    text = _read_text(prefix / "pyvenv.cfg")
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def _cfg_version(cfg: Mapping[str, str]) -> tuple[int, int] | None:
    for key in ("version_info", "version"):
        m = re.match(r"(\d+)\.(\d+)", cfg.get(key, ""))
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def _lib_dirs(prefix: Path) -> list[tuple[tuple[int, int], Path]]:
    """``lib/pythonX.Y`` folders under ``prefix``, newest first; ``lib64`` is often a
    link to ``lib`` (venvs on some Linux distributions): each folder is listed once."""
    found = []
    seen: set[str] = set()
    for lib in ("lib", "lib64"):
        try:
            entries = list(os.scandir(prefix / lib))
        except OSError:
            continue
        for entry in entries:
            m = _LIB_PYTHON.match(entry.name)
            real = os.path.realpath(entry.path)
            if m and entry.is_dir() and real not in seen:
                seen.add(real)
                found.append(((int(m.group(1)), int(m.group(2))), Path(entry.path)))
    return sorted(found, reverse=True)


def _version_from_lib(prefix: Path) -> tuple[int, int] | None:
    for version, path in _lib_dirs(prefix):
        if (path / "os.py").is_file() or (path / "site-packages").is_dir():
            return version
    return None


def _stdlib_dir(base: Path, version: tuple[int, int] | None) -> Path | None:
    for found_version, path in _lib_dirs(base):
        if (version is None or found_version == version) and (path / "os.py").is_file():
            return path
    windows = base / "Lib"
    return windows if (windows / "os.py").is_file() else None


def _site_dirs(prefix: Path, version: tuple[int, int] | None) -> list[Path]:
    out = []
    for found_version, path in _lib_dirs(prefix):
        site = path / "site-packages"
        if (version is None or found_version == version) and site.is_dir() and site not in out:
            out.append(site)
    windows = prefix / "Lib" / "site-packages"
    if windows.is_dir() and windows not in out:
        out.append(windows)
    return out


# ---------------------------------------------------------------------------- .pth files


def _pth_paths(site: Path, editable: dict[str, Path]) -> Iterator[Path]:
    """The folders the ``.pth`` files of ``site`` add to sys.path, in the order
    `site.addpackage` adds them (files sorted by name). ``import`` lines are
    code: never run; setuptools' editable finders among them are read instead."""
    try:
        names = sorted(e.name for e in os.scandir(site) if e.name.endswith(".pth"))
    except OSError:
        return
    for name in names:
        text = _read_text(site / name)
        if text is None:
            continue
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(("import ", "import\t")):
                for module in re.findall(r"__editable___[\w.-]+_finder", line):
                    editable.update(_editable_mapping(site / f"{module}.py"))
                continue
            path = Path(line) if os.path.isabs(line) else site / line
            if path.is_dir():
                yield Path(os.path.normpath(path))


def _editable_mapping(finder: Path) -> dict[str, Path]:
    """``MAPPING = {'pkg': '/src/pkg'}`` of a setuptools editable finder, read as a
    literal (the finder is code: it is parsed, never run)."""
    text = _read_text(finder)
    if text is None:
        return {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    for node in tree.body:
        if (
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and isinstance(node.value, ast.Dict)
            and any(
                isinstance(t, ast.Name) and t.id == "MAPPING"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
        ):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return {}
            if isinstance(value, dict):
                return {
                    str(k): Path(v)
                    for k, v in value.items()
                    if isinstance(k, str) and isinstance(v, str) and k.isidentifier()
                }
    return {}


# ---------------------------------------------------------------------------- module search


def _search(roots: Sequence[Path], name: str) -> ModuleSource | None:
    parts = name.split(".")
    portions: list[Path] = []
    for root in roots:
        found = _find_under(root, name, parts[0])
        if found is None:
            continue
        if found.kind != "namespace":
            return found
        portions.extend(found.portions)
    if portions:
        return ModuleSource(name, None, True, None, kind="namespace", portions=tuple(portions))
    return None


def _find_under(root: Path, name: str, top: str) -> ModuleSource | None:
    """Module ``name`` under one sys.path entry ``root``; ``top`` is the folder or
    file name its first part has there (the import name, or an editable mapping's)."""
    parts = name.split(".")
    base = root / top
    for part in parts[1:]:
        if not base.is_dir():
            return None
        base = base / part
    if base.is_dir():
        init = base / "__init__.py"
        if init.is_file():
            return ModuleSource(name, init, True, root)
        if _extension(base, "__init__") is not None:
            return ModuleSource(name, None, True, root, kind="extension")
        return ModuleSource(name, None, True, root, kind="namespace", portions=(base,))
    for suffix in _SOURCE_SUFFIXES:
        candidate = base.with_name(base.name + suffix)
        if candidate.is_file():
            return ModuleSource(name, candidate, False, root)
    if _extension(base.parent, base.name) is not None:
        return ModuleSource(name, None, False, root, kind="extension")
    return None


def _extension(directory: Path, stem: str) -> Path | None:
    """A compiled module ``stem`` in ``directory`` (``stem.cpython-311-x86_64-linux-gnu.so``,
    ``stem.pyd``, ``stem.so``)."""
    try:
        entries = os.scandir(directory)
    except OSError:
        return None
    with entries:
        for entry in entries:
            n = entry.name
            if n.startswith(stem + ".") and n.endswith((".so", ".pyd")):
                return Path(entry.path)
    return None


# ---------------------------------------------------------------------------- distributions


def _dist_infos(root: Path) -> Iterator[Distribution]:
    try:
        names = sorted(e.name for e in os.scandir(root) if e.name.endswith(".dist-info"))
    except OSError:
        return
    for name in names:
        dist = _read_dist_info(root / name)
        if dist is not None:
            yield dist


def _read_dist_info(path: Path) -> Distribution | None:
    text = _read_text(path / "METADATA")
    if text is None:
        return None
    meta = HeaderParser().parsestr(text)
    raw_name, version = meta.get("Name"), meta.get("Version")
    if not raw_name or not version:
        return None
    requires = []
    for req in meta.get_all("Requires-Dist") or ():
        if "extra ==" in req.replace("extra==", "extra =="):
            continue  # needed only with an extra the environment may not have
        m = _REQUIREMENT_NAME.match(req)
        if m:
            requires.append(normalize_name(m.group(1)))
    record = _read_small(path / "RECORD") or b""
    top = _top_level(path, record)
    direct = _read_text(path / "direct_url.json") or ""
    editable = bool(re.search(r'"editable"\s*:\s*true', direct))
    return Distribution(
        name=normalize_name(raw_name),
        version=version.strip(),
        dist_info=path,
        top_level=top,
        requires=tuple(dict.fromkeys(requires)),
        record_digest=hashlib.sha256(record).hexdigest(),
        editable=editable,
    )


def _top_level(path: Path, record: bytes) -> tuple[str, ...]:
    text = _read_text(path / "top_level.txt")
    if text is not None:
        names = [line.strip().replace("/", ".") for line in text.splitlines()]
        found = [n for n in names if n and all(p.isidentifier() for p in n.split("."))]
        if found:
            return tuple(dict.fromkeys(n.partition(".")[0] for n in found))
    out: list[str] = []
    for line in record.decode("utf-8", "replace").splitlines():
        file = line.split(",", 1)[0]
        if not file or file.startswith("..") or os.path.isabs(file):
            continue
        first, sep, _ = file.partition("/")
        if first.endswith((".dist-info", ".data")) or first == "__pycache__":
            continue
        if sep:
            top = first
        elif first.endswith(".py"):
            top = first[:-3]
        elif first.endswith((".so", ".pyd")):
            top = first.partition(".")[0]
        else:
            continue
        if top.isidentifier() and top not in out:
            out.append(top)
    return tuple(out)
