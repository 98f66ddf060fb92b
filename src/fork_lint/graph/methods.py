"""Which start methods may be in force where a process starts.

``multiprocessing.set_start_method(m)`` decides the start method of the processes
started after it in the same program, and of no others: a call in one test function
says nothing about the forks of another, and a call in ``main()`` says nothing about
a fork that runs before it. A fork's start method is therefore one of:

* the platform's default (``DEFAULT``), if the fork can be reached from an entry
  point along a path on which no ``set_start_method()`` has run;
* the method set by a call that can run before the fork on such a path.

Entry points are the functions nothing in the project calls (``main()``, test
functions, public API, module bodies), and the functions reached from no entry
point at all (a cycle of calls that the project never enters).

Along a path, a call site *sets* the method when every run of it does: it calls
``set_start_method()`` directly, or each function it may call sets the method on
every path through its body (its returns, ``if`` arms and loops considered). A site
whose call runs only sometimes (in one arm of an ``if``, in a loop body that may run
no time) may set the method, and may not: both outcomes are kept.

Limits: ``if`` statements inside loops carry no arms in the facts, so a
``set_start_method()`` in one is taken to run on every iteration; a call whose
argument is not a start method name (or not only one) sets an unknown method,
which never counts as "fork"; the order of calls on different threads is not
known, so a callee's start method is the one in force where it is called or
registered (a thread target, a callback).
"""

from __future__ import annotations

from collections import defaultdict, deque

from fork_lint.graph.solver import Program, SiteRef
from fork_lint.index.facts import CallSite

__all__ = ["DEFAULT", "SETTERS", "UNKNOWN", "StartMethods"]

DEFAULT = "default"  # no set_start_method() has run: the platform's default
UNKNOWN = "?"  # set_start_method() with an argument that is not a known method name
SETTERS = frozenset(
    ("multiprocessing.set_start_method", "multiprocessing.context.set_start_method")
)

# A state is a start method that may be in force, with where it comes from: the
# setting call site, or (for DEFAULT) the entry point it is reached from.
States = dict[str, "SiteRef | str"]


