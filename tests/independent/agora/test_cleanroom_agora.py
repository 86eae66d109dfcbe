"""Self-test of the clean-room Agora Chat server and its variant catalog.

Starts server.py as subprocesses on port 0 and talks HTTP to them with httpx.
"""
import json
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
SEED = yaml.safe_load(open(os.path.join(HERE, "seed.yaml")))
CATALOG = yaml.safe_load(open(os.path.join(HERE, "catalog.yaml")))["variants"]

ORG, APP, OAPP = "easemob-demo", "testapp", "otherapp"
APP_ID = "41117440383e4a1c9d9b2b0ce9e8d7a6"
ADMIN = "YWMtTESTAPPADMINTOKEN0000000001"
EXPIRED = "YWMtTESTAPPEXPIREDTOKEN00000001"
OTHER = "YWMtOTHERAPPADMINTOKEN000000001"
U_OWNER = "YWMtUSEROWNER1TOKEN000000000001"
U_ALICE = "YWMtUSERALICETOKEN0000000000001"
NEVER = "YWMtNEVERISSUEDTOKEN000000001"
LOBBY, SIDE, QUIET, CROWD = "1265710621211", "1265710621212", "1265710621213", "1265710621214"
ELSEWHERE = "1265710621299"
UNKNOWN = "9999999999999"
ERR_KEYS = {"error", "exception", "timestamp", "duration", "error_description"}
ENV_KEYS = {"action", "application", "applicationName", "organization", "uri",
            "entities", "data", "timestamp", "duration"}

_procs = []


def start(variant=None):
    cmd = [sys.executable, SERVER, "--host", "127.0.0.1", "--port", "0"]
    if variant:
        cmd += ["--variant", variant]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    line = p.stdout.readline().strip()
    assert line.startswith("listening http://127.0.0.1:"), (line, p.stderr.read() if p.poll() is not None else "")
    return p, line.split(" ", 1)[1]


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait(5)
    return p.returncode


@pytest.fixture(scope="session", autouse=True)
def _reap():
    yield
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait(5)


class C:
    def __init__(self, base):
        self.base = base
        self.h = httpx.Client(base_url=base, timeout=5)

    def url(self, room, tail="", app=APP):
        return "/%s/%s/chatrooms/%s%s" % (ORG, app, room, tail)

    def auth(self, token):
        return {"Authorization": "Bearer " + token} if token else {}

    def mute(self, room, names, dur=86400000, token=ADMIN, app=APP, body=None):
        b = {"usernames": names} if body is None else body
        if body is None and dur is not None:
            b["mute_duration"] = dur
        return self.h.post(self.url(room, "/mute", app), json=b,
                           headers={**self.auth(token), "Accept": "application/json"})

    def unmute(self, room, seg, token=ADMIN, app=APP):
        return self.h.delete(self.url(room, "/mute/" + seg, app), headers=self.auth(token))

    def list(self, room, token=ADMIN, app=APP):
        return self.h.get(self.url(room, "/mute", app), headers=self.auth(token))

    def users(self, room):
        r = self.list(room)
        assert r.status_code == 200, r.text
        return [d["user"] for d in r.json()["data"]]

    def ban(self, room, token=ADMIN):
        return self.h.post(self.url(room, "/ban"), headers={**self.auth(token), "Content-Type": "application/json"})

    def unban(self, room, token=ADMIN):
        return self.h.delete(self.url(room, "/ban"), headers={**self.auth(token), "Content-Type": "application/json"})

    def detail(self, room):
        return self.h.get(self.url(room), headers=self.auth(ADMIN))


@pytest.fixture(scope="module")
def c():
    p, base = start()
    cl = C(base)
    yield cl
    cl.h.close()
    assert stop(p) == 0


# ------------------------------------------------------------ faithful server
def test_initial_list_and_envelope(c):
    r = c.list(LOBBY)
    assert r.status_code == 200
    j = r.json()
    assert ENV_KEYS <= set(j)
    assert j["organization"] == ORG and j["applicationName"] == APP and j["entities"] == []
    assert j["action"] == "get"
    got = {d["user"]: d["expire"] for d in j["data"]}
    assert got == {"erin": 4102444800000, "frank": -1}  # gina's mute expired


