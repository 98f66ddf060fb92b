"""Known hazards and known safe code in released packages from PyPI.

Each case names a released version, the directory of the package to analyse, and
what a correct analysis says about it:

* luigi 3.6.0: ``Worker.__enter__`` starts a ``KeepAliveThread`` that lives until
  ``__exit__``; inside that block the worker forks a ``TaskProcess`` for each task
  (with more than one worker process) and builds a ``multiprocessing.Pool`` and
  ``Manager`` for parallel scheduling (``Worker.add``). ``Worker.__init__`` also
  builds a ``Manager``, but before the instance's thread exists: that one must not
  be blamed on it.
* unittest-parallel 1.4.0: ``with multiprocessing.Pool(...) as pool,
  multiprocessing.Manager() as manager`` forks the manager's server process while
  the pool's handler threads run (fixed in 1.5.0 by the "spawn" start method).
* ansible-core 2.17.7: ``StrategyBase.__init__`` starts the results thread, and
  ``WorkerProcess.start`` then forks each worker with ``get_context("fork")``.
* APScheduler 3.11.0, known safe: its ``ProcessPoolExecutor`` is driven from the
  scheduler's thread, but gets ``mp_context=get_context("spawn")`` through
  ``**pool_kwargs``. In 3.10.4, ``pool_kwargs = pool_kwargs or {}`` has no
  ``mp_context`` anywhere it comes from: the pool forks (the default before Python
  3.14) at its first ``submit``, on the scheduler's thread (fixed in 3.11.0). The
  executor is built from its ``processpool`` entry point; ``add_executor`` on a
  running scheduler builds it beside the scheduler's thread, and a pool is reported
  where it is built (where 3.11.0 fixed it).
* gunicorn 23.0.0, known safe: a pre-fork server, whose arbiter starts no thread
  before it forks its workers.
* gunicorn 25.1.0: ``Arbiter.run`` starts the control-socket server's thread, then
  forks every worker beside it (issues 3509, 3529). gunicorn 27.0.1, known safe: the
  server registers ``os.register_at_fork(before=...)``, which joins that thread
  before each fork.
* invoke 2.2.0, known safe: ``Runner._run_body`` forks the command (``pty.fork`` in
  ``Local.start``) and only then starts the timeout timer it keeps on the instance,
  which ``stop()`` cancels before the run returns.
* huey 2.5.3, known safe: the consumer builds its scheduler and workers all as
  threads or all as processes, as its one environment object decides.

Opt-in: ``pytest -m realworld``. Downloads are cached in ``$FORK_LINT_TEST_CACHE``
or ``~/.cache/fork-lint-tests``; a case skips when pip cannot download it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fork_lint.api import check_paths
from fork_lint.model import Finding
from tests.test_realworld import _cache_dir, _describe

pytestmark = pytest.mark.realworld


@dataclass(frozen=True)
class Expected:
    code: str
    file: str  # path suffix inside the analysed directory
    function: str  # qualified-name suffix of the enclosing function
    thread_source: str  # what the witness names as the thread's source


@dataclass(frozen=True)
class Case:
    requirement: str
    package: str  # the directory to analyse, inside the unpacked distribution
    reported: tuple[Expected, ...] = ()
    # (file suffix, function suffix, thread source): findings that must not appear
    not_reported: tuple[tuple[str, str, str], ...] = ()
    quiet: bool = False  # no finding at all
    ids: tuple[str, ...] = field(default=())


CASES = (
    Case(
        "luigi==3.6.0",
        "luigi",
        reported=(
            Expected("FRK002", "luigi/worker.py", "Worker._run_task", "threading.Thread.start"),
            Expected("FRK002", "luigi/worker.py", "Worker.add", "threading.Thread.start"),
        ),
        not_reported=(("luigi/worker.py", "Worker.__init__", "threading.Thread.start"),),
    ),
    Case(
        "unittest-parallel==1.4.0",
        "unittest_parallel",
        reported=(Expected("FRK002", "unittest_parallel/main.py", "main", "multiprocessing.Pool"),),
    ),
    Case(
        "ansible-core==2.17.7",
        "ansible",
        reported=(
            Expected(
                "FRK002",
                "ansible/executor/process/worker.py",
                "WorkerProcess.start",
                "threading.Thread.start",
            ),
        ),
    ),
    Case(
        "APScheduler==3.10.4",
        "apscheduler",
        reported=(
            Expected(
                "FRK003",
                "apscheduler/executors/pool.py",
                "ProcessPoolExecutor.__init__",
                "threading.Thread.start",
            ),
        ),
    ),
    Case("APScheduler==3.11.0", "apscheduler", quiet=True),
    Case("gunicorn==23.0.0", "gunicorn", quiet=True),
    Case(
        "gunicorn==25.1.0",
        "gunicorn",
        reported=(
            Expected(
                "FRK001", "gunicorn/arbiter.py", "Arbiter.spawn_worker", "threading.Thread.start"
            ),
        ),
    ),
    Case("gunicorn==27.0.1", "gunicorn", quiet=True),
    Case("invoke==2.2.0", "invoke", quiet=True),
    Case("huey==2.5.3", "huey", quiet=True),
)


def _fetch(requirement: str, cache: Path) -> Path:
    """The unpacked distribution of `requirement`: a wheel, or an sdist (pip reads an
    sdist's metadata in its own build environment; nothing is installed)."""
    name, _, version = requirement.partition("==")
    dest = cache / "unpacked" / f"{name}-{version}"
    if dest.is_dir():
        return dest
    downloads = cache / "downloads" / f"{name}-{version}"
    found = sorted(downloads.glob("*")) if downloads.is_dir() else []
    if not found:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps",
            "--disable-pip-version-check", "--quiet", "--dest", str(downloads), requirement,
        ]  # fmt: skip
        try:
            done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"pip could not download {requirement}: {exc}")
        found = sorted(downloads.glob("*")) if downloads.is_dir() else []
        if done.returncode != 0 or not found:
            pytest.skip(f"pip could not download {requirement}: {done.stderr.strip()[-200:]}")
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    archive = found[0]
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            z.extractall(partial)
    else:
        with tarfile.open(archive) as t:
            if sys.version_info >= (3, 12):
                t.extractall(partial, filter="data")
            else:
                t.extractall(partial)
    partial.rename(dest)
    return dest


