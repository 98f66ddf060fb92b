"""Type annotations stand for values from outside the call graph
(`fork_lint.index.annotations`, `fork_lint.graph.annotations`)."""

from __future__ import annotations

import textwrap

import pytest

from fork_lint.catalog import PathFilter
from fork_lint.graph.solver import CORE_ROOTS, Program, Value
from fork_lint.index.extract import extract
from fork_lint.index.facts import ModuleFacts


def _facts(source: str, module: str = "m") -> ModuleFacts:
    return extract(textwrap.dedent(source), f"{module}.py", module, False)


def _annotations(source: str) -> dict[object, tuple[object, ...]]:
    facts = _facts(source)
    return {t: types for sc in facts["scopes"] for t, types in sc["annotations"]}


@pytest.mark.parametrize(
    ("annotation", "names"),
    [
        ("Redis", [("name", "Redis")]),
        ('"Redis"', [("name", "Redis")]),
        ("Optional[Redis]", [("name", "Redis")]),
        ('Optional["redis.Redis"]', [("attr", ("name", "redis"), "Redis")]),
        ("Redis | None", [("name", "Redis")]),
        ('"Redis | StrictRedis | None"', [("name", "Redis"), ("name", "StrictRedis")]),
        ("typing.Union[Redis, None, Pool]", [("name", "Redis"), ("name", "Pool")]),
        ('Annotated[Redis, "doc"]', [("name", "Redis")]),
        ("ClassVar[Optional[Redis]]", [("name", "Redis")]),
        ("Queue[int]", [("name", "Queue")]),
        ("list[Thread]", [("name", "list")]),
        ("Literal['a']", []),
        ("None", []),
        ('"not valid ("', []),
    ],
)
def test_annotation_forms(annotation: str, names: list[object]) -> None:
    found = _annotations(f"def f(x: {annotation}): pass\n")
    assert list(found.get(("param", "m.f", "x"), ())) == names


def test_targets_of_annotations() -> None:
    found = _annotations(
        """
        from __future__ import annotations

        top: Redis

        class C:
            shared: Redis
            def __init__(self, conn: Redis, *args: Pool, **kw: Pool) -> None:
                self.conn: Redis = conn
            def make(self) -> Redis: ...

        def f():
            local: Redis = get()
            bare: Redis
        """
    )
    assert set(found) == {
        ("name", "top"),
        ("name", "shared"),
        ("param", "m.C.__init__", "conn"),
        ("param", "m.C.__init__", "args"),
        ("param", "m.C.__init__", "kw"),
        ("attr", ("name", "self"), "conn"),
        ("return", "m.C.make"),
        ("name", "local@1"),
    }


def test_type_checking_imports_bind_names_but_import_nothing() -> None:
    facts = _facts(
        """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from redis import Redis
            import kafka
        else:
            import json
        """
    )
    imports = [s["text"] for s in facts["calls"] if s["kind"] == "import"]
    assert imports == ["typing.TYPE_CHECKING", "json"]
    assert {t[1] for t, _ in facts["scopes"][0]["assigns"]} >= {"Redis", "kafka", "json"}


def _solved(*sources: tuple[str, str], patterns: tuple[str, ...] = ()) -> Program:
    modules = [_facts(source, name) for name, source in sources]
    paths = PathFilter(patterns) if patterns else None
    roots = CORE_ROOTS | {p.partition(".")[0] for p in patterns}
    program = Program(modules, roots, paths=paths)
    program.solve()
    return program


def _var(program: Program, scope: str, name: str) -> set[Value]:
    return set(program.vars.get((scope, name), set()))


def test_an_annotation_fills_what_nothing_sets() -> None:
    program = _solved(
        (
            "m",
            """
            import threading
            from typing import Any, Optional

            class Base: pass
            class Sub(Base): pass
            class Known: pass

            def f(a: Base, b: Optional[threading.Thread] = None, c: Any = None,
                  d: object = None, e: type = None, k: Base = None):
                pass

            f(k=Known())

            def make() -> "Base":
                return unknown()
            """,
        )
    )
    assert _var(program, "m.f", "a") == {("s", "m.Base")}  # the class and its subclasses
    assert _var(program, "m.f", "b") == {("x", "threading.Thread()", "")}
    assert _var(program, "m.f", "c") == set()
    assert _var(program, "m.f", "d") == set()
    assert _var(program, "m.f", "e") == set()
    assert _var(program, "m.f", "k") == {("i", "m.Known")}  # known: not replaced
    assert program.rets["m.make"] == {("s", "m.Base")}


def test_fields_class_attributes_and_aliases_across_modules() -> None:
    program = _solved(
        ("conn", "import threading\nWorkerThread = threading.Thread\n"),
        (
            "m",
            """
            from typing import ClassVar, TYPE_CHECKING
            if TYPE_CHECKING:
                from conn import WorkerThread

            class C:
                shared: ClassVar["WorkerThread"]
                def __init__(self, factory):
                    self.t: WorkerThread = factory()

                def run(self):
                    self.t.start()
                    self.shared.start()
            """,
        ),
    )
    thread = {("x", "threading.Thread()", "")}
    assert set(program.fields.get(("m.C", "t"), set())) == thread
    assert _var(program, "m.C", "shared") == thread
    starts = {
        v[1]
        for (mod, _), callees in program.callees.items()
        if mod == "m"
        for v in callees
        if v[0] == "x"
    }
    assert "threading.Thread().start" in starts


def test_library_instances_only_for_tracked_paths() -> None:
    source = (
        "m",
        """
        import redis
        def f(conn: redis.Redis):
            conn.pubsub().run_in_thread()
        """,
    )
    tracked = _solved(source, patterns=("redis.*.run_in_thread",))
    assert _var(tracked, "m.f", "conn") == {("x", "redis.Redis()", "")}
    untracked = _solved(source, patterns=("kafka.KafkaProducer",))
    assert _var(untracked, "m.f", "conn") == set()
