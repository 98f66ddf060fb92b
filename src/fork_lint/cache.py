"""The persistent cache: module facts per file, and findings per whole project.

Layout (``.fork_lint_cache/`` in the project root by default, like ruff's)::

    .fork_lint_cache/
      .gitignore  CACHEDIR.TAG
      <fork-lint version>/facts/<2 hex>/<62 hex>    one file's facts
      <fork-lint version>/results/<64 hex>          one project's findings
      <fork-lint version>/analysis/<64 hex>         findings per program shape
      <fork-lint version>/digests                   facts key -> shape and position digests
      <fork-lint version>/words                     content hash -> words searched, absent

Every entry is named by the SHA-256 of everything its content depends on (see
`facts_key` and `results_key`), so an entry is never updated in place: a changed
input is a different name. Writes go to a temporary file that is renamed into
place, so concurrent runs see a whole entry or none. An entry starts with a
header (magic, kind, its own key) and an HMAC under this user's secret key; an
entry that is truncated, corrupt, from another format, filed under the wrong
name or written by anyone else is ignored and rebuilt, never trusted. Links,
FIFOs and devices in the cache are never followed or read, and a cache that git
tracks is not used (`cache_store`, `cache_fs`, `cache_key`).

Early cut-off: an edit that moves code without changing what it does (a comment,
a docstring, blank lines, reformatting) gives the file new facts keys but the
same *shape* (its facts without positions, `fact_digests`). The whole-program
analysis depends only on the shapes, so its findings are filed under the shapes
too (`analysis_key`), with the position digests of the files the findings point
into; such a run is answered without solving the call graph. The ``digests``
entry maps facts keys to their digests so that answering needs no facts loaded.

Payloads are `marshal` data: it keeps tuples as tuples (the solver hashes and
compares fact expressions as tuples), loads several times faster than pickle or
JSON for this shape of data, and cannot run code while loading.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import gc
import hashlib
import marshal
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from fork_lint import __version__
from fork_lint import model as _model
from fork_lint.cache_store import ANALYSIS as _ANALYSIS
from fork_lint.cache_store import DIGESTS as _DIGESTS
from fork_lint.cache_store import FACTS as _FACTS
from fork_lint.cache_store import PROPOSAL as _PROPOSAL
from fork_lint.cache_store import RESULTS as _RESULTS
from fork_lint.cache_store import WORDS as _WORDS
from fork_lint.cache_store import EntryStore
from fork_lint.index.facts import ModuleFacts
from fork_lint.model import Finding

__all__ = [
    "CACHE_DIR_ENV",
    "DEFAULT_CACHE_DIR",
    "NO_CACHE_ENV",
    "FactsCache",
    "analysis_key",
    "decode_findings",
    "encode_findings",
    "fact_digests",
    "facts_fingerprint",
    "facts_key",
    "gc_paused",
    "resolve_cache_dir",
    "results_fingerprint",
    "results_key",
]

DEFAULT_CACHE_DIR = ".fork_lint_cache"
CACHE_DIR_ENV = "FORK_LINT_CACHE_DIR"
NO_CACHE_ENV = "FORK_LINT_NO_CACHE"
# Bump when the entry layout or the facts format changes in a way the source
# fingerprints below would not notice (they cover the extractor's own code).
FORMAT = 1
_DIGESTS_KEY = bytes(32)  # the digests map is one entry, and so is the words map
_KEEP_RESULTS = 32  # results entries kept per cache directory (newest first)
_KEEP_PROPOSALS = 512  # fix proposals kept per cache directory (newest first)
_KEEP_DIGESTS = 200_000  # facts keys in the digests map (about 20 MB)
_PACKAGE = Path(__file__).resolve().parent
# The code that decides what a file's facts contain. A change to any of them
# (an edit in a development checkout, an upgrade) gives every file a new key.
# Every module of the extractor (`fork_lint.index`, a test checks none is missing).
_FACTS_SOURCES = (
    "index/annotations.py", "index/bindings.py", "index/expressions.py", "index/extract.py",
    "index/facts.py", "index/flow.py", "index/noqa.py", "index/source.py", "index/syntax.py",
    "index/versions.py", "index/walker.py", "project.py", "cache.py",
)  # fmt: skip
_FACT_FIELDS = frozenset(ModuleFacts.__annotations__)
_REQUIRED_FACT_FIELDS = frozenset(ModuleFacts.__required_keys__)


def resolve_cache_dir(
    option: str | Path | None, no_cache: bool, project_root: Path, cwd: Path
) -> Path | None:
    """Where the cache lives: ``--cache-dir``, then ``$FORK_LINT_CACHE_DIR``, then
    ``.fork_lint_cache`` in the project root; ``None`` with ``--no-cache`` or
    ``$FORK_LINT_NO_CACHE`` set (to anything but "", "0" or "false").

    A relative path is taken from the working directory, as ruff does.
    """
    if no_cache or os.environ.get(NO_CACHE_ENV, "").lower() not in ("", "0", "false"):
        return None
    chosen = option if option is not None else os.environ.get(CACHE_DIR_ENV) or None
    if chosen is None:
        return project_root / DEFAULT_CACHE_DIR
    path = Path(chosen).expanduser()
    return path if path.is_absolute() else cwd / path


# ---------------------------------------------------------------------------- keys


def _digest(parts: Iterable[bytes]) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))  # length-prefixed: no ambiguous joins
        h.update(part)
    return h.digest()


def _runtime() -> bytes:
    # Facts come from the running interpreter's `ast`, and marshal's format may
    # change between Python versions: neither is shared across versions.
    return f"{__version__}|{FORMAT}|{sys.version_info[:2]}|{marshal.version}".encode()


def _source_digest(relpaths: Iterable[str]) -> bytes:
    parts = [_runtime()]
    for rel in relpaths:
        try:
            data = (_PACKAGE / rel).read_bytes()
        except OSError:
            data = b"<missing>"  # an installation without sources: the version decides
        parts += [rel.encode(), data]
    return _digest(parts)


@functools.cache
def facts_fingerprint() -> bytes:
    """What every file's facts depend on besides the file: fork-lint's extractor code,
    its version, the facts format and the Python version."""
    return _source_digest(_FACTS_SOURCES)


@functools.cache
def results_fingerprint() -> bytes:
    """What a project's findings depend on besides its facts: all of fork-lint's code
    (the solver, the catalogue and the rules all change results)."""
    rels = sorted(
        p.relative_to(_PACKAGE).as_posix()
        for p in _PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts
    )
    return _source_digest(rels)


def facts_key(
    content_hash: bytes, module: str, is_package: bool, shown: str, config: bytes = b""
) -> bytes:
    """Key of one file's facts.

    The facts hold the module name (in every qualified name and resolved relative
    import) and the displayed path, so both are part of the key. ``config`` is the
    part of the configuration the extractor reads: nothing today, so callers pass
    ``b""``. The target version is deliberately absent: facts record what the code
    says, as parsed by the running interpreter; the target version only changes how
    the whole program is judged, so it is part of `results_key` instead.
    """
    return _digest(
        (
            b"facts",
            facts_fingerprint(),
            content_hash,
            module.encode("utf-8", "surrogatepass"),  # a file name need not be UTF-8
            b"1" if is_package else b"0",
            shown.encode("utf-8", "surrogatepass"),
            config,
        )
    )


def results_key(file_keys: Sequence[bytes], options: object) -> bytes:
    """Key of a project's findings: every file's facts key, in order, and the options.

    ``options`` must have a deterministic ``repr`` (a frozen dataclass of plain
    values, like `AnalysisOptions`).
    """
    return _digest((b"results", results_fingerprint(), repr(options).encode(), *file_keys))


def analysis_key(shapes: Sequence[bytes], options: object) -> bytes:
    """Key of the whole-program findings of a project whose files have these shape
    digests (`fact_digests`), in order, under these options."""
    return _digest((b"analysis", results_fingerprint(), repr(options).encode(), *shapes))


_NO_SPAN = (0, 0, 0, 0)


def fact_digests(facts: ModuleFacts) -> tuple[bytes, bytes]:
    """(shape, positions) digests of one file's facts.

    The shape is everything but positions: the spans of call sites and scopes and
    the ``noqa`` comments (keyed by line) with their columns. Nothing before the
    findings reads those, so two files of the same shape give the same call graph
    and hazards. One bit of the comments is shape: whether one names a fork-lint
    code. A file with such a comment always has a finding located in it (the one
    it suppresses, or FRK100 saying it suppresses nothing), so its positions are
    checked; the bit makes the first such comment of a file count as a change.
    Marshal version 0 is used because later versions encode object sharing and
    string interning, which differ between equal values built in different ways.
    """
    calls, scopes, noqa = facts["calls"], facts["scopes"], facts["noqa"]
    order = list(facts)
    columns = facts.pop("noqa_cols", None)
    positions = ([c["span"] for c in calls], [sc["span"] for sc in scopes], noqa, columns)
    digests = facts.pop("digests", None)
    names_ours = any(code.startswith("FRK") for codes in noqa.values() for code in codes or ())
    # Blanked in place (the facts are large; a copy would cost more than the digest).
    try:
        for c in calls:
            c["span"] = _NO_SPAN
        for sc in scopes:
            sc["span"] = _NO_SPAN
        facts["noqa"] = {"FRK": []} if names_ours else {}
        shape = hashlib.sha256(marshal.dumps(cast(Any, facts), 0)).digest()
    finally:
        for c, span in zip(calls, positions[0], strict=True):
            c["span"] = span
        for sc, span in zip(scopes, positions[1], strict=True):
            sc["span"] = span
        facts["noqa"] = noqa
        if columns is not None:
            facts["noqa_cols"] = columns
        if digests is not None:
            facts["digests"] = digests
        if list(facts) != order:  # the same keys in the same order: the same marshal data
            plain = cast(dict[str, Any], facts)
            items = [(key, plain[key]) for key in order]
            plain.clear()
            plain.update(items)
    return shape, hashlib.sha256(marshal.dumps(cast(Any, positions), 0)).digest()


def proposal_key(fix_options: object, finding: object) -> bytes:
    """Key of one finding's proposed fix; the files it read are checked separately
    (`fixes.proposals`). fork-lint's code is in it through `results_fingerprint`."""
    encoded = marshal.dumps(cast(Any, encode_findings([cast(Any, finding)])))
    return _digest((b"proposal", results_fingerprint(), repr(fix_options).encode(), encoded))


