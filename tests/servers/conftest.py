"""Fixtures for the reference-server tests: a live server per platform on a loopback port.

Tests talk HTTP to a real uvicorn server (never to the app object), so they exercise exactly
what a client developer sees. State is reset through the test hook before every test.
"""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest

from chatcontract import specs
from chatcontract.servers.core.seed import load_seed
from chatcontract.servers.serve import RunningServer, start_in_thread

_running: dict[str, RunningServer] = {}


@pytest.fixture(scope="session", autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    for server in _running.values():
        server.stop()


def live_server(platform: str) -> RunningServer:
    if platform not in _running:
        _running[platform] = start_in_thread(platform, test_hooks=True)
    return _running[platform]


@pytest.fixture(scope="module")
def _client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    # One client per module: building an httpx.Client loads a TLS context (~0.1 s), which a
    # client per test would pay every time; plain-HTTP loopback needs none (verify=False).
    server = live_server(request.module.PLATFORM)
    with httpx.Client(base_url=server.base_url, timeout=10, verify=False) as client:
        yield client


@pytest.fixture
def api(_client: httpx.Client) -> httpx.Client:
    """An httpx client for the platform named by the test module's `PLATFORM`, state reset
    (and no cookie kept from an earlier test)."""
    _client.cookies.clear()
    _client.post("/_chatcontract/reset").raise_for_status()
    return _client


@pytest.fixture(scope="module")
def seed(request: pytest.FixtureRequest) -> dict:
    """The module's platform seed, parsed once per module (the YAML takes ~40 ms); read-only."""
    return load_seed(request.module.PLATFORM)


def advance_clock(client: httpx.Client, ms: int) -> None:
    client.post("/_chatcontract/clock/advance", json={"ms": ms}).raise_for_status()


def _response_definition(op: specs.Operation, status: int) -> tuple:
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in op.responses:
            return specs.deref(specs.spec_path(op.platform), op.responses[key], op.json_pointer_parts("responses", key))
    raise AssertionError(f"{op.label} answered {status}, which its spec does not document")


def conforms(platform: str, operation_id: str, response: httpx.Response) -> dict | list | None:
    """Assert the response's status is documented for the operation and its body matches the
    documented schema; returns the parsed body."""
    op = specs.operation_by_id(platform, operation_id)
    document, definition, at = _response_definition(op, response.status_code)
    content = definition.get("content") or {}
    if not content:
        return None
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    validator = specs.validator_at(document, specs.pointer(*at, "content", "application/json", "schema"))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{op.label} {response.status_code} body does not match the spec: {errors[0].message}\n{body}"
    return body
