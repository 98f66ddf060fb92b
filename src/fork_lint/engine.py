"""From module facts to findings: call graph, classification, reachability, rules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fork_lint.cache import gc_paused
from fork_lint.catalog import PathFilter, ThreadSource
from fork_lint.catalog.libraries import LIBRARY_THREAD_SOURCES, THREAD_BASE_CLASSES
from fork_lint.catalog.stdlib import (
    CALLBACK_ARGS,
    EVENT_LOOP_RUNNERS,
    PASS_THROUGH,
    STDLIB_THREAD_SOURCES,
)
from fork_lint.config import Settings
from fork_lint.graph.atfork import AT_FORK
from fork_lint.graph.classify import SINK_PATTERNS, Classification, Classifier, SinkHit
from fork_lint.graph.plugins import ENTRY_POINT_PATTERNS
from fork_lint.graph.reach import Hazard, Reachability
from fork_lint.graph.solver import Program
from fork_lint.graph.starters import starting_names
from fork_lint.index.facts import ModuleFacts
from fork_lint.model import Finding, Location, Span
from fork_lint.rules import BY_CODE, rule_for_sink
from fork_lint.rules.unused_noqa import unused_noqa


@dataclass(frozen=True)
class AnalysisOptions:
    target_version: tuple[int, int] = (3, 7)
    platform: str = "linux"
    thread_sources: tuple[str, ...] = ()  # "module:qualname"
    fork_sinks: tuple[str, ...] = ()
    # (group, name, "module:attr"): the entry points the project declares in its
    # metadata (`fork_lint.metadata`), which plugin hosts load by name.
    entry_points: tuple[tuple[str, str, str], ...] = ()
    # FRK100: judge the ``noqa`` comments; only an analysis of the whole program can.
    unused_noqa: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> AnalysisOptions:
        return cls(
            target_version=settings.target_version,
            platform=settings.target_platform,
            thread_sources=settings.thread_sources,
            fork_sinks=settings.fork_sinks,
        )


def user_thread_sources(specs: Sequence[str]) -> tuple[ThreadSource, ...]:
    out = []
    for spec in specs:
        module, _, qual = spec.partition(":")
        head, _, method = qual.rpartition(".")
        patterns = [f"{module}.{qual}"]
        if head:
            patterns.append(f"{module}.{head}().{method}")
        out.append(
            ThreadSource(
                tuple(patterns),
                spec,
                "configured in `thread-sources`",
            )
        )
    return tuple(out)


def thread_sources(options: AnalysisOptions) -> tuple[ThreadSource, ...]:
    base_run = tuple(
        ThreadSource(
            (f"{base}().start", f"{base}.start"),
            f"{base}.start",
            "Starts a thread running the subclass's `run` method.",
            run_method="run",
        )
        for base in THREAD_BASE_CLASSES
    )
    return (
        *STDLIB_THREAD_SOURCES,
        *LIBRARY_THREAD_SOURCES,
        *base_run,
        *user_thread_sources(options.thread_sources),
    )


def analyse(modules: Sequence[ModuleFacts], options: AnalysisOptions) -> list[Finding]:
    return analyse_located(modules, options)[0]


def analyse_located(
    modules: Sequence[ModuleFacts], options: AnalysisOptions
) -> tuple[list[Finding], set[str]]:
    """The findings, and the paths of every file a finding (also one suppressed by a
    ``noqa`` comment) takes a position or a ``noqa`` comment from: everything else
    the findings say comes from the facts without their positions."""
    findings: list[Finding] = []
    for facts in modules:
        if facts["error"] is not None:
            code, message, line, col = facts["error"]
            rule = BY_CODE[code]
            findings.append(
                Finding(
                    code=code,
                    name=rule.name,
                    message=message,
                    location=Location(facts["path"], Span(line, col, line, col)),
                    sink="",
                )
            )
    if needs_call_graph(modules, options):
        findings.extend(_hazards(modules, options))
    if options.unused_noqa:
        findings.extend(unused_noqa(modules, findings))
    located = {path for f in findings for path in _paths(f)}
    noqa = {facts["path"]: facts["noqa"] for facts in modules}
    findings = [f for f in findings if not _suppressed(f, noqa)]
    findings.sort(key=Finding.sort_key)
    return findings, located


def _paths(finding: Finding) -> Iterator[str]:
    yield finding.location.path
    if finding.witness is not None:
        for hop in (*finding.witness.thread_path, *finding.witness.fork_path):
            yield hop.location.path
    for name, value in finding.extra:
        if name == "alloc":
            yield value.rsplit(":", 2)[0]


def needs_call_graph(modules: Sequence[ModuleFacts], options: AnalysisOptions) -> bool:
    """Whether the project may hold a fork sink (`facts.SINK_HINTS`); without one the
    findings cannot contain a fork finding, and the call graph is not built.

    A process word (`facts.PROCESS_HINTS`) counts only if some file names one of
    `facts.PROCESS_ROOTS`: the sinks it spells are values of those modules.
    """
    if options.fork_sinks:
        return True
    process = root = False
    for m in modules:
        if m.get("maybe_sink", True):
            if not m.get("process_only", False):
                return True
            process = True
        root = root or m.get("sink_root", True)
        if process and root:
            return True
    return False


def solved_program(
    modules: Sequence[ModuleFacts],
    options: AnalysisOptions,
    sources: tuple[ThreadSource, ...],
) -> Program:
    """The call graph, tracking only the external paths that can grow into
    something the classifier reads (see `PathFilter`)."""
    patterns = [p for src in sources for p in src.patterns]
    patterns += SINK_PATTERNS
    patterns += EVENT_LOOP_RUNNERS
    patterns += [p for p, _ in PASS_THROUGH] + [p for p, _, _ in CALLBACK_ARGS]
    patterns.append(AT_FORK)
    declared: dict[str, list[tuple[str, str]]] = {}
    for group, name, target in options.entry_points:
        declared.setdefault(group, []).append((name, target))
    if declared:
        patterns += ENTRY_POINT_PATTERNS
    # What starts a thread, forks or runs an event loop: contexts (`graph.contexts`)
    # are made only for functions that may reach one of them.
    starting = [p for src in sources for p in src.patterns]
    starting += [*SINK_PATTERNS, *EVENT_LOOP_RUNNERS]
    for spec in options.fork_sinks:
        module, _, qual = spec.partition(":")
        head, _, method = qual.rpartition(".")
        patterns.append(f"{module}.{qual}")
        starting.append(f"{module}.{qual}")
        if head:
            patterns.append(f"{module}.{head}().{method}")
    program = Program(
        modules,
        {p.partition(".")[0] for p in patterns},
        PathFilter(patterns),
        starting=starting_names(starting),
        entry_points=declared,
    )
    program.solve()
    return program


def _hazards(modules: Sequence[ModuleFacts], options: AnalysisOptions) -> list[Finding]:
    """Findings of the fork rules: the call graph, the sinks and threads, reachability."""
    # Solving makes millions of small sets and tuples that live until the end: a
    # cyclic collection every few thousand of them would walk them all again and
    # again (a quarter of the solving time on the benchmark corpus). Not frozen:
    # `release` lets reference counting free the program, and it is freed before
    # the collector resumes (`_solved_findings` returns): alive then, it would all
    # be walked by the first collection after (a second on the benchmark corpus).
    with gc_paused(freeze=False):
        return _solved_findings(modules, options)


def _solved_findings(modules: Sequence[ModuleFacts], options: AnalysisOptions) -> list[Finding]:
    sources = thread_sources(options)
    program = solved_program(modules, options, sources)
    try:
        _, hazards = classified_hazards(program, sources, options)
        return [_finding(program, h) for h in hazards]
    finally:
        program.release()


def classified_hazards(
    program: Program, sources: tuple[ThreadSource, ...], options: AnalysisOptions
) -> tuple[Classification, list[Hazard]]:
    """The sinks and thread sources of a solved program, and the hazards among them."""
    classification = Classifier(
        program,
        sources,
        target_version=options.target_version,
        platform=options.platform,
        user_sinks=options.fork_sinks,
    ).run()
    if not classification.sinks:
        return classification, []
    reach = Reachability(program, classification)
    reach.compute()
    return classification, list(reach.hazards())


def _finding(program: Program, hazard: Hazard) -> Finding:
    sink: SinkHit = hazard.sink
    rule = rule_for_sink(sink.kind)
    site = program.site(sink.ref)
    path = program.modules[sink.ref[0]]["path"]
    w = hazard.witness
    start = w.thread_path[-1].location if w.thread_path else None
    where = f" at {start.path}:{start.span.line}" if start else ""
    detail = f" ({sink.detail})" if sink.detail else ""
    message = (
        f"`{sink.name}()` may run while a thread started by `{w.thread_source}()`{where} "
        f"is alive{detail}"
    )
    extra: tuple[tuple[str, str], ...] = ()
    if sink.alloc is not None and sink.alloc[0] in program.modules:
        # Where the process object was created, for fixes that rewrite the constructor.
        alloc_path = program.modules[sink.alloc[0]]["path"]
        line, col = program.site(sink.alloc)["span"][:2]
        extra = (("alloc", f"{alloc_path}:{line}:{col}"),)
    return Finding(
        code=rule.code,
        name=rule.name,
        message=message,
        location=Location(path, Span(*site["span"])),
        sink=sink.name,
        witness=w,
        function=hazard.function,
        extra=extra,
    )


def _suppressed(finding: Finding, noqa: dict[str, dict[str, list[str] | None]]) -> bool:
    line = str(finding.location.span.line)
    marks = noqa.get(finding.location.path, {})
    if line not in marks:
        return False
    codes = marks[line]
    return codes is None or finding.code in codes
