"""Traffic recorded for the traffic tests: a reference server, the checking proxy in front of it,
and the suite's own requests sent through (each operation's `x-request`, then the documented
errors whose request is valid: wrong or missing credentials, unknown rooms and users, missing
permissions), recorded as HAR by the proxy's writer."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from chatcontract import decisions, specs
from chatcontract.servers.serve import RunningServer, start_in_thread, target_document, write_target
from chatcontract.suite.wire import Wire, base_call
from chatcontract.targets import from_document
from chatcontract.traffic import sequence
from chatcontract.traffic.har import HarWriter
from chatcontract.traffic.proxy import Proxy, ProxyServer
from chatcontract.traffic.session import Session

VALID_REQUEST_TRIGGERS = ("auth-missing", "auth-invalid", "not-found", "not-permitted", "not-member")


@dataclass
class Recording:
    platform: str
    har: Path
    session: Session  # the proxy's own verdicts while recording
    lines: list[str]
    target_file: Path  # a target file for the server (not the proxy)


def send_suite_requests(platform: str, base_url: str, document: dict) -> None:
    """Every operation's x-request, then the documented errors whose request is valid."""
    target = from_document({**document, "base_url": base_url}, where="<test>", default_name=platform)
    wire = Wire(target)
    for op in specs.operations(platform):
        wire.send(base_call(target, op.operation_id))
    for op, _, _, example in decisions.documented_errors(platform):
        provoke = example.get("x-provoke") or {}
        if "skip" in provoke or example.get("x-trigger") not in VALID_REQUEST_TRIGGERS or provoke.get("needs"):
            continue
        for step in provoke.get("before", []):
            wire.send(base_call(target, step["operation"]).changed(step, target.fixtures))
        wire.send(base_call(target, op.operation_id).changed(provoke, target.fixtures))


def settle(session: Session, quiet_s: float = 0.3, timeout_s: float = 10.0) -> None:
    """The proxy checks after the answer has gone out: wait until no check has come in for `quiet_s`."""
    deadline = time.monotonic() + timeout_s
    seen, since = session.count, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        time.sleep(0.02)
        if session.count != seen:
            seen, since = session.count, time.monotonic()


def proxied(server: RunningServer, platform: str, *, har: Path | None = None, secrets: list[str] = (),
            identities: dict | None = None) -> tuple[ProxyServer, Session, list[str]]:
    """A checking proxy in front of `server`, with the platform's moderation model watching
    (`identities`: a target file's credentials, so write answers are judged for its identities)."""
    session = Session(platform, target={"name": f"proxied-{platform}", "api": platform, "base_url": server.base_url},
                      base_url=server.base_url, observers=sequence.observers_for(platform, identities))
    lines: list[str] = []
    writer = HarWriter(har, api=platform, secrets=secrets) if har is not None else None
    return ProxyServer(Proxy(session, server.base_url, on_line=lines.append, har=writer)), session, lines


_recordings: dict[str, Recording] = {}


@pytest.fixture(scope="session")
def record(tmp_path_factory: pytest.TempPathFactory):
    """record(platform) -> the Recording of the suite's valid requests to its reference server."""
    def make(platform: str) -> Recording:
        if platform not in _recordings:
            folder = tmp_path_factory.mktemp(f"recorded-{platform}")
            har = folder / f"{platform}.har"
            with start_in_thread(platform, test_hooks=True) as server:
                document = target_document(platform, server.base_url, test_hooks=True)
                secrets = from_document(document, where="<test>", default_name=platform).secrets()
                proxy, session, lines = proxied(server, platform, har=har, secrets=secrets)
                with proxy:
                    send_suite_requests(platform, proxy.url, document)
                    settle(session)
                proxy.proxy.har.close()
            target_file = folder / f"{platform}.target.yaml"
            write_target(target_file, {**document, "name": f"recorded-{platform}"})
            _recordings[platform] = Recording(platform, har, session, lines, target_file)
        return _recordings[platform]
    return make


def through_proxy(platform: str, tmp_path: Path, script: Callable[[Wire, Any, list[tuple]], None],
                  steps: list[tuple], faults: tuple[str, ...] = (), before: list[tuple] = ()):
    """Send `steps` (by `script(wire, target, steps)`) to a reference server of `platform` through
    the checking proxy, which records a HAR and knows the target's identities; `before` is sent
    straight to the server first, unseen by the proxy. (har, session, lines)"""
    har = tmp_path / f"{platform}.har"
    with start_in_thread(platform, test_hooks=True, faults=faults) as server:
        document = target_document(platform, server.base_url, test_hooks=True)
        direct = from_document(document, where="<test>", default_name=platform)
        script(Wire(direct), direct, list(before))
        proxy, session, lines = proxied(server, platform, har=har, secrets=direct.secrets(), identities=direct.credentials)
        with proxy:
            via = from_document({**document, "base_url": proxy.url}, where="<test>", default_name=platform)
            script(Wire(via), via, steps)
            settle(session)
        proxy.proxy.har.close()
    return har, session, lines


def for_platform(platform: str, script: Callable[[Wire, Any, list[tuple]], None]):
    """(through_proxy, check_har) bound to one platform and its test's `script`."""
    def run(tmp_path: Path, steps: list[tuple], faults: tuple[str, ...] = (), before: list[tuple] = ()):
        return through_proxy(platform, tmp_path, script, steps, faults, before)

    def check(har: Path, tmp_path: Path) -> tuple[int, list[dict], str]:
        return check_har(platform, har, tmp_path)
    return run, check


def response_body(entry: dict) -> Any:
    """A HAR entry's response body, parsed."""
    return json.loads(entry["response"]["content"]["text"])


def set_response_body(entry: dict, body: Any) -> None:
    """Plant `body` as a HAR entry's response."""
    entry["response"]["content"]["text"] = json.dumps(body)
    entry["response"]["content"]["size"] = len(entry["response"]["content"]["text"])


def semantics(results: list[dict]) -> list[dict]:
    """The moderation model's results (`/semantics`)."""
    return [r for r in results if r["behaviour"].endswith(sequence.CHECK)]


def check_har(platform: str, har: Path, tmp_path: Path) -> tuple[int, list[dict], str]:
    """`main_check_traffic` on a HAR: (exit code, results, stdout); nothing on stderr."""
    from chatcontract.traffic.commands import main_check_traffic

    out, err = io.StringIO(), io.StringIO()
    code = main_check_traffic(platform, har, tmp_path / "reports", stdout=out, stderr=err)
    assert err.getvalue() == ""
    return code, load(tmp_path / "reports" / "results.json")["results"], out.getvalue()


def per_exchange(results: list[dict]) -> list[dict]:
    """The per-exchange results (not the moderation model's `/semantics` ones)."""
    return [r for r in results if not r["behaviour"].endswith(sequence.CHECK)]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def save(document: dict, path: Path) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
