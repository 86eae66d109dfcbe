"""The checking proxy: the vendors' SDK tests run through it (every answer of the reference
servers is judged documented, every request the SDK gets wrong is the client's and was refused
with a documented error); with a fault switched on the proxy flags the SDK's own traffic;
`main_proxy` serves, stops and reports; a big body streams through whole and is flagged; an
unreachable target is an error, exit 3; a listen address off loopback is refused."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from chatcontract.servers.serve import start_in_thread, target_document, write_target
from chatcontract.traffic.commands import main_proxy
from chatcontract.traffic.har import read as read_har
from tests.hostile.servers import HUGE_BYTES, HostileServers
from tests.traffic.conftest import load, per_exchange, proxied, settle

ROOT = Path(__file__).resolve().parents[2]
SDK_TESTS = {"sendbird": "tests/servers/test_sendbird_sdk.py", "rocketchat": "tests/servers/test_rocketchat_sdk.py"}

pytestmark = pytest.mark.xdist_group("traffic-proxy")


def _run_sdk_tests(urls: dict[str, str], *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHATCONTRACT_TEST_PROXIES": json.dumps(urls)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.traffic.through_proxy",
                           "-o", "addopts=", *files], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_sdk_tests_pass_through_the_proxy_and_every_answer_is_documented() -> None:
    servers = {p: start_in_thread(p, test_hooks=True) for p in SDK_TESTS}
    try:
        proxies = {p: proxied(servers[p], p) for p in SDK_TESTS}
        for proxy, _, _ in proxies.values():
            proxy.start()
        done = _run_sdk_tests({p: proxies[p][0].url for p in SDK_TESTS}, *SDK_TESTS.values())
        for platform, (proxy, session, lines) in proxies.items():
            settle(session)
            proxy.stop()
    finally:
        for server in servers.values():
            server.stop()
    assert done.returncode == 0, done.stdout[-3000:]
    for platform, (_, session, lines) in proxies.items():
        results = session.recorder.results
        checked = [r for r in per_exchange(results) if r["operation_id"]]
        assert len(checked) >= 15, f"{platform}: only {len(checked)} exchanges reached the proxy"
        assert len(lines) == len(results)
        # The server's side: every answer documented.
        assert all(r["behaviours"]["traffic: responses as documented (the server's side)"] == "pass" for r in checked), \
            [r["message"] for r in checked if r["side"] in ("server", "both")]
        # The client's side: the SDK tests that send a bad request on purpose are caught, each refused
        # by the server with a documented 4xx; the rest of the exchanges are clean.
        clients = [r for r in checked if r["side"] == "client"]
        assert all(400 <= r["exchange"]["status"] < 500 for r in clients)
        assert all(r["message"].startswith("request problem (the client's, not the server's)") for r in clients)
        assert all(r["outcome"] == "pass" for r in checked if r["side"] == "")
        unmatched = [r for r in results if not r["operation_id"]]
        # The moderation model followed the SDK's own sequences: nothing it judged failed.
        assert all(r["outcome"] in ("pass", "skip") for r in results if r not in per_exchange(results))
        assert all(r["outcome"] == "skip" and "/_chatcontract/" in r["message"] for r in unmatched)  # the reset hook
    sendbird = [r["message"] for r in proxies["sendbird"][1].recorder.results if r["side"] == "client"]
    assert any("query parameter limit = '0'" in m for m in sendbird)  # test_limit_out_of_range_raises_400113
    assert any("request body is required" in m for m in sendbird)  # test_block_without_a_request_object_raises_400105
    rocketchat = [r["message"] for r in proxies["rocketchat"][1].recorder.results if r["side"] == "client"]
    assert any("query parameter x is not documented" in m for m in rocketchat)  # test_unencoded_query_value_becomes_...


@pytest.mark.parametrize("platform, fault, operation", [
    ("sendbird", "list-users-renamed", "sendbirdListBlockedUsers"),
    ("rocketchat", "success-renamed", "rocketchatIgnoreUser"),
])
def test_a_schema_fault_is_flagged_from_the_sdks_own_traffic(platform: str, fault: str, operation: str) -> None:
    with start_in_thread(platform, test_hooks=True, faults=(fault,)) as server:
        proxy, session, lines = proxied(server, platform)
        with proxy:
            _run_sdk_tests({platform: proxy.url}, SDK_TESTS[platform])
            settle(session)
    flagged = [r for r in session.recorder.results if r["outcome"] == "fail" and r["side"] in ("server", "both")]
    assert flagged and {r["operation_id"] for r in flagged} == {operation}
    assert all("body does not match the spec" in r["message"] for r in flagged)
    assert any(line.startswith(f"FAIL proxied-{platform}::traffic::") for line in lines)


@pytest.mark.parametrize("platform, fault, operation", [
    ("sendbird", "block-not-recorded", "sendbirdListBlockedUsers"),
    ("sendbird", "unblock-noop", "sendbirdListBlockedUsers"),
    ("rocketchat", "ignore-not-recorded", "rocketchatGetSubscription"),
])
def test_a_semantic_fault_is_flagged_from_the_sdks_own_traffic(platform: str, fault: str, operation: str) -> None:
    """Every answer is as documented; only the sequence shows that the server did not keep a
    write: the moderation model flags it from the SDK's own calls (its tests fail too)."""
    with start_in_thread(platform, test_hooks=True, faults=(fault,)) as server:
        proxy, session, lines = proxied(server, platform)
        with proxy:
            _run_sdk_tests({platform: proxy.url}, SDK_TESTS[platform])
            settle(session)
    results = session.recorder.results
    assert all(r["outcome"] != "fail" or r["side"] == "client" for r in per_exchange(results))
    flagged = [r for r in results if r["outcome"] == "fail" and r not in per_exchange(results)]
    assert flagged and {r["operation_id"] for r in flagged} == {operation}, [r["message"] for r in flagged]
    assert all(r["side"] == "server" and r["message"].startswith("[semantics: ") for r in flagged)
    assert any(line.startswith(f"FAIL proxied-{platform}::traffic::") and f"{operation}/semantics: [semantics: " in line
               for line in lines)


