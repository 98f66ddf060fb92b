"""Rule metadata. The analysis decides *whether* a sink is hazardous; a rule
decides how a hazardous sink of its kind is named, worded and documented."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str  # one line, used by SARIF shortDescription and `--statistics`
    sink_kind: str  # which sink kind of the catalogue this rule reports

    @property
    def doc_url(self) -> str:
        return f"https://github.com/fork-lint/fork-lint/blob/main/docs/rules/{self.code}.md"


RULES: tuple[Rule, ...] = (
    Rule(
        "FRK001",
        "os-fork-with-threads",
        "`os.fork()`, `os.forkpty()` or `pty.fork()` may run while other threads are alive",
        "os-fork",
    ),
    Rule(
        "FRK002",
        "multiprocessing-fork-with-threads",
        "A `multiprocessing` process, pool or manager using the 'fork' start method may be "
        "started while other threads are alive",
        "multiprocessing",
    ),
    Rule(
        "FRK003",
        "process-pool-fork-with-threads",
        "A `ProcessPoolExecutor` using the 'fork' start method may fork while other threads "
        "are alive",
        "process-pool",
    ),
    Rule(
        "FRK004",
        "preexec-fn-with-threads",
        "A subprocess with `preexec_fn` may be launched while other threads are alive",
        "preexec-fn",
    ),
    Rule(
        "FRK005",
        "custom-fork-sink-with-threads",
        "A call configured in `fork-sinks` may run while other threads are alive",
        "custom",
    ),
)

# Diagnostics that are not about forks: suppression comments that suppress
# nothing (`rules.unused_noqa`), and files fork-lint could not analyse.
UNUSED_NOQA = Rule(
    "FRK100",
    "unused-noqa",
    "A `# noqa` comment names a fork-lint rule that reports nothing on its line",
    "",
)
SYNTAX_ERROR = Rule("FRK900", "syntax-error", "A file could not be parsed", "")
INTERNAL_ERROR = Rule("FRK999", "internal-error", "fork-lint failed on a file", "")

ALL_RULES: tuple[Rule, ...] = (*RULES, UNUSED_NOQA, SYNTAX_ERROR, INTERNAL_ERROR)
BY_CODE: dict[str, Rule] = {r.code: r for r in ALL_RULES}
BY_SINK_KIND: dict[str, Rule] = {r.sink_kind: r for r in RULES}


def rule_for_sink(kind: str) -> Rule:
    return BY_SINK_KIND[kind]
