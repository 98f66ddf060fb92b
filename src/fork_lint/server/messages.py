"""What the language server and its analysis process say to each other.

The server sends a job; the analysis process answers with one or more replies,
the last one `final`. Everything here is plain data that both ends import, sent
pickled through the pipes of a process the server started itself.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from fork_lint.model import Finding

__all__ = [
    "CheckJob",
    "Checked",
    "Failed",
    "FindingId",
    "FixJob",
    "Fixed",
    "Job",
    "Options",
    "Reply",
    "Snapshot",
    "finding_id",
    "read_message",
    "write_message",
]

# (code, path, function, sink, line, column): one finding, across two analyses of
# the same text.
FindingId = tuple[str, str, str, str, int, int]


def finding_id(finding: Finding) -> FindingId:
    span = finding.location.span
    return (finding.code, finding.path, finding.function, finding.sink, span.line, span.col)


@dataclass(frozen=True)
class Options:
    """The server's command-line options that reach every check."""

    jobs: int | None = None  # processes that extract facts (None: the CPUs available)
    cache_dir: str | None = None
    no_cache: bool = False


@dataclass(frozen=True)
class Snapshot:
    """One project as the editor holds it: its open files and their unsaved text."""

    root: str  # absolute project root, the check's working directory
    paths: tuple[str, ...]  # open files of the project, absolute
    sources: Mapping[str, str]  # absolute path -> the editor's text
    versions: Mapping[str, int | None] = field(default_factory=dict)  # absolute path -> version


@dataclass(frozen=True)
class CheckJob:
    """Findings in (or through) the snapshot's files; then, if ``fixes``, the same
    findings with their proposed fixes, in a second reply."""

    snapshot: Snapshot
    fixes: bool = True


@dataclass(frozen=True)
class FixJob:
    """The changes the fixes of some findings make, through the safety gate:
    the findings in `targets`, or (``targets is None``) every finding in `path`."""

    snapshot: Snapshot
    targets: tuple[FindingId, ...] | None = None
    path: str | None = None  # as reported (relative to the root), for a whole file
    unsafe: bool | None = None  # None: the configuration's `unsafe-fixes`


Job = CheckJob | FixJob


@dataclass
class Checked:
    findings: list[Finding]
    # The lines the findings point into, as analysed: (path, 1-based line) -> text.
    # Columns are converted to the editor's units from these.
    lines: dict[tuple[str, int], str]
    with_fixes: bool
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    final: bool = True


@dataclass
class Fixed:
    changes: dict[str, tuple[str, str]]  # path as reported -> (text before, after)
    fixed: list[FindingId]
    warnings: list[str] = field(default_factory=list)
    final: bool = True


@dataclass
class Failed:
    """The job could not run: a configuration error (the message says it all), or
    an internal error (with the traceback)."""

    message: str
    traceback: str = ""
    final: bool = True


Reply = Checked | Fixed | Failed

_HEADER = struct.Struct("!Q")


def write_message(stream: BinaryIO, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: BinaryIO) -> object:
    """The next message; EOFError when the other end is gone."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def decode(data: bytes) -> object:
    return pickle.loads(data)


HEADER_SIZE = _HEADER.size


def size_of(header: bytes) -> int:
    (size,) = _HEADER.unpack(header)
    return int(size)
