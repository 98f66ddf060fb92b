"""Test-wide settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _cache_key_outside_the_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The cache's per-user key goes to a directory of the test session, not to the
    real ~/.cache (subprocesses inherit the variable)."""
    previous = os.environ.get("FORK_LINT_KEY_FILE")
    os.environ["FORK_LINT_KEY_FILE"] = str(tmp_path_factory.mktemp("fork-lint-key") / "key")
    yield
    if previous is None:
        os.environ.pop("FORK_LINT_KEY_FILE", None)
    else:
        os.environ["FORK_LINT_KEY_FILE"] = previous
