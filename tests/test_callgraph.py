"""The exported call graph, construct by construct, and the `graph` / `--explain-path` CLI.

Each directory under tests/fixtures/callgraph/ is a small program with the graph
it must produce in ``expected.json`` (PyCG's format), written by hand from what
the program does when it runs. The comparison is exact: a missing edge is a
missed hazard, an extra one a false alarm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fork_lint.cli import main
from fork_lint.graph import export
from fork_lint.graph.export import call_graph, external_name, solve_all
from fork_lint.project import collect_facts

FIXTURES = Path(__file__).parent / "fixtures" / "callgraph"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").is_file())

THREADED = """\
import os
import threading


def work():
    pass


def main():
    t = threading.Thread(target=work)
    t.start()
    spawn()


def spawn():
    if os.fork() == 0:
        os._exit(0)


main()
"""


def graph_of(root: Path) -> dict[str, list[str]]:
    files = sorted(root.rglob("*.py"))
    return call_graph(solve_all(collect_facts(files, root, root)))


def test_every_construct_of_the_issue_has_a_fixture() -> None:
    wanted = {
        "direct_calls", "function_args", "kwargs", "assignments", "returns", "lambdas",
        "decorators", "classes", "inheritance", "imports", "external", "containers",
        "generators", "partial", "builtin_callbacks", "exceptions",
    }  # fmt: skip
    assert wanted <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_fixture_graph(case: str) -> None:
    root = FIXTURES / case
    expected = json.loads((root / "expected.json").read_text())
    assert graph_of(root) == expected


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("os.fork", "os.fork"),
        ("builtins.print", "<builtin>.print"),
        ("threading.Thread().start", "threading.Thread.start"),
        (
            "multiprocessing.get_context('fork').Process().start",
            "multiprocessing.get_context.Process.start",
        ),
        ("ext.make()", None),  # calling what an external call returned: unknown
    ],
)  # fmt: skip
def test_external_names(path: str, name: str | None) -> None:
    assert external_name(path) == name


def test_keys_are_sorted_and_every_callee_is_a_key(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(THREADED)
    graph = graph_of(tmp_path)
    assert list(graph) == sorted(graph)
    assert all(callee in graph for callees in graph.values() for callee in callees)


# -- CLI ------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "app.py").write_text(THREADED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_graph_json_to_stdout(project: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["graph", "--isolated"]) == 0
    graph = json.loads(capsysbinary.readouterr().out)
    assert graph["pkg.app.main"] == ["pkg.app.spawn", "threading.Thread", "threading.Thread.start"]
    assert graph["pkg.app.spawn"] == ["os._exit", "os.fork"]


def test_graph_output_file_and_root(project: Path) -> None:
    out = project / "graph.json"
    assert main(["graph", "pkg", "--isolated", "--root", "pkg", "--output", str(out)]) == 0
    graph = json.loads(out.read_text())
    assert "app.main" in graph  # named relative to --root, not to the project
    assert "pkg.app.main" not in graph


def test_graph_dot_draws_sources_sinks_and_chains(
    project: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["graph", "--isolated", "--format", "dot"]) == 0
    dot = capsysbinary.readouterr().out.decode()
    assert dot.startswith('digraph "fork-lint" {')
    assert '"pkg.app.main" -> "pkg.app.spawn";' in dot
    sink = next(line for line in dot.splitlines() if "forks: os.fork" in line)
    assert 'color="red"' in sink
    assert "threads may be alive" in sink
    assert "starts a thread\\nthreading.Thread.start" in dot
    assert "pkg.app.work" not in dot  # leads to neither a sink nor a thread source


def test_image_format_without_graphviz_is_a_clear_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(export, "find_executable", lambda name: None)
    assert main(["graph", "--isolated", "--format", "svg"]) == 2
    assert "needs Graphviz's `dot` program" in capsys.readouterr().err
    assert main(["check", "--isolated", "--explain-path", "pkg/app.py:16", "--format", "png"]) == 2
    assert "needs Graphviz's `dot` program" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_image_formats_with_graphviz(project: Path, fmt: str, magic: bytes) -> None:
    out = project / f"graph.{fmt}"
    assert main(["graph", "--isolated", "--format", fmt, "--output", str(out)]) == 0
    assert magic in out.read_bytes()[:1000]


def test_explain_path_text(project: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["check", "--isolated", "--explain-path", "pkg/app.py:16"]) == 0
    text = capsysbinary.readouterr().out.decode()
    assert "FRK001" in text
    assert "witness:" in text
    assert "thread: pkg/app.py:11:5 in pkg.app.main: starts a thread" in text


WHY_APP = """\
import functools
import os
import threading

from pkg import tools


