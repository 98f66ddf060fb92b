"""Code actions: a finding's fix, a ``# noqa`` comment for its line, and "fix all".

Offering an action is cheap: what the fix would be is known from the check
(the proposed fixes come with the findings). The edit is computed only when
the user picks the action (``codeAction/resolve``, or the command for clients
that cannot resolve): the check core applies the fix to the editor's unsaved
text and runs it through the same safety gate as ``fork-lint check --fix``
(the result compiles, the finding is gone and nothing new appears, a second
application changes nothing, nothing outside the fix changes), without writing
anything. A fix that changes several files becomes one edit of several
documents. Each open document's edit names the version it was computed from.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types

from fork_lint.model import Applicability, Finding
from fork_lint.rules import UNUSED_NOQA
from fork_lint.server.convert import Columns, workspace_edit
from fork_lint.server.messages import Failed, FindingId, Fixed, FixJob, finding_id
from fork_lint.server.session import Published, Session

__all__ = ["APPLY_COMMAND", "FIX_ALL", "ActionError", "code_actions", "edit_for"]

FIX_ALL = "source.fixAll.fork-lint"
APPLY_COMMAND = "fork-lint.applyAction"
KINDS = (types.CodeActionKind.QuickFix, FIX_ALL)


class ActionError(Exception):
    """Why an action has no edit (the message is for the user)."""


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """Kinds are hierarchical: asking for ``source.fixAll`` includes ``source.fixAll.fork-lint``."""
    return only is None or any(kind == o or kind.startswith(f"{o}.") for o in only)


def _touches(finding: Finding, start: int, end: int) -> bool:
    """The finding's lines meet the 0-based lines start..end."""
    span = finding.location.span
    return span.line - 1 <= end and start <= span.end_line - 1


def code_actions(
    uri: str,
    published: Published,
    request: types.CodeActionParams,
    *,
    resolve: bool,
) -> list[types.CodeAction]:
    only = [str(k) for k in request.context.only] if request.context.only else None
    start, end = request.range.start.line, request.range.end.line
    out: list[types.CodeAction] = []
    for finding, diag in zip(published.findings, published.diagnostics, strict=True):
        if not _touches(finding, start, end):
            continue
        data: dict[str, Any] = {
            "uri": uri,
            "version": published.version,
            "id": list(finding_id(finding)),
        }
        fix = finding.fix
        if (
            fix is not None
            and fix.applicability is not Applicability.DISPLAY_ONLY
            and _wanted(types.CodeActionKind.QuickFix, only)
        ):
            unsafe = fix.applicability is Applicability.UNSAFE
            title = f"Fix {finding.code}: {fix.message}" + (" (unsafe fix)" if unsafe else "")
            out.append(
                _action(
                    title,
                    types.CodeActionKind.QuickFix,
                    {**data, "action": "fix", "unsafe": unsafe},
                    [diag],
                    preferred=not unsafe,
                    resolve=resolve,
                )
            )
        if finding.code != UNUSED_NOQA.code and _wanted(types.CodeActionKind.QuickFix, only):
            out.append(
                _action(
                    f"Disable {finding.code} for this line",
                    types.CodeActionKind.QuickFix,
                    {**data, "action": "noqa"},
                    [diag],
                    resolve=resolve,
                )
            )
    fixable = [f for f in published.findings if f.fixable]
    if fixable and _wanted(FIX_ALL, only):
        data = {"uri": uri, "version": published.version, "action": "fixAll"}
        out.append(
            _action("Fix all fork-lint findings (safe fixes)", FIX_ALL, data, resolve=resolve)
        )
    return out


def _action(
    title: str,
    kind: str,
    data: dict[str, Any],
    diagnostics: list[types.Diagnostic] | None = None,
    *,
    preferred: bool = False,
    resolve: bool,
) -> types.CodeAction:
    action = types.CodeAction(
        title=title,
        kind=kind,
        diagnostics=diagnostics,
        is_preferred=preferred or None,
        data=data,
    )
    if not resolve:  # the client cannot ask for the edit: the command computes and applies it
        action.command = types.Command(title=title, command=APPLY_COMMAND, arguments=[data])
    return action


