"""What the command line's modules share: exit codes, formats, `--config`, output."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXPLAIN_FORMATS",
    "GRAPH_FORMATS",
    "RULE_FORMATS",
    "ConfigOptionError",
    "config_option",
    "error",
    "write_output",
]

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as the shell reports a tool SIGPIPE killed
EXPLAIN_FORMATS = ("text", "dot", "svg", "png")  # check --explain-path
GRAPH_FORMATS = ("json", "dot", "svg", "png")
RULE_FORMATS = ("text", "json")


class ConfigOptionError(Exception):
    """`--config` given two files."""


def config_option(values: Sequence[str]) -> tuple[Path | None, tuple[str, ...]]:
    """`--config`: at most one file; the other values are TOML 'KEY = VALUE' pairs.
    A value is a file when one exists at that path, or when it has no ``=``."""
    file: Path | None = None
    pairs: list[str] = []
    for value in values:
        if os.path.exists(value) or "=" not in value:
            if file is not None:
                raise ConfigOptionError(f"--config names two files: {file} and {value}")
            file = Path(value)
        else:
            pairs.append(value)
    return file, tuple(pairs)


def error(message: str) -> int:
    sys.stderr.write(f"fork-lint: error: {message}\n")
    return EXIT_ERROR


def write_output(data: bytes, output: Path | None) -> int:
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return EXIT_OK
    try:
        output.write_bytes(data)
    except OSError as exc:
        return error(f"cannot write {output}: {exc.strerror or exc}")
    return EXIT_OK
