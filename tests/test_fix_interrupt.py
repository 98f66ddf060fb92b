"""`fork-lint --fix` stopped by SIGINT or SIGTERM, and two `--fix` runs at once.

Each run is a real ``fork-lint`` process on a project of 200 fixable files. The
fixed version of every file comes from an uninterrupted run on a copy of the
project. After an interrupted or concurrent run, every file must be byte for
byte its original or its fixed version, still parse, and no ``*.fork-lint``
temporary file may remain.

No test hook slows fork-lint down: the writes of 200 files take about 0.1 s, so
the test watches the first file (files are written in sorted order) and sends
the signal when it changes, at once or 30 ms later.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]

FILES = 200
# Each file has a finding with a safe fix (preexec_fn=os.setsid); keep.py has one
# without a fix, so that a finished run still has a finding to compare with the cache.
TEMPLATE = """\
\"\"\"Module {n}.\"\"\"
import os
import subprocess
import threading


def run{n}(cmd):
    threading.Thread(target=print).start()
    subprocess.Popen(cmd, preexec_fn=os.setsid, cwd=os.getcwd())
"""
KEEP = "import os\nimport threading\n\nthreading.Thread(target=print).start()\nos.fork()\n"
FIX = ("--fix", "--unsafe-fixes", "--quiet", "-j", "1", "--output-format", "concise")
_ENV = {k: v for k, v in os.environ.items() if not k.startswith("FORK_LINT_")}


def make_project(root: Path) -> dict[str, bytes]:
    """The project's files (relative path -> content)."""
    (root / "pkg").mkdir(parents=True)
    (root / "fork-lint.toml").write_text('target-version = "py312"\n')
    files = {"pkg/__init__.py": b"", "pkg/keep.py": KEEP.encode()}
    files.update({f"pkg/m{n:03d}.py": TEMPLATE.format(n=n).encode() for n in range(FILES)})
    for name, data in files.items():
        (root / name).write_bytes(data)
    return files


# `python -m fork_lint`, but with SIGINT and SIGTERM as an interactive shell gives
# them: a test run in the background of a non-interactive shell (as CI may run it)
# passes SIGINT on ignored, and fork-lint rightly leaves an ignored signal alone.
_BOOT = (
    "import runpy, signal; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "signal.signal(signal.SIGTERM, signal.SIG_DFL); "
    "runpy.run_module('fork_lint', run_name='__main__', alter_sys=True)"
)


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _BOOT, *args],
        cwd=root,
        env=_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.fork-lint"))


@dataclass
class Fixed:
    original: dict[str, bytes]
    fixed: dict[str, bytes]
    seconds: float  # how long an uninterrupted `--fix` run takes


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Fixed:
    # A first run in a fresh environment also compiles fork-lint's and libcst's
    # bytecode, which would make the timed run look slower than the runs it times.
    warm_up = tmp_path_factory.mktemp("warm-up")
    make_project(warm_up)
    finish(start(warm_up, *FIX, "--no-cache", "."))
    root = tmp_path_factory.mktemp("reference")
    original = make_project(root)
    began = time.monotonic()
    code, _, err = finish(start(root, *FIX, "--no-cache", "."))
    seconds = time.monotonic() - began
    assert (code, err) == (1, "")  # keep.py's finding remains
    fixed = {name: (root / name).read_bytes() for name in original}
    changed = [name for name in original if fixed[name] != original[name]]
    assert len(changed) == FILES
    assert fixed["pkg/m000.py"] == original["pkg/m000.py"].replace(
        b"preexec_fn=os.setsid", b"start_new_session=True"
    )
    return Fixed(original, fixed, seconds)


def check_files(root: Path, ref: Fixed) -> tuple[int, int]:
    """Every file whole, old or new, and parsing; no temporary file. (new, old) counts."""
    new = old = 0
    for name, before in ref.original.items():
        data = (root / name).read_bytes()
        assert data in (before, ref.fixed[name]), f"{name} is neither old nor fixed"
        ast.parse(data)
        if before != ref.fixed[name]:
            new += data == ref.fixed[name]
            old += data == before
    assert temporaries(root) == []
    return new, old


