"""Switchable deviations of a reference server, to prove the suite catches them.

Each platform lists its faults as data in `servers/<platform>/faults.yaml`:

    <fault-name>:
      description: one sentence, what a real server would get wrong
      kind: fault | tolerated        # tolerated: the docs allow it, the suite must NOT fail
      caught_by: schema | errors | semantics   # the layer expected to catch it (faults only)
      transform:                     # optional: a response rewrite, no server code needed
        operation: <operationId>     # which operation's responses
        status: 400                  # only responses with this status (optional)
        set_status: 500              # answer with this status instead
        drop: [/errorType]           # remove these JSON pointers from the body
        rename: {/data/*/expires: expires_ms}   # give a value another key (`*`: every item)
        set: {/time: 12}             # replace values (any JSON)
        content_type: text/html      # send this content type instead

A fault without `transform` is a behaviour change the platform's code makes where it checks
`faults.on("<fault-name>")`. Faults are off unless named at start-up (`serve --fault NAME`).

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

SERVERS_DIR = Path(__file__).resolve().parents[1]


class UnknownFault(ValueError):
    pass


def catalog(platform: str) -> dict[str, dict[str, Any]]:
    path = SERVERS_DIR / platform / "faults.yaml"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


class Faults:
    """The faults switched on for one server."""

    def __init__(self, platform: str, names: list[str] | tuple[str, ...] = ()) -> None:
        known = catalog(platform)
        for name in names:
            if name not in known:
                raise UnknownFault(f"{platform} has no fault {name!r} (see servers/{platform}/faults.yaml)")
        self.platform = platform
        self.active = {name: known[name] for name in names}

    def on(self, name: str) -> bool:
        return name in self.active

    def transforms(self) -> list[dict[str, Any]]:
        return [f["transform"] for f in self.active.values() if "transform" in f]


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
        self.rules = []
        for transform in transforms:
            op = specs.operation_by_id(platform, transform["operation"])
            self.rules.append((op.method.upper(), _path_regex(op.path), transform))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        matching = [t for m, rx, t in self.rules if m == scope["method"] and rx.match(scope["path"])]
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
    for transform in transforms:
        if "status" in transform and transform["status"] != start["status"]:
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
