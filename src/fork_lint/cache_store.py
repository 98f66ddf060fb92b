"""Authenticated cache entries under one directory, and when a directory is trusted.

An entry is ``magic, kind, key, HMAC-SHA256, payload``. The HMAC covers
everything before and after it, under this user's secret (`cache_key`): an
entry that some other user or a repository wrote, even one whose checksum was
recomputed, does not verify and is rebuilt, never used. The key in the header
must be the one the entry is looked up by, so a valid entry copied under
another name is refused too.

A cache directory is not used at all (neither read nor written, with one
warning) when:

- it, or any directory inside it, is a symbolic link (the root may be one when
  the user named it with ``--cache-dir`` or ``$FORK_LINT_CACHE_DIR``), see
  `cache_fs`;
- it is inside a git work tree and git tracks a file under it: a committed
  cache is the repository's, not this user's;
- this user's key cannot be trusted (a link, another owner, readable by others).

Entries are read only if they are regular files of at most `MAX_ENTRY_BYTES`;
a link, FIFO or device in their place is a miss.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import re
import sys
import weakref
from contextlib import suppress
from pathlib import Path
from typing import Any, cast

from fork_lint import __version__
from fork_lint.cache_fs import CacheDir, RefusedLink
from fork_lint.cache_key import UntrustedKey, load_key
from fork_lint.fsio import printable

__all__ = ["HEADER", "MAX_ENTRY_BYTES", "EntryStore", "tracked_by_git"]

_MAGIC = b"FRKLC\x02"  # \x01 entries carried a plain checksum
FACTS, RESULTS, PROPOSAL = b"F", b"R", b"P"  # the kinds of entries
ANALYSIS, DIGESTS, WORDS = b"A", b"M", b"W"
HEADER = len(_MAGIC) + 1 + 32 + 32  # magic, kind, key, HMAC(magic, kind, key, payload)
# The digests map is about 20 MB at its largest; facts of the largest file
# fork-lint parses (fsio.MAX_FILE_BYTES) stay well below this.
MAX_ENTRY_BYTES = 256 * 1024 * 1024
_HEX_KEY = re.compile(r"[0-9a-f]{64}")
_WARNED: set[str] = set()


def _warn(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        sys.stderr.write(f"fork-lint: warning: {printable(message)}\n")


def _work_tree(path: Path) -> bool:
    return any(os.path.lexists(directory / ".git") for directory in (path, *path.parents))


def tracked_by_git(root: Path) -> bool:
    """Whether ``root`` is inside a git work tree and git tracks a file under it.

    git runs only when a ``.git`` is found above ``root``, through `vcs.run_git`
    (nothing the repository configures is run). If git is missing or fails, the
    answer is no: the entries are authenticated anyway.
    """
    absolute = Path(os.path.abspath(root))
    if not _work_tree(absolute):
        return False
    from fork_lint.vcs import VcsError, run_git

    # From the directory above: git never runs inside a root that is a link.
    cwd = absolute.parent
    while not cwd.is_dir() and cwd.parent != cwd:
        cwd = cwd.parent
    spec = os.path.relpath(absolute, cwd)
    try:
        listed = run_git(["--literal-pathspecs", "ls-files", "-z", "--", spec], cwd)
    except VcsError:
        return False
    return bool(listed.strip(b"\0"))


def _close_all(dirs: dict[tuple[str, ...], CacheDir]) -> None:
    for d in dirs.values():
        d.close()
    dirs.clear()


class EntryStore:
    """Reads and writes authenticated entries under one cache directory.

    Never raises for a cache problem: an unreadable or unauthenticated entry is a
    miss, a cache that cannot be written (read-only file system, no permission)
    turns writing off for the rest of the run, and a cache that must not be
    trusted (see the module docstring) is neither read nor written.

    ``explicit``: the user named the directory, so the root may be a link.
    ``secret`` and ``vetted`` are for worker processes, which get both from the
    process that already loaded the key and checked the directory.
    """

    def __init__(
        self,
        root: Path,
        *,
        explicit: bool = True,
        secret: bytes | None = None,
        vetted: bool = False,
        version: str = __version__,
    ) -> None:
        self.root = root
        self.version = version  # entries of other versions are in other directories
        self.base = root / version
        self.explicit = explicit
        self.writable = True
        self.hits = 0
        self.misses = 0
        self.rejected = 0  # entries present but corrupt, foreign or unauthenticated
        self._secret = secret
        self._vetted = vetted
        self._usable: bool | None = None  # decided on first use
        self._prepared = False
        self._dirs: dict[tuple[str, ...], CacheDir] = {}
        weakref.finalize(self, _close_all, self._dirs)

    # -- trust --------------------------------------------------------------
    @property
    def usable(self) -> bool:
        """Whether this cache may be read and written at all."""
        if self._usable is None:
            self._usable = self._trust()
        return self._usable

    def _trust(self) -> bool:
        if self._secret is None:
            try:
                self._secret = load_key()
            except (UntrustedKey, OSError, RuntimeError) as exc:  # RuntimeError: no home
                problem = str(exc)
                if isinstance(exc, OSError) and exc.strerror:
                    problem = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
                _warn(f"cache not used: no trusted key: {problem}")
                return False
        if not self._vetted and tracked_by_git(self.root):
            _warn(f"{self.root}: cache not used: git tracks files in it")
            return False
        return True

    @property
    def secret(self) -> bytes | None:
        """This user's key, once `usable` said yes (for worker processes)."""
        return self._secret if self.usable else None

    def _refuse(self, exc: RefusedLink) -> None:
        _warn(f"{exc.filename or self.root}: cache not used: {exc.strerror} (remove it)")
        self._usable = False
        self.close()

    def close(self) -> None:
        """Close the directories held open; the store opens them again if used."""
        _close_all(self._dirs)

    # -- directories --------------------------------------------------------
    def _dir(self, parts: tuple[str, ...], create: bool) -> CacheDir | None:
        """The directory ``root/parts...``, opened without following links."""
        held = self._dirs.get(parts)
        if held is not None:
            return held
        if not parts:
            opened = CacheDir.open_root(str(self.root), follow=self.explicit, create=create)
        else:
            parent = self._dir(parts[:-1], create)
            opened = parent.sub(parts[-1], create=create) if parent is not None else None
        if opened is not None and len(parts) <= 2:  # the root, version and kinds: few
            self._dirs[parts] = opened
        return opened

    def _location(self, kind: bytes, key: bytes) -> tuple[tuple[str, ...], str]:
        hexkey = key.hex()
        version = self.version
        if kind == FACTS:
            return (version, "facts", hexkey[:2]), hexkey[2:]
        if kind == DIGESTS:
            return (version,), "digests"
        if kind == WORDS:
            return (version,), "words"
        name = {PROPOSAL: "proposals", ANALYSIS: "analysis"}.get(kind, "results")
        return (version, name), hexkey

    def _release(self, parts: tuple[str, ...], directory: CacheDir) -> None:
        if parts not in self._dirs:
            directory.close()

    # -- raw entries --------------------------------------------------------
    def _mac(self, head: bytes, payload: bytes | memoryview) -> bytes:
        assert self._secret is not None
        mac = hmac.new(self._secret, head, hashlib.sha256)
        mac.update(payload)
        return mac.digest()

    def _read(self, kind: bytes, key: bytes) -> Any:
        """The payload of an entry, or `None` for a missing or untrustworthy one."""
        if not self.usable:
            return None
        parts, name = self._location(kind, key)
        try:
            directory = self._dir(parts, create=False)
            if directory is None:
                self.misses += 1
                return None
            try:
                blob = directory.read(name, MAX_ENTRY_BYTES)
            finally:
                self._release(parts, directory)
        except RefusedLink as exc:
            self._refuse(exc)
            return None
        except OSError:  # missing, a link, a FIFO or device, too large
            self.misses += 1
            return None
        head = b"".join((_MAGIC, kind, key))
        payload = memoryview(blob)[HEADER:]
        if (
            len(blob) <= HEADER
            or blob[: len(head)] != head
            or not hmac.compare_digest(blob[len(head) : HEADER], self._mac(head, payload))
        ):
            self.rejected += 1
            return None
        try:
            return marshal.loads(payload)
        except (EOFError, ValueError, TypeError):
            self.rejected += 1
            return None

    def _write(self, kind: bytes, key: bytes, data: object) -> None:
        if not (self.writable and self.usable):
            return
        try:
            payload = marshal.dumps(cast(Any, data))
        except ValueError:  # an unmarshallable value: a bug, but not worth failing the run
            return
        head = b"".join((_MAGIC, kind, key))
        blob = b"".join((head, self._mac(head, payload), payload))
        parts, name = self._location(kind, key)
        try:
            self._prepare()
            directory = self._dir(parts, create=True)
            if directory is None:
                raise FileNotFoundError(str(self.root))
            try:
                directory.replace(name, blob)
            finally:
                self._release(parts, directory)
        except RefusedLink as exc:
            self._refuse(exc)
        except OSError:
            self.writable = False

    def _prepare(self) -> None:
        """Create the root with a .gitignore and CACHEDIR.TAG, once per run; neither
        is written through a link (a dangling one included) or over a file."""
        if self._prepared:
            return
        root = self._dir((), create=True)
        if root is None:
            raise FileNotFoundError(str(self.root))
        for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            with suppress(OSError):
                root.create_new(name, text.encode())
        self._prepared = True

    def _prune(self, directory: str, keep: int) -> None:
        """Keep the newest ``keep`` entries of a kind; older ones belong to states of
        the project that are gone. Only regular files named like an entry and
        starting like one of this kind are ever deleted."""
        kind = {"results": RESULTS, "analysis": ANALYSIS, "proposals": PROPOSAL}[directory]
        try:
            opened = self._dir((self.version, directory), create=False)
        except RefusedLink as exc:
            self._refuse(exc)
            return
        except OSError:
            return
        if opened is not None:
            opened.prune(keep, lambda name: _HEX_KEY.fullmatch(name) is not None, _MAGIC + kind)


_GITIGNORE = "# Automatically created by fork-lint.\n*\n"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by fork-lint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
