"""Containers, key by key: a dict literal's ``"mp_context"`` slot is not its
``"preexec_fn"`` slot, and ``ls[0]`` of ``[f, g]`` is ``f``.

A container is a value ``("k", key)``; what it holds is kept per slot
(`fork_lint.index.facts.slot_of`: a constant key or position) in
``items[(key, slot)]``, with three more slots: ``"*"`` for what was stored under
a key that is not known (``d[name] = v``, ``ls.append(v)``), which every read
also sees; ``""``, everything stored under any key (a read with an unknown key
sees it); and ``"k"``, a dict's keys that are values (``{f: 1}``: iterating a dict
gives its keys). ``slots[key]`` lists the slots written, with ``("slot", "~")``
once positions may have shifted (``insert``, ``del ls[0]``, ``sort``): positions
are then not told apart. A constant stored in a slot is kept as a marker value
``("const", repr)``, so that ``{"preexec_fn": None}`` says the key is there and
``None``.

Containers come from literals and comprehensions (numbered by the extractor),
from calls that build one (``dict(...)``, ``list(x)``, ``d.items()``,
``enumerate(x)``: one per call site, ``f"{module}@{site}"``), from ``*args`` and
``**kwargs`` parameters (``f"{function}*"``, ``f"{function}**"``), and from
generators (``f"{function}#yield"``: what iterating a call of it gives).
"""

from __future__ import annotations

from collections.abc import Iterable

from fork_lint.graph.contexts import Contexts
from fork_lint.graph.plugins import entry_point_items
from fork_lint.graph.values import SiteRef, Value, node_name
from fork_lint.index.facts import Expr

__all__ = ["Containers", "without_markers"]

_ALL, _ANY, _KEYS, _SHIFTED = "", "*", "k", "~"
_SHIFTED_SLOT: Value = ("slot", _SHIFTED)


