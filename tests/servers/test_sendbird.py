"""The Sendbird reference server behaves as specs/sendbird.yaml documents.

Sources: [SB-list] (seed 004: parameters, paging, `"User" not found.`), [SB-block], [SB-unblock],
[SB-prep] (`Api-Token`), [SB-err] (the `{message, code, error}` envelope, 400/500 only, the code
list); vendors.md §5 and §6.28-32; clients.md §1 (what the Python SDK sends: `token=`, `%2C`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from chatcontract import specs
from chatcontract.servers.sendbird import errors
from chatcontract.servers.sendbird.state import Code
from tests.servers.conftest import advance_clock, conforms

PLATFORM = "sendbird"
LIST, BLOCK, UNBLOCK = "sendbirdListBlockedUsers", "sendbirdBlockUser", "sendbirdUnblockUser"


def _token(seed: dict, identity: str = "master") -> dict[str, str]:
    return {"Api-Token": seed["identities"][identity]["credentials"]["apiToken"]}


def _path(user_id: str, target_id: str | None = None) -> str:
    path = f"/v3/users/{quote(user_id, safe='')}/block"
    return path if target_id is None else f"{path}/{quote(target_id, safe='')}"


def _list(api: httpx.Client, seed: dict, user_id: str, **params: Any) -> dict:
    response = api.get(_path(user_id), params=params, headers=_token(seed))
    assert response.status_code == 200, response.text
    return conforms(PLATFORM, LIST, response)


def _ids(body: dict) -> list[str]:
    return [u["user_id"] for u in body["users"]]


def _all_pages(api: httpx.Client, seed: dict, user_id: str, **params: Any) -> list[list[str]]:
    pages, token = [], None
    while True:
        body = _list(api, seed, user_id, **params, **({"token": token} if token else {}))
        pages.append(_ids(body))
        token = body["next"]
        if token == "":
            return pages
        assert len(pages) < 50, "paging does not end"


def _block(api: httpx.Client, seed: dict, user_id: str, body: Any) -> dict:
    response = api.post(_path(user_id), json=body, headers=_token(seed))
    assert response.status_code == 200, response.text
    return conforms(PLATFORM, BLOCK, response)


def _error(op: str, response: httpx.Response, code: int, status: int = 400) -> dict:
    body = conforms(PLATFORM, op, response)
    assert (response.status_code, body["code"], body["error"]) == (status, code, True), response.text
    return body


# -- state: block, list from both sides, unblock --------------------------------------------------


def test_seeded_relations_are_visible_from_both_sides(api, seed) -> None:
    assert seed["fixtures"]["seeded_blocks"] == [["ivan", "judy"], ["mallory", "judy"], ["judy", "ivan"]]
    assert _ids(_list(api, seed, "judy", list="blocking_me")) == ["ivan", "mallory"]
    assert _ids(_list(api, seed, "judy", list="blocked_by_me")) == ["ivan"]
    assert _ids(_list(api, seed, "judy")) == ["ivan"]  # default list=blocked_by_me
    assert _ids(_list(api, seed, "ivan")) == ["judy"]
    assert _list(api, seed, "mallory", list="blocking_me") == {"users": [], "next": ""}


def test_block_one_user_shows_on_both_sides_with_full_user_objects(api, seed) -> None:
    blocker, target = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][0]
    body = _block(api, seed, blocker, {"target_id": target})
    [seeded] = [u for u in seed["users"] if u["user_id"] == target]
    assert body == {"users": [seeded]}
    assert _list(api, seed, blocker) == {"users": [seeded], "next": ""}
    assert _ids(_list(api, seed, target, list="blocking_me")) == [blocker]
    assert _ids(_list(api, seed, target)) == []  # the target blocks nobody


@pytest.mark.parametrize("field", ["user_ids", "users"])
def test_block_many_at_once(api, seed, field: str) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:3]
    body = _block(api, seed, blocker, {field: targets})
    assert _ids(body) == targets
    assert _ids(_list(api, seed, blocker)) == sorted(targets)
    for target in targets:
        assert _ids(_list(api, seed, target, list="blocking_me")) == [blocker]


def test_several_blockers_of_one_target(api, seed) -> None:
    target = seed["fixtures"]["targets"][5]
    blockers = [seed["fixtures"]["blocker"], *seed["fixtures"]["other_blockers"]]
    for blocker in blockers:
        _block(api, seed, blocker, {"target_id": target})
    assert _ids(_list(api, seed, target, list="blocking_me")) == sorted(blockers)


def test_blocking_again_is_idempotent_and_repeats_are_listed_once(api, seed) -> None:
    blocker, target = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][1]
    _block(api, seed, blocker, {"target_id": target})
    assert _ids(_block(api, seed, blocker, {"user_ids": [target, target]})) == [target]
    assert _ids(_list(api, seed, blocker)) == [target]


def test_unblock_returns_an_empty_object_and_clears_both_sides(api, seed) -> None:
    blocker, target = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][2]
    _block(api, seed, blocker, {"target_id": target})
    response = api.delete(_path(blocker, target), headers=_token(seed))
    assert response.status_code == 200 and conforms(PLATFORM, UNBLOCK, response) == {}
    assert _ids(_list(api, seed, blocker)) == []
    assert _ids(_list(api, seed, target, list="blocking_me")) == []


def test_unblock_removes_only_that_relation(api, seed) -> None:
    response = api.delete(_path("mallory", "judy"), headers=_token(seed))
    assert conforms(PLATFORM, UNBLOCK, response) == {}
    assert _ids(_list(api, seed, "judy", list="blocking_me")) == ["ivan"]
    assert _ids(_list(api, seed, "judy")) == ["ivan"]


def test_unblocking_someone_not_blocked_succeeds_and_changes_nothing(api, seed) -> None:
    blocker, target = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][3]
    for _ in range(2):
        response = api.delete(_path(blocker, target), headers=_token(seed))
        assert response.status_code == 200 and conforms(PLATFORM, UNBLOCK, response) == {}
    assert _ids(_list(api, seed, blocker)) == []


@pytest.mark.parametrize("identity", ["master", "secondary"])
def test_master_and_secondary_tokens_may_call_every_operation(api, seed, identity: str) -> None:
    assert seed["fixtures"]["valid_identities"] == ["master", "secondary"]
    blocker, target = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][4]
    headers = _token(seed, identity)
    assert conforms(PLATFORM, BLOCK, api.post(_path(blocker), json={"target_id": target}, headers=headers))["users"]
    assert _ids(conforms(PLATFORM, LIST, api.get(_path(blocker), headers=headers))) == [target]
    assert conforms(PLATFORM, UNBLOCK, api.delete(_path(blocker, target), headers=headers)) == {}


def test_token_header_name_is_case_insensitive(api, seed) -> None:
    """The Python SDK sends `api-token` (clients.md §1)."""
    response = api.get(_path("judy"), headers={"api-token": _token(seed)["Api-Token"]})
    assert response.status_code == 200 and _ids(conforms(PLATFORM, LIST, response)) == ["ivan"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf8", "text/plain"])
def test_block_accepts_the_documented_content_types(api, seed, content_type: str) -> None:
    blocker, target = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][6]
    response = api.post(_path(blocker), content=f'{{"target_id": "{target}"}}'.encode(),
                        headers={**_token(seed), "content-type": content_type})
    assert response.status_code == 200 and _ids(conforms(PLATFORM, BLOCK, response)) == [target]


# -- paging -----------------------------------------------------------------------------------------


def test_pages_cover_the_list_once_and_end_with_an_empty_next(api, seed) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:25]
    _block(api, seed, blocker, {"user_ids": targets})
    pages = _all_pages(api, seed, blocker, limit=10)
    assert [len(p) for p in pages] == [10, 10, 5]
    flat = [u for page in pages for u in page]
    assert flat == sorted(targets)  # in user-ID order, no duplicates, nothing missing


def test_default_page_size_is_ten(api, seed) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:12]
    _block(api, seed, blocker, {"user_ids": targets})
    first = _list(api, seed, blocker)
    assert len(first["users"]) == 10 and first["next"] != ""
    assert len(_list(api, seed, blocker, token=first["next"])["users"]) == 2


def test_a_full_last_page_has_an_empty_next(api, seed) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:20]
    _block(api, seed, blocker, {"user_ids": targets})
    assert [len(p) for p in _all_pages(api, seed, blocker, limit=10)] == [10, 10]


def test_page_tokens_are_opaque_and_stable(api, seed) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:6]
    _block(api, seed, blocker, {"user_ids": targets})
    first, again = _list(api, seed, blocker, limit=3), _list(api, seed, blocker, limit=3)
    assert first["next"] == again["next"] != ""
    assert not any(t in first["next"] for t in targets + [blocker])
    # the same token may be used twice and gives the same page
    assert _list(api, seed, blocker, limit=3, token=first["next"]) == _list(api, seed, blocker, limit=3, token=first["next"])


def test_blocking_me_pages_too(api, seed) -> None:
    target = seed["fixtures"]["targets"][7]
    blockers = [seed["fixtures"]["blocker"], *seed["fixtures"]["other_blockers"]]
    for blocker in blockers:
        _block(api, seed, blocker, {"target_id": target})
    pages = _all_pages(api, seed, target, list="blocking_me", limit=3)
    assert pages == [sorted(blockers)[:3], sorted(blockers)[3:]]


def test_pages_stay_consistent_while_the_list_changes(api, seed) -> None:
    blocker, targets = seed["fixtures"]["blocker"], sorted(seed["fixtures"]["targets"][:15])
    _block(api, seed, blocker, {"user_ids": targets})
    first = _list(api, seed, blocker, limit=5)
    seen = _ids(first)
    # Between pages: unblock and re-block a user already seen, unblock one not yet seen.
    api.delete(_path(blocker, seen[0]), headers=_token(seed)).raise_for_status()
    _block(api, seed, blocker, {"target_id": seen[0]})
    api.delete(_path(blocker, targets[12]), headers=_token(seed)).raise_for_status()
    token = first["next"]
    while token:
        body = _list(api, seed, blocker, limit=5, token=token)
        seen += _ids(body)
        token = body["next"]
    assert len(seen) == len(set(seen))  # nobody twice
    assert set(targets) - {targets[12]} <= set(seen)  # nobody who stayed blocked is skipped
    assert targets[12] not in seen


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_accepted(api, seed, limit: int) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:3]
    _block(api, seed, blocker, {"user_ids": targets})
    assert len(_list(api, seed, blocker, limit=limit)["users"]) == min(limit, 3)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "100000000000000000000"])
def test_limit_out_of_range_is_400113(api, seed, limit: str) -> None:
    _error(LIST, api.get(_path("judy"), params={"limit": limit}, headers=_token(seed)), 400113)


@pytest.mark.parametrize("limit", ["ten", "1.5", "", " 5"])
def test_limit_not_an_integer_is_400101(api, seed, limit: str) -> None:
    _error(LIST, api.get(_path("judy"), params={"limit": limit}, headers=_token(seed)), 400101)


def test_invalid_list_value_is_400111(api, seed) -> None:
    _error(LIST, api.get(_path("judy"), params={"list": "blocked"}, headers=_token(seed)), 400111)


def test_token_never_handed_out_is_400111(api, seed) -> None:
    _error(LIST, api.get(_path("judy"), params={"token": "BFRTAQBTQlWeEUBXWFNeF1E2FEdFRF~~"}, headers=_token(seed)), 400111)


@pytest.mark.parametrize("other", [{"user": "bob"}, {"list": "blocking_me"}])
def test_token_of_another_list_is_400111(api, seed, other: dict) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:3]
    _block(api, seed, blocker, {"user_ids": targets})
    token = _list(api, seed, blocker, limit=1)["next"]
    response = api.get(_path(other.get("user", blocker)), headers=_token(seed),
                       params={"token": token, "list": other.get("list", "blocked_by_me")})
    _error(LIST, response, 400111)


def test_expired_token_is_400109(api, seed) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:3]
    _block(api, seed, blocker, {"user_ids": targets})
    token = _list(api, seed, blocker, limit=1)["next"]
    ttl = seed["fixtures"]["page_token_ttl_ms"]
    advance_clock(api, ttl - 5_000)
    assert _ids(_list(api, seed, blocker, limit=1, token=token)) == [sorted(targets)[1]]  # still valid
    advance_clock(api, 5_001)
    _error(LIST, api.get(_path(blocker), params={"limit": 1, "token": token}, headers=_token(seed)), 400109)


def test_empty_token_and_filters_count_as_not_given(api, seed) -> None:
    """The SDK sends `token=` and `user_ids=` for empty strings (clients.md §1)."""
    assert _ids(_list(api, seed, "judy", list="blocking_me", token="", user_ids="")) == ["ivan", "mallory"]


# -- filters ----------------------------------------------------------------------------------------


def test_user_ids_filter_narrows_the_list(api, seed) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:6]
    _block(api, seed, blocker, {"user_ids": targets})
    assert _ids(_list(api, seed, blocker, user_ids=f"{targets[4]},{targets[1]},nobody")) == sorted([targets[1], targets[4]])
    assert _ids(_list(api, seed, "judy", list="blocking_me", user_ids="mallory")) == ["mallory"]


def test_user_ids_filter_takes_url_encoded_ids(api, seed) -> None:
    fx = seed["fixtures"]
    _block(api, seed, fx["blocker"], {"user_ids": [fx["comma_user"], fx["unusual_user"], fx["targets"][0]]})
    wanted = ",".join(quote(u, safe="") for u in (fx["comma_user"], fx["unusual_user"]))
    assert set(_ids(_list(api, seed, fx["blocker"], user_ids=wanted))) == {fx["comma_user"], fx["unusual_user"]}


def test_metadata_filter_narrows_the_list(api, seed) -> None:
    fx = seed["fixtures"]
    _block(api, seed, fx["blocker"], {"user_ids": fx["targets"]})
    team = {u["user_id"]: (u.get("metadata") or {}).get(fx["metadata_key"]) for u in seed["users"]}
    body = _list(api, seed, fx["blocker"], limit=100, metadatakey=fx["metadata_key"], metadatavalues_in="red,green")
    assert _ids(body) == sorted(t for t in fx["targets"] if team[t] in ("red", "green"))
    assert 0 < len(body["users"]) < len(fx["targets"])
    both = _list(api, seed, fx["blocker"], metadatakey="team", metadatavalues_in="blue", user_ids="bob,carol")
    assert _ids(both) == ["bob"]  # bob is blue, carol is green


def test_metadata_filter_matches_users_in_the_docs_example_form(api, seed) -> None:
    """`metadatakey=font_color&metadatavalues_in=black` as in [SB-list]'s example query."""
    _block(api, seed, "alice", {"user_ids": ["frank", "bob", "chen"]})
    assert _ids(_list(api, seed, "alice", metadatakey="font_color", metadatavalues_in="black")) == ["chen", "frank"]


