"""The Agora Chat reference server behaves as specs/agora.yaml documents.

Sources: [AG-doc] "Manage chat room mute list" (operations, bodies, 60-user limit, 100 calls/s),
[AG-http] and [AG-auth] (401/404/415/429 codes and messages), [EM-doc] chatroom_member.md 管理禁言
and error.md (per-endpoint error tables, token errors), [EM-sdk] RoomIT (unmute empties the list,
mute-all leaves it alone); vendors.md §4 and §6 points 20–27.
"""

from __future__ import annotations

import time

import httpx

from chatcontract import specs
from tests.servers.conftest import advance_clock, conforms

PLATFORM = "agora"
DAY_MS = 86_400_000
OPS = {  # operationId -> (method, URL suffix after the chat room, JSON body or None)
    "agoraListChatRoomMutes": ("GET", "mute", None),
    "agoraMuteChatRoomMembers": ("POST", "mute", {"usernames": ["member01"], "mute_duration": DAY_MS}),
    "agoraUnmuteChatRoomMembers": ("DELETE", "mute/member01", None),
    "agoraMuteAllChatRoomMembers": ("POST", "ban", None),
    "agoraUnmuteAllChatRoomMembers": ("DELETE", "ban", None),
}


def _token(seed: dict, identity: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {seed['identities'][identity]['credentials']['appToken']}"}


def _room(seed: dict, room: str | None = None, app: str | None = None) -> str:
    fx = seed["fixtures"]
    return f"/{fx['org_name']}/{app or fx['app_name']}/chatrooms/{room or fx['chatroom_id']}"


def _call(api: httpx.Client, seed: dict, op: str, *, headers: dict[str, str] | None = None,
          room: str | None = None, app: str | None = None) -> httpx.Response:
    method, suffix, body = OPS[op]
    return api.request(method, f"{_room(seed, room, app)}/{suffix}", json=body,
                       headers=_token(seed) if headers is None else headers)


def _mute(api: httpx.Client, seed: dict, users: list[str], duration: int, room: str | None = None) -> dict:
    response = api.post(f"{_room(seed, room)}/mute", json={"usernames": users, "mute_duration": duration},
                        headers=_token(seed))
    assert response.status_code == 200, response.text
    return conforms(PLATFORM, "agoraMuteChatRoomMembers", response)


def _listed(api: httpx.Client, seed: dict, room: str | None = None) -> dict[str, int]:
    response = api.get(f"{_room(seed, room)}/mute", headers=_token(seed))
    assert response.status_code == 200, response.text
    return {entry["user"]: entry["expire"] for entry in conforms(PLATFORM, "agoraListChatRoomMutes", response)["data"]}


def _error(op: str, response: httpx.Response, status: int, error: str, description: str | None = None) -> dict:
    body = conforms(PLATFORM, op, response)
    assert response.status_code == status, response.text
    assert body["error"] == error
    assert set(body) >= {"error", "exception", "timestamp", "duration", "error_description"}
    if description is not None:
        assert body["error_description"] == description
    return body


# --- state transitions ---------------------------------------------------------------------------


def test_a_fresh_room_has_an_empty_mute_list(api, seed) -> None:
    body = conforms(PLATFORM, "agoraListChatRoomMutes", api.get(f"{_room(seed)}/mute", headers=_token(seed)))
    assert body["data"] == [] and body["organization"] == "chatcontract" and body["applicationName"] == "moderation"


def test_mute_duration_zero_cancels_the_mute(api, seed) -> None:
    # Easemob's chat-room mute page: "`0` 表示取消禁言" (decision on `mute_duration` 0).
    _mute(api, seed, ["member01", "member02"], DAY_MS)
    body = _mute(api, seed, ["member01", "member03"], 0)
    assert [(e["user"], e["result"]) for e in body["data"]] == [("member01", True), ("member03", True)]
    assert _listed(api, seed) == {"member02": _listed(api, seed)["member02"]}


def test_mute_reports_and_lists_expire_as_now_plus_duration(api, seed) -> None:
    body = _mute(api, seed, ["member01", "member02"], DAY_MS)
    assert [(e["user"], e["result"]) for e in body["data"]] == [("member01", True), ("member02", True)]
    for entry in body["data"]:
        assert 0 <= entry["expire"] - (body["timestamp"] + DAY_MS) <= 1000
    assert _listed(api, seed) == {e["user"]: e["expire"] for e in body["data"]}


def test_timed_mute_ends_when_the_clock_passes_expire(api, seed) -> None:
    _mute(api, seed, ["member03"], 60_000)
    advance_clock(api, 59_000)
    assert "member03" in _listed(api, seed)
    advance_clock(api, 1_000)
    assert _listed(api, seed) == {}
    body = conforms(PLATFORM, "agoraUnmuteChatRoomMembers", api.delete(f"{_room(seed)}/mute/member03", headers=_token(seed)))
    assert body["data"] == [{"result": False, "user": "member03"}]


def test_permanent_mute_reports_minus_one_and_never_ends(api, seed) -> None:
    body = _mute(api, seed, ["member04"], -1)
    assert body["data"] == [{"result": True, "expire": -1, "user": "member04"}]
    advance_clock(api, 10 * 365 * DAY_MS)
    assert _listed(api, seed) == {"member04": -1}


def test_unmute_takes_several_members_off_the_list(api, seed) -> None:
    _mute(api, seed, ["member05", "member06", "member07"], DAY_MS)
    response = api.delete(f"{_room(seed)}/mute/member05%2Cmember06", headers=_token(seed))
    body = conforms(PLATFORM, "agoraUnmuteChatRoomMembers", response)
    assert body["data"] == [{"result": True, "user": "member05"}, {"result": True, "user": "member06"}]
    assert body["uri"].endswith("/mute/member05%2Cmember06")
    assert list(_listed(api, seed)) == ["member07"]


def test_unmuting_someone_not_muted_answers_result_false(api, seed) -> None:
    _mute(api, seed, ["member08"], DAY_MS)
    body = conforms(PLATFORM, "agoraUnmuteChatRoomMembers",
                    api.delete(f"{_room(seed)}/mute/member08%2Cmember09", headers=_token(seed)))
    assert body["data"] == [{"result": True, "user": "member08"}, {"result": False, "user": "member09"}]
    again = conforms(PLATFORM, "agoraUnmuteChatRoomMembers", api.delete(f"{_room(seed)}/mute/member08", headers=_token(seed)))
    assert again["data"] == [{"result": False, "user": "member08"}]


def test_muting_again_replaces_the_expiry(api, seed) -> None:
    _mute(api, seed, ["member10"], DAY_MS)
    second = _mute(api, seed, ["member10"], 60_000)
    assert _listed(api, seed) == {"member10": second["data"][0]["expire"]}
    advance_clock(api, 60_000)
    assert _listed(api, seed) == {}


def test_sixty_members_is_the_most_one_call_may_mute(api, seed) -> None:
    sixty = seed["fixtures"]["members"][:60]
    body = _mute(api, seed, sixty, DAY_MS)
    assert [e["user"] for e in body["data"]] == sixty
    assert sorted(_listed(api, seed)) == sorted(sixty)


def test_mute_all_flips_the_room_flag_and_leaves_the_mute_list_alone(api, seed) -> None:
    _mute(api, seed, ["member11"], -1)
    on = conforms(PLATFORM, "agoraMuteAllChatRoomMembers", api.post(f"{_room(seed)}/ban", headers=_token(seed)))
    assert on["data"] == {"mute": True}
    assert _listed(api, seed) == {"member11": -1}  # not the 75 members
    off = conforms(PLATFORM, "agoraUnmuteAllChatRoomMembers", api.delete(f"{_room(seed)}/ban", headers=_token(seed)))
    assert off["data"] == {"mute": False}
    assert _listed(api, seed) == {"member11": -1}  # unmute-all does not clear the list either


def test_mute_all_on_a_room_nobody_is_muted_in_keeps_the_list_empty(api, seed) -> None:
    conforms(PLATFORM, "agoraMuteAllChatRoomMembers", api.post(f"{_room(seed)}/ban", headers=_token(seed)))
    assert _listed(api, seed) == {}


def test_mutes_belong_to_one_room(api, seed) -> None:
    other = seed["fixtures"]["other_chatroom_id"]
    _mute(api, seed, ["member01"], DAY_MS)
    assert _listed(api, seed, other) == {}
    _mute(api, seed, ["outsider01"], -1, room=other)
    assert list(_listed(api, seed)) == ["member01"]


def test_user_ids_are_case_insensitive_and_repeats_count_once(api, seed) -> None:
    body = _mute(api, seed, ["Member12", "member12"], DAY_MS)
    assert [e["user"] for e in body["data"]] == ["member12"]
    assert list(_listed(api, seed)) == ["member12"]


# --- documented errors ---------------------------------------------------------------------------


# Each error test runs against all five operations (one test per documented error, not per
# operation, so the file stays fast: every test pays for a fresh client and a reset).


def test_no_token_is_unauthorized(api, seed) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        for op in OPS:
            _error(op, _call(api, seed, op, headers=headers), 401, "unauthorized",
                   "Unable to authenticate due to expired access token.")


def test_expired_token_is_unauthorized(api, seed) -> None:
    for op in OPS:
        response = _call(api, seed, op, headers=_token(seed, "expired"))
        _error(op, response, 401, "unauthorized", "Unable to authenticate due to expired access token.")


def test_malformed_token_is_corrupt(api, seed) -> None:
    headers = {"Authorization": f"Bearer {seed['fixtures']['malformed_token']}"}
    for op in OPS:
        body = _error(op, _call(api, seed, op, headers=headers), 401, "auth_bad_access_token",
                      "Unable to authenticate due to corrupt access token")
        assert body["exception"] == "org.apache.usergrid.rest.exceptions.SecurityException"


def test_token_this_server_never_issued_is_refused(api, seed) -> None:
    headers = {"Authorization": f"Bearer {seed['fixtures']['foreign_token']}"}
    for op in OPS:
        _error(op, _call(api, seed, op, headers=headers), 401, "auth_bad_access_token", "Unable to authenticate.")


def test_token_of_another_app_is_unauthorized(api, seed) -> None:
    for op in OPS:
        response = _call(api, seed, op, headers=_token(seed, "other_app"))
        _error(op, response, 401, "unauthorized", "Unable to authenticate (OAuth)")
    assert _listed(api, seed) == {}


def test_another_apps_token_works_on_its_own_app_only(api, seed) -> None:
    sandbox = seed["fixtures"]["other_app_name"]
    response = _call(api, seed, "agoraListChatRoomMutes", headers=_token(seed, "other_app"), app=sandbox)
    _error("agoraListChatRoomMutes", response, 404, "resource_not_found")  # authenticated; sandbox has no rooms
    response = _call(api, seed, "agoraListChatRoomMutes", app=sandbox)  # the moderation token on sandbox
    _error("agoraListChatRoomMutes", response, 401, "unauthorized")


def test_unknown_chat_room_is_not_found(api, seed) -> None:
    unknown = seed["fixtures"]["unknown_chatroom"]
    for op in OPS:
        _error(op, _call(api, seed, op, room=unknown), 404, "resource_not_found", f"grpID {unknown} does not exist!")


def test_bad_url_is_an_illegal_argument(api, seed) -> None:
    for op in OPS:
        for room in ("12657%FF10621211", "1265710621211%00"):  # undecodable escape, control character
            _error(op, _call(api, seed, op, room=room), 400, "illegal_argument", "This is an invalid request.")


def test_muting_a_non_member_is_forbidden_and_mutes_nobody(api, seed) -> None:
    fx = seed["fixtures"]
    response = api.post(f"{_room(seed)}/mute", headers=_token(seed),
                        json={"usernames": ["member13", fx["non_member"], fx["unknown_user"]], "mute_duration": DAY_MS})
    body = _error("agoraMuteChatRoomMembers", response, 400, "forbidden_op")
    assert body["error_description"] == f"users [{fx['non_member']}, {fx['unknown_user']}] are not members of this group!"
    assert _listed(api, seed) == {}


def test_sixty_one_usernames_are_too_many(api, seed) -> None:
    response = api.post(f"{_room(seed)}/mute", headers=_token(seed),
                        json={"usernames": seed["fixtures"]["members"][:61], "mute_duration": DAY_MS})
    _error("agoraMuteChatRoomMembers", response, 400, "invalid_parameter", "userNames size is more than max limit : 60")
    assert _listed(api, seed) == {}


def test_unmuting_sixty_one_members_is_too_many(api, seed) -> None:
    members = seed["fixtures"]["members"]
    _mute(api, seed, members[:2], DAY_MS)
    response = api.delete(f"{_room(seed)}/mute/{'%2C'.join(members[:61])}", headers=_token(seed))
    _error("agoraUnmuteChatRoomMembers", response, 400, "invalid_parameter", "removeMute member size more than max limit :  60")
    assert sorted(_listed(api, seed)) == members[:2]


def test_malformed_json_is_a_parse_error(api, seed) -> None:
    response = api.post(f"{_room(seed)}/mute", content=b'{"usernames": ["member01"],', headers={
        **_token(seed), "Content-Type": "application/json"})
    _error("agoraMuteChatRoomMembers", response, 400, "json_parse", "Unexpected character.")


INVALID_MUTE_BODIES = [
    b"", b"null", b"[]", b'"usernames"', b"{}",
    b'{"usernames": ["member01"]}',                                  # mute_duration missing (§6 point 27)
    b'{"mute_duration": -1}',                                        # usernames missing
    b'{"usernames": [], "mute_duration": -1}',                       # nobody to mute
    b'{"usernames": "member01", "mute_duration": -1}',               # a string, not an array
    b'{"usernames": ["member01"], "mute_duration": "86400000"}',     # a string, not a number
    b'{"usernames": ["member01"], "mute_duration": 1.5}',
    b'{"usernames": ["member01"], "mute_duration": true}',
    b'{"usernames": ["member01"], "mute_duration": -2}',             # below -1
    b'{"usernames": ["member01"], "mute_duration": 9223372036854775808}',  # above a Java long
    b'{"usernames": ["member 01"], "mute_duration": -1}',            # not a user ID
    b'{"usernames": ["m\\u00fcnchen"], "mute_duration": -1}',
    b'{"usernames": [17], "mute_duration": -1}',
    ("{\"usernames\": [\"" + "x" * 65 + "\"], \"mute_duration\": -1}").encode(),
]


def test_invalid_mute_body_is_an_illegal_argument(api, seed) -> None:
    for raw in INVALID_MUTE_BODIES:
        response = api.post(f"{_room(seed)}/mute", content=raw, headers={**_token(seed), "Content-Type": "application/json"})
        assert response.status_code == 400, raw
        _error("agoraMuteChatRoomMembers", response, 400, "illegal_argument", "This is an invalid request.")
    assert _listed(api, seed) == {}


def test_invalid_member_list_is_an_illegal_argument(api, seed) -> None:
    for member in ("member01%2C%2Cmember02", "member01%2C", "bad%20id", "%F0%9F%92%A5", "x" * 65):
        response = api.delete(f"{_room(seed)}/mute/{member}", headers=_token(seed))
        assert response.status_code == 400, member
        _error("agoraUnmuteChatRoomMembers", response, 400, "illegal_argument")


def test_mute_without_json_content_type_is_unsupported(api, seed) -> None:
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = _token(seed) | ({"Content-Type": content_type} if content_type else {})
        response = api.post(f"{_room(seed)}/mute", content=b'{"usernames": ["member01"], "mute_duration": -1}',
                            headers=headers)
        assert response.status_code == 415, content_type
        _error("agoraMuteChatRoomMembers", response, 415, "web_application", "Unsupported Media Type.")
    assert _listed(api, seed) == {}


def test_mute_all_with_a_non_json_content_type_is_unsupported(api, seed) -> None:
    for op in ("agoraMuteAllChatRoomMembers", "agoraUnmuteAllChatRoomMembers"):
        method, suffix, _ = OPS[op]
        response = api.request(method, f"{_room(seed)}/{suffix}", content=b"mute=1",
                               headers=_token(seed) | {"Content-Type": "text/plain"})
        _error(op, response, 415, "web_application", "Unsupported Media Type.")


def test_mute_all_accepts_a_json_content_type_with_no_body(api, seed) -> None:
    response = api.post(f"{_room(seed)}/ban", headers=_token(seed) | {"Content-Type": "application/json"})
    assert conforms(PLATFORM, "agoraMuteAllChatRoomMembers", response)["data"] == {"mute": True}


def test_more_than_100_calls_a_second_reach_the_limit(api, seed) -> None:
    url, headers = f"{_room(seed)}/mute", _token(seed)
    started = time.monotonic()
    statuses = [api.get(url, headers=headers).status_code for _ in range(100)]
    over = api.get(url, headers=headers)
    elapsed = time.monotonic() - started
    assert statuses == [200] * 100
    if elapsed >= 1.0:
        # A machine this slow spreads the calls over more than the one-second window, so the
        # rolling limit may rightly let the 101st through.
        assert over.status_code in (200, 429)
        return
    _error("agoraListChatRoomMutes", over, 429, "reach_limit", "This request has reached api limit.")
    _mute(api, seed, ["member14"], DAY_MS)  # the limit is per operation: muting still works
    # Listing works again once the second has passed.
    advance_clock(api, 1_000)
    assert list(_listed(api, seed)) == ["member14"]


# --- routing and robustness ----------------------------------------------------------------------


def _error_schema_errors(body: dict) -> list:
    validator = specs.validator_at(specs.schemas_dir() / "agora" / "error.schema.json")
    return list(validator.iter_errors(body))


def test_wrong_method_is_405_with_allow_and_the_error_envelope(api, seed) -> None:
    response = api.put(f"{_room(seed)}/ban", headers=_token(seed))
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"POST", "DELETE"}
    assert response.json()["error"] == "unsupported_service_operation" and not _error_schema_errors(response.json())


def test_unknown_path_is_404_in_the_error_envelope(api, seed) -> None:
    response = api.get(f"{_room(seed)}/nothing-here", headers=_token(seed))
    assert response.status_code == 404 and response.json()["error"] == "service_resource_not_found"
    assert not _error_schema_errors(response.json())


def test_odd_chat_room_ids_are_unknown_rooms_not_crashes(api, seed) -> None:
    for room in ("%F0%9F%92%A5%E2%80%AE", "9" * 4000, "1265710621211%20", "..%2E", "-1", "1e3"):
        for op in OPS:
            _error(op, _call(api, seed, op, room=room), 404, "resource_not_found")
