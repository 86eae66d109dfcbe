"""Hostile HTTP servers on loopback, for proving the suite never hangs, crashes, leaks or wanders.

Each server misbehaves in one way a real target might. Socket-level ones (never answer, drip
bytes, reset the connection) are plain asyncio, since no framework can be made to misbehave
that badly; HTTP-level ones (HTML with 200, a 10 MB body, invalid JSON, 500 on every call, a
500 that echoes the request back, a redirect loop, a redirect to another host, gzip bombs
plain and stacked, a body of control bytes, Markdown, HTML and console markup) are one
Starlette app. A `HitRecorder` on a second loopback address (127.0.0.2) records every
connection it gets: the off-host redirect points there, and the suite must never follow it.
Everything binds loopback only and runs in one background event loop (`HostileServers`).

Written by hand: these servers exist to break HTTP in ways no library offers as a feature.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
import zlib
from base64 import b64encode
from functools import cache
from dataclasses import dataclass, field
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Iterator
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

LOOPBACK = "127.0.0.1"
OTHER_HOST = "127.0.0.2"  # "another host" for the off-host redirect: still loopback
HUGE_BYTES = 10 * 1024 * 1024
DRIP_INTERVAL_S = 0.05  # well under any per-read timeout, so only a total-time limit ends it
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ORDINARY_HEADERS = {"host", "user-agent", "accept", "accept-encoding", "connection", "content-length", "content-type"}

BOMB_BYTES = 64 * 1024 * 1024  # what a bomb inflates to: 32 times the 2 MiB cap
# Every C0 control, DEL, some C1 and the bidi override: what a target could use to drive a terminal.
CONTROL_CHARS = "".join(chr(c) for c in [*range(0x20), 0x7F, 0x85, 0x9B, 0x202E, 0x2066])
HOSTILE_TEXT = ("\x1b[2J\x1b[H ALL CHECKS PASSED \x00\x07 " + CONTROL_CHARS
                + " <img src=x onerror=alert(1)> <script>alert(2)</script> **bold** [link](http://evil.example) "
                + "| cell | ``` [bold]markup[/bold] [/] [red]x")

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """The request line and headers (the body, if any, is never read)."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return b""


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, read whatever comes, never answer; close only when the client goes away."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    writer.close()


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A 200 whose status line, headers and (endless) body arrive one byte at a time."""
    await _read_head(reader)
    await _drip_answer(writer)


async def _drip_api(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """`GET /` answers at once (so the target looks reachable); every API path drips."""
    head = await _read_head(reader)
    if head.startswith(b"GET / "):
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    await _drip_answer(writer)


async def _drip_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Status line and headers at once, then a body that arrives one byte at a time, forever."""
    await _read_head(reader)
    await _drip_answer(writer, head_at_once=True)


