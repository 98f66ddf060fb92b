"""`fork-lint server` end to end: a real LSP client (pygls') drives the server over
its standard input and output, on projects written to disk."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from lsprotocol import types

from tests.lsp_client import Editor, apply_text_edits, capabilities

T = TypeVar("T")

EDGE_WORKER = Path(__file__).parent / "fixtures" / "projects" / "edge_worker"

MAIN_QUIET = """\
import threading

from svc import jobs, tool


def main():
    jobs.spawn()
    tool.launch(["true"])
"""
THREAD = "    threading.Thread(target=print).start()\n"
MAIN_THREADED = MAIN_QUIET.replace("def main():\n", "def main():\n" + THREAD)

PROJECT = {
    "pyproject.toml": '[project]\nname = "svc"\nrequires-python = ">=3.10"\n',
    "svc/__init__.py": "",
    "svc/main.py": MAIN_QUIET,
    "svc/jobs.py": "import os\n\n\ndef spawn():\n    pid = os.fork()\n    return pid\n",
    "svc/tool.py": (
        "import os\nimport subprocess\n\n\n"
        "def launch(cmd):\n    return subprocess.Popen(cmd, preexec_fn=os.nice)\n"
    ),
    "svc/worker.py": (
        "import os\nimport subprocess\nimport threading\n\n\n"
        "def run(cmd):\n    return subprocess.Popen(cmd, preexec_fn=os.setsid)\n\n\n"
        'def start():\n    threading.Thread(target=run, args=(["true"],)).start()\n'
    ),
}


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def session(
    root: Path,
    body: Callable[[Editor], Awaitable[T]],
    *args: str,
    caps: types.ClientCapabilities | None = None,
) -> T:
    """Start the server for `root`, run `body`, shut the server down cleanly."""

    async def main() -> T:
        editor = Editor(root)
        await editor.start("--debounce", "0.05", *args, caps=caps)
        try:
            return await body(editor)
        finally:
            try:
                await editor.stop()
            except Exception:
                print(editor.stderr.decode(errors="replace"), file=sys.stderr)
                raise

    return asyncio.run(main())


def codes(diagnostics: list[types.Diagnostic] | tuple[types.Diagnostic, ...]) -> list[str]:
    return [str(d.code) for d in diagnostics]


def line_of(text: str, needle: str) -> int:
    """0-based line holding `needle`."""
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


# ---------------------------------------------------------------------------- diagnostics


def test_an_unsaved_edit_makes_a_hazard_appear_and_disappear_in_other_files(
    tmp_path: Path,
) -> None:
    root = write(tmp_path, PROJECT)

    async def body(editor: Editor) -> None:
        editor.open("svc/jobs.py")
        editor.open("svc/main.py")
        assert await editor.diagnostics("svc/jobs.py") == ()
        assert await editor.diagnostics("svc/main.py") == ()

        # A thread started in main.py, not saved: the fork in jobs.py (open) and the
        # preexec_fn launch in tool.py (closed; its witness runs through main.py).
        editor.change("svc/main.py", MAIN_THREADED)
        [fork] = await editor.diagnostics("svc/jobs.py", until=bool)
        assert fork.code == "FRK001"
        assert fork.source == "fork-lint"
        assert fork.severity == types.DiagnosticSeverity.Error
        assert fork.range == types.Range(
            start=types.Position(line=4, character=10), end=types.Position(line=4, character=19)
        )
        assert fork.code_description is not None
        assert fork.code_description.href.endswith("/docs/rules/FRK001.md")
        assert editor.latest(editor.uri("svc/jobs.py")).version == 1  # type: ignore[union-attr]
        related = fork.related_information or []
        start, *steps = related
        assert start.location.uri == editor.uri("svc/main.py")
        assert start.location.range.start == types.Position(line=6, character=4)
        assert start.message.startswith("thread started here")
        assert [r.location.uri for r in steps] == [
            editor.uri("svc/main.py"),
            editor.uri("svc/jobs.py"),
        ]
        assert steps[0].message == "fork: in `svc.main.main`: calls `jobs.spawn()`"
        assert codes(await editor.diagnostics("svc/tool.py", until=bool)) == ["FRK004"]
        assert editor.latest(editor.uri("svc/tool.py")).version is None  # type: ignore[union-attr]
        assert await editor.diagnostics("svc/main.py") == ()

        # The disk never changed: the buffer was analysed.
        assert (root / "svc/main.py").read_text() == MAIN_QUIET

        editor.change("svc/main.py", MAIN_QUIET)
        assert await editor.diagnostics("svc/jobs.py", until=lambda d: not d) == ()
        assert await editor.diagnostics("svc/tool.py", until=lambda d: not d) == ()

    session(root, body)


def test_saving_and_closing(tmp_path: Path) -> None:
    """Saved, the edit is the disk's; closed unsaved, the disk's text counts again."""
    root = write(tmp_path, PROJECT)

    async def body(editor: Editor) -> None:
        editor.open("svc/jobs.py")
        editor.open("svc/main.py")
        assert await editor.diagnostics("svc/jobs.py") == ()
        editor.change("svc/main.py", MAIN_THREADED)
        editor.save("svc/main.py")
        assert codes(await editor.diagnostics("svc/jobs.py", until=bool)) == ["FRK001"]
        editor.change("svc/main.py", MAIN_QUIET)
        assert await editor.diagnostics("svc/jobs.py", until=lambda d: not d) == ()
        editor.close("svc/main.py")  # unsaved: the file on disk starts the thread
        assert codes(await editor.diagnostics("svc/jobs.py", until=bool)) == ["FRK001"]

    session(root, body)


def test_a_tree_without_markers_is_checked_as_its_workspace_folder(tmp_path: Path) -> None:
    """No configuration, pyproject.toml or git: the workspace folder is the project,
    as for ``fork-lint`` run there, so a thread started in one directory endangers
    a fork in another."""
    root = write(
        tmp_path,
        {
            "jobs/spawn.py": PROJECT["svc/jobs.py"],  # namespace packages: no __init__.py
            "app/main.py": (
                "import threading\n\nfrom jobs import spawn\n\n\n"
                "def main():\n    threading.Thread(target=print).start()\n    spawn.spawn()\n"
            ),
        },
    )

    async def body(editor: Editor) -> None:
        editor.open("jobs/spawn.py")
        [d] = await editor.diagnostics("jobs/spawn.py", until=bool)
        assert d.code == "FRK001"
        assert (d.related_information or [])[0].location.uri == editor.uri("app/main.py")

    session(root, body)


def test_a_document_belongs_to_the_innermost_workspace_folder_without_markers(
    tmp_path: Path,
) -> None:
    from fork_lint.server.session import project_root

    outer = tmp_path / "outer"
    inner = outer / "inner"
    marked = outer / "marked"
    write(
        outer,
        {
            "inner/a/x.py": "",
            "marked/pyproject.toml": '[project]\nname = "m"\n',
            "marked/m/y.py": "",
        },
    )
    x, y = str(inner / "a" / "x.py"), str(marked / "m" / "y.py")
    assert project_root(x, [str(outer), str(inner)]) == str(inner)
    assert project_root(x, [str(outer)]) == str(outer)
    assert project_root(y, [str(outer)]) == str(marked)  # a marker decides first


def test_only_the_newest_of_rapid_changes_is_published(tmp_path: Path) -> None:
    root = write(tmp_path, PROJECT)

    async def body(editor: Editor) -> None:
        uri = editor.open("svc/main.py")
        await editor.diagnostics("svc/main.py")
        before = len(editor.published)
        for i in range(6):
            editor.change("svc/main.py", MAIN_THREADED + f"\nVALUE = {i}\n")
        await editor.diagnostics("svc/main.py", version=7)
        await asyncio.sleep(0.5)  # anything stale would have come by now
        versions = [p.version for p in editor.published[before:] if p.uri == uri]
        assert versions == [7]

    session(root, body, "--debounce", "0.3")


def test_columns_count_utf16_code_units_by_default_and_utf8_when_negotiated(
    tmp_path: Path,
) -> None:
    prefix = 'x = "é😀"; '  # é: 1 UTF-16 unit, 2 UTF-8 bytes; 😀: 2 units, 4 bytes
    text = (
        "import os\nimport threading\n\nthreading.Thread(target=print).start()\n"
        f"{prefix}pid = os.fork()\n"
    )
    root = write(tmp_path, {"pyproject.toml": '[project]\nname = "u"\n', "u.py": text})
    column = len(prefix) + len("pid = ")  # characters

    async def body(editor: Editor) -> tuple[int, int]:
        editor.open("u.py")
        [d] = await editor.diagnostics("u.py", until=bool)
        return d.range.start.character, d.range.end.character

    utf16 = session(root, body)
    assert utf16 == (column + 1, column + 1 + len("os.fork()"))
    caps = capabilities(encodings=["utf-8", "utf-16"])
    utf8 = session(root, body, caps=caps)
    assert utf8 == (column + 4, column + 4 + len("os.fork()"))


# ---------------------------------------------------------------------------- code actions


def test_fix_code_action_edits_the_unsaved_buffer_through_the_safety_gate(tmp_path: Path) -> None:
    root = write(tmp_path, PROJECT)
    # Unsaved, and with characters before the fix on its line that take two UTF-16
    # code units (😀) or more than one UTF-8 byte (é).
    edited = PROJECT["svc/worker.py"].replace(
        "    return subprocess.Popen(", '    note = "é😀"; return subprocess.Popen('
    )

    async def body(editor: Editor) -> None:
        editor.open("svc/worker.py")
        version = editor.change("svc/worker.py", edited)
        [d] = await editor.diagnostics("svc/worker.py", until=bool)
        assert d.code == "FRK004"
        line = d.range.start.line
        actions = await editor.code_actions("svc/worker.py", line)
        titles = [a.title for a in actions]
        assert titles == [
            "Fix FRK004: Replace `preexec_fn=os.setsid` with `start_new_session=True`",
            "Disable FRK004 for this line",
            "Fix all fork-lint findings (safe fixes)",
        ]
        fix, noqa, fix_all = actions
        assert fix.is_preferred and fix.kind == types.CodeActionKind.QuickFix
        assert fix_all.kind == "source.fixAll.fork-lint"
        assert fix.edit is None and fix.command is None  # computed when picked

        resolved = await editor.resolve(fix)
        assert resolved.edit is not None
        [change] = resolved.edit.document_changes or []
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.version == version
        new = editor.apply(resolved.edit)["svc/worker.py"]
        assert new == edited.replace("preexec_fn=os.setsid", "start_new_session=True").replace(
            "import os\n", ""
        )
        noqa_text = editor.apply((await editor.resolve(noqa)).edit)["svc/worker.py"]  # type: ignore[arg-type]
        assert noqa_text == edited.replace(
            "preexec_fn=os.setsid)", "preexec_fn=os.setsid)  # noqa: FRK004"
        )
        all_text = editor.apply((await editor.resolve(fix_all)).edit)["svc/worker.py"]  # type: ignore[arg-type]
        assert all_text == new
        assert (root / "svc/worker.py").read_text() == PROJECT["svc/worker.py"]  # nothing written

        editor.change("svc/worker.py", new)
        assert await editor.diagnostics("svc/worker.py", until=lambda d: not d) == ()
        editor.change("svc/worker.py", noqa_text)
        assert await editor.diagnostics("svc/worker.py", until=lambda d: not d) == ()

        only = await editor.code_actions("svc/worker.py", 0, only=["source.fixAll"])
        assert only == []  # nothing left to fix

    session(root, body)


def test_a_fix_spanning_files_is_one_workspace_edit_of_several_documents(tmp_path: Path) -> None:
    """The edge worker's launch fix (unsafe) changes worker.py and jobs.py."""
    shutil.copytree(EDGE_WORKER, tmp_path / "p")
    root = write(
        tmp_path / "p",
        {"pyproject.toml": '[project]\nname = "edgeish"\nrequires-python = ">=3.10"\n'},
    )
    expected = tmp_path / "cli"
    shutil.copytree(root, expected)
    subprocess.run(
        [sys.executable, "-m", "fork_lint", "--fix", "--unsafe-fixes", "--no-cache", "-q"],
        cwd=expected,
        capture_output=True,
        check=False,
        timeout=300,
    )

    async def body(editor: Editor) -> None:
        editor.open("edgeish/worker.py")
        [d] = await editor.diagnostics("edgeish/worker.py", until=bool)
        assert d.code == "FRK002"
        actions = await editor.code_actions("edgeish/worker.py", d.range.start.line)
        [fix] = [a for a in actions if a.title.startswith("Fix FRK002")]
        assert fix.title.endswith("(unsafe fix)")
        assert not fix.is_preferred
        assert not [a for a in actions if a.kind == "source.fixAll.fork-lint"]  # no safe fix
        resolved = await editor.resolve(fix)
        assert resolved.edit is not None
        documents = {
            c.text_document.uri: c.text_document.version
            for c in resolved.edit.document_changes or []
            if isinstance(c, types.TextDocumentEdit)
        }
        assert documents == {
            editor.uri("edgeish/jobs.py"): None,  # not open: the file as on disk
            editor.uri("edgeish/worker.py"): 1,
        }
        texts = editor.apply(resolved.edit)
        for relative, text in texts.items():
            assert text == (expected / relative).read_text(), relative

    session(root, body)


