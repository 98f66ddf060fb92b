"""The language server's analysis processes: jobs in order, stale checks stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fork_lint.server.analyses import Analyses
from fork_lint.server.messages import Checked, CheckJob, Failed, Options, Reply, Snapshot

FUNCTIONS = "".join(
    f"def f{i}(x):\n    return [x + {i} for _ in range(3)]\n\n\n" for i in range(40)
)


MAIN = "def main():\n    threading.Thread(target=print).start()\n    os.fork()\n"


def _project(root: Path, files: int) -> Path:
    (root / "pyproject.toml").write_text('[project]\nname = "big"\n')
    package = root / "big"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for i in range(files):
        (package / f"m{i}.py").write_text(f"import os\nimport threading\n\n{FUNCTIONS}{MAIN}")
    return root


def test_a_newer_check_of_the_project_stops_the_running_one(tmp_path: Path) -> None:
    """Extracting a few hundred files in one process without a cache takes seconds:
    the second check, submitted meanwhile, ends the first one's process."""
    root = _project(tmp_path, 300)
    first_file = str(root / "big" / "m0.py")

    async def main() -> None:
        analyses = Analyses(Options(jobs=1, no_cache=True))
        seen: list[Reply] = []
        snapshot = Snapshot(str(root), (first_file,), {}, {})
        first = analyses.submit(CheckJob(snapshot), ("check", str(root)), seen.append)
        while first.worker is None:  # sent to a process
            await asyncio.sleep(0.01)
        edited = Snapshot(str(root), (first_file,), {first_file: "x = 1\n"}, {first_file: 2})
        replies: list[Reply] = []
        second = analyses.submit(CheckJob(edited), ("check", str(root)), replies.append)
        assert await first.done is None
        assert seen == []  # nothing of the stale check reaches the editor
        final = await second.done
        assert isinstance(final, Checked), final
        assert first.worker.process.returncode is not None  # ended
        assert second.worker is not first.worker
        assert [f.path for f in final.findings] == []  # m0.py no longer forks; others not shown
        await analyses.close()

    asyncio.run(main())


def test_a_queued_check_is_replaced_and_a_crash_is_a_failure(tmp_path: Path) -> None:
    root = _project(tmp_path, 2)
    file = str(root / "big" / "m0.py")

    async def main() -> None:
        analyses = Analyses(Options(jobs=1, no_cache=True))
        snapshot = Snapshot(str(root), (file,), {}, {})
        first = analyses.submit(CheckJob(snapshot), "a")
        queued = analyses.submit(CheckJob(snapshot), "b")
        replaced = analyses.submit(CheckJob(snapshot, fixes=False), "b")
        assert await queued.done is None
        done = await first.done
        assert isinstance(done, Checked) and [f.code for f in done.findings] == ["FRK001"]
        again = await replaced.done
        assert isinstance(again, Checked) and not again.with_fixes
        worker = replaced.worker
        assert worker is not None
        worker.process.kill()  # the process dies between jobs
        await worker.process.wait()
        after = await analyses.submit(CheckJob(snapshot), "c").done
        assert isinstance(after, Checked)  # a new process took over
        await analyses.close()

    asyncio.run(main())


def test_a_check_that_cannot_run_says_why(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.fork-lint]\nselect = 3\n")
    (tmp_path / "a.py").write_text("x = 1\n")

    async def main() -> Reply | None:
        analyses = Analyses(Options(jobs=1, no_cache=True))
        snapshot = Snapshot(str(tmp_path), (str(tmp_path / "a.py"),), {}, {})
        reply = await analyses.submit(CheckJob(snapshot), "k").done
        await analyses.close()
        return reply

    reply = asyncio.run(main())
    assert isinstance(reply, Failed)
    assert "select" in reply.message
    assert not reply.traceback  # a configuration error, not a crash
