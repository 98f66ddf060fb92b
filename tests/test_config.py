from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fork_lint.config import (
    DEFAULT_EXCLUDES,
    DEFAULT_SELECT,
    ConfigError,
    GlobMatcher,
    Overrides,
    Settings,
    expand_selector,
    find_project_root,
    load_settings,
    parse_requires_python,
    validate_codes,
)

ALL = {"FRK001", "FRK002", "FRK003", "FRK004", "FRK005", "FRK100", "FRK900", "FRK999"}


def write(root: Path, rel: str, text: str = "") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository checkout as the working directory, so messages show short paths."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(project: Path, pyproject: str | None = None, **overrides: object) -> Settings:
    if pyproject is not None:
        write(project, "pyproject.toml", pyproject)
    return load_settings([project], Overrides(**overrides))  # type: ignore[arg-type]


def error(project: Path, pyproject: str, **overrides: object) -> str:
    with pytest.raises(ConfigError) as info:
        load(project, pyproject, **overrides)
    return str(info.value)


# ---------------------------------------------------------------------------- project root


def test_root_is_nearest_pyproject_with_fork_lint_table(project: Path) -> None:
    write(project, "pyproject.toml", "[tool.fork-lint]\n")
    write(project, "pkg/pyproject.toml", "[project]\nname = 'pkg'\n")  # no table: skipped
    write(project, "pkg/src/mod.py")
    assert find_project_root([project / "pkg" / "src" / "mod.py"]) == project
    settings = load_settings([project / "pkg/src"], Overrides())
    assert settings.config_file == project / "pyproject.toml"


def test_root_prefers_fork_lint_toml_in_the_same_directory(project: Path) -> None:
    write(project, "pyproject.toml", "[tool.fork-lint]\nselect = ['FRK001']\n")
    write(project, ".fork-lint.toml", "select = ['FRK002']\n")
    write(project, "fork-lint.toml", "select = ['FRK003']\n")
    settings = load_settings([project], Overrides())
    assert settings.config_file == project / ".fork-lint.toml"
    assert settings.select == {"FRK002"}


def test_nearer_fork_lint_toml_wins_over_outer_pyproject(project: Path) -> None:
    write(project, "pyproject.toml", "[tool.fork-lint]\nselect = ['FRK001']\n")
    write(project, "sub/fork-lint.toml", "select = ['FRK004']\n")
    settings = load_settings([project / "sub"], Overrides())
    assert settings.project_root == project / "sub"
    assert settings.select == {"FRK004"}


def test_root_falls_back_to_nearest_pyproject_then_git(project: Path) -> None:
    write(project, "lib/pyproject.toml", "[project]\nname = 'lib'\n")
    write(project, "lib/a/b.py")
    write(project, "other/c.py")
    assert find_project_root([project / "lib/a/b.py"]) == project / "lib"
    assert find_project_root([project / "other/c.py"]) == project
    settings = load_settings([project / "lib"], Overrides())
    assert settings.config_file is None


def test_root_falls_back_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "proj/a.py")
    monkeypatch.chdir(tmp_path / "proj")
    assert find_project_root([]) == tmp_path / "proj"
    assert find_project_root([Path("a.py")]) == tmp_path / "proj"


def test_root_falls_back_to_the_run_s_own_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check's `cwd` (an API caller's, a language server's workspace folder) is
    the working directory the fallback means, not the process's."""
    from fork_lint.core import CheckRequest, check
    from fork_lint.scope import project_scopes

    tree = tmp_path / "tree"
    write(tree, "jobs/spawn.py", "import os\n\n\ndef spawn():\n    os.fork()\n")
    write(
        tree,
        "app/main.py",
        "import threading\n\nfrom jobs import spawn\n\n\n"
        "def main():\n    threading.Thread(target=print).start()\n    spawn.spawn()\n",
    )
    monkeypatch.chdir(tmp_path)  # does not hold the tree's files
    spawn = tree / "jobs/spawn.py"
    assert find_project_root([spawn], cwd=tree) == tree
    assert find_project_root([spawn], cwd=tree / "app") == tree / "jobs"  # not holding it
    [(root, _)] = project_scopes([spawn], tree)
    assert root == Path(".")
    result = check(CheckRequest(paths=(spawn,), cwd=tree, no_cache=True, jobs=1))
    assert [(f.code, f.path) for f in result.findings] == [("FRK001", "jobs/spawn.py")]


def test_unrelated_broken_pyproject_above_is_not_read(project: Path) -> None:
    write(project, "pyproject.toml", "this is [not toml\n")
    write(project, "app/pyproject.toml", "[tool.fork-lint]\nignore = ['FRK9']\n")
    assert load_settings([project / "app"], Overrides()).select == ALL - {"FRK900", "FRK999"}


