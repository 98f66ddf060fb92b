"""Extract per-module facts with one walk over the ``ast`` tree.

This pass runs on every file of the project, so it stays within a small factor
of ``ast.parse``: no symbol resolution here (that needs the whole program), just
a faithful record of bindings, calls and their order. The walk is built in
layers (`walker`, `expressions`, `bindings`, `flow`); ``# noqa`` comments are
read by `noqa`.
"""

from __future__ import annotations

import ast
import sys
import warnings

from fork_lint.index.facts import ModuleFacts
from fork_lint.index.flow import Statements
from fork_lint.index.noqa import parse_noqa

__all__ = ["extract", "module_name_for", "parse_noqa"]


class _Extractor(Statements):
    """The walk of one module, all layers together."""


def module_name_for(relpath: str) -> tuple[str, bool]:
    """``pkg/sub/mod.py`` -> ``pkg.sub.mod``; ``pkg/__init__.py`` -> (``pkg``, True)."""
    parts = relpath.replace("\\", "/").split("/")
    last = parts[-1]
    for suffix in (".pyi", ".py"):
        if last.endswith(suffix):
            last = last[: -len(suffix)]
            break
    is_package = last == "__init__"
    parts = parts[:-1] if is_package else [*parts[:-1], last]
    parts = [p for p in parts if p not in ("", ".")]
    return ".".join(parts) or "__init__", is_package


def extract(source: str, path: str, module: str, is_package: bool) -> ModuleFacts:
    facts: ModuleFacts = {
        "path": path,
        "module": module,
        "is_package": is_package,
        "scopes": [],
        "calls": [],
        "star_imports": [],
        "noqa": {},
        "error": None,
    }
    tree = _parse(source, path, facts)
    # Without a tree (FRK900), a noqa comment cannot be told from text in a string.
    columns: dict[str, tuple[int, int]] = {}
    facts["noqa"] = parse_noqa(source, tree, columns)
    if columns:
        facts["noqa_cols"] = columns
    if tree is None:
        return facts
    ex = _Extractor(source, module, is_package, facts)
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(limit, 10_000))
        ex.run(tree)
    except RecursionError:
        facts["scopes"], facts["calls"] = [], []
        facts["error"] = ("FRK900", "cannot analyse: nesting too deep", 1, 0)
    finally:
        sys.setrecursionlimit(limit)
    return facts


def _parse(source: str, path: str, facts: ModuleFacts) -> ast.Module | None:
    """The module's tree, or None with the FRK900 error recorded in ``facts``."""
    if "\x00" in source:
        # 3.10 raises ValueError here, later versions SyntaxError: say it one way.
        line = source.count("\n", 0, source.index("\x00")) + 1
        message = "SyntaxError: source code string cannot contain null bytes"
        facts["error"] = ("FRK900", message, line, 0)
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes etc.
            return ast.parse(source, filename=path, type_comments=False)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = max((exc.offset or 1) - 1, 0)
        facts["error"] = ("FRK900", f"SyntaxError: {exc.msg}", line, col)
    except (ValueError, MemoryError) as exc:  # NUL bytes, absurd sizes
        facts["error"] = ("FRK900", f"cannot parse: {exc}", 1, 0)
    except RecursionError:
        facts["error"] = ("FRK900", "cannot parse: nesting too deep for the parser", 1, 0)
    return None
