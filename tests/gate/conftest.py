"""Fixtures of the gate tests: a plug.dj reference server (faithful, or with one fault), a target
file for it written outside the checkout, and the real `chatcontract` / `pytest` commands run as
subprocesses from a folder of the test's own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from chatcontract.servers.serve import RunningServer, start_in_thread, target_document, write_target

REPO = Path(__file__).resolve().parents[2]
FAULT = "error-without-data"  # servers/plugdj/faults.yaml: caught by the errors layer, in many checks


@pytest.fixture(scope="module")
def faithful() -> Iterator[RunningServer]:
    with start_in_thread("plugdj", test_hooks=True) as server:
        yield server


@pytest.fixture(scope="module")
def faulty() -> Iterator[RunningServer]:
    with start_in_thread("plugdj", test_hooks=True, faults=(FAULT,)) as server:
        yield server


def target_file(folder: Path, base_url: str, name: str = "lounge", **extra: Any) -> Path:
    """A target file for a plug.dj reference server, in `folder` (outside the checkout)."""
    path = folder / f"{name}.target.yaml"
    write_target(path, {**target_document("plugdj", base_url, test_hooks=True), "name": name, **extra})
    return path


def command(cwd: Path, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`chatcontract ARGV...` (or `pytest ...` when argv starts with "pytest") run in `cwd`."""
    if argv and argv[0] == "pytest":
        full = [sys.executable, "-m", "pytest", *argv[1:]]
    else:
        full = [sys.executable, "-m", "chatcontract.cli", *argv]
    return subprocess.run(full, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def results(report_dir: Path) -> list[dict[str, Any]]:
    return json.loads((report_dir / "results.json").read_text(encoding="utf-8"))["results"]


def outcomes(report_dir: Path) -> dict[str, str]:
    """Test id -> outcome, from a run's results.json."""
    return {r["id"]: r["outcome"] for r in results(report_dir)}


def said(done: subprocess.CompletedProcess) -> str:
    return done.stdout[-3000:] + done.stderr[-3000:]