@pytest.mark.parametrize("params", [{"metadatakey": "team"}, {"metadatavalues_in": "red"}])
def test_metadata_key_and_values_must_come_together(api, seed, params: dict) -> None:
    _error(LIST, api.get(_path("judy"), params=params, headers=_token(seed)), 400105)


# -- errors -----------------------------------------------------------------------------------------


def _unknown(seed: dict) -> str:
    return seed["fixtures"]["unknown_user"]


@pytest.mark.parametrize("call", ["list", "block", "unblock", "block-target", "unblock-target", "block-one-of-many"])
def test_unknown_user_is_400201_user_not_found(api, seed, call: str) -> None:
    fx, h = seed["fixtures"], _token(seed)
    response, op = {
        "list": lambda: (api.get(_path(_unknown(seed)), headers=h), LIST),
        "block": lambda: (api.post(_path(_unknown(seed)), json={"target_id": "bob"}, headers=h), BLOCK),
        "unblock": lambda: (api.delete(_path(_unknown(seed), "bob"), headers=h), UNBLOCK),
        "block-target": lambda: (api.post(_path(fx["blocker"]), json={"target_id": _unknown(seed)}, headers=h), BLOCK),
        "unblock-target": lambda: (api.delete(_path(fx["blocker"], _unknown(seed)), headers=h), UNBLOCK),
        "block-one-of-many": lambda: (api.post(_path(fx["blocker"]), json={"user_ids": ["bob", _unknown(seed)]}, headers=h), BLOCK),
    }[call]()
    assert _error(op, response, 400201)["message"] == '"User" not found.'
    assert _ids(_list(api, seed, fx["blocker"])) == []  # a failed block blocks nobody


