"""A checked-out tree must not make the cache delete, create, read or trust anything.

The default cache lives in the analysed tree (``.fork_lint_cache/``), so whoever
wrote the tree wrote the cache too: links inside it, FIFOs and devices in place
of entries, entries with recomputed checksums, a cache committed to git. Each
test plants one such thing and checks that fork-lint neither follows it nor
trusts it, and still reports what a run without a cache reports.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fork_lint import __version__
from fork_lint.api import check_paths
from fork_lint.cache import DEFAULT_CACHE_DIR, FactsCache, encode_findings
from fork_lint.model import Finding
from tests.limited import run_limited

APP = "import os, threading\nthreading.Thread(target=print).start()\nos.fork()\n"
CACHE = DEFAULT_CACHE_DIR


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.fork-lint]\n")
    (root / "app.py").write_text(APP)
    monkeypatch.chdir(root)
    monkeypatch.delenv("FORK_LINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("FORK_LINT_NO_CACHE", raising=False)
    return root


@pytest.fixture(params=["descriptors", "paths"])
def fs_calls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the cache handles directories: descriptor-relative calls (POSIX),
    and `lstat` checks on paths (platforms without ``dir_fd``, such as Windows)."""
    if request.param == "paths":
        monkeypatch.setattr("fork_lint.cache_fs._AT", False)
    return str(request.param)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A directory of the user's that no cache link may touch: 40 files."""
    directory = tmp_path / "victim"
    directory.mkdir()
    for i in range(40):
        (directory / f"file{i}").write_text(f"precious {i}\n")
    return directory


