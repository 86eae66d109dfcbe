"""The plug.dj reference server behaves as specs/plugdj.yaml documents.

Sources: [PD-docs] api/endpoints/mutes.md (operations, envelope, errors), constants.md (roles,
durations), [plugged] test/test.js (403 "This user cannot be muted"); vendors.md §2.
"""

from __future__ import annotations

import httpx
import pytest

from tests.servers.conftest import advance_clock, conforms

PLATFORM = "plugdj"


def _as(api: httpx.Client, seed: dict, identity: str) -> httpx.Client:
    api.cookies.set("session", seed["identities"][identity]["credentials"]["session"])
    return api


def _mutes(api: httpx.Client) -> list[dict]:
    return conforms(PLATFORM, "plugdjListMutes", api.get("/_/mutes"))["data"]


def test_empty_room_lists_no_mutes(api, seed) -> None:
    assert _mutes(_as(api, seed, "moderator")) == []


@pytest.mark.parametrize("duration, seconds", [("s", 900), ("m", 1800), ("l", 2700)])
def test_mute_appears_with_its_duration(api, seed, duration: str, seconds: int) -> None:
    mod = _as(api, seed, "moderator")
    target = seed["fixtures"]["mutable_users"][0]
    body = conforms(PLATFORM, "plugdjMuteUser", mod.post("/_/mutes", json={"userID": target, "reason": 2, "duration": duration}))
    assert body["status"] == "ok" and body["data"] == []
    [entry] = _mutes(mod)
    assert entry["id"] == target and entry["reason"] == 2 and entry["moderator"] == "BouncerBob"
    assert seconds - 2 <= entry["expires"] <= seconds


def test_expires_counts_down_and_the_mute_ends(api, seed) -> None:
    mod = _as(api, seed, "moderator")
    target = seed["fixtures"]["mutable_users"][1]
    mod.post("/_/mutes", json={"userID": target, "reason": 1, "duration": "s"}).raise_for_status()
    advance_clock(mod, 600_000)
    [entry] = _mutes(mod)
    assert 298 <= entry["expires"] <= 300
    advance_clock(mod, 300_000)
    assert _mutes(mod) == []


def test_unmute_removes_the_mute_and_repeats_harmlessly(api, seed) -> None:
    mod = _as(api, seed, "moderator")
    target = seed["fixtures"]["mutable_users"][2]
    mod.post("/_/mutes", json={"userID": target, "reason": 5, "duration": "l"}).raise_for_status()
    for _ in range(2):
        body = conforms(PLATFORM, "plugdjUnmuteUser", mod.delete(f"/_/mutes/{target}"))
        assert body["status"] == "ok"
    assert _mutes(mod) == []


def test_no_session_is_not_authorized(api) -> None:
    response = api.get("/_/mutes")
    body = conforms(PLATFORM, "plugdjListMutes", response)
    assert response.status_code == 401 and body["status"] == "notAuthorized"


def test_unknown_session_is_not_authorized(api) -> None:
    api.cookies.set("session", "s.forged|000")
    response = api.post("/_/mutes", json={"userID": 5005, "reason": 1, "duration": "s"})
    assert conforms(PLATFORM, "plugdjMuteUser", response)["status"] == "notAuthorized"


@pytest.mark.parametrize("call", ["list", "mute", "unmute"])
def test_plain_member_may_not_moderate(api, seed, call: str) -> None:
    member = _as(api, seed, "member")
    response, op = {
        "list": lambda: (member.get("/_/mutes"), "plugdjListMutes"),
        "mute": lambda: (member.post("/_/mutes", json={"userID": 5005, "reason": 1, "duration": "s"}), "plugdjMuteUser"),
        "unmute": lambda: (member.delete("/_/mutes/5005"), "plugdjUnmuteUser"),
    }[call]()
    body = conforms(PLATFORM, op, response)
    assert response.status_code == 403 and body["data"] == ["You are not authorized to access this resource."]


@pytest.mark.parametrize("field", ["userID", "reason"])
def test_missing_required_field_is_a_request_error(api, seed, field: str) -> None:
    mod = _as(api, seed, "moderator")
    payload = {"userID": 5005, "reason": 1, "duration": "s"}
    del payload[field]
    body = conforms(PLATFORM, "plugdjMuteUser", mod.post("/_/mutes", json=payload))
    assert body == {**body, "status": "requestError", "data": [f"{field} is required"]}


@pytest.mark.parametrize("payload", [{"userID": 5005, "reason": 6}, {"userID": 5005, "reason": 1, "duration": "x"},
                                     {"userID": "5005", "reason": 1}])
def test_out_of_enum_values_are_rejected(api, seed, payload: dict) -> None:
    mod = _as(api, seed, "moderator")
    response = mod.post("/_/mutes", json=payload)
    assert response.status_code == 400
    assert conforms(PLATFORM, "plugdjMuteUser", response)["status"] == "requestError"
    assert _mutes(mod) == []


def test_malformed_json_is_a_request_error_not_a_crash(api, seed) -> None:
    mod = _as(api, seed, "moderator")
    response = mod.post("/_/mutes", content=b'{"userID": 5005,', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert conforms(PLATFORM, "plugdjMuteUser", response)["status"] == "requestError"


def test_higher_ranking_user_cannot_be_muted(api, seed) -> None:
    mod = _as(api, seed, "moderator")
    response = mod.post("/_/mutes", json={"userID": seed["fixtures"]["protected_user"], "reason": 1, "duration": "s"})
    assert response.status_code == 403
    assert conforms(PLATFORM, "plugdjMuteUser", response)["data"] == ["This user cannot be muted"]


def test_unknown_path_answers_in_the_envelope(api) -> None:
    response = api.get("/_/nothing-here")
    assert response.status_code == 404 and response.json()["status"] == "notFound"


def test_unknown_user_is_not_found(api, seed) -> None:
    mod = _as(api, seed, "moderator")
    response = mod.post("/_/mutes", json={"userID": seed["fixtures"]["unknown_user"], "reason": 1, "duration": "s"})
    assert response.status_code == 404
    assert conforms(PLATFORM, "plugdjMuteUser", response)["status"] == "notFound"


def test_wrong_method_lists_the_allowed_ones(api) -> None:
    response = api.request("TRACE", "/_/mutes")
    assert response.status_code == 405 and set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.parametrize("raw", [b"null", b"[]", b'"userID"', b""])
def test_body_that_is_not_an_object_is_a_request_error(api, seed, raw: bytes) -> None:
    mod = _as(api, seed, "moderator")
    response = mod.post("/_/mutes", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert conforms(PLATFORM, "plugdjMuteUser", response)["status"] == "requestError"