def _each_operation(api: httpx.Client, headers: dict[str, str]) -> list[tuple[httpx.Response, str]]:
    return [
        (api.get(_path("judy"), headers=headers), LIST),
        (api.post(_path("alice"), json={"target_id": "bob"}, headers=headers), BLOCK),
        (api.delete(_path("ivan", "judy"), headers=headers), UNBLOCK),
    ]


def test_missing_api_token_is_400401(api, seed) -> None:
    for response, op in _each_operation(api, {}):
        assert _error(op, response, 400401)["message"] == "Not valid Api-Token. Api-Token is missing."


@pytest.mark.parametrize("token", ["", "not-a-token", "D3C0FFEE5A1B2C3D4E5F60718293A4B5C6D7E8F9"])
def test_wrong_api_token_is_400401(api, seed, token: str) -> None:
    for response, op in _each_operation(api, {"Api-Token": token}):
        _error(op, response, 400401)
    assert _ids(_list(api, seed, "judy", list="blocking_me")) == ["ivan", "mallory"]  # nothing changed


def test_unavailable_application_is_403100_with_http_400(api, seed) -> None:
    identity = seed["fixtures"]["unavailable_app_identity"]
    for response, op in _each_operation(api, _token(seed, identity)):
        _error(op, response, 403100)
    assert _ids(_list(api, seed, "alice")) == []


