"""Which start methods may be in force where a process starts.

``multiprocessing.set_start_method(m)`` decides the start method of the processes
started after it in the same program, and of no others: a call in one test function
says nothing about the forks of another, and a call in ``main()`` says nothing about
a fork that runs before it. A fork's start method is therefore one of:

* the platform's default (``DEFAULT``), if the fork can be reached from an entry
  point along a path on which no ``set_start_method()`` runs before it;
* the method set by a call that may run before the fork on such a path.

Entry points are the functions nothing in the project calls (``main()``, test
functions, public API) and the module bodies. A function nothing calls runs once
its module has been imported: after the calls of the module's body, which set the
method for it when they may (``set_start_method("spawn")`` at the top of
``cli.py``, or in a module ``cli.py`` imports); a submodule's body runs after its
package's. Which importer imports a module first is not known (or the module runs
as a script): a module's body starts with the default (after its package's). A
function handed to library code (a thread target, a callback) is entered where it
is handed over. A cycle of calls no entry point reaches is entered from outside,
with the default.

The order is the one the thread-before-fork reasoning uses (`Reachability.precedes`):
a call earlier in the same function, not in the other arm of an ``if``, runs before;
so does, in a caller, a call made before the call that leads to the fork. A call
*may* set the method when it calls ``set_start_method()`` or a function that may
(through any of its paths): guards such as "only if no method is set yet" or "only
on macOS" are not read, and a call that may set the method is taken to have set it.
That can miss a default "fork" (losing a finding), never invent one. A call later
in a loop around the fork adds its method from the second iteration on; the first
keeps what was in force before. Where one call sets the method on every path to the
fork (`must`), the calls before it no longer count.

Limits: a call whose argument is not a start method name (or not only one) sets an
unknown method, which never counts as "fork"; the order of calls on different
threads is not known, so a function run on a thread or by a library takes the start
method in force where it is handed over; ``if`` statements in loops carry no arms
in the facts.
"""

from __future__ import annotations

from collections import defaultdict, deque

