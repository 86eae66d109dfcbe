"""The 2 MiB body cap counts decoded bytes: a gzip or deflate bomb, plain or stacked, is refused
after at most 2 MiB of output in both clients the suite sends with (httpx for the errors and
semantics layers, the requests session schemathesis uses), while ordinary compressed bodies
still read as before.

Every Content-Encoding stack here is generated from the codings httpx decodes (gzip, deflate,
raw deflate) in combinations up to three deep; each bomb inflates to 64 MiB. Before the cap
counted decoded bytes, each of these read the whole inflation (the stacked ones never ended).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Iterator

import pytest
import requests
import uvicorn  # noqa: F401 - the servers run on it
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatcontract.suite.guarded import MAX_BODY_BYTES, ResponseTooLarge, guarded_client, guarded_session
from tests.hostile.servers import BOMBS, HostileServers, compress, content_encoding, serving

pytestmark = pytest.mark.xdist_group("hostile-decoded")

STACKS = [stack for depth in (1, 2, 3) for stack in itertools.product(("gzip", "deflate", "deflate-raw"), repeat=depth)
          if stack.count("deflate-raw") <= 1]
ENDS_WITHIN_S = 20.0  # inflating 2 MiB takes milliseconds; the whole 64 MiB took seconds and GBs stacked


class _Stacks:
    """One loopback app answering `/<stack>` with a bomb or `/<stack>/small` with a small body
    under that stack of codings."""

    SMALL = json.dumps({"data": [{"id": i, "name": f"user-{i}"} for i in range(50)]}).encode()

    def app(self) -> Starlette:
        async def answer(request: Request) -> Response:
            stack = tuple(request.path_params["stack"].split("+"))
            small = request.path_params.get("small") == "small"
            body = compress(self.SMALL if small else None, stack, size=16 * MAX_BODY_BYTES)
            return Response(body, media_type="application/json", headers={"Content-Encoding": content_encoding(stack)})
        return Starlette(routes=[Route("/{stack}", answer), Route("/{stack}/{small}", answer)])


@pytest.fixture(scope="module")
def stacks() -> Iterator[str]:
    with serving(_Stacks().app()) as url:
        yield url


def _name(stack: tuple[str, ...]) -> str:
    return "+".join(stack)


@pytest.mark.parametrize("stack", STACKS, ids=_name)
def test_a_bomb_under_any_stack_of_codings_is_refused_in_both_clients(stacks: str, stack: tuple[str, ...]) -> None:
    url = f"{stacks}/{_name(stack)}"
    started = time.monotonic()
    with guarded_client(30) as client:
        with pytest.raises(ResponseTooLarge, match=r"more than the 2 MiB") as caught:
            client.get(url)
    assert "once decoded" in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, AssertionError)  # a `fail`: the target is wrong
    session = guarded_session()
    try:
        with pytest.raises(ResponseTooLarge, match="once decoded"):
            session.get(url, timeout=30)
    finally:
        session.close()
    assert time.monotonic() - started < ENDS_WITHIN_S


@pytest.mark.parametrize("stack", STACKS, ids=_name)
def test_a_small_compressed_body_still_reads_as_sent(stacks: str, stack: tuple[str, ...]) -> None:
    url = f"{stacks}/{_name(stack)}/small"
    with guarded_client(10) as client:
        assert client.get(url).content == _Stacks.SMALL
    session = guarded_session()
    try:
        response = session.get(url, timeout=10)
        assert response.content == _Stacks.SMALL and response.json()["data"][3]["name"] == "user-3"
    finally:
        session.close()


def test_the_suite_asks_only_for_codings_it_can_bound() -> None:
    with HostileServers(kinds=("echo-500",)) as own:
        with guarded_client(5) as client:
            client.get(own.url("echo-500") + "/x")
        session = guarded_session()
        try:
            session.get(own.url("echo-500") + "/x", timeout=5)
        finally:
            session.close()
    assert [r["headers"]["accept-encoding"] for r in own.echoed] == ["gzip, deflate", "gzip, deflate"]


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_the_hostile_bomb_servers_are_refused(kind: str) -> None:
    with HostileServers(kinds=(kind,)) as own:
        with guarded_client(30) as client:
            with pytest.raises(ResponseTooLarge, match="once decoded"):
                client.get(own.url(kind) + "/_/mutes")


def test_an_encoding_httpx_decodes_but_the_cap_cannot_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """br and zstd are decoded by httpx when brotli/zstandard are installed; the cap has no
    bounded decoder for them, so such a body is refused rather than inflated unbounded."""
    import httpx

    from chatcontract.suite import guarded

    monkeypatch.setitem(guarded.SUPPORTED_DECODERS, "br", object)
    headers = httpx.Headers({"Content-Encoding": "gzip, br"})
    with pytest.raises(ResponseTooLarge, match="Content-Encoding br, which chatcontract did not ask for"):
        guarded.check_decoded_size(headers, b"whatever", "GET", "/x")


def test_the_schema_session_does_not_decode_twice(stacks: str) -> None:
    session = guarded_session()
    try:
        response = session.get(f"{stacks}/gzip/small", timeout=10)
        assert response.raw.read() == _Stacks.SMALL  # raw holds the decoded body and is not decoded again
    except requests.RequestException as exc:  # pragma: no cover - shown on failure
        pytest.fail(str(exc))
    finally:
        session.close()
