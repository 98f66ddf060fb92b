"""Threads an object keeps, joined by a later call on the same object.

An object often owns its thread: one method starts it and keeps it as
``self.<attr>`` (``__enter__``, ``start()``, ``open()``), another joins it
(``__exit__``, ``stop()``, ``close()``). In the caller the two are calls on one
receiver, ``with Worker() as w: ...`` or ``w.start(); ...; w.stop()``; after the
second one the thread is gone, and a fork that follows it in the caller runs
without it (luigi's ``with Worker(...)`` blocks in a test, one after the other).

The start counts as joined only when everything is known: each thread the first
call can leave running is started in a method of the receiver's object (reached
from the called method through calls on ``self`` only) and kept there as
``self.<attr>``; the later call is on the same receiver (the same version of the
name, or the same ``with`` item), and every method it can call joins all of those
attributes, itself or through calls on ``self``. Anything less, and the thread is
taken to be alive (a finding may be lost that way, never invented).
"""

from __future__ import annotations

import weakref
from typing import cast

from fork_lint.graph.paths import held, is_timer
from fork_lint.graph.reach_view import ReachView
from fork_lint.graph.solver import SiteRef
from fork_lint.graph.values import base_name
from fork_lint.index.facts import CallSite, Expr
from fork_lint.index.syntax import CANCEL_PREFIX
from fork_lint.index.versions import expr_key

__all__ = ["ObjectJoins"]

# Per thread, the attributes of the object that hold it (a join of one joins it).
_Kept = frozenset[frozenset[str]]

_WITH_METHODS = frozenset(("__enter__", "__exit__", "__aenter__", "__aexit__"))


def receiver(site: CallSite) -> str:
    """Who a method call is made on, as a key two calls on the same object share:
    the receiver's name or attribute chain (by version), or, for the calls a
    ``with`` item makes (its manager is often a fresh ``Worker(...)``), the item."""
    if site["recv"]:
        return site["recv"]
    func = site["func"]
    if func[0] != "attr":
        return ""
    key = expr_key(func[1])
    if key:
        return key
    if func[2] in _WITH_METHODS:
        return f"with:{site['span'][:2]}:{func[1]!r}"
    return ""


def _self_of(reach: ReachView, node: str) -> str:
    """The name of a method's ``self`` parameter ("" for anything but a method)."""
    sc = reach.p.scope(base_name(node))
    if sc is None or sc["method_kind"] != "method" or not sc["params"]:
        return ""
    return sc["params"][0]


def _on_self(site: CallSite, me: str) -> bool:
    """Is the call made on ``self`` (``self.m()``, ``super().m()``)?"""
    func = site["func"]
    return site["recv"].partition("@")[0] == me or (func[0] == "attr" and func[1][0] == "super")


def _attr(key: str, me: str) -> str:
    """``attr`` of a key ``<me>.attr`` ("" for any other key)."""
    base, dot, rest = key.partition(".")
    return rest if dot and base.partition("@")[0] == me else ""


def _iterated(value: Expr, calls: list[CallSite]) -> Expr | None:
    """What a loop variable's value iterates: ``x`` of ``for t in x``, of ``for t in
    x.values()`` or ``x.items()`` (``item`` and ``union`` of the loop's facts)."""
    while value[0] in ("item", "union"):
        if value[0] == "union":
            inner = [e for e in value[1] if e[0] == "item"]
            if len(inner) != 1:
                return None
            value = inner[0]
        else:
            value = value[1]
            if value[0] == "call":
                func = calls[value[1]]["func"]
                if func[0] == "attr" and func[2] in ("values", "items", "copy"):
                    inner_expr: Expr = func[1]
                    return inner_expr
                return None
            if value[0] != "item" and value[0] != "union":
                return value
    return None


