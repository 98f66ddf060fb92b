"""FRK002: a forked supervisor launch becomes a fresh interpreter (Airflow's edge worker).

The pattern: a job-launch method starts ``multiprocessing.Process(target=self.<target
method>, kwargs={"workload": workload, ...})``, where the target runs a supervisor
that also exists as a command-line entry point. The fix launches that entry point
instead::

    subprocess.Popen([sys.executable, "-m", "<entry module>", "--json-string",
                      workload.model_dump_json()], start_new_session=True)

Two shapes are handled:

* The class already has a sibling method with the same parameters that launches
  ``[sys.executable, "-m", ...]`` with ``subprocess.Popen`` (edge3 3.7.0 and later,
  chosen by configuration): every call of the fork method calls the sibling
  instead, and the fork method goes. Configuration reading stays as it is.
* Otherwise the ``Process`` is replaced in place by the ``Popen`` call. A
  ``multiprocessing.Queue`` passed to the target only to carry errors back is
  removed, with its plumbing in the method's callers: ``q.empty()`` is always true
  and ``q.get()`` is never reached.

Across the package, the code that consumes the process follows: a dataclass field
typed ``Process`` becomes ``subprocess.Popen``; ``is_alive()`` becomes
``poll() is None``, ``exitcode`` becomes ``returncode`` and ``join()`` becomes
``wait()``; ``isinstance(..., subprocess.Popen)`` branches keep only their Popen side.
Private helpers that only the fork path used (the target method,
``_reset_parent_signal_state``) are removed when nothing else in the project
mentions them, and imports the fix made unused are dropped.

Unsafe: error detail no longer comes back through the queue (it is in the task
log; the worker sees the exit code), and each task pays for a new interpreter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

from fork_lint.fixes._cst import (
    Child,
    ParsedFile,
    Replacements,
    Rewriter,
    StatementEdit,
    body_statements,
    code,
    dotted,
    ensure_import,
    following,
    import_table,
    keyword,
    positional,
    prune_imports,
    quote_of,
    references,
    resolve,
    scope_table,
    string_value,
    subtract,
    text_references,
)
from fork_lint.fixes._parse import parse_module
from fork_lint.fixes._popen import (
    POPEN,
    PROCESS,
    Refused,
    inside_any,
    process_api,
    process_fields,
    retype,
    rewrite_consumers,
    rewrite_field_uses,
)
from fork_lint.fixes.base import NoFix, Proposal
from fork_lint.fixes.context import FixContext
from fork_lint.fixes.options import LaunchOptions
from fork_lint.index.facts import Expr, ModuleFacts
from fork_lint.model import Applicability, Finding

_QUEUES = frozenset(
    f"multiprocessing.{q}" for q in ("Queue", "SimpleQueue", "JoinableQueue")
) | frozenset(f"multiprocessing.queues.{q}" for q in ("Queue", "SimpleQueue", "JoinableQueue"))


@dataclass
class _Launch:
    """What the finding points at, in the launch module."""

    pf: ParsedFile
    path: str
    call: cst.Call  # Process(...)
    func: cst.FunctionDef  # the method that starts it (F)
    cls: cst.ClassDef
    target: str  # the target method's name
    workload: cst.BaseExpression | None  # what the target gets as `workload-parameter`
    queues: dict[str, cst.BaseStatement]  # queue variable in F -> its creation statement
    others: list[str]  # target parameters that are neither the workload nor a queue
    opts: LaunchOptions
    removed_lines: list[tuple[int, int]] = field(default_factory=list)


def fix(finding: Finding, ctx: FixContext) -> Proposal | NoFix | None:
    if finding.code != "FRK002" or finding.sink != "multiprocessing.Process.start":
        return None
    alloc = dict(finding.extra).get("alloc")
    if alloc is None:
        return None
    rest, _, col = alloc.rpartition(":")
    path, _, line = rest.rpartition(":")
    pf = ctx.parsed(path)
    if pf is None:
        return None
    try:
        launch = _match(pf, path, int(line), int(col), ctx.options.launch)
        if launch is None:
            return None
        sibling = _popen_sibling(launch)
        if sibling is not None:
            return _use_sibling(launch, sibling, ctx)
        return _rewrite_in_place(launch, ctx)
    except Refused as exc:
        return NoFix(str(exc))
    except cst.ParserSyntaxError:
        return None


# ---------------------------------------------------------------------------- matching


def _match(pf: ParsedFile, path: str, line: int, col: int, opts: LaunchOptions) -> _Launch | None:
    call = pf.call_at(line, col)
    if call is None or resolve(call.func, scope_table(pf, call)) not in PROCESS:
        return None
    target_arg = keyword(call, "target")
    if target_arg is None:
        return None
    target = target_arg.value
    if not (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value == "self"
        and target.attr.value in opts.target_methods
    ):
        return None
    func = pf.enclosing(call, cst.FunctionDef)
    cls = pf.enclosing(func, cst.ClassDef) if func is not None else None
    if func is None or cls is None or func not in _methods(cls).values():
        return None
    name = target.attr.value
    target_def = _methods(cls).get(name)
    if target_def is None:
        raise Refused(f"`{name}` is not defined on `{cls.name.value}`")
    params = [p.name.value for p in target_def.params.params][1:]
    params += [p.name.value for p in target_def.params.kwonly_params]
    passed = _passed_arguments(call, params)
    workload = passed.pop(opts.workload_parameter, None)
    queues: dict[str, cst.BaseStatement] = {}
    others = []
    creations = _assignments_in(pf, func)
    for param, value in passed.items():
        if isinstance(value, cst.Name) and value.value in creations:
            stmt, created = creations[value.value]
            if (
                isinstance(created, cst.Call)
                and resolve(created.func, scope_table(pf, created)) in _QUEUES
            ):
                queues[value.value] = stmt
                continue
        others.append(param)
    return _Launch(pf, path, call, func, cls, name, workload, queues, others, opts)


def _methods(cls: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    return {s.name.value: s for s in body_statements(cls.body) if isinstance(s, cst.FunctionDef)}


def _passed_arguments(call: cst.Call, params: list[str]) -> dict[str, cst.BaseExpression]:
    """Target parameter -> the expression `Process(args=..., kwargs=...)` passes for it."""
    out: dict[str, cst.BaseExpression] = {}
    if positional(call):
        raise Refused("`Process(...)` is called with positional arguments")
    args = keyword(call, "args")
    if args is not None:
        if not isinstance(args.value, (cst.Tuple, cst.List)):
            raise Refused(f"cannot tell what `args={code(args.value)}` holds")
        for i, element in enumerate(args.value.elements):
            if isinstance(element, cst.StarredElement) or i >= len(params):
                raise Refused(f"cannot tell what `args={code(args.value)}` holds")
            out[params[i]] = element.value
    kwargs = keyword(call, "kwargs")
    if kwargs is not None:
        value = kwargs.value
        if isinstance(value, cst.Dict):
            for item in value.elements:
                key = string_value(item.key) if isinstance(item, cst.DictElement) else None
                if key is None:
                    raise Refused(f"cannot tell what `kwargs={code(value)}` holds")
                out[key] = item.value
        elif isinstance(value, cst.Call) and dotted(value.func) == "dict" and not positional(value):
            for arg in value.args:
                if arg.keyword is None:
                    raise Refused(f"cannot tell what `kwargs={code(value)}` holds")
                out[arg.keyword.value] = arg.value
        else:
            raise Refused(f"cannot tell what `kwargs={code(value)}` holds")
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value not in (
            "target",
            "args",
            "kwargs",
            "name",
        ):
            raise Refused(f"`Process(...)` is called with `{arg.keyword.value}=`")
    return out


def _assignments_in(
    pf: ParsedFile, func: cst.FunctionDef
) -> dict[str, tuple[cst.BaseStatement, cst.BaseExpression]]:
    """Name -> (statement, value) for single-target assignments in the function's own body."""
    out: dict[str, tuple[cst.BaseStatement, cst.BaseExpression]] = {}
    for stmt in _all_statements(func):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target: cst.BaseExpression = small.targets[0].target
            value: cst.BaseExpression | None = small.value
        elif isinstance(small, cst.AnnAssign):
            target, value = small.target, small.value
        else:
            continue
        if isinstance(target, cst.Name) and value is not None:
            out[target.value] = (stmt, value)
    return out


