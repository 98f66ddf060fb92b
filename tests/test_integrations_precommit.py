"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit and prek on a git repository.

Two ways in: a `repo: local` configuration built from the manifest's hook definitions
(`language: system`, so the fork-lint under test runs and no network is needed), and
the manifest itself installed from a snapshot of this repository (`language: python`:
the hook environment is built with pip or uv, so that test needs the package index and
skips when it cannot reach it). The tools come from PyPI (the `test` extra); a missing
one is installed into a temporary directory, and the tests skip only if that fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from fork_lint.cli import build_parser
from tests.integration_project import git, make_repo

ROOT = Path(__file__).parent.parent
MANIFEST = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
BIN = str(Path(sys.executable).parent)
TOOLS = {"pre-commit": "pre-commit", "prek": "prek"}  # executable -> PyPI package
NETWORK_TROUBLE = (
    "Could not find a version",
    "No matching distribution",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "error sending request",
    "Failed to fetch",
    "ConnectTimeout",
    "ReadTimeout",
    "dns error",
)

INSTALLED_HERE: dict[str, str] = {}  # bin directory -> `pip install --target` directory

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(scope="session")
def tool_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """The directory holding an executable, installing its PyPI package if needed."""
    installed: dict[str, str] = {}
    target = tmp_path_factory.mktemp("tools")

    def find(name: str) -> str:
        if name in installed:
            return installed[name]
        for directory in (BIN, *os.environ.get("PATH", "").split(os.pathsep)):
            if directory and os.access(os.path.join(directory, name), os.X_OK):
                installed[name] = directory
                return directory
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), name],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if proc.returncode != 0 or not (target / "bin" / name).exists():
            pytest.skip(f"{name} is not installed and cannot be installed: {proc.stderr[-300:]}")
        installed[name] = str(target / "bin")
        INSTALLED_HERE[installed[name]] = str(target)
        return installed[name]

    return find


def environment(home: Path, tool_bin: str, extra: str = "") -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRE_COMMIT", "PREK", "GIT_", "VIRTUAL_ENV"))
    }
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join(p for p in (tool_bin, extra, BIN, env.get("PATH", "")) if p),
        PRE_COMMIT_HOME=str(home / "pre-commit"),
        PREK_HOME=str(home / "prek"),
        PRE_COMMIT_COLOR="never",
        NO_COLOR="1",
    )
    if tool_bin in INSTALLED_HERE:  # `pip install --target`: the scripts need the packages
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, (INSTALLED_HERE[tool_bin], env.get("PYTHONPATH")))
        )
    return env


def run_hooks(
    tool: str, tool_bin: str, repo: Path, *args: str, extra_path: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.path.join(tool_bin, tool), "run", *args],
        cwd=repo,
        env=environment(repo.parent / "home", tool_bin, extra_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def local_config(hook_ids: list[str]) -> str:
    """A `repo: local` configuration with the manifest's hooks run from this environment."""
    hooks = []
    for hook in MANIFEST:
        if hook["id"] not in hook_ids:
            continue
        local = {k: v for k, v in hook.items() if k not in ("minimum_pre_commit_version",)}
        local["language"] = "system"
        hooks.append(local)
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False)


def configured_repo(tmp_path: Path, config: str) -> Path:
    repo = make_repo(tmp_path / "repo")
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    git(repo, "add", ".pre-commit-config.yaml")
    return repo


def test_manifest_defines_the_two_hooks() -> None:
    hooks = {h["id"]: h for h in MANIFEST}
    assert set(hooks) == {"fork-lint", "fork-lint-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["require_serial"] is True  # one invocation sees every staged file
        assert hook["types"] == ["python"]
        assert "--whole-project" in hook["entry"].split()
    assert "--fix" not in hooks["fork-lint"]["entry"].split()
    check = build_parser().parse_args([*hooks["fork-lint"]["entry"].split()[1:], "a.py"])
    assert check.whole_project
    fix = build_parser().parse_args([*hooks["fork-lint-fix"]["entry"].split()[1:], "a.py"])
    assert fix.whole_project
    assert fix.fix
    assert fix.exit_non_zero_on_fix
    assert not fix.unsafe_fixes


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_check_hook(tool: str, tool_dir: Callable[[str], str], tmp_path: Path) -> None:
    tool_bin = tool_dir(tool)
    repo = configured_repo(tmp_path, local_config(["fork-lint"]))

    proc = run_hooks(tool, tool_bin, repo, "--all-files")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    for where in ("svc/jobs.py:5:11: FRK001", "svc/tool.py:6:12: FRK004", "svc/worker.py:7:12"):
        assert where in out
    assert "Found 3 errors." in out

    # Only the staged files are passed; the project is still analysed whole, so the
    # thread started in main.py reaches the findings in jobs.py and tool.py.
    proc = run_hooks(tool, tool_bin, repo, "--files", "svc/main.py")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "svc/jobs.py:5:11: FRK001" in out
    assert "svc/tool.py:6:12: FRK004" in out
    assert "svc/worker.py" not in out

    proc = run_hooks(tool, tool_bin, repo, "--files", "svc/clean.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_fix_hook_applies_the_safe_fix(
    tool: str, tool_dir: Callable[[str], str], tmp_path: Path
) -> None:
    tool_bin = tool_dir(tool)
    repo = configured_repo(tmp_path, local_config(["fork-lint-fix"]))
    worker = repo / "svc" / "worker.py"

    proc = run_hooks(tool, tool_bin, repo, "fork-lint-fix", "--files", "svc/worker.py")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # the file changed: the commit must stop
    text = worker.read_text(encoding="utf-8")
    assert "subprocess.Popen(cmd, start_new_session=True)" in text
    assert "preexec_fn" not in text

    git(repo, "add", "svc/worker.py")
    proc = run_hooks(tool, tool_bin, repo, "fork-lint-fix", "--files", "svc/worker.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert worker.read_text(encoding="utf-8") == text


def snapshot_of_this_repository(target: Path) -> str:
    """The files a `pip install .` of fork-lint needs, committed to a new repository."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src", target / "src", ignore=ignore)
    shutil.copytree(ROOT / "docs" / "rules", target / "docs" / "rules")
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot")
    return git(target, "rev-parse", "HEAD").strip()


@pytest.mark.slow  # builds a virtual environment and pip-installs fork-lint into it
@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_hooks_install_from_the_repository(
    tool: str, tool_dir: Callable[[str], str], tmp_path: Path
) -> None:
    tool_bin = tool_dir(tool)
    # prek builds Python environments with uv; with uv on PATH it downloads none.
    extra = tool_dir("uv") if tool == "prek" else ""
    rev = snapshot_of_this_repository(tmp_path / "fork-lint")
    config = yaml.safe_dump(
        {
            "repos": [
                {
                    "repo": str(tmp_path / "fork-lint"),
                    "rev": rev,
                    "hooks": [{"id": "fork-lint"}, {"id": "fork-lint-fix", "stages": ["manual"]}],
                }
            ]
        }
    )
    repo = configured_repo(tmp_path, config)
    proc = run_hooks(tool, tool_bin, repo, "--all-files", extra_path=extra)
    out = proc.stdout + proc.stderr
    failed_install = proc.returncode not in (0, 1) or "svc/" not in out
    if failed_install and any(trouble in out for trouble in NETWORK_TROUBLE):
        pytest.skip(f"{tool} could not install the hook environment (offline?)")
    assert proc.returncode == 1, out
    assert "svc/jobs.py:5:11: FRK001" in out
    assert "Found 3 errors." in out
