"""Which functions can run after a method has started the thread its object keeps.

A thread that a method ``S`` starts and keeps on the object (``self._t =
Thread(...)``, ``self._t.start()``) is alive only once ``S`` has run: in a
``close()``, a ``submit()`` or a lazy first use, it does not make a fork in a method
that the program calls before it hazardous. A function ``M`` can run after ``S``
when:

1. ``M`` is called at a site that follows the thread start in ``S``, or follows, in
   its own function, a call of a *driver* of ``S`` (``S`` itself, or a function whose
   call may lead to ``S``), or shares a loop with one (its next iteration);
2. a function that can run after ``S`` calls ``M``;
3. ``M`` is handed to library code at a call (a callback a library calls when it
   likes: ``atexit.register(self.close)``), wherever that call is;
4. nothing in the project calls ``M`` and it is not a driver: public API or an entry
   point, which its users may call in any order; or no function without callers
   reaches ``M`` (a cycle the project never enters);
5. ``M`` runs on another thread (`Reachability.alive` finds these on its own).

The same order decides which functions of a module run beside a thread its body
started when it was imported (``S`` is then the module body, and its drivers the
functions that import it).

Limits: instances are not told apart, so the order is that of the calls, whatever
object they are made on; a driver that nothing calls (``main()``, a public
``serve()``) is taken to run once, so the methods it calls before it starts the
thread stay quiet (calling a public function again is what `library` looks at);
the order of two sites of one function is their order in the text, ``if`` arms and
loops considered, not the values that flow between them.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from fork_lint.graph.solver import SiteRef

if TYPE_CHECKING:
    from fork_lint.graph.reach_view import ReachView

__all__ = ["runs_after"]


def runs_after(reach: ReachView, start: SiteRef, candidates: set[str]) -> set[str]:
    """Those of ``candidates`` that can run after the thread start at ``start``."""
    owner = reach.func_of(start)
    drivers = _drivers(reach, owner)
    # The functions above the candidates, and the calls between them.
    above = set(candidates)
    todo = deque(sorted(candidates))
    while todo:
        for ref in reach.callers.get(todo.popleft(), ()):
            caller = reach.func_of(ref)
            if caller not in above:
                above.add(caller)
                todo.append(caller)
    after: set[str] = set()
    entries: list[str] = []
    for func in sorted(above):
        callers = reach.callers.get(func)
        if not callers:
            entries.append(func)
            if func not in drivers:
                after.add(func)  # (4) called from outside in any order
            continue
        for ref in callers:
            if _deferred(reach, ref) or _follows_start(reach, ref, start, drivers):
                after.add(func)  # (3), (1)
                break
    # (4) Functions no entry point reaches.
    reached = _closure(reach, entries, above)
    after |= above - reached
    return _closure(reach, sorted(after), above) & candidates


def _drivers(reach: ReachView, owner: str) -> set[str]:
    """``owner`` and every function whose call may lead to it."""
    out = {owner}
    todo = [owner]
    while todo:
        for ref in reach.callers.get(todo.pop(), ()):
            func = reach.func_of(ref)
            if func not in out:
                out.add(func)
                todo.append(func)
    return out


def _follows_start(reach: ReachView, ref: SiteRef, start: SiteRef, drivers: set[str]) -> bool:
    """Does the call at ``ref`` follow the thread start, or a call of a driver, in
    its function (earlier in the text, or brought round by a shared loop)?"""
    func = reach.func_of(ref)
    if func not in drivers:
        return False
    for other in reach.sites_of.get(func, ()):
        if (other == start or drivers & reach.edges.get(other, set())) and reach.precedes(
            other, ref
        ):
            return True
    return False


def _deferred(reach: ReachView, ref: SiteRef) -> bool:
    """Is the call at ``ref`` library code handed the function, to call later?"""
    callees = reach.p.callees.get(ref, ())
    return bool(callees) and all(v[0] == "x" for v in callees)


def _closure(reach: ReachView, start: list[str], within: set[str]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for ref in reach.sites_of.get(todo.pop(), ()):
            for callee in reach.edges.get(ref, ()):
                if callee in within and callee not in seen:
                    seen.add(callee)
                    todo.append(callee)
    return seen
