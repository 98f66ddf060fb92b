"""Apply fixes through the safety gate, over bounded passes, and write files atomically.

Each pass proposes a fix for every finding, keeps the proposals whose edits do
not overlap (the others wait for the next pass, recomputed on the new text) and
checks them:

1. every changed file still compiles;
2. every character outside the fixes' edits is unchanged (the byte check);
3. the analysis, re-run with fresh facts for the changed files only, no longer
   reports the fixed finding and reports nothing new;
4. the fix applied again to its own output changes nothing (idempotent).

The pass's fixes are checked together first; if that fails, one by one, so one
bad fix does not hold back the others. A fix that fails is dropped (and
reported), never half-applied. Files are written only at the end.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import os
import stat
import tempfile
import tokenize
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from fork_lint.engine import AnalysisOptions, analyse
from fork_lint.fixes.base import (
    NoFix,
    Proposal,
    TextEdit,
    apply_edits,
    changed_outside,
    offset_of,
    position,
)
from fork_lint.fixes.context import FactsView, FixContext
from fork_lint.fixes.options import FixOptions
from fork_lint.fixes.registry import attach, propose
from fork_lint.fsio import read_regular
from fork_lint.index.extract import extract, module_name_for
from fork_lint.index.facts import ModuleFacts
from fork_lint.interrupts import signals_held
from fork_lint.model import Applicability, Finding, Location, Span
from fork_lint.rules import UNUSED_NOQA

MAX_PASSES = 10

FindingKey = tuple[str, str, str, str]


def finding_key(f: Finding) -> FindingKey:
    """Identity of a finding across edits: line numbers move, these do not."""
    return (f.code, f.path, f.function, f.sink)


@dataclass(frozen=True)
class Dropped:
    finding: Finding
    reason: str


@dataclass
class FixResult:
    remaining: list[Finding]  # findings left, with their fixes attached for display
    fixed: list[Finding]
    dropped: list[Dropped]
    changed: dict[str, tuple[str, str]]  # path -> (text before, text after)
    touched: list[tuple[Finding, frozenset[str]]] = field(default_factory=list)  # fix -> files
    unsafe_hidden: int = 0
    passes: int = 0
    converged: bool = True
    # Findings to fix whose fix could not be computed (`NoFix.failed`), and why.
    failed: list[Dropped] = field(default_factory=list)


@dataclass
class _Candidate:
    finding: Finding
    proposal: Proposal
    edits: dict[str, list[TextEdit]]


def applies(applicability: Applicability, unsafe: bool) -> bool:
    return applicability is Applicability.SAFE or (unsafe and applicability is Applicability.UNSAFE)


class FixRun:
    """Fix a project held as module facts plus a way to read each file's current text."""

    def __init__(
        self,
        modules: Sequence[ModuleFacts],
        analysis: AnalysisOptions,
        options: FixOptions,
        read: Callable[[str], str | None],
        keep: Callable[[Finding], bool] = lambda f: True,
        lacks: Callable[[str, str], bool] = lambda path, word: False,
        expect: Callable[[Iterable[str]], None] = lambda words: None,
    ) -> None:
        self.view = FactsView.of(modules)
        self.replaced: dict[str, ModuleFacts] = {}  # facts of files the fixes changed
        self.analysis = analysis
        self.options = options
        self._read = read
        self._lacks = lacks
        self._expect = expect
        self.keep = keep
        self.texts: dict[str, str] = {}  # current text of every file read or changed
        self.original: dict[str, str] = {}

    # -- sources ----------------------------------------------------------
    def source(self, path: str) -> str | None:
        if path not in self.texts:
            text = self._read(path)
            if text is None:
                return None
            self.texts[path] = text
            self.original[path] = text
        return self.texts[path]

    def context(
        self, texts: Mapping[str, str] | None = None, modules: Iterable[ModuleFacts] | None = None
    ) -> FixContext:
        overlay = dict(texts or {})

        def read(path: str) -> str | None:
            return overlay[path] if path in overlay else self.source(path)

        def lacks(path: str, word: str) -> bool:
            # From the text for a file the fixes changed, else from the disk: the
            # answer must not depend on which files happen to have been read.
            if path in overlay:
                return word not in overlay[path]
            if path in self.texts and self.texts[path] != self.original.get(path):
                return word not in self.texts[path]
            return self._lacks(path, word)

        return FixContext(
            modules if modules is not None else self.view.with_replaced(self.replaced),
            read,
            self.options,
            lacks,
            self._expect,
        )

    def _module_list(self, replaced: Mapping[str, ModuleFacts] | None = None) -> list[ModuleFacts]:
        return self.view.with_replaced({**self.replaced, **(replaced or {})}).all()

    def analyse(self, modules: Sequence[ModuleFacts]) -> list[Finding]:
        return [f for f in analyse(modules, self.analysis) if self.keep(f)]

    def _facts(self, path: str, text: str) -> ModuleFacts:
        old = self.replaced.get(path) or self.view.get(path)
        if old is not None:
            module, is_package = old["module"], old["is_package"]
        else:
            module, is_package = module_name_for(path)
        return extract(text, path, module, is_package)

    # -- the passes -------------------------------------------------------
    def run(
        self,
        findings: Sequence[Finding],
        *,
        unsafe: bool,
        select: Callable[[Finding], bool] = lambda f: True,
        max_passes: int = MAX_PASSES,
    ) -> FixResult:
        """Fix the findings `select` accepts, with safe fixes (and unsafe ones if `unsafe`)."""
        current = list(findings)
        fixed: list[Finding] = []
        touched: list[tuple[Finding, frozenset[str]]] = []
        # Fixes the gate refused on the current code, by the identity of their finding
        # in `current` (two identical calls have the same `finding_key`). Emptied when
        # a pass changes the code: a fix refused next to others (not idempotent with
        # them, overlapping their imports) is proposed again on the new code, so the
        # run ends where a second run would find nothing to apply.
        refused: dict[int, Dropped] = {}
        proposals: dict[int, Proposal | NoFix | None] = {}
        proposed_for: list[Finding] = []  # the findings `proposals` belongs to
        passes = 0
        converged = False
        while passes < max_passes:
            ctx = self.context()
            # Only the findings to fix: a proposal parses the files it rewrites with
            # libcst, the costly part of a run, and a finding the report hides
            # (ignored, outside the changed lines, in the baseline) gets no fix.
            proposals = {id(f): propose(f, ctx) if select(f) else None for f in current}
            proposed_for = current
            candidates = []
            for f in current:
                p = proposals[id(f)]
                if (
                    isinstance(p, Proposal)
                    and applies(p.applicability, unsafe)
                    and id(f) not in refused
                    and select(f)
                ):
                    edits = {path: list(e) for path, e in p.edits.items() if e}
                    if edits:
                        candidates.append(_Candidate(f, p, edits))
            if not candidates:
                converged = True
                break
            passes += 1
            chosen = _non_overlapping(candidates)
            accepted, after, failures = self._gate_pass(chosen, current)
            if not accepted:
                refused.update((id(c.finding), Dropped(c.finding, why)) for c, why in failures)
                continue
            fixed.extend(c.finding for c in accepted)
            touched.extend((c.finding, frozenset(c.edits)) for c in accepted)
            new_texts, new_modules, new_findings = after
            self.texts.update(new_texts)
            self.replaced.update(new_modules)
            current = new_findings
            refused = {}
        remaining = []
        failed = []
        hidden = 0
        ctx = self.context()
        for f in current:
            if proposed_for is current:
                p = proposals[id(f)]
            else:
                p = propose(f, ctx) if select(f) else None
            if id(f) in refused:
                p = NoFix(f"the fix was not applied: {refused[id(f)].reason}")
            if isinstance(p, Proposal) and p.applicability is Applicability.UNSAFE and not unsafe:
                hidden += 1
            elif isinstance(p, NoFix) and p.failed:
                failed.append(Dropped(f, p.reason))
            remaining.append(attach(f, p, ctx))
        dropped = list(refused.values())
        changed = {
            path: (self.original[path], text)
            for path, text in self.texts.items()
            if path in self.original and text != self.original[path]
        }
        return FixResult(
            remaining, fixed, dropped, changed, touched, hidden, passes, converged, failed
        )

    # -- the gate ---------------------------------------------------------
    def _gate_pass(
        self, chosen: list[_Candidate], before: list[Finding]
    ) -> tuple[
        list[_Candidate],
        tuple[dict[str, str], dict[str, ModuleFacts], list[Finding]],
        list[tuple[_Candidate, str]],
    ]:
        verdict = self._gate(chosen, before)
        if not isinstance(verdict, str):
            return chosen, verdict, []
        if len(chosen) == 1:
            return [], ({}, {}, before), [(chosen[0], verdict)]
        accepted: list[_Candidate] = []
        failures: list[tuple[_Candidate, str]] = []
        state: tuple[dict[str, str], dict[str, ModuleFacts], list[Finding]] = ({}, {}, before)
        for cand in chosen:
            trial = self._gate([*accepted, cand], before)
            if isinstance(trial, str):
                failures.append((cand, trial))
            else:
                accepted.append(cand)
                state = trial
        return accepted, state, failures

    def _gate(
        self, cands: list[_Candidate], before: list[Finding]
    ) -> tuple[dict[str, str], dict[str, ModuleFacts], list[Finding]] | str:
        """New texts, facts and findings if the fixes pass the gate, else why not."""
        by_path: dict[str, list[TextEdit]] = {}
        for c in cands:
            for path, edits in c.edits.items():
                by_path.setdefault(path, []).extend(edits)
        from fork_lint.fixes._cst import prune_edits  # libcst: not for a run answered from cache

        texts = {
            path: apply_edits(self.source(path) or "", edits) for path, edits in by_path.items()
        }
        pruned: dict[str, list[TextEdit]] = {}
        for path, text in texts.items():
            problem = _compiles(text, path)
            if problem is not None:
                return problem
            # Fixes proposed side by side each keep an import the other still uses;
            # together they may leave it unused.
            pruned[path] = prune_edits(self.source(path) or "", text)
            texts[path] = apply_edits(text, pruned[path])
        stages = [by_path, pruned]
        for path, text in texts.items():
            problem = _changed_outside(path, self.source(path) or "", text, stages)
            if problem is not None:
                return problem
        facts = {path: self._facts(path, text) for path, text in texts.items()}
        for path, f in facts.items():
            if f["error"] is not None:
                return f"the fixed {path} cannot be analysed: {f['error'][1]}"
        modules = self._module_list(facts)
        after = self.analyse(modules)
        count_before = Counter(finding_key(f) for f in before)
        count_after = Counter(finding_key(f) for f in after)
        fixed_count = Counter(finding_key(c.finding) for c in cands)
        for key, n in fixed_count.items():
            if count_after[key] > count_before[key] - n:
                return f"{key[0]} is still reported in `{key[2]}` after the fix"
        for key, n in count_after.items():
            # A fix that removes a finding may leave the noqa comment that
            # suppressed it unused: FRK100 says so (and its fix follows), no hazard.
            if n > count_before[key] and key[0] != UNUSED_NOQA.code:
                return f"the fix introduces {key[0]} (`{key[3]}`) in `{key[2]}`"
        ctx = self.context(texts, modules)
        for c in cands:
            again = propose(_remap(c.finding, stages, self), ctx)
            if isinstance(again, Proposal) and any(
                new != (texts.get(p) if p in texts else self.source(p))
                for p, new in again.changes.items()
            ):
                return "applying the fix again would change the code again (not idempotent)"
        return texts, facts, after


