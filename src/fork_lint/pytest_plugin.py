"""pytest plugin: fail, or report, tests that fork while other threads are alive.

Off unless asked for with `--fork-lint-runtime[=warn|raise]` or the `fork_lint_runtime` ini
option. Importing this module installs nothing; `-p no:fork_lint` removes it altogether.

* raise: a wrapped fork (os.fork, multiprocessing, ProcessPoolExecutor, preexec_fn) fails with
  `ForkWithThreadsError` in the test; a test that caught that error, or forked through a path
  the guard could only observe, fails when its phase ends.
* warn: the test passes; the hazard is listed in a "fork-lint runtime" terminal summary.

Both name the fork site and where each live thread was started. Tests marked
`fork_lint_allow_fork` fork with threads on purpose and are not checked. Hazards travel in
the reports' `user_properties`, so the summary also works under pytest-xdist.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fork_lint.runtime.hazard import Hazard

MARKER = "fork_lint_allow_fork"
_OPTION = "fork_lint_runtime"
_PROPERTY = "fork_lint_runtime"
_PLUGIN_NAME = "fork-lint-runtime-session"
_MODES = ("warn", "raise", "off")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fork-lint", "fork-lint runtime guard")
    group.addoption(
        "--fork-lint-runtime",
        dest=_OPTION,
        nargs="?",
        const="warn",
        default=None,
        choices=_MODES,
        metavar="MODE",
        help="check every fork for other live threads: warn (default) lists them in the "
        "terminal summary, raise fails the test, off disables. Write "
        "--fork-lint-runtime=MODE, or put paths before the bare flag.",
    )
    parser.addini(
        _OPTION,
        "fork-lint runtime guard for tests: warn, raise or off (default off)",
        default="off",
    )


def _mode(config: pytest.Config, namespace: Any = None) -> str:
    value = getattr(namespace if namespace is not None else config.option, _OPTION, None)
    if value is None:
        value = str(config.getini(_OPTION) or "off")
    mode = value.strip().lower()
    if mode not in _MODES:
        raise pytest.UsageError(f"{_OPTION} = {value!r}: expected warn, raise or off")
    return mode


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Install early, so threads started by conftest.py files are recorded with their site."""
    mode = _mode(early_config, early_config.known_args_namespace)
    if mode != "off":
        _Session.install(early_config, mode)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: this test forks while other threads are alive on purpose; "
        "fork-lint's runtime guard does not check it",
    )
    mode = _mode(config)
    if mode != "off" and not config.pluginmanager.has_plugin(_PLUGIN_NAME):
        _Session.install(config, mode)


class _Session:
    """The plugin's state while it is on: registered as a pytest plugin of its own."""

    @classmethod
    def install(cls, config: pytest.Config, mode: str) -> None:
        from fork_lint.runtime import guard

        session = cls(mode, guard._state.config)
        # warn: report in the summary, not through Python warnings; keep a log if one is set.
        guard.configure(
            "raise" if mode == "raise" else "log",
            os.environ.get(guard.LOG_ENV) or None,
            native_threads=True,
        )
        guard.add_listener(session.on_hazard)
        config.pluginmanager.register(session, _PLUGIN_NAME)
        # CPython 3.12+ warns about the same forks, attributed to the guard's wrapper (the
        # frame that calls the real os.fork): the plugin's report, with both sites, replaces it.
        config.addinivalue_line(
            "filterwarnings",
            r"ignore:This process \(pid=\d+\) is multi-threaded:DeprecationWarning:"
            r"fork_lint\.runtime\.guard",
        )

    def __init__(self, mode: str, previous: Any) -> None:
        self.mode = mode
        self._previous = previous  # the guard's settings before pytest, e.g. from the env
        self._current: list[Hazard] | None = None
        self._outside: list[Hazard] = []  # forks outside any test (collection, session end)
        self._reported: list[tuple[str, dict[str, Any]]] = []

    def on_hazard(self, hazard: Hazard) -> None:
        (self._current if self._current is not None else self._outside).append(hazard)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        from fork_lint.runtime import allow_fork

        self._current = []
        try:
            if item.get_closest_marker(MARKER) is not None:
                with allow_fork():
                    return (yield)
            return (yield)
        finally:
            self._current = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item))

    def _phase(self, item: pytest.Item) -> Generator[None, object, object]:
        start = len(self._current) if self._current is not None else 0
        try:
            result = yield
        finally:
            new = self._current[start:] if self._current is not None else []
            for hazard in new:
                item.user_properties.append((_PROPERTY, json.dumps(hazard.to_json())))
        if new and self.mode == "raise":
            # The fork was refused but the test caught the error, or it could not be refused.
            from fork_lint.runtime.hazard import format_hazard

            pytest.fail("\n\n".join(format_hazard(h) for h in new), pytrace=False)
        return result

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":  # the teardown report carries every phase's properties
            return
        for key, value in report.user_properties:
            if key == _PROPERTY and isinstance(value, str):
                self._reported.append((report.nodeid, json.loads(value)))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from fork_lint.runtime.hazard import Hazard, format_hazard

        entries = [(nodeid, Hazard.from_json(obj)) for nodeid, obj in self._reported]
        entries += [("(outside any test)", hazard) for hazard in self._outside]
        if not entries:
            return
        terminalreporter.section("fork-lint runtime", sep="=", yellow=True)
        for nodeid, hazard in entries:
            text = format_hazard(hazard)
            terminalreporter.line(f"{nodeid}")
            terminalreporter.line("  " + text.replace("\n", "\n  "))
        tests = len({nodeid for nodeid, _ in entries})
        terminalreporter.line(
            f"{len(entries)} fork{'s' if len(entries) != 1 else ''} with other threads alive "
            f"in {tests} test{'s' if tests != 1 else ''}"
        )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from fork_lint.runtime import guard

        guard.remove_listener(self.on_hazard)
        if self._previous is None:
            guard.uninstall()
        else:  # put back what the environment had installed
            guard.configure(
                self._previous.mode, self._previous.log_path, self._previous.native_threads
            )
