"""What the reachability helpers read of a `Reachability`, as a protocol.

`graph.library` (the repeated-call rule) and `graph.order` (what runs after a
thread start) are called by `graph.reach` and read its state; naming the class
itself there would make an import cycle, so they see it through this view.
"""

from __future__ import annotations

from typing import Protocol

from fork_lint.graph.classify import SinkHit, SourceHit
from fork_lint.graph.solver import Program, SiteRef
from fork_lint.model import Hop

__all__ = ["ReachView", "StartReason"]

# Why a function may leave a thread running:
#   ("source", SourceHit)            it starts one itself
#   ("call", SiteRef, callee)        it calls a function that does
StartReason = tuple[object, ...]


class ReachView(Protocol):
    p: Program
    sites_of: dict[str, list[SiteRef]]
    edges: dict[SiteRef, set[str]]
    callers: dict[str, list[SiteRef]]
    starts: dict[str, tuple[SiteRef, StartReason]]
    source_at: dict[SiteRef, list[SourceHit]]
    leaving: set[str]

    def func_of(self, ref: SiteRef) -> str: ...

    def joined(self, start: SiteRef, at: SiteRef | None) -> bool: ...

    def precedes(self, start: SiteRef, at: SiteRef, *, carried: bool = True) -> bool: ...

    def starting_sites(self, func: str) -> list[tuple[SiteRef, StartReason]]: ...

    def first_source(self, ref: SiteRef, reason: StartReason) -> SiteRef: ...

    def same_launcher(self, start: SiteRef, sink: SinkHit) -> bool: ...

    def own_pool(self, start: SiteRef, sink: SinkHit) -> bool: ...

    def start_chain(self, ref: SiteRef, reason: StartReason) -> list[Hop]: ...

    def source_name(self, chain: list[Hop]) -> str: ...

    def hop(self, ref: SiteRef, description: str, callee: str = "") -> Hop: ...
