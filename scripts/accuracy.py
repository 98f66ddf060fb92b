"""Measure fork-lint's accuracy on released packages from PyPI (issue 16).

Usage::

    python scripts/accuracy.py [--cases FILE] [--only NAME,...] [--set review|recall]
                               [--jobs N] [--cache DIR] [--output FILE]
                               [--witness] [--stubs] [--markdown FILE]

The cases file (default ``scripts/accuracy_cases.toml``) is the single source of
truth: each ``[[package]]`` pins a release (``requirement = "name==version"``),
names the directories to analyse inside the unpacked distribution (``analyse``),
optionally other releases unpacked into the same tree and analysed with it
(``extra``), and records

* ``[[package.verdict]]``: a finding read by hand, classified ``true``, ``false`` or
  ``doubtful`` with the reason (and, when not true, the analysis ``construct``
  responsible). A verdict is keyed by rule, file, enclosing function, sink and
  thread source, never by line number; ``line_text`` (the stripped first line of
  the sink) tells apart several findings with the same key.
* ``[[package.hazard]]`` (recall set): a documented fork-while-threads bug: the
  function holding the fork, where its thread comes from (``thread_from`` is
  ``package`` or ``library``) and the issue that documents it.

Each release is downloaded once with ``pip download --no-deps`` into the cache
(``$FORK_LINT_ACCURACY_CACHE`` or ``~/.cache/fork-lint-accuracy``), never into the
repository, and unpacked there (wheel or sdist; nothing is built or installed).
fork-lint runs as a separate process per package (``--output-format json``,
``--isolated``, one reader process), ``--jobs`` packages at a time.

Writes every finding with its witness, and the comparison with the recorded
verdicts, to ``--output`` (default ``accuracy-results.json`` in the cache), and
prints per package: the verdicts still reported, those no longer reported, new
unclassified findings (``--witness`` prints their hops, ``--stubs`` prints verdict
entries to paste), the recall table and the metrics; ``--markdown`` writes the tables
of docs/accuracy.md. Exit status 1 when a package could not be analysed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
DEFAULT_CASES = HERE / "accuracy_cases.toml"
VERDICTS = ("true", "false", "doubtful")
TARGET_VERSION = "py312"
KEY_FIELDS = ("code", "file", "function", "sink", "thread_source")
ORIGINS = ("package", "library", "caller")
# Findings about the analysis itself, not about a fork: listed, never counted.
NOT_FORK_FINDINGS = ("FRK900",)

Json = dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    code: str
    file: str
    function: str
    sink: str
    thread_source: str
    verdict: str
    reason: str
    construct: str = ""
    line_text: str = ""
    thread_function: str = ""
    impossible_hop: bool = False
    occurrence: int = 0  # the Nth finding (in line order) with the same key and line_text

    def matches(self, finding: Json) -> bool:
        if finding_key(finding) != (
            self.code,
            self.file,
            self.function,
            self.sink,
            self.thread_source,
        ):
            return False
        if self.line_text and finding["line_text"] != self.line_text:
            return False
        return not self.occurrence or finding["occurrence"] == self.occurrence


@dataclass(frozen=True)
class Hazard:
    file: str
    function: str  # the enclosing function of the fork, as fork-lint names it
    issue: str
    thread_from: str  # "package", "library" or "caller"
    description: str
    fork_from: str = "package"  # where the fork call is: "package", "library" or "caller"
    sink: str = ""
    why_missed: str = ""  # the missing construct, when fork-lint does not report it

    def found_by(self, finding: Json) -> bool:
        return (
            finding["file"] == self.file
            and finding["function"] == self.function
            and (not self.sink or finding["sink"] == self.sink)
        )


@dataclass(frozen=True)
class Case:
    requirement: str
    analyse: tuple[str, ...]
    set: str
    extra: tuple[str, ...] = ()
    note: str = ""
    verdicts: tuple[Verdict, ...] = ()
    hazards: tuple[Hazard, ...] = ()

    @property
    def name(self) -> str:
        return self.requirement.partition("==")[0]


@dataclass
class Outcome:
    case: Case
    findings: list[Json] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


def load_cases(path: Path) -> list[Case]:
    """Read and check the cases file; raises ValueError naming the bad entry."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    cases = []
    for raw in data.get("package", []):
        requirement = raw["requirement"]
        if requirement.count("==") != 1:
            raise ValueError(f"{requirement}: pin one version with ==")
        if raw.get("set") not in ("review", "recall"):
            raise ValueError(f"{requirement}: set must be 'review' or 'recall'")
        analyse = raw["analyse"]
        verdicts = []
        for v in raw.get("verdict", []):
            verdict = Verdict(**v)
            if verdict.verdict not in VERDICTS:
                raise ValueError(f"{requirement}: verdict {verdict.verdict!r} not in {VERDICTS}")
            if not verdict.reason.strip():
                raise ValueError(f"{requirement}: a verdict needs a reason: {verdict}")
            if verdict.verdict != "true" and not verdict.construct.strip():
                raise ValueError(f"{requirement}: a false or doubtful verdict names a construct")
            verdicts.append(verdict)
        keys = Counter(
            (tuple(getattr(v, k) for k in KEY_FIELDS), v.line_text, v.occurrence) for v in verdicts
        )
        twice = [k for k, n in keys.items() if n > 1]
        if twice:
            raise ValueError(f"{requirement}: verdict recorded twice: {twice[0]}")
        hazards = [Hazard(**h) for h in raw.get("hazard", [])]
        for h in hazards:
            if h.thread_from not in ORIGINS or h.fork_from not in ORIGINS:
                raise ValueError(f"{requirement}: thread_from and fork_from are one of {ORIGINS}")
        cases.append(
            Case(
                requirement=requirement,
                analyse=(analyse,) if isinstance(analyse, str) else tuple(analyse),
                set=raw["set"],
                extra=tuple(raw.get("extra", ())),
                note=raw.get("note", ""),
                verdicts=tuple(verdicts),
                hazards=tuple(hazards),
            )
        )
    names = Counter(c.requirement for c in cases)
    if any(n > 1 for n in names.values()):
        raise ValueError(f"listed twice: {[r for r, n in names.items() if n > 1]}")
    return cases


