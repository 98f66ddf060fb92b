"""libcst helpers shared by the fixes: locate nodes, resolve imported names, rewrite blocks.

Every fix edits a parsed file with minimal node replacements, and the edits are
placed in the file's own text (`fixes._place`), so whitespace, comments and
quoting outside the replaced nodes come out byte for byte as they went in.
Statement-level edits happen in the enclosing block (see `Rewriter`), so comments
above a removed statement can move to the statement that follows it.
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import libcst as cst
from libcst.metadata import CodeRange

from fork_lint.fixes._parse import CannotParse, TooLarge, parse_module
from fork_lint.fixes._place import Printed, layout, preserved, spans
from fork_lint.fixes.base import Proposal, TextEdit, Unplaceable, apply_edits
from fork_lint.model import Applicability

N = TypeVar("N", bound=cst.CSTNode)

_EMPTY = cst.Module(body=[])


def code(node: cst.CSTNode) -> str:
    """Source text of a node, as it would be printed in place."""
    return _EMPTY.code_for_node(node)


class ParsedFile:
    """A parsed module with its parent map, node positions and print (`_place.layout`:
    one code-generation pass computes all three)."""

    def __init__(self, text: str, module: cst.Module) -> None:
        self.text = text
        self.module = module
        found = layout(text, module)
        self.parents: dict[cst.CSTNode, cst.CSTNode] = found.parents
        self.nodes: list[cst.CSTNode] = found.order  # every node, parents before children
        self.positions: Mapping[cst.CSTNode, CodeRange] = found.positions
        self.printed: Printed = found.printed  # how libcst prints it, for placing edits

    def edits(self, new: cst.Module) -> tuple[TextEdit, ...]:
        """Edits of the file's text that make its tree into `new` (`Unplaceable` if
        they touch text libcst does not reproduce)."""
        return tuple(self.printed.edits(new))

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def enclosing(self, node: cst.CSTNode, kind: type[N]) -> N | None:
        for anc in self.ancestors(node):
            if isinstance(anc, kind):
                return anc
        return None

    def inside(self, node: cst.CSTNode, container: cst.CSTNode) -> bool:
        return any(a is container for a in self.ancestors(node))

    def within(self, container: cst.CSTNode) -> list[cst.CSTNode]:
        """Every node below `container`."""
        out: list[cst.CSTNode] = []
        stack = list(container.children)
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(node.children)
        return out

    def start(self, node: cst.CSTNode) -> tuple[int, int]:
        r = self.positions[node]
        return r.start.line, r.start.column

    def statement_of(self, node: cst.CSTNode) -> cst.BaseStatement | None:
        """The statement (a line in a block) that contains `node`."""
        current: cst.CSTNode | None = node
        while current is not None:
            parent = self.parents.get(current)
            if isinstance(current, cst.BaseStatement) and isinstance(
                parent, (cst.IndentedBlock, cst.Module)
            ):
                return current
            current = parent
        return None

    def calls_at(self, line: int, col: int) -> list[cst.Call]:
        """Calls starting at (line, col), outermost first."""
        found = [
            (r.end.line, r.end.column, n)
            for n, r in self.positions.items()
            if isinstance(n, cst.Call) and (r.start.line, r.start.column) == (line, col)
        ]
        found.sort(key=lambda t: (-t[0], -t[1]))
        return [n for _, _, n in found]

    def call_at(self, line: int, col: int, end: tuple[int, int] | None = None) -> cst.Call | None:
        calls = self.calls_at(line, col)
        if end is not None:
            for c in calls:
                r = self.positions[c]
                if (r.end.line, r.end.column) == end:
                    return c
        return calls[-1] if calls else None


def parse_file(text: str) -> ParsedFile:
    """Parse `text`; raises `TooLarge` or `CannotParse` (`fixes._parse`), never crashes."""
    return ParsedFile(text, parse_module(text))


def proposal(
    message: str,
    applicability: Applicability,
    changes: Mapping[str, tuple[ParsedFile, cst.Module]],
) -> Proposal:
    """A proposal that turns each parsed file into its new tree, as edits of its text."""
    texts: dict[str, str] = {}
    edits: dict[str, tuple[TextEdit, ...]] = {}
    for path, (pf, module) in changes.items():
        edits[path] = pf.edits(module)
        texts[path] = apply_edits(pf.text, edits[path])
    return Proposal(message, applicability, texts, edits)


# ---------------------------------------------------------------------------- names


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base is not None else None
    return None


def _alias_name(node: cst.BaseExpression) -> str:
    return dotted(node) or ""


def _bindings(stmt: cst.Import | cst.ImportFrom) -> Iterator[tuple[str, str]]:
    """(local name, dotted origin) for each name an import binds."""
    if isinstance(stmt, cst.Import):
        for alias in stmt.names:
            full = _alias_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                top = full.partition(".")[0]
                yield top, top
        return
    if isinstance(stmt.names, cst.ImportStar) or stmt.relative:
        return
    base = _alias_name(stmt.module) if stmt.module is not None else ""
    for alias in stmt.names:
        name = _alias_name(alias.name)
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        yield local, f"{base}.{name}"


def _level_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseSmallStatement]:
    """Small statements of a block, also inside if/try/with at the same level (not defs)."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif isinstance(stmt, (cst.If, cst.Try, cst.With)):
            for block in _sub_blocks(stmt):
                yield from _level_statements(block)