# ---------------------------------------------------------------------------- rule selection


def test_default_selects_every_rule(project: Path) -> None:
    assert DEFAULT_SELECT == ALL
    assert load(project).select == ALL


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("select = ['FRK001']", {"FRK001"}),
        ("select = ['FRK00']", {"FRK001", "FRK002", "FRK003", "FRK004", "FRK005"}),
        ("select = []", set()),
        ("ignore = ['FRK0']", {"FRK100", "FRK900", "FRK999"}),
        ("select = ['FRK'], ignore = ['FRK001']", ALL - {"FRK001"}),
        # The more specific selector wins, whichever list it is in.
        ("select = ['FRK001'], ignore = ['FRK']", {"FRK001"}),
        ("select = ['ALL'], ignore = ['FRK00'], extend-select = ['FRK003']", ALL - {
            "FRK001", "FRK002", "FRK004", "FRK005"
        }),
        # At equal specificity ignore beats select.
        ("select = ['FRK001'], ignore = ['FRK001']", set()),
        ("extend-select = ['FRK001'], ignore = ['FRK90']", ALL - {"FRK900"}),
    ],
)  # fmt: skip
def test_select_and_ignore_follow_ruff(project: Path, table: str, expected: set[str]) -> None:
    body = table.replace(", ", "\n")
    assert load(project, f"[tool.fork-lint]\n{body}\n").select == expected


def test_command_line_select_replaces_the_files_select_and_ignore(project: Path) -> None:
    config = "[tool.fork-lint]\nselect = ['FRK001', 'FRK002']\nignore = ['FRK002']\n"
    assert load(project, config).select == {"FRK001"}
    assert load(project, config, select=["FRK002", "FRK003"]).select == {"FRK002", "FRK003"}
    assert load(project, config, extend_select=["FRK004"]).select == {"FRK001", "FRK004"}
    assert load(project, config, ignore=["FRK001"]).select == set()
    assert load(project, config, select=["ALL"], ignore=["FRK9"]).select == ALL - {
        "FRK900",
        "FRK999",
    }


def test_expand_and_validate_codes() -> None:
    assert expand_selector("ALL") == ALL
    assert expand_selector("FRK9") == {"FRK900", "FRK999"}
    assert expand_selector("FRK123") == frozenset()
    assert expand_selector("") == frozenset()
    assert validate_codes(["FRK001", "FRK90"], "x") == {"FRK001", "FRK900"}
    with pytest.raises(ConfigError) as info:
        validate_codes(["FRK001", "FRK7"], "src/a.py:3: noqa")
    assert str(info.value) == "src/a.py:3: noqa: unknown rule code 'FRK7'"
    with pytest.raises(ConfigError, match=r"'frk001' \(rule codes are upper case\)"):
        validate_codes(["frk001"], "x")


# ---------------------------------------------------------------------------- per-file-ignores


def test_per_file_ignores_match_like_ruff(project: Path) -> None:
    settings = load(
        project,
        """
        [tool.fork-lint.per-file-ignores]
        "tests/*" = ["FRK001"]
        "__init__.py" = ["FRK00"]
        "!src/*" = ["FRK004"]
        "{scripts,tools}/*.py" = ["FRK002"]
        "**/legacy/*.py" = ["FRK003"]
        """,
    )
    assert settings.per_file_ignores == (
        ("tests/*", frozenset({"FRK001"})),
        ("__init__.py", frozenset({"FRK001", "FRK002", "FRK003", "FRK004", "FRK005"})),
        ("!src/*", frozenset({"FRK004"})),
        ("{scripts,tools}/*.py", frozenset({"FRK002"})),
        ("**/legacy/*.py", frozenset({"FRK003"})),
    )
    # `*` crosses directories, as in ruff.
    assert not settings.enabled("FRK001", "tests/unit/test_a.py")
    assert settings.enabled("FRK001", "src/tests/test_a.py")
    # A pattern without a slash also matches the basename anywhere.
    assert not settings.enabled("FRK005", "src/pkg/__init__.py")
    assert settings.enabled("FRK005", "src/pkg/mod.py")
    # Negated: applies where the pattern does not match.
    assert settings.enabled("FRK004", "src/pkg/mod.py")
    assert not settings.enabled("FRK004", "bench/run.py")
    assert not settings.enabled("FRK002", "tools/x.py")
    assert not settings.enabled("FRK003", "legacy/old.py")
    assert not settings.enabled("FRK003", "src/legacy/old.py")
    # Absolute paths are made relative to the project root.
    assert not settings.enabled("FRK001", str(project / "tests" / "test_b.py"))
    assert settings.ignored_codes("./tests/../src/x.py") == frozenset()


