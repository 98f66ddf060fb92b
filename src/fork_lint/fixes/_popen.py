"""How code that holds a `multiprocessing.Process` changes when it holds a `subprocess.Popen`.

Used by the edge-launch fix (`fixes.edge_launch`) on the launch method, its callers
and the classes that keep the process (the `Job` dataclass):

* `Process` in annotations becomes the module's `Popen` reference; `Popen | Process`
  collapses to one;
* `p.is_alive()` becomes `p.poll() is None` (`not p.is_alive()`: `p.poll() is not
  None`), `p.exitcode` becomes `p.returncode`, `p.join()` becomes `p.wait()`; `pid`,
  `terminate()`, `kill()` are the same on both; anything else is refused;
* `if isinstance(p, subprocess.Popen):` keeps its Popen side, and statements after a
  kept side that returns become unreachable and go.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence

import libcst as cst

from fork_lint.fixes._cst import (
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
    parse_file,
    resolve,
    scope_table,
    terminates,
)

PROCESS = frozenset(("multiprocessing.Process", "multiprocessing.context.Process"))
POPEN = "subprocess.Popen"
# Process attributes that mean the same on a Popen.
SAME_ON_POPEN = frozenset(
    ("pid", "terminate", "kill", "poll", "returncode", "wait", "send_signal", "args")
)
# Parents under which `p.poll() is None` needs no parentheses.
_PLAIN_PARENTS = (
    cst.Return,
    cst.Assign,
    cst.AnnAssign,
    cst.Expr,
    cst.If,
    cst.While,
    cst.Arg,
    cst.Element,
    cst.BooleanOperation,
    cst.IfExp,
    cst.Lambda,
    cst.Assert,
)


class Refused(Exception):
    """The pattern matched but cannot be rewritten; the message says why."""


def inside_any(pf: ParsedFile, node: cst.CSTNode, ids: set[int]) -> bool:
    return id(node) in ids or any(id(a) in ids for a in pf.ancestors(node))


class _Retype(cst.CSTTransformer):
    def __init__(self, table: dict[str, str], popen_ref: str) -> None:
        self.table, self.popen_ref = table, popen_ref

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        if self.table.get(original_node.value) in PROCESS:
            return cst.parse_expression(self.popen_ref)
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if resolve(original_node, self.table) in PROCESS:
            return cst.parse_expression(self.popen_ref)
        return updated_node


def retype(node: cst.BaseExpression, table: dict[str, str], popen_ref: str) -> cst.BaseExpression:
    """Replace `Process` by the Popen reference; `Popen | Popen` collapses to one."""
    new = node.visit(_Retype(table, popen_ref))
    assert isinstance(new, cst.BaseExpression)
    return dedupe_union(new)


def dedupe_union(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        members = list(_union_members(node))
        seen: dict[str, cst.BaseExpression] = {}
        for m in members:
            seen.setdefault(code(m).strip(), m)
        if len(seen) < len(members):
            unique = list(seen.values())
            out = unique[0]
            for m in unique[1:]:
                out = cst.BinaryOperation(out, cst.BitOr(), m)
            return out
    if isinstance(node, cst.Subscript) and dotted(node.value) in ("Union", "typing.Union"):
        elements = list(node.slice)
        texts = [code(e.slice).strip() for e in elements]
        if len(set(texts)) < len(texts):
            keep = [e for i, e in enumerate(elements) if texts.index(texts[i]) == i]
            if len(keep) == 1 and isinstance(keep[0].slice, cst.Index):
                return keep[0].slice.value
            keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return node.with_changes(slice=keep)
    return node


def _union_members(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        yield from _union_members(node.left)
        yield from _union_members(node.right)
    else:
        yield node.with_changes(lpar=[], rpar=[]) if hasattr(node, "lpar") else node


def process_api(
    pf: ParsedFile,
    scope: cst.CSTNode,
    is_receiver: Callable[[cst.BaseExpression], bool],
    nodes: Replacements,
    dead: set[int] | None = None,
) -> None:
    """Rewrite `Process` attributes used on receivers in `scope` into their Popen twins."""
    dead = dead or set()
    for node in pf.within(scope):
        if not isinstance(node, cst.Attribute) or not is_receiver(node.value):
            continue
        if inside_any(pf, node, dead):
            continue
        parent = pf.parent(node)
        attr = node.attr.value
        is_call = isinstance(parent, cst.Call) and parent.func is node
        if attr == "is_alive" and is_call:
            assert isinstance(parent, cst.Call)
            outer = pf.parent(parent)
            poll = cst.Call(func=node.with_changes(attr=cst.Name("poll")))
            if isinstance(outer, cst.UnaryOperation) and isinstance(outer.operator, cst.Not):
                nodes[outer] = _compare(poll, cst.IsNot(), outer, pf)
            else:
                nodes[parent] = _compare(poll, cst.Is(), parent, pf)
        elif attr == "exitcode":
            nodes[node] = node.with_changes(attr=cst.Name("returncode"))
        elif attr == "join" and is_call and isinstance(parent, cst.Call) and not parent.args:
            nodes[node] = node.with_changes(attr=cst.Name("wait"))
        elif attr not in SAME_ON_POPEN and attr != "start":
            raise Refused(f"`{code(node)}` has no `subprocess.Popen` equivalent")


def _compare(
    poll: cst.Call, op: cst.BaseCompOp, replaced: cst.CSTNode, pf: ParsedFile
) -> cst.BaseExpression:
    spaced = op.with_changes(
        whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" ")
    )
    if isinstance(op, cst.IsNot):
        spaced = cst.IsNot(
            whitespace_before=cst.SimpleWhitespace(" "),
            whitespace_between=cst.SimpleWhitespace(" "),
            whitespace_after=cst.SimpleWhitespace(" "),
        )
    comparison = cst.Comparison(poll, [cst.ComparisonTarget(spaced, cst.Name("None"))])
    parent = pf.parent(replaced)
    if parent is not None and not isinstance(parent, _PLAIN_PARENTS):
        comparison = comparison.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return comparison


def isinstance_folds(
    pf: ParsedFile, scope: cst.CSTNode, is_receiver: Callable[[cst.BaseExpression], bool]
) -> tuple[dict[cst.CSTNode, StatementEdit], set[int]]:
    """`if isinstance(<process>, subprocess.Popen):` keeps its Popen side.

    Returns statement edits and the ids of statements that become dead (so no
    rewrite looks inside them).
    """
    edits: dict[cst.CSTNode, StatementEdit] = {}
    dead: set[int] = set()
    for node in pf.within(scope):
        if not isinstance(node, cst.If):
            continue
        if inside_any(pf, node, dead):
            continue
        truth = _isinstance_truth(pf, node.test, is_receiver)
        if truth is None:
            continue
        body = body_statements(node.body)
        orelse_node = node.orelse
        if isinstance(orelse_node, cst.If):
            raise Refused("an `isinstance` test on the process has an `elif`")
        orelse = body_statements(orelse_node.body) if orelse_node is not None else []
        kept, gone = (body, orelse) if truth else (orelse, body)
        dead |= {id(s) for s in gone}
        if kept and terminates(kept):
            for later in following(pf, node):
                edits[later] = StatementEdit.remove()
                dead.add(id(later))
        if kept:
            edits[node] = StatementEdit(functools.partial(_kept_side, truth=truth))
        else:
            edits[node] = StatementEdit.remove()
    return edits, dead


def _kept_side(updated: cst.BaseStatement, *, truth: bool) -> Sequence[cst.BaseStatement]:
    assert isinstance(updated, cst.If)
    if truth:
        return body_statements(updated.body)
    assert isinstance(updated.orelse, cst.Else)
    return body_statements(updated.orelse.body)


def _isinstance_truth(
    pf: ParsedFile, test: cst.BaseExpression, is_receiver: Callable[[cst.BaseExpression], bool]
) -> bool | None:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _isinstance_truth(pf, test.expression, is_receiver)
        return None if inner is None else not inner
    if not (
        isinstance(test, cst.Call) and dotted(test.func) == "isinstance" and len(test.args) == 2
    ):
        return None
    if not is_receiver(test.args[0].value):
        return None
    table = scope_table(pf, test)
    kinds = test.args[1].value
    candidates = (
        [e.value for e in kinds.elements] if isinstance(kinds, (cst.Tuple, cst.List)) else [kinds]
    )
    origins = {resolve(c, table) for c in candidates}
    if POPEN in origins:
        return True
    if origins <= PROCESS:
        return False
    return None


def process_fields(cls: cst.ClassDef, table: dict[str, str]) -> list[str]:
    out = []
    for stmt in body_statements(cls.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if (
                isinstance(small, cst.AnnAssign)
                and isinstance(small.target, cst.Name)
                and mentions_process(small.annotation.annotation, table)
            ):
                out.append(small.target.value)
    return out


def mentions_process(node: cst.CSTNode, table: dict[str, str]) -> bool:
    found = False

    class _Find(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            nonlocal found
            found = found or table.get(n.value) in PROCESS

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            nonlocal found
            found = found or resolve(n, table) in PROCESS
            return True

    node.visit(_Find())
    return found


def rewrite_consumers(source: str, classes: list[tuple[str, list[str]]]) -> str:
    pf = parse_file(source)
    table = import_table(pf.module.body)
    popen_ref = next((n for n, o in table.items() if o == POPEN), None)
    module = pf.module
    if popen_ref is None:
        module, sub = ensure_import(module, "subprocess")
        if sub is None:
            raise Refused("the name `subprocess` is taken in the module of the job class")
        popen_ref = f"{sub}.Popen"
    nodes: Replacements = {}
    statements: dict[cst.CSTNode, StatementEdit] = {}
    by_name = {s.name.value: s for s in pf.module.body if isinstance(s, cst.ClassDef)}
    for cls_name, fields in classes:
        cls = by_name[cls_name]
        for stmt in body_statements(cls.body):
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if (
                        isinstance(small, cst.AnnAssign)
                        and isinstance(small.target, cst.Name)
                        and small.target.value in fields
                    ):
                        ann = small.annotation
                        nodes[ann] = ann.with_changes(
                            annotation=retype(ann.annotation, table, popen_ref)
                        )

        def own(e: cst.BaseExpression, fields: list[str] = fields) -> bool:
            return (
                isinstance(e, cst.Attribute)
                and isinstance(e.value, cst.Name)
                and e.value.value == "self"
                and e.attr.value in fields
            )

        folds, dead = isinstance_folds(pf, cls, own)
        statements.update(folds)
        process_api(pf, cls, own, nodes, dead)
    fields_all = {f for _, fs in classes for f in fs}
    field_uses(pf, fields_all, nodes, skip={id(by_name[c]) for c, _ in classes})
    module = module.visit(Rewriter(nodes=nodes, statements=statements, parents=pf.parents))
    return module.code


def field_uses(pf: ParsedFile, fields: set[str], nodes: Replacements, skip: set[int]) -> None:
    def other(e: cst.BaseExpression) -> bool:
        return (
            isinstance(e, cst.Attribute)
            and isinstance(e.value, cst.Name)
            and e.value.value != "self"
            and e.attr.value in fields
        )

    for stmt in pf.module.body:
        if id(stmt) not in skip:
            process_api(pf, stmt, other, nodes)


def rewrite_field_uses(source: str, fields: set[str]) -> str:
    alternatives = "|".join(map(re.escape, sorted(fields)))
    uses = re.compile(rf"\.(?:{alternatives})\s*\.\s*(\w+)")
    if all(m.group(1) in SAME_ON_POPEN for m in uses.finditer(source)):
        return source  # nothing to rewrite: spare the parse
    pf = parse_file(source)
    nodes: Replacements = {}
    field_uses(pf, fields, nodes, skip=set())
    if not nodes:
        return source
    return pf.module.visit(Rewriter(nodes=nodes, parents=pf.parents)).code
