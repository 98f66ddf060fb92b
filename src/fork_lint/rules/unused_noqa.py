"""FRK100: a ``# noqa`` comment names a fork-lint code that suppresses nothing.

A comment is judged against every finding the analysis computed on its line,
before rule selection: the analysis runs every rule whatever `select` and
`ignore` say, so a code of a deselected rule that still suppresses a finding
(which would come back once the rule is selected again) is in use. Only
fork-lint's own codes are judged; codes of other tools (``E501``) and bare
``# noqa`` comments, which often serve other linters, are left alone. The code
FRK100 itself is never reported: naming it keeps the comment as it is.

Files that could not be analysed (FRK900, FRK999) are not judged: their
findings are unknown. Nor is a partial analysis (`AnalysisOptions.unused_noqa`
off): a thread started in a file left out could make the comment necessary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fork_lint.index.facts import ModuleFacts
from fork_lint.model import Finding, Location, Span
from fork_lint.rules import BY_CODE, UNUSED_NOQA

__all__ = ["UNUSED_CODES", "unused_noqa"]

# The `Finding.extra` entry naming the unused codes, comma-separated, for the fix.
UNUSED_CODES = "unused"


def unused_noqa(modules: Sequence[ModuleFacts], findings: Iterable[Finding]) -> list[Finding]:
    """An FRK100 finding for each comment that names fork-lint codes (known or
    not) of which no finding is on its line; ``findings`` are every finding of
    the analysis, before suppression."""
    raised: dict[tuple[str, int], set[str]] = {}
    for f in findings:
        raised.setdefault((f.location.path, f.location.span.line), set()).add(f.code)
    out = []
    for facts in modules:
        if facts["error"] is not None:
            continue
        path = facts["path"]
        columns = facts.get("noqa_cols", {})
        for key, codes in facts["noqa"].items():
            if not codes:
                continue
            line = int(key)
            here = raised.get((path, line), set())
            unused = [
                code
                for code in dict.fromkeys(codes)
                if code.startswith("FRK") and code != UNUSED_NOQA.code and code not in here
            ]
            if not unused:
                continue
            start, end = columns.get(key, (0, 0))
            out.append(
                Finding(
                    code=UNUSED_NOQA.code,
                    name=UNUSED_NOQA.name,
                    message=_message(unused),
                    location=Location(path, Span(line, start, line, end)),
                    sink="",
                    extra=((UNUSED_CODES, ",".join(unused)),),
                )
            )
    return out


def _message(unused: list[str]) -> str:
    """E.g. "Unused `noqa` code `FRK002`: no such finding on this line"."""
    one = len(unused) == 1
    reasons = {
        code: (
            ("no such finding on this line" if one else "no such findings on this line")
            if code in BY_CODE
            else ("not a fork-lint rule" if one else "not fork-lint rules")
        )
        for code in unused
    }
    noun = "code" if one else "codes"
    if len(set(reasons.values())) == 1:
        names = ", ".join(f"`{code}`" for code in unused)
        return f"Unused `noqa` {noun} {names}: {reasons[unused[0]]}"
    singular = {
        c: "no such finding on this line" if c in BY_CODE else "not a fork-lint rule"
        for c in unused
    }
    names = ", ".join(f"`{code}` ({singular[code]})" for code in unused)
    return f"Unused `noqa` {noun} {names}"
