"""Time fork-lint against ``ast.parse``, ruff and flake8 on a fixed corpus from PyPI.

Usage::

    python scripts/bench.py [--repeat N] [--scales 1,2,4] [--jobs N] [--json FILE]

The corpus is the ``.py`` files of pinned wheels (`PACKAGES`), downloaded with
``pip download --no-deps`` and unpacked side by side as in a site-packages
directory, so imports between Airflow's distributions resolve. Everything lives
in ``$FORK_LINT_BENCH_CACHE`` or ``~/.cache/fork-lint-bench``, never in the
repository. ruff and flake8 run from a virtual environment there, so flake8
runs with its default plugins only (not fork-lint's own flake8 plugin).

Each repetition runs every command once, in the same order (``ast.parse``,
fork-lint cold / warm / one file changed / pre-commit, ruff, flake8), so a
slow spell on a shared machine hits all of them; medians are reported. Each
command is a fresh process, timed from start to exit (interpreter start-up
included); CPU time and peak memory are the main process's (``wait4``), which
leaves out fork-lint's extraction workers.

fork-lint's modules are compiled to bytecode first (``compileall``), as pip
does when it installs a wheel: in a development checkout run with
``PYTHONDONTWRITEBYTECODE`` set, every run would otherwise compile them again
(0.1 s), which an installed fork-lint never does.

Scaling: the corpus copied 2 and 4 times, each copy's top-level packages
renamed (``django`` -> ``django_c1`` in paths and source), so each copy is an
independent program of the same size.

This is a benchmark, not a test: nothing fails on timings. The table goes to
stdout and everything to ``--json`` (default ``bench-results.json`` in the
cache directory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

PACKAGES = (
    ("apache-airflow-core", "3.3.2"),
    ("apache-airflow-task-sdk", "1.3.2"),
    ("apache-airflow-providers-amazon", "9.39.0"),
    ("apache-airflow-providers-edge3", "5.1.0"),
    ("django", "5.2.19"),
    ("sqlalchemy", "2.1.9"),
    ("celery", "5.7.0"),
)
TOOLS = (("ruff", "0.17.6"), ("flake8", "7.5.0"))
# Top-level packages of the corpus, renamed in the copies made for scaling.
TOP_LEVEL = ("airflow", "django", "sqlalchemy", "celery")
# The file the "one file changed" runs edit: a central module of Celery. That run
# appends a comment (a change the early cut-off answers); "one function added"
# appends a function, which changes the program and is solved again.
EDITED = "celery/app/base.py"
# The file handed to the pre-commit run: the Airflow edge worker.
STAGED = "airflow/providers/edge3/cli/worker.py"

AST_SCRIPT = """\
import ast, sys, warnings
warnings.simplefilter("ignore")
files = open(sys.argv[1], encoding="utf-8").read().splitlines()
for name in files:
    with open(name, "rb") as fh:
        ast.parse(fh.read())
