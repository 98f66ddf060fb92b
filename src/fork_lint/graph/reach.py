"""Decide which fork sinks can run while another thread is alive, with a witness.

Facts computed over the call graph:

* ``starts[f]``: calling ``f`` may leave a thread running when ``f`` returns
  (it starts one, directly or through a callee, and does not join it).
* ``alive[f]``: a thread other than the caller's may be alive whenever ``f``
  runs: ``f`` runs on a thread, or is called after a thread was started, or is
  a method of an object that keeps a thread and can run after the method that
  starts it (`order`), or belongs to an event-loop program that uses
  thread-backed facilities, or lives in a module that started threads when it
  was imported and can run after that.

A sink in ``f`` is hazardous when ``alive[f]`` holds or a thread start precedes
it in ``f``; failing both, when a public function that reaches it leaves a
thread running for its next call (`library`). Each fact records the first
reason found (breadth-first), which is replayed into the shortest witness
available (`graph.witness`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from fork_lint.graph.atfork import stopped_before_fork
from fork_lint.graph.classify import PPE_USES, Classification, SinkHit, SourceHit
from fork_lint.graph.object_joins import ObjectJoins
from fork_lint.graph.order import runs_after
from fork_lint.graph.paths import (
    Joins,
    dead_sites,
    held,
    leaving_functions,
    never_returns,
    without_sites,
)
from fork_lint.graph.solver import Program, SiteRef, alloc_name
from fork_lint.graph.values import STRIDE, Value, base_name, real_site
from fork_lint.graph.witness import Witnesses, pool_use
from fork_lint.index.facts import PROCESS_ROOTS, CallSite
from fork_lint.model import Witness

# Reasons:
#   ("source", SourceHit)                       the site itself starts a thread
#   ("call", SiteRef, callee)                   the site calls a function that starts one
_StartReason = tuple[object, ...]
#   ("thread", SourceHit)                       f runs on the thread the source starts
#   ("class", SourceHit, cls)                   f is a method of a class that keeps a thread
#   ("loop", runner SiteRef, SourceHit-site, root)   f is part of an event-loop program
#                                              (root: "" or the one function a wrapper runs)
#   ("module", module, SiteRef)                 f's module started a thread at import
#   ("caller", SiteRef, AliveAt)                f is called at a site where a thread is alive
_AliveReason = tuple[object, ...]


def _process_path(path: str) -> bool:
    """Does a library path name a process class's method (not a thread's)?"""
    return path.startswith(tuple(f"{root}." for root in PROCESS_ROOTS))


# Run on an instance before any other method can (`Reachability._building`).
_CONSTRUCTORS = frozenset(("__new__", "__init__", "__post_init__"))


@dataclass(frozen=True)
class Hazard:
    sink: SinkHit
    witness: Witness
    function: str


class Reachability(Witnesses):
    def __init__(self, program: Program, cls: Classification) -> None:
        self.p = program
        # Sites after a call that never returns (in its block) never run (`paths`).
        self.leaving = leaving_functions(program)  # functions that never return
        self._raising: dict[SiteRef, bool] = {}
        dead = dead_sites(program, self.leaving)
        cls = without_sites(cls, dead)
        # Threads run their functions as before, but a thread a before-fork handler
        # joins is not alive at any fork (`graph.atfork`): it starts nothing here.
        self._on_threads = cls.sources
        stopped = stopped_before_fork(program, cls)
        if stopped:
            kept = [s for s in cls.sources if s.ref not in stopped]
            cls = Classification(sinks=cls.sinks, sources=kept, runners=cls.runners)
        self.c = cls
        self._joins = Joins(program)
        self._objects = ObjectJoins(self)
        self._via_calls: set[SiteRef] = set()  # calls through which a thread start passes
        # Functions are call-graph nodes: a function in one of its contexts
        # (`graph.contexts`); the call sites of a context besides the primary one
        # are virtual (`values.real_site`).
        self.sites_of: dict[str, list[SiteRef]] = defaultdict(list)
        for mod, facts in program.modules.items():
            scopes = facts["scopes"]
            for site in facts["calls"]:
                if (mod, site["id"]) not in dead:
                    self.sites_of[scopes[site["scope"]]["qualname"]].append((mod, site["id"]))
        for qualname, numbers in program.secondaries.items():
            real = self.sites_of.get(qualname, [])
            for n in numbers:
                self.sites_of[f"{qualname}\u27e8{n}\u27e9"] = [(m, i + n * STRIDE) for m, i in real]
        # Forwarding calls in decorators' wrappers are left out: the decorated
        # function is reached from its callers directly (`Program.skipped_sites`).
        self._skipped = program.skipped_sites()
        skipped = self._skipped | dead
        self.edges: dict[SiteRef, set[str]] = {
            ref: targets for ref, targets in program.edges.items() if real_site(ref) not in skipped
        }
        self.callers: dict[str, list[SiteRef]] = defaultdict(list)
        for ref, targets in self.edges.items():
            for t in targets:
                self.callers[t].append(ref)
        self.source_at: dict[SiteRef, list[SourceHit]] = defaultdict(list)
        for hit in cls.sources:
            self.source_at[hit.ref].append(hit)
        self.sinks_at: dict[SiteRef, list[SinkHit]] = defaultdict(list)
        for sink in cls.sinks:
            self.sinks_at[sink.ref].append(sink)
        self._launched: dict[SiteRef, tuple[frozenset[str], frozenset[str]]] = {}
        # functions of each module, in name order (threads started at import)
        self.functions_of: dict[str, list[str]] = defaultdict(list)
        for q in sorted(program.scopes):
            mod = program.scopes[q][0][0]
            if q != mod:
                self.functions_of[mod].extend(program.nodes_of(q))
        self.starts: dict[str, tuple[SiteRef, _StartReason]] = {}
        self.alive: dict[str, _AliveReason] = {}
        # (runner, root of the program or "") -> how each function of it is reached
        self._loop_paths: dict[tuple[SiteRef, str], dict[str, SiteRef | None]] = {}
        self._starting: dict[str, list[tuple[SiteRef, _StartReason]]] = {}
        self._left: dict[SiteRef, frozenset[SiteRef]] = {}  # `_sources_left`
        # Generator functions: a call returns the generator, iterating it runs the body.
        self._generators = {
            sc["qualname"]
            for facts in program.modules.values()
            for sc in facts["scopes"]
            if sc["kind"] == "function" and any(r[0] == "yield" for r in sc["returns"])
        }

    # -- helpers ----------------------------------------------------------
    def func_of(self, ref: SiteRef) -> str:
        """The node (a function in a context) the call site ``ref`` belongs to."""
        return self.p.node_of(ref)

    def _site(self, ref: SiteRef) -> CallSite:
        return self.p.site(ref)

    def start_reason(self, ref: SiteRef) -> _StartReason | None:
        """Why the call at ``ref`` may leave a thread running (None if it does not)."""
        hits = [h for h in self.source_at.get(ref, ()) if not h.source.transient]
        if hits:
            return ("source", hits[0])
        generators = self._generators
        for callee in sorted(self.edges.get(ref, ())):
            if callee in self.starts and (
                base_name(callee) not in generators or self._site(ref)["kind"] != "call"
            ):
                # A call of a generator function runs none of its body: the thread
                # starts where the generator is iterated (an edge of its own).
                return ("call", ref, callee)
        return None

    def joined(self, start: SiteRef, at: SiteRef | None) -> bool:
        """Is the thread started at ``start`` joined before ``at`` (or before the
        function returns, when ``at`` is None)?"""
        hits = self.source_at.get(start)
        if not hits:
            # A call that leaves a thread on its receiver, joined by a later call on it.
            return start in self._via_calls and self._objects.joined(start, at)
        if hits[0].source.event_loop:
            return False
        keys = set(hits[0].keys)
        if not keys:
            return False
        s = self._site(start)
        joins = self._joins.orders(start, keys)  # where the thread may be joined
        if at is None:
            found = any(o >= s["order"] for o in joins)
        else:
            a = self._site(at)
            if s["order"] < a["order"]:
                found = any(s["order"] <= o < a["order"] for o in joins)
            else:
                # `at` comes first in the text but a shared loop brings it round again.
                found = any(o >= s["order"] for o in joins)
        # Or kept on `self` and joined by a later call on `self` (`graph.object_joins`).
        return found or self._objects.joined(start, at)

    def precedes(self, start: SiteRef, at: SiteRef, *, carried: bool = True) -> bool:
        """Can a thread started at ``start`` be alive when ``at`` runs? Also in a
        later iteration of a loop around both, unless not ``carried``."""
        s, a = self._site(start), self._site(at)
        if start == at:
            return carried and bool(s["loops"]) and not self.joined(start, at)
        if s["arms"] and a["arms"] and any(x ^ 1 in a["arms"] for x in s["arms"]):
            return False  # the two arms of one `if` (`CallSite.arms`)
        if self.leaving and self._raises(start):
            return self._after_raise(start, at, carried=carried)
        if s["order"] < a["order"]:
            return not self.joined(start, at)
        if carried and set(s["loops"]) & set(a["loops"]):
            return not self.joined(start, at)
        return False

    def _raises(self, ref: SiteRef) -> bool:
        """Does the call at ``ref`` never return (`paths.never_returns`)?"""
        real = real_site(ref)
        found = self._raising.get(real)
        if found is None:
            found = self._raising[real] = never_returns(self.p, real, self.leaving)
        return found

    def _after_raise(self, start: SiteRef, at: SiteRef, *, carried: bool) -> bool:
        """Can ``at`` run after the call at ``start`` raised? Only from the handlers of
        the innermost ``try`` (or the end of the ``with``) around it on, or in a later
        iteration of a loop around that statement; with none, nothing after it in its
        function runs."""
        s, a = self._site(start), self._site(at)
        if s["catch"] < 0:
            return False
        resume, loops = self.p.scope_of_site(start)["tries"][s["catch"]]
        if a["order"] >= resume or (carried and set(loops) & set(a["loops"])):
            return not self.joined(start, at)
        return False

    def preceding_start(
        self, at: SiteRef, sink: SinkHit | None = None
    ) -> tuple[SiteRef, _StartReason] | None:
        func = self.func_of(at)
        site = self._site(at)
        # A pool forks at its first use: in a loop, at the first iteration, before any
        # thread the loop starts (`Reachability._first_use`).
        carried = sink is None or not pool_use(sink)
        for ref, reason in self.starting_sites(func):
            if ref[0] != at[0]:
                continue
            left = self._sources_left(ref, reason) if sink is not None else frozenset()
            if (
                sink is not None
                and left
                and all(
                    # Each thread the call may leave running is the fork's own pool's, or
                    # the other kind of the fork's either-or launcher (`same_launcher`),
                    # started there or in what it calls (a context manager's `__enter__`).
                    self.own_pool(source, sink) or self.same_launcher(source, sink)
                    for source in left
                )
            ):
                continue
            s = self._site(ref)
            if site["child"]:
                # In a forked child only the threads it started itself are alive:
                # those started after the fork, in this run of the function.
                if s["order"] > site["fork_order"] and self.precedes(ref, at, carried=False):
                    return ref, reason
                continue
            if held(s):
                continue  # threads of a child that ends the process are never the parent's
            if self.precedes(ref, at, carried=carried):
                return ref, reason
        return None

    def starting_sites(self, func: str) -> list[tuple[SiteRef, _StartReason]]:
        """The sites of ``func`` that may leave a thread running, in order. Memoised
        once `starts` is final: asking each call site of a large function about
        every other one took a million `start_reason` calls on the benchmark corpus."""
        found = self._starting.get(func)
        if found is None:
            found = []
            for ref in self.sites_of.get(func, ()):
                reason = self.start_reason(ref)
                if reason is not None:
                    found.append((ref, reason))
            self._starting[func] = found
        return found

    # -- fixed points -----------------------------------------------------
    def compute(self) -> None:
        self._compute_starts()
        self._compute_alive()

    def _compute_starts(self) -> None:
        self._propagate_starts(set())
        # A call whose threads a later call on the same object joins leaves none
        # (`graph.object_joins`); asked with the first, larger, answer.
        joined = {
            ref
            for func in self.starts
            for ref in self.callers.get(func, ())
            if self._objects.joined(ref, None)
        }
        if joined:
            self.starts.clear()
            self._propagate_starts(joined)

    def _propagate_starts(self, joined: set[SiteRef]) -> None:
        queue: deque[str] = deque()
        for hit in self.c.sources:
            if hit.source.transient:
                continue
            func = self.func_of(hit.ref)
            site = self._site(hit.ref)
            if held(site) or site.get("guard") or self.joined(hit.ref, None):
                continue
            if func not in self.starts:
                self.starts[func] = (hit.ref, ("source", hit))
                queue.append(func)
        while queue:
            func = queue.popleft()
            called_only = base_name(func) in self._generators
            for ref in self.callers.get(func, ()):
                site = self._site(ref)
                if held(site) or site.get("guard") or (called_only and site["kind"] == "call"):
                    continue
                self._via_calls.add(ref)
                if ref in joined:
                    continue
                caller = self.func_of(ref)
                if caller not in self.starts:
                    self.starts[caller] = (ref, ("call", ref, func))
                    queue.append(caller)

    def _compute_alive(self) -> None:
        self._starting.clear()  # `starts` is final from here on
        queue: deque[str] = deque()

        def mark(func: str, reason: _AliveReason) -> None:
            if func not in self.alive and self.p.scope(base_name(func)) is not None:
                self.alive[func] = reason
                queue.append(func)

        for hit in self._on_threads:
            for target in sorted(hit.targets):
                mark(target, ("thread", hit))
        self._class_owned(mark)
        self._event_loops(mark)
        self._import_time(mark)
        # Calls that follow a thread start in the same function.
        for func in sorted(self.sites_of):
            for ref in self.sites_of[func]:
                if not self.edges.get(ref):
                    continue
                before = self.preceding_start(ref)
                if before is None:
                    continue
                for callee in sorted(self.edges[ref]):
                    mark(callee, ("after", ref, before[0]))
        while queue:
            func = queue.popleft()
            for ref in self.sites_of.get(func, ()):
                # The caller's threads are not alive in its forked child. A module's
                # body is reached here by an import, which does not run its `if
                # __name__ == "__main__":` block (run as a script, the block's calls
                # after a thread start are marked above).
                site = self._site(ref)
                if site["child"] or site.get("guard"):
                    continue
                for callee in sorted(self.edges.get(ref, ())):
                    mark(callee, ("caller", ref))

    def _import_time(self, mark: object) -> None:
        """Threads started while a module is imported are alive in everything that
        runs after the import: the module's own functions and its importers'."""
        assert callable(mark)
        for module in sorted(self.p.modules):
            if module not in self.starts:
                continue
            ref, _ = self.starts[module]
            # Only the functions that can run after the thread started (`order`).
            for func in sorted(runs_after(self, ref, set(self.functions_of.get(module, ())))):
                mark(func, ("module", module, ref))

    def _class_owned(self, mark: object) -> None:
        assert callable(mark)
        for hit in self.c.sources:
            if hit.source.event_loop or hit.source.transient:
                continue
            if not any(k.startswith("self.") for k in hit.keys):
                continue
            if held(self._site(hit.ref)) or self.joined(hit.ref, None):
                continue
            owner_method = self.func_of(hit.ref)
            sc = self.p.scope(base_name(owner_method))
            if sc is None or sc["method_kind"] == "":
                continue
            cls = base_name(owner_method).rpartition(".")[0]
            classes = self.p.subclasses(cls)
            building = self._building(cls)
            # The object that keeps the thread is the one the starting method runs on.
            keeper = self._receivers(owner_method)
            # Methods that start the thread themselves, by calling (through methods
            # of these classes) the method that does: like that method, they are not
            # assumed to run beside a thread an earlier call of theirs left; the one
            # they start is found by the calls that follow it (`preceding_start`).
            drivers = {owner_method}
            todo = [owner_method]
            while todo:
                for ref in self.callers.get(todo.pop(), ()):
                    func = self.func_of(ref)
                    if func not in drivers and base_name(func).rpartition(".")[0] in classes:
                        drivers.add(func)
                        todo.append(func)
            candidates = {
                m
                for sub in classes
                for m in self._methods(sub)
                if m not in drivers
                and m not in building
                and self._same_object(keeper, self._receivers(m))
            }
            # Only the methods that can run after the thread started (`order`).
            for method in sorted(runs_after(self, hit.ref, candidates)):
                mark(method, ("class", hit, cls))

    def _building(self, cls: str) -> set[str]:
        """Methods of ``cls`` and its subclasses that run only while an instance is
        built: the constructors, and methods that only they call (in the same
        classes). No method of the instance has run yet, so the thread the instance
        keeps is not alive there; a thread of an earlier instance is found by
        following the calls that built this one after it started."""
        classes = self.p.subclasses(cls)
        methods = {m for c in classes for m in self._methods(c)}
        out = {m for m in methods if base_name(m).rpartition(".")[2] in _CONSTRUCTORS}
        grown = True
        while grown:
            grown = False
            for m in sorted(methods - out):
                callers = self.callers.get(m)
                if callers and all(self.func_of(ref) in out for ref in callers):
                    out.add(m)
                    grown = True
        return out

    def _methods(self, cls: str) -> list[str]:
        """The nodes of the methods a class defines, in every context."""
        return [node for m in sorted(self.p.own_methods(cls)) for node in self.p.nodes_of(m)]

    def _receivers(self, node: str) -> set[Value]:
        """What ``self`` is in a method's node (empty: not known)."""
        sc = self.p.scope(base_name(node))
        if sc is None or not sc["params"] or sc["method_kind"] in ("", "staticmethod"):
            return set()
        found: set[Value] | None = self.p.vars.get((node, sc["params"][0]))
        return set(found) if found else set()

    def _same_object(self, one: set[Value], other: set[Value]) -> bool:
        """Can two methods' receivers be one object? Instances of different classes,
        or objects created at different places, are not."""
        if not one or not other:
            return True
        return any(self._may_alias(a, b) for a in one for b in other)

    def _may_alias(self, a: Value, b: Value) -> bool:
        if a[0] not in ("i", "s") or b[0] not in ("i", "s"):
            return True  # a class (a class method's `cls`): any of its instances
        if a[0] == "i" and b[0] == "i":
            return a[1] == b[1] and (len(a) < 3 or len(b) < 3 or a[2] == b[2])
        if a[0] == "s" and b[0] == "s":
            return a[1] in self.p.subclasses(b[1]) or b[1] in self.p.subclasses(a[1])
        cone, inst = (a, b) if a[0] == "s" else (b, a)
        return inst[1] in self.p.subclasses(cone[1])

    def _event_loops(self, mark: object) -> None:
        assert callable(mark)
        for runner, roots in sorted(self.c.runners.items()):
            # A decorator's wrapper that runs `loop.run_until_complete(fn(...))` runs
            # one decorated function per call: each is a program of its own, or one
            # test's threads would be alive in every other test's loop.
            programs = [[r] for r in sorted(roots)] if self._forwards(runner) else [sorted(roots)]
            for program in programs:
                key = (runner, program[0]) if len(programs) > 1 else (runner, "")
                parents = self._bfs(program)
                self._loop_paths[key] = parents
                source = None
                for func in parents:
                    for ref in self.sites_of.get(func, ()):
                        hits = [h for h in self.source_at.get(ref, ()) if not h.source.transient]
                        if hits and not held(self._site(ref)):
                            source = ref
                            break
                    if source is not None:
                        break
                if source is None:
                    continue
                for func in parents:
                    mark(func, ("loop", runner, source, key[1]))

    def _forwards(self, runner: SiteRef) -> bool:
        """Is the runner's coroutine the call a forwarding wrapper makes of the
        function it decorates (`Program.skipped_sites`)?"""
        args = self._site(runner)["args"]
        if not args or args[0][0] != "call":
            return False
        return (runner[0], int(args[0][1])) in self._skipped

    def _bfs(self, roots: list[str]) -> dict[str, SiteRef | None]:
        parents: dict[str, SiteRef | None] = {}
        queue: deque[str] = deque()
        for r in roots:
            if r not in parents:
                parents[r] = None
                queue.append(r)
        while queue:
            func = queue.popleft()
            for ref in self.sites_of.get(func, ()):
                for callee in sorted(self.edges.get(ref, ())):
                    if callee not in parents:
                        parents[callee] = ref
                        queue.append(callee)
        return parents

    # -- findings ---------------------------------------------------------
    def hazards(self) -> list[Hazard]:
        out = []
        reported: set[tuple[SiteRef, str]] = set()
        for sink in self.c.sinks:
            w = self.witness_for(sink)
            # A sink in several contexts of its function is reported once: the first
            # with a witness (the primary context's, when it has one).
            if w is not None and (real_site(sink.ref), sink.kind) not in reported:
                reported.add((real_site(sink.ref), sink.kind))
                out.append(Hazard(sink, w, base_name(self.func_of(sink.ref))))
        # A pool is reported once: where it is built when that is hazardous (the
        # fix goes there), else at its first hazardous use.
        built = {h.sink.ref for h in out if h.sink.kind == "process-pool" and h.sink.alloc is None}
        first_use: dict[SiteRef, SiteRef] = {}
        for h in out:
            alloc = h.sink.alloc
            if h.sink.kind == "process-pool" and alloc is not None and alloc not in built:
                first_use[alloc] = min(first_use.get(alloc, h.sink.ref), h.sink.ref)
        return [
            h
            for h in out
            if h.sink.kind != "process-pool"
            or h.sink.alloc is None
            or first_use.get(h.sink.alloc) == h.sink.ref
        ]

    def first_source(self, ref: SiteRef, reason: _StartReason) -> SiteRef:
        """The site that starts the thread a call leaves running, as `starts` records."""
        seen: set[str] = set()
        while reason[0] == "call":
            callee = reason[2]
            assert isinstance(callee, str)
            if callee in seen or callee not in self.starts:
                break
            seen.add(callee)
            ref, reason = self.starts[callee]
        return ref

    def _sources_left(self, ref: SiteRef, reason: _StartReason) -> frozenset[SiteRef]:
        """Every thread start a call may leave running, through every callee that
        leaves one (`first_source` follows one of them)."""
        if reason[0] == "source":
            return frozenset((ref,))
        found = self._left.get(ref)
        if found is None:
            out: set[SiteRef] = set()
            seen: set[str] = set()
            todo = [c for c in self.edges.get(ref, ()) if c in self.starts]
            while todo:
                func = todo.pop()
                if func in seen:
                    continue
                seen.add(func)
                for site, why in self.starting_sites(func):
                    if why[0] == "source":
                        out.add(site)
                    else:
                        todo.extend(c for c in self.edges.get(site, ()) if c in self.starts)
            found = self._left[ref] = frozenset(out)
        return found

    def _first_use(self, sink: SinkHit) -> bool:
        """Is no other use of the pool earlier in the function? After one, the
        workers are forked already."""
        order = self._site(sink.ref)["order"]
        return not any(
            ref[0] == sink.ref[0]
            and self._site(ref)["order"] < order
            and self._uses_pool(ref, sink)
            for ref in self.sites_of.get(self.func_of(sink.ref), ())
        )

    def _uses_pool(self, ref: SiteRef, sink: SinkHit) -> bool:
        """Does the call at ``ref`` submit to the pool whose use is ``sink``?"""
        alloc = alloc_name(sink.alloc) if sink.alloc is not None else ""
        return any(
            v[0] == "x" and v[2] == alloc and v[1] in PPE_USES for v in self.p.callees.get(ref, ())
        )

    def _launches(self, ref: SiteRef) -> tuple[frozenset[str], frozenset[str]]:
        """Where the threads and the processes that the call at ``ref`` may start
        were created (``threading.Thread(...)`` and ``Process(...)`` call sites)."""
        found = self._launched.get(ref)
        if found is None:
            procs = {
                alloc_name(s.alloc)
                for s in self.sinks_at.get(ref, ())
                if s.kind == "multiprocessing" and s.alloc is not None
            }
            threads = set()
            if self.source_at.get(ref):
                for v in self.p.callees.get(ref, ()):
                    if v[0] == "x" and v[2] and v[1].endswith("().start") and v[2] not in procs:
                        threads.add(v[2])
            found = self._launched[ref] = (frozenset(threads), frozenset(procs))
        return found

    def same_launcher(self, start: SiteRef, sink: SinkHit) -> bool:
        """Do the thread start and the fork launch the same either-or object? Each
        may start a thread or a process created at the same places (a backend
        object that builds all threads or all processes, as huey's consumer and
        Celery's embedded beat service do): the analysis merges the two kinds,
        one run of the program uses one."""
        threads, procs = self._launches(start)
        if threads and procs and (threads, procs) == self._launches(sink.ref):
            return True
        # One creation that is a thread in one run and a process in another (`Process`
        # imported from `multiprocessing`, or `threading.Thread` where that fails):
        # the thread and the fork are one object's, never both.
        started = {
            v[2]
            for v in self.p.callees.get(start, ())
            if v[0] == "x" and v[2] and v[1].endswith("().start") and not _process_path(v[1])
        }
        forked = {
            alloc_name(s.alloc)
            for s in self.sinks_at.get(sink.ref, ())
            if s.kind == "multiprocessing" and s.alloc is not None
        }
        return bool(started) and started == forked

    def own_pool(self, start: SiteRef, sink: SinkHit) -> bool:
        """Is the thread started at ``start`` the management thread of the pool whose
        use is ``sink``? The pool starts it only after forking all its workers."""
        return pool_use(sink) and self._uses_pool(start, sink)
