"""Contexts per constant key: a function that looks a table up by its parameter.

``{"trigger": (...), "executor": (...)}[type_]`` in a function called as
``f("executor", ...)`` at one site and ``f("trigger", ...)`` at another reads one
entry at each; merged over both calls, the parameter is "some string" and every
entry flows to every caller (APScheduler's ``_create_plugin_instance`` then hands
a job store to the code that runs executors). A function whose parameter is used
as a subscript (``table[param]``) runs in one context per constant the calls pass
there (`Contexts._context_key`); in that context the parameter holds a marker of
its constant, ``("key", slot)``, and a subscript by it reads that slot only
(`Evaluation.eval`). A call that passes anything else enters the function's other
contexts as before, where the subscript reads every slot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from fork_lint.index.facts import CallSite, Expr, Scope, slot_of

__all__ = ["called_with_constants", "key_defaults", "key_parameters", "keys_passed"]


def _subscripts(expr: object) -> Iterator[str]:
    """The names used as the key of a subscript anywhere in ``expr``."""
    stack = [expr]
    while stack:
        e = stack.pop()
        if not isinstance(e, tuple) or not e:
            continue
        if e[0] == "item" and len(e) > 2:
            key = e[2]
            if isinstance(key, tuple) and len(key) == 2 and key[0] == "name":
                yield str(key[1]).partition("@")[0]
        for x in e[1:]:
            if isinstance(x, tuple):
                stack.append(x)
            elif isinstance(x, list):
                stack.extend(x)


def called_with_constants(sites: Sequence[CallSite]) -> Iterator[str]:
    """The names (``f`` of ``f(...)`` and ``x.f(...)``) of the calls among ``sites``
    that pass a constant string or number."""
    for site in sites:
        if any(a[0] == "const" and isinstance(a[1], (str, int)) for a in site["args"]) or any(
            v[0] == "const" and isinstance(v[1], (str, int)) for _, v in site["kwargs"]
        ):
            func = site["func"]
            if func[0] == "name":
                yield str(func[1]).partition("@")[0]
            elif func[0] == "attr":
                yield str(func[2])


def key_parameters(sc: Scope, sites: Sequence[CallSite]) -> tuple[int, ...]:
    """The positions (in ``params``) of the parameters the function subscripts by."""
    params = sc["params"]
    if not params:
        return ()
    used: set[str] = set()
    for target, value in sc["assigns"]:
        used.update(_subscripts(target))
        used.update(_subscripts(value))
    for site in sites:
        used.update(_subscripts(site["func"]))
        for arg in site["args"]:
            used.update(_subscripts(arg))
        for _, arg in site["kwargs"]:
            used.update(_subscripts(arg))
    return tuple(i for i, p in enumerate(params) if p in used)


def key_defaults(sc: Scope, parent: Scope) -> dict[int, Expr]:
    """The default values of a function's parameters, by position (``parent``: the
    scope the function is defined in, which evaluates them)."""
    positions = {p: i for i, p in enumerate(sc["params"])}
    out = {}
    for target, value in parent["assigns"]:
        if target[0] == "param" and target[1] == sc["qualname"] and target[2] in positions:
            out[positions[target[2]]] = value
    return out


def keys_passed(
    sc: Scope,
    positions: tuple[int, ...],
    site: CallSite,
    offset: int,
    defaults: dict[int, Expr],
) -> tuple[tuple[int, str], ...]:
    """The constant keys a call passes to those parameters, or leaves at a constant
    default: (position, slot)."""
    args: Sequence[Expr] = site["args"]
    params = sc["params"]
    starred = any(a[0] == "star" for a in args) or any(k is None for k, _ in site["kwargs"])
    out = []
    for p in positions:
        expr: Expr | None = None
        at = p - offset
        if 0 <= at < len(args) and not any(a[0] == "star" for a in args[: at + 1]):
            expr = args[at]
        for key, value in site["kwargs"]:
            if key == params[p]:
                expr = value
        if expr is None and not starred and at >= len(args):
            expr = defaults.get(p)
        if expr is not None and expr[0] == "const" and isinstance(expr[1], (str, int)):
            out.append((p, slot_of(expr[1])))
    return tuple(out)