class ObjectJoins:
    """`joined`: is a thread kept on an object joined by a later call on the same
    object? For a thread a call leaves on its receiver, asked once the thread starts
    (`Reachability.starts`) are known; `Reachability` recomputes them with the
    answers. For a thread a method starts and keeps on ``self``, a later call on
    ``self`` that joins it (``self._finish()``) joins it."""

    def __init__(self, reach: ReachView) -> None:
        # A proxy: `reach` keeps this object, and a cycle would keep the solved
        # program alive until the collector runs (`engine._hazards`).
        self.r = cast(ReachView, weakref.proxy(reach))
        self._kept: dict[SiteRef, _Kept | None] = {}
        self._joins: dict[tuple[str, str, str], frozenset[str]] = {}
        self._by_receiver: dict[str, dict[str, list[SiteRef]]] = {}
        self._held: dict[tuple[str, str], str] = {}
        self._joined_memo: dict[tuple[SiteRef, _Kept], bool] = {}

    def joined(self, start: SiteRef, at: SiteRef | None) -> bool:
        """Is every thread the call at ``start`` leaves on its receiver (or, for a
        thread start, keeps on ``self``) joined by a call on that receiver after
        it, and before ``at`` (or before the function returns, when ``at`` is
        None)?"""
        r = self.r
        func = r.func_of(start)
        hits = r.source_at.get(start)
        key = _self_of(r, func) if hits else receiver(r.p.site(start))
        if not key:
            return False
        later = [ref for ref in self._sites_on(func).get(key, ()) if ref != start]
        if not later:
            return False
        attrs = self._kept_by_hits(func, start, key) if hits else self.kept(start)
        if not attrs:
            return False
        s = r.p.site(start)["order"]
        a = r.p.site(at)["order"] if at is not None else -1
        for ref in later:
            o = r.p.site(ref)["order"]
            if at is None or a <= s:
                # Before the function returns; or `at` comes first in the text and
                # a loop around both brings it round again.
                if o <= s:
                    continue
            elif not s < o < a:
                continue
            if self._joined_at(ref, attrs):
                return True
        return False

    def _sites_on(self, func: str) -> dict[str, list[SiteRef]]:
        """The sites of ``func`` by `receiver`."""
        found = self._by_receiver.get(func)
        if found is None:
            found = {}
            for ref in self.r.sites_of.get(func, ()):
                key = receiver(self.r.p.site(ref))
                if key:
                    found.setdefault(key, []).append(ref)
            self._by_receiver[func] = found
        return found

    def _holder(self, func: str, key: str, me: str) -> str:
        """Where on ``self`` the thread known as ``key`` in ``func`` is kept: ``attr``
        for ``self.attr``, ``attr[]`` for an element of the container ``self.attr``
        (a loop variable over it); "" if not on ``self``."""
        if key.startswith(CANCEL_PREFIX):  # a timer's `cancel()` (`_kept_by_hits`)
            held = self._holder(func, key[len(CANCEL_PREFIX) :], me)
            return held + CANCEL_PREFIX if held else ""
        attr = _attr(key, me)
        if attr:
            return attr
        memo = (func, key)
        found = self._held.get(memo)
        if found is None:
            found = ""
            sc = self.r.p.scope(base_name(func))
            if sc is not None and "." not in key:
                mod = self.r.p.scopes[base_name(func)][-1][0]
                calls = self.r.p.modules[mod]["calls"]
                for target, value in sc["assigns"]:
                    if target == ("name", key):
                        source = _iterated(value, calls)
                        if source is not None and source[0] == "attr":
                            container = _attr(expr_key(source), me)
                            found = f"{container}[]" if container else ""
                        break
            self._held[memo] = found
        return found

    def _kept_by_hits(self, func: str, ref: SiteRef, me: str) -> _Kept | None:
        """Where on ``self`` each thread started at ``ref`` is kept (None: one is not)."""
        out: set[frozenset[str]] = set()
        for h in self.r.source_at.get(ref, ()):
            if h.source.transient:
                continue
            names = frozenset(self._holder(func, k, me) for k in h.keys) - {""}
            if not names:
                return None
            if is_timer(self.r.p, ref):  # `cancel()` ends it too
                names |= {n + CANCEL_PREFIX for n in names}
            out.add(names)
        return frozenset(out)

    def kept(self, ref: SiteRef) -> _Kept | None:
        """Where on its receiver each thread the call at ``ref`` may leave running
        is kept (the attributes that hold it); None when one of them may be kept
        elsewhere."""
        if ref in self._kept:
            return self._kept[ref]
        self._kept[ref] = None  # a call cycle back here: not known
        r = self.r
        out: set[frozenset[str]] = set()
        for callee in sorted(r.edges.get(ref, ())):
            attrs = self._kept_in(callee) if callee in r.starts else frozenset()
            if attrs is None:
                return None
            out |= attrs
        found = self._kept[ref] = frozenset(out)
        return found

    def _kept_in(self, method: str) -> _Kept | None:
        me = _self_of(self.r, method)
        if not me:
            return None
        r = self.r
        out: set[frozenset[str]] = set()
        for site_ref in r.sites_of.get(method, ()):
            site = r.p.site(site_ref)
            if held(site) or site.get("guard"):
                continue
            if any(not h.source.transient for h in r.source_at.get(site_ref, ())):
                if r.joined(site_ref, None):
                    continue
                # Every thread started here must be kept on the object.
                kept = self._kept_by_hits(method, site_ref, me)
                if kept is None:
                    return None
                out |= kept
                continue
            if not any(c in r.starts for c in r.edges.get(site_ref, ())):
                continue
            if not _on_self(site, me):
                return None  # a thread of another object, or of none
            attrs_of = self.kept(site_ref)
            if attrs_of is None:
                return None
            out |= attrs_of
        return frozenset(out)

    def _joined_at(self, ref: SiteRef, attrs: _Kept) -> bool:
        """Does the call at ``ref`` join every thread ``attrs`` holds, on each
        object its receiver may be? The method is looked up in each object's
        class, not taken from the call graph, whose contexts may merge
        receivers (a base class's ``__exit__`` calling ``self.stop()`` on two
        subclasses)."""
        memo = (ref, attrs)
        found = self._joined_memo.get(memo)
        if found is None:
            found = self._joined_memo[memo] = self._joins_all(ref, attrs)
        return found

    def _joins_all(self, ref: SiteRef, attrs: _Kept) -> bool:
        p = self.r.p
        site = p.site(ref)
        func = site["func"]
        if func[0] != "attr":
            return False
        classes = set()
        for v in p.eval_at(ref, func[1]):
            if v[0] == "i":
                classes.add(v[1])
            elif v[0] == "s":
                classes |= p.subclasses(v[1])
            else:
                return False  # not an object of the project
        return bool(classes) and all(
            all(names & self.joins_of(cls, func[2]) for names in attrs) for cls in sorted(classes)
        )

    def joins_of(self, cls: str, name: str, after: str = "") -> frozenset[str]:
        """Where on ``self`` (`_holder`) the method ``name`` of an instance of
        ``cls`` joins threads, itself or through calls on ``self`` (and
        ``super()``); found in the MRO of ``cls`` past ``after`` when given."""
        memo = (cls, name, after)
        found = self._joins.get(memo)
        if found is not None:
            return found
        self._joins[memo] = frozenset()  # a call cycle back here joins nothing more
        method = self._resolve(cls, name, after)
        me = _self_of(self.r, method) if method else ""
        if not me:
            return frozenset()
        sc = self.r.p.scope(method)
        assert sc is not None
        out = {self._holder(method, key, me) for key, _ in sc["joins"]} - {""}
        owner = method.rpartition(".")[0]
        for site_ref in self.r.sites_of.get(method, ()):
            site = self.r.p.site(site_ref)
            func = site["func"]
            if func[0] != "attr":
                continue
            if func[1][0] == "super":
                out |= self.joins_of(cls, func[2], owner)
            elif _on_self(site, me):
                out |= self.joins_of(cls, func[2])
        found = self._joins[memo] = frozenset(out)
        return found

    def _resolve(self, cls: str, name: str, after: str) -> str:
        """The method ``name`` of the project that an instance of ``cls`` finds ("" if
        none, or one of a library base comes first)."""
        p = self.r.p
        passed = not after
        for entry in p.mro(cls):
            if entry[0] != "c":
                if passed:
                    return ""
                continue
            if not passed:
                passed = entry[1] == after
                continue
            if name in p._namespace(entry[1]):
                qualname = f"{entry[1]}.{name}"
                return qualname if p.scope(qualname) is not None else ""
        return ""
