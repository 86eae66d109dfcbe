"""Assertions on a target's responses, read from the spec: documented status, content, schema.

`Mismatch` is the one failure type the layers raise for a target that deviates; its first line
is the one-line reason shown in summaries, so whatever it quotes from the target (a body, a
redirect's Location) is cut short and kept on that line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from chatcontract import specs
from chatcontract.redaction import clip


class Mismatch(AssertionError):
    """The target answered differently from what the spec documents."""


def status_matches(key: str, status: int) -> bool:
    return key == str(status) or (len(key) == 3 and key.endswith("XX") and key[0] == str(status)[0]) or key == "default"


QUOTE_CHARS = 200  # how much of a target's body a one-line reason quotes


def response_definition(op: specs.Operation, status: int,
                        shown: str | None = None) -> tuple[str, Path, dict[str, Any], tuple]:
    """The response the spec documents for `status` (exact code first, then range, then default).
    `shown` is how the status reads in the failure (e.g. with a redirect's target)."""
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in op.responses:
            document, definition, at = specs.deref(specs.spec_path(op.platform), op.responses[key],
                                                   op.json_pointer_parts("responses", key))
            return key, document, definition, at
    documented = ", ".join(op.responses)
    raise Mismatch(f"{op.label} answered {shown or status}, which the spec does not document (documented: {documented})")


def one_line(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` on one line (newlines would end a one-line reason), redacted, then cut to `limit`
    characters (redaction.clip: a cut never leaves part of a credential)."""
    return clip(text, limit)


def _short(response: httpx.Response) -> str:
    """The start of the body, on one line; its size when cut."""
    text = one_line(response.text)
    if text.endswith("…"):
        text += f" ({len(response.content)} bytes)"
    return text or "(empty)"


def _status(response: httpx.Response) -> str:
    """The status as a reason shows it: a redirect says where to (it is never followed)."""
    location = response.headers.get("location")
    if 300 <= response.status_code < 400 and location:
        return f"{response.status_code} (a redirect to {one_line(location, 120)}, not followed)"
    return str(response.status_code)


def documented_body(op: specs.Operation, response: httpx.Response, *, expect_key: str | None = None) -> Any:
    """Assert the response is documented for `op` (and under `expect_key`, when given); return its
    parsed JSON body (None when the documented response has no content)."""
    if expect_key is not None and not status_matches(expect_key, response.status_code):
        raise Mismatch(f"{op.label} answered {_status(response)}, expected {expect_key}; body: {_short(response)}")
    key, document, definition, at = response_definition(op, response.status_code, _status(response))
    content = definition.get("content") or {}
    if not content:
        return None
    from chatcontract import decisions  # (decisions imports this module's checks in turn)

    if not response.content and decisions.empty_body_accepted(op.platform, op.operation_id, response.status_code):
        return None  # a decision's reading: this success may come with no body at all
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in content:
        raise Mismatch(f"{op.label} {response.status_code} has content type {one_line(media, 80) or '(none)'!r}, "
                       f"documented: {', '.join(content)}")
    try:
        body = response.json()
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any parser allows
        raise Mismatch(f"{op.label} {response.status_code} body is not JSON: {_short(response)}") from None
    validator = specs.validator_at(document, specs.pointer(*at, "content", media, "schema"))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(body)"
        raise Mismatch(f"{op.label} {response.status_code} body does not match the spec at {where}: "
                       f"{one_line(errors[0].message)}\nbody: {_short(response)}")
    return body


def form_body(op: specs.Operation, response: httpx.Response, document: Path, schema_at: str, what: str) -> Any:
    """Assert the response is JSON matching the schema at `schema_at` of `document` (a body form a
    decision accepts, `what` names it); return the parsed body."""
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Mismatch(f"{op.label} {response.status_code} has content type {one_line(media, 80) or '(none)'!r}, "
                       f"{what} is application/json")
    try:
        body = response.json()
    except (ValueError, RecursionError):
        raise Mismatch(f"{op.label} {response.status_code} body is not JSON: {_short(response)}") from None
    errors = sorted(specs.validator_at(document, schema_at).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(body)"
        raise Mismatch(f"{op.label} {response.status_code} body does not match {what} at {where}: "
                       f"{one_line(errors[0].message)}\nbody: {_short(response)}")
    return body