"""


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    rc: int


@dataclass
class Result:
    name: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.rc >= 0]

    def median(self, attr: str = "wall") -> float | None:
        values = [getattr(s, attr) for s in self.ok]
        return statistics.median(values) if values else None

    def peak_rss(self) -> float | None:
        values = [s.rss_mb for s in self.ok]
        return max(values) if values else None


# ---------------------------------------------------------------------------- corpus


def _cache_root() -> Path:
    configured = os.environ.get("FORK_LINT_BENCH_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "fork-lint-bench"


def download(cache: Path) -> list[Path]:
    """The pinned wheels, downloaded once (pure-Python wheels only, for a fixed corpus)."""
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found: list[Path] = []
    missing: list[str] = []
    for name, version in PACKAGES:
        prefix = f"{re.sub(r'[-.]+', '_', name)}-{version}-"
        hits = sorted(p for p in wheels.glob("*.whl") if p.name.lower().startswith(prefix))
        if hits:
            found.append(hits[0])
        else:
            missing.append(f"{name}=={version}")
    if missing:
        print(f"downloading {', '.join(missing)}", file=sys.stderr)
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--platform", "any", "--implementation", "py", "--python-version", "3.11",
                "--disable-pip-version-check", "--quiet", "--dest", str(wheels), *missing,
            ],
            check=True,
        )  # fmt: skip
        return download(cache)
    return found


def _rename(text: str, suffix: str) -> str:
    return re.sub(rf"\b({'|'.join(TOP_LEVEL)})\b", rf"\1{suffix}", text)


def build_corpus(cache: Path, wheels: Sequence[Path], scale: int) -> Path:
    """``corpus-x<scale>/``: the wheels' .py files, ``scale`` independent copies."""
    everything = len(wheels) == len(PACKAGES)
    dest = cache / (f"corpus-x{scale}" if everything else f"corpus-subset-x{scale}")
    stamp = "\n".join(sorted(w.name for w in wheels)) + f"\n{scale}\n"
    if (dest / ".complete").is_file() and (dest / ".complete").read_text() == stamp:
        return dest
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for copy in range(scale):
        suffix = f"_c{copy}" if copy else ""
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                for info in archive.infolist():
                    if not info.filename.endswith(".py"):
                        continue
                    rel = _rename(info.filename, suffix) if suffix else info.filename
                    target = partial / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    data = archive.read(info)
                    if suffix:
                        data = _rename(data.decode("utf-8", "surrogateescape"), suffix).encode(
                            "utf-8", "surrogateescape"
                        )
                    target.write_bytes(data)
    (partial / ".complete").write_text(stamp)
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest


def corpus_files(corpus: Path) -> list[Path]:
    """The files fork-lint analyses there (its own discovery), absolute."""
    from fork_lint.config import Overrides, load_settings
    from fork_lint.discovery import discover

    settings = load_settings([corpus], Overrides(isolated=True))
    return [Path(os.path.abspath(p)) for p in discover([corpus], settings).files]


def tools_venv(cache: Path) -> Path:
    """A virtual environment with the pinned ruff and flake8 (and no fork-lint)."""
    venv = cache / "tools-venv"
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    stamp = venv / ".tools"
    want = " ".join(f"{n}=={v}" for n, v in TOOLS)
    if stamp.is_file() and stamp.read_text() == want:
        return bindir
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "--quiet", *want.split()], check=True
    )
    stamp.write_text(want)
    return bindir


# ---------------------------------------------------------------------------- running


