"""FRK002/FRK003: create the process (pool, manager, executor) with "forkserver" or "spawn".

Unsafe: the child no longer inherits the parent's memory, and what it runs is
pickled. So the fix is offered only when the callable and its arguments look
picklable: a module-level function or an imported name, not a lambda, a nested
function or a method bound to an object (which would pickle the whole object,
locks and sockets included: a PicklingError at start-up). Otherwise the finding
says why no fix is offered.

* ``multiprocessing.Process(...)`` / ``Pool(...)`` / ``Manager()`` ->
  ``multiprocessing.get_context("forkserver").Process(...)``
* ``ProcessPoolExecutor(...)`` ->
  ``ProcessPoolExecutor(..., mp_context=multiprocessing.get_context("forkserver"))``
* ``get_context("fork")`` -> ``get_context("forkserver")``
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from fork_lint.fixes._annotations import widened_annotations
from fork_lint.fixes._cst import (
    ParsedFile,
    Rewriter,
    code,
    ensure_import,
    keyword,
    positional,
    proposal,
    prune_module,
    quote_of,
    resolve,
    scope_table,
    string_value,
)
from fork_lint.fixes._layout import fit_line
from fork_lint.fixes.base import NoFix, Proposal
from fork_lint.fixes.context import FixContext
from fork_lint.model import Applicability, Finding

_MP_CLASSES = ("Process", "Pool", "Manager")
_PPE = ("concurrent.futures.ProcessPoolExecutor", "concurrent.futures.process.ProcessPoolExecutor")
_UNPICKLABLE_FACTORIES = {
    "threading.Lock": "a lock",
    "threading.RLock": "a lock",
    "threading.Condition": "a condition variable",
    "threading.Semaphore": "a semaphore",
    "threading.Event": "an event",
    "socket.socket": "a socket",
    "builtins.open": "an open file",
    "open": "an open file",
    "asyncio.get_running_loop": "an event loop",
    "asyncio.get_event_loop": "an event loop",
    "asyncio.new_event_loop": "an event loop",
}
# Where the callable and its arguments sit: (callable kw, position), (arguments kw, position)...
_CALLABLE_ARGS: dict[str, tuple[tuple[str, int], tuple[tuple[str, int], ...]]] = {
    "Process": (("target", 1), (("args", 3), ("kwargs", 4))),
    "Pool": (("initializer", 1), (("initargs", 2),)),
    "ProcessPoolExecutor": (("initializer", 2), (("initargs", 3),)),
}


def fix(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
    where = _target_location(finding)
    if where is None:
        return None
    path, line, col = where
    pf = ctx.parsed(path)
    if pf is None:
        return None
    call = pf.call_at(line, col)
    if call is None:
        return None
    method = ctx.options.start_method
    width = ctx.options.line_length
    table = scope_table(pf, call)
    origin = resolve(call.func, table)
    if finding.code == "FRK003" or (origin is not None and origin in _PPE):
        if origin not in _PPE:
            return None
        return _executor(pf, call, path, method, width)
    return _multiprocessing(pf, call, path, method, width)


def _target_location(finding: Finding) -> tuple[str, int, int] | None:
    if finding.code == "FRK003" and finding.sink.endswith(".ProcessPoolExecutor"):
        s = finding.location.span
        return finding.path, s.line, s.col
    if finding.code == "FRK003" or (
        finding.code == "FRK002"
        and finding.sink.startswith("multiprocessing.")
        and finding.sink.endswith("Process.start")
    ):
        # Reported where the pool or process is used: the fix goes where it is built.
        alloc = dict(finding.extra).get("alloc")
        if alloc is None:
            return None
        rest, _, col = alloc.rpartition(":")
        path, _, line = rest.rpartition(":")
        return path, int(line), int(col)
    if finding.code != "FRK002":
        return None
    # billiard has no forkserver context worth switching to
    if finding.sink in ("multiprocessing.Pool", "multiprocessing.Manager"):
        s = finding.location.span
        return finding.path, s.line, s.col
    return None


def _multiprocessing(
    pf: ParsedFile, call: cst.Call, path: str, method: str, width: int
) -> Proposal | NoFix | None:
    func = call.func
    table = scope_table(pf, call)
    origin = resolve(func, table)
    kind = origin.rpartition(".")[2] if origin is not None else ""
    if isinstance(func, cst.Attribute) and not origin:
        kind = func.attr.value
    if kind not in _MP_CLASSES:
        return None
    reason = _unpicklable(pf, call, kind)
    if reason is not None:
        return NoFix(f'the "{method}" start method pickles what the child runs, and {reason}')
    if origin == f"multiprocessing.{kind}":
        if isinstance(func, cst.Attribute) and resolve(func.value, table) == "multiprocessing":
            module = pf.module
            mp = code(func.value)
        else:
            module, bound = ensure_import(pf.module, "multiprocessing")
            if bound is None:
                return NoFix("the name `multiprocessing` is taken in this module")
            mp = bound
        quote = quote_of(call)
        new_func = cst.parse_expression(f"{mp}.get_context({quote}{method}{quote}).{kind}")
        nodes: dict[cst.CSTNode, cst.CSTNode] = {func: new_func}
        if kind == "Process":  # a Pool or a manager is of the same class from any context
            nodes.update(widened_annotations(pf, call, mp))
        new_module = _replace_in(module, pf, nodes)
        new_module = fit_line(new_module, new_func, width)
        new_module = prune_module(pf.text, new_module)
        return proposal(
            f'Use the "{method}" start method: `{code(new_func)}(...)`',
            Applicability.UNSAFE,
            {path: (pf, new_module)},
        )
    if isinstance(func, cst.Attribute):
        return _context_literal(pf, call, func.value, path, method, width)
    return None


def _executor(
    pf: ParsedFile, call: cst.Call, path: str, method: str, width: int
) -> Proposal | NoFix | None:
    reason = _unpicklable(pf, call, "ProcessPoolExecutor")
    if reason is not None:
        return NoFix(f'the "{method}" start method pickles what the child runs, and {reason}')
    arg = keyword(call, "mp_context")
    if arg is None and len(positional(call)) > 1:
        arg = positional(call)[1]
    if arg is not None:
        return _context_literal(pf, call, arg.value, path, method, width)
    if any(a.star for a in call.args):
        return NoFix("the call passes `*args` or `**kwargs`, which may hold `mp_context`")
    module, mp = ensure_import(pf.module, "multiprocessing")
    if mp is None:
        return NoFix("the name `multiprocessing` is taken in this module")
    quote = quote_of(call)
    value = cst.parse_expression(f"{mp}.get_context({quote}{method}{quote})")
    new_arg = cst.Arg(
        value=value,
        keyword=cst.Name("mp_context"),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    args = list(call.args)
    if args:
        last = args[-1]
        if isinstance(last.comma, cst.Comma):
            # Multi-line call with a trailing comma: the new argument gets a line of its own.
            new_arg = new_arg.with_changes(comma=last.comma)
            if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
                last = last.with_changes(comma=args[-2].comma)
        else:
            last = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args[-1] = last
    new_call = call.with_changes(args=[*args, new_arg])
    new_module = _replace_in(module, pf, {call: new_call})
    new_module = fit_line(new_module, new_call, width)
    return proposal(
        f'Use the "{method}" start method: `mp_context={code(value)}`',
        Applicability.UNSAFE,
        {path: (pf, new_module)},
    )


def _context_literal(
    pf: ParsedFile,
    call: cst.Call,
    ctx_expr: cst.BaseExpression,
    path: str,
    method: str,
    width: int,
) -> Proposal | NoFix | None:
    """`get_context("fork")` written inline or assigned to a name in the same scope."""
    table = scope_table(pf, call)
    scope: cst.CSTNode = pf.enclosing(call, cst.FunctionDef) or pf.module
    literal_call: cst.Call | None = None
    if (
        isinstance(ctx_expr, cst.Call)
        and resolve(ctx_expr.func, table) == "multiprocessing.get_context"
    ):
        literal_call = ctx_expr
    elif isinstance(ctx_expr, cst.Name):
        values = [v for t, v in _assignments(scope) if t == ctx_expr.value]
        if len(values) != 1:
            return None
        value = values[0]
        if (
            isinstance(value, cst.Call)
            and resolve(value.func, table) == "multiprocessing.get_context"
        ):
            literal_call = value
        for other in _calls_on(scope, ctx_expr.value):
            kind = other.func.attr.value if isinstance(other.func, cst.Attribute) else ""
            if kind in _CALLABLE_ARGS:
                reason = _unpicklable(pf, other, kind)
                if reason is not None:
                    return NoFix(
                        f'the "{method}" start method pickles what the child runs, and {reason}'
                    )
    if literal_call is None or not literal_call.args:
        return None
    literal = literal_call.args[0].value
    if string_value(literal) != "fork" or not isinstance(literal, cst.SimpleString):
        return None
    new_literal = literal.with_changes(
        value=f"{literal.prefix}{literal.quote}{method}{literal.quote}"
    )
    new_module = _replace_in(pf.module, pf, {literal: new_literal})
    new_module = fit_line(new_module, new_literal, width)
    return proposal(
        f'Use the "{method}" start method: `get_context({new_literal.value})`',
        Applicability.UNSAFE,
        {path: (pf, new_module)},
    )


def _replace_in(
    module: cst.Module, pf: ParsedFile, nodes: dict[cst.CSTNode, cst.CSTNode]
) -> cst.Module:
    """Replace nodes of the parsed file inside `module`, which is its tree or (after
    ensure_import rebuilt the body list, keeping the statement nodes) a new one."""
    return module.visit(Rewriter(nodes=nodes, parents=pf.parents))


# ---------------------------------------------------------------------------- picklability


class _ScopeWalker(cst.CSTVisitor):
    """Visit a scope without entering nested functions, classes or lambdas."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.root = root
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is not self.root and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            self.nodes.append(node)
            return False
        self.nodes.append(node)
        return True