class StartMethods:
    """The start methods that may be in force at each call site (`in_force`)."""

    def __init__(self, program: Program) -> None:
        self.p = program
        # call site -> the methods it sets, each mapped to itself
        self.setters: dict[SiteRef, States] = {}
        for ref, callees in program.callees.items():
            site = program.site(ref)
            if site["kind"] != "call" or site["child"]:
                continue  # a start method set in a forked child is the child's own
            if any(v[0] == "x" and v[1] in SETTERS for v in callees):
                self.setters[ref] = dict.fromkeys(self._arguments(ref, site), ref)
        self._entry: dict[str, States] = {}
        if self.setters:
            self._solve()

    def in_force(self, ref: SiteRef) -> States:
        """The start methods that may be in force when the call at ``ref`` runs."""
        if not self.setters:
            return {DEFAULT: ""}
        return self._state_at(self.p.scope_of_site(ref)["qualname"], ref)

    def _arguments(self, ref: SiteRef, site: CallSite) -> list[str]:
        args = site["args"]
        arg = args[0] if args else next((v for k, v in site["kwargs"] if k == "method"), None)
        if arg is None or arg[0] == "star":
            return [UNKNOWN]
        if arg == ("const", None):
            return [DEFAULT]  # `set_start_method(None, force=True)` restores the default
        values = self.p.eval(ref[0], site["scope"], arg)
        out = sorted({str(v[1]) if v[0] == "v" else UNKNOWN for v in values})
        return out or [UNKNOWN]

    # -- the call graph -----------------------------------------------------
    def _solve(self) -> None:
        p = self.p
        skipped = p.skipped_sites()
        self.edges = {ref: t for ref, t in p.edges.items() if t and ref not in skipped}
        self.callers: dict[str, list[SiteRef]] = defaultdict(list)
        for ref, targets in self.edges.items():
            for t in targets:
                self.callers[t].append(ref)
        self.sites_of: dict[str, list[SiteRef]] = defaultdict(list)
        for mod, facts in p.modules.items():
            scopes = facts["scopes"]
            for site in facts["calls"]:
                self.sites_of[scopes[site["scope"]]["qualname"]].append((mod, site["id"]))
        self._summaries()
        self._propagate()

    def _summaries(self) -> None:
        """What calling each function may set (`may`), and which functions set the
        method on every path through their body (`must`)."""
        self.may: dict[str, States] = defaultdict(dict)
        queue: deque[str] = deque()
        for ref, methods in sorted(self.setters.items()):
            func = self.p.scope_of_site(ref)["qualname"]
            if not self.p.site(ref)["guard"]:
                self._merge(self.may[func], methods, queue, func)
        while queue:
            func = queue.popleft()
            for ref in self.callers.get(func, ()):
                site = self.p.site(ref)
                if not site["child"] and not site["guard"]:
                    caller = self.p.scope_of_site(ref)["qualname"]
                    self._merge(self.may[caller], self.may[func], queue, caller)
        # Setting sites of each function, in order; the functions that may set.
        self.setting: dict[str, list[SiteRef]] = {}
        own = {self.p.scope_of_site(ref)["qualname"] for ref in self.setters}
        for func in sorted(own | set(self.may)):
            found = [ref for ref in self.sites_of.get(func, ()) if self._sets(ref)]
            if found:
                self.setting[func] = found
        self.must: set[str] = set()
        grown = True
        while grown:
            grown = False
            for func in sorted(self.setting):
                if func not in self.must and self._covered(
                    self._dominating(func, None), frozenset()
                ):
                    self.must.add(func)
                    grown = True

    @staticmethod
    def _merge(into: States, new: States, queue: deque[str] | None, func: str) -> None:
        grew = False
        for state, origin in new.items():
            if state not in into:
                into[state] = origin
                grew = True
        if grew and queue is not None:
            queue.append(func)

    def _sets(self, ref: SiteRef) -> bool:
        """May the call at ``ref`` set the start method?"""
        if self.p.site(ref)["child"]:
            return False
        return ref in self.setters or any(self.may.get(t) for t in self.edges.get(ref, ()))

    def _sets_always(self, ref: SiteRef) -> bool:
        if ref in self.setters:
            return True
        targets = self.edges.get(ref, set())
        return bool(targets) and all(t in self.must for t in targets)

    def _set_by(self, ref: SiteRef) -> States:
        if ref in self.setters:
            return self.setters[ref]
        out: States = {}
        for t in sorted(self.edges.get(ref, ())):
            self._merge(out, self.may.get(t, {}), None, t)
        return out

    # -- order within a function ----------------------------------------------
    def _dominating(self, func: str, at: SiteRef | None) -> list[SiteRef]:
        """The sites of ``func`` that set the method on every run and run before
        ``at`` (or before the function returns, when ``at`` is None) in each run of
        ``at``: earlier in the text, in no loop that ``at`` is not in."""
        order: int | None = None
        loops: frozenset[int] = frozenset()
        if at is not None:
            site = self.p.site(at)
            order, loops = site["order"], frozenset(site["loops"])
        out = []
        for ref in self.setting.get(func, ()):
            s = self.p.site(ref)
            if order is not None and s["order"] >= order:
                continue
            if set(s["loops"]) <= loops and self._sets_always(ref):
                out.append(ref)
        return out

    def _covered(self, sites: list[SiteRef], arms: frozenset[int]) -> bool:
        """Does one of ``sites`` run on every path through the arms ``arms``? A
        site in one arm of an ``if`` covers the paths through that arm."""
        if not sites:
            return False
        split: set[int] = set()
        for ref in sites:
            own = self.p.site(ref)["arms"]
            if all(a in arms for a in own):
                return True
            split.update(a & ~1 for a in own if a not in arms and a ^ 1 not in arms)
        return any(
            self._covered(sites, arms | {k}) and self._covered(sites, arms | {k + 1})
            for k in sorted(split)
        )

    def _state_at(self, func: str, ref: SiteRef) -> States:
        site = self.p.site(ref)
        setting = self.setting.get(func, ())
        preceding = [s for s in setting if _may_precede(self.p.site(s), site, s == ref)]
        out: States = {}
        dominating = self._dominating(func, ref)
        arms = frozenset(site["arms"])
        if not self._covered(dominating, arms):
            self._merge(out, self._entry.get(func, {}), None, func)
        else:
            # The last site that sets the method on every path to ``ref`` overrides
            # the sites before it; a choice between arms keeps them all.
            last = max(
                (s for s in dominating if set(self.p.site(s)["arms"]) <= arms),
                key=lambda s: self.p.site(s)["order"],
                default=None,
            )
            if last is not None:
                preceding = [s for s in preceding if not self._overridden(s, last, site)]
        for s in preceding:
            self._merge(out, self._set_by(s), None, func)
        return out

    def _overridden(self, ref: SiteRef, last: SiteRef, at: CallSite) -> bool:
        s, l_site = self.p.site(ref), self.p.site(last)
        if s["order"] < l_site["order"]:
            return True
        if s["order"] < at["order"]:
            return False  # between the last one and ``at``
        # After ``at``, brought round by a loop: overridden if ``last`` is in each
        # loop that does it.
        return set(s["loops"]) & set(at["loops"]) <= set(l_site["loops"])

    # -- from the entry points ------------------------------------------------
    def _propagate(self) -> None:
        functions = set(self.sites_of) | set(self.callers)
        queue: deque[str] = deque()
        for func in sorted(functions):
            if not self.callers.get(func):
                self._merge(self._entry.setdefault(func, {}), {DEFAULT: func}, queue, func)
        self._drain(queue)
        # Functions no entry point reaches: entries of their own.
        for func in sorted(functions):
            if not self._entry.get(func):
                self._merge(self._entry.setdefault(func, {}), {DEFAULT: func}, queue, func)
        self._drain(queue)

    def _drain(self, queue: deque[str]) -> None:
        while queue:
            func = queue.popleft()
            for ref in self.sites_of.get(func, ()):
                targets = self.edges.get(ref)
                if not targets:
                    continue
                state = self._state_at(func, ref)
                for t in sorted(targets):
                    self._merge(self._entry.setdefault(t, {}), state, queue, t)


def _may_precede(s: CallSite, at: CallSite, same: bool) -> bool:
    """Can the call ``s`` run before ``at`` in one run of their function?"""
    if same:
        return bool(s["loops"])
    if s["arms"] and at["arms"] and any(x ^ 1 in at["arms"] for x in s["arms"]):
        return False  # the two arms of one `if`
    if s["order"] < at["order"]:
        return True
    return bool(set(s["loops"]) & set(at["loops"]))
