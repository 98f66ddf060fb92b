"""A checked-out tree must not stop, hang, exhaust or run code in fork-lint.

Names that are not UTF-8, links to devices and FIFOs, files too large to parse,
configuration nested too deeply, modules named like the standard library's, a
git configuration that runs programs: each is planted next to a file with a real
finding, which must still be reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fork_lint.cli import main
from tests.limited import run_limited

GOOD = "import os, threading\nthreading.Thread(target=print).start()\nos.fork()\n"
FORMATS = ("full", "concise", "json", "sarif", "github", "gitlab", "junit")
BAD_NAME = os.fsdecode(b"b\xffd.py")  # a byte that is not UTF-8


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "good.py").write_text(GOOD)
    monkeypatch.chdir(root)
    monkeypatch.delenv("FORK_LINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("FORK_LINT_NO_CACHE", raising=False)
    return root


def _bad_name(tree: Path, content: str = GOOD) -> Path:
    path = tree / BAD_NAME
    try:
        path.write_text(content)
    except (OSError, UnicodeEncodeError):  # a file system that only takes UTF-8 (APFS)
        pytest.skip("the file system refuses names that are not UTF-8")
    return path


def _cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr; both must be valid UTF-8."""
    code = main(["check", *args])
    out = capsysbinary.readouterr()
    return code, out.out.decode("utf-8"), out.err.decode("utf-8")


# ---------------------------------------------------------------------------- names


