"""Rocket.Chat response bodies: `API.v1.success/failure/unauthorized/tooManyRequests` ([RC-api]).

A thrown `Meteor.Error(errorType, reason, details)` is answered 400 with
`{success: false, error: "<reason> [<errorType>]", errorType, details?}`; a plain
`API.v1.failure(text)` has no `errorType`. `stack` is only added under TEST_MODE, so never here.
Routing errors (unknown path 404, wrong method 405, a crash 500) are undocumented; they use the
same failure envelope with the texts of `API.v1.notFound()` / `API.v1.internalError()`.
"""

from __future__ import annotations

from typing import Any

from chatcontract.servers.core.errors import VendorError
from chatcontract.servers.rocketchat.state import RateCheck, RcProblem

NOT_LOGGED_IN = "You must be logged in to do this."


def success(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**(extra or {}), "success": True}


def meteor_error(error_type: str, reason: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> VendorError:
    body: dict[str, Any] = {"success": False, "error": f"{reason} [{error_type}]", "errorType": error_type}
    if details:
        body["details"] = details
    return VendorError(400, body, headers)


def plain_failure(text: str, headers: dict[str, str] | None = None) -> VendorError:
    return VendorError(400, {"success": False, "error": text}, headers)


def from_problem(problem: RcProblem, headers: dict[str, str] | None = None) -> VendorError:
    if problem.error_type is None:
        return plain_failure(problem.reason, headers)
    return meteor_error(problem.error_type, problem.reason, problem.details, headers)


def invalid_params(messages: list[str], headers: dict[str, str] | None = None) -> VendorError:
    """The legacy route wrapper's validation failure: ajv messages joined with "\\n "."""
    return meteor_error("invalid-params", "\n ".join(messages), None, headers)


def unauthorized() -> VendorError:
    # Current servers add `status`/`message` "for compatibility with the old API".
    return VendorError(401, {"success": False, "error": NOT_LOGGED_IN, "status": "error", "message": NOT_LOGGED_IN})


def rate_headers(check: RateCheck | None) -> dict[str, str]:
    if check is None:
        return {}
    return {"X-RateLimit-Limit": str(check.limit), "X-RateLimit-Remaining": str(check.remaining),
            "X-RateLimit-Reset": str(check.reset_at_ms)}


def too_many_requests(check: RateCheck, seconds: int) -> VendorError:
    text = (f"Error, too many requests. Please slow down. You must wait {seconds} seconds before trying this "
            "endpoint again. [error-too-many-requests]")
    return VendorError(429, {"success": False, "error": text}, rate_headers(check))


def http_error(code: int) -> VendorError:
    if code == 404:
        return VendorError(404, {"success": False, "error": "Resource not found"})
    if code == 405:
        return VendorError(405, {"success": False, "error": "Method not allowed"})
    return VendorError(code, {"success": False, "error": "Internal server error"})
