"""Every exchange with a target, bounded: total time, body size, no redirects.

`GuardedTransport` (httpx, for the errors and semantics layers and the test hooks) and
`guarded_session()` (requests, for schemathesis) treat a request's timeout as a budget for the
*whole* exchange (connect, send, headers, body), so a target that drips bytes cannot hold a run;
a body larger than `MAX_BODY_BYTES` is refused; redirects are never followed, so a request never
leaves the target's host. `probe()` tells whether a target answers HTTP at all.

Written by hand: no HTTP library offers a total-time limit that also covers a dripping status
line and headers (httpx and urllib3 time each socket read), so the deadline is applied below
httpcore, per socket call.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any, Iterator

import httpcore
import httpx
import requests
import urllib3

from chatcontract.suite.expect import Mismatch, one_line
from chatcontract.targets import Target

MAX_BODY_BYTES = 2 * 1024 * 1024  # no documented response of these APIs comes near it


class TotalTimeout(httpx.TimeoutException):
    """No complete response within the request's time budget: the target is too slow or drips."""


class ResponseTooLarge(Mismatch):
    """The target sent a body larger than MAX_BODY_BYTES (a deviation: nothing documented is)."""


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
        stream = self._backend.connect_tcp(host, port, self._deadline.bound(timeout), local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, self._deadline.bound(timeout), socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _GuardedStream(httpx.SyncByteStream):
    """A response body read under the exchange's deadline and size limit."""

    def __init__(self, stream: httpx.SyncByteStream, deadline: _Deadline, method: str, path: str) -> None:
        self._stream, self._deadline, self._method, self._path = stream, deadline, method, path

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        try:
            for chunk in self._stream:
                seen += len(chunk)
                if seen > MAX_BODY_BYTES:
                    raise _too_large(self._method, self._path, f"more than {MAX_BODY_BYTES} bytes")
                yield chunk
        except httpx.TimeoutException:
            if self._deadline.passed():
                raise self._deadline.expired() from None
            raise

    def close(self) -> None:
        self._stream.close()


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


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with a total-time budget per exchange and a response size limit.

    The budget is the request's own timeout (httpx's `timeout=`), applied to the exchange as a
    whole rather than to each socket read."""

    def __init__(self, *, verify: bool = True) -> None:
        # HTTPTransport.__init__ only builds its httpcore pool and has no option for the pool's
        # network backend, so the pool is built here: HTTPTransport's defaults plus the deadline
        # backend (written for httpx 0.28 and httpcore 1.0, both pinned in pyproject.toml).
        self._deadline = _Deadline()
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(verify=verify),
                                             network_backend=_DeadlineBackend(self._deadline))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        self._deadline.start(_budget(request.extensions.get("timeout")), f"{method} {path}")
        try:
            response = super().handle_request(request)
        except httpx.TimeoutException:
            if self._deadline.passed():
                raise self._deadline.expired() from None
            raise
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            response.close()
            raise _too_large(method, path, f"{int(length)} bytes (Content-Length)")
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(response.status_code, headers=response.headers, extensions=response.extensions,
                              stream=_GuardedStream(response.stream, self._deadline, method, path))


def guarded_client(timeout: float = 10.0, *, verify: bool = True) -> httpx.Client:
    """An httpx client for talking to a target: `timeout` bounds each whole exchange, bodies are
    capped, redirects are not followed."""
    # trust_env=False: no proxy from the environment (traffic goes to the target and nowhere else,
    # and a proxy transport would bypass the guard) and no .netrc credentials added to requests.
    return httpx.Client(transport=GuardedTransport(verify=verify), timeout=timeout, follow_redirects=False,
                        trust_env=False)


class _GuardedAdapter(requests.adapters.BaseAdapter):
    """A requests adapter that sends through GuardedTransport (schemathesis speaks requests).

    Once a request has timed out, the adapter sends nothing more: every later call fails at once
    with that timeout. One schema check generates dozens of requests, and against a target that
    stopped answering each would otherwise wait out its whole budget."""

    def __init__(self) -> None:
        super().__init__()
        self._clients: dict[bool, httpx.Client] = {}
        self._lock = threading.Lock()
        self._timed_out: str | None = None

    def _client(self, verify: Any) -> httpx.Client:
        key = verify is not False
        with self._lock:
            if key not in self._clients:
                self._clients[key] = guarded_client(verify=key)
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
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(answer.content), preload_content=False,
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


def guarded_session() -> requests.Session:
    """A requests session whose every exchange is guarded as `guarded_client`'s (for schemathesis:
    `case.call_and_validate(session=...)`). Redirects are not followed."""
    session = _NoRedirectSession()
    session.trust_env = False  # as guarded_client: no proxy or .netrc from the environment
    adapter = _GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def probe(target: Target) -> str | None:
    """None when the target answers HTTP at all (any status, any body); else a one-line reason."""
    try:
        with guarded_client(min(target.request_timeout_s, 10)) as client:
            client.get(target.base_url + "/")
    except ResponseTooLarge:
        return None  # it answered
    except httpx.HTTPError as exc:
        # "ConnectError" alone says it all; a reset or a timeout is worth its detail.
        detail = str(exc).partition(": ")[2] if isinstance(exc, TotalTimeout) else str(exc)
        reason = f" ({one_line(detail)})" if detail and not isinstance(exc, httpx.ConnectError) else ""
        return f"target {target.name} unreachable at {target.base_url}: {type(exc).__name__}{reason}"
    return None