def _all_statements(func: cst.FunctionDef) -> Iterator[cst.BaseStatement]:
    """Statements of a function at any depth, not entering nested defs or classes."""

    def walk(stmts: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
        for stmt in stmts:
            yield stmt
            if not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                for block in _blocks(stmt):
                    yield from walk(block)

    yield from walk(body_statements(func.body))


def _blocks(node: cst.CSTNode) -> Iterator[Sequence[cst.BaseStatement]]:
    for child in node.children:
        if isinstance(child, cst.IndentedBlock):
            yield child.body
        elif isinstance(
            child, (cst.If, cst.Else, cst.Finally, cst.ExceptHandler, cst.ExceptStarHandler)
        ):
            yield from _blocks(child)


# ---------------------------------------------------------------------------- shape A


def _popen_sibling(launch: _Launch) -> cst.FunctionDef | None:
    """A method of the same class, with the same parameters, that launches
    ``[sys.executable, "-m", ...]`` with ``subprocess.Popen``."""
    params = [p.name.value for p in launch.func.params.params]
    returns = _return_arity(launch.func)
    for method in _methods(launch.cls).values():
        if method is launch.func or [p.name.value for p in method.params.params] != params:
            continue
        if _return_arity(method) != returns:
            continue
        if any(_is_interpreter_popen(launch.pf, c) for c in _calls_in(method)):
            return method
    return None


def _calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            found.append(n)

    node.visit(_Calls())
    return iter(found)


def _is_interpreter_popen(pf: ParsedFile, call: cst.Call) -> bool:
    table = scope_table(pf, call)
    if resolve(call.func, table) != POPEN:
        return False
    args = positional(call) or [a for a in call.args if a.keyword and a.keyword.value == "args"]
    first = args[0].value if args else None
    if not isinstance(first, cst.List) or len(first.elements) < 3:
        return False
    head = first.elements[0].value
    return (
        resolve(head, table) == "sys.executable" and string_value(first.elements[1].value) == "-m"
    )


def _return_arity(func: cst.FunctionDef) -> set[int]:
    out = set()
    for stmt in _all_statements(func):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Return) and small.value is not None:
                    value = small.value
                    out.add(len(value.elements) if isinstance(value, cst.Tuple) else 1)
    return out