def test_without_resolve_support_the_action_is_a_command_that_applies_the_edit(
    tmp_path: Path,
) -> None:
    root = write(tmp_path, PROJECT)

    async def body(editor: Editor) -> None:
        editor.open("svc/worker.py")
        [d] = await editor.diagnostics("svc/worker.py", until=bool)
        actions = await editor.code_actions("svc/worker.py", d.range.start.line)
        fix = actions[0]
        assert fix.command is not None and fix.command.command == "fork-lint.applyAction"
        await editor.execute(fix.command)
        [edit] = editor.applied
        new = editor.apply(edit)["svc/worker.py"]
        assert "start_new_session=True" in new

    session(root, body, caps=capabilities(resolve=False))


# ---------------------------------------------------------------------------- hover, configuration


def test_hover_on_a_reported_line_shows_the_witness(tmp_path: Path) -> None:
    root = write(tmp_path, {**PROJECT, "svc/main.py": MAIN_THREADED})

    async def body(editor: Editor) -> None:
        editor.open("svc/jobs.py")
        await editor.diagnostics("svc/jobs.py", until=bool)
        hover = await editor.hover("svc/jobs.py", 4)
        assert hover is not None
        assert isinstance(hover.contents, types.MarkupContent)
        assert hover.contents.kind == types.MarkupKind.Markdown
        text = hover.contents.value
        assert text.startswith("**FRK001** (os-fork-with-threads):")
        assert "Thread started at `svc/main.py:7:5` (`threading.Thread.start`)" in text
        assert "- fork: `svc/main.py:8:5` in `svc.main.main`: calls `jobs.spawn()`" in text
        assert "docs/rules/FRK001.md" in text
        assert await editor.hover("svc/jobs.py", 1) is None

    session(root, body)


