"""Type annotations as the classes they name (`Scope.annotations`).

An annotation stands for a value the analysis has none for (a parameter a
framework passes, an attribute set from outside): ``Optional["Redis"]``,
``Redis | None``, ``Union[Redis, StrictRedis]``, ``Annotated[Redis, ...]``,
``ClassVar[Redis]`` and a string holding any of these all name ``Redis``. A
generic class names its class (``Queue[int]`` is a ``Queue``); the solver drops
what names no instance (``Any``, ``object``, ``type``, containers of ``typing``
and ``builtins``).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable

from fork_lint.index.facts import Expr

__all__ = ["annotation_types", "is_type_checking"]

# Wrappers whose first argument is the type.
_FIRST = frozenset(
    ("Optional", "Annotated", "ClassVar", "Final", "InitVar", "Required", "NotRequired", "ReadOnly")
)
_MAX_DEPTH = 20
_MAX_STRING = 2000  # a longer string is not an annotation anyone wrote by hand


def annotation_types(node: ast.expr | None, name: Callable[[str], str]) -> tuple[Expr, ...]:
    """The classes ``node`` names, as expressions of the scope it is written in;
    ``name`` gives the name a read of an identifier there names (its version)."""
    out: list[Expr] = []
    if node is not None:
        _collect(node, name, out, 0)
    return tuple(out)


def _collect(node: ast.expr, name: Callable[[str], str], out: list[Expr], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str) and len(node.value) <= _MAX_STRING:
            parsed = _parse(node.value)
            if parsed is not None:
                _collect(parsed, name, out, depth + 1)
        return  # None, Ellipsis
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | Y
        _collect(node.left, name, out, depth + 1)
        _collect(node.right, name, out, depth + 1)
        return
    if isinstance(node, ast.Subscript):
        wrapper = _last_name(node.value)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if wrapper == "Union":
            for arg in args:
                _collect(arg, name, out, depth + 1)
        elif wrapper in _FIRST:
            if args:
                _collect(args[0], name, out, depth + 1)
        elif wrapper != "Literal":
            _collect(node.value, name, out, depth + 1)  # a generic class: `Queue[int]`
        return
    expr = _chain(node, name)
    if expr is not None and expr not in out:
        out.append(expr)


def _chain(node: ast.expr, name: Callable[[str], str]) -> Expr | None:
    """``a.b.C`` as an expression, None for anything else."""
    if isinstance(node, ast.Name):
        return ("name", name(node.id))
    if isinstance(node, ast.Attribute):
        base = _chain(node.value, name)
        return None if base is None else ("attr", base, node.attr)
    return None


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _parse(text: str) -> ast.expr | None:
    """A string annotation's expression; None when it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): only type checkers run it."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
