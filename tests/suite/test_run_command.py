"""`chatcontract run` end to end: exit codes, reports, redaction, baseline and disabled checks.

Each test points the real command at a plug.dj reference server started here (faithful, or with
one documented fault switched on) through a target file, as a user would.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from chatcontract.servers.serve import RunningServer, start_in_thread, target_document, write_target

FAULT = "unmute-noop"  # servers/plugdj/faults.yaml: caught by the semantic layer
FAILING_ID = "semantics::state-machine"


@pytest.fixture(scope="module")
def faithful() -> Iterator[RunningServer]:
    with start_in_thread("plugdj", test_hooks=True) as server:
        yield server


@pytest.fixture(scope="module")
def faulty() -> Iterator[RunningServer]:
    with start_in_thread("plugdj", test_hooks=True, faults=(FAULT,)) as server:
        yield server


def _target(tmp_path: Path, base_url: str, **extra) -> Path:
    document = {**target_document("plugdj", base_url, test_hooks=True), "name": "lounge", **extra}
    path = tmp_path / "lounge.target.yaml"
    write_target(path, document)
    return path


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--profile", "fast",
                           "--report-dir", str(tmp_path / "reports"), *args],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)


def _secrets(target_file: Path) -> list[str]:
    creds = yaml.safe_load(target_file.read_text())["credentials"]
    return [v for ident in creds.values() for v in ident.values()]


def _all_output(tmp_path: Path, done: subprocess.CompletedProcess) -> str:
    reports = "".join(p.read_text() for p in (tmp_path / "reports").iterdir())
    return done.stdout + done.stderr + reports


def test_a_conformant_target_exits_0_with_all_three_reports(tmp_path: Path, faithful: RunningServer) -> None:
    target = _target(tmp_path, faithful.base_url)
    done = _run(tmp_path, "--target", str(target))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert {p.name for p in (tmp_path / "reports").iterdir()} == {"junit.xml", "results.json", "summary.md"}
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert results["totals"]["pass"] > 10 and results["totals"]["fail"] == 0
    assert results["targets"][0]["credentials"]["moderator"]["session"] == "<redacted>"
    assert not any(secret in _all_output(tmp_path, done) for secret in _secrets(target))


def test_a_deviation_exits_1_and_the_summary_says_what_and_how_to_reproduce(tmp_path: Path, faulty: RunningServer) -> None:
    target = _target(tmp_path, faulty.base_url)
    done = _run(tmp_path, "--target", str(target), "--layer", "semantics")
    assert done.returncode == 1, done.stdout[-2000:]
    summary = (tmp_path / "reports" / "summary.md").read_text()
    # The message is escaped Markdown (text from a target is never markup in the summary).
    assert f"**lounge::{FAILING_ID}**: \\[semantics: unmute then read back\\]" in summary
    assert "curl -sS -X GET" in summary and "session=<redacted>" in summary
    assert "FAIL" in done.stdout  # the terminal matrix
    assert not any(secret in _all_output(tmp_path, done) for secret in _secrets(target))


def test_the_baseline_accepts_a_known_failure_and_refuses_a_stale_entry(tmp_path: Path, faulty: RunningServer) -> None:
    target = _target(tmp_path, faulty.base_url)
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(yaml.safe_dump({"lounge": {FAILING_ID: "unmute bug, ticket 42"}}))
    done = _run(tmp_path, "--target", str(target), "--baseline", str(baseline), "--layer", "semantics")
    assert done.returncode == 0, done.stdout[-2000:]
    stale = {"lounge": {FAILING_ID: "ticket 42", "errors::plugdjMuteUser/4XX/notLoggedIn": "fixed since"}}
    baseline.write_text(yaml.safe_dump(stale))
    done = _run(tmp_path, "--target", str(target), "--baseline", str(baseline), "--layer", "semantics",
                "--layer", "errors")
    assert done.returncode == 1
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    [entry] = [r for r in results if r["behaviour"] == "plugdjMuteUser/4XX/notLoggedIn"]
    assert entry["outcome"] == "fail" and "remove it from the baseline" in entry["message"]


def test_disabled_checks_are_reported_as_disabled_not_passed(tmp_path: Path, faulty: RunningServer) -> None:
    target = _target(tmp_path, faulty.base_url, disabled=[FAILING_ID])
    done = _run(tmp_path, "--target", str(target), "--layer", "semantics")
    assert done.returncode == 0, done.stdout[-2000:]
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert results["totals"]["disabled"] == 1
    assert "## Disabled" in (tmp_path / "reports" / "summary.md").read_text()


def test_an_unreachable_target_exits_3_with_a_one_line_reason(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    target = _target(tmp_path, f"http://127.0.0.1:{port}")
    done = _run(tmp_path, "--target", str(target), "--layer", "errors")
    assert done.returncode == 3
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    assert {r["outcome"] for r in results} == {"error"}
    assert results[0]["message"] == f"target lounge unreachable at http://127.0.0.1:{port}: ConnectError"
    assert "Traceback" not in (tmp_path / "reports" / "summary.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--target", "missing.yaml"], "missing.yaml: cannot read the target file"),
    (["--api", "matrix"], "unknown platform 'matrix'"),
    (["--base-url", "not a url"], "--base-url: base_url 'not a url' contains a space"),
])
def test_bad_configuration_exits_2_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = _run(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