def test_mute_unmute_cycle_and_isolation(c):
    r = c.mute(LOBBY, ["alice", "carol"], 86400000)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["action"] == "post"
    assert [d["user"] for d in j["data"]] == ["alice", "carol"]
    for d in j["data"]:
        assert d["result"] is True
        assert abs(d["expire"] - (j["timestamp"] + 86400000)) < 5000
    lst = {d["user"]: d["expire"] for d in c.list(LOBBY).json()["data"]}
    assert {"alice", "carol"} <= set(lst)
    assert abs(lst["alice"] - j["data"][0]["expire"]) < 5000
    assert c.users(SIDE) == ["bob"]  # other room untouched
    r = c.unmute(LOBBY, "alice%2Ccarol%2Cdave")
    assert r.status_code == 200
    j = r.json()
    assert j["action"] == "delete"
    assert j["data"] == [{"result": True, "user": "alice"}, {"result": True, "user": "carol"},
                         {"result": False, "user": "dave"}]
    assert not {"alice", "carol"} & set(c.users(LOBBY))
    assert c.users(SIDE) == ["bob"]


def test_remute_overwrites(c):
    e1 = c.mute(LOBBY, ["dave"], 60000).json()["data"][0]["expire"]
    e2 = c.mute(LOBBY, ["dave"], 3600000).json()["data"][0]["expire"]
    assert e2 > e1
    lst = [d for d in c.list(LOBBY).json()["data"] if d["user"] == "dave"]
    assert len(lst) == 1 and lst[0]["expire"] == e2
    c.unmute(LOBBY, "dave")


def test_nonmember_rejected_all_or_nothing(c):
    r = c.mute(LOBBY, ["bob", "loner"])
    assert r.status_code == 400
    j = r.json()
    assert set(j) == ERR_KEYS
    assert j["error"] == "forbidden_op"
    assert j["error_description"] == "users [loner] are not members of this group!"
    assert "bob" not in c.users(LOBBY)


def test_limits(c):
    many = ["u%03d" % i for i in range(1, 62)]
    r = c.mute(CROWD, many)
    assert r.status_code == 400 and r.json()["error"] == "invalid_parameter"
    assert r.json()["error_description"] == "userNames size is more than max limit : 60"
    r = c.mute(CROWD, many[:60], 60000)
    assert r.status_code == 200 and len(r.json()["data"]) == 60
    r = c.unmute(CROWD, "%2C".join(many))
    assert r.status_code == 400 and r.json()["error"] == "invalid_parameter"
    assert r.json()["error_description"] == "removeMute member size more than max limit :  60"
    r = c.unmute(CROWD, "%2C".join(many[:60]))
    assert r.status_code == 200 and all(d["result"] is True for d in r.json()["data"])
    assert c.users(CROWD) == []


def test_permanent_mute(c):
    r = c.mute(SIDE, ["carol"], -1)
    assert r.status_code == 200 and r.json()["data"][0]["expire"] == -1
    assert {"user": "carol", "expire": -1} in c.list(SIDE).json()["data"]
    c.unmute(SIDE, "carol")


def test_real_time_expiry(c):
    assert c.mute(QUIET, ["dave"], 300).status_code == 200
    assert "dave" in c.users(QUIET)
    time.sleep(0.45)
    assert "dave" not in c.users(QUIET)
    assert c.unmute(QUIET, "dave").json()["data"] == [{"result": False, "user": "dave"}]