def test_rate_limit_is_per_endpoint_10_get_5_post_with_500910_and_its_headers(api, seed) -> None:
    # The rate-limits page: per endpoint and per application, free trial GET 10/sec, POST 5/sec.
    fx = seed["fixtures"]
    headers, limit = _token(seed, fx["rate_limited_identity"]), fx["rate_limit"]
    assert limit["per_method"] == {"GET": 10, "POST": 5, "PUT": 5, "DELETE": 5}
    for _ in range(limit["per_method"]["GET"]):
        assert conforms(PLATFORM, LIST, api.get(_path("judy"), headers=headers))["users"]
    throttled = api.get(_path("judy"), headers=headers)
    _error(LIST, throttled, 500910, status=500)
    assert throttled.headers["X-RateLimit-Limit"] == "10;w=1" and throttled.headers["X-RateLimit-Remaining"] == "0"
    assert int(throttled.headers["X-RateLimit-RetryAfter"]) >= 1 and throttled.headers["Retry-After"]
    # Another endpoint has its own count: five refused blocks (unknown user) count, the sixth is throttled.
    for _ in range(limit["per_method"]["POST"]):
        _error(BLOCK, api.post(_path("alice"), json={"target_id": fx["unknown_user"]}, headers=headers), 400201)
    limited = api.post(_path("alice"), json={"target_id": "bob"}, headers=headers)
    _error(BLOCK, limited, 500910, status=500)
    assert limited.headers["X-RateLimit-Limit"] == "5;w=1"
    assert _ids(_list(api, seed, "alice")) == []  # other tokens are not limited; nothing was blocked
    advance_clock(api, limit["window_ms"])
    assert conforms(PLATFORM, LIST, api.get(_path("judy"), headers=headers))["users"]


