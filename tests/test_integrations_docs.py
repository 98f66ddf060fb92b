"""docs/integrations.md and action.yml: every snippet is valid for the tool it is written for,
every fork-lint command in them parses, and the composite action runs end to end."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fork_lint import __version__
from fork_lint.cli import build_parser
from fork_lint.output.sarif import INFORMATION_URI
from tests.integration_project import git, make_repo

ROOT = Path(__file__).parent.parent
DOCS = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
MANIFEST = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
INPUTS: dict[str, dict[str, Any]] = ACTION["inputs"]


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", DOCS, re.M | re.S)


def yaml_blocks() -> list[Any]:
    return [yaml.safe_load(block) for block in blocks("yaml")]


def fork_lint_commands() -> list[list[str]]:
    """Every `fork-lint ...` command in the page's console and yaml blocks, as argv."""
    commands = []
    for block in blocks("console") + blocks("yaml"):
        for raw in block.splitlines():
            line = raw.strip().lstrip("- ").removeprefix("run: ")
            if not line.startswith("fork-lint "):
                continue
            words = shlex.split(line.split(">")[0])
            commands.append(words[1:])
    return commands


def test_documented_commands_parse() -> None:
    commands = fork_lint_commands()
    assert len(commands) >= 5
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)
        assert args.command == "check"


def test_pre_commit_snippet_matches_the_manifest() -> None:
    config = next(b for b in yaml_blocks() if isinstance(b, dict) and "repos" in b)
    (repo,) = config["repos"]
    assert repo["repo"] == INFORMATION_URI
    assert repo["rev"] == f"v{__version__}"
    ids = {h["id"] for h in MANIFEST}
    assert {h["id"] for h in repo["hooks"]} <= ids
    for hook in MANIFEST:  # the table of hooks names each one with its command
        assert f"`{hook['id']}`" in DOCS
        assert f"`{hook['entry']} FILES`" in DOCS


def test_workflow_snippet_uses_the_action_inputs() -> None:
    workflow = next(b for b in yaml_blocks() if isinstance(b, dict) and "jobs" in b)
    steps = workflow["jobs"]["fork-lint"]["steps"]
    action_step = next(s for s in steps if s.get("uses", "").startswith("fork-lint/fork-lint@"))
    assert action_step["uses"] == f"fork-lint/fork-lint@v{__version__}"
    assert set(action_step["with"]) <= set(INPUTS)
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == action_step["with"]["sarif-file"]
    assert workflow["permissions"]["security-events"] == "write"


def test_documented_inputs_are_the_action_inputs() -> None:
    table = DOCS.split("Its inputs:")[1].split("\n\n")[1]
    documented = re.findall(r"^\| `([a-z-]+)` \|", table, re.M)
    assert documented == list(INPUTS)


def test_gitlab_snippet() -> None:
    job = next(b for b in yaml_blocks() if isinstance(b, dict) and "fork-lint" in b)["fork-lint"]
    reports = job["artifacts"]["reports"]
    script = "\n".join(job["script"])
    assert f"--output-format gitlab --exit-zero > {reports['codequality']}" in script
    assert f"--output-format junit > {reports['junit']}" in script


def test_action_references_only_declared_inputs() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used == set(INPUTS)
    assert ACTION["runs"]["using"] == "composite"
    for step in ACTION["runs"]["steps"]:
        if "uses" in step:  # only GitHub's cache action, see below
            assert step["uses"] == "actions/cache@v4"
            continue
        assert step["shell"] == "bash"
        # Inputs reach scripts through env, never pasted into the script (injection).
        assert "${{" not in step["run"]


def test_the_action_keeps_its_cache_outside_the_checkout() -> None:
    """A pull request could commit a `.fork_lint_cache/`: every run of fork-lint is
    pointed at the runner's temporary directory, and only runs that are not pull
    requests restore or save it (a pull request's other jobs could read the key, or
    save a forged cache under the same name)."""
    steps = ACTION["runs"]["steps"]
    runs = [s for s in steps if "fork-lint check" in s.get("run", "")]
    assert runs
    for step in runs:
        assert step["env"]["FORK_LINT_CACHE_DIR"].startswith("${{ runner.temp }}/")
        assert step["env"]["FORK_LINT_KEY_FILE"].startswith("${{ runner.temp }}/")
    (cache,) = [s for s in steps if "uses" in s]
    assert cache["with"]["path"] == "${{ runner.temp }}/fork-lint"
    assert "github.event_name != 'pull_request'" in cache["if"]
    assert "github.event_name != 'pull_request_target'" in cache["if"]


