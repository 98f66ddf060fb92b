"""Find the user's frame on the Python stack: the first one outside the standard library
(threading, multiprocessing, concurrent.futures, asyncio, subprocess, pty, ...) and outside
fork-lint's runtime guard.

This runs on every thread start, so it walks `frame.f_back` by hand and classifies each file
name once (cached), instead of building a `traceback.StackSummary`.
"""

from __future__ import annotations

import os
from types import CodeType, FrameType

from fork_lint.runtime.hazard import Site


def _prefixes(directory: str) -> set[str]:
    """`directory` as a prefix ending in a separator, as given and with symlinks resolved."""
    return {os.path.join(v, "") for v in (os.path.abspath(directory), os.path.realpath(directory))}


_HERE = os.path.dirname(os.path.abspath(__file__))
# The standard library, found from a pure-Python module of it.
_ROOTS = tuple(sorted(_prefixes(os.path.dirname(os.__file__))))
# This guard, and the pytest plugin beside it: their frames are never the user's, even
# when fork-lint is installed under site-packages.
_OWN = tuple(sorted(_prefixes(_HERE)))
_OWN_FILES = frozenset(
    os.path.join(prefix, "pytest_plugin.py") for prefix in _prefixes(os.path.dirname(_HERE))
)
_THIRD_PARTY = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")

# co_filename -> (is internal, absolute path)
_CACHE: dict[str, tuple[bool, str]] = {}


def _classify(filename: str) -> tuple[bool, str]:
    if filename.startswith("<"):
        # "<frozen importlib._bootstrap>", "<frozen runpy>" are the standard library;
        # "<string>" (python -c), "<stdin>" and "<doctest ...>" are the user's code.
        info = (filename.startswith("<frozen "), filename)
    else:
        path = os.path.abspath(filename)
        internal = _internal_path(path)
        if not internal:
            real = os.path.realpath(path)
            internal = real != path and _internal_path(real)
        info = (internal, path)
    _CACHE[filename] = info
    return info


def _internal_path(path: str) -> bool:
    if path in _OWN_FILES or path.startswith(_OWN):
        return True
    return path.startswith(_ROOTS) and not any(part in path for part in _THIRD_PARTY)


def is_internal(filename: str) -> bool:
    info = _CACHE.get(filename)
    return (info if info is not None else _classify(filename))[0]


def _name(code: CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)  # co_qualname is 3.11+


def first_user_site(frame: FrameType | None) -> Site | None:
    """The innermost frame from `frame` outwards that is the user's; None if there is none."""
    cache = _CACHE
    while frame is not None:
        code = frame.f_code
        info = cache.get(code.co_filename)
        if info is None:
            info = _classify(code.co_filename)
        if not info[0]:
            return Site(info[1], frame.f_lineno, _name(code))
        frame = frame.f_back
    return None


def user_stack(frame: FrameType | None, limit: int = 20) -> tuple[list[Site], list[str]]:
    """The user's frames from `frame` outwards (at most `limit`), and the internal files
    passed through before the first of them (which tell a multiprocessing fork from a bare one).
    """
    stack: list[Site] = []
    internal: list[str] = []
    while frame is not None:
        code = frame.f_code
        info = _CACHE.get(code.co_filename)
        if info is None:
            info = _classify(code.co_filename)
        if info[0]:
            if not stack:
                internal.append(info[1])
        else:
            stack.append(Site(info[1], frame.f_lineno, _name(code)))
            if len(stack) >= limit:
                break
        frame = frame.f_back
    return stack, internal
