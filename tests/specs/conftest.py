"""Fixtures for the spec self-checks: the platform list, and the Redocly CLI installed on demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcontract import specs
from tests import node_tools

REPO = Path(__file__).resolve().parents[2]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "platform" in metafunc.fixturenames:
        metafunc.parametrize("platform", specs.platforms())


@pytest.fixture(scope="session")
def redocly() -> Path:
    """The Redocly CLI pinned in package-lock.json, installed with `npm ci` if it is not there yet."""
    return node_tools.installed(REPO / "node_modules" / ".bin" / "redocly", "the Redocly lint")
