"""Install the guard from the environment at interpreter start.

`fork_lint_runtime.pth` (installed into site-packages with fork-lint) imports this module and
calls `main()` only when `FORK_LINT_RUNTIME` or `FORK_LINT_RUNTIME_LOG` is set, so a service can
be checked without code changes and other processes pay one environment look-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

_OFF = ("0", "off", "false", "no")
_ON = ("1", "on", "true", "yes")


def mode_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The mode asked for by the environment, None for off; ValueError for a bad value.

    `FORK_LINT_RUNTIME=warn|raise|log` (`1` means warn); `FORK_LINT_RUNTIME_LOG=path` alone
    means log mode.
    """
    env = os.environ if environ is None else environ
    raw = env.get("FORK_LINT_RUNTIME", "")
    value = raw.strip().lower()
    if not value:
        return "log" if env.get("FORK_LINT_RUNTIME_LOG") else None
    if value in _OFF:
        return None
    if value in _ON:
        return "warn"
    if value in ("warn", "raise", "log"):
        return value
    raise ValueError(f"FORK_LINT_RUNTIME={raw!r}: expected warn, raise, log or off")


def main() -> None:
    try:
        mode = mode_from_env()
        if mode is None:
            return
        from fork_lint.runtime.guard import install

        install(mode)
    except Exception as exc:  # never break interpreter start-up
        sys.stderr.write(f"fork-lint: runtime guard not installed: {exc}\n")
