"""The server's side of the analysis process: one job at a time, stale ones stopped.

Jobs run in order in one analysis process (`worker`), fixes the user waits for
ahead of checks. A check submitted for a project whose previous check is still
queued replaces it; one whose previous check is running stops it: the process
is asked to end (SIGTERM: it finishes the cache entry it may be writing) and
another takes its place. Once that has happened, a spare process is kept
started, so the next check does not wait for an interpreter to import
fork-lint. The processes are started as fresh interpreters, never forked from
the server, whose threads (the editor connection's reader) would otherwise be
copied mid-flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path

import fork_lint
from fork_lint.server.messages import HEADER_SIZE, Failed, Job, Options, Reply, size_of

__all__ = ["Analyses", "Task", "Worker"]

logger = logging.getLogger("fork_lint.server")

STOP_GRACE = 2.0  # seconds a stopped process has to end before it is killed


class Worker:
    """One analysis process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, options: Options) -> Worker:
        # `-m` puts the working directory first on the module path: start in the
        # directory fork-lint itself is imported from, never in a project, whose
        # files would otherwise be importable (and imported) as fork-lint's own.
        home = Path(fork_lint.__file__).resolve().parent.parent
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "fork_lint.server.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=home,
        )
        worker = cls(process)
        await worker.send(options)
        return worker

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def send(self, message: object) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(len(data).to_bytes(HEADER_SIZE, "big") + data)
        await stdin.drain()

    async def receive(self) -> Reply:
        """The next reply; EOFError when the process has gone."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            header = await stdout.readexactly(HEADER_SIZE)
            data = await stdout.readexactly(size_of(header))
        except (asyncio.IncompleteReadError, ConnectionError):
            raise EOFError from None
        reply: Reply = pickle.loads(data)  # from the process this server started
        return reply

    async def stop(self) -> None:
        process = self.process
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@dataclass(eq=False)
class Task:
    """A submitted job: `on_reply` sees each reply; `done` resolves to the final
    reply, or to None if the job was replaced or stopped."""

    job: Job
    key: Hashable
    on_reply: Callable[[Reply], None]
    done: asyncio.Future[Reply | None]
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    worker: Worker | None = None  # the process running it, once sent there

    def settle(self, reply: Reply | None) -> None:
        if not self.done.done():
            self.done.set_result(reply)


class Analyses:
    def __init__(self, options: Options) -> None:
        self.options = options
        self._queue: list[Task] = []
        self._wake = asyncio.Event()
        self._running: Task | None = None
        self._worker: Worker | None = None
        self._spare: asyncio.Task[Worker] | None = None
        self._keep_spare = False
        self._loop: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    # -- submitting -------------------------------------------------------
    def submit(
        self,
        job: Job,
        key: Hashable,
        on_reply: Callable[[Reply], None] = lambda reply: None,
        *,
        urgent: bool = False,
    ) -> Task:
        """Queue `job`. A queued job with the same key is replaced, a running one
        stopped; an `urgent` job (the user waits for it) goes first."""
        loop = asyncio.get_running_loop()
        task = Task(job, key, on_reply, loop.create_future())
        for old in [t for t in self._queue if t.key == key]:
            self._queue.remove(old)
            old.settle(None)
        running = self._running
        if running is not None and running.key == key:
            running.stopped.set()
        if urgent:
            self._queue.insert(0, task)
        else:
            self._queue.append(task)
        self._wake.set()
        if self._loop is None:
            self._loop = loop.create_task(self._run())
        return task

    def busy(self, key: Hashable) -> bool:
        """A job with this key is queued or running."""
        running = self._running
        return any(t.key == key for t in self._queue) or (
            running is not None and running.key == key
        )

    # -- running ----------------------------------------------------------
    async def _take_worker(self) -> Worker:
        if self._worker is not None and self._worker.alive:
            return self._worker
        if self._spare is not None:
            spare, self._spare = self._spare, None
            try:
                self._worker = await spare
            except OSError:
                self._worker = None
        if self._worker is None or not self._worker.alive:
            self._worker = await Worker.start(self.options)
        if self._keep_spare and self._spare is None:
            self._spare = asyncio.get_running_loop().create_task(Worker.start(self.options))
        return self._worker

    def _discard(self, worker: Worker) -> None:
        if self._worker is worker:
            self._worker = None
        stopping = asyncio.get_running_loop().create_task(worker.stop())
        self._stopping.add(stopping)
        stopping.add_done_callback(self._stopping.discard)

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            task = self._queue.pop(0)
            self._running = task
            try:
                await self._execute(task)
            except Exception as exc:  # a bug here must not end the server's analyses
                logger.exception("analysis job failed")
                task.on_reply(Failed(f"internal error: {type(exc).__name__}: {exc}"))
                task.settle(None)
            finally:
                self._running = None

    async def _execute(self, task: Task) -> None:
        try:
            worker = await self._take_worker()
        except OSError as exc:
            failed = Failed(f"cannot start the analysis process: {exc}")
            task.on_reply(failed)
            task.settle(failed)
            return
        if task.stopped.is_set():
            task.settle(None)
            return
        await worker.send(task.job)
        task.worker = worker
        stopped = asyncio.ensure_future(task.stopped.wait())
        try:
            while True:
                receive = asyncio.ensure_future(worker.receive())
                await asyncio.wait({receive, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not receive.done():  # replaced by a newer job: end this process
                    receive.cancel()
                    self._keep_spare = True
                    self._discard(worker)
                    if self._spare is None:
                        loop = asyncio.get_running_loop()
                        self._spare = loop.create_task(Worker.start(self.options))
                    task.settle(None)
                    return
                try:
                    reply = receive.result()
                except EOFError:
                    self._discard(worker)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(worker.process.wait(), STOP_GRACE)
                    code = worker.process.returncode
                    failed = Failed(f"the analysis process ended unexpectedly (exit code {code})")
                    task.on_reply(failed)
                    task.settle(failed)
                    return
                if not task.stopped.is_set():
                    task.on_reply(reply)
                if reply.final:
                    task.settle(reply)
                    return
        finally:
            stopped.cancel()

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for task in self._queue:
            task.settle(None)
        self._queue.clear()
        workers = [w for w in (self._worker,) if w is not None]
        if self._spare is not None:
            with contextlib.suppress(Exception):
                workers.append(await self._spare)
        await asyncio.gather(*(w.stop() for w in workers), *self._stopping)
