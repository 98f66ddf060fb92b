"""No import cycles in `src/fork_lint`, counting every import: at module level, inside
functions, under ``if TYPE_CHECKING:``, and ``importlib.import_module`` with a literal
name (an f-string counts as every module its literal prefix could name).

Modules are the nodes; ``import a.b`` and ``from a import b`` are edges to ``a.b``
when that is a module, else to ``a``. The implicit import of a package's
``__init__`` by its submodules is not an edge: every submodule has it, so every
package that re-exports a submodule would be a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# No cycle is tolerated: a module that needs another's type for an annotation
# only sees it through a protocol (as `graph.reach_view`).
PENDING: tuple[frozenset[str], ...] = ()


def modules(src: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known: dict[str, Path], top: str) -> set[str]:
    """The modules of package `top` that module `name` imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str | None) -> None:
        if target is not None and (target == top or target.startswith(top + ".")):
            found.add(target)

    tree = ast.parse(path.read_text(encoding="utf-8"))
    # The strings of the module: an import_module(f"pkg.{name}") loads the modules
    # of pkg whose rest of the name is one of them (a table of names), or, if none
    # is, any module of pkg.
    strings = {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_resolve(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                add(full if full in known else _resolve(base, known))
        elif isinstance(node, ast.Call) and _is_import_module(node):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                add(_resolve(arg.value, known))
            elif isinstance(arg, ast.JoinedStr) and arg.values:
                first = arg.values[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    prefix = first.value
                    targets = [t for t in known if t.startswith(prefix)]
                    named = [t for t in targets if t[len(prefix) :] in strings]
                    for target in named or targets:
                        add(target)
    found.discard(name)
    return found


def _is_import_module(node: ast.Call) -> bool:
    func = node.func
    named = (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id == "import_module"
    )
    return named and bool(node.args)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def import_graph(src: Path, top: str) -> dict[str, set[str]]:
    known = {name: path for name, path in modules(src).items() if name.split(".")[0] == top}
    return {name: imports(name, path, known, top) for name, path in known.items()}


def test_no_import_cycles() -> None:
    found = cycles(import_graph(SRC, "fork_lint"))
    outside = [c for c in found if not any(set(c) <= pending for pending in PENDING)]
    assert outside == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in outside)


def test_the_check_finds_every_kind_of_import(tmp_path: Path) -> None:
    """A cycle through a function-level import, one under TYPE_CHECKING and one
    through importlib (a name, or an f-string: the modules a table of names gives,
    else any) are all found; a package's re-export of its submodule is not
    a cycle."""
    pkg = tmp_path / "demo"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from demo.leaf import X\n",
        "leaf.py": "X = 1\n",
        "a.py": "def f():\n    from demo import b\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from demo.a import f\n",
        "c.py": "import importlib\nimportlib.import_module('demo.d')\n",
        "g.py": "import importlib\nfor n in ('h',):\n    importlib.import_module(f'demo.{n}')\n",
        "h.py": "X = 3\n",
        "k.py": "import importlib\ndef f(n):\n    importlib.import_module(f'demo.{n}')\n",
        "m.py": "from demo import k\n",
        "d.py": "from . import c\n",
        "sub/__init__.py": "from demo.sub.e import E\n",
        "sub/e.py": "E = 2\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    assert cycles(import_graph(tmp_path, "demo")) == [
        ["demo.a", "demo.b"],
        ["demo.c", "demo.d"],
        ["demo.k", "demo.m"],  # k may load any module of demo; g loads only h
    ]
