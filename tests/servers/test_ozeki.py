"""The Ozeki Chat reference server behaves as specs/ozeki.yaml documents.

Sources: [OZ-mute] (= shared/seeds/002), [OZ-unmute], [OZ-list] (operations, envelope, the
conversation object, `OK` with a non-empty `errormessage`), [OZ-report] (user id = MD5 of the
e-mail), [OZ-login]; vendors.md §3 and §6 points 16-19. Errors are undocumented (point 16): the
spec infers the `{status != OK, errormessage}` envelope under `4XX`; this server's codes are
401 (auth), 404 (no such conversation of the caller) and 400 (every other request fault).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.servers.conftest import conforms

PLATFORM = "ozeki"
OP = "ozekiConversation"
URL = "/index.php?srv=chatserver&api=chatconversation"
STAMP = "2024-03-11 07:39:08"


def _headers(seed: dict, identity: str) -> dict[str, str]:
    creds = seed["identities"][identity]["credentials"]
    return {"Ozeki-Signature": creds["ozekiSignature"], "Ozeki-Station": creds["ozekiStation"],
            "Ozeki-User": creds["ozekiUser"]}


def _call(api: httpx.Client, seed: dict, identity: str, action: str, conversation: str | None = None,
          url: str = URL) -> httpx.Response:
    body: dict = {"action": action, "clientversioncode": 3, "timestamp": STAMP}
    if conversation is not None:
        body["conversationid"] = conversation
    # ASCII-escaped JSON, so a lone surrogate in an id travels as `\ud800`, as a JS client sends it.
    return api.post(url, content=json.dumps(body).encode(),
                    headers={**_headers(seed, identity), "content-type": "application/json"})


def _ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    body = conforms(PLATFORM, OP, response)
    assert body["status"] == "OK"
    return body


def _fails(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = conforms(PLATFORM, OP, response)
    assert body["status"] != "OK" and body["errormessage"]
    return body


def _own(conversation: dict, user: str) -> dict:
    """The caller's `properties` entry, found by `userid` (spec decision for point 18)."""
    [entry] = [p for p in conversation["properties"] if p["userid"] == user]
    return entry


def _listed(api: httpx.Client, seed: dict, identity: str) -> dict[str, dict]:
    body = _ok(_call(api, seed, identity, "list"))
    return {c["id"]: c for c in body["conversations"]}


def _user(seed: dict, identity: str) -> str:
    return seed["fixtures"]["user_ids"][identity]


# --- seed and read-back ---------------------------------------------------------------------

def test_seed_user_ids_are_the_md5_of_the_email(seed) -> None:
    for user in seed["users"]:
        assert user["userid"] == hashlib.md5(user["email"].encode()).hexdigest()
    for name, ident in seed["identities"].items():
        assert ident["credentials"]["ozekiUser"] == ident["user"] == seed["fixtures"]["user_ids"][name]


@pytest.mark.parametrize("identity", ["participant", "other_participant", "outsider"])
def test_list_returns_exactly_the_callers_conversations(api, seed, identity: str) -> None:
    body = _ok(_call(api, seed, identity, "list"))
    assert [c["id"] for c in body["conversations"]] == seed["fixtures"]["conversations_of"][identity]
    me = _user(seed, identity)
    for conversation in body["conversations"]:
        assert me in conversation["participantids"]
        assert [p["userid"] for p in conversation["properties"]] == [me]  # the caller's own view
        assert _own(conversation, me)["ismuted"] == (me in conversation["mutedby"])


def test_list_answers_ok_with_the_documented_non_empty_errormessage(api, seed) -> None:
    body = _ok(_call(api, seed, "participant", "list"))
    assert body["errormessage"] == seed["list_errormessage"] == "File does not exist"


