"""Unsaved buffers laid over the disk: standard input, an editor's open files.

A check may be asked about a file as an editor holds it, or as piped to
``--stdin-filename``: the buffer is analysed in place of the file's content on
disk (the file need not exist), within its project. Every stage that reads a
file's text goes through the overlay: the index (`project.index_project`), the
reporters' code frames (`read_lines`), baselines' fingerprints, and the fixes,
whose changes to a buffer are kept in memory (`written`) instead of written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fork_lint.fixes.apply import DiskFile, DiskSources
from fork_lint.output import read_source_lines, split_source_lines
from fork_lint.project import decode_source, display_path

__all__ = ["BufferSources", "Overlay"]


def shown_path(path: str | Path, cwd: Path) -> str:
    """The name a file is reported by (`project.display_path` of its absolute path)."""
    return display_path(Path(os.path.abspath(cwd / path)), cwd)


@dataclass
class Overlay:
    """Buffers by the name the file is reported by.

    A buffer given as text (an editor's) is analysed as UTF-8; one given as bytes
    (standard input) as a file with those bytes, its encoding declared as in a
    file (PEP 263), and is read as text by the reporters and the fixes.
    """

    cwd: Path
    texts: dict[str, str] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)  # what the index reads
    _sources: BufferSources | None = None

    @classmethod
    def of(cls, sources: Mapping[str, str | bytes], cwd: Path) -> Overlay:
        overlay = cls(cwd)
        for path, content in sources.items():
            shown = shown_path(path, cwd)
            if isinstance(content, bytes):
                overlay.data[shown] = content
                try:
                    overlay.texts[shown] = decode_source(content)
                except (SyntaxError, UnicodeDecodeError, LookupError):
                    overlay.texts[shown] = content.decode("utf-8", "replace")
            else:
                overlay.texts[shown] = content
                overlay.data[shown] = content.encode("utf-8", "surrogateescape")
        return overlay

    def holds(self, path: str | Path) -> bool:
        return bool(self.texts) and shown_path(path, self.cwd) in self.texts

    def new_files(self, found: Iterable[Path], cwd: Path) -> list[Path]:
        """Buffers of files that the discovery did not list (they are not on disk)."""
        if not self.texts:
            return []
        listed = {shown_path(p, cwd) for p in found}
        return [Path(path) for path in self.texts if path not in listed]

    def read_lines(self, path: str) -> list[str] | None:
        """A file's lines as the reporters read them, from its buffer if it has one."""
        text = self.texts.get(path)
        if text is None:
            return read_source_lines(str(self.cwd / path) if not os.path.isabs(path) else path)
        return split_source_lines(text)

    def sources(self) -> BufferSources:
        """The fix stage's reader and writer (one per run: it remembers what it read).
        When the run checks buffers only (standard input), fixes write no file."""
        if self._sources is None:
            self._sources = BufferSources(self.cwd, buffers=dict(self.texts))
        return self._sources

    def written(self) -> dict[str, str]:
        """The new text of every buffer a fix changed."""
        return dict(self._sources.changed) if self._sources is not None else {}

    def forget_disk(self) -> None:
        """Read the files again: what is on disk changed since they were read."""
        if self._sources is not None:
            old = self._sources
            self._sources = BufferSources(self.cwd, buffers={**old.buffers, **old.changed})
            self._sources.changed = dict(old.changed)


@dataclass
class BufferSources(DiskSources):
    """`fixes.apply.DiskSources` for which some files are buffers: read from memory,
    and "written" by keeping the new text (`changed`), never touching the disk."""

    buffers: dict[str, str] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)

    def read(self, path: str) -> str | None:
        if path in self.buffers and path not in self.files:
            text = self.changed.get(path, self.buffers[path])
            self.files[path] = DiskFile(text.encode("utf-8", "surrogateescape"), "utf-8", text)
        return super().read(path)

    def lacks(self, path: str, word: str) -> bool:
        if path in self.buffers:
            self.read(path)  # decided from the buffer's bytes, never the disk's
        return super().lacks(path, word)

    def stale(self, path: str) -> bool:
        return False if path in self.buffers else super().stale(path)

    def refuses(self, path: str) -> str | None:
        """Why a fix may not write `path`: with buffers, a fix that also changes a
        file on disk would leave the two out of step (the buffer is not saved)."""
        if self.buffers and path not in self.buffers:
            return "a fix of an unsaved buffer would also change this file on disk"
        return None

    def write(self, path: str, text: str) -> str | None:
        if path not in self.buffers:
            return super().write(path, text)
        self.changed[path] = text
        self.files[path] = DiskFile(text.encode("utf-8", "surrogateescape"), "utf-8", text)
        return None
