"""Proposed fixes cached per finding, for runs after an edit.

A proposal parses the files it rewrites with libcst, which costs more than the
analysis of a small project, and an edit elsewhere changes nothing about it. So
each proposal is stored with what it was made from: the files whose text or
facts it read (by their facts key, which covers the content), the answers to its
questions about the rest of the project (`FixContext.mentioned_elsewhere`,
`FixContext.path_of_module`, `FixContext.candidates`), and, if it looked at
every module's facts, the whole project's results key. It is reused only while
all of those are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fork_lint.cache import FactsCache, decode_findings, encode_findings, proposal_key
from fork_lint.fixes.context import FixContext
from fork_lint.fixes.options import FixOptions
from fork_lint.fixes.registry import attach, propose
from fork_lint.index.facts import ModuleFacts
from fork_lint.model import Finding


class RecordingContext(FixContext):
    """A `FixContext` that notes what a proposal depended on."""

    def __init__(self, base: FixContext) -> None:
        self._quiet = 0  # > 0 inside a query whose answer is recorded instead
        self.read: set[str] = set()
        self.mentions: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
        self.module_paths: list[tuple[str, str | None]] = []
        self.scans: list[tuple[str, tuple[str, ...]]] = []
        self.whole = False  # looked at every module's facts
        super().__init__(base.view, base._read, base.options, base._lacks, base._expect)
        # One parse per file however many findings it holds.
        self._texts = base._texts
        self._parsed = base._parsed
        self.unparsed = base.unparsed

    @property
    def modules(self) -> list[ModuleFacts]:
        if not self._quiet:
            self.whole = True
        return super().modules

    def facts_of(self, path: str) -> ModuleFacts | None:
        if not self._quiet:
            self.read.add(path)
        return super().facts_of(path)

    def candidates(self, word: str) -> list[str]:
        self._quiet += 1
        try:
            found = super().candidates(word)
        finally:
            self._quiet -= 1
        self.scans.append((word, tuple(found)))
        return found

    def source(self, path: str) -> str | None:
        if not self._quiet:
            self.read.add(path)
        return super().source(path)

    def parsed(self, path: str) -> Any:
        if not self._quiet:
            self.read.add(path)
        return super().parsed(path)

    def mentioned_elsewhere(self, name: str, exclude: Iterable[str]) -> list[str]:
        skip = tuple(sorted(set(exclude)))
        self._quiet += 1
        try:
            found = super().mentioned_elsewhere(name, skip)
        finally:
            self._quiet -= 1
        self.mentions.append((name, skip, tuple(found)))
        return found

    def path_of_module(self, module: str) -> str | None:
        self._quiet += 1
        try:
            found = super().path_of_module(module)
        finally:
            self._quiet -= 1
        self.module_paths.append((module, found))
        return found


def attach_cached(
    findings: Sequence[Finding],
    ctx: FixContext,
    cache: FactsCache,
    file_keys: Mapping[str, bytes],
    project_key: bytes,
    options: FixOptions,
) -> list[Finding]:
    """`attach(f, propose(f, ctx), ctx)` for each finding, from the cache where the
    proposal's inputs are unchanged. ``file_keys`` maps each project path to its
    facts key; ``project_key`` is the whole project's results key."""
    out: list[Finding] = []
    stored: list[tuple[bytes, object]] = []
    keys = [proposal_key(options, finding) for finding in findings]
    records = [cache.load_proposal(key) for key in keys]
    ctx.expect_words(_words(records))
    for finding, key, data in zip(findings, keys, records, strict=True):
        reused = _reuse(data, ctx, file_keys, project_key)
        if reused is not None:
            out.append(reused)
            continue
        recorder = RecordingContext(ctx)
        attached = attach(finding, propose(finding, recorder), recorder)
        out.append(attached)
        record = _record(recorder, attached, file_keys, project_key)
        if record is not None:
            stored.append((key, record))
    cache.store_proposals(stored)
    return out


def _words(records: Sequence[Any]) -> set[str]:
    """The words the records' questions search the project for."""
    words: set[str] = set()
    for data in records:
        try:
            words.update(name for name, _, _ in data[2])
            words.update(word for word, _ in data[4])
        except (TypeError, ValueError, IndexError):
            continue  # `_reuse` rejects it
    return {w for w in words if isinstance(w, str)}


def _record(
    recorder: RecordingContext,
    attached: Finding,
    file_keys: Mapping[str, bytes],
    project_key: bytes,
) -> object | None:
    if any(path not in file_keys for path in recorder.read):
        return None  # a file outside the project: nothing tells when it changes
    return (
        tuple(sorted((path, file_keys[path]) for path in recorder.read)),
        project_key if recorder.whole else b"",
        tuple(recorder.mentions),
        tuple(recorder.module_paths),
        tuple(recorder.scans),
        encode_findings([attached]),
    )


def _reuse(
    data: Any, ctx: FixContext, file_keys: Mapping[str, bytes], project_key: bytes
) -> Finding | None:
    """The stored finding if the record is well formed and still holds, else None."""
    try:
        read, whole, mentions, module_paths, scans, encoded = data
        if whole and whole != project_key:
            return None
        if any(file_keys.get(path) != key for path, key in read):
            return None
        for name, exclude, found in mentions:
            if tuple(ctx.mentioned_elsewhere(name, exclude)) != found:
                return None
        for module, path in module_paths:
            if ctx.path_of_module(module) != path:
                return None
        for word, found in scans:
            if tuple(ctx.candidates(word)) != found:
                return None
        [finding] = decode_findings(encoded)
    except (TypeError, ValueError):
        return None  # not a record this version wrote: computed again
    return finding
