"""Self-test of the clean-room Sendbird server and every catalog variant.

Run:  cd /work/main && python -m pytest -q -p no:chatcontract tests/independent/sendbird
All servers (faithful + one per variant) are started in parallel on port 0 and are
terminated at session end.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
SEED = yaml.safe_load(open(os.path.join(HERE, "seed.yaml"), encoding="utf-8"))
CATALOG = yaml.safe_load(open(os.path.join(HERE, "catalog.yaml"), encoding="utf-8"))["variants"]
VARIANTS = {v["name"]: v for v in CATALOG}

MASTER = SEED["api_tokens"]["master"]
SECONDARY = SEED["api_tokens"]["secondary"][0]
REVOKED = SEED["api_tokens"]["revoked"][0]
H = {"Api-Token": MASTER, "Content-Type": "application/json; charset=utf8"}
ALICE_BLOCKED = sorted(SEED["blocks"]["alice"])  # code-point order


def _start(variant: str | None) -> subprocess.Popen:
    cmd = [sys.executable, SERVER, "--host", "127.0.0.1", "--port", "0"]
    if variant:
        cmd += ["--variant", variant]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def servers():
    names = [None] + list(VARIANTS)
    procs = {n: _start(n) for n in names}
    urls = {}
    try:
        for n, p in procs.items():
            line = p.stdout.readline().strip()
            assert line.startswith("listening http://127.0.0.1:"), (n, line, p.stderr.read() if p.poll() is not None else "")
            urls[n] = line.split(" ", 1)[1]
        clients = {n: httpx.Client(base_url=u, timeout=5.0) for n, u in urls.items()}
        yield clients
        for c in clients.values():
            c.close()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture()
def c(servers):
    return servers[None]


def lst(cl, uid, auth=MASTER, **params):
    h = {"Api-Token": auth} if auth is not None else {}
    return cl.get(f"/v3/users/{uid}/block", params=params, headers=h)


def block(cl, uid, body, token=MASTER):
    h = {"Api-Token": token} if token is not None else {}
    return cl.post(f"/v3/users/{uid}/block", json=body, headers=h)


def unblock(cl, uid, target, token=MASTER):
    h = {"Api-Token": token} if token is not None else {}
    return cl.delete(f"/v3/users/{uid}/block/{target}", headers=h)


def ids(resp):
    return [u["user_id"] for u in resp.json()["users"]]


def all_pages(cl, uid, limit, **params):
    seen, token, pages = [], None, 0
    while True:
        p = dict(params, limit=limit)
        if token:
            p["token"] = token
        r = lst(cl, uid, **p)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["users"]) <= limit
        seen += [u["user_id"] for u in body["users"]]
        pages += 1
        token = body["next"]
        assert isinstance(token, str)
        if token == "":
            return seen, pages
        assert pages < 50


def is_err(r, code, status=400):
    assert r.status_code == status, (r.status_code, r.text)
    b = r.json()
    assert b["error"] is True and b["code"] == code and isinstance(b["message"], str), b
    return b


# =========================================================================== faithful
def test_auth(c):
    is_err(lst(c, "alice", auth=None), 400401)
    is_err(lst(c, "alice", auth="nope"), 400401)
    is_err(lst(c, "alice", auth=REVOKED), 400401)
    is_err(block(c, "walter", {"target_id": "peggy"}, token=None), 400401)
    is_err(unblock(c, "alice", "bob", token=REVOKED), 400401)
    assert lst(c, "alice", auth=SECONDARY).status_code == 200
    # header name is case-insensitive
    assert c.get("/v3/users/alice/block", headers={"api-token": MASTER}).status_code == 200


def test_list_defaults_and_shape(c):
    r = lst(c, "alice")
    assert r.status_code == 200
    b = r.json()
    assert set(b) == {"users", "next"}
    assert ids(r) == ALICE_BLOCKED[:10]  # default list=blocked_by_me, default limit 10
    assert isinstance(b["next"], str) and b["next"] != ""
    u = b["users"][0]
    assert set(u) == {"user_id", "nickname", "profile_url", "is_online", "last_seen_at", "metadata"}
    assert isinstance(u["is_online"], bool) and isinstance(u["last_seen_at"], int) and isinstance(u["metadata"], dict)
    assert ids(lst(c, "alice", list="blocked_by_me")) == ids(r)


def test_blocking_me(c):
    assert ids(lst(c, "alice", list="blocking_me")) == ["Tom", "bob", "mallory"]
    assert ids(lst(c, "walter", list="blocking_me")) == []
    r = lst(c, "walter")
    assert r.json() == {"users": [], "next": ""}


def test_pagination(c):
    seen, pages = all_pages(c, "alice", 5)
    assert seen == ALICE_BLOCKED and pages == 3
    seen, pages = all_pages(c, "alice", 12)
    assert seen == ALICE_BLOCKED and pages == 1
    seen, pages = all_pages(c, "alice", 1)
    assert seen == ALICE_BLOCKED and pages == 12
    assert lst(c, "alice", limit=100).json()["next"] == ""


def test_limit_validation(c):
    for bad in ("0", "101", "-1", "99999999999999999999999999999"):
        is_err(lst(c, "alice", limit=bad), 400113)
    for bad in ("abc", "", "5.0", "1e2"):
        is_err(lst(c, "alice", limit=bad), 400101)
    assert len(ids(lst(c, "alice", limit="1"))) == 1
    assert lst(c, "alice", limit="100").status_code == 200


def test_list_enum_and_token_validation(c):
    is_err(lst(c, "alice", list="blocked"), 400111)
    is_err(lst(c, "alice", list="BLOCKED_BY_ME"), 400111)
    is_err(lst(c, "alice", token="BFRTAQBTQlWeEUBXWFNeF1E2FEdFRF~~"), 400111)
    tok = lst(c, "alice", limit=2).json()["next"]
    is_err(lst(c, "bob", token=tok), 400111)  # token of another user
    is_err(lst(c, "alice", token=tok, list="blocking_me"), 400111)
    raw = json.dumps({"a": "bob", "l": "blocked_by_me", "t": int(time.time()) - 7200, "u": "alice"}).encode()
    old = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    is_err(lst(c, "alice", token=old), 400109)


def test_filters(c):
    assert ids(lst(c, "alice", user_ids="bob,Tom,walter,zzz")) == ["Tom", "bob"]
    assert ids(lst(c, "alice", metadatakey="font_color", metadatavalues_in="black")) == ["Kelly", "Tom", "bob", "dave", "grace"]
    assert ids(lst(c, "alice", metadatakey="font_color", metadatavalues_in="blue,green")) == ["carol", "frank"]
    # docs' example (minus the foreign page token)
    r = lst(c, "alice", list="blocked_by_me", limit=3, metadatakey="font_color", metadatavalues_in="black")
    assert ids(r) == ["Kelly", "Tom", "bob"] and r.json()["next"]
    r2 = lst(c, "alice", list="blocked_by_me", limit=3, metadatakey="font_color", metadatavalues_in="black", token=r.json()["next"])
    assert ids(r2) == ["dave", "grace"] and r2.json()["next"] == ""
    is_err(lst(c, "alice", metadatakey="font_color"), 400105)
    is_err(lst(c, "alice", metadatavalues_in="black"), 400105)


def test_unknown_user(c):
    b = is_err(lst(c, "no_such_user"), 400201)
    assert b["message"] == '"User" not found.'
    is_err(block(c, "no_such_user", {"target_id": "bob"}), 400201)
    is_err(block(c, "walter", {"target_id": "no_such_user"}), 400201)
    is_err(unblock(c, "walter", "no_such_user"), 400201)
    is_err(unblock(c, "no_such_user", "bob"), 400201)


def test_block_unblock_roundtrip(c):
    r = block(c, "peggy", {"target_id": "rupert"})
    assert r.status_code == 200
    b = r.json()
    assert [u["user_id"] for u in b["users"]] == ["rupert"] and b["users"][0]["nickname"] == "Rupert"
    assert ids(lst(c, "peggy")) == ["rupert"]
    assert ids(lst(c, "rupert", list="blocking_me")) == ["peggy"]
    assert ids(lst(c, "rupert")) == []  # not written to the other party
    # repeat: idempotent, no duplicate
    assert block(c, "peggy", {"target_id": "rupert"}).status_code == 200
    assert ids(lst(c, "peggy")) == ["rupert"]
    r = unblock(c, "peggy", "rupert")
    assert r.status_code == 200 and r.json() == {}
    assert ids(lst(c, "peggy")) == []
    assert ids(lst(c, "rupert", list="blocking_me")) == []
    # unblocking again (not blocked): idempotent {}
    r = unblock(c, "peggy", "rupert")
    assert r.status_code == 200 and r.json() == {}


def test_bulk_block_and_encoded_ids(c):
    r = block(c, "sybil", {"user_ids": ["trent", "victor", "user with space", "comma,user"]})
    assert r.status_code == 200
    assert sorted(u["user_id"] for u in r.json()["users"]) == sorted(["trent", "victor", "user with space", "comma,user"])
    assert ids(lst(c, "sybil")) == ["comma,user", "trent", "user with space", "victor"]
    assert ids(lst(c, "sybil", user_ids="comma%2Cuser,victor")) == ["comma,user", "victor"]
    r = c.get("/v3/users/sybil/block?user_ids=comma%252Cuser,user%2520with%2520space", headers=H)
    assert ids(r) == ["comma,user", "user with space"]
    r = c.get("/v3/users/sybil/block?user_ids=victor%2Ctrent", headers=H)  # encoded separator
    assert ids(r) == ["trent", "victor"]
    assert c.delete("/v3/users/sybil/block/user%20with%20space", headers=H).json() == {}
    assert c.delete("/v3/users/sybil/block/comma%2Cuser", headers=H).json() == {}
    assert ids(lst(c, "user with space", list="blocking_me")) == []
    r = block(c, "sybil", {"users": ["walter"]})
    assert r.status_code == 200 and "walter" in ids(lst(c, "sybil"))


def test_block_validation(c):
    is_err(c.post("/v3/users/walter/block", content=b"{bad json", headers=H), 400403)
    is_err(c.post("/v3/users/walter/block", content=b"[1,2]", headers=H), 400403)
    is_err(c.post("/v3/users/walter/block", content=b"\xff\xfe", headers=H), 400403)
    is_err(c.post("/v3/users/walter/block", content=b"[" * 100000, headers=H), 400403)
    is_err(block(c, "walter", {}), 400105)
    is_err(block(c, "walter", {"user_ids": []}), 400105)
    is_err(block(c, "walter", {"target_id": 5}), 400100)
    is_err(block(c, "walter", {"target_id": ""}), 400151)
    is_err(block(c, "walter", {"user_ids": "peggy"}), 400102)
    is_err(block(c, "walter", {"user_ids": [1]}), 400100)
    is_err(block(c, "walter", {"user_ids": [f"u{i}" for i in range(101)]}), 400203)
    is_err(block(c, "walter", {"target_id": "walter"}), 400111)
    # atomic: one unknown target -> nothing applied
    is_err(block(c, "walter", {"user_ids": ["peggy", "ghost"]}), 400201)
    assert ids(lst(c, "walter")) == []


def test_never_500(c):
    weird = [
        "/v3/users/%00/block", "/v3/users/%ff%fe/block", "/v3/users/" + "x" * 5000 + "/block",
        "/v3/users/alice/block?limit=%ff", "/v3/users/alice/block?token=%%%", "/v3/users/alice/block?list=%00",
        "/v3/users/alice/block?user_ids=,,,", "/v3/users/alice/block?metadatakey=&metadatavalues_in=",
        "/v3/users/alice/block?limit=1&limit=2&&&=&x", "/v3/users//block", "/v3/users/alice/block/",
        "/v3/nothing", "/", "/v3/users/alice/block?token=" + "A" * 3000,
    ]
    for p in weird:
        r = c.get(p, headers=H)
        assert r.status_code in (200, 400), (p, r.status_code)
        assert isinstance(r.json(), dict)
    for body in (b"null", b"1e999999", b'"x"', b'{"target_id": null}', b'{"target_id": {"a": 1}}',
                 b'{"user_ids": [null]}', b'{"users": [{"user_id": 3}]}', b"9" * 5000):
        r = c.post("/v3/users/walter/block", content=body, headers=H)
        assert r.status_code == 400, (body[:30], r.text)
        assert r.json()["error"] is True
    r = c.put("/v3/users/alice/block", headers=H)
    is_err(r, 400404)
    is_err(c.request("FOO", "/v3/users/alice/block", headers=H), 400404)
    assert ids(c.get("/v3/users/alice/block?user_ids=", headers=H)) == ALICE_BLOCKED[:10]  # empty filter = no filter
    is_err(c.get("/v3/users/alice/block/bob", headers=H), 400404)
    is_err(c.delete("/v3/users/alice/block", headers=H), 400404)


def test_sigterm_exits_zero():
    p = _start(None)
    try:
        assert p.stdout.readline().startswith("listening http://127.0.0.1:")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=5) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# =========================================================================== variants
def _v_notfound_http_200(v, f):
    r = lst(v, "no_such_user")
    assert r.status_code == 200 and r.json()["code"] == 400201
    assert lst(f, "no_such_user").status_code == 400


def _v_limit_range_http_422(v, f):
    assert lst(v, "alice", limit=0).status_code == 422
    is_err(lst(f, "alice", limit=0), 400113)


def _v_error_code_as_string(v, f):
    assert lst(v, "no_such_user").json()["code"] == "400201"
    assert lst(f, "no_such_user").json()["code"] == 400201


def _v_error_flag_missing(v, f):
    assert "error" not in lst(v, "no_such_user").json()
    assert lst(f, "no_such_user").json()["error"] is True


def _v_auth_wrong_code(v, f):
    assert lst(v, "alice", auth=None).json()["code"] == 400108
    is_err(lst(f, "alice", auth=None), 400401)


def _v_bad_json_internal_error(v, f):
    r = v.post("/v3/users/walter/block", content=b"{bad", headers=H)
    assert r.status_code == 500 and r.json()["code"] == 500901
    is_err(f.post("/v3/users/walter/block", content=b"{bad", headers=H), 400403)


def _v_users_key_renamed(v, f):
    b = lst(v, "alice").json()
    assert "users" not in b and "blocked_users" in b


def _v_next_null_at_end(v, f):
    assert lst(v, "walter").json()["next"] is None
    assert lst(f, "walter").json()["next"] == ""


def _v_auth_accept_any_token(v, f):
    assert lst(v, "alice", auth=REVOKED).status_code == 200
    is_err(lst(f, "alice", auth=REVOKED), 400401)


def _v_auth_optional(v, f):
    assert lst(v, "alice", auth=None).status_code == 200
    is_err(lst(f, "alice", auth=None), 400401)


def _v_block_not_applied(v, f):
    assert block(v, "trent", {"target_id": "victor"}).status_code == 200
    assert ids(lst(v, "trent")) == []


def _v_unblock_not_applied(v, f):
    assert unblock(v, "alice", "bob").json() == {}
    assert "bob" in ids(lst(v, "alice"))


def _v_block_reversed(v, f):
    assert block(v, "trent", {"target_id": "victor"}).status_code == 200
    assert ids(lst(v, "trent")) == []
    assert ids(lst(v, "victor")) == ["trent"]


def _v_list_ignores_user(v, f):
    assert "mallory" in ids(lst(v, "walter", limit=100))  # walter blocks nobody
    assert ids(lst(f, "walter")) == []


def _v_block_duplicates(v, f):
    block(v, "trent", {"target_id": "victor"})
    block(v, "trent", {"target_id": "victor"})
    assert ids(lst(v, "trent")) == ["victor", "victor"]


def _v_default_list_blocking_me(v, f):
    assert ids(lst(v, "alice")) == ["Tom", "bob", "mallory"]
    assert ids(lst(f, "alice")) == ALICE_BLOCKED[:10]


def _v_limit_101_accepted(v, f):
    assert lst(v, "alice", limit=101).status_code == 200
    is_err(lst(f, "alice", limit=101), 400113)


def _collect(cl, limit):
    seen, token = [], None
    for _ in range(20):
        p = {"limit": limit}
        if token:
            p["token"] = token
        b = lst(cl, "alice", **p).json()
        seen += [u["user_id"] for u in b["users"]]
        token = b["next"]
        if not token:
            break
    return seen


def _v_page_overlap(v, f):
    seen = _collect(v, 5)
    assert len(seen) != len(set(seen))
    assert _collect(f, 5) == ALICE_BLOCKED


def _v_page_skip(v, f):
    assert set(_collect(v, 5)) != set(ALICE_BLOCKED)


def _v_next_nonblank_at_end(v, f):
    b = lst(v, "alice", limit=12).json()
    assert len(b["users"]) == 12 and b["next"] != ""
    assert lst(v, "alice", limit=12, token=b["next"]).json()["users"] == []
    assert lst(f, "alice", limit=12).json()["next"] == ""


def _v_metadata_filter_500(v, f):
    q = dict(list="blocked_by_me", limit=3, metadatakey="font_color", metadatavalues_in="black")
    assert lst(v, "alice", **q).status_code == 500
    assert lst(f, "alice", **q).status_code == 200


# ---- tolerated: answer differs from faithful, but is still a documented answer
def _v_unblock_empty_body(v, f):
    r = unblock(v, "alice", "bob")
    assert r.status_code == 200 and r.content == b""
    assert "bob" not in ids(lst(v, "alice"))


def _v_block_response_ids(v, f):
    r = block(v, "trent", {"target_id": "victor"})
    assert r.status_code == 200 and r.json()["users"] == ["victor"]
    assert ids(lst(v, "trent")) == ["victor"]


def _v_reblock_already_exists(v, f):
    is_err(block(v, "alice", {"target_id": "bob"}), 400202)
    assert ids(lst(v, "alice", user_ids="bob")) == ["bob"]
    assert block(f, "alice", {"target_id": "bob"}).status_code == 200


def _v_unblock_not_blocked_400201(v, f):
    is_err(unblock(v, "walter", "peggy"), 400201)
    assert unblock(v, "alice", "bob").json() == {}


def _v_limit_out_of_range_400111(v, f):
    is_err(lst(v, "alice", limit=101), 400111)
    is_err(lst(v, "alice", limit=0), 400111)


def _v_user_extra_fields(v, f):
    u = lst(v, "alice").json()["users"][0]
    assert {"user_id", "nickname", "profile_url", "is_online", "last_seen_at", "metadata", "is_active", "created_at"} <= set(u)


def _v_auth_message_alt(v, f):
    a = is_err(lst(v, "alice", auth=None), 400401)
    b = is_err(lst(f, "alice", auth=None), 400401)
    assert a["message"] != b["message"]


CHECKS = {name: globals()["_v_" + name.replace("-", "_")] for name in VARIANTS}


def test_catalog_well_formed():
    kinds = [v["kind"] for v in CATALOG]
    assert kinds.count("fault") >= 18 and kinds.count("tolerated") >= 7
    for v in CATALOG:
        assert set(v) == {"name", "kind", "what", "why"} and v["kind"] in ("fault", "tolerated")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant(servers, name):
    CHECKS[name](servers[name], servers[None])