def _self_calls(launch: _Launch, name: str) -> list[cst.Attribute]:
    """Every `self.<name>` in the module; refused unless each is called."""
    out: list[cst.Attribute] = []
    for node, parent in launch.pf.parents.items():
        if isinstance(node, cst.Attribute) and node.attr.value == name:
            if not (
                isinstance(node.value, cst.Name)
                and node.value.value == "self"
                and isinstance(parent, cst.Call)
                and parent.func is node
            ):
                raise Refused(f"`{name}` is used other than by calling `self.{name}(...)`")
            out.append(node)
        elif (
            isinstance(node, cst.Name)
            and node.value == name
            and not isinstance(parent, (cst.FunctionDef, cst.Attribute))
        ):
            raise Refused(f"`{name}` is used other than by calling `self.{name}(...)`")
    return out


def _use_sibling(launch: _Launch, sibling: cst.FunctionDef, ctx: FixContext) -> Proposal:
    fork_name, popen_name = launch.func.name.value, sibling.name.value
    elsewhere = ctx.mentioned_elsewhere(fork_name, [launch.path])
    if elsewhere:
        raise Refused(f"`{fork_name}` is also mentioned in {elsewhere[0]}")
    nodes: Replacements = {
        attr: attr.with_changes(attr=cst.Name(popen_name))
        for attr in _self_calls(launch, fork_name)
    }
    statements: dict[cst.CSTNode, StatementEdit] = {
        launch.func: StatementEdit.remove(carry_comments=False)
    }
    module = launch.pf.module.visit(
        Rewriter(nodes=nodes, statements=statements, parents=launch.pf.parents)
    )
    rng = launch.pf.positions[launch.func]
    launch.removed_lines.append((rng.start.line, rng.end.line))
    own = references(launch.func)
    seeds = set(own.names) | set(own.attrs)
    changes = _finish(launch, module, seeds, ctx, shape="sibling")
    return Proposal(
        f"Launch jobs with `{popen_name}` (a fresh interpreter started by `subprocess.Popen`) "
        f"instead of forking in `{fork_name}`",
        Applicability.UNSAFE,
        changes,
    )