def run(cmd: Sequence[str], cwd: Path, timeout: float) -> Sample:
    """One process: wall time, CPU time and peak RSS of that process (not its children)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return Sample(time.perf_counter() - start, 0.0, 0.0, -1)
        time.sleep(0.002)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    rc = proc.returncode
    if rc not in (0, 1):
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        print(f"  ! {cmd[0]} ... exited {rc}: {' | '.join(tail)}", file=sys.stderr)
        rc = -2
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / scale, rc)


@dataclass
class Bench:
    corpus: Path
    files: list[Path]
    bindir: Path
    jobs: int
    timeout: float
    work: Path
    edited: str = EDITED
    staged: str = STAGED
    wheels: Sequence[Path] = ()
    single: bool = False  # also time one process without the cache
    results: dict[str, Result] = field(default_factory=dict)
    edits: int = 0

    def fork_lint(self, cache: Path, *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "fork_lint", "check", "--isolated", "--exit-zero",
            "--output-format", "concise", "-q", "-j", str(self.jobs), "--cache-dir", str(cache),
            *extra,
        ]  # fmt: skip

    def measure(
        self, name: str, cmd: Sequence[str], before: Callable[[], None] | None = None
    ) -> None:
        if before is not None:
            before()
        sample = run(cmd, self.corpus, self.timeout)
        self.results.setdefault(name, Result(name)).samples.append(sample)
        status = "timeout" if sample.rc == -1 else ("error" if sample.rc < 0 else "")
        print(
            f"  {name:<34} {sample.wall:8.2f} s  cpu {sample.cpu:7.2f} s  "
            f"{sample.rss_mb:7.0f} MB {status}",
            file=sys.stderr,
        )


def repetition(b: Bench, rep: int) -> None:
    filelist = b.work / "files.txt"
    fl_cache = b.work / "fork-lint-cache"
    ruff_cache = b.work / "ruff-cache"
    ruff_all_cache = b.work / "ruff-all-cache"
    edited = b.corpus / b.edited
    py = sys.executable
    ruff = str(b.bindir / "ruff")

    def wipe() -> None:
        shutil.rmtree(fl_cache, ignore_errors=True)

    def edit() -> None:
        b.edits += 1
        with edited.open("a", encoding="utf-8") as fh:
            fh.write(f"\n# fork-lint bench edit {b.edits}\n")

    def edit_code() -> None:
        # A change of the program itself (a new function): no early cut-off.
        b.edits += 1
        with edited.open("a", encoding="utf-8") as fh:
            fh.write(f"\n\ndef _fork_lint_bench_{b.edits}():\n    return {b.edits}\n")

    b.measure("python start-up", [py, "-c", "pass"])
    b.measure("ast.parse (1 process)", [py, "-c", AST_SCRIPT, str(filelist)])
    b.measure("fork-lint cold", b.fork_lint(fl_cache, "."), before=wipe)
    b.measure("fork-lint warm", b.fork_lint(fl_cache, "."))
    b.measure("fork-lint one file changed", b.fork_lint(fl_cache, "."), before=edit)
    b.measure("fork-lint warm", b.fork_lint(fl_cache, "."))
    b.measure("fork-lint one function added", b.fork_lint(fl_cache, "."), before=edit_code)
    pre_commit = b.fork_lint(fl_cache, "--whole-project", b.staged)
    b.measure("pre-commit, staged file unchanged", pre_commit)
    pre_commit = b.fork_lint(fl_cache, "--whole-project", b.edited)
    b.measure("pre-commit, staged file edited", pre_commit, before=edit)
    if b.single:
        b.measure("fork-lint -j 1, no cache", [*b.fork_lint(fl_cache, "."), "--no-cache", "-j1"])
    ruff_all = [ruff, "check", "--isolated", "--exit-zero", "-q", "--select", "ALL"]
    b.measure("ruff --select ALL --no-cache", [*ruff_all, "--no-cache", "."])
    ruff_default = [ruff, "check", "--isolated", "--exit-zero", "-q"]
    b.measure("ruff (default) --no-cache", [*ruff_default, "--no-cache", "."])
    if rep == 0:
        run([*ruff_default, "--cache-dir", str(ruff_cache), "."], b.corpus, b.timeout)
        run([*ruff_all, "--cache-dir", str(ruff_all_cache), "."], b.corpus, b.timeout)
    b.measure("ruff (default), cache warm", [*ruff_default, "--cache-dir", str(ruff_cache), "."])
    b.measure("ruff --select ALL, cache warm", [*ruff_all, "--cache-dir", str(ruff_all_cache), "."])
    b.measure(
        f"flake8 -j {b.jobs}", [str(b.bindir / "flake8"), "--isolated", "-j", str(b.jobs), "."]
    )


def scaling(
    cache: Path, wheels: Sequence[Path], scales: Sequence[int], b: Bench, reps: int
) -> dict[int, dict[str, Result]]:
    """fork-lint cold and ast.parse on 1x, 2x, 4x ... the corpus."""
    out: dict[int, dict[str, Result]] = {}
    for scale in scales:
        corpus = build_corpus(cache, wheels, scale)
        files = corpus_files(corpus)
        sb = Bench(corpus, files, b.bindir, b.jobs, b.timeout * scale, b.work / f"x{scale}")
        sb.work.mkdir(parents=True, exist_ok=True)
        (sb.work / "files.txt").write_text("\n".join(map(str, files)) + "\n")
        fl_cache = sb.work / "fork-lint-cache"
        print(f"scale {scale}x: {len(files)} files", file=sys.stderr)
        ast_cmd = [sys.executable, "-c", AST_SCRIPT, str(sb.work / "files.txt")]
        for _ in range(reps):
            sb.measure("ast.parse (1 process)", ast_cmd)
            sb.measure(
                "fork-lint cold",
                sb.fork_lint(fl_cache, "."),
                before=lambda c=fl_cache: shutil.rmtree(c, ignore_errors=True),
            )
        out[scale] = sb.results
    return out


# ---------------------------------------------------------------------------- report


def _revision() -> str:
    """fork-lint's version and, in a checkout, its commit (``+`` when modified)."""
    from fork_lint import __version__

    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return __version__
    return f"{__version__} ({head}{'+' if dirty else ''})"