def test_seeded_mute_is_visible_only_in_the_muting_users_flag(api, seed) -> None:
    muted = seed["fixtures"]["muted_conversation"]
    other = _listed(api, seed, "other_participant")[muted]
    mine = _listed(api, seed, "participant")[muted]
    assert other["mutedby"] == mine["mutedby"] == [_user(seed, "other_participant")]
    assert _own(other, _user(seed, "other_participant"))["ismuted"] is True
    assert _own(mine, _user(seed, "participant"))["ismuted"] is False
    assert _own(mine, _user(seed, "participant"))["isfavorite"] is True


# --- mute / unmute state transitions ----------------------------------------------------------

def test_mute_adds_the_caller_to_mutedby_and_sets_ismuted(api, seed) -> None:
    conv, me = seed["fixtures"]["conversation"], _user(seed, "participant")
    body = _ok(_call(api, seed, "participant", "mute", conv))
    assert body["errormessage"] == ""
    assert body["conversation"]["id"] == conv
    assert body["conversation"]["mutedby"] == [me]
    assert _own(body["conversation"], me)["ismuted"] is True
    listed = _listed(api, seed, "participant")[conv]
    assert listed["mutedby"] == [me] and _own(listed, me)["ismuted"] is True


def test_unmute_reverses_the_mute(api, seed) -> None:
    conv, me = seed["fixtures"]["conversation"], _user(seed, "participant")
    _ok(_call(api, seed, "participant", "mute", conv))
    body = _ok(_call(api, seed, "participant", "unmute", conv))
    assert body["conversation"]["mutedby"] == [] and _own(body["conversation"], me)["ismuted"] is False
    listed = _listed(api, seed, "participant")[conv]
    assert listed["mutedby"] == [] and _own(listed, me)["ismuted"] is False


def test_unmute_of_a_seeded_mute(api, seed) -> None:
    muted, other = seed["fixtures"]["muted_conversation"], _user(seed, "other_participant")
    body = _ok(_call(api, seed, "other_participant", "unmute", muted))
    assert body["conversation"]["mutedby"] == [] and _own(body["conversation"], other)["ismuted"] is False


def test_one_callers_mute_does_not_touch_another_callers_flag(api, seed) -> None:
    conv = seed["fixtures"]["conversation"]
    me, other = _user(seed, "participant"), _user(seed, "other_participant")
    _ok(_call(api, seed, "participant", "mute", conv))
    seen_by_other = _listed(api, seed, "other_participant")[conv]
    assert seen_by_other["mutedby"] == [me] and _own(seen_by_other, other)["ismuted"] is False
    both = _ok(_call(api, seed, "other_participant", "mute", conv))["conversation"]
    assert both["mutedby"] == [me, other]
    _ok(_call(api, seed, "participant", "unmute", conv))
    mine = _listed(api, seed, "participant")[conv]
    assert mine["mutedby"] == [other] and _own(mine, me)["ismuted"] is False
    assert _own(_listed(api, seed, "other_participant")[conv], other)["ismuted"] is True


def test_repeated_mute_and_unmute_of_an_unmuted_conversation_change_nothing(api, seed) -> None:
    conv, me = seed["fixtures"]["conversation"], _user(seed, "participant")
    for _ in range(2):
        assert _ok(_call(api, seed, "participant", "mute", conv))["conversation"]["mutedby"] == [me]
    for _ in range(2):
        assert _ok(_call(api, seed, "participant", "unmute", conv))["conversation"]["mutedby"] == []


def test_mute_leaves_the_other_conversation_fields_alone(api, seed) -> None:
    conv = seed["fixtures"]["conversation"]
    before = _listed(api, seed, "participant")[conv]
    after = _ok(_call(api, seed, "participant", "mute", conv))["conversation"]
    for key in ("isgroup", "participantids", "participants", "lastaccess", "secret", "instance", "favoriteby"):
        assert after[key] == before[key], key
    assert after["displayname"] != before["displayname"]  # "encrypted" afresh on every response [OZ-mute]/[OZ-unmute]