# ---------------------------------------------------------------------------- shape B


def _rewrite_in_place(launch: _Launch, ctx: FixContext) -> Proposal:
    if launch.workload is None:
        raise Refused(
            f"no `{launch.opts.workload_parameter}` argument is passed to `{launch.target}` "
            "(set `workload-parameter` in [tool.fork-lint.fix.launch])"
        )
    workload = launch.workload
    if launch.others:
        raise Refused(
            f"`{launch.target}` also receives `{launch.others[0]}`, which the entry point's "
            "command line cannot carry"
        )
    pf, opts = launch.pf, launch.opts
    stmt = pf.statement_of(launch.call)
    if stmt is None or not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        raise Refused("the process is not created by a statement of its own")
    small = stmt.body[0]
    nodes: Replacements = {}
    statements: dict[cst.CSTNode, StatementEdit] = {}
    process_var: str | None = None
    if (
        isinstance(small, cst.Assign)
        and small.value is launch.call
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        process_var = small.targets[0].target.value
        start = _start_statement(pf, stmt, process_var)
        if start is None:
            raise Refused(f"`{process_var}.start()` does not follow the `Process(...)` statement")
        statements[start] = StatementEdit.remove()
    elif not (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and isinstance(small.value.func, cst.Attribute)
        and small.value.func.value is launch.call
        and small.value.func.attr.value == "start"
    ):
        raise Refused("the process is not started right after it is created")

    module = pf.module
    table = import_table(module.body)
    popen_ref = next((name for name, origin in table.items() if origin == POPEN), None)
    if popen_ref is None:
        module, sub = ensure_import(module, "subprocess")
        if sub is None:
            raise Refused("the name `subprocess` is taken in this module")
        popen_ref = f"{sub}.Popen"
    module, sys_name = ensure_import(module, "sys")
    if sys_name is None:
        raise Refused("the name `sys` is taken in this module")
    popen_text = _popen_text(launch, workload, popen_ref, sys_name)
    if process_var is not None:
        new_stmt = cst.parse_statement(f"{process_var} = {popen_text}\n")
    else:
        new_stmt = cst.parse_statement(f"{popen_text}\n")
    statements[stmt] = StatementEdit.replace(new_stmt)

    # The error queue and its plumbing.
    for queue_stmt in launch.queues.values():
        statements[queue_stmt] = StatementEdit.remove()
    positions, process_index = _return_rewrites(launch, process_var, nodes)
    _annotation_rewrite(launch, positions, popen_ref, nodes)
    receivers: dict[cst.FunctionDef, set[str]] = {}
    if process_var is not None:
        receivers[launch.func] = {process_var}
    _callers(launch, positions, process_index, nodes, statements, receivers, ctx)
    consumers = {name for classes in _consumer_classes(launch, ctx).values() for name, _ in classes}
    for func, names in receivers.items():
        process_api(pf, func, _named(names), nodes)
        _no_escape(pf, func, names, consumers, may_return=func is launch.func)

    module = module.visit(Rewriter(nodes=nodes, statements=statements, parents=pf.parents))
    seeds = {launch.target}
    changes = _finish(launch, module, seeds, ctx, shape="in-place")
    serialized = opts.serialize_expression.format(workload=code(workload))
    return Proposal(
        f"Run `{launch.target}`'s work in a fresh interpreter: `subprocess.Popen([sys.executable, "
        f'"-m", "{opts.entry_module}", "{opts.json_option}", {serialized}])`',
        Applicability.UNSAFE,
        changes,
    )


def _no_escape(
    pf: ParsedFile, func: cst.FunctionDef, names: set[str], consumers: set[str], *, may_return: bool
) -> None:
    """Refuse when the process goes where the fix cannot follow it.

    Allowed: attribute uses (rewritten by `process_api`), being assigned, being
    returned by the launch method (its callers are rewritten), and being passed to
    a class whose `Process` fields the fix rewrites.
    """
    for node in pf.within(func):
        if not isinstance(node, cst.Name) or node.value not in names:
            continue
        parent = pf.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            continue
        if isinstance(parent, (cst.AssignTarget, cst.Element)) or (
            isinstance(parent, cst.Param) and parent.name is node
        ):
            if isinstance(parent, cst.Element):
                container = pf.parent(parent)
                outer = pf.parent(container) if container is not None else None
                if isinstance(outer, cst.AssignTarget):
                    continue  # `process, queue = ...`
                if may_return and isinstance(outer, cst.Return):
                    continue  # `return process, queue`
            else:
                continue
        if may_return and isinstance(parent, cst.Return):
            continue
        if isinstance(parent, cst.Arg):
            call = pf.parent(parent)
            if isinstance(call, cst.Call) and dotted(call.func) in consumers:
                continue
        where: cst.CSTNode | None = parent
        if isinstance(parent, cst.Arg):
            where = pf.parent(parent)
        shown = " ".join(code(where).split()) if where is not None else node.value
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise Refused(
            f"the process `{node.value}` goes into `{shown}`, where the fix cannot follow it"
        )


def _named(names: set[str]) -> Callable[[cst.BaseExpression], bool]:
    def is_receiver(expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Name) and expr.value in names

    return is_receiver


def _literal(text: str, quote: str) -> str:
    if quote not in text and "\\" not in text:
        return f"{quote}{text}{quote}"
    return json.dumps(text)


def _popen_text(
    launch: _Launch, workload_expr: cst.BaseExpression, popen_ref: str, sys_name: str
) -> str:
    opts = launch.opts
    quote = quote_of(launch.call)
    workload = code(workload_expr)
    if not isinstance(workload_expr, (cst.Name, cst.Attribute)):
        workload = f"({workload})"
    serialized = opts.serialize_expression.format(workload=workload)
    items = [
        f"{sys_name}.executable",
        _literal("-m", quote),
        _literal(opts.entry_module, quote),
        *([_literal(opts.json_option, quote)] if opts.json_option else []),
        serialized,
    ]
    lines = [f"{popen_ref}(", "    ["]
    lines += [f"        {item}," for item in items]
    lines.append("    ],")
    lines += [f"    {arg}," for arg in opts.popen_arguments]
    lines.append(")")
    return "\n".join(lines)


def _start_statement(pf: ParsedFile, stmt: cst.BaseStatement, var: str) -> cst.BaseStatement | None:
    for later in following(pf, stmt):
        if not isinstance(later, cst.SimpleStatementLine):
            return None
        small = later.body[0]
        if (
            len(later.body) == 1
            and isinstance(small, cst.Expr)
            and isinstance(small.value, cst.Call)
            and not small.value.args
            and dotted(small.value.func) == f"{var}.start"
        ):
            return later
        if references(later).uses_name(var):
            return None  # the process is configured before it starts
    return None


def _return_rewrites(
    launch: _Launch, process_var: str | None, nodes: Replacements
) -> tuple[list[int], int | None]:
    """Drop the queues from `return process, queue`.

    Returns the dropped tuple positions and where the process sits in what is
    left (None when the method does not return it in a tuple).
    """
    queues = set(launch.queues)
    process_index = _process_position(launch.func, process_var)
    if not queues:
        return [], process_index
    found: list[int] | None = None
    allowed: set[int] = set()
    for stmt in _all_statements(launch.func):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, cst.Return) or not isinstance(small.value, cst.Tuple):
                continue
            elements = small.value.elements
            dropped = [
                i
                for i, e in enumerate(elements)
                if isinstance(e.value, cst.Name) and e.value.value in queues
            ]
            if found is not None and dropped != found:
                raise Refused("the method returns its queue in different positions")
            found = dropped
            kept = [e for i, e in enumerate(elements) if i not in dropped]
            if len(kept) == 1:
                nodes[small.value] = kept[0].value
            else:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                nodes[small.value] = small.value.with_changes(elements=kept)
            allowed |= {id(e.value) for i, e in enumerate(elements) if i in dropped}
    # Any other use of the queue in the method cannot be rewritten.
    skip = {id(launch.call)} | allowed | {id(s) for s in launch.queues.values()}
    for node in launch.pf.within(launch.func):
        if (
            isinstance(node, cst.Name)
            and node.value in queues
            and not inside_any(launch.pf, node, skip)
        ):
            raise Refused(f"`{node.value}` is used in `{launch.func.name.value}` beyond the launch")
    dropped = found or []
    if process_index is not None:
        process_index -= sum(1 for i in dropped if i < process_index)
    return dropped, process_index


