"""Programmatic entry points (used by the CLI, the flake8 plugin, docs tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fork_lint.engine import AnalysisOptions, analyse
from fork_lint.index.extract import extract, module_name_for
from fork_lint.model import Finding


def check_sources(
    files: Mapping[str, str],
    *,
    target_version: tuple[int, int] = (3, 12),
    thread_sources: Sequence[str] = (),
    fork_sinks: Sequence[str] = (),
) -> list[Finding]:
    """Analyse an in-memory project: ``{"pkg/mod.py": "source", ...}``.

    Paths are relative to a virtual project root; module names derive from them
    exactly as for files on disk. Findings are sorted by location.
    """
    modules = []
    for path, source in sorted(files.items()):
        module, is_package = module_name_for(path)
        modules.append(extract(source, path, module, is_package))
    options = AnalysisOptions(
        target_version=target_version,
        thread_sources=tuple(thread_sources),
        fork_sinks=tuple(fork_sinks),
    )
    return analyse(modules, options)
