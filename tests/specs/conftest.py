"""Fixtures for the spec self-checks: the platform list, and the Redocly CLI installed on demand."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from chatcontract import specs

REPO = Path(__file__).resolve().parents[2]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "platform" in metafunc.fixturenames:
        metafunc.parametrize("platform", specs.platforms())


@pytest.fixture(scope="session")
def redocly() -> Path:
    """The Redocly CLI pinned in package-lock.json, installed with `npm ci` if it is not there yet."""
    binary = REPO / "node_modules" / ".bin" / "redocly"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not on PATH: the Redocly lint needs node and npm (see README)")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=REPO, capture_output=True, text=True, timeout=600,
        )
        if done.returncode != 0 or not binary.exists():
            pytest.fail(f"`npm ci` could not install the Redocly CLI: {done.stderr.strip()[-500:]}")
    return binary
