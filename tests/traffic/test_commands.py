"""The traffic commands as a user types them: `chatcontract proxy` in front of a reference server,
recording what a client sends through it, then `chatcontract check-traffic` on that recording;
both exit 0 on a faithful server, and a faulty server is flagged from the same client traffic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatcontract.servers.serve import start_in_thread, target_document, write_target
from chatcontract.targets import load_target
from chatcontract.suite.wire import Wire, base_call
from tests.traffic.conftest import per_exchange

pytestmark = pytest.mark.xdist_group("traffic-commands")


def chatcontract(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chatcontract.cli", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


@pytest.mark.parametrize("fault, expected", [(None, 0), ("list-without-meta", 1)])
def test_proxy_records_and_check_traffic_rechecks(fault: str | None, expected: int, tmp_path: Path) -> None:
    with start_in_thread("plugdj", test_hooks=True, faults=(fault,) if fault else ()) as server:
        target_file = tmp_path / "lounge.target.yaml"
        write_target(target_file, {**target_document("plugdj", server.base_url, test_hooks=True), "name": "lounge"})
        proxy = chatcontract("proxy", "--target", str(target_file), "--max-exchanges", "3", "--record", "seen.har",
                             "--report-dir", "proxy-reports", cwd=tmp_path)
        first = proxy.stdout.readline()
        assert first.startswith("proxy for lounge"), first + proxy.stderr.read()
        url = first.rsplit(" on ", 1)[1].strip()
        target = load_target(target_file, base_url=url)
        wire = Wire(target)
        try:
            for operation in ("plugdjListMutes", "plugdjMuteUser", "plugdjListMutes"):
                wire.send(base_call(target, operation))
        finally:
            wire.close()
        out, err = proxy.communicate(timeout=60)
        assert proxy.returncode == expected, out + err
        live = json.loads((tmp_path / "proxy-reports" / "results.json").read_text())["results"]
        outcomes = [r["outcome"] for r in per_exchange(live)]
        assert outcomes == (["fail", "pass", "fail"] if fault else ["pass"] * 3)  # the two lists lack `meta`
        # The mute model: the moderator's mute answered as documented and the list after it shows
        # the mute; with the lists undocumented, it judges nothing.
        assert [(r["behaviour"], r["outcome"]) for r in live if r not in per_exchange(live)] == (
            [] if fault else [("1:plugdjMuteUser/semantics", "pass"), ("2:plugdjListMutes/semantics", "pass")])
    check = chatcontract("check-traffic", "seen.har", "--api", "plugdj", "--report-dir", "har-reports", cwd=tmp_path)
    out, err = check.communicate(timeout=120)
    assert check.returncode == expected, out + err
    results = json.loads((tmp_path / "har-reports" / "results.json").read_text())["results"]
    assert len(per_exchange(results)) == 3
    if fault:
        assert [r["operation_id"] for r in results if r["outcome"] == "fail"] == ["plugdjListMutes"] * 2


def test_a_malformed_har_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "broken.har").write_text('{"log": {"entries": [}')
    check = chatcontract("check-traffic", "broken.har", "--api", "plugdj", cwd=tmp_path)
    out, err = check.communicate(timeout=60)
    assert check.returncode == 2 and len(err.strip().splitlines()) == 1 and "broken.har" in err


def test_run_record_writes_a_har_per_target_that_check_traffic_passes(tmp_path: Path) -> None:
    with start_in_thread("plugdj", test_hooks=True) as server:
        document = {**target_document("plugdj", server.base_url, test_hooks=True), "name": "lounge"}
        write_target(tmp_path / "lounge.target.yaml", document)
        run = chatcontract("run", "--target", "lounge.target.yaml", "--profile", "fast", "--record", "har",
                           "--report-dir", "reports", cwd=tmp_path)
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, out[-2000:] + err
    sent = json.loads((tmp_path / "reports" / "results.json").read_text())["requests_sent"]
    recording = tmp_path / "har" / "lounge.har"
    entries = json.loads(recording.read_text())["log"]["entries"]
    assert 0 < len(entries) <= sent  # every exchange with the target (the test hooks' calls among them)
    text = recording.read_text()
    for identity in document["credentials"].values():
        for secret in identity.values():
            assert secret not in text, "a credential in the recording"
    check = chatcontract("check-traffic", str(recording), "--api", "plugdj", "--report-dir", "checked", cwd=tmp_path)
    out, err = check.communicate(timeout=300)
    assert check.returncode == 0, out[-2000:] + err
    # The mute model re-judged the run's own sequences from the recording: some reads held, none failed.
    assert "/semantics" in out and "FAIL" not in out
    assert any(line.startswith("pass lounge::traffic::") and line.endswith("/semantics") for line in out.splitlines()), out[-3000:]
    assert any(":unmatched" in line and "_chatcontract/" in line for line in out.splitlines()), out[-2000:]  # the hooks


def test_run_record_against_a_reference_server_keeps_one_sequence_per_target(tmp_path: Path) -> None:
    # A reference server's layers may run on different workers, each with its own server; a
    # recording must stay one server's sequence, written by one worker (two would overwrite it).
    run = chatcontract("run", "--api", "plugdj", "--profile", "fast", "--record", "har", "--report-dir", "reports",
                       cwd=tmp_path)
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, out[-2000:] + err
    sent = json.loads((tmp_path / "reports" / "results.json").read_text())["requests_sent"]
    entries = json.loads((tmp_path / "har" / "plugdj.har").read_text())["log"]["entries"]
    assert len(entries) == sent, f"{len(entries)} exchanges recorded of {sent} sent"
    check = chatcontract("check-traffic", "har/plugdj.har", "--api", "plugdj", "--report-dir", "checked", cwd=tmp_path)
    out, err = check.communicate(timeout=300)
    assert check.returncode == 0 and "FAIL" not in out, out[-2000:] + err
