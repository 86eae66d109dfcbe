"""Sendbird HTTP edge: authenticate, check the request against the spec, call the state, answer.

Order of checks on every operation: `Api-Token` (400401) → the token's application (403100,
500910) → query parameters or body, as the spec declares them → the users named (400201) → the
change itself. Which code each bad input gets is undocumented (decision 31); the choice
follows the spec's named examples: `list` outside the enum 400111, `limit` not an integer 400101
and outside 1-100 400113, a body that is not JSON (or not an object) 400403, no body or none of
`target_id` / `user_ids` / `users` 400105, a wrong type 400100 (string) or 400102 (list), a blank
ID 400151, more IDs than allowed 400203. Several of `target_id` / `user_ids` / `users` at once are
undocumented: the union is blocked, never an invented error. The rate limit counts per endpoint
(method and path template) and per application, as the rate-limits page says.

User ids travel URL-encoded in the path ([SB-list]) and may contain `/`: the routes match the
raw path's segments (core `route(..., raw_segments=True)`), so `a%2Fb` is the user `a/b`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatcontract import specs
from chatcontract.servers.core.app import route
from chatcontract.servers.core.auth import Authenticator
from chatcontract.servers.core.errors import VendorError
from chatcontract.servers.core.validation import OperationContract, RequestProblem
from chatcontract.servers.sendbird import errors
from chatcontract.servers.sendbird.state import Code, SendbirdProblem, SendbirdState

PLATFORM = "sendbird"
BLOCK_PATH, UNBLOCK_PATH = "/v3/users/{user_id}/block", "/v3/users/{user_id}/block/{target_id}"
_INTEGER = re.compile(r"-?\d+")


def _default(op: OperationContract, name: str) -> Any:
    return next(p.schema["default"] for p in op.params if p.name == name)


def _comma_list(raw: str) -> list[str]:
    """A comma-separated string of URL-encoded values ([SB-list]): split, then decode each."""
    return [unquote(part) for part in raw.split(",") if part]


def _block_fields() -> dict[str, str]:
    """The body fields naming whom to block, each with its JSON type (string or array), read
    from the request schema: the `oneOf` alternatives and the `$defs` their properties use."""
    schema = specs.read_document(specs.schemas_dir() / PLATFORM / "block-user.request.schema.json")
    fields = [branch["required"][0] for branch in schema["oneOf"]]
    return {name: schema["$defs"][schema["properties"][name]["$ref"].rsplit("/", 1)[1]]["type"] for name in fields}


def _param_code(problem: RequestProblem, request: Request) -> Code:
    if problem.name == "limit":
        raw = request.query_params.get("limit", "")
        return Code.VALUE_OUT_OF_RANGE if _INTEGER.fullmatch(raw) else Code.UNEXPECTED_TYPE_NUMBER
    if problem.kind == "param-missing":
        return Code.MISSING_REQUIRED_PARAMETER
    return Code.INVALID_VALUE


def _body_code(body: Any, fields: dict[str, str]) -> Code:
    """The code for a body the spec's schema rejected (the schema decides; this only names it):
    the first bad one of the fields naming whom to block."""
    if not isinstance(body, dict):
        return Code.INVALID_JSON_BODY
    present = [name for name in fields if name in body]
    if not present:
        return Code.MISSING_REQUIRED_PARAMETER
    for name in present:
        code = _field_code(body[name], fields[name])
        if code is not None:
            return code
    return Code.INVALID_VALUE


def _field_code(value: Any, kind: str) -> Code | None:
    if kind == "string":
        if not isinstance(value, str):
            return Code.UNEXPECTED_TYPE_STRING
        ids = [value]
    else:
        if not isinstance(value, list):
            return Code.UNEXPECTED_TYPE_LIST
        if not value:
            return Code.MISSING_REQUIRED_PARAMETER
        if not all(isinstance(item, str) for item in value):
            return Code.UNEXPECTED_TYPE_STRING
        ids = value
    if any(not item.strip() for item in ids):
        return Code.NOT_ALLOWED_CHARACTER
    return None


def routes(state: SendbirdState, auth: Authenticator) -> list[Route]:
    list_op = OperationContract(PLATFORM, "sendbirdListBlockedUsers")
    block_op = OperationContract(PLATFORM, "sendbirdBlockUser")
    unblock_op = OperationContract(PLATFORM, "sendbirdUnblockUser")
    default_list, default_limit = _default(list_op, "list"), _default(list_op, "limit")
    block_fields = _block_fields()

    def run(action: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except SendbirdProblem as exc:
            problem = errors.error(exc.code)
            problem.headers.update(getattr(exc, "headers", {}))
            raise problem from None

    def admit(request: Request, endpoint: str) -> None:
        who = auth.caller(request)
        if not who.ok and state.faults.on("any-token-accepted") and not who.missing:
            return  # FAULT: a wrong token is let in
        if not who.ok:
            problem = errors.auth_error(missing=who.missing)
            if state.faults.on("token-error-401"):
                raise VendorError(401, problem.body)  # FAULT: 401 where [SB-err] says 400
            raise problem
        run(state.admit, who.name, request.method, endpoint)
        if state.faults.on("unusual-id-500") and not request.url.path.isascii():
            raise errors.error(Code.INTERNAL_ERROR)  # FAULT: a valid non-ASCII user id crashes

    def check_params(op: OperationContract, request: Request) -> None:
        problem = op.check_params(request)
        if problem is not None and problem.name == "limit" and _INTEGER.fullmatch(request.query_params["limit"]):
            if state.faults.on("limit-not-enforced"):
                return  # FAULT: an out-of-range limit is clamped instead of refused
            if state.faults.on("limit-code-400111"):
                raise errors.error(Code.INVALID_VALUE)  # TOLERATED: another 4xxxxx code (§6.31)
        if problem is not None:
            raise errors.error(_param_code(problem, request))

    async def list_blocked(request: Request) -> JSONResponse:
        admit(request, BLOCK_PATH)
        check_params(list_op, request)
        query = request.query_params
        # An empty value is taken as not given: the SDK sends `token=` for token="" (clients.md §1).
        given = {name: query.get(name) or None for name in ("token", "user_ids", "metadatakey", "metadatavalues_in")}
        if (given["metadatakey"] is None) != (given["metadatavalues_in"] is None):
            # The docs say the two go together; one without the other is refused (undocumented).
            raise errors.error(Code.MISSING_REQUIRED_PARAMETER)
        users, next_token = run(
            state.list_blocked,
            request.path_params["user_id"],
            query.get("list", default_list),
            limit=min(max(int(query.get("limit", default_limit)), 1), 100),  # clamped only by a fault
            token=given["token"],
            user_ids=_comma_list(given["user_ids"]) if given["user_ids"] is not None else None,
            metadata_key=given["metadatakey"],
            metadata_values=_comma_list(given["metadatavalues_in"] or ""),
        )
        return JSONResponse({"users": users, "next": next_token})

    async def block(request: Request) -> JSONResponse:
        admit(request, BLOCK_PATH)
        check_params(block_op, request)
        body, problem = block_op.parse_body(await request.body())
        if problem is not None:
            raise errors.error(Code.INVALID_JSON_BODY if problem.kind == "body-malformed" else Code.MISSING_REQUIRED_PARAMETER)
        present = [name for name in block_fields if isinstance(body, dict) and name in body]
        if len(present) > 1 and all(block_op.check_body({name: body[name]}) is None for name in present):
            # Several of target_id / user_ids / users at once: undocumented, so never refused
            # here; the union is blocked (a reading; the suite asserts no answer either way).
            targets = list(dict.fromkeys(t for name in present
                                         for t in ([body[name]] if block_fields[name] == "string" else body[name])))
        elif block_op.check_body(body) is not None:
            raise errors.error(_body_code(body, block_fields))
        else:
            field = present[0]
            targets = [body[field]] if block_fields[field] == "string" else body[field]
        users = run(state.block, request.path_params["user_id"], targets)
        if state.faults.on("block-response-ids"):
            return JSONResponse({"users": [u["user_id"] for u in users]})  # FAULT: the 2022 spec's id strings
        return JSONResponse({"users": users})

    async def unblock(request: Request) -> JSONResponse:
        if not state.faults.on("unblock-without-token"):  # FAULT when on: no token check here
            admit(request, UNBLOCK_PATH)
        check_params(unblock_op, request)
        run(state.unblock, request.path_params["user_id"], request.path_params["target_id"])
        if state.faults.on("unblock-empty-body"):
            return Response(b"", status_code=200)  # TOLERATED: the docs' "empty response body" (decision 29)
        return JSONResponse({})  # a JSON object by default: the Python SDK cannot read an empty body

    return [
        route(BLOCK_PATH, {"GET": list_blocked, "POST": block}, raw_segments=True),
        route(UNBLOCK_PATH, {"DELETE": unblock}, raw_segments=True),
    ]