def test_concurrent_mutes_keep_mutedby_consistent(api, seed) -> None:
    conv = seed["fixtures"]["conversation"]
    callers = ["participant", "other_participant"] * 10
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda who: _call(api, seed, who, "mute", conv).status_code, callers))
    assert codes == [200] * len(callers)
    assert sorted(_listed(api, seed, "participant")[conv]["mutedby"]) == sorted(
        [_user(seed, "participant"), _user(seed, "other_participant")])


# --- not found: unknown conversation, caller not a participant --------------------------------

@pytest.mark.parametrize("action", ["mute", "unmute"])
@pytest.mark.parametrize("fixture", ["unknown_conversation", "foreign_conversation"])
def test_conversation_not_of_the_caller_is_not_found(api, seed, action: str, fixture: str) -> None:
    body = _fails(_call(api, seed, "participant", action, seed["fixtures"][fixture]), 404)
    assert body == {"status": "ERROR", "errormessage": "Conversation not found"}


def test_outsider_cannot_mute_the_participants_conversation(api, seed) -> None:
    conv = seed["fixtures"]["conversation"]
    _fails(_call(api, seed, "outsider", "mute", conv), 404)
    assert _listed(api, seed, "participant")[conv]["mutedby"] == []


def test_other_participant_cannot_reach_a_conversation_without_them(api, seed) -> None:
    _fails(_call(api, seed, "other_participant", "mute", seed["fixtures"]["participant_only_conversation"]), 404)


def test_odd_conversation_ids_are_not_found_not_a_crash(api, seed) -> None:
    for conversation in ["", " ", "8CA16186C36A4E0A1EF2096E6C60B613", "x" * 100_000, "\ud800", "żółć/../\u202e",
                         "8ca16186c36a4e0a1ef2096e6c60b613\x00"]:
        _fails(_call(api, seed, "participant", "mute", conversation), 404)


# --- auth -------------------------------------------------------------------------------------

def test_no_ozeki_headers_is_unauthenticated(api) -> None:
    response = api.post(URL, json={"action": "list", "clientversioncode": 3, "timestamp": STAMP})
    assert _fails(response, 401) == {"status": "ERROR", "errormessage": "Missing authentication headers"}


@pytest.mark.parametrize("header", ["Ozeki-Signature", "Ozeki-Station", "Ozeki-User"])
def test_any_one_missing_header_is_unauthenticated(api, seed, header: str) -> None:
    headers = {k: v for k, v in _headers(seed, "participant").items() if k != header}
    response = api.post(URL, json={"action": "list", "clientversioncode": 3, "timestamp": STAMP}, headers=headers)
    assert _fails(response, 401)["errormessage"] == "Missing authentication headers"


@pytest.mark.parametrize("header, value", [("Ozeki-Signature", "forged"),
                                           ("Ozeki-Station", "801c91e6466a1ab34945d73ae4f762c7"),
                                           ("Ozeki-User", "d574638619cbff603bf857164c47e850")])  # another user's id
def test_a_wrong_header_is_an_invalid_signature(api, seed, header: str, value: str) -> None:
    headers = {**_headers(seed, "participant"), header: value}
    response = api.post(URL, json={"action": "mute", "conversationid": seed["fixtures"]["conversation"],
                                   "clientversioncode": 3, "timestamp": STAMP}, headers=headers)
    assert _fails(response, 401) == {"status": "ERROR", "errormessage": "Invalid signature"}
    assert _listed(api, seed, "other_participant")[seed["fixtures"]["conversation"]]["mutedby"] == []


# --- request faults ---------------------------------------------------------------------------

def test_missing_or_wrong_srv_and_api_are_rejected(api, seed) -> None:
    for query, message in [("/index.php", "Missing srv"), ("/index.php?srv=chatserver", "Missing api"),
                           ("/index.php?api=chatconversation", "Missing srv"),
                           ("/index.php?srv=chatserver&api=chatlogin", "Invalid api"),
                           ("/index.php?srv=x&api=chatconversation", "Invalid srv")]:
        assert _fails(_call(api, seed, "participant", "list", url=query), 400)["errormessage"] == message, query


