"""Fixes: libcst codemods that remove a finding and keep every other byte of the file.

A fixer looks at one finding and the project's current sources and answers with a
`Proposal` (new text for each file it changes, and how safe that is), a `NoFix`
(the pattern is recognised but cannot be rewritten, and why), or None (not its
pattern). The first proposal among a rule's fixers wins; otherwise the first
reason is shown. `fixes.apply` turns proposals into edits, checks each one (the
safety gate) and writes files.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from fork_lint.fixes.options import FixOptions, LaunchOptions
from fork_lint.index.facts import ModuleFacts
from fork_lint.model import Applicability, Edit, Finding, Fix, Span

if TYPE_CHECKING:  # libcst costs 0.3 s to import: only fixing needs it
    from fork_lint.fixes._cst import ParsedFile

__all__ = [
    "FIXERS",
    "REGISTRY",
    "FactsView",
    "FixContext",
    "FixOptions",
    "Fixer",
    "LaunchOptions",
    "NoFix",
    "Proposal",
    "attach",
    "edits_between",
    "propose",
]


@dataclass(frozen=True)
class Proposal:
    """A fix: the new text of every file it changes."""

    message: str
    applicability: Applicability
    changes: Mapping[str, str]  # path -> new text


@dataclass(frozen=True)
class NoFix:
    """The finding's pattern was recognised, but no fix is offered; `reason` says why."""

    reason: str


class FactsView:
    """The project's module facts as fixers read them: every path and module name at
    once, a file's facts only when asked for (a run answered from the cache has not
    loaded them, and a fix reads a few files)."""

    def __init__(
        self,
        paths: Sequence[str],
        modules: Sequence[str],
        load: Callable[[int], ModuleFacts],
        replaced: Mapping[str, ModuleFacts] | None = None,
        load_all: Callable[[], Sequence[ModuleFacts]] | None = None,
    ) -> None:
        self.paths = list(paths)
        self.module_names = list(modules)
        self._load = load
        self._load_all = load_all  # all at once (in parallel, for a project's files)
        self._index = {path: i for i, path in enumerate(self.paths)}
        self._replaced = dict(replaced or {})
        for path, facts in self._replaced.items():
            if path in self._index:
                self.module_names[self._index[path]] = facts["module"]

    @classmethod
    def of(cls, modules: Iterable[ModuleFacts] | FactsView) -> FactsView:
        if isinstance(modules, FactsView):
            return modules
        from fork_lint.project import ProjectFacts

        if isinstance(modules, ProjectFacts):
            files = modules.files
            return cls(
                [f.shown for f in files],
                [f.module for f in files],
                modules.facts_at,
                load_all=modules.materialise,
            )
        facts = list(modules)
        return cls([m["path"] for m in facts], [m["module"] for m in facts], facts.__getitem__)

    def get(self, path: str) -> ModuleFacts | None:
        if path in self._replaced:
            return self._replaced[path]
        i = self._index.get(path)
        return None if i is None else self._load(i)

    def all(self) -> list[ModuleFacts]:
        if self._load_all is not None:
            base = self._load_all()
            return [self._replaced.get(p) or base[i] for i, p in enumerate(self.paths)]
        return [self._replaced.get(p) or self._load(i) for i, p in enumerate(self.paths)]

    def with_replaced(self, replaced: Mapping[str, ModuleFacts]) -> FactsView:
        """This view with some files' facts replaced (after fixes changed them)."""
        return FactsView(
            self.paths,
            self.module_names,
            self._load,
            {**self._replaced, **replaced},
            self._load_all,
        )