def _compiles(text: str, path: str) -> str | None:
    """Why the text does not compile, or None.

    The warnings CPython emits for the code it compiles (an invalid escape
    sequence, `is` with a literal) are about the user's code, not the fix, and
    would print in the middle of fork-lint's output: silenced here, and only here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            compile(text, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            return f"the fixed {path} does not compile: {exc}"
    return None


def _changed_outside(
    path: str, old: str, new: str, stages: Sequence[Mapping[str, Sequence[TextEdit]]]
) -> str | None:
    """The byte check: `new` keeps every character of `old` outside the edits of the
    stages (each stage's edits are ranges of the text the stage before produced)."""
    ranges: list[tuple[int, int]] = []
    for stage in reversed(stages):  # back to ranges of `old`, the last stage first
        ranges = [_back(b, e, stage.get(path, ())) for b, e in ranges]
        ranges += [(e.begin, e.end) for e in stage.get(path, ())]
    where = changed_outside(old, new, ranges)
    if where is None:
        return None
    line = position(old, where)[0]
    return (
        f"the fix would change {path} outside its edits (line {line}); "
        "fork-lint keeps every other byte of a file it fixes"
    )


def _back(begin: int, end: int, edits: Sequence[TextEdit]) -> tuple[int, int]:
    """A range of the text after `edits`, as a range of the text before them."""
    return _unshift(begin, edits, start=True), _unshift(end, edits, start=False)


def _unshift(offset: int, edits: Sequence[TextEdit], *, start: bool) -> int:
    delta = 0
    for e in sorted(edits, key=lambda e: (e.begin, e.end)):
        new_begin = e.begin + delta
        new_end = new_begin + len(e.content)
        if offset < new_begin:
            break
        if offset <= new_end:
            return e.begin if start else e.end
        delta += len(e.content) - (e.end - e.begin)
    return offset - delta


def _overlaps(a: TextEdit, b: TextEdit) -> bool:
    """Edits touching at a point count as overlapping: their order would be ambiguous."""
    return a.begin <= b.end and b.begin <= a.end


def _non_overlapping(candidates: list[_Candidate]) -> list[_Candidate]:
    chosen: list[_Candidate] = []
    taken: dict[str, list[TextEdit]] = {}
    for cand in candidates:
        clash = any(
            _overlaps(e, t)
            for path, edits in cand.edits.items()
            for e in edits
            for t in taken.get(path, ())
        )
        if clash:
            continue
        chosen.append(cand)
        for path, edits in cand.edits.items():
            taken.setdefault(path, []).extend(edits)
    return chosen


def _shift(offset: int, edits: Sequence[TextEdit]) -> int:
    delta = 0
    for e in sorted(edits, key=lambda e: e.begin):
        if e.end <= offset:
            delta += len(e.content) - (e.end - e.begin)
        elif e.begin <= offset:
            return e.begin + delta
    return offset + delta


def _remap(
    finding: Finding, stages: Sequence[Mapping[str, Sequence[TextEdit]]], run: FixRun
) -> Finding:
    """The finding with its positions moved through the edits (for the idempotency check)."""

    def move(path: str, line: int, col: int) -> tuple[int, int]:
        text = run.source(path) or ""
        if not any(path in stage for stage in stages):
            return line, col
        offset = offset_of(text, line, col)
        for stage in stages:
            edits = stage.get(path, ())
            offset = _shift(offset, edits)
            text = apply_edits(text, edits)
        return position(text, offset)

    span = finding.location.span
    line, col = move(finding.path, span.line, span.col)
    end_line, end_col = move(finding.path, span.end_line, span.end_col)
    extra = []
    for key, value in finding.extra:
        moved = value
        if key == "alloc":
            rest, _, c = value.rpartition(":")
            path, _, ln = rest.rpartition(":")
            new_line, new_col = move(path, int(ln), int(c))
            moved = f"{path}:{new_line}:{new_col}"
        extra.append((key, moved))
    return replace(
        finding,
        location=Location(finding.path, Span(line, col, end_line, end_col)),
        extra=tuple(extra),
    )


# ---------------------------------------------------------------------------- disk


def _word_entry(entry: object) -> bool:
    return (
        isinstance(entry, tuple)
        and len(entry) == 2
        and all(isinstance(e, frozenset) for e in entry)
        and entry[1] <= entry[0]
    )


# Encodings in which every ASCII character is the byte of the same value.
_ASCII_COMPATIBLE = frozenset({"utf-8", "utf-8-sig", "ascii", "iso8859-1", "cp1252", "iso8859-15"})


@dataclass
class DiskFile:
    data: bytes
    encoding: str
    text: str


@dataclass
class DiskSources:
    """Read project files (keeping their encoding) and write fixed ones back atomically."""

    cwd: Path
    files: dict[str, DiskFile] = field(default_factory=dict)
    expected: set[str] = field(default_factory=set)  # see `expect`
    # path -> (words searched for, those absent), for the expected words
    _absent: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    _hashes: dict[str, bytes] = field(default_factory=dict)  # of the files `lacks` read

    def disk_path(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.cwd / p

    def read(self, path: str) -> str | None:
        if path not in self.files:
            try:
                data = read_regular(self.disk_path(path))
                encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
                text = data.decode(encoding)
            except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
                return None
            if text.startswith("\ufeff"):  # a BOM the codec did not strip
                text = text[1:]
                encoding = "utf-8-sig"
            self.files[path] = DiskFile(data, encoding, text)
        return self.files[path].text

    def seed(self, known: Mapping[str, tuple[frozenset[str], frozenset[str]]]) -> None:
        """Answers of `lacks` from an earlier run, by path, for files whose content is
        the one those answers were found in (`FactsCache.load_words`)."""
        for path, entry in known.items():
            if _word_entry(entry):
                self._absent.setdefault(path, entry)

    def searched(self) -> dict[bytes, tuple[frozenset[str], frozenset[str]]]:
        """What `lacks` found in the files it read, by content hash, for the next run."""
        return {self._hashes[p]: e for p, e in self._absent.items() if p in self._hashes}

    def expect(self, words: Iterable[str]) -> None:
        """Words `lacks` will be asked about: each file's bytes are then searched for
        all of them at once, instead of read again for every word."""
        self.expected.update(w for w in words if w.isascii())

    def lacks(self, path: str, word: str) -> bool:
        """Whether the file certainly does not contain `word`, from its bytes alone.

        Searching every project file for a name (`FixContext.mentioned_elsewhere`)
        would otherwise decode them all; an ASCII word absent from the bytes is
        absent from the text in every ASCII-compatible encoding.
        """
        if not word.isascii():
            return False
        known = self._absent.get(path)
        if known is not None and word in known[0]:
            return word in known[1]
        if path in self.files:
            data = self.files[path].data  # the same answer whether or not it was read
        else:
            try:
                data = read_regular(os.path.join(self.cwd, path))  # absolute paths stay
            except OSError:
                return False
        words = {word, *self.expected}
        absent = {w for w in words if w.encode("ascii") not in data}
        if absent:
            try:
                encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            except SyntaxError:
                absent = set()
            else:
                if codecs.lookup(encoding).name not in _ASCII_COMPATIBLE:
                    absent = set()
        if self.expected:
            self._absent[path] = (frozenset(words), frozenset(absent))
            self._hashes[path] = hashlib.sha256(data).digest()
        return word in absent

    def stale(self, path: str) -> bool:
        """The file on disk differs from what was read (or cannot be read any more)."""
        known = self.files.get(path)
        try:
            return known is None or read_regular(self.disk_path(path)) != known.data
        except OSError:
            return True

    def write(self, path: str, text: str) -> str | None:
        """Write `text` in place of the file read earlier; an error message, or None.

        The file is skipped when it changed on disk since it was read. The new
        content goes to a temporary file in the same directory, gets the old
        file's owner and group (as far as this user may set them) and permission
        bits, and replaces it in one rename. Whatever stops the write, an error
        or an exception (KeyboardInterrupt included), the temporary file is
        removed; SIGINT and SIGTERM wait until the file is in place or the
        temporary file gone (`fork_lint.interrupts.signals_held`).
        """
        with signals_held():
            return self._write(path, text)

    def _write(self, path: str, text: str) -> str | None:
        known = self.files.get(path)
        target = self.disk_path(path)
        if known is None:
            return "the file was never read"
        try:
            current = read_regular(target)
            info = target.stat()
        except OSError as exc:
            return f"cannot read it back: {exc.strerror or exc}"
        if current != known.data:
            return "it changed on disk since it was read"
        try:
            data = text.encode(known.encoding)
            # The gate kept every character outside the fix; that keeps every byte
            # only if the encoding gives back the bytes the text was read from.
            same = known.text.encode(known.encoding) == known.data
        except (UnicodeEncodeError, LookupError) as exc:
            return f"the fixed text cannot be encoded as {known.encoding}: {exc}"
        if not same:
            return (
                f"encoding its text as {known.encoding} does not give back its bytes, "
                "so the bytes outside the fix would change"
            )
        tmp: str | None = None
        replaced = False
        try:  # from before the temporary file exists, so nothing comes between
            fd, tmp = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".fork-lint", dir=target.parent
            )
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            _keep_owner(tmp, info)
            os.chmod(tmp, stat.S_IMODE(info.st_mode))  # after chown, which may clear bits
            if read_regular(target) != known.data:  # again, now that the slow part is done
                return "it changed on disk since it was read"
            os.replace(tmp, target)
            replaced = True
        except OSError as exc:
            return f"cannot write it: {exc.strerror or exc}"
        finally:
            if tmp is not None and not replaced:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self.files[path] = DiskFile(data, known.encoding, text)
        return None


def _keep_owner(tmp: str, old: os.stat_result) -> None:
    """Give the new file the old one's owner and group, as far as this user may.

    Root keeps both; another user keeps the group if it belongs to it, and
    otherwise the fixed file belongs to the user who ran the fix, as after any
    editor that saves by renaming.
    """
    if not hasattr(os, "chown"):
        return
    new = os.stat(tmp)
    if (new.st_uid, new.st_gid) == (old.st_uid, old.st_gid):
        return
    for uid in (old.st_uid, -1):
        try:
            os.chown(tmp, uid, old.st_gid)
            return
        except OSError:
            continue


def fix_sources(
    files: Mapping[str, str],
    *,
    unsafe: bool = False,
    options: FixOptions | None = None,
    thread_sources: Sequence[str] = (),
    fork_sinks: Sequence[str] = (),
    max_passes: int = MAX_PASSES,
) -> FixResult:
    """Fix an in-memory project (``{"pkg/mod.py": source}``), as `check_sources` analyses one.

    `options.target_version` is also the analysis target version.
    """
    options = options or FixOptions(target_version=(3, 12))
    modules = []
    for path, source in sorted(files.items()):
        module, is_package = module_name_for(path)
        modules.append(extract(source, path, module, is_package))
    analysis = AnalysisOptions(
        target_version=options.target_version,
        thread_sources=tuple(thread_sources),
        fork_sinks=tuple(fork_sinks),
    )
    run = FixRun(modules, analysis, options, files.get)
    return run.run(run.analyse(modules), unsafe=unsafe, max_passes=max_passes)