def test_enabled_respects_select(project: Path) -> None:
    settings = load(project, "[tool.fork-lint]\nselect = ['FRK002']\n")
    assert settings.enabled("FRK002", "a.py")
    assert not settings.enabled("FRK001", "a.py")


def test_command_line_per_file_ignores_replace_the_files(project: Path) -> None:
    config = '[tool.fork-lint.per-file-ignores]\n"a.py" = ["FRK001"]\n'
    settings = load(project, config, per_file_ignores=[("b.py", ["FRK9"])])
    assert settings.per_file_ignores == (("b.py", frozenset({"FRK900", "FRK999"})),)


# ---------------------------------------------------------------------------- other keys


def test_all_keys(project: Path) -> None:
    settings = load(
        project,
        """
        [tool.fork-lint]
        exclude = ["generated"]
        extend-exclude = ["tests/fixtures"]
        respect-gitignore = false
        target-version = "py311"
        thread-sources = ["mypkg.metrics:start_reporter", "grpc:server", "grpc:server"]
        fork-sinks = ["pkg.mod:Class.method"]

        [tool.fork-lint.fix]
        start-method = "spawn"
        """,
    )
    assert settings.fix_start_method == "spawn"
    assert settings.exclude == ("generated",)
    assert settings.extend_exclude == ("tests/fixtures",)
    assert settings.respect_gitignore is False
    assert settings.target_version == (3, 11)
    assert settings.thread_sources == ("mypkg.metrics:start_reporter", "grpc:server")
    assert settings.fork_sinks == ("pkg.mod:Class.method",)


def test_defaults_for_paths(project: Path) -> None:
    settings = load(project, "[tool.fork-lint]\n")
    assert settings.exclude == DEFAULT_EXCLUDES
    assert settings.extend_exclude == ()
    assert settings.respect_gitignore is True
    assert settings.per_file_ignores == ()


def test_command_line_path_overrides(project: Path) -> None:
    config = "[tool.fork-lint]\nextend-exclude = ['a']\nrespect-gitignore = false\n"
    settings = load(project, config, exclude=["x"], extend_exclude=["b"], respect_gitignore=True)
    assert settings.exclude == ("x",)
    assert settings.extend_exclude == ("a", "b")
    assert settings.respect_gitignore is True


# ---------------------------------------------------------------------------- errors


def test_unknown_rule_code_message(project: Path) -> None:
    message = error(project, "[tool.fork-lint]\nselect = ['FRK001', 'FRK123']\n")
    assert message == "pyproject.toml: [tool.fork-lint] select: unknown rule code 'FRK123'"


def test_unknown_key_suggests_the_closest(project: Path) -> None:
    message = error(project, "[tool.fork-lint]\nextend_select = ['FRK001']\n")
    assert message == (
        "pyproject.toml: [tool.fork-lint] extend_select: unknown key "
        "(did you mean 'extend-select'?)"
    )
    assert error(project, "[tool.fork-lint]\nzzz = 1\n") == (
        "pyproject.toml: [tool.fork-lint] zzz: unknown key"
    )


def test_malformed_toml_gives_line_and_column(project: Path) -> None:
    message = error(project, '[tool.fork-lint]\nselect = ["FRK001"\nignore = []\n')
    assert message.startswith("pyproject.toml:3:1: invalid TOML: ")
    assert "(at line" not in message


