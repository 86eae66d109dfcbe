"""plug.dj response bodies: the `{data, meta, status, time}` envelope for success and errors.

HTTP status codes are undocumented (decision 9; the spec files errors under `4XX`). This
server answers 401 when no valid session is sent, 403 for a role too low or a protected target
(403 was observed with "This user cannot be muted"), 400 for request errors, 404 for unknown
paths and unknown users (plug.dj's `notFound` status).
"""

from __future__ import annotations

import time
from typing import Any

from chatcontract.servers.core.errors import VendorError

NOT_AUTHORIZED = "You are not authorized to access this resource."
_HTTP_FOR_KIND = {"auth-missing": 401, "auth-invalid": 401, "not-permitted": 403, "other": 403, "not-found": 404}
_STATUS_FOR_KIND = {"not-found": "notFound"}  # a status string plug.dj uses elsewhere ([miniplug] errors.js)


def envelope(data: list[Any], status: str, started: float) -> dict[str, Any]:
    # `time` is a float in every captured real response.
    return {"data": data, "meta": {}, "status": status, "time": (time.perf_counter() - started) * 1000}


def ok(data: list[Any], started: float) -> dict[str, Any]:
    return envelope(data, "ok", started)


def failure(kind: str, message: str, started: float) -> VendorError:
    status = "notAuthorized" if message == NOT_AUTHORIZED else _STATUS_FOR_KIND.get(kind, "requestError")
    return VendorError(_HTTP_FOR_KIND.get(kind, 400), envelope([message], status, started))


def http_error(code: int) -> VendorError:
    if code == 404:
        return VendorError(404, envelope([], "notFound", time.perf_counter()))
    if code == 405:
        return VendorError(405, envelope(["Method not allowed"], "requestError", time.perf_counter()))
    return VendorError(code, envelope(["Internal error"], "requestError", time.perf_counter()))
