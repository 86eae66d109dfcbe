"""Agora Chat response bodies: the success envelope and `{error, exception, timestamp, duration,
error_description}` for failures.

Every failure this server gives is a named example of specs/agora.yaml: its status, `error` and
`error_description` are read from that example (with `XX` replaced by the IDs concerned), so the
wording lives once, in the spec. `exception` comes from the example where it has one; otherwise
from `_EXCEPTION`: Easemob's docs show SecurityException (401), java.lang.IllegalArgumentException
(illegal_argument), EasemobForbiddenOpException (forbidden_op) and ServiceResourceNotFoundException
(service_resource_not_found); the other class names are our choice in the same style (clients
branch on `error` only, [EM-doc] error.md).

Routing errors: an unknown path is 404 `service_resource_not_found` (the [AG-http] 404); a wrong
method is 405 (the [AG-http] code, with `Allow`) carrying `unsupported_service_operation`, the
error Easemob names for "this URL does not support the method"; a crash is 500 `web_application`.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from chatcontract import specs
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.errors import VendorError

PLATFORM = "agora"

# Our name for each failure -> (an operation documenting it, status, named example there).
_DOCUMENTED: dict[str, tuple[str, int, str]] = {
    "illegal_argument": ("agoraListChatRoomMutes", 400, "illegalArgument"),
    "json_parse": ("agoraMuteChatRoomMembers", 400, "jsonParse"),
    "not_member": ("agoraMuteChatRoomMembers", 400, "notMember"),  # 400, not 403: §6 point 23
    "too_many_usernames": ("agoraMuteChatRoomMembers", 400, "tooManyUsernames"),
    "too_many_members": ("agoraUnmuteChatRoomMembers", 400, "tooManyMembers"),
    "oauth": ("agoraListChatRoomMutes", 401, "oauth"),
    "expired_token": ("agoraListChatRoomMutes", 401, "missingOrExpiredToken"),
    "corrupt_token": ("agoraListChatRoomMutes", 401, "corruptToken"),
    "foreign_token": ("agoraListChatRoomMutes", 401, "foreignToken"),
    "room_not_found": ("agoraListChatRoomMutes", 404, "resourceNotFound"),  # §6 point 22
    "path_not_found": ("agoraListChatRoomMutes", 404, "serviceResourceNotFound"),
    "unsupported_media_type": ("agoraMuteChatRoomMembers", 415, "unsupportedMediaType"),
    "reach_limit": ("agoraListChatRoomMutes", 429, "reachLimit"),
    "web_application": ("agoraListChatRoomMutes", 500, "webApplication"),
    "unsupported_service_operation": ("agoraListChatRoomMutes", 500, "unsupportedServiceOperation"),
}

_SECURITY = "org.apache.usergrid.rest.exceptions.SecurityException"
_EXCEPTION = {
    "unauthorized": _SECURITY,
    "auth_bad_access_token": _SECURITY,
    "illegal_argument": "java.lang.IllegalArgumentException",
    "forbidden_op": "EasemobForbiddenOpException",
    "service_resource_not_found": "org.apache.usergrid.services.exceptions.ServiceResourceNotFoundException",
    "resource_not_found": "EasemobResourceNotFoundException",
    "invalid_parameter": "EasemobInvalidParameterException",
    "json_parse": "com.fasterxml.jackson.core.JsonParseException",
    "reach_limit": "EasemobReachLimitException",
    "web_application": "javax.ws.rs.WebApplicationException",
    "unsupported_service_operation": "org.apache.usergrid.services.exceptions.UnsupportedServiceOperationException",
}


@cache
def documented(name: str) -> tuple[int, dict[str, Any]]:
    """The status and example body the spec documents for failure `name`."""
    operation_id, status, example = _DOCUMENTED[name]
    op = specs.operation_by_id(PLATFORM, operation_id)
    document, response, _ = specs.deref(specs.spec_path(PLATFORM), op.responses[str(status)])
    raw = response["content"]["application/json"]["examples"][example]
    _, resolved, _ = specs.deref(document, raw)
    return status, dict(resolved["value"])


def _elapsed_ms(started: float) -> int:
    return max(0, int((time.perf_counter() - started) * 1000))


def error_body(name: str, now_ms: int, started: float, subject: str = "") -> tuple[int, dict[str, Any]]:
    status, example = documented(name)
    description = str(example["error_description"])
    if subject:
        description = description.replace("XX", subject)
    code = str(example["error"])
    return status, {
        "error": code,
        "exception": example.get("exception", _EXCEPTION.get(code, "EasemobException")),
        "timestamp": now_ms,
        "duration": _elapsed_ms(started),
        "error_description": description,
    }


def failure(name: str, now_ms: int, started: float, subject: str = "") -> VendorError:
    status, body = error_body(name, now_ms, started, subject)
    return VendorError(status, body)


def ok(data: Any, *, action: str, app: dict[str, Any], uri: str, path: str, now_ms: int,
       started: float) -> dict[str, Any]:
    """The success envelope ([AG-doc], [EM-doc]); `action` is the request method, lowercase."""
    return {
        "action": action,
        "application": app["application"],
        "applicationName": app["app_name"],
        "organization": app["org_name"],
        "uri": uri,
        "path": path,
        "entities": [],
        "data": data,
        "timestamp": now_ms,
        "duration": _elapsed_ms(started),
    }


def http_error(code: int, clock: Clock | None = None) -> VendorError:
    now_ms = clock.now_ms() if clock is not None else int(time.time() * 1000)
    started = time.perf_counter()
    if code == 404:
        return failure("path_not_found", now_ms, started)
    if code == 405:
        _, body = error_body("unsupported_service_operation", now_ms, started)
        return VendorError(405, body)
    if code < 500:
        return failure("illegal_argument", now_ms, started)
    return failure("web_application", now_ms, started)
