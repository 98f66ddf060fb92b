"""Programmatic entry points: an in-memory project (`check_sources`), or paths on
disk checked as the command line checks them (`check_paths`, through `fork_lint.core`,
which front ends that need more, such as fixes or unsaved buffers, use directly)."""

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
    whole_project: bool = True,
) -> Report:
    """Analyse files and directories on disk with the configuration that applies to them.

    As the command line does (the check core, `fork_lint.core`): each path is
    analysed within its project and the findings in (or whose witness passes
    through) the paths are reported; ``whole_project=False`` analyses the paths
    alone. Reads and writes the cache as the command line does (``cache_dir``
    like ``--cache-dir``, ``no_cache`` like ``--no-cache``). ``jobs`` defaults to
    this process only, as befits a library call; ``None`` uses every CPU
    available, and then the calling script needs an ``if __name__ ==
    "__main__":`` guard (worker processes import it). Raises `core.CheckError`
    for bad configuration or missing paths. Findings come without fixes.
    """
    from fork_lint.config import Overrides
    from fork_lint.core import CheckRequest, FixMode, check

    request = CheckRequest(
        paths=tuple(Path(p) for p in paths),
        overrides=Overrides(isolated=isolated),
        whole_project=whole_project,
        fix=FixMode.PROPOSE,
        propose_fixes=False,
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        no_cache=no_cache,
        jobs=jobs,
    )
    result = check(request)
    return Report(findings=result.findings, files_analyzed=result.files_analysed)
