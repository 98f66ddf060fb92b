"""Extract per-module facts with one walk over the ``ast`` tree.

This pass runs on every file of the project, so it stays within a small factor
of ``ast.parse``: no symbol resolution here (that needs the whole program), just
a faithful record of bindings, calls and their order.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
import warnings
from typing import Any

from fork_lint.index.facts import TRACKED_CONSTANTS, UNKNOWN, CallSite, Expr, ModuleFacts, Scope

_NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_EXITS = frozenset(("sys.exit", "os._exit", "exit", "quit", "os.abort"))
_FORK_NAMES = ("fork", "forkpty")
_JOIN_METHODS = frozenset(("join", "shutdown", "terminate", "stop"))
_CONTAINER_ADD = frozenset(("append", "add", "extend", "insert", "appendleft", "update"))
_CONST_TYPES = (str, int, float, bool, type(None))
# Operands nested deeper than this inside one expression have an unknown value
# (`_Walker._inner`): the facts of `1 + 1 + ...` with 1,500 terms, which `ast`
# parses, would be too deep for marshal to store and for the solver to walk.
_MAX_EXPR_DEPTH = 200
_TRY_STAR: type | None = getattr(ast, "TryStar", None)  # 3.11+


def parse_noqa(source: str, tree: ast.AST | None = None) -> dict[str, list[str] | None]:
    """``# noqa`` comments by line. With the module's ``tree``, text that only looks
    like one inside a string literal (a test's source code) is not a comment."""
    if "noqa" not in source and "NOQA" not in source and "NoQA" not in source:
        return {}
    hits = list(_NOQA.finditer(source))
    if not hits:
        return {}
    lines = _lines_of(source, [m.start() for m in hits])
    strings = _string_spans(tree, sorted({line for line, _ in lines})) if tree is not None else []
    out: dict[str, list[str] | None] = {}
    for m, (line, line_start) in zip(hits, lines, strict=True):
        if strings:
            # ast columns count UTF-8 bytes
            col = len(source[line_start : m.start()].encode("utf-8", "surrogatepass"))
            if any(start <= (line, col) < end for start, end in strings):
                continue
        codes = m.group("codes")
        key = str(line)
        if codes is None:
            out[key] = None
        elif key not in out or out[key] is not None:
            prev = out.get(key) or []
            out[key] = [*prev, *(c.upper() for c in re.split(r"[,\s]+", codes) if c)]
    return out


def _lines_of(source: str, positions: list[int]) -> list[tuple[int, int]]:
    """(line, offset of the line's start) of each of the ascending ``positions``."""
    out = []
    if "\r" in source:  # rare: line breaks of more than one kind
        starts = [0]
        starts.extend(m.end() for m in re.finditer(r"\r\n|\r|\n", source))
        for pos in positions:
            line = bisect.bisect_right(starts, pos)
            out.append((line, starts[line - 1]))
        return out
    # Counting from one match to the next is cheaper than finding every line start.
    line, prev = 1, 0
    for pos in positions:
        line += source.count("\n", prev, pos)
        prev = pos
        out.append((line, source.rfind("\n", 0, pos) + 1))
    return out


def _string_spans(tree: ast.AST, lines: list[int]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Spans of the string literals that may hold a comment-like text on one of
    ``lines`` (ascending). A statement that reaches none of them is skipped whole:
    its literals lie within its lines, decorators included. Walking only those
    statements instead of the whole tree saves most of the cost of the noqa pass."""
    out = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
        ):
            end_line, end_col = node.end_lineno, node.end_col_offset
            if end_line is not None and end_col is not None:
                out.append(((node.lineno, node.col_offset), (end_line, end_col)))
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt) or _reaches(child, lines):
                todo.append(child)
    return out


def _reaches(stmt: ast.stmt, lines: list[int]) -> bool:
    """Whether one of ``lines`` (ascending) is within the statement's lines."""
    first, last = stmt.lineno, stmt.end_lineno
    if last is None:
        return True
    decorators = getattr(stmt, "decorator_list", None)
    if decorators:  # before the `def` or `class` line
        first = min(first, *(d.lineno for d in decorators))
    i = bisect.bisect_left(lines, first)
    return i < len(lines) and lines[i] <= last


def module_name_for(relpath: str) -> tuple[str, bool]:
    """``pkg/sub/mod.py`` -> ``pkg.sub.mod``; ``pkg/__init__.py`` -> (``pkg``, True)."""
    parts = relpath.replace("\\", "/").split("/")
    last = parts[-1]
    for suffix in (".pyi", ".py"):
        if last.endswith(suffix):
            last = last[: -len(suffix)]
            break
    is_package = last == "__init__"
    parts = parts[:-1] if is_package else [*parts[:-1], last]
    parts = [p for p in parts if p not in ("", ".")]
    return ".".join(parts) or "__init__", is_package


def extract(source: str, path: str, module: str, is_package: bool) -> ModuleFacts:
    facts: ModuleFacts = {
        "path": path,
        "module": module,
        "is_package": is_package,
        "scopes": [],
        "calls": [],
        "star_imports": [],
        "noqa": {},
        "error": None,
    }
    tree = _parse(source, path, facts)
    # Without a tree (FRK900), a noqa comment cannot be told from text in a string.
    facts["noqa"] = parse_noqa(source, tree)
    if tree is None:
        return facts
    ex = _Extractor(source, module, is_package, facts)
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(limit, 10_000))
        ex.run(tree)
    except RecursionError:
        facts["scopes"], facts["calls"] = [], []
        facts["error"] = ("FRK900", "cannot analyse: nesting too deep", 1, 0)
    finally:
        sys.setrecursionlimit(limit)
    return facts


_SCOPE_LISTS = (
    "params", "kwonly", "decorators", "bases", "locals", "globals", "nonlocals", "assigns",
    "returns", "joins",
)  # fmt: skip


def _parse(source: str, path: str, facts: ModuleFacts) -> ast.Module | None:
    """The module's tree, or None with the FRK900 error recorded in ``facts``."""
    if "\x00" in source:
        # 3.10 raises ValueError here, later versions SyntaxError: say it one way.
        line = source.count("\n", 0, source.index("\x00")) + 1
        message = "SyntaxError: source code string cannot contain null bytes"
        facts["error"] = ("FRK900", message, line, 0)
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes etc.
            return ast.parse(source, filename=path, type_comments=False)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = max((exc.offset or 1) - 1, 0)
        facts["error"] = ("FRK900", f"SyntaxError: {exc.msg}", line, col)
    except (ValueError, MemoryError) as exc:  # NUL bytes, absurd sizes
        facts["error"] = ("FRK900", f"cannot parse: {exc}", 1, 0)
    except RecursionError:
        facts["error"] = ("FRK900", "cannot parse: nesting too deep for the parser", 1, 0)
    return None


class _ScopeState:
    __slots__ = (
        "arms", "child", "dicts", "fork_vars", "guard", "index", "lambdas", "loops", "order",
        "scope",
    )  # fmt: skip

    def __init__(self, index: int, scope: Scope) -> None:
        self.index = index
        self.scope = scope
        self.order = 0
        self.loops: list[int] = []
        self.arms: list[int] = []  # see `CallSite.arms`
        self.child = False
        self.guard = False  # inside `if __name__ == "__main__":`
        self.lambdas = 0
        self.fork_vars: set[str] = set()
        # name -> {key: expr} for dicts that may be passed as **name
        self.dicts: dict[str, dict[str, Expr]] = {}


class _Extractor:
    def __init__(self, source: str, module: str, is_package: bool, facts: ModuleFacts) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.facts = facts
        self.ascii = source.isascii()
        # The lines whose character columns differ from ast's byte columns, by number.
        self.lines: dict[int, str] = {}
        if not self.ascii:
            # str.split is much cheaper than re.split, and the same without "\r"
            lines = source.split("\n") if "\r" not in source else re.split(r"\r\n|\r|\n", source)
            self.lines = {i: text for i, text in enumerate(lines, 1) if not text.isascii()}
        # The scope being walked; its parents are held by the frames walking them.
        self.cur: _ScopeState
        # Every empty list of the module's sites and scopes is this one object.
        # Facts are never changed after extraction. marshal writes a shared object
        # once and loads it shared, so a cached module holds one empty list instead
        # of thousands: 49 MB on the benchmark corpus.
        self.empty: list[Any] = []
        self.calls = facts["calls"]
        self.loop_ids = 0
        self.if_ids = 0
        self.containers = 0
        self.class_stack: list[str] = []
        self.depth = 0  # operands `_inner` is in

    def _coll(self, elements: tuple[Expr, ...]) -> Expr:
        """A container value, numbered in source order: the number names it in the
        solver the same way on every run."""
        self.containers += 1
        return ("coll", elements, self.containers)

    # -- scopes -----------------------------------------------------------
    def _new_scope(
        self, kind: str, name: str, qualname: str, node: ast.stmt | ast.expr | None, parent: int
    ) -> _ScopeState:
        scope: Scope = {
            "qualname": qualname,
            "name": name,
            "kind": kind,
            "parent": parent,
            "params": [],
            "posonly": 0,
            "vararg": None,
            "kwonly": [],
            "kwarg": None,
            "is_async": isinstance(node, ast.AsyncFunctionDef),
            "decorators": [],
            "method_kind": "",
            "bases": [],
            "span": self._span(node) if node is not None else (1, 0, 1, 0),
            "locals": [],
            "globals": [],
            "nonlocals": [],
            "assigns": [],
            "returns": [],
            "joins": [],
            "end_order": 0,
        }
        index = len(self.facts["scopes"])
        self.facts["scopes"].append(scope)
        return _ScopeState(index, scope)

    def run(self, tree: ast.Module) -> None:
        st = self._new_scope("module", self.module.rpartition(".")[2], self.module, None, -1)
        self.cur = st
        self._block(tree.body)
        self._finish(st)

    def _finish(self, st: _ScopeState) -> None:
        """Close a scope; its lists are final from here on."""
        sc = st.scope
        sc["end_order"] = st.order
        sc["locals"] = sorted(set(sc["locals"]))
        for key in _SCOPE_LISTS:
            if not sc[key]:  # type: ignore[literal-required]
                sc[key] = self.empty  # type: ignore[literal-required]

    def _bind(self, name: str) -> None:
        self.cur.scope["locals"].append(name)

    # -- positions --------------------------------------------------------
    def _col(self, line: int, byte_col: int) -> int:
        text = self.lines.get(line)
        if text is None:
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def _span(self, node: ast.stmt | ast.expr) -> tuple[int, int, int, int]:
        line = node.lineno
        end_line = node.end_lineno or line
        if self.ascii:  # byte columns are character columns
            return (line, node.col_offset, end_line, node.end_col_offset or 0)
        col = self._col(line, node.col_offset)
        end_col = self._col(end_line, node.end_col_offset or 0)
        return (line, col, end_line, end_col)

    # -- statements -------------------------------------------------------
    def _block(self, body: list[ast.stmt]) -> None:
        st = self.cur
        saved_child = st.child
        depth = len(st.arms)  # `_if` may put the rest of the block in an arm
        for stmt in body:
            if self._stmt(stmt):  # the rest of the block runs in the child
                st.child = True
        st.child = saved_child
        del st.arms[depth:]

    def _arm(self, body: list[ast.stmt], arm: int | None) -> None:
        st = self.cur
        if arm is not None:
            st.arms.append(arm)
        self._block(body)
        if arm is not None:
            st.arms.pop()

    def _stmt(self, node: ast.stmt) -> bool:
        """Handle one statement; True when the rest of the block runs only in a fork child."""
        # The most common kinds first, matched by exact type: a parsed tree holds no
        # subclasses of the node classes, and a miss costs less than isinstance's.
        st = self.cur
        sc = st.scope
        if type(node) is ast.Assign:
            value = self.expr(node.value)
            for target in node.targets:
                self._assign(target, value, node.value)
            if value[0] == "call":
                self._set_bind(value, node.targets[0])
        elif type(node) is ast.Expr:
            self.expr(node.value)
        elif type(node) is ast.If:
            return self._if(node)
        elif type(node) is ast.FunctionDef or type(node) is ast.AsyncFunctionDef:
            self._function(node)
        elif type(node) is ast.Return:
            if node.value is not None:
                sc["returns"].append(self.expr(node.value))
        elif type(node) is ast.ImportFrom:
            base = self._resolve_from(node.module, node.level)
            for alias in node.names:
                if alias.name == "*":
                    self.facts["star_imports"].append(base)
                    self._site(("module", base), [], [], node, "import", base)
                    continue
                local = alias.asname or alias.name
                self._bind(local)
                value = ("from", base, alias.name)
                sc["assigns"].append((("name", local), value))
                self._site(value, [], [], node, "import", f"{base}.{alias.name}")
        elif type(node) is ast.AnnAssign:
            if node.value is not None:
                self._assign(node.target, self.expr(node.value), node.value)
            elif isinstance(node.target, ast.Name):
                self._bind(node.target.id)
        elif type(node) is ast.Raise:
            if node.exc is not None:
                exc = self.expr(node.exc)
                if isinstance(node.exc, (ast.Name, ast.Attribute)):
                    # `raise Cls` instantiates `Cls` (an instance is raised as it is).
                    self._site(exc, [], [], node.exc, "raise", _text(node.exc))
            if node.cause is not None:
                self.expr(node.cause)
        elif type(node) is ast.ClassDef:
            self._class(node)
        elif type(node) is ast.For or type(node) is ast.AsyncFor:
            it = self._iterate(node.iter, isinstance(node, ast.AsyncFor))
            self._enter_loop()
            self._assign(node.target, it, None)
            self._block(node.body)
            self.cur.loops.pop()
            self._block(node.orelse)
        elif type(node) is ast.Try or type(node) is _TRY_STAR:
            self._block(node.body)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                if handler.type is not None:
                    self.expr(handler.type)
                if handler.name:
                    self._bind(handler.name)
                self._block(handler.body)
            self._block(node.orelse)  # type: ignore[attr-defined]
            self._block(node.finalbody)  # type: ignore[attr-defined]
        elif type(node) is ast.Import:
            for alias in node.names:
                if alias.asname:
                    self._bind(alias.asname)
                    sc["assigns"].append((("name", alias.asname), ("module", alias.name)))
                else:
                    top = alias.name.partition(".")[0]
                    self._bind(top)
                    sc["assigns"].append((("name", top), ("module", top)))
                self._site(("module", alias.name), [], [], node, "import", alias.name)
        elif type(node) is ast.With or type(node) is ast.AsyncWith:
            keys = []
            for item in node.items:
                ctx = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, ctx, None)
                    self._set_bind(ctx, item.optional_vars)
                    keys.append(_recv_key(item.optional_vars))
                keys.append(_recv_key(item.context_expr))
            self._block(node.body)
            for key in keys:
                if key:
                    sc["joins"].append((key, st.order))
            st.order += 1
        elif type(node) is ast.AugAssign:
            self._assign(node.target, self.expr(node.value), None)
        elif type(node) is ast.While:
            self._enter_loop()
            self.expr(node.test)
            self._block(node.body)
            self.cur.loops.pop()
            self._block(node.orelse)
        elif type(node) is ast.Global:
            sc["globals"].extend(node.names)
        elif type(node) is ast.Nonlocal:
            sc["nonlocals"].extend(node.names)
        elif type(node) is ast.Assert:
            self.expr(node.test)
            if node.msg is not None:
                self.expr(node.msg)
        elif type(node) is ast.Delete:
            for t in node.targets:
                self.expr(t)
        elif type(node) is ast.Match:
            self.expr(node.subject)
            for case in node.cases:
                for name in _pattern_names(case.pattern):
                    self._bind(name)
                if case.guard is not None:
                    self.expr(case.guard)
                self._block(case.body)
        return False

    def _set_bind(self, value: Expr, target: ast.expr) -> None:
        if value[0] == "call":
            key = _recv_key(target)
            if key:
                self.facts["calls"][value[1]]["bind"] = key

    def _enter_loop(self) -> None:
        self.loop_ids += 1
        self.cur.loops.append(self.loop_ids)

    def _resolve_from(self, module: str | None, level: int) -> str:
        if level == 0:
            return module or ""
        base = self.package
        for _ in range(level - 1):
            base = base.rpartition(".")[0]
        if module:
            return f"{base}.{module}" if base else module
        return base

    def _defaults(self, args: ast.arguments) -> list[tuple[str, Expr]]:
        """Default values with their parameters, evaluated in the enclosing scope."""
        if not args.defaults and not args.kw_defaults:  # most functions
            return []
        positional = [*args.posonlyargs, *args.args]
        with_default = positional[len(positional) - len(args.defaults) :]
        out = [(p.arg, self.expr(d)) for p, d in zip(with_default, args.defaults, strict=True)]
        for p, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if default is not None:
                out.append((p.arg, self.expr(default)))
        return out

    def _bind_defaults(self, qualname: str, defaults: list[tuple[str, Expr]]) -> None:
        assigns = self.cur.scope["assigns"]
        for name, value in defaults:
            if value[0] == "const" and value[1] in TRACKED_CONSTANTS:
                # `def f(method="spawn")`: a constant the analysis follows.
                assigns.append((("param", qualname, name), value))
            elif value[0] not in ("const", "unknown"):
                assigns.append((("param", qualname, name), value))

    def _iterate(self, node: ast.expr, is_async: bool) -> Expr:
        """The items of iterating ``node``: its elements, or what ``__next__`` returns."""
        it = self.expr(node)
        method = "__aiter__" if is_async else "__iter__"
        site = self._site(it, [], [], node, "iter", f"{_text(node)}.{method}")
        return ("union", (("item", it), ("call", site)))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        parent = self.cur
        decorators = [self.expr(d) for d in node.decorator_list] if node.decorator_list else []
        args = node.args
        defaults = self._defaults(args)
        qualname = f"{parent.scope['qualname']}.{node.name}"
        self._bind_defaults(qualname, defaults)
        st = self._new_scope("function", node.name, qualname, node, parent.index)
        sc = st.scope
        positional = [*args.posonlyargs, *args.args]
        sc["params"] = [a.arg for a in positional]
        sc["posonly"] = len(args.posonlyargs)
        sc["vararg"] = args.vararg.arg if args.vararg else None
        sc["kwonly"] = [a.arg for a in args.kwonlyargs]
        sc["kwarg"] = args.kwarg.arg if args.kwarg else None
        sc["decorators"] = decorators
        if parent.scope["kind"] == "class":
            kind = "method"
            for d in node.decorator_list:
                dname = _dotted(d)
                if dname in ("staticmethod", "classmethod"):
                    kind = dname
                elif dname in ("property", "functools.cached_property", "cached_property"):
                    kind = "property"
            sc["method_kind"] = kind
        sc["locals"].extend(sc["params"])
        sc["locals"].extend(sc["kwonly"])
        if sc["vararg"]:
            sc["locals"].append(sc["vararg"])
        if sc["kwarg"]:
            sc["locals"].append(sc["kwarg"])
        self.cur = st
        try:
            self._block(node.body)
        finally:
            self.cur = parent
        self._finish(st)
        self._bind_decorated(node.name, ("func", qualname), decorators, node)

    def _bind_decorated(
        self, name: str, value: Expr, decorators: list[Expr], node: ast.stmt
    ) -> None:
        # The name is bound to what the decorators return. The solver falls back
        # on the undecorated value when a decorator's result is not known.
        result = value
        for dec in reversed(decorators):
            site = self._site(dec, [result], [], node, "decorator", "")
            result = ("call", site)
        self._bind(name)
        self.cur.scope["assigns"].append((("name", name), result))

    def _class(self, node: ast.ClassDef) -> None:
        parent = self.cur
        decorators = [self.expr(d) for d in node.decorator_list]
        bases = [self.expr(b) for b in node.bases]
        for kw in node.keywords:
            self.expr(kw.value)
        qualname = f"{parent.scope['qualname']}.{node.name}"
        st = self._new_scope("class", node.name, qualname, node, parent.index)
        st.scope["bases"] = bases
        st.scope["decorators"] = decorators
        self.cur = st
        self.class_stack.append(qualname)
        try:
            self._block(node.body)
        finally:
            self.cur = parent
            self.class_stack.pop()
        self._finish(st)
        self._bind_decorated(node.name, ("class", qualname), decorators, node)

    def _if(self, node: ast.If) -> bool:
        st = self.cur
        self.expr(node.test)
        # Outside a loop one run takes one arm: an arm's calls never follow the
        # other's. After an arm that always leaves, the rest of the block is in the other.
        arm = None
        if not st.loops:
            self.if_ids += 1
            arm = 2 * self.if_ids
        if st.scope["kind"] == "module" and _is_main_guard(node.test):
            saved_guard, st.guard = st.guard, True
            self._arm(node.body, arm)
            st.guard = saved_guard
            self._arm(node.orelse, None if arm is None else arm + 1)
            self._rest_in_arm(node, arm)
            return False
        branch = self._fork_branch(node.test)
        saved = st.child
        if branch == "body":
            st.child = True
        self._arm(node.body, arm)
        st.child = saved
        if branch == "else":
            st.child = True
        self._arm(node.orelse, None if arm is None else arm + 1)
        st.child = saved
        self._rest_in_arm(node, arm)
        # `if pid: return` leaves only the child to run the rest of the block.
        if branch == "else" and _terminates(node.body) and not node.orelse:
            return True
        return branch == "body" and _terminates(node.orelse) and bool(node.orelse)

    def _rest_in_arm(self, node: ast.If, arm: int | None) -> None:
        if arm is None:
            return
        body_leaves, else_leaves = _terminates(node.body), _terminates(node.orelse)
        if body_leaves and not else_leaves:
            self.cur.arms.append(arm + 1)  # popped at the end of the block (`_block`)
        elif else_leaves and not body_leaves:
            self.cur.arms.append(arm)

    def _fork_branch(self, test: ast.expr) -> str | None:
        """Which branch of ``if <test>`` runs in the child of a fork, if any."""
        negate = False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negate = test.operand, True
        if self._is_fork_value(test):
            return "body" if negate else "else"
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, right = test.left, test.comparators[0]
            if _is_zero(left):
                left, right = right, left
            if self._is_fork_value(left) and _is_zero(right):
                op = test.ops[0]
                child_in_body = isinstance(op, (ast.Eq, ast.Is))
                if isinstance(op, (ast.NotEq, ast.Gt, ast.IsNot)):
                    child_in_body = False
                elif not child_in_body:
                    return None
                if negate:
                    child_in_body = not child_in_body
                return "body" if child_in_body else "else"
        return None

    def _is_fork_value(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.cur.fork_vars
        if isinstance(node, ast.Call):
            return _names_fork(node.func)
        return False

    # -- assignment -------------------------------------------------------
    def _assign(self, target: ast.expr, value: Expr, value_node: ast.expr | None) -> None:
        st = self.cur
        sc = st.scope
        if type(target) is ast.Name:
            sc["locals"].append(target.id)  # self._bind, inlined: the most common case
            sc["assigns"].append((("name", target.id), value))
            if isinstance(value_node, ast.Call):
                if _names_fork(value_node.func):
                    st.fork_vars.add(target.id)
                dict_keys = self._dict_literal(value_node)
                if dict_keys is not None:
                    st.dicts[target.id] = dict_keys
            elif isinstance(value_node, ast.Dict):
                dict_keys = self._dict_literal(value_node)
                if dict_keys is not None:
                    st.dicts[target.id] = dict_keys
        elif isinstance(target, ast.Attribute):
            sc["assigns"].append((("attr", self.expr(target.value), target.attr), value))
        elif isinstance(target, ast.Subscript):
            base = self.expr(target.value)
            self.expr(target.slice)
            sc["assigns"].append((("item", base), value))
            if (
                isinstance(target.value, ast.Name)
                and isinstance(target.slice, ast.Constant)
                and isinstance(target.slice.value, str)
                and target.value.id in st.dicts
            ):
                st.dicts[target.value.id][target.slice.value] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if self._unpack(target.elts, value, value_node):
                return
            for i, elt in enumerate(target.elts):
                sub_node = None
                if i == 0 and isinstance(value_node, ast.Call):
                    sub_node = value_node  # `pid, fd = pty.fork()`
                self._assign(elt, ("item", value), sub_node if isinstance(elt, ast.Name) else None)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, value, None)

    def _unpack(self, targets: list[ast.expr], value: Expr, value_node: ast.expr | None) -> bool:
        """``a, *b, c = x, y, z, w``: assign element by element; False if the shapes differ."""
        if value[0] != "coll" or not isinstance(value_node, (ast.Tuple, ast.List)):
            return False
        nodes = value_node.elts
        if any(isinstance(n, ast.Starred) for n in nodes):
            return False
        stars = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        values = list(value[1])
        if len(stars) > 1 or len(values) < len(targets) - len(stars):
            return False
        if not stars and len(values) != len(targets):
            return False
        star = stars[0] if stars else len(targets)
        tail = len(targets) - star - 1 if stars else 0
        for i in range(star):
            self._assign(targets[i], values[i], nodes[i])
        if stars:
            middle = values[star : len(values) - tail]
            self._assign(targets[star], self._coll(tuple(middle)), None)
            for j in range(1, tail + 1):
                self._assign(targets[-j], values[-j], nodes[-j])
        return True

    def _dict_literal(self, node: ast.expr) -> dict[str, Expr] | None:
        if isinstance(node, ast.Dict):
            out: dict[str, Expr] = {}
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    out[k.value] = self._peek(v)
            return out
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "dict"
            and not node.args
        ):
            return {kw.arg: self._peek(kw.value) for kw in node.keywords if kw.arg}
        return None

    def _peek(self, node: ast.expr) -> Expr:
        """A cheap, side-effect-free expression record (no new call sites)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, _CONST_TYPES):
            return ("const", node.value)
        if isinstance(node, ast.Name):
            return ("name", node.id)
        if isinstance(node, ast.Attribute):
            return ("attr", self._peek(node.value), node.attr)
        return UNKNOWN

    # -- expressions ------------------------------------------------------
    def _site(
        self,
        func: Expr,
        args: list[Expr],
        kwargs: list[tuple[str | None, Expr]],
        node: ast.stmt | ast.expr,
        kind: str,
        text: str,
        recv: str = "",
        via_kwargs: list[str] | None = None,
    ) -> int:
        st = self.cur
        calls = self.calls
        empty = self.empty
        site: CallSite = {
            "id": len(calls),
            "func": func,
            "args": args or empty,
            "kwargs": kwargs or empty,
            "span": self._span(node),
            "scope": st.index,
            "order": st.order,
            "loops": list(st.loops) if st.loops else empty,
            "arms": list(st.arms) if st.arms else empty,
            "child": st.child,
            "guard": st.guard,
            "recv": recv,
            "text": text,
            "kind": kind,
            "via_kwargs": via_kwargs or empty,
            "bind": "",
        }
        st.order += 1
        calls.append(site)
        return site["id"]

    def expr(self, node: ast.expr) -> Expr:
        # Most common kinds first, matched by exact type as in `_stmt`.
        if type(node) is ast.Name:
            return ("name", node.id)
        if type(node) is ast.Attribute:
            owner = node.value
            if type(owner) is ast.Name:  # most are `name.attr`: spare the call
                return ("attr", ("name", owner.id), node.attr)
            return ("attr", self._inner(owner), node.attr)
        if type(node) is ast.Constant:
            if isinstance(node.value, _CONST_TYPES):
                return ("const", node.value)
            return UNKNOWN
        if type(node) is ast.Call:
            return self._call(node)
        if type(node) is ast.Compare:
            self.expr(node.left)
            for e in node.comparators:
                self.expr(e)
            return UNKNOWN
        if type(node) is ast.Subscript:
            base = self._inner(node.value)
            self.expr(node.slice)
            return ("item", base)
        if type(node) is ast.Tuple or type(node) is ast.List or type(node) is ast.Set:
            return self._coll(tuple(self._inner(e) for e in node.elts))
        if type(node) is ast.BoolOp:
            return ("union", tuple(self._inner(v) for v in node.values))
        if type(node) is ast.BinOp:
            return ("union", (self._inner(node.left), self._inner(node.right)))
        if type(node) is ast.UnaryOp:
            self.expr(node.operand)
            return UNKNOWN
        if type(node) is ast.Dict:
            for k in node.keys:
                if k is not None:
                    self.expr(k)
            return self._coll(tuple(self._inner(v) for v in node.values))
        if type(node) is ast.JoinedStr:
            for v in node.values:
                self.expr(v)
            return UNKNOWN
        if type(node) is ast.Await:
            return self.expr(node.value)
        if type(node) is ast.Starred:
            return ("star", self._inner(node.value))
        if type(node) is ast.IfExp:
            self.expr(node.test)
            return ("union", (self._inner(node.body), self._inner(node.orelse)))
        if type(node) is ast.NamedExpr:
            value = self.expr(node.value)
            self._assign(node.target, value, node.value)
            return value
        if type(node) is ast.Lambda:
            return self._lambda(node)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self._comprehension(node)
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            if node.value is not None:
                value = self.expr(node.value)
                self.cur.scope["returns"].append(
                    ("item", value) if isinstance(node, ast.YieldFrom) else value
                )
            return UNKNOWN
        for child in ast.iter_child_nodes(node):  # FormattedValue, Slice, later additions
            if isinstance(child, ast.expr):
                self.expr(child)
        return UNKNOWN

    def _inner(self, node: ast.expr) -> Expr:
        """An operand whose value becomes part of the enclosing expression's. Past
        `_MAX_EXPR_DEPTH` of them its calls are still recorded, but its value is
        unknown, so no expression in the facts nests deeper than that."""
        self.depth += 1
        value = self.expr(node)
        self.depth -= 1
        return UNKNOWN if self.depth >= _MAX_EXPR_DEPTH else value

    def _call(self, node: ast.Call) -> Expr:
        func_node = node.func
        if (
            isinstance(func_node, ast.Name)
            and func_node.id == "super"
            and self.class_stack
            and _own_super(node, self.class_stack[-1])
        ):
            args = [self.expr(a) for a in node.args]
            self._site(("name", "super"), args, [], node, "call", "super")
            return ("super", self.class_stack[-1])
        func = self.expr(func_node)
        # A comprehension costs a frame even when empty, and many calls have no arguments.
        args = [self.expr(a) for a in node.args] if node.args else []
        kwargs: list[tuple[str | None, Expr]] = []
        via: list[str] = []
        for kw in node.keywords:
            value = self.expr(kw.value)
            kwargs.append((kw.arg, value))
            if kw.arg is None:
                keys = None
                if isinstance(kw.value, ast.Name):
                    keys = self.cur.dicts.get(kw.value.id)
                elif isinstance(kw.value, (ast.Dict, ast.Call)):
                    keys = self._dict_literal(kw.value)
                for key, v in (keys or {}).items():
                    kwargs.append((key, v))
                    via.append(key)
        recv = _recv_key(func_node.value) if isinstance(func_node, ast.Attribute) else ""
        site = self._site(func, args, kwargs, node, "call", _text(func_node), recv, via)
        st = self.cur
        if isinstance(func_node, ast.Attribute):
            method = func_node.attr
            if method in _JOIN_METHODS and recv:
                if not (method == "shutdown" and _kw_false(node, "wait")):
                    st.scope["joins"].append((recv, st.order - 1))
            elif method in _CONTAINER_ADD and node.args:
                target = func_node.value
                if isinstance(target, (ast.Name, ast.Attribute)):
                    for a in args:
                        st.scope["assigns"].append((("item", self.expr(target)), a))
        return ("call", site)

    def _lambda(self, node: ast.Lambda) -> Expr:
        parent = self.cur
        defaults = self._defaults(node.args)
        parent.lambdas += 1
        name = f"<lambda{parent.lambdas}>"
        qualname = f"{parent.scope['qualname']}.{name}"
        self._bind_defaults(qualname, defaults)
        st = self._new_scope("lambda", name, qualname, node, parent.index)
        args = node.args
        st.scope["params"] = [a.arg for a in (*args.posonlyargs, *args.args)]
        st.scope["vararg"] = args.vararg.arg if args.vararg else None
        st.scope["kwonly"] = [a.arg for a in args.kwonlyargs]
        st.scope["kwarg"] = args.kwarg.arg if args.kwarg else None
        st.scope["locals"] = [*st.scope["params"], *st.scope["kwonly"]]
        self.cur = st
        try:
            st.scope["returns"].append(self.expr(node.body))
        finally:
            self.cur = parent
        self._finish(st)
        return ("func", qualname)

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> Expr:
        # Comprehension variables are folded into the enclosing scope: cheaper,
        # and the only loss is shadowing, which does not create call edges.
        def body() -> Expr:
            for gen in node.generators:
                it = self._iterate(gen.iter, bool(gen.is_async))
                self._assign(gen.target, it, None)
                for cond in gen.ifs:
                    self.expr(cond)
            if isinstance(node, ast.DictComp):
                self.expr(node.key)
                return self._coll((self.expr(node.value),))
            return self._coll((self.expr(node.elt),))

        self._enter_loop()
        result = body()
        self.cur.loops.pop()
        return result


def _own_super(node: ast.Call, cls: str) -> bool:
    """``super()``, or ``super(Cls, self)`` naming the enclosing class ``cls``."""
    if not node.args and not node.keywords:
        return True
    first = node.args[0] if len(node.args) == 2 else None
    return isinstance(first, ast.Name) and first.id == cls.rpartition(".")[2]


def _dotted(node: ast.expr) -> str:
    # The common shapes `name` and `name.attr` first, as the loop below would spell them.
    if type(node) is ast.Name:
        return node.id
    if type(node) is ast.Attribute and type(node.value) is ast.Name:
        return f"{node.value.id}.{node.attr}"
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _names_fork(func: ast.expr) -> bool:
    """Whether the callee ``func`` is ``fork`` or ``forkpty``, bare or as the last
    part of a dotted name; cheaper than building the dotted name for every call."""
    if isinstance(func, ast.Name):
        return func.id in _FORK_NAMES
    return isinstance(func, ast.Attribute) and func.attr in _FORK_NAMES and _dotted(func) != ""


_recv_key = _dotted  # a receiver is known by its dotted name


def _text(node: ast.expr) -> str:
    """Short display text of a callee: ``threading.Thread(...).start``."""
    dotted = _dotted(node)  # most callees, spelled as the loop below would
    if dotted:
        return dotted
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            parts.append("(...)")
            node = node.func
        elif isinstance(node, ast.Subscript):
            parts.append("[...]")
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            parts.append("<expr>")
            break
    out = ""
    for p in reversed(parts):
        out += p if (not out or p.startswith(("(", "["))) else "." + p
    return out


def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def _is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0 and not isinstance(node.value, bool)


def _kw_false(node: ast.Call, name: str) -> bool:
    return any(
        kw.arg == name and isinstance(kw.value, ast.Constant) and kw.value.value is False
        for kw in node.keywords
    )


def _terminates(body: list[ast.stmt]) -> bool:
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        return _dotted(last.value.func) in _EXITS or _dotted(last.value.func).startswith("os.exec")
    return False


def _pattern_names(pattern: Any) -> list[str]:
    names = []
    for node in ast.walk(pattern):
        for attr in ("name", "rest"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                names.append(value)
    return names