def _scope_nodes(scope: cst.CSTNode) -> list[cst.CSTNode]:
    walker = _ScopeWalker(scope)
    scope.visit(walker)
    return walker.nodes


def _assignments(scope: cst.CSTNode) -> Iterator[tuple[str, cst.BaseExpression]]:
    for node in _scope_nodes(scope):
        if isinstance(node, cst.Assign):
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    yield t.target.value, node.value
        elif isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name):
            if node.value is not None:
                yield node.target.value, node.value
        elif isinstance(node, cst.FunctionDef) and node is not scope:
            yield node.name.value, cst.Name("__nested_def__")


def _calls_on(scope: cst.CSTNode, name: str) -> Iterator[cst.Call]:
    for node in _scope_nodes(scope):
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and isinstance(node.func.value, cst.Name)
            and node.func.value.value == name
        ):
            yield node


def _argument(call: cst.Call, kw: str, pos: int) -> cst.BaseExpression | None:
    arg = keyword(call, kw)
    if arg is not None:
        return arg.value
    args = positional(call)
    return args[pos].value if pos < len(args) else None


def _unpicklable(pf: ParsedFile, call: cst.Call, kind: str) -> str | None:
    """Why the callable or its arguments would not survive pickling, or None."""
    spec = _CALLABLE_ARGS.get(kind)
    if spec is None:
        return None
    (callable_kw, callable_pos), data = spec
    target = _argument(call, callable_kw, callable_pos)
    if target is not None and not (isinstance(target, cst.Name) and target.value == "None"):
        reason = _callable_reason(pf, call, target)
        if reason is not None:
            return reason
    for kw, pos in data:
        value = _argument(call, kw, pos)
        if value is not None:
            reason = _data_reason(pf, call, value)
            if reason is not None:
                return reason
    return None


