"""Plugins loaded by name: the entry points a project declares (`fork_lint.metadata`)
are what ``ep.load()`` gives (`fork_lint.graph.plugins`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fork_lint.api import check_paths
from fork_lint.metadata import project_entry_points

HOST = """\
import threading
from importlib.metadata import entry_points


class Host:
    def start(self):
        threading.Thread(target=self._loop).start()

    def _loop(self):
{loop}
"""

PLUGINS = """\
import os


class ForkPlugin:
    def run(self):
        os.fork()


class Unlisted:
    def run(self):
        os.fork()
"""

PYPROJECT = """\
[project]
name = "myhost"
version = "1"

[project.entry-points."myhost.plugins"]
forker = "myhost.plugins:ForkPlugin"
"""


def _project(root: Path, loop: str, pyproject: str = PYPROJECT) -> Path:
    (root / "myhost").mkdir()
    (root / "myhost" / "__init__.py").write_text("")
    (root / "myhost" / "host.py").write_text(HOST.format(loop=loop))
    (root / "myhost" / "plugins.py").write_text(PLUGINS)
    (root / "pyproject.toml").write_text(pyproject)
    return root


def _forks(root: Path) -> set[tuple[str, str]]:
    report = check_paths([root], no_cache=True)
    return {(Path(f.location.path).name, f.function) for f in report.findings}


LOOPS = {
    "importlib.metadata group": (
        "        for ep in entry_points(group='myhost.plugins'):\n            ep.load()().run()\n"
    ),
    "select": (
        "        for ep in entry_points().select(group='myhost.plugins'):\n"
        "            ep.load()().run()\n"
    ),
    "subscript": (
        "        for ep in entry_points()['myhost.plugins']:\n            ep.load()().run()\n"
    ),
    "pkg_resources": (
        "        import pkg_resources\n"
        "        found = pkg_resources.iter_entry_points('myhost.plugins')\n"
        "        plugins = {ep.name: ep for ep in found}\n"
        "        plugins['forker'].load()().run()\n"
    ),
}


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_a_declared_plugin_runs_where_the_host_loads_it(tmp_path: Path, loop: str) -> None:
    root = _project(tmp_path, LOOPS[loop])
    assert _forks(root) == {("plugins.py", "myhost.plugins.ForkPlugin.run")}


def test_a_group_the_project_does_not_declare_loads_nothing(tmp_path: Path) -> None:
    loop = "        for ep in entry_points(group='other.plugins'):\n            ep.load()().run()\n"
    assert _forks(_project(tmp_path, loop)) == set()


def test_a_group_that_is_not_a_constant_loads_nothing(tmp_path: Path) -> None:
    loop = (
        "        group = self.group\n"
        "        for ep in entry_points(group=group):\n            ep.load()().run()\n"
    )
    assert _forks(_project(tmp_path, loop)) == set()


def test_without_metadata_nothing_is_loaded(tmp_path: Path) -> None:
    root = _project(tmp_path, LOOPS["importlib.metadata group"], pyproject="[project]\nname='x'\n")
    assert _forks(root) == set()


def test_the_metadata_of_every_kind_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[project.scripts]\ntool = 'pkg.cli:main'\n"
        "[project.gui-scripts]\nwin = 'pkg.gui:main'\n"
        "[project.entry-points.'a.group']\none = 'pkg.one:One [extra]'\n"
        "[tool.poetry.plugins.'p.group']\nfour = 'pkg.four:Four'\n"
    )
    (tmp_path / "setup.cfg").write_text(
        "[options.entry_points]\nb.group =\n    two = pkg.two:Two\n    bad line\n"
    )
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(entry_points={'c.group': ['three = pkg.three:make'], 'd.group': 'x = pkg.x'})\n"
    )
    info = tmp_path / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[e.group]\nfive = pkg.five:Five.create\n")
    assert project_entry_points(tmp_path) == (
        ("a.group", "one", "pkg.one:One"),
        ("b.group", "two", "pkg.two:Two"),
        ("c.group", "three", "pkg.three:make"),
        ("console_scripts", "tool", "pkg.cli:main"),
        ("d.group", "x", "pkg.x"),
        ("e.group", "five", "pkg.five:Five.create"),
        ("gui_scripts", "win", "pkg.gui:main"),
        ("p.group", "four", "pkg.four:Four"),
    )


def test_broken_metadata_is_skipped(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    (tmp_path / "setup.cfg").write_text("not an ini file")
    (tmp_path / "setup.py").write_text("'\\d'\nsetup(entry_points=")
    info = tmp_path / "pkg.egg-info"
    info.mkdir()
    (info / "entry_points.txt").write_bytes(b"\xff\xfe[g]\nx = y:z\n")
    assert project_entry_points(tmp_path) == ()
    assert capfd.readouterr().err == ""  # no SyntaxWarning for the invalid escape


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_linked_metadata_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pyproject.toml").write_text("[project.entry-points.g]\nx = 'm:f'\n")
    (outside / "x.dist-info").mkdir()
    (outside / "x.dist-info" / "entry_points.txt").write_text("[g]\ny = m:g\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "pyproject.toml").symlink_to(outside / "pyproject.toml")
    (root / "y.dist-info").symlink_to(outside / "x.dist-info")
    assert project_entry_points(root) == ()
