"""What the runtime guard records: a fork that ran (or was about to) while other threads were
alive, with the fork site and where each thread was started.

These records are shared by the guard, its JSON Lines log (schema in `LOG_SCHEMA`, documented
in docs/runtime.md), the pytest plugin and `fork-lint check --runtime-report`, so they are
plain data and round-trip through JSON. They are named tuples, not dataclasses: this module
is imported at interpreter start when `FORK_LINT_RUNTIME` is set, and that is cheaper.
"""

from __future__ import annotations

import os
import time
from typing import Any, NamedTuple

LOG_VERSION = 1

# Where a live thread came from; see `ThreadInfo.origin`.
ORIGINS = ("threading", "_thread", "main", "before-install", "foreign", "native")

# The sink names used in records; multiprocessing and process pools fork through `os.fork`
# and are told apart by the rule.
SINK_FORK = "os.fork"
SINK_FORKPTY = "os.forkpty"
SINK_PREEXEC = "subprocess.Popen(preexec_fn)"
SINK_MULTIPROCESSING = "multiprocessing.popen_fork.Popen"
SINK_UNKNOWN = "fork"  # seen only by os.register_at_fork: a fork that was not intercepted


class Site(NamedTuple):
    """A place in the code: the absolute file, 1-based line and qualified function name."""

    file: str
    line: int
    function: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function}

    @classmethod
    def from_json(cls, obj: object) -> Site:
        if not isinstance(obj, dict):
            raise ValueError(f"a site must be an object, got {obj!r}")
        file, line, function = obj.get("file"), obj.get("line"), obj.get("function")
        if not isinstance(file, str) or not isinstance(line, int) or isinstance(line, bool):
            raise ValueError(f"a site needs a string `file` and an integer `line`: {obj!r}")
        return cls(file, line, function if isinstance(function, str) else "")


class ThreadInfo(NamedTuple):
    """One thread that was alive, other than the forking one.

    `origin`: "threading" (started through `threading.Thread.start` while the guard was
    installed), "_thread" (`_thread.start_new_thread`), "main" (the main thread, when another
    thread forks), "before-install" (started before the guard was installed), "foreign" (a
    `threading._DummyThread`: a thread created outside Python that called into it) or
    "native" (an OS thread Python knows nothing about, e.g. from a C extension; Linux only).
    """

    name: str
    ident: int | None
    native_id: int | None
    daemon: bool | None
    origin: str
    started_at: Site | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ident": self.ident,
            "native_id": self.native_id,
            "daemon": self.daemon,
            "origin": self.origin,
            "started_at": None if self.started_at is None else self.started_at.to_json(),
        }

    @classmethod
    def from_json(cls, obj: object) -> ThreadInfo:
        if not isinstance(obj, dict):
            raise ValueError(f"a thread must be an object, got {obj!r}")
        started = obj.get("started_at")
        origin = obj.get("origin")
        return cls(
            name=str(obj.get("name", "")),
            ident=_opt_int(obj.get("ident")),
            native_id=_opt_int(obj.get("native_id")),
            daemon=obj.get("daemon") if isinstance(obj.get("daemon"), bool) else None,
            origin=origin if origin in ORIGINS else "before-install",
            started_at=None if started is None else Site.from_json(started),
        )

    def describe(self, cwd: str | None = None) -> str:
        """`thread 'name' (daemon) started at app.py:12 in main`, or why no site is known."""
        if self.origin == "native":
            return (
                f"native thread {self.native_id} ({self.name!r}) that Python did not start: "
                "a C extension or library thread"
            )
        flags = " (daemon)" if self.daemon else ""
        text = f"thread {self.name!r}{flags}"
        if self.started_at is not None:
            return f"{text} started at {display_site(self.started_at, cwd)}"
        reason = {
            "main": "is the main thread",
            "before-install": "was started before fork-lint's guard was installed",
            "foreign": "was started outside Python (a C extension or an embedding application)",
            "threading": "was started by the standard library with no caller outside it",
            "_thread": "was started by the standard library with no caller outside it",
        }[self.origin]
        return f"{text} {reason}"


