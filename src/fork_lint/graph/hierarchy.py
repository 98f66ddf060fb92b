"""Classes: their bases, method resolution order and subclasses, and the memoised
attribute lookups that every class-dependent answer goes through."""

from __future__ import annotations

from collections import defaultdict

from fork_lint.graph.state import ProgramState
from fork_lint.graph.values import LOOKUP, LookupKey, Value, closure

__all__ = ["Hierarchy"]


class Hierarchy(ProgramState):
    """Class relations and attribute lookups on classes and instances."""

    def _notify_lookups(self, cls: str, attr: str, *, fields: bool) -> None:
        """Re-run the memoised lookups that read ``(cls, attr)`` (see `_lookup_in`): of
        an instance or class of ``cls`` or of a subclass, of the objects of these
        classes told apart by their creation (`graph.contexts`), and, for a class
        attribute, ``super()`` lookups in classes of those MROs (a superset of the
        ones whose MRO tail holds ``cls``). ``cls`` may be the fields of one object
        (``C@alloc``) or of all objects of a class (``C@*``)."""
        fresh, queued = self._fresh, self._queued
        due: list[LookupKey] = []
        owner, at, alloc = cls.partition("@")
        if at:
            due += [(owner, attr, "i"), (owner, attr, "c")] if alloc == "*" else [(cls, attr, "o")]
        else:
            subclasses = self.subclasses(cls)
            for sub in subclasses:
                due.append((sub, attr, "i"))
                due.append((sub, attr, "c"))
                for obj in self._objects.get(sub, ()):
                    due.append((f"{sub}@{obj}", attr, "o"))
            if not fields:
                seen: set[str] = set()
                for sub in subclasses:
                    for entry in self.mro(sub):
                        if entry[0] == "c" and entry[1] not in seen:
                            seen.add(entry[1])
                            due.append((entry[1], attr, "sup"))
        for key in due:
            if key in fresh:
                unit = (LOOKUP, key)
                if unit not in queued:
                    queued.add(unit)
                    self._queue.append(unit)

    def _open(self, cls: str) -> bool:
        """Whether a class has a base outside the project whose code may call the
        methods the class defines (a library base class, or one not tracked)."""
        if self._opened is None:
            self._opened = set()
            for base in self._open_bases:
                self._opened |= self.subclasses(base)
        return cls in self._opened

    def _namespace(self, cls: str) -> frozenset[str]:
        """The names a class body binds (every definition of the class)."""
        names = self._namespaces.get(cls)
        if names is None:
            found: set[str] = set()
            for mod, i in self.scopes.get(cls, ()):
                sc = self.modules[mod]["scopes"][i]
                if sc["kind"] == "class":
                    found.update(sc["locals"])
            names = self._namespaces[cls] = frozenset(found)
        return names

    def subclasses(self, cls: str) -> set[str]:
        if not self._subclasses:
            children: dict[str, set[str]] = defaultdict(set)
            for c, bases in self.bases.items():
                for b in bases:
                    if b[0] == "c":
                        children[b[1]].add(c)
            for c in self.bases:
                self._subclasses[c] = closure((c,), children)
        return self._subclasses.get(cls, {cls})

    def own_methods(self, cls: str) -> list[str]:
        """Qualified names of the methods a class body defines."""
        if self._own_methods is None:
            index: dict[str, list[str]] = defaultdict(list)
            for q, refs in self.scopes.items():
                mod, i = refs[0]
                sc = self.modules[mod]["scopes"][i]
                if sc["method_kind"]:
                    index[q.rpartition(".")[0]].append(q)
            self._own_methods = index
        return self._own_methods.get(cls, [])

    def methods_of(self, cls: str) -> set[str]:
        """Qualified names of the methods a class defines or inherits from project classes."""
        out: set[str] = set()
        for entry in self.mro(cls):
            if entry[0] == "c":
                out.update(self.own_methods(entry[1]))
        return out

    def mro(self, cls: str) -> list[Value]:
        """Classes in method resolution order; external bases as ``("x", path, "")``,
        bases the analysis does not have (opaque) as ``("o", name)``."""
        cached = self._mro.get(cls)
        if cached is not None:
            return cached
        self._mro[cls] = [("c", cls)]  # guards against cycles while computing
        out: list[Value] = [("c", cls)]
        for base in self.bases.get(cls, []):
            if base[0] == "c":
                chain = self.mro(base[1])
            else:
                chain = [base if base[0] == "o" else ("x", base[1], "")]
            for entry in chain:
                if entry in out:
                    out.remove(entry)
                out.append(entry)
        # Depth-first with later duplicates winning approximates C3 for
        # ordinary diamonds; exact C3 is not needed to find candidate callees.
        self._mro[cls] = out
        return out

    def _hierarchy_changed(self) -> None:
        """Every class-dependent answer goes through a memoised lookup (see
        `_class_attr`): walk again those whose walk the new hierarchy changes; the
        lookups that find more re-run the units that read them, and nothing else
        runs.

        A lookup on ``cls`` walks the MRO of ``cls`` ("i", "c"), or the MROs of its
        subclasses ("s", "sup"). An MRO changes only if the bases of the class or of
        one of its ancestors did, so only the lookups on descendants of such classes,
        in the old or the new hierarchy, can find anything else (on the benchmark
        corpus, one lookup in twenty after the main pass)."""
        old, new = self._old_bases, self.bases
        moved = {c for c in old.keys() | new.keys() if old.get(c) != new.get(c)}
        affected = _related(old, moved, down=True) | _related(new, moved, down=True)
        # classes with an affected subclass, in either hierarchy
        cones = _related(old, affected, down=False) | _related(new, affected, down=False)
        self._mro.clear()
        self._subclasses.clear()
        self._tails.clear()
        self._bound.clear()  # a cone of classes may hold more of them
        self._opened = None
        # In any order: the queue runs sorted (`Program._drain`).
        for key in self._fresh:
            cls, _, mode = key
            cls = cls.partition("@")[0]  # an object's lookup: its class
            if cls not in (cones if mode in ("s", "sup") else affected):
                continue
            unit = (LOOKUP, key)
            if unit not in self._queued:
                self._queued.add(unit)
                self._queue.append(unit)

    def _super_tails(self, cls: str) -> list[list[Value]]:
        """Where ``super()`` in ``cls`` looks: the classes after ``cls`` in the MRO of
        ``cls`` and of each subclass (``self`` may be an instance of any of them), so
        cooperative multiple inheritance reaches the sibling class."""
        cached = self._tails.get(cls)
        if cached is not None:
            return cached
        tails: list[list[Value]] = []
        for sub in sorted(self.subclasses(cls)):
            mro = self.mro(sub)
            if ("c", cls) in mro:
                tail = mro[mro.index(("c", cls)) + 1 :]
                if tail not in tails:
                    tails.append(tail)
        self._tails[cls] = tails
        return tails

    def _class_attr(self, cls: str, attr: str, *, instance: bool) -> set[Value]:
        return self._memo_lookup((cls, attr, "i" if instance else "c"))

    def _object_attr(self, cls: str, alloc: str, attr: str) -> set[Value]:
        """An attribute of the object of ``cls`` created at ``alloc``: its own fields
        first, then what an instance of the class finds."""
        return self._memo_lookup((f"{cls}@{alloc}", attr, "o"))

    def _cone_attr(self, cls: str, attr: str) -> set[Value]:
        """An attribute of ``self`` in a method of ``cls``: what the lookup finds on an
        instance of ``cls`` or of any subclass (so overrides are found)."""
        return self._memo_lookup((cls, attr, "s"))

    def _memo_lookup(self, key: LookupKey) -> set[Value]:
        # Lookups are memoised as units of their own: frameworks look up the same
        # few attributes on the same classes from thousands of call sites, and
        # walking the MRO each time dominated solving. The memo depends on what
        # the walk read, so a grown class attribute or field re-runs it, and a
        # changed class hierarchy re-runs them all (`_hierarchy_changed`).
        # A lookup that found something has run: one read answers it.
        found: set[Value] | None = self.lookups.get_present(key)
        if found is not None:
            return found
        if key not in self._fresh:
            self._fresh.add(key)
            self._looked_up.add(key[1])
            saved, buffer = self._unit, self._buffer
            self._unit, self._buffer = (LOOKUP, key), None
            self._run_lookup(key)
            self._unit, self._buffer = saved, buffer
        values: set[Value] | None = self.lookups.get(key)
        return set() if values is None else values

    def _run_lookup(self, key: LookupKey) -> None:
        cls, attr, mode = key
        out: set[Value] = set()
        if mode == "s":
            cone = self.subclasses(cls)
            found: dict[Value, set[str]] = {}  # method -> the subclasses that find it
            for sub in sorted(cone):
                for v in self._class_attr(sub, attr, instance=True):
                    if v[0] == "b" and v[3] == sub:
                        found.setdefault(v[:2], set()).add(sub)
                    else:
                        out.add(v)
            for (_, method), subs in found.items():
                # Called on an instance of any subclass of ``cls`` that finds it: of
                # the topmost such classes (``cls``, the subclass that overrides it,
                # or the class that mixes it in beside ``cls``), or of a subclass.
                for sub in sorted(subs):
                    if not any(b[0] == "c" and b[1] in subs for b in self.bases.get(sub, ())):
                        out.add(("b", method, "s", sub))
        elif mode == "sup":
            for tail in self._super_tails(cls):
                out |= self._lookup_in(
                    tail, cls, attr, instance=True, skip_fields=True, recv=("s", cls)
                )
        elif mode == "o":
            owner, _, alloc = cls.partition("@")
            out = self._lookup_in(
                self.mro(owner), owner, attr, instance=True, recv=("i", owner, alloc), obj=cls
            )
        else:
            out = self._lookup_in(self.mro(cls), cls, attr, instance=mode == "i", recv=(mode, cls))
        self._add_at(self.lookups, key, out)

    def _lookup_in(
        self,
        mro: list[Value],
        cls: str,
        attr: str,
        *,
        instance: bool,
        recv: tuple[str, ...],
        skip_fields: bool = False,
        obj: str = "",
    ) -> set[Value]:
        """What ``attr`` is on ``cls`` (walking ``mro``); methods are bound to the
        receiver ``recv`` (mode, class): ``("i", C)`` an instance of exactly ``C``,
        ``("c", C)`` the class itself, ``("s", C)`` an instance of ``C`` or of a
        subclass, ``("i", C, alloc)`` the object ``obj`` (``C@alloc``)."""
        out: set[Value] = set()
        # The walk reads class attributes and fields without recording itself as
        # their reader: the readers of ``(M, attr)`` are known from the hierarchy
        # (`_notify_lookups`), and recording them took 10 million reads and 300 MB.
        fields, variables = self._fields_get, self._vars_get
        namespaces = self._namespaces
        if not skip_fields:
            # Set on the object by code of its class or of a base class (`self.x = ...`
            # in a base method stores on the base, see `("s", cls)`).
            for entry in mro:
                if entry[0] == "c":
                    found = fields((entry[1], attr))
                    if found:
                        out |= found
            # Set on this object, or on any object of the class told apart by its
            # creation (an instance not told apart may be any of them).
            if obj or cls in self._configured:
                found = fields((obj or cls + "@*", attr))
                if found:
                    out |= found
        for entry in mro:
            if entry[0] == "o":
                if skip_fields:
                    # ``super().attr`` asks for the next definition of a name the
                    # class overrides: a base the analysis does not have may well be
                    # it, so the classes after it are not guessed.
                    break
                # Any other lookup passes it: the project's own classes define the
                # name, and dropping the call would make the method look uncalled,
                # which the analysis takes as called in any order (`graph.order`).
                continue
            if entry[0] == "x":
                if out:
                    # Set on the object by project code: it hides whatever the
                    # library class may define, so no library attribute is invented.
                    continue
                path = f"{entry[1]}().{attr}" if instance else f"{entry[1]}.{attr}"
                out |= self._ext(path, "")
                continue
            names = namespaces.get(entry[1])
            if attr not in (names if names is not None else self._namespace(entry[1])):
                continue
            # The first class in the MRO whose body binds it wins, even before what
            # it binds is known: the walk must not go on to a base (or a library
            # class) whose attribute the class hides.
            for v in variables((entry[1], attr)) or ():
                if v[0] == "f":
                    sc = self.scope(v[1])
                    mk = sc["method_kind"] if sc else ""
                    if mk == "staticmethod":
                        out.add(v)
                    elif mk == "classmethod":
                        out.add(("b", v[1], *recv))
                    elif mk == "property" and instance:
                        out |= self._returns(v[1])
                    elif instance:
                        out.add(("b", v[1], *recv))
                    else:
                        out.add(v)
                else:
                    out.add(v)
            break  # the first class in the MRO that defines it wins
        return out


def _related(bases: dict[str, list[Value]], roots: set[str], *, down: bool) -> set[str]:
    """``roots`` and their descendants (``down``) or ancestors in ``bases``."""
    links: dict[str, list[str]] = defaultdict(list)
    for c, bs in bases.items():
        for b in bs:
            if b[0] == "c":
                if down:
                    links[b[1]].append(c)
                else:
                    links[c].append(b[1])
    return closure(roots, links)
