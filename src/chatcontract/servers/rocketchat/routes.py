"""Rocket.Chat HTTP edge: parse the request as the real router does, check it, call the state.

All four operations are served as the legacy `API.v1.addRoute` routes do ([RC-api]; chat.ignoreUser
is still one), so the order of checks is: auth (401) → rate limit (429) →
`validateParams` (400 `invalid-params`, ajv messages joined by "\\n ") → the handler's own checks →
the server method. Query strings are parsed like `qs` (repeated keys and `a[]=` become arrays);
bodies like the http-router's `parseBodyParams` (malformed JSON is `{}`).

The ajv schemas are built from the spec: the query parameters of the operation (`required` in
parameter order, `additionalProperties: false`, as the spec's x-decisions say) and the request
body schema. The keywords the spec adds for checks the *handler* makes after validation (`pattern:
\\S` for whitespace-only values, and `minLength` for `subscriptions.getOne`'s legacy `roomId`) are
left out of the ajv pass and checked where the handler checks them.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatcontract import specs
from chatcontract.servers.core.app import route
from chatcontract.servers.core.auth import Authenticator
from chatcontract.servers.core.validation import OperationContract
from chatcontract.servers.rocketchat import errors
from chatcontract.servers.rocketchat.state import RcProblem, RocketState, js_trim

PLATFORM = "rocketchat"


# --- request parsing ----------------------------------------------------------------------------

def parse_query(raw: str) -> dict[str, Any]:
    """`qs.parse` as the router uses it: `a=1&a=2` and `a[]=1` give lists, `a[k]=v` an object."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        bracket = re.fullmatch(r"([^\[\]]+)\[([^\]]*)\](.*)", key)
        if bracket is None:
            if key == "":
                continue
            previous = out.get(key)
            if previous is None:
                out[key] = value
            elif isinstance(previous, list):
                previous.append(value)
            elif isinstance(previous, dict):
                previous[str(len(previous))] = value
            else:
                out[key] = [previous, value]
            continue
        base, inner, rest = bracket.groups()
        previous = out.get(base)
        if (inner == "" or inner.isdigit()) and not rest and not isinstance(previous, dict):
            out[base] = ([] if previous is None else previous if isinstance(previous, list) else [previous]) + [value]
        else:
            target = previous if isinstance(previous, dict) else {} if previous is None else {"0": previous}
            target[inner + rest] = value
            out[base] = target
    return out


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


async def parse_body(request: Request) -> Any:
    """http-router `parseBodyParams`: JSON / form / text by content type; `{}` when unparsable."""
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    try:
        if "application/json" in content_type:
            parsed: Any = json.loads(raw, parse_constant=_not_json)  # JSON.parse has no NaN
        elif "multipart/form-data" in content_type:
            return {}  # spreading a FormData object gives {}
        elif "application/x-www-form-urlencoded" in content_type:
            parsed = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        else:
            parsed = raw.decode("utf-8", "replace")
    except (ValueError, RecursionError):
        return {}
    if parsed == "":
        return {}
    if isinstance(parsed, list):
        return parsed
    if isinstance(parsed, dict):
        return parsed
    if isinstance(parsed, str):  # `{ ...string }`: one key per character
        return {str(i): ch for i, ch in enumerate(parsed)}
    return {}  # `{ ...number }`, `{ ...null }`, `{ ...true }`


# --- ajv (coerceTypes: true, allErrors: false) for the keywords these schemas use ----------------

_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
}


def _coerce(expected: str, value: Any) -> tuple[bool, Any]:
    if _TYPE_CHECKS[expected](value):
        return True, value
    if expected == "string" and not isinstance(value, (dict, list)):
        if value is None:
            return True, ""
        if isinstance(value, bool):
            return True, "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return True, str(int(value))
        return True, str(value)
    return False, value


def ajv(schema: dict[str, Any], data: Any) -> tuple[list[str], Any]:
    """The error messages ajv would report (empty when valid) and the data after coercion.

    Keyword order is ajv's: type, then untyped keywords (oneOf, whose failing branches all report),
    then object keywords (required in array order, additionalProperties, properties in order),
    then string keywords (minLength, counted in code points).
    """
    expected = schema.get("type")
    if isinstance(expected, str):
        ok, data = _coerce(expected, data)
        if not ok:
            return [f"must be {expected}"], data
    if "oneOf" in schema:
        messages: list[str] = []
        passing: list[Any] = []
        for branch in schema["oneOf"]:
            branch_messages, value = ajv(branch, copy.copy(data))  # coercion rewrites top-level values only
            messages += branch_messages
            if not branch_messages:
                passing.append(value)
        if len(passing) != 1:
            return messages + ["must match exactly one schema in oneOf"], data
        data = passing[0]
    if isinstance(data, dict):
        for name in schema.get("required", []):
            if name not in data:
                return [f"must have required property '{name}'"], data
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is False and any(k not in properties for k in data):
            return ["must NOT have additional properties"], data
        for name, sub in properties.items():
            if name in data:
                sub_messages, data[name] = ajv(sub, data[name])
                if sub_messages:
                    return sub_messages, data
    if isinstance(data, str) and len(data) < schema.get("minLength", 0):
        return [f"must NOT have fewer than {schema['minLength']} characters"], data
    return [], data


_HANDLER_KEYWORDS = frozenset({"pattern"})  # `\S`: the handler's trim() check, not ajv's


def _without(schema: dict[str, Any], keywords: frozenset[str]) -> dict[str, Any]:
    out = {k: v for k, v in schema.items() if k not in keywords}
    if "properties" in out:
        out["properties"] = {name: _without(sub, keywords) for name, sub in out["properties"].items()}
    if "oneOf" in out:
        out["oneOf"] = [_without(branch, keywords) for branch in out["oneOf"]]
    return out


