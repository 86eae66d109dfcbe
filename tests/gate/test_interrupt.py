"""An interrupted run says so: Ctrl-C exits 130, SIGTERM 143, and every report (terminal,
results.json, summary.md, junit.xml, the docs site) says INTERRUPTED with how many checks ran
of how many, so a partial report can never pass for a whole one (issue 13 item 2)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.gate.conftest import command, target_file


def _interrupted(cwd: Path, argv: list[str], sig: signal.Signals, *, group: bool) -> tuple[int, str]:
    """Run `chatcontract ARGV`, send `sig` once the first check has finished (pytest's progress
    shows it), and return (exit code, stderr). `group`: to the whole process group, as a
    terminal's Ctrl-C does (xdist workers too); else to the chatcontract process alone, as a CI
    runner's timeout does."""
    process = subprocess.Popen([sys.executable, "-m", "chatcontract.cli", *argv], cwd=cwd, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""  # pytest -q writes a character per finished check, the line only when full
        while not re.fullmatch(r"[.sFEx]+", line):  # progress marks only ("bringing up nodes..." is no check)
            char = process.stdout.read(1)
            assert char, f"the run ended before any check finished: {process.stderr.read()[-2000:]}"
            line = "" if char == "\n" else line + char
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
        _, err = process.communicate(timeout=120)
        return process.returncode, err
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def _slow_front(base_url: str, delay_s: float = 0.25) -> Iterator[str]:
    """A loopback front for `base_url` that passes every request on and answers `delay_s` late:
    a target whose checks cannot all finish before the signal, however late this test's process
    is scheduled (a check sends tens of requests). Hand-written: a dozen lines of the standard
    library, where a proxy package would be a new dependency for one test."""
    backend = base_url.removeprefix("http://")

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(delay_s)
            upstream = http.client.HTTPConnection(backend, timeout=30)
            try:
                upstream.request(self.command, self.path, body=body or None, headers=dict(self.headers.items()))
                answer = upstream.getresponse()
                payload = answer.read()
            finally:
                upstream.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward

        def log_message(self, *_args) -> None:  # quiet: the test's output is the run's
            pass

    front = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    front.daemon_threads = True
    thread = threading.Thread(target=front.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{front.server_address[1]}"
    finally:
        front.shutdown()
        front.server_close()


def _assert_reports_say_interrupted(report_dir: Path) -> None:
    document = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    ran, planned = len(document["results"]), document["checks_planned"]
    assert document["interrupted"] is True
    assert 0 < planned and ran < planned, (ran, planned)
    sentence = f"INTERRUPTED: the run was stopped after {ran} of {planned} checks"
    assert sentence in (report_dir / "summary.md").read_text(encoding="utf-8").split("\n\n")[1]
    errors = [e for e in ET.parse(report_dir / "junit.xml").iter("error") if e.get("message", "").startswith(sentence)]
    assert len(errors) == 1, "junit.xml must carry the interruption as an error CI viewers show"


def test_ctrl_c_under_xdist_exits_130_and_every_report_says_interrupted(faithful, tmp_path: Path) -> None:
    report_dir = tmp_path / "reports"
    # One target answers at once, so a check finishes and the signal is sent; the other answers
    # every request late, so the run is still going when the signal lands, on a loaded machine too
    # (with two quick targets, even the thorough profile's run once ended first: exit 0).
    with _slow_front(faithful.base_url) as slow_url:
        targets = [target_file(tmp_path, faithful.base_url, "lounge"), target_file(tmp_path, slow_url, "annex")]
        code, err = _interrupted(tmp_path, ["run", *[a for t in targets for a in ("--target", str(t))],
                                            "--layer", "schema", "-j", "2", "--report-dir", str(report_dir)],
                                 signal.SIGINT, group=True)
    assert code == 130, err[-2000:]
    assert "chatcontract: INTERRUPTED: the run was stopped after" in err
    _assert_reports_say_interrupted(report_dir)
    site = tmp_path / "site"
    built = command(tmp_path, "docs", "--results", str(report_dir / "results.json"), "--out", str(site))
    assert built.returncode == 0, built.stderr
    assert "INTERRUPTED: the run was stopped after" in (site / "index.html").read_text(encoding="utf-8")


def test_sigterm_exits_143_with_the_partial_reports(faithful, tmp_path: Path) -> None:
    report_dir = tmp_path / "reports"
    # The thorough profile: a run that cannot end before the signal lands, even when this test's
    # process is scheduled late on a loaded machine (the default profile's 22 checks can finish
    # in ~1.5 s, and once did before the signal arrived: no interruption left to report).
    code, err = _interrupted(tmp_path, ["run", "--target", str(target_file(tmp_path, faithful.base_url)),
                                        "--profile", "thorough", "--report-dir", str(report_dir)],
                             signal.SIGTERM, group=False)
    assert code == 143, err[-2000:]
    _assert_reports_say_interrupted(report_dir)


def test_merged_shards_stay_interrupted_with_the_planned_total(tmp_path: Path) -> None:
    """A merge of an interrupted shard is interrupted too, counted against every shard's plan."""
    from chatcontract.merge import merge
    from chatcontract.suite.reports import interruption

    base = {"tool": "chatcontract", "profile": "default", "finished_at": "2026-12-02T00:00:00Z", "targets": [],
            "totals": {}}
    shard = {"count": 2, "by": "target", "plan": "p1", "all_units": ["a", "b"]}
    whole = {**base, "results": [], "checks_planned": 3, "shard": {**shard, "index": 1, "units": ["a"]}}
    stopped = {**base, "results": [], "checks_planned": 4, "interrupted": True, "shard": {**shard, "index": 2, "units": ["b"]}}
    merged = merge([(tmp_path / "one.json", whole), (tmp_path / "two.json", stopped)])
    assert interruption(merged).startswith("INTERRUPTED: the run was stopped after 0 of 7 checks")
