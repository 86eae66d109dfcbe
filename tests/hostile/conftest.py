"""Shared pieces of the hostile-target tests: the hostile servers, target files, `chatcontract run`.

A hostile target is the plug.dj platform (the smallest spec) at a hostile server's URL, with a
short `request_timeout_s` and no test hooks (a third-party server has none).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from chatcontract.servers.serve import target_document, write_target
from tests.hostile.servers import HostileServers

PLATFORM = "plugdj"
REQUEST_TIMEOUT_S = 1.0
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/')


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServers]:
    with HostileServers() as servers:
        yield servers


def hostile_target(directory: Path, name: str, base_url: str, platform: str = PLATFORM, **extra: Any) -> Path:
    """A target file for `platform` at `base_url` (the seed's credentials unless `extra` says)."""
    document = {**target_document(platform, base_url, test_hooks=False), "name": name,
                "request_timeout_s": REQUEST_TIMEOUT_S, **extra}
    path = directory / f"{name}.target.yaml"
    write_target(path, document)
    return path


def run_command(cwd: Path, *args: str) -> list[str]:
    """The `chatcontract run` command line a user would type, fast profile, reports under cwd."""
    return [sys.executable, "-m", "chatcontract.cli", "run", "--profile", "fast",
            "--report-dir", str(cwd / "reports"), *args]


def start_run(cwd: Path, *args: str) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(run_command(cwd, *args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def has_traceback(text: str) -> bool:
    return any(marker in text for marker in TRACEBACK_MARKERS)
