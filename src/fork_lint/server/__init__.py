"""`fork-lint server`: a language server for editors (LSP over stdio).

pygls and lsprotocol are an optional extra (``pip install 'fork-lint[server]'``):
the command line, pre-commit and CI never need them. This package's modules
that speak the protocol import them; `run` says what to install when they are
missing.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["run"]

MISSING = "fork-lint: error: `fork-lint server` needs pygls: pip install 'fork-lint[server]'\n"


def run(
    *,
    jobs: int | None = None,
    cache_dir: str | None = None,
    no_cache: bool = False,
    debounce: float | None = None,
    log_file: str | None = None,
) -> int:
    try:
        from fork_lint.server.lsp import DEBOUNCE, serve
    except ImportError as exc:
        if exc.name in ("pygls", "lsprotocol", "cattrs", "attrs") or "pygls" in str(exc):
            sys.stderr.write(MISSING)
            return 2
        raise
    from fork_lint.server.messages import Options

    if log_file is not None:
        logging.basicConfig(
            filename=log_file,
            level=logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
    if cache_dir is not None:  # from the server's working directory, as for check
        cache_dir = os.path.abspath(os.path.expanduser(cache_dir))
    serve(
        Options(jobs=jobs, cache_dir=cache_dir, no_cache=no_cache),
        DEBOUNCE if debounce is None else debounce,
    )
    return 0
