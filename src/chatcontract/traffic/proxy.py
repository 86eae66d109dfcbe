"""A checking reverse proxy: a client talks to it instead of the server; every exchange is
forwarded unchanged to the target's base URL and checked on the way.

Built on Starlette (one catch-all route) served by uvicorn, forwarding with an httpx
`AsyncClient` (the libraries the reference servers and the suite already use). The request body
and the response body are streamed through in both directions: the proxy passes every byte on
as it arrives and keeps at most the suite's 2 MiB of each for the checks (a larger body is
checked as "more than the 2 MiB chatcontract reads", yet still reaches the other side whole).
Headers go through unchanged except the hop-by-hop ones (RFC 9110 §7.6.1) and `Host`; redirects
are passed back to the client, never followed; proxy variables and `.netrc` are ignored
(`trust_env=False`), as in the suite. The response is checked after it has been sent (a
Starlette background task), so the check adds nothing to the client's wait for the body.

Each exchange goes to a `session.Session` (the per-exchange checks and any other observer) in
the order its request arrived (`Session.reserve`: the moderation model must see a mute before
the list that follows it, although the list's check may finish first); its verdict is printed as
one line as soon as it is checked (`session.line`: redacted, control bytes escaped), and the HAR
recording keeps the same order. The
proxy stops on Ctrl-C, after `max_exchanges` checked exchanges, or after `duration_s`; the caller
then writes the reports. A target that cannot be reached is answered 502 to the client and
reported as an `error` for that exchange.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from chatcontract.suite.guarded import MAX_BODY_BYTES
from chatcontract.traffic.exchange import Exchange, decoded
from chatcontract.traffic.har import HarWriter
from chatcontract.traffic.session import Session, line

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "proxy-connection"})
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]


@dataclass
class _Kept:
    """The first MAX_BODY_BYTES of a body passing through, and its full size."""

    data: bytearray = field(default_factory=bytearray)
    size: int = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        room = MAX_BODY_BYTES + 1 - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def cut(self) -> bool:
        return self.size > MAX_BODY_BYTES

    def bytes(self) -> bytes:
        return bytes(self.data[:MAX_BODY_BYTES])


def _forwarded(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    listed = {t.strip().lower() for k, v in headers if k.lower() == "connection" for t in v.split(",")}
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() not in listed and k.lower() != "host"]


class Proxy:
    """The proxy's application: forward, keep, check, print."""

    def __init__(self, session: Session, upstream: str, *, timeout_s: float = 10.0, verify: Any = True,
                 max_exchanges: int | None = None, on_line: Callable[[str], None] = print,
                 har: HarWriter | None = None, on_limit: Callable[[], None] | None = None) -> None:
        self.session = session
        self.upstream = upstream.rstrip("/")
        self.timeout_s = timeout_s
        self.verify = verify
        self.max_exchanges = max_exchanges
        self.on_line = on_line
        self.har = har
        self.on_limit = on_limit
        self.client: httpx.AsyncClient | None = None
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=METHODS)])
        self.checked = 0
        self._lock = threading.Lock()
        self._finished = False

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False, trust_env=False,
                                            verify=self.verify, limits=httpx.Limits(max_connections=64))
        return self.client

    async def forward(self, request: Request) -> Any:
        started, clock = time.time(), time.monotonic()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        url = self.upstream + raw_path.decode("latin-1") + (("?" + query.decode("latin-1")) if query else "")
        request_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
        sent = _Kept()

        async def body() -> AsyncIterator[bytes]:
            async for chunk in request.stream():
                sent.add(chunk)
                if chunk:
                    yield chunk

        exchange = Exchange(method=request.method, url=url, request_headers=request_headers, started=started)
        slot = self.session.reserve()  # its place in the order the observers see
        has_body = any(k.lower() in ("content-length", "transfer-encoding") for k, _ in request_headers)
        upstream_request = self._client().build_request(request.method, url, headers=_forwarded(request_headers),
                                                        content=body() if has_body else None)
        try:
            upstream = await self._client().send(upstream_request, stream=True)
        except httpx.HTTPError as exc:
            exchange.request_body, exchange.request_truncated = sent.bytes(), sent.cut
            exchange.failure = f"{type(exc).__name__}: {exc or 'no detail'}"
            exchange.duration_s = time.monotonic() - clock
            await run_in_threadpool(self._check, slot, exchange)
            return PlainTextResponse(f"chatcontract proxy: the target did not answer ({type(exc).__name__})\n",
                                     status_code=502)
        received = _Kept()
        relayed: list[float] = []  # when the last byte went to the client

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    received.add(chunk)
                    yield chunk
            finally:
                relayed.append(time.monotonic())
                await upstream.aclose()

        response_headers = list(upstream.headers.multi_items())

        def done() -> None:
            exchange.request_body, exchange.request_truncated = sent.bytes(), sent.cut
            exchange.status = upstream.status_code
            exchange.response_headers = response_headers
            # The exchange ended when its last byte was relayed, not when this check began: the
            # client may have sent its next request meanwhile (the order the model judges in).
            exchange.duration_s = (relayed[0] if relayed else time.monotonic()) - clock
            body, cut, known = decoded(received.bytes(), upstream.headers.get("content-encoding", ""))
            exchange.response_body, exchange.response_truncated = body, cut or received.cut
            exchange.response_size = received.size if received.cut else None
            exchange.response_recorded = known
            self._check(slot, exchange)

        # (a sync background task runs in the thread pool once the last byte has gone to the client)
        return _Streamed(relay(), upstream.status_code, _forwarded(response_headers), BackgroundTask(done))

    def _check(self, slot: int, exchange: Exchange) -> None:
        self._counted(self.session.add_in_order(slot, exchange, self._report, stall_s=self.timeout_s + 5))

    def finish(self) -> None:
        """At the end: check (and record) the exchanges still waiting on one that never completed,
        then print what the observers still had to say (the last exchanges' sequence verdicts).
        Once only."""
        if self._finished:
            return
        self._finished = True
        self._counted(self.session.flush(self._report))
        for record in self.session.finish():
            self.on_line(line(record))

    def _report(self, exchange: Exchange, records: list[dict[str, Any]]) -> None:
        """One exchange checked (called in order): recorded, its verdicts printed."""
        if self.har is not None:
            self.har.add_exchange(exchange)
        for record in records:
            self.on_line(line(record))

    def _counted(self, checked: int) -> None:
        with self._lock:
            self.checked += checked
            reached = self.max_exchanges is not None and self.checked >= self.max_exchanges
        if checked and reached and self.on_limit is not None:
            self.on_limit()

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()