def _process_position(func: cst.FunctionDef, process_var: str | None) -> int | None:
    for stmt in _all_statements(func):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Return) and isinstance(small.value, cst.Tuple):
                    for i, e in enumerate(small.value.elements):
                        if isinstance(e.value, cst.Name) and e.value.value == process_var:
                            return i
    return None


def _annotation_rewrite(
    launch: _Launch,
    dropped: list[int],
    popen_ref: str,
    nodes: Replacements,
) -> None:
    returns = launch.func.returns
    if returns is None:
        return
    table = scope_table(launch.pf, launch.func)
    annotation = returns.annotation
    if (
        dropped
        and isinstance(annotation, cst.Subscript)
        and dotted(annotation.value)
        in (
            "tuple",
            "Tuple",
            "typing.Tuple",
        )
    ):
        elements = list(annotation.slice)
        kept = [e for i, e in enumerate(elements) if i not in dropped]
        if len(kept) == 1 and isinstance(kept[0].slice, cst.Index):
            annotation = kept[0].slice.value
        else:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            annotation = annotation.with_changes(slice=kept)
    new = retype(annotation, table, popen_ref)
    if new is not returns.annotation:
        nodes[returns] = returns.with_changes(annotation=new)


def _callers(
    launch: _Launch,
    dropped: list[int],
    process_index: int | None,
    nodes: Replacements,
    statements: dict[cst.CSTNode, StatementEdit],
    receivers: dict[cst.FunctionDef, set[str]],
    ctx: FixContext,
) -> None:
    """Callers of the launch method: unpack without the queue, fold the queue's uses."""
    name = launch.func.name.value
    elsewhere = ctx.mentioned_elsewhere(name, [launch.path])
    if elsewhere:
        raise Refused(f"`{name}` is also called from {elsewhere[0]}")
    pf = launch.pf
    for attr in _self_calls(launch, name):
        call = pf.parent(attr)
        assert isinstance(call, cst.Call)
        assign = pf.parent(call)
        caller = pf.enclosing(call, cst.FunctionDef)
        if caller is None:
            raise Refused(f"`self.{name}(...)` is called outside a method")
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            if dropped:
                raise Refused(f"the result of `self.{name}(...)` is not unpacked")
            continue
        target = assign.targets[0].target
        if isinstance(target, cst.Name):
            if dropped:
                raise Refused(f"the result of `self.{name}(...)` is not unpacked")
            receivers.setdefault(caller, set()).add(target.value)
            continue
        if not isinstance(target, (cst.Tuple, cst.List)):
            raise Refused(f"the result of `self.{name}(...)` is assigned to `{code(target)}`")
        elements = list(target.elements)
        queue_names = set()
        for i in dropped:
            if i >= len(elements) or not isinstance(elements[i].value, cst.Name):
                raise Refused(f"the queue returned by `{name}` is not assigned to a name")
            value = elements[i].value
            assert isinstance(value, cst.Name)
            queue_names.add(value.value)
        kept = [e for i, e in enumerate(elements) if i not in dropped]
        if dropped:
            if len(kept) == 1:
                new_target: cst.BaseAssignTargetExpression = kept[0].value  # type: ignore[assignment]
            else:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                new_target = target.with_changes(elements=kept)
            nodes[assign.targets[0]] = assign.targets[0].with_changes(target=new_target)
        if len(kept) == 1:
            process_index = 0
        if process_index is not None and process_index < len(kept):
            value = kept[process_index].value
            if isinstance(value, cst.Name):
                receivers.setdefault(caller, set()).add(value.value)
        if queue_names:
            unpacked = {id(elements[i].value) for i in dropped}
            _fold_queue(pf, caller, queue_names, nodes, statements, unpacked)


