"""Requests on the wire: build them from the spec's `x-request`/`x-provoke`, send them, show them.

A `Call` is one request in terms of the spec (operation, identity, parameters, body). `Wire`
sends it to a target with the credentials the spec's securitySchemes say how to carry, and
renders it as a copy-paste curl command with every credential replaced by `<redacted>`.

Every exchange goes through `guarded.guarded_client()`: the target's request timeout bounds the
whole exchange, bodies are capped, redirects are never followed, so a request never leaves the
target's host.

Written by hand: the fixture-reference syntax and the x-request/x-provoke changes are this
project's own data formats (specs/extensions.md); HTTP itself is httpx's.
"""

from __future__ import annotations

import collections
import copy
import json
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from chatcontract import specs
from chatcontract.redaction import redact
from chatcontract.suite import sharing
from chatcontract.suite.guarded import guarded_client
from chatcontract.targets import ANONYMOUS, Target

NOT_SET: Any = object()
WRONG_CREDENTIAL = "chatcontract-wrong-credential-0000"
WRONG = "wrong"  # in a `credentials` map: this scheme carries a value no server could have issued
NEAR = "near-miss"  # ... the caller's own value with its end changed (a server checking only a prefix accepts it)
LEFT_OUT = "missing"  # ... this scheme is not sent at all (the others are)
NEAR_MISS_CHARS = 6
LOG_SIZE = 200  # exchanges a wire remembers for a failure report
SHOWN_EXCHANGES = 12  # of them, how many a failure lists (the failing read is the last)
BODY_CHARS = 160  # of each response body


def near_miss(value: str) -> str:
    """`value` with its last characters changed, each to another of its kind (digit, lower, upper),
    so the value keeps its shape: `1004|dave-b0uncer-5e55ion` -> `1004|dave-b0uncer-5f66jpo`."""
    def shifted(c: str) -> str:
        for first, size in (("0", 10), ("a", 26), ("A", 26)):
            if first <= c < chr(ord(first) + size):
                return chr(ord(first) + (ord(c) - ord(first) + 1) % size)
        return c
    cut = max(len(value) - NEAR_MISS_CHARS, len(value) // 2)
    tail = "".join(shifted(c) for c in value[cut:])
    return value[:cut] + (tail if tail != value[cut:] else "x" * len(tail))
USER_SCHEME = re.compile(r"user", re.IGNORECASE)


def user_id_schemes(platform: str) -> list[str]:
    """The security schemes that carry the caller's user id rather than a secret: an `apiKey`
    scheme whose name or parameter name says `user` (X-User-Id, Ozeki-User). Their value is not
    secret, so a server must check it belongs with the other credentials sent."""
    schemes = specs.security_schemes(platform)
    return [name for name in specs.security_scheme_names(platform)
            if schemes[name].get("type") == "apiKey" and USER_SCHEME.search(name + " " + str(schemes[name].get("name", "")))]


def partial_credentials(platform: str, caller: str, identities: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Partly wrong credentials for `caller`, from the spec's security schemes alone: each scheme
    a near miss of the caller's own value (a session or token whose user prefix is right and
    whose secret is not); and where there are several schemes (a) each wrong while the others
    are right, (d) each left out while the others are sent, (b) the user id right and every other
    scheme wrong (where that differs from (a)), (c) another identity's user id with the caller's
    other credentials. Each is (case suffix, `credentials` map)."""
    schemes = specs.security_scheme_names(platform)
    near = [(f"only-{name}-near-miss", {name: NEAR}) for name in schemes]
    if len(schemes) < 2:
        return near
    found = [*near, *[(f"only-{name}-wrong", {name: WRONG}) for name in schemes],
             *[(f"only-{name}-missing", {name: LEFT_OUT}) for name in schemes]]
    users = user_id_schemes(platform)
    others = [name for name in schemes if name not in users]
    if users and len(others) >= 2:
        found.append((f"only-{'-'.join(users)}-right", {name: WRONG for name in others}))
    other = next((i for i in identities if i != caller), None)
    if users and others and other is not None:
        found.append((f"{'-'.join(users)}-of-{other}", {name: other for name in users}))
    return found


_REF = re.compile(r"^\$\{fixtures\.([A-Za-z_][A-Za-z0-9_]*)(?:\.(\d+)|\.:(\d+))?\}$")


class FixtureError(Exception):
    """A fixture reference the target cannot satisfy (missing key, list too short)."""


class NotProvided(FixtureError):
    """An identity or fixture the target file left out. Only the spec's `x-target.optional` ones
    can be missing (target loading refuses the rest), so a check that needs one is a skip."""


def resolve(value: Any, fixtures: dict[str, Any]) -> Any:
    """Replace every `${fixtures...}` reference inside `value` (recursively) by the target's value."""
    if isinstance(value, str):
        match = _REF.match(value)
        if not match:
            return value
        name, index, prefix = match.groups()
        if name not in fixtures:
            raise NotProvided(f"the target file gives no fixture {name!r} (optional in the spec's x-target)")
        found = fixtures[name]
        if index is not None or prefix is not None:
            if not isinstance(found, list):
                raise FixtureError(f"fixture {name!r} is not a list")
            count = int(index) + 1 if index is not None else int(prefix)
            if len(found) < count:
                raise FixtureError(f"fixture {name!r} has {len(found)} items, {count} are needed")
            return copy.deepcopy(found[int(index)] if index is not None else found[:count])
        return copy.deepcopy(found)
    if isinstance(value, list):
        return [resolve(v, fixtures) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, fixtures) for k, v in value.items()}
    return value


