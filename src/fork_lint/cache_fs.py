"""Cache directories handled without ever following a symbolic link.

The default cache lives inside the analysed tree, which may come from anyone: a
repository can commit ``.fork_lint_cache/<version>/results`` as a link to the
user's home, or a dangling ``.gitignore`` link pointing where a file should not
be created. So every directory below the cache root is opened relative to its
parent with ``O_NOFOLLOW | O_DIRECTORY``, every entry with ``O_NOFOLLOW``, new
files are created with ``O_EXCL``, and renames and deletions name a file in a
directory descriptor that was opened that way. A link anywhere inside the cache
is refused, never followed. Only the root itself may be a link, and only when
the user named it (``--cache-dir``, ``$FORK_LINT_CACHE_DIR``).

Where the platform has no ``dir_fd`` support (Windows), the same checks are made
on paths with ``lstat`` before each use.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from contextlib import suppress

from fork_lint.fsio import read_fd

__all__ = ["CacheDir", "RefusedLink"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)
# Descriptor-relative calls need all of these; otherwise fall back to paths.
_AT = bool(
    _NOFOLLOW
    and _DIRECTORY
    and {os.open, os.mkdir, os.unlink, os.rename, os.stat} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
)


_NOT_DIR = "a symbolic link or not a directory"


class RefusedLink(OSError):
    """A symbolic link (or a non-directory) where the cache needs a directory."""


class CacheDir:
    """One directory of the cache, opened without following a link.

    ``fd`` is its descriptor (``None`` on platforms without ``dir_fd``, where
    ``path`` is used after an ``lstat`` check). Call `close` when done.
    """

    def __init__(self, path: str, fd: int | None) -> None:
        self.path = path
        self.fd = fd

    # -- opening ------------------------------------------------------------
    @classmethod
    def open_root(cls, path: str, *, follow: bool, create: bool) -> CacheDir | None:
        """The cache root; ``None`` if it does not exist and ``create`` is false.

        ``follow``: the user named this directory, so links on the way to it are
        theirs to choose. Otherwise the root itself must not be a link (its parent
        is the project root, which the user chose).
        """
        if create:
            try:
                if follow:
                    os.makedirs(path, exist_ok=True)
                else:
                    os.mkdir(path)
            except FileExistsError:
                pass
        if not _AT:
            try:
                info = os.stat(path) if follow else os.lstat(path)
            except FileNotFoundError:
                return None
            if not stat.S_ISDIR(info.st_mode):
                raise RefusedLink(errno.ELOOP, _NOT_DIR, path)
            return cls(path, None)
        fd = _open_dir(path, path, 0 if follow else _NOFOLLOW, None)
        return None if fd is None else cls(path, fd)

    def sub(self, name: str, *, create: bool) -> CacheDir | None:
        """A subdirectory; ``None`` if missing and not ``create``. `RefusedLink` if
        ``name`` is a link or a file."""
        path = os.path.join(self.path, name)
        if create:
            try:
                if self.fd is None:
                    os.mkdir(path)
                else:
                    os.mkdir(name, dir_fd=self.fd)
            except FileExistsError:
                pass
        if self.fd is None:
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                return None
            if not stat.S_ISDIR(info.st_mode):
                raise RefusedLink(errno.ELOOP, _NOT_DIR, path)
            return CacheDir(path, None)
        fd = _open_dir(name, path, _NOFOLLOW, self.fd)
        return None if fd is None else CacheDir(path, fd)

    def close(self) -> None:
        if self.fd is not None:
            with suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def __enter__(self) -> CacheDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- files --------------------------------------------------------------
    def _open_file(self, name: str, flags: int, mode: int = 0o600) -> int:
        flags |= _NOFOLLOW | _BINARY
        if self.fd is not None:
            return os.open(name, flags, mode, dir_fd=self.fd)
        path = os.path.join(self.path, name)
        with suppress(FileNotFoundError):
            if stat.S_ISLNK(os.lstat(path).st_mode):
                raise OSError(errno.ELOOP, "a symbolic link", path)
        return os.open(path, flags, mode)

    def read(self, name: str, limit: int) -> bytes:
        """The content of regular file ``name`` (not a link, not a FIFO or device, at
        most ``limit`` bytes); `OSError` otherwise."""
        fd = self._open_file(name, os.O_RDONLY | _NONBLOCK)
        try:
            return read_fd(fd, limit)
        finally:
            os.close(fd)

    def read_head(self, name: str, size: int) -> bytes:
        """The first ``size`` bytes of regular file ``name``, b"" for anything else."""
        try:
            fd = self._open_file(name, os.O_RDONLY | _NONBLOCK)
        except OSError:
            return b""
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return b""
            return os.read(fd, size)
        except OSError:
            return b""
        finally:
            os.close(fd)

    def create_new(self, name: str, data: bytes, mode: int = 0o644) -> bool:
        """Create ``name`` with ``data`` unless something (a file, a link, even a
        dangling one) is already there; whether it was created."""
        try:
            fd = self._open_file(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except (FileExistsError, RefusedLink):
            return False
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        return True

    def replace(self, name: str, data: bytes) -> None:
        """Write ``name`` atomically: a new temporary file (``O_EXCL``, so never
        through a link planted under its name), renamed over ``name``. A link at
        ``name`` is replaced, not followed."""
        tmp = f".tmp-{os.urandom(8).hex()}"
        fd = self._open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            if self.fd is not None:
                os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            else:
                os.replace(os.path.join(self.path, tmp), os.path.join(self.path, name))
        except BaseException:
            with suppress(OSError):
                self.unlink(tmp)
            raise

    def unlink(self, name: str) -> None:
        if self.fd is not None:
            os.unlink(name, dir_fd=self.fd)
        else:
            os.unlink(os.path.join(self.path, name))

    def prune(self, keep: int, ours: Callable[[str], bool], header: bytes) -> None:
        """Delete all but the ``keep`` newest regular files whose name ``ours``
        accepts and which start with ``header``; nothing else is touched."""
        try:
            with os.scandir(self.fd if self.fd is not None else self.path) as it:
                candidates = []
                for entry in it:
                    if not ours(entry.name) or not entry.is_file(follow_symlinks=False):
                        continue
                    with suppress(OSError):
                        mtime = entry.stat(follow_symlinks=False).st_mtime_ns
                        candidates.append((mtime, entry.name))
        except OSError:
            return
        if len(candidates) <= keep:
            return
        candidates.sort(reverse=True)
        for _, name in candidates[keep:]:
            if self.read_head(name, len(header)) == header:
                with suppress(OSError):
                    self.unlink(name)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _open_dir(name: str, path: str, nofollow: int, dir_fd: int | None) -> int | None:
    """A descriptor of the directory ``name`` (``path`` in messages); ``None`` if it
    is missing, `RefusedLink` if it is a link (with ``nofollow``) or a file."""
    try:
        return os.open(name, os.O_RDONLY | _DIRECTORY | nofollow, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise RefusedLink(exc.errno, _NOT_DIR, path) from None
        raise
