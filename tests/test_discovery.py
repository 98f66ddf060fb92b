from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fork_lint.config import Overrides, Settings, load_settings
from fork_lint.discovery import DEFAULT_EXCLUDES, Discovery, DiscoveryError, discover


def touch(root: Path, *rels: str, text: str = "") -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with a pyproject.toml, as the working directory."""
    (tmp_path / ".git" / "info").mkdir(parents=True)
    touch(tmp_path, "pyproject.toml", text="[tool.fork-lint]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*paths: str | Path, config: str | None = None, **overrides: object) -> Discovery:
    if config is not None:
        Path("pyproject.toml").write_text(f"[tool.fork-lint]\n{config}\n")
    given = [Path(p) for p in paths] or [Path(".")]
    settings = load_settings(given, Overrides(**overrides))  # type: ignore[arg-type]
    return discover(given, settings)


def names(result: Discovery) -> list[str]:
    return [p.as_posix() for p in result.files]


# ---------------------------------------------------------------------------- basics


def test_finds_python_files_sorted_as_given(project: Path) -> None:
    touch(project, "src/pkg/__init__.py", "src/pkg/b.py", "src/pkg/a.py", "src/pkg-x/c.py")
    touch(project, "src/pkg/data.json", "src/pkg/stub.pyi", "README.md", "setup.py")
    result = run()
    assert names(result) == [
        "setup.py",
        "src/pkg/__init__.py",
        "src/pkg/a.py",
        "src/pkg/b.py",
        "src/pkg-x/c.py",
    ]
    assert result.errors == []
    assert names(run("src/pkg-x")) == ["src/pkg-x/c.py"]
    assert run(project / "src/pkg-x").files == [project / "src/pkg-x/c.py"]


def test_no_paths_means_the_working_directory(project: Path) -> None:
    touch(project, "a.py")
    settings = load_settings([], Overrides())
    assert names(discover([], settings)) == ["a.py"]


def test_each_file_once(project: Path) -> None:
    touch(project, "src/a.py", "src/sub/b.py")
    assert names(run("src/sub", "src", "src/a.py", ".", project / "src")) == [
        "src/a.py",
        "src/sub/b.py",
    ]


def test_missing_paths_raise(project: Path) -> None:
    touch(project, "a.py")
    with pytest.raises(DiscoveryError) as info:
        run("a.py", "nope.py", "gone/")
    assert str(info.value) == "nope.py: no such file or directory\ngone: no such file or directory"
    assert info.value.paths == (Path("nope.py"), Path("gone"))


def test_explicit_files_are_analysed_even_if_excluded_or_not_py(project: Path) -> None:
    touch(project, "build/gen.py", "scripts/tool", "build/other.py", "tests/fixtures/f.py")
    result = run(
        "build/gen.py", "scripts/tool", "tests/fixtures", config="extend-exclude = ['tests']"
    )
    assert names(result) == ["build/gen.py", "scripts/tool", "tests/fixtures/f.py"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_explicit_special_file_is_an_error(project: Path) -> None:
    os.mkfifo(project / "pipe.py")
    assert run("pipe.py").errors == [(Path("pipe.py"), "not a regular file or directory")]
    # Inside a directory: not read (it would never end), and said so.
    assert run().errors == [(Path("pipe.py"), "not a regular file (a FIFO): not analysed")]


# ---------------------------------------------------------------------------- excludes


def test_default_excludes_are_pruned_at_any_depth(project: Path) -> None:
    for name in DEFAULT_EXCLUDES:
        touch(project, f"{name}/x.py", f"src/{name}/y.py")
    touch(project, "src/ok.py", "src/builder/z.py")
    assert names(run()) == ["src/builder/z.py", "src/ok.py"]


def test_excluded_directories_are_not_descended(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(project, "node_modules/deep/a.py", "src/.venv/lib/b.py", "src/c.py")
    scanned: list[str] = []
    real_scandir = os.scandir

    def spy(path: str) -> Iterator[os.DirEntry[str]]:
        scanned.append(Path(path).relative_to(project).as_posix())
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", spy)
    assert names(run()) == ["src/c.py"]
    assert sorted(scanned) == [".", "src"]


def test_exclude_replaces_defaults_and_extend_exclude_adds(project: Path) -> None:
    touch(project, "build/a.py", "generated/b.py", "src/c.py")
    assert names(run(config="exclude = ['generated']")) == ["build/a.py", "src/c.py"]
    assert names(run(config="extend-exclude = ['generated']")) == ["src/c.py"]
    assert names(run(config="", extend_exclude=["src"])) == ["generated/b.py"]
    assert names(run(config="", exclude=[])) == ["build/a.py", "generated/b.py", "src/c.py"]


def test_exclude_patterns_are_anchored_at_the_project_root(project: Path) -> None:
    touch(project, "tests/fixtures/a.py", "pkg/tests/fixtures/b.py", "tests/t.py")
    touch(project, "proto/x_pb2.py", "proto/x.py", "docs/conf.py", "docs/api/gen.py")
    config = "extend-exclude = ['tests/fixtures', '*_pb2.py', 'docs/*']"
    assert names(run(config=config)) == ["pkg/tests/fixtures/b.py", "proto/x.py", "tests/t.py"]
    # Same when walking a subdirectory: patterns stay relative to the root.
    assert names(run("tests", config=config)) == ["tests/t.py"]


def test_exclude_applies_inside_explicit_directories(project: Path) -> None:
    touch(project, "build/a.py", "build/lib/build/b.py", "build/lib/c.py")
    assert names(run("build")) == ["build/a.py", "build/lib/c.py"]


# ---------------------------------------------------------------------------- gitignore


def test_gitignore_root_nested_negation_and_info_exclude(project: Path) -> None:
    touch(project, ".gitignore", text="*.gen.py\n/out/\nlocal_*.py\n")
    touch(project, ".git/info/exclude", text="scratch.py\n")
    touch(project, "src/.gitignore", text="!keep.gen.py\ncache/\n")
    touch(project, "src/sub/.gitignore", text="*.py\n!sub_ok.py\n")
    touch(project, "a.py", "a.gen.py", "out/b.py", "src/out/c.py", "local_x.py", "scratch.py")
    touch(project, "src/keep.gen.py", "src/drop.gen.py", "src/cache/d.py", "src/e.py")
    touch(project, "src/sub/f.py", "src/sub/sub_ok.py", "src/sub/scratch.py")
    assert names(run()) == [
        "a.py",
        "src/e.py",
        "src/keep.gen.py",
        "src/out/c.py",  # `/out/` is anchored at the root
        "src/sub/sub_ok.py",
    ]
    assert names(run("src/sub")) == ["src/sub/sub_ok.py"]
    assert len(run(respect_gitignore=False).files) == 13


def test_gitignore_of_the_repository_applies_to_a_subproject(project: Path) -> None:
    touch(project, ".gitignore", text="app/generated/\n")
    touch(project, "app/pyproject.toml", text="[tool.fork-lint]\n")
    touch(project, "app/generated/a.py", "app/src/b.py")
    os.chdir(project / "app")
    assert names(run()) == ["src/b.py"]


def test_gitignore_is_ignored_outside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ruff (through the `ignore` crate): .gitignore only counts inside git."""
    touch(tmp_path, ".gitignore", text="a.py\n")
    touch(tmp_path, "a.py", "b.py")
    monkeypatch.chdir(tmp_path)
    assert names(run()) == ["a.py", "b.py"]


