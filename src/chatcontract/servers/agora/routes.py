"""Agora Chat HTTP edge: authenticate, check the request against the spec, call the state, answer.

Order of checks, the same for all five operations:

1. bearer token: none (401 `unauthorized`), not a token (401 `auth_bad_access_token` corrupt),
   a token nobody issued (401 `auth_bad_access_token`), expired (401 `unauthorized`), issued for
   another app than the URL's org/app (401 `unauthorized` "(OAuth)") — [AG-http], [EM-doc];
2. the per-App-Key, per-operation rate of the seed (429 `reach_limit`, [AG-doc]);
3. the URL: a path segment with a control character or undecodable percent-escape, or a `member`
   list that breaks the spec's schema, is 400 `illegal_argument` ("bad URL", [EM-doc] error.md);
   more than 60 members is 400 `invalid_parameter`;
4. `Content-Type` where the docs ask for it (415): mute needs `application/json`; mute-all and
   unmute-all take no body, so only a Content-Type other than JSON is refused;
5. the body (mute): not JSON → 400 `json_parse`; absent or not matching the spec's schema → 400
   `illegal_argument` (§6 point 27: the error for a missing `mute_duration` is undocumented);
   more than 60 usernames → 400 `invalid_parameter`;
6. the chat room (404 `resource_not_found`), then membership (400 `forbidden_op`), then the change.

Both URL forms of the spec (`x-url-forms`) are served by the one route: `/{org_name}/{app_name}/…`
and `/app-id/{app_id}/…`, whose first segment is the app-id form's literal. On the app-id form the
success envelope carries the members that form lists (none: the Shengwang page's reading).

Faults (servers/agora/faults.yaml) that change this edge are marked `# fault:`; off by default.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatcontract import specs
from chatcontract.servers.agora import errors
from chatcontract.servers.agora.state import INT64_MAX, AgoraProblem, AgoraState
from chatcontract.servers.core.app import route
from chatcontract.servers.core.auth import Authenticator
from chatcontract.servers.core.errors import VendorError
from chatcontract.servers.core.validation import NO_BODY, OperationContract, RequestProblem

ROOM = "/{org_name}/{app_name}/chatrooms/{chatroom_id}"
JSON = "application/json"


def url_forms() -> dict[str, dict[str, Any]]:
    """The spec's URL forms (`x-url-forms.forms`): form name -> its data."""
    return specs.load_spec("agora")["x-url-forms"]["forms"]


def app_id_segment() -> str:
    """The literal first segment of the app-id form, from the spec."""
    return next(form["org_name"] for form in url_forms().values() if "org_name" in form)


def org_app_members() -> tuple[str, ...]:
    """The envelope members the org/app form requires (its `envelope` schema in x-url-forms),
    which this server leaves out on the app-id form (the Shengwang page's envelope)."""
    document, schema, _ = specs.deref(specs.spec_path("agora"), url_forms()["org-app"]["envelope"])
    return tuple(schema["required"])


ENVELOPE_MEMBERS = org_app_members()


@dataclass
class Call:
    """One request under way: when it started and which app and room it addresses."""

    started: float
    now_ms: int
    org: str
    app_name: str
    room_id: str
    app: dict[str, str]
    request: Request
    form: str = "org-app"
    keep: tuple[str, ...] = ENVELOPE_MEMBERS  # the envelope members this form's answers carry

    def fail(self, name: str, subject: str = "") -> VendorError:
        return errors.failure(name, self.now_ms, self.started, subject)

    def answer(self, data: Any) -> JSONResponse:
        url = self.request.url
        # The path as sent (a `member` list keeps its `%2C`, as in the [AG-doc] example).
        raw = self.request.scope.get("raw_path") or url.path.encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        tail = path.split("/", 3)[3] if path.count("/") >= 3 else ""
        body = errors.ok(
            data, action=self.request.method.lower(), app=self.app, uri=f"{url.scheme}://{url.netloc}{path}",
            path="/" + tail, now_ms=self.now_ms, started=self.started,
        )
        for member in ENVELOPE_MEMBERS:
            if member not in self.keep:
                body.pop(member, None)
        return JSONResponse(body)


def _media_type(request: Request) -> str | None:
    raw = request.headers.get("content-type")
    return None if raw is None else raw.split(";", 1)[0].strip().lower()


def _bad_url(request: Request) -> bool:
    """A path segment no client could mean: control characters or an undecodable %-escape."""
    return any(
        "\ufffd" in value or any(unicodedata.category(ch) == "Cc" for ch in value)
        for value in request.path_params.values()
    )


