"""End to end on an edge-worker-shaped project, through the installed command line.

The shape is Airflow's edge worker: ``asyncio.run`` drives a loop whose aiohttp,
aiofiles and ``anyio.Path`` calls start threads; one launch path forks with
``multiprocessing.Process(target=self._run_job_via_supervisor)``, the other starts a
fresh interpreter with ``subprocess.Popen``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "projects" / "edge_worker"
ASYNC_SOURCES = ("aiohttp.", "aiofiles.", "anyio.", "asyncio.", "loop.")


def _write_project(root: Path) -> None:
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "edgeish"\nversion = "0"\nrequires-python = ">=3.10"\n'
    )


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_fork_found_with_async_thread_source_and_popen_path_quiet(tmp_path: Path) -> None:
    _write_project(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "fork_lint", "--output-format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)
    worker = tmp_path / "edgeish" / "worker.py"
    assert [(f["code"], f["filename"], f["location"]["row"]) for f in findings] == [
        ("FRK002", "edgeish/worker.py", _line_of(worker, "p.start()"))
    ]
    witness = findings[0]["witness"]
    assert witness["thread_source"].startswith(ASYNC_SOURCES)
    assert "event loop" in witness["reason"]
    assert witness["fork_path"][0]["description"].startswith("runs an event loop")
    assert witness["fork_path"][-1]["function"] == "edgeish.worker.Worker._launch_job"
    popen_line = _line_of(worker, "subprocess.Popen(")
    assert all(f["location"]["row"] != popen_line for f in findings)


def test_fix_refused_when_another_file_mentions_the_launch_method(tmp_path: Path) -> None:
    """Removing `_launch_job` would break a file that mentions it; the search for
    mentions reads other files through a bytes-only pre-filter, so this also checks
    that the pre-filter lets a real mention through (latin-1 file with a cookie)."""
    _write_project(tmp_path)
    (tmp_path / "edgeish" / "other.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n# caf\xe9\ndef go(worker):\n    return worker._launch_job\n"
    )

    def fixes(*args: str) -> list[dict[str, object]]:
        proc = subprocess.run(
            [sys.executable, "-m", "fork_lint", "--no-cache", "--output-format", "json", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return [f["fix"] for f in json.loads(proc.stdout)]

    [refused] = fixes()
    assert refused is None  # no fix, and no line saying why
    (tmp_path / "edgeish" / "other.py").write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n")
    [offered] = fixes()
    assert str(offered["message"]).startswith("Launch jobs with `_launch_job_popen`")


def _fix_cached_and_fresh(root: Path) -> dict[str, object] | None:
    """The finding's fix, from a run through the cache, checked against one without."""
    out = []
    for args in (["--cache-dir", "cache"], ["--no-cache"]):
        proc = subprocess.run(
            [sys.executable, "-m", "fork_lint", "--output-format", "json", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        out.append([f["fix"] for f in json.loads(proc.stdout)])
    assert out[0] == out[1]  # cached == uncached
    [found] = out[0]
    return found  # type: ignore[no-any-return]


def test_cached_fix_is_not_reused_once_another_file_mentions_the_launch_method(
    tmp_path: Path,
) -> None:
    """The proposal is cached per finding; a new mention elsewhere leaves the
    finding as it was but must change the proposal (a refusal)."""
    _write_project(tmp_path)
    fix = _fix_cached_and_fresh
    assert str(fix(tmp_path)["message"]).startswith("Launch jobs with `_launch_job_popen`")
    (tmp_path / "edgeish" / "other.py").write_text(
        "def go(worker):\n    return worker._launch_job\n"
    )
    assert fix(tmp_path) is None
    (tmp_path / "edgeish" / "other.py").write_text("VALUE = 1\n")
    assert str(fix(tmp_path)["message"]).startswith("Launch jobs with `_launch_job_popen`")


def test_cached_fix_changes_once_another_file_creates_processes(tmp_path: Path) -> None:
    """With processes created elsewhere, the classes that hold the worker's processes
    must keep handling them, so the fix leaves them alone: fewer edits. The proposal
    read only the facts of the files that may create one (`FixContext.candidates`),
    and its record must notice a new such file."""
    _write_project(tmp_path)
    alone = _fix_cached_and_fresh(tmp_path)
    (tmp_path / "edgeish" / "other.py").write_text(
        "import multiprocessing\n\n\ndef go():\n    multiprocessing.Process(target=print).start()\n"
    )
    shared = _fix_cached_and_fresh(tmp_path)
    assert alone["message"] == shared["message"]
    assert len(shared["edits"]) < len(alone["edits"])  # type: ignore[arg-type]
