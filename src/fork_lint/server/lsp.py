"""The language server over stdio (pygls): the protocol's messages, mapped to a `Session`.

Features:

- diagnostics of the open documents (and of files whose finding's witness runs
  through one), checked on open, on change (the unsaved text) and on save,
  with the witness as related information and the rule's page as the code
  description;
- code actions: a finding's fix (safe ones preferred, unsafe ones labelled), a
  ``# noqa: FRKnnn`` comment for its line, and ``source.fixAll.fork-lint``;
- hover on a reported line: the finding and its witness;
- configuration files watched: a changed ``pyproject.toml`` (or
  ``.fork-lint.toml``) is read again and the projects checked again.

Documents are synchronised in full: the server then holds exactly the
client's text, whatever characters it contains (pygls's incremental
synchronisation splits lines where Python's `str.splitlines` does, at form
feeds and U+2028 too, which the protocol does not).
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from fork_lint import __version__
from fork_lint.server.actions import (
    APPLY_COMMAND,
    KINDS,
    ActionError,
    code_actions,
    edit_for,
)
from fork_lint.server.analyses import Analyses
from fork_lint.server.convert import Columns, hover_markdown, lsp_range
from fork_lint.server.messages import Options
from fork_lint.server.session import Session

__all__ = ["DEBOUNCE", "build_server", "serve"]

logger = logging.getLogger("fork_lint.server")

DEBOUNCE = 0.2  # seconds without a change before an edited project is checked
WATCHED = ("**/pyproject.toml", "**/.fork-lint.toml", "**/fork-lint.toml", "**/*.py", "**/*.pyi")


def _path(uri: str) -> str | None:
    if not uri.startswith("file:"):
        return None  # an unsaved editor tab, a diff view: no file, no project
    return to_fs_path(uri)


def build_server(options: Options, debounce: float = DEBOUNCE) -> LanguageServer:
    server = LanguageServer(
        "fork-lint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full
    )
    analyses = Analyses(options)

    def message(kind: types.MessageType, text: str) -> None:
        if kind == types.MessageType.Log:
            server.window_log_message(types.LogMessageParams(type=kind, message=text))
        else:
            server.window_show_message(types.ShowMessageParams(type=kind, message=text))

    def encoding() -> str:
        return str(server.workspace.position_encoding or types.PositionEncodingKind.Utf16)

    def folders() -> list[str]:
        uris = [f.uri for f in server.workspace.folders.values()]
        if not uris and server.workspace.root_uri:
            uris = [server.workspace.root_uri]
        return [p for p in (_path(u) for u in uris) if p is not None]

    session = Session(
        analyses,
        server.text_document_publish_diagnostics,
        message,
        debounce=debounce,
        encoding=encoding,
        folders=folders,
    )

    def capability(*names: str) -> Any:
        value: Any = server.client_capabilities
        for name in names:
            value = getattr(value, name, None)
            if value is None:
                return None
        return value

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        if not capability("workspace", "did_change_watched_files", "dynamic_registration"):
            return
        watchers = [types.FileSystemWatcher(glob_pattern=g) for g in WATCHED]
        registration = types.Registration(
            id="fork-lint-watched-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
        )
        try:
            await server.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            )
        except Exception:  # the client refused: configuration is read on the next edit
            logger.warning("the client did not register the file watchers", exc_info=True)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        path = _path(doc.uri)
        if path is not None:
            session.opened(doc.uri, path, doc.text, doc.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        doc = server.workspace.get_text_document(params.text_document.uri)
        session.changed(params.text_document.uri, doc.source, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        session.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        session.closed(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        paths = [p for p in (_path(change.uri) for change in params.changes) if p is not None]
        session.files_changed(paths)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        session.configuration_changed()  # pygls has updated its folders

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(params: types.HoverParams) -> types.Hover | None:
        published = await session.analysed(params.text_document.uri, fixes=False)
        if published is None:
            return None
        line = params.position.line + 1
        found = [
            f
            for f in published.findings
            if f.location.span.line <= line <= f.location.span.end_line
        ]
        if not found:
            return None
        formats = capability("text_document", "hover", "content_format") or []
        kind = (
            types.MarkupKind.Markdown
            if not formats or types.MarkupKind.Markdown in formats
            else types.MarkupKind.PlainText
        )
        return types.Hover(
            contents=types.MarkupContent(kind=kind, value=hover_markdown(found)),
            range=lsp_range(found[0].location, published.lines, Columns(encoding())),
        )

    def resolves_edits() -> bool:
        properties = capability("text_document", "code_action", "resolve_support", "properties")
        return bool(properties) and "edit" in properties

    def document_changes() -> bool:
        return bool(capability("workspace", "workspace_edit", "document_changes"))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(KINDS), resolve_provider=True),
    )
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        published = await session.analysed(uri, fixes=True)
        if published is None:
            return None
        return code_actions(uri, published, params, resolve=resolves_edits()) or None

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(action: types.CodeAction) -> types.CodeAction:
        try:
            action.edit = await edit_for(session, action.data, document_changes=document_changes())
        except ActionError as exc:
            message(types.MessageType.Warning, str(exc))
        return action

    @server.command(APPLY_COMMAND)
    async def apply_action(ls: LanguageServer, *arguments: Any) -> None:
        # The server as the first parameter, named `ls`: pygls passes it there, and
        # only then takes the other parameters for the command's arguments without
        # asking issubclass() of their annotation (which fails for `Any` before
        # Python 3.11: the command then never ran).
        data = arguments[0] if arguments else None
        try:
            edit = await edit_for(session, data, document_changes=document_changes())
        except ActionError as exc:
            message(types.MessageType.Warning, str(exc))
            return
        await server.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label="fork-lint")
        )

    @server.feature(types.SHUTDOWN)
    async def shutdown(params: None) -> None:
        await analyses.close()

    return server


def serve(options: Options, debounce: float = DEBOUNCE) -> None:
    """Run the server on standard input and output until the client says exit."""
    build_server(options, debounce).start_io()
