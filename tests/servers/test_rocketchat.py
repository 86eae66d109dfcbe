"""The Rocket.Chat reference server behaves as specs/rocketchat.yaml documents.

Sources: vendors.md §1 (§1.2 auth, §1.4 order of checks, §1.5 bodies, §1.7 mute siblings, §1.8
semantics) and §6 points 1–8; [RC-api] ApiClass.ts (401 body, rate limiter, failure envelope),
[RC-chat] chat.ts, [RC-method] ignoreUser.ts, [RC-model] Subscriptions/Rooms models, [RC-mute]
muteUserInRoom.ts / unmuteUserInRoom.ts / rooms.ts / getUserFromParams.ts, [RC-typings] ajv schemas.
Every documented error body the server can produce is compared with the spec's named example.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from chatcontract import specs
from tests.servers.conftest import advance_clock, conforms, live_server

PLATFORM = "rocketchat"
IGNORE = "/api/v1/chat.ignoreUser"
GET_ONE = "/api/v1/subscriptions.getOne"
MUTE = "/api/v1/rooms.muteUser"
UNMUTE = "/api/v1/rooms.unmuteUser"
OP = {IGNORE: "rocketchatIgnoreUser", GET_ONE: "rocketchatGetSubscription",
      MUTE: "rocketchatMuteUser", UNMUTE: "rocketchatUnmuteUser"}


def creds(seed: dict, identity: str) -> dict[str, str]:
    c = seed["identities"][identity]["credentials"]
    return {"X-User-Id": c["userId"], "X-Auth-Token": c["authToken"]}


def ignore(api: httpx.Client, seed: dict, identity: str, rid: str, user: str, flag: str = "true") -> httpx.Response:
    return api.get(IGNORE, params={"rid": rid, "userId": user, "ignore": flag}, headers=creds(seed, identity))


def subscription(api: httpx.Client, seed: dict, identity: str, room: str) -> dict[str, Any] | None:
    response = api.get(GET_ONE, params={"roomId": room}, headers=creds(seed, identity))
    assert response.status_code == 200
    return conforms(PLATFORM, OP[GET_ONE], response)["subscription"]


def ignored(api: httpx.Client, seed: dict, identity: str, room: str) -> list[str] | None:
    sub = subscription(api, seed, identity, room)
    assert sub is not None
    return sub.get("ignored")


def room_state(rid: str) -> dict[str, Any]:
    """Mute lists are read from the live server's state: no spec operation reads them back."""
    app = live_server(PLATFORM)._server.config.app
    return app.state.platform_state.room(rid)


def example(path: str, status: str, name: str) -> dict[str, Any]:
    op = specs.operation_by_id(PLATFORM, OP[path])
    document = specs.spec_path(PLATFORM)
    _, response, _ = specs.deref(document, op.responses[status])
    _, ex, _ = specs.deref(document, response["content"]["application/json"]["examples"][name])
    return ex["value"]


