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


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """An httpx client for the platform named by the test module's `PLATFORM`, state reset."""
    platform = request.module.PLATFORM
    server = live_server(platform)
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        client.post("/_chatcontract/reset").raise_for_status()
        yield client


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> dict:
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