def _fold_queue(
    pf: ParsedFile,
    caller: cst.FunctionDef,
    names: set[str],
    nodes: Replacements,
    statements: dict[cst.CSTNode, StatementEdit],
    handled: set[int],
) -> None:
    """Without a queue, `q.empty()` is always true and `q.get()` is never reached.

    `handled` holds the ids of the names that are already taken care of (the
    unpacking target).
    """

    def is_empty(node: cst.BaseExpression) -> bool:
        return (
            isinstance(node, cst.Call)
            and not node.args
            and isinstance(node.func, cst.Attribute)
            and isinstance(node.func.value, cst.Name)
            and node.func.value.value in names
            and node.func.attr.value == "empty"
        )

    for node in pf.within(caller):
        if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.And):
            if is_empty(node.right):
                nodes[node] = Child("left")
                handled.add(id(node.right))
            elif is_empty(node.left):
                nodes[node] = Child("right")
                handled.add(id(node.left))
        elif isinstance(node, cst.IfExp) and is_empty(node.test):
            # The parentheses around a conditional expression are its own; the branch
            # binds tighter, so it needs none.
            nodes[node] = Child("body")
            handled.add(id(node.test))
            handled.add(id(node.orelse))
        elif isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1:
            small = node.body[0]
            if (
                isinstance(small, cst.Expr)
                and isinstance(small.value, cst.Call)
                and isinstance(small.value.func, cst.Attribute)
                and dotted(small.value.func.value) in names
                and small.value.func.attr.value in ("close", "join_thread", "cancel_join_thread")
            ):
                statements[node] = StatementEdit.remove()
                handled.add(id(small))
    for node in pf.within(caller):
        if isinstance(node, cst.Name) and node.value in names and not inside_any(pf, node, handled):
            raise Refused(f"the caller uses `{node.value}` in a way the fix cannot rewrite")