def _class_name(pf: ParsedFile, node: cst.CSTNode) -> str:
    cls = pf.enclosing(node, cst.ClassDef)
    return cls.name.value if cls is not None else "the object"


def _callable_reason(pf: ParsedFile, call: cst.Call, target: cst.BaseExpression) -> str | None:
    shown = code(target)
    if isinstance(target, cst.Lambda):
        return f"`{shown}` is a lambda, which cannot be pickled"
    table = scope_table(pf, call)
    if isinstance(target, cst.Attribute):
        base = target.value
        if isinstance(base, cst.Name) and base.value in ("self", "cls"):
            return (
                f"`{shown}` is a method bound to a `{_class_name(pf, call)}` instance, which "
                "would be pickled with it (a PicklingError if it holds locks, sockets, queues "
                "or an event loop); launch a fresh interpreter instead"
            )
        origin = resolve(base, table)
        if origin is not None and origin in table.values():
            return None  # module.function
        return f"`{shown}` is a method of an object fork-lint cannot see into"
    if isinstance(target, cst.Call):
        if resolve(target.func, table) == "functools.partial" and target.args:
            inner = _callable_reason(pf, call, target.args[0].value)
            if inner is not None:
                return inner
            for arg in target.args[1:]:
                reason = _data_reason(pf, call, arg.value)
                if reason is not None:
                    return reason
            return None
        return f"`{shown}` is a call result fork-lint cannot check"
    if isinstance(target, cst.Name):
        return _name_reason(pf, call, target.value, callable_=True)
    return f"fork-lint cannot check `{shown}`"