from fork_lint.graph.solver import Program, SiteRef
from fork_lint.graph.values import base_name
from fork_lint.index.facts import CallSite, Expr

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
    """The start methods that may be in force at call sites (`default_methods`)."""

    def __init__(
        self,
        program: Program,
        setters: list[SiteRef],
        *,
        platform: str,
        target_version: tuple[int, int],
        threads: dict[str, list[SiteRef]],
    ) -> None:
        self.p = program
        self.platform = platform
        self.target_version = target_version
        self.threads = threads  # functions run on threads -> where the threads start
        # call site -> the methods it sets, each mapped to itself
        self.setters: dict[SiteRef, States] = {}
        for ref in setters:
            site = program.site(ref)
            if site["kind"] == "call" and not site["child"]:
                # (a start method set in a forked child is the child's own)
                self.setters[ref] = dict.fromkeys(self._arguments(ref, site), ref)
        self._entry: dict[str, States] = {}
        self._named: dict[str, list[tuple[SiteRef, Expr]]] | None = None

    def default_methods(self, refs: list[SiteRef]) -> dict[SiteRef, tuple[str | None, str]]:
        """The method of the default context at each of ``refs``, and why: "fork"
        whenever it may be "fork"."""
        if self.setters:
            self._graph()
            self._summaries()
            self._propagate({self._func(ref) for ref in refs})
        return {ref: self._default_method(ref) for ref in refs}

    def in_force(self, ref: SiteRef) -> States:
        """The start methods that may be in force when the call at ``ref`` runs
        (after `default_methods` was asked about it)."""
        if not self.setters:
            return {DEFAULT: ""}
        return self._state_at(self._func(ref), ref)

    def _default_method(self, ref: SiteRef) -> tuple[str | None, str]:
        states = self.in_force(ref)
        if "fork" in states:
            origin = states["fork"]
            assert isinstance(origin, tuple)
            return "fork", f"set by {self._setter(origin)}"
        if DEFAULT in states:
            method, why = self._platform_default()
            origin = states[DEFAULT]
            if method == "fork" and isinstance(origin, tuple):
                why += f"; restored by {self._setter(origin)}"
            elif method == "fork" and self.setters:
                # The project sets the start method, but not before this fork: name
                # the call in the entry point the fork is reached from, else one in
                # the fork's module, else the first.
                entry = states[DEFAULT]
                first = min(
                    self.setters,
                    key=lambda r: (
                        self._func(r) != entry,
                        r[0] != ref[0],
                        self.p.modules[r[0]]["path"],
                        r[1],
                    ),
                )
                why += (
                    f"; {self._setter(first)} does not run before this fork when it is "
                    f"reached from `{base_name(str(entry))}`"
                )
            return method, why
        known = sorted(set(states) - {UNKNOWN})
        return (known[0] if known else None), ""

    def _platform_default(self) -> tuple[str, str]:
        if self.platform in ("darwin", "win32"):
            return "spawn", f"the default on {self.platform}"
        if self.target_version >= (3, 14):
            return "forkserver", "the default on Linux from Python 3.14"
        return "fork", "the default on Linux before Python 3.14"

    def _setter(self, ref: SiteRef) -> str:
        """``multiprocessing.set_start_method('spawn')` at cli.py:12``."""
        methods = self.setters.get(ref, {})
        known = [repr(m) if m != DEFAULT else "None" for m in methods if m != UNKNOWN]
        site = self.p.site(ref)
        where = f"at {self.p.modules[ref[0]]['path']}:{site['span'][0]}"
        if len(methods) == 1 and known:
            return f"`{site['text']}({known[0]})` {where}"
        if known:  # `set_start_method(method)`, 'spawn' or a value not known here
            setting = " or ".join([*known, "another value"])
            return f"`{site['text']}(...)` {where} (setting {setting})"
        return f"`{site['text']}(...)` {where}"

    def _arguments(self, ref: SiteRef, site: CallSite) -> list[str]:
        args = site["args"]
        arg = args[0] if args else next((v for k, v in site["kwargs"] if k == "method"), None)
        if arg is None or arg[0] == "star":
            return [UNKNOWN]
        if arg == ("const", None):
            return [DEFAULT]  # `set_start_method(None, force=True)` restores the default
        values = self.p.eval_at(ref, arg)
        out = sorted({str(v[1]) if v[0] == "v" else UNKNOWN for v in values})
        return out or [UNKNOWN]

    def _func(self, ref: SiteRef) -> str:
        return self.p.node_of(ref)

    # -- the call graph -----------------------------------------------------
    def _graph(self) -> None:
        skipped = self.p.skipped_sites()
        self.edges = {ref: t for ref, t in self.p.edges.items() if t and ref not in skipped}
        self.callers: dict[str, list[SiteRef]] = defaultdict(list)
        for ref, targets in self.edges.items():
            for t in targets:
                self.callers[t].append(ref)

    def _entered(self, func: str) -> list[SiteRef]:
        """Where ``func`` is called, or handed to library (or unknown) code that may
        call it later: a thread target, a process target, a callback. Such a call
        site is its caller for the start method in force."""
        out = list(self.callers.get(func, ()))
        out += self.threads.get(func, ())
        if not out:
            out += self._handed(func)
        return out

    def _handed(self, func: str) -> list[SiteRef]:
        if self._named is None:
            # Arguments that may be a function, by the name they end with: the few
            # that can be `func` are evaluated, not all of them.
            named: dict[str, list[tuple[SiteRef, Expr]]] = defaultdict(list)
            for mod, facts in self.p.modules.items():
                for site in facts["calls"]:
                    if site["kind"] != "call":
                        continue
                    for e in site["args"]:
                        _index_argument(named, (mod, site["id"]), e)
                    for _, e in site["kwargs"]:
                        _index_argument(named, (mod, site["id"]), e)
            self._named = named
        out = []
        func = base_name(func)
        for name in (func, func.rpartition(".")[2]):
            for ref, expr in self._named.get(name, ()):
                if any(v[0] != "x" for v in self.p.callees.get(ref, ())):
                    continue  # a call of project code binds what it is passed
                values = self.p.eval_at(ref, expr)
                if any(v[0] in ("f", "b") and v[1] == func for v in values):
                    out.append(ref)
        return out

    def _summaries(self) -> None:
        """What calling each function may set (`may`), the sites of each function
        that may set it (`setting`), and the functions that set it on every path
        through their body (`must`)."""
        self.may: dict[str, States] = defaultdict(dict)
        queue: deque[str] = deque()
        for ref, methods in sorted(self.setters.items()):
            if not self.p.site(ref)["guard"]:
                func = self._func(ref)
                self._merge(self.may[func], methods, queue, func)
        while queue:
            func = queue.popleft()
            for ref in self.callers.get(func, ()):
                site = self.p.site(ref)
                if not site["child"] and not site["guard"]:
                    caller = self._func(ref)
                    self._merge(self.may[caller], self.may[func], queue, caller)
        setting: dict[str, set[SiteRef]] = defaultdict(set)
        for ref in self.setters:
            setting[self._func(ref)].add(ref)
        for func in self.may:
            for ref in self.callers.get(func, ()):
                if not self.p.site(ref)["child"]:
                    setting[self._func(ref)].add(ref)
        self.setting = {
            func: sorted(refs, key=lambda r: self.p.site(r)["order"])
            for func, refs in setting.items()
        }
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

    def _sets_always(self, ref: SiteRef) -> bool:
        if ref in self.setters:
            return True
        targets = self.edges.get(ref, set())
        if not targets or all(v[0] == "x" for v in self.p.callees.get(ref, ())):
            return False  # nothing, or a callback a library may call later
        return all(t in self.must for t in targets)

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
        setting = self.setting.get(func)
        if not setting:
            return self._entry.get(func, {})
        site = self.p.site(ref)
        preceding = [s for s in setting if _may_precede(self.p.site(s), site, s == ref)]
        out: States = {}
        if not any(s != ref and self.p.site(s)["order"] < site["order"] for s in preceding):
            # Nothing earlier in the function may have set it (one set later in a
            # loop does not run before the first iteration).
            self._merge(out, self._entry.get(func, {}), None, func)
        else:
            # The last site that sets the method on every path to ``ref`` overrides
            # the sites before it.
            arms = frozenset(site["arms"])
            last = max(
                (s for s in self._dominating(func, ref) if set(self.p.site(s)["arms"]) <= arms),
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
    def _predecessors(self, func: str) -> list[tuple[SiteRef | None, str]]:
        """What runs before ``func`` is entered: the functions that call it or hand
        it over (with the call site); for a function nothing calls, its module's
        body, which ran when the module was imported (``None``: after its end); for
        a submodule, its package's body. Who imports a module first is not known
        (any importer may, or the module runs as a script): a module starts with
        the default, or with what its package's body set."""
        if func in self.p.modules:
            parent = func.rpartition(".")[0]
            return [(None, parent)] if parent in self.p.modules else []
        entered = self._entered(func)
        if entered:
            return [(ref, self._func(ref)) for ref in entered]
        refs = self.p.scopes.get(base_name(func))
        return [(None, refs[0][0])] if refs else []

    def _propagate(self, funcs: set[str]) -> None:
        """The start methods in force when each of ``funcs`` is entered, from the
        entry points above them: only the functions from which one of ``funcs`` can
        be reached take part."""
        # The functions above `funcs`, and the calls between them.
        calls: dict[str, list[tuple[SiteRef | None, str]]] = defaultdict(list)
        above = sorted(funcs)  # in the order found: nearest first
        seen = set(above)
        entries: list[str] = []
        todo = deque(above)
        while todo:
            func = todo.popleft()
            preds = self._predecessors(func)
            if not preds:
                entries.append(func)
            for ref, pred in preds:
                calls[pred].append((ref, func))
                if pred not in seen:
                    seen.add(pred)
                    above.append(pred)
                    todo.append(pred)
        queue: deque[str] = deque()
        for func in entries:
            self._merge(self._entry.setdefault(func, {}), {DEFAULT: func}, queue, func)
        self._drain(queue, calls)
        # Functions no entry point reaches (a cycle nothing enters): the farthest
        # one found is an entry of its own, then what it reaches; and so on.
        for func in reversed(above):
            if not self._entry.get(func):
                self._merge(self._entry.setdefault(func, {}), {DEFAULT: func}, queue, func)
                self._drain(queue, calls)

    def _drain(self, queue: deque[str], calls: dict[str, list[tuple[SiteRef | None, str]]]) -> None:
        while queue:
            func = queue.popleft()
            for ref, target in calls.get(func, ()):
                if ref is not None:
                    state = self._state_at(func, ref)
                else:
                    state = self._end_state(func)
                    if DEFAULT in state and target not in self.p.modules:
                        # A function called from outside once its module is
                        # imported: the finding names it as the entry point.
                        state = {**state, DEFAULT: target}
                self._merge(self._entry.setdefault(target, {}), state, queue, target)

    def _end_state(self, module: str) -> States:
        """The start methods in force once ``module`` has been imported (its
        ``if __name__ == "__main__":`` block does not run on import)."""
        setting = [s for s in self.setting.get(module, ()) if not self.p.site(s)["guard"]]
        if not setting:
            return dict(self._entry.get(module, {}))
        # The last call that sets the method whatever the path overrides those before.
        always = [
            s
            for s in setting
            if self._sets_always(s) and not self.p.site(s)["loops"] and not self.p.site(s)["arms"]
        ]
        first = max((self.p.site(s)["order"] for s in always), default=-1)
        out: States = {}
        for s in setting:
            if self.p.site(s)["order"] >= first:
                self._merge(out, self._set_by(s), None, module)
        return out


def _index_argument(named: dict[str, list[tuple[SiteRef, Expr]]], ref: SiteRef, expr: Expr) -> None:
    tag = expr[0]
    if tag == "name" or tag == "func":  # noqa: PLR1714 (the two common cases first)
        named[expr[1]].append((ref, expr))
    elif tag == "attr":
        named[expr[2]].append((ref, expr))


def _may_precede(s: CallSite, at: CallSite, same: bool) -> bool:
    """Can the call ``s`` run before ``at`` in one run of their function?"""
    if same:
        return bool(s["loops"])
    if s["arms"] and at["arms"] and any(x ^ 1 in at["arms"] for x in s["arms"]):
        return False  # the two arms of one `if`
    if s["order"] < at["order"]:
        return True
    return bool(set(s["loops"]) & set(at["loops"]))