@pytest.mark.parametrize("raw, code", [
    (b'{"target_id": "bob"', 400403),
    (b"\xff\xfe{}", 400403),
    (b"null", 400403),
    (b'["bob"]', 400403),
    (b'"bob"', 400403),
    (b"", 400105),
    (b"{}", 400105),
    (b'{"user_id": "bob"}', 400105),
    (b'{"user_ids": []}', 400105),
    (b'{"target_id": 7}', 400100),
    (b'{"target_id": null}', 400100),
    (b'{"target_id": ["bob"]}', 400100),
    (b'{"user_ids": "bob"}', 400102),
    (b'{"users": {"bob": 1}}', 400102),
    (b'{"user_ids": ["bob", 7]}', 400100),
    (b'{"target_id": ""}', 400151),
    (b'{"target_id": " \\t "}', 400151),
    (b'{"user_ids": ["bob", ""]}', 400151),
    (b'{"target_id": "bob", "user_ids": [""]}', 400151),
])
def test_bad_block_bodies_are_refused_with_their_code(api, seed, raw: bytes, code: int) -> None:
    response = api.post(_path("alice"), content=raw, headers={**_token(seed), "content-type": "application/json"})
    _error(BLOCK, response, code)
    assert _ids(_list(api, seed, "alice")) == []


