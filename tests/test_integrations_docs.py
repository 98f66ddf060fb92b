"""docs/integrations.md and action.yml: every snippet is valid for the tool it is written for,
every fork-lint command in them parses, and the composite action runs end to end."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fork_lint import __version__
from fork_lint.cli import build_parser
from fork_lint.output.sarif import INFORMATION_URI
from tests.integration_project import EXPECTED, PROJECT, git, make_repo

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
    # The output names the file from the repository root, whatever working-directory is.
    output = "${{ steps." + action_step["id"] + ".outputs.sarif-file }}"
    assert upload["with"]["sarif_file"] == output
    assert "sarif-file" in ACTION["outputs"]
    assert workflow["permissions"]["security-events"] == "write"


REPOSITORY = "https://github.com/fork-lint/fork-lint"


def test_docs_install_only_from_routes_that_exist() -> None:
    """No release is on PyPI yet: every `pip install` in the README and the docs installs
    from a checkout (`.`, with extras) or from the repository (`git+URL@REV`), and a
    page that shows the repository route says why."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    target = re.compile(r"""pip install (?:-\S+ )*(?:'([^']+)'|"([^"]+)"|([^\s`'"]+))""")
    installs = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in target.finditer(text):
            installs += 1
            what = next(group for group in match.groups() if group)
            ok = what.startswith(".") or what.startswith(
                (f"git+{REPOSITORY}@", f"fork-lint[watch] @ git+{REPOSITORY}@")
            )
            assert ok, f"{page.name}: `{match[0]}` installs from a route that does not exist"
        if f"git+{REPOSITORY}" in text:
            assert "no release on PyPI yet" in text, page.name
    assert installs >= 5
    assert INFORMATION_URI == REPOSITORY


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
    runs = [s for s in steps if '"$FORK_LINT" check' in s.get("run", "")]
    assert len(runs) == 1  # one analysis writes the annotations and the SARIF
    for step in runs:
        assert step["env"]["FORK_LINT_CACHE_DIR"].startswith("${{ runner.temp }}/")
        assert step["env"]["FORK_LINT_KEY_FILE"].startswith("${{ runner.temp }}/")
    (cache,) = [s for s in steps if "uses" in s]
    assert cache["with"]["path"] == "${{ runner.temp }}/fork-lint"
    assert "github.event_name != 'pull_request'" in cache["if"]
    assert "github.event_name != 'pull_request_target'" in cache["if"]
    # The environment fork-lint is installed in is neither cached nor in the checkout.
    (install,) = [s for s in steps if s["id"] == "install"]
    assert install["env"]["VENV"] == "${{ runner.temp }}/fork-lint-venv"


# -- the composite action, run step by step as the runner would -------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
# The fork-lint under test, as if the install step had put it in its environment.
UNDER_TEST = str(Path(sys.executable).parent / "fork-lint")