@pytest.mark.parametrize("hdr,err,desc", [
    (None, "unauthorized", "Unable to authenticate due to expired access token."),
    ("Bearer " + EXPIRED, "unauthorized", "Unable to authenticate due to expired access token."),
    ("Bearer " + NEVER, "auth_bad_access_token", "Unable to authenticate."),
    ("Bearer " + OTHER, "auth_bad_access_token", "Unable to authenticate."),
    ("Bearer not a token!", "auth_bad_access_token", "Unable to authenticate due to corrupt access token."),
    ("Basic " + ADMIN, "auth_bad_access_token", "Unable to authenticate due to corrupt access token."),
    ("Bearer " + U_ALICE, "unauthorized", "Unable to authenticate (OAuth)"),
    ("Bearer " + U_OWNER, "unauthorized", "Unable to authenticate (OAuth)"),
])
def test_auth_failures(c, hdr, err, desc):
    headers = {"Authorization": hdr} if hdr else {}
    for req in (lambda: c.h.get(c.url(LOBBY, "/mute"), headers=headers),
                lambda: c.h.post(c.url(LOBBY, "/mute"), headers=headers,
                                 json={"mute_duration": 1000, "usernames": ["bob"]}),
                lambda: c.h.delete(c.url(LOBBY, "/mute/erin"), headers=headers),
                lambda: c.h.post(c.url(LOBBY, "/ban"), headers=headers),
                lambda: c.h.delete(c.url(LOBBY, "/ban"), headers=headers)):
        r = req()
        assert r.status_code == 401, r.text
        j = r.json()
        assert set(j) == ERR_KEYS and j["error"] == err and j["error_description"] == desc
    assert "erin" in c.users(LOBBY) and "bob" not in c.users(LOBBY)


def test_other_app_token_works_on_its_app(c):
    r = c.list(ELSEWHERE, token=OTHER, app=OAPP)
    assert r.status_code == 200 and r.json()["applicationName"] == OAPP
    assert c.list(LOBBY, token=OTHER, app=OAPP).status_code == 404


def test_unknown_room(c):
    for r in (c.list(UNKNOWN), c.mute(UNKNOWN, ["alice"]), c.unmute(UNKNOWN, "alice"),
              c.ban(UNKNOWN), c.unban(UNKNOWN)):
        assert r.status_code == 404
        j = r.json()
        assert set(j) == ERR_KEYS
        assert j["error"] == "resource_not_found"
        assert j["error_description"] == "grpID %s does not exist!" % UNKNOWN


def test_body_validation(c):
    url = c.url(LOBBY, "/mute")
    h = {"Authorization": "Bearer " + ADMIN, "Content-Type": "application/json"}
    r = c.h.post(url, headers=h, content=b'{"mute_duration": 1,')
    assert r.status_code == 400 and r.json()["error"] == "json_parse"
    assert r.json()["error_description"] == "Unexpected character."
    r = c.h.post(url, headers={"Authorization": h["Authorization"], "Content-Type": "text/plain"},
                 content=b'{"mute_duration": 1000, "usernames": ["bob"]}')
    assert r.status_code == 415 and r.json()["error"] == "web_application"
    bad = [{"usernames": ["bob"]}, {"mute_duration": "1000", "usernames": ["bob"]},
           {"mute_duration": True, "usernames": ["bob"]}, {"mute_duration": 0, "usernames": ["bob"]},
           {"mute_duration": -2, "usernames": ["bob"]}, {"mute_duration": 1.5, "usernames": ["bob"]},
           {"mute_duration": 10 ** 30, "usernames": ["bob"]}, {"mute_duration": 1000},
           {"mute_duration": 1000, "usernames": "bob"}, {"mute_duration": 1000, "usernames": []},
           {"mute_duration": 1000, "usernames": [1]}, {"mute_duration": 1000, "usernames": [""]},
           [1, 2], "x", None]
    for b in bad:
        r = c.h.post(url, headers=h, content=json.dumps(b).encode())
        assert r.status_code == 400, (b, r.text)
        assert r.json()["error"] == "illegal_argument"
    for raw in (b'{"mute_duration": NaN, "usernames": ["bob"]}', b"\xff\xfe", b"[" * 5000,
                b'{"mute_duration": ' + b"9" * 5000 + b', "usernames": ["bob"]}'):
        r = c.h.post(url, headers=h, content=raw)
        assert r.status_code == 400
    assert "bob" not in c.users(LOBBY)