def _listing(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _fresh() -> list[Finding]:
    return check_paths(["."], no_cache=True).findings


def _cached(cache: Path | None = None) -> list[Finding]:
    return check_paths(["."], cache_dir=cache).findings


def _entries(cache: Path, kind: str) -> list[Path]:
    return sorted(p for p in (cache / __version__ / kind).rglob("*") if p.is_file())


# ---------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    "where",
    ["", __version__, f"{__version__}/results", f"{__version__}/facts", f"{__version__}/analysis"],
    ids=["root", "version", "results", "facts", "analysis"],
)
def test_a_link_in_the_default_cache_is_never_followed(
    project: Path, victim: Path, where: str, fs_calls: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A repository that commits a part of `.fork_lint_cache` as a link to another
    directory gets neither files created there nor files deleted (the pruning of old
    results once deleted all but the 32 newest files of the target)."""
    link = project / CACHE / where if where else project / CACHE
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(victim, target_is_directory=True)
    before = _listing(victim)
    expected = _fresh()
    for _ in range(2):
        assert _cached() == expected
    assert _listing(victim) == before
    err = capsys.readouterr().err
    assert "cache not used" in err and "symbolic link" in err


def test_a_cache_directory_the_user_names_may_be_a_link_but_nothing_inside(
    project: Path, victim: Path, tmp_path: Path, fs_calls: str
) -> None:
    real = tmp_path / "real-cache"
    real.mkdir()
    named = tmp_path / "named-cache"
    named.symlink_to(real, target_is_directory=True)
    expected = _fresh()
    assert _cached(named) == expected
    assert _entries(real, "facts"), "the named link is followed"
    shutil.rmtree(real / __version__ / "results")
    (real / __version__ / "results").symlink_to(victim, target_is_directory=True)
    before = _listing(victim)
    assert _cached(named) == expected
    assert _listing(victim) == before


def test_dangling_links_for_the_marker_files_create_nothing(
    project: Path, tmp_path: Path, fs_calls: str
) -> None:
    """`.gitignore` and `CACHEDIR.TAG` are created only where nothing, not even a
    dangling link, is in their place."""
    cache = project / CACHE
    cache.mkdir()
    (cache / ".gitignore").symlink_to(tmp_path / "created-gitignore")
    (cache / "CACHEDIR.TAG").symlink_to(tmp_path / "created-tag")
    assert _cached() == _fresh()
    assert not (tmp_path / "created-gitignore").exists()
    assert not (tmp_path / "created-tag").exists()
    assert _entries(cache, "facts"), "the cache itself still works"


def test_pruning_deletes_only_entries_of_its_own(project: Path, fs_calls: str) -> None:
    """Old results are pruned to the newest 32, but a file that is not a results
    entry (another name, another header) is never deleted, whatever its age."""
    cache = project / CACHE
    _cached()
    results = cache / __version__ / "results"
    foreign = {
        "notes.txt": b"mine\n",
        "a" * 64: b"not an entry, but named like one\n",
        "b" * 63: b"FRKLC",
    }
    for name, data in foreign.items():
        (results / name).write_bytes(data)
        os.utime(results / name, (1, 1))  # the oldest files there
    store = FactsCache(cache)
    for i in range(40):
        store.store_results(hashlib.sha256(str(i).encode()).digest(), [])
    names = {p.name for p in results.iterdir()}
    assert foreign.keys() <= names
    assert len(names - foreign.keys()) == 32


# ---------------------------------------------------------------------------- not files

_LINKED = {
    "zero": lambda path: path.symlink_to("/dev/zero"),
    "fifo": os.mkfifo,
}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
@pytest.mark.parametrize("kind", sorted(_LINKED))
def test_a_device_or_fifo_in_place_of_an_entry_is_a_miss(project: Path, kind: str) -> None:
    """An entry that is /dev/zero (a link) would fill memory, a FIFO would wait
    forever: either is a miss, rebuilt, and the run reports what it should."""
    first = run_limited(project)
    assert first.returncode == 1
    for entry in [*_entries(project / CACHE, "results"), *_entries(project / CACHE, "analysis")]:
        entry.unlink()
        _LINKED[kind](entry)
    second = run_limited(project, timeout=30)
    assert (second.returncode, second.stdout) == (1, first.stdout)


# ---------------------------------------------------------------------------- trust


def _forge(entry: Path, findings: list[Finding]) -> None:
    """Rewrite an entry to say ``findings``, keeping its header and recomputing
    the SHA-256 that follows it, as a pull request could."""
    import marshal

    blob = entry.read_bytes()
    payload = marshal.dumps(encode_findings(findings))
    header = blob[: 6 + 1 + 32]
    entry.write_bytes(header + hashlib.sha256(payload).digest() + payload)


def test_an_entry_with_a_recomputed_checksum_is_not_trusted(project: Path) -> None:
    expected = _fresh()
    assert expected
    assert _cached() == expected
    for entry in [*_entries(project / CACHE, "results"), *_entries(project / CACHE, "analysis")]:
        _forge(entry, [])
    assert _cached() == expected


def test_entries_written_under_another_key_are_rebuilt(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's fork-lint (another key) wrote the cache: nothing is used."""
    expected = _fresh()
    assert expected
    mine = os.environ["FORK_LINT_KEY_FILE"]
    monkeypatch.setenv("FORK_LINT_KEY_FILE", str(tmp_path / "other-user" / "key"))
    assert _cached() == expected
    store = FactsCache(project / CACHE)
    for entry in _entries(project / CACHE, "results"):
        store._write(b"R", bytes.fromhex(entry.name), encode_findings([]))
    for entry in _entries(project / CACHE, "analysis"):
        store._write(b"A", bytes.fromhex(entry.name), (encode_findings([]), []))
    assert _cached() == [], "the other user's cache says there is nothing"
    monkeypatch.setenv("FORK_LINT_KEY_FILE", mine)
    assert _cached() == expected


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    return subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_cache_directory_tracked_by_git_is_neither_read_nor_written(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull request that commits `.fork_lint_cache/` with findings removed must
    not pass: a cache git tracks is the repository's, not this user's."""
    _git(project, "init", "-q")
    expected = _fresh()
    assert _cached() == expected
    for entry in [*_entries(project / CACHE, "results"), *_entries(project / CACHE, "analysis")]:
        _forge(entry, [])
    _git(project, "add", "-f", ".")
    _git(project, "commit", "-qm", "with a cache")
    (project / "app.py").write_text(APP + "\n# edited\n")
    before = _listing(project / CACHE)
    assert _cached() == _fresh()
    assert _listing(project / CACHE) == before, "nothing is written into a tracked cache"
    assert "git tracks files in it" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_an_untracked_cache_in_a_git_work_tree_is_used(project: Path) -> None:
    _git(project, "init", "-q")
    _git(project, "add", "app.py")
    _git(project, "commit", "-qm", "code only")
    expected = _fresh()
    assert _cached() == expected
    assert _entries(project / CACHE, "results")


# ---------------------------------------------------------------------------- the key


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "key"
    monkeypatch.setenv("FORK_LINT_KEY_FILE", str(path))
    return path


def test_the_key_is_created_private_and_kept(key_file: Path) -> None:
    from fork_lint import cache_key

    key = cache_key.load_key()
    assert len(key) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes() == key
    cache_key.forget_loaded()
    assert cache_key.load_key() == key


def test_the_key_lives_in_the_user_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fork_lint import cache_key

    monkeypatch.delenv("FORK_LINT_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = {
        "darwin": tmp_path / "home" / "Library" / "Caches" / "fork-lint" / "key",
        "linux": tmp_path / "xdg" / "fork-lint" / "key",
    }.get(sys.platform)
    if expected is None:
        pytest.skip("checked on Linux and macOS")
    assert cache_key.key_path() == expected
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # ignored, as the spec says
    if sys.platform == "linux":
        assert cache_key.key_path() == tmp_path / "home" / ".cache" / "fork-lint" / "key"


def test_racing_runs_agree_on_one_key(key_file: Path) -> None:
    code = "from fork_lint import cache_key; print(cache_key.load_key().hex())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1
    assert key_file.read_bytes().hex() in keys
    assert [p.name for p in key_file.parent.iterdir()] == ["key"], "no temporary file is left"


def _untrusted_keys() -> dict[str, object]:
    def readable_by_others(path: Path) -> None:
        path.write_bytes(os.urandom(32))
        path.chmod(0o644)

    def link(path: Path) -> None:
        real = path.with_name("real")
        real.write_bytes(os.urandom(32))
        real.chmod(0o600)
        path.symlink_to(real)

    def dangling_link(path: Path) -> None:
        path.symlink_to(path.with_name("missing"))

    def short(path: Path) -> None:
        path.write_bytes(b"x")
        path.chmod(0o600)

    def someone_elses(path: Path) -> None:
        path.write_bytes(os.urandom(32))
        path.chmod(0o600)
        os.chown(path, os.getuid() + 4242, -1)

    cases: dict[str, object] = {
        "readable-by-others": readable_by_others,
        "link": link,
        "dangling-link": dangling_link,
        "short": short,
    }
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cases["someone-elses"] = someone_elses
    return cases


@pytest.mark.skipif(os.name == "nt", reason="POSIX owners and modes")
@pytest.mark.parametrize("case", sorted(_untrusted_keys()))
def test_an_untrusted_key_turns_the_cache_off(
    project: Path, key_file: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file.parent.mkdir(parents=True)
    _untrusted_keys()[case](key_file)  # type: ignore[operator]
    target = key_file.with_name("missing")
    assert _cached() == _fresh()
    assert not (project / CACHE).exists(), "neither read nor written"
    assert not target.exists(), "a dangling link is not followed to create a key"
    assert "cache not used" in capsys.readouterr().err
