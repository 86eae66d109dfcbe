"""Issue 13 item 12: target files take secrets from the environment (`${ENV_VAR}`), extra headers
per target, and a request rate limit that honours `Retry-After` on a 429 the suite did not
provoke, while a provoked 429 is still seen as it is.

Each run is the real `chatcontract run` in a subprocess, from a folder of the test's own, with a
target file outside the checkout, against a reference server behind a small recording proxy (a
Starlette app on loopback that forwards every request and notes when it came and what it carried;
it can answer the first matching requests with 429 itself, or add `Retry-After` to the upstream's
own 429s).
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatcontract import targets
from chatcontract.servers.serve import start_in_thread, target_document
from chatcontract.suite import guarded
from tests.gate.conftest import command, results, said
from tests.hostile.servers import serving

HOP_BY_HOP = {"content-encoding", "content-length", "transfer-encoding", "connection"}


@dataclass
class Seen:
    at: float
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class Recorder:
    """What the proxy saw, and how it misbehaves: `refuse(request) -> bool` answers a request
    with 429 + Retry-After: `retry_after` instead of forwarding it (each match once at most
    `refusals` times); `add_retry_after` adds that header to the upstream's own 429s."""

    upstream: str
    refuse: Callable[[Seen], bool] = lambda seen: False
    refusals: int = 1
    retry_after: str = "1"
    add_retry_after: bool = False
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        client = httpx.AsyncClient(base_url=self.upstream, follow_redirects=False, timeout=30)

        async def forward(request: Request) -> Response:
            body = await request.body()
            seen = Seen(time.monotonic(), request.method, request.url.path, {k.lower(): v for k, v in request.headers.items()})
            with self.lock:
                self.seen.append(seen)
                refused = self.refusals > 0 and self.refuse(seen)
                if refused:
                    self.refusals -= 1
            if refused:
                seen.status = 429
                return Response(b'{"status": "requestError", "data": []}', 429, media_type="application/json",
                                headers={"Retry-After": self.retry_after})
            headers = [(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
            url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            answer = await client.request(request.method, url, headers=headers, content=body)
            seen.status = answer.status_code
            out = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in HOP_BY_HOP]
            if answer.status_code == 429 and self.add_retry_after:
                out.append(("Retry-After", self.retry_after))
            response = Response(answer.content, answer.status_code)
            response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out]
            response.headers["content-length"] = str(len(answer.content))
            return response

        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


@pytest.fixture(scope="module")
def plugdj() -> Iterator[str]:
    with start_in_thread("plugdj", test_hooks=True) as server:
        yield server.base_url


@contextmanager
def proxied(upstream: str, **behaviour: Any) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(upstream, **behaviour)
    with serving(recorder.app()) as url:
        yield url, recorder


def write(folder: Path, document: dict[str, Any], name: str = "lounge") -> Path:
    path = folder / f"{name}.target.yaml"
    path.write_text(yaml.safe_dump({**document, "name": name}, sort_keys=False))
    return path


def every_byte(done: Any, report_dir: Path) -> list[bytes]:
    files = [p.read_bytes() for p in report_dir.rglob("*") if p.is_file()]
    assert files, "the run wrote no report"
    return [done.stdout.encode(), done.stderr.encode(), *files]


def targets_echoed(report_dir: Path) -> dict[str, Any]:
    """The one target as results.json echoes it."""
    [echo] = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))["targets"]
    return echo