def test_a_combined_block_body_blocks_the_union(api, seed) -> None:
    # No source says what several of target_id / user_ids / users at once do (the spec's
    # decision leaves it open): the reference server blocks them all, never an invented 400111.
    body = _block(api, seed, "alice", {"target_id": "bob", "user_ids": ["carol", "bob"], "users": ["dave"]})
    assert _ids(body) == ["bob", "carol", "dave"]
    assert _ids(_list(api, seed, "alice")) == ["bob", "carol", "dave"]


def test_too_many_user_ids_is_400203(api, seed) -> None:
    most = seed["fixtures"]["max_block_user_ids"]
    assert _ids(_block(api, seed, "alice", {"user_ids": ["bob"] * most})) == ["bob"]  # the maximum is fine
    response = api.post(_path("alice"), json={"user_ids": ["carol"] * (most + 1)}, headers=_token(seed))
    _error(BLOCK, response, 400203)
    assert _ids(_list(api, seed, "alice")) == ["bob"]


def test_blocking_oneself_is_refused(api, seed) -> None:
    blocker = seed["fixtures"]["blocker"]
    _error(BLOCK, api.post(_path(blocker), json={"user_ids": ["bob", blocker]}, headers=_token(seed)), 400111)
    assert _ids(_list(api, seed, blocker)) == []


# -- odd ids, odd requests --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["unusual_user", "comma_user"])
def test_ids_with_special_characters_work_in_the_path(api, seed, fixture: str) -> None:
    odd, blocker, target = seed["fixtures"][fixture], seed["fixtures"]["blocker"], seed["fixtures"]["targets"][8]
    assert _ids(_block(api, seed, odd, {"target_id": target})) == [target]
    assert _ids(_list(api, seed, odd)) == [target]
    assert _ids(_block(api, seed, blocker, {"target_id": odd})) == [odd]
    assert _ids(_list(api, seed, odd, list="blocking_me")) == [blocker]
    assert conforms(PLATFORM, UNBLOCK, api.delete(_path(blocker, odd), headers=_token(seed))) == {}
    assert _ids(_list(api, seed, odd, list="blocking_me")) == []


