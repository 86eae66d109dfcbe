"""Fixtures for the docs site tests: Chromium and playwright-core installed on demand, a real
conformance run with a failing result, the site built from it, and a browser that reads it.

Chromium is Debian's package (`apt-get install -y chromium`, we run as root); playwright-core is
pinned in package-lock.json and installed with `npm ci`, like the Redocly CLI of tests/specs.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from chatcontract import cli
from chatcontract.servers.serve import start_in_thread, target_document, write_target
from tests import node_tools

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
BROWSE = Path(__file__).with_name("browse.mjs")
# The fault whose failure the site must show, and the operation it belongs to.
FAULT_PLATFORM, FAULT, FAULT_OPERATION = "plugdj", "reason-not-required", "plugdjMuteUser"


def _run(argv: list[str], timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed once with apt-get if it is not there yet."""
    if not CHROMIUM.exists():
        if shutil.which("apt-get") is None:
            pytest.fail("Chromium is missing and apt-get is not available: install Debian's `chromium` package")
        install = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "chromium"]
        done = _run(install, 900)
        if done.returncode != 0:  # an old or empty package list: refresh it once and retry
            _run(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=300"], 600)
            done = _run(install, 900)
        if done.returncode != 0 or not CHROMIUM.exists():
            pytest.fail(f"`apt-get install -y chromium` failed: {done.stderr.strip()[-500:]}")
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_core() -> Path:
    """playwright-core as pinned in package-lock.json, installed with `npm ci` if missing."""
    return node_tools.installed(REPO / "node_modules" / "playwright-core" / "package.json", "the docs browser test").parent


@pytest.fixture(scope="session")
def once(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[Path], None]], Path]:
    """`once(name, make)`: the folder `make` filled, made by one pytest-xdist worker and shared
    with the others (the xdist docs' pattern: a lock in the run's common temporary folder)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    shared = root / "docs-shared"
    shared.mkdir(exist_ok=True)

    def get(name: str, make: Callable[[Path], None]) -> Path:
        folder = shared / name
        with open(shared / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (shared / f"{name}.done").exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                make(folder)
                (shared / f"{name}.done").touch()
        return folder

    return get


def _plugdj_run(work: Path, report: Path, faults: tuple[str, ...]) -> Path:
    """A real run of the documented-error layer against the plug.dj reference server (target
    named "plugdj" whatever the folder), with `faults` switched on; returns its results.json."""
    work.mkdir(parents=True, exist_ok=True)
    with start_in_thread(FAULT_PLATFORM, test_hooks=True, faults=faults) as server:
        target = work / f"{FAULT_PLATFORM}.target.yaml"
        write_target(target, target_document(FAULT_PLATFORM, server.base_url, test_hooks=True))
        done = subprocess.run(
            [sys.executable, "-m", "chatcontract.cli", "run", "--target", str(target), "--layer", "errors",
             "--profile", "fast", "--report-dir", str(report)],
            capture_output=True, text=True, timeout=300, cwd=work,
        )
    results = report / "results.json"
    expected = cli.EXIT_FAILED if faults else cli.EXIT_OK
    assert done.returncode == expected and results.exists(), done.stdout[-1500:] + done.stderr[-1500:]
    return results


def _failing_run(work: Path) -> None:
    _plugdj_run(work, work / "report", (FAULT,))


# The series of runs behind the side-by-side and history tests: one deployment that passed, broke
# (FAULT switched on) and was fixed, each run in a folder named after it, in that order in time.
SERIES = (("1-before", ()), ("2-broken", (FAULT,)), ("3-fixed", ()))


def _series(work: Path) -> None:
    for label, faults in SERIES:
        _plugdj_run(work / "work" / label, work / "runs" / label, faults)
        # finished_at is to the second, and a fast errors-layer run takes under one: without the
        # wait, two runs of the series once had the same finished_at, so their order in time was
        # their names' (history sorts a tie by label) rather than the order they ran in.
        time.sleep(1.0 - time.time() % 1.0 + 0.01)


@pytest.fixture(scope="session")
def failing_results(once) -> Path:
    """results.json of a real run: the documented-error layer against the plug.dj reference
    server with a fault switched on, so the run has a failure on FAULT_OPERATION."""
    return once("failing-run", _failing_run) / "report" / "results.json"


@pytest.fixture(scope="session")
def series(once) -> Path:
    """A folder of three real, dated runs of one target named "plugdj" (see SERIES):
    runs/<label>/results.json."""
    return once("series", _series) / "runs"


@pytest.fixture(scope="session")
def site(once, failing_results: Path) -> Path:
    """The site built from the real specs and the failing run."""
    def build(out: Path) -> None:
        assert cli.main(["docs", "--out", str(out), "--results", str(failing_results)]) == cli.EXIT_OK
    return once("site", build)


@pytest.fixture(scope="session")
def browse(chromium: Path, playwright_core: Path) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """Open pages in headless Chromium (see browse.mjs); returns what the browser saw."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the docs browser test needs node (see README)")

    def run(pages: list[dict[str, Any]]) -> dict[str, Any]:
        done = subprocess.run([node, str(BROWSE), json.dumps({"pages": pages})], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"browse.mjs failed: {done.stderr[-2000:]}"
        return json.loads(done.stdout)

    return run
