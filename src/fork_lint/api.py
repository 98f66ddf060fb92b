"""Programmatic entry points (used by the CLI, the flake8 plugin, docs tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files_analyzed: int = 0


def check_paths(paths: Sequence[str | Path], *, isolated: bool = False) -> Report:
    """Analyse files and directories on disk with the configuration that applies to them.

    Raises ``ConfigError`` / ``DiscoveryError`` for bad configuration or missing paths.
    """
    from fork_lint.config import Overrides, load_settings
    from fork_lint.discovery import discover
    from fork_lint.project import collect_facts

    roots = [Path(p) for p in paths] or [Path(".")]
    settings = load_settings(roots, Overrides(isolated=isolated))
    found = discover(roots, settings)
    modules = collect_facts(found.files, settings.project_root)
    options = AnalysisOptions(
        target_version=settings.target_version,
        thread_sources=settings.thread_sources,
        fork_sinks=settings.fork_sinks,
    )
    cwd = Path.cwd()
    findings = [
        f for f in analyse(modules, options) if settings.enabled(f.code, str(cwd / f.location.path))
    ]
    return Report(findings=findings, files_analyzed=len(modules))
