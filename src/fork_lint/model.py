"""Plain data passed between the stages: findings, their locations and witness paths.

Everything here is immutable and JSON-friendly so reporters, the cache and the
flake8 plugin can share it without knowing how it was computed.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Span:
    """A source range. Lines are 1-based; columns are 0-based character offsets."""

    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True, order=True)
class Location:
    path: str  # as given on the command line / relative to the working directory
    span: Span


@dataclass(frozen=True)
class Hop:
    """One step of a witness path: code in `function` at `location` does `description`."""

    function: str  # qualified name of the function the step happens in, e.g. "pkg.mod.Class.meth"
    location: Location
    description: str  # e.g. "calls `run_jobs()`", "starts a thread: `threading.Thread.start()`"
    # Why the call reaches the next step's function, e.g. "method `run` in the MRO
    # of the receiver, an instance of `pkg.Job`"; empty for the last step.
    why: str = ""


@dataclass(frozen=True)
class Witness:
    """Why a thread may be alive when the sink runs.

    `thread_path` leads from `anchor` to the place a thread is started; `fork_path`
    leads from `anchor` to the sink. The last hop of `thread_path` is the thread
    source, the last hop of `fork_path` is the sink itself.
    """

    anchor: str  # qualified name of the frame both paths start from
    reason: str  # one sentence: why the thread is alive at the fork
    thread_source: str  # catalogue name of the thread source, e.g. "threading.Thread.start"
    thread_path: tuple[Hop, ...]
    fork_path: tuple[Hop, ...]

    @property
    def thread_start(self) -> Location:
        return self.thread_path[-1].location


class Applicability(enum.Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True)
class Edit:
    path: str
    span: Span
    content: str


@dataclass(frozen=True)
class Fix:
    message: str
    applicability: Applicability
    edits: tuple[Edit, ...] = ()


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    code: str  # "FRK001"
    name: str  # kebab-case rule name
    message: str
    location: Location
    sink: str  # catalogue name of the sink, e.g. "os.fork"
    witness: Witness | None = None
    fix: Fix | None = None
    severity: Severity = Severity.ERROR
    # The enclosing function of the sink; used for fingerprints that survive line moves.
    function: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def path(self) -> str:
        return self.location.path

    @property
    def fixable(self) -> bool:
        return self.fix is not None and self.fix.applicability is Applicability.SAFE

    def fixable_with(self, *, unsafe: bool) -> bool:
        """Would `--fix` apply this finding's fix (with `--unsafe-fixes` if ``unsafe``)?"""
        return self.fixable or (
            unsafe and self.fix is not None and self.fix.applicability is Applicability.UNSAFE
        )

    def fingerprint(self, source_line: str = "") -> str:
        """Stable id: rule, file, enclosing function, sink and the stripped sink line.

        Line numbers are left out on purpose so that unrelated edits above the
        finding do not change it.
        """
        text = "\x00".join(
            (self.code, self.location.path, self.function, self.sink, source_line.strip())
        )
        # A path that is not UTF-8 holds lone surrogates (surrogateescape).
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def sort_key(self) -> tuple[str, int, int, str]:
        s = self.location.span
        return (self.location.path, s.line, s.col, self.code)
