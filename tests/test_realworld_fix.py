"""`fork-lint --fix --unsafe-fixes` on Airflow's edge worker, as released on PyPI.

* 3.6.0 forks only: `_launch_job` is rewritten in place to start
  ``python -m airflow.sdk.execution_time.execute_workload --json-string ...`` with
  ``subprocess.Popen``; the results queue, `_run_job_via_supervisor` and
  `_reset_parent_signal_state` go.
* 3.7.0 and 5.1.0 already have that launch, chosen by configuration: the fork path
  is routed to it and removed.

In every version the `Job` dataclass ends up holding a `subprocess.Popen` and using
`poll()` and `returncode`, the package still byte-compiles, fork-lint finds no fork in
the launch, and ``ruff check --select F`` finds nothing that it did not find before.

Opt-in: ``pytest -m realworld``. Wheels are cached as in tests/test_realworld.py.
"""

from __future__ import annotations

import ast
import compileall
import difflib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fork_lint.api import check_paths
from fork_lint.cli import main
from tests.test_realworld import _cache_dir, _download, _unpack

pytestmark = pytest.mark.realworld

EDGE3 = Path("airflow/providers/edge3")
WORKER = EDGE3 / "cli/worker.py"
DATACLASSES = EDGE3 / "cli/dataclasses.py"
ENTRY = "airflow.sdk.execution_time.execute_workload"
VERSIONS = ("3.6.0", "3.7.0", "5.1.0")


@dataclass
class Fixed:
    version: str
    before: Path
    after: Path
    exit_code: int
    ruff_before: set[tuple[str, str, str]] | None
    ruff_after: set[tuple[str, str, str]] | None


def _ruff(root: Path) -> set[tuple[str, str, str]] | None:
    """(code, file, message) of every `ruff check --select F` finding; None without ruff."""
    try:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F"),
                *("--output-format", "json", "--exit-zero", str(root)),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    rows = json.loads(done.stdout or "[]")
    return {
        (r["code"], Path(r["filename"]).relative_to(root).as_posix(), r["message"]) for r in rows
    }


@pytest.fixture(scope="module", params=VERSIONS)
def fixed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Fixed:
    version: str = request.param
    cache = _cache_dir(tmp_path_factory)
    unpacked = _unpack(_download(version, cache), cache / "unpacked" / f"edge3-{version}")
    after = tmp_path_factory.mktemp(f"edge3-{version}-fixed") / "wheel"
    shutil.copytree(unpacked, after, ignore=shutil.ignore_patterns("__pycache__"))
    ruff_before = _ruff(after)
    code = main(["--fix", "--unsafe-fixes", "--isolated", "--quiet", str(after)])
    return Fixed(version, unpacked, after, code, ruff_before, _ruff(after))


def _diff_stat(fixed: Fixed) -> dict[str, tuple[int, int]]:
    out = {}
    for new in sorted(fixed.after.rglob("*.py")):
        rel = new.relative_to(fixed.after)
        old_lines = (fixed.before / rel).read_text(encoding="utf-8").splitlines()
        new_lines = new.read_text(encoding="utf-8").splitlines()
        diff = list(difflib.unified_diff(old_lines, new_lines, lineterm="", n=0))
        added = sum(1 for d in diff if d.startswith("+") and not d.startswith("+++"))
        removed = sum(1 for d in diff if d.startswith("-") and not d.startswith("---"))
        if added or removed:
            out[rel.as_posix()] = (added, removed)
    return out


def test_only_the_worker_and_the_job_dataclass_change(fixed: Fixed) -> None:
    stat = _diff_stat(fixed)
    print(f"\nedge3 {fixed.version}: " + ", ".join(f"{p} +{a} -{r}" for p, (a, r) in stat.items()))
    assert set(stat) == {WORKER.as_posix(), DATACLASSES.as_posix()}


def test_nothing_is_left_to_report(fixed: Fixed) -> None:
    assert fixed.exit_code == 0
    findings = check_paths([fixed.after], isolated=True).findings
    assert [f for f in findings if f.code == "FRK002"] == []


def test_the_package_still_byte_compiles(fixed: Fixed, tmp_path: Path) -> None:
    assert compileall.compile_dir(str(fixed.after / "airflow"), quiet=2, force=True)


def _tree(fixed: Fixed, rel: Path) -> ast.Module:
    return ast.parse((fixed.after / rel).read_text(encoding="utf-8"))


def _methods(tree: ast.Module, cls: str) -> dict[str, ast.FunctionDef]:
    [node] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
    return {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}


def _launches_entry_point(func: ast.FunctionDef) -> bool:
    """`subprocess.Popen([sys.executable, "-m", ENTRY, "--json-string", x.model_dump_json()])`."""
    for node in ast.walk(func):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "subprocess.Popen"):
            continue
        command = node.args[0] if node.args else None
        if not isinstance(command, ast.List):
            continue
        items = [ast.unparse(e) for e in command.elts]
        if items[:4] == ["sys.executable", "'-m'", repr(ENTRY), "'--json-string'"] and items[
            4
        ].endswith(".model_dump_json()"):
            return True
    return False


def test_the_launch_starts_a_fresh_interpreter(fixed: Fixed) -> None:
    tree = _tree(fixed, WORKER)
    methods = _methods(tree, "EdgeWorker")
    assert "_run_job_via_supervisor" not in methods
    assert "_launch_job_fork" not in methods
    assert not any(
        isinstance(n, ast.FunctionDef) and n.name == "_reset_parent_signal_state" for n in tree.body
    )
    launch = methods["_launch_job"]
    if _launches_entry_point(launch):
        return
    # The dispatcher: every launch it makes goes through a method that starts the entry point.
    called = {
        n.func.attr
        for n in ast.walk(launch)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and ast.unparse(n.func.value) == "self"
        and n.func.attr.startswith("_launch_job")
    }
    assert called == {"_launch_job_subprocess"}
    assert _launches_entry_point(methods["_launch_job_subprocess"])


def test_the_worker_no_longer_imports_multiprocessing(fixed: Fixed) -> None:
    assert "multiprocessing" not in _imported_modules(_tree(fixed, WORKER))


def test_the_job_dataclass_holds_a_popen(fixed: Fixed) -> None:
    tree = _tree(fixed, DATACLASSES)
    [job] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Job"]
    fields = {
        n.target.id: ast.unparse(n.annotation)
        for n in job.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    assert fields["process"] == "subprocess.Popen"
    methods = {f.name: ast.unparse(f) for f in job.body if isinstance(f, ast.FunctionDef)}
    assert "return self.process.poll() is None" in methods["is_running"]
    assert "return self.process.returncode == 0" in methods["is_success"]
    source = (fixed.after / DATACLASSES).read_text(encoding="utf-8")
    assert "is_alive" not in source
    assert "exitcode" not in source
    assert _imported_modules(tree) >= {"subprocess"}
    assert "multiprocessing" not in _imported_modules(tree)


def _imported_modules(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_ruff_finds_no_new_undefined_names_or_unused_imports(fixed: Fixed) -> None:
    if fixed.ruff_before is None or fixed.ruff_after is None:
        pytest.skip("ruff is not available")
    assert fixed.ruff_after - fixed.ruff_before == set()
