"""Keep type annotations valid when a process is created from a context.

`multiprocessing.get_context("forkserver").Process(...)` is a `ForkServerProcess`,
which is no `multiprocessing.Process`: both derive from
`multiprocessing.process.BaseProcess`, the class that has every method and attribute
of a process. An annotation that the new value must satisfy, found in the same file,
is widened there: `multiprocessing.Process` (however it is imported) becomes
`<module>.process.BaseProcess`, which type checkers accept for the new value and
which every use of a process still type-checks against. Those annotations are:

* the enclosing function's return annotation, when the call is returned, or assigned
  to a name that the function returns;
* the annotation of the name (`p: multiprocessing.Process = ...`, or a declaration
  of it elsewhere in the scope) or of the attribute (`self.proc: ... | None`, in the
  class body or any method) the call is assigned to.

String annotations are widened inside the string. Annotations elsewhere (a caller's
variable, a parameter the process is passed to) are not seen by a one-file fix: a
type checker names them.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from fork_lint.fixes._cst import ParsedFile, resolve, scope_table

__all__ = ["widened_annotations"]

_PROCESS = frozenset({"multiprocessing.Process", "multiprocessing.context.Process"})


def widened_annotations(
    pf: ParsedFile, call: cst.Call, module_name: str
) -> dict[cst.CSTNode, cst.CSTNode]:
    """Replacements (original node -> new node) for the annotations the value of
    `call` must satisfy; `module_name` is the name multiprocessing is bound to."""
    table = scope_table(pf, call)
    base = cst.parse_expression(f"{module_name}.process.BaseProcess")
    out: dict[cst.CSTNode, cst.CSTNode] = {}
    for annotation in _constraining(pf, call):
        new = _widen(annotation.annotation, table, base)
        if new is not None:
            out[annotation.annotation] = new
    return out


def _constraining(pf: ParsedFile, call: cst.Call) -> Iterator[cst.Annotation]:
    parent = pf.parent(call)
    function = pf.enclosing(call, cst.FunctionDef)
    scope: cst.CSTNode = function or pf.module
    if isinstance(parent, cst.Return) and function is not None and function.returns:
        yield function.returns
    targets: list[cst.BaseExpression] = []
    if isinstance(parent, cst.Assign) and parent.value is call:
        targets = [t.target for t in parent.targets]
    elif isinstance(parent, cst.AnnAssign) and parent.value is call:
        yield parent.annotation
        targets = [parent.target]
    for target in targets:
        if isinstance(target, cst.Name):
            yield from _name_annotations(pf, scope, target.value)
            if function is not None and function.returns and _returns(function, target.value):
                yield function.returns
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            yield from _attribute_annotations(pf, call, target.value.value, target.attr.value)


def _name_annotations(pf: ParsedFile, scope: cst.CSTNode, name: str) -> Iterator[cst.Annotation]:
    for node in pf.within(scope):
        if (
            isinstance(node, cst.AnnAssign)
            and isinstance(node.target, cst.Name)
            and node.target.value == name
            and pf.enclosing(node, cst.FunctionDef) is (scope if scope is not pf.module else None)
        ):
            yield node.annotation


def _returns(function: cst.FunctionDef, name: str) -> bool:
    class Finder(cst.CSTVisitor):
        found = False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function  # not into nested functions

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Return(self, node: cst.Return) -> None:
            if isinstance(node.value, cst.Name) and node.value.value == name:
                self.found = True

    finder = Finder()
    function.visit(finder)
    return finder.found


def _attribute_annotations(
    pf: ParsedFile, call: cst.Call, receiver: str, attr: str
) -> Iterator[cst.Annotation]:
    """`self.attr` in a method: the class body's `attr: T` and any method's `self.attr: T`."""
    method = pf.enclosing(call, cst.FunctionDef)
    cls = pf.enclosing(call, cst.ClassDef)
    if method is None or cls is None or not method.params.params:
        return
    if method.params.params[0].name.value != receiver:
        return
    for node in pf.within(cls):
        if not isinstance(node, cst.AnnAssign):
            continue
        target = node.target
        if isinstance(target, cst.Name) and target.value == attr:
            if pf.enclosing(node, cst.FunctionDef) is None:
                yield node.annotation
        elif (
            isinstance(target, cst.Attribute)
            and target.attr.value == attr
            and isinstance(target.value, cst.Name)
        ):
            owner = pf.enclosing(node, cst.FunctionDef)
            params = owner.params.params if owner is not None else ()
            if params and params[0].name.value == target.value.value:
                yield node.annotation


def _widen(
    expression: cst.BaseExpression, table: dict[str, str], base: cst.BaseExpression
) -> cst.BaseExpression | None:
    """`expression` with each reference to the Process class replaced by `base`; None
    if it has none."""
    if isinstance(expression, cst.SimpleString):
        return _widen_string(expression, table, base)

    class Widen(cst.CSTTransformer):
        def __init__(self) -> None:
            super().__init__()
            self.changed = False
            self.members: set[int] = set()  # ids of the names after a dot

        def visit_Attribute(self, node: cst.Attribute) -> None:
            self.members.add(id(node.attr))

        def leave_Attribute(
            self, original: cst.Attribute, updated: cst.Attribute
        ) -> cst.BaseExpression:
            return self._swap(original, updated)

        def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
            return self._swap(original, updated)

        def _swap(
            self, original: cst.BaseExpression, updated: cst.BaseExpression
        ) -> cst.BaseExpression:
            if id(original) not in self.members and resolve(original, table) in _PROCESS:
                self.changed = True
                new: cst.BaseExpression = base.with_changes(lpar=updated.lpar, rpar=updated.rpar)
                return new
            return updated

    widen = Widen()
    new = expression.visit(widen)
    return new if widen.changed and isinstance(new, cst.BaseExpression) else None


def _widen_string(
    literal: cst.SimpleString, table: dict[str, str], base: cst.BaseExpression
) -> cst.SimpleString | None:
    text = literal.evaluated_value
    if not isinstance(text, str) or "\\" in literal.value or literal.prefix.strip("rR"):
        return None
    try:
        inner = cst.parse_expression(text)
    except cst.ParserSyntaxError:
        return None
    new = _widen(inner, table, base)
    if new is None:
        return None
    body = cst.Module(body=[]).code_for_node(new)
    if literal.quote in body:
        return None
    return literal.with_changes(value=f"{literal.prefix}{literal.quote}{body}{literal.quote}")