def test_configuration_is_read_again_when_pyproject_changes(tmp_path: Path) -> None:
    root = write(tmp_path, {**PROJECT, "svc/main.py": MAIN_THREADED})

    async def body(editor: Editor) -> None:
        editor.open("svc/jobs.py")
        assert codes(await editor.diagnostics("svc/jobs.py", until=bool)) == ["FRK001"]
        watched = [r for r in editor.registrations if r.method == "workspace/didChangeWatchedFiles"]
        assert watched
        (root / "pyproject.toml").write_text(
            PROJECT["pyproject.toml"] + '\n[tool.fork-lint]\nignore = ["FRK001"]\n'
        )
        editor.files_changed("pyproject.toml")
        assert await editor.diagnostics("svc/jobs.py", until=lambda d: not d) == ()
        (root / "pyproject.toml").write_text(
            PROJECT["pyproject.toml"] + "\n[tool.fork-lint]\nselect = 3\n"
        )
        editor.files_changed("pyproject.toml")
        for _ in range(100):
            if any("select" in m for m in editor.messages):
                break
            await asyncio.sleep(0.1)
        assert any("select" in m for m in editor.messages), editor.messages

    session(root, body)


def test_the_analysis_never_imports_project_code(tmp_path: Path) -> None:
    """The analysis process runs `python -m fork_lint.server.worker`, which puts its
    working directory on the module path: a project's own `fork_lint` package must
    not be the one imported."""
    marker = tmp_path / "imported"
    root = write(
        tmp_path / "p",
        {
            **PROJECT,
            "svc/main.py": MAIN_THREADED,
            "fork_lint/__init__.py": f"open({str(marker)!r}, 'w').close()\n",
            "fork_lint/server/__init__.py": f"open({str(marker)!r}, 'w').close()\n",
        },
    )

    async def body(editor: Editor) -> None:
        editor.open("svc/jobs.py")
        assert codes(await editor.diagnostics("svc/jobs.py", until=bool)) == ["FRK001"]

    session(root, body)
    assert not marker.exists()