class Runner:
    """Runs the action's steps as GitHub's runner does: each step's `env` and
    `working-directory` evaluated, its own `$GITHUB_OUTPUT` file, whose lines become
    `steps.<id>.outputs`, and the action's outputs evaluated at the end. `actions/cache`
    is skipped (a new runner has nothing to restore); so is the install step unless
    `install` (then fork-lint is installed from this checkout, which needs the index)."""

    def __init__(self, workspace: Path, runner_temp: Path, install: bool = False) -> None:
        self.workspace = workspace
        self.temp = runner_temp
        self.install = install

    def evaluate(self, expression: str, inputs: dict[str, str], outputs: dict[str, Any]) -> str:
        if match := re.fullmatch(r"inputs\.([a-z-]+)", expression):
            return inputs[match[1]]
        if match := re.fullmatch(
            r"inputs\.([a-z-]+) == '(\w*)' && '(\w*)' \|\| '(\w*)'", expression
        ):
            return match[3] if inputs[match[1]] == match[2] else match[4]
        if match := re.fullmatch(r"steps\.([a-z-]+)\.outputs\.([a-z-]+)", expression):
            return str(outputs.get(match[1], {}).get(match[2], ""))
        if expression == "github.action_path":
            return str(ROOT)
        if expression == "runner.temp":
            return str(self.temp)
        raise AssertionError(f"the test runner does not understand ${{{{ {expression} }}}}")

    def run(
        self, overrides: dict[str, str], env: dict[str, str]
    ) -> tuple[dict[str, subprocess.CompletedProcess[str]], dict[str, str]]:
        inputs = {name: str(spec.get("default", "")) for name, spec in INPUTS.items()}
        inputs.update(overrides)
        outputs: dict[str, dict[str, str]] = {}
        results = {}
        for number, step in enumerate(ACTION["runs"]["steps"]):
            assert "if" not in step or "uses" in step, "the test runner evaluates no `if:`"
            if "uses" in step:
                continue
            if step["id"] == "install" and not self.install:
                outputs["install"] = {"fork-lint": UNDER_TEST}
                continue

            def sub(text: str) -> str:
                return EXPRESSION.sub(lambda m: self.evaluate(m[1], inputs, outputs), text)

            step_env = {key: sub(str(value)) for key, value in step.get("env", {}).items()}
            output = self.temp / f"output-{number}"
            output.write_text("", encoding="utf-8")
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=self.workspace / sub(step.get("working-directory", ".")),
                env={
                    **os.environ,
                    "GITHUB_WORKSPACE": str(self.workspace),
                    "RUNNER_TEMP": str(self.temp),
                    "GITHUB_OUTPUT": str(output),
                    **env,
                    **step_env,
                },
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            results[step["id"]] = proc
            lines = output.read_text(encoding="utf-8").splitlines()
            outputs[step["id"]] = dict(line.split("=", 1) for line in lines)
        action_outputs = {
            name: EXPRESSION.sub(lambda m: self.evaluate(m[1], inputs, outputs), spec["value"])
            for name, spec in ACTION["outputs"].items()
        }
        return results, action_outputs


def annotated_files(stdout: str) -> list[str]:
    return [line.split("file=")[1].split(",")[0] for line in stdout.splitlines()]


needs_git = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("git") is None, reason="bash, git"
)


