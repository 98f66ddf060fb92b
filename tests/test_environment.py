"""Finding the Python environment and its libraries' source, from files alone."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from fork_lint.libraries.environment import (
    EnvironmentNotFound,
    find_environment,
    normalize_name,
    read_environment,
)


def _write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _base(tmp_path: Path, version: str = "3.11") -> Path:
    """An installation: bin/python and lib/pythonX.Y with a standard library."""
    base = tmp_path / "base"
    _write(base / "bin" / "python")
    lib = base / "lib" / f"python{version}"
    _write(lib / "os.py", "")
    _write(lib / "socketserver.py", "class ForkingMixIn: pass\n")
    _write(lib / "json" / "__init__.py")
    _write(lib / "lib-dynload" / "_ssl.cpython-311-x86_64-linux-gnu.so")
    (lib / "site-packages").mkdir()
    return base


def _venv(tmp_path: Path, base: Path, *, system: bool = False) -> Path:
    venv = tmp_path / "venv"
    _write(
        venv / "pyvenv.cfg",
        f"home = {base / 'bin'}\n"
        f"include-system-site-packages = {'true' if system else 'false'}\n"
        "version = 3.11.7\n",
    )
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    _write(venv / "bin" / "python")
    return venv


def _site(venv: Path) -> Path:
    return venv / "lib" / "python3.11" / "site-packages"


def _dist(site: Path, name: str, version: str, files: dict[str, str], **meta: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    lines = [f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {req}" for req in meta.get("requires", "").split("|") if req]
    _write(info / "METADATA", "\n".join(lines) + "\n")
    record = []
    for rel, text in files.items():
        _write(site / rel, text)
        record.append(f"{rel},sha256=x,{len(text)}")
    _write(info / "RECORD", "\n".join(record) + "\n")
    if "top_level" in meta:
        _write(info / "top_level.txt", meta["top_level"])


def test_venv_stdlib_and_site_packages(tmp_path: Path) -> None:
    base = _base(tmp_path)
    venv = _venv(tmp_path, base)
    env = find_environment(None, tmp_path, environ={"VIRTUAL_ENV": str(venv)})
    assert env.origin == "$VIRTUAL_ENV"
    assert env.version == (3, 11)
    assert env.stdlib == base / "lib" / "python3.11"
    assert env.site_packages == (_site(venv),)
    found = env.find_module("socketserver")
    assert found is not None and found.path == base / "lib" / "python3.11" / "socketserver.py"
    assert env.is_stdlib("json")
    assert env.find_module("_ssl") is not None and env.find_module("_ssl").kind == "extension"  # type: ignore[union-attr]
    assert env.find_module("sys") is not None and env.find_module("sys").kind == "builtin"  # type: ignore[union-attr]
    # The base installation's own site-packages are not visible from an isolated venv.
    _write(base / "lib" / "python3.11" / "site-packages" / "outside.py")
    assert (
        find_environment(None, tmp_path, environ={"VIRTUAL_ENV": str(venv)}).find_module("outside")
        is None
    )


def test_system_site_packages_when_the_venv_asks(tmp_path: Path) -> None:
    base = _base(tmp_path)
    _write(base / "lib" / "python3.11" / "site-packages" / "outside.py")
    venv = _venv(tmp_path, base, system=True)
    env = read_environment(venv, "test")
    found = env.find_module("outside")
    assert found is not None and found.path is not None


def test_choice_order(tmp_path: Path) -> None:
    base = _base(tmp_path)
    venv = _venv(tmp_path, base)
    project = tmp_path / "project"
    local = project / ".venv"
    _write(local / "pyvenv.cfg", f"home = {base / 'bin'}\nversion = 3.11.2\n")
    # --python beats $VIRTUAL_ENV, which beats .venv, which beats the running interpreter.
    named = find_environment(venv / "bin" / "python", project, environ={"VIRTUAL_ENV": "/nope"})
    assert (named.prefix, named.origin) == (venv, "--python")
    assert find_environment(venv, project, environ={}).prefix == venv
    assert find_environment(None, project, environ={"VIRTUAL_ENV": str(venv)}).prefix == venv
    assert find_environment(None, project, environ={}).prefix == local
    running = find_environment(None, tmp_path / "elsewhere", environ={})
    assert running.prefix == Path(sys.prefix)
    assert running.origin == "the running interpreter"
    with pytest.raises(EnvironmentNotFound):
        find_environment(tmp_path / "missing" / "python", project, environ={})


def test_pth_paths_are_added_and_import_lines_never_run(tmp_path: Path) -> None:
    base = _base(tmp_path)
    venv = _venv(tmp_path, base)
    site = _site(venv)
    src = tmp_path / "checkout" / "src"
    _write(src / "mypkg" / "__init__.py", "X = 1\n")
    marker = tmp_path / "ran"
    _write(
        site / "a_editable.pth",
        f"# comment\n{src}\nimport os; open({str(marker)!r}, 'w').close()\nrelative_dir\n",
    )
    (site / "relative_dir").mkdir()
    env = read_environment(venv, "test")
    assert src in env.paths and site / "relative_dir" in env.paths
    found = env.find_module("mypkg")
    assert found is not None and found.path == src / "mypkg" / "__init__.py"
    assert not marker.exists()


def test_setuptools_editable_finder_mapping_is_read_not_run(tmp_path: Path) -> None:
    base = _base(tmp_path)
    venv = _venv(tmp_path, base)
    site = _site(venv)
    pkg = tmp_path / "work" / "lib" / "fancy"
    _write(pkg / "__init__.py")
    _write(pkg / "sub.py", "def f(): pass\n")
    marker = tmp_path / "ran"
    _write(
        site / "__editable___fancy_1_0_finder.py",
        f"open({str(marker)!r}, 'w').close()\nMAPPING = {{'fancy': {str(pkg)!r}}}\n",
    )
    _write(
        site / "__editable__.fancy-1.0.pth",
        "import __editable___fancy_1_0_finder; __editable___fancy_1_0_finder.install()\n",
    )
    env = read_environment(venv, "test")
    found = env.find_module("fancy.sub")
    assert found is not None and found.path == pkg / "sub.py"
    assert not marker.exists()


def test_namespace_packages_merge_portions(tmp_path: Path) -> None:
    base = _base(tmp_path)
    venv = _venv(tmp_path, base)
    site = _site(venv)
    other = tmp_path / "other"
    _write(site / "ns.pth", f"{other}\n")
    _write(site / "google" / "protobuf" / "__init__.py")
    _write(other / "google" / "cloud" / "__init__.py")
    env = read_environment(venv, "test")
    ns = env.find_module("google")
    assert ns is not None and ns.kind == "namespace" and len(ns.portions) == 2
    cloud = env.find_module("google.cloud")
    assert cloud is not None and cloud.path == other / "google" / "cloud" / "__init__.py"


def test_distributions(tmp_path: Path) -> None:
    base = _base(tmp_path)
    venv = _venv(tmp_path, base)
    site = _site(venv)
    _dist(
        site,
        "Py_Expect",
        "4.9.0",
        {"pexpect/__init__.py": "", "pexpect/pty_spawn.py": ""},
        requires='ptyprocess (>=0.5)|sphinx ; extra == "doc"',
    )
    _dist(site, "six", "1.16.0", {"six.py": ""})
    _dist(
        site,
        "PyYAML",
        "6.0",
        {"yaml/__init__.py": "", "_yaml/__init__.py": ""},
        top_level="_yaml\nyaml\n",
    )
    env = read_environment(venv, "test")
    dists = env.distributions()
    assert set(dists) == {"py-expect", "six", "pyyaml"}
    pexpect = env.distribution_of("pexpect.pty_spawn")
    assert pexpect is not None and pexpect.version == "4.9.0"
    assert pexpect.requires == ("ptyprocess",)
    assert env.distribution_of("six") is not None
    assert env.distribution_of("yaml") is not None and env.distribution_of("_yaml") is not None
    assert env.distribution_of("json") is None
    assert normalize_name("Py_Expect") == "py-expect"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_huge_configuration_files_are_skipped(tmp_path: Path) -> None:
    base = _base(tmp_path)
    venv = _venv(tmp_path, base)
    site = _site(venv)
    os.mkfifo(site / "blocked.pth")
    info = site / "evil-1.0.dist-info"
    info.mkdir()
    os.mkfifo(info / "METADATA")
    with open(site / "huge.pth", "wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: no disk used
    env = read_environment(venv, "test")  # returns: nothing blocks on the FIFOs
    assert env.distributions() == {}


def test_real_running_interpreter_finds_its_stdlib() -> None:
    env = find_environment(None, Path("/nonexistent-project"), environ={})
    assert env.version == sys.version_info[:2]
    found = env.find_module("socketserver")
    assert found is not None and found.path is not None and found.path.name == "socketserver.py"
    assert env.is_stdlib("socketserver")
