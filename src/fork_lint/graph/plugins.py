"""Entry points: the plugins a program loads by name from its own metadata.

A plugin host looks its plugins up at run time (``iter_entry_points(group)``,
``importlib.metadata.entry_points(group=...)``) and calls what ``ep.load()``
returns: APScheduler builds its ``processpool`` executor this way from a string in
the user's configuration. No call in the code names the class; the project's
metadata does (``entry_points.txt``, ``[project.entry-points]``, setup.cfg, a
literal ``setup(entry_points=...)``, see `fork_lint.metadata`). Those declarations
are evidence: ``ep.load()`` for a group gives the objects the project declares in
that group, and nothing else; a group that is not a constant string, or one the
project declares nothing in, gives nothing.

The values are external ones (``("x", path, "")``) under names of their own:
``importlib.metadata.entry_points(group='G')`` for the entry points of group G
(whichever API listed them), ``importlib.metadata.EntryPoint(group='G')`` for one
of them.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Protocol

from fork_lint.graph.values import Value
from fork_lint.index.facts import CallSite, Expr

__all__ = [
    "ENTRY_POINT_PATTERNS",
    "Declared",
    "entry_point_call",
    "entry_point_items",
    "handles",
]

# Group -> (name, "module:attr") of each entry point the project declares in it.
Declared = Mapping[str, Sequence[tuple[str, str]]]


class _Solver(Protocol):
    @property
    def modules(self) -> Mapping[str, object]: ...

    def canon(self, module: str) -> str: ...

    def getattr(self, value: Value, attr: str) -> set[Value]: ...

    def _ext(self, path: str, alloc: str) -> set[Value]: ...


_GROUP = "importlib.metadata.entry_points(group="
_ONE = "importlib.metadata.EntryPoint(group="

# Functions that list the entry points of a group; the position of the group
# argument (None: keyword only).
_LISTS: Mapping[str, int | None] = {
    "pkg_resources.iter_entry_points": 0,
    "pkg_resources.working_set.iter_entry_points": 0,
    "importlib.metadata.entry_points": None,
    "importlib_metadata.entry_points": None,
}
# ``entry_points()`` (every group), then ``.select(group=...)`` or ``.get(group)``.
_ALL = ("importlib.metadata.entry_points()", "importlib_metadata.entry_points()")
# Functions that load one entry point of a group: (group position, name position).
_LOADERS: Mapping[str, tuple[int, int]] = {"pkg_resources.load_entry_point": (1, 2)}

# What the solver must track (`catalog.PathFilter`) for these values to exist.
ENTRY_POINT_PATTERNS = (
    *_LISTS,
    *_LOADERS,
    *(f"{a}.{m}" for a in _ALL for m in ("select", "get")),
    f"{_GROUP}*",
    f"{_ONE}*",
)


def _const(site: CallSite, position: int | None, keyword: str) -> object:
    """The constant value of an argument given by position or keyword; None if it is
    not given or not a constant."""
    expr: Expr | None = None
    args = site["args"]
    if (
        position is not None
        and position < len(args)
        and not any(a[0] == "star" for a in args[: position + 1])
    ):
        expr = args[position]
    for key, value in site["kwargs"]:
        if key == keyword:
            expr = value
    return expr[1] if expr is not None and expr[0] == "const" else None


def _collection(group: str) -> Value:
    return ("x", f"{_GROUP}{group!r})", "")


def handles(path: str) -> bool:
    """Does a call of the external ``path`` list or load entry points
    (`entry_point_call`)?"""
    return (
        path in _LISTS
        or path in _LOADERS
        or (path.endswith((".select", ".get")) and path.rpartition(".")[0] in _ALL)
        or _loaded_group(path) is not None
    )


def entry_point_call(solver: _Solver, path: str, site: CallSite, declared: Declared) -> set[Value]:
    """What a call of the external ``path`` (one that `handles`) gives: the
    collection of a group's entry points, or the objects an entry point loads.
    Nothing when the group is not a constant string."""
    loaded = _loaded_group(path)
    if loaded is not None:  # `ep.load()`
        return _loaded(solver, declared.get(loaded, ()), None)
    loader = _LOADERS.get(path)
    group: object
    if loader is not None:  # `load_entry_point(dist, group, name)`
        group = _const(site, loader[0], "group")
        name = _const(site, loader[1], "name")
        if not isinstance(group, str):
            return set()
        return _loaded(solver, declared.get(group, ()), name if isinstance(name, str) else None)
    if path in _LISTS:
        if not site["args"] and not site["kwargs"] and f"{path}()" in _ALL:
            return {("x", f"{path}()", "")}  # every group: `.select(group=...)` picks one
        group = _const(site, _LISTS[path], "group")
    else:  # `entry_points().select(group=G)`, `entry_points().get(G)`
        group = _const(site, 0 if path.endswith(".get") else None, "group")
    return {_collection(group)} if isinstance(group, str) else set()


def entry_point_items(path: str, slot: str | None) -> set[Value]:
    """The elements of the external value ``path``: iterating a group's collection
    (``slot`` None) gives one of its entry points; ``entry_points()["G"]`` gives
    the collection of group G."""
    if slot is None:
        if path.startswith(_GROUP) and path.endswith(")"):
            return {("x", _ONE + path[len(_GROUP) :], "")}
    elif path in _ALL and slot.startswith("s:"):
        return {_collection(slot[2:])}
    return set()


def _loaded_group(path: str) -> str | None:
    """The group of the entry point whose ``load()`` (or, in ``pkg_resources``,
    ``resolve()``) ``path`` names."""
    head, _, method = path.rpartition(".")
    if method not in ("load", "resolve") or not head.startswith(_ONE) or not head.endswith(")"):
        return None
    try:
        group = ast.literal_eval(head[len(_ONE) : -1])
    except (ValueError, SyntaxError):
        return None
    return group if isinstance(group, str) else None


def _loaded(solver: _Solver, entries: Sequence[tuple[str, str]], name: str | None) -> set[Value]:
    """The objects that entry points (``module:attr.attr``) name: of a project
    module, its values; of any other module, the external value of that name."""
    out: set[Value] = set()
    for entry, target in entries:
        if name is not None and entry != name:
            continue
        module, _, attrs = target.partition(":")
        canon = solver.canon(module)
        if canon not in solver.modules:
            out |= solver._ext(f"{module}.{attrs}" if attrs else module, "")
            continue
        values: set[Value] = {("m", canon)}
        for attr in attrs.split(".") if attrs else ():
            values = {got for v in values for got in solver.getattr(v, attr)}
        out |= values
    return out
