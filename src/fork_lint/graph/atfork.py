"""Threads that a before-fork handler stops.

``os.register_at_fork(before=handler)`` makes every fork of the process run
``handler`` first: ``os.fork()``, ``pty.fork()``, a ``multiprocessing`` fork and a
``subprocess`` child with ``preexec_fn`` alike. A handler that joins a thread the
object keeps (``self._thread.join()``, in it or in what it calls) stops that
thread before each fork, so the thread is never alive when one happens (gunicorn
from 25.2 stops its control-socket server this way). The thread still runs
between forks: functions on it are on a thread as before (`Reachability`).

A thread counts as stopped when it is started as ``self.<attr>.start()`` (or kept
there) in a method of a class, and a function the handler runs joins
``self.<attr>`` in a method of that class, of a base or of a subclass. The
handler's registration must be in code that runs (not a dead site).
"""

from __future__ import annotations

from collections import defaultdict

from fork_lint.graph.classify import Classification
from fork_lint.graph.solver import Program, SiteRef
from fork_lint.graph.values import base_name

__all__ = ["AT_FORK", "stopped_before_fork"]

# The call that registers the handlers: the solver must track it (`PathFilter`).
AT_FORK = "os.register_at_fork"


def stopped_before_fork(program: Program, cls: Classification) -> set[SiteRef]:
    """The thread-start sites (`SourceHit.ref`) whose thread a before-fork handler
    joins."""
    handlers = _handlers(program)
    if not handlers:
        return set()
    joined = _joined_by(program, handlers)
    if not joined:
        return set()
    out: set[SiteRef] = set()
    for hit in cls.sources:
        owner = base_name(program.node_of(hit.ref))
        sc = program.scope(owner)
        if sc is None or sc["method_kind"] != "method":
            continue
        keeper = owner.rpartition(".")[0]
        for key in hit.keys:
            for other in joined.get(key, ()):
                if (
                    other == keeper
                    or keeper in program.subclasses(other)
                    or other in program.subclasses(keeper)
                ):
                    out.add(hit.ref)
    return out


def _handlers(program: Program) -> set[str]:
    """The functions registered as ``before`` handlers of ``os.register_at_fork``."""
    out: set[str] = set()
    for ref, callees in program.callees.items():
        if not any(v[0] == "x" and v[1] == AT_FORK for v in callees):
            continue
        for key, expr in program.site(ref)["kwargs"]:
            if key != "before":
                continue
            for v in program.eval_at(ref, expr):
                if v[0] in ("f", "b"):
                    out.add(base_name(program.node_for(v, ref)))
    return out


def _joined_by(program: Program, handlers: set[str]) -> dict[str, set[str]]:
    """``self.<attr>`` key -> the classes whose methods, run by a handler, join it."""
    sites_of: dict[str, list[SiteRef]] = defaultdict(list)
    for mod, facts in program.modules.items():
        scopes = facts["scopes"]
        for site in facts["calls"]:
            sites_of[scopes[site["scope"]]["qualname"]].append((mod, site["id"]))
    seen = set(handlers)
    todo = sorted(handlers)
    joined: dict[str, set[str]] = defaultdict(set)
    while todo:
        func = todo.pop()
        sc = program.scope(func)
        if sc is None:
            continue
        if sc["method_kind"] == "method":
            for key, _ in sc["joins"]:
                if key.startswith("self."):
                    joined[key].add(func.rpartition(".")[0])
        for ref in sites_of.get(func, ()):
            for at in program.in_contexts(ref):
                for callee in program.edges.get(at, ()):
                    name = base_name(callee)
                    if name not in seen:
                        seen.add(name)
                        todo.append(name)
    return joined
