"""docs/editors.md: every snippet is well-formed for the editor it is written for,
starts the server the way the command line defines it, and the install command
names the extra that holds pygls."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

from fork_lint.cli import build_parser

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parent.parent
DOCS = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", DOCS, re.M | re.S)


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOCS, re.M | re.S)
    assert match is not None, title
    return match.group(1)


def section_blocks(title: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", section(title), re.M | re.S)


def is_server(argv: list[str]) -> bool:
    assert argv[0] == "fork-lint", argv
    return build_parser().parse_args(argv[1:]).command == "server"


def balanced(text: str, pairs: dict[str, str], quotes: str, comment: str) -> bool:
    """Brackets balance outside strings and comments."""
    stack: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote is not None:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in quotes:
            quote = ch
        elif text.startswith(comment, i):
            i = text.find("\n", i)
            if i < 0:
                break
        elif ch in pairs:
            stack.append(pairs[ch])
        elif ch in pairs.values() and (not stack or stack.pop() != ch):
            return False
        i += 1
    return not stack and quote is None


LUA = {"pairs": {"(": ")", "{": "}", "[": "]"}, "quotes": "\"'", "comment": "--"}
RUST = {"pairs": {"(": ")", "{": "}", "[": "]"}, "quotes": '"', "comment": "//"}
ELISP = {"pairs": {"(": ")"}, "quotes": '"', "comment": ";"}


def test_the_install_command_names_the_extra_that_holds_pygls() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras: dict[str, list[str]] = pyproject["project"]["optional-dependencies"]
    [install] = [line for b in blocks("console") for line in b.splitlines() if "pip" in line]
    [extra] = re.findall(r"\.\[(\w+)\]", install)
    assert extra == "server"
    assert any(r.startswith("pygls") for r in extras["server"])
    # The tests drive the server with pygls' client: the test extra, which CI installs.
    assert {r.split(">")[0] for r in extras["server"]} <= {r.split(">")[0] for r in extras["test"]}


def test_every_server_option_is_documented() -> None:
    parser = build_parser()
    [sub] = [a for a in parser._actions if getattr(a, "choices", None) and "server" in a.choices]
    server = sub.choices["server"]  # type: ignore[index]
    options = {o for a in server._actions for o in a.option_strings if o not in ("-h", "--help")}
    table = section("Install")
    for option in options:
        assert f"`{option}" in table or f"/{option}`" in table or f"{option} " in table, option


def test_vs_code_settings() -> None:
    [settings] = [json.loads(b) for b in section_blocks("VS Code", "json")]
    argv = [settings["glspc.server.command"], *settings["glspc.server.commandArguments"]]
    assert is_server(argv)
    assert settings["glspc.server.languageId"] == ["python"]
    on_save = settings["[python]"]["editor.codeActionsOnSave"]
    assert on_save == {"source.fixAll.fork-lint": "explicit"}


def test_neovim_configuration() -> None:
    config, fix_all = section_blocks("Neovim", "lua")
    for block in (config, fix_all):
        assert balanced(block, **LUA), block
    [cmd] = re.findall(r"cmd = \{ (.*?) \}", config)
    assert is_server([w.strip().strip("'") for w in cmd.split(",")])
    assert "vim.lsp.config('fork_lint'," in config
    assert "vim.lsp.enable('fork_lint')" in config
    assert "filetypes = { 'python' }" in config
    assert "'source.fixAll.fork-lint'" in fix_all


def test_helix_languages_toml() -> None:
    [text] = section_blocks("Helix", "toml")
    data = tomllib.loads(text)
    server = data["language-server"]["fork-lint"]
    assert is_server([server["command"], *server["args"]])
    [python] = data["language"]
    assert python["name"] == "python"
    assert "fork-lint" in python["language-servers"]


def test_zed_extension() -> None:
    manifest_text, cargo_text = section_blocks("Zed", "toml")
    manifest, cargo = tomllib.loads(manifest_text), tomllib.loads(cargo_text)
    for key in ("id", "name", "version", "schema_version", "authors", "description"):
        assert key in manifest, key
    assert manifest["language_servers"]["fork-lint"]["languages"] == ["Python"]
    assert cargo["lib"]["crate-type"] == ["cdylib"]
    assert "zed_extension_api" in cargo["dependencies"]
    [rust] = section_blocks("Zed", "rust")
    assert balanced(rust, **RUST)
    assert '.which("fork-lint")' in rust
    assert 'args: vec!["server".to_string()]' in rust
    assert is_server(["fork-lint", "server"])
    [settings] = [json.loads(b) for b in section_blocks("Zed", "json")]
    assert settings["languages"]["Python"]["language_servers"][0] == "fork-lint"


def test_emacs_eglot() -> None:
    register, fix_all = section_blocks("Emacs (eglot)", "elisp")
    for block in (register, fix_all):
        assert balanced(block, **ELISP), block
    [program] = re.findall(r"\. \((\"fork-lint\" [^)]*)\)", register)
    assert is_server(shlex.split(program))
    assert "(python-mode python-ts-mode)" in register
    assert '"source.fixAll.fork-lint"' in fix_all


def test_the_documented_fix_all_kind_is_the_server_s() -> None:
    from fork_lint.server.actions import FIX_ALL

    assert FIX_ALL == "source.fixAll.fork-lint"
    assert DOCS.count(FIX_ALL) >= 5


def test_the_timings_are_filled_in() -> None:
    timings = section("How fast")
    assert "BENCH" not in timings
    assert re.search(r"\| generated .*\| *\d", timings)
    assert re.search(r"\| benchmark corpus .*\| *\d", timings)
