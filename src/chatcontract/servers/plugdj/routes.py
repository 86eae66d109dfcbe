"""plug.dj HTTP edge: parse the request, check it against the spec, call the state, answer.

Order of checks: session (not logged in) → room role → request body/parameters → the mute itself.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatcontract.servers.core.app import route

from chatcontract.servers.core.auth import Authenticator
from chatcontract.servers.core.validation import OperationContract, RequestProblem
from chatcontract.servers.plugdj import errors
from chatcontract.servers.plugdj.state import PlugProblem, PlugState


def _message(problem: RequestProblem) -> str:
    if problem.kind == "param-missing" and problem.name:
        return f"{problem.name} is required"  # the docs' "xxxxxxxx is required"
    if problem.kind == "body-malformed":
        return "Invalid JSON body"
    return f"Invalid {problem.name or 'request'}"


def routes(state: PlugState, auth: Authenticator) -> list[Route]:
    list_op = OperationContract("plugdj", "plugdjListMutes")
    mute_op = OperationContract("plugdj", "plugdjMuteUser")
    unmute_op = OperationContract("plugdj", "plugdjUnmuteUser")

    def caller_of(request: Request, started: float) -> int:
        who = auth.caller(request)
        if not who.ok and state.faults.on("list-without-session") and request.method == "GET":
            return state.user_for_session(state.any_moderator_session())  # type: ignore[return-value]
        if not who.ok:
            raise errors.failure("auth-missing" if who.missing else "auth-invalid", errors.NOT_AUTHORIZED, started)
        return state.user_for_session(request.cookies.get("session"))  # type: ignore[return-value]

    def check(problem: RequestProblem | None, started: float) -> None:
        if problem is not None:
            raise errors.failure(problem.kind, _message(problem), started)

    async def list_mutes(request: Request) -> JSONResponse:
        started = time.perf_counter()
        caller = caller_of(request, started)
        check(list_op.check_params(request), started)
        try:
            return JSONResponse(errors.ok(state.list_mutes(caller), started))
        except PlugProblem as exc:
            raise errors.failure(exc.kind, exc.message, started) from None

    async def mute(request: Request) -> JSONResponse:
        started = time.perf_counter()
        caller = caller_of(request, started)
        try:
            state.require_moderator(caller)
        except PlugProblem as exc:
            raise errors.failure(exc.kind, exc.message, started) from None
        body, problem = mute_op.parse_body(await request.body())
        check(problem, started)
        if state.faults.on("reason-not-required") and isinstance(body, dict):
            body.setdefault("reason", 1)
        check(mute_op.check_body(body), started)
        try:
            # Without `duration` the mute is the shortest one (undocumented, decision 11).
            state.mute(caller, body["userID"], body["reason"], body.get("duration", "s"))
        except PlugProblem as exc:
            raise errors.failure(exc.kind, exc.message, started) from None
        return JSONResponse(errors.ok([], started))

    async def unmute(request: Request) -> JSONResponse:
        started = time.perf_counter()
        caller = caller_of(request, started)
        try:
            state.require_moderator(caller)
        except PlugProblem as exc:
            raise errors.failure(exc.kind, exc.message, started) from None
        check(unmute_op.check_params(request), started)
        try:
            state.unmute(caller, int(request.path_params["userID"]))
        except PlugProblem as exc:
            raise errors.failure(exc.kind, exc.message, started) from None
        return JSONResponse(errors.ok([], started))

    return [
        route("/_/mutes", {"GET": list_mutes, "POST": mute}),
        route("/_/mutes/{userID}", {"DELETE": unmute}),
    ]
