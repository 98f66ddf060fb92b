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
    platform: str = "linux",
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
        platform=platform,
        thread_sources=tuple(thread_sources),
        fork_sinks=tuple(fork_sinks),
    )
    return analyse(modules, options)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files_analyzed: int = 0


def check_paths(
    paths: Sequence[str | Path],
    *,
    isolated: bool = False,
    cache_dir: str | Path | None = None,
    no_cache: bool = False,
    jobs: int | None = 1,
) -> Report:
    """Analyse files and directories on disk with the configuration that applies to them.

    Reads and writes the cache as the CLI does (``cache_dir`` like ``--cache-dir``,
    ``no_cache`` like ``--no-cache``). ``jobs`` defaults to this process only, as
    befits a library call; ``None`` uses every CPU available, and then the calling
    script needs an ``if __name__ == "__main__":`` guard (worker processes import it).
    Raises ``ConfigError`` / ``DiscoveryError`` for bad configuration or missing paths.
    """
    from fork_lint.cache import resolve_cache_dir
    from fork_lint.config import Overrides, load_settings
    from fork_lint.discovery import discover
    from fork_lint.project import analyse_project, index_project

    roots = [Path(p) for p in paths] or [Path(".")]
    settings = load_settings(roots, Overrides(isolated=isolated))
    found = discover(roots, settings)
    cwd = Path.cwd()
    cache = resolve_cache_dir(cache_dir, no_cache, settings.project_root, cwd)
    modules = index_project(found.files, settings.project_root, cwd, cache_dir=cache, jobs=jobs)
    options = AnalysisOptions.from_settings(settings)
    findings = [
        f
        for f in analyse_project(modules, options)
        if settings.enabled(f.code, str(cwd / f.location.path))
    ]
    return Report(findings=findings, files_analyzed=len(modules))