# -- the composite action, run step by step as the runner would -------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def evaluate(expression: str, inputs: dict[str, str], action_path: Path) -> str:
    if match := re.fullmatch(r"inputs\.([a-z-]+)", expression):
        return inputs[match[1]]
    if match := re.fullmatch(r"inputs\.([a-z-]+) == '(\w*)' && '(\w*)' \|\| '(\w*)'", expression):
        return match[3] if inputs[match[1]] == match[2] else match[4]
    if expression == "github.action_path":
        return str(action_path)
    if expression == "runner.temp":
        return os.environ["RUNNER_TEMP"]
    raise AssertionError(f"the test runner does not understand ${{{{ {expression} }}}}")


def condition(expression: str, inputs: dict[str, str]) -> bool:
    match = re.fullmatch(r"inputs\.([a-z-]+) != ''", expression)
    assert match, f"the test runner does not understand `if: {expression}`"
    return inputs[match[1]] != ""


def run_action(repo: Path, overrides: dict[str, str], env: dict[str, str]) -> list[Any]:
    """Run every step but the install (fork-lint is installed here) like the runner does."""
    inputs = {name: str(spec.get("default", "")) for name, spec in INPUTS.items()}
    inputs.update(overrides)
    results = []
    for step in ACTION["runs"]["steps"]:
        if step["id"] == "install" or "uses" in step:  # a new runner has no cache to restore
            continue
        if "if" in step and not condition(step["if"], inputs):
            continue
        step_env = {
            key: EXPRESSION.sub(lambda m: evaluate(m[1], inputs, ROOT), str(value))
            for key, value in step.get("env", {}).items()
        }
        workdir = EXPRESSION.sub(lambda m: evaluate(m[1], inputs, ROOT), step["working-directory"])
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=repo / workdir,
            env={**os.environ, **env, **step_env},
            capture_output=True,
            text=True,
            check=False,
        )
        results.append((step["id"], proc))
    return results


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("git") is None, reason="bash, git")
def test_action_on_a_pull_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    origin = make_repo(tmp_path / "origin")
    repo = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{origin}", str(repo))
    git(repo, "update-ref", "-d", "refs/remotes/origin/main")  # a PR checkout lacks the base
    git(repo, "checkout", "-q", "-b", "pr")
    tool = repo / "svc" / "tool.py"
    tool.write_text(tool.read_text().replace("os.nice", "os.setpgrp"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "change the hook")

    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    monkeypatch.setenv("RUNNER_TEMP", str(runner_temp))
    env = {
        "GITHUB_BASE_REF": "main",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
    }
    results = dict(run_action(repo, {"sarif-file": "fork-lint.sarif"}, env))
    assert not (repo / ".fork_lint_cache").exists()
    assert any((runner_temp / "fork-lint" / "cache").rglob("results/*"))
    assert (runner_temp / "fork-lint" / "key").is_file()

    sarif = results["sarif"]
    assert sarif.returncode == 0, sarif.stderr
    log = json.loads((repo / "fork-lint.sarif").read_text(encoding="utf-8"))
    assert len(log["runs"][0]["results"]) == 3
    assert output.read_text(encoding="utf-8") == "path=fork-lint.sarif\n"

    annotate = results["annotate"]
    assert annotate.returncode == 1, annotate.stderr  # findings fail the step
    files = [line.split("file=")[1].split(",")[0] for line in annotate.stdout.splitlines()]
    assert files[0] == "svc/tool.py"  # the changed line first: the base branch was fetched
    assert sorted(files) == ["svc/jobs.py", "svc/tool.py", "svc/worker.py"]
    assert "1 touching lines changed since `origin/main`" in summary.read_text(encoding="utf-8")

    only = dict(run_action(repo, {"only-changed": "true", "fail-on-findings": "false"}, env))
    assert only["annotate"].returncode == 0
    assert [line.split(",")[1] for line in only["annotate"].stdout.splitlines()] == [
        "file=svc/tool.py"
    ]
    assert "sarif" not in only  # no sarif-file, no SARIF step