def test_mute_all(c):
    before = c.users(LOBBY)
    r = c.ban(LOBBY)
    assert r.status_code == 200 and r.json()["data"] == {"mute": True}
    assert r.json()["action"] == "post"
    assert c.detail(LOBBY).json()["data"][0]["mute"] is True
    assert c.detail(SIDE).json()["data"][0]["mute"] is False
    assert c.users(LOBBY) == before  # mute-all does not touch the mute list
    r = c.unban(LOBBY)
    assert r.status_code == 200 and r.json()["data"] == {"mute": False}
    assert r.json()["action"] == "delete"
    assert c.detail(LOBBY).json()["data"][0]["mute"] is False
    assert c.detail(QUIET).json()["data"][0]["mute"] is True


def test_app_id_form_and_methods(c):
    r = c.h.get("/app-id/%s/chatrooms/%s/mute" % (APP_ID, LOBBY), headers=c.auth(ADMIN))
    assert r.status_code == 200 and "erin" in [d["user"] for d in r.json()["data"]]
    r = c.h.put(c.url(LOBBY, "/mute"), headers=c.auth(ADMIN))
    assert r.status_code == 405 and r.json()["error"] == "unsupported_service_operation"
    r = c.h.get("/nope", headers=c.auth(ADMIN))
    assert r.status_code == 404 and set(r.json()) == ERR_KEYS


def test_no_5xx_on_odd_input(c):
    odd = ["%00", "%FF%FE", "a" * 5000, "..", "%2F%2F", "-1", "1e999", "\u00e9"]
    for o in odd:
        for r in (c.list(o), c.unmute(LOBBY, o), c.mute(o, [o]),
                  c.h.get("/%s/%s/chatrooms/%s/mute" % (o, o, o), headers=c.auth(ADMIN))):
            assert r.status_code < 500, (o, r.status_code)
    import socket
    host, port = c.base.rsplit("/", 1)[1].split(":")
    for cl in (b"abc", b"-5", b"99999999999"):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(b"POST " + c.url(LOBBY, "/mute").encode() + b" HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + ADMIN.encode() + b"\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + cl + b"\r\nConnection: close\r\n\r\n")
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
        s.close()
        assert resp.startswith(b"HTTP/1.1 400"), resp[:80]


def test_rate_limit(c):
    codes = []
    for _ in range(130):
        r = c.list(ELSEWHERE, token=OTHER, app=OAPP)
        codes.append(r.status_code)
        if r.status_code == 429:
            assert r.json()["error"] == "reach_limit"
            assert r.json()["error_description"] == "This request has reached API limit."
            break
    assert 429 in codes and 90 <= codes.count(200) <= 100  # earlier tests may have used a few


def test_catalog_shape():
    names = [v["name"] for v in CATALOG]
    assert len(names) == len(set(names))
    assert all(v["kind"] in ("fault", "tolerated") and v["what"] and v["why"] for v in CATALOG)
    assert sum(v["kind"] == "fault" for v in CATALOG) >= 18
    assert sum(v["kind"] == "tolerated" for v in CATALOG) >= 7
    src = open(SERVER).read()
    for n in names:
        assert '"%s"' % n in src
    assert set(names) == set(PROBES)


