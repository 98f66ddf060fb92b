"""The language server's analysis process: runs checks and fixes for the server.

The server starts this module as its own interpreter (``python -m
fork_lint.server.worker``, never by forking itself) and talks to it through its
standard input and output (`messages`). A separate process keeps the editor's
side responsive: a whole-program solve holds the interpreter for seconds on a
large project, and a stale one is stopped by ending the process, which no
thread allows. Every run goes through the check core (`fork_lint.core.check`)
with the editor's unsaved buffers laid over the disk, and through the cache,
which is all the state there is between runs.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from fork_lint.core import CheckError, CheckRequest, FixMode, check
from fork_lint.interrupts import interruption, stoppable
from fork_lint.model import Finding
from fork_lint.overlay import Overlay
from fork_lint.server.messages import (
    Checked,
    CheckJob,
    Failed,
    Fixed,
    FixJob,
    Options,
    Reply,
    Snapshot,
    finding_id,
    read_message,
    write_message,
)

__all__ = ["main", "run_job"]

Send = Callable[[Reply], None]


def _request(snapshot: Snapshot, options: Options, **fields: object) -> CheckRequest:
    return CheckRequest(
        paths=tuple(Path(p) for p in snapshot.paths),
        cwd=Path(snapshot.root),
        sources=dict(snapshot.sources),
        # A file the configuration excludes is left out, as the walk leaves it out:
        # opening it in the editor must not change what the project is.
        force_exclude=True,
        cache_dir=Path(options.cache_dir) if options.cache_dir is not None else None,
        no_cache=options.no_cache,
        jobs=options.jobs,
        **fields,  # type: ignore[arg-type]
    )


def _lines(findings: Sequence[Finding], overlay: Overlay) -> dict[tuple[str, int], str]:
    """The text of every line a finding or a step of its witness starts or ends on."""
    wanted: set[tuple[str, int]] = set()
    for f in findings:
        locations = [f.location]
        if f.witness is not None:
            locations += [h.location for h in (*f.witness.thread_path, *f.witness.fork_path)]
        for loc in locations:
            wanted.add((loc.path, loc.span.line))
            wanted.add((loc.path, loc.span.end_line))
    out: dict[tuple[str, int], str] = {}
    files: dict[str, list[str] | None] = {}
    for path, line in sorted(wanted):
        if path not in files:
            files[path] = overlay.read_lines(path)
        lines = files[path]
        if lines is not None and 1 <= line <= len(lines):
            out[(path, line)] = lines[line - 1]
    return out


def run_check(job: CheckJob, options: Options, send: Send) -> None:
    """The findings at once, then (if asked) the same findings with their fixes."""
    snapshot = job.snapshot
    overlay = Overlay.of(snapshot.sources, Path(snapshot.root))
    shown: list[Finding] = []

    def reported(findings: list[Finding]) -> None:
        shown.extend(findings)  # one project per snapshot; several would add up
        send(Checked(list(shown), _lines(shown, overlay), with_fixes=False, final=False))

    result = check(
        _request(
            snapshot,
            options,
            fix=FixMode.PROPOSE,
            propose_fixes=job.fixes,
            reported=reported if job.fixes else None,
        )
    )
    send(
        Checked(
            result.findings,
            _lines(result.findings, overlay),
            with_fixes=job.fixes,
            warnings=result.warnings,
            errors=result.errors,
            timings=result.timings,
        )
    )


def run_fix(job: FixJob, options: Options, send: Send) -> None:
    """The changes of the fixes asked for, computed and checked, never written."""
    targets = set(job.targets) if job.targets is not None else None

    def select(f: Finding) -> bool:
        return finding_id(f) in targets if targets is not None else f.path == job.path

    result = check(
        _request(
            job.snapshot, options, fix=FixMode.DIFF, fix_select=select, unsafe_fixes=job.unsafe
        )
    )
    fixed = [finding_id(f) for f in result.fixed]
    send(Fixed(result.changes, fixed, warnings=[*result.warnings, *result.errors]))


def run_job(job: object, options: Options, send: Send) -> None:
    """Run one job; every way it can end is a reply, the last one final."""
    try:
        if isinstance(job, (CheckJob, FixJob)):
            # In the project's root, as ``fork-lint`` run there: a project without
            # any marker is the directory the check runs in. The module path was
            # fixed at start-up (`analyses.Worker.start`), so nothing of the
            # project becomes importable.
            try:
                os.chdir(job.snapshot.root)
            except OSError as exc:
                send(Failed(f"{job.snapshot.root}: {exc.strerror or exc}"))
                return
        if isinstance(job, CheckJob):
            run_check(job, options, send)
        elif isinstance(job, FixJob):
            run_fix(job, options, send)
        else:
            send(Failed(f"unknown job {type(job).__name__}"))
    except CheckError as exc:
        send(Failed(str(exc)))
    except Exception as exc:
        stopped = interruption(exc)
        if stopped is not None:
            raise stopped from exc
        send(Failed(f"internal error: {type(exc).__name__}: {exc}", traceback.format_exc()))


def _channel() -> tuple[BinaryIO, BinaryIO]:
    """The pipes to the server, taken off file descriptors 0 and 1: whatever else
    writes to standard output (a warning printed by a library) goes to standard
    error, where the editor logs it, instead of into the messages."""
    incoming = os.fdopen(os.dup(0), "rb")
    outgoing = os.fdopen(os.dup(1), "wb")
    sys.stdout.flush()
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return incoming, outgoing


def _preload() -> None:
    """Import what the first check and the first fix need while the editor has
    nothing to ask yet (this process is often started ahead of need)."""
    import fork_lint.engine
    import fork_lint.fixes._cst  # libcst, for the fixes
    import fork_lint.fixes.stage  # noqa: F401


def main() -> int:
    incoming, outgoing = _channel()
    try:
        with stoppable():  # SIGTERM from the server: finish the file being written, then go
            options = read_message(incoming)
            if not isinstance(options, Options):
                return 2
            _preload()
            while True:
                try:
                    job = read_message(incoming)
                except EOFError:  # the server is gone
                    return 0
                run_job(job, options, lambda reply: write_message(outgoing, reply))
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