@pytest.mark.parametrize("action", ["mute", "unmute", "list"])
def test_missing_body_field_is_rejected(api, seed, action: str) -> None:
    conv = seed["fixtures"]["muted_conversation"]  # muted by other_participant: an unmute would show
    full = {"action": action, "conversationid": conv, "clientversioncode": 3, "timestamp": STAMP}
    fields = ["clientversioncode", "timestamp"] + ([] if action == "list" else ["conversationid"])
    for field in fields:
        payload = {k: v for k, v in full.items() if k != field}
        body = _fails(api.post(URL, json=payload, headers=_headers(seed, "other_participant")), 400)
        assert body["errormessage"] == f"Missing {field}"
    assert _listed(api, seed, "other_participant")[conv]["mutedby"] == [_user(seed, "other_participant")]


def test_missing_action_is_rejected(api, seed) -> None:
    response = api.post(URL, json={"clientversioncode": 3, "timestamp": STAMP}, headers=_headers(seed, "participant"))
    assert _fails(response, 400)["errormessage"] == "Missing action"


def test_unknown_action_is_rejected(api, seed) -> None:
    for action in ["hide", "favorite", "MUTE", "", 5, None, ["mute"], {"a": 1}]:
        payload = {"action": action, "conversationid": seed["fixtures"]["conversation"], "clientversioncode": 3,
                   "timestamp": STAMP}
        body = _fails(api.post(URL, json=payload, headers=_headers(seed, "participant")), 400)
        assert body["errormessage"] == "Unknown action", action


@pytest.mark.parametrize("field, values", [("clientversioncode", ["3", True, 3.5, None]),
                                           ("timestamp", ["2024/03/11 07:39:08", "now", 1710142205,
                                                          "2024-03-11 7:39:08"]),
                                           ("conversationid", [123, None, ["x"], {}])])
def test_invalid_body_field_is_rejected(api, seed, field: str, values: list) -> None:
    for value in values:
        payload = {"action": "mute", "conversationid": seed["fixtures"]["conversation"], "clientversioncode": 3,
                   "timestamp": STAMP, field: value}
        body = _fails(api.post(URL, json=payload, headers=_headers(seed, "participant")), 400)
        assert body["errormessage"] == f"Invalid {field}", value
    assert _listed(api, seed, "participant")[seed["fixtures"]["conversation"]]["mutedby"] == []


def test_unparseable_body_is_rejected_not_a_crash(api, seed) -> None:
    headers = {**_headers(seed, "participant"), "content-type": "application/json"}
    for raw in [b'{"action": "list",', b"not json", b"\xff\xfe", b"[" * 50_000,
                b'{"action": "list", "clientversioncode": ' + b"9" * 5000 + b"}"]:
        assert _fails(api.post(URL, content=raw, headers=headers), 400)["errormessage"] == "Invalid JSON", raw[:40]


def test_body_that_is_not_an_object_is_rejected(api, seed) -> None:
    headers = {**_headers(seed, "participant"), "content-type": "application/json"}
    for raw, message in [(b"", "Missing request body"), (b"  ", "Missing request body"), (b"null", "Invalid request"),
                         (b"[]", "Invalid request"), (b'"list"', "Invalid request"), (b"3", "Invalid request")]:
        assert _fails(api.post(URL, content=raw, headers=headers), 400)["errormessage"] == message, raw


def test_extra_body_members_are_tolerated(api, seed) -> None:
    response = api.post(URL, json={"action": "list", "clientversioncode": 3, "timestamp": STAMP, "extra": 1},
                        headers=_headers(seed, "participant"))
    _ok(response)


# --- routing ----------------------------------------------------------------------------------

def test_wrong_method_answers_in_the_envelope_with_allow(api) -> None:
    response = api.get(URL)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json() == {"status": "ERROR", "errormessage": "Method not allowed"}


def test_unknown_path_answers_in_the_envelope(api) -> None:
    response = api.post("/ozeki/nothing.php")
    assert response.status_code == 404 and response.json()["status"] == "ERROR"