def _name_reason(pf: ParsedFile, call: cst.Call, name: str, *, callable_: bool) -> str | None:
    """Look the name up from the innermost enclosing function outwards."""
    funcs = [a for a in pf.ancestors(call) if isinstance(a, cst.FunctionDef)]
    for scope in funcs:
        params = {p.name.value for p in (*scope.params.params, *scope.params.kwonly_params)}
        params |= {p.name.value for p in scope.params.posonly_params}
        for extra in (scope.params.star_arg, scope.params.star_kwarg):
            if isinstance(extra, cst.Param):
                params.add(extra.name.value)
        values = [v for t, v in _assignments(scope) if t == name]
        if values:
            return _value_reason(
                pf, call, name, values, callable_=callable_, where=scope.name.value
            )
        if name in params:
            if name in ("self", "cls"):
                return f"`{name}` is the `{_class_name(pf, call)}` instance itself"
            return f"`{name}` is a parameter fork-lint cannot check" if callable_ else None
    table = scope_table(pf, call)
    if name in table:
        return None  # imported by name: importable in the child too
    for stmt in pf.module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.name.value == name:
            return None
    values = [v for t, v in _assignments(pf.module) if t == name]
    if values:
        return _value_reason(pf, call, name, values, callable_=callable_, where="")
    return f"fork-lint cannot find `{name}`" if callable_ else None


def _value_reason(
    pf: ParsedFile,
    call: cst.Call,
    name: str,
    values: list[cst.BaseExpression],
    *,
    callable_: bool,
    where: str,
) -> str | None:
    table = scope_table(pf, call)
    for value in values:
        if isinstance(value, cst.Name) and value.value == "__nested_def__":
            return f"`{name}` is a function nested in `{where}`, which cannot be pickled"
        if isinstance(value, cst.Lambda):
            return f"`{name}` is a lambda, which cannot be pickled"
        if isinstance(value, cst.Call):
            origin = resolve(value.func, table) or code(value.func)
            what = _UNPICKLABLE_FACTORIES.get(origin)
            if what is not None:
                return f"`{name}` is {what}, which cannot be pickled"
    if callable_:
        return f"`{name}` is a variable fork-lint cannot check"
    return None


def _data_reason(pf: ParsedFile, call: cst.Call, value: cst.BaseExpression) -> str | None:
    if isinstance(value, cst.Lambda):
        return f"`{code(value)}` is a lambda, which cannot be pickled"
    if isinstance(value, (cst.Tuple, cst.List, cst.Set)):
        for element in value.elements:
            reason = _data_reason(pf, call, element.value)
            if reason is not None:
                return reason
        return None
    if isinstance(value, cst.Dict):
        for item in value.elements:
            reason = _data_reason(pf, call, item.value)
            if reason is not None:
                return reason
        return None
    if isinstance(value, cst.Name):
        return _name_reason(pf, call, value.value, callable_=False)
    if (
        isinstance(value, cst.Attribute)
        and isinstance(value.value, cst.Name)
        and value.value.value in ("self", "cls")
    ):
        cls = pf.enclosing(call, cst.ClassDef)
        methods = {
            s.name.value
            for s in (cls.body.body if cls is not None else ())
            if isinstance(s, cst.FunctionDef)
        }
        if value.attr.value in methods:
            return (
                f"`{code(value)}` is a method bound to a `{_class_name(pf, call)}` instance, "
                "which would be pickled with it"
            )
    return None