def test_nested_repository_does_not_inherit_ignores(project: Path) -> None:
    touch(project, ".gitignore", text="vendored.py\n")
    (project / "third_party/lib/.git").mkdir(parents=True)
    touch(project, "third_party/lib/.gitignore", text="local.py\n")
    touch(project, "vendored.py", "third_party/lib/vendored.py", "third_party/lib/local.py")
    assert names(run()) == ["third_party/lib/vendored.py"]


def test_an_ignored_directory_named_explicitly_is_walked(project: Path) -> None:
    """As ruff and ripgrep: a walk never prunes the directory it starts from."""
    touch(project, ".gitignore", text="instance/\n*.gen.py\n")
    touch(project, "cases/instance/main.py", "cases/instance/out.gen.py", "cases/other/a.py")
    touch(project, "cases/instance/.gitignore", text="local.py\n")
    touch(project, "cases/instance/local.py")
    assert names(run()) == ["cases/other/a.py"]
    # The rule that ignores the named directory does not hide its files; the others
    # (`*.gen.py`, its own `local.py`) still apply.
    assert names(run("cases/instance")) == ["cases/instance/main.py"]
    assert names(run("cases")) == ["cases/other/a.py"]


def test_a_linked_worktree_reads_the_shared_info_exclude(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a `git worktree` or a submodule `.git` is a file naming the git directory:
    its info/exclude applies, and no 'cannot read' warning is given."""
    touch(tmp_path, "main/.git/info/exclude", text="scratch.py\n")
    touch(tmp_path, "main/.git/worktrees/wt/commondir", text="../..\n")
    tree = tmp_path / "wt"
    touch(tree, ".git", text=f"gitdir: {tmp_path}/main/.git/worktrees/wt\n")
    touch(tree, "pyproject.toml", text="[tool.fork-lint]\n")
    touch(tree, "a.py", "scratch.py")
    monkeypatch.chdir(tree)
    result = run()
    assert names(result) == ["a.py"]
    assert result.errors == []
    # A `.git` file naming nothing usable: no exclude, no warning.
    (tree / ".git").write_text("gitdir: nowhere\n")
    result = run()
    assert names(result) == ["a.py", "scratch.py"]
    assert result.errors == []


def test_gitignore_in_config(project: Path) -> None:
    touch(project, ".gitignore", text="a.py\n")
    touch(project, "a.py")
    assert names(run(config="respect-gitignore = false")) == ["a.py"]
    assert names(run(config="respect-gitignore = false", respect_gitignore=True)) == []


# ---------------------------------------------------------------------------- symlinks


def symlink(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def test_symlink_loops_terminate(project: Path) -> None:
    touch(project, "pkg/a.py", "pkg/sub/b.py")
    symlink(project / "pkg/sub/up", "..")
    symlink(project / "pkg/self", ".")
    result = run()
    assert names(result) == ["pkg/a.py", "pkg/sub/b.py"]
    assert result.errors == []


def test_self_referencing_link_is_reported(project: Path) -> None:
    touch(project, "a.py")
    symlink(project / "loop.py", "loop.py")
    result = run()
    assert names(result) == ["a.py"]
    [(path, message)] = result.errors
    assert path == Path("loop.py")
    assert message.startswith("cannot follow symbolic link: ")


def test_links_outside_the_roots_are_not_followed(project: Path, tmp_path: Path) -> None:
    touch(project, "src/a.py", "elsewhere/b.py", "build/lib/c.py")
    symlink(project / "src/outside", "../elsewhere")
    symlink(project / "src/generated", "../build/lib")  # inside ".", which is excluded
    assert names(run("src")) == ["src/a.py"]
    assert names(run()) == ["elsewhere/b.py", "src/a.py", "src/generated/c.py"]


def test_linked_tree_is_reported_under_its_real_path(project: Path) -> None:
    touch(project, "real/a.py")
    symlink(project / "alias", "real")
    symlink(project / "zlink.py", "real/a.py")
    assert names(run()) == ["real/a.py"]
    assert names(run("alias")) == ["alias/a.py"]


def test_linked_file_pointing_outside_is_analysed(project: Path, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-shared"
    touch(outside, "shared.py")
    symlink(project / "pkg/shared.py", str(outside / "shared.py"))
    assert names(run()) == ["pkg/shared.py"]


def test_broken_links(project: Path) -> None:
    symlink(project / "pkg/gone.py", "missing.py")
    symlink(project / "pkg/gone_dir", "missing")
    symlink(project / "build/ignored.py", "missing.py")
    symlink(project / "top.py", "missing.py")
    result = run()
    assert result.files == []
    assert result.errors == [
        (Path("pkg/gone.py"), "broken symbolic link"),
        (Path("top.py"), "broken symbolic link"),
    ]
    assert run("top.py").errors == [(Path("top.py"), "broken symbolic link")]


# ---------------------------------------------------------------------------- unreadable


def test_unreadable_directory_is_reported(project: Path) -> None:
    touch(project, "a.py", "locked/b.py")
    locked = project / "locked"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user that ignores permissions (root)")
        result = run()
        assert names(result) == ["a.py"]
        assert result.errors == [(Path("locked"), "cannot read directory: Permission denied")]
    finally:
        locked.chmod(0o755)


def test_scandir_failure_is_reported_not_raised(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same path as above, for runs as root where chmod cannot deny access."""
    touch(project, "a.py", "locked/b.py")
    real_scandir = os.scandir

    def deny(path: str) -> Iterator[os.DirEntry[str]]:
        if path.endswith("/locked"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    result = run()
    assert names(result) == ["a.py"]
    assert result.errors == [(Path("locked"), "cannot read directory: Permission denied")]


def test_settings_built_by_hand(tmp_path: Path) -> None:
    """discover() only needs a Settings; the API layer builds one without a config file."""
    touch(tmp_path, "x/a.py", "x/skip/b.py")
    settings = Settings(
        project_root=tmp_path,
        config_file=None,
        select=frozenset(),
        per_file_ignores=(),
        exclude=("skip",),
        extend_exclude=(),
        respect_gitignore=True,
        target_version=(3, 12),
        target_version_source="default",
        thread_sources=(),
        fork_sinks=(),
    )
    assert discover([tmp_path / "x"], settings).files == [tmp_path / "x/a.py"]


@pytest.mark.parametrize("given", ["dist", "dist/pkg", "dist/pkg/b.py"])
def test_a_tree_outside_the_working_directory_is_named_from_its_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    # An unpacked wheel or sdist analysed from elsewhere: with no project file around
    # it, module names start above its outermost package, so `from pkg.a import ...`
    # still reaches pkg/a.py (named by file name alone, every `__init__.py` was the
    # same module and the thread below was not found).
    from fork_lint.api import check_paths

    pkg = tmp_path / "dist" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "import threading\n\n\ndef start():\n    threading.Thread(target=print).start()\n"
    )
    (pkg / "b.py").write_text(
        "import os\n\nfrom pkg.a import start\n\n\ndef main():\n    start()\n    os.fork()\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    paths = [tmp_path / given] if not given.endswith(".py") else [pkg / "a.py", pkg / "b.py"]
    [finding] = check_paths(paths).findings
    assert (finding.code, finding.function) == ("FRK001", "pkg.b.main")
