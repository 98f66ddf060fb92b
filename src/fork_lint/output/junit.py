"""The `junit` format: JUnit XML, one test suite per file and one failing test case per finding.

CI servers (GitLab `artifacts: reports: junit:`, Jenkins, Azure Pipelines) show it
as test results. A run without findings is one passing test case, because some of
them treat a report without test cases as an error. Characters XML 1.0 cannot hold
(most control characters) are written as `\\uXXXX`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from itertools import groupby

from fork_lint.fsio import printable
from fork_lint.model import Finding
from fork_lint.output._context import RenderContext
from fork_lint.output._text import position, sort_findings

__all__ = ["render_junit"]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    # A byte of a file name that is not UTF-8 shows as \xff, as in the other formats.
    return _NOT_XML.sub(lambda m: f"\\u{ord(m[0]):04x}", printable(text))


def _details(finding: Finding) -> str:
    span = finding.location.span
    lines = [f"line {span.line}, col {span.col + 1}, {finding.message}"]
    witness = finding.witness
    if witness is not None:
        if witness.thread_path:
            lines.append(
                f"thread started at {position(witness.thread_start)} ({witness.thread_source})"
            )
        lines.append(f"witness: {witness.reason}")
        for label, hops in (("thread", witness.thread_path), ("fork", witness.fork_path)):
            lines.extend(
                f"  {label + ':':<7} {position(hop.location)} in {hop.function}: {hop.description}"
                for hop in hops
            )
    if finding.fix is not None:
        lines.append(f"help: {finding.fix.message}")
    return "\n".join(lines)


def _suite(parent: ET.Element, name: str, tests: int, failures: int) -> ET.Element:
    return ET.SubElement(
        parent,
        "testsuite",
        name=_xml_text(name),
        tests=str(tests),
        failures=str(failures),
        errors="0",
    )


def render_junit(findings: Sequence[Finding], ctx: RenderContext) -> str:
    ordered = sort_findings(findings)
    root = ET.Element(
        "testsuites",
        name="fork-lint",
        tests=str(max(len(ordered), 1)),
        failures=str(len(ordered)),
        errors="0",
    )
    if not ordered:
        suite = _suite(root, "fork-lint", 1, 0)
        ET.SubElement(suite, "testcase", name="No errors found", classname="fork-lint")
    for path, group in groupby(ordered, key=lambda f: f.location.path):
        items = list(group)
        suite = _suite(root, path, len(items), len(items))
        for finding in items:
            span = finding.location.span
            case = ET.SubElement(
                suite,
                "testcase",
                name=_xml_text(f"{finding.code} {finding.name} ({span.line}:{span.col + 1})"),
                classname=_xml_text(path),
                file=_xml_text(path),
                line=str(span.line),
                column=str(span.col + 1),
            )
            failure = ET.SubElement(
                case, "failure", message=_xml_text(finding.message), type=finding.code
            )
            failure.text = _xml_text(_details(finding))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
