"""Extract facts from many files, over worker processes when that pays.

Workers are started with the ``forkserver`` method (``spawn`` where there is
none): fork-lint does not fork a process that may run threads, and a worker
imports only the extractor (no libcst, no solver). Each worker reads its files
itself, writes their cache entries, and sends back marshal data, which the
parent loads several times faster than pickle.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, cast

from fork_lint.cache import FactsCache, facts_key, gc_paused
from fork_lint.fsio import read_regular
from fork_lint.index.facts import ModuleFacts
from fork_lint.index.source import SourceFile, facts_from_bytes, read_error_facts

__all__ = ["MIN_PARALLEL_BYTES", "default_jobs", "extract_files", "worker_count"]

# Below this much source the pool costs more than it saves: starting the fork
# server and its workers takes about 0.1 s, and one process extracts about
# 6 MB of source per second. Measured in fresh processes on 2 cores, two
# workers break even at 1.5 MB and save 0.15 s at 4 MB (docs/performance.md).
MIN_PARALLEL_BYTES = 2_000_000
# Work is handed out in chunks of about this many bytes: large enough that the
# per-task overhead (about 0.3 ms) is noise, small enough to balance the load.
_CHUNK_BYTES = 400_000

# (path, shown, module, is_package)
_Task = tuple[str, str, str, bool]


def default_jobs() -> int:
    """The CPUs this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def worker_count(jobs: int | None, files: int, total_bytes: int) -> int:
    """How many processes to use: 1 (this one) for small work or inside a daemon."""
    wanted = default_jobs() if jobs is None or jobs <= 0 else jobs
    if wanted <= 1 or files < 2 or total_bytes < MIN_PARALLEL_BYTES:
        return 1
    if multiprocessing.current_process().daemon:
        return 1  # daemonic processes (flake8 -j workers) may not have children
    if not _main_importable():
        return 1
    return min(wanted, files)


def _main_importable() -> bool:
    """Whether a worker can import ``__main__`` as multiprocessing requires: not a
    script read from stdin (``python - < script``), whose path does not exist."""
    main = sys.modules.get("__main__")
    if main is None or getattr(getattr(main, "__spec__", None), "name", None):
        return True  # `python -m ...`: imported by name
    path = getattr(main, "__file__", None)
    return path is None or os.path.isfile(path)  # None: `python -c`, the REPL


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    method = "forkserver" if "forkserver" in methods and sys.platform != "darwin" else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        # Preload only the extractor into the server; the workers it forks start warm.
        ctx.set_forkserver_preload([__name__])
    return ctx


@contextmanager
def _in_safe_directory() -> Iterator[None]:
    """Start helper processes in the standard library's directory, not in the
    working directory, which is usually the analysed tree.

    The fork server, the resource tracker and spawned workers start as
    ``python -c ...``, which puts their working directory first on ``sys.path``
    while they import ``multiprocessing`` and the rest of the standard library:
    a tree with its own ``multiprocessing/`` or ``struct.py`` would run there.
    In the standard library's directory every module found is the one meant.
    Workers forked by the fork server keep its directory, so task paths are
    absolute.
    """
    safe = os.path.dirname(os.__file__)
    if not os.path.isdir(safe):  # a zipped standard library
        safe = os.path.dirname(os.path.abspath(__file__))
    previous = os.getcwd()
    os.chdir(safe)
    try:
        yield
    finally:
        os.chdir(previous)


def _extract_one(task: _Task, cache: FactsCache | None) -> tuple[bytes | None, ModuleFacts]:
    path, shown, module, is_package = task
    try:
        data = read_regular(path)
    except OSError as exc:
        return None, read_error_facts(shown, module, is_package, exc)
    key = facts_key(hashlib.sha256(data).digest(), module, is_package, shown)
    facts = facts_from_bytes(data, shown, module, is_package)
    if cache is not None:
        cache.store_facts(key, facts)
    return key, facts


def _init_worker() -> None:
    gc.disable()  # facts are acyclic; see cache.gc_paused


# What a worker needs to write cache entries: the root, whether the user named it,
# and the key, all from the parent, which already decided the cache is trusted.
_CacheSpec = tuple[str, bool, bytes]


def _extract_chunk(
    tasks: list[tuple[int, _Task]], spec: _CacheSpec | None
) -> list[tuple[int, bytes | None, bytes]]:
    """Worker side: facts of a chunk of files, as marshal data."""
    cache = None
    if spec is not None:
        root, explicit, secret = spec
        cache = FactsCache(Path(root), explicit=explicit, secret=secret, vetted=True)
    out = []
    try:
        for index, task in tasks:
            key, facts = _extract_one(task, cache)
            out.append((index, key, marshal.dumps(cast(Any, facts))))
    finally:
        if cache is not None:
            cache.close()
    return out


def _chunks(tasks: Sequence[tuple[int, _Task, int]], workers: int) -> list[list[tuple[int, _Task]]]:
    """Largest files first, dealt into chunks of about `_CHUNK_BYTES`, so no worker is
    left with one big file at the end."""
    ordered = sorted(tasks, key=lambda t: -t[2])
    total = sum(t[2] for t in ordered)
    limit = max(_CHUNK_BYTES, total // (workers * 64) or 1)
    chunks: list[list[tuple[int, _Task]]] = []
    current: list[tuple[int, _Task]] = []
    size = 0
    for index, task, nbytes in ordered:
        current.append((index, task))
        size += nbytes
        if size >= limit:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks


def extract_files(
    files: Sequence[SourceFile], jobs: int | None, cache: FactsCache | None
) -> list[tuple[bytes | None, ModuleFacts]]:
    """(cache key, facts) of each file, in order; writes their entries to `cache`.

    The key is ``None`` for an unreadable file.
    """
    tasks = [(i, (f.path, f.shown, f.module, f.is_package), f.size) for i, f in enumerate(files)]
    workers = worker_count(jobs, len(tasks), sum(t[2] for t in tasks))
    results: list[tuple[bytes | None, ModuleFacts] | None] = [None] * len(tasks)
    if workers > 1:
        secret = cache.secret if cache is not None else None
        spec = None
        if cache is not None and secret is not None:
            spec = (os.path.abspath(cache.root), cache.explicit, secret)
        # Workers do not run in the working directory (see `_in_safe_directory`).
        remote = [(i, (os.path.abspath(t[0]), *t[1:]), size) for i, t, size in tasks]
        # A worker that dies (out of memory, killed) breaks the pool: what is left is
        # done here.
        with suppress(BrokenProcessPool, OSError):
            _run_pool(remote, workers, spec, results)
    with gc_paused():
        for i, task, _ in tasks:
            if results[i] is None:
                results[i] = _extract_one(task, cache)
    return results  # type: ignore[return-value]


def _run_pool(
    tasks: Sequence[tuple[int, _Task, int]],
    workers: int,
    spec: _CacheSpec | None,
    results: list[tuple[bytes | None, ModuleFacts] | None],
) -> None:
    with _in_safe_directory():
        pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init_worker)
    with pool, gc_paused():
        with _in_safe_directory():
            chunks = _chunks(tasks, workers)
            futures = [pool.submit(_extract_chunk, chunk, spec) for chunk in chunks]
        for future in as_completed(futures):
            for index, key, payload in future.result():
                results[index] = (key, marshal.loads(payload))
