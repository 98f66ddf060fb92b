"""Why a call edge exists: the reason a witness gives for each of its hops.

The solver adds an edge when a value that can be called flows to a call site; the
reason is read back, after solving, from the site's callee expression and what it
holds (computed for the few hops of a witness only, so solving keeps no record).
"""

from __future__ import annotations

from fork_lint.graph.solver import Program, SiteRef, Value
from fork_lint.graph.values import INSTANCES, alloc_site, base_name
from fork_lint.index.facts import Expr

__all__ = ["context_note", "edge_reason"]

_MAX_DEPTH = 8  # merges of merges followed back to a binding

_RECEIVERS = {
    "i": "an instance of `{}`",
    "s": "an instance of `{}` or of a subclass",
    "c": "the class `{}`",
}


def edge_reason(program: Program, ref: SiteRef, callee: str) -> str:
    """Why call site ``ref`` calls ``callee`` (a project function or module, as a
    call-graph node), in a few words; empty when the edge is not one the solver made."""
    if callee not in program.edges.get(ref, ()):
        return ""
    callee = base_name(callee)
    if callee in program.modules:
        return "importing runs the module"
    site = program.site(ref)
    values = program.callees.get(ref, set())
    if site["kind"] in ("iter", "aiter"):
        return f"iterating calls `{callee.rpartition('.')[2]}` of the iterated object"
    for v in sorted(values):
        if v[0] in ("f", "b") and any(w[1] == callee for w in program.wrappers.get(v[1], ())):
            return f"`{v[1]}` is decorated: calling it runs the decorator's wrapper"
    for v in sorted(values):
        if v[0] == "c" and _constructs(program, v[1], callee):
            return f"constructing `{v[1]}` runs its `__init__`"
    direct = [v for v in values if v[0] in ("f", "b") and v[1] == callee]
    if not direct:
        libraries = sorted(v[1] for v in values if v[0] == "x")
        if libraries:
            return f"`{libraries[0]}` calls it back (passed as an argument)"
        instances = sorted(v for v in values if v[0] in INSTANCES)
        if instances:
            how = f"calling an instance of `{instances[0][1]}` runs its `__call__`"
            site_scope = (ref[0], site["scope"])
            return how + _annotation(program, site_scope, site["func"], instances[0], 2)
        return ""
    how = _through(program, ref, site["func"], min(direct), direct)
    if site["kind"] == "decorator":
        return f"applies the decorator{': ' + how if how else ''}"
    return how


def context_note(program: Program, node: str) -> str:
    """Which context of its function a call-graph node is, in words, when the
    function has several (`graph.contexts`): the receiver its ``self`` is, or the
    call it was entered from; empty otherwise."""
    qualname = base_name(node)
    if not program.secondaries.get(qualname):
        return ""
    key = program.context_key(node)
    if not key:
        return ""
    if key[0] == "site":
        return f"`{qualname}` as called at {_where(program, (key[1], key[2]))}"
    if key[0] == "*":
        return f"`{qualname}` as called from the sites its other contexts leave"
    if key[0] == "key":
        sc = program.scope(qualname)
        assert sc is not None
        given = ", ".join(
            f"`{sc['params'][p]}` = {slot[2:]!r}"
            if slot.startswith("s:")
            else f"`{sc['params'][p]}` = {slot[2:]}"
            for p, slot in key[1]
        )
        return f"`{qualname}` called with {given}"
    receiver = _receiver(program, tuple(key))
    return f"`{qualname}` on {receiver}" if receiver else ""


def _where(program: Program, ref: SiteRef) -> str:
    span = program.site(ref)["span"]
    return f"{program.modules[ref[0]]['path']}:{span[0]}"


def _receiver(program: Program, key: tuple[str, ...]) -> str:
    """A method's receiver (mode, class[, creation]) in words."""
    if len(key) > 2:
        return f"the `{key[1]}` object created at {_where(program, alloc_site(key[2]))}"
    return _RECEIVERS.get(key[0], "`{}`").format(key[1])