def finding_key(finding: Json) -> tuple[str, str, str, str, str]:
    return (
        finding["code"],
        finding["file"],
        finding["function"],
        finding["sink"],
        finding["thread_source"],
    )


# --- download and unpack -------------------------------------------------------------


def download(requirement: str, cache: Path) -> Path:
    """The archive pip downloads for `requirement` (cached)."""
    name, _, version = requirement.partition("==")
    dest = cache / "downloads" / f"{name}-{version}"
    found = sorted(dest.glob("*")) if dest.is_dir() else []
    if found:
        return found[0]
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
        "--quiet", "--dest", str(dest), requirement,
    ]  # fmt: skip
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=900)
    found = sorted(dest.glob("*")) if dest.is_dir() else []
    if done.returncode != 0 or not found:
        raise RuntimeError(f"pip could not download {requirement}: {done.stderr.strip()[-300:]}")
    return found[0]


def unpack(archive: Path, into: Path) -> None:
    """Unpack a wheel as site-packages holds it, or an sdist's tree (never executed)."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            z.extractall(into)
        return
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            z.extractall(into)
    else:
        with tarfile.open(archive) as t:
            if sys.version_info >= (3, 12):
                t.extractall(into, filter="data")
            else:
                t.extractall(into)
    # An sdist unpacks into name-version/ (often with src/): lift its package roots up,
    # so module names come out as in site-packages.
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) == 1:
        top = tops[0]
        src = top / "src" if (top / "src").is_dir() else top
        for child in src.iterdir():
            target = into / child.name
            if not target.exists():
                child.rename(target)


def prepare(case: Case, cache: Path) -> Path:
    """The unpacked tree holding the case's release and its extras."""
    label = "+".join(r.replace("==", "-") for r in (case.requirement, *case.extra))
    root = cache / "trees" / label
    if root.is_dir():
        return root
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for requirement in (case.requirement, *case.extra):
        part = partial / (".unpack-" + requirement.partition("==")[0])
        part.mkdir()
        unpack(download(requirement, cache), part)
        for child in part.iterdir():
            target = partial / child.name
            if not target.exists():
                child.rename(target)
        shutil.rmtree(part)
    partial.rename(root)
    return root