def error(response: httpx.Response, path: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = conforms(PLATFORM, OP[path], response)
    assert body["success"] is False
    return body


# --- chat.ignoreUser and its read-back ----------------------------------------------------------

def test_ignore_adds_the_user_once_and_reads_back(api, seed) -> None:
    fx = seed["fixtures"]
    assert ignored(api, seed, "member", fx["room"]) is None  # never ignored anyone here
    for _ in range(2):  # idempotent: $addToSet
        response = ignore(api, seed, "member", fx["room"], fx["member2_user"])
        assert conforms(PLATFORM, OP[IGNORE], response) == {"success": True}
    assert ignored(api, seed, "member", fx["room"]) == [fx["member2_user"]]


def test_unignore_removes_the_user_and_leaves_an_empty_list(api, seed) -> None:
    fx = seed["fixtures"]
    ignore(api, seed, "member", fx["room"], fx["member2_user"]).raise_for_status()
    ignore(api, seed, "member", fx["room"], fx["target_user"]["id"]).raise_for_status()
    assert ignored(api, seed, "member", fx["room"]) == [fx["member2_user"], fx["target_user"]["id"]]
    for user in (fx["member2_user"], fx["target_user"]["id"]):
        assert conforms(PLATFORM, OP[IGNORE], ignore(api, seed, "member", fx["room"], user, "false")) == {"success": True}
    assert ignored(api, seed, "member", fx["room"]) == []


def test_unignoring_someone_never_ignored_succeeds_and_changes_nothing(api, seed) -> None:
    fx = seed["fixtures"]
    response = ignore(api, seed, "member", fx["room"], fx["member2_user"], "false")
    assert conforms(PLATFORM, OP[IGNORE], response) == {"success": True}
    assert ignored(api, seed, "member", fx["room"]) is None  # $pull on a missing array


@pytest.mark.parametrize("flag, ignores", [
    ("true", True), ("1", True), ("10", True), ("untrue", True), ("false1", True),
    ("false", False), ("0", False), ("True", False), ("TRUE", False), ("yes", False), ("on", False),
])
def test_ignore_flag_is_read_with_the_unanchored_case_sensitive_regex(api, seed, flag: str, ignores: bool) -> None:
    """§1.4 step 4 / §6.2: `/true|1/.test(ignore)`; `True` un-ignores."""
    fx = seed["fixtures"]
    target = fx["target_user"]["id"]
    ignore(api, seed, "member", fx["room"], fx["member2_user"]).raise_for_status()
    if not ignores:  # start from "target ignored" so an un-ignore is visible
        ignore(api, seed, "member", fx["room"], target).raise_for_status()
    assert ignore(api, seed, "member", fx["room"], target, flag).status_code == 200
    assert (target in ignored(api, seed, "member", fx["room"])) is ignores
    assert fx["member2_user"] in ignored(api, seed, "member", fx["room"])  # only `userId` changed


def test_ignore_lists_are_per_caller_and_per_room(api, seed) -> None:
    fx = seed["fixtures"]
    ignore(api, seed, "member", fx["room"], fx["target_user"]["id"]).raise_for_status()
    assert ignored(api, seed, "member", fx["room"]) == [fx["target_user"]["id"]]
    assert ignored(api, seed, "member2", fx["room"]) is None
    assert ignored(api, seed, "member", fx["private_room"]) == [fx["moderator_user"]]  # the seeded one
    ignore(api, seed, "member2", fx["room"], fx["member_user"]).raise_for_status()
    assert ignored(api, seed, "member2", fx["room"]) == [fx["member_user"]]
    assert ignored(api, seed, "member", fx["room"]) == [fx["target_user"]["id"]]


def test_preexisting_ignore_is_visible_and_can_be_lifted(api, seed) -> None:
    pre = seed["fixtures"]["preexisting_ignore"]
    assert ignored(api, seed, pre["identity"], pre["room"]) == [pre["user"]]
    ignore(api, seed, pre["identity"], pre["room"], pre["user"], "false").raise_for_status()
    assert ignored(api, seed, pre["identity"], pre["room"]) == []


def test_ignoring_yourself_is_accepted(api, seed) -> None:
    fx = seed["fixtures"]
    assert ignore(api, seed, "member", fx["room"], fx["member_user"]).status_code == 200
    assert ignored(api, seed, "member", fx["room"]) == [fx["member_user"]]


def test_ignore_works_in_a_direct_message(api, seed) -> None:
    fx = seed["fixtures"]
    assert ignore(api, seed, "member2", fx["direct_room"], fx["member_user"]).status_code == 200
    sub = subscription(api, seed, "member2", fx["direct_room"])
    assert sub["t"] == "d" and sub["name"] == "roxie.hart" and sub["ignored"] == [fx["member_user"]]


@pytest.mark.parametrize("missing, name", [("rid", "missingRid"), ("userId", "missingUserId"), ("ignore", "missingIgnore")])
def test_missing_parameter_is_invalid_params(api, seed, missing: str, name: str) -> None:
    params = {"rid": seed["fixtures"]["room"], "userId": seed["fixtures"]["member2_user"], "ignore": "true"}
    del params[missing]
    body = error(api.get(IGNORE, params=params, headers=creds(seed, "member")), IGNORE)
    assert body == example(IGNORE, "400", name)


@pytest.mark.parametrize("extra", ["_", "roomId", "fields"])
def test_extra_query_parameter_is_invalid_params(api, seed, extra: str) -> None:
    fx = seed["fixtures"]
    params = {"rid": fx["room"], "userId": fx["member2_user"], "ignore": "true", extra: "1"}
    body = error(api.get(IGNORE, params=params, headers=creds(seed, "member")), IGNORE)
    assert body == example(IGNORE, "400", "extraParameter")
    assert ignored(api, seed, "member", fx["room"]) is None


@pytest.mark.parametrize("empty", ["rid", "userId", "ignore"])
def test_empty_parameter_is_invalid_params(api, seed, empty: str) -> None:
    params = {"rid": seed["fixtures"]["room"], "userId": seed["fixtures"]["member2_user"], "ignore": "true", empty: ""}
    body = error(api.get(IGNORE, params=params, headers=creds(seed, "member")), IGNORE)
    assert body == example(IGNORE, "400", "emptyParameter")


@pytest.mark.parametrize("blank", [" ", "%20%20", "%E3%80%80", "%09"])
def test_whitespace_only_rid_then_user_id_are_the_documented_errors(api, seed, blank: str) -> None:
    fx = seed["fixtures"]
    headers = creds(seed, "member")
    response = api.get(f"{IGNORE}?rid={blank}&userId={fx['member2_user']}&ignore=true", headers=headers)
    assert error(response, IGNORE) == example(IGNORE, "400", "blankRid")
    response = api.get(f"{IGNORE}?rid={fx['room']}&userId={blank}&ignore=true", headers=headers)
    assert error(response, IGNORE) == example(IGNORE, "400", "blankUserId")
    response = api.get(f"{IGNORE}?rid={blank}&userId={blank}&ignore=true", headers=headers)  # rid first
    assert error(response, IGNORE)["errorType"] == "error-room-id-param-not-provided"


@pytest.mark.parametrize("identity, room, user, name", [
    ("member", "unknown_room", "member2_user", "unknownRoom"),
    ("member", "private_room", "member2_user", "targetNotInRoom"),
    ("member", "room", "outsider_user", "targetNotInRoom"),
    ("member", "room", "unknown_user", "targetNotInRoom"),
    ("member2", "private_room", "member_user", "callerNotInRoom"),
    ("outsider", "room", "member_user", "callerNotInRoom"),
])
def test_missing_subscription_is_invalid_subscription(api, seed, identity: str, room: str, user: str, name: str) -> None:
    fx = seed["fixtures"]
    body = error(ignore(api, seed, identity, fx[room], fx[user]), IGNORE)
    assert body == example(IGNORE, "400", name)
    assert body["details"] == {"method": "ignoreUser"}


@pytest.mark.parametrize("query", ["ignore=a&ignore=b", "ignore[]=true", "ignore[x]=true"])
def test_non_string_parameter_is_invalid_params(api, seed, query: str) -> None:
    fx = seed["fixtures"]
    response = api.get(f"{IGNORE}?rid={fx['room']}&userId={fx['member2_user']}&{query}", headers=creds(seed, "member"))
    body = error(response, IGNORE)
    assert body == {"success": False, "error": "must be string [invalid-params]", "errorType": "invalid-params"}


@pytest.mark.parametrize("odd", ["%F0%9F%98%80%E2%80%AE", "%00", "'%22%3C%3E%5C", "x" * 5000, "%FF%FE"])
def test_odd_and_huge_ids_are_answered_not_crashed(api, seed, odd: str) -> None:
    fx = seed["fixtures"]
    headers = creds(seed, "member")
    for query in (f"rid={odd}&userId={fx['member2_user']}&ignore=true", f"rid={fx['room']}&userId={odd}&ignore=true"):
        assert error(api.get(f"{IGNORE}?{query}", headers=headers), IGNORE)["errorType"] == "error-invalid-subscription"
    assert conforms(PLATFORM, OP[GET_ONE], api.get(f"{GET_ONE}?roomId={odd}", headers=headers))["subscription"] is None


# --- subscriptions.getOne -----------------------------------------------------------------------

def test_get_one_returns_the_callers_own_subscription(api, seed) -> None:
    fx = seed["fixtures"]
    sub = subscription(api, seed, "moderator", fx["room"])
    assert sub["rid"] == fx["room"] and sub["u"]["_id"] == fx["moderator_user"] and sub["roles"] == ["moderator"]
    assert sub["t"] == "c" and "ignored" not in sub


@pytest.mark.parametrize("identity, room", [("outsider", "room"), ("member2", "private_room"), ("member", "unknown_room")])
def test_get_one_without_a_subscription_is_null(api, seed, identity: str, room: str) -> None:
    body = conforms(PLATFORM, OP[GET_ONE], api.get(GET_ONE, params={"roomId": seed["fixtures"][room]},
                                                   headers=creds(seed, identity)))
    assert body == example(GET_ONE, "200", "notSubscribed")


def test_get_one_whitespace_room_id_is_null(api, seed) -> None:
    response = api.get(f"{GET_ONE}?roomId=%20", headers=creds(seed, "member"))
    assert conforms(PLATFORM, OP[GET_ONE], response) == {"subscription": None, "success": True}


@pytest.mark.parametrize("query, name", [("", "missingRoomId"), ("roomId=GENERAL&x=1", "extraParameter"),
                                         ("roomId=", "emptyRoomIdLegacy")])
def test_get_one_parameter_errors(api, seed, query: str, name: str) -> None:
    body = error(api.get(f"{GET_ONE}?{query}", headers=creds(seed, "member")), GET_ONE)
    assert body == example(GET_ONE, "400", name)


# --- rooms.muteUser / rooms.unmuteUser ----------------------------------------------------------

def mute(api: httpx.Client, seed: dict, identity: str, body: Any, path: str = MUTE) -> httpx.Response:
    return api.post(path, json=body, headers=creds(seed, identity))


@pytest.mark.parametrize("by", ["userId", "username", "USERNAME"])
def test_admin_mutes_a_member_by_id_or_username(api, seed, by: str) -> None:
    fx = seed["fixtures"]
    target = fx["target_user"]
    who = {"userId": target["id"]} if by == "userId" else {"username": target["username"].lower() if by == "username"
                                                          else target["username"].upper()}
    for _ in range(2):  # idempotent: $addToSet
        response = mute(api, seed, "admin", {"roomId": fx["room"], **who})
        assert conforms(PLATFORM, OP[MUTE], response) == {"success": True}
    assert room_state(fx["room"])["muted"] == [fx["muted_user"]["username"], target["username"]]


def test_room_moderator_mutes_then_unmutes_in_their_room(api, seed) -> None:
    fx = seed["fixtures"]
    target = fx["target_user"]
    assert mute(api, seed, "moderator", {"roomId": fx["moderated_room"], "userId": target["id"]}).status_code == 200
    assert target["username"] in room_state(fx["moderated_room"])["muted"]
    response = mute(api, seed, "moderator", {"roomId": fx["moderated_room"], "userId": target["id"]}, UNMUTE)
    assert conforms(PLATFORM, OP[UNMUTE], response) == {"success": True}
    assert target["username"] not in room_state(fx["moderated_room"])["muted"]


def test_unmute_lifts_a_seeded_mute_and_repeats_harmlessly(api, seed) -> None:
    fx = seed["fixtures"]
    for _ in range(2):
        response = mute(api, seed, "admin", {"roomId": fx["room"], "username": fx["muted_user"]["username"]}, UNMUTE)
        assert conforms(PLATFORM, OP[UNMUTE], response) == {"success": True}
    assert room_state(fx["room"])["muted"] == []


def test_read_only_room_uses_its_unmuted_exceptions(api, seed) -> None:
    fx = seed["fixtures"]
    body = {"roomId": fx["readonly_room"], "userId": fx["target_user"]["id"]}
    assert mute(api, seed, "admin", body, UNMUTE).status_code == 200
    assert room_state(fx["readonly_room"])["unmuted"] == [fx["target_user"]["username"]]
    assert mute(api, seed, "admin", body).status_code == 200
    state = room_state(fx["readonly_room"])
    assert state["unmuted"] == [] and not state.get("muted")


@pytest.mark.parametrize("path", [MUTE, UNMUTE])
@pytest.mark.parametrize("identity, room", [("member", "room"), ("moderator", "private_room"),
                                            ("moderator", "unknown_room"), ("outsider", "room")])
def test_caller_without_mute_user_is_not_allowed(api, seed, path: str, identity: str, room: str) -> None:
    fx = seed["fixtures"]
    body = error(mute(api, seed, identity, {"roomId": fx[room], "userId": fx["target_user"]["id"]}, path), path)
    assert body == example(path, "400", "notAllowed")
    assert room_state(fx["room"])["muted"] == [fx["muted_user"]["username"]]


@pytest.mark.parametrize("path", [MUTE, UNMUTE])
def test_unknown_room_with_global_permission_is_invalid_room(api, seed, path: str) -> None:
    fx = seed["fixtures"]
    body = error(mute(api, seed, "admin", {"roomId": fx["unknown_room"], "userId": fx["target_user"]["id"]}, path), path)
    assert body == example(path, "400", "unknownRoom")


@pytest.mark.parametrize("path", [MUTE, UNMUTE])
def test_direct_message_cannot_mute(api, seed, path: str) -> None:
    fx = seed["fixtures"]
    body = error(mute(api, seed, "admin", {"roomId": fx["direct_room"], "userId": fx["member2_user"]}, path), path)
    assert body == example(path, "400", "roomTypeCannotMute")


@pytest.mark.parametrize("path", [MUTE, UNMUTE])
@pytest.mark.parametrize("user", ["member2_user", "outsider_user"])
def test_user_not_in_room(api, seed, path: str, user: str) -> None:
    fx = seed["fixtures"]
    body = error(mute(api, seed, "admin", {"roomId": fx["private_room"], "userId": fx[user]}, path), path)
    assert body == example(path, "400", "userNotInRoom")


@pytest.mark.parametrize("path", [MUTE, UNMUTE])
@pytest.mark.parametrize("identity", ["admin", "member"])  # the user is looked up before the permission check
@pytest.mark.parametrize("who", [{"userId": "NoSuchUser7kQ2xZp"}, {"username": "nobody.here"}, {"userId": 12345}])
def test_unknown_user_is_invalid_user(api, seed, path: str, identity: str, who: dict) -> None:
    body = error(mute(api, seed, identity, {"roomId": seed["fixtures"]["room"], **who}, path), path)
    assert body == example(path, "400", "unknownUser")


@pytest.mark.parametrize("path", [MUTE, UNMUTE])
def test_user_without_username_is_the_plain_invalid_user_failure(api, seed, path: str) -> None:
    fx = seed["fixtures"]
    body = error(mute(api, seed, "admin", {"roomId": fx["room"], "userId": fx["user_without_username"]}, path), path)
    assert body == example(path, "400", "userWithoutUsername") and "errorType" not in body


@pytest.mark.parametrize("path", [MUTE, UNMUTE])
@pytest.mark.parametrize("field", ["userId", "username"])
def test_whitespace_only_user_is_user_param_not_provided(api, seed, path: str, field: str) -> None:
    body = error(mute(api, seed, "admin", {"roomId": seed["fixtures"]["room"], field: " \t"}, path), path)
    assert body == example(path, "400", "blankUserId")


@pytest.mark.parametrize("path", [MUTE, UNMUTE])
@pytest.mark.parametrize("payload, name", [
    ({"roomId": "GENERAL"}, "invalidParams"),
    ({"userId": "CkCPNfjfhiwWLqC7a"}, "missingRoomId"),
    ({"roomId": "GENERAL", "userId": "CkCPNfjfhiwWLqC7a", "reason": "spam"}, "extraProperty"),
    ({"roomId": "GENERAL", "userId": "CkCPNfjfhiwWLqC7a", "username": "Fred.Casely"}, "bothUserIdAndUsername"),
    ({"roomId": "GENERAL", "userId": ""}, "emptyUserId"),
])
def test_body_validation_matches_the_documented_ajv_messages(api, seed, path: str, payload: dict, name: str) -> None:
    body = error(mute(api, seed, "admin", payload, path), path)
    assert body == example(path, "400", name)


@pytest.mark.parametrize("raw", [b'{"roomId": "GENERAL",', b"[]", b'"roomId"', b"null", b"7", b"", b"\xff\xfe{",
                                 b'{"roomId": NaN, "userId": "x"}', b"[" * 100_000 + b"]" * 100_000,
                                 b'{"roomId": ' + b"[" * 500 + b"]" * 500 + b', "userId": "x"}'])
def test_body_that_is_not_an_object_is_invalid_params_not_a_crash(api, seed, raw: bytes) -> None:
    response = api.post(MUTE, content=raw, headers={**creds(seed, "admin"), "content-type": "application/json"})
    assert error(response, MUTE)["errorType"] == "invalid-params"


def test_non_json_content_type_is_invalid_params(api, seed) -> None:
    response = api.post(MUTE, content=b"roomId=GENERAL", headers={**creds(seed, "admin"), "content-type": "text/plain"})
    assert error(response, MUTE)["errorType"] == "invalid-params"


def test_form_encoded_body_is_accepted(api, seed) -> None:
    fx = seed["fixtures"]
    response = api.post(MUTE, data={"roomId": fx["room"], "userId": fx["target_user"]["id"]}, headers=creds(seed, "admin"))
    assert conforms(PLATFORM, OP[MUTE], response) == {"success": True}


# --- authentication -----------------------------------------------------------------------------

def _call(api: httpx.Client, path: str, headers: dict[str, str]) -> httpx.Response:
    if path in (MUTE, UNMUTE):
        return api.post(path, json={"roomId": "GENERAL", "userId": "CkCPNfjfhiwWLqC7a"}, headers=headers)
    params = {"roomId": "GENERAL"} if path == GET_ONE else {"rid": "GENERAL", "userId": "hZKg86uJavE6jYLya", "ignore": "true"}
    return api.get(path, params=params, headers=headers)


@pytest.mark.parametrize("path", [IGNORE, GET_ONE, MUTE, UNMUTE])
@pytest.mark.parametrize("case", ["none", "only-user-id", "only-token", "wrong-token", "other-users-token", "empty"])
def test_missing_or_bad_credentials_are_401(api, seed, path: str, case: str) -> None:
    admin, member = creds(seed, "admin"), creds(seed, "member")
    headers = {
        "none": {},
        "only-user-id": {"X-User-Id": admin["X-User-Id"]},
        "only-token": {"X-Auth-Token": admin["X-Auth-Token"]},
        "wrong-token": {"X-User-Id": admin["X-User-Id"], "X-Auth-Token": "not-a-token"},
        "other-users-token": {"X-User-Id": admin["X-User-Id"], "X-Auth-Token": member["X-Auth-Token"]},
        "empty": {"X-User-Id": "", "X-Auth-Token": ""},
    }[case]
    body = error(_call(api, path, headers), path, 401)
    assert body == example(path, "401", "notLoggedIn" if case == "none" else "wrongToken")
    assert room_state("GENERAL")["muted"] == [seed["fixtures"]["muted_user"]["username"]]


def test_auth_is_checked_before_parameters(api) -> None:
    assert api.get(IGNORE).status_code == 401
    assert api.post(MUTE, content=b"{", headers={"content-type": "application/json"}).status_code == 401


def test_header_names_are_case_insensitive(api, seed) -> None:
    c = creds(seed, "member")
    response = api.get(GET_ONE, params={"roomId": "GENERAL"}, headers={"x-user-id": c["X-User-Id"], "x-auth-token": c["X-Auth-Token"]})
    assert response.status_code == 200


# --- rate limiter -------------------------------------------------------------------------------

def test_rate_limit_answers_429_on_the_eleventh_call_then_resets(api, seed) -> None:
    limit = seed["fixtures"]["rate_limit"]
    room = seed["fixtures"]["room"]
    headers = creds(seed, "member")
    for n in range(limit["calls"]):
        response = api.get(GET_ONE, params={"roomId": room}, headers=headers)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == str(limit["calls"])
        assert response.headers["x-ratelimit-remaining"] == str(limit["calls"] - n - 1)
    # Another limited identity from the same IP shares the route's counter.
    response = api.get(GET_ONE, params={"roomId": room}, headers=creds(seed, "member2"))
    body = error(response, GET_ONE, 429)
    assert body["error"].startswith("Error, too many requests. Please slow down. You must wait ")
    assert body["error"].endswith(" seconds before trying this endpoint again. [error-too-many-requests]")
    assert "errorType" not in body and response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) > 0
    # Other routes have their own counters; the bypass identity is never limited.
    assert ignore(api, seed, "member", room, seed["fixtures"]["member2_user"]).status_code == 200
    bypass = api.get(GET_ONE, params={"roomId": room}, headers=creds(seed, limit["bypass"][0]))
    assert bypass.status_code == 200 and "x-ratelimit-limit" not in bypass.headers
    advance_clock(api, limit["window_ms"] + 1)
    assert api.get(GET_ONE, params={"roomId": room}, headers=headers).status_code == 200


