"""The vendor's own Python SDK, sendbird-platform-sdk 2.1.5, works against the reference server.

The SDK's generated models check every response strictly (no null `next` or `users`, integer
timestamps, real booleans, a JSON object from unblock), so these calls prove our bodies
deserialize as a real client needs. Sources: clients.md §1 (how the SDK calls the API: lowercase
`api-token` header, `%2C` in comma lists, a body-less POST, errors as ApiException with the raw
body), vendors.md §5; [SB-list], [SB-block], [SB-unblock], [SB-err].
"""

from __future__ import annotations

import json
from typing import Iterator

import pytest
import sendbird_platform_sdk as sb
from sendbird_platform_sdk.api.moderation_api import ModerationApi
from sendbird_platform_sdk.exceptions import ApiException, ServiceException
from sendbird_platform_sdk.model.block_a_user_request import BlockAUserRequest

from tests.servers.conftest import live_server

PLATFORM = "sendbird"


@pytest.fixture
def moderation(api) -> Iterator[ModerationApi]:
    """The SDK's Moderation API pointed at the live server (`api` resets its state first)."""
    config = sb.Configuration(host=live_server(PLATFORM).base_url)
    config.retries = 0
    with sb.ApiClient(config) as client:
        yield ModerationApi(client)


@pytest.fixture
def token(seed) -> str:
    return seed["identities"]["master"]["credentials"]["apiToken"]


def _ids(response) -> list[str]:
    return [user.user_id for user in response.users]


def test_block_list_page_and_unblock_through_the_sdk(moderation, seed, token) -> None:
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:12]

    blocked = moderation.block_a_user(blocker, api_token=token, block_a_user_request=BlockAUserRequest(user_ids=targets))
    assert _ids(blocked) == targets
    assert isinstance(blocked.users[0].is_online, bool) and isinstance(blocked.users[0].last_seen_at, int)

    # Page through with the `next` token until it is empty.
    pages, next_token = [], None
    while next_token != "":
        page = moderation.list_blocked_users(blocker, api_token=token, limit=5, **({"token": next_token} if next_token else {}))
        pages.append(_ids(page))
        next_token = page.next
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [u for p in pages for u in p] == sorted(targets)

    # The other side sees it too.
    assert _ids(moderation.list_blocked_users(targets[0], api_token=token, list="blocking_me")) == [blocker]

    for target in targets:
        assert moderation.unblock_a_user(blocker, target, api_token=token) == {}
    emptied = moderation.list_blocked_users(blocker, api_token=token)
    assert emptied.users == [] and emptied.next == ""
    assert _ids(moderation.list_blocked_users(targets[0], api_token=token, list="blocking_me")) == []


def test_block_one_user_with_a_plain_dict_and_a_default_header(seed, api) -> None:
    """`target_id` as a dict, the token set once as a default `Api-Token` header."""
    blocker, target = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][0]
    token = seed["identities"]["secondary"]["credentials"]["apiToken"]
    config = sb.Configuration(host=live_server(PLATFORM).base_url)
    with sb.ApiClient(config, header_name="Api-Token", header_value=token) as client:
        moderation = ModerationApi(client)
        [user] = moderation.block_a_user(blocker, block_a_user_request={"target_id": target}).users
        [seeded] = [u for u in seed["users"] if u["user_id"] == target]
        assert user.to_dict() == seeded
        assert _ids(moderation.list_blocked_users(blocker)) == [target]


def test_filters_through_the_sdk(moderation, seed, token) -> None:
    """The SDK sends the comma lists as `bob%2Ccarol` (clients.md §1)."""
    blocker, targets = seed["fixtures"]["blocker"], seed["fixtures"]["targets"][:6]
    moderation.block_a_user(blocker, api_token=token, block_a_user_request=BlockAUserRequest(user_ids=targets))
    assert _ids(moderation.list_blocked_users(blocker, api_token=token, user_ids=f"{targets[0]},{targets[3]}")) == sorted(
        [targets[0], targets[3]])
    teams = {u["user_id"]: u["metadata"].get("team") for u in seed["users"]}
    red = moderation.list_blocked_users(blocker, api_token=token, metadatakey="team", metadatavalues_in="red")
    assert _ids(red) == sorted(t for t in targets if teams[t] == "red") != []


def test_unusual_user_id_through_the_sdk(moderation, seed, token) -> None:
    """The SDK percent-encodes every path character (clients.md §1)."""
    odd, target = seed["fixtures"]["unusual_user"], seed["fixtures"]["targets"][1]
    moderation.block_a_user(odd, api_token=token, block_a_user_request=BlockAUserRequest(target_id=target))
    assert _ids(moderation.list_blocked_users(odd, api_token=token)) == [target]
    assert _ids(moderation.list_blocked_users(target, api_token=token, list="blocking_me")) == [odd]
    assert moderation.unblock_a_user(odd, target, api_token=token) == {}


def _error(exc: pytest.ExceptionInfo) -> dict:
    return json.loads(exc.value.body)


@pytest.mark.parametrize("call", ["list", "block", "unblock"])
def test_unknown_user_raises_the_sdk_exception_with_our_status(moderation, seed, token, call: str) -> None:
    unknown = seed["fixtures"]["unknown_user"]
    with pytest.raises(ApiException) as exc:
        {
            "list": lambda: moderation.list_blocked_users(unknown, api_token=token),
            "block": lambda: moderation.block_a_user(unknown, api_token=token, block_a_user_request={"target_id": "bob"}),
            "unblock": lambda: moderation.unblock_a_user("alice", unknown, api_token=token),
        }[call]()
    assert exc.value.status == 400
    assert _error(exc) == {"message": '"User" not found.', "code": 400201, "error": True}


def test_missing_token_raises_400401(moderation) -> None:
    with pytest.raises(ApiException) as exc:
        moderation.list_blocked_users("judy")  # the SDK sends no token header when none is given
    assert exc.value.status == 400 and _error(exc)["code"] == 400401


def test_block_without_a_request_object_raises_400105(moderation, token) -> None:
    """The SDK then POSTs `Content-Type: application/json` with an empty body (clients.md §1)."""
    with pytest.raises(ApiException) as exc:
        moderation.block_a_user("alice", api_token=token)
    assert exc.value.status == 400 and _error(exc)["code"] == 400105


def test_limit_out_of_range_raises_400113(moderation, token) -> None:
    """The SDK does not check the bounds itself: `limit=0` reaches the server."""
    with pytest.raises(ApiException) as exc:
        moderation.list_blocked_users("judy", api_token=token, limit=0)
    assert exc.value.status == 400 and _error(exc)["code"] == 400113


def test_rate_limit_raises_the_sdk_service_exception(moderation, seed) -> None:
    fx = seed["fixtures"]
    token = seed["identities"][fx["rate_limited_identity"]]["credentials"]["apiToken"]
    for _ in range(fx["rate_limit"]["per_method"]["GET"]):
        moderation.list_blocked_users("judy", api_token=token)
    with pytest.raises(ServiceException) as exc:
        moderation.list_blocked_users("judy", api_token=token)
    assert exc.value.status == 500 and _error(exc)["code"] == 500910