@needs_git
def test_action_on_a_pull_request(tmp_path: Path) -> None:
    origin = make_repo(tmp_path / "origin")
    repo = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{origin}", str(repo))
    git(repo, "update-ref", "-d", "refs/remotes/origin/main")  # a PR checkout lacks the base
    git(repo, "checkout", "-q", "-b", "pr")
    tool = repo / "svc" / "tool.py"
    tool.write_text(tool.read_text().replace("os.nice", "os.setpgrp"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "change the hook")

    summary = tmp_path / "summary.md"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    runner = Runner(repo, runner_temp)
    env = {"GITHUB_BASE_REF": "main", "GITHUB_STEP_SUMMARY": str(summary)}
    results, outputs = runner.run({"sarif-file": "fork-lint.sarif"}, env)
    assert set(results) == {"check"}  # one analysis for the annotations and the SARIF
    assert not (repo / ".fork_lint_cache").exists()
    assert any((runner_temp / "fork-lint" / "cache").rglob("results/*"))
    assert (runner_temp / "fork-lint" / "key").is_file()

    check = results["check"]
    assert check.returncode == 1, check.stderr  # findings fail the step
    log = json.loads((repo / "fork-lint.sarif").read_text(encoding="utf-8"))
    assert len(log["runs"][0]["results"]) == 3
    assert outputs == {"sarif-file": "fork-lint.sarif"}
    files = annotated_files(check.stdout)
    assert files[0] == "svc/tool.py"  # the changed line first: the base branch was fetched
    assert sorted(files) == ["svc/jobs.py", "svc/tool.py", "svc/worker.py"]
    assert "1 touching lines changed since `origin/main`" in summary.read_text(encoding="utf-8")

    only, outputs = runner.run(
        {"only-changed": "true", "fail-on-findings": "false", "sarif-file": "all.sarif"}, env
    )
    assert only["check"].returncode == 0
    assert annotated_files(only["check"].stdout) == ["svc/tool.py"]
    # The SARIF of the same run holds every finding: code scanning compares whole reports.
    log = json.loads((repo / "all.sarif").read_text(encoding="utf-8"))
    assert len(log["runs"][0]["results"]) == 3
    _, outputs = runner.run({}, env)
    assert outputs == {"sarif-file": ""}  # no sarif-file, no SARIF


def _sarif_uris(path: Path) -> set[str]:
    log = json.loads(path.read_text(encoding="utf-8"))
    uris = set()
    for result in log["runs"][0]["results"]:
        for location in result["locations"] + result.get("relatedLocations", []):
            uris.add(location["physicalLocation"]["artifactLocation"]["uri"])
        for flow in result.get("codeFlows", []):
            for thread in flow["threadFlows"]:
                for step in thread["locations"]:
                    uris.add(step["location"]["physicalLocation"]["artifactLocation"]["uri"])
    return uris


@needs_git
def test_action_in_a_monorepo_subdirectory(tmp_path: Path) -> None:
    """With `working-directory`, annotations, SARIF URIs and the `sarif-file` output
    name files from the repository root, where GitHub looks for them."""
    files = {f"services/api/{name}": text for name, text in PROJECT.items()}
    files["README.md"] = "a monorepo\n"
    repo = make_repo(tmp_path / "workspace", files)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    runner = Runner(repo, runner_temp)
    overrides = {
        "working-directory": "services/api",
        "sarif-file": "reports/fork-lint.sarif",
        "args": "svc",
    }
    (repo / "services/api/reports").mkdir()
    results, outputs = runner.run(overrides, {"GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")})
    check = results["check"]
    assert check.returncode == 1, check.stderr
    expected = {f"services/api/{path}" for path, _, _ in EXPECTED}
    assert set(annotated_files(check.stdout)) == expected
    for path in annotated_files(check.stdout):
        assert (repo / path).is_file()
    assert outputs == {"sarif-file": "services/api/reports/fork-lint.sarif"}
    sarif = repo / outputs["sarif-file"]
    uris = _sarif_uris(sarif)
    assert expected <= uris
    assert all((repo / uri).is_file() for uri in uris)
    # The step summary names the same files.
    summary = (tmp_path / "s.md").read_text(encoding="utf-8")
    assert "services/api/svc/jobs.py" in summary


@needs_git
def test_action_installs_fork_lint_into_an_environment_of_its_own(tmp_path: Path) -> None:
    """The install step builds a virtual environment in the runner's temporary
    directory from the action's checkout, and the check runs the fork-lint there,
    not whatever `python` or `fork-lint` is first on PATH."""
    repo = make_repo(tmp_path / "workspace")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "fork-lint").write_text("#!/bin/sh\necho decoy; exit 3\n", encoding="utf-8")
    (decoy / "fork-lint").chmod(0o755)
    path = os.pathsep.join([str(decoy), os.environ.get("PATH", "")])
    results, _ = Runner(repo, runner_temp, install=True).run(
        {"fail-on-findings": "false"}, {"PATH": path}
    )
    install = results["install"]
    if install.returncode != 0:
        trouble = ("Could not find a version", "No matching distribution", "connection")
        if any(word in install.stderr for word in trouble):
            pytest.skip(f"the package index cannot be reached: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr
    venv = runner_temp / "fork-lint-venv"
    assert (venv / "pyvenv.cfg").is_file()
    check = results["check"]
    assert check.returncode == 0, check.stderr
    assert "decoy" not in check.stdout
    assert sorted(annotated_files(check.stdout)) == sorted(p for p, _, _ in EXPECTED)