async def edit_for(
    session: Session, data: object, *, document_changes: bool
) -> types.WorkspaceEdit:
    """The edit of an action picked by the user, against the documents as they are now."""
    if not isinstance(data, dict) or not isinstance(data.get("uri"), str):
        raise ActionError("this action is not fork-lint's")
    uri = data["uri"]
    doc = session.documents.get(uri)
    if doc is None:
        raise ActionError("the document is no longer open")
    if doc.version != data.get("version"):
        raise ActionError("the document changed since the action was offered; try again")
    snapshot = session.snapshot(doc.root)
    relative = os.path.relpath(doc.path, doc.root)
    action = data.get("action")
    target: FindingId | None = None
    if action in ("fix", "noqa"):
        target = _finding_id(data.get("id"))
    if action == "noqa":
        assert target is not None
        changes = await _noqa(session, uri, target, relative, doc.text)
    elif action in ("fix", "fixAll"):
        if action == "fix":
            assert target is not None
            job = FixJob(snapshot, targets=(target,), unsafe=True if data.get("unsafe") else None)
        else:
            job = FixJob(snapshot, path=relative.replace(os.sep, "/"))
        task = session.analyses.submit(job, session.fix_key(), urgent=True)
        reply = await task.done
        if isinstance(reply, Failed):
            raise ActionError(f"fork-lint: {reply.message}")
        if not isinstance(reply, Fixed):
            raise ActionError("the fix was not computed")
        if target is not None and target not in reply.fixed:
            why = "; ".join(reply.warnings) or "the fix did not pass the safety checks"
            raise ActionError(f"fork-lint: {finding_label(target)} not fixed: {why}")
        changes = reply.changes
        if not changes:
            raise ActionError("fork-lint: nothing to fix")
    else:
        raise ActionError("this action is not fork-lint's")
    absolute = {
        os.path.normpath(os.path.join(doc.root, path)): texts for path, texts in changes.items()
    }
    for path in absolute:
        other = session.document_at(path)
        if other is not None and other.version != snapshot.versions.get(path):
            raise ActionError("a document changed while the fix was computed; try again")
    return workspace_edit(
        absolute,
        dict(snapshot.versions),
        session.uri_of,
        Columns(session.encoding()),
        document_changes=document_changes,
    )


def finding_label(target: FindingId) -> str:
    code, path, _, _, line, col = target
    return f"{code} at {path}:{line}:{col + 1}"


def _finding_id(value: object) -> FindingId:
    if (
        isinstance(value, list)
        and len(value) == 6
        and all(isinstance(v, str) for v in value[:4])
        and all(isinstance(v, int) for v in value[4:])
    ):
        code, path, function, sink, line, col = value
        return (code, path, function, sink, line, col)
    raise ActionError("this action is not fork-lint's")


async def _noqa(
    session: Session, uri: str, target: FindingId, relative: str, text: str
) -> dict[str, tuple[str, str]]:
    """``# noqa: FRKnnn`` on the finding's line (`--add-noqa`'s rules: codes added
    to a comment already there, and only where the result holds the comment)."""
    published = session.published(uri)
    found = [f for f in (published.findings if published else []) if finding_id(f) == target]
    if not found:
        raise ActionError("the finding is gone")
    loop = asyncio.get_running_loop()
    new, problems = await loop.run_in_executor(None, _with_noqa, found[0], text)
    if new is None:
        raise ActionError(f"fork-lint: {'; '.join(problems) or 'no noqa comment added'}")
    return {relative: (text, new)}


def _with_noqa(finding: Finding, text: str) -> tuple[str | None, list[str]]:
    from fork_lint.fixes.add_noqa import add_noqa
    from fork_lint.overlay import BufferSources

    shown = finding.path
    sources = BufferSources(Path(os.sep), buffers={shown: text})
    _, problems = add_noqa([finding], sources)
    return sources.changed.get(shown), problems
