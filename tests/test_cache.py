"""The cache never changes what fork-lint reports.

Every test compares a run through the cache with a run without it, after the
kind of change that must invalidate something: edits, renames, deletions,
configuration and fork-lint version changes, and damaged or foreign entries.
"""

from __future__ import annotations

import contextlib
import io
import json
import marshal
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fork_lint.cache as cache_mod
from fork_lint import cache_store
from fork_lint.api import check_paths
from fork_lint.cache import (
    DEFAULT_CACHE_DIR,
    FactsCache,
    decode_findings,
    encode_findings,
    facts_key,
    resolve_cache_dir,
)
from fork_lint.cli import main
from fork_lint.model import (
    Applicability,
    Edit,
    Finding,
    Fix,
    Hop,
    Location,
    Severity,
    Span,
    Witness,
)
from fork_lint.project import ProjectFacts, analyse_project, index_project

PROJECT = {
    "pyproject.toml": '[tool.fork-lint]\ntarget-version = "py312"\n',
    "app/__init__.py": "",
    "app/main.py": """\
import threading

from app import jobs, pool


def main():
    threading.Thread(target=print).start()
    jobs.spawn()
    pool.run()
""",
    "app/jobs.py": """\
import os


def spawn():
    return os.fork()
""",
    "app/pool.py": """\
import multiprocessing


def run():
    multiprocessing.Process(target=print).start()
""",
    "app/clean.py": "def add(a, b):\n    return a + b\n",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    _write(root, PROJECT)
    monkeypatch.chdir(root)
    monkeypatch.delenv("FORK_LINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("FORK_LINT_NO_CACHE", raising=False)
    return root


def _fresh() -> list[Finding]:
    return check_paths(["."], no_cache=True).findings


def _cached(cache: Path) -> list[Finding]:
    return check_paths(["."], cache_dir=cache).findings


def _codes(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.path, f.code) for f in findings}


def _entries(cache: Path, kind: str) -> list[Path]:
    return sorted(p for p in cache.glob(f"*/{kind}/**/*") if p.is_file())


def _forget_findings(cache: Path) -> None:
    """Delete every entry that holds findings, so that the next run reads facts."""
    for entry in [*_entries(cache, "results"), *_entries(cache, "analysis")]:
        entry.unlink()


def test_cold_and_warm_runs_report_what_an_uncached_run_reports(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    expected = _fresh()
    assert _codes(expected) == {("app/jobs.py", "FRK001"), ("app/pool.py", "FRK002")}
    assert not cache.exists(), "--no-cache must not create the cache"
    assert _cached(cache) == expected
    assert len(_entries(cache, "facts")) == len(list(project.rglob("*.py")))
    assert len(_entries(cache, "results")) == 1
    assert _cached(cache) == expected


def test_warm_run_with_nothing_changed_reads_no_facts(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    expected = _cached(cache)
    for entry in _entries(cache, "facts"):
        entry.write_bytes(b"not an entry")  # would be rejected if it were read
    files = sorted(project.rglob("*.py"))
    modules = index_project(files, project, project, cache_dir=cache)
    assert analyse_project(modules, _options()) == expected
    assert modules.cache is not None
    assert modules.cache.rejected == 0
    assert modules.extracted == 0


def _options() -> object:
    from fork_lint.engine import AnalysisOptions

    return AnalysisOptions(target_version=(3, 12))


def _solves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the whole-program analyses (call graph and reachability) run from now on."""
    from fork_lint import engine

    calls: list[int] = []
    real = engine.analyse_located

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "analyse_located", counting)
    return calls


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        pytest.param("app/clean.py", "def add", "# moved\n\ndef add", id="lines-moved-no-finding"),
        pytest.param("app/jobs.py", "os.fork()", "os.fork()  # the child", id="comment-after-sink"),
        pytest.param("app/clean.py", "b):\n", "b):\n    'Doc.'\n", id="docstring"),
        pytest.param("app/pool.py", "start()\n", "start()\n\n\n", id="blank-lines-at-the-end"),
    ],
)
def test_edit_that_changes_no_reported_position_is_answered_without_solving(
    project: Path, monkeypatch: pytest.MonkeyPatch, rel: str, old: str, new: str
) -> None:
    cache = project / DEFAULT_CACHE_DIR
    _cached(cache)
    _edit(project / rel, old, new)
    solves = _solves(monkeypatch)
    files = sorted(project.rglob("*.py"))
    modules = index_project(files, project, project, cache_dir=cache)
    assert analyse_project(modules, _options()) == check_paths(["."], no_cache=True).findings
    assert solves == [1], "the uncached run solves"
    assert modules.extracted == 1, "only the edited file is read"
    assert not modules.loaded


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        pytest.param("app/jobs.py", "import os", "# header\nimport os", id="sink-moves"),
        pytest.param("app/main.py", "import threading", "#\nimport threading", id="thread-moves"),
        pytest.param("app/jobs.py", "os.fork()", "os.fork()  # noqa: FRK001", id="noqa-added"),
        pytest.param("app/main.py", "jobs.spawn()", "jobs.spawn(); pool.run()", id="new-call"),
    ],
)
def test_edit_that_moves_or_changes_what_is_reported_is_solved_again(
    project: Path, monkeypatch: pytest.MonkeyPatch, rel: str, old: str, new: str
) -> None:
    cache = project / DEFAULT_CACHE_DIR
    before = _cached(cache)
    _edit(project / rel, old, new)
    solves = _solves(monkeypatch)
    after = _cached(cache)
    assert solves == [1]
    assert after == check_paths(["."], no_cache=True).findings
    assert after != before


def test_removing_a_noqa_comment_brings_the_finding_back(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    jobs = project / "app/jobs.py"
    _edit(jobs, "os.fork()", "os.fork()  # noqa: FRK001")
    assert ("app/jobs.py", "FRK001") not in _codes(_cached(cache))
    _edit(jobs, "  # noqa: FRK001", "")
    assert ("app/jobs.py", "FRK001") in _codes(_cached(cache))


def test_fact_digests_separate_shape_from_positions(project: Path) -> None:
    from fork_lint.cache import fact_digests
    from fork_lint.project import facts_from_bytes

    def digests(text: str) -> tuple[bytes, bytes]:
        facts = facts_from_bytes(text.encode(), "m.py", "m", False)
        frozen = marshal.dumps(facts)  # type: ignore[arg-type]
        pair = fact_digests(facts)
        assert marshal.dumps(facts) == frozen, "the facts are left as they were"  # type: ignore[arg-type]
        assert facts["digests"] == pair
        return pair

    base = digests("import os\n\ndef f():\n    os.fork()\n")
    moved = digests("import os\n\n\ndef f():\n    os.fork()  # the child\n")
    noqa = digests("import os\n\ndef f():\n    os.fork()  # noqa: E501\n")
    other = digests("import os\n\ndef f():\n    os.forkpty()\n")
    assert base[0] == moved[0] == noqa[0] != other[0]
    assert len({base[1], moved[1], noqa[1]}) == 3
    # A comment naming a fork-lint code is shape: FRK100 judges it (a file whose
    # positions the early cut-off does not check would keep an old verdict).
    ours = digests("import os\n\ndef f():\n    os.fork()  # noqa: FRK001\n")
    moved_ours = digests("import os\n\n\ndef f():\n    os.fork()  # noqa: FRK001\n")
    assert ours[0] == moved_ours[0] != base[0]
    assert ours[1] != moved_ours[1]


def test_early_cut_off_entries_that_are_damaged_or_false_are_not_trusted(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = project / DEFAULT_CACHE_DIR
    expected = _cached(cache)
    fc = FactsCache(cache)
    (entry,) = _entries(cache, "analysis")
    positions = marshal.loads(entry.read_bytes()[cache_store.HEADER :])[1]
    assert [path for path, _ in positions] == ["app/jobs.py", "app/main.py", "app/pool.py"]
    # Positions that no longer match: the findings are not reused.
    stale = [(path, bytes(32)) for path, _ in positions]
    fc._write(b"A", bytes.fromhex(entry.name), (encode_findings([]), stale))
    (project / "app/clean.py").write_text("def add(a, b):\n\n    return a + b\n")
    assert _cached(cache) == expected
    # A digests map that is not a map, or maps to garbage, is not used.
    for bad in ([1, 2], dict.fromkeys(fc.load_digests(), ("x", 1))):
        fc._write(b"M", cache_mod._DIGESTS_KEY, bad)
        for result in _entries(cache, "results"):
            result.unlink()
        assert _cached(cache) == expected


@pytest.mark.parametrize("bad", ["not a map", "x", (frozenset({"Process"}), frozenset({"y"}))])
def test_a_words_map_that_is_not_one_is_not_used(project: Path, bad: object) -> None:
    import hashlib

    expected = _json_run()
    digests = [hashlib.sha256(f.read_bytes()).digest() for f in project.rglob("*.py")]
    entry = bad if bad == "not a map" else dict.fromkeys(digests, bad)
    FactsCache(project / DEFAULT_CACHE_DIR)._write(b"W", cache_mod._DIGESTS_KEY, entry)
    path = project / "app" / "clean.py"
    path.write_text("# Arithmetic.\n\n" + path.read_text())
    assert _json_run() == expected == _json_run("--no-cache")


def test_edit_that_removes_the_thread_clears_the_findings(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    assert _cached(cache)
    main_py = project / "app/main.py"
    main_py.write_text(main_py.read_text().replace("threading.Thread(target=print).start()", ""))
    assert _fresh() == []
    assert _cached(cache) == []


def test_edit_that_adds_a_sink_is_reported(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    before = _cached(cache)
    (project / "app/clean.py").write_text(
        "import os\n\n\ndef add(a, b):\n    os.fork()\n    return a + b\n"
    )
    (project / "app/main.py").write_text(
        (project / "app/main.py")
        .read_text()
        .replace("pool.run()", "pool.run()\n    clean.add(1, 2)")
        .replace("from app import jobs, pool", "from app import clean, jobs, pool")
    )
    after = _cached(cache)
    assert after == _fresh()
    assert ("app/clean.py", "FRK001") in _codes(after)
    assert len(after) == len(before) + 1


def test_rename_changes_module_names_and_paths(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    _cached(cache)
    (project / "app/jobs.py").rename(project / "app/tasks.py")
    main_py = project / "app/main.py"
    main_py.write_text(main_py.read_text().replace("jobs", "tasks"))
    after = _cached(cache)
    assert after == _fresh()
    assert ("app/tasks.py", "FRK001") in _codes(after)
    assert all(f.path != "app/jobs.py" for f in after)


def test_rename_without_edit_keeps_content_but_not_the_key(project: Path) -> None:
    """Same bytes under another name: another module, so another entry."""
    cache = project / DEFAULT_CACHE_DIR
    _cached(cache)
    (project / "app/pool.py").rename(project / "app/pool2.py")
    after = _cached(cache)
    assert after == _fresh()
    assert ("app/pool.py", "FRK002") not in _codes(after)


def test_deleted_file_disappears_from_the_results(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    _cached(cache)
    (project / "app/jobs.py").unlink()
    after = _cached(cache)
    assert after == _fresh()
    assert ("app/jobs.py", "FRK001") not in _codes(after)


def test_configuration_changes_are_seen(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    first = _cached(cache)
    assert ("app/pool.py", "FRK002") in _codes(first)
    # From Python 3.14 multiprocessing no longer forks by default on Linux.
    (project / "pyproject.toml").write_text('[tool.fork-lint]\ntarget-version = "py314"\n')
    second = _cached(cache)
    assert second == _fresh()
    assert ("app/pool.py", "FRK002") not in _codes(second)
    # A configured sink adds a finding without any file changing.
    (project / "pyproject.toml").write_text(
        '[tool.fork-lint]\ntarget-version = "py314"\nfork-sinks = ["app.clean:add"]\n'
    )
    main_py = project / "app/main.py"
    _cached(cache)
    main_py.write_text(main_py.read_text().replace("pool.run()", "pool.run()\n    clean.add(1, 2)"))
    main_py.write_text(main_py.read_text().replace("jobs, pool", "clean, jobs, pool"))
    third = _cached(cache)
    assert third == _fresh()
    assert any(f.code == "FRK005" for f in third)


def _corrupt_results_and_facts(cache: Path) -> None:
    """Replace every entry by a well-formed one that says something false."""
    fc = FactsCache(cache)
    for entry in _entries(cache, "results"):
        key = bytes.fromhex(entry.name)
        fc._write(b"R", key, encode_findings([]))
    for entry in _entries(cache, "analysis"):
        key = bytes.fromhex(entry.name)
        fc._write(b"A", key, (encode_findings([]), []))
    for entry in _entries(cache, "facts"):
        key = bytes.fromhex(entry.parent.name + entry.name)
        data = marshal.loads(entry.read_bytes()[cache_store.HEADER :])
        data["calls"] = []
        fc._write(b"F", key, data)


def test_a_new_fork_lint_version_does_not_trust_entries_of_the_old(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = project / DEFAULT_CACHE_DIR
    expected = _cached(cache)
    assert expected
    _corrupt_results_and_facts(cache)
    # The falsified entries are what this version reads, so the test can fail ...
    assert _cached(cache) == []
    # ... and another version (or other extractor code) does not read them.
    monkeypatch.setattr(cache_mod, "__version__", "999.0")
    cache_mod.facts_fingerprint.cache_clear()
    cache_mod.results_fingerprint.cache_clear()
    try:
        assert _cached(cache) == expected
        assert (cache / "999.0" / "facts").is_dir()
    finally:
        monkeypatch.undo()
        cache_mod.facts_fingerprint.cache_clear()
        cache_mod.results_fingerprint.cache_clear()


def test_every_extractor_module_is_in_the_facts_fingerprint() -> None:
    index = Path(cache_mod.__file__).parent / "index"
    modules = {f"index/{p.name}" for p in index.glob("*.py")}
    assert modules
    assert modules <= set(cache_mod._FACTS_SOURCES)


def test_changed_extractor_code_changes_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = facts_key(b"h", "m", False, "m.py")
    monkeypatch.setattr(cache_mod, "_FACTS_SOURCES", (*cache_mod._FACTS_SOURCES, "engine.py"))
    cache_mod.facts_fingerprint.cache_clear()
    try:
        assert facts_key(b"h", "m", False, "m.py") != before
    finally:
        monkeypatch.undo()
        cache_mod.facts_fingerprint.cache_clear()
    assert facts_key(b"h", "m", False, "m.py") == before


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 0xFF]), id="flipped-payload-byte"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b"PK\x03\x04" + b[4:], id="bad-magic"),
        pytest.param(lambda b: b[:-8] + marshal.dumps(None)[:1] + b[-7:], id="checksum-mismatch"),
    ],
)
def test_damaged_facts_entries_are_rebuilt(project: Path, damage: object) -> None:
    cache = project / DEFAULT_CACHE_DIR
    expected = _cached(cache)
    _forget_findings(cache)  # force the facts to be read
    entries = _entries(cache, "facts")
    originals = {e: e.read_bytes() for e in entries}
    for entry, blob in originals.items():
        entry.write_bytes(damage(blob))  # type: ignore[operator]
    files = sorted(project.rglob("*.py"))
    modules = index_project(files, project, project, cache_dir=cache)
    assert analyse_project(modules, _options()) == expected
    assert modules.cache is not None
    assert modules.cache.hits == 0
    assert modules.extracted == len(files)
    for entry, blob in originals.items():
        assert entry.read_bytes() == blob, "a damaged entry must be rewritten"


def test_entry_filed_under_another_key_is_not_used(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    expected = _cached(cache)
    _forget_findings(cache)
    entries = _entries(cache, "facts")
    donor = entries[0].read_bytes()
    for entry in entries[1:]:
        entry.write_bytes(donor)  # a valid entry, but for another file
    files = sorted(project.rglob("*.py"))
    modules = index_project(files, project, project, cache_dir=cache)
    assert analyse_project(modules, _options()) == expected
    assert modules.cache is not None
    assert modules.cache.rejected == len(entries) - 1


def test_damaged_results_entry_is_recomputed(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    expected = _cached(cache)
    (entry,) = _entries(cache, "results")
    key = bytes.fromhex(entry.name)
    FactsCache(cache)._write(b"R", key, [("D", "os", ("T", ()))])  # names no model type
    assert _cached(cache) == expected
    FactsCache(cache)._write(b"R", key, {"not": "a list"})
    assert _cached(cache) == expected


def test_cache_directory_is_ignored_by_git(project: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(project)}
    subprocess.run([git, "init", "-q", str(project)], check=True, env=env)
    _cached(project / DEFAULT_CACHE_DIR)
    status = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert DEFAULT_CACHE_DIR not in status
    assert "app/main.py" in status
    tag = (project / DEFAULT_CACHE_DIR / "CACHEDIR.TAG").read_text()
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55")


def test_unwritable_cache_does_not_fail_the_run(project: Path) -> None:
    blocker = project / "blocker"
    blocker.write_text("a file where the cache directory should be")
    assert _cached(blocker / "cache") == _fresh()


def test_no_temporary_files_are_left_behind(project: Path) -> None:
    cache = project / DEFAULT_CACHE_DIR
    _cached(cache)
    _cached(cache)
    assert not [p for p in cache.rglob("*") if p.name.startswith(".tmp-")]


def test_concurrent_runs_share_one_cache(project: Path) -> None:
    cache = project / "shared-cache"
    expected = _fresh()
    code = (
        "import sys, json\n"
        "from fork_lint.api import check_paths\n"
        "r = check_paths(['.'], cache_dir=sys.argv[1])\n"
        "print(json.dumps(sorted([f.path, f.code, f.location.span.line] for f in r.findings)))\n"
    )
    for _ in range(3):
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(cache)],
                cwd=project,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs)
        want = sorted([f.path, f.code, f.location.span.line] for f in expected)
        assert all(json.loads(out) == want for out in outputs)
    assert _cached(cache) == expected


# ---------------------------------------------------------------------------- CLI


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        yield out


def _cli(*args: str) -> tuple[int, str]:
    with _captured() as out:
        code = main(["check", "--output-format", "concise", *args])
    return code, out.getvalue()


def test_cli_cache_flags(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _cli("--no-cache", ".")
    assert plain[0] == 1
    assert not (project / DEFAULT_CACHE_DIR).exists()
    assert _cli(".") == plain
    assert (project / DEFAULT_CACHE_DIR / ".gitignore").is_file()
    assert _cli("--cache-dir", "elsewhere", ".") == plain
    assert _entries(project / "elsewhere", "facts")
    monkeypatch.setenv("FORK_LINT_CACHE_DIR", str(tmp_path / "from-env"))
    assert _cli(".") == plain
    assert _entries(tmp_path / "from-env", "facts")
    monkeypatch.setenv("FORK_LINT_NO_CACHE", "1")
    assert _cli("--cache-dir", "third", ".") == plain
    assert not (project / "third").exists()


def test_resolve_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORK_LINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("FORK_LINT_NO_CACHE", raising=False)
    root, cwd = tmp_path / "root", tmp_path / "cwd"
    assert resolve_cache_dir(None, False, root, cwd) == root / DEFAULT_CACHE_DIR
    assert resolve_cache_dir("c", False, root, cwd) == cwd / "c"
    assert resolve_cache_dir(tmp_path / "abs", False, root, cwd) == tmp_path / "abs"
    assert resolve_cache_dir("c", True, root, cwd) is None
    monkeypatch.setenv("FORK_LINT_CACHE_DIR", "env")
    assert resolve_cache_dir(None, False, root, cwd) == cwd / "env"
    assert resolve_cache_dir("c", False, root, cwd) == cwd / "c"
    monkeypatch.setenv("FORK_LINT_NO_CACHE", "0")
    assert resolve_cache_dir(None, False, root, cwd) == cwd / "env"
    monkeypatch.setenv("FORK_LINT_NO_CACHE", "true")
    assert resolve_cache_dir(None, False, root, cwd) is None


# ---------------------------------------------------------------------------- codec


def test_findings_round_trip_through_the_codec() -> None:
    loc = Location("a/b.py", Span(3, 4, 3, 20))
    hop = Hop("a.b.f", loc, "calls `g()`", "`g` is defined here")
    finding = Finding(
        code="FRK002",
        name="multiprocessing-fork-with-threads",
        message="`x` may run",
        location=loc,
        sink="multiprocessing.Process.start",
        witness=Witness("a.b.main", "why", "threading.Thread.start", (hop,), (hop, hop)),
        fix=Fix("use spawn", Applicability.UNSAFE, (Edit("a/b.py", Span(1, 0, 1, 0), "x"),)),
        severity=Severity.WARNING,
        function="a.b.f",
        extra=(("alloc", "a/b.py:3:4"),),
    )
    plain = Finding("FRK900", "syntax-error", "bad", Location("c.py", Span(1, 0, 1, 0)), "")
    data = marshal.loads(marshal.dumps(encode_findings([finding, plain])))
    assert decode_findings(data) == [finding, plain]


@pytest.mark.parametrize(
    "data",
    [
        {"a": 1},
        [("D", "Finding", ("T", ()))],  # wrong arity
        [("D", "Path", ("T", ()))],  # not a model type
        [("X", "Span", (1, 2, 3, 4))],
        [("D", "Span", (1, 2, 3, 4))],  # a model type, but not a finding
        [[1, 2]],
    ],
)
def test_codec_rejects_anything_else(data: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every kind of bad input has its own message
        decode_findings(data)


def test_project_facts_is_a_lazy_sequence(project: Path) -> None:
    files = sorted(project.rglob("*.py"))
    modules = index_project(files, project, project, cache_dir=None)
    assert isinstance(modules, ProjectFacts)
    assert len(modules) == len(files)
    assert modules.extracted == 0
    assert [m["path"] for m in modules] == [f.relative_to(project).as_posix() for f in files]
    assert modules.extracted == len(files)
    assert modules[0] is modules.materialise()[0]


def _json_run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", "--output-format", "json", *args])
    return code, out.getvalue()


def _count_proposals(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    from fork_lint.fixes import proposals, stage

    calls: list[object] = []
    for module in (proposals, stage):
        original = module.propose

        def counting(*a: Any, _original: Any = original) -> Any:
            calls.append(a)
            return _original(*a)

        monkeypatch.setattr(module, "propose", counting)
    return calls


def test_proposed_fixes_come_from_the_cache_and_equal_fresh_ones(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fork_lint.fixes import stage

    run = _json_run
    fresh = run("--no-cache")
    assert '"fix"' in fresh[1]  # FRK002 has a start-method fix
    calls = _count_proposals(monkeypatch)
    assert run() == fresh  # cold: computes and stores the proposals (two findings)
    assert len(calls) == 2
    assert run() == fresh  # warm: answered from the cache
    assert len(calls) == 2
    assert run("--unsafe-fixes") == run("--no-cache", "--unsafe-fixes")
    assert len(calls) == 4  # the --no-cache run
    monkeypatch.setattr(
        stage, "fix_options", lambda r: stage.FixOptions(target_version=(3, 8), launch="x")
    )
    run()  # other fix settings: another entry, proposals computed again
    assert len(calls) == 6


def test_proposals_are_reused_finding_by_finding_after_an_edit_elsewhere(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_proposals(monkeypatch)
    assert _json_run() == _json_run("--no-cache")
    assert len(calls) == 4  # two findings, proposed by each run
    _write(project, {"app/unrelated.py": "VALUE = 1\n"})
    assert _json_run() == _json_run("--no-cache")
    assert len(calls) == 6  # only the uncached run proposed again
    # An edit of the file one fix rewrites: that proposal is made again, not the other.
    path = project / "app" / "pool.py"
    path.write_text(path.read_text() + "\n\nLIMIT = 2\n")
    assert _json_run() == _json_run("--no-cache")
    assert len(calls) == 9


def test_fixes_after_an_edit_elsewhere_load_only_the_facts_they_read(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the analysis answered by the early cut-off, the fix stage must not load
    every file's facts either (on a large project that is most of the run)."""
    expected = _json_run()
    path = project / "app" / "clean.py"
    path.write_text("# Arithmetic.\n\n" + path.read_text())
    loaded: list[int] = []
    real_fill = ProjectFacts._fill

    def fill(self: ProjectFacts, indices: Any) -> None:
        indices = list(indices)
        loaded.extend(indices)
        real_fill(self, indices)

    monkeypatch.setattr(ProjectFacts, "_fill", fill)
    assert _json_run() == expected
    assert loaded == [sorted(project.rglob("*.py")).index(path)]


def test_run_answered_from_the_cache_does_not_import_libcst(project: Path) -> None:
    """libcst takes 0.15 s to import, a third of a warm run on a large project."""
    script = (
        "import sys\n"
        "from fork_lint.cli import main\n"
        "code = main(['check', '-q', '--exit-zero', '.'])\n"
        "print('libcst' in sys.modules)\n"
    )

    def imported() -> str:
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
        )
        return proc.stdout.strip().splitlines()[-1]

    assert imported() == "True"  # cold: fixes are proposed with libcst
    assert imported() == "False"


@pytest.mark.parametrize(
    "record",
    [
        None,
        "garbage",
        42,
        ((), b"", (), (), ()),  # one field short
        ((("app/pool.py", [1]),), b"", (), (), (), []),  # unhashable key
        ((), b"", ((1, 2, 3),), (), (), []),  # a mention that is not a name
        ((), b"", (), (), ((1, 2),), []),  # a scan that is not a word
        ((), b"", (), (), (), ["not", "findings"]),
        ((), b"", (), (), (), []),  # no finding
    ],
)
def test_a_malformed_proposal_record_is_not_used(project: Path, record: object) -> None:
    from fork_lint.fixes import FixContext, FixOptions
    from fork_lint.fixes.proposals import _reuse

    ctx = FixContext([], lambda path: None, FixOptions())
    assert _reuse(record, ctx, {"app/pool.py": b"k"}, b"p") is None


def test_solved_program_is_freed_before_the_collector_resumes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alive when collection resumes, the program's millions of objects (made while
    # it was paused) would all be walked by the first collection after it.
    import gc
    import weakref

    from fork_lint import engine

    programs: list[weakref.ref[Any]] = []
    real_solved, real_enable = engine.solved_program, gc.enable

    def solved(*args: Any, **kwargs: Any) -> Any:
        program = real_solved(*args, **kwargs)
        programs.append(weakref.ref(program))
        return program

    alive_at_resume: list[bool] = []

    def enable() -> None:
        alive_at_resume.extend(ref() is not None for ref in programs)
        real_enable()

    monkeypatch.setattr(engine, "solved_program", solved)
    monkeypatch.setattr(gc, "enable", enable)
    assert _codes(_fresh()) == {("app/jobs.py", "FRK001"), ("app/pool.py", "FRK002")}
    assert programs and alive_at_resume == [False] * len(programs)
