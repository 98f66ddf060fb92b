"""The per-user secret that authenticates cache entries.

A cache inside a checkout can be written by whoever wrote the checkout: a pull
request that commits a ``.fork_lint_cache/`` with made-up findings (its
checksums recomputed) would otherwise pass a CI gate. So every entry carries an
HMAC-SHA256 under a key that only this user's fork-lint knows, kept outside any
project:

- ``$FORK_LINT_KEY_FILE`` if set (tests, CI runners that want a fixed place);
- Linux and other POSIX systems: ``$XDG_CACHE_HOME/fork-lint/key``, else
  ``~/.cache/fork-lint/key``;
- macOS: ``~/Library/Caches/fork-lint/key``;
- Windows: ``%LOCALAPPDATA%\\fork-lint\\key``.

The key is 32 random bytes, created on first use with mode 0600 by writing a
new temporary file and linking it into place (``O_EXCL`` and ``link`` never
follow or replace anything, and two runs racing to create it agree on the
winner's). It is used only if it is a regular file (not a link), owned by this
user and readable by nobody else; otherwise fork-lint warns and runs without a
cache.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from contextlib import suppress
from pathlib import Path

__all__ = ["KEY_FILE_ENV", "UntrustedKey", "forget_loaded", "key_path", "load_key"]

KEY_FILE_ENV = "FORK_LINT_KEY_FILE"
KEY_BYTES = 32
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_LOADED: dict[str, bytes] = {}  # key file -> key, once per process


class UntrustedKey(Exception):
    """The key file exists but cannot be trusted or read."""


def user_cache_home() -> Path:
    """The platform's per-user cache directory."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the spec says relative values are to be ignored
        return Path(xdg)
    return Path.home() / ".cache"


def key_path() -> Path:
    override = os.environ.get(KEY_FILE_ENV)
    if override:
        return Path(override).expanduser()
    return user_cache_home() / "fork-lint" / "key"


def load_key() -> bytes:
    """This user's key, created if missing; `UntrustedKey` if it cannot be trusted,
    `OSError` if it can neither be read nor created."""
    path = key_path()
    cached = _LOADED.get(str(path))
    if cached is not None:
        return cached
    try:
        key = _read(path)
    except FileNotFoundError:
        key = _create(path)
    _LOADED[str(path)] = key
    return key


def _read(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno != errno.ENOENT and os.path.islink(path)):
            raise UntrustedKey(f"{path}: the key file is a symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        problem = _untrusted(info)
        if problem:
            raise UntrustedKey(f"{path}: {problem}")
        data = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != KEY_BYTES:
        raise UntrustedKey(f"{path}: not a fork-lint key ({len(data)} bytes, expected {KEY_BYTES})")
    return data


def _untrusted(info: os.stat_result) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return "the key file is not a regular file"
    if os.name == "nt":
        return None  # no POSIX owner or mode bits; the profile directory is private
    if info.st_uid != os.getuid():
        return f"the key file belongs to uid {info.st_uid}, not to you"
    if info.st_mode & 0o077:
        return (
            f"the key file has permissions {stat.S_IMODE(info.st_mode):o}; "
            "others must not read it (chmod 600)"
        )
    return None


def _create(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600)
    try:
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if anything, a link included, is there already
        except FileExistsError:
            return _read(path)  # another run created it first: use theirs
        except OSError:
            # A file system without hard links: exclusive creation, then the content.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600)
            try:
                os.write(fd, key)
            finally:
                os.close(fd)
    finally:
        with suppress(OSError):
            os.unlink(tmp)
    return _read(path)


def forget_loaded() -> None:
    """Drop the keys read in this process (tests that change the key file)."""
    _LOADED.clear()