def _sub_blocks(stmt: cst.CSTNode) -> Iterator[Sequence[cst.BaseStatement]]:
    if isinstance(stmt, cst.If):
        yield _block_body(stmt.body)
        if stmt.orelse is not None:
            yield from _sub_blocks(stmt.orelse)
    elif isinstance(stmt, cst.Else):
        yield _block_body(stmt.body)
    elif isinstance(stmt, cst.Try):
        yield _block_body(stmt.body)
        for handler in stmt.handlers:
            yield _block_body(handler.body)
        if stmt.orelse is not None:
            yield _block_body(stmt.orelse.body)
        if stmt.finalbody is not None:
            yield _block_body(stmt.finalbody.body)
    elif isinstance(stmt, cst.With):
        yield _block_body(stmt.body)


def _block_body(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return block.body if isinstance(block, cst.IndentedBlock) else ()


def import_table(*bodies: Sequence[cst.BaseStatement]) -> dict[str, str]:
    """Local name -> dotted origin for the imports of the given blocks (later ones win)."""
    table: dict[str, str] = {}
    for body in bodies:
        for small in _level_statements(body):
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                table.update(_bindings(small))
    return table


def scope_table(pf: ParsedFile, node: cst.CSTNode) -> dict[str, str]:
    """Imports visible at `node`: the module's, then those of each enclosing function."""
    bodies: list[Sequence[cst.BaseStatement]] = [pf.module.body]
    funcs = [a for a in pf.ancestors(node) if isinstance(a, cst.FunctionDef)]
    for func in reversed(funcs):
        bodies.append(_block_body(func.body))
    return import_table(*bodies)


def resolve(node: cst.BaseExpression, table: Mapping[str, str]) -> str | None:
    """The dotted origin of a name or attribute chain through the import table."""
    name = dotted(node)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    origin = table.get(head)
    if origin is None:
        return None
    return f"{origin}.{rest}" if rest else origin


def module_binding(module: cst.Module, target: str) -> str | None:
    """The local name under which a top-level `import target [as x]` binds the module."""
    for small in _level_statements(module.body):
        if isinstance(small, cst.Import):
            for alias in small.names:
                if _alias_name(alias.name) != target:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    return alias.asname.name.value
                if "." not in target:
                    return target
    return None


def top_level_names(module: cst.Module) -> set[str]:
    """Names bound at module level by assignments, defs, classes and imports."""
    names: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            names.add(stmt.name.value)
    for small in _level_statements(module.body):
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            names.update(local for local, _ in _bindings(small))
        elif isinstance(small, cst.Assign):
            for target in small.targets:
                if isinstance(target.target, cst.Name):
                    names.add(target.target.value)
        elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
            names.add(small.target.value)
    return names


def ensure_import(module: cst.Module, target: str) -> tuple[cst.Module, str | None]:
    """Make `import target` available at module level; return the name to use.

    An existing `import target [as x]` is reused. Otherwise the import is added to
    the first run of top-level `import ...` statements, in alphabetical position,
    or after the docstring and `__future__` imports. None when the name is taken
    by something else.
    """
    bound = module_binding(module, target)
    if bound is not None:
        return module, bound
    if target in top_level_names(module):
        return module, None
    new = cst.parse_statement(f"import {target}\n")
    assert isinstance(new, cst.SimpleStatementLine)
    body = list(module.body)
    index = _import_position(body, target)
    if index < len(body) and _is_import(body[index]) and _starts_block(body, index):
        # Taking the first place of the imports: take over the lines above them too.
        new = new.with_changes(leading_lines=body[index].leading_lines)
        body[index] = body[index].with_changes(leading_lines=())
    elif index > 0 and (index == len(body) or not _is_import(body[index])):
        new = new.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(index, new)
    return module.with_changes(body=body), target


def _is_import(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom))
        and not _is_future_or_doc(stmt)
    )


