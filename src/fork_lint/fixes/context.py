"""The project as fixers see it: module facts loaded when asked for, current texts,
and files parsed by libcst once per context."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from fork_lint.fixes.base import LIBCST_MAX_CHARS, NoFix, Proposal, reason_of
from fork_lint.fixes.options import FixOptions
from fork_lint.index.facts import ModuleFacts
from fork_lint.model import Finding

if TYPE_CHECKING:  # libcst costs 0.3 s to import: only fixing needs it
    from fork_lint.fixes._cst import ParsedFile

__all__ = ["FactsView", "FixContext", "Fixer"]


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
        self.unparsed: dict[str, str] = {}  # path -> why libcst did not parse it
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
        """The file parsed by libcst (once per context), None if unreadable or
        unparsable; `unparsed` then says why, for a file libcst could not take."""
        if path not in self._parsed:
            from fork_lint.fixes._cst import parse_file
            from fork_lint.fixes._parse import CannotParse, TooLarge

            text = self.source(path)
            self._parsed[path] = None
            try:
                self._parsed[path] = parse_file(text) if text is not None else None
            except TooLarge as exc:
                self.unparsed[path] = (
                    f"{path} is larger than fork-lint rewrites ({exc.args[0]:,} characters; "
                    f"the limit is {LIBCST_MAX_CHARS:,})"
                )
            except (CannotParse, RecursionError, MemoryError) as exc:
                self.unparsed[path] = f"fork-lint cannot rewrite {path}: {reason_of(exc)}"
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