def test_unknown_variant_refused():
    r = subprocess.run([sys.executable, SERVER, "--port", "0", "--variant", "nope"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0


# ---------------------------------------------------------------- variants
def p_nonmember(c):
    r = c.mute(LOBBY, ["loner"])
    return r.status_code, r.json().get("error"), "loner" in c.users(LOBBY)


def p_unknown_room(c):
    r = c.list(UNKNOWN)
    return r.status_code, r.json().get("error"), r.json().get("error_description")


def p_err_keys(c):
    return sorted(c.list(LOBBY, token=None).json())


def p_mute_item_keys(c):
    return sorted(c.mute(LOBBY, ["alice"], 60000).json()["data"][0])


def p_expire_ms(c):
    j = c.mute(LOBBY, ["alice"], 60000).json()
    lst = {d["user"]: d["expire"] for d in c.list(LOBBY).json()["data"]}
    return (abs(j["data"][0]["expire"] - (j["timestamp"] + 60000)) < 5000,
            abs(lst["alice"] - (j["timestamp"] + 60000)) < 5000)


def p_result_type(c):
    return type(c.mute(LOBBY, ["alice"], 60000).json()["data"][0]["result"]).__name__


def p_status(token):
    def f(c):
        return c.list(LOBBY, token=token).status_code
    return f


def p_member_token(c):
    return c.mute(LOBBY, ["bob"], 60000, token=U_ALICE).status_code, "bob" in c.users(LOBBY)


def p_unmute_applied(c):
    c.mute(LOBBY, ["carol"], 60000)
    r = c.unmute(LOBBY, "carol")
    return r.status_code, "carol" in c.users(LOBBY)


def p_leak(c):
    c.mute(LOBBY, ["carol"], 60000)
    return sorted(c.users(SIDE))


def p_list_side(c):
    return sorted(c.users(SIDE))


def p_dup(c):
    c.mute(LOBBY, ["dave"], 60000)
    c.mute(LOBBY, ["dave"], 60000)
    return c.users(LOBBY).count("dave")


def p_limit61(c):
    r = c.mute(CROWD, ["u%03d" % i for i in range(1, 62)])
    return r.status_code, r.json().get("error") if r.status_code != 200 else None


def p_permanent_listed(c):
    c.mute(LOBBY, ["alice"], -1)
    return "alice" in c.users(LOBBY)


def p_gina(c):
    return "gina" in c.users(LOBBY)


def p_comma(c):
    c.mute(LOBBY, ["alice", "bob"], 60000)
    r = c.unmute(LOBBY, "alice%2Cbob")
    return [d["user"] for d in r.json()["data"]], sorted({"alice", "bob"} & set(c.users(LOBBY)))


def p_muteall(c):
    c.ban(LOBBY)
    return c.detail(LOBBY).json()["data"][0]["mute"]


def p_example_id(c):
    return c.list(LOBBY).status_code


def p_ratelimit(c):
    for _ in range(130):
        if c.list(ELSEWHERE, token=OTHER, app=OAPP).status_code == 429:
            return True
    return False


def p_bad_json(c):
    r = c.h.post(c.url(LOBBY, "/mute"), content=b"{bad",
                 headers={**c.auth(ADMIN), "Content-Type": "application/json"})
    return r.status_code, r.json().get("error")


def p_forbidden(c):
    r = c.mute(LOBBY, ["loner"])
    return r.status_code, r.json()["error"]


def p_perm_expire(c):
    r = c.mute(LOBBY, ["alice"], -1)
    lst = {d["user"]: d["expire"] for d in c.list(LOBBY).json()["data"]}
    return r.json()["data"][0]["expire"], lst["alice"]


def p_muteall_shape(c):
    a, b = c.ban(LOBBY), c.unban(LOBBY)
    return a.status_code, a.json()["data"], b.status_code, b.json()["data"]


def p_owner_token(c):
    return (c.list(LOBBY, token=U_OWNER).status_code, c.list(LOBBY, token=U_ALICE).status_code,
            c.list(SIDE, token=U_ALICE).status_code)


def p_auth_errors(c):
    out = []
    for t in (NEVER, EXPIRED, None):
        r = c.list(LOBBY, token=t)
        out.append((r.status_code, r.json()["error"], r.json()["error_description"]))
    r = c.list(LOBBY, token="bad token")
    out.append((r.status_code, r.json()["error"], r.json()["error_description"]))
    return out


def p_actions(c):
    return (c.list(LOBBY).json()["action"], c.ban(LOBBY).json()["action"],
            c.unban(LOBBY).json()["action"])


def p_missing_duration(c):
    r = c.mute(LOBBY, ["bob"], dur=None)
    j = r.json()
    if r.status_code == 200:
        return r.status_code, j["data"][0]["expire"], {d["user"]: d["expire"] for d in c.list(LOBBY).json()["data"]}.get("bob")
    return r.status_code, j["error"]


FAR = 10 ** 12 * 4  # any timestamp beyond 2096 counts as "far future"


def ok_notfound(o):
    return o[0] == 404 and (o[1:] == ("resource_not_found", "grpID %s does not exist!" % UNKNOWN)
                            or o[1:] == ("service_resource_not_found", "Service resource not found."))


def ok_forbidden(o):
    return o[0] in (400, 403) and o[1] == "forbidden_op"


def ok_perm(o):
    return all(e == -1 or e > FAR for e in o)


def ok_muteall(o):
    return (o[0] == 200 and o[2] == 200 and (o[1] == {"mute": True} or o[1].get("result") is True)
            and (o[3] == {"mute": False} or o[3].get("result") is True))


def ok_owner(o):
    return o[0] in (200, 401) and o[1] == 401 and o[2] == 401


def ok_auth(o):
    return all(s == 401 and e in ("unauthorized", "auth_bad_access_token") for s, e, _ in o)


def ok_actions(o):
    return o[0] in ("get", "post") and o[1] in ("post", "put") and o[2] in ("delete", "put")


def ok_missing(o):
    return o == (400, "illegal_argument") or (o[0] == 200 and ok_perm(o[1:]))


PROBES = {
    "mute_nonmember_ok": p_nonmember,
    "notfound_status_400": p_unknown_room,
    "error_no_description": p_err_keys,
    "forbidden_op_misnamed": p_forbidden,
    "mute_expire_renamed": p_mute_item_keys,
    "expire_in_seconds": p_expire_ms,
    "result_as_string": p_result_type,
    "auth_unknown_token_ok": p_status(NEVER),
    "auth_missing_ok": p_status(None),
    "auth_expired_ok": p_status(EXPIRED),
    "auth_cross_app_ok": p_status(OTHER),
    "member_user_token_ok": p_member_token,
    "unmute_not_applied": p_unmute_applied,
    "mute_leaks_other_room": p_leak,
    "list_all_rooms": p_list_side,
    "remute_duplicates": p_dup,
    "mute_limit_61": p_limit61,
    "permanent_mute_expires": p_permanent_listed,
    "expired_mute_listed": p_gina,
    "unmute_comma_not_split": p_comma,
    "muteall_not_applied": p_muteall,
    "room_id_int32_500": p_example_id,
    "ratelimit_missing": p_ratelimit,
    "bad_json_500": p_bad_json,
    "notfound_service_resource": (p_unknown_room, ok_notfound),
    "forbidden_op_403": (p_forbidden, ok_forbidden),
    "permanent_far_future": (p_perm_expire, ok_perm),
    "muteall_table_shape": (p_muteall_shape, ok_muteall),
    "owner_user_token": (p_owner_token, ok_owner),
    "auth_all_unauthorized": (p_auth_errors, ok_auth),
    "agora_example_actions": (p_actions, ok_actions),
    "missing_duration_permanent": (p_missing_duration, ok_missing),
}
KIND = {v["name"]: v["kind"] for v in CATALOG}


def _run(variant):
    p, base = start(variant)
    cl = C(base)
    try:
        probe = PROBES[variant]
        fn = probe[0] if isinstance(probe, tuple) else probe
        return fn(cl)
    finally:
        cl.h.close()
        assert stop(p) == 0


@pytest.fixture(scope="module")
def observations():
    """Every probe on its own variant server (in parallel), and all probes in turn on one
    fresh faithful server (each probe is written so the faithful answer does not depend on
    which probes ran before it)."""
    with ThreadPoolExecutor(4) as ex:
        fut = ex.map(_run, list(PROBES))
        p, base = start()
        cl = C(base)
        try:
            faithful = {}
            for name, probe in PROBES.items():
                fn = probe[0] if isinstance(probe, tuple) else probe
                faithful[name] = fn(cl)
        finally:
            cl.h.close()
            stop(p)
        variant = dict(zip(PROBES, fut))
    return {n: (faithful[n], variant[n]) for n in PROBES}


@pytest.mark.parametrize("name", list(PROBES))
def test_variant(observations, name):
    faithful, variant = observations[name]
    assert faithful != variant, (name, faithful)
    if KIND[name] == "tolerated":
        ok = PROBES[name][1]
        assert ok(faithful), ("faithful not documented?", faithful)
        assert ok(variant), ("tolerated variant outside the docs", variant)
    else:
        assert not isinstance(PROBES[name], tuple)


def test_sigterm_exit_zero():
    p, base = start()
    assert httpx.get(base + "/x").status_code == 404
    p.send_signal(signal.SIGINT)
    assert p.wait(5) == 0
