"""Every exchange with a target, bounded: total time, body size, no redirects.

`GuardedTransport` (httpx, for the errors and semantics layers and the test hooks) and
`guarded_session()` (requests, for schemathesis, sending through the same transport) treat a
request's timeout as a budget for the *whole* exchange (name resolution, connect, TLS, send,
headers, body), so a target that drips bytes or a slow DNS cannot hold a run; a body larger than
`MAX_BODY_BYTES` is refused, counted both as sent and once decoded (every Content-Encoding httpx
would decode, stacked ones layer by layer, so a gzip bomb is refused after 2 MiB of output rather
than inflated); redirects are never followed, so a request never leaves the target's host. A
certificate that fails verification is said to in words (`TLSVerificationFailed`), not as a bare
ConnectError like a closed port. `probe()` tells whether a target answers HTTP at all.

A client built for a target (`target=`, or with the target's own `Target.ssl_context()`, as every
client of the suite is) is that target's client: it sends the target file's `headers` with every
request (a request's own header of the same name wins; the target file cannot name a credential's
header), and it sends no faster than the target's rate limits (`Target.rate_limit_for`: the target
file's `rate_limit_per_s`, else the spec's `x-rate-limit`), counted per target and scope in one
limiter shared by all of the target's clients in the process (pyrate-limiter, sliding window). A
client with `retry_429` (the schemathesis session's default: its generated requests never provoke
a limit on purpose) answers a 429 that carries `Retry-After` (seconds or an HTTP date) by waiting
that long and sending the request once more, when the wait is within the target's
request_timeout_s; a longer one is said in words (a `RateLimitNotice` warning) and the 429 is the
answer. The httpx clients (`guarded_client`, which the errors and semantic layers send through)
do not retry unless asked: their checks count each call and assert the documented 429s.
A request the suite sends to provoke a documented limit is marked (`provoking()` around it, or
the request extension `PROVOKED`): it is neither paced nor retried, so it still meets the limit.

Written by hand: no HTTP library offers a total-time limit that also covers a dripping status
line and headers (httpx and urllib3 time each socket read), so the deadline is applied below
httpcore, per socket call; nor a cap on decoded size (httpx's decoders inflate each chunk
whole), so the size is counted by decoding with zlib's `max_length` before httpx decodes.
"""

from __future__ import annotations

import contextvars
import io
import ipaddress
import socket
import ssl
import threading
import time
import warnings
import zlib
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator

import httpcore
import httpx
import requests
import urllib3
from httpx._decoders import SUPPORTED_DECODERS  # which codings httpx decodes (br, zstd: when installed)
from pyrate_limiter import Duration, Limiter, Rate

from chatcontract.redaction import redact
from chatcontract.suite.expect import Mismatch, one_line
from chatcontract.targets import RateLimit, Target, owner_of

MAX_BODY_BYTES = 2 * 1024 * 1024  # no documented response of these APIs comes near it


class TotalTimeout(httpx.TimeoutException):
    """No complete response within the request's time budget: the target is too slow or drips."""


class ResponseTooLarge(Mismatch):
    """The target sent a body larger than MAX_BODY_BYTES (a deviation: nothing documented is)."""


class TLSVerificationFailed(httpx.ConnectError):
    """The target's TLS certificate did not verify (self-signed, unknown CA, wrong host name)."""


def _tls_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _too_large(method: str, path: str, size: str) -> ResponseTooLarge:
    return ResponseTooLarge(f"{method} {path} sent a response body of {size}, more than the "
                            f"{MAX_BODY_BYTES // (1024 * 1024)} MiB chatcontract reads (no documented body is that big)")


