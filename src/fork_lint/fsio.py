"""Reading files of the analysed tree, and showing names that came from its disk.

A checked-out tree may hold anything a file system can: a ``.py`` link to
``/dev/zero`` (reading it never ends, and fills memory), to a FIFO (opening or
reading it waits forever), a sparse file of terabytes, names that are not UTF-8.
Every file fork-lint reads from such a tree (sources, configuration, ignore
files, baselines) goes through `read_regular`, and every name printed goes
through `printable`.
"""

from __future__ import annotations

import errno
import os
import re
import stat

__all__ = [
    "MAX_FILE_BYTES",
    "FileTooLarge",
    "NotRegularFile",
    "find_executable",
    "kind_of",
    "printable",
    "read_regular",
]

# Above this a source file gets a diagnostic instead of being parsed. The
# largest real modules (generated tables, vendored bundles) are a few MB; at
# 32 MiB `ast` already needs gigabytes, and a larger "source" is almost always
# data or an attack on memory.
MAX_FILE_BYTES = 32 * 1024 * 1024

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


class NotRegularFile(OSError):
    """The path names a device, FIFO, socket or directory, not a regular file."""


class FileTooLarge(OSError):
    """The file is larger than the limit the caller set."""


def kind_of(mode: int) -> str:
    """What a file that is not regular is, for messages."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a file of unknown type"


def _not_regular(mode: int) -> NotRegularFile:
    return NotRegularFile(errno.EINVAL, f"not a regular file ({kind_of(mode)})")


def too_large(size: int, limit: int) -> FileTooLarge:
    return FileTooLarge(
        errno.EFBIG, f"file too large ({size:,} bytes; the limit is {limit:,} bytes)"
    )


def read_regular(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """The content of a regular file (after following links) of at most ``limit`` bytes.

    Anything else raises an `OSError` whose ``strerror`` says why, before
    anything is read: `NotRegularFile` for a device, FIFO or socket (which is
    not even opened, since opening some devices has effects), `FileTooLarge`
    past the limit. The file is opened non-blocking and checked again on the
    opened descriptor, so one swapped for a FIFO in between cannot hang the run.
    """
    before = os.stat(path)
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(before.st_mode)
    if before.st_size > limit:
        raise too_large(before.st_size, limit)
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_BINARY)
    try:
        return read_fd(fd, limit)
    finally:
        os.close(fd)


def read_fd(fd: int, limit: int) -> bytes:
    """Read an open descriptor that must be a regular file of at most ``limit`` bytes."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(info.st_mode)
    if info.st_size > limit:
        raise too_large(info.st_size, limit)
    chunks = []
    # One read of the expected size (plus one byte to see growth) is the common case.
    want = info.st_size + 1
    total = 0
    while True:
        chunk = os.read(fd, min(want, limit + 1 - total) or 1)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:  # it grew past the limit while being read
            raise too_large(total, limit)
        want = 1 << 20
    return b"".join(chunks)


# ---------------------------------------------------------------------------- names

_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str, backslash: str = "\\") -> str:
    """``text`` with every lone surrogate written out, so that it can be encoded.

    Names read from disk are decoded with ``surrogateescape``: a byte that is not
    UTF-8 (``b"\\xff"``) becomes a lone surrogate that no output can encode. It is
    shown as ``\\xff``, the byte; any other lone surrogate (from a string literal)
    as ``\\udXXX``. ``backslash`` is what to write for the backslash, ``"\\\\"``
    where the text is already inside a JSON string.
    """
    if text.isascii() or not _SURROGATE.search(text):
        return text

    def escape(match: re.Match[str]) -> str:
        code = ord(match[0])
        if 0xDC80 <= code <= 0xDCFF:
            return f"{backslash}x{code - 0xDC00:02x}"
        return f"{backslash}u{code:04x}"

    return _SURROGATE.sub(escape, text)


# ---------------------------------------------------------------------------- programs


def find_executable(name: str) -> str | None:
    """The absolute path of program ``name`` on PATH, never one found through a
    relative PATH entry ("", ".", "bin"): those are the working directory, which
    is the analysed tree. (``shutil.which`` also searches the working directory
    first on Windows, and so does a bare name given to ``subprocess`` there.)"""
    suffixes = [""]
    if os.name == "nt":
        suffixes = [e.lower() for e in os.environ.get("PATHEXT", ".EXE").split(os.pathsep) if e]
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not directory or not os.path.isabs(directory):
            continue
        for suffix in suffixes:
            candidate = os.path.join(directory, name + suffix)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None
