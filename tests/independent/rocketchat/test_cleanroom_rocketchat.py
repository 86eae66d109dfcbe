"""Self-tests for the clean-room Rocket.Chat server and its variant catalog.

Starts the server as subprocesses (faithful + every catalog variant) on port 0,
talks to them over HTTP with httpx, and kills every subprocess at the end.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
CATALOG = yaml.safe_load(open(os.path.join(HERE, "catalog.yaml")))["variants"]
SEED = yaml.safe_load(open(os.path.join(HERE, "seed.yaml")))
NAMES = [v["name"] for v in CATALOG]
KIND = {v["name"]: v["kind"] for v in CATALOG}

U = {u["username"]: (u["_id"], u.get("authToken")) for u in SEED["users"]}
ID = {k: v[0] for k, v in U.items()}
GENERAL, ROOM2, ROOM3, PRIV = "GENERAL", "room2Id0000000001", "room3Id0000000001", "privRoomId0000001"
DM_AB = "aliceUserId000001bobUserId00000001"
DM_CD = "carolUserId000001daveUserId0000001"
DM_ADMIN_ALICE = "aliceUserId000001rbAXPnMktTFbNpwtJ"
LOGIN = "You must be logged in to do this."


class Srv:
    def __init__(self, variant: str | None):
        self.variant = variant
        cmd = [sys.executable, SERVER, "--host", "127.0.0.1", "--port", "0"]
        if variant:
            cmd += ["--variant", variant]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.base = None
        self.http = None

    def wait_ready(self):
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening http://127.0.0.1:"), (self.variant, line, self.proc.stderr.read())
        self.base = line.split(" ", 1)[1]
        self.http = httpx.Client(base_url=self.base, timeout=5.0)
        return self

    def stop(self):
        if self.http:
            self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()

    # ---- API helpers
    @staticmethod
    def auth(user):
        uid, tok = U[user]
        return {"X-User-Id": uid, "X-Auth-Token": tok}

    def get(self, path, user="admin", params=None, headers=None):
        h = self.auth(user) if user else {}
        h.update(headers or {})
        return self.http.get("/api/v1/" + path, params=params, headers=h)

    def post(self, path, body, user="admin", headers=None, **kw):
        h = self.auth(user) if user else {}
        h.update(headers or {})
        if isinstance(body, (bytes, str)):
            return self.http.post("/api/v1/" + path, content=body, headers=h, **kw)
        return self.http.post("/api/v1/" + path, json=body, headers=h, **kw)

    def ignore(self, user, rid, target, ignore="true", **extra):
        p = {"rid": rid, "userId": target}
        if ignore is not None:
            p["ignore"] = ignore
        p.update(extra)
        return self.get("chat.ignoreUser", user, p)

    def sub(self, user, rid):
        r = self.get("subscriptions.getOne", user, {"roomId": rid})
        assert r.status_code == 200, r.text
        return r.json()["subscription"]

    def ignored(self, user, rid):
        s = self.sub(user, rid)
        return (s or {}).get("ignored", [])


@pytest.fixture(scope="module")
def servers():
    wanted = ["faithful", "faithful-compare"] + NAMES
    procs = {}
    try:
        for name in wanted:
            procs[name] = Srv(None if name.startswith("faithful") else name)
        with ThreadPoolExecutor(16) as ex:
            list(ex.map(lambda s: s.wait_ready(), procs.values()))
        yield procs
    finally:
        for s in procs.values():
            if s.proc.poll() is None:
                s.proc.send_signal(signal.SIGTERM)
        for s in procs.values():
            s.stop()


@pytest.fixture(scope="module")
def srv(servers):
    return servers["faithful"]


# ====================================================================== faithful server
def test_startup_line_and_sigterm_exit_zero():
    s = Srv(None).wait_ready()
    try:
        assert s.base.rsplit(":", 1)[1].isdigit() and not s.base.endswith(":0")
        assert s.get("subscriptions.getOne", params={"roomId": GENERAL}).status_code == 200
    finally:
        s.http.close()
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(timeout=5) == 0
        s.proc.stdout.close()
        s.proc.stderr.close()


def test_unknown_variant_refused():
    p = subprocess.run([sys.executable, SERVER, "--port", "0", "--variant", "no-such-thing"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0


@pytest.mark.parametrize("headers", [
    {},
    {"X-User-Id": ID["admin"]},
    {"X-Auth-Token": U["admin"][1]},
    {"X-User-Id": ID["admin"], "X-Auth-Token": "wrong"},
    {"X-User-Id": ID["alice"], "X-Auth-Token": U["admin"][1]},
    {"X-User-Id": "", "X-Auth-Token": ""},
    {"X-User-Id": "rocket.cat", "X-Auth-Token": "x"},
])
def test_401_on_bad_auth(srv, headers):
    for r in (srv.get("chat.ignoreUser", None, {"rid": GENERAL, "userId": ID["bob"], "ignore": "true"}, headers),
              srv.get("chat.ignoreUser", None, {}, headers),  # auth before validation
              srv.get("subscriptions.getOne", None, {"roomId": GENERAL}, headers),
              srv.post("rooms.muteUser", {"roomId": GENERAL, "username": "dave"}, None, headers),
              srv.post("im.blockUser", {"roomId": DM_AB, "block": True}, None, headers)):
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/json")
        assert r.json() == {"success": False, "error": LOGIN, "status": "error", "message": LOGIN}


def test_doc_example_credentials_and_success_body(srv):
    r = srv.get("chat.ignoreUser", None, {"rid": GENERAL, "userId": ID["rocket.cat"], "ignore": "true"},
                {"X-User-Id": "rbAXPnMktTFbNpwtJ", "X-Auth-Token": "RScctEHSmLGZGywfIhWyRpyofhKOiMoUIpimhvheU3f"})
    assert r.status_code == 200 and r.json() == {"success": True}


@pytest.mark.parametrize("params,msg", [
    ({"userId": "x", "ignore": "true"}, "must have required property 'rid'"),
    ({"rid": GENERAL, "ignore": "true"}, "must have required property 'userId'"),
    ({"rid": GENERAL, "userId": "x"}, "must have required property 'ignore'"),
    ({}, "must have required property 'rid'"),
    ({"rid": GENERAL, "userId": "x", "ignore": "true", "_": "1"}, "must NOT have additional properties"),
    ({"roomId": GENERAL, "userId": "x", "ignore": "true"}, "must have required property 'rid'"),
    ({"rid": "", "userId": "x", "ignore": "true"}, "must NOT have fewer than 1 characters"),
    ({"rid": GENERAL, "userId": "x", "ignore": ""}, "must NOT have fewer than 1 characters"),
    ({"rid": [GENERAL, GENERAL], "userId": "x", "ignore": "true"}, "must be string"),
])
def test_ignore_invalid_params(srv, params, msg):
    r = srv.get("chat.ignoreUser", "alice", params)
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": f"{msg} [invalid-params]", "errorType": "invalid-params"}


def test_ignore_blank_ids_use_seed_errors(srv):
    r = srv.ignore("alice", " ", ID["bob"])
    assert r.status_code == 400 and r.json() == {
        "success": False, "errorType": "error-room-id-param-not-provided",
        "error": 'The required "rid" param is missing. [error-room-id-param-not-provided]'}
    r = srv.ignore("alice", GENERAL, "\t ")
    assert r.status_code == 400 and r.json() == {
        "success": False, "errorType": "error-user-id-param-not-provided",
        "error": 'The required "userId" param is missing. [error-user-id-param-not-provided]'}


INVALID_SUB = {"success": False, "error": "Invalid subscription [error-invalid-subscription]",
               "errorType": "error-invalid-subscription", "details": {"method": "ignoreUser"}}


@pytest.mark.parametrize("user,rid,target", [
    ("admin", "invalid", "rocket.cat"),          # the peer e2e case
    ("admin", DM_ADMIN_ALICE, "invalid"),         # the peer e2e case
    ("eve", GENERAL, ID["alice"]),                # caller not subscribed
    ("alice", GENERAL, ID["eve"]),                # target exists but not subscribed
    ("mod.mike", PRIV, ID["alice"]),              # private room, caller not member
    ("alice", ROOM3, ID["bob"]),                  # caller not in room3
    ("alice", GENERAL, "alice"),                  # username is not a user id
])
def test_ignore_invalid_subscription(srv, user, rid, target):
    r = srv.ignore(user, rid, target)
    assert r.status_code == 400 and r.json() == INVALID_SUB


def test_ignore_roundtrip_set_semantics_and_isolation(srv):
    a, b = ID["alice"], ID["bob"]
    before_room2 = srv.ignored("alice", ROOM2)
    assert srv.ignore("alice", GENERAL, b).json() == {"success": True}
    assert srv.ignore("alice", GENERAL, b).status_code == 200
    assert srv.ignored("alice", GENERAL).count(b) == 1
    assert srv.ignored("alice", ROOM2) == before_room2           # other room untouched
    assert a not in srv.ignored("bob", GENERAL)                  # other party untouched
    assert srv.ignore("alice", GENERAL, b, "false").json() == {"success": True}
    assert b not in srv.ignored("alice", GENERAL)
    assert srv.ignore("alice", GENERAL, b, "false").status_code == 200  # un-ignore twice: no-op


@pytest.mark.parametrize("value,ignored", [
    ("true", True), ("1", True), ("10", True), ("untrue", True), ("false1", True),
    ("false", False), ("0", False), ("True", False), ("TRUE", False), ("yes", False),
])
def test_ignore_flag_substring_coercion(srv, value, ignored):
    c = ID["carol"]
    srv.ignore("dave", GENERAL, c, "false")
    assert srv.ignore("dave", GENERAL, c, value).status_code == 200
    assert (c in srv.ignored("dave", GENERAL)) is ignored
    srv.ignore("dave", GENERAL, c, "false")


def test_self_ignore_and_preexisting_state(srv):
    assert srv.ignore("carol", PRIV, ID["carol"]).status_code == 200
    assert ID["carol"] in srv.ignored("carol", PRIV)
    assert srv.ignored("bob", GENERAL) == [ID["carol"]]       # seeded
    assert srv.ignored("carol", ROOM2) == [ID["alice"]]       # seeded


def test_subscription_get_one(srv):
    s = srv.sub("alice", GENERAL)
    assert s["rid"] == GENERAL and s["u"]["_id"] == ID["alice"] and s["t"] == "c"
    assert srv.sub("mod.mike", GENERAL)["roles"] == ["moderator"]
    assert srv.sub("eve", GENERAL) is None
    assert srv.sub("alice", "nope") is None
    r = srv.get("subscriptions.getOne", "alice", {})
    assert r.status_code == 400 and r.json()["errorType"] == "invalid-params"
    r = srv.get("subscriptions.getOne", "alice", {"roomId": GENERAL, "x": "1"})
    assert r.status_code == 400 and r.json()["errorType"] == "invalid-params"
    r = srv.get("subscriptions.getOne", "alice", {"roomId": ""})
    assert r.status_code == 400 and r.json() == {"success": False, "error": "The 'roomId' param is required"}


def _method_err(etype, msg, method):
    return {"success": False, "error": f"{msg} [{etype}]", "errorType": etype, "details": {"method": method}}


def test_mute_unmute(srv):
    ok = {"success": True}
    assert srv.post("rooms.muteUser", {"roomId": GENERAL, "username": "alice"}).json() == ok
    assert srv.post("rooms.muteUser", {"roomId": GENERAL, "userId": ID["alice"]}, "mod.mike").json() == ok
    assert srv.post("rooms.unmuteUser", {"roomId": GENERAL, "userId": ID["alice"]}, "mod.mike").json() == ok
    assert srv.post("rooms.unmuteUser", {"roomId": GENERAL, "userId": ID["alice"]}, "mod.mike").json() == ok
    assert srv.post("rooms.muteUser", {"roomId": PRIV, "username": "carol"}, "owner.olga").json() == ok
    for user, body, method in [
        ("alice", {"roomId": GENERAL, "username": "bob"}, "rooms.muteUser"),
        ("bob", {"roomId": GENERAL, "username": "dave"}, "rooms.unmuteUser"),
        ("mod.mike", {"roomId": PRIV, "username": "alice"}, "rooms.muteUser"),
        ("mod.mike", {"roomId": ROOM3, "username": "bob"}, "rooms.muteUser"),
    ]:
        r = srv.post(method, body, user)
        m = "muteUserInRoom" if method == "rooms.muteUser" else "unmuteUserInRoom"
        assert r.status_code == 400 and r.json() == _method_err("error-not-allowed", "Not allowed", m), (user, body)
    r = srv.post("rooms.muteUser", {"roomId": DM_AB, "username": "bob"})
    assert r.status_code == 400 and r.json() == _method_err("error-invalid-room-type", "d is not a valid room type", "muteUserInRoom")
    r = srv.post("rooms.muteUser", {"roomId": "nope", "username": "bob"})
    assert r.status_code == 400 and r.json() == _method_err("error-invalid-room", "Invalid room", "muteUserInRoom")
    r = srv.post("rooms.muteUser", {"roomId": GENERAL, "username": "eve"})
    assert r.status_code == 400 and r.json() == _method_err("error-user-not-in-room", "User is not in this room", "muteUserInRoom")
    r = srv.post("rooms.muteUser", {"roomId": GENERAL, "username": "nobody"})
    assert r.status_code == 400 and r.json()["errorType"] == "error-invalid-user"
    assert "details" not in r.json()


@pytest.mark.parametrize("body", [
    {}, {"roomId": GENERAL}, {"userId": ID["bob"]}, {"roomId": GENERAL, "userId": ID["bob"], "username": "bob"},
    {"roomId": "", "username": "bob"}, {"roomId": GENERAL, "username": {"a": 1}}, [1, 2], b'"str"', b"null", b"42",
    {"roomId": GENERAL, "username": "bob", "extra": 1},
])
def test_mute_invalid_params(srv, body):
    r = srv.post("rooms.muteUser", body)
    assert r.status_code == 400 and r.json()["errorType"] == "invalid-params"
    assert r.json()["error"].endswith("[invalid-params]")


def test_block_unblock(srv):
    assert srv.post("im.blockUser", {"roomId": DM_AB, "block": True}, "alice").json() == {"success": True}
    assert srv.sub("alice", DM_AB).get("blocker") is True and "blocked" not in srv.sub("alice", DM_AB)
    assert srv.sub("bob", DM_AB).get("blocked") is True and "blocker" not in srv.sub("bob", DM_AB)
    assert srv.post("im.blockUser", {"roomId": DM_AB, "block": False}, "alice").json() == {"success": True}
    assert "blocker" not in srv.sub("alice", DM_AB) and "blocked" not in srv.sub("bob", DM_AB)
    assert srv.sub("carol", DM_CD)["blocker"] is True and srv.sub("dave", DM_CD)["blocked"] is True
    for user, rid in [("alice", GENERAL), ("carol", DM_AB), ("alice", "nope")]:
        r = srv.post("im.blockUser", {"roomId": rid, "block": True}, user)
        assert r.status_code == 400 and r.json() == _method_err("error-invalid-room", "Invalid room", "blockUser")
    for body in [{}, {"roomId": DM_AB}, {"block": True}, {"roomId": DM_AB, "block": "maybe"},
                 {"roomId": DM_AB, "block": True, "x": 1}]:
        r = srv.post("im.blockUser", body, "alice")
        assert r.status_code == 400 and r.json()["errorType"] == "invalid-params", body


def test_unknown_routes_and_methods(srv):
    for r in (srv.get("chat.getIgnoredUsers"), srv.post("chat.ignoreUser", {}), srv.get("rooms.muteUser"),
              srv.http.get("/"), srv.get("chat.ignoreUser/")):
        assert r.status_code == 404 and r.json() == {"status": "error", "message": "API endpoint does not exist"}


def test_malformed_input_never_5xx(srv):
    big = "9" * 5000
    probes = [
        srv.post("rooms.muteUser", b"{not json", headers={"Content-Type": "application/json"}),
        srv.post("rooms.muteUser", b"\xff\xfe", headers={"Content-Type": "application/json"}),
        srv.post("rooms.muteUser", ("[" * 5000).encode(), headers={"Content-Type": "application/json"}),
        srv.post("rooms.muteUser", {"roomId": 10 ** 40, "username": 1e308}),
        srv.post("rooms.muteUser", b'{"roomId": 1e999, "username": NaN}', headers={"Content-Type": "application/json"}),
        srv.post("im.blockUser", {"roomId": DM_AB, "block": 2}, "alice"),
        srv.post("im.blockUser", b"roomId=x&block=true", "alice",
                 headers={"Content-Type": "application/x-www-form-urlencoded"}),
        srv.get("chat.ignoreUser", "alice", {"rid": big, "userId": "\u0000\ud7ff\u2603", "ignore": big}),
        srv.http.get("/api/v1/chat.ignoreUser?rid=%ff%fe&userId=%00&ignore=%c3", headers=srv.auth("alice")),
        srv.http.get("/api/v1/subscriptions.getOne?roomId=a&roomId=b", headers=srv.auth("alice")),
        srv.get("subscriptions.getOne", None, {"roomId": GENERAL}, {"X-User-Id": "\u00e9".encode("latin-1") * 3, "X-Auth-Token": "x" * 9000}),
    ]
    for r in probes:
        assert r.status_code < 500, r.text
        assert isinstance(r.json(), dict)


def test_thread_safety_concurrent_ignores(srv):
    targets = [ID[n] for n in ("alice", "bob", "carol", "dave", "rocket.cat", "mod.mike")]
    with ThreadPoolExecutor(12) as ex:
        rs = list(ex.map(lambda t: srv.ignore("admin", GENERAL, t), targets * 4))
    assert all(r.status_code == 200 for r in rs)
    got = srv.ignored("admin", GENERAL)
    assert sorted(got) == sorted(set(got)) and set(targets) <= set(got)


# ====================================================================== variant probes
# Fault probes return an observable value; the test asserts the variant's value
# differs from the faithful server's value for the same probe.

def p_unauth(s):
    r = s.get("chat.ignoreUser", None, {"rid": GENERAL, "userId": ID["bob"], "ignore": "true"})
    return r.status_code, r.json()


FAULT_PROBES = {
    "auth-401-as-403": p_unauth,
    "auth-wrong-token-accepted": lambda s: s.get("subscriptions.getOne", None, {"roomId": GENERAL},
                                                 {"X-User-Id": ID["alice"], "X-Auth-Token": "bogus"}).status_code,
    "auth-token-any-userid": lambda s: s.get("subscriptions.getOne", None, {"roomId": GENERAL},
                                             {"X-User-Id": ID["bob"], "X-Auth-Token": U["alice"][1]}).status_code,
    "auth-missing-accepted": p_unauth,
    "auth-after-validation": lambda s: s.get("chat.ignoreUser", None, {}).status_code,
    "invalid-sub-wrong-errortype": lambda s: s.ignore("eve", GENERAL, ID["alice"]).json(),
    "invalid-sub-no-details": lambda s: s.ignore("alice", "nope", ID["bob"]).json(),
    "invalid-params-no-errortype": lambda s: s.ignore("alice", GENERAL, ID["bob"], None).json(),
    "missing-ignore-500": lambda s: s.get("chat.ignoreUser", None, {"rid": GENERAL, "userId": ID["alice"]},
                                          {"X-User-Id": "rbAXPnMktTFbNpwtJ",
                                           "X-Auth-Token": "RScctEHSmLGZGywfIhWyRpyofhKOiMoUIpimhvheU3f"}).status_code,
    "target-subscription-not-checked": lambda s: s.ignore("alice", GENERAL, ID["eve"]).status_code,
    "ignore-not-applied": lambda s: (s.ignore("alice", GENERAL, ID["dave"]).status_code,
                                     ID["dave"] in s.ignored("alice", GENERAL)),
    "unignore-not-applied": lambda s: (s.ignore("bob", GENERAL, ID["carol"], "false").status_code,
                                       ID["carol"] in s.ignored("bob", GENERAL)),
    "ignore-duplicates": lambda s: ([s.ignore("alice", ROOM2, ID["bob"]).status_code for _ in range(3)],
                                    s.ignored("alice", ROOM2).count(ID["bob"])),
    "ignore-leaks-other-rooms": lambda s: (s.ignore("bob", GENERAL, ID["alice"]).status_code,
                                           ID["alice"] in s.ignored("bob", ROOM2),
                                           ID["alice"] in s.ignored("bob", ROOM3)),
    "ignore-written-to-target": lambda s: (s.ignore("dave", GENERAL, ID["alice"]).status_code,
                                           ID["dave"] in s.ignored("alice", GENERAL),
                                           ID["alice"] in s.ignored("dave", GENERAL)),
    "ignore-flag-by-presence": lambda s: (s.ignore("carol", GENERAL, ID["bob"], "true").status_code,
                                          s.ignore("carol", GENERAL, ID["bob"], "false").status_code,
                                          ID["bob"] in s.ignored("carol", GENERAL)),
    "ignore-missing-default-false": lambda s: (s.ignore("mod.mike", ROOM2, ID["carol"], "true").status_code,
                                               s.ignore("mod.mike", ROOM2, ID["carol"], None).status_code,
                                               ID["carol"] in s.ignored("mod.mike", ROOM2)),
    "success-as-string": lambda s: s.ignore("admin", ROOM3, ID["bob"]).json(),
    "getone-ignores-roomid": lambda s: s.sub("bob", ROOM3)["rid"],
    "mute-no-permission-check": lambda s: s.post("rooms.muteUser", {"roomId": GENERAL, "username": "bob"}, "alice").status_code,
    "mute-dm-accepted": lambda s: s.post("rooms.muteUser", {"roomId": DM_AB, "username": "bob"}).status_code,
    "block-flags-swapped": lambda s: (s.post("im.blockUser", {"roomId": DM_ADMIN_ALICE, "block": True}).status_code,
                                      s.sub("admin", DM_ADMIN_ALICE).get("blocker"),
                                      s.sub("alice", DM_ADMIN_ALICE).get("blocked")),
    "partial-ignore-not-stored": lambda s: (s.ignore("alice", PRIV, ID["carol"]).status_code,
                                            ID["carol"] in s.ignored("alice", PRIV)),
    "partial-getone-missing-ignored": lambda s: (s.ignore("alice", PRIV, ID["owner.olga"]).status_code,
                                                 "ignored" in s.sub("alice", PRIV)),
}


def t_seed_ignore_default(s):
    r = s.ignore("alice", GENERAL, ID["dave"], None)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert ID["dave"] in s.ignored("alice", GENERAL)


def t_seed_missing_param_errors(s):
    r = s.get("chat.ignoreUser", "alice", {"userId": ID["bob"], "ignore": "true"})
    assert r.status_code == 400 and r.json() == {
        "success": False, "errorType": "error-room-id-param-not-provided",
        "error": 'The required "rid" param is missing. [error-room-id-param-not-provided]'}
    r = s.get("chat.ignoreUser", "alice", {"rid": GENERAL, "ignore": "true"})
    assert r.status_code == 400 and r.json()["errorType"] == "error-user-id-param-not-provided"


def t_doc_401(s):
    r = s.get("chat.ignoreUser", None, {"rid": GENERAL, "userId": ID["bob"], "ignore": "true"})
    assert r.status_code == 401 and r.json() == {"status": "error", "message": LOGIN}


def t_breaking_401(s):
    r = s.get("subscriptions.getOne", None, {"roomId": GENERAL})
    assert r.status_code == 401 and r.json() == {"success": False, "error": LOGIN}


def t_strict_boolean(s):
    assert s.ignore("alice", GENERAL, ID["bob"], "True").status_code == 200
    assert ID["bob"] in s.ignored("alice", GENERAL)
    assert s.ignore("alice", GENERAL, ID["bob"], "untrue").status_code == 200
    assert ID["bob"] not in s.ignored("alice", GENERAL)


def t_typed_router(s):
    r = s.ignore("alice", GENERAL, ID["bob"], None)
    assert r.status_code == 400 and r.json() == {
        "success": False, "error": "must have required property 'ignore'", "errorType": "error-invalid-params"}


def t_ajv_additional_first(s):
    r = s.get("chat.ignoreUser", "alice", {"rid": GENERAL, "userId": ID["bob"], "_": "1"})
    assert r.status_code == 400 and r.json()["errorType"] == "invalid-params"
    assert r.json()["error"] == "must NOT have additional properties [invalid-params]"


def t_ignored_always_present(s):
    assert s.sub("alice", GENERAL)["ignored"] == []
    assert s.sub("bob", GENERAL)["ignored"] == [ID["carol"]]


def t_ratelimit_headers(s):
    r = s.ignore("alice", GENERAL, ID["bob"])
    assert r.status_code == 200 and r.json() == {"success": True}
    assert int(r.headers["X-RateLimit-Remaining"]) > 0 and "X-RateLimit-Limit" in r.headers


def t_legacy_seed(s):
    t_seed_ignore_default(s)
    t_seed_missing_param_errors(s)
    t_doc_401(s)
    r = s.get("chat.ignoreUser", "alice", {"rid": GENERAL, "userId": ID["bob"], "ignore": "true", "_": "123"})
    assert r.status_code == 200 and r.json() == {"success": True}
    r = s.ignore("alice", GENERAL, ID["eve"])
    assert r.status_code == 400 and r.json() == INVALID_SUB


def t_partial(s):
    assert s.ignore("alice", GENERAL, ID["bob"]).json() == {"success": True}
    assert ID["bob"] in s.ignored("alice", GENERAL)
    unknown = s.get("no.suchRoute").json()
    for path, body in [("rooms.muteUser", {"roomId": GENERAL, "username": "bob"}),
                       ("rooms.unmuteUser", {"roomId": GENERAL, "username": "dave"}),
                       ("im.blockUser", {"roomId": DM_AB, "block": True})]:
        r = s.post(path, body)
        assert r.status_code == 404 and r.json() == unknown


TOLERATED_CHECKS = {
    "seed-ignore-default": t_seed_ignore_default,
    "seed-missing-param-errors": t_seed_missing_param_errors,
    "doc-401-body": t_doc_401,
    "breaking-401-body": t_breaking_401,
    "strict-boolean-ignore": t_strict_boolean,
    "typed-router-errors": t_typed_router,
    "ajv-additional-first": t_ajv_additional_first,
    "ignored-always-present": t_ignored_always_present,
    "ratelimit-headers": t_ratelimit_headers,
    "legacy-seed": t_legacy_seed,
    "partial": t_partial,
}


def test_catalog_well_formed():
    assert len(NAMES) == len(set(NAMES))
    for v in CATALOG:
        assert v["kind"] in ("fault", "tolerated", "partial") and v["what"] and v["why"], v
        if v["name"].startswith("partial"):
            assert v["implements"] == ["chat.ignoreUser", "subscriptions.getOne"]
    assert set(FAULT_PROBES) | set(TOLERATED_CHECKS) == set(NAMES)
    assert {n for n in NAMES if KIND[n] == "fault"} == set(FAULT_PROBES)


@pytest.mark.parametrize("name", [n for n in NAMES if KIND[n] == "fault"])
def test_fault_differs_from_faithful(servers, name):
    probe = FAULT_PROBES[name]
    ref = servers["partial"] if name.startswith("partial-") else servers["faithful-compare"]
    expected = probe(ref)
    got = probe(servers[name])
    assert got != expected, (name, got)


@pytest.mark.parametrize("name", [n for n in NAMES if KIND[n] != "fault"])
def test_tolerated_gives_documented_answer(servers, name):
    TOLERATED_CHECKS[name](servers[name])


def test_combined_variants():
    s = Srv("partial,partial-ignore-not-stored").wait_ready()
    try:
        assert s.post("im.blockUser", {"roomId": DM_AB, "block": True}, "alice").status_code == 404
        assert s.ignore("alice", GENERAL, ID["bob"]).status_code == 200
        assert ID["bob"] not in s.ignored("alice", GENERAL)
    finally:
        s.stop()