EXPECTED_VERSION = "target-version: expected one of py37, py38, ..., py315, got"
NOT_STRINGS = "expected an array of strings, got"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('select = "FRK001"', f"select: {NOT_STRINGS} a string"),
        ("ignore = ['FRK001', 2]", f"ignore: {NOT_STRINGS} an integer in the array"),
        ("exclude = 'build'", f"exclude: {NOT_STRINGS} a string"),
        (
            "per-file-ignores = {tests = 'FRK001'}",
            f"per-file-ignores.tests: {NOT_STRINGS} a string",
        ),
        ("respect-gitignore = 'no'", "respect-gitignore: expected a boolean, got a string"),
        ("target-version = 'py36'", f"{EXPECTED_VERSION} 'py36'"),
        ("target-version = 312", f"{EXPECTED_VERSION} an integer"),
        ("per-file-ignores = ['a']", "per-file-ignores: expected a table, got an array"),
        (
            "per-file-ignores = {'t/*' = ['FRK8']}",
            "per-file-ignores.\"t/*\": unknown rule code 'FRK8'",
        ),
        ("fix = 1", "fix: expected a boolean or a table, got an integer"),
        ("unsafe-fixes = 'yes'", "unsafe-fixes: expected a boolean, got a string"),
        (
            "output-format = 'pretty'",
            "output-format: expected one of concise, full, github, "
            "gitlab, json, junit, sarif, got 'pretty'",
        ),
        ("cache-dir = ''", "cache-dir: expected a path, got an empty string"),
        ("extend = 3", "extend: expected a string, got an integer"),
        (
            "fork-sinks = ['mypkg.start']",
            "fork-sinks: 'mypkg.start' is not of the form 'module:qualname' "
            "(e.g. 'mypkg.metrics:start_reporter')",
        ),
    ],
)
def test_type_errors(project: Path, body: str, expected: str) -> None:
    assert (
        error(project, f"[tool.fork-lint]\n{body}\n")
        == f"pyproject.toml: [tool.fork-lint] {expected}"
    )


@pytest.mark.parametrize(
    "entry",
    ["mod", "mod:", ":f", "a..b:f", "a.b:c.", "1mod:f", "mod:f()", "a-b:f", "class:f", "m:f:g"],
)
def test_bad_qualified_names(project: Path, entry: str) -> None:
    message = error(project, f"[tool.fork-lint]\nthread-sources = ['{entry}']\n")
    assert f"thread-sources: {entry!r} is not of the form 'module:qualname'" in message


def test_fork_lint_table_must_be_a_table(project: Path) -> None:
    message = error(project, "[tool]\nfork-lint = 1\n")
    assert message == "pyproject.toml: [tool.fork-lint]: expected a table, got an integer"


def test_fork_lint_toml_messages_name_the_file(project: Path) -> None:
    write(project, "fork-lint.toml", "select = ['XYZ']\n")
    with pytest.raises(ConfigError) as info:
        load_settings([project], Overrides())
    assert str(info.value) == "fork-lint.toml: select: unknown rule code 'XYZ'"


def test_messages_use_absolute_paths_outside_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "proj/pyproject.toml", "[tool.fork-lint]\nselect = ['FRK7']\n")
    write(tmp_path, "elsewhere/.keep")
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(ConfigError) as info:
        load_settings([tmp_path / "proj"], Overrides())
    expected = f"{tmp_path / 'proj' / 'pyproject.toml'}: [tool.fork-lint] select: unknown rule code"
    assert str(info.value).startswith(expected)


def test_command_line_errors_name_the_flag(project: Path) -> None:
    assert error(project, "", select=["FRK123"]) == "--select: unknown rule code 'FRK123'"
    assert error(project, "", ignore=["X"]) == "--ignore: unknown rule code 'X'"
    assert error(project, "", per_file_ignores=[("a.py", ["Q"])]) == (
        "--per-file-ignores: unknown rule code 'Q'"
    )
    assert error(project, "", target_version="3.12") == (
        "--target-version: expected one of py37, py38, ..., py315, got '3.12'"
    )


def test_broken_project_pyproject_is_an_error(project: Path) -> None:
    """The root's pyproject.toml is read for requires-python, so it must parse."""
    assert error(project, "[project\n").startswith("pyproject.toml:1:")


# ---------------------------------------------------------------------------- explicit / isolated


def test_explicit_config_file(project: Path, tmp_path: Path) -> None:
    write(project, "pyproject.toml", "[tool.fork-lint]\nselect = ['FRK001']\n")
    shared = write(project, "ci/strict.toml", "select = ['FRK002']\ntarget-version = 'py313'\n")
    settings = load_settings([project], Overrides(config=shared))
    assert settings.config_file == shared
    assert settings.project_root == project / "ci"
    assert settings.select == {"FRK002"}
    assert settings.target_version_source == "strict.toml target-version"

    other = write(project, "other/pyproject.toml", "[tool.fork-lint]\nignore = ['FRK0']\n")
    settings = load_settings([project], Overrides(config=Path("other/pyproject.toml")))
    assert settings.config_file == other
    assert settings.select == {"FRK100", "FRK900", "FRK999"}


def test_explicit_config_must_exist(project: Path) -> None:
    assert error(project, "", config=Path("nope.toml")) == (
        "nope.toml: no such file (given as --config)"
    )
    (project / "dir").mkdir()
    assert error(project, "", config=Path("dir")) == "dir: is a directory (given as --config)"