def _serve_in_thread(tmp_path: Path, target: Path, **kwargs) -> tuple[threading.Thread, dict, io.StringIO, io.StringIO]:
    out, err, state = io.StringIO(), io.StringIO(), {}
    ready = threading.Event()

    def run() -> None:
        state["code"] = main_proxy(target, stdout=out, stderr=err, report_dir=tmp_path / "reports",
                                   ready=lambda url: (state.update(url=url), ready.set()), **kwargs)
        ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(20), err.getvalue()
    return thread, state, out, err


def test_main_proxy_stops_after_max_exchanges_and_writes_the_reports(tmp_path: Path) -> None:
    with start_in_thread("plugdj", test_hooks=True) as server:
        target = tmp_path / "plugdj.target.yaml"
        write_target(target, {**target_document("plugdj", server.base_url, True), "name": "plugdj-live"})
        thread, state, out, err = _serve_in_thread(tmp_path, target, max_exchanges=3, record=tmp_path / "live.har")
        token = target_document("plugdj", server.base_url, True)["credentials"]["moderator"]
        cookies = {k: str(v) for k, v in token.items()}
        with httpx.Client(base_url=state["url"], cookies=cookies, trust_env=False) as client:
            answers = [client.get("/_/mutes").status_code for _ in range(3)]
        thread.join(20)
    assert not thread.is_alive() and state["code"] == 0, err.getvalue()
    assert answers == [200, 200, 200]
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("proxy for plugdj-live (http://127.0.0.1:") and lines[0].endswith(state["url"])
    # Each exchange's verdict, and the mute model's on the two lists after the first (nothing muted, none
    # listed), each once the next exchange showed that nothing ran beside it (the last one at the end).
    assert [l.split(" ")[1] for l in lines[1:-1]] == [
        "plugdj-live::traffic::0:plugdjListMutes", "plugdj-live::traffic::1:plugdjListMutes",
        "plugdj-live::traffic::2:plugdjListMutes", "plugdj-live::traffic::1:plugdjListMutes/semantics",
        "plugdj-live::traffic::2:plugdjListMutes/semantics"]
    assert {l.split(" ")[0] for l in lines[1:-1]} == {"pass"} and lines[-1].startswith("3 exchanges: 5 pass, 0 fail")
    document = load(tmp_path / "reports" / "results.json")
    assert [r["id"] for r in per_exchange(document["results"])] == [
        f"plugdj-live::traffic::{i}:plugdjListMutes" for i in range(3)]
    assert len(read_har(tmp_path / "live.har")) == 3


