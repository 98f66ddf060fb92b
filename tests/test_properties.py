"""Property-based tests: the analysis, the fixers and the reporters on generated programs.

hypothesmith generates arbitrary syntactically valid programs (the analysis must
never raise on them); a strategy of our own composes programs out of thread
sources and fork sinks, where the fixers have something to do. Budgets are
fixed and the runs derandomised, so CI time is bounded and failures reproduce.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
hypothesmith = pytest.importorskip("hypothesmith")
jsonschema = pytest.importorskip("jsonschema")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fork_lint.api import check_sources  # noqa: E402
from fork_lint.fixes.apply import fix_sources  # noqa: E402
from fork_lint.model import Finding  # noqa: E402
from fork_lint.output import RenderContext, render  # noqa: E402
from fork_lint.output._context import split_source_lines  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::SyntaxWarning")]

_SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)
_SARIF = jsonschema.Draft4Validator(_SCHEMA)


# The budget: a fixed number of examples per property, 3,060 in all, derandomised (the
# same inputs on every run, no example database), so CI time is bounded (75-100 s on
# 2 cores, 3.10 the slowest) and a failure reproduces. Per example: 45-70 ms for a program
# from hypothesmith's grammar, 170-300 ms from its libcst nodes, 35-45 ms for two fix
# runs, 15-20 ms for an analysis, three reports and the SARIF validation.
BUDGET = {
    "valid programs": 400,
    "valid programs from libcst nodes": 60,
    "fixes": 800,
    "outputs": 1800,
}


def test_the_budget_is_a_few_thousand_examples() -> None:
    assert sum(BUDGET.values()) >= 3000


def _budget(n: int) -> Any:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        # No `target` phase: hill-climbing towards hypothesmith's size target took 80 of
        # the 100 s of the grammar test on 3.10, for no more examples in the count.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )


# ------------------------------------------------------------------ arbitrary programs


_THREAD_AND_FORK = "import os, threading\nthreading.Thread(target=print).start()\nos.fork()\n"


@_budget(BUDGET["valid programs"])
@given(hypothesmith.from_grammar())
def test_analysis_never_raises_on_valid_programs(source: str) -> None:
    findings = check_sources({"pkg/mod.py": source})
    assert all(f.code != "FRK999" for f in findings)
    # Again with a thread and a fork after it, so that the whole-program stages (call
    # graph, classification, reachability) run over the generated code too.
    wrapped = source + ("" if source.endswith(("\n", "\r")) else "\n") + _THREAD_AND_FORK
    try:
        ast.parse(wrapped)
    except (SyntaxError, ValueError, RecursionError):
        return  # e.g. a last line continued by a backslash
    findings = check_sources({"pkg/mod.py": wrapped, "pkg/__init__.py": ""})
    assert all(f.code != "FRK999" for f in findings)


@_budget(BUDGET["valid programs from libcst nodes"])
@given(hypothesmith.from_node())
def test_analysis_never_raises_on_valid_programs_with_fork_and_threads(body: str) -> None:
    """Programs of another generator, with a thread and a fork around them."""
    source = (
        "import os, threading\nthreading.Thread(target=print).start()\n"
        + body
        + ("\n" if body and not body.endswith("\n") else "")
        + "os.fork()\n"
    )
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return  # the generated body only parses as a module on its own
    check_sources({"pkg/mod.py": source, "pkg/__init__.py": ""})


# ------------------------------------------------------------ programs with sinks and sources

_THREADS = [
    "threading.Thread(target={f}).start()",
    "t{n} = threading.Thread(target={f}, daemon=True)\nt{n}.start()",
    "concurrent.futures.ThreadPoolExecutor(2).submit({f})",
    "threading.Timer(1.0, {f}).start()",
]
_FORKS = [
    "pid{n} = os.fork()\nif pid{n} == 0:\n    {f}()\n    os._exit(0)",
    "os.fork()",
    "multiprocessing.Process(target={f}).start()",
    "multiprocessing.Pool(2).map({f}, [1])",
    "concurrent.futures.ProcessPoolExecutor(2).submit({f})",
    "multiprocessing.set_start_method('fork')",
    "subprocess.Popen(['true'], preexec_fn={f})",
    "subprocess.run(['true'], preexec_fn=os.setsid, check=False)",
    "ctx{n} = multiprocessing.get_context('fork')\nctx{n}.Process(target={f}).start()",
]
_HEADER = (
    "import concurrent.futures\nimport multiprocessing\nimport os\nimport subprocess\n"
    "import threading\n\n\ndef work(*args):\n    return args\n"
)


def _indent(text: str, by: str) -> str:
    return "\n".join(by + line for line in text.splitlines())


@st.composite
def fork_programs(draw: st.DrawFn) -> dict[str, str]:
    """A two-module project: `main.py` calls helpers in `helpers.py`; statements are
    thread starts and fork sinks, at module level, in functions or under `__main__`."""
    files = {"main.py": _HEADER + "import helpers\n", "helpers.py": _HEADER}
    count = draw(st.integers(1, 6))
    main_calls: list[str] = []
    for n in range(count):
        template = draw(st.sampled_from(_THREADS + _FORKS))
        stmt = template.format(n=n, f="work")
        where = draw(st.sampled_from(["main-module", "main-func", "helper-func", "main-guard"]))
        if where == "main-module":
            files["main.py"] += "\n" + stmt + "\n"
        elif where == "main-func":
            files["main.py"] += f"\n\ndef f{n}():\n{_indent(stmt, '    ')}\n"
            main_calls.append(f"f{n}()")
        elif where == "helper-func":
            files["helpers.py"] += f"\n\ndef h{n}():\n{_indent(stmt, '    ')}\n"
            main_calls.append(f"helpers.h{n}()")
        else:
            files["main.py"] += f"\n\nif __name__ == '__main__':\n{_indent(stmt, '    ')}\n"
    if main_calls:
        calls = draw(st.permutations(main_calls))
        files["main.py"] += "\n\n" + "\n".join(calls) + "\n"
    return files


@_budget(BUDGET["fixes"])
@given(fork_programs(), st.booleans())
def test_fixes_parse_and_are_idempotent(files: dict[str, str], unsafe: bool) -> None:
    for text in files.values():
        ast.parse(text)  # the generator itself must produce valid code
    result = fix_sources(files, unsafe=unsafe)
    fixed = dict(files)
    for path, (before, after) in result.changed.items():
        assert before == files[path]
        ast.parse(after)  # every fixed file still parses
        fixed[path] = after
    again = fix_sources(fixed, unsafe=unsafe)
    assert again.changed == {}  # a second run has nothing left it can fix


# ----------------------------------------------------------------------------- reporters


def _reporting_context(files: dict[str, str]) -> RenderContext:
    def read_lines(path: str) -> list[str] | None:
        text = files.get(path)
        return None if text is None else split_source_lines(text)

    return RenderContext(read_lines=read_lines)


@_budget(BUDGET["outputs"])
@given(fork_programs(), st.one_of(st.none(), st.text(max_size=120)))
def test_outputs_serialise_and_sarif_validates(files: dict[str, str], junk: str | None) -> None:
    """`junk`, arbitrary text, is mostly an FRK900 whose message and line are arbitrary too."""
    if junk is not None:
        files = {**files, "junk.py": junk}
    findings: list[Finding] = check_sources(files)
    ctx = _reporting_context(files)
    concise = render("concise", findings, ctx)
    assert concise.count("\n") >= len(findings)
    data = json.loads(render("json", findings, ctx))
    assert len(data) == len(findings)
    log = json.loads(render("sarif", findings, ctx))
    errors = list(_SARIF.iter_errors(log))
    assert not errors, errors[0].message
    assert len(log["runs"][0]["results"]) == len(findings)