# --- run fork-lint ----------------------------------------------------------------------


def flatten(row: Json, root: Path) -> Json:
    """One finding of fork-lint's JSON output, with the fields the verdicts key on."""
    witness = row.get("witness") or {}
    fork_path = witness.get("fork_path") or []
    thread_path = witness.get("thread_path") or []
    line = row["location"]["row"]
    try:
        lines = (root / row["filename"]).read_text(encoding="utf-8", errors="replace")
        line_text = lines.splitlines()[line - 1].strip()
    except (OSError, IndexError):
        line_text = ""
    return {
        "code": row["code"],
        "file": row["filename"].replace("\\", "/"),
        "line": line,
        "function": fork_path[-1]["function"] if fork_path else "",
        "sink": row["sink"],
        "thread_source": witness.get("thread_source", ""),
        "thread_function": thread_path[-1]["function"] if thread_path else "",
        "line_text": line_text,
        "message": row["message"],
        "anchor": witness.get("anchor", ""),
        "reason": witness.get("reason", ""),
        "thread_path": [_hop(h) for h in thread_path],
        "fork_path": [_hop(h) for h in fork_path],
    }


def number(findings: Iterable[Json]) -> list[Json]:
    """Give each finding its rank among those with the same key and sink line text,
    so a verdict can tell apart two identical calls in one function."""
    seen: Counter[tuple[str, ...]] = Counter()
    out = []
    for f in sorted(findings, key=lambda f: (f["file"], f["line"])):
        group = (*finding_key(f), f["line_text"])
        seen[group] += 1
        out.append({**f, "occurrence": seen[group]})
    return out


def _hop(hop: Json) -> Json:
    return {
        "function": hop["function"],
        "where": f"{hop['filename']}:{hop['location']['row']}:{hop['location']['column']}",
        "description": hop["description"],
    }


def analyse(case: Case, cache: Path) -> Outcome:
    outcome = Outcome(case)
    start = time.monotonic()
    try:
        root = prepare(case, cache)
        missing = [d for d in case.analyse if not (root / d).exists()]
        if missing:
            raise RuntimeError(f"not in the unpacked tree: {missing}")
        command = [
            sys.executable, "-m", "fork_lint", "check", "--output-format", "json",
            "--isolated", "--exit-zero", "--target-version", TARGET_VERSION, "--jobs", "1",
            "--cache-dir", str(cache / "fork-lint-cache"), *case.analyse,
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=root, check=False, capture_output=True, text=True, timeout=900
        )
        if done.returncode != 0:
            raise RuntimeError(f"fork-lint exited {done.returncode}: {done.stderr[-500:]}")
        outcome.findings = number(flatten(row, root) for row in json.loads(done.stdout))
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
        outcome.error = str(exc)
    outcome.seconds = time.monotonic() - start
    return outcome


# --- compare and report ------------------------------------------------------------------


def compare(outcome: Outcome) -> Json:
    """Match findings against the recorded verdicts and hazards of one case."""
    case = outcome.case
    matched: list[Json] = []
    unclassified: list[Json] = []
    for finding in outcome.findings:
        hits = [v for v in case.verdicts if v.matches(finding)]
        if not hits:
            unclassified.append(finding)
            continue
        v = hits[0]
        judged = {**finding, "verdict": v.verdict, "verdict_reason": v.reason}
        if v.impossible_hop:
            judged["impossible_hop"] = True
        if v.construct:
            judged["construct"] = v.construct
        if v.thread_function and v.thread_function != finding["thread_function"]:
            judged["witness_changed"] = f"thread was in {v.thread_function}"
        matched.append(judged)
    gone = [
        {k: getattr(v, k) for k in (*KEY_FIELDS, "verdict", "reason")}
        for v in case.verdicts
        if not any(v.matches(f) for f in outcome.findings)
    ]
    hazards = [
        {
            "function": h.function,
            "file": h.file,
            "issue": h.issue,
            "thread_from": h.thread_from,
            "fork_from": h.fork_from,
            "state": hazard_state(h, matched + unclassified),
            "why_missed": h.why_missed,
        }
        for h in case.hazards
    ]
    return {
        "requirement": case.requirement,
        "set": case.set,
        "error": outcome.error,
        "seconds": round(outcome.seconds, 1),
        "findings": matched + unclassified,
        "classified": len(matched),
        "unclassified": len(unclassified),
        "no_longer_reported": gone,
        "hazards": hazards,
    }