def test_main_proxy_stops_after_its_duration(tmp_path: Path) -> None:
    target = tmp_path / "t.target.yaml"
    write_target(target, target_document("sendbird", "http://127.0.0.1:9", False))
    started = time.monotonic()
    thread, state, out, err = _serve_in_thread(tmp_path, target, duration_s=0.5)
    thread.join(20)
    assert state["code"] == 0 and 0.5 <= time.monotonic() - started < 15
    assert out.getvalue().splitlines()[-1].startswith("0 exchanges")


def test_an_unreachable_target_is_a_502_and_an_error_exit_3(tmp_path: Path) -> None:
    target = tmp_path / "t.target.yaml"
    write_target(target, {**target_document("sendbird", "http://127.0.0.1:9", False), "request_timeout_s": 2})
    thread, state, out, err = _serve_in_thread(tmp_path, target, max_exchanges=1)
    answer = httpx.get(state["url"] + "/v3/users/alice/block", trust_env=False, timeout=10)
    thread.join(20)
    assert answer.status_code == 502 and state["code"] == 3
    [result] = load(tmp_path / "reports" / "results.json")["results"]
    assert result["outcome"] == "error" and "no answer from the target: ConnectError" in result["message"]


def test_a_huge_body_streams_through_whole_and_is_flagged(tmp_path: Path) -> None:
    with HostileServers(kinds=("huge-chunked",)) as hostile:
        target = tmp_path / "t.target.yaml"
        write_target(target, target_document("plugdj", hostile.url("huge-chunked"), False))
        thread, state, out, err = _serve_in_thread(tmp_path, target, max_exchanges=1)
        with httpx.stream("GET", state["url"] + "/_/mutes", trust_env=False, timeout=60) as answer:
            size = sum(len(chunk) for chunk in answer.iter_raw())
        thread.join(30)
    assert size == HUGE_BYTES + 15 and state["code"] == 1
    [result] = load(tmp_path / "reports" / "results.json")["results"]
    assert "more than the 2 MiB chatcontract reads" in result["message"]


@pytest.mark.parametrize("listen, says", [("0.0.0.0:8080", "not a loopback address"), ("127.0.0.1:http", "must be a number"),
                                          ("localhost:80", "not an IP address")])
def test_a_bad_listen_address_is_one_line_and_exit_2(tmp_path: Path, listen: str, says: str) -> None:
    target = tmp_path / "t.target.yaml"
    write_target(target, target_document("sendbird", "http://127.0.0.1:9", False))
    out, err = io.StringIO(), io.StringIO()
    assert main_proxy(target, listen, report_dir=tmp_path / "r", stdout=out, stderr=err) == 2
    assert len(err.getvalue().splitlines()) == 1 and says in err.getvalue() and out.getvalue() == ""


def test_a_bad_target_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "t.target.yaml"
    target.write_text("api: nosuch\n")
    err = io.StringIO()
    assert main_proxy(target, report_dir=tmp_path / "r", stdout=io.StringIO(), stderr=err) == 2
    assert len(err.getvalue().splitlines()) == 1


def test_a_verdict_line_carries_no_control_byte_a_server_sent(tmp_path: Path) -> None:
    """A body full of terminal escapes (clear screen, bell, NUL) is quoted escaped, on one line."""
    with HostileServers(kinds=("control-bytes",)) as hostile:
        target = tmp_path / "t.target.yaml"
        write_target(target, target_document("sendbird", hostile.url("control-bytes"), False))
        thread, state, out, err = _serve_in_thread(tmp_path, target, max_exchanges=1)
        httpx.get(state["url"] + "/v3/users/alice/block", trust_env=False, timeout=10)
        thread.join(20)
    assert state["code"] == 1
    [verdict] = [l for l in out.getvalue().splitlines() if l.startswith("FAIL ")]
    assert "\\x1b[2J" in verdict and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in out.getvalue().replace("\n", ""))
