"""A small threaded project, written to disk and committed to git, for the integration tests.

`svc.main.main` starts a thread, then reaches `os.fork()` in svc/jobs.py and a
`preexec_fn` launch in svc/tool.py; svc/worker.py runs a `preexec_fn=os.setsid` launch
on a thread (the case the safe fix rewrites); svc/clean.py has nothing to report.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from fork_lint.cli import main

PROJECT: dict[str, str] = {
    "pyproject.toml": '[project]\nname = "svc"\nrequires-python = ">=3.10"\n',
    "svc/__init__.py": "",
    "svc/main.py": """\
import threading

from svc import jobs, tool


def main():
    threading.Thread(target=print).start()
    jobs.spawn()
    tool.launch(["true"])
""",
    "svc/jobs.py": """\
import os


def spawn():
    pid = os.fork()
    return pid
""",
    "svc/tool.py": """\
import os
import subprocess


def launch(cmd):
    return subprocess.Popen(cmd, preexec_fn=os.nice)
""",
    "svc/worker.py": """\
import os
import subprocess
import threading


def run(cmd):
    return subprocess.Popen(cmd, preexec_fn=os.setsid)


def start():
    threading.Thread(target=run, args=(["true"],)).start()
""",
    "svc/clean.py": """\
def add(a, b):
    return a + b
""",
}

# (path, line, code) of what fork-lint reports on PROJECT.
EXPECTED = {
    ("svc/jobs.py", 5, "FRK001"),
    ("svc/tool.py", 6, "FRK004"),
    ("svc/worker.py", 7, "FRK004"),
}

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(root.parent)}
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def make_repo(root: Path, files: dict[str, str] | None = None) -> Path:
    """`files` (default PROJECT) in a fresh git repository with one commit on `main`."""
    root.mkdir(parents=True, exist_ok=True)
    write(root, PROJECT if files is None else files)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def fork_lint(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fork_lint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`fork-lint ARGS` in this process (a tenth of the cost of a subprocess), with `cwd`
    as the working directory and `env` added to the environment."""
    out, err = io.StringIO(), io.StringIO()
    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    try:
        os.chdir(cwd)
        os.environ.update(env or {})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["fork-lint", *args], code, out.getvalue(), err.getvalue())
