"""Flow within a function: each binding of a local is a version of its own
(`fork_lint.index.versions`), and functions that never return end their paths.

Most cases are checked by what the solved program calls from each line, so that
they state behaviour, not the facts' spelling; the facts the reachability layer
reads (receiver keys, `leaves`, `passes`, `tails`) are checked directly.
"""

from __future__ import annotations

import textwrap

from fork_lint.graph.solver import Program
from fork_lint.index.extract import extract
from fork_lint.index.facts import ModuleFacts

HEADER = """\
def one(): pass
def two(): pass
def three(): pass
"""


def _facts(source: str) -> ModuleFacts:
    return extract(HEADER + textwrap.dedent(source), "m.py", "m", False)


def _calls(source: str) -> dict[int, set[str]]:
    """Project functions called from each line (counted from the line after `HEADER`)."""
    facts = _facts(source)
    program = Program([facts])
    program.solve()
    offset = HEADER.count("\n")
    out: dict[int, set[str]] = {}
    for site in facts["calls"]:
        targets = program.edges.get(("m", site["id"]), set())
        line = site["span"][0] - offset
        out.setdefault(line, set()).update(t.rpartition(".")[2] for t in targets)
    return {line: names for line, names in out.items() if names}


def _scope(facts: ModuleFacts, name: str) -> dict[str, object]:
    return next(dict(sc) for sc in facts["scopes"] if sc["name"] == name)


def test_a_rebinding_does_not_reach_earlier_uses() -> None:
    assert _calls(
        """
        def f():
            g = one
            g()
            g = two
            g()
        """
    ) == {4: {"one"}, 6: {"two"}}


def test_module_names_rebound_in_the_module_block() -> None:
    # Module code reads the binding before it; functions (and other modules) read
    # the name at any time: every version. Class bodies stay whole.
    calls = _calls(
        """
        g = one
        g()
        g = two
        g()

        def later():
            g()

        class C:
            h = one
            h()
            h = two
        """
    )
    assert calls == {3: {"one"}, 5: {"two"}, 8: {"one", "two"}, 12: {"one", "two"}}


def test_module_names_bound_otherwise_stay_whole() -> None:
    # In a branch, by `global` in a function or by `:=`: each read holds every
    # binding. A comprehension's variable is its own (Python 3 does not leak it).
    calls = _calls(
        """
        a = one
        if cond:
            a = two
        a()
        b = one
        b = one
        b()
        def rebind():
            global b
            b = two
        c = one
        c = one
        [c for c in (two,)]
        c()
        d = one
        d = one
        (d := two)
        d()
        """
    )
    assert calls == {5: {"one", "two"}, 8: {"one", "two"}, 15: {"one"}, 19: {"one", "two"}}


def test_rebinding_at_module_level() -> None:
    # `f = deco(f)` hands `deco` the function, not also what `deco` returns, and
    # `f()` after it calls only that.
    calls = _calls(
        """
        def deco(fn):
            fn()
            return two
        def f():
            one()
        f = deco(f)
        f()
        """
    )
    assert calls == {3: {"f"}, 6: {"one"}, 7: {"deco"}, 8: {"two"}}


def test_merges_at_if_loop_and_try() -> None:
    calls = _calls(
        """
        def f(flag, items):
            g = one
            if flag:
                g = two
            g()
            h = one
            for _ in items:
                h()
                h = two
            k = one
            try:
                k = two
                k = three
            except ValueError:
                k()
            m = one
            try:
                m = two
            finally:
                m()
            g = h = k = m = three
        """
    )
    assert calls[6] == {"one", "two"}
    assert calls[9] == {"one", "two"}
    assert calls[16] == {"one", "two", "three"}
    assert calls[21] == {"one", "two"}


def test_a_closure_sees_every_version_and_nonlocal_rebinds_all() -> None:
    calls = _calls(
        """
        def f():
            g = one
            def read():
                g()
            g = two

        def h():
            k = one
            def rebind():
                nonlocal k
                k = three
            rebind()
            k()
            k = two
        """
    )
    assert calls[5] == {"one", "two"}
    assert calls[14] == {"one", "three"}


def test_a_nonlocal_name_is_not_a_local_of_the_nested_function() -> None:
    facts = _facts(
        """
        def f():
            k = one
            def rebind():
                nonlocal k
                k = two
        """
    )
    assert "k" not in _scope(facts, "rebind")["locals"]  # type: ignore[operator]


def test_comprehension_targets_do_not_leak_and_generators_run_late() -> None:
    calls = _calls(
        """
        def f(items):
            g = one
            [g for g in (two,)]
            g()
            h = one
            gen = (h() for _ in items)
            h = two
            list(gen)
        """
    )
    assert calls[5] == {"one"}
    assert calls[7] == {"one", "two"}


def test_walrus_in_a_loop_reaches_earlier_reads() -> None:
    # `:=` is not found by the scan of the loop's statements: the version that
    # reaches the loop takes what it binds.
    calls = _calls(
        """
        def f(items):
            g = one
            for _ in items:
                g()
                if (g := two):
                    pass
            g = three
        """
    )
    assert calls[5] == {"one", "two"}


