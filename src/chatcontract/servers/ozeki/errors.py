"""Ozeki Chat response bodies: the `{status, errormessage, ...}` envelope for success and errors.

Ozeki documents no error at all (decision 16). The spec infers the error envelope
(error.schema.json: `status` other than `OK`, the reason in `errormessage`) and files it under
`4XX`, leaving the code open. This server answers 401 when the `Ozeki-*` headers are missing or
do not match a session, 404 when the `conversationid` names no conversation of the caller, and
400 for every other request fault (query, body, unknown action). Where the spec has a named
example for a failure (its `x-trigger`), the body is that example's value, read from the spec;
other messages follow the same style. No message ever echoes request data.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chatcontract import specs
from chatcontract.servers.core.errors import VendorError

OPERATION = "ozekiConversation"
ERROR_STATUS = "ERROR"  # the spec's illustrative failure status
_HTTP_FOR_KIND = {"auth-missing": 401, "auth-invalid": 401, "not-found": 404}


@cache
def documented_errors() -> dict[str, dict[str, Any]]:
    """The spec's named 4XX examples by `x-trigger`: {"auth-invalid": {"status": ..., ...}, ...}."""
    op = specs.operation_by_id("ozeki", OPERATION)
    _, response, _ = specs.deref(specs.spec_path("ozeki"), op.responses["4XX"])
    examples = response["content"]["application/json"]["examples"]
    return {ex["x-trigger"]: dict(ex["value"]) for ex in examples.values() if "x-trigger" in ex}


def ok(errormessage: str = "", **members: Any) -> dict[str, Any]:
    return {"status": "OK", "errormessage": errormessage, **members}


def failure(kind: str, message: str | None = None, http: int | None = None) -> VendorError:
    """The error envelope for a failure of `kind` (x-trigger vocabulary); `http` overrides the
    usual status (only the tolerated fault `non-participant-error-as-http-200` passes it)."""
    documented = documented_errors().get(kind)
    if documented and message is None:
        body = dict(documented)
    else:
        body = {"status": ERROR_STATUS, "errormessage": message or "Error"}
    return VendorError(http or _HTTP_FOR_KIND.get(kind, 400), body)


def http_error(code: int) -> VendorError:
    if code == 404:
        return VendorError(404, {"status": ERROR_STATUS, "errormessage": "Unknown request"})
    if code == 405:
        return VendorError(405, {"status": ERROR_STATUS, "errormessage": "Method not allowed"})
    return VendorError(code, {"status": ERROR_STATUS, "errormessage": "Internal error"})
