"""An editor for the language server tests: pygls' client, talking to
``python -m fork_lint server`` over its standard input and output."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Union

from lsprotocol import types
from pygls.lsp.client import BaseLanguageClient

TIMEOUT = 120.0  # seconds for one analysis on a loaded machine


def capabilities(
    *, encodings: list[str] | None = None, resolve: bool = True, watch: bool = True
) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings),
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                dynamic_registration=watch
            ),
        ),
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                related_information=True, version_support=True, code_description_support=True
            ),
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            code_action=types.CodeActionClientCapabilities(
                resolve_support=(
                    types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None
                ),
                data_support=True,
            ),
        ),
    )


class Editor:
    """Open, edit and save documents; remember what the server published."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.client = BaseLanguageClient("fork-lint-tests", "0")
        self.published: list[types.PublishDiagnosticsParams] = []
        self.messages: list[str] = []
        self.registrations: list[types.Registration] = []
        self.applied: list[types.WorkspaceEdit] = []
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self.stderr = bytearray()
        self._news = asyncio.Condition()
        client = self.client
        converter = client.protocol._converter

        def action_or_command(obj: Any, _: object) -> types.Command | types.CodeAction:
            # lsprotocol takes any object with a "command" key for a Command; a code
            # action's "command" is an object, a Command's a string.
            if isinstance(obj, dict) and isinstance(obj.get("command"), str):
                return converter.structure(obj, types.Command)
            return converter.structure(obj, types.CodeAction)

        converter.register_structure_hook(
            Union[types.Command, types.CodeAction],  # noqa: UP007 (the annotation's own spelling)
            action_or_command,
        )

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        async def publish(params: types.PublishDiagnosticsParams) -> None:
            async with self._news:
                self.published.append(params)
                self._news.notify_all()

        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @client.feature(types.WINDOW_LOG_MESSAGE)
        def log(params: types.LogMessageParams) -> None:
            self.messages.append(params.message)

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: types.RegistrationParams) -> None:
            self.registrations += params.registrations

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.applied.append(params.edit)
            return types.ApplyWorkspaceEditResult(applied=True)

    async def start(
        self,
        *args: str,
        caps: types.ClientCapabilities | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> types.InitializeResult:
        await self.client.start_io(
            sys.executable,
            "-m",
            "fork_lint",
            "server",
            *args,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        server = self.client._server
        assert server is not None and server.stderr is not None
        self._drain = asyncio.ensure_future(self._read_stderr(server.stderr))
        result = await self.client.initialize_async(
            types.InitializeParams(
                capabilities=caps or capabilities(),
                root_uri=self.root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(self.root.as_uri(), "root")],
            )
        )
        self.client.initialized(types.InitializedParams())
        return result

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.stderr += chunk

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await asyncio.wait_for(self.client.stop(), 30)
        await asyncio.wait_for(self._drain, 30)

    # -- documents ----------------------------------------------------------
    def uri(self, relative: str) -> str:
        return (self.root / relative).as_uri()

    def open(self, relative: str, text: str | None = None) -> str:
        uri = self.uri(relative)
        if text is None:
            text = (self.root / relative).read_text(encoding="utf-8")
        self.versions[uri] = 1
        self.texts[uri] = text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri

    def change(self, relative: str, text: str) -> int:
        uri = self.uri(relative)
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )
        return self.versions[uri]

    def save(self, relative: str) -> None:
        uri = self.uri(relative)
        (self.root / relative).write_text(self.texts[uri], encoding="utf-8")
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
        )

    def close(self, relative: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(self.uri(relative)))
        )

    def files_changed(self, *relative: str) -> None:
        self.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                [types.FileEvent(self.uri(r), types.FileChangeType.Changed) for r in relative]
            )
        )

    # -- what the server said -------------------------------------------------
    def latest(self, uri: str) -> types.PublishDiagnosticsParams | None:
        for params in reversed(self.published):
            if params.uri == uri:
                return params
        return None

    async def diagnostics(
        self,
        relative: str,
        *,
        version: int | None = None,
        until: Callable[[list[types.Diagnostic]], bool] = lambda d: True,
        timeout: float = TIMEOUT,
    ) -> list[types.Diagnostic]:
        """The diagnostics published for a document's current (or given) version,
        once they satisfy `until`."""
        uri = self.uri(relative)
        wanted = self.versions.get(uri) if version is None else version

        def ready() -> bool:
            latest = self.latest(uri)
            return (
                latest is not None
                and (wanted is None or latest.version in (wanted, None))
                and until(latest.diagnostics)
            )

        async with self._news:
            await asyncio.wait_for(self._news.wait_for(ready), timeout)
        latest = self.latest(uri)
        assert latest is not None
        return latest.diagnostics

    async def wait_published(self, count: int, timeout: float = TIMEOUT) -> None:
        async with self._news:
            await asyncio.wait_for(
                self._news.wait_for(lambda: len(self.published) >= count), timeout
            )

    # -- requests -----------------------------------------------------------
    async def hover(self, relative: str, line: int, character: int = 0) -> types.Hover | None:
        return await self.client.text_document_hover_async(
            types.HoverParams(
                types.TextDocumentIdentifier(self.uri(relative)), types.Position(line, character)
            )
        )

    async def code_actions(
        self, relative: str, line: int, only: list[str] | None = None
    ) -> list[types.CodeAction]:
        params = types.CodeActionParams(
            types.TextDocumentIdentifier(self.uri(relative)),
            types.Range(types.Position(line, 0), types.Position(line, 0)),
            types.CodeActionContext(diagnostics=[], only=only),
        )
        actions = await self.client.text_document_code_action_async(params)
        return [a for a in actions or [] if isinstance(a, types.CodeAction)]

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        return await self.client.code_action_resolve_async(action)

    async def execute(self, command: types.Command) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command.command, command.arguments)
        )

    def apply(self, edit: types.WorkspaceEdit) -> dict[str, str]:
        """Apply the edit as an editor would (to the open documents, else the files);
        the new texts by relative path. Versioned edits must name the current version."""
        out: dict[str, str] = {}
        for change in edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit)
            uri = change.text_document.uri
            if change.text_document.version is not None:
                assert change.text_document.version == self.versions[uri], "stale edit"
            relative = Path(_path(uri)).relative_to(self.root).as_posix()
            text = self.texts.get(uri)
            if text is None:
                text = (self.root / relative).read_text(encoding="utf-8")
            out[relative] = apply_text_edits(
                text, [e for e in change.edits if isinstance(e, types.TextEdit)]
            )
        return out


def _path(uri: str) -> str:
    from pygls.uris import to_fs_path

    path = to_fs_path(uri)
    assert path is not None
    return path


def apply_text_edits(text: str, edits: list[types.TextEdit], encoding: str = "utf-16") -> str:
    """Apply edits whose positions count UTF-16 code units (or `encoding`'s), as a client does."""
    starts = [0]
    for line in _lsp_lines(text):
        starts.append(starts[-1] + len(line))

    def offset(pos: types.Position) -> int:
        lines = _lsp_lines(text)
        if pos.line >= len(lines):
            return len(text)
        line = lines[pos.line]
        units = 0
        for i, ch in enumerate(line):
            if units >= pos.character:
                return starts[pos.line] + i
            units += _units(ch, encoding)
        return starts[pos.line] + len(line.rstrip("\r\n"))

    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        begin, end = offset(e.range.start), offset(e.range.end)
        text = text[:begin] + e.new_text + text[end:]
    return text


def _lsp_lines(text: str) -> list[str]:
    """Lines with their endings, split where the protocol splits them."""
    import re

    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1
