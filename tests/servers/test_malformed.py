"""Malformed requests get the vendor's documented error, never a 500, on every reference server.

For every operation of every platform, its spec `x-request` (right credentials, right ids) is
sent broken one way at a time: a body that is not JSON, JSON nested deeper than any parser
allows, a 3 MB body, each body field of a wrong type (or a number too long to parse), each path
and query parameter replaced by odd ids (emoji, right-to-left override, `/`, `..`, NUL, invalid
UTF-8 percent-encoding, 5,000 characters...). Each answer must be below 500, a status the
operation documents, with a body matching the documented schema (conftest's `conforms`).
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import pytest

from chatcontract import specs
from chatcontract.servers.serve import target_document
from chatcontract.suite.wire import Call, Wire, base_call
from chatcontract.targets import Target, from_document
from tests.servers.conftest import conforms, live_server

LONG_NUMBER = "9" * 5000  # past Python's int-from-string limit (4,300 digits)
ODD_IDS = ["💥", "\u202eevil", "zoë", "a/b", "../../etc/passwd", " ", "%", "\x00", "x" * 5000, LONG_NUMBER, "-1"]
WRONG_TYPES: list[Any] = [None, True, [], {}, 12345678901234567890123, "", "💥" * 3, [[[]]], {"$ne": None}]
RAW_BODIES = {
    "not JSON": "{not json",
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "3 MB": json.dumps({"padding": "x" * 3_000_000}),
    "a bare string": '"just a string"',
    "a long number": LONG_NUMBER,
    "NaN": '{"x": NaN}',
}


def _target(platform: str) -> Target:
    document = target_document(platform, live_server(platform).base_url, test_hooks=True)
    return from_document(document, where="reference server", default_name=platform)


def _variants(target: Target, op: specs.Operation) -> Iterator[tuple[str, Call]]:
    call = base_call(target, op.operation_id)
    for name, raw in RAW_BODIES.items():
        yield f"body {name}", call.changed({"raw-body": raw}, target.fixtures)
    if isinstance(call.body, dict):
        for field in call.body:
            for value in [*WRONG_TYPES, int(LONG_NUMBER[:30])]:
                yield f"body.{field} = {json.dumps(value)[:20]}", call.changed({"set": {f"body.{field}": value}}, {})
    for part in ("path", "query"):
        for name in getattr(call, part):
            for value in ODD_IDS:
                yield f"{part}.{name} = {value[:12]!r}", call.changed({"set": {f"{part}.{name}": value}}, {})


def _send(client: httpx.Client, wire: Wire, call: Call) -> httpx.Response:
    prepared = wire.prepare(call)
    headers = dict(prepared.headers)
    if prepared.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in prepared.cookies.items())
    return client.request(prepared.method, prepared.url, headers=headers, content=prepared.content)


def _problem(platform: str, op: specs.Operation, response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:120]}"
    try:
        conforms(platform, op.operation_id, response)
    except AssertionError as exc:
        return str(exc).splitlines()[0][:200]
    return None


@pytest.mark.parametrize("platform", specs.platforms())
def test_malformed_requests_get_documented_errors_never_500(platform: str) -> None:
    target = _target(platform)
    wire = Wire(target)
    problems = []
    sent = 0
    with httpx.Client(timeout=30) as client:
        for op in specs.operations(platform):
            for label, call in _variants(target, op):
                client.post(target.base_url + "/_chatcontract/reset").raise_for_status()
                response = _send(client, wire, call)
                sent += 1
                problem = _problem(platform, op, response)
                if problem:
                    problems.append(f"{op.operation_id} {label}: {problem}")
    wire.close()
    assert sent > 50
    assert not problems, f"{len(problems)} of {sent} malformed requests answered badly:\n" + "\n".join(problems[:25])


@pytest.mark.parametrize("platform", specs.platforms())
def test_invalid_utf8_in_the_path_is_a_documented_error(platform: str) -> None:
    target = _target(platform)
    wire = Wire(target)
    problems = []
    with httpx.Client(timeout=30) as client:
        for op in specs.operations(platform):
            call = base_call(target, op.operation_id)
            prepared = wire.prepare(call)
            url = httpx.URL(prepared.url)
            broken = url.copy_with(raw_path=url.raw_path.split(b"?")[0] + b"%ff%fe" + (b"?" + url.query if url.query else b""))
            headers = dict(prepared.headers)
            if prepared.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in prepared.cookies.items())
            response = client.request(prepared.method, broken, headers=headers, content=prepared.content)
            if response.status_code >= 500:
                problems.append(f"{op.operation_id}: {response.status_code} {response.text[:120]}")
    wire.close()
    assert not problems, problems


def test_a_sendbird_user_id_with_a_slash_is_one_id() -> None:
    target = _target("sendbird")
    wire = Wire(target)
    call = base_call(target, "sendbirdListBlockedUsers", path={"user_id": "nobody/else"})
    with httpx.Client(timeout=30) as client:
        response = _send(client, wire, call)
    wire.close()
    assert "/v3/users/nobody%2Felse/block" in str(response.url)
    body = conforms("sendbird", "sendbirdListBlockedUsers", response)
    assert (response.status_code, body["code"]) == (400, 400201), body  # "User" not found, not a wrong URL