def _package_dir(root: Path, package: str) -> Path:
    candidates = sorted(
        (p for p in root.rglob(package) if p.is_dir() and (p / "__init__.py").is_file()),
        key=lambda p: len(p.parts),
    )
    assert candidates, f"no package {package!r} under {root}"
    return candidates[0]


def _matches(finding: Finding, file: str, function: str, source: str) -> bool:
    return (
        finding.path.replace("\\", "/").endswith(file)
        and finding.function.endswith(function)
        and finding.witness is not None
        and finding.witness.thread_source == source
    )


@pytest.mark.parametrize("case", CASES, ids=[c.requirement for c in CASES])
def test_known_hazards_are_reported_and_safe_code_is_quiet(
    case: Case, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = _fetch(case.requirement, _cache_dir(tmp_path_factory))
    findings = check_paths([_package_dir(root, case.package)]).findings
    if case.quiet:
        assert findings == [], f"{case.requirement} is known safe:\n{_describe(findings)}"
    for want in case.reported:
        assert any(
            f.code == want.code and _matches(f, want.file, want.function, want.thread_source)
            for f in findings
        ), f"{case.requirement}: expected {want}; findings were:\n{_describe(findings)}"
    for file, function, source in case.not_reported:
        wrong = [f for f in findings if _matches(f, file, function, source)]
        assert not wrong, f"{case.requirement}: reported in {function}:\n{_describe(wrong)}"
