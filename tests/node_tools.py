"""The Node tools the tests use (Redocly CLI, playwright-core), installed on demand with `npm ci`
from the pinned package-lock.json; one install at a time, since pytest-xdist workers share the
checkout's node_modules."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def installed(marker: Path, what: str) -> Path:
    """`marker` (a file of the tool under node_modules), after `npm ci` if it is missing."""
    if marker.exists():
        return marker
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is not on PATH: {what} needs node and npm (see README)")
    with open(REPO / "package-lock.json", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                                  cwd=REPO, capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not marker.exists():
                pytest.fail(f"`npm ci` could not install {what}: {done.stderr.strip()[-500:]}")
    return marker