async def _drip_answer(writer: asyncio.StreamWriter, head_at_once: bool = False) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    body = b'{"data": ['
    try:
        index = 0
        if head_at_once:
            writer.write(head)
            index = len(head)
        while not writer.is_closing():  # the body never ends: spaces after the opening bytes
            writer.write((head + body)[index:index + 1] or b" ")
            await writer.drain()
            await asyncio.sleep(DRIP_INTERVAL_S)
            index += 1
    except ConnectionError:
        pass
    writer.close()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request, then reset the connection (SO_LINGER 0 turns close into a TCP RST)."""
    await _read_head(reader)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


RAW: dict[str, RawHandler] = {"silent": _silent, "drip": _drip, "drip-api": _drip_api, "drip-body": _drip_body,
                              "reset": _reset}


def compress(data: bytes | None, codings: tuple[str, ...], size: int = BOMB_BYTES) -> bytes:
    """`data` (or `size` zero bytes, compressed as a stream) under each coding in turn, as a
    server applies them (Content-Encoding lists them in this order). `deflate-raw` is deflate
    without the zlib wrapper (some servers send that, and httpx accepts it)."""
    body = data
    for coding in codings:
        wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS, "deflate-raw": -zlib.MAX_WBITS}[coding]
        packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
        if body is None:
            zeros = bytes(1024 * 1024)
            body = b"".join(packer.compress(zeros) for _ in range(size // len(zeros))) + packer.flush()
        else:
            body = packer.compress(body) + packer.flush()
    return body


@cache
def bomb(codings: tuple[str, ...]) -> bytes:
    return compress(None, codings)


BOMBS = {  # kind -> the codings, in Content-Encoding order
    "gzip-bomb": ("gzip",), "deflate-bomb": ("deflate",), "raw-deflate-bomb": ("deflate-raw",),
    "gzip-gzip-bomb": ("gzip", "gzip"), "deflate-gzip-bomb": ("deflate", "gzip"),
    "gzip-gzip-gzip-bomb": ("gzip", "gzip", "gzip"),
}


def content_encoding(codings: tuple[str, ...]) -> str:
    return ", ".join("deflate" if c == "deflate-raw" else c for c in codings)


def http_app(kind: str, other_host_url: str = "", echoed: list[dict] | None = None) -> Starlette:
    """A Starlette app answering every path and method the same hostile way (`echoed` collects
    what the echo kind received)."""
    echoed = [] if echoed is None else echoed
    if kind in BOMBS:
        bomb(BOMBS[kind])  # built now: built on the first request it would stall the loop past the probe's timeout

    async def answer(request: Request) -> Response:
        if kind == "html":
            return Response("<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>",
                            media_type="text/html")
        if kind in ("huge", "huge-chunked"):  # huge-chunked: no Content-Length, the size shows late
            chunk = b"x" * 65536

            async def chunks():
                yield b'{"padding": "'
                for _ in range(HUGE_BYTES // len(chunk)):
                    if await request.is_disconnected():
                        return  # the client stopped reading (as it should)
                    yield chunk
                yield b'"}'

            return StreamingResponse(chunks(), media_type="application/json",
                                     headers={"Content-Length": str(HUGE_BYTES + 15)} if kind == "huge" else None)
        if kind == "bad-json":
            return Response('{"data": [1, 2, "unterminated', media_type="application/json")
        if kind == "error-500":
            return PlainTextResponse("Internal Server Error", status_code=500)
        if kind == "echo-500":  # a debug page gone live: the request, credentials and all, sent back
            received = {"method": request.method, "url": str(request.url), "headers": dict(request.headers),
                        "cookies": dict(request.cookies), "body": (await request.body()).decode(errors="replace")}
            echoed.append(received)
            # First (so a report quoting the body's start shows them) the unusual headers, once
            # form-encoded and once base64-encoded, as some debug pages print them.
            unusual = {k: v for k, v in request.headers.items() if k not in ORDINARY_HEADERS}
            return JSONResponse({"echo": urlencode(unusual), "b64": [b64encode(v.encode()).decode() for v in unusual.values()],
                                 "message": "Internal error", "code": 500100, "error": True, "request": received},
                                status_code=500)
        if kind in BOMBS:
            codings = BOMBS[kind]
            return Response(bomb(codings), media_type="application/json",
                            headers={"Content-Encoding": content_encoding(codings)})
        if kind == "control-bytes":  # a 500 whose body (and a header) carry control bytes and markup
            return Response(HOSTILE_TEXT, status_code=500, media_type="application/json", headers={"X-Note": "[bold]x[/bold]"})
        if kind == "redirect-loop":
            return RedirectResponse(str(request.url), status_code=302)
        if kind == "redirect-off-host":
            return RedirectResponse(other_host_url + request.url.path, status_code=307)
        return JSONResponse({"unknown hostile kind": kind}, status_code=500)

    return Starlette(routes=[Route("/{path:path}", answer, methods=ALL_METHODS)])


HTTP_KINDS = ("html", "huge", "huge-chunked", "bad-json", "error-500", "echo-500", "redirect-loop", "redirect-off-host",
              *BOMBS, "control-bytes")
KINDS = (*RAW, *HTTP_KINDS)


@dataclass
class HitRecorder:
    """Records every connection to OTHER_HOST (the host the suite must never reach)."""

    hits: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.hits.append(await _read_head(reader) or b"(connection without a request)")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()


class HostileServers:
    """Every hostile kind on its own loopback port, plus the recorder on 127.0.0.2, in one loop
    running in a daemon thread. Use as a context manager; `url(kind)` gives a base URL."""

    def __init__(self, kinds: tuple[str, ...] = KINDS) -> None:
        self.kinds = kinds
        self.recorder = HitRecorder()
        self.echoed: list[dict] = []  # every request the echo-500 server received
        self.urls: dict[str, str] = {}
        self.recorder_url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hostile-servers", daemon=True)
        self._raw: list[asyncio.base_events.Server] = []
        self._uvicorn: list[uvicorn.Server] = []
        self._tasks: list[asyncio.Task] = []

    def url(self, kind: str) -> str:
        return self.urls[kind]

    async def _start(self) -> None:
        recorder = await asyncio.start_server(self.recorder.handle, OTHER_HOST, 0)
        self._raw.append(recorder)
        self.recorder_url = f"http://{OTHER_HOST}:{recorder.sockets[0].getsockname()[1]}"
        for kind in self.kinds:
            if kind in RAW:
                server = await asyncio.start_server(RAW[kind], LOOPBACK, 0)
                self._raw.append(server)
                self.urls[kind] = f"http://{LOOPBACK}:{server.sockets[0].getsockname()[1]}"
            else:
                config = uvicorn.Config(http_app(kind, self.recorder_url, self.echoed), host=LOOPBACK, port=0,
                                        log_level="critical", access_log=False, lifespan="off")
                server = uvicorn.Server(config)
                self._uvicorn.append(server)
                self._tasks.append(asyncio.ensure_future(server.serve()))
                while not server.started:
                    if self._tasks[-1].done():
                        raise RuntimeError(f"the hostile {kind} server did not start")
                    await asyncio.sleep(0.01)
                self.urls[kind] = f"http://{LOOPBACK}:{server.servers[0].sockets[0].getsockname()[1]}"

    async def _stop(self) -> None:
        for server in self._uvicorn:
            server.should_exit = True
        for server in self._raw:
            server.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:  # connections still being dripped to or held open
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def __enter__(self) -> "HostileServers":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


@contextmanager
def serving(app: Starlette, *, scheme: str = "http", **options: Any) -> Iterator[str]:
    """`app` under uvicorn on a free loopback port, in a thread of its own, until the block ends;
    yields its base URL. `options` go to uvicorn.Config (e.g. the TLS files)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", access_log=False,
                                           lifespan="off", **options))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"{scheme}://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