def test_unusual_id_also_works_unencoded_where_http_allows(api, seed) -> None:
    """`'`, `+`, `@` and `.` are legal in a path segment as they are; only `ë` must be encoded."""
    odd = seed["fixtures"]["unusual_user"]
    _block(api, seed, odd, {"target_id": "bob"})
    raw = "/v3/users/" + quote(odd, safe="'+@.") + "/block"
    assert "+" in raw and "@" in raw
    response = api.get(raw, headers=_token(seed))
    assert _ids(conforms(PLATFORM, LIST, response)) == ["bob"]


@pytest.mark.parametrize("user_id", ["x" * 5000, "\u202e\u0000evil", "%FF%FE", " ", "🙂" * 50, "a..b"])
def test_odd_unknown_ids_are_user_not_found_never_a_crash(api, seed, user_id: str) -> None:
    response = api.get(f"/v3/users/{quote(user_id, safe='%')}/block", headers=_token(seed))
    _error(LIST, response, 400201)


def test_unknown_url_is_400404_in_the_envelope(api, seed) -> None:
    for path in ("/v3/users/alice", "/v3/users/alice/block/bob/extra", "/v3/users//block", "/nothing"):
        response = api.get(path, headers=_token(seed))
        assert response.status_code == 400 and response.json() == {**response.json(), "code": 400404, "error": True}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "TRACE", "DELETE"])
def test_wrong_method_is_405_with_allow_in_the_envelope(api, seed, method: str) -> None:
    response = api.request(method, _path("alice"), headers=_token(seed))
    assert response.status_code == 405 and response.json() == {**response.json(), "code": 400404, "error": True}
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    response = api.get(_path("alice", "bob"), headers=_token(seed))
    assert response.status_code == 405 and "DELETE" in response.headers["allow"]


def test_crash_body_is_the_documented_500901() -> None:
    """No request makes the server crash; its crash answer must still match the spec."""
    err = errors.http_error(500)
    response = httpx.Response(err.status, json=err.body)
    for op in (LIST, BLOCK, UNBLOCK):
        assert conforms(PLATFORM, op, response)["code"] == 500901


def test_every_documented_error_example_is_produced(api, seed) -> None:
    """Each named error example of the spec is matched by a code this server sends for it."""
    produced = {
        "userNotFound": 400201, "targetNotFound": 400201, "apiTokenMissing": 400401, "apiTokenInvalid": 400401,
        "invalidListValue": 400111, "limitOutOfRange": 400113, "limitNotANumber": 400101,
        "expiredPageToken": 400109, "applicationNotAvailable": 403100, "internalError": 500901,
        "rateLimited": 500910, "missingTarget": 400105, "targetIdNotAString": 400100,
        "userIdsNotAList": 400102, "blankTargetId": 400151, "invalidJsonBody": 400403, "tooManyUserIds": 400203,
    }  # each code here is asserted over HTTP by a test above
    for op in specs.operations(PLATFORM):
        for status, response in op.responses.items():
            for name, example in response["content"]["application/json"].get("examples", {}).items():
                if specs.is_error_status(status):
                    assert produced[name] == example["value"]["code"], (op.operation_id, name)
                    assert errors.error(Code(produced[name])).status == int(status)


def test_concurrent_blocks_and_unblocks_leave_a_consistent_state(api, seed) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"]
    base, headers = str(api.base_url).rstrip("/"), _token(seed)

    def churn(target: str) -> int:
        with httpx.Client(base_url=base, headers=headers, timeout=10, verify=False) as client:
            statuses = [client.post(_path(blocker), json={"target_id": target}).status_code]
            statuses.append(client.delete(_path(blocker, target)).status_code)
            statuses.append(client.post(_path(blocker), json={"user_ids": [target]}).status_code)
            return max(statuses)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(churn, targets)) == {200}
    assert [u for page in _all_pages(api, seed, blocker, limit=7) for u in page] == sorted(targets)
