"""Meta-tests for the rule pages in docs/rules/.

Every rule in ``fork_lint.rules.ALL_RULES`` has a page ``docs/rules/<code>.md``:

* its first line is ``# <code> <name>``;
* its ``##`` headings are exactly ``SECTIONS``, in that order, and none is empty;
* ``## Example`` and ``## Use instead`` each hold exactly one fenced block whose info
  string starts with ``python``. The block is a complete program of one file. FRK999 is
  the exception: it reports a bug in fork-lint, so its page has no code.

Each program is analysed on its own, as the file ``example.py`` (module ``example``),
with ``fork_lint.api.check_sources``. An Example must produce at least one finding of the
page's code and no finding of any other code. A Use instead must produce no finding.
Every program must compile as Python 3, except FRK900's Example, which must not.

Fence convention for analysis options: write them in the info string after ``python``,
as ``key="value"`` pairs; a list value is comma-separated::

    ```python fork-sinks="sandbox.native:run_isolated"
    ```python thread-sources="pkg.a:start,pkg.b:Pool" target-version="py311"

Markdown renderers use only the first word of the info string, so readers do not see
the options; say them in the prose too. Known keys are ``fork-sinks``,
``thread-sources`` and ``target-version`` (matching the ``check_sources`` keywords).
Any other key, or text that is not a ``key="value"`` pair, fails the tests.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fork_lint.api import check_sources
from fork_lint.docs import rule_doc
from fork_lint.model import Finding
from fork_lint.rules import ALL_RULES, INTERNAL_ERROR, SYNTAX_ERROR, Rule

DOCS_DIR = Path(__file__).resolve().parents[1] / "docs" / "rules"

SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Example",
    "Use instead",
    "Fix safety",
    "Options",
    "References",
)
PROGRAM_SECTIONS = ("Example", "Use instead")
EXAMPLE_FILE = "example.py"
NO_EXAMPLE = "This diagnostic has no example: it reports a bug in fork-lint."

# Rules whose Example and Use instead are programs that the analysis can run on.
ANALYSED_RULES = [rule for rule in ALL_RULES if rule is not INTERNAL_ERROR]

_FENCE = re.compile(r"^(`{3,})(.*)$")
_ATTRIBUTES = re.compile(r'(?:\s*[a-z][a-z-]*="[^"]*")*\s*')
_ATTRIBUTE = re.compile(r'([a-z][a-z-]*)="([^"]*)"')
_TARGET_VERSION = re.compile(r"py3(\d{1,2})")


@dataclass(frozen=True)
class CodeBlock:
    info: str  # the whole info string, e.g. 'python fork-sinks="a:b"'
    source: str
    line: int  # 1-based line of the opening fence in the page

    @property
    def language(self) -> str:
        return self.info.split(maxsplit=1)[0] if self.info else ""


@dataclass(frozen=True)
class Page:
    lines: tuple[str, ...]
    titles: tuple[str, ...]  # every "# " heading outside code blocks
    headings: tuple[str, ...]  # every "## " heading outside code blocks, without "## "
    bodies: dict[str, str]  # "## " heading -> text up to the next "## " heading
    blocks: dict[str, tuple[CodeBlock, ...]]  # "## " heading -> code blocks in it

    def python_blocks(self, section: str) -> list[CodeBlock]:
        return [b for b in self.blocks.get(section, ()) if b.language == "python"]


def parse_page(text: str) -> Page:
    lines = tuple(text.splitlines())
    titles: list[str] = []
    headings: list[str] = []
    bodies: dict[str, list[str]] = {}
    blocks: dict[str, list[CodeBlock]] = {}
    current: str | None = None
    fence: str | None = None  # the backticks that opened the block we are in
    info, start, code = "", 0, []

    for number, line in enumerate(lines, start=1):
        if fence is not None:
            if line.strip() == fence:
                block = CodeBlock(info, "\n".join(code) + "\n", start)
                blocks.setdefault(current or "", []).append(block)
                fence = None
            else:
                code.append(line)
            if current is not None:
                bodies[current].append(line)
            continue
        opening = _FENCE.match(line)
        if opening is not None:
            fence, info, start, code = opening.group(1), opening.group(2).strip(), number, []
        elif line.startswith("## "):
            current = line[3:].strip()
            headings.append(current)
            bodies[current] = []
            continue
        elif line.startswith("# "):
            titles.append(line)
        if current is not None:
            bodies[current].append(line)

    assert fence is None, f"code block opened on line {start} is never closed"
    return Page(
        lines=lines,
        titles=tuple(titles),
        headings=tuple(headings),
        bodies={h: "\n".join(body).strip() for h, body in bodies.items()},
        blocks={h: tuple(b) for h, b in blocks.items()},
    )


def fence_options(info: str) -> dict[str, Any]:
    """``check_sources`` keyword arguments from a fence info string (see module doc)."""
    _, _, attributes = info.partition(" ")
    if _ATTRIBUTES.fullmatch(attributes) is None:
        raise ValueError(f'fence options must be key="value" pairs: {info!r}')
    options: dict[str, Any] = {}
    for key, value in _ATTRIBUTE.findall(attributes):
        if key in ("fork-sinks", "thread-sources"):
            options[key.replace("-", "_")] = tuple(
                item.strip() for item in value.split(",") if item.strip()
            )
        elif key == "target-version":
            version = _TARGET_VERSION.fullmatch(value)
            if version is None:
                raise ValueError(f"target-version must look like 'py312': {value!r}")
            options["target_version"] = (3, int(version.group(1)))
        else:
            raise ValueError(f"unknown fence option {key!r} in {info!r}")
    return options


def page_path(rule: Rule) -> Path:
    return DOCS_DIR / f"{rule.code}.md"


def load_page(rule: Rule) -> Page:
    path = page_path(rule)
    assert path.is_file(), f"{rule.code} has no documentation page at {path}"
    return parse_page(path.read_text(encoding="utf-8"))


def program(rule: Rule, section: str) -> CodeBlock:
    blocks = load_page(rule).python_blocks(section)
    assert len(blocks) == 1, (
        f"{rule.code}: '## {section}' must contain exactly one ```python block, found {len(blocks)}"
    )
    return blocks[0]


def analyse(block: CodeBlock) -> list[Finding]:
    return check_sources({EXAMPLE_FILE: block.source}, **fence_options(block.info))


def describe(findings: list[Finding]) -> str:
    return "\n".join(
        f"  {f.code} {f.location.path}:{f.location.span.line}: {f.message}" for f in findings
    )


def by_code(rules: list[Rule]) -> Any:
    return pytest.mark.parametrize("rule", rules, ids=[rule.code for rule in rules])


# --- the set of pages -------------------------------------------------------------------


@by_code(list(ALL_RULES))
def test_every_rule_has_a_page(rule: Rule) -> None:
    assert page_path(rule).is_file()


def test_every_page_belongs_to_a_rule() -> None:
    codes = {rule.code for rule in ALL_RULES}
    pages = {path.stem for path in DOCS_DIR.glob("*.md")}
    assert pages - codes == set(), "pages without a rule in fork_lint.rules.ALL_RULES"


@by_code(list(ALL_RULES))
def test_doc_url_points_at_the_page(rule: Rule) -> None:
    assert rule.doc_url.endswith(f"/docs/rules/{rule.code}.md")


# --- the shape of a page ----------------------------------------------------------------


@by_code(list(ALL_RULES))
def test_title_is_code_and_name(rule: Rule) -> None:
    page = load_page(rule)
    assert page.lines[0] == f"# {rule.code} {rule.name}"
    assert page.titles == (page.lines[0],), "a page has exactly one '# ' heading"


@by_code(list(ALL_RULES))
def test_sections_in_order(rule: Rule) -> None:
    page = load_page(rule)
    assert page.headings == SECTIONS
    empty = [heading for heading in SECTIONS if not page.bodies[heading]]
    assert empty == [], f"{rule.code}: empty sections"


@by_code(list(ALL_RULES))
def test_references_are_links(rule: Rule) -> None:
    references = load_page(rule).bodies["References"]
    assert re.search(r"\]\(https?://|<https?://", references), f"{rule.code}: no links"


@by_code(ANALYSED_RULES)
@pytest.mark.parametrize("section", PROGRAM_SECTIONS)
def test_one_program_per_section(rule: Rule, section: str) -> None:
    program(rule, section)


def test_internal_error_page_has_no_program() -> None:
    page = load_page(INTERNAL_ERROR)
    for section in PROGRAM_SECTIONS:
        assert page.python_blocks(section) == [], f"FRK999 '## {section}' has code"
    assert page.bodies["Example"] == NO_EXAMPLE
    assert "report" in page.bodies["Use instead"].lower()


# --- the programs -----------------------------------------------------------------------


@by_code(ANALYSED_RULES)
@pytest.mark.parametrize("section", PROGRAM_SECTIONS)
def test_program_options_are_well_formed(rule: Rule, section: str) -> None:
    fence_options(program(rule, section).info)


@by_code(ANALYSED_RULES)
@pytest.mark.parametrize("section", PROGRAM_SECTIONS)
def test_program_is_python3(rule: Rule, section: str) -> None:
    block = program(rule, section)
    filename = f"{rule.code}.md:{block.line}"
    if rule is SYNTAX_ERROR and section == "Example":
        with pytest.raises(SyntaxError):
            ast.parse(block.source, filename=filename)
        return
    ast.parse(block.source, filename=filename)
    # compile() also rejects what the parser lets through (`return` outside a function...).
    compile(block.source, filename, "exec", dont_inherit=True)


@by_code(ANALYSED_RULES)
def test_example_fires_the_rule(rule: Rule) -> None:
    findings = analyse(program(rule, "Example"))
    codes = {finding.code for finding in findings}
    assert rule.code in codes, f"{rule.code} Example does not fire it:\n{describe(findings)}"
    assert codes == {rule.code}, (
        f"{rule.code} Example also fires other rules:\n{describe(findings)}"
    )


@by_code(ANALYSED_RULES)
def test_use_instead_is_quiet(rule: Rule) -> None:
    findings = analyse(program(rule, "Use instead"))
    assert findings == [], f"{rule.code} 'Use instead' is not quiet:\n{describe(findings)}"


# --- fork_lint.docs.rule_doc ------------------------------------------------------------


@by_code(list(ALL_RULES))
def test_rule_doc_returns_the_page(rule: Rule) -> None:
    text = page_path(rule).read_text(encoding="utf-8")
    assert rule_doc(rule.code) == text
    assert rule_doc(rule.code.lower()) == text


@pytest.mark.parametrize("code", ["FRK000", "FRK006", "E501", "os-fork-with-threads", ""])
def test_rule_doc_rejects_unknown_codes(code: str) -> None:
    with pytest.raises(KeyError):
        rule_doc(code)


# --- the fence convention itself --------------------------------------------------------


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ("python", {}),
        ('python fork-sinks="a.b:c"', {"fork_sinks": ("a.b:c",)}),
        (
            'python fork-sinks="a:b, c:D.e" thread-sources="x:y" target-version="py311"',
            {"fork_sinks": ("a:b", "c:D.e"), "thread_sources": ("x:y",), "target_version": (3, 11)},
        ),
    ],
)
def test_fence_options(info: str, expected: dict[str, Any]) -> None:
    assert fence_options(info) == expected


@pytest.mark.parametrize(
    "info",
    ['python fork_sinks="a:b"', "python fork-sinks=a:b", 'python target-version="3.11"'],
)
def test_fence_options_reject(info: str) -> None:
    with pytest.raises(ValueError, match=r"fence option|key=|target-version"):
        fence_options(info)