class Containers(Contexts):
    """Reads and writes of container slots."""

    # -- containers -------------------------------------------------------
    def _container(self, key: str, kind: str) -> Value:
        """The container ``key``, of ``kind`` (list, tuple, set, dict, gen)."""
        self.kinds.setdefault(key, kind)
        return ("k", key)

    def _site_container(self, ref: SiteRef, kind: str, part: str = "") -> Value:
        """A container built by the call at ``ref`` (``part`` tells apart several)."""
        return self._container(f"{ref[0]}@{ref[1]}{part}", kind)

    def _write(self, key: str, slot: str, values: set[Value]) -> None:
        """Store ``values`` under ``slot`` (``"*"``: a key that is not known)."""
        slots = dict.get(self.slots, key)  # no reader: writing does not depend on it
        if slots is None or ("slot", slot) not in slots:
            self._add(self.slots[key], {("slot", slot)})
        if values:
            self._add(self.items[(key, slot)], values)
            if slot != _KEYS:
                self._add(self.items[(key, _ALL)], values)

    def _shift(self, key: str) -> None:
        """Positions of ``key`` may have moved: a position reads every element."""
        if self.kinds.get(key) in ("list", "gen"):
            slots = dict.get(self.slots, key)
            if slots is None or _SHIFTED_SLOT not in slots:
                self._add(self.slots[key], {_SHIFTED_SLOT})

    def _read(self, key: str, slot: str) -> set[Value]:
        """What ``container[slot]`` may be."""
        if slot in (_ALL, _ANY):
            return self._got((key, _ALL))
        if slot.startswith("i:") and self.kinds.get(key) in ("list", "gen"):
            slots = self.slots.get(key)
            if slots is not None and _SHIFTED_SLOT in slots:
                return self._got((key, _ALL))
        return self._got((key, slot)) | self._got((key, _ANY))

    def _iterated(self, key: str) -> set[Value]:
        """What iterating the container gives: a dict's keys, other elements."""
        return self._got((key, _KEYS if self.kinds.get(key) == "dict" else _ALL))

    def _unpacked(self, key: str, position: int) -> set[Value]:
        """The ``position``-th element of unpacking the container."""
        kind = self.kinds.get(key)
        if kind == "dict":
            return self._got((key, _KEYS))
        if kind in ("list", "tuple"):
            return self._read(key, f"i:{position}")
        return self._got((key, _ALL))

    def _got(self, where: tuple[str, str]) -> set[Value]:
        found: set[Value] | None = self.items.get(where)
        return found if found is not None else set()

    def _slots_of(self, key: str) -> list[str]:
        """The slots written in a container, in order."""
        slots = self.slots.get(key)
        return sorted(s[1] for s in slots if s[1] != _SHIFTED) if slots else []

    def _copy(self, dst: str, src: str) -> None:
        """``dst.update(src)`` for dicts, a copy of ``src``'s slots otherwise."""
        for slot in self._slots_of(src):
            self._write(dst, slot, self._got((src, slot)))
        keys = self._got((src, _KEYS))
        if keys:
            self._write(dst, _KEYS, keys)
        if self.kinds.get(dst) == "dict" and self.kinds.get(src) not in ("dict", None):
            # `dict(pairs)`: the keys and values are the pairs' elements.
            self._write(dst, _ANY, self._elements(self._got((src, _ALL)), 1))
            self._write(dst, _KEYS, self._elements(self._got((src, _ALL)), 0))

    # -- reading values ---------------------------------------------------
    def _elements(
        self, values: Iterable[Value], slot: str | int | Expr | None = None
    ) -> set[Value]:
        """Elements of the containers among ``values``: what iteration gives
        (``slot`` None), ``container[slot]`` (a slot string), or the element at a
        position of unpacking (an ``int``). Other values have no elements the
        analysis knows of: not themselves (`x[0].get()` is not `x.get()`)."""
        out: set[Value] = set()
        for v in values:
            if v[0] == "k":
                if slot is None:
                    out |= self._iterated(v[1])
                elif isinstance(slot, int):
                    out |= self._unpacked(v[1], slot)
                else:  # a key that is not a constant (an expression) reads every slot
                    out |= self._read(v[1], slot if isinstance(slot, str) else _ALL)
            elif v[0] == "x":
                if self.entry_points and (slot is None or isinstance(slot, str)):
                    out |= entry_point_items(v[1], slot)
            elif v[0] in ("i", "s") and slot is not None:
                # `obj[k]`: what its `__getitem__` returns
                for m in self.getattr(v, "__getitem__"):
                    if m[0] == "b":
                        out |= self._returns(m[1])
        return without_markers(out)

    def _stored(self, mod: str, scope_index: int, expr: Expr) -> set[Value]:
        """What storing ``expr`` in a container keeps: its values, or a marker of
        the constant it is (see the module docstring)."""
        if expr[0] == "const":
            return {("const", repr(expr[1]))}
        return self.eval(mod, scope_index, expr)

    # -- literals ---------------------------------------------------------
    def _literal(self, mod: str, scope_index: int, expr: Expr) -> Value:
        """A container literal or comprehension, filled slot by slot."""
        _, elements, number, keys, kind = expr
        key = node_name(f"{mod}#{number}", self._ctx)  # one per context
        value = self._container(key, kind)
        for element, slot in zip(elements, keys, strict=True):
            if slot == "**":  # `{**other}`
                for v in self.eval(mod, scope_index, element):
                    if v[0] == "k":
                        self._copy(key, v[1])
                    else:
                        self._write(key, _ANY, set())  # keys that are not known
            elif slot == _KEYS:
                self._write(key, _KEYS, self.eval(mod, scope_index, element))
            elif element[0] == "star":  # `[*xs]`
                self._write(key, _ANY, self.eval(mod, scope_index, element))
            else:
                self._write(key, slot or _ANY, self._stored(mod, scope_index, element))
        return value

    def _slice(self, mod: str, scope_index: int, expr: Expr) -> Value:
        """``e[i:j]``: a new list of ``e``'s elements ``i`` to ``j``, at their positions
        less ``i`` where those are known."""
        key = node_name(f"{mod}#{expr[2]}", self._ctx)
        start, stop = (expr[3], expr[4]) if len(expr) > 4 else (-1, -1)
        value = self._container(key, "list")
        for v in self.eval(mod, scope_index, expr[1]):
            if v[0] != "k":
                continue
            slots = self.slots.get(v[1])
            if (
                start < 0
                or self.kinds.get(v[1]) not in ("list", "tuple")
                or (slots is not None and _SHIFTED_SLOT in slots)
            ):
                self._write(key, _ANY, self._got((v[1], _ALL)))
                continue
            for slot in self._slots_of(v[1]):
                if not slot.startswith("i:"):
                    self._write(key, _ANY, self._got((v[1], slot)))
                    continue
                at = int(slot[2:])
                if start <= at and (stop < 0 or at < stop):
                    self._write(key, f"i:{at - start}", self._got((v[1], slot)))
        return value

    def _store_item(self, mod: str, scope_index: int, target: Expr, values: set[Value]) -> None:
        """``e[k] = v``."""
        slot = target[2] if len(target) > 2 else _ANY
        containers = sorted(v[1] for v in self.eval(mod, scope_index, target[1]) if v[0] == "k")
        if not containers:
            return
        keys: set[Value] = set()
        if not isinstance(slot, str):  # a key that is not a constant: `d[f] = v`
            keys = self.eval(mod, scope_index, slot)
            slot = _ANY
        for key in containers:
            if slot == _SHIFTED:  # `ls[i:j] = xs`
                self._shift(key)
                self._write(key, _ANY, self._elements(values))
                continue
            self._write(key, slot or _ANY, values)
            if keys:
                self._write(key, _KEYS, keys)

    # -- after solving ----------------------------------------------------
    def star_keywords(self, ref: SiteRef, *, callers: bool = True) -> dict[str, set[Value]] | None:
        """What the ``**mapping`` arguments of the call at ``ref`` pass, key by key
        (constants as markers ``("const", repr)``); None when a key cannot be known:
        a mapping that is not a dict the analysis built, one with a key that is not a
        constant, or nothing known at all. A call without ``**`` passes nothing.
        Without ``callers``, what the callers of a function pass into its
        ``**kwargs`` is left out (`passed_in`): only what the function adds."""
        site = self.site(ref)
        out: dict[str, set[Value]] = {}
        for name, expr in site["kwargs"]:
            if name is not None:
                continue
            values = self.eval_at(ref, expr)
            if not values:
                return None
            for v in values:
                if v[0] != "k" or self.kinds.get(v[1]) != "dict":
                    return None
                for slot in self._slots_of(v[1]):
                    got = self._got((v[1], slot))
                    passed = self._passed((v[1], slot)) if not callers else None
                    if passed is not None:
                        if got <= passed:
                            continue  # only what callers pass
                        got = got - passed
                    if not slot.startswith("s:"):
                        return None
                    out.setdefault(slot[2:], set()).update(got)
        return out

    def _passed(self, where: tuple[str, str]) -> set[Value] | None:
        found: set[Value] | None = dict.get(self.passed_in, where)
        return found


def without_markers(values: set[Value]) -> set[Value]:
    """``values`` without the markers of constants, which only containers keep."""
    if any(v[0] == "const" for v in values):
        return {v for v in values if v[0] != "const"}
    return values
