"""What the language server knows: open documents, their projects, and the
findings published for them.

Every open document belongs to a project (`scope.project_scopes`: the nearest
configuration, else the nearest pyproject.toml, else the git root). An edit
schedules a check of the document's project after a short pause (`debounce`),
so that typing is not analysed keystroke by keystroke; the check sees every
open document of the project as the editor holds it (`Snapshot`). A newer
check replaces or stops an older one (`analyses`). Findings are published for
every file they are located in: the open documents (cleared when nothing is
found any more) and files whose finding's witness passes through an open one.
A document that changed since its check started is skipped: the check of its
new text is on its way, and its diagnostics carry the version they describe.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from fork_lint.config import ConfigError
from fork_lint.model import Finding
from fork_lint.scope import project_scopes
from fork_lint.server.analyses import Analyses, Task
from fork_lint.server.convert import Columns, Lines, diagnostic
from fork_lint.server.messages import Checked, CheckJob, Failed, Reply, Snapshot, finding_id

__all__ = ["CONFIG_FILES", "OpenDocument", "ProjectState", "Published", "Session"]

logger = logging.getLogger("fork_lint.server")

CONFIG_FILES = frozenset({"pyproject.toml", ".fork-lint.toml", "fork-lint.toml"})
OPEN_DELAY = 0.05  # seconds: documents opened together are checked together


@dataclass
class OpenDocument:
    uri: str  # as the client spells it
    path: str  # absolute
    root: str  # absolute root of its project
    text: str
    version: int | None


@dataclass
class Published:
    """The findings of one file as last published."""

    version: int | None  # of the document they describe; None for a closed file
    findings: list[Finding]
    lines: Lines
    with_fixes: bool
    diagnostics: list[types.Diagnostic]


@dataclass
class ProjectState:
    root: str
    timer: asyncio.TimerHandle | None = None
    force: bool = False  # check even if the open documents have not changed
    snapshot: Snapshot | None = None  # of the newest check submitted
    task: Task | None = None
    published: dict[str, Published] = field(default_factory=dict)  # by URI
    reported: asyncio.Event = field(default_factory=asyncio.Event)  # findings of the newest
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # ... and their fixes

    def pending(self) -> None:
        self.reported.clear()
        self.settled.clear()

    def idle(self) -> None:
        self.reported.set()
        self.settled.set()


def project_root(path: str, folders: Sequence[str] = ()) -> str:
    """The project a file belongs to, as ``fork-lint`` run in the innermost
    workspace folder holding it would find it: without a configuration, a
    pyproject.toml or a git repository around the file, that folder."""
    holding = [f for f in folders if path.startswith(f.rstrip(os.sep) + os.sep)]
    cwd = max(holding, key=len) if holding else os.getcwd()
    try:
        [(root, _)] = project_scopes([Path(path)], Path(cwd))
    except ConfigError:  # a broken configuration: the check will say so
        return os.path.dirname(path)
    return os.path.normpath(os.path.join(cwd, root))


class Session:
    """The server's state, independent of the connection: `publish` and `message`
    are how it speaks to the client."""

    def __init__(
        self,
        analyses: Analyses,
        publish: Callable[[types.PublishDiagnosticsParams], None],
        message: Callable[[types.MessageType, str], None],
        *,
        debounce: float,
        encoding: Callable[[], str],
        folders: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        self.analyses = analyses
        self._publish = publish
        self._message = message
        self.debounce = debounce
        self._encoding = encoding
        self._folders = folders  # the workspace folders' paths
        self.documents: dict[str, OpenDocument] = {}  # by URI
        self.projects: dict[str, ProjectState] = {}  # by root
        self._said: set[str] = set()  # error messages shown (once each)
        self._fix_ids = itertools.count()

    # -- documents ----------------------------------------------------------
    def opened(self, uri: str, path: str, text: str, version: int | None) -> None:
        root = project_root(path, self._folders())
        self.documents[uri] = OpenDocument(uri, path, root, text, version)
        self.schedule(root, OPEN_DELAY)

    def changed(self, uri: str, text: str, version: int | None) -> None:
        doc = self.documents.get(uri)
        if doc is None:
            return
        doc.text, doc.version = text, version
        self.schedule(doc.root, self.debounce)

    def saved(self, uri: str) -> None:
        doc = self.documents.get(uri)
        if doc is not None:
            self.schedule(doc.root, OPEN_DELAY)

    def closed(self, uri: str) -> None:
        doc = self.documents.pop(uri, None)
        if doc is not None:
            self.schedule(doc.root, OPEN_DELAY)

    def files_changed(self, paths: Iterable[str]) -> None:
        """Files changed on disk (not through the editor's buffers)."""
        paths = list(paths)
        if any(os.path.basename(p) in CONFIG_FILES for p in paths):
            self.configuration_changed()
            return
        open_paths = {d.path for d in self.documents.values()}
        for root in {d.root for d in self.documents.values()}:
            prefix = root.rstrip(os.sep) + os.sep
            if any(p.startswith(prefix) and p not in open_paths for p in paths):
                self.schedule(root, OPEN_DELAY, force=True)

    def configuration_changed(self) -> None:
        """A configuration file (or the workspace folders) changed: documents may
        now belong elsewhere, and every project's settings are read again by its
        next check."""
        before = {d.root for d in self.documents.values()}
        for doc in self.documents.values():
            doc.root = project_root(doc.path, self._folders())
        for root in before | {d.root for d in self.documents.values()}:
            self.schedule(root, OPEN_DELAY, force=True)

    def document_at(self, path: str) -> OpenDocument | None:
        for doc in self.documents.values():
            if doc.path == path:
                return doc
        return None

    # -- checks ---------------------------------------------------------------
    def state(self, root: str) -> ProjectState:
        state = self.projects.get(root)
        if state is None:
            state = self.projects[root] = ProjectState(root)
        return state

    def schedule(self, root: str, delay: float, *, force: bool = False) -> None:
        state = self.state(root)
        state.force = state.force or force
        state.pending()
        if state.timer is not None:
            state.timer.cancel()
        loop = asyncio.get_running_loop()
        state.timer = loop.call_later(delay, self._submit, root)

    def snapshot(self, root: str) -> Snapshot:
        docs = sorted((d for d in self.documents.values() if d.root == root), key=lambda d: d.path)
        return Snapshot(
            root,
            tuple(d.path for d in docs),
            {d.path: d.text for d in docs},
            {d.path: d.version for d in docs},
        )

    def _submit(self, root: str) -> None:
        state = self.state(root)
        state.timer = None
        snapshot = self.snapshot(root)
        if not snapshot.paths:  # nothing open in the project any more
            for uri in list(state.published):
                self._send(uri, [], None)
            del self.projects[root]
            state.idle()
            return
        if not state.force and snapshot == state.snapshot:  # saved, not changed
            if state.task is None or state.task.done.done():
                state.idle()
            return
        state.force = False
        state.snapshot = snapshot

        def on_reply(reply: Reply) -> None:
            self._checked(state, snapshot, reply)

        state.task = self.analyses.submit(CheckJob(snapshot), ("check", root), on_reply)

    def _checked(self, state: ProjectState, snapshot: Snapshot, reply: Reply) -> None:
        # Only the newest check's replies end a wait: with a check scheduled (the
        # timer running), what is published is about to be replaced.
        newest = state.snapshot is snapshot and state.timer is None
        if isinstance(reply, Failed):
            self._failed(reply)
        elif isinstance(reply, Checked):
            for warning in reply.warnings:
                self._message(types.MessageType.Log, warning)
            for error in reply.errors:
                self._say(types.MessageType.Error, error)
            self._show(state, snapshot, reply)
        if newest and (isinstance(reply, Failed) or not getattr(reply, "final", True)):
            state.reported.set()
        if newest and reply.final:
            state.idle()

    def _failed(self, reply: Failed) -> None:
        if reply.traceback:
            logger.error("%s\n%s", reply.message, reply.traceback)
        self._say(types.MessageType.Error, f"fork-lint: {reply.message}")

    def _say(self, kind: types.MessageType, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self._message(kind, text)

    # -- publishing -----------------------------------------------------------
    def uri_of(self, path: str) -> str:
        doc = self.document_at(path)
        if doc is not None:
            return doc.uri
        return Path(path).as_uri()

    def _show(self, state: ProjectState, snapshot: Snapshot, reply: Checked) -> None:
        root = snapshot.root
        by_path: dict[str, list[Finding]] = {}
        for f in reply.findings:
            by_path.setdefault(os.path.normpath(os.path.join(root, f.path)), []).append(f)
        columns = Columns(self._encoding())

        def uri_of(shown: str) -> str:
            return self.uri_of(os.path.normpath(os.path.join(root, shown)))

        seen: set[str] = set()
        for path in sorted(set(snapshot.paths) | by_path.keys()):
            doc = self.document_at(path)
            uri = doc.uri if doc is not None else Path(path).as_uri()
            seen.add(uri)
            version: int | None = None
            if doc is not None:
                if path not in snapshot.versions or doc.version != snapshot.versions[path]:
                    continue  # changed since: its own check follows
                version = doc.version
            findings = by_path.get(path, [])
            diagnostics = [
                diagnostic(f, reply.lines, columns, uri_of, data={"id": list(finding_id(f))})
                for f in findings
            ]
            old = state.published.get(uri)
            if doc is not None or findings:
                state.published[uri] = Published(
                    version, findings, reply.lines, reply.with_fixes, diagnostics
                )
            else:
                state.published.pop(uri, None)
            if old is None:
                fresh = doc is not None or bool(findings)  # an open document hears every check
            else:
                fresh = old.diagnostics != diagnostics or (
                    doc is not None and old.version != version
                )
            if fresh:
                self._send(uri, diagnostics, version)
        for uri in [u for u in state.published if u not in seen]:
            if uri not in self.documents:  # a closed file nothing leads through any more
                del state.published[uri]
                self._send(uri, [], None)

    def _send(self, uri: str, diagnostics: list[types.Diagnostic], version: int | None) -> None:
        self._publish(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    # -- answers about documents ------------------------------------------
    async def analysed(self, uri: str, *, fixes: bool) -> Published | None:
        """The findings of the document's current text (with their fixes, if
        `fixes`), once the check on its way has reported them; None if the document
        is not open or was not checked (its check failed)."""
        while True:
            doc = self.documents.get(uri)
            if doc is None:
                return None
            state = self.state(doc.root)
            found = state.published.get(uri)
            current = found is not None and found.version == doc.version
            if found is not None and current and (found.with_fixes or not fixes):
                return found
            event = state.settled if fixes else state.reported
            if event.is_set():
                return found if current else None
            await event.wait()

    def published(self, uri: str) -> Published | None:
        doc = self.documents.get(uri)
        state = self.projects.get(doc.root) if doc is not None else None
        return state.published.get(uri) if state is not None else None

    def encoding(self) -> str:
        """The position encoding negotiated with the client."""
        return self._encoding()

    def fix_key(self) -> tuple[str, int]:
        return ("fix", next(self._fix_ids))