def fixes_key(results: bytes, fix_options: object, findings: Sequence[object]) -> bytes:
    """Key of the findings of a check with their proposed fixes attached.

    Proposals read the files (their keys are in ``results``) and depend on the
    fix settings and on which findings remain after rule selection; fork-lint's
    code is in ``results`` through `results_fingerprint`.
    """
    encoded = marshal.dumps(cast(Any, encode_findings(cast(Any, findings))))
    return _digest((b"fixes", results, repr(fix_options).encode(), encoded))


# ---------------------------------------------------------------------------- findings codec

_MODEL_TYPES: dict[str, type] = {
    name: obj
    for name, obj in vars(_model).items()
    if isinstance(obj, type)
    and obj.__module__ == _model.__name__
    and (dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum))
}


def _encode(value: object) -> object:
    if isinstance(value, enum.Enum):
        return ("E", type(value).__name__, value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = tuple(_encode(getattr(value, f.name)) for f in dataclasses.fields(value))
        return ("D", type(value).__name__, fields)
    if isinstance(value, tuple):
        return ("T", tuple(_encode(v) for v in value))
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(data: object) -> object:
    if not isinstance(data, tuple):
        if data is None or isinstance(data, (str, int, float, bool)):
            return data
        raise ValueError("unexpected value")
    tag = data[0]
    if tag == "T":
        return tuple(_decode(v) for v in data[1])
    cls = _MODEL_TYPES.get(data[1])
    if cls is None:
        raise ValueError(f"unknown type {data[1]!r}")
    if tag == "E" and issubclass(cls, enum.Enum):
        return cls(data[2])
    if tag == "D" and dataclasses.is_dataclass(cls):
        return cls(*(_decode(v) for v in data[2]))
    raise ValueError(f"bad tag {tag!r}")


def encode_findings(findings: Sequence[Finding]) -> list[object]:
    """Findings as plain tuples that marshal can store; only `fork_lint.model` types."""
    return [_encode(f) for f in findings]


def decode_findings(data: object) -> list[Finding]:
    """Inverse of `encode_findings`; raises ValueError on anything else."""
    if not isinstance(data, list):
        raise ValueError("not a list of findings")
    try:
        out = [_decode(item) for item in data]
    except (TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"not an encoded finding: {exc}") from None
    if not all(isinstance(f, Finding) for f in out):
        raise ValueError("not a finding")
    return out  # type: ignore[return-value]


# ---------------------------------------------------------------------------- storage


@contextmanager
def gc_paused(*, freeze: bool = True) -> Iterator[None]:
    """Keep the cyclic garbage collector away from facts, which have no cycles.

    Facts are millions of small tuples, lists and dicts; every collection would
    walk all of them again, and merely pausing the collector moves that cost to
    the first collection after it resumes. So the objects made meanwhile are
    moved to the permanent generation (`gc.freeze`): reference counting still
    frees them, the collector never looks at them. On the benchmark corpus this
    halves extraction time and cuts loading from the cache by four fifths.

    ``freeze=False`` only pauses, for objects that must be collectable later
    (the solved program, see `engine`).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()


def _valid_facts(data: object, module: str, shown: str) -> bool:
    return (
        isinstance(data, dict)
        and _REQUIRED_FACT_FIELDS <= data.keys() <= _FACT_FIELDS
        and data["module"] == module
        and data["path"] == shown
        and isinstance(data["scopes"], list)
        and isinstance(data["calls"], list)
    )


class FactsCache(EntryStore):
    """Facts, findings and the maps of the early cut-off, as cache entries.

    Storage, authentication and the rules on which directories are trusted are
    `EntryStore`'s (see `cache_store`).
    """

    def __init__(
        self,
        root: Path,
        *,
        explicit: bool = True,
        secret: bytes | None = None,
        vetted: bool = False,
    ) -> None:
        super().__init__(root, explicit=explicit, secret=secret, vetted=vetted, version=__version__)

    # -- facts ------------------------------------------------------------
    def load_facts(self, key: bytes, module: str, shown: str) -> ModuleFacts | None:
        data = self._read(_FACTS, key)
        if data is None:
            return None
        if not _valid_facts(data, module, shown):
            self.rejected += 1
            return None
        self.hits += 1
        return data  # type: ignore[no-any-return]

    def store_facts(self, key: bytes, facts: ModuleFacts) -> None:
        self._write(_FACTS, key, facts)

    # -- results ----------------------------------------------------------
    def load_results(self, key: bytes) -> list[Finding] | None:
        data = self._read(_RESULTS, key)
        if data is None:
            return None
        try:
            return decode_findings(data)
        except ValueError:
            self.rejected += 1
            return None

    def store_results(self, key: bytes, findings: Sequence[Finding]) -> None:
        self._write(_RESULTS, key, encode_findings(findings))
        self._prune_results()

    def _prune_results(self) -> None:
        """Keep the newest results entries; older ones belong to states of the
        project that are gone (each edit makes a new key)."""
        self._prune("results", _KEEP_RESULTS)

    # -- early cut-off (see the module docstring) -------------------------
    def _load_map(self, kind: bytes) -> dict[bytes, Any]:
        data = self._read(kind, _DIGESTS_KEY)
        return data if isinstance(data, dict) else {}

    def _store_map(self, kind: bytes, known: dict[bytes, Any], found: dict[bytes, Any]) -> None:
        """Add ``found`` to the ``known`` map (emptied past `_KEEP_DIGESTS`). Entries
        are keyed by content, so a concurrent run's map is as good as ours: the last
        one written wins."""
        new = {k: v for k, v in found.items() if known.get(k) != v}
        if not new:
            return
        merged = dict(known) if len(known) + len(new) <= _KEEP_DIGESTS else {}
        merged.update(new)
        self._write(kind, _DIGESTS_KEY, merged)

    def load_digests(self) -> dict[bytes, tuple[bytes, bytes]]:
        """Facts key -> (shape, positions) digests, as far as known; `{}` if unreadable."""
        return self._load_map(_DIGESTS)

    def store_digests(
        self, known: dict[bytes, tuple[bytes, bytes]], used: dict[bytes, tuple[bytes, bytes]]
    ) -> None:
        """Add this run's ``used`` digests to the ``known`` map."""
        self._store_map(_DIGESTS, known, used)

    def load_words(self) -> dict[bytes, tuple[frozenset[str], frozenset[str]]]:
        """Content hash -> (words searched for, those absent), for the searches fix
        proposals make (`fixes.apply.DiskSources.lacks`); `{}` if unreadable."""
        return self._load_map(_WORDS)

    def store_words(
        self,
        known: dict[bytes, tuple[frozenset[str], frozenset[str]]],
        found: dict[bytes, tuple[frozenset[str], frozenset[str]]],
    ) -> None:
        """Add ``found`` to the ``known`` map."""
        self._store_map(_WORDS, known, found)

    def load_analysis(self, key: bytes) -> tuple[list[Finding], list[tuple[str, bytes]]] | None:
        """Findings stored under a shape key, with the (path, positions digest) of
        every file they point into."""
        data = self._read(_ANALYSIS, key)
        if not (isinstance(data, tuple) and len(data) == 2 and isinstance(data[1], list)):
            return None
        try:
            findings = decode_findings(data[0])
        except ValueError:
            self.rejected += 1
            return None
        return findings, data[1]

    def store_analysis(
        self, key: bytes, findings: Sequence[Finding], positions: Sequence[tuple[str, bytes]]
    ) -> None:
        self._write(_ANALYSIS, key, (encode_findings(findings), list(positions)))
        self._prune("analysis", _KEEP_RESULTS)

    # -- fix proposals ----------------------------------------------------
    def load_proposal(self, key: bytes) -> Any:
        """A stored proposal record (see `fixes.proposals`), or `None`."""
        return self._read(_PROPOSAL, key)

    def store_proposals(self, records: Sequence[tuple[bytes, object]]) -> None:
        for key, data in records:
            self._write(_PROPOSAL, key, data)
        if records:
            self._prune("proposals", _KEEP_PROPOSALS)
