"""The real `rocketchat-api` 3.7.1 client against the Rocket.Chat reference server.

Sources: clients.md §2 (how `rocketchat_API` is pointed at a server without logging in, what it
puts on the wire: `ignore=True`/`False` from `str(bool)`, an unencoded query string; how it raises:
`RocketApiException` for a JSON body with `success: false`, `RocketBadStatusCodeException` for
anything else); vendors.md §1.4 step 4 and §6.2 (the server reads `ignore` with the case-sensitive
`/true|1/`, so the client's default `ignore=True` is an un-ignore).
"""

from __future__ import annotations

from typing import Callable, Iterator

import httpx
import pytest
import requests
from rocketchat_API.APIExceptions.RocketExceptions import RocketApiException
from rocketchat_API.rocketchat import RocketChat

from chatcontract.servers.core.seed import load_seed
from tests.servers.conftest import live_server

PLATFORM = "rocketchat"


@pytest.fixture(scope="module")
def seed() -> dict:
    return load_seed(PLATFORM)


@pytest.fixture(scope="module")
def _session() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # no HTTP(S)_PROXY detour for loopback (clients.md §2)
    yield session
    session.close()


@pytest.fixture
def client(seed: dict, _session: requests.Session) -> Callable[..., RocketChat]:
    """A factory of SDK clients for a seed identity; the server's state is reset first."""
    base_url = live_server(PLATFORM).base_url
    httpx.post(f"{base_url}/_chatcontract/reset", timeout=10).raise_for_status()

    def make(identity: str, token: str | None = None) -> RocketChat:
        c = seed["identities"][identity]["credentials"]
        # With both user_id and auth_token the client sets the two headers and sends nothing yet.
        return RocketChat(user_id=c["userId"], auth_token=token or c["authToken"], server_url=base_url,
                          session=_session)

    return make


def _ignored(rc: RocketChat, rid: str) -> list[str] | None:
    return rc.subscriptions_get_one(rid)["subscription"].get("ignored")


def test_sdk_default_ignore_true_is_read_as_an_unignore(client, seed) -> None:
    fx = seed["fixtures"]
    rc = client("member")
    target = fx["target_user"]["id"]
    assert rc.chat_ignore_user(fx["room"], target, ignore="true") == {"success": True}
    assert _ignored(rc, fx["room"]) == [target]
    # The documented default: the client sends `ignore=True`; `/true|1/` does not match "True".
    assert rc.chat_ignore_user(fx["room"], target) == {"success": True}
    assert _ignored(rc, fx["room"]) == []


def test_sdk_default_never_ignores_anyone(client, seed) -> None:
    fx = seed["fixtures"]
    rc = client("member")
    assert rc.chat_ignore_user(fx["room"], fx["member2_user"]) == {"success": True}
    assert _ignored(rc, fx["room"]) is None  # an un-ignore of someone never ignored changes nothing


@pytest.mark.parametrize("flag", ["true", "1"])
def test_lowercase_string_flag_ignores(client, seed, flag: str) -> None:
    fx = seed["fixtures"]
    rc = client("member2")
    assert rc.chat_ignore_user(fx["room"], fx["member_user"], ignore=flag) == {"success": True}
    assert _ignored(rc, fx["room"]) == [fx["member_user"]]
    assert rc.chat_ignore_user(fx["room"], fx["member_user"], ignore=False) == {"success": True}  # sends "False"
    assert _ignored(rc, fx["room"]) == []


def test_invalid_subscription_surfaces_as_rocket_api_exception(client, seed) -> None:
    fx = seed["fixtures"]
    with pytest.raises(RocketApiException) as raised:
        client("member").chat_ignore_user(fx["unknown_room"], fx["member2_user"], ignore="true")
    exc = raised.value
    assert exc.status_code == 400 and exc.error_type == "error-invalid-subscription"
    assert exc.error == "Invalid subscription [error-invalid-subscription]"
    assert exc.response_json["details"] == {"method": "ignoreUser"}


def test_unencoded_query_value_becomes_an_extra_parameter(client, seed) -> None:
    """The client joins `key=str(value)` unencoded, so `&` in a value adds a parameter, which the
    server's validator rejects (additionalProperties false)."""
    fx = seed["fixtures"]
    with pytest.raises(RocketApiException) as raised:
        client("member").chat_ignore_user(f"{fx['room']}&x=1", fx["member2_user"], ignore="true")
    assert raised.value.error_type == "invalid-params"
    assert raised.value.error == "must NOT have additional properties [invalid-params]"


def test_bad_token_is_401_with_the_failure_envelope(client, seed) -> None:
    # Current servers add `success: false` to the 401 body, so the client raises RocketApiException
    # (the older `{status, message}` body would give RocketBadStatusCodeException instead).
    with pytest.raises(RocketApiException) as raised:
        client("member", token="not-the-token").subscriptions_get_one(seed["fixtures"]["room"])
    exc = raised.value
    assert exc.status_code == 401 and exc.error_type is None
    assert exc.error == "You must be logged in to do this." and exc.response_json["status"] == "error"


def test_mute_permission_error_and_success_through_the_client(client, seed) -> None:
    fx = seed["fixtures"]
    body = {"roomId": fx["room"], "userId": fx["target_user"]["id"]}
    with pytest.raises(RocketApiException) as raised:
        client("member").call_api_post("rooms.muteUser", **body)
    assert raised.value.status_code == 400 and raised.value.error_type == "error-not-allowed"
    assert raised.value.response_json["details"] == {"method": "muteUserInRoom"}
    assert client("admin").call_api_post("rooms.muteUser", **body) == {"success": True}