def test_rate_limit_runs_before_validation_and_after_auth(api, seed) -> None:
    headers = creds(seed, "moderator")
    for _ in range(seed["fixtures"]["rate_limit"]["calls"]):
        assert api.post(MUTE, json={}, headers=headers).status_code == 400
        assert api.post(MUTE, json={}).status_code == 401  # not counted
    assert error(api.post(MUTE, json={}, headers=headers), MUTE, 429)["success"] is False


# --- routing and concurrency --------------------------------------------------------------------

def test_unknown_path_and_wrong_method_answer_in_the_envelope(api) -> None:
    response = api.get("/api/v1/chat.nothingHere")
    assert response.status_code == 404 and response.json() == {"success": False, "error": "Resource not found"}
    response = api.get(MUTE)
    assert response.status_code == 405 and response.json()["success"] is False
    assert "POST" in response.headers["allow"]


def test_concurrent_ignores_keep_set_semantics(api, seed) -> None:
    fx = seed["fixtures"]
    users = [fx["member_user"], fx["member2_user"], fx["moderator_user"], fx["target_user"]["id"], fx["muted_user"]["id"]]
    base, headers = str(api.base_url), creds(seed, "admin")

    def worker(user: str) -> None:
        with httpx.Client(base_url=base, timeout=10, verify=False) as client:
            for _ in range(5):
                client.get(IGNORE, params={"rid": fx["room"], "userId": user, "ignore": "true"}, headers=headers).raise_for_status()

    threads = [threading.Thread(target=worker, args=(u,)) for u in users for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ignored(api, seed, "admin", fx["room"])) == sorted(users)
