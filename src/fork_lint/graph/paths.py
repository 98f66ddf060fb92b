"""Paths within a function, for reachability: the call sites no path reaches
because a call before them in their block never returns, and which join may
end which thread.

A function never returns when each of its paths ends in ``raise`` or a process
exit, or when every path to a ``return`` passes a call to such a function
(`Scope.leaves`, `Scope.passes`, both from the extractor; a path may pass a
different one: ``try: serve() except E: halt()``); a call never returns
when everything it may call is such a function. Then nothing after the call in
its block runs (`Scope.tails`): a thread started there is never started, a fork
there never forks.
"""

from __future__ import annotations

from fork_lint.graph.classify import Classification
from fork_lint.graph.solver import Program, SiteRef, Value
from fork_lint.graph.values import base_name, real_site
from fork_lint.index.facts import CallSite, Scope
from fork_lint.index.syntax import CANCEL_PREFIX

__all__ = [
    "Joins",
    "dead_sites",
    "held",
    "is_timer",
    "leaving_functions",
    "never_returns",
    "without_sites",
]

# Callees through which a call enters a function of the project (not a class's
# constructor, not a library).
_FUNCTIONS = frozenset(("f", "b"))
# How a timer's start is spelled (`threading.Timer`, a subclass of it).
_TIMER_STARTS = ("threading.Timer().start", "threading.Timer.start")
_KEEPING = frozenset(("staticmethod", "classmethod"))


def dead_sites(program: Program, leaving: set[str]) -> set[SiteRef]:
    """Call sites that follow, in their block, a call that never returns
    (``leaving``: `leaving_functions`)."""
    dead: set[SiteRef] = set()
    for mod, facts in program.modules.items():
        calls = facts["calls"]
        for i, sc in enumerate(facts["scopes"]):
            for tail in sc["tails"]:
                end = tail[0]
                for site in tail[1:]:
                    if site < 0:  # a process exit (`sys.exit()`, `os._exit()`, `os.exec*()`)
                        first = ~site + 1
                    elif leaving and never_returns(program, (mod, site), leaving):
                        first = site + 1
                    else:
                        continue
                    dead.update((mod, k) for k in range(first, end) if calls[k]["scope"] == i)
                    break  # the rest of the block is dead from the first such call
    return dead


def leaving_functions(program: Program) -> set[str]:
    """Functions of the project that never return: those the extractor found, and
    those each clause of whose returns (`Scope.passes`) holds a call of one (to a
    fixed point)."""
    leaving: set[str] = set()
    # project function -> the functions with a clause holding a call that may call it
    waiting: dict[str, set[str]] = {}
    clauses: dict[str, tuple[str, list[list[int]]]] = {}  # function -> module, clauses
    for mod, facts in program.modules.items():
        for sc in facts["scopes"]:
            if not (sc["leaves"] or sc["passes"]):
                continue
            if sc["kind"] != "function" or not _undecorated(sc):
                continue
            qualname = sc["qualname"]
            if len(program.scopes.get(qualname, ())) > 1:
                continue  # defined twice (`if PY2: def f(): ...`): either may run
            if sc["leaves"]:
                leaving.add(qualname)
                continue
            clauses[qualname] = (mod, sc["passes"])
            for clause in sc["passes"]:
                for site in clause:
                    for at in program.in_contexts((mod, site)):  # every context
                        for callee in program.edges.get(at, ()):
                            waiting.setdefault(base_name(callee), set()).add(qualname)
    todo = sorted(leaving)
    while todo:
        for qualname in sorted(waiting.get(todo.pop(), ())):
            mod, passes = clauses[qualname]
            if qualname not in leaving and all(
                any(never_returns(program, (mod, site), leaving) for site in clause)
                for clause in passes
            ):
                leaving.add(qualname)
                todo.append(qualname)
    return leaving


def _undecorated(sc: Scope) -> bool:
    """A decorator's wrapper may catch what the function raises: only functions
    whose decorators keep them as they are count."""
    return all(d[0] == "name" and d[1] in _KEEPING for d in sc["decorators"])


def never_returns(program: Program, ref: SiteRef, leaving: set[str]) -> bool:
    """Does the call never return, in any context of its function?"""
    callees: set[Value] = set()
    for at in program.in_contexts(ref):
        callees |= program.callees.get(at, set())
    if not callees:
        return False
    return all(v[0] in _FUNCTIONS and v[1] in leaving for v in callees)


def held(site: CallSite) -> bool:
    """Does a thread started at ``site`` stay in the forked child that runs it, one
    that ends the process before it leaves the code only it runs
    (`CallSite.child_exits`)? Such a thread is never alive in the parent, nor after
    that code."""
    return site["child"] and site["child_exits"]


def without_sites(cls: Classification, dead: set[SiteRef]) -> Classification:
    """The sinks, thread sources and event-loop runners that are not at ``dead`` sites."""
    if not dead:
        return cls
    return Classification(
        sinks=[s for s in cls.sinks if real_site(s.ref) not in dead],
        sources=[s for s in cls.sources if real_site(s.ref) not in dead],
        runners={ref: roots for ref, roots in cls.runners.items() if real_site(ref) not in dead},
    )


class Joins:
    """Which joins of its function may join a thread (`Scope.joins`)."""

    def __init__(self, program: Program) -> None:
        self.p = program
        self._memo: dict[tuple[SiteRef, frozenset[str]], list[int]] = {}

    def orders(self, start: SiteRef, keys: frozenset[str] | set[str]) -> list[int]:
        """Where (`CallSite.order`) the thread started at ``start``, known there by
        ``keys``, may be joined: by a join of the same key, or of another version of
        the same name (``for t in threads: t.start()``, then ``for t in threads:
        t.join()``) unless the two versions are known to hold different objects."""
        memo_key = (start, frozenset(keys))
        found = self._memo.get(memo_key)
        if found is None:
            timer = is_timer(self.p, start)
            found = []
            for written, o in self.p.scope_of_site(start)["joins"]:
                k = written
                if written.startswith(CANCEL_PREFIX):
                    if not timer:
                        continue
                    k = written[len(CANCEL_PREFIX) :]
                if k in keys or self._versions_meet(start, k, keys):
                    found.append(o)
            self._memo[memo_key] = found
        return found

    def _versions_meet(self, start: SiteRef, key: str, keys: frozenset[str] | set[str]) -> bool:
        base, dot, rest = key.partition(".")
        name = base.partition("@")[0]
        for other in keys:
            obase, odot, orest = other.partition(".")
            if (
                obase != base
                and obase.partition("@")[0] == name
                and (dot, rest) == (odot, orest)
                and _may_alias(self.p, start, key, other)
            ):
                return True
        return False


def is_timer(program: Program, start: SiteRef) -> bool:
    """Does the call at ``start`` start a ``threading.Timer`` (which ``cancel()`` ends)?"""
    return any(v[0] == "x" and v[1].endswith(_TIMER_STARTS) for v in program.callees.get(start, ()))


def _may_alias(program: Program, start: SiteRef, a: str, b: str) -> bool:
    values_a = _key_values(program, start, a)
    values_b = _key_values(program, start, b)
    return not values_a or not values_b or bool(values_a & values_b)


def _key_values(program: Program, start: SiteRef, key: str) -> set[Value]:
    """What ``key`` holds at ``start``, in the context of the function it is in."""
    parts = key.split(".")
    expr: tuple[object, ...] = ("name", parts[0])
    for attr in parts[1:]:
        expr = ("attr", expr, attr)
    return program.eval_at(start, expr)