@pytest.mark.parametrize("cache", ["--no-cache", "--cache"], ids=["no-cache", "cache"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_name_that_is_not_utf8_is_analysed_and_shown_escaped(
    tree: Path, capsysbinary: pytest.CaptureFixture[bytes], fmt: str, cache: str
) -> None:
    """One such name once ended the run (`UnicodeEncodeError`, exit 2, every other
    finding lost). Now the file is analysed like any other, in every format, cold
    and warm, and its name is printed with the byte escaped."""
    _bad_name(tree)
    args = ["--output-format", fmt, *([] if cache == "--cache" else [cache])]
    for _ in range(2):  # cold, then from the cache
        code, out, err = _cli(capsysbinary, *args)
        assert code == 1, err
        assert "good.py" in out
        if fmt in ("json", "gitlab", "sarif"):
            texts = list(_strings(json.loads(out)))
            assert any(r"b\xffd.py" in text for text in texts)
            if fmt == "sarif":
                assert "b%FFd.py" in texts  # the URI holds the byte itself
        else:
            assert r"b\xffd.py" in out


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(data, list):
        return [s for item in data for s in _strings(item)]
    return []


def test_a_name_that_is_not_utf8_in_a_baseline_and_a_fix(
    tree: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = _bad_name(
        tree,
        "import os, subprocess, threading\n"
        "threading.Thread(target=print).start()\n"
        "subprocess.Popen(['ls'], preexec_fn=os.setsid)\n",
    )
    code, _, err = _cli(capsysbinary, "--write-baseline", "baseline.json")
    assert code == 0, err
    json.loads((tree / "baseline.json").read_text(encoding="utf-8"))
    assert _cli(capsysbinary, "--baseline", "baseline.json")[0] == 0
    code, out, _ = _cli(capsysbinary, "--diff")
    assert r"+++ b/b\xffd.py" in out
    _cli(capsysbinary, "--fix")
    assert "start_new_session=True" in path.read_text()


_HUGE = 33 * 1024 * 1024


def test_the_size_limit_is_tens_of_megabytes() -> None:
    from fork_lint.fsio import MAX_FILE_BYTES

    assert 20_000_000 < MAX_FILE_BYTES < _HUGE  # test_bad_inputs analyses 20 MB


def test_printable_escapes_only_lone_surrogates() -> None:
    from fork_lint.fsio import printable

    assert printable("plain é") == "plain é"
    assert printable(BAD_NAME) == r"b\xffd.py"
    assert printable(BAD_NAME, "\\\\") == r"b\\xffd.py"
    assert printable("\ud800") == r"\ud800"


# ---------------------------------------------------------------------------- not files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
@pytest.mark.parametrize("kind", ["zero", "fifo", "link-to-fifo"])
def test_a_device_or_fifo_named_like_a_source_is_skipped_with_a_warning(
    tree: Path, kind: str
) -> None:
    """`x.py -> /dev/zero` once filled memory, a FIFO (through a link) hung the run."""
    if kind == "zero":
        (tree / "x.py").symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(tree / "x.py")
    else:
        os.mkfifo(tree / "pipe")
        (tree / "x.py").symlink_to("pipe")
    proc = run_limited(tree, "--no-cache", timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert "good.py:3:1: FRK001" in proc.stdout
    assert "fork-lint: warning: x.py: not a regular file" in proc.stderr


def test_a_file_above_the_size_limit_is_a_diagnostic(tree: Path) -> None:
    """Past `fsio.MAX_FILE_BYTES` (a sparse file here: nothing is written) a file
    gets an FRK900 instead of being read and parsed."""
    with open(tree / "huge.py", "wb") as fh:
        fh.truncate(_HUGE)
    proc = run_limited(tree, "--no-cache", timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "good.py:3:1: FRK001" in proc.stdout
    assert "huge.py:1:1: FRK900 cannot read file: file too large" in proc.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_a_fifo_gitignore_does_not_hang_discovery(tree: Path) -> None:
    (tree / ".git").mkdir()
    os.mkfifo(tree / ".gitignore")
    proc = run_limited(tree, "--no-cache", timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert "good.py:3:1: FRK001" in proc.stdout
    assert ".gitignore: cannot read: not a regular file (a FIFO)" in proc.stderr


def test_a_baseline_that_is_a_device_is_an_error(tree: Path) -> None:
    (tree / "baseline.json").symlink_to("/dev/zero")
    proc = run_limited(tree, "--no-cache", "--baseline", "baseline.json", timeout=30)
    assert proc.returncode == 2
    assert "baseline.json: cannot read baseline: not a regular file" in proc.stderr


# ---------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "value",
    ["[" * 50_000 + "]" * 50_000, "{a = " * 50_000 + "1" + "}" * 50_000],
    ids=["arrays", "inline-tables"],
)
def test_configuration_nested_too_deeply_names_the_file(
    tree: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    (tree / "pyproject.toml").write_text(f"[tool.fork-lint]\nx = {value}\n")
    assert main(["check", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fork-lint: error: pyproject.toml: invalid TOML: ")
    assert "nested too deeply" in err


# ---------------------------------------------------------------------------- running code

_HOSTILE_MODULE = "open({marker!r}, 'w').write('ran')\n"


def _plant(directory: Path, names: list[str]) -> Path:
    """Modules that leave a file behind if imported; the marker directory."""
    markers = directory.parent / "markers"
    markers.mkdir(exist_ok=True)
    for name in names:
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_HOSTILE_MODULE.format(marker=str(markers / name.replace("/", "."))))
    return markers


def test_python_m_fork_lint_imports_nothing_from_the_tree(tree: Path) -> None:
    """`-m` puts the working directory first on sys.path, and fork-lint imports
    `json`, `tempfile`, `hashlib` ... only after it starts."""
    names = ["json.py", "tempfile.py", "hashlib.py", "marshal.py", "tokenize.py", "pathspec.py"]
    markers = _plant(tree, names)
    proc = subprocess.run(
        [sys.executable, "-m", "fork_lint", "check", "--no-cache", "--output-format", "concise"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sorted(p.name for p in markers.iterdir()) == []
    assert proc.returncode == 1, proc.stderr
    assert "good.py:3:1: FRK001" in proc.stdout


def test_worker_processes_import_nothing_from_the_tree(tree: Path) -> None:
    """The fork server, the resource tracker and spawned workers start as
    `python -c ...` with the working directory first on sys.path."""
    markers = _plant(tree, ["multiprocessing/__init__.py", "struct.py", "selectors.py"])
    line = "x = 1  # " + "padding " * 12 + "\n"
    for i in range(8):  # enough source for two worker processes
        (tree / f"m{i}.py").write_text(line * 4000)
    # The installed command: its sys.path starts with its own directory, so only
    # the worker processes could import from the working directory.
    script = Path(sys.executable).with_name("fork-lint")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "fork_lint"]
    proc = subprocess.run(
        [*command, "check", "-j", "2", "--output-format", "concise"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert sorted(p.name for p in markers.iterdir()) == []
    assert proc.returncode == 1, proc.stderr
    assert "good.py:3:1: FRK001" in proc.stdout


# ---------------------------------------------------------------------------- git

_needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=True,
    )


@pytest.fixture
def repo(tree: Path) -> Path:
    _git(tree, "init", "-q")
    (tree / ".gitattributes").write_text("*.py filter=evil diff=evil\n")
    _git(tree, "add", ".")
    _git(tree, "commit", "-qm", "init")
    with open(tree / "good.py", "a") as fh:
        fh.write("os.fork()\n")
    os.utime(tree / "good.py", (1, 1))  # so that git must look at the content
    return tree


def _hostile_config(repo: Path, marker: Path) -> None:
    command = f"touch {marker}; false"
    for key in (
        "core.fsmonitor",
        "filter.evil.clean",
        "filter.evil.smudge",
        "filter.evil.process",
        "diff.evil.textconv",
        "diff.evil.command",
        "diff.external",
        "core.pager",
    ):
        _git(repo, "config", key, command)


@_needs_git
def test_diff_base_runs_nothing_the_repository_configures(repo: Path) -> None:
    """--diff-base once ran the repository's core.fsmonitor and clean filters."""
    marker = repo.parent / "ran"
    _hostile_config(repo, marker)
    proc = run_limited(repo, "--no-cache", "--diff-base", "HEAD", "--only-changed")
    assert not marker.exists()
    assert proc.returncode == 1, proc.stderr
    # The changed line is still found (the file compared as it is on disk).
    assert "good.py:4:1: FRK001" in proc.stdout
    assert "good.py:3:1" not in proc.stdout


@_needs_git
def test_the_cache_asks_git_without_running_what_it_configures(repo: Path) -> None:
    """The check whether git tracks the cache runs `git ls-files`, safely."""
    marker = repo.parent / "ran"
    _hostile_config(repo, marker)
    for _ in range(2):
        proc = run_limited(repo)
        assert proc.returncode == 1, proc.stderr
    assert not marker.exists()


@_needs_git
@pytest.mark.skipif(os.name == "nt", reason="POSIX PATH")
def test_git_is_never_found_through_a_relative_path_entry(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty PATH entry is the working directory: the tree's own `git` must not run."""
    marker = repo.parent / "ran"
    fake = repo / "git"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", ":" + os.environ["PATH"])
    proc = run_limited(repo, "--no-cache", "--diff-base", "HEAD")
    assert not marker.exists()
    assert proc.returncode == 1, proc.stderr


@pytest.mark.skipif(
    os.name == "nt" or shutil.which("sleep") is None, reason="a POSIX shell script as git"
)
def test_a_git_that_never_answers_is_given_up(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A git waiting on a lock or a network file system once held the check forever."""
    from fork_lint import vcs

    bin_dir = tree.parent / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\nexec {shutil.which('sleep')} 60\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(vcs, "GIT_TIMEOUT", 0.5)
    started = time.monotonic()
    with pytest.raises(vcs.VcsError, match=r"did not finish within 0\.5 s"):
        vcs.run_git(["diff", "HEAD"], tree)
    assert time.monotonic() - started < 10
