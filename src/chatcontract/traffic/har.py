"""HAR 1.2 files: read the exchanges of one (browser devtools, mitmproxy, our own), write one.

Reading: no maintained Python HAR parser fits (haralyzer's last release is from 2023 and it
decodes nothing itself), and a HAR is plain JSON, so the file is read through `inputs.py` (size
cap `MAX_HAR_BYTES` before reading it whole, UTF-8, nesting bounded) and checked with jsonschema
against HAR 1.2's required fields that the checks read (`har.schema.json` beside this module),
with `jsonschema-rs` (the Rust validator schemathesis depends on: the Python `jsonschema` took
52 s on a 56 MB export, jsonschema-rs 0.25 s).
Every problem is one `HarError` line naming the file and the place (`log/entries/3/response`).
Per entry: `content.text` is the decoded body, as HAR says (a gzip `Content-Encoding` the
browser already undid is not undone again; only bytes that still start with the gzip magic are
inflated, bounded); `content.encoding: base64` is decoded; a missing `text` with a non-zero
size means the recording kept no body, so only the status is judged; `postData.params` without
`text` is form-encoded again. Bodies are capped at the suite's 2 MiB like a live answer.

Writing: `harfile` (the HAR writer schemathesis itself ships with, a dependency already) streams
one entry at a time to the file, so a long run or proxy session never holds its traffic in
memory. `HarWriter.add(request, response)` takes httpx's request and response (what the suite's
clients hold). Every credential the writer knows (the `secrets` it is given, a target's, and
every one the exchange carries, `credentials.credentials_in`) is replaced wherever it appears
plainly by a pseudonym of the same shape (`Pseudonyms`: same length and character classes, from
a keyed hash whose key is random per writer and never written, so the same value gets the same
pseudonym throughout the file and the original cannot be recovered): a recording of a user id
that is also a credential (Ozeki's `Ozeki-User`, Rocket.Chat's `X-User-Id`) still matches its
schema, and a sequence can still tell callers apart. Every other form of any registered
credential (escaped, encoded) is then `<redacted>` by `redaction.redact`. An exchange chatcontract broke on purpose carries the entry
comment `ON_PURPOSE`, which the reader turns back into `Exchange.on_purpose`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import threading
import zlib
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import urlencode, urlsplit, parse_qsl

import harfile
import httpx
import jsonschema_rs

from chatcontract import inputs, redaction
from chatcontract.suite.guarded import MAX_BODY_BYTES
from chatcontract.traffic import credentials
from chatcontract.traffic.exchange import Exchange, capped

MAX_HAR_BYTES = 64 * inputs.MIB  # a session of API calls is a few MB; browser exports with media are refused
ON_PURPOSE = "chatcontract: this request breaks the spec on purpose"
SCHEMA = Path(__file__).with_name("har.schema.json")
CREATOR = "chatcontract"


class HarError(Exception):
    """A HAR file that cannot be read; the message is one line."""


@cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))


def load(path: Path | str) -> dict[str, Any]:
    """The HAR document, bounded and checked; every problem a one-line HarError."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise HarError(f"{path}: cannot read the HAR file ({exc.strerror or exc})") from None
    if size > MAX_HAR_BYTES:
        raise HarError(f"{path}: the HAR file is {size:,} bytes, larger than the {MAX_HAR_BYTES // inputs.MIB} MiB "
                       "chatcontract reads (export only the API's requests, or split the file)")
    try:
        document = inputs.parse_json(inputs.read_text(path, "the HAR file", limit=MAX_HAR_BYTES), f"{path}")
    except inputs.InputError as exc:
        raise HarError(str(exc)) from None
    error = next(iter(_validator().iter_errors(document)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.instance_path) or "the top level"
        raise HarError(f"{path}: not a HAR 1.2 file: at {where}: {redaction.clip(error.message, 200)}")
    return document


def _epoch(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _inflate(data: bytes, limit: int) -> tuple[bytes, bool]:
    """Bytes that still begin with the gzip magic, inflated to at most limit + 1 bytes."""
    try:
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out = decoder.decompress(data, limit + 1)
    except zlib.error:
        return data, False
    return (out[:limit], True) if len(out) > limit else (out, False)


def _text_bytes(text: str, encoding: str | None, where: str) -> bytes:
    if (encoding or "").lower() == "base64":
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            raise HarError(f"{where}: says base64 but is not base64") from None
    return text.encode("utf-8", "surrogatepass")


def _headers(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["name"], r["value"]) for r in records if not r["name"].startswith(":")]  # HTTP/2 pseudo-headers


def exchange_of(entry: dict[str, Any], where: str) -> Exchange:
    """One checked HAR entry as an Exchange."""
    request, response = entry["request"], entry["response"]
    post = request.get("postData") or {}
    if "text" in post:
        raw = _text_bytes(post["text"], post.get("encoding"), f"{where}/request/postData")
    elif post.get("params"):
        raw = urlencode([(p["name"], p.get("value", "")) for p in post["params"]]).encode()
    else:
        raw = b""
    request_body, request_cut = capped(raw)
    content = response["content"]
    recorded = "text" in content or not content.get("size")
    body = _text_bytes(content.get("text", ""), content.get("encoding"), f"{where}/response/content")
    size = len(body)
    headers = _headers(response["headers"])
    cut = False
    if body[:2] == b"\x1f\x8b" and any(k.lower() == "content-encoding" and "gzip" in v.lower() for k, v in headers):
        body, cut = _inflate(body, MAX_BODY_BYTES)
        size = -1 if cut else len(body)
    if not cut:
        body, cut = capped(body)
    return Exchange(
        method=request["method"].upper(), url=request["url"], request_headers=_headers(request["headers"]),
        request_body=request_body, request_truncated=request_cut, status=response["status"],
        response_headers=headers, response_body=body, response_truncated=cut,
        response_size=size if size >= 0 else None, started=_epoch(entry["startedDateTime"]),
        duration_s=max(float(entry["time"]), 0.0) / 1000, on_purpose=entry.get("comment") == ON_PURPOSE,
        response_recorded=recorded)


def exchanges(document: dict[str, Any], path: Path | str = "the HAR file") -> Iterator[Exchange]:
    """Every entry of a loaded HAR document, in the file's order."""
    for index, entry in enumerate(document["log"]["entries"]):
        yield exchange_of(entry, f"{path}: log/entries/{index}")


def read(path: Path | str) -> list[Exchange]:
    """Every exchange of the HAR file at `path` (HarError, one line, when it cannot be read)."""
    return list(exchanges(load(path), path))


# --------------------------------------------------------------------------- writing

_CLASSES = ("0123456789", "abcdef", "ghijklmnopqrstuvwxyz", "ABCDEF", "GHIJKLMNOPQRSTUVWXYZ")


class Pseudonyms:
    """Same-shape stand-ins for credentials: each character replaced by one of its own class
    (digit, hex letter, other letter, in its case; anything else kept), chosen by HMAC-SHA256
    under a random key, so one value always gets one pseudonym and no pseudonym gives the value."""

    def __init__(self) -> None:
        self._key = os.urandom(32)
        self._known: dict[str, str] = {}
        self._lock = threading.Lock()

    def of(self, value: str) -> str:
        with self._lock:
            if value not in self._known:
                stream = b""
                counter = 0
                while len(stream) < len(value):
                    stream += hmac.new(self._key, f"{counter}:{value}".encode(), hashlib.sha256).digest()
                    counter += 1
                out = []
                for c, b in zip(value, stream):
                    chars = next((k for k in _CLASSES if c in k), None)
                    out.append(chars[b % len(chars)] if chars else c)
                fake = "".join(out)
                self._known[value] = fake if fake != value else fake[::-1]
            return self._known[value]

    def apply(self, text: str, secrets: list[str]) -> str:
        for secret in secrets:  # longest first, so a secret holding another is replaced whole
            if secret in text:
                text = text.replace(secret, self.of(secret))
        return redaction.redact(text)

def _body_content(body: bytes, mime: str, hide: Any) -> harfile.Content:
    try:
        text, encoding = hide(body.decode("utf-8")), None
    except UnicodeDecodeError:
        text, encoding = redaction.redact(base64.b64encode(body).decode("ascii")), "base64"
    return harfile.Content(size=len(body), mimeType=mime, text=text, encoding=encoding)


def _records(pairs: Iterable[tuple[str, str]], hide: Any) -> list[harfile.Record]:
    return [harfile.Record(name=hide(k), value=hide(v)) for k, v in pairs]


def _exchange_from(request: httpx.Request, response: httpx.Response, started: float | None,
                   elapsed_s: float | None) -> Exchange:
    try:
        request_body = request.content
    except httpx.RequestNotRead:
        request_body = b""
    try:
        response_body = response.content
    except httpx.ResponseNotRead:
        response_body = b""
    if elapsed_s is None:
        try:
            elapsed_s = response.elapsed.total_seconds()
        except RuntimeError:  # a response built by hand has no elapsed time
            elapsed_s = 0.0
    return Exchange(method=request.method, url=str(request.url), request_headers=list(request.headers.multi_items()),
                    request_body=request_body, status=response.status_code,
                    response_headers=list(response.headers.multi_items()), response_body=response_body,
                    started=started if started is not None else 0.0, duration_s=elapsed_s)


class HarWriter:
    """A HAR 1.2 file written one entry at a time, every credential redacted. Thread-safe."""

    def __init__(self, path: Path | str, *, api: str | None = None, comment: str | None = None,
                 secrets: Iterable[str] = ()) -> None:
        from chatcontract import __version__

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.api = api
        self._fd = open(self.path, "w", encoding="utf-8")
        self._har = harfile.HarFile(self._fd, creator=harfile.Creator(name=CREATOR, version=__version__),
                                    comment=comment)
        self._lock = threading.Lock()
        self.count = 0
        self._pseudonyms = Pseudonyms()
        self._secrets: set[str] = {s for s in secrets if len(s) >= redaction.MIN_SECRET_CHARS}
        redaction.register(self._secrets)

    def add(self, request: httpx.Request, response: httpx.Response, *, started: float | None = None,
            elapsed_s: float | None = None, on_purpose: bool = False) -> None:
        """One (request, response) pair of httpx; `started` in seconds since the epoch (default: now
        less the elapsed time), `on_purpose`: the request breaks the spec deliberately."""
        exchange = _exchange_from(request, response, started, elapsed_s)
        if started is None:
            import time

            exchange.started = time.time() - exchange.duration_s
        exchange.on_purpose = on_purpose
        self.add_exchange(exchange)

    def add_exchange(self, exchange: Exchange) -> None:
        credentials.register(self.api, exchange)
        with self._lock:
            self._secrets.update(s for s in credentials.credentials_in(self.api, exchange)
                                 if len(s) >= redaction.MIN_SECRET_CHARS)
            secrets = sorted(self._secrets, key=len, reverse=True)

        def hide(text: str) -> str:
            return self._pseudonyms.apply(text, secrets)

        split = urlsplit(exchange.url)
        mime = next((v for k, v in exchange.request_headers if k.lower() == "content-type"), "")
        request = harfile.Request(
            method=exchange.method, url=hide(exchange.url), httpVersion="HTTP/1.1",
            headers=_records(exchange.request_headers, hide),
            queryString=_records(parse_qsl(split.query, keep_blank_values=True), hide),
            postData=harfile.PostData(mimeType=mime, text=hide(exchange.request_body.decode("utf-8", "replace")))
            if exchange.request_body else None,
            bodySize=len(exchange.request_body))
        response_mime = next((v for k, v in exchange.response_headers if k.lower() == "content-type"), "")
        # The body is kept decoded (as HAR says), so the wire headers that described its encoding go.
        headers = [(k, v) for k, v in exchange.response_headers if k.lower() not in ("content-encoding", "transfer-encoding")]
        response = harfile.Response(
            status=exchange.status, statusText=httpx.codes.get_reason_phrase(exchange.status), httpVersion="HTTP/1.1",
            headers=_records(headers, hide), content=_body_content(exchange.response_body, response_mime, hide),
            redirectURL=hide(next((v for k, v in headers if k.lower() == "location"), "")),
            bodySize=len(exchange.response_body))
        millis = round(exchange.duration_s * 1000, 3)
        with self._lock:
            self._har.add_entry(startedDateTime=datetime.fromtimestamp(exchange.started, timezone.utc),
                                time=millis, request=request, response=response,
                                timings=harfile.Timings(send=0, wait=millis, receive=0),
                                comment=ON_PURPOSE if exchange.on_purpose else None)
            self.count += 1

    def close(self) -> None:
        with self._lock:
            if not self._har.closed:
                self._har.close()
                self._fd.close()

    def __enter__(self) -> "HarWriter":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def write(path: Path | str, pairs: Iterable[tuple[httpx.Request, httpx.Response]], *, api: str | None = None,
          secrets: Iterable[str] = ()) -> int:
    """Write (request, response) pairs as one redacted HAR file; how many entries it has."""
    with HarWriter(path, api=api, secrets=secrets) as writer:
        for request, response in pairs:
            writer.add(request, response)
        return writer.count