def test_with_match_del_augassign_global() -> None:
    calls = _calls(
        """
        import contextlib

        G = one

        def f(x):
            with contextlib.suppress(ValueError) as g:
                g = two
            g()
            match x:
                case 1:
                    h = one
                case _:
                    h = two
            h()
            k = [one]
            k += [two]
            for fn in k:
                fn()
            global G
            G = three
            g = h = k = three

        def use():
            G()
        """
    )
    assert calls[9] == {"two"}
    assert calls[15] == {"one", "two"}
    assert calls[19] == {"one", "two"}
    assert calls[25] == {"one", "three"}


def test_receiver_keys_follow_versions() -> None:
    facts = _facts(
        """
        import threading

        def f(flag):
            t = threading.Thread()
            t.start()
            t = threading.Thread()
            t.join()
            u = None
            if flag:
                u = threading.Thread()
                u.start()
            u.join()
        """
    )
    by_text = {(s["text"], s["span"][0]): s for s in facts["calls"]}
    lines = sorted(by_text)
    starts = [by_text[k]["recv"] for k in lines if k[0] == "t.start"]
    assert starts == ["t@1"]
    assert [by_text[k]["bind"] for k in lines if k[0] == "threading.Thread"][:2] == ["t@1", "t@2"]
    joins = _scope(facts, "f")["joins"]
    assert ("t@2", by_text[next(k for k in lines if k[0] == "t.join")]["order"]) in joins  # type: ignore[operator]
    assert all(k != "t@1" for k, _ in joins)  # type: ignore[attr-defined]
    # The join of `u` after the merge may join the thread bound inside the `if`.
    u_start = next(by_text[k]["recv"] for k in lines if k[0] == "u.start")
    assert any(k == u_start for k, _ in joins)  # type: ignore[attr-defined]


def test_leaves_and_passes() -> None:
    facts = _facts(
        """
        import os, sys

        def fail():
            raise ValueError

        def exits(flag):
            if flag:
                sys.exit(1)
            else:
                os._exit(1)

        def forever(handle):
            while True:
                handle()

        def returns(flag):
            if flag:
                raise ValueError

        def hook():
            raise NotImplementedError

        def gen():
            raise ValueError
            yield

        def through():
            print()
            fail()

        def returns_first(flag):
            if flag:
                return
            fail()

        def caught():
            try:
                raise ValueError
            except ValueError:
                pass

        def in_finally():
            try:
                raise ValueError
            finally:
                print()

        def served(flag):
            try:
                loop()
            except KeyboardInterrupt:
                if flag:
                    print()
                halt()
            except Exception:
                stop()

        def swallowed(ctx):
            with ctx:
                fail()
        """
    )
    leaves = {sc["name"]: sc["leaves"] for sc in facts["scopes"] if sc["kind"] == "function"}
    assert leaves == {
        "one": False, "two": False, "three": False, "fail": True, "exits": True,
        "forever": True, "returns": False, "hook": False, "gen": False, "through": False,
        "returns_first": False, "caught": False, "in_finally": True, "served": False,
        "swallowed": False,
    }  # fmt: skip
    calls = facts["calls"]

    def clauses(name: str) -> list[list[str]]:
        return sorted([calls[i]["text"] for i in c] for c in _scope(facts, name)["passes"])

    assert clauses("through") == [["print", "fail"]]
    assert clauses("returns_first") == []
    # Each way out passes its own call; `print` in one arm is not on every path.
    assert clauses("served") == [["halt"], ["loop"], ["stop"]]
    assert clauses("swallowed") == []  # the context manager may swallow what fail raised


def test_tails_and_dead_sites() -> None:
    facts = _facts(
        """
        import os, sys

        def fail():
            raise ValueError

        def f(flag):
            fail()
            print()
            if flag:
                os.fork()

        def g():
            sys.exit(0)
            os.fork()
        """
    )
    from fork_lint.graph.paths import dead_sites, leaving_functions

    program = Program([facts])
    program.solve()
    found = dead_sites(program, leaving_functions(program))
    dead = {facts["calls"][i]["text"] for _, i in found}
    assert dead == {"print", "os.fork"}
    dead_lines = {facts["calls"][i]["span"][0] for _, i in found}
    offset = HEADER.count("\n")
    assert {line - offset for line in dead_lines} == {9, 11, 15}


def test_a_merge_keeps_the_constants_the_analysis_follows() -> None:
    # `None` holds no value and is left out of a merge; a start method name is a value.
    facts = _facts(
        """
        def f(flag, compute):
            method = "spawn"
            if flag:
                method = compute()
            return method
        """
    )
    program = Program([facts])
    program.solve()
    assert ("v", "spawn") in program.rets["m.f"]


def test_facts_do_not_depend_on_the_hash_seed() -> None:
    """Two loops' head versions merged at one read are written in one order
    whatever the string hash seed: facts are cached and digested by content."""
    import os
    import subprocess
    import sys

    script = (
        "import textwrap\n"
        "from fork_lint.index.extract import extract\n"
        "src = textwrap.dedent('''\n"
        "    def f(a, b, c):\n"
        "        m = n = None\n"
        "        if c:\n"
        "            for x in a:\n"
        "                m = x\n"
        "                n = x\n"
        "        else:\n"
        "            for y in b:\n"
        "                m = y\n"
        "                n = y\n"
        "        print(m, n)\n"
        "''')\n"
        "print(repr(extract(src, 'm.py', 'm', False)))\n"
    )
    outputs = set()
    for seed in range(8):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        run = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1