def hazard_state(hazard: Hazard, findings: Sequence[Json]) -> str:
    """'found' needs a finding at the hazard judged true with a witness that can happen;
    one reported with an impossible witness is 'wrong-witness'."""
    at = [f for f in findings if hazard.found_by(f)]
    if any(f.get("verdict") == "true" and not f.get("impossible_hop") for f in at):
        return "found"
    if any(f.get("verdict") == "true" for f in at):
        return "wrong-witness"
    if any("verdict" not in f for f in at):
        return "unjudged"
    return "missed"


def metrics(results: Sequence[Json]) -> Json:
    review = [r for r in results if r["set"] == "review" and not r["error"]]
    counts: Counter[str] = Counter()
    constructs: Counter[str] = Counter()
    for r in review:
        for f in r["findings"]:
            if f["code"] in NOT_FORK_FINDINGS:
                continue
            counts[f.get("verdict", "unclassified")] += 1
            if f.get("impossible_hop"):
                counts["impossible_hop"] += 1
            if f.get("construct"):
                constructs[f["construct"]] += 1
    total = sum(counts[k] for k in (*VERDICTS, "unclassified"))
    classified = counts["true"] + counts["false"] + counts["doubtful"]
    hazards = [h for r in results if not r["error"] for h in r["hazards"]]
    # What the analysis can be expected to see today: thread and fork both in the package.
    own = [h for h in hazards if h["thread_from"] == "package" and h["fork_from"] == "package"]
    return {
        "review_packages": len(review),
        "review_packages_with_findings": sum(1 for r in review if r["findings"]),
        "findings": total,
        "true": counts["true"],
        "false": counts["false"],
        "doubtful": counts["doubtful"],
        "unclassified": counts["unclassified"],
        "with_impossible_hop": counts["impossible_hop"],
        "false_rate": round(counts["false"] / classified, 3) if classified else None,
        "false_or_doubtful_rate": (
            round((counts["false"] + counts["doubtful"]) / classified, 3) if classified else None
        ),
        "constructs": dict(constructs.most_common()),
        "hazards": len(hazards),
        "hazards_found": sum(1 for h in hazards if h["state"] == "found"),
        "hazards_wrong_witness": sum(1 for h in hazards if h["state"] == "wrong-witness"),
        "hazards_in_package": len(own),
        "hazards_in_package_found": sum(1 for h in own if h["state"] == "found"),
        "errors": [r["requirement"] for r in results if r["error"]],
    }


def print_report(results: Sequence[Json], *, witness: bool, stubs: bool) -> None:
    for r in results:
        head = f"== {r['requirement']} ({r['set']}, {r['seconds']} s)"
        if r["error"]:
            print(f"{head}: ERROR {r['error']}")
            continue
        print(f"{head}: {len(r['findings'])} finding(s), {r['unclassified']} unclassified")
        for f in r["findings"]:
            mark = f.get("verdict", "NEW")
            note = f" [{f['witness_changed']}]" if "witness_changed" in f else ""
            print(
                f"  {mark:9} {f['code']} {f['file']}:{f['line']} {f['function']} "
                f"<- {f['thread_source']} in {f['thread_function']}{note}"
            )
            if "verdict" not in f and witness:
                print_witness(f)
            if "verdict" not in f and stubs:
                print_stub(f)
        for g in r["no_longer_reported"]:
            print(f"  GONE      {g['code']} {g['file']} {g['function']} (was {g['verdict']})")
        for h in r["hazards"]:
            state = h["state"].upper() if h["state"] != "found" else "found"
            print(
                f"  hazard    {state}: {h['file']} {h['function']} "
                f"(thread from {h['thread_from']}, fork in {h['fork_from']})"
            )
    print(json.dumps(metrics(results), indent=2))