class _Deadline(threading.local):
    """The end of the current exchange, per thread (one exchange at a time per connection)."""

    at: float | None = None
    budget: float = 0.0
    label: str = ""

    def start(self, budget: float | None, label: str) -> None:
        self.at = None if budget is None else time.monotonic() + budget
        self.budget, self.label = budget or 0.0, label

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def expired(self) -> TotalTimeout:
        return TotalTimeout(f"{self.label}: no complete response within {self.budget:g} s, the target's request_timeout_s")

    def bound(self, timeout: float | None) -> float | None:
        """A socket call's timeout, cut to what is left of the exchange's budget."""
        if self.at is None:
            return timeout
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise self.expired()
        return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.bound(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.bound(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: _Deadline) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        address = self._resolve(host, port, self._deadline.bound(timeout))
        stream = self._backend.connect_tcp(address, port, self._deadline.bound(timeout), local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def _resolve(self, host: str, port: int, timeout: float | None) -> str:
        """`host`'s first address, resolved within `timeout` (getaddrinfo itself has no timeout, so
        it runs in a daemon thread that is abandoned if it takes too long). TLS still checks the
        certificate against `host`: httpcore passes the origin's name as server_hostname."""
        try:
            ipaddress.ip_address(host)
            return host
        except ValueError:
            pass
        found: list[Any] = []

        def lookup() -> None:
            try:
                found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
            except OSError as exc:
                found.append(exc)

        worker = threading.Thread(target=lookup, name=f"resolve-{host}", daemon=True)
        worker.start()
        worker.join(timeout)
        if not found:
            if self._deadline.passed():
                raise self._deadline.expired()
            raise httpcore.ConnectTimeout(f"name resolution of {host} took longer than {timeout:g} s")
        if isinstance(found[0], OSError):
            raise httpcore.ConnectError(f"cannot resolve {host}: {found[0].strerror or found[0]}")
        return found[0][0][4][0]

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, self._deadline.bound(timeout), socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


PIECE = 64 * 1024  # the most one decoding step may produce


def _inflate(source: Iterator[bytes], coding: str) -> Iterator[bytes]:
    """One layer of gzip or deflate, as httpx decodes it (deflate: zlib-wrapped, else raw), in
    pieces of at most PIECE bytes. Stops quietly at the end of the stream or at bytes that do not
    decode: httpx then says what is wrong when it decodes the body itself."""
    wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
    decoder = zlib.decompressobj(wbits)
    first = coding == "deflate"
    for chunk in source:
        data = chunk
        while True:
            try:
                out = decoder.decompress(data, PIECE)
            except zlib.error:
                if not first:
                    return
                decoder, first = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            first = False
            data = decoder.unconsumed_tail
            if out:
                yield out
            if decoder.eof:
                return
            if not data and len(out) < PIECE:
                break


def _counted(source: Iterator[bytes], limit: int, too_large: Any) -> Iterator[bytes]:
    total = 0
    for piece in source:
        total += len(piece)
        if total > limit:
            raise too_large()
        yield piece


def check_decoded_size(headers: httpx.Headers, body: bytes, method: str, path: str) -> None:
    """Refuse a body that decodes (layer by layer, in the order httpx would undo its
    Content-Encoding) to more than MAX_BODY_BYTES, without ever holding more than PIECE bytes of
    any layer. A coding httpx would decode but this cannot bound (br, zstd, when their packages
    are installed) is refused too: chatcontract never asks for it (Accept-Encoding: gzip, deflate)."""
    codings = [c.strip().lower() for value in headers.get_list("content-encoding") for c in value.split(",")]
    codings = [c for c in codings if c in SUPPORTED_DECODERS and c != "identity"]
    if not codings:
        return
    label = ", ".join(codings)

    def too_large() -> ResponseTooLarge:
        return _too_large(method, path, f"more than {MAX_BODY_BYTES} bytes once decoded (Content-Encoding: {label})")

    stream: Iterator[bytes] = iter([body[i:i + PIECE] for i in range(0, len(body), PIECE)])
    for coding in reversed(codings):
        if coding not in ("gzip", "deflate"):
            raise ResponseTooLarge(f"{method} {path} sent Content-Encoding {coding}, which chatcontract did not ask "
                                   "for (Accept-Encoding: gzip, deflate) and cannot decode within its size limit")
        stream = _counted(_inflate(stream, coding), MAX_BODY_BYTES, too_large)
    for _ in stream:
        pass


ACCEPT_ENCODING = "gzip, deflate"  # the codings check_decoded_size bounds


def _budget(timeouts: Any) -> float | None:
    """The whole exchange's budget: the largest of the request's (connect, read, write, pool) timeouts."""
    if isinstance(timeouts, dict):
        values = [v for v in timeouts.values() if isinstance(v, (int, float))]
        return max(values) if values else None
    if isinstance(timeouts, tuple):
        return _budget(dict(enumerate(timeouts)))
    if isinstance(timeouts, urllib3.Timeout):
        return _budget({"connect": timeouts.connect_timeout, "read": timeouts.read_timeout, "total": timeouts.total})
    return float(timeouts) if isinstance(timeouts, (int, float)) else None


_sent = [0]  # requests this process sent through GuardedTransport (every client of the suite)
_sent_lock = threading.Lock()


def _count_request() -> None:
    with _sent_lock:
        _sent[0] += 1


def requests_sent() -> int:
    """How many requests this process has sent to targets so far (the reports' request counts)."""
    return _sent[0]


# Called with (request, response) after every exchange this process completes (`run --record`);
# the response's body is read and decoded. Empty unless something asked to see the traffic.
observers: list[Callable[[httpx.Request, httpx.Response], None]] = []


def _tell_observers(request: httpx.Request, response: httpx.Response, content: bytes) -> None:
    if not observers:
        return
    seen = httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(content),
                          request=request, extensions=response.extensions)
    seen.read()
    for observer in observers:
        observer(request, seen)


# --- the target's rate limit and Retry-After ---------------------------------------------------

PROVOKED = "chatcontract.provoked"  # request extension: True for a request meant to meet a limit
_provoking: contextvars.ContextVar[bool] = contextvars.ContextVar("chatcontract_provoking", default=False)


@contextmanager
def provoking() -> Iterator[None]:
    """Every request sent inside (this thread or task) provokes a documented limit on purpose:
    not paced by the target's rate limit, its 429 never retried."""
    token = _provoking.set(True)
    try:
        yield
    finally:
        _provoking.reset(token)


class RateLimitNotice(UserWarning):
    """A 429 whose Retry-After is longer than chatcontract waits: the 429 is the answer."""


_notices: list[str] = []  # the RateLimitNotices since the last `take_notices()` (this process)


def take_notices() -> list[str]:
    """The rate-limit notices said since the last call (the plugin adds them to a failing check's
    detail: a warning alone would be lost in pytest's summary, which `chatcontract run` hides)."""
    taken = list(dict.fromkeys(_notices))
    _notices.clear()
    return taken


_limiters: dict[tuple[str, str, str], Limiter] = {}  # (target name, base_url, scope) -> its limiter
_limiters_lock = threading.Lock()


def _rate(per_s: float) -> Rate:
    """`per_s` requests a second as a whole number of requests per window (0.5/s: 1 per 2 s)."""
    calls = max(1, round(per_s))
    return Rate(calls, max(1, round(calls * Duration.SECOND / per_s)))


def _limiter(target: Target, limit: RateLimit) -> Limiter:
    key = (target.name, target.base_url, limit.scope)
    with _limiters_lock:
        if key not in _limiters:
            _limiters[key] = Limiter(_rate(limit.per_s))
        return _limiters[key]


def _pace(target: Target, request: httpx.Request) -> None:
    """Wait until the target's limit for this request lets one more through."""
    limit = target.rate_limit_for(request.method, request.url.path)
    if limit is not None:
        _limiter(target, limit).try_acquire(limit.scope, blocking=True)


def retry_after_s(value: str | None) -> float | None:
    """`Retry-After` in seconds from now: delay-seconds or an HTTP date (RFC 9110 10.2.3); None
    when absent or unreadable. A date in the past is 0."""
    text = (value or "").strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def is_provoked(request: httpx.Request) -> bool:
    return bool(request.extensions.get(PROVOKED)) or _provoking.get()


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with a total-time budget per exchange and a response size limit.

    The budget is the request's own timeout (httpx's `timeout=`), applied to the exchange as a
    whole rather than to each socket read."""

    def __init__(self, *, verify: bool | ssl.SSLContext = True, target: Target | None = None,
                 retry_429: bool = False) -> None:
        # HTTPTransport.__init__ only builds its httpcore pool and has no option for the pool's
        # network backend, so the pool is built here: HTTPTransport's defaults plus the deadline
        # backend (written for httpx 0.28 and httpcore 1.0, both pinned in pyproject.toml).
        self._deadline = _Deadline()
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=_DeadlineBackend(self._deadline))
        self._target = target
        self._retry_429 = retry_429

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """The answer to `request`, paced by the target's rate limit; a 429 with Retry-After
        waited out and sent once more where this transport retries (see the module's text)."""
        provoked = is_provoked(request)
        if self._target is not None and not provoked:
            _pace(self._target, request)
        response = self._exchange(request)
        if response.status_code != 429 or not self._retry_429 or provoked:
            return response
        header = response.headers.get("retry-after")
        wait = retry_after_s(header)
        if wait is None:
            return response
        most = self._target.request_timeout_s if self._target is not None else _budget(request.extensions.get("timeout")) or 10.0
        if wait > most:
            notice = (f"{request.method} {request.url.path} answered 429 with Retry-After: {one_line(header or '', 60)} "
                      f"({wait:g} s), longer than the {most:g} s chatcontract waits (the target's request_timeout_s): "
                      "not retried, the 429 is the answer")
            _notices.append(notice)
            warnings.warn(RateLimitNotice(notice), stacklevel=2)
            return response
        time.sleep(wait)
        if self._target is not None:
            _pace(self._target, request)
        return self._exchange(request)

    def _exchange(self, request: httpx.Request) -> httpx.Response:
        """The whole response, read under the deadline and both size limits (the suite reads every
        body whole anyway; none it should get is near the limit)."""
        method, path = request.method, request.url.path
        _count_request()
        self._deadline.start(_budget(request.extensions.get("timeout")), f"{method} {path}")
        try:
            response = super().handle_request(request)
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                response.close()
                raise _too_large(method, path, f"{int(length)} bytes (Content-Length)")
            body = bytearray()
            try:
                for chunk in response.stream:
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        body.clear()  # the exception's traceback keeps this frame (hypothesis keeps failures)
                        raise _too_large(method, path, f"more than {MAX_BODY_BYTES} bytes")
            finally:
                response.close()
        except httpx.TimeoutException:
            if self._deadline.passed():
                raise self._deadline.expired() from None
            raise
        except httpx.ConnectError as exc:
            failure = _tls_failure(exc)
            if failure is None:
                raise
            reason = getattr(failure, "verify_message", None) or failure.reason or "certificate verify failed"
            raise TLSVerificationFailed(f"TLS certificate verification failed for {request.url.host} ({reason}): "
                                        "give its CA as tls.ca_file in the target file", request=request) from None
        content = bytes(body)
        del body
        check_decoded_size(response.headers, content, method, path)
        _tell_observers(request, response, content)
        return httpx.Response(response.status_code, headers=response.headers, extensions=response.extensions,
                              stream=httpx.ByteStream(content))


def guarded_client(timeout: float = 10.0, *, verify: bool | ssl.SSLContext = True, target: Target | None = None,
                   retry_429: bool = False) -> httpx.Client:
    """An httpx client for talking to a target: `timeout` bounds each whole exchange, bodies are
    capped, redirects are not followed; `verify` is a target's `Target.ssl_context()`. The
    target's client (`target`, or the one whose `ssl_context()` `verify` is) sends its headers
    and keeps to its rate limit; `retry_429`: wait out a 429's Retry-After and send once more."""
    target = target or owner_of(verify)
    if target is not None and verify is True:
        verify = target.ssl_context()
    headers = {"Accept-Encoding": ACCEPT_ENCODING, **(target.headers if target is not None else {})}
    # trust_env=False: no proxy from the environment (traffic goes to the target and nowhere else,
    # and a proxy transport would bypass the guard) and no .netrc credentials added to requests.
    return httpx.Client(transport=GuardedTransport(verify=verify, target=target, retry_429=retry_429), timeout=timeout,
                        follow_redirects=False, trust_env=False, headers=headers)


class _GuardedAdapter(requests.adapters.BaseAdapter):
    """A requests adapter that sends through GuardedTransport (schemathesis speaks requests).

    Once a request has timed out, the adapter sends nothing more: every later call fails at once
    with that timeout. One schema check generates dozens of requests, and against a target that
    stopped answering each would otherwise wait out its whole budget."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, target: Target | None = None,
                 retry_429: bool = True) -> None:
        super().__init__()
        self._clients: dict[bool, httpx.Client] = {}
        self._lock = threading.Lock()
        self._timed_out: str | None = None
        self._ssl_context = ssl_context
        self._target = target
        self._retry_429 = retry_429

    def _client(self, verify: Any) -> httpx.Client:
        key = verify is not False
        with self._lock:
            if key not in self._clients:
                chosen = self._ssl_context if key and self._ssl_context is not None else key
                self._clients[key] = guarded_client(verify=chosen, target=self._target, retry_429=self._retry_429)
            return self._clients[key]

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = None
        if self._timed_out is None:
            try:
                answer = self._client(verify).request(request.method or "GET", request.url or "",
                                                      headers=list(request.headers.items()), content=body,
                                                      timeout=_budget(timeout) or 10.0)
            except httpx.TimeoutException as exc:
                self._timed_out = str(exc) or type(exc).__name__
            except httpx.TransportError as exc:
                raise requests.exceptions.ConnectionError(f"{type(exc).__name__}: {exc}", request=request) from None
        if answer is None:
            # One raise for the first timeout and every later one: hypothesis sees one failure.
            raise requests.exceptions.Timeout(self._timed_out, request=request)
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.reason_phrase
        response.headers = requests.structures.CaseInsensitiveDict(answer.headers.items())
        # schemathesis reads the raw headers (repeated ones as lists) and the HTTP version.
        # The body is decoded already (by httpx, within the size limit): urllib3 must not decode it again.
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(answer.content), preload_content=False, decode_content=False,
                                            headers=urllib3.HTTPHeaderDict(answer.headers.multi_items()),
                                            status=answer.status_code, reason=answer.reason_phrase,
                                            version=10 if answer.http_version == "HTTP/1.0" else 11)
        response._content = answer.content
        response.elapsed = answer.elapsed  # schemathesis' response-time check reads it
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url = request.url or ""
        response.request = request
        response.connection = self
        return response

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


class _NoRedirectSession(requests.Session):
    def get_redirect_target(self, resp: requests.Response) -> None:
        return None  # a redirect is the answer under test, never followed (off-host or not)


def guarded_session(ssl_context: ssl.SSLContext | None = None, *, target: Target | None = None,
                    retry_429: bool = True) -> requests.Session:
    """A requests session whose every exchange is guarded as `guarded_client`'s (for schemathesis:
    `case.call_and_validate(session=...)`). Redirects are not followed; `ssl_context` is a
    target's `Target.ssl_context()`, which makes it that target's session (headers, rate limit),
    as `target` does. It retries a 429 with Retry-After unless `retry_429=False`."""
    target = target or owner_of(ssl_context)
    if target is not None and ssl_context is None:
        ssl_context = target.ssl_context()
    session = _NoRedirectSession()
    session.trust_env = False  # as guarded_client: no proxy or .netrc from the environment
    session.headers["Accept-Encoding"] = ACCEPT_ENCODING
    if target is not None:
        session.headers.update(target.headers)  # a case's own header of the same name wins
    adapter = _GuardedAdapter(ssl_context, target, retry_429)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def probe(target: Target) -> str | None:
    """None when the target answers HTTP at all (any status, any body); else a one-line reason."""
    try:
        with guarded_client(min(target.request_timeout_s, 10), verify=target.ssl_context(), target=target) as client:
            client.get(target.base_url + "/")
    except ResponseTooLarge:
        return None  # it answered
    except httpx.HTTPError as exc:
        # "ConnectError" alone says it all; a reset, a timeout or a certificate is worth its detail.
        detail = str(exc).partition(": ")[2] if isinstance(exc, TotalTimeout) else str(exc)
        plain = isinstance(exc, httpx.ConnectError) and not isinstance(exc, TLSVerificationFailed)
        reason = f" ({one_line(detail, 300)})" if detail and not plain else ""
        return redact(f"target {target.name} unreachable at {target.base_url}: {type(exc).__name__}{reason}")
    return None