# ---------------------------------------------------------------------------- the package


def _finish(
    launch: _Launch, module: cst.Module, seeds: set[str], ctx: FixContext, *, shape: str
) -> dict[str, str]:
    """Dead helpers, consumers of the process, imports; the new text of every changed file."""
    module = parse_module(module.code)
    module = _remove_dead_helpers(module, launch, seeds, ctx)
    texts: dict[str, str] = {launch.path: module.code}
    consumers = _consumer_classes(launch, ctx)
    if consumers and _other_process_creations(launch, ctx):
        if shape == "in-place":
            first = next(iter(consumers.values()))[0][0]
            raise Refused(f"`{first}` may also hold processes created elsewhere in the project")
        # The Popen path already fed those classes; they keep handling both.
        consumers = {}
    for path, classes in consumers.items():
        source = texts.get(path, ctx.source(path))
        if source is not None:
            texts[path] = rewrite_consumers(source, classes)
    # Attribute uses of the consumer fields in the launch module (`job.process.is_alive()`).
    fields = {f for classes in consumers.values() for _, fs in classes for f in fs}
    if fields and launch.path not in consumers:
        texts[launch.path] = rewrite_field_uses(texts[launch.path], fields)
    out: dict[str, str] = {}
    for path, text in texts.items():
        original = launch.pf.text if path == launch.path else ctx.source(path) or ""
        final = prune_imports(original, text)
        if final != original:
            out[path] = final
    return out