def from_environment(document: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every credential of `document` moved into an environment variable; variable -> value."""
    moved = {}
    for who, creds in document["credentials"].items():
        for scheme, value in creds.items():
            name = f"CC_TEST_{who.upper()}_{scheme.upper()}"
            monkeypatch.setenv(name, value)
            moved[name] = value
            creds[scheme] = "${" + name + "}"
    return moved


# --- ${ENV} ------------------------------------------------------------------------------------


def test_credentials_from_the_environment_are_used_and_never_reported(
        tmp_path: Path, plugdj: str, monkeypatch: pytest.MonkeyPatch) -> None:
    document = target_document("plugdj", plugdj, test_hooks=True)
    moved = from_environment(document, monkeypatch)
    path = write(tmp_path, document)
    written = path.read_text()
    run = command(tmp_path, "run", "--target", str(path), "--profile", "fast", "--report-dir", "out")
    # Sent literally, `${CC_TEST_...}` would be refused by the server: every check would fail.
    assert run.returncode == 0, said(run)
    assert path.read_text() == written  # never written back
    for blob in every_byte(run, tmp_path / "out"):
        for name, value in moved.items():
            assert value.encode() not in blob, f"the value of {name} is in a report"
    echo = targets_echoed(tmp_path / "out")
    assert echo["credentials"] == {who: {"session": "<redacted>"} for who in document["credentials"]}


def test_a_missing_variable_is_one_line_naming_it_and_the_key(
        tmp_path: Path, plugdj: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CC_TEST_NEVER_SET", raising=False)
    document = target_document("plugdj", plugdj, test_hooks=True)
    document["credentials"]["moderator"]["session"] = "${CC_TEST_NEVER_SET}"
    run = command(tmp_path, "run", "--target", str(write(tmp_path, document)), "--report-dir", "out")
    assert run.returncode == 2, said(run)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "CC_TEST_NEVER_SET" in lines[0] and "credentials.moderator.session" in lines[0] and "not set" in lines[0]


def test_dollar_dollar_brace_is_a_literal_and_plain_values_keep_working(
        tmp_path: Path, plugdj: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_TEST_PART", "9f2c4e1a7d")
    document = target_document("plugdj", plugdj, test_hooks=True)
    document["credentials"]["moderator"]["session"] = "s.bouncer|${CC_TEST_PART}"
    document["credentials"]["host"]["session"] = "$${NOT_A_VARIABLE}|x$y"
    target = targets.load_target(write(tmp_path, document))
    assert target.credentials["moderator"]["session"] == "s.bouncer|9f2c4e1a7d"
    assert target.credentials["host"]["session"] == "${NOT_A_VARIABLE}|x$y"
    assert target.credentials["member"]["session"] == document["credentials"]["member"]["session"]
    document["credentials"]["host"]["session"] = "${not a name}"
    with pytest.raises(targets.TargetError, match=r"credentials\.host\.session: .*\$\$\{"):
        targets.load_target(write(tmp_path, document, "broken"))


# --- headers -----------------------------------------------------------------------------------


def test_extra_headers_reach_the_server_from_every_client_and_env_ones_stay_secret(
        tmp_path: Path, plugdj: str, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = "gw-7c1d0e55aa93b2f4"
    monkeypatch.setenv("CC_TEST_GATEWAY", gateway)
    with proxied(plugdj) as (url, recorder):
        document = target_document("plugdj", url, test_hooks=True)
        document["headers"] = {"X-Gateway-Key": "${CC_TEST_GATEWAY}", "X-Team": "qa-lounge"}
        run = command(tmp_path, "run", "--target", str(write(tmp_path, document)), "--profile", "fast",
                      "--report-dir", "out")
    assert run.returncode == 0, said(run)
    assert len(recorder.seen) > 20
    missing = [f"{s.method} {s.path}" for s in recorder.seen
               if s.headers.get("x-gateway-key") != gateway or s.headers.get("x-team") != "qa-lounge"]
    assert not missing, missing[:5]
    # the schema layer (schemathesis' requests session) and the httpx clients (errors, semantics, hooks)
    agents = {s.headers.get("user-agent", "").split("/")[0] for s in recorder.seen}
    assert {"python-httpx"} < agents, agents
    for blob in every_byte(run, tmp_path / "out"):
        assert gateway.encode() not in blob
    echo = targets_echoed(tmp_path / "out")
    assert echo["headers"] == {"X-Gateway-Key": "<redacted>", "X-Team": "qa-lounge"}


@pytest.mark.parametrize("header, words", [
    ("Cookie", "carries the 'session' credential"),  # plug.dj's securityScheme is the `session` cookie
    ("host", "Host"),
    ("Content-Length", "written from each request's body"),
])
def test_a_header_the_credentials_or_http_carry_is_refused_in_words(
        tmp_path: Path, plugdj: str, header: str, words: str) -> None:
    document = target_document("plugdj", plugdj, test_hooks=True)
    document["headers"] = {header: "x"}
    run = command(tmp_path, "run", "--target", str(write(tmp_path, document)), "--report-dir", "out")
    assert run.returncode == 2, said(run)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"headers.{header}" in lines[0] and words.lower() in lines[0].lower(), run.stderr


# --- rate limit and Retry-After ----------------------------------------------------------------


def test_a_429_with_retry_after_on_a_generated_request_is_waited_out_and_retried(tmp_path: Path, plugdj: str) -> None:
    def first_generated(seen: Seen) -> bool:
        return not seen.path.startswith("/_chatcontract") and not seen.headers.get("user-agent", "").startswith("python-httpx")

    with proxied(plugdj, refuse=first_generated) as (url, recorder):
        path = write(tmp_path, target_document("plugdj", url, test_hooks=True))
        run = command(tmp_path, "run", "--target", str(path), "--profile", "fast", "--layer", "schema", "--report-dir", "out")
    assert run.returncode == 0, said(run)  # the 429 (undocumented for plug.dj) was not the answer
    refused = [i for i, s in enumerate(recorder.seen) if s.status == 429]
    assert len(refused) == 1
    first, again = recorder.seen[refused[0]], recorder.seen[refused[0] + 1]
    assert (again.method, again.path) == (first.method, first.path)
    assert again.at - first.at >= 0.95  # Retry-After: 1


def test_a_provoked_429_is_seen_as_it_is(tmp_path: Path) -> None:
    """Rocket.Chat's documented 429s (errors layer, `x-provoke` with ten calls before) carry a
    Retry-After of 1 s here: the checks still see each 429, and none is sent again."""
    with start_in_thread("rocketchat", test_hooks=True) as server, \
            proxied(server.base_url, add_retry_after=True) as (url, recorder):
        path = write(tmp_path, target_document("rocketchat", url, test_hooks=True), "rc")
        run = command(tmp_path, "run", "--target", str(path), "--layer", "errors", "-k", "tooManyRequests",
                      "--report-dir", "out")
    assert run.returncode == 0, said(run)
    passed = [r for r in results(tmp_path / "out") if r["outcome"] == "pass"]
    limited = [i for i, s in enumerate(recorder.seen) if s.status == 429]
    assert len(passed) >= 3 and len(limited) >= len(passed)
    for i in limited:
        after = recorder.seen[i + 1:i + 2]
        assert not after or (after[0].method, after[0].path) != (recorder.seen[i].method, recorder.seen[i].path) \
            or after[0].at - recorder.seen[i].at < 0.9, "a provoked 429 was sent again after its Retry-After"


def test_the_target_rate_limit_paces_every_client(tmp_path: Path, plugdj: str) -> None:
    per_s = 25
    with proxied(plugdj) as (url, recorder):
        document = {**target_document("plugdj", url, test_hooks=True), "rate_limit_per_s": per_s}
        run = command(tmp_path, "run", "--target", str(write(tmp_path, document)), "--profile", "fast",
                      "--report-dir", "out")
    assert run.returncode == 0, said(run)
    times = [s.at for s in recorder.seen]
    assert len(times) > 3 * per_s, len(times)
    assert {"python-httpx"} < {s.headers.get("user-agent", "").split("/")[0] for s in recorder.seen}
    busiest = max(sum(1 for t in times if start <= t < start + 0.98) for start in times)
    assert busiest <= per_s, f"{busiest} requests in one second with rate_limit_per_s: {per_s}"
    assert times[-1] - times[0] >= (len(times) - per_s) / per_s - 0.1


def test_the_specs_documented_limits_are_the_default_and_false_switches_them_off(tmp_path: Path) -> None:
    document = target_document("sendbird", "https://api-5a1b2c3d.sendbird.com", test_hooks=True)
    target = targets.load_target(write(tmp_path, document, "sb"))
    listing = target.rate_limit_for("GET", "/v3/users/alice/block")
    assert listing is not None and listing.per_s == 10 and "[SB-rate]" in listing.source
    assert target.rate_limit_for("POST", "/v3/users/alice/block").per_s == 5
    assert target.rate_limit_for("POST", "/_chatcontract/reset") is None
    off = targets.load_target(write(tmp_path, {**document, "rate_limit_per_s": False}, "sb-off"))
    assert off.rate_limit_for("GET", "/v3/users/alice/block") is None
    agora = targets.load_target(write(tmp_path, target_document("agora", "https://a41.chat.agora.io", test_hooks=True), "ag"))
    assert {limit.per_s for limit in agora.rate_limits.values()} == {100}
    assert agora.rate_limit_for("GET", "/org/app/chatrooms/1265710621211/mute").scope == "agoraListChatRoomMutes"
    # the vendors' limits are their services': a server on loopback is not held to them
    local = targets.load_target(write(tmp_path, {**document, "base_url": "http://127.0.0.1:9"}, "sb-local"))
    assert local.rate_limits == {}
    with pytest.raises(targets.TargetError, match="rate_limit_per_s"):
        targets.load_target(write(tmp_path, {**document, "rate_limit_per_s": -1}, "sb-bad"))


# --- the switches in guarded.py, on one loopback server ----------------------------------------


@pytest.fixture
def limited() -> Iterator[tuple[str, list[float]]]:
    """A server answering each request 429 with the Retry-After its `?after=` names."""
    hits: list[float] = []

    async def answer(request: Request) -> Response:
        hits.append(time.monotonic())
        return Response(b"{}", 429, headers={"Retry-After": request.query_params["after"]})

    with serving(Starlette(routes=[Route("/{path:path}", answer)])) as url:
        yield url, hits


def test_provoking_and_long_waits_are_not_retried(limited: tuple[str, list[float]]) -> None:
    url, hits = limited
    session = guarded.guarded_session()
    assert session.get(f"{url}/x?after=0", timeout=5).status_code == 429 and len(hits) == 2  # retried once
    with guarded.provoking():
        session.get(f"{url}/x?after=0", timeout=5)
    assert len(hits) == 3  # provoked: seen as it is
    guarded.take_notices()
    with pytest.warns(guarded.RateLimitNotice, match="longer than the 5 s"):
        session.get(f"{url}/x?after=3600", timeout=5)
    assert len(hits) == 4
    # ... and kept for the check's failure detail (a warning alone is lost in pytest's summary)
    (notice,) = guarded.take_notices()
    assert "GET /x answered 429 with Retry-After: 3600" in notice and "the 429 is the answer" in notice
    assert guarded.take_notices() == []
    with guarded.guarded_client(5) as client:  # the errors and semantic layers' client: never retries by default
        client.get(f"{url}/x?after=0")
    assert len(hits) == 5


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from email.utils import format_datetime
    from datetime import datetime, timedelta, timezone

    assert guarded.retry_after_s("3") == 3
    assert guarded.retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    soon = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 28 <= guarded.retry_after_s(soon) <= 30
    assert guarded.retry_after_s("soon") is None and guarded.retry_after_s(None) is None


# --- x-rate-limit in the specs -----------------------------------------------------------------


@pytest.mark.parametrize("entry, words", [
    ({"calls_per_second": 100, "sources": ["[AG-doc]"]}, "per: operation"),
    ({"calls_per_second": 0, "per": "operation", "sources": ["[AG-doc]"]}, "less than or equal to the minimum"),
    ({"calls_per_second": 100, "per": "operation", "sources": ["[AG-nowhere]"]}, "not in specs/sources/bibliography.yaml"),
    ({"calls_per_second": 100, "per": "operation"}, "'sources' is a required property"),
])
def test_speccheck_refuses_a_bad_x_rate_limit(monkeypatch: pytest.MonkeyPatch, entry: dict[str, Any], words: str) -> None:
    from chatcontract import speccheck, specs

    assert speccheck.check_rate_limits("agora") == []  # the spec as it is
    real = specs.load_spec
    monkeypatch.setattr(specs, "load_spec", lambda platform: {**real(platform), "x-rate-limit": entry})
    problems = [str(p) for p in speccheck.check_rate_limits("agora")]
    assert len(problems) == 1 and words in problems[0], problems