def query_schema(contract: OperationContract, handler_keywords: frozenset[str] = _HANDLER_KEYWORDS) -> dict[str, Any]:
    """The route's query validator: the spec's query parameters, nothing else allowed."""
    params = [p for p in contract.params if p.location == "query"]
    return {
        "type": "object",
        "properties": {p.name: _without(p.schema, handler_keywords) for p in params},
        "required": [p.name for p in params if p.required],
        "additionalProperties": False,
    }


def body_schema(contract: OperationContract) -> dict[str, Any]:
    op = contract.operation
    node = op.definition["requestBody"]["content"]["application/json"]["schema"]
    _, schema, _ = specs.deref(specs.spec_path(PLATFORM), node)
    return _without(schema, _HANDLER_KEYWORDS)


# --- routes -------------------------------------------------------------------------------------

def routes(state: RocketState, auth: Authenticator) -> list[Route]:
    ignore_op = OperationContract(PLATFORM, "rocketchatIgnoreUser")
    get_one_op = OperationContract(PLATFORM, "rocketchatGetSubscription")
    # Legacy `subscriptions.getOne` validates only presence and type; its handler rejects an empty
    # roomId with a plain failure (the spec's `emptyRoomIdLegacy` example).
    get_one_query = query_schema(get_one_op, _HANDLER_KEYWORDS | {"minLength"})
    ignore_query = query_schema(ignore_op)
    mute_body = body_schema(OperationContract(PLATFORM, "rocketchatMuteUser"))
    unmute_body = body_schema(OperationContract(PLATFORM, "rocketchatUnmuteUser"))

    faults = state.faults

    def authenticate(request: Request, *, fault_open: bool = False) -> str:
        who = auth.caller(request)
        if not who.ok and (fault_open or faults.on("wrong-credentials-accepted")):
            # FAULT hooks (faults.yaml): auth not enforced on one route / any credentials accepted.
            claimed = request.headers.get("x-user-id", "")
            if fault_open or request.headers.get("x-auth-token"):
                return claimed if claimed in state.users else state.user_of("admin")
        if not who.ok:
            raise errors.unauthorized()
        return state.user_of(who.name)  # type: ignore[arg-type]

    def rate_limit(request: Request, caller: str, method: str) -> dict[str, str]:
        """The limiter's key is the full route name plus method, and the client IP ([RC-api])."""
        client_ip = request.client.host if request.client else ""
        check = state.rate_limit(f"{request.url.path}{method}", client_ip, caller)
        if check is not None and not check.allowed:
            raise errors.too_many_requests(check, state.wait_seconds(check))
        return errors.rate_headers(check)

    async def ignore_user(request: Request) -> JSONResponse:
        caller = authenticate(request)
        headers = rate_limit(request, caller, "get")
        raw_query = parse_query(request.url.query)
        if faults.on("extra-params-accepted"):  # FAULT: additionalProperties not enforced
            raw_query = {k: v for k, v in raw_query.items() if k in ignore_query["properties"]}
        messages, query = ajv(ignore_query, raw_query)
        if messages:
            raise errors.invalid_params(messages, headers)
        # `/true|1/.test(ignore)`: unanchored and case-sensitive, so `True` un-ignores (§1.4 step 4).
        flags = re.IGNORECASE if faults.on("ignore-case-insensitive") else 0  # FAULT hook
        ignore = bool(re.search("true|1", query["ignore"], flags))
        if not js_trim(query["rid"]):
            raise errors.meteor_error("error-room-id-param-not-provided", 'The required "rid" param is missing.',
                                      headers=headers)
        if not js_trim(query["userId"]):
            raise errors.meteor_error("error-user-id-param-not-provided", 'The required "userId" param is missing.',
                                      headers=headers)
        try:
            state.ignore_user(caller, query["rid"], query["userId"], ignore)
        except RcProblem as exc:
            raise errors.from_problem(exc, headers) from None
        return JSONResponse(errors.success(), headers=headers)

    async def get_subscription(request: Request) -> JSONResponse:
        caller = authenticate(request, fault_open=faults.on("getone-without-auth"))
        headers = rate_limit(request, caller, "get")
        messages, query = ajv(get_one_query, parse_query(request.url.query))
        if messages:
            raise errors.invalid_params(messages, headers)
        if not query["roomId"]:
            raise errors.plain_failure("The 'roomId' param is required", headers)
        if faults.on("dm-getone-500") and len(query["roomId"]) > 17:  # FAULT: crash on a long (DM) id
            raise errors.http_error(500)
        found = state.subscription(caller, query["roomId"])
        return JSONResponse(errors.success({"subscription": found}), headers=headers)

    def mute_handler(schema: dict[str, Any], mute: bool):  # noqa: ANN202
        async def handler(request: Request) -> JSONResponse:
            caller = authenticate(request)
            headers = rate_limit(request, caller, "post")
            messages, body = ajv(schema, await parse_body(request))
            if messages:
                raise errors.invalid_params(messages, headers)
            try:
                user = state.find_user(body.get("userId"), body.get("username"))
                if not user.get("username"):
                    raise RcProblem("other", None, "Invalid user")
                state.set_muted(caller, body["roomId"], user["username"], mute)
            except RcProblem as exc:
                raise errors.from_problem(exc, headers) from None
            return JSONResponse(errors.success(), headers=headers)

        return handler

    return [
        route("/api/v1/chat.ignoreUser", {"GET": ignore_user}),
        route("/api/v1/subscriptions.getOne", {"GET": get_subscription}),
        route("/api/v1/rooms.muteUser", {"POST": mute_handler(mute_body, True)}),
        route("/api/v1/rooms.unmuteUser", {"POST": mute_handler(unmute_body, False)}),
    ]
