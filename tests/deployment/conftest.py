"""Print the deployment test's figures at the end of the run, whether or not pytest captures
output (``-s`` or not), so that CI's log shows them."""

from __future__ import annotations

import json
from typing import Any

import pytest

FIGURES = pytest.StashKey[dict[str, Any]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    figures = config.stash.get(FIGURES, None)
    if figures is not None:
        terminalreporter.section("deployment figures")
        terminalreporter.write_line(json.dumps(figures, indent=2, ensure_ascii=False))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """What the test measured; printed in the terminal summary."""
    found: dict[str, Any] = {}
    request.config.stash[FIGURES] = found
    return found
