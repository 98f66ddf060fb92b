"""Time from ``textDocument/didChange`` to the published diagnostics of `fork-lint server`, warm.

Usage::

    python scripts/lsp_bench.py [--edit code|comment] [--repeat N] [--debounce SECONDS]
                                [--corpus DIR] [--json FILE]

Two projects, each in its own server started the way an editor starts it
(``python -m fork_lint server`` over standard input and output, the project as
the workspace folder), driven by pygls' client:

- a generated project of 100 modules (written to a temporary directory) that
  import each other in a chain, with forks, ``preexec_fn`` launches and process
  pools spread through them; the edited module starts a thread or stops
  starting one on alternate edits, so findings appear and disappear in other
  files;
- the benchmark corpus of ``scripts/bench.py`` (``~/.cache/fork-lint-bench/
  corpus-x1``, 2,579 files of Airflow, Django, SQLAlchemy and Celery); the edited
  file is the Edge worker's (where the corpus's finding is).

Two kinds of edit (``--edit``), each a new text of the open file: ``code`` adds
a new statement at its end (``EDIT = n``; in the generated project it also
starts or stops the thread), which changes what the program is, so the whole
program is solved again; ``comment`` adds a comment line at its end, which
changes no file's shape and moves no finding, so the check answers from the
early cut-off (docs/performance.md) after extracting the edited file.

Warm means: the server has checked the project once (its cache is filled, in a
temporary directory: the corpus's own directory is left alone) and its
analysis process is running; each measured edit is then a new text of one
open file, whose facts are extracted again while every other file's come from
the cache. Each edit waits for its diagnostics before the next is sent. The
machine's load average is printed with the table: on a shared machine, wall
times grow with it. The time includes the server's debounce
(the pause it waits for further typing, 0.2 s by default), which is also
reported on its own.

This is a benchmark, not a test: nothing fails on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import BaseLanguageClient

CORPUS = Path(os.environ.get("FORK_LINT_BENCH_CACHE", "~/.cache/fork-lint-bench")) / "corpus-x1"
CORPUS_FILE = "airflow/providers/edge3/cli/worker.py"
MODULES = 100
TIMEOUT = 600.0  # seconds for one check, cold, on a loaded machine


# ---------------------------------------------------------------------------- projects


def _module(i: int) -> str:
    """One module of the generated project: a few functions, a call into the next
    module, and (every few modules) a fork, a preexec_fn launch or a process pool."""
    nxt = f"m{i + 1:03d}" if i + 1 < MODULES else None
    lines = [
        "import os",
        "import subprocess",
        "from concurrent.futures import ProcessPoolExecutor",
        "",
    ]
    if nxt is not None:
        lines += [f"from app import {nxt}", ""]
    lines += ["", "class Job:", "    def __init__(self, name):", "        self.name = name", ""]
    lines += ["    def run(self):", "        return helper(self.name)", "", ""]
    for k in range(8):
        lines += [f"def f{k}(x):", f"    return [x + {k} for _ in range(3)]", "", ""]
    lines += ["def helper(name):", "    return name.upper()", "", ""]
    body = ["def step():", "    Job('x').run()"]
    if i % 10 == 3:
        body.append("    os.fork()")
    if i % 10 == 6:
        body.append("    subprocess.Popen(['true'], preexec_fn=os.setsid)")
    if i % 25 == 9:
        body += ["    with ProcessPoolExecutor() as pool:", "        pool.submit(f0, 1)"]
    if nxt is not None:
        body.append(f"    {nxt}.step()")
    lines += body
    return "\n".join(lines) + "\n"


MAIN_QUIET = "from app import m000\n\n\ndef main():\n    m000.step()\n"
MAIN_THREADED = (
    "import threading\n\nfrom app import m000\n\n\n"
    "def main():\n    threading.Thread(target=print).start()\n    m000.step()\n"
)


def generate(root: Path) -> Path:
    package = root / "app"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nrequires-python = ">=3.10"\n')
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(MAIN_QUIET)
    for i in range(MODULES - 1):  # with main.py and __init__.py: 101 files
        (package / f"m{i:03d}.py").write_text(_module(i))
    return package / "main.py"


# ---------------------------------------------------------------------------- the editor


class Editor:
    def __init__(self) -> None:
        self.client = BaseLanguageClient("fork-lint-lsp-bench", "0")
        self.arrived: dict[tuple[str, int | None], float] = {}  # (uri, version) -> time
        self.diagnostics: dict[tuple[str, int | None], int] = {}  # -> how many
        self.news = asyncio.Condition()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        async def published(params: types.PublishDiagnosticsParams) -> None:
            now = time.perf_counter()
            async with self.news:
                key = (params.uri, params.version)
                self.arrived.setdefault(key, now)
                self.diagnostics[key] = len(params.diagnostics)
                self.news.notify_all()

    async def start(self, root: Path, cache: str, debounce: float | None) -> None:
        args = ["-m", "fork_lint", "server", "--cache-dir", cache]
        if debounce is not None:
            args += ["--debounce", str(debounce)]
        await self.client.start_io(sys.executable, *args)
        server = self.client._server
        assert server is not None and server.stderr is not None
        self._stderr = asyncio.ensure_future(_drain(server.stderr))
        caps = types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(
                publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                    related_information=True, version_support=True
                )
            )
        )
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=caps,
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(root.as_uri(), root.name)],
            )
        )
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await asyncio.wait_for(self.client.stop(), 60)
        await asyncio.wait_for(self._stderr, 60)

    async def published(self, uri: str, version: int) -> tuple[float, int]:
        key = (uri, version)
        async with self.news:
            await asyncio.wait_for(self.news.wait_for(lambda: key in self.arrived), TIMEOUT)
        return self.arrived[key], self.diagnostics[key]


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


# ---------------------------------------------------------------------------- a run


@dataclass
class Result:
    project: str
    files: int
    first_check: float  # seconds from didOpen to the first diagnostics (cache filled)
    latencies: list[float] = field(default_factory=list)  # warm edits, seconds
    findings: list[int] = field(default_factory=list)  # in the edited file, per edit

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies)
        return {
            "median": statistics.median(ordered),
            "min": ordered[0],
            "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
            "max": ordered[-1],
        }


async def run(
    name: str,
    root: Path,
    edited: Path,
    texts: list[str],
    edit: str,
    repeat: int,
    debounce: float | None,
) -> Result:
    files = sum(1 for _ in root.rglob("*.py"))
    uri = edited.as_uri()
    with tempfile.TemporaryDirectory(prefix="fork-lint-lsp-bench-") as cache:
        editor = Editor()
        await editor.start(root, cache, debounce)
        try:
            start = time.perf_counter()
            editor.client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    types.TextDocumentItem(uri, "python", 1, edited.read_text(encoding="utf-8"))
                )
            )
            opened, _ = await editor.published(uri, 1)
            result = Result(name, files, opened - start)
            version = 1
            for n in range(repeat + 1):  # a warm-up edit, not counted
                version += 1
                suffix = f"\nEDIT = {n}\n" if edit == "code" else f"\n# edit {n}\n"
                text = texts[n % len(texts)] + suffix  # new each time
                sent = time.perf_counter()
                editor.client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                        [types.TextDocumentContentChangeWholeDocument(text)],
                    )
                )
                arrived, count = await editor.published(uri, version)
                if n >= 1:
                    result.latencies.append(arrived - sent)
                    result.findings.append(count)
        finally:
            await editor.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edit", choices=("code", "comment"), default="code")
    parser.add_argument("--repeat", type=int, default=10, help="measured edits per project")
    parser.add_argument(
        "--debounce", type=float, default=None, help="the server's --debounce (default: its own)"
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS.expanduser())
    parser.add_argument("--json", type=Path, default=None, help="write the results here too")
    args = parser.parse_args(argv)

    from fork_lint.server.lsp import DEBOUNCE

    debounce = DEBOUNCE if args.debounce is None else args.debounce
    results = []
    with tempfile.TemporaryDirectory(prefix="fork-lint-lsp-bench-project-") as tmp:
        main_py = generate(Path(tmp))
        results.append(
            asyncio.run(
                run(
                    f"generated ({MODULES} modules)",
                    Path(tmp),
                    main_py,
                    [MAIN_THREADED, MAIN_QUIET] if args.edit == "code" else [MAIN_THREADED],
                    args.edit,
                    args.repeat,
                    args.debounce,
                )
            )
        )
    corpus_file = args.corpus / CORPUS_FILE
    if corpus_file.is_file():
        original = corpus_file.read_text(encoding="utf-8")
        results.append(
            asyncio.run(
                run(
                    "benchmark corpus",
                    args.corpus,
                    corpus_file,
                    [original],
                    args.edit,
                    args.repeat,
                    args.debounce,
                )
            )
        )
    else:
        print(f"{corpus_file}: not found (python scripts/bench.py makes the corpus); skipped")

    load = os.getloadavg()
    print(
        f"fork-lint server, didChange -> publishDiagnostics, warm, {args.edit} edits; "
        f"debounce {debounce:.2f} s included; {args.repeat} edits each; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print(f"{'project':<26} {'files':>6} {'first check':>12} {'median':>8} {'p90':>8} {'max':>8}")
    for r in results:
        s = r.summary()
        print(
            f"{r.project:<26} {r.files:>6} {r.first_check:>11.2f}s {s['median']:>7.2f}s "
            f"{s['p90']:>7.2f}s {s['max']:>7.2f}s"
        )
    if args.json is not None:
        payload = {
            "edit": args.edit,
            "debounce": debounce,
            "load": load,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "results": [{**asdict(r), **r.summary()} for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