def fixture_name(value: Any) -> str | None:
    """The fixture a reference string names, or None."""
    match = _REF.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


@dataclass
class Call:
    """One request, before credentials and encoding."""

    operation: specs.Operation
    identity: str  # an identity name, or ANONYMOUS
    wrong_credentials: bool = False
    # per securityScheme: "wrong", or the identity whose value to send instead (partial credentials)
    credential_from: dict[str, str] = field(default_factory=dict)
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    body: Any = NOT_SET
    raw_body: str | None = None

    def changed(self, change: dict[str, Any], fixtures: dict[str, Any]) -> "Call":
        """This call with an `x-provoke`-style change applied (as, credentials, drop, set, raw-body).
        `credentials` is `wrong` (every credential) or a map from securityScheme name to `wrong` or
        the identity whose value that one scheme carries instead (the others stay the caller's)."""
        new = replace(self, path=dict(self.path), query=dict(self.query), headers=dict(self.headers),
                      body=self.body if self.body is NOT_SET else copy.deepcopy(self.body),
                      credential_from=dict(self.credential_from))
        if "as" in change:
            new.identity = change["as"]
        credentials = change.get("credentials")
        if credentials == "wrong":
            new.wrong_credentials = True
        elif isinstance(credentials, dict):
            new.credential_from.update(credentials)
        for key in change.get("drop", []):
            new._drop(key)
        for key, value in (change.get("set") or {}).items():
            new._set(key, resolve(value, fixtures))
        if "raw-body" in change:
            new.raw_body = change["raw-body"]
        return new

    def _container(self, part: str) -> dict[str, Any]:
        if part == "body":
            if not isinstance(self.body, dict):
                self.body = {}
            return self.body
        return getattr(self, part)

    def _drop(self, key: str) -> None:
        part, _, name = key.partition(".")
        if not name:
            self.body = NOT_SET
            return
        self._container(part).pop(name, None)

    def _set(self, key: str, value: Any) -> None:
        part, _, name = key.partition(".")
        if not name:
            self.body = value
            return
        self._container(part)[name] = value


def base_call(target: Target, operation_id: str, **overrides: Any) -> Call:
    """The operation's `x-request` with the target's fixtures filled in, then `overrides`
    (`as`, `path`, `query`, `headers`, `body`: dicts are merged, `body` is replaced; a value
    NOT_SET leaves that parameter out, to exercise its default)."""
    op = specs.operation_by_id(target.api, operation_id)
    template = resolve(op.definition.get("x-request") or {}, target.fixtures)
    call = Call(
        operation=op,
        identity=overrides.pop("as", template.get("as", ANONYMOUS)),
        path=dict(template.get("path", {})),
        query=dict(template.get("query", {})),
        headers=dict(template.get("headers", {})),
        body=template.get("body", NOT_SET),
    )
    for part in ("path", "query", "headers"):
        values = getattr(call, part)
        values.update(overrides.pop(part, {}))
        for name in [k for k, v in values.items() if v is NOT_SET]:  # NOT_SET: leave it out
            del values[name]
    if "body" in overrides:
        call.body = overrides.pop("body")
    if overrides:
        raise TypeError(f"unknown overrides: {sorted(overrides)}")
    return call


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


@dataclass
class Prepared:
    method: str
    url: str
    headers: dict[str, str]
    cookies: dict[str, str]
    content: bytes | None


