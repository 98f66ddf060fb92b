"""Witnesses: the paths that explain a hazard, hop by hop.

`Reachability` finds which functions may run while a thread is alive, and why (its
`alive` and `starts` reasons); this part turns those reasons into the thread path
and the fork path a finding shows, each hop with the call site and, where the
analysis has one, why the call goes there (`graph.why`).
"""

from __future__ import annotations

from typing import Protocol

from fork_lint.graph.classify import SinkHit, SourceHit
from fork_lint.graph.library import next_call_witness
from fork_lint.graph.reach_view import ReachView
from fork_lint.graph.solver import SiteRef
from fork_lint.graph.values import base_name
from fork_lint.graph.why import context_note, edge_reason
from fork_lint.index.facts import CallSite
from fork_lint.model import Hop, Location, Span, Witness

__all__ = ["Witnesses", "pool_use"]

# Why a function may leave a thread running (`Reachability.start_reason`).
_StartReason = tuple[object, ...]


def pool_use(sink: SinkHit) -> bool:
    """Is the sink the first use of a process pool (which forks all its workers)?"""
    return sink.kind == "process-pool" and sink.alloc is not None


class _Reach(ReachView, Protocol):
    """What the witness building reads of the `Reachability` it is part of."""

    alive: dict[str, tuple[object, ...]]
    _loop_paths: dict[tuple[SiteRef, str], dict[str, SiteRef | None]]

    def _site(self, ref: SiteRef) -> CallSite: ...

    def start_reason(self, ref: SiteRef) -> _StartReason | None: ...

    def preceding_start(
        self, at: SiteRef, sink: SinkHit | None = None
    ) -> tuple[SiteRef, _StartReason] | None: ...

    def _first_use(self, sink: SinkHit) -> bool: ...

    def _witness_at(
        self, ref: SiteRef, tail: list[Hop], seen: set[str], sink: SinkHit
    ) -> Witness | None: ...

    def _path_to(self, parents: dict[str, SiteRef | None], func: str) -> list[Hop]: ...

    def _source_hop(self, hit: SourceHit) -> Hop: ...

    def _from_callers(
        self, func: str, tail: list[Hop], seen: set[str], sink: SinkHit
    ) -> Witness | None: ...

    def _through_call(
        self, call_ref: SiteRef, func: str, tail: list[Hop], seen: set[str], sink: SinkHit
    ) -> Witness | None: ...