# ---------------------------------------------------------------------------- interruption


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [
        (signal.SIGINT, 130, "fork-lint: interrupted\n"),
        (signal.SIGTERM, 143, "fork-lint: terminated\n"),
    ],
    ids=["SIGINT", "SIGTERM"],
)
def test_interrupted_fix_leaves_every_file_old_or_new(
    tmp_path: Path, reference: Fixed, signum: int, code: int, message: str
) -> None:
    first = "pkg/m000.py"  # written first: files are written in sorted order
    outcomes = []
    # (None, fraction): after that fraction of an uninterrupted run, during the analysis;
    # (delay, None): that long after the first file was written, during the writes.
    # The analysis and the fixes' checks take most of a run: a quarter of the
    # way in, nothing has been written yet.
    triggers = [(None, 0.25), (0.0, None), (0.03, None)]
    root = tmp_path
    for i, (delay, fraction) in enumerate(triggers):
        root = tmp_path / f"run{i}"
        original = make_project(root)
        proc = start(root, *FIX, ".")
        if fraction is not None:
            time.sleep(reference.seconds * fraction)
        else:
            while (root / first).read_bytes() == original[first] and proc.poll() is None:
                time.sleep(0.001)
            time.sleep(delay or 0.0)
        proc.send_signal(signum)
        status, out, err = finish(proc)
        new, old = check_files(root, reference)
        outcomes.append((delay, fraction, status, new, old))
        # Death by the signal (-signum) when it comes before fork-lint installs its
        # handlers or after it removed them, while the interpreter starts or exits.
        assert status in (code, -signum, 1), (status, err)
        if status == code:
            assert err == message
            assert out == ""
        if fraction is not None:
            assert new == 0
        elif status == 1:  # the run had finished (a very fast machine)
            assert new == FILES
    # The signal landed in the middle of the writes at least once.
    assert any(0 < new < FILES for _, _, _, new, _ in outcomes), outcomes
    # A partly fixed project is fixed by running again.
    status, _, err = finish(start(root, *FIX, "."))
    assert (status, err) == (1, "")
    assert check_files(root, reference) == (FILES, 0)


# ---------------------------------------------------------------------------- concurrent runs


def findings(root: Path, *args: str) -> list[tuple[str, str, int, int]]:
    code, out, err = finish(start(root, "--output-format", "json", "-j", "1", *args, "."))
    assert (code, err) == (1, "")
    return sorted(
        (f["filename"], f["code"], f["location"]["row"], f["location"]["column"])
        for f in json.loads(out)
    )


def test_two_concurrent_fix_runs(tmp_path: Path, reference: Fixed) -> None:
    root = tmp_path / "project"
    make_project(root)
    cache = root / ".fork_lint_cache"  # the default cache directory, shared by both runs
    runs = [start(root, *FIX, "."), start(root, *FIX, ".")]
    results = [finish(proc) for proc in runs]
    for status, _, err in results:
        assert status in (0, 1), err
        for line in err.splitlines():
            # The one message a run may print: the other run fixed a file first.
            assert line.startswith("fork-lint: warning: pkg/m"), line
            assert line.endswith(": fixes not written: it changed on disk since it was read")
    assert check_files(root, reference) == (FILES, 0)
    assert cache.is_dir()
    # The cache the two runs shared answers as a run without it does.
    cached = findings(root)
    assert cached == findings(root, "--no-cache")
    assert findings(root) == cached  # now from the whole-project results entry
    assert cached == [("pkg/keep.py", "FRK001", 5, 1)]


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_ctrl_c_waits_while_the_import_lock_is_held() -> None:
    """Raised while importlib holds the interpreter's import lock, KeyboardInterrupt
    was swallowed there and left the lock held: the next import hung the run (seen
    as a 120 s time-out of the test above on 3.10). It now arrives once the lock is
    free."""
    import _imp

    from fork_lint.interrupts import stoppable

    with stoppable():
        _imp.acquire_lock()
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the handler ran, and raised nothing
        finally:
            _imp.release_lock()
        with pytest.raises(KeyboardInterrupt):
            time.sleep(5)