def _constructs(program: Program, cls: str, callee: str) -> bool:
    return any(
        v[0] == "b" and v[1] == callee
        for v in program.getattr(("i", cls), callee.rpartition(".")[2])
    )


def _through(
    program: Program, ref: SiteRef, func: tuple[object, ...], value: Value, same: list[Value]
) -> str:
    """How the callee expression ``func`` comes to hold ``value`` (``same``: the
    values of that function it holds, bound to their receivers)."""
    tag = func[0]
    if tag == "name":
        return _named(program, ref, str(func[1]), value)
    if tag == "attr":
        attr, base = str(func[2]), func[1]
        assert isinstance(base, tuple)
        if base[0] == "super":
            return f"`super()` in `{base[1]}` finds `{attr}` after it in the MRO"
        site = program.site(ref)
        if value[0] == "b" and len(value) >= 4:
            how = f"method `{attr}` in the MRO of the receiver, {_receivers(program, same)}"
            receiver = tuple(str(part) for part in value[2:])
            return how + _annotation(program, (ref[0], site["scope"]), base, receiver, 2)
        kinds = {v[0] for v in program.eval_at(ref, base)}
        if "m" in kinds:
            return f"attribute `{attr}` of a module"
        if "c" in kinds:
            return f"attribute `{attr}` of a class"
        return f"attribute `{attr}` of the object (assigned to it)"
    if tag == "call":
        calls = program.modules[ref[0]]["calls"]
        return f"the value `{calls[int(str(func[1]))]['text']}()` returns"
    if tag in ("item", "star"):
        return "an element of a container"
    return ""


def _named(program: Program, ref: SiteRef, version: str, value: Value, depth: int = 0) -> str:
    site = program.site(ref)
    key = program._var_key(ref[0], site["scope"], version)
    name = version.partition("@")[0]  # a local's version (`t@2`) is the name `t`
    if key is None:
        return f"`{name}` is imported with `*`"
    owner, _ = key
    sc = program.scope(owner)
    params = (*sc["params"], *sc["kwonly"], sc["vararg"], sc["kwarg"]) if sc else ()
    if sc is not None and sc["kind"] in ("function", "lambda") and version in params:
        node = program.node_of(ref)  # the parameter in the context the call is in
        passed = _passing_site(program, node if base_name(node) == owner else owner, value)
        return f"`{name}` is a parameter of `{owner}`: {passed or 'a caller passes it'}"
    if owner in program.modules:
        mod, scope = owner, program.modules[owner]["scopes"][0]
    elif sc is not None:
        mod, scope = program.scopes[owner][0][0], sc
    else:
        return ""
    index = program.scopes[owner][0][1] if sc is not None else 0
    for target, assigned in scope["assigns"]:
        if target != ("name", version):
            continue
        if assigned[0] in ("func", "class") and assigned[1] == value[1]:
            return f"`{name}` is defined here"
        if assigned[0] == "from":
            return f"`{name}` is imported from `{assigned[1]}`"
        if assigned[0] == "call":
            made = program.site((mod, assigned[1]))
            if made["kind"] == "decorator":
                return f"`{name}` is defined here (decorated)"
            return f"`{name}` holds the value `{made['text']}()` returns"
        merged = assigned[1] if assigned[0] == "union" else (assigned,)
        for operand in merged:
            if operand[0] != "name" or value not in program.eval(mod, index, operand):
                continue
            other = str(operand[1])
            if other.partition("@")[0] != name:
                return f"`{name}` is assigned `{other.partition('@')[0]}`"
            if depth < _MAX_DEPTH and other != version:
                # `job@3` merges `job@1` and `job@2` where branches meet: say
                # which binding holds it.
                return _named(program, ref, other, value, depth + 1)
    return f"`{name}` is assigned it"