class _Streamed(StreamingResponse):
    """A StreamingResponse that sends the upstream's headers exactly (with repeats, e.g. two
    Set-Cookie), not Starlette's rebuilt ones."""

    def __init__(self, content: AsyncIterator[bytes], status: int, headers: list[tuple[str, str]],
                 background: BackgroundTask) -> None:
        super().__init__(content, status_code=status, background=background)
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` (host 127.0.0.1); ValueError in words."""
    host, sep, port = listen.rpartition(":")
    if not sep:
        host, port = "", listen
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {listen!r}: the port must be a number from 0 to 65535")
    return host, int(port)


class ProxyServer:
    """The proxy served by uvicorn in a background thread (tests, benchmarks); `url`, `stop()`."""

    def __init__(self, proxy: Proxy, host: str = "127.0.0.1", port: int = 0) -> None:
        self.proxy = proxy
        config = uvicorn.Config(proxy.app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        proxy.on_limit = proxy.on_limit or self.request_stop
        self.thread = threading.Thread(target=self.server.run, name="chatcontract-proxy", daemon=True)

    def start(self, timeout_s: float = 15.0) -> "ProxyServer":
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.server.should_exit = True
                raise RuntimeError("the proxy did not start (is the port in use?)")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def request_stop(self) -> None:
        self.server.should_exit = True

    def stop(self) -> None:
        """Stop serving, then check what was still waiting (`Proxy.finish`)."""
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.proxy.finish()

    def __enter__(self) -> "ProxyServer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
