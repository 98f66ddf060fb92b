"""Per-module facts: everything the whole-program stages need from one file.

Plain tuples, lists and dicts only, so a module's facts can be cached as JSON
(keyed by the file's content hash) and shipped between worker processes.

Expressions are nested tuples whose first element is a tag:

===================  ====================================================
``("name", id)``     a name load, resolved through the lexical scope chain; in a
                     function, a local is named by its version (``t@2``, see
                     `fork_lint.index.versions`), a parameter's first by its name
``("attr", e, a)``   attribute ``a`` of ``e``
``("call", i)``      the result of call site ``i`` of this module
``("const", v)``     a constant (``str``, ``int``, ``float``, ``bool``, ``None``)
``("func", qn)``     a function or lambda defined in this module
``("class", qn)``    a class defined in this module
``("module", m)``    a module, by absolute dotted name (imports)
``("from", m, n)``   name ``n`` imported from module ``m``
``("coll", es, n, keys, kind)``
                     the ``n``-th container literal or comprehension: its elements,
                     the slot of each (`slot_of` a constant key or index; ``""`` not
                     known; ``"**"`` a dict merged in; ``"k"`` a key that is not a
                     constant) and its kind (``list``, ``tuple``, ``set``, ``dict``)
``("item", e)``      an element iteration gives of ``e`` (a dict's keys)
``("item", e, k)``   ``e[k]``: ``k`` a slot (``""`` not known; ``"~"`` a slice), an
                     expression (a key that is not a constant), or an ``int``: the
                     ``k``-th element unpacking gives
``("slice", e, n, i, j)``
                     ``e[i:j]``: the ``n``-th container, holding ``e``'s elements;
                     ``i``, ``j`` the constant bounds (``j`` -1: open; both -1:
                     not known)
``("yield", e)``     in ``returns``: a value a generator yields
``("union", es)``    any of ``es`` (conditional expressions, ``or``)
``("super", c)``     ``super()`` inside class ``c``
``("unknown",)``     anything else
===================  ====================================================
"""

from __future__ import annotations

from typing import Any, TypedDict

Expr = tuple[Any, ...]
UNKNOWN: Expr = ("unknown",)
# The constant strings the analysis follows as values (`graph.values`): the start
# method names that `get_context()` and `set_start_method()` read. Other constants
# evaluate to nothing; following every string would cost much and tell nothing.
TRACKED_CONSTANTS = frozenset(("fork", "spawn", "forkserver"))


class CallSite(TypedDict):
    id: int
    func: Expr
    args: list[Expr]  # ("star", e) for *e
    kwargs: list[tuple[str | None, Expr]]  # key None for **e
    span: tuple[int, int, int, int]  # line, col, end_line, end_col (0-based char columns)
    scope: int  # index of the enclosing scope in ModuleFacts.scopes
    order: int  # evaluation order within the scope
    loops: list[int]  # ids of the enclosing loops within the scope
    # Arms of the enclosing `if` statements outside loops: 2*k for the body of the
    # k-th `if` of the module, 2*k + 1 for its `else`; a site after an `if` whose
    # one arm always leaves (return, raise, exit) is in the other arm. Sites in
    # the two arms of one `if` never both run in one call of the scope.
    arms: list[int]
    child: bool  # runs only in the child of a fork() in this scope
    # With `child`: every path of that child ends the process (exit, exec, raise)
    # before it leaves the code only the child runs, so a thread started here is
    # never alive after that code; without it the child may go on into the code
    # it shares with the parent (returns, falls out of the `if`), its threads too.
    child_exits: bool
    # With `child`: the `order` of the fork call whose child runs this site (-1
    # otherwise). Only the threads started after it are alive in the child.
    fork_order: int
    guard: bool  # module level, under `if __name__ == "__main__":` (not run on import)
    # receiver key for matching joins, e.g. "t@1", "self._pool" (names by version); "" if none
    recv: str
    text: str  # the callee as written, for messages: "threading.Thread(...).start"
    # "call"; "import"; "decorator" (args: the decorated value); "raise" (`raise Cls`
    # instantiates Cls); "iter"/"aiter" (a for loop or comprehension: `__iter__`/`__next__`)
    kind: str
    # Keyword arguments merged in from a `**name` whose dict is visible in this scope.
    via_kwargs: list[str]
    bind: str  # the name (version) or `self.attr` the call's result is assigned to, or ""
    # The innermost `try` (or `with`, whose context manager may swallow an exception)
    # whose body holds the site, as an index into `Scope.tries`; -1 if none. If the
    # call raises, only code from that statement's handlers on can run next.
    catch: int