def routes(state: AgoraState, auth: Authenticator) -> list[Route]:
    contracts = {
        op: OperationContract("agora", op)
        for op in ("agoraListChatRoomMutes", "agoraMuteChatRoomMembers", "agoraUnmuteChatRoomMembers",
                   "agoraMuteAllChatRoomMembers", "agoraUnmuteAllChatRoomMembers")
    }

    def begin(request: Request, operation: str) -> Call:
        started, now_ms = time.perf_counter(), state.clock.now_ms()
        if state.faults.on("server-error-on-non-numeric-room") and not request.path_params["chatroom_id"].isdigit():
            raise errors.failure("web_application", now_ms, started)  # fault: the room ID parsed as a number
        literal = app_id_segment()
        form = "app-id" if request.path_params["org_name"] == literal else "org-app"
        org, app_name = state.app_key(request.path_params["org_name"], request.path_params["app_name"], literal)
        who = auth.caller(request)
        if not who.ok and operation == "agoraListChatRoomMutes" and state.faults.on("auth-not-enforced-on-list"):
            who = type(who)("admin", missing=False)  # fault: the list answers without a valid token
        if not who.ok and not who.missing and state.faults.on("any-token-accepted"):
            who = type(who)("admin", missing=False)  # fault: any bearer token will do
        if not who.ok:
            if who.missing:
                raise errors.failure("expired_token", now_ms, started)
            token = request.headers.get("authorization", "").partition(" ")[2].strip()
            raise errors.failure("foreign_token" if state.is_well_formed(token) else "corrupt_token", now_ms, started)
        try:
            app = state.authorize(str(who.name), org, app_name)
            state.admit(org, app_name, operation)
        except AgoraProblem as exc:
            raise errors.failure(exc.name, now_ms, started, exc.subject) from None
        keep = ENVELOPE_MEMBERS if form == "org-app" else ()
        if form == "app-id" and state.faults.on("app-id-envelope-full"):  # fault (tolerated): Agora's page
            keep = ENVELOPE_MEMBERS
        if form == "org-app" and state.faults.on("envelope-without-org-fields"):  # fault
            keep = ()
        call = Call(started, now_ms, org, app_name, request.path_params["chatroom_id"], app, request, form, keep)
        if _bad_url(request):
            raise call.fail("illegal_argument")
        problem = contracts[operation].check_params(request)
        if problem is not None:
            too_many = problem.kind == "too-many" and operation == "agoraUnmuteChatRoomMembers"
            raise call.fail("too_many_members" if too_many else "illegal_argument")
        return call

    def no_body_media_type(call: Call) -> None:
        media = _media_type(call.request)
        if state.faults.on("bodyless-media-type-ignored"):  # fault (tolerated): no body, nothing to refuse
            return
        if media is not None and media != JSON:
            raise call.fail("unsupported_media_type")

    def body_problem(call: Call, problem: RequestProblem | None) -> None:
        if problem is None:
            return
        if problem.kind == "too-many" and state.faults.on("no-limit-on-usernames"):  # fault
            return
        if problem.kind == "body-malformed":
            raise call.fail("json_parse")
        raise call.fail("too_many_usernames" if problem.kind == "too-many" else "illegal_argument")

    async def list_mutes(request: Request) -> JSONResponse:
        call = begin(request, "agoraListChatRoomMutes")
        try:
            return call.answer(state.list_mutes(call.org, call.app_name, call.room_id))
        except AgoraProblem as exc:
            raise call.fail(exc.name, exc.subject) from None

    async def mute(request: Request) -> JSONResponse:
        call = begin(request, "agoraMuteChatRoomMembers")
        if _media_type(request) != JSON:
            raise call.fail("unsupported_media_type")
        contract = contracts["agoraMuteChatRoomMembers"]
        body, problem = contract.parse_body(await request.body())
        body_problem(call, problem)
        body_problem(call, contract.check_body(body))
        assert body is not NO_BODY
        duration = body["mute_duration"]
        if duration > INT64_MAX:  # the schema's `format: int64`, which JSON Schema does not check
            raise call.fail("illegal_argument")
        if duration == 0 and state.faults.on("zero-duration-refused"):  # fault (tolerated): 0 not taken
            raise call.fail("illegal_argument")
        try:
            data = state.mute(call.org, call.app_name, call.room_id, [str(u) for u in body["usernames"]], int(duration))
        except AgoraProblem as exc:
            raise call.fail(exc.name, exc.subject) from None
        return call.answer(data)

    async def unmute(request: Request) -> JSONResponse:
        call = begin(request, "agoraUnmuteChatRoomMembers")
        members = request.path_params["member"].split(",")
        try:
            return call.answer(state.unmute(call.org, call.app_name, call.room_id, members))
        except AgoraProblem as exc:
            raise call.fail(exc.name, exc.subject) from None

    def mute_all_handler(operation: str, on: bool) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def handler(request: Request) -> JSONResponse:
            call = begin(request, operation)
            no_body_media_type(call)  # no body is documented; one that is sent is ignored
            try:
                return call.answer({"mute": state.set_mute_all(call.org, call.app_name, call.room_id, on)})
            except AgoraProblem as exc:
                raise call.fail(exc.name, exc.subject) from None

        return handler

    return [
        route(f"{ROOM}/mute", {"GET": list_mutes, "POST": mute}),
        route(f"{ROOM}/mute/{{member}}", {"DELETE": unmute}),
        route(f"{ROOM}/ban", {"POST": mute_all_handler("agoraMuteAllChatRoomMembers", True),
                              "DELETE": mute_all_handler("agoraUnmuteAllChatRoomMembers", False)}),
    ]