def _annotation(
    program: Program, where: tuple[str, int], expr: Expr, receiver: Value, depth: int
) -> str:
    """``, from the annotation `x: T`'' when ``receiver`` reaches ``expr`` (read in
    module and scope ``where``) from an annotation (`graph.annotations`), through at
    most ``depth`` assignments; empty when it does not."""
    mod, i = where
    tag = expr[0]
    found: tuple[frozenset[Value], str] | None
    if tag == "name":
        name = str(expr[1])
        key = program._var_key(mod, i, name)
        if key is None:
            return ""
        found = program.annotated.get(("vars", key))
        if found is not None and receiver in found[0]:
            return f", from the annotation `{name.partition('@')[0]}: {found[1]}`"
        refs = program.scopes.get(key[0])
        at = (key[0], 0) if key[0] in program.modules else refs[0] if refs else None
        if depth <= 0 or at is None:
            return ""
        for target, assigned in program.modules[at[0]]["scopes"][at[1]]["assigns"]:
            if target == ("name", name):
                said = _annotation(program, at, assigned, receiver, depth - 1)
                if said:
                    return said
        return ""
    if tag == "attr":
        attr = str(expr[2])
        base = expr[1]
        assert isinstance(base, tuple)
        for owner in sorted(program.eval(mod, i, base)):
            if owner[0] not in INSTANCES:
                continue
            keys: list[tuple[str, tuple[str, str]]] = [("fields", (str(owner[1]), attr))]
            keys += [("vars", (str(c[1]), attr)) for c in program.mro(str(owner[1]))]
            for store_key in keys:  # `self.x: T` in a method, `x: T` in the class body
                found = program.annotated.get(store_key)
                if found is not None and receiver in found[0]:
                    return f", from the annotation `{attr}: {found[1]}` in `{store_key[1][0]}`"
            if depth > 0:  # `self.conn = conn` in a method of its class
                said = _field_annotation(program, owner, attr, receiver, depth - 1)
                if said:
                    return said
        return ""
    if tag == "call":
        for callee in sorted(program.edges.get((mod, int(str(expr[1]))), ())):
            found = program.annotated.get(("rets", callee))
            if found is not None and receiver in found[0]:
                return f", from the annotation `{callee}() -> {found[1]}`"
        return ""
    if tag == "union":
        for operand in expr[1]:
            assert isinstance(operand, tuple)
            said = _annotation(program, where, operand, receiver, depth)
            if said:
                return said
    return ""


def _passing_site(program: Program, func: str, value: Value) -> str:
    """A call of ``func`` (a call-graph node) that passes ``value`` as an argument, as ``passed at
    path:line (`text()`)``; empty when none does directly."""
    callers: dict[str, list[SiteRef]] | None = getattr(program, "_why_callers", None)
    if callers is None:
        callers = {}
        for ref, targets in program.edges.items():
            for target in targets:
                callers.setdefault(target, []).append(ref)
        program._why_callers = callers  # type: ignore[attr-defined]
    for ref in sorted(callers.get(func, ())):
        site = program.site(ref)
        exprs = [*site["args"], *(e for _, e in site["kwargs"])]
        if any(value in program.eval_at(ref, e) for e in exprs):
            path = program.modules[ref[0]]["path"]
            return f"passed at {path}:{site['span'][0]} (`{site['text']}()`)"
    return ""


def _receivers(program: Program, methods: list[Value]) -> str:
    """The receivers bound methods are called on, in words: the first three."""
    said = sorted({_receiver(program, tuple(m[2:])) for m in methods if len(m) >= 4})
    if len(said) > 3:
        return ", ".join(said[:3]) + f" (or {len(said) - 3} more)"
    return " or ".join(said)


def _field_annotation(
    program: Program, owner: Value, attr: str, receiver: Value, depth: int
) -> str:
    """`_annotation` through ``x.attr = value`` in the methods of ``owner``'s classes."""
    for cls in program.mro(str(owner[1])):
        prefix = f"{cls[1]}."
        for qualname, refs in program.scopes.items():
            if not qualname.startswith(prefix) or len(refs) != 1:
                continue
            mod, i = refs[0]
            for target, assigned in program.modules[mod]["scopes"][i]["assigns"]:
                if target[0] != "attr" or target[2] != attr:
                    continue
                base = target[1]
                assert isinstance(base, tuple)
                if owner not in program.eval(mod, i, base):
                    continue
                said = _annotation(program, (mod, i), assigned, receiver, depth)
                if said:
                    return said
    return ""
