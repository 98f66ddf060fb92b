"""Score `fork-lint graph` on PyCG's call-graph micro-benchmark.

Usage::

    python scripts/pycg_bench.py PATH [--json FILE] [--category NAME ...] [--show-diff]

PATH is a checkout of the benchmark: the ``micro-benchmark`` directory of
https://github.com/vitsalis/PyCG, or its ``snippets`` directory. Each case is a
directory ``<category>/<case>/`` with ``main.py`` (and sometimes more modules)
and the expected graph ``callgraph.json``, in the format ``fork-lint graph``
writes. Each case is exported with ``fork-lint graph CASE --root CASE --isolated``.

Scores are edge-level, as in the PyCG paper: an edge counts when its caller and
callee names both match. Precision = found and expected / found, recall = found
and expected / expected, summed over the cases of a category. A case is
*complete* when no expected edge is missing and *sound* when no edge is extra.
Results are printed as a table and written as JSON (default ``pycg-bench.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fork_lint.cli import main as fork_lint_main

Edge = tuple[str, str]


@dataclass
class Score:
    found: int = 0
    expected: int = 0
    correct: int = 0
    cases: int = 0
    complete: int = 0
    sound: int = 0
    errors: int = 0

    def add(self, other: Score) -> None:
        for name in ("found", "expected", "correct", "cases", "complete", "sound", "errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def precision(self) -> float:
        return self.correct / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0

    def as_json(self) -> dict[str, float | int]:
        return {
            "cases": self.cases,
            "complete": self.complete,
            "sound": self.sound,
            "errors": self.errors,
            "edges_found": self.found,
            "edges_expected": self.expected,
            "edges_correct": self.correct,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


@dataclass
class CaseResult:
    name: str
    score: Score
    missing: list[Edge] = field(default_factory=list)
    extra: list[Edge] = field(default_factory=list)
    error: str = ""


def edges(graph: dict[str, list[str]]) -> set[Edge]:
    return {(caller, callee) for caller, callees in graph.items() for callee in callees}


def export(case: Path) -> dict[str, list[str]]:
    """Run `fork-lint graph` on one case directory, as a user would."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "graph.json"
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = fork_lint_main(
                ["graph", str(case), "--root", str(case), "--isolated", "--output", str(out)]
            )
        if code != 0:
            raise RuntimeError(err.getvalue().strip() or f"exit code {code}")
        graph: dict[str, list[str]] = json.loads(out.read_text())
        return graph


def score_case(case: Path) -> CaseResult:
    expected = edges(json.loads((case / "callgraph.json").read_text()))
    name = f"{case.parent.name}/{case.name}"
    try:
        found = edges(export(case))
    except Exception as exc:  # a crash on one case must not hide the others
        missing = sorted(expected)
        score = Score(expected=len(expected), cases=1, errors=1)
        return CaseResult(name, score, missing=missing, error=f"{type(exc).__name__}: {exc}")
    correct = found & expected
    score = Score(
        found=len(found),
        expected=len(expected),
        correct=len(correct),
        cases=1,
        complete=int(expected <= found),
        sound=int(found <= expected),
    )
    return CaseResult(name, score, sorted(expected - found), sorted(found - expected))


def find_snippets(path: Path) -> Path:
    for candidate in (path, path / "snippets", path / "micro-benchmark" / "snippets"):
        if candidate.is_dir() and any(candidate.glob("*/*/callgraph.json")):
            return candidate
    raise SystemExit(f"pycg_bench: no <category>/<case>/callgraph.json under {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="PyCG's micro-benchmark (or its snippets dir)")
    parser.add_argument("--json", type=Path, default=Path("pycg-bench.json"), metavar="FILE")
    parser.add_argument("--category", action="append", metavar="NAME", help="only these")
    parser.add_argument("--show-diff", action="store_true", help="print missing/extra edges")
    args = parser.parse_args(argv)

    snippets = find_snippets(args.path)
    categories: dict[str, Score] = {}
    results: dict[str, list[CaseResult]] = {}
    for case_json in sorted(snippets.glob("*/*/callgraph.json")):
        case = case_json.parent
        category = case.parent.name
        if args.category and category not in args.category:
            continue
        result = score_case(case)
        categories.setdefault(category, Score()).add(result.score)
        results.setdefault(category, []).append(result)

    total = Score()
    header = (
        f"{'category':<14} {'cases':>5} {'complete':>8} {'sound':>5} {'precision':>9} {'recall':>6}"
    )
    print(header)
    print("-" * len(header))
    for category, score in categories.items():
        total.add(score)
        print(_row(category, score))
    print("-" * len(header))
    print(_row("total", total))
    if args.show_diff:
        for category_results in results.values():
            for r in category_results:
                if r.missing or r.extra or r.error:
                    print(f"\n{r.name}{'  ERROR ' + r.error if r.error else ''}")
                    for a, b in r.missing:
                        print(f"  missing  {a} -> {b}")
                    for a, b in r.extra:
                        print(f"  extra    {a} -> {b}")

    report = {
        "benchmark": str(snippets),
        "total": total.as_json(),
        "categories": {
            category: {
                **score.as_json(),
                "cases_detail": {
                    r.name.partition("/")[2]: {
                        "missing": [list(e) for e in r.missing],
                        "extra": [list(e) for e in r.extra],
                        **({"error": r.error} if r.error else {}),
                    }
                    for r in results[category]
                },
            }
            for category, score in categories.items()
        },
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


def _row(name: str, s: Score) -> str:
    return (
        f"{name:<14} {s.cases:>5} {s.complete:>8} {s.sound:>5} "
        f"{s.precision:>9.1%} {s.recall:>6.1%}" + (f"  ({s.errors} errors)" if s.errors else "")
    )


if __name__ == "__main__":
    sys.exit(main())
