"""The call graph as data and as pictures.

* :func:`call_graph` writes the format of PyCG (ICSE 2021), so the graph every
  finding rests on can be compared edge by edge with PyCG, pyan and JARVIS.
* :func:`hazard_dot` draws the part of the graph that matters to fork-lint: the
  thread sources, the fork sinks and the call chains between them.
* :func:`witness_dot` draws the witness of individual findings.
* :func:`render` turns Graphviz text into SVG or PNG with the ``dot`` program.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from fork_lint.catalog import PathFilter
from fork_lint.engine import (
    AnalysisOptions,
    classified_hazards,
    solved_program,
    thread_sources,
)
from fork_lint.fsio import find_executable, printable
from fork_lint.graph.classify import Classification
from fork_lint.graph.reach import Hazard
from fork_lint.graph.solver import Program, SiteRef, closure
from fork_lint.graph.values import Value, base_name, real_site
from fork_lint.index.facts import ModuleFacts
from fork_lint.model import Finding, Hop, Location, Span
from fork_lint.output import RenderContext
from fork_lint.output import render as render_text

BUILTIN = "<builtin>"
_DESCRIPTORS = frozenset(f"{BUILTIN}.{n}" for n in ("staticmethod", "classmethod", "property"))
IMAGE_FORMATS = ("svg", "png")
# `get_context('fork')`, `Thread()`, `open(?)`: the call parts of an external path.
_CALL_PART = re.compile(r"\((?:'[^']*'|\?)?\)")
_SINK_COLOR = "red"
_SOURCE_COLOR = "blue"
_RUNNER_COLOR = "darkorange"


class GraphvizMissing(RuntimeError):
    """Raised by :func:`render` when the Graphviz ``dot`` program is not installed."""


# -- the PyCG format ----------------------------------------------------------
class _Nameable(PathFilter):
    """External values that have a name: ``mod.func``, ``mod.Cls``, an instance
    ``mod.Cls()`` and its methods ``mod.Cls().meth``. Beyond that the type is
    unknown (what ``requests.get().json()`` returns, what ``Cls().attr`` holds), so
    a callee there would be named after a guess; tracking such chains through a
    large program also multiplies value sets for no edge."""

    def __init__(self) -> None:
        super().__init__(())

    def useful(self, path: str) -> bool:
        calls = path.count("(")
        return calls == 0 or (calls == 1 and path.rpartition(")")[2].count(".") <= 1)


def solve_all(modules: Iterable[ModuleFacts]) -> Program:
    """A program that tracks every external module, so external callees keep their names.

    Decorated names hold the wrapper, as at run time: the shortcut from a caller to
    the decorated definition (`Program._find_forwarders`) is a summary the
    reachability analysis uses, not a call that happens."""
    program = Program(modules, roots=None, paths=_Nameable(), allocs=False, transparent=False)
    program.solve()
    return program


def external_name(path: str) -> str | None:
    """PyCG's name for an external callee, or None when it has no name.

    ``threading.Thread().start`` -> ``threading.Thread.start`` (the method of the
    class, as PyCG names it); ``builtins.len`` -> ``<builtin>.len``. Calling the
    result of an external call (``f()()``) calls something unknown: no name, so
    no edge is invented for it.
    """
    if path.endswith(")"):
        return None
    name = _CALL_PART.sub("", path)
    if name.startswith("builtins."):
        return f"{BUILTIN}.{name[len('builtins.') :]}"
    return name


def site_callees(program: Program, ref: SiteRef) -> set[str]:
    """Names of everything call site ``ref`` calls, in any context of its function:
    project functions and externals.

    As in PyCG's graphs, two implicit calls name no external callee: ``raise Cls``
    of a library class (the interpreter builds the exception; no function of the
    program runs, while a project class's ``__init__`` does and is an edge), and
    the built-in descriptors applied as decorators (``@staticmethod``,
    ``@classmethod``, ``@property`` wrap the function without calling it)."""
    names: set[str] = set()
    callees: set[Value] = set()
    for at in program.in_contexts(ref):
        names.update(base_name(q) for q in program.edges.get(at, ()) if q not in program.modules)
        callees |= program.callees.get(at, set())
    kind = program.site(ref)["kind"]
    if kind == "raise":
        return names
    constructed: set[str] = set()
    for value in callees:
        if value[0] == "c":
            constructed |= _external_inits(program, value[1], names)
    for value in callees:
        if value[0] != "x":
            continue
        # The solver records `Base` as called when a subclass inherits `Base.__init__`;
        # PyCG names that call `Base.__init__`, added above.
        if value[2] == "" and value[1] in constructed:
            continue
        name = external_name(value[1])
        if name is not None and not (kind == "decorator" and name in _DESCRIPTORS):
            names.add(name)
    return names


def _external_inits(program: Program, cls: str, names: set[str]) -> set[str]:
    """Add the inherited external ``__init__`` a class call runs; return the bases."""
    bases: set[str] = set()
    for init in program.getattr(("i", cls), "__init__"):
        path = init[1]
        if init[0] != "x" or not path.endswith("().__init__"):
            continue
        base = path[: -len("().__init__")]
        bases.add(base)
        if base == "builtins.object":
            continue  # every class has it: `class A:` and `class A(object):` are the same
        name = external_name(f"{base}.__init__")
        if name is not None:
            names.add(name)
    return bases


def call_graph(program: Program) -> dict[str, list[str]]:
    """The call graph in PyCG's format: caller -> sorted callees, keys sorted.

    Callers are modules (their top-level code), functions, methods, lambdas and
    class bodies. Every function of the project and every callee is a key.
    Imports are not edges, as in PyCG; an imported module is a key.
    """
    graph: dict[str, set[str]] = {}
    for facts in program.modules.values():
        for sc in facts["scopes"]:
            if sc["kind"] != "class":
                graph.setdefault(sc["qualname"], set())
    for mod, facts in program.modules.items():
        scopes = facts["scopes"]
        for site in facts["calls"]:
            if site["kind"] == "import":
                continue
            callees = site_callees(program, (mod, site["id"]))
            if not callees:
                continue
            graph.setdefault(scopes[site["scope"]]["qualname"], set()).update(callees)
    for callees in list(graph.values()):
        for name in callees:
            graph.setdefault(name, set())
    return {caller: sorted(graph[caller]) for caller in sorted(graph)}


# -- Graphviz -------------------------------------------------------------------
def _q(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _where(loc: Location) -> str:
    return f"{loc.path}:{loc.span.line}"


class _Dot:
    """A small Graphviz writer: statements in insertion order, each written once."""

    def __init__(self, name: str, label: str = "") -> None:
        self.lines = [
            f"digraph {_q(name)} {{",
            "  rankdir=LR;",
            '  node [shape=box, fontname="Helvetica", fontsize=10];',
            '  edge [fontname="Helvetica", fontsize=9];',
        ]
        if label:
            self.lines.append(f"  label={_q(label)}; labelloc=t;")
        self._seen: set[str] = set()

    def add(self, line: str) -> None:
        if line not in self._seen:
            self._seen.add(line)
            self.lines.append(line)

    def node(self, node_id: str, label: str, **attrs: str) -> None:
        extra = "".join(f", {k}={_q(v)}" for k, v in sorted(attrs.items()))
        self.add(f"  {_q(node_id)} [label={_q(label)}{extra}];")

    def edge(self, a: str, b: str, **attrs: str) -> None:
        extra = ", ".join(f"{k}={_q(v)}" for k, v in sorted(attrs.items()))
        self.add(f"  {_q(a)} -> {_q(b)}" + (f" [{extra}]" if extra else "") + ";")

    def text(self) -> str:
        return "\n".join([*self.lines, "}"]) + "\n"


def analyse_graph(
    modules: Sequence[ModuleFacts], options: AnalysisOptions
) -> tuple[Program, Classification, list[Hazard]]:
    """The program, sinks, sources and hazards exactly as ``check`` computes them.

    The solver tracks the same external paths as :func:`fork_lint.engine.analyse`
    (only those that can grow into a catalogue pattern), so the picture shows the
    graph the findings come from.
    """
    sources = thread_sources(options)
    program = solved_program(modules, options, sources)
    classification, hazards = classified_hazards(program, sources, options)
    return program, classification, hazards


def hazard_dot(
    program: Program, classification: Classification, hazards: Sequence[Hazard] = ()
) -> str:
    """Graphviz text: fork sinks (red), thread sources (blue), event-loop runners and the
    call chains between them.

    Drawn are the functions from which a sink can be reached, and those of their
    callees from which a thread source or an event loop can be reached; a thread
    source is linked to the functions it runs, a runner to the coroutines it drives.
    """
    # Contexts are projected away (`Program.projected`): a function is one box.
    edges, _ = program.projected()

    def func_of(ref: SiteRef) -> str:
        return program.scope_of_site(ref)["qualname"]

    sources = {real_site(h.ref): h for h in reversed(classification.sources)}
    sinks = {(real_site(s.ref), s.kind): s for s in reversed(classification.sinks)}
    calls: dict[str, set[str]] = defaultdict(set)
    imports: dict[str, set[str]] = defaultdict(set)
    for ref, targets in edges.items():
        kind = program.site(ref)["kind"]
        (imports if kind == "import" else calls)[func_of(ref)].update(targets)
    for hit in classification.sources:
        calls[func_of(hit.ref)].update(base_name(t) for t in hit.targets)
    for runner_ref, roots in classification.runners.items():
        calls[func_of(runner_ref)].update(base_name(t) for t in roots)
    succ: dict[str, set[str]] = defaultdict(set)
    for table in (calls, imports):
        for a, bs in table.items():
            succ[a] |= bs
    pred: dict[str, set[str]] = defaultdict(set)
    for a, bs in succ.items():
        for b in bs:
            pred[b].add(a)

    sink_funcs = {func_of(s.ref) for s in classification.sinks}
    start_funcs = {func_of(h.ref) for h in classification.sources}
    start_funcs |= {func_of(r) for r in classification.runners}
    above_sinks = closure(sink_funcs, pred)
    below = closure(above_sinks, succ)
    shown = above_sinks | (below & closure(start_funcs, pred))

    hazardous = {real_site(h.sink.ref) for h in hazards}
    dot = _Dot("fork-lint", "fork-lint: thread sources, fork sinks and the calls between them")
    for func in sorted(shown):
        dot.node(func, func)
    for a in sorted(shown):
        for b in sorted(calls.get(a, set()) & shown):
            dot.edge(a, b)
        for b in sorted(imports.get(a, set()) & shown):
            dot.edge(a, b, style="dotted", label="imports")
    for ref, hit in sorted(sources.items()):
        func = func_of(ref)
        if func not in shown:
            continue
        node = f"source {ref[0]}#{ref[1]}"
        loc = _site_location(program, ref)
        dot.node(
            node,
            f"starts a thread\n{hit.source.name}\n{_where(loc)}",
            color=_SOURCE_COLOR,
            fontcolor=_SOURCE_COLOR,
            shape="ellipse",
        )
        dot.edge(func, node, color=_SOURCE_COLOR)
        targets = {
            base_name(t)
            for r in (ref,)
            for h in classification.sources
            if real_site(h.ref) == r
            for t in h.targets
        }
        for target in sorted(targets & shown):
            dot.edge(node, target, color=_SOURCE_COLOR, style="dashed", label="runs on the thread")
    for runner_ref, roots in sorted(classification.runners.items()):
        func = func_of(runner_ref)
        if func not in shown:
            continue
        node = f"runner {runner_ref[0]}#{runner_ref[1]}"
        loc = _site_location(program, runner_ref)
        text = program.site(runner_ref)["text"]
        dot.node(
            node,
            f"runs an event loop\n{text}()\n{_where(loc)}",
            color=_RUNNER_COLOR,
            fontcolor=_RUNNER_COLOR,
            shape="ellipse",
        )
        dot.edge(func, node, color=_RUNNER_COLOR)
        for root in sorted({base_name(r) for r in roots} & shown):
            dot.edge(node, root, color=_RUNNER_COLOR, style="dashed", label="drives")
    for (ref, _), sink in sorted(sinks.items()):
        node = f"sink {ref[0]}#{ref[1]} {sink.kind}"
        loc = _site_location(program, ref)
        danger = ref in hazardous
        dot.node(
            node,
            f"forks: {sink.name}\n{_where(loc)}" + ("\nthreads may be alive" if danger else ""),
            color=_SINK_COLOR,
            fontcolor=_SINK_COLOR,
            style="filled,bold" if danger else "solid",
            fillcolor="#ffe0e0",
            shape="octagon",
        )
        dot.edge(func_of(ref), node, color=_SINK_COLOR)
    return dot.text()


def _site_location(program: Program, ref: SiteRef) -> Location:
    return Location(program.modules[ref[0]]["path"], Span(*program.site(ref)["span"]))


def witness_dot(findings: Sequence[Finding]) -> str:
    """Graphviz text for the witnesses of ``findings``, one cluster per finding.

    Functions are boxes, the anchor (where both paths start) is bold, each call is
    an edge labelled with what happens there, the sink is red, the thread source blue.
    """
    dot = _Dot("witness")
    for n, finding in enumerate(findings, 1):
        w = finding.witness
        p = f"f{n} "
        loc = finding.location
        title = f"{finding.code} {_where(loc)}: {finding.message}"
        if w is not None:
            title += f"\nwhy: {w.reason}"
        dot.lines.append(f"  subgraph {_q(f'cluster_{n}')} {{")
        dot.lines.append(f"  label={_q(title)};")
        if w is None:
            dot.node(p + "sink", f"{finding.sink}\n{_where(loc)}", color=_SINK_COLOR)
        else:
            dot.node(p + w.anchor, w.anchor, style="bold")
            _chain(dot, p, w.anchor, w.thread_path, "source", w.thread_source, _SOURCE_COLOR)
            _chain(dot, p, w.anchor, w.fork_path, "sink", finding.sink, _SINK_COLOR)
        dot.lines.append("  }")
    return dot.text()


def _chain(
    dot: _Dot, prefix: str, anchor: str, hops: Sequence[Hop], end: str, name: str, color: str
) -> None:
    if not hops:
        return
    first = hops[0].function
    if first != anchor:
        dot.node(prefix + first, first)
        dot.edge(prefix + anchor, prefix + first, style="dotted")
    for hop, nxt in itertools.pairwise(hops):
        dot.node(prefix + nxt.function, nxt.function)
        label = f"{hop.description}\n{_where(hop.location)}"
        dot.edge(prefix + hop.function, prefix + nxt.function, label=label)
    last = hops[-1]
    end_id = f"{prefix}{end} {_where(last.location)}"
    end_label = (
        f"{'forks' if end == 'sink' else 'starts a thread'}: {name}\n{_where(last.location)}"
    )
    dot.node(
        end_id,
        end_label,
        color=color,
        fontcolor=color,
        shape="octagon" if end == "sink" else "ellipse",
    )
    dot.edge(prefix + last.function, end_id, color=color, label=last.description)


def render(dot_text: str, fmt: str) -> bytes:
    """Run Graphviz: ``dot -T<fmt>``. Raises :class:`GraphvizMissing` without it."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {fmt!r} (expected one of: svg, png)")
    exe = find_executable("dot")
    if exe is None:
        raise GraphvizMissing(_missing_message(fmt))
    proc = subprocess.run(
        [exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"Graphviz failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def require_graphviz(fmt: str) -> None:
    """Fail early, before any analysis, when ``fmt`` is an image and Graphviz is missing."""
    if fmt in IMAGE_FORMATS and find_executable("dot") is None:
        raise GraphvizMissing(_missing_message(fmt))


def _missing_message(fmt: str) -> str:
    return (
        f"--format {fmt} needs Graphviz's `dot` program, which is not on PATH; "
        "install Graphviz (e.g. `apt-get install graphviz` or `brew install graphviz`) "
        "or use --format dot and render the file elsewhere"
    )


# -- command output -------------------------------------------------------------
def graph_output(modules: Sequence[ModuleFacts], fmt: str, options: AnalysisOptions) -> bytes:
    """What ``fork-lint graph --format fmt`` writes."""
    if fmt == "json":
        return (json.dumps(call_graph(solve_all(modules)), indent=2) + "\n").encode()
    program, classification, hazards = analyse_graph(modules, options)
    text = printable(hazard_dot(program, classification, hazards))
    return text.encode() if fmt == "dot" else render(text, fmt)


def findings_at(findings: Sequence[Finding], path: Path, line: int, cwd: Path) -> list[Finding]:
    """Findings in file ``path`` whose span covers ``line`` (any line when ``line`` is 0)."""
    want = (cwd / path).resolve()
    return [
        f
        for f in findings
        if (cwd / f.location.path).resolve() == want
        and (line == 0 or f.location.span.line <= line <= f.location.span.end_line)
    ]


def explain_output(findings: Sequence[Finding], fmt: str) -> bytes:
    """What ``check --explain-path`` writes: the findings with their witness, as text
    (the ``full`` report) or as a picture."""
    if fmt == "text":
        return render_text("full", findings, RenderContext(show_fixes=False, why=True)).encode()
    text = printable(witness_dot(findings))
    return text.encode() if fmt == "dot" else render(text, fmt)