def _remove_dead_helpers(
    module: cst.Module, launch: _Launch, seeds: set[str], ctx: FixContext
) -> cst.Module:
    """Private functions and methods that only removed code used, transitively."""
    cls_name = launch.cls.name.value
    pending = sorted(seeds)
    done: set[str] = set()
    remaining = text_references(module.code)  # what the module mentions, minus removed defs
    removed: list[cst.FunctionDef] = []
    while pending:
        name = pending.pop(0)
        if name in done or not name.startswith("_") or name.startswith("__"):
            continue
        done.add(name)
        definition = _definition(module, cls_name, name)
        if definition is None or any(
            dotted(d.decorator) not in ("staticmethod", "classmethod")
            for d in definition.decorators
        ):
            continue  # properties hold state, and other decorators may register the function
        own = references(definition)
        outside = subtract(remaining, own)
        if outside.mentions(name) or ctx.mentioned_elsewhere(name, [launch.path]):
            continue
        remaining = outside
        removed.append(definition)
        pending.extend(sorted(set(own.names) | set(own.attrs)))
    if not removed:
        return module
    edits: dict[cst.CSTNode, StatementEdit] = {
        d: StatementEdit.remove(carry_comments=False) for d in removed
    }
    return module.visit(Rewriter(statements=edits))


def _definition(module: cst.Module, cls_name: str, name: str) -> cst.FunctionDef | None:
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == cls_name:
            method = _methods(stmt).get(name)
            if method is not None:
                return method
    return None


def _consumer_classes(launch: _Launch, ctx: FixContext) -> dict[str, list[tuple[str, list[str]]]]:
    """Classes the launch module uses that hold a process in a `Process`-typed field:
    path -> [(class name, [field names])]."""
    facts = ctx.facts_of(launch.path)
    if facts is None:
        return {}
    candidates: dict[str, set[str]] = {}  # path -> class names
    for scope in facts["scopes"]:
        for target, value in scope["assigns"]:
            if target[0] == "name" and value[0] == "from":
                path = ctx.path_of_module(value[1])
                if path is not None:
                    candidates.setdefault(path, set()).add(value[2])
            elif target[0] == "name" and value[0] == "class" and scope["kind"] == "module":
                candidates.setdefault(launch.path, set()).add(target[1])
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for path, names in candidates.items():
        source = ctx.source(path)
        if source is None or "Process" not in source:
            continue
        parsed = ctx.parsed(path)
        if parsed is None:
            continue
        module = parsed.module
        table = import_table(module.body)
        for stmt in module.body:
            if isinstance(stmt, cst.ClassDef) and stmt.name.value in names:
                fields = process_fields(stmt, table)
                if fields:
                    out.setdefault(path, []).append((stmt.name.value, fields))
    return out


def _other_process_creations(launch: _Launch, ctx: FixContext) -> bool:
    """Whether any `multiprocessing.Process(...)` other than the rewritten one remains."""
    line = launch.pf.start(launch.call)[0]
    for path in ctx.candidates("Process"):  # every such call site's text ends with it
        facts = ctx.facts_of(path)
        if facts is None or facts["error"] is not None:
            continue
        imports_mp = any(
            s["kind"] == "import" and s["text"].startswith(("multiprocessing", "billiard"))
            for s in facts["calls"]
        )
        for site in facts["calls"]:
            if site["kind"] != "call" or not site["text"].endswith("Process"):
                continue
            if facts["path"] == launch.path:
                at = site["span"][0]
                if at == line or any(a <= at <= b for a, b in launch.removed_lines):
                    continue
            origin = _origin(facts, site["scope"], site["func"])
            if origin is None:
                if imports_mp and site["text"].rpartition(".")[2] == "Process":
                    return True
            elif origin.startswith(("multiprocessing.", "billiard.")):
                return True
    return False


def _origin(facts: ModuleFacts, scope: int, expr: Expr) -> str | None:
    """The import path of a name or attribute chain, through the scopes' import bindings."""
    attrs: list[str] = []
    while expr[0] == "attr":
        attrs.append(expr[2])
        expr = expr[1]
    if expr[0] != "name":
        return None
    name = expr[1]
    index = scope
    while index >= 0:
        sc = facts["scopes"][index]
        for target, value in sc["assigns"]:
            if target == ("name", name):
                if value[0] == "module":
                    base = value[1]
                elif value[0] == "from":
                    base = f"{value[1]}.{value[2]}"
                else:
                    return None
                return ".".join([base, *reversed(attrs)])
        index = sc["parent"]
    return None
