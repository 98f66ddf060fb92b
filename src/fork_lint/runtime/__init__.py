"""Runtime guard: confirm at run time what the checker predicts.

    import fork_lint.runtime
    fork_lint.runtime.install(mode="raise")   # or "warn" (default) or "log"

records where every thread is started and checks every fork for other live threads; a fork
with live threads is reported with its site in your code, each thread's start site and the
FRK rule that covers it. `FORK_LINT_RUNTIME=warn|raise|log` installs it at interpreter start
without code changes. Importing this package installs nothing. See docs/runtime.md.
"""

from __future__ import annotations

from fork_lint.runtime.guard import (
    DEFAULT_LOG,
    LOG_ENV,
    MODE_ENV,
    MODES,
    ForkWithThreadsError,
    ForkWithThreadsWarning,
    add_listener,
    allow_fork,
    install,
    installed_mode,
    other_threads,
    remove_listener,
    uninstall,
)
from fork_lint.runtime.hazard import LOG_SCHEMA, Hazard, Site, ThreadInfo, format_hazard

__all__ = [
    "DEFAULT_LOG",
    "LOG_ENV",
    "LOG_SCHEMA",
    "MODES",
    "MODE_ENV",
    "ForkWithThreadsError",
    "ForkWithThreadsWarning",
    "Hazard",
    "Site",
    "ThreadInfo",
    "add_listener",
    "allow_fork",
    "format_hazard",
    "install",
    "installed_mode",
    "other_threads",
    "remove_listener",
    "uninstall",
]