def _starts_block(body: Sequence[cst.BaseStatement], index: int) -> bool:
    return index == 0 or not _is_import(body[index - 1])


def _is_plain_import(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Import)
    )


def _is_future_or_doc(stmt: cst.BaseStatement) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if isinstance(small, cst.ImportFrom):
        return small.module is not None and _alias_name(small.module) == "__future__"
    return isinstance(small, cst.Expr) and isinstance(
        small.value, (cst.SimpleString, cst.ConcatenatedString)
    )


def _import_position(body: Sequence[cst.BaseStatement], target: str) -> int:
    """In the first run of `import x` lines, alphabetically; else before the first
    import; else after the docstring and `__future__` imports."""
    first_run = next((i for i, s in enumerate(body) if _is_plain_import(s)), None)
    if first_run is not None:
        i = first_run
        while i < len(body) and _is_plain_import(body[i]):
            stmt = body[i]
            assert isinstance(stmt, cst.SimpleStatementLine)
            imp = stmt.body[0]
            assert isinstance(imp, cst.Import)
            if _alias_name(imp.names[0].name) > target:
                return i
            i += 1
        return i
    first_import = next((i for i, s in enumerate(body) if _is_import(s)), None)
    if first_import is not None:
        return first_import
    i = 0
    while i < len(body) and _is_future_or_doc(body[i]):
        i += 1
    return i


# ---------------------------------------------------------------------------- references


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text))


@dataclass
class References:
    """What code mentions: names, attribute names and the words of its string literals.

    Imports are left out. Computed by `references` from a libcst subtree and by
    `text_references` from a whole file (through `ast`, much faster); both count
    the same things, so one can be subtracted from the other.
    """

    names: Counter[str] = field(default_factory=Counter)
    attrs: Counter[str] = field(default_factory=Counter)
    words: Counter[str] = field(default_factory=Counter)  # words of string literals
    typing_words: Counter[str] = field(default_factory=Counter)  # ... in annotations, __all__

    def uses_name(self, name: str) -> bool:
        """A name, or a word of a string annotation or of `__all__`: what keeps an import."""
        return self.names[name] > 0 or self.typing_words[name] > 0

    def mentions(self, name: str) -> bool:
        """Any trace of the name, strings included (`getattr(self, "name")`)."""
        return self.names[name] > 0 or self.attrs[name] > 0 or self.words[name] > 0


def subtract(whole: References, part: References) -> References:
    """What `whole` mentions outside `part` (a subtree of it)."""
    return References(
        whole.names - part.names,
        whole.attrs - part.attrs,
        whole.words - part.words,
        whole.typing_words - part.typing_words,
    )


class _Counter(cst.CSTVisitor):
    def __init__(self) -> None:
        self.refs = References()
        self.attr_names: set[int] = set()
        self._typing = 0  # inside an annotation or an `__all__` assignment

    def _string(self, text: str) -> None:
        words = _words(text)
        self.refs.words.update(words)
        if self._typing:
            self.refs.typing_words.update(words)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            return False
        if isinstance(node, cst.Name):
            if id(node) not in self.attr_names:
                self.refs.names[node.value] += 1
        elif isinstance(node, cst.Attribute):
            self.refs.attrs[node.attr.value] += 1
            self.attr_names.add(id(node.attr))
        elif isinstance(node, cst.SimpleString):
            if "b" not in node.prefix.lower():
                self._string(node.raw_value)
        elif isinstance(node, cst.FormattedStringText):
            self._string(node.value)
        elif isinstance(node, cst.Annotation) or _is_all(node):
            self._typing += 1
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, cst.Annotation) or _is_all(original_node):
            self._typing -= 1


