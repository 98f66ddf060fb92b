"""Rule documentation pages (``docs/rules/<code>.md``), for the command line and reporters.

A wheel carries the pages as package data under ``fork_lint/_docs/rules`` (pyproject
force-includes ``docs/rules`` there). An editable install or a source checkout has no
package data, so the pages are then read from the repository's ``docs/rules``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fork_lint.rules import BY_CODE

# How far above the package directory a checkout's docs/rules may be:
# src/fork_lint -> src -> repository root.
_MAX_LEVELS_UP = 3


def rule_doc(code: str) -> str:
    """Return the markdown page of rule ``code`` (e.g. ``"FRK001"``; case is ignored).

    Raises KeyError for a code that is not a rule, and FileNotFoundError when the
    code is known but its page is missing (a packaging error).
    """
    normalized = code.strip().upper()
    if normalized not in BY_CODE:
        raise KeyError(code)
    name = f"{normalized}.md"

    packaged = files("fork_lint") / "_docs" / "rules" / name
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")

    checkout = _checkout_page(name)
    if checkout is not None:
        return checkout.read_text(encoding="utf-8")
    raise FileNotFoundError(f"documentation page {name} is missing from the fork-lint install")


def _checkout_page(name: str) -> Path | None:
    package_dir = Path(__file__).resolve().parent
    for directory in (package_dir, *package_dir.parents[: _MAX_LEVELS_UP - 1]):
        candidate = directory / "docs" / "rules" / name
        if candidate.is_file():
            return candidate
    return None
