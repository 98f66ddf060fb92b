"""Real-world check on Apache Airflow's edge worker, as released on PyPI.

``apache-airflow-providers-edge3`` runs its worker under ``asyncio.run`` with aiohttp,
aiofiles and ``anyio.Path`` (all backed by worker threads) and launches every job with
``multiprocessing.Process(target=self._run_job_via_supervisor).start()``: a fork with
threads alive (apache/airflow#65942, #65943).

* 3.6.0 is the last fork-only release; the sink is in ``EdgeWorker._launch_job``.
* 5.1.0 still forks by default, from ``EdgeWorker._launch_job_fork``, and has an opt-in
  ``subprocess.Popen`` path in ``EdgeWorker._launch_job_subprocess`` that must stay quiet.

Opt-in: ``pytest -m realworld``. Wheels are cached in ``$FORK_LINT_TEST_CACHE`` or
``~/.cache/fork-lint-tests``; the tests skip when pip cannot download them.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from fork_lint.api import Report, check_paths
from fork_lint.model import Finding, Location

pytestmark = pytest.mark.realworld

PACKAGE = "apache-airflow-providers-edge3"
WHEEL_PREFIX = "apache_airflow_providers_edge3"
WORKER = "airflow/providers/edge3/cli/worker.py"
EDGE3 = "airflow/providers/edge3/"

# Version -> the EdgeWorker method that calls ``Process(...).start()``.
LAUNCH_METHOD = {"3.6.0": "_launch_job", "5.1.0": "_launch_job_fork"}

# Libraries whose calls put threads into the worker process.
THREAD_LIBS = ("aiofiles", "aiohttp", "anyio", "asyncio")
# How the edge3 sources spell those calls (worker.py and api_client.py).
SOURCE_SPELLINGS = ("aio_open(", "logf.", "aio_logfile.", "anyio.Path(", "request(", "to_thread(")


@dataclass
class Analysed:
    version: str
    root: Path
    report: Report

    @property
    def worker(self) -> Path:
        return self.root / WORKER


def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("FORK_LINT_TEST_CACHE")
    cache = Path(configured) if configured else Path.home() / ".cache" / "fork-lint-tests"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return tmp_path_factory.mktemp("fork-lint-tests")
    return cache


def _download(version: str, cache: Path) -> Path:
    """Return the wheel for `version`, downloading it with pip if it is not cached."""
    wheels = cache / "wheels"
    found = sorted(wheels.glob(f"{WHEEL_PREFIX}-{version}-*.whl"))
    if found:
        return found[0]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(wheels),
        f"{PACKAGE}=={version}",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"pip could not download {PACKAGE}=={version}: {exc}")
    found = sorted(wheels.glob(f"{WHEEL_PREFIX}-{version}-*.whl"))
    if done.returncode != 0 or not found:
        tail = [line[:200] for line in (done.stderr or done.stdout).strip().splitlines()[-2:]]
        pytest.skip(f"pip could not download {PACKAGE}=={version}: {' | '.join(tail)}")
    return found[0]


def _unpack(wheel: Path, dest: Path) -> Path:
    """Unzip `wheel` into `dest` once; a half-finished earlier attempt is redone."""
    if (dest / WORKER).is_file():
        return dest
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(partial)
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest


@pytest.fixture(scope="module", params=sorted(LAUNCH_METHOD))
def analysed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    version: str = request.param
    cache = _cache_dir(tmp_path_factory)
    root = _unpack(_download(version, cache), cache / "unpacked" / f"edge3-{version}")
    return Analysed(version, root, check_paths([root]))


def _resolve(path: str) -> Path:
    p = Path(path)
    return (p if p.is_absolute() else Path.cwd() / p).resolve()


def _in_file(location: Location, file: Path) -> bool:
    return _resolve(location.path) == file.resolve()


def _in_edge3(location: Location, root: Path) -> bool:
    try:
        relative = _resolve(location.path).relative_to(root.resolve())
    except ValueError:
        return False
    return relative.as_posix().startswith(EDGE3)


def _text(location: Location) -> str:
    """The source lines `location` spans."""
    lines = _resolve(location.path).read_text(encoding="utf-8").splitlines()
    return "\n".join(lines[location.span.line - 1 : location.span.end_line])


def _method(finding: Finding) -> str:
    return finding.function.rsplit(".", 1)[-1]


def _describe(findings: list[Finding]) -> str:
    return "\n".join(
        f"  {f.code} {f.path}:{f.location.span.line} in {f.function or '?'}: {f.message}"
        for f in findings
    )


def test_fork_in_launch_method_is_reported_with_async_thread_witness(analysed: Analysed) -> None:
    method = LAUNCH_METHOD[analysed.version]
    findings = analysed.report.findings
    at_sink = [
        f
        for f in findings
        if f.code == "FRK002"
        and _in_file(f.location, analysed.worker)
        and _method(f) == method
        and (".start()" in _text(f.location) or "Process(" in _text(f.location))
    ]
    assert at_sink, (
        f"edge3 {analysed.version}: no FRK002 at the Process start in EdgeWorker.{method}; "
        f"findings were:\n{_describe(findings)}"
    )

    problems = []
    for finding in at_sink:
        witness = finding.witness
        if witness is None:
            problems.append(f"line {finding.location.span.line}: no witness")
            continue
        if not any(lib in witness.thread_source for lib in THREAD_LIBS):
            problems.append(f"thread source {witness.thread_source!r} is not an async-I/O one")
        if not witness.thread_path:
            problems.append("empty thread_path")
            continue
        start = witness.thread_path[-1].location
        if not _in_edge3(start, analysed.root):
            problems.append(f"thread start {start.path}:{start.span.line} is outside edge3")
        elif not any(s in _text(start) for s in SOURCE_SPELLINGS):
            problems.append(f"thread start {start.path}:{start.span.line} is not a source call")
    assert not problems, f"edge3 {analysed.version}: " + "; ".join(problems)


def _popen_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "Popen"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "subprocess"
    ]


def test_popen_launch_is_not_reported(analysed: Analysed) -> None:
    if analysed.version != "5.1.0":
        pytest.skip("only 5.1.0 has the subprocess.Popen launch path")
    calls = _popen_calls(ast.parse(analysed.worker.read_text(encoding="utf-8")))
    assert calls, "subprocess.Popen(...) no longer found in worker.py"
    popen_lines = {
        line for call in calls for line in range(call.lineno, (call.end_lineno or call.lineno) + 1)
    }
    noisy = [
        f
        for f in analysed.report.findings
        if _in_file(f.location, analysed.worker) and f.location.span.line in popen_lines
    ]
    assert not noisy, f"findings on the subprocess.Popen launch:\n{_describe(noisy)}"
