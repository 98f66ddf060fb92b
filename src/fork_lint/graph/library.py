"""Public functions that fork and leave a thread running: a hazard on their next call.

A library's users call its public functions as often as they like. One that may
fork and may also leave a thread running when it returns (started and not joined,
often a daemon monitor started after the workers were forked) forks, on its next
call, while the thread of the previous call is alive, whatever the order of the
fork and the start within one call. The project itself need not call it twice; when
it does, the other reasons of `Reachability` find the hazard first, and this one is
not used.

A function counts as public API (`public_api`) when it is a module-level function or
the ``__init__`` of a module-level class (a constructor), its name and its class's
name do not start with ``_``, and its module path has no private part (``_impl``,
``__main__``) and is not test or example code (``tests``, ``test_*``, ``*_test``,
``conftest``, ``examples``, ``scripts``, ``benchmarks``, ``docs``). A program's
``main`` runs once per process and is left out.

Not reported: a function that only forks or only starts threads, or never returns;
a fork in a forked
child; a thread started in a forked child that ends the process before it leaves the
code only the child runs (`paths.held`), which the parent never has; a thread and a
fork that launch objects of one either-or backend (`Reachability._same_launcher`), or
a pool whose use is the fork and whose management thread is the thread
(`Reachability._own_pool`).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from fork_lint.graph.paths import held
from fork_lint.graph.solver import SiteRef
from fork_lint.graph.values import base_name
from fork_lint.model import Hop, Witness

if TYPE_CHECKING:
    from fork_lint.graph.classify import SinkHit
    from fork_lint.graph.reach_view import ReachView

__all__ = ["next_call_witness", "public_api"]

_NOT_LIBRARY = frozenset(
    ("test", "tests", "testing", "conftest", "example", "examples", "scripts", "benchmarks", "docs")
)


def public_api(reach: ReachView, func: str) -> bool:
    """Can users of the package call ``func`` (a function or a constructor, in any
    of its contexts)?"""
    func = base_name(func)
    sc = reach.p.scope(func)
    if sc is None or sc["kind"] != "function":
        return False
    mod = reach.p.scopes[func][0][0]
    head, _, name = func.rpartition(".")
    if sc["method_kind"] == "":
        if head != mod or name == "main":
            return False
    elif name != "__init__" or head.rpartition(".")[0] != mod:
        return False
    if any(part.startswith("_") for part in func[len(mod) + 1 :].split(".") if part != "__init__"):
        return False
    return not any(
        part.startswith(("_", "test_")) or part.endswith("_test") or part in _NOT_LIBRARY
        for part in mod.split(".")
    )


def next_call_witness(reach: ReachView, sink: SinkHit) -> Witness | None:
    """The witness of a fork that the next call of a public function makes while the
    thread its previous call left is alive, or None."""
    if reach.p.site(sink.ref)["child"]:
        return None
    # Breadth-first up the callers, to the nearest public function that also leaves
    # a thread running; `down[f]` is the call in f that leads towards the sink.
    down: dict[str, tuple[SiteRef, str] | None] = {reach.func_of(sink.ref): None}
    queue = deque(down)
    while queue:
        func = queue.popleft()
        # One that never returns (a server's loop ending in `sys.exit`) has no next call.
        if (
            func in reach.starts
            and public_api(reach, func)
            and base_name(func) not in reach.leaving
        ):
            witness = _witness(reach, sink, func, down)
            if witness is not None:
                return witness
        for ref in reach.callers.get(func, ()):
            site = reach.p.site(ref)
            caller = reach.func_of(ref)
            if caller not in down and not site["child"] and not site["guard"]:
                down[caller] = (ref, func)
                queue.append(caller)
    return None


def _witness(
    reach: ReachView,
    sink: SinkHit,
    func: str,
    down: dict[str, tuple[SiteRef, str] | None],
) -> Witness | None:
    step = down[func]
    forks_at = sink.ref if step is None else step[0]  # the call in `func` that forks
    for start_ref, reason in reach.starting_sites(func):
        if not _leaves_thread(reach, start_ref, reason, sink):
            continue
        # One call of `func` forks and then starts the thread (the other order is
        # the hazard of the first call, found without this rule).
        if start_ref == forks_at or reach.precedes(forks_at, start_ref):
            return _explain(reach, sink, func, down, start_ref, reason)
    return None


def _leaves_thread(
    reach: ReachView, ref: SiteRef, reason: tuple[object, ...], sink: SinkHit
) -> bool:
    """Does the call at ``ref`` leave a thread of its own running (a ``Thread``, not a
    pool's or a client's worker, which end with their object), one that is not
    the fork's own pool's or its backend's?"""
    site = reach.p.site(ref)
    if held(site) or site["guard"] or (reason[0] == "source" and reach.joined(ref, None)):
        return False
    source = reach.first_source(ref, reason)
    if reach.own_pool(source, sink) or reach.same_launcher(source, sink):
        return False
    return any(
        not h.source.transient
        and (h.source.run_method is not None or h.source.name == "_thread.start_new_thread")
        for h in reach.source_at.get(source, ())
    )


def _explain(
    reach: ReachView,
    sink: SinkHit,
    func: str,
    down: dict[str, tuple[SiteRef, str] | None],
    start_ref: SiteRef,
    reason: tuple[object, ...],
) -> Witness:
    thread_path = reach.start_chain(start_ref, reason)
    fork_path: list[Hop] = []
    step = down[func]
    while step is not None:
        ref, callee = step
        fork_path.append(reach.hop(ref, f"calls `{reach.p.site(ref)['text']}()`"))
        step = down[callee]
    fork_path.append(reach.hop(sink.ref, f"forks: `{sink.name}`"))
    start = thread_path[-1].location if thread_path else None
    where = f" started at {start.path}:{start.span.line}" if start else ""
    func = base_name(func)
    if func.endswith(".__init__"):
        call = f"`{func[: -len('.__init__')]}()`"
        again = f"the next {call}"
    else:
        call = f"`{func}`"
        again = f"the next call of {call}"
    return Witness(
        anchor=func,
        reason=f"{call} leaves the thread{where} running when it returns; {again} forks here",
        thread_source=reach.source_name(thread_path),
        thread_path=tuple(thread_path),
        fork_path=tuple(fork_path),
    )
