"""One file's bytes -> its module facts, and the names a file is known by.

The part of the indexing that worker processes run (`parallel`): it imports the
extractor and nothing of the analysis, the cache's store or the configuration.
`project` builds whole projects on top of it.
"""

from __future__ import annotations

import io
import tokenize
import traceback
from dataclasses import dataclass
from pathlib import Path

from fork_lint.cache import fact_digests
from fork_lint.index.extract import extract
from fork_lint.index.facts import (
    FORK_HINTS,
    PROCESS_HINTS,
    PROCESS_ROOTS,
    SINK_HINTS,
    ModuleFacts,
)
from fork_lint.interrupts import interruption

__all__ = [
    "SourceFile",
    "decode_source",
    "facts_from_bytes",
    "internal_error_facts",
    "may_hold_sink",
    "package_root",
    "read_error_facts",
]


def package_root(directory: Path) -> Path:
    """The parent of the outermost regular package that ``directory`` is in (or
    ``directory`` itself when it is not in one): where its modules' names start."""
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        directory = directory.parent
    return directory


def decode_source(data: bytes) -> str:
    """Decode like the interpreter does: BOM, then PEP 263 cookie, then UTF-8."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def may_hold_sink(source: str, facts: ModuleFacts) -> bool:
    """Whether this file could contain a fork sink, for skipping the call graph.

    Every built-in sink is spelled with one of `SINK_HINTS` somewhere in the
    project, except ``preexec_fn`` passed by position (the seventh positional
    argument of ``subprocess.Popen`` and friends), which the call sites show.
    """
    return any(h in source for h in SINK_HINTS) or _positional_preexec(facts)


def _positional_preexec(facts: ModuleFacts) -> bool:
    return any(len(site["args"]) > 6 for site in facts["calls"])


def _set_sink_hints(source: str, facts: ModuleFacts) -> None:
    """The pre-filter's flags of one file (see `engine.needs_call_graph`)."""
    if facts["error"] is not None:
        facts["maybe_sink"] = facts["process_only"] = facts["sink_root"] = False
        return
    fork = any(h in source for h in FORK_HINTS) or _positional_preexec(facts)
    process = any(h in source for h in PROCESS_HINTS)
    facts["maybe_sink"] = fork or process
    facts["process_only"] = process and not fork
    facts["sink_root"] = any(r in source for r in PROCESS_ROOTS)


def facts_from_bytes(data: bytes, shown: str, module: str, is_package: bool) -> ModuleFacts:
    """Facts of one file's content, with their digests; never raises for bad input
    (FRK900 facts instead)."""
    facts = _facts_from_bytes(data, shown, module, is_package)
    facts["digests"] = fact_digests(facts)
    return facts


def _facts_from_bytes(data: bytes, shown: str, module: str, is_package: bool) -> ModuleFacts:
    try:
        source = decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return _error_facts(shown, module, is_package, f"cannot decode file: {exc}")
    try:
        facts = extract(source, shown, module, is_package)
        _set_sink_hints(source, facts)
    except Exception as exc:  # a crash is a bug: report it on this file, go on with the others
        if interruption(exc) is not None:
            raise  # Ctrl-C: stop, however the clean-up it ran failed
        return internal_error_facts(shown, module, is_package, exc)
    return facts


def internal_error_facts(shown: str, module: str, is_package: bool, exc: Exception) -> ModuleFacts:
    """FRK999 facts for a file whose extraction raised; the traceback is kept for --verbose."""
    facts = _error_facts(shown, module, is_package, "")
    facts["error"] = ("FRK999", f"internal error: {type(exc).__name__}: {exc}", 1, 0)
    facts["traceback"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return facts


def read_error_facts(shown: str, module: str, is_package: bool, exc: OSError) -> ModuleFacts:
    """FRK900 facts for a file that cannot be read."""
    return _error_facts(shown, module, is_package, f"cannot read file: {exc.strerror or exc}")


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
        "maybe_sink": False,
        "process_only": False,
        "sink_root": False,
    }


@dataclass(frozen=True)
class SourceFile:
    """One file to analyse and the names it is known by."""

    path: str  # as found on disk (absolute or relative to the working directory)
    shown: str  # as reported
    module: str
    is_package: bool
    size: int = 0  # bytes, to balance work between processes
    digest: bytes = b""  # SHA-256 of the content, as read when the project was indexed