class Wire:
    """Sends calls to one target. Thread-compatible: one Wire per thread."""

    def __init__(self, target: Target, client: httpx.Client | None = None) -> None:
        self.target = target
        self.client = client or guarded_client(target.request_timeout_s, verify=target.ssl_context())
        self._schemes = specs.security_schemes(target.api)
        self._required = specs.security_scheme_names(target.api)
        self.last: tuple[Prepared, httpx.Response | None] | None = None
        # Every exchange since `begin()` (a state machine's example), newest last, bounded: what a
        # semantic failure lists, each with its curl.
        self.log: collections.deque[tuple[Prepared, httpx.Response | None]] = collections.deque(maxlen=LOG_SIZE)

    def close(self) -> None:
        self.client.close()

    def credentials_for(self, call: Call) -> dict[str, str]:
        if call.identity == ANONYMOUS:
            return {}
        if call.identity not in self.target.credentials:
            raise NotProvided(f"the target file gives no credentials for identity {call.identity!r} "
                              "(optional in the spec's x-target)")
        creds = self.target.credentials[call.identity]
        values = {}
        for name in self._required:
            source = call.credential_from.get(name)
            if call.wrong_credentials or source == WRONG:
                values[name] = WRONG_CREDENTIAL
            elif source == NEAR:
                values[name] = near_miss(creds[name])
            elif source == LEFT_OUT:
                continue
            elif source is not None:
                if source not in self.target.credentials:
                    raise FixtureError(f"the target has no credentials for identity {source!r}")
                values[name] = self.target.credentials[source][name]
            else:
                values[name] = creds[name]
        return values

    def prepare(self, call: Call) -> Prepared:
        path = call.operation.path
        for name, value in call.path.items():
            path = path.replace("{" + name + "}", quote(_text(value), safe=""))
        query = {k: _text(v) for k, v in call.query.items()}
        headers = {k: _text(v) for k, v in call.headers.items()}
        cookies: dict[str, str] = {}
        for name, value in self.credentials_for(call).items():
            scheme = self._schemes[name]
            if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
                headers["Authorization"] = f"Bearer {value}"
            elif scheme.get("in") == "header":
                headers[scheme["name"]] = value
            elif scheme.get("in") == "cookie":
                cookies[scheme["name"]] = value
            elif scheme.get("in") == "query":
                query[scheme["name"]] = value
        content: bytes | None = None
        if call.raw_body is not None:
            content = call.raw_body.encode()
            headers.setdefault("Content-Type", "application/json")
        elif call.body is not NOT_SET:
            content = json.dumps(call.body).encode()
            headers.setdefault("Content-Type", "application/json")
        url = self.target.base_url + path + ("?" + urlencode(query) if query else "")
        return Prepared(call.operation.method.upper(), url, headers, cookies, content)

    def send(self, call: Call) -> httpx.Response:
        prepared = self.prepare(call)
        self.last = (prepared, None)
        headers = dict(prepared.headers)
        if prepared.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in prepared.cookies.items())
        self.log.append((prepared, None))
        sharing.look(self.target.base_url)  # another run that checks this target meanwhile is remembered
        response = self.client.request(prepared.method, prepared.url, headers=headers, content=prepared.content)
        self.last = self.log[-1] = (prepared, response)
        return response

    def begin(self) -> None:
        """Start a new sequence (a state machine's example): the log holds only its exchanges."""
        self.log.clear()

    def exchanges(self, limit: int = SHOWN_EXCHANGES) -> str:
        """The logged exchanges, oldest first, each `METHOD path -> status body` and its curl
        (credentials redacted); the last `limit` when there are more."""
        entries = list(self.log)
        lines = []
        if len(entries) > limit:
            lines.append(f"(the first {len(entries) - limit} exchanges of this example left out)")
            entries = entries[-limit:]
        for prepared, response in entries:
            where = urlsplit(prepared.url)
            path = where.path + (f"?{where.query}" if where.query else "")
            if response is None:
                answer = "no answer"
            else:
                text = " ".join(response.text.split())
                answer = f"{response.status_code} {text[:BODY_CHARS]}{'…' if len(text) > BODY_CHARS else ''}"
            lines.append(redact(f"{prepared.method} {path} -> {answer}"))
            lines.append(f"    {self.curl(prepared)}")
        return "\n".join(lines)

    def curl(self, prepared: Prepared | None = None) -> str:
        """The last (or given) request as a curl command, credentials redacted."""
        if prepared is None:
            if self.last is None:
                return ""
            prepared = self.last[0]
        return curl(prepared)


def curl(prepared: Prepared) -> str:
    """A request as a curl command, credentials redacted (every layer's reproduction line)."""
    parts = ["curl", "-sS", "-X", prepared.method, prepared.url]
    for name, value in prepared.headers.items():
        parts += ["-H", f"{name}: {value}"]
    if prepared.cookies:
        parts += ["-b", "; ".join(f"{k}={v}" for k, v in prepared.cookies.items())]
    if prepared.content is not None:
        parts += ["--data-raw", prepared.content.decode(errors="replace")]
    # Each part redacted before it is quoted: shell quoting of a `'` inside a secret would
    # otherwise hide the secret from redaction.
    return " ".join(shlex.quote(redact(p)) for p in parts)