def _is_all(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Assign) and any(
        isinstance(t.target, cst.Name) and t.target.value == "__all__" for t in node.targets
    )


def references(node: cst.CSTNode) -> References:
    """What a libcst subtree mentions (see `References`)."""
    counter = _Counter()
    node.visit(counter)
    return counter.refs


def _parse(text: str) -> ast.Module:
    """`ast.parse`, without the warnings CPython 3.12+ prints for the user's code
    (an invalid escape sequence): they are not about the fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.parse(text)


def text_references(text: str) -> References:
    """What a whole file mentions, counted through `ast` (same rules as `references`)."""
    return _scan(text)[0]


def _scan(text: str) -> tuple[References, set[str]]:
    """`text_references`, and the names the file's import statements bind (anywhere
    in the file): one parse, one walk."""
    refs = References()
    bound: set[str] = set()
    typing_nodes: list[ast.AST] = []
    for node in ast.walk(_parse(text)):
        if isinstance(node, ast.Name):
            refs.names[node.id] += 1
        elif isinstance(node, ast.Attribute):
            refs.attrs[node.attr] += 1
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            refs.words.update(_words(node.value))
        elif isinstance(node, (ast.arg, ast.keyword)):
            if node.arg is not None:  # `**kwargs` in a call has no name
                refs.names[node.arg] += 1
            if isinstance(node, ast.arg) and node.annotation is not None:
                typing_nodes.append(node.annotation)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            refs.names.update(node.names)
        elif isinstance(node, ast.Import):
            bound.update(alias.asname or alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            bound.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
        else:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.returns is not None:
                    typing_nodes.append(node.returns)
            elif isinstance(node, ast.AnnAssign):
                typing_nodes.append(node.annotation)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                typing_nodes.append(node)
            name = getattr(node, "name", None)
            if isinstance(name, str) and not isinstance(node, ast.alias):
                refs.names[name] += 1  # defs, classes, `except ... as name`, match captures
            rest = getattr(node, "rest", None)
            if isinstance(rest, str):
                refs.names[rest] += 1
    for typing_node in typing_nodes:
        for node in ast.walk(typing_node):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                refs.typing_words.update(_words(node.value))
    return refs, bound


def _dead_imports(before: str, after: str) -> set[str]:
    """Import names `after` no longer uses that `before` did use.

    Names that were already unused before the fix are left alone: the fix owns
    only what it made dead.
    """
    refs_before = _scan_of(before)[0]
    refs_after, bound = _scan(after)
    return {
        local for local in bound if refs_before.uses_name(local) and not refs_after.uses_name(local)
    }


@functools.lru_cache(maxsize=4)
def _scan_of(text: str) -> tuple[References, set[str]]:
    """`_scan` of a file's text (asked again for each of its findings)."""
    return _scan(text)


def prune_edits(before: str, after: str) -> list[TextEdit]:
    """Edits of `after` that drop the imports it no longer uses but `before` did.

    Works on texts; libcst parses `after` only when an import has to go. An import
    next to text libcst does not reproduce stays (unused, but every byte kept).
    """
    dead = _dead_imports(before, after)
    if not dead:
        return []
    try:
        pf = parse_file(after)
        return list(pf.edits(pf.module.visit(_ImportPruner(dead))))
    except (Unplaceable, TooLarge, CannotParse, RecursionError):
        return []


def prune_imports(before: str, after: str) -> str:
    """`after` without the imports it no longer uses but `before` did."""
    return apply_edits(after, prune_edits(before, after))


def prune_module(before: str, after: cst.Module) -> cst.Module:
    """`prune_imports` for a rewritten tree, keeping its untouched nodes (for `proposal`)."""
    dead = _dead_imports(before, spans(after)[0])  # the print `proposal` places, printed once
    return after.visit(_ImportPruner(dead)) if dead else after