class FixContext:
    """The project as the fixers see it: current texts by path and the module facts."""

    def __init__(
        self,
        modules: Iterable[ModuleFacts] | FactsView,
        read: Callable[[str], str | None],
        options: FixOptions,
        lacks: Callable[[str, str], bool] = lambda path, word: False,
        expect: Callable[[Iterable[str]], None] = lambda words: None,
    ) -> None:
        self.view = FactsView.of(modules)
        self._read = read
        self._lacks = lacks  # a cheap "certainly not in this file" (`DiskSources.lacks`)
        self._expect = expect  # words `lacks` will be asked about (`DiskSources.expect`)
        self._texts: dict[str, str | None] = {}
        self._parsed: dict[str, ParsedFile | None] = {}
        self.options = options

    @property
    def modules(self) -> list[ModuleFacts]:
        """Every file's facts (all loaded: prefer `facts_of` and `candidates`)."""
        return self.view.all()

    def facts_of(self, path: str) -> ModuleFacts | None:
        return self.view.get(path)

    def expect_words(self, words: Iterable[str]) -> None:
        """Announce words that `candidates` and `mentioned_elsewhere` will be asked
        about, so that the files are searched for all of them in one pass."""
        self._expect(words)

    def candidates(self, word: str) -> list[str]:
        """Project files that may contain ``word`` (a superset: what `lacks` cannot rule out)."""
        return [p for p in self.view.paths if not self._lacks(p, word)]

    def source(self, path: str) -> str | None:
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def parsed(self, path: str) -> ParsedFile | None:
        """The file parsed by libcst (once per context), None if unreadable or unparsable."""
        if path not in self._parsed:
            import libcst as cst

            from fork_lint.fixes._cst import parse_file

            text = self.source(path)
            try:
                self._parsed[path] = parse_file(text) if text is not None else None
            except (cst.ParserSyntaxError, RecursionError):
                self._parsed[path] = None
        return self._parsed[path]

    @cached_property
    def by_module(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for path, module in zip(self.view.paths, self.view.module_names, strict=True):
            out.setdefault(module, path)
        return out

    def path_of_module(self, module: str) -> str | None:
        """The project file of a module: by name, else by the path its name spells
        (module names depend on the project root, paths do not)."""
        path = self.by_module.get(module)
        if path is not None:
            return path
        rel = module.replace(".", "/")
        for suffix in (f"{rel}.py", f"{rel}/__init__.py"):
            hits = [
                p
                for p, norm in self._by_file_name.get(suffix.rpartition("/")[2], ())
                if norm == suffix or norm.endswith("/" + suffix)
            ]
            if len(hits) == 1:
                return hits[0]
        return None

    @cached_property
    def _by_file_name(self) -> dict[str, list[tuple[str, str]]]:
        """File name -> (path, path with `/` separators) of the project's files."""
        out: dict[str, list[tuple[str, str]]] = {}
        for path in self.view.paths:
            norm = path.replace("\\", "/")
            out.setdefault(norm.rpartition("/")[2], []).append((path, norm))
        return out

    def mentioned_elsewhere(self, name: str, exclude: Iterable[str]) -> list[str]:
        """Project files other than `exclude` whose text contains `name` as a word."""
        skip = set(exclude)
        word = re.compile(rf"\b{re.escape(name)}\b")
        out = []
        for path in self.view.paths:
            if path in skip or self._lacks(path, name):
                continue
            text = self.source(path)
            if text is not None and name in text and word.search(text):
                out.append(path)
        return out


Fixer = Callable[[Finding, FixContext], "Proposal | NoFix | None"]


# Rule code -> fixer modules (each has `fix(finding, ctx)`), tried in order.
REGISTRY: dict[str, tuple[str, ...]] = {
    "FRK001": ("fork_exec",),
    "FRK002": ("edge_launch", "start_method"),
    "FRK003": ("start_method",),
    "FRK004": ("preexec",),
    "FRK100": ("unused_noqa",),
}
FIXERS: dict[str, tuple[Fixer, ...]] = {}


def fixers_for(code: str) -> tuple[Fixer, ...]:
    if code not in FIXERS:
        FIXERS[code] = tuple(
            importlib.import_module(f"fork_lint.fixes.{name}").fix
            for name in REGISTRY.get(code, ())
        )
    return FIXERS[code]


def propose(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
    """The first proposal of the rule's fixers, else the first reason, else None."""
    reason: NoFix | None = None
    for fixer in fixers_for(finding.code):
        try:
            result = fixer(finding, ctx)
        except RecursionError:
            # libcst walks trees recursively: a file nested deeper than it can walk
            # (a generated expression of a thousand terms) gets no fix, not a crash.
            result = NoFix("the file nests too deeply for fork-lint to rewrite it")
        if isinstance(result, Proposal):
            return _keeping_final_line_breaks(result, ctx)
        if isinstance(result, NoFix) and reason is None:
            reason = result
    return reason


def _keeping_final_line_breaks(proposal: Proposal, ctx: FixContext) -> Proposal:
    changes = {
        path: keep_final_line_break(ctx.source(path) or "", new)
        for path, new in proposal.changes.items()
    }
    if changes == dict(proposal.changes):
        return proposal
    return replace(proposal, changes=changes)


# ---------------------------------------------------------------------------- edits

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_FINAL_BREAK = re.compile(r"(?:\r\n|\r|\n)\Z")


def keep_final_line_break(old: str, new: str) -> str:
    """`new`, ending with `old`'s final line break if a rewrite dropped it.

    libcst loses the last line break of a file whose lines end with a lone CR
    (``x = 1\\r`` prints as ``x = 1``); no fix means to remove it.
    """
    found = _FINAL_BREAK.search(old)
    if found is None or not new or _FINAL_BREAK.search(new):
        return new
    return new + found.group()


def split_lines(text: str) -> list[str]:
    """Lines with their line breaks, split where Python's tokenizer splits them."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class TextEdit:
    """Replace `text[begin:end]` with `content` (character offsets)."""

    begin: int
    end: int
    content: str


def edits_between(old: str, new: str) -> list[TextEdit]:
    """Small edits that turn `old` into `new`: changed line runs, trimmed to the
    characters that differ."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    new_starts = [0]
    for line in new_lines:
        new_starts.append(new_starts[-1] + len(line))
    out: list[TextEdit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        begin, end = starts[i1], starts[i2]
        content = new[new_starts[j1] : new_starts[j2]]
        removed = old[begin:end]
        prefix = 0
        limit = min(len(removed), len(content))
        while prefix < limit and removed[prefix] == content[prefix]:
            prefix += 1
        suffix = 0
        while (
            suffix < limit - prefix
            and removed[len(removed) - 1 - suffix] == content[len(content) - 1 - suffix]
        ):
            suffix += 1
        out.append(TextEdit(begin + prefix, end - suffix, content[prefix : len(content) - suffix]))
    return [e for e in out if e.begin != e.end or e.content]


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    for edit in sorted(edits, key=lambda e: (e.begin, e.end), reverse=True):
        text = text[: edit.begin] + edit.content + text[edit.end :]
    return text


def position(text: str, offset: int) -> tuple[int, int]:
    """(1-based line, 0-based column) of a character offset."""
    line = 1
    col_start = 0
    for m in re.finditer(r"\r\n|\r|\n", text[:offset]):
        line += 1
        col_start = m.end()
    return line, offset - col_start


def offset_of(text: str, line: int, col: int) -> int:
    lines = split_lines(text)
    return sum(len(x) for x in lines[: line - 1]) + col


def to_fix(proposal: Proposal, sources: Mapping[str, str]) -> Fix:
    """The reporting form of a proposal (spans in the files as they are now)."""
    edits: list[Edit] = []
    for path in sorted(proposal.changes):
        old = sources[path]
        for e in edits_between(old, proposal.changes[path]):
            line, col = position(old, e.begin)
            end_line, end_col = position(old, e.end)
            edits.append(Edit(path, Span(line, col, end_line, end_col), e.content))
    return Fix(proposal.message, proposal.applicability, tuple(edits))


def attach(finding: Finding, proposal: Proposal | NoFix | None, ctx: FixContext) -> Finding:
    """The finding with its fix. A `NoFix` attaches nothing: reports show a fix
    where there is one, and no line about the fixes there are not."""
    if not isinstance(proposal, Proposal):
        return finding
    sources = {p: ctx.source(p) or "" for p in proposal.changes}
    return replace(finding, fix=to_fix(proposal, sources))
