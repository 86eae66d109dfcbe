"""The suite's wire against hostile servers, in-process: every exchange ends, big bodies are refused,
redirects stay unfollowed, and a target's reachability is told in one line.

`guarded_client` is what the errors and semantics layers send with; `guarded_session` is what the
schema layer (schemathesis, which speaks requests) sends with; `probe` is the reachability check.
The bounds below are many times the 1 s budget: without the total-time limit a dripping server
never lets the call end at all.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

import pytest
import requests

from chatcontract.servers.serve import target_document
from chatcontract.suite.guarded import ResponseTooLarge, TotalTimeout, guarded_client, guarded_session, probe
from chatcontract.targets import from_document
from tests.hostile.servers import HostileServers

BUDGET_S = 1.0
ENDS_WITHIN_S = 8 * BUDGET_S


@pytest.fixture(scope="module")
def servers() -> Iterator[HostileServers]:
    with HostileServers() as running:
        yield running


def _timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - the test inspects whatever ended the call
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("kind", ["silent", "drip", "drip-body", "drip-api"])
def test_a_slow_or_dripping_answer_ends_within_the_budget(servers: HostileServers, kind: str) -> None:
    with guarded_client(BUDGET_S) as client:
        problem, took = _timed(lambda: client.get(servers.url(kind) + "/_/mutes"))
    assert isinstance(problem, TotalTimeout), problem
    assert took < ENDS_WITHIN_S
    assert str(problem) == "GET /_/mutes: no complete response within 1 s, the target's request_timeout_s"


@pytest.mark.parametrize("kind", ["drip", "drip-body"])
def test_the_schema_layers_session_is_bounded_too_and_stops_after_a_timeout(servers: HostileServers, kind: str) -> None:
    session = guarded_session()
    try:
        first, took = _timed(lambda: session.get(servers.url(kind) + "/_/mutes", timeout=BUDGET_S))
        assert isinstance(first, requests.Timeout) and "no complete response within 1 s" in str(first)
        assert took < ENDS_WITHIN_S
        # Later calls of the same check fail at once with the same timeout instead of waiting again.
        later = [_timed(lambda: session.post(servers.url(kind) + "/_/mutes", timeout=BUDGET_S)) for _ in range(5)]
        assert all(isinstance(exc, requests.Timeout) for exc, _ in later)
        assert sum(t for _, t in later) < BUDGET_S
    finally:
        session.close()


@pytest.mark.parametrize("kind", ["huge", "huge-chunked"])
def test_a_body_over_the_limit_is_refused_as_a_deviation(servers: HostileServers, kind: str) -> None:
    with guarded_client(10) as client:
        with pytest.raises(ResponseTooLarge, match=r"^GET /_/mutes sent a response body of .* more than the 2 MiB") as caught:
            client.get(servers.url(kind) + "/_/mutes")
    assert isinstance(caught.value, AssertionError)  # reported as fail: the target is wrong
    session = guarded_session()
    try:
        with pytest.raises(ResponseTooLarge):
            session.get(servers.url(kind) + "/_/mutes", timeout=10)
    finally:
        session.close()


def test_redirects_are_answers_never_followed(servers: HostileServers) -> None:
    session = guarded_session()
    try:
        with guarded_client(BUDGET_S) as client:
            for kind, status in (("redirect-off-host", 307), ("redirect-loop", 302)):
                url = servers.url(kind) + "/_/mutes"
                assert client.get(url).status_code == status
                assert client.request("POST", url, json={}).status_code == status
                # requests follows redirects by default; the guarded session never does.
                assert session.get(url, timeout=BUDGET_S).status_code == status
                assert session.post(url, json={}, timeout=BUDGET_S, allow_redirects=True).status_code == status
    finally:
        session.close()
    assert servers.recorder.hits == []


def test_the_session_hands_schemathesis_an_ordinary_response(servers: HostileServers) -> None:
    session = guarded_session()
    try:
        response = session.get(servers.url("bad-json") + "/_/mutes", timeout=BUDGET_S)
    finally:
        session.close()
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.text == '{"data": [1, 2, "unterminated'
    assert response.raw.headers.getlist("content-type") == [response.headers["content-type"]]
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def _target(url: str):
    document = {**target_document("plugdj", url, test_hooks=False), "request_timeout_s": BUDGET_S}
    return from_document(document, where="test", default_name="hostile")


@pytest.mark.parametrize("kind, reason", [
    ("silent", "TotalTimeout (no complete response within 1 s, the target's request_timeout_s)"),
    ("drip", "TotalTimeout (no complete response within 1 s, the target's request_timeout_s)"),
    ("reset", "ReadError ([Errno 104] Connection reset by peer)"),
])
def test_probe_names_why_a_target_is_unreachable_in_one_line(servers: HostileServers, kind: str, reason: str) -> None:
    started = time.monotonic()
    problem = probe(_target(servers.url(kind)))
    assert time.monotonic() - started < ENDS_WITHIN_S
    assert problem == f"target hostile unreachable at {servers.url(kind)}: {reason}"


@pytest.mark.parametrize("kind", ["html", "huge", "error-500", "redirect-off-host", "drip-api"])
def test_probe_calls_any_http_answer_reachable(servers: HostileServers, kind: str) -> None:
    assert probe(_target(servers.url(kind))) is None
    assert servers.recorder.hits == []




def test_proxy_and_netrc_settings_in_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A proxy from the environment would be another host, and a .netrc password an unasked-for
    credential sent to the target: the suite's clients use neither."""
    with HostileServers(kinds=("echo-500",)) as own:
        url = own.url("echo-500") + "/_/mutes"
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login someone password NETRCSECRET\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        with requests.Session() as plain:  # control: an ordinary session does send the .netrc password
            plain.get(url, timeout=BUDGET_S)
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, own.recorder_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        with guarded_client(BUDGET_S) as client:
            assert client.get(url).status_code == 500
        session = guarded_session()
        try:
            assert session.get(url, timeout=BUDGET_S).status_code == 500
        finally:
            session.close()
    assert own.recorder.hits == []
    sent = [r["headers"].get("authorization") for r in own.echoed]
    assert len(sent) == 3 and sent[0] is not None and sent[1:] == [None, None], sent
