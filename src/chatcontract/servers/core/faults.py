"""Switchable deviations of a reference server, to prove the suite catches them.

Each platform lists its faults as data in `servers/<platform>/faults.yaml`:

    <fault-name>:
      description: one sentence, what a real server would get wrong
      kind: fault | tolerated        # tolerated: the docs allow it, the suite must NOT fail
      caught_by: schema | errors | semantics   # the layer expected to catch it (faults only)
      transform:                     # optional: a response rewrite, no server code needed
        operation: <operationId>     # which operation's responses (`*`: every operation)
        status: 400                  # only responses with this status, or in this range ("4XX") (optional)
        when: {/errorType: error-not-allowed}   # only bodies with these values (optional)
        set_status: 500              # answer with this status instead
        drop: [/errorType]           # remove these JSON pointers from the body
        rename: {/data/*/expires: expires_ms}   # give a value another key (`*`: every item)
        set: {/time: 12}             # replace values (any JSON)
        content_type: text/html      # send this content type instead
        credentials: {ignore: [authToken]}   # a request rewrite instead: see below
      transforms: [...]              # several rewrites (each matched on the original body)

`credentials` makes the server check the security-scheme headers less strictly, without server
code: `{ignore: [scheme, ...]}` leaves those schemes unchecked (when the others match one
identity, the ignored ones are taken as that identity's), `mixed` checks each header against any
identity (a request whose values all belong to someone is served as the identity its user-id
header names). Only `apiKey` header schemes are rewritten.

A fault without `transform` is a behaviour change the platform's code makes where it checks
`faults.on("<fault-name>")`. Faults are off unless named at start-up (`serve --fault NAME`).

Besides the hand-written entries of faults.yaml, `catalog()` holds one generated tolerated
entry per mechanical reading of the spec's `x-decisions` (`decisions.variants`, named
`reading-<name>-<alternative>`): the reference server answering as that reading says.

Written by hand: a response rewrite keyed by our own operation ids is specific to this project.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatcontract import specs
from chatcontract.decisions import MISSING, lookup

SERVERS_DIR = Path(__file__).resolve().parents[1]


class UnknownFault(ValueError):
    pass


def written(platform: str) -> dict[str, dict[str, Any]]:
    """The hand-written entries of servers/<platform>/faults.yaml."""
    path = SERVERS_DIR / platform / "faults.yaml"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def catalog(platform: str) -> dict[str, dict[str, Any]]:
    """Every fault and tolerated variant: faults.yaml, then those generated from the readings."""
    from chatcontract import decisions

    found = written(platform)
    try:
        generated = decisions.variants(platform)
    except specs.SpecError:
        generated = {}
    for name, entry in generated.items():
        found.setdefault(name, entry)
    return found


class Faults:
    """The faults switched on for one server."""

    def __init__(self, platform: str, names: list[str] | tuple[str, ...] = ()) -> None:
        # The catalog (every decision's generated variants) only when a fault is asked for: a
        # server without faults, as every run of the suite starts them, is ready ~40 ms sooner.
        known = catalog(platform) if names else {}
        for name in names:
            if name not in known:
                raise UnknownFault(f"{platform} has no fault {name!r} (see servers/{platform}/faults.yaml)")
        self.platform = platform
        self.active = {name: known[name] for name in names}

    def on(self, name: str) -> bool:
        return name in self.active

    def transforms(self) -> list[dict[str, Any]]:
        found = []
        for entry in self.active.values():
            found += [entry["transform"]] if "transform" in entry else []
            found += list(entry.get("transforms") or [])
        return found


def _path_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _pop(body: Any, pointer: str) -> tuple[bool, Any]:
    *parents, last = _pointer_parts(pointer)
    node = body
    for key in parents:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False, None
    if isinstance(node, dict) and last in node:
        return True, node.pop(last)
    return False, None


def _put(body: Any, pointer: str, value: Any) -> None:
    *parents, last = _pointer_parts(pointer)
    node = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value  # replace an item (e.g. /data/0); a pointer past the end changes nothing


def _each(body: Any, pointer: str) -> list[str]:
    """Expand a `*` segment over every item of a list (e.g. /data/*/expires)."""
    parts = pointer.split("/")
    if "*" not in parts:
        return [pointer]
    at = parts.index("*")
    node = body
    for key in _pointer_parts("/".join(parts[:at])):
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, list):
        return []
    return ["/".join(parts[:at] + [str(i)] + parts[at + 1:]) for i in range(len(node))]


def status_in(key: Any, status: int) -> bool:
    """Whether `status` is the transform's `status` (a code, or a range such as "4XX")."""
    text = str(key)
    if len(text) == 3 and text.endswith("XX"):
        return str(status)[0] == text[0]
    return text == str(status)


def applies(transform: dict[str, Any], status: int, body: Any) -> bool:
    """Whether a response rewrite is for this response (its `status` and `when`)."""
    if "status" in transform and not status_in(transform["status"], status):
        return False
    for pointer, value in (transform.get("when") or {}).items():
        got = lookup(body, pointer)
        if got is MISSING or got != value or type(got) is not type(value):
            return False
    return True


_USER_SCHEME = re.compile(r"user", re.IGNORECASE)


def rewrite_credentials(platform: str, rule: Any, headers: list[tuple[bytes, bytes]],
                        identities: dict[str, dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """The request headers with the credential headers replaced as a `credentials` rule says."""
    schemes = specs.security_schemes(platform)
    names = [n for n in specs.security_scheme_names(platform)
             if schemes[n].get("type") == "apiKey" and schemes[n].get("in") == "header"]
    header_of = {n: schemes[n]["name"].lower().encode() for n in names}
    sent = {n: next((v.decode("latin-1") for k, v in headers if k.lower() == header_of[n]), None) for n in names}
    creds = {name: {k: str(v) for k, v in ident["credentials"].items()} for name, ident in identities.items()}
    chosen = None
    if isinstance(rule, dict) and "ignore" in rule:
        checked = [n for n in names if n not in rule["ignore"]]
        chosen = next((i for i, c in creds.items() if checked and all(sent[n] == c.get(n) for n in checked)), None)
    elif rule == "mixed":
        if all(any(sent[n] == c.get(n) for c in creds.values()) for n in names):
            users = [n for n in names if _USER_SCHEME.search(n + " " + schemes[n]["name"])] or names[:1]
            chosen = next((i for i, c in creds.items() if sent[users[0]] == c.get(users[0])), None)
    if chosen is None:
        return headers
    kept = [(k, v) for k, v in headers if k.lower() not in header_of.values()]
    return kept + [(header_of[n], creds[chosen][n].encode()) for n in names if n in creds[chosen]]


def rewrite(transform: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
    for pointer in transform.get("drop", []):
        for p in _each(body, pointer):
            _pop(body, p)
    for source, new_key in (transform.get("rename") or {}).items():
        for p in _each(body, source):
            found, value = _pop(body, p)
            if found:
                _put(body, p.rsplit("/", 1)[0] + "/" + new_key, value)
    for pointer, value in (transform.get("set") or {}).items():
        for p in _each(body, pointer):
            _put(body, p, value)
    return transform.get("set_status", status), body


class FaultMiddleware:
    """ASGI middleware applying the active faults' response transforms."""

    def __init__(self, app: ASGIApp, platform: str, transforms: list[dict[str, Any]]) -> None:
        self.app = app
        self.platform = platform
        self.rules = []
        self.credential_rules = []
        for transform in transforms:
            if "credentials" in transform:
                self.credential_rules.append(transform["credentials"])
                continue
            if transform.get("operation") == "*":
                self.rules.append((None, re.compile(".*"), transform))
                continue
            op = specs.operation_by_id(platform, transform["operation"])
            self.rules.append((op.method.upper(), _path_regex(op.path), transform))
        self.identities: dict[str, dict[str, Any]] = {}
        if self.credential_rules:
            from chatcontract.servers.core.seed import load_seed

            self.identities = load_seed(platform).get("identities", {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for rule in self.credential_rules:
            scope = {**scope, "headers": rewrite_credentials(self.platform, rule, list(scope["headers"]), self.identities)}
        matching = [t for m, rx, t in self.rules if m in (None, scope["method"]) and rx.match(scope["path"])]
        if not matching:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await _emit(start, b"".join(chunks), matching, send)

        await self.app(scope, receive, capture)


async def _emit(start: dict[str, Any], raw: bytes, transforms: list[dict[str, Any]], send: Send) -> None:
    status = start["status"]
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length",)]
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = None
    original = json.loads(json.dumps(body))  # `status`/`when` are matched on what the server said
    for transform in transforms:
        if not applies(transform, start["status"], original):
            continue
        if body is not None:
            status, body = rewrite(transform, status, body)
        if "content_type" in transform:
            headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
            headers.append((b"content-type", transform["content_type"].encode()))
    payload = json.dumps(body).encode() if body is not None else raw
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
