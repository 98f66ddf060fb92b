"""Values from outside the call graph: type annotations.

Objects are often handed in, not built: ``def __init__(self, connection:
Optional[Redis] = None)``, ``self.client: KafkaProducer``, ``def run(pool:
ProcessPoolExecutor)``, ``def make() -> Thread``. At the fixed point, an
annotated parameter, variable, attribute or return for which the analysis found
no value (nothing in the project flows there, or only constants such as
``None``, which hold no value) takes an instance of the class its annotation
names (`Scope.annotations`), and solving goes on; an annotation never adds to
what the analysis knows. A project class gives ``("s", C)``: an instance of
``C`` or of any subclass, as the annotation means, and as ``self`` is one. A
library class at import path ``P`` gives the instance ``P()`` (catalogue terms:
``redis.Redis().pubsub().run_in_thread``), when that path is tracked. ``Any``,
``object``, ``type`` and the containers of ``typing`` and ``builtins`` give
nothing.
"""

from __future__ import annotations

from typing import Any

from fork_lint.graph.calls import Calls
from fork_lint.graph.values import INSTANCES, Value
from fork_lint.index.facts import Expr

__all__ = ["Annotations"]

_Store = dict[Any, set[Value]]

# Roots of library paths whose classes are no object a sink or source is made of
# (`typing.Any`, `builtins.object`, `collections.abc.Iterator`).
_NO_INSTANCE = frozenset(
    ("typing", "typing_extensions", "builtins", "collections", "types", "abc", "numbers")
)


class Annotations(Calls):
    """Seeding empty value sets from type annotations."""

    def _seed_annotations(self) -> bool:
        """Give every annotated key the analysis left empty the instances its
        annotation names; True if any was given one."""
        seeded = False
        for mod, facts in self.modules.items():
            for i, sc in enumerate(facts["scopes"]):
                for target, types in sc["annotations"]:
                    values: set[Value] | None = None
                    for label, store, key in self._annotated(mod, i, target):
                        if dict.get(store, key):
                            continue  # known: the annotation adds nothing
                        if values is None:
                            values = self._instances(mod, i, types)
                        if not values:
                            break
                        self._add(store[key], values)
                        if store is self.rets:  # the same without returned parameters
                            self._add(self.direct_rets[key], values)
                        self.annotated[(label, key)] = (frozenset(values), _text(types))
                        seeded = True
        return seeded

    def _annotated(self, mod: str, i: int, target: Expr) -> list[tuple[str, _Store, Any]]:
        """The stores (named as in `annotated`) and keys an annotation's target names."""
        tag = target[0]
        if tag == "param":  # in every context of the function (`graph.contexts`)
            if target[1] not in self.scopes:
                return []
            return [("vars", self.vars, (n, target[2])) for n in self.nodes_of(target[1])]
        if tag == "return":
            if target[1] not in self.scopes:
                return []
            return [("rets", self.rets, n) for n in self.nodes_of(target[1])]
        if tag == "name":
            sc = self.modules[mod]["scopes"][i]
            cls, name = sc["qualname"], target[1]
            # Objects told apart by where they are made keep fields under `C@*`
            # too (`graph.contexts`). Read as a plain dict: `Store.get` would
            # record a dependency.
            fields = self.fields
            if sc["kind"] == "class" and any(
                key in fields and fields[key] for key in ((cls, name), (f"{cls}@*", name))
            ):
                # `proc: Process | None = None` declares the field the methods set
                # (`self.proc = ctx.Process()`): what they store is known.
                return []
            key = self._var_key(mod, i, target[1])
            return [] if key is None else [("vars", self.vars, key)]
        if tag == "attr":
            out: list[tuple[str, _Store, Any]] = []
            for base in sorted(self.eval(mod, i, target[1])):
                if base[0] in INSTANCES and not self._field_known(base[1], target[2]):
                    out.append(("fields", self.fields, (base[1], target[2])))
            return out
        return []

    def _field_known(self, cls: str, attr: str) -> bool:
        """Does reading ``attr`` on an instance of ``cls`` find a value already? A
        base class's method stores on the base (``self.proc = Process()`` in a
        method a subclass inherits), and the read walks the MRO (`_lookup_in`)."""
        fields = self.fields
        if dict.get(fields, (f"{cls}@*", attr)):
            return True
        return any(
            entry[0] == "c" and dict.get(fields, (entry[1], attr)) for entry in self.mro(cls)
        )

    def _instances(self, mod: str, i: int, types: tuple[Expr, ...]) -> set[Value]:
        """Instances of the classes ``types`` name."""
        out: set[Value] = set()
        for expr in types:
            for v in self.eval(mod, i, expr):
                if v[0] == "c":
                    out.add(("s", v[1]))
                elif (
                    v[0] == "x"
                    and not v[2]
                    and not v[1].endswith(")")
                    and v[1].partition(".")[0] not in _NO_INSTANCE
                ):
                    out |= self._ext(f"{v[1]}()", "")
        return out


def _text(types: tuple[Expr, ...]) -> str:
    """The classes an annotation names, as written (``redis.Redis | Worker``)."""
    return " | ".join(_dotted(t) for t in types)


def _dotted(expr: Expr) -> str:
    if expr[0] == "name":
        return str(expr[1]).partition("@")[0]  # a local's version: `T@1` is `T`
    if expr[0] == "attr":
        return f"{_dotted(expr[1])}.{expr[2]}"
    return "?"
