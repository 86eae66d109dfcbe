"""Ozeki Chat HTTP edge: one URL, `POST /index.php?srv=chatserver&api=chatconversation`, whose
JSON body's `action` picks `mute`, `unmute` or `list` (the spec's `x-actions`).

Order of checks: query (`srv`/`api` select the API before anything else, as Ozeki's `index.php`
routes; its login API is reached the same way without a signature) →
the three `Ozeki-*` headers → body JSON → `action` → that action's body schema → the state.
Each action's body schema comes from the spec's `x-actions[action].requestSchema`, so the first
problem reported is the one in the body the client meant to send (the `oneOf` alone cannot say
which branch failed); the whole `oneOf` is checked afterwards as well.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatcontract import specs
from chatcontract.servers.core.app import route
from chatcontract.servers.core.auth import Authenticator, Caller
from chatcontract.servers.core.validation import NO_BODY, OperationContract, RequestProblem
from chatcontract.servers.ozeki import errors
from chatcontract.servers.ozeki.state import OzekiProblem, OzekiState

PATH = "/index.php"


def action_validators() -> dict[str, Draft202012Validator]:
    """Each action's request body validator, from the operation's `x-actions`."""
    op = specs.operation_by_id("ozeki", errors.OPERATION)
    result = {}
    for name, action in op.definition["x-actions"].items():
        at = op.json_pointer_parts("x-actions", name, "requestSchema")
        document, _, inner = specs.deref(specs.spec_path("ozeki"), action["requestSchema"], at)
        result[name] = specs.validator_at(document, specs.pointer(*inner))
    return result


def _body_problem(validator: Draft202012Validator, body: Any) -> RequestProblem | None:
    # core.validation maps errors the same way for a whole operation body; here it is one branch.
    error = best_match(validator.iter_errors(body))
    if error is None:
        return None
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((p for p in error.validator_value if p not in error.instance), "")
        return RequestProblem("param-missing", ".".join([*path, missing]), error.message)
    return RequestProblem("param-invalid", path[0] if path else "", error.message)


def _message(problem: RequestProblem) -> str:
    # Names come from the spec (parameter or schema property names), never from the request.
    if problem.kind == "body-malformed":
        return "Invalid JSON"
    if problem.kind == "param-missing":
        return f"Missing {problem.name}" if problem.name else "Missing request body"
    return f"Invalid {problem.name}" if problem.name else "Invalid request"


def routes(state: OzekiState, auth: Authenticator) -> list[Route]:
    contract = OperationContract("ozeki", errors.OPERATION)
    validators = action_validators()

    def check(problem: RequestProblem | None) -> None:
        if problem is not None:
            raise errors.failure(problem.kind, _message(problem))

    def parse(raw: bytes) -> Any:
        try:
            body, problem = contract.parse_body(raw)
        except (ValueError, RecursionError):
            # JSON that Python will not turn into objects: a 4301-digit integer, deep nesting.
            body, problem = NO_BODY, RequestProblem("body-malformed", "", "unparseable JSON")
        check(problem)
        return body

    async def conversation(request: Request) -> JSONResponse:
        check(contract.check_params(request))
        who = auth.caller(request)
        if not who.ok and who.missing and state.faults.on("missing-headers-accepted"):
            who = Caller(state.any_participant_identity(), missing=False)
        if not who.ok and not who.missing and state.faults.on("any-credentials-accepted"):
            who = Caller(state.any_participant_identity(), missing=False)
        if not who.ok:
            raise errors.failure("auth-missing" if who.missing else "auth-invalid")
        caller = state.user_of(who.name)  # type: ignore[arg-type]
        body = parse(await request.body())
        if not isinstance(body, dict):
            check(RequestProblem("param-invalid", "", "the body is not a JSON object"))
        action = body.get("action")
        if "action" not in body:
            check(RequestProblem("param-missing", "action", "action is required"))
        if not isinstance(action, str) or action not in validators:
            raise errors.failure("param-invalid", "Unknown action")
        check(_body_problem(validators[action], body))
        check(contract.check_body(body))
        try:
            if action == "list":
                return JSONResponse(errors.ok(state.list_errormessage, conversations=state.list_conversations(caller)))
            change = state.mute if action == "mute" else state.unmute
            changed = change(caller, body["conversationid"])
        except OzekiProblem as exc:
            raise errors.failure(exc.kind, exc.message, http=exc.http) from None
        return JSONResponse(errors.ok(conversation=changed))

    return [route(PATH, {"POST": conversation})]