class _ImportPruner(cst.CSTTransformer):
    def __init__(self, dead: set[str]) -> None:
        self.dead = dead
        self.emptied: set[int] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        # Imports are statements: nothing inside an expression (most of a file's
        # nodes) can hold one.
        if isinstance(node, (cst.BaseExpression, cst.Decorator, cst.Parameters)):
            return False
        return super().on_visit(node)

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        result = super().on_leave(original_node, updated_node)
        if isinstance(result, cst.CSTNode):
            return preserved(original_node, updated_node, result)
        return result

    def _keep(self, alias: cst.ImportAlias, *, is_from: bool) -> bool:
        full = _alias_name(alias.name)
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        else:
            local = full if is_from else full.partition(".")[0]
        return local not in self.dead

    def _prune(
        self, names: Sequence[cst.ImportAlias], *, is_from: bool, parenthesized: bool
    ) -> list[cst.ImportAlias]:
        kept = [a for a in names if self._keep(a, is_from=is_from)]
        # The last name keeps no comma, unless a parenthesized list had a trailing one.
        trailing = parenthesized and names[-1].comma != cst.MaybeSentinel.DEFAULT
        if kept and len(kept) != len(names) and not trailing:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return kept

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.Import | cst.RemovalSentinel:
        kept = self._prune(updated_node.names, is_from=False, parenthesized=False)
        if not kept:
            return cst.RemovalSentinel.REMOVE
        return updated_node.with_changes(names=kept)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        kept = self._prune(
            updated_node.names, is_from=True, parenthesized=updated_node.lpar is not None
        )
        if not kept:
            return cst.RemovalSentinel.REMOVE
        return updated_node.with_changes(names=kept)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if not updated_node.body:
            return cst.RemovalSentinel.REMOVE
        return updated_node


# ---------------------------------------------------------------------------- block rewriting


def _comment_lines(stmt: cst.BaseStatement) -> list[cst.EmptyLine]:
    lines = getattr(stmt, "leading_lines", ())
    return [line for line in lines if line.comment is not None]


@dataclass
class StatementEdit:
    """What happens to one statement of a block.

    `build` receives the statement with the inner replacements already applied and
    returns what takes its place (nothing: the statement is removed).
    """

    build: Callable[[cst.BaseStatement], Sequence[cst.BaseStatement]]
    # A removed statement's comments move to the next statement (False for removed defs,
    # whose comments describe the def itself).
    carry_comments: bool = True

    @classmethod
    def remove(cls, *, carry_comments: bool = True) -> StatementEdit:
        return cls(lambda _: (), carry_comments)

    @classmethod
    def replace(cls, *stmts: cst.BaseStatement) -> StatementEdit:
        return cls(lambda _: stmts)


@dataclass(frozen=True)
class Child:
    """A replacement by one of the node's own children, with the rewrites inside it
    applied (`Child("left")` keeps the left operand of `a and b`)."""

    name: str


# Node (by identity) -> what replaces it.
Replacements = dict[cst.CSTNode, "cst.CSTNode | Child"]