class Scope(TypedDict):
    qualname: str
    name: str
    kind: str  # "module", "function", "class", "lambda"
    parent: int  # index of the enclosing scope, -1 for the module
    params: list[str]  # positional-or-keyword parameters in order (incl. self/cls)
    posonly: int  # how many of `params` are positional-only
    vararg: str | None
    kwonly: list[str]
    kwarg: str | None
    is_async: bool
    decorators: list[Expr]
    method_kind: str  # "", "method", "classmethod", "staticmethod", "property"
    bases: list[Expr]  # classes only
    span: tuple[int, int, int, int]
    locals: list[str]  # names bound in this scope
    globals: list[str]
    nonlocals: list[str]
    # (target, value); target is a name/attr/item expression, or ("param", qualname, name)
    # for a default value of a function defined in this scope
    assigns: list[tuple[Expr, Expr]]
    returns: list[Expr]
    joins: list[tuple[str, int]]  # (receiver key, order) of join()/shutdown()/with-exit
    end_order: int  # the order counter after the last site of the scope
    # A function no path of which returns: each ends in `raise` or a process exit
    # (`sys.exit`, `os._exit`, `os.exec*`, `os.abort`), or loops forever.
    leaves: bool
    # When the function returns, as clauses over calls in statement position (`f()`,
    # `return f()`): every path to a `return` (or the end of the body) passes at
    # least one call of each clause. If each clause holds a call that never returns,
    # neither does the function (`try: serve() except E: halt()` with `serve` and
    # `halt` both ending in `sys.exit`). Empty for generators and coroutine
    # functions, and when a path to a return passes no such call.
    passes: list[list[int]]
    # The calls in statement position of one block, each followed in its block by
    # the sites up to (not including) `end`: `(end, site, site, ...)`, a site
    # written `~id` (negative) when it exits the process. Nothing after a call that
    # never returns runs.
    tails: list[tuple[int, ...]]
    # Per `try`/`with` statement that holds sites (`CallSite.catch`): the order from
    # which code may run after its body raised (its first handler, `finally`, or the
    # code after a `with`), and the loops enclosing the statement.
    tries: list[tuple[int, list[int]]]
    # (target, classes): what an annotation written here says a value is, for the
    # solver to use where it finds no value (`fork_lint.index.annotations`). The
    # target is a name or attribute expression (`x: T`, `self.x: T`), a parameter
    # `("param", qualname, name)` or a return `("return", qualname)` of a function
    # defined here; the classes are expressions of this scope.
    annotations: list[tuple[Expr, tuple[Expr, ...]]]


# Substrings one of which every built-in fork sink is spelled with somewhere in
# the project (`index.source.may_hold_sink`): a project without any needs no call graph.
# The process words name sinks of `PROCESS_ROOTS` only, so they count only in a
# project that mentions one of those modules: "Manager" and "Pool" are common words
# (Django's managers, urllib3's PoolManager, ThreadPoolExecutor).
FORK_HINTS = ("fork", "preexec_fn", "subprocess_")
PROCESS_HINTS = ("Process", "Pool", "Manager", "billiard")
SINK_HINTS = FORK_HINTS + PROCESS_HINTS
# Where every sink spelled with a process word comes from: a value of one of these
# modules exists only in a project whose text names the module.
PROCESS_ROOTS = ("multiprocessing", "billiard", "concurrent")


class _OptionalFacts(TypedDict, total=False):
    # False when the file cannot hold a fork sink; absent means "maybe" (facts
    # built without the file's text, e.g. by `api.check_sources`).
    maybe_sink: bool
    # The file's only hints are process words (`PROCESS_HINTS`); absent: False.
    process_only: bool
    # The file's text names one of `PROCESS_ROOTS`; absent means "maybe".
    sink_root: bool
    # FRK999 facts only: the extractor's traceback, printed with --verbose.
    traceback: str
    # (shape, positions) digests (`cache.fact_digests`), set by the extractor.
    digests: tuple[bytes, bytes]
    # Line -> character columns (start, end) of the first noqa comment naming
    # codes on it (`index.noqa.parse_noqa`), where FRK100 reports.
    noqa_cols: dict[str, tuple[int, int]]


class ModuleFacts(_OptionalFacts):
    path: str
    module: str
    is_package: bool
    scopes: list[Scope]
    calls: list[CallSite]
    star_imports: list[str]
    noqa: dict[str, list[str] | None]  # line (as str, for JSON) -> codes, None = bare noqa
    error: tuple[str, str, int, int] | None  # (code, message, line, col) if not analysable


def slot_of(value: object) -> str:
    """The slot of a constant key or index: equal keys share one (``1``, ``1.0`` and
    ``True`` are one dict key), different types of equal text do not (``1``, ``"1"``)."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, str):
        return f"s:{value}"
    if value is None:
        return "n:"
    return f"f:{value!r}"
