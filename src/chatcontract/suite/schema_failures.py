"""A schema-layer failure a person can act on: which check, where, what was expected, what came.

schemathesis raises its failures (one, or a `FailureGroup` of distinct ones) with a long text of
its own whose curl line has every header and parameter it thinks sensitive `[Filtered]`, so that
curl does not reproduce the request. This module turns them into:

* one line for the terminal and summary.md: `<operationId>: <check> (<code>) at <where>: <what>;
  expected <...>, got <...>`;
* the detail, one block per distinct failure: check, JSON pointer into the response body and
  the schema keyword it broke (a file of `schemas/` or `specs/`), expected, got, the exchange;
* a curl of the exact request that failed (the last one hypothesis replayed), built from what
  was sent by the suite's one curl renderer (`wire.curl`): only credentials are `<redacted>`.

Which attributes of each schemathesis failure class hold "expected" and "got" is data
(`EXPECTED_GOT`); a class not listed shows its own title and message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chatcontract.suite import wire
from chatcontract.targets import Target

REPO_FILES = ("schemas", "specs")
SHORT = 160  # characters of a value in the one-line message
_SKIP_HEADERS = {"content-length", "accept-encoding", "connection", "user-agent", "accept", "x-schemathesis-testcaseid"}

# class name -> (what was expected: attribute or words, what came: attribute)
EXPECTED_GOT: dict[str, tuple[str, str]] = {
    "UndefinedStatusCode": ("defined_status_codes", "status_code"),
    "UndefinedContentType": ("defined_content_types", "content_type"),
    "MalformedMediaType": ("defined", "actual"),
    "MissingContentType": ("media_types", "=no Content-Type header"),
    "MissingHeaders": ("missing_headers", "=none of them"),
    "ServerError": ("=a status below 500", "status_code"),
    "AcceptedNegativeData": ("expected_statuses", "status_code"),
    "RejectedPositiveData": ("allowed_statuses", "status_code"),
    "MissingHeaderNotRejected": ("expected_statuses", "status_code"),
    "MalformedJson": ("=a JSON body", "validation_message"),
    "UnsupportedMethodResponse": ("=405 with an Allow header", "status_code"),
    "IgnoredAuth": ("=401 or 403 without valid credentials", "scenario"),
}


def _compact(value: Any, limit: int = SHORT) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pointer(path: Any) -> str:
    """A JSON pointer (RFC 6901) from a list of keys and indexes; "" is the whole document."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path or [])


def _schema_location(failure: Any) -> str:
    """`schemas/plugdj/ok.schema.json#/required`: the keyword the value broke, in our files."""
    path = [str(p) for p in failure.schema_path or []]
    names = getattr(failure, "_name_to_uri", None) or {}
    if len(path) >= 2 and path[0] == "x-bundled" and path[1] in names:
        uri, rest = names[path[1]], path[2:]
        local = uri.removeprefix("file://")
        for folder in REPO_FILES:  # shown relative to the project, as the specs cite them
            marker = f"/{folder}/"
            if marker in local:
                local = folder + "/" + local.split(marker, 1)[1]
                break
        else:
            local = Path(local).name
        return f"{local}#{_pointer(rest)}"
    return f"the operation's response schema#{_pointer(path)}"


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _expected_got(failure: Any) -> tuple[str, str] | None:
    if type(failure).__name__ == "JsonSchemaError":
        keyword = str((failure.schema_path or ["schema"])[-1])
        schema = failure.schema if isinstance(failure.schema, dict) else {}
        expected = f"{keyword}: {_compact(schema[keyword])}" if keyword in schema else keyword
        return expected, _compact(failure.instance)
    names = EXPECTED_GOT.get(type(failure).__name__)
    if names is None:
        return None
    return tuple(name[1:] if name.startswith("=") else _compact(getattr(failure, name, None)) for name in names)


def _check_name(failure: Any) -> str:
    checks = getattr(failure, "checks", ()) or ()
    code = getattr(failure, "code", "")
    return f"{checks[0] if checks else type(failure).__name__}{f' ({code})' if code else ''}"


def _where(failure: Any) -> str:
    if type(failure).__name__ == "JsonSchemaError":
        pointer = _pointer(failure.instance_path)
        return f"response body {pointer or '/'} (schema {_schema_location(failure)})"
    return ""


def _what(failure: Any) -> str:
    if type(failure).__name__ == "JsonSchemaError":
        return str(failure.validation_message or "").strip()
    if not hasattr(failure, "title"):  # not schemathesis' own (a body too large, the network): its words
        return (str(failure).strip().splitlines() or [type(failure).__name__])[0]
    return str(failure.title or type(failure).__name__)


def curl(request: Any) -> str:
    """The exact request (a requests.PreparedRequest) as the suite's curl line (wire.curl), with
    the credentials redacted and nothing else hidden."""
    headers = {name: value for name, value in request.headers.items() if name.lower() not in _SKIP_HEADERS}
    body = request.body
    content = body if isinstance(body, bytes) or body is None else str(body).encode()
    return wire.curl(wire.Prepared(str(request.method), str(request.url), headers, {}, content or None))


def describe(operation_id: str, exc: BaseException, response: Any, target: Target) -> tuple[str, str]:
    """(the text of the failure: its first line for the terminal, the rest the detail; the curl)."""
    failures = _leaves(exc)
    blocks = []
    first_line = ""
    for failure in failures:
        where, what, pair = _where(failure), _what(failure), _expected_got(failure)
        line = f"{operation_id}: {_check_name(failure)}{f' at {where}' if where else ''}: {what}"
        if pair is not None:
            line += f"; expected {pair[0]}, got {pair[1]}"
        first_line = first_line or line
        block = [f"check: {_check_name(failure)}: {getattr(failure, 'title', '')}"]
        if where:
            block.append(f"where: {where}")
        block.append(f"what: {what}")
        if pair is not None:
            block += [f"expected: {pair[0]}", f"got: {pair[1]}"]
        elif getattr(failure, "message", ""):
            block.append(str(failure.message).strip().split("\n\n")[0])
        blocks.append("\n".join(block))
    if len(failures) > 1:
        others = "; ".join(f"{_check_name(f)}: {_what(f)}" for f in failures[1:])
        first_line += f" (also {others})"
    reproduce = ""
    if response is not None and getattr(response, "request", None) is not None:
        request = response.request
        blocks.append(f"exchange: {request.method} {request.url} -> {response.status_code}")
        reproduce = curl(request)
    return target.redact(first_line + "\n" + "\n\n".join(blocks)), reproduce
