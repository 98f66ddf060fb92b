"""Find fork sinks, thread sources and event-loop runners among the solved call sites."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from fork_lint.catalog import PatternIndex, ThreadSource
from fork_lint.catalog.stdlib import EVENT_LOOP_RUNNERS, LOOP_OBJECTS
from fork_lint.graph.methods import SETTERS, StartMethods
from fork_lint.graph.solver import Program, SiteRef, Value, alloc_site, start_method_in
from fork_lint.graph.values import STRIDE
from fork_lint.index.facts import CallSite, Expr

_OS_FORK = frozenset(("os.fork", "os.forkpty", "pty.fork", "posix.fork", "posix.forkpty"))
_MP = ("multiprocessing", "billiard")
_SUBPROCESS = frozenset(
    f"subprocess.{n}" for n in ("Popen", "run", "call", "check_call", "check_output")
)
_ASYNC_SUBPROCESS = frozenset(
    (
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.subprocess.create_subprocess_exec",
        "asyncio.subprocess.create_subprocess_shell",
    )
)
_PPE = frozenset(
    ("concurrent.futures.ProcessPoolExecutor", "concurrent.futures.process.ProcessPoolExecutor")
)
# Where a pool built with the "fork" start method forks its workers.
PPE_USES = frozenset(f"{p}().{m}" for p in _PPE for m in ("submit", "map"))
_THREAD_POOLS = ("multiprocessing.pool.ThreadPool", "multiprocessing.dummy")


def _sink_patterns() -> tuple[str, ...]:
    mp: list[str] = []
    for root in _MP:
        mp += [
            f"{root}.get_context(*",
            f"{root}.set_start_method",
            f"{root}.context.set_start_method",
            f"{root}.Process().start",
            f"{root}.process.BaseProcess().start",
            f"{root}.context.Process().start",
            f"{root}.Pool",
            f"{root}.pool.Pool",
            f"{root}.Manager",
            f"{root}.managers.SyncManager().start",
            f"{root}.managers.BaseManager().start",
        ]
    return (
        *_OS_FORK,
        *mp,
        *_PPE,
        *(f"{p}().__init__" for p in _PPE),
        *PPE_USES,
        *_SUBPROCESS,
        "subprocess.Popen().__init__",
        *_ASYNC_SUBPROCESS,
        *(f"{loop}.{m}" for loop in LOOP_OBJECTS for m in ("subprocess_exec", "subprocess_shell")),
        "builtins.getattr",
        "builtins.type",
        "builtins.super",
    )


# External paths the classifier reads, besides the thread-source catalogue.
SINK_PATTERNS: tuple[str, ...] = _sink_patterns()
# A start method, why, and the call site where the default context's method is
# decided (None when the method does not depend on it).
_Method = tuple[str | None, str, SiteRef | None]
_PREEXEC_POSITION = 6  # Popen(args, bufsize, executable, stdin, stdout, stderr, preexec_fn, ...)


@dataclass(frozen=True)
class SinkHit:
    ref: SiteRef
    kind: str  # rule sink kind
    name: str  # "os.fork", "multiprocessing.Process.start", ...
    detail: str  # e.g. "start method 'fork' (the default on Linux before Python 3.14)"
    alloc: SiteRef | None = None  # where the process object was created


@dataclass(frozen=True)
class SourceHit:
    ref: SiteRef
    source: ThreadSource
    targets: frozenset[str]  # project functions that run on the new thread
    keys: tuple[str, ...]  # receiver/binding keys a later join() can match


@dataclass
class Classification:
    sinks: list[SinkHit] = field(default_factory=list)
    sources: list[SourceHit] = field(default_factory=list)
    # event-loop runner site -> project functions it drives
    runners: dict[SiteRef, set[str]] = field(default_factory=dict)


def _construction(path: str) -> str:
    """``X().__init__`` (a ``super().__init__`` call) constructs ``X``."""
    return path[: -len("().__init__")] if path.endswith("().__init__") else path


def _mp_root(path: str) -> str | None:
    for root in _MP:
        if path == root or path.startswith(root + "."):
            return root
    return None


class Classifier:
    def __init__(
        self,
        program: Program,
        sources: tuple[ThreadSource, ...],
        *,
        target_version: tuple[int, int],
        platform: str = "linux",
        user_sinks: tuple[str, ...] = (),
    ) -> None:
        self.p = program
        self.sources = sources
        self.target_version = target_version
        self.platform = platform
        self.user_sinks = user_sinks
        # `set_start_method()` call sites; sinks whose start method is the default
        # context's, (index in the sinks, where the method is decided)
        self._setters: list[SiteRef] = []
        self._deferred: list[tuple[int, SiteRef]] = []
        self._constructions: dict[str, list[SiteRef]] | None = None
        self._forwarders: dict[str, str] = {}
        self._sources = PatternIndex((p, s) for s in sources for p in s.patterns)
        self._runners = PatternIndex((p, True) for p in EVENT_LOOP_RUNNERS)
        self._any_receiver = {
            s.any_receiver_method: s for s in sources if s.any_receiver_method is not None
        }

    # -- start methods ----------------------------------------------------
    def _method(self, path: str, root: str, ref: SiteRef) -> _Method:
        """The start method of a context named by a resolved path, used at ``ref``."""
        m = start_method_in(path)
        if m is None:
            return None, "", None
        if m != "default":
            return m, f"`get_context({m!r})`", None
        if root == "billiard":
            return "fork", "billiard's default start method", None
        # The default context's method depends on the `set_start_method()` calls
        # that run before ``ref``, and these on the functions threads and libraries
        # call: decided once the thread sources are known (`_decide_defaults`).
        return "fork", "", ref

    def _sink(self, out: Classification, sink: SinkHit, decided_at: SiteRef | None) -> None:
        """Add a sink; one whose start method is the default context's is kept only
        if "fork" may be in force at ``decided_at``."""
        if decided_at is not None:
            self._deferred.append((len(out.sinks), decided_at))
        out.sinks.append(sink)

    def _decide_defaults(self, out: Classification) -> None:
        threads: dict[str, list[SiteRef]] = {}
        for hit in out.sources:
            for t in hit.targets:
                threads.setdefault(t, []).append(hit.ref)
        methods = StartMethods(
            self.p,
            self._setters,
            platform=self.platform,
            target_version=self.target_version,
            threads=threads,
        )
        decided = methods.default_methods(sorted({at for _, at in self._deferred}))
        dropped = set()
        for index, at in self._deferred:
            method, why = decided[at]
            sink = out.sinks[index]
            if method == "fork":
                detail = f"start method 'fork': {why}" if sink.kind == "multiprocessing" else why
                out.sinks[index] = replace(sink, detail=detail)
            else:
                dropped.add(index)
        out.sinks = [s for i, s in enumerate(out.sinks) if i not in dropped]

    def run(self) -> Classification:
        out = Classification()
        for ref, callees in self.p.callees.items():
            site = self.p.site(ref)
            if site["kind"] != "call":
                continue
            # In order: the first sink of a site names the finding (a set's order
            # changes from run to run).
            for v in sorted(callees):
                if v[0] == "x":
                    self._external(out, ref, site, v)
                elif v[0] in ("f", "b"):
                    self._user_sink(out, ref, v[1])
                    self._project_source(out, ref, site, v)
            self._any_receiver_source(out, ref, site, callees)
        if self._deferred:
            self._decide_defaults(out)
        if self._forwarders:
            self.callers: dict[str, list[SiteRef]] = {}
            for r, targets in self.p.edges.items():
                for t in targets:
                    self.callers.setdefault(t, []).append(r)
            self._forwarded_preexec(out)
        # Keep one sink per site and kind; several paths may resolve to the same call.
        seen: set[tuple[SiteRef, str]] = set()
        sinks = []
        for s in out.sinks:
            if (s.ref, s.kind) not in seen:
                seen.add((s.ref, s.kind))
                sinks.append(s)
        out.sinks = sinks
        return out

    def _external(self, out: Classification, ref: SiteRef, site: CallSite, v: Value) -> None:
        path = _construction(v[1])
        if path in _OS_FORK:
            out.sinks.append(SinkHit(ref, "os-fork", path, ""))
        if path in SETTERS:
            self._setters.append(ref)
        self._mp_sink(out, ref, site, path, v)
        if path in _PPE:
            method, why, at = self._pool_method(ref, site)
            if method == "fork":
                name = "concurrent.futures.ProcessPoolExecutor"
                self._sink(out, SinkHit(ref, "process-pool", name, why), at)
        elif path in PPE_USES and v[2]:
            # A "fork" pool forks all its workers at its first `submit` or `map`,
            # wherever that runs (a pool built before any thread and first used on one).
            alloc = alloc_site(v[2])
            if alloc[0] in self.p.modules:
                method, why, at = self._pool_method(alloc, self.p.site(alloc))
                if method == "fork":
                    name = "concurrent.futures.ProcessPoolExecutor." + path.rpartition(".")[2]
                    self._sink(out, SinkHit(ref, "process-pool", name, why, alloc), at)
        if (
            path in _SUBPROCESS
            or path in _ASYNC_SUBPROCESS
            or path.endswith((".subprocess_exec", ".subprocess_shell"))
        ):
            self._preexec(out, ref, site, path)
        for src in dict.fromkeys((*self._sources.lookup(v[1]), *self._sources.lookup(path))):
            if _conditions_hold(src, site):
                out.sources.append(self._source_hit(ref, site, src, v))
        if self._runners.lookup(path):
            roots: set[str] = set()
            if site["args"]:
                roots |= self._functions_of(ref, site["args"][0], calls=True)
            out.runners.setdefault(ref, set()).update(roots)
        for spec in self.user_sinks:
            if _user_spec_matches_ext(spec, path):
                out.sinks.append(SinkHit(ref, "custom", spec, "configured in `fork-sinks`"))

    def _mp_sink(
        self, out: Classification, ref: SiteRef, site: CallSite, path: str, v: Value
    ) -> None:
        root = _mp_root(path)
        if root is None or path.startswith(_THREAD_POOLS):
            return
        last = path.rpartition(".")[2]
        if path.endswith("Process().start"):
            kind_name = f"{root}.Process.start"
        elif last in ("Pool", "Manager") and "()" not in path.rpartition(".")[0][-2:]:
            kind_name = f"{root}.{last}"
        elif path.endswith(("Manager().start", "managers.BaseManager().start")):
            kind_name = f"{root}.managers.BaseManager.start"
        else:
            return
        method, why, at = self._method(path, root, ref)
        if method != "fork":
            return
        alloc = None
        if v[2]:
            alloc = alloc_site(v[2])
        detail = f"start method 'fork': {why}"
        self._sink(out, SinkHit(ref, "multiprocessing", kind_name, detail, alloc), at)

    def _pool_method(self, ref: SiteRef, site: CallSite) -> _Method:
        """The start method of the ``ProcessPoolExecutor`` built at ``ref``."""
        arg = _kw(site, "mp_context")
        args = site["args"]
        if arg is None and len(args) > 1:  # ProcessPoolExecutor(max_workers, mp_context)
            arg = args[1]
        if any(a[0] == "star" for a in args[:2]):
            return None, "", None  # `*args` may hold `mp_context`: the start method is unknown
        if arg is None and any(key is None for key, _ in site["kwargs"]):
            # `**kwargs`: what the dicts that can flow there hold (APScheduler sets
            # "spawn" there); unknown when their keys cannot be known.
            passed = self.p.star_keywords(ref)
            if passed is None:
                return None, "", None
            if "mp_context" in passed:
                return self._method_of_values(ref, passed["mp_context"])
        if arg is None or arg == ("const", None):
            return self._method("multiprocessing.get_context()", "multiprocessing", ref)
        return self._method_of_values(ref, self.p.eval_at(ref, arg))

    def _method_of_values(self, ref: SiteRef, values: set[Value]) -> _Method:
        """The start method of the contexts ``values`` may hold, at ``ref``: a context
        that forks for sure before one that forks if the default does."""
        methods: list[_Method] = []
        for v in values:
            root = _mp_root(v[1]) if v[0] == "x" else None
            if root is not None:
                methods.append(self._method(v[1], root, ref))
            elif v == ("const", "None"):
                methods.append(
                    self._method("multiprocessing.get_context()", "multiprocessing", ref)
                )
        methods.sort(key=lambda m: (m[0] != "fork", m[2] is not None, m[0] or "", m[1]))
        return methods[0] if methods else (None, "", None)

    def _preexec(self, out: Classification, ref: SiteRef, site: CallSite, path: str) -> None:
        self._note_forwarder(ref, site, path)
        arg = _kw(site, "preexec_fn")
        if arg is None and path in _SUBPROCESS and len(site["args"]) > _PREEXEC_POSITION:
            candidate = site["args"][_PREEXEC_POSITION]
            if candidate[0] != "star":
                arg = candidate
        via = " (passed through `**kwargs`)" if "preexec_fn" in site["via_kwargs"] else ""
        if arg is None and any(key is None for key, _ in site["kwargs"]):
            # A dict passed as `**kwargs` that holds it (set here, or by a helper it
            # was passed to); what callers pass into this function's own `**kwargs`
            # is reported at their calls (`_forwarded_preexec`).
            passed = self.p.star_keywords(ref, callers=False) or {}
            given = passed.get("preexec_fn")
            if given is not None and given != {("const", "None")}:
                arg, via = ("unknown",), " (passed through `**kwargs`)"
        if arg is None or arg == ("const", None):
            return
        name = (
            path
            if path in _SUBPROCESS or path in _ASYNC_SUBPROCESS
            else ("loop." + path.rpartition(".")[2])
        )
        out.sinks.append(SinkHit(ref, "preexec-fn", name, f"`preexec_fn` is set{via}"))

    def _note_forwarder(self, ref: SiteRef, site: CallSite, path: str) -> None:
        """``def run(cmd, **kwargs): subprocess.run(cmd, **kwargs)`` hands its callers'
        ``preexec_fn`` to the subprocess call."""
        scope = self.p.scope_of_site(ref)
        kwarg = scope["kwarg"]
        if kwarg and (None, ("name", kwarg)) in site["kwargs"]:
            self._forwarders.setdefault(self.p.node_of(ref), path)

    def _forwarded_preexec(self, out: Classification) -> None:
        todo = list(self._forwarders.items())
        while todo:
            func, path = todo.pop()
            for ref in self.callers.get(func, ()):
                site = self.p.site(ref)
                arg = _kw(site, "preexec_fn")
                if arg is not None and arg != ("const", None):
                    out.sinks.append(
                        SinkHit(
                            ref,
                            "preexec-fn",
                            path,
                            f"`preexec_fn` is passed to `{path}` through `{func}`",
                        )
                    )
                scope = self.p.scope_of_site(ref)
                kwarg = scope["kwarg"]
                outer = self.p.node_of(ref)
                if (
                    kwarg
                    and (None, ("name", kwarg)) in site["kwargs"]
                    and outer not in self._forwarders
                ):
                    self._forwarders[outer] = path
                    todo.append((outer, path))

    def _user_sink(self, out: Classification, ref: SiteRef, qualname: str) -> None:
        for spec in self.user_sinks:
            if spec.replace(":", ".") == qualname:
                out.sinks.append(SinkHit(ref, "custom", spec, "configured in `fork-sinks`"))

    def _project_source(self, out: Classification, ref: SiteRef, site: CallSite, v: Value) -> None:
        """A project function named in ``thread-sources`` (or a catalogue entry that
        happens to be analysed as part of the project)."""
        qualname: str = v[1]
        paths = [qualname]
        if v[0] == "b":
            head, _, method = qualname.rpartition(".")
            paths.append(f"{head}().{method}")
        for path in paths:
            for src in self._sources.lookup(path):
                out.sources.append(self._source_hit(ref, site, src, ("x", path, "")))

    def _any_receiver_source(
        self, out: Classification, ref: SiteRef, site: CallSite, callees: set[Value]
    ) -> None:
        func = site["func"]
        if func[0] != "attr" or func[2] not in self._any_receiver:
            return
        if any(v[0] in ("f", "b") for v in callees):
            return  # resolved to project code: not the library method
        src = self._any_receiver[func[2]]
        if any(h.ref == ref and h.source is src for h in out.sources):
            return
        out.sources.append(self._source_hit(ref, site, src, ("x", "", "")))

    # -- thread targets ---------------------------------------------------
    def _source_hit(self, ref: SiteRef, site: CallSite, src: ThreadSource, v: Value) -> SourceHit:
        targets: set[str] = set()
        receivers = self._receivers(ref, site, v[1])
        if src.target is not None:
            if not src.target_from_alloc:
                arg_sites = [ref]
            elif v[2]:
                arg_sites = [alloc_site(v[2])]
            else:
                # An instance of a project subclass: its constructions carry the arguments.
                arg_sites = self._constructions_of(receivers)
            pos, kw = src.target
            for where in arg_sites:
                args_site = self.p.site(where)
                expr = None
                if kw is not None:
                    expr = _kw(args_site, kw)
                if expr is None and pos is not None and pos < len(args_site["args"]):
                    expr = args_site["args"][pos]
                if expr is not None:
                    targets |= self._functions_of(where, expr, calls=False)
        if src.run_method:
            for recv in receivers:
                for m in self.p.getattr(recv, src.run_method):
                    if m[0] in ("b", "f"):
                        targets.add(self.p.node_for(m, ref))
        keys = tuple(k for k in (site["recv"], site["bind"]) if k)
        return SourceHit(ref, src, frozenset(targets), keys)

    def _receivers(self, ref: SiteRef, site: CallSite, path: str) -> set[Value]:
        """The project instances a method call acts on: ``obj`` in ``obj.start()``, the
        instance itself in ``super().start()`` (a `Thread` subclass's own ``start``),
        the first argument in ``threading.Thread.start(self)``."""
        if path.rpartition(".")[0].endswith(")"):
            receiver = site["func"][1] if site["func"][0] == "attr" else None
        else:
            args = site["args"]
            receiver = args[0] if args and args[0][0] != "star" else None
        if receiver is None:
            return set()
        out: set[Value] = set()
        for value in self.p.eval_at(ref, receiver):
            if value[0] in ("i", "s"):
                out.add(value)
            elif value[0] == "sup":  # `self` in a method of that class or a subclass
                out.add(tuple(value[2:]) if len(value) > 2 else ("s", value[1]))
        return out

    def _constructions_of(self, receivers: set[Value]) -> list[SiteRef]:
        classes: set[str] = set()
        made: set[SiteRef] = set()
        for v in receivers:
            site = self.p.object_site(v)
            if site is not None:
                made.add(site)  # an object told apart by its creation: created there
            elif v[0] == "i":
                classes.add(v[1])
            else:  # `self.start()`: constructed as any subclass
                classes |= self.p.subclasses(v[1])
        if not classes:
            return sorted(made)
        if self._constructions is None:
            self._constructions = {}
            for r, callees in self.p.callees.items():
                for c in callees:
                    if c[0] == "c":
                        self._constructions.setdefault(c[1], []).append(r)
        return sorted(made | {r for c in classes for r in self._constructions.get(c, ())})

    def _functions_of(self, ref: SiteRef, expr: Expr, *, calls: bool) -> set[str]:
        """Project functions (call-graph nodes) an argument denotes; with ``calls``, also
        the callees of a call written as the argument (``asyncio.run(main())``)."""
        out: set[str] = set()
        if calls and expr[0] == "call":
            out |= self.p.edges.get((ref[0], expr[1] + ref[1] // STRIDE * STRIDE), set())
        for v in self.p.eval_at(ref, expr):
            if v[0] in ("f", "b"):
                out.add(self.p.node_for(v, ref))
            elif v[0] == "c":
                # A class run on a thread (a socketserver request handler): its
                # construction and every method it may call run there.
                for method in self.p.methods_of(v[1]):
                    out.update(self.p.nodes_of(method))
            elif v[0] in ("i", "s"):
                for name in ("__call__", "run"):
                    for m in self.p.getattr(v, name):
                        if m[0] == "b":
                            out.add(self.p.node_for(m, ref))
        return out


def _conditions_hold(src: ThreadSource, site: CallSite) -> bool:
    if not src.only_if:
        return True
    given = dict(site["kwargs"])
    return any(given.get(key) == ("const", value) for key, value in src.only_if)


def _kw(site: CallSite, name: str) -> Expr | None:
    for key, value in site["kwargs"]:
        if key == name:
            return value
    return None


def _user_spec_matches_ext(spec: str, path: str) -> bool:
    module, _, qual = spec.partition(":")
    if not qual:
        return False
    head, _, method = qual.rpartition(".")
    candidates = {f"{module}.{qual}"}
    if head:
        candidates.add(f"{module}.{head}().{method}")
    return _construction(path) in candidates or path in candidates
