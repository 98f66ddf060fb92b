"""Where a process pool was created, for the forks it makes later.

A `ProcessPoolExecutor` forks its workers at its first `submit()` or `map()` (or, with
`max_tasks_per_child`, from its manager thread), while fork-lint reports FRK003 at the
constructor. The guard wraps the constructor to keep the user's frames on the executor,
and a fork made inside the executor's code looks them up (`created_at`), so the log
names both places and `--runtime-report` can match the finding.

`concurrent.futures.process` imports all of multiprocessing (30 ms), which the guard
must not add to every interpreter start: unless it is imported already, the wrapper is
installed when something imports it, by a meta path finder that steps aside for every
other module.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from types import FrameType, ModuleType
from typing import Any

from fork_lint.runtime._frames import user_stack
from fork_lint.runtime.hazard import Site

POOL_MODULE = "concurrent.futures.process"
_CREATED_ATTR = "_fork_lint_created_at"  # set on each executor created under the guard
_POOL_FILE = "concurrent/futures/process.py"


def record_creation(executor: object, frame: FrameType | None) -> None:
    """Keep the user's frames that create `executor` (a subclass's `__init__` included)."""
    namespace = getattr(executor, "__dict__", None)
    if isinstance(namespace, dict) and _CREATED_ATTR not in namespace:
        namespace[_CREATED_ATTR] = tuple(user_stack(frame)[0])


def created_at(frame: FrameType | None) -> tuple[Site, ...]:
    """The creation frames of the executor whose code is forking, from the fork's frame
    outwards; () when the fork does not come from an executor the guard saw created."""
    while frame is not None:
        if frame.f_code.co_filename.replace("\\", "/").endswith(_POOL_FILE):
            owner = frame.f_locals.get("self")
            namespace = getattr(owner, "__dict__", None)
            if isinstance(namespace, dict):
                sites = namespace.get(_CREATED_ATTR)
                if isinstance(sites, tuple):
                    return sites
        frame = frame.f_back
    return ()


class _PatchingLoader:
    """The module's own loader, which calls `on_load(module)` once it has run."""

    def __init__(self, loader: Any, on_load: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._on_load = on_load

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._on_load(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, ... for inspect
        return getattr(self._loader, name)


class OnImport:
    """A meta path finder that hands `name`'s spec on from the other finders, with a loader
    that calls `on_load(module)` after the module ran."""

    def __init__(self, name: str, on_load: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.on_load = on_load

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _PatchingLoader(spec.loader, self.on_load)
            return spec  # type: ignore[no-any-return]
        return None

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
