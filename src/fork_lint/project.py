"""Read the project's files and turn each into module facts."""

from __future__ import annotations

import io
import os
import tokenize
from collections.abc import Sequence
from pathlib import Path

from fork_lint.index.extract import extract, module_name_for
from fork_lint.index.facts import ModuleFacts


def display_path(path: Path, cwd: Path) -> str:
    """Paths as ruff prints them: relative to the working directory when inside it."""
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()


def module_for(path: Path, root: Path) -> tuple[str, bool]:
    """Module name from the path relative to the source root (``root`` or ``root/src``).

    Namespace packages (no ``__init__.py``, as in Airflow provider wheels) need
    the path, not the ``__init__.py`` chain; the solver also knows each module
    by the shorter name its innermost regular package gives it.
    """
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return module_name_for(path.name)
    parts = rel.parts
    if (
        len(parts) > 1
        and parts[0] in ("src", "lib")
        and not (root / parts[0] / "__init__.py").exists()
    ):
        parts = parts[1:]
    return module_name_for("/".join(parts))


def decode_source(data: bytes) -> str:
    """Decode like the interpreter does: BOM, then PEP 263 cookie, then UTF-8."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def read_facts(path: Path, shown: str, root: Path) -> ModuleFacts:
    module, is_package = module_for(path, root)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _error_facts(shown, module, is_package, f"cannot read file: {exc.strerror or exc}")
    try:
        source = decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return _error_facts(shown, module, is_package, f"cannot decode file: {exc}")
    return extract(source, shown, module, is_package)


def _error_facts(path: str, module: str, is_package: bool, message: str) -> ModuleFacts:
    return {
        "path": path,
        "module": module,
        "is_package": is_package,
        "scopes": [],
        "calls": [],
        "star_imports": [],
        "noqa": {},
        "error": ("FRK900", message, 1, 0),
    }


def collect_facts(files: Sequence[Path], root: Path, cwd: Path | None = None) -> list[ModuleFacts]:
    cwd = cwd or Path(os.getcwd())
    return [read_facts(f, display_path(f, cwd), root) for f in files]