class Rewriter(cst.CSTTransformer):
    """Apply expression replacements (by node identity) and statement edits (per block).

    Given the parsed file's `parents`, it enters only the nodes that hold something
    to rewrite, instead of rebuilding the whole tree (most of a large file's cost).
    """

    def __init__(
        self,
        nodes: Mapping[cst.CSTNode, cst.CSTNode | Child] | None = None,
        statements: Mapping[cst.CSTNode, StatementEdit] | None = None,
        parents: Mapping[cst.CSTNode, cst.CSTNode] | None = None,
    ) -> None:
        self.nodes = dict(nodes or {})
        self.statements = dict(statements or {})
        self._parents = parents
        self._holding: set[cst.CSTNode] = set()  # nodes with a target below them
        for target in [*self.nodes, *self.statements]:
            node = parents.get(target) if parents is not None else None
            while node is not None and node not in self._holding:
                self._holding.add(node)
                node = parents.get(node) if parents is not None else None

    def on_visit(self, node: cst.CSTNode) -> bool:
        # A node of the parsed file with nothing to rewrite below it stays as it is
        # (libcst then hands it to `on_leave` unvisited); a new node (a module that
        # gained an import) is entered.
        if self._parents is None or node in self._holding or node not in self._parents:
            return super().on_visit(node)
        return False

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        replacement = self.nodes.get(original_node)
        if isinstance(replacement, Child):
            child = getattr(updated_node, replacement.name)
            assert isinstance(child, cst.CSTNode)
            return child
        if replacement is not None:
            return replacement
        result: cst.CSTNode = updated_node
        if (
            isinstance(updated_node, cst.IndentedBlock)
            and isinstance(original_node, cst.IndentedBlock)
        ) or (isinstance(updated_node, cst.Module) and isinstance(original_node, cst.Module)):
            result = self._block(original_node, updated_node)
        return preserved(original_node, updated_node, result)

    def _block(
        self, original: cst.Module | cst.IndentedBlock, updated: cst.Module | cst.IndentedBlock
    ) -> cst.Module | cst.IndentedBlock:
        orig_body: Sequence[cst.BaseStatement] = original.body
        new_body: Sequence[cst.BaseStatement] = updated.body
        if not any(s in self.statements for s in orig_body):
            return updated
        body: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []
        for orig, upd in zip(orig_body, new_body, strict=True):
            edit = self.statements.get(orig)
            if edit is None:
                body.append(_prepend(upd, carried))
                carried = []
                continue
            replacement = list(edit.build(upd))
            if not replacement:
                if edit.carry_comments:
                    carried.extend(_comment_lines(orig))
                continue
            lead = list(getattr(orig, "leading_lines", ()))
            replacement[0] = _prepend(replacement[0], [*carried, *lead], replace=False)
            carried = []
            body.extend(replacement)
        if isinstance(updated, cst.IndentedBlock) and not body:
            body = [cst.SimpleStatementLine([cst.Pass()], leading_lines=carried)]
            carried = []
        if carried:  # comments of removed last statements stay, below the block
            return updated.with_changes(body=body, footer=[*carried, *updated.footer])
        return updated.with_changes(body=body)


def _prepend(
    stmt: cst.BaseStatement, lines: Sequence[cst.EmptyLine], *, replace: bool = False
) -> cst.BaseStatement:
    if not lines and not replace:
        return stmt
    own = list(getattr(stmt, "leading_lines", ()))
    return stmt.with_changes(leading_lines=[*lines, *own])


def block_of(pf: ParsedFile, stmt: cst.BaseStatement) -> Sequence[cst.BaseStatement]:
    parent = pf.parent(stmt)
    if isinstance(parent, (cst.IndentedBlock, cst.Module)):
        return parent.body
    return ()


def following(pf: ParsedFile, stmt: cst.BaseStatement) -> list[cst.BaseStatement]:
    body = list(block_of(pf, stmt))
    return body[body.index(stmt) + 1 :] if stmt in body else []


def terminates(stmts: Sequence[cst.BaseStatement]) -> bool:
    """The block's last statement is a return or raise (so what follows is unreachable)."""
    if not stmts:
        return False
    last = stmts[-1]
    return isinstance(last, cst.SimpleStatementLine) and isinstance(
        last.body[-1], (cst.Return, cst.Raise)
    )


def body_statements(suite: cst.BaseSuite) -> list[cst.BaseStatement]:
    return list(suite.body) if isinstance(suite, cst.IndentedBlock) else []


def string_value(node: cst.BaseExpression) -> str | None:
    """The value of a plain (non-f, non-bytes) string literal."""
    if isinstance(node, cst.SimpleString) and not set(node.prefix.lower()) & {"b", "f"}:
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def quote_of(node: cst.CSTNode | None) -> str:
    """The quote character the file uses for a string literal near `node` ('"' by default)."""
    if node is None:
        return '"'

    class _Find(cst.CSTVisitor):
        quote: str | None = None

        def visit_SimpleString(self, n: cst.SimpleString) -> None:
            if self.quote is None:
                self.quote = n.quote[0]

    finder = _Find()
    node.visit(finder)
    return finder.quote or '"'


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]