def traced(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        threading.Thread(target=print).start()
        return func(*args, **kwargs)

    return wrapper


class Runner:
    def go(self, callback):
        callback()


@traced
def quiet():
    pass


def factory():
    return tools.spawn_reader


def with_callback():
    Runner().go(tools.spawn_reader)
    os.fork()


def with_factory():
    made = factory()
    made()
    os.fork()


def with_wrapper():
    quiet()
    os.fork()
"""


@pytest.mark.parametrize(
    ("line", "reasons"),
    [
        (
            33,
            [
                "method `go` in the MRO of the receiver, an instance of `pkg.app.Runner`",
                "`callback` is a parameter of `pkg.app.Runner.go`: passed at pkg/app.py:32"
                " (`Runner(...).go()`)",
            ],
        ),
        (39, ["`made` holds the value `factory()` returns"]),
        (44, ["`pkg.app.quiet` is decorated: calling it runs the decorator's wrapper"]),
    ],
)
def test_explain_path_says_why_each_hop_calls_the_next(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    line: int,
    reasons: list[str],
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tools.py").write_text(
        "import threading\n\n\ndef spawn_reader():\n    threading.Thread(target=print).start()\n"
    )
    (tmp_path / "pkg" / "app.py").write_text(WHY_APP)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--isolated", "--explain-path", f"pkg/app.py:{line}"]) == 0
    text = capsysbinary.readouterr().out.decode()
    found = [ln.strip().removeprefix("why: ") for ln in text.splitlines() if "why:" in ln]
    assert found == reasons


ANNOTATED_APP = """\
import os
import threading
from typing import Optional


class Worker:
    def go(self):
        threading.Thread(target=print).start()


class Service:
    def __init__(self, worker: Optional[Worker] = None):
        self.worker = worker

    def run(self):
        self.worker.go()
        os.fork()


def handle(worker: "Worker"):
    worker.go()
    os.fork()


def spawn_a():
    threading.Thread(target=print).start()


def spawn_b():
    pass


def pick(flag):
    job = spawn_b
    if flag:
        job = spawn_a
    job()
    os.fork()


class Holder:
    client: Worker

    def use(self):
        self.client.go()
        os.fork()


def make() -> Worker: ...


def made():
    make().go()
    os.fork()


def built(flag):
    w = Worker()
    w.go()
    os.fork()
"""


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        # An annotated parameter kept in a field by `__init__`.
        (17, "from the annotation `worker: Worker`"),
        (22, "from the annotation `worker: Worker`"),  # a string annotation
        (46, "from the annotation `client: Worker` in `pkg.app.Holder`"),  # class level
        (54, "from the annotation `pkg.app.make() -> Worker`"),
        (38, "`job` is assigned `spawn_a`"),  # through the version merging both bindings
        (60, "method `go` in the MRO of the receiver, an instance of `pkg.app.Worker`"),
    ],
)
def test_explain_path_says_which_annotation_or_binding_gives_the_value(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    line: int,
    reason: str,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "app.py").write_text(ANNOTATED_APP)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--isolated", "--explain-path", f"pkg/app.py:{line}"]) == 0
    text = capsysbinary.readouterr().out.decode()
    found = [ln.strip().removeprefix("why: ") for ln in text.splitlines() if "why:" in ln]
    assert len(found) == 1
    assert found[0].endswith(reason)
    if line == 60:  # built here: no annotation is named
        assert "annotation" not in found[0]


def test_explain_path_dot(project: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["check", "--isolated", "--explain-path", "pkg/app.py:16", "--format", "dot"]) == 0
    dot = capsysbinary.readouterr().out.decode()
    assert dot.startswith('digraph "witness" {')
    assert 'label="FRK001 pkg/app.py:16:' in dot
    assert '"f1 pkg.app.main" -> "f1 source pkg/app.py:11"' in dot
    assert 'label="forks: os.fork\\npkg/app.py:16", color="red"' in dot


def test_explain_path_without_a_finding_there(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--isolated", "--explain-path", "pkg/app.py:3"]) == 2
    assert "no finding at pkg/app.py:3 (findings there are on lines 16)" in capsys.readouterr().err


def test_explain_path_needs_file_and_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "--explain-path", "pkg/app.py"])
    assert exc.value.code == 2
    assert "expected FILE:LINE" in capsys.readouterr().err


def _widened_program(root: Path) -> None:
    """One call site with more callees than a value set keeps (`state._WIDEN`): which
    results it keeps must not depend on the order sets iterate in."""
    lines = []
    for i in range(60):
        lines += [f"class K{i}:", "    def m(self):", "        pass", ""]
        lines += [f"def h{i}():", f"    return K{i}()", ""]
    lines.append("HANDLERS = [" + ", ".join(f"h{i}" for i in range(60)) + "]")
    lines += ["", "def run():", "    for h in HANDLERS:", "        r = h()", "        r.m()", ""]
    (root / "widened.py").write_text("\n".join(lines))


def test_graph_is_the_same_whatever_the_hash_seed(tmp_path: Path) -> None:
    _widened_program(tmp_path)
    outputs = set()
    for seed in ("0", "1", "2", "3"):
        proc = subprocess.run(
            [sys.executable, "-m", "fork_lint", "graph", "."],
            cwd=tmp_path,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
            check=True,
        )
        outputs.add(proc.stdout)
    assert len(outputs) == 1
    graph = json.loads(outputs.pop())
    assert 0 < len(graph["widened.run"]) < 60 * 2  # widened, yet calls some `m`
