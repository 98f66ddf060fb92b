"""Parallel extraction gives the facts one process gives, without forking a threaded process.

Also the pre-filter: a project in which no file can hold a fork sink skips the
call graph, and reports exactly what the full analysis reports.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from fork_lint import engine, parallel
from fork_lint.api import check_paths, check_sources
from fork_lint.cli import main
from fork_lint.engine import AnalysisOptions, analyse
from fork_lint.index.facts import ModuleFacts
from fork_lint.project import collect_facts, facts_from_bytes, index_project, may_hold_sink

FIXTURES = Path(__file__).parent / "fixtures"
SRC = Path(__file__).parents[1] / "src" / "fork_lint"


def _python_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


@pytest.fixture
def force_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use worker processes even for a few small files."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)


def test_pool_gives_the_facts_of_one_process(force_pool: None, tmp_path: Path) -> None:
    files = _python_files(FIXTURES) + _python_files(SRC)
    one = collect_facts(files, FIXTURES.parent, FIXTURES.parent, jobs=1)
    pooled = collect_facts(files, FIXTURES.parent, FIXTURES.parent, jobs=2)
    assert pooled == one
    cached = collect_facts(
        files, FIXTURES.parent, FIXTURES.parent, jobs=2, cache_dir=tmp_path / "cache"
    )
    assert cached == one
    # The workers wrote the entries: a second run reads them all.
    modules = index_project(
        files, FIXTURES.parent, FIXTURES.parent, jobs=2, cache_dir=tmp_path / "cache"
    )
    assert modules.materialise() == one
    assert modules.extracted == 0


def test_worker_processes_are_not_forked_and_do_not_import_libcst(force_pool: None) -> None:
    ctx = parallel._context()
    assert ctx.get_start_method() in ("forkserver", "spawn")
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=parallel._init_worker) as pool:
        loaded = pool.submit(eval, "sorted(__import__('sys').modules)").result(timeout=120)
        gc_on = pool.submit(eval, "__import__('gc').isenabled()").result(timeout=120)
    assert "fork_lint.index.extract" in loaded
    assert not [m for m in loaded if m == "libcst" or m.startswith("libcst.")]
    assert not [m for m in loaded if m.startswith("fork_lint.graph")]
    assert gc_on is False


def test_small_work_stays_in_process() -> None:
    assert parallel.worker_count(8, 1000, parallel.MIN_PARALLEL_BYTES - 1) == 1
    assert parallel.worker_count(8, 1, 10**9) == 1
    assert parallel.worker_count(1, 1000, 10**9) == 1
    assert parallel.worker_count(8, 1000, 10**9) == 8
    assert parallel.worker_count(8, 3, 10**9) == 3
    assert parallel.worker_count(None, 1000, 10**9) == min(parallel.default_jobs(), 1000)


def test_no_worker_processes_inside_a_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    class Daemon:
        daemon = True

    monkeypatch.setattr(multiprocessing, "current_process", Daemon)
    assert parallel.worker_count(8, 1000, 10**9) == 1


def test_no_worker_processes_when_main_cannot_be_reimported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdin_script = types.ModuleType("__main__")
    stdin_script.__file__ = "<stdin>"  # `python - < script.py`
    monkeypatch.setitem(sys.modules, "__main__", stdin_script)
    assert parallel.worker_count(8, 1000, 10**9) == 1
    stdin_script.__file__ = __file__
    assert parallel.worker_count(8, 1000, 10**9) == 8


def test_default_jobs_counts_usable_cpus() -> None:
    assert 1 <= parallel.default_jobs() <= (multiprocessing.cpu_count() or 1)


def test_chunks_cover_every_file_once() -> None:
    tasks = [
        (i, (f"f{i}.py", f"f{i}.py", f"m{i}", False), (i * 7919) % 200_000) for i in range(500)
    ]
    chunks = parallel._chunks(tasks, 2)
    seen = [index for chunk in chunks for index, _ in chunk]
    assert sorted(seen) == list(range(500))
    assert len(chunks) > 2  # enough pieces to balance two workers


def test_a_broken_pool_falls_back_to_this_process(
    force_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _python_files(FIXTURES / "checks")
    expected = collect_facts(files, FIXTURES, FIXTURES, jobs=1)

    def broken(tasks: object, workers: int, cache_root: object, results: list[object]) -> None:
        results[0] = None
        raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(parallel, "_run_pool", broken)
    assert collect_facts(files, FIXTURES, FIXTURES, jobs=2) == expected


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", "--no-cache", "--output-format", "concise", *args])
    return code, out.getvalue()


def test_cli_jobs_flag(force_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    project = FIXTURES / "projects" / "edge_worker"
    monkeypatch.chdir(project)
    one = _cli("-j", "1", ".")
    assert one[0] == 1
    assert _cli("-j", "2", ".") == one
    assert _cli("--jobs", "auto", ".") == one
    with pytest.raises(SystemExit) as exc:
        _cli("-j", "0", ".")
    assert exc.value.code == 2


def test_fork_lint_passes_its_own_rules() -> None:
    report = check_paths([SRC], no_cache=True, isolated=True)
    assert [f for f in report.findings if f.path.endswith("parallel.py")] == []


# ---------------------------------------------------------------------------- pre-filter

THREADED_NO_SINK = {
    "pkg/__init__.py": "",
    "pkg/a.py": "import threading\n\n\ndef go():\n    threading.Thread(target=print).start()\n",
    "pkg/b.py": "import subprocess\n\n\ndef run():\n    subprocess.run(['true'])\n",
}


def _strip_hint(modules: list[ModuleFacts]) -> list[ModuleFacts]:
    out = []
    for m in modules:
        stripped = dict(m)
        for key in ("maybe_sink", "process_only", "sink_root"):
            stripped.pop(key, None)
        out.append(stripped)
    return out  # type: ignore[return-value]


def test_project_without_sink_hints_skips_the_call_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for rel, text in THREADED_NO_SINK.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    files = _python_files(tmp_path)
    modules = collect_facts(files, tmp_path, tmp_path)
    assert [m["maybe_sink"] for m in modules] == [False, False, False]
    options = AnalysisOptions(target_version=(3, 12))
    full = analyse(_strip_hint(modules), options)

    def no_graph(*args: object, **kwargs: object) -> None:
        raise AssertionError("the call graph was built")

    monkeypatch.setattr(engine, "Program", no_graph)
    assert analyse(modules, options) == full == []
    with pytest.raises(AssertionError, match="call graph"):
        analyse(modules, AnalysisOptions(fork_sinks=("pkg.a:go",)))
    with pytest.raises(AssertionError, match="call graph"):
        analyse(_strip_hint(modules), options)


@pytest.mark.parametrize(
    "sink",
    [
        "os.fork()",
        "from os import fork as f; f()",
        "getattr(os, 'fork')()",
        "multiprocessing.Process(target=print).start()",
        "multiprocessing.Pool()",
        "multiprocessing.Manager()",
        "concurrent.futures.ProcessPoolExecutor()",
        "subprocess.Popen(['true'], preexec_fn=os.setsid)",
        "subprocess.Popen(['true'], -1, None, None, None, None, os.setsid)",
        "subprocess.call(['true'], -1, None, None, None, None, os.setsid)",
        "subprocess.run(['true'], **{'preexec_fn': os.setsid})",
    ],
)
def test_every_sink_is_seen_by_the_pre_filter(sink: str) -> None:
    source = (
        "import concurrent.futures, multiprocessing, os, subprocess, threading\n\n\n"
        f"def main():\n    threading.Thread(target=print).start()\n    {sink}\n"
    )
    files = {"app/main.py": source}
    findings = check_sources(files, target_version=(3, 12))
    assert findings, f"no finding for {sink!r}: the case does not test the pre-filter"
    facts = facts_from_bytes(source.encode(), "app/main.py", "app.main", False)
    assert facts["maybe_sink"] is True
    options = AnalysisOptions(target_version=(3, 12))
    assert analyse([facts], options) == analyse(_strip_hint([facts]), options) == findings


def test_results_are_identical_with_and_without_the_pre_filter() -> None:
    """On every fixture project and file: the flag changes speed, never findings."""
    options = AnalysisOptions(target_version=(3, 12))
    roots = [p for p in (FIXTURES / "projects").iterdir() if p.is_dir()]
    roots += [FIXTURES / "checks", FIXTURES / "callgraph"]
    checked = 0
    for root in roots:
        modules = collect_facts(_python_files(root), root, root)
        assert analyse(modules, options) == analyse(_strip_hint(modules), options), root
        for one in modules:  # each file on its own: most have no sink
            assert analyse([one], options) == analyse(_strip_hint([one]), options), one["path"]
            checked += 1
    assert checked > 20


def test_may_hold_sink_needs_a_hint_or_seven_positional_arguments() -> None:
    quiet = facts_from_bytes(b"import os\nos.getpid()\n", "m.py", "m", False)
    assert may_hold_sink("import os\nos.getpid()\n", quiet) is False
    many = "f(1, 2, 3, 4, 5, 6, 7)\n"
    assert may_hold_sink(many, facts_from_bytes(many.encode(), "m.py", "m", False)) is True
    broken = facts_from_bytes(b"def (:\n", "m.py", "m", False)
    assert broken["error"] is not None
    assert broken["maybe_sink"] is False


def test_process_words_count_only_in_a_project_that_names_a_process_module() -> None:
    """ "Manager" and "Pool" are common words; the sinks they spell are values of
    multiprocessing, billiard or concurrent.futures, which the project must name."""
    options = AnalysisOptions(target_version=(3, 12))

    def facts(name: str, source: str) -> ModuleFacts:
        return facts_from_bytes(source.encode(), f"app/{name}.py", f"app.{name}", False)

    words = facts("words", "class Manager:\n    pool = 'Pool'\n\n\nclass Process:\n    pass\n")
    threaded = facts(
        "threaded",
        "import threading\n\n\ndef go():\n    threading.Thread(target=print).start()\n",
    )
    assert (words["maybe_sink"], words["process_only"], words["sink_root"]) == (True, True, False)
    assert not engine.needs_call_graph([words, threaded], options)
    root = facts("root", "import concurrent.futures\n")
    assert (root["maybe_sink"], root["sink_root"]) == (False, True)
    assert not engine.needs_call_graph([threaded, root], options)
    assert engine.needs_call_graph([words, threaded, root], options)  # a root anywhere
    forks = facts("forks", "import os\n\n\ndef child():\n    return os.fork()\n")
    assert (forks["maybe_sink"], forks["process_only"]) == (True, False)
    assert engine.needs_call_graph([forks, threaded], options)
    assert engine.needs_call_graph(_strip_hint([words, threaded]), options)  # no text: maybe
    assert engine.needs_call_graph([words], AnalysisOptions(fork_sinks=("app.words:f",)))


def test_a_process_sink_made_in_another_file_is_still_found() -> None:
    files = {
        "app/__init__.py": "",
        "app/make.py": (
            "import multiprocessing\n\n\ndef make():\n"
            "    return multiprocessing.Process(target=print)\n"
        ),
        "app/main.py": (
            "import threading\n\nfrom app.make import make\n\n\ndef main():\n"
            "    threading.Thread(target=print).start()\n    make().start()\n"
        ),
    }
    findings = check_sources(files, target_version=(3, 12))
    assert [(f.path, f.code) for f in findings] == [("app/main.py", "FRK002")]
    modules = [
        facts_from_bytes(text.encode(), path, path[:-3].replace("/", "."), False)
        for path, text in files.items()
    ]
    options = AnalysisOptions(target_version=(3, 12))
    assert analyse(modules, options) == analyse(_strip_hint(modules), options) == findings