def test_a_relative_cache_dir_is_the_server_s_working_directory_s(tmp_path: Path) -> None:
    """As for check: the analysis process runs in the project, the name is the user's."""
    root = write(tmp_path / "p", {**PROJECT, "svc/main.py": MAIN_THREADED})
    started = tmp_path / "editor"
    started.mkdir()

    async def main() -> None:
        editor = Editor(root)
        await editor.start("--cache-dir", "cache", cwd=started)
        try:
            editor.open("svc/jobs.py")
            assert codes(await editor.diagnostics("svc/jobs.py", until=bool)) == ["FRK001"]
        finally:
            await editor.stop()

    asyncio.run(main())
    assert (started / "cache").is_dir()
    assert not (root / "cache").exists()
    assert not (root / ".fork_lint_cache").exists()


def test_without_pygls_the_server_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pygls'] = None; "
        "from fork_lint.cli import main; sys.exit(main(['server']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 2
    assert "pip install 'fork-lint[server]'" in proc.stderr


def test_an_edit_during_a_long_check_stops_it_and_the_server_answers_meanwhile(
    tmp_path: Path,
) -> None:
    """Without a cache and with one extraction process, checking 300 modules takes
    seconds: an edit made meanwhile replaces that check (its findings, of an older
    text, are never published), and requests are answered while it runs."""
    functions = "".join(
        f"def f{i}(x):\n    return [x + {i} for _ in range(3)]\n\n\n" for i in range(40)
    )
    files = {
        "pyproject.toml": '[project]\nname = "big"\n',
        "big/__init__.py": "",
        "big/main.py": "import os\n\n\ndef main():\n    os.fork()\n",
    }
    files.update({f"big/m{i}.py": f"import os\n\n{functions}" for i in range(300)})
    root = write(tmp_path, files)
    threaded = "import os\nimport threading\n\n\ndef main():\n" + THREAD + "    os.fork()\n"

    async def body(editor: Editor) -> None:
        uri = editor.open("big/main.py")
        assert await editor.diagnostics("big/main.py") == ()
        before = len(editor.published)
        editor.change("big/main.py", threaded)  # version 2: a thread, so a finding
        await asyncio.sleep(1.0)  # past the debounce: its check is running
        started = asyncio.get_running_loop().time()
        answer = await editor.execute(
            types.Command(title="fix", command="fork-lint.applyAction", arguments=[{}])
        )
        assert answer is None
        assert asyncio.get_running_loop().time() - started < 5.0
        assert any("not fork-lint's" in m for m in editor.messages)
        version = editor.change("big/main.py", threaded + "\nX = 1\n")
        [d] = await editor.diagnostics("big/main.py", until=bool)
        assert d.code == "FRK001"
        versions = [p.version for p in editor.published[before:] if p.uri == uri]
        assert versions == [version]

    session(root, body, "--no-cache", "-j", "1")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_client_side_edit_application_helper(encoding: str) -> None:
    """The test client's own edit application, which the tests above rely on."""
    text = 'a = "😀"; b = 1\n'
    units = {"utf-16": 2, "utf-8": 4, "utf-32": 1}[encoding]
    start = len('a = "') + units + len('"; b = ')
    edit = types.TextEdit(
        range=types.Range(
            start=types.Position(line=0, character=start),
            end=types.Position(line=0, character=start + 1),
        ),
        new_text="2",
    )
    assert apply_text_edits(text, [edit], encoding) == 'a = "😀"; b = 2\n'


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            'a = "é"; f(x, preexec_fn=g)\r\nb = 1\r\n',
            'a = "é"; f(x, start_new_session=True)\r\nb = 1\r\n',
        ),
        ('s = "😀\u2028"\n\x0cpid = os.fork()\n', 's = "😀\u2028"\n\x0cpid = 0  # 😀\nnew = 1\n'),
        ("x = 1", "x = 1\ny = 2\n"),
        ("a\rb\rc\r", "a\rB\rc\r"),
    ],
)
def test_text_edits_turn_the_old_text_into_the_new_in_every_encoding(
    encoding: str, before: str, after: str
) -> None:
    from fork_lint.server.convert import Columns, text_edits

    edits = text_edits(before, after, Columns(encoding))
    assert apply_text_edits(before, edits, encoding) == after