class Witnesses:
    """The witness-building half of `Reachability`: a mixin whose methods read the
    reasons that class computed (`_Reach`)."""

    def witness_for(self: _Reach, sink: SinkHit) -> Witness | None:
        if pool_use(sink) and not self._first_use(sink):
            return None
        sink_hop = self.hop(sink.ref, f"forks: `{sink.name}`")
        witness = self._witness_at(sink.ref, [sink_hop], set(), sink)
        if witness is None:
            witness = next_call_witness(self, sink)
        return witness

    def _from_callers(
        self: _Reach, func: str, tail: list[Hop], seen: set[str], sink: SinkHit
    ) -> Witness | None:
        """A witness through a call of ``func`` made while a thread may be alive."""
        for call_ref in sorted(self.callers.get(func, ())):
            found = self._through_call(call_ref, func, tail, seen, sink)
            if found is not None:
                return found
        return None

    def _through_call(
        self: _Reach, call_ref: SiteRef, func: str, tail: list[Hop], seen: set[str], sink: SinkHit
    ) -> Witness | None:
        """A witness of the call of ``func`` at ``call_ref``, followed by ``tail``."""
        hop = self.hop(call_ref, f"calls `{self._site(call_ref)['text']}()`", func)
        return self._witness_at(call_ref, [hop, *tail], seen, sink)

    def _witness_at(
        self: _Reach, ref: SiteRef, tail: list[Hop], seen: set[str], sink: SinkHit
    ) -> Witness | None:
        func = self.func_of(ref)
        before = self.preceding_start(ref, sink)
        if before is not None:
            start_ref, reason = before
            thread_path = self.start_chain(start_ref, reason)
            return Witness(
                anchor=base_name(func),
                reason=f"`{base_name(func)}` starts a thread before this call",
                thread_source=self.source_name(thread_path),
                thread_path=tuple(thread_path),
                fork_path=tuple(tail),
            )
        if self._site(ref)["child"]:
            return None  # only the threads the forked child started are alive there
        alive = self.alive.get(func)
        if alive is None or func in seen:
            return None
        seen.add(func)
        reason = alive
        kind = reason[0]
        if kind in ("caller", "after"):
            call_ref = reason[1]
            assert isinstance(call_ref, tuple)
            return self._through_call(call_ref, func, tail, seen, sink)
        if kind == "thread":
            hit = reason[1]
            assert isinstance(hit, SourceHit)
            start = self._source_hop(hit)
            return Witness(
                anchor=base_name(self.func_of(hit.ref)),
                reason=f"`{base_name(func)}` runs on a thread started by `{hit.source.name}`",
                thread_source=hit.source.name,
                thread_path=(start,),
                fork_path=(start, *tail),
            )
        if kind == "class":
            hit, cls = reason[1], reason[2]
            assert isinstance(hit, SourceHit)
            if self.own_pool(hit.ref, sink) or self.same_launcher(hit.ref, sink):
                # The instance's own pool (or launcher) is no hazard here; a thread of
                # a caller may be: the first reason recorded is not the only one.
                return self._from_callers(func, tail, seen, sink)
            chain = self.start_chain(hit.ref, ("source", hit))
            return Witness(
                anchor=str(cls),
                reason=f"`{cls}` keeps a thread on the instance, started by `{hit.source.name}`",
                thread_source=hit.source.name,
                thread_path=tuple(chain),
                fork_path=tuple(tail),
            )
        if kind == "loop":
            runner, source, program = reason[1], reason[2], reason[3]
            assert isinstance(runner, tuple) and isinstance(source, tuple)
            parents = self._loop_paths[(runner, str(program))]
            run_hop = self.hop(runner, f"runs an event loop: `{self._site(runner)['text']}()`")
            src_hit = next(h for h in self.source_at[source] if not h.source.transient)
            thread_path = [
                run_hop,
                *self._path_to(parents, self.func_of(source)),
                self._source_hop(src_hit),
            ]
            fork_path = [run_hop, *self._path_to(parents, func), *tail]
            return Witness(
                anchor=base_name(self.func_of(runner)),
                reason=(
                    f"the event loop run by `{base_name(self.func_of(runner))}` uses threads "
                    f"(`{src_hit.source.name}`), which stay alive while its coroutines run"
                ),
                thread_source=src_hit.source.name,
                thread_path=tuple(thread_path),
                fork_path=tuple(fork_path),
            )
        if kind == "module":
            module, ref0 = reason[1], reason[2]
            assert isinstance(ref0, tuple)
            chain = self.start_chain(ref0, self.start_reason(ref0) or ())
            return Witness(
                anchor=str(module),
                reason=f"module `{module}` starts a thread when it is imported",
                thread_source=self.source_name(chain),
                thread_path=tuple(chain),
                fork_path=tuple(tail),
            )
        return None

    def _path_to(self: _Reach, parents: dict[str, SiteRef | None], func: str) -> list[Hop]:
        hops: list[Hop] = []
        seen: set[str] = set()
        while func in parents and func not in seen:
            seen.add(func)
            ref = parents[func]
            if ref is None:
                break
            hops.append(self.hop(ref, f"calls `{self._site(ref)['text']}()`", func))
            func = self.func_of(ref)
        hops.reverse()
        return hops

    def start_chain(self: _Reach, ref: SiteRef, reason: _StartReason) -> list[Hop]:
        hops: list[Hop] = []
        seen: set[SiteRef] = set()
        while reason and ref not in seen:
            seen.add(ref)
            if reason[0] == "source":
                hit = reason[1]
                assert isinstance(hit, SourceHit)
                hops.append(self._source_hop(hit))
                break
            callee = reason[2]
            assert isinstance(callee, str)
            hops.append(self.hop(ref, f"calls `{self._site(ref)['text']}()`", callee))
            nxt = self.starts.get(callee)
            if nxt is None:
                break
            ref, reason = nxt
        return hops

    def _source_hop(self: _Reach, hit: SourceHit) -> Hop:
        text = self._site(hit.ref)["text"]
        targets = ", ".join(f"`{t}`" for t in sorted({base_name(t) for t in hit.targets}))
        running = f" running {targets}" if targets else ""
        return self.hop(hit.ref, f"starts a thread{running}: `{hit.source.name}` (`{text}()`)")

    @staticmethod
    def source_name(chain: list[Hop]) -> str:
        if not chain:
            return ""
        desc = chain[-1].description
        start = desc.find(": `")
        if start < 0:
            return ""
        return desc[start + 3 : desc.index("`", start + 3)]

    def hop(self: _Reach, ref: SiteRef, description: str, callee: str = "") -> Hop:
        """A step at call site ``ref``; with the ``callee`` it leads to, why it does."""
        site = self._site(ref)
        path = self.p.modules[ref[0]]["path"]
        why = edge_reason(self.p, ref, callee) if callee else ""
        node = self.func_of(ref)
        note = context_note(self.p, node)
        if note:  # which of the function's contexts the step is in
            why = f"{why}; {note}" if why else note
        return Hop(base_name(node), Location(path, Span(*site["span"])), description, why)