def _lines(files: Sequence[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in files)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _cell(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def _targets(b: Bench, scaled: dict[int, dict[str, Result]]) -> list[tuple[str, float | None, str]]:
    r = b.results

    def med(name: str) -> float | None:
        return r[name].median() if name in r else None

    startup = med("python start-up") or 0.0
    cold = med("fork-lint cold")
    warm = med("fork-lint warm")
    ours = [res.peak_rss() or 0.0 for n, res in r.items() if n.startswith(("fork-lint", "pre"))]
    pre_same = med("pre-commit, staged file unchanged")
    pre_edit = med("pre-commit, staged file edited")
    targets = [
        ("cold / ast.parse", _ratio(cold, med("ast.parse (1 process)")), "<= 2"),
        ("flake8 / cold", _ratio(med(f"flake8 -j {b.jobs}"), cold), ">= 4"),
        ("cold / ruff ALL no cache", _ratio(cold, med("ruff --select ALL --no-cache")), "<= 5"),
        ("warm / ruff default cached", _ratio(warm, med("ruff (default), cache warm")), "<= 2"),
        ("warm / ruff ALL cached", _ratio(warm, med("ruff --select ALL, cache warm")), "info"),
        ("one file changed / warm", _ratio(med("fork-lint one file changed"), warm), "<= 3"),
        ("one function added / warm", _ratio(med("fork-lint one function added"), warm), "info"),
        ("pre-commit unchanged - start-up (s)", pre_same and pre_same - startup, "< 0.5"),
        ("pre-commit edited - start-up (s)", pre_edit and pre_edit - startup, "< 0.5"),
        ("peak RSS of fork-lint (MB)", max(ours, default=0.0) or None, "< 300"),
    ]
    base = scaled.get(1, {})
    for scale, res in sorted(scaled.items()):
        if scale == 1 or not base:
            continue
        for name in ("ast.parse (1 process)", "fork-lint cold"):
            if name in res and name in base:
                t = _ratio(res[name].median(), base[name].median())
                targets.append((f"{name}: time {scale}x / 1x", t, f"~{scale}"))
        if "fork-lint cold" in res and "fork-lint cold" in base:
            m = _ratio(res["fork-lint cold"].peak_rss(), base["fork-lint cold"].peak_rss())
            targets.append((f"fork-lint cold: memory {scale}x / 1x", m, f"~{scale}"))
    return targets


def report(
    b: Bench, scaled: dict[int, dict[str, Result]], args: argparse.Namespace
) -> dict[str, object]:
    """Print the tables; return everything for the JSON file."""
    lines = _lines(b.files)
    packages = ", ".join(w.name.split("-")[0] + " " + w.name.split("-")[1] for w in b.wheels)
    out = [
        f"corpus: {len(b.files)} files, {lines:,} lines ({packages})",
        f"fork-lint {_revision()}; machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; fork-lint -j {b.jobs}; {args.repeat} repetitions, medians",
        "",
        "| command | wall (s) | CPU (s) | peak RSS (MB) | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, res in b.results.items():
        out.append(
            f"| {name} | {_cell(res.median('wall'), '.2f')} | {_cell(res.median('cpu'), '.2f')} "
            f"| {_cell(res.peak_rss(), '.0f')} | {len(res.ok)}/{len(res.samples)} |"
        )
    if scaled:
        out += [
            "",
            "| scale | files | ast.parse (s) | fork-lint cold (s) | fork-lint peak RSS (MB) |",
            "|---|---:|---:|---:|---:|",
        ]
        for scale, res in sorted(scaled.items()):
            a, f = res.get("ast.parse (1 process)"), res.get("fork-lint cold")
            out.append(
                f"| {scale}x | {len(b.files) * scale} | {_cell(a and a.median(), '.2f')} "
                f"| {_cell(f and f.median(), '.2f')} | {_cell(f and f.peak_rss(), '.0f')} |"
            )
    targets = _targets(b, scaled)
    out += ["", "| target | measured | wanted |", "|---|---:|---|"]
    out += [f"| {name} | {_cell(value, '.2f')} | {wanted} |" for name, value, wanted in targets]
    table = "\n".join(out)
    print(table)

    def samples(results: dict[str, Result]) -> dict[str, list[dict[str, float]]]:
        return {n: [asdict(s) for s in res.samples] for n, res in results.items()}

    return {
        "corpus": {"wheels": [w.name for w in b.wheels], "files": len(b.files), "lines": lines},
        "fork_lint": _revision(),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "jobs": b.jobs,
        "repeat": args.repeat,
        "results": samples(b.results),
        "scaling": {str(k): samples(v) for k, v in scaled.items()},
        "targets": [{"name": n, "value": v, "wanted": w} for n, v, w in targets],
        "table": table,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--scales", default="1,2,4", help="corpus copies for scaling ('' = none)")
    parser.add_argument("--scale-repeat", type=int, default=1, help="repetitions per scale")
    parser.add_argument("--jobs", type=int, default=0, help="processes (default: CPUs available)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per command")
    parser.add_argument("--json", type=Path, help="default: bench-results.json in the cache dir")
    parser.add_argument(
        "--packages", help="comma-separated subset of the corpus packages, for a quick run"
    )
    parser.add_argument(
        "--single", action="store_true", help="also time fork-lint -j 1 without the cache"
    )
    args = parser.parse_args(argv)
    cache = _cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    wheels = download(cache)
    if args.packages:
        chosen = {re.sub(r"[-.]+", "_", n.strip().lower()) for n in args.packages.split(",")}
        wheels = [w for w in wheels if w.name.split("-")[0].lower() in chosen]
        if not wheels:
            parser.error(f"--packages: none of {args.packages!r} is in the corpus")
    bindir = tools_venv(cache)
    import fork_lint

    package = Path(fork_lint.__file__).resolve().parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    corpus = build_corpus(cache, wheels, 1)
    files = corpus_files(corpus)
    from fork_lint.parallel import default_jobs

    jobs = args.jobs or default_jobs()
    largest = max(files, key=lambda p: p.stat().st_size).relative_to(corpus).as_posix()
    edited_rel = EDITED if (corpus / EDITED).is_file() else largest
    staged_rel = STAGED if (corpus / STAGED).is_file() else largest
    edited = corpus / edited_rel
    original = edited.read_bytes()
    with tempfile.TemporaryDirectory(prefix="fork-lint-bench-") as tmp:
        work = Path(tmp)
        (work / "files.txt").write_text("\n".join(map(str, files)) + "\n")
        b = Bench(corpus, files, bindir, jobs, args.timeout, work, edited_rel, staged_rel)
        b.single = args.single
        b.wheels = wheels
        try:
            for rep in range(args.repeat):
                print(f"repetition {rep + 1}/{args.repeat}", file=sys.stderr)
                repetition(b, rep)
        finally:
            edited.write_bytes(original)
        scales = [int(s) for s in args.scales.split(",") if s.strip()]
        scaled = scaling(cache, wheels, scales, b, args.scale_repeat) if scales else {}
        data = report(b, scaled, args)
    target = args.json or cache / "bench-results.json"
    target.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwritten to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
