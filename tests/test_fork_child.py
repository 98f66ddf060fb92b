"""The code a fork's child runs: which sites only the child runs (`CallSite.child`),
whether that child ends the process before leaving them (`CallSite.child_exits`),
and which fork call made it (`CallSite.fork_order`). The findings these lead to
are in tests/fixtures/checks/fork_child_branch.py."""

from __future__ import annotations

import ast
import textwrap

import pytest

from fork_lint.index.extract import extract
from fork_lint.index.syntax import ends_process


def _sites(source: str) -> dict[str, tuple[bool, bool, int]]:
    """(child, child_exits, fork_order) of each call ``mark_<name>()``, by name,
    with ``fork_order`` as the line of that fork call (-1: none)."""
    facts = extract(textwrap.dedent(source), "m.py", "m", False)
    calls = facts["calls"]
    line_of = {(c["scope"], c["order"]): c["span"][0] for c in calls if c["text"].endswith("fork")}
    out = {}
    for c in calls:
        if c["text"].startswith("mark_"):
            fork = line_of.get((c["scope"], c["fork_order"]), -1) if c["child"] else -1
            out[c["text"][5:]] = (c["child"], c["child_exits"], fork)
    return out


def test_forms_of_the_fork_result() -> None:
    sites = _sites(
        """\
        import os, pty, sys
        def f(self):
            self.pid = os.fork()
            if self.pid == 0:
                mark_attr()
                os._exit(0)
            pid, fd = pty.fork()
            if pid:
                mark_parent()
            else:
                mark_pty()
                os.execv("sh", [])
            if (p := os.fork()) != 0:
                return p
            mark_walrus()
            sys.exit(0)
        def g():
            pid = os.fork()
            if not pid:
                mark_not()
            pid = 0
            if pid == 0:
                mark_rebound()
            if os.fork() > 0:
                mark_inline_parent()
            else:
                mark_inline()
        """
    )
    assert sites == {
        "attr": (True, True, 3),
        "parent": (False, False, -1),
        "pty": (True, True, 7),
        "walrus": (True, True, 13),
        "not": (True, False, 18),
        "rebound": (False, False, -1),
        "inline_parent": (False, False, -1),
        "inline": (True, False, 24),
    }


def test_child_of_a_child_that_exits_exits_with_it() -> None:
    sites = _sites(
        """\
        import os
        def f():
            if os.fork() == 0:
                if os.fork() == 0:
                    mark_inner()
                mark_outer()
                os._exit(0)
        """
    )
    assert sites == {"inner": (True, True, 4), "outer": (True, True, 3)}


@pytest.mark.parametrize(
    ("body", "ends"),
    [
        ("os._exit(0)", True),
        ("raise SystemExit", True),
        ("f()\nsys.exit()", True),
        ("os.execv('sh', [])", True),
        ("f()", False),
        ("return", False),
        ("if x:\n    return\nos._exit(0)", False),
        ("try:\n    f()\nfinally:\n    os._exit(1)", True),
        ("try:\n    f()\n    os._exit(0)\nexcept Exception:\n    os._exit(1)", True),
        ("try:\n    f()\n    os._exit(0)\nexcept Exception:\n    pass", False),
        ("if x:\n    os._exit(0)\nelse:\n    sys.exit(1)", True),
        ("if x:\n    os._exit(0)", False),
        ("with ctx():\n    os._exit(0)", True),
        ("with ctx():\n    sys.exit(0)", False),
        ("with ctx():\n    raise SystemExit", False),
        ("with ctx():\n    try:\n        f()\n    finally:\n        os._exit(1)", True),
        ("with ctx():\n    if x:\n        os._exit(0)\n    else:\n        sys.exit(1)", False),
        ("while True:\n    f()", True),
        ("while True:\n    break", False),
        ("while True:\n    for y in z:\n        break", True),
        ("while True:\n    return", False),
        ("while x:\n    f()", False),
        ("for y in z:\n    continue\nos._exit(0)", True),
        ("yield 1\nos._exit(0)", False),
        ("def inner():\n    return\nos._exit(0)", True),
    ],
)
def test_ends_process(body: str, ends: bool) -> None:
    stmts = ast.parse(body).body
    assert ends_process(stmts) is ends
