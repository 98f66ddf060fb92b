"""Which functions and classes are analysed in several contexts (`graph.contexts`):
read from the facts alone, before solving. A function *starts with* a value when it
hands a value derived from it to something that starts a thread or forks: calls
a method the catalogue lists as starting (``pool.map``, ``p.start``), builds a
class given what it runs (``Thread(target=...)``), reads such a method with
``getattr``, or passes the value to another call (which may start with it)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any

from fork_lint.catalog.libraries import LIBRARY_THREAD_SOURCES, THREAD_BASE_CLASSES
from fork_lint.catalog.stdlib import STDLIB_THREAD_SOURCES
from fork_lint.index.facts import CallSite, Expr, Scope

__all__ = [
    "STARTED_CLASSES",
    "STARTERS",
    "fields_read",
    "last_call",
    "may_start",
    "parameters",
    "starting_names",
    "starting_sites",
    "starts_with",
    "stored_parameters",
]


def _starter_names() -> tuple[frozenset[str], frozenset[str]]:
    """The methods the catalogue lists as starting a thread that runs something
    given to them, or forking, and the classes given the callable when built."""
    methods = {"start", "submit", "map", "subprocess_exec", "subprocess_shell"}
    # Methods of the builtin containers are never one (boto3's `copy` starts
    # transfer threads; `dict.copy` starts nothing).
    containers = {n for kind in (dict, list, set) for n in dir(kind) if not n.startswith("_")}
    classes = {"Process", *(b.rpartition(".")[2] for b in THREAD_BASE_CLASSES)}
    for src in (*STDLIB_THREAD_SOURCES, *LIBRARY_THREAD_SOURCES):
        if src.target is None and src.run_method is None:
            continue
        for pattern in src.patterns:
            head, sep, method = pattern.rpartition("().")
            if sep and "*" not in method and method not in containers:
                methods.add(method)
                if src.target_from_alloc:
                    classes.add(head.rpartition(".")[2])
    return frozenset(methods), frozenset(classes)


STARTERS, STARTED_CLASSES = _starter_names()


def _bare(name: str) -> str:
    return name.partition("@")[0]  # a local's version (`t@2`) is the name `t`


def _mentions(expr: Any, names: set[Any], seeds: frozenset[Expr]) -> bool:
    """Does ``expr`` read one of ``names`` (locals, ``("call", id)`` results) or
    ``seeds`` (expressions)?"""
    if expr.__class__ is tuple and expr and expr[0].__class__ is str:
        if expr in seeds:
            return True
        tag = expr[0]
        if tag == "name":
            return _bare(expr[1]) in names
        if tag == "call":
            return expr in names
        return any(_mentions(part, names, seeds) for part in expr[1:])
    if expr.__class__ is tuple or expr.__class__ is list:
        return any(_mentions(part, names, seeds) for part in expr)
    return False


def starting_sites(sites: list[CallSite]) -> list[CallSite]:
    """The calls of a scope that can start: of a starter method, of a class given
    what it runs, or of ``getattr``."""
    out = []
    for site in sites:
        func = site["func"]
        if func[0] == "attr":
            if func[2] in STARTERS or func[2] in STARTED_CLASSES:
                out.append(site)
        elif func[0] == "name" and (_bare(func[1]) in STARTED_CLASSES or func[1] == "getattr"):
            out.append(site)
    return out


def starts_with(sc: Scope, sites: list[CallSite], seeds: Iterable[Expr]) -> bool:
    """Does the scope start with a value derived from ``seeds`` (its parameters or
    fields)? ``sites`` are the scope's calls. Derived: a local assigned from an
    expression that reads one, what calling one (or ``getattr`` on one) returns,
    an element iterating one gives."""
    starting = starting_sites(sites)
    if not starting:
        return False
    seed_set = frozenset(seeds)
    names: set[Any] = {_bare(s[1]) for s in seed_set if s[0] == "name"}
    grown = True
    while grown:
        grown = False
        for site in sites:
            key = ("call", site["id"])
            if key in names:
                continue
            func, args = site["func"], site["args"]
            if _mentions(func, names, seed_set) or (
                func == ("name", "getattr") and args and _mentions(args[0], names, seed_set)
            ):
                names.add(key)
                grown = True
        for target, value in sc["assigns"]:
            if (
                target[0] == "name"
                and _bare(target[1]) not in names
                and _mentions(value, names, seed_set)
            ):
                names.add(_bare(target[1]))
                grown = True
    for site in starting:
        func, args = site["func"], site["args"]
        if func[0] == "attr" and func[2] in STARTERS and _mentions(func[1], names, seed_set):
            return True
        if func == ("name", "getattr"):
            if (
                len(args) > 1
                and args[1][0] == "const"
                and args[1][1] in STARTERS
                and _mentions(args[0], names, seed_set)
            ):
                return True
            continue
        passed = [*args, *(e for _, e in site["kwargs"])]
        if any(_mentions(e, names, seed_set) for e in passed):
            return True
    return False


def parameters(sc: Scope, first: int) -> list[str]:
    names = [*sc["params"][first:], *sc["kwonly"]]
    return names + [n for n in (sc["vararg"], sc["kwarg"]) if n]


def stored_parameters(sc: Scope, sites: list[CallSite]) -> set[str]:
    """The fields of ``self`` a method stores a value derived from a parameter in."""
    me = sc["params"][0]
    params = set(parameters(sc, 1))
    if not params:
        return set()
    derived: set[Any] = set(params)
    grown = True
    while grown:
        grown = False
        for target, value in sc["assigns"]:
            if (
                target[0] == "name"
                and _bare(target[1]) not in derived
                and _mentions(value, derived, frozenset())
            ):
                derived.add(_bare(target[1]))
                grown = True
    return {
        target[2]
        for target, value in sc["assigns"]
        if target[0] == "attr"
        and target[1] == ("name", me)
        and _mentions(value, derived, frozenset())
    }


def fields_read(sc: Scope, sites: list[CallSite]) -> set[str]:
    me = ("name", sc["params"][0])
    out: set[str] = set()

    def walk(expr: Any) -> None:
        if expr.__class__ is tuple and expr and expr[0].__class__ is str:
            if expr[0] == "attr" and expr[1] == me:
                out.add(expr[2])
            for part in expr[1:]:
                walk(part)
        elif expr.__class__ is tuple or expr.__class__ is list:
            for part in expr:
                walk(part)

    for site in sites:
        walk((site["func"], site["args"], [e for _, e in site["kwargs"]]))
    for _, value in sc["assigns"]:
        walk(value)
    return out


def last_call(expr: Expr, calls: list[CallSite]) -> int:
    """The evaluation order of the last call whose result ``expr`` reads, -1 if none."""
    tag = expr[0]
    if tag == "call":
        return int(calls[expr[1]]["order"])
    last = -1
    for part in expr[1:]:
        if part.__class__ is tuple and part and part[0].__class__ is str:
            last = max(last, last_call(part, calls))
        elif part.__class__ is tuple or part.__class__ is list:
            for e in part:
                if e.__class__ is tuple and e and e[0].__class__ is str:
                    last = max(last, last_call(e, calls))
    return last


def starting_names(patterns: Iterable[str]) -> frozenset[str]:
    """The names a call of something that starts a thread, forks or runs an event
    loop ends with, from the catalogue's patterns (``threading.Thread().start``:
    ``start``; ``pymongo.MongoClient``: ``MongoClient``); builtins, which only
    carry values there, are left out, and so are the names of special methods and
    of the methods of builtin types and paths (``get``, ``copy``, ``open``: an
    anyio path's ``open`` runs on a worker thread, but most calls of ``open`` in a
    project are not that), which project code calls everywhere."""
    out: set[str] = set()
    for pattern in patterns:
        if pattern.startswith("builtins."):
            continue
        last = pattern.removesuffix("()").rpartition(".")[2].removesuffix("()")
        if last.isidentifier() and last not in _EVERYWHERE and not last.startswith("__"):
            out.add(last)
    return frozenset(out)


_EVERYWHERE = frozenset(
    name
    for kind in (dict, list, set, str, bytes, PurePath, Path)
    for name in dir(kind)
    if not name.startswith("_")
)


def _called_name(func: Expr) -> str | None:
    if func[0] == "name":
        return _bare(func[1])
    if func[0] == "attr":
        return str(func[2])
    return None


def may_start(
    scopes: Iterable[tuple[Scope, list[CallSite]]], names: frozenset[str], depth: int = 2
) -> set[str]:
    """The functions that may, by name, start a thread, fork or run an event loop
    within ``depth`` calls (``names``: see `starting_names`): those calling one of
    ``names``, then those calling a function (or constructing a class whose
    constructor) that does, by its last name. Only names: what a call resolves to
    is not known before solving, so this is generous near the calls that start,
    and blind past ``depth`` (through every call, by name alone, nearly every
    function of a large program would qualify); it decides where precision is
    spent, never what a call reaches."""
    callers: dict[str, list[str]] = {}
    scope_names: dict[str, str] = {}
    for sc, sites in scopes:
        qualname = sc["qualname"]
        scope_names[qualname] = sc["name"]
        for site in sites:
            name = _called_name(site["func"])
            if name is not None:
                callers.setdefault(name, []).append(qualname)
    found: set[str] = set()
    level = {n for n in names if n in callers}
    seen = set(level)
    for _ in range(depth):
        reached = {q for n in level for q in callers[n]} - found
        found |= reached
        level = set()
        for qualname in reached:
            short = scope_names[qualname]
            more = [short]
            if short in ("__init__", "__new__", "__post_init__", "__call__"):
                more.append(qualname.rpartition(".")[0].rpartition(".")[2])
            level |= {n for n in more if n not in seen and n in callers}
        seen |= level
    return found