def test_isolated_ignores_configuration_files(project: Path) -> None:
    pyproject = "[project]\nrequires-python = '>=3.12'\n[tool.fork-lint]\nselect = ['BAD']\n"
    settings = load(project, pyproject, isolated=True, ignore=["FRK001"])
    assert settings.config_file is None
    assert settings.project_root == project
    assert settings.select == ALL - {"FRK001"}
    assert (settings.target_version, settings.target_version_source) == ((3, 7), "default")


# ---------------------------------------------------------------------------- target version


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (">=3.9", (3, 9)),
        ("~=3.10", (3, 10)),
        ("~=3.10.2", (3, 10)),
        (">3.8", (3, 9)),
        (">3.8.5", (3, 8)),
        ("==3.11.*", (3, 11)),
        (">=3.8,<4", (3, 8)),
        (">= 3.8, != 3.9.*, < 4", (3, 8)),
        ("<4,>=3.10", (3, 10)),
        (">=3.12.0rc1", (3, 12)),
        ("^3.9", (3, 9)),
        ("~3.11", (3, 11)),
        ("3.10", (3, 10)),
        (">=2.7", (3, 7)),
        (">=3.6", (3, 7)),
        (">=3.20", (3, 15)),
        (">=3.8 || ^3.6", (3, 7)),
        ("<4", None),
        ("*", None),
        ("", None),
        ("python3", None),
        (">=4", None),
    ],
)
def test_parse_requires_python(spec: str, expected: tuple[int, int] | None) -> None:
    assert parse_requires_python(spec) == expected


def test_target_version_precedence(project: Path) -> None:
    requires = "[project]\nrequires-python = '>=3.9'\n"
    poetry = "[tool.poetry.dependencies]\npython = '^3.11'\n"
    tool = "[tool.fork-lint]\ntarget-version = 'py312'\n"

    def resolved(pyproject: str, **overrides: object) -> tuple[tuple[int, int], str]:
        s = load(project, pyproject, **overrides)
        return s.target_version, s.target_version_source

    assert resolved("") == ((3, 7), "default")
    assert resolved(poetry) == ((3, 11), "pyproject.toml [tool.poetry.dependencies] python")
    assert resolved(requires + poetry) == ((3, 9), "pyproject.toml requires-python")
    assert resolved(requires + tool) == ((3, 12), "pyproject.toml [tool.fork-lint] target-version")
    assert resolved(requires + tool, target_version="py310") == ((3, 10), "command line")
    # Unparseable: ignored, not an error.
    assert resolved("[project]\nrequires-python = 'whatever'\n") == ((3, 7), "default")
    assert resolved("[project]\nrequires-python = 3.9\n") == ((3, 7), "default")


def test_requires_python_next_to_a_fork_lint_toml(project: Path) -> None:
    write(project, "pyproject.toml", "[project]\nrequires-python = '>=3.13'\n")
    write(project, "fork-lint.toml", "select = ['FRK001']\n")
    settings = load_settings([project], Overrides())
    assert (settings.target_version, settings.target_version_source) == (
        (3, 13),
        "pyproject.toml requires-python",
    )


# ---------------------------------------------------------------------------- globs


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "expected"),
    [
        ("build", "build", True, True),
        ("build", "src/pkg/build", True, True),
        ("build", "src/build.py", False, False),
        ("tests/fixtures", "tests/fixtures", True, True),
        ("tests/fixtures", "pkg/tests/fixtures", True, False),
        ("./tests/fixtures", "tests/fixtures", True, True),
        ("*_pb2.py", "a/b/x_pb2.py", False, True),
        ("tests/*", "tests/a/b.py", False, True),
        ("gen/", "a/gen", True, True),
        ("gen/", "a/gen", False, False),
        ("src/**/gen", "src/gen", True, True),
        ("src/**/gen", "src/a/b/gen", True, True),
        ("{docs,examples}", "examples", True, True),
        ("mod[0-9].py", "mod7.py", False, True),
        ("mod[!0-9].py", "mod7.py", False, False),
        ("a?c.py", "abc.py", False, True),
        ("[x", "[x", False, True),
    ],
)
def test_glob_matcher(pattern: str, path: str, is_dir: bool, expected: bool) -> None:
    root = Path("/proj[1]")  # glob characters in the root are literal
    matcher = GlobMatcher([pattern], root)
    assert matcher.match(f"/proj[1]/{path}", path.rsplit("/", 1)[-1], is_dir) is expected


def test_glob_matcher_absolute_patterns() -> None:
    matcher = GlobMatcher(["/opt/vendor/*"], Path("/proj"))
    assert matcher.match("/opt/vendor/x.py", "x.py")
    assert not matcher.match("/proj/opt/vendor/x.py", "x.py")
