"""One observed HTTP exchange (request and response), as every traffic check sees it.

An `Exchange` is what a HAR entry or the proxy hands the checks: method, absolute URL, request
headers and body, status, response headers and body, when it started and how long it took.
Bodies are bytes already free of any Content-Encoding (a HAR's `content.text` is decoded text,
the proxy decodes what it forwards), each capped at `guarded.MAX_BODY_BYTES`, the suite's own
cap: a larger body is kept as its first bytes with `*_truncated` set, and the checks report it
as the suite does ("more than the 2 MiB chatcontract reads").

`response()` builds the `httpx.Response` the suite's checks (`expect.py`, `decisions.py`) take,
so a recorded exchange is judged by exactly the code that judges a live one.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from chatcontract.suite.guarded import MAX_BODY_BYTES

# Headers that describe the bytes on the wire, not the (decoded) body an Exchange holds.
WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass
class Exchange:
    method: str
    url: str  # absolute, with its query string
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    started: float = field(default_factory=time.time)  # seconds since the epoch
    duration_s: float = 0.0
    request_truncated: bool = False
    response_truncated: bool = False
    response_size: int | None = None  # the body's full size where it was cut (or known)
    on_purpose: bool = False  # recorded by chatcontract while it broke the request deliberately
    response_recorded: bool = True  # False: the recording kept the status but not the body
    failure: str = ""  # the proxy got no answer from the target (why, one line)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.url).query

    def request_header(self, name: str) -> str | None:
        return httpx.Headers(_raw(self.request_headers)).get(name)

    def response(self) -> httpx.Response:
        """The response as the suite's checks take it (no request attached: nothing is re-sent)."""
        headers = [(k, v) for k, v in self.response_headers if k.lower() not in WIRE_HEADERS]
        return httpx.Response(self.status, headers=_raw(headers), content=self.response_body)


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Header pairs as bytes (a recorded value need not be ASCII, which httpx would refuse as text)."""
    return [(k.encode("utf-8", "replace"), v.encode("utf-8", "replace")) for k, v in headers]


def capped(body: bytes, limit: int = MAX_BODY_BYTES) -> tuple[bytes, bool]:
    """`body` cut to `limit` bytes, and whether it was cut."""
    return (body[:limit], True) if len(body) > limit else (body, False)


BOUNDED_CODINGS = ("gzip", "x-gzip", "deflate")


def decoded(body: bytes, content_encoding: str, limit: int = MAX_BODY_BYTES) -> tuple[bytes, bool, bool]:
    """`body` (as sent, possibly cut) with its Content-Encoding undone, at most `limit` bytes of
    output per layer (a gzip bomb is cut, never inflated whole): (bytes, cut, decodable). A coding
    that cannot be undone within the bound (br, zstd, unknown) gives decodable False."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
    cut = False
    for coding in reversed(codings):  # the last one applied is undone first
        if coding not in BOUNDED_CODINGS:
            return body, cut, False
        wbits = zlib.MAX_WBITS | 16 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        try:
            out = zlib.decompressobj(wbits).decompress(body, limit + 1)
        except zlib.error:
            try:
                out = zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, limit + 1)  # raw deflate
            except zlib.error:
                return body, cut, False
        body, cut = (out[:limit], True) if len(out) > limit else (out, cut)
    return body, cut, True
