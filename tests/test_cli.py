"""The command line: the main job's exit code, usage errors in one line, `serve` on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from chatcontract import cli

SERVED, EXPECTED = "all", ("rocketchat", "plugdj", "ozeki", "agora", "sendbird")


def test_check_passes_on_the_shipped_specs(capsys) -> None:
    assert cli.main(["check"]) == cli.EXIT_OK
    assert "problem" not in capsys.readouterr().err


def test_inventory_lists_every_operation(capsys) -> None:
    assert cli.main(["inventory"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "operations across 5 platforms" in out and "sendbirdListBlockedUsers" in out


@pytest.mark.parametrize("argv, message", [
    (["check", "--api", "matrix"], "unknown platform 'matrix'"),
    (["serve", "plugdj", "--host", "0.0.0.0"], "not a loopback address"),
    (["serve", "plugdj", "--host", "example"], "is not an IP address"),
    (["serve", "nosuch"], "unknown platform 'nosuch'"),
])
def test_bad_usage_is_one_line_and_exit_2(capsys, argv: list[str], message: str) -> None:
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_serve_writes_target_files_and_answers_on_loopback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatcontract.cli", "serve", SERVED, "--test-hooks", "--write-targets", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("*.target.yaml"))) < len(EXPECTED):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, f"serve {SERVED} did not write {len(EXPECTED)} target files in 30 s"
            time.sleep(0.1)
        time.sleep(0.2)  # the announce lines follow the files
        for target_file in sorted(tmp_path.glob("*.target.yaml")):
            target = yaml.safe_load(target_file.read_text())
            assert target["base_url"].startswith("http://127.0.0.1:")
            assert target["credentials"] and target["fixtures"] and target["capabilities"]["clock"] is True
            caps = httpx.get(target["base_url"] + "/_chatcontract/capabilities", timeout=5)
            assert caps.json() == {"reset": True, "clock": True}
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    for platform in EXPECTED:
        assert platform in out