def print_witness(f: Json) -> None:
    print(f"      anchor {f['anchor']}: {f['reason']}")
    for kind in ("thread_path", "fork_path"):
        for hop in f[kind]:
            print(f"      {kind[:6]:6} {hop['where']} in {hop['function']}: {hop['description']}")


def print_stub(f: Json) -> None:
    print("      [[package.verdict]]")
    for k in KEY_FIELDS:
        print(f"      {k} = {json.dumps(f[k])}")
    print(f"      thread_function = {json.dumps(f['thread_function'])}")
    print(f"      line_text = {json.dumps(f['line_text'])}")
    print('      verdict = ""\n      reason = ""')


def markdown(results: Sequence[Json]) -> str:
    """The tables of docs/accuracy.md: one row per review release, one per hazard."""
    rows = [
        "| release | findings | true | false | doubtful | impossible hop |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if r["set"] != "review":
            continue
        counted = [f for f in r["findings"] if f["code"] not in NOT_FORK_FINDINGS]
        verdicts = Counter(f.get("verdict", "unclassified") for f in counted)
        impossible = sum(1 for f in counted if f.get("impossible_hop"))
        rows.append(
            f"| {r['requirement']} | {len(counted)} | {verdicts['true']} | {verdicts['false']} "
            f"| {verdicts['doubtful']} | {impossible} |"
        )
    rows += [
        "",
        "| release | finding | thread started in | verdict | reason |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        if r["set"] != "review":
            continue
        for f in r["findings"]:
            if f["code"] in NOT_FORK_FINDINGS:
                continue
            verdict = f.get("verdict", "unclassified")
            if f.get("impossible_hop"):
                verdict += " (impossible hop)"
            rows.append(
                f"| {r['requirement']} | {f['code']} `{f['function']}` ({f['file']}:{f['line']}) "
                f"| `{f['thread_function']}` | {verdict} | {f.get('verdict_reason', '')} |"
            )
    rows += [
        "",
        "| release | hazard site | thread from | fork from | state | cause of the miss | issue |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for h in r["hazards"]:
            # A found hazard needs no cause; any other state names the missing construct.
            cause = "" if h["state"] == "found" else _cell(h.get("why_missed", ""))
            rows.append(
                f"| {r['requirement']} | `{h['function']}` | {h['thread_from']} "
                f"| {h.get('fork_from', 'package')} | {h['state']} | {cause} | {h['issue']} |"
            )
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    """``text`` as one markdown table cell: a bar would split the row."""
    return text.replace("|", "\\|")


def select(cases: Iterable[Case], only: str, which: str) -> list[Case]:
    names = {n.strip().lower() for n in only.split(",") if n.strip()}
    return [
        c for c in cases if (not names or c.name.lower() in names) and (not which or c.set == which)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--only", default="", help="comma-separated distribution names")
    parser.add_argument("--set", default="", choices=("", "review", "recall"))
    parser.add_argument("--jobs", type=int, default=2, help="packages analysed at once")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--witness", action="store_true", help="print new findings' hops")
    parser.add_argument("--stubs", action="store_true", help="print verdict stubs to paste")
    parser.add_argument("--markdown", type=Path, default=None, help="write the tables here")
    args = parser.parse_args(argv)
    configured = os.environ.get("FORK_LINT_ACCURACY_CACHE")
    cache = args.cache or (
        Path(configured) if configured else Path.home() / ".cache" / "fork-lint-accuracy"
    )
    cache.mkdir(parents=True, exist_ok=True)
    cases = select(load_cases(args.cases), args.only, args.set)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda c: analyse(c, cache), cases))
    results = [compare(o) for o in outcomes]
    print_report(results, witness=args.witness, stubs=args.stubs)
    output = args.output or cache / "accuracy-results.json"
    output.write_text(
        json.dumps({"results": results, "metrics": metrics(results)}, indent=1) + "\n",
        encoding="utf-8",
    )
    print(f"results: {output}")
    if args.markdown:
        args.markdown.write_text(markdown(results), encoding="utf-8")
    return 1 if any(r["error"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