class Hazard(NamedTuple):
    """A fork with other threads alive. `blocked`: the guard refused it (mode "raise")."""

    rule: str
    sink: str
    site: Site | None  # first frame outside the standard library and fork-lint
    stack: tuple[Site, ...]  # frames outside the standard library, innermost first
    threads: tuple[ThreadInfo, ...]
    mode: str
    blocked: bool
    pid: int
    timestamp: float
    # FRK003: the user's frames that created the executor forking (innermost first); its
    # workers fork at a later `submit()`, while the static finding is at the constructor.
    created_at: tuple[Site, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """One line of the log; see `LOG_SCHEMA`."""
        return {
            "version": LOG_VERSION,
            "rule": self.rule,
            "sink": self.sink,
            "site": None if self.site is None else self.site.to_json(),
            "stack": [site.to_json() for site in self.stack],
            "threads": [thread.to_json() for thread in self.threads],
            "mode": self.mode,
            "blocked": self.blocked,
            "pid": self.pid,
            "timestamp": _iso(self.timestamp),
            "created_at": [site.to_json() for site in self.created_at],
        }

    @classmethod
    def from_json(cls, obj: object) -> Hazard:
        if not isinstance(obj, dict):
            raise ValueError("a record must be a JSON object")
        rule, threads, stack = obj.get("rule"), obj.get("threads"), obj.get("stack", [])
        if not isinstance(rule, str) or not isinstance(threads, list):
            raise ValueError("a record needs a string `rule` and a `threads` array")
        created = obj.get("created_at", [])  # absent from logs of older versions
        if not isinstance(stack, list) or not isinstance(created, list):
            raise ValueError("`stack` and `created_at` must be arrays")
        site = obj.get("site")
        return cls(
            rule=rule,
            sink=str(obj.get("sink", "")),
            site=None if site is None else Site.from_json(site),
            stack=tuple(Site.from_json(s) for s in stack),
            threads=tuple(ThreadInfo.from_json(t) for t in threads),
            mode=str(obj.get("mode", "")),
            blocked=obj.get("blocked") is True,
            pid=_opt_int(obj.get("pid")) or 0,
            timestamp=_parse_iso(obj.get("timestamp")),
            created_at=tuple(Site.from_json(s) for s in created),
        )


def display_path(path: str, cwd: str | None = None) -> str:
    """`path` relative to `cwd` (default: the current directory) when it lies under it."""
    if path.startswith("<"):
        return path
    base = os.getcwd() if cwd is None else cwd
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return path
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def display_site(site: Site, cwd: str | None = None) -> str:
    return f"{display_path(site.file, cwd)}:{site.line} in {site.function}"


def _what(hazard: Hazard) -> str:
    if hazard.rule == "FRK002":
        return "a multiprocessing process started with the 'fork' start method"
    if hazard.rule == "FRK003":
        return "a ProcessPoolExecutor worker started with the 'fork' start method"
    if hazard.sink == SINK_PREEXEC:
        return "a subprocess with `preexec_fn`"
    if hazard.sink == SINK_UNKNOWN:
        return "a fork that fork-lint did not intercept"
    return f"`{hazard.sink}()`"


def format_hazard(hazard: Hazard, cwd: str | None = None) -> str:
    """A few lines naming the fork site, each live thread's start site and the rule."""
    from fork_lint.rules import BY_CODE  # only when there is something to say

    count = len(hazard.threads)
    others = f"{count} other thread{'s' if count != 1 else ''}"
    rule = BY_CODE.get(hazard.rule)
    tag = f"{hazard.rule} {rule.name}" if rule is not None else hazard.rule
    if hazard.blocked:
        verb = "is" if count == 1 else "are"
        head = f"fork-lint refused {_what(hazard)}: {others} {verb} alive [{tag}]"
    else:
        verb = "was" if count == 1 else "were"
        head = f"{_what(hazard)} ran while {others} {verb} alive [{tag}]"
    lines = [head]
    site = "unknown (no frame outside the standard library)"
    if hazard.site is not None:
        site = display_site(hazard.site, cwd)
    lines.append(f"  fork site: {site}")
    if hazard.created_at:
        lines.append(f"  pool created at: {display_site(hazard.created_at[0], cwd)}")
    caller = _first_outside_site_packages(hazard.stack)
    if caller is not None and caller != hazard.site:
        lines.append(f"  called from: {display_site(caller, cwd)}")
    lines.extend(f"  {thread.describe(cwd)}" for thread in hazard.threads)
    if hazard.mode == "raise" and not hazard.blocked:
        lines.append(
            "  (this fork did not go through a function fork-lint wraps, so it could not be "
            "stopped)"
        )
    if rule is not None:
        lines.append(f"  see {rule.doc_url}")
    return "\n".join(lines)


def _first_outside_site_packages(stack: tuple[Site, ...]) -> Site | None:
    """The first frame in the user's own code when the fork site is inside an installed library."""
    if not stack or not _in_site_packages(stack[0].file):
        return None
    return next((s for s in stack if not _in_site_packages(s.file)), None)


def _in_site_packages(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return "site-packages" in parts or "dist-packages" in parts


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _iso(timestamp: float) -> str:
    whole, millis = divmod(round(timestamp * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def _parse_iso(value: object) -> float:
    if not isinstance(value, str):
        return 0.0
    import calendar

    main, _, frac = value.rstrip("Z").partition(".")
    try:
        seconds = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return 0.0
    return seconds + (int(frac[:3].ljust(3, "0")) / 1000 if frac.isdigit() else 0.0)


_SITE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file", "line", "function"],
    "properties": {
        "file": {"type": "string"},
        "line": {"type": "integer", "minimum": 0},
        "function": {"type": "string"},
    },
    "additionalProperties": False,
}

LOG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "fork-lint runtime hazard (one line of the JSON Lines log)",
    "type": "object",
    "required": [
        "version",
        "rule",
        "sink",
        "site",
        "stack",
        "threads",
        "mode",
        "blocked",
        "pid",
        "timestamp",
    ],
    "properties": {
        "version": {"const": LOG_VERSION},
        "rule": {"type": "string", "pattern": "^FRK[0-9]{3}$"},
        "sink": {"type": "string"},
        "site": {"oneOf": [_SITE_SCHEMA, {"type": "null"}]},
        "stack": {"type": "array", "items": _SITE_SCHEMA},
        "threads": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "ident", "native_id", "daemon", "origin", "started_at"],
                "properties": {
                    "name": {"type": "string"},
                    "ident": {"type": ["integer", "null"]},
                    "native_id": {"type": ["integer", "null"]},
                    "daemon": {"type": ["boolean", "null"]},
                    "origin": {"enum": list(ORIGINS)},
                    "started_at": {"oneOf": [_SITE_SCHEMA, {"type": "null"}]},
                },
                "additionalProperties": False,
            },
        },
        "mode": {"enum": ["warn", "raise", "log"]},
        "blocked": {"type": "boolean"},
        "pid": {"type": "integer"},
        "timestamp": {"type": "string"},
        "created_at": {"type": "array", "items": _SITE_SCHEMA},
    },
    "additionalProperties": False,
}
