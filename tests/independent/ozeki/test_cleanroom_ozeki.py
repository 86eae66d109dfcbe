"""Tests for the clean-room Ozeki server: faithful behaviour + one witness per catalog variant.

Run:  cd /work/main && python -m pytest -q -p no:chatcontract tests/independent/ozeki
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
SEED = yaml.safe_load(open(os.path.join(HERE, "seed.yaml"), encoding="utf-8"))
CATALOG = yaml.safe_load(open(os.path.join(HERE, "catalog.yaml"), encoding="utf-8"))["variants"]

U = {u["username"].lower(): u for u in SEED["users"]}
ADMIN, ALICE, BOB, CAROL, DAVE, ERIN, FRANK = (U[n]["id"] for n in ("administrator", "alice", "bob", "carol", "dave", "erin", "frank"))
C_EX = "8ca16186c36a4e0a1ef2096e6c60b613"     # admin + alice (vendor example)
C_AB = "4b557b8da08d01495e5f59d1a6b936ff"     # alice + bob, alice favorited
C_TEAM = "114373173106fb4ba9e6f089a3379c61"   # group admin/alice/bob/carol, bob muted
C_BC = "d4f402c0ad4fbc950842e72bd6919aa6"     # bob + carol, carol hid it
C_OPS = "7cb2aa0466ceb8f942e6815ad2492fcd"    # group admin/carol/erin, erin muted
EXAMPLE_MUTE = {"action": "mute", "conversationid": C_EX, "clientversioncode": 3, "timestamp": "2024-03-11 07:39:08"}
EXAMPLE_UNMUTE = {"action": "unmute", "conversationid": C_EX, "clientversioncode": 3, "timestamp": "2024-03-11 07:40:34"}
CONV_KEYS = {"id", "isgroup", "participantids", "participants", "displayname", "lastmessageid", "lastreportid",
             "lastaccess", "secret", "instance", "mutedby", "favoriteby", "hiddenby", "properties"}
PROP_KEYS = {"userid", "ismuted", "isfavorite", "hideid", "listitembackgroundcolor"}

_PROCS: list[subprocess.Popen] = []


def _by_id(uid):
    return next(u for u in SEED["users"] if u["id"] == uid)


def headers_for(uid, station=None, signature=None):
    u = _by_id(uid)
    st = u["stations"][0] if u["stations"] else {"station": "0" * 32, "signature": "none"}
    return {"Content-Type": "application/json", "Ozeki-User": uid,
            "Ozeki-Station": station if station is not None else st["station"],
            "Ozeki-Signature": signature if signature is not None else st["signature"]}


class Srv:
    def __init__(self, variant=None):
        cmd = [sys.executable, SERVER, "--host", "127.0.0.1", "--port", "0"]
        if variant:
            cmd += ["--variant", variant]
        self.variant = variant
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _PROCS.append(self.proc)
        self._base = None
        self._lock = threading.Lock()
        self.http = httpx.Client(timeout=5.0)

    @property
    def base(self):
        with self._lock:
            if self._base is None:
                self._read_line()
        return self._base

    def _read_line(self):
        if True:
            line = self.proc.stdout.readline()
            assert line.startswith("listening http://127.0.0.1:"), (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
            self.first_line = line
            self._base = line.strip().split(" ", 1)[1]

    def url(self, api):
        return f"{self.base}/ozeki/index.php?srv=chatserver&api={api}"

    def post(self, api, body=None, uid=ADMIN, headers=None, content=None):
        h = headers if headers is not None else headers_for(uid)
        if content is not None:
            return self.http.post(self.url(api), content=content, headers=h)
        return self.http.post(self.url(api), json=body, headers=h)

    def conv(self, body, uid=ADMIN, **kw):
        return self.post("chatconversation", body, uid, **kw)

    def act(self, action, cid, uid, **extra):
        r = self.conv({"action": action, "conversationid": cid, "clientversioncode": 3,
                       "timestamp": "2024-03-11 07:39:08", **extra}, uid)
        return r

    def listing(self, uid):
        r = self.conv({"action": "list", "clientversioncode": 3, "timestamp": "2024-03-11 07:39:08"}, uid)
        assert r.status_code == 200 and r.json()["status"] == "OK", r.text
        return {c["id"]: c for c in r.json()["conversations"]}

    def stop(self):
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module", autouse=True)
def _reap():
    yield
    for p in _PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()
        for s in (p.stdout, p.stderr):
            if s:
                s.close()


NEEDS_FRESH = {"unmute-not-applied", "unmute-clears-others", "unhide-not-applied", "blocklist-ignores-hidden"}


@pytest.fixture(scope="module")
def pool():
    """Start every variant server, all at once.  The faithful side of each witness runs on one
    shared faithful server, except for the witnesses whose read-back depends on seed state that
    another witness changes (Bob's mute of "team", Carol's hide of bob+carol): those get a fresh
    faithful twin each.  (A faithful server can never answer a fault witness with True whatever
    its state; the twins only rule out cross-witness interference.)"""
    servers = {"shared": Srv()}
    for v in CATALOG:
        servers[v["name"]] = Srv(v["name"])
        servers[("faithful", v["name"])] = Srv() if v["name"] in NEEDS_FRESH else servers["shared"]
    yield servers
    stop_all({id(x): x for x in servers.values()}.values())


def stop_all(servers):
    servers = list(servers)
    for s in servers:
        s.http.close()
        if s.proc.poll() is None:
            s.proc.send_signal(signal.SIGTERM)
    for s in servers:
        try:
            s.proc.wait(3)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait()


@pytest.fixture
def srv():
    s = Srv()
    yield s
    s.stop()


def own(conv, uid):
    return next(p for p in conv["properties"] if p["userid"] == uid)


def ok(r):
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["status"] == "OK", b
    return b


def is_error(r):
    """What the docs allow for a failure: no 5xx, a JSON body whose status is not OK."""
    assert r.status_code < 500, r.text
    b = r.json()
    return isinstance(b, dict) and b.get("status") != "OK"


def check_conv_shape(c):
    assert CONV_KEYS <= set(c)
    assert isinstance(c["id"], str) and isinstance(c["isgroup"], bool)
    assert all(isinstance(x, str) for x in c["participantids"])
    assert all(set(p) >= {"userid", "username"} for p in c["participants"])
    assert isinstance(c["lastaccess"], int) and 10**9 < c["lastaccess"] < 10**10
    assert isinstance(c["instance"], str) and len(c["instance"]) == 10
    for k in ("mutedby", "favoriteby", "hiddenby"):
        assert isinstance(c[k], list) and all(isinstance(x, str) for x in c[k])
        assert len(c[k]) == len(set(c[k]))
    assert isinstance(c["properties"], list) and c["properties"]
    for p in c["properties"]:
        assert PROP_KEYS <= set(p)
        assert isinstance(p["ismuted"], bool) and isinstance(p["isfavorite"], bool)


# ======================================================================= faithful
def test_startup_line_and_sigterm():
    s = Srv()
    assert s.base.startswith("http://127.0.0.1:") and int(s.base.rsplit(":", 1)[1]) > 0
    assert s.first_line.endswith("\n") and s.first_line.count("\n") == 1
    assert s.stop() == 0
    s2 = Srv()
    _ = s2.base
    s2.proc.send_signal(signal.SIGINT)
    assert s2.proc.wait(3) == 0


def test_doc_example_mute_and_unmute(srv):
    b = ok(srv.conv(EXAMPLE_MUTE, ADMIN))
    assert set(b) == {"status", "errormessage", "conversation"} and b["errormessage"] == ""
    c = b["conversation"]
    check_conv_shape(c)
    assert set(c) == CONV_KEYS
    assert c["id"] == C_EX and c["isgroup"] is False
    assert c["participantids"] == [ALICE, ADMIN]
    assert c["participants"] == [{"userid": ALICE, "username": "Alice"}, {"userid": ADMIN, "username": "Administrator"}]
    assert c["mutedby"] == [ADMIN] and c["favoriteby"] == [] and c["hiddenby"] == []
    assert c["properties"] == [{"userid": ADMIN, "ismuted": True, "isfavorite": False, "hideid": "",
                                "listitembackgroundcolor": "#bae1ff"}]
    assert c["lastaccess"] == 1710142205 and c["instance"] == "7sSwU2VoFM"
    b2 = ok(srv.conv(EXAMPLE_UNMUTE, ADMIN))
    c2 = b2["conversation"]
    assert c2["mutedby"] == [] and own(c2, ADMIN)["ismuted"] is False
    assert c2["lastaccess"] == 1710142205
    assert c2["displayname"] != c["displayname"]  # re-encrypted each time


def test_mute_is_per_caller_idempotent_and_isolated(srv):
    for _ in range(3):
        c = ok(srv.act("mute", C_TEAM, ALICE))["conversation"]
    assert c["mutedby"] == [BOB, ALICE]
    assert own(c, ALICE)["ismuted"] is True and len(c["properties"]) == 1
    # Bob's own view
    lb = srv.listing(BOB)
    assert own(lb[C_TEAM], BOB)["ismuted"] is True
    # isolation: alice's other conversations untouched
    la = srv.listing(ALICE)
    assert la[C_EX]["mutedby"] == [] and la[C_AB]["mutedby"] == []
    c = ok(srv.act("unmute", C_TEAM, ALICE))["conversation"]
    assert c["mutedby"] == [BOB] and own(c, ALICE)["ismuted"] is False
    # unmuting when not muted is harmless
    c = ok(srv.act("unmute", C_TEAM, ALICE))["conversation"]
    assert c["mutedby"] == [BOB]


def test_list_is_callers_view(srv):
    la = srv.listing(ALICE)
    assert set(la) == {C_EX, C_AB, C_TEAM}
    for c in la.values():
        check_conv_shape(c)
        assert [p["userid"] for p in c["properties"]] == [ALICE]
    assert own(la[C_AB], ALICE)["isfavorite"] is True
    ok(srv.act("mute", C_EX, ALICE))
    assert own(srv.listing(ALICE)[C_EX], ALICE)["ismuted"] is True
    assert own(srv.listing(ADMIN)[C_EX], ADMIN)["ismuted"] is False
    assert srv.listing(DAVE) == {}


def test_favorite_hide_and_blocklist(srv):
    c = ok(srv.act("favorite", C_EX, ADMIN))["conversation"]
    assert c["favoriteby"] == [ADMIN] and own(c, ADMIN)["isfavorite"] is True
    c = ok(srv.act("unfavorite", C_EX, ADMIN))["conversation"]
    assert c["favoriteby"] == [] and own(c, ADMIN)["isfavorite"] is False
    c = ok(srv.act("hide", C_EX, ALICE, hideid="7sSwU2VoFM;"))["conversation"]
    assert own(c, ALICE)["hideid"] == "7sSwU2VoFM;" and c["hiddenby"] == [ALICE]
    bl = ok(srv.post("chatblocklist", {"action": "blocklist", "clientversioncode": 3}, ALICE))
    assert [x["id"] for x in bl["conversations"]] == [C_EX] and bl["users"] == []
    c = ok(srv.act("unhide", C_EX, ALICE))["conversation"]
    assert own(c, ALICE)["hideid"] == "" and c["hiddenby"] == []
    assert ok(srv.post("chatblocklist", {"action": "blocklist"}, ALICE))["conversations"] == []
    # seeded hide of Carol
    bl = ok(srv.post("chatblocklist", {"action": "blocklist"}, CAROL))
    assert [x["id"] for x in bl["conversations"]] == [C_BC]
    assert own(bl["conversations"][0], CAROL)["hideid"] == "Xy7Zq2Lm9P;"


def test_auth_failures(srv):
    good = headers_for(ADMIN)
    bad = [
        {k: v for k, v in good.items() if k != "Ozeki-Signature"},
        {k: v for k, v in good.items() if k != "Ozeki-Station"},
        {k: v for k, v in good.items() if k != "Ozeki-User"},
        {"Content-Type": "application/json"},
        headers_for(ADMIN, signature="wrong"),
        headers_for(ADMIN, station="0" * 32),
        headers_for(ADMIN, station=headers_for(ALICE)["Ozeki-Station"], signature=headers_for(ALICE)["Ozeki-Signature"]),
        {**headers_for(BOB), "Ozeki-User": ADMIN},
        {**good, "Ozeki-User": "f" * 32},
        headers_for(FRANK),
    ]
    for h in bad:
        r = srv.conv(EXAMPLE_MUTE, headers=h)
        assert r.status_code == 401, (h, r.text)
        assert r.json()["status"] == "ERROR" and r.json()["errormessage"]
        r = srv.post("chatblocklist", {"action": "blocklist"}, headers=h)
        assert r.status_code == 401
    # alice's second station works too
    alice2 = SEED["users"][1]["stations"][1]
    assert ok(srv.conv(EXAMPLE_MUTE, headers=headers_for(ALICE, alice2["station"], alice2["signature"])))
    assert srv.listing(ADMIN)[C_EX]["mutedby"] == [ALICE]


def test_errors_and_validation(srv):
    def err(r, code):
        assert r.status_code == code, r.text
        b = r.json()
        assert b["status"] == "ERROR" and isinstance(b["errormessage"], str) and b["errormessage"]
    err(srv.act("mute", "0" * 32, ADMIN), 404)
    err(srv.act("mute", C_EX, DAVE), 403)
    err(srv.act("mute", C_BC, ALICE), 403)
    err(srv.conv({"action": "mute"}, ADMIN), 400)
    err(srv.conv({"action": "explode", "conversationid": C_EX}, ADMIN), 400)
    err(srv.conv({"conversationid": C_EX}, ADMIN), 400)
    for body in ({"action": "mute", "conversationid": 123}, {"action": "mute", "conversationid": None},
                 {"action": 7, "conversationid": C_EX}, {"action": "mute", "conversationid": C_EX, "clientversioncode": "3"},
                 {"action": "mute", "conversationid": C_EX, "clientversioncode": True},
                 {"action": "mute", "conversationid": C_EX, "timestamp": 1710142205},
                 {"action": "mute", "conversationid": C_EX, "timestamp": "yesterday"},
                 {"action": "hide", "conversationid": C_EX, "hideid": ["x"]},
                 {"action": "mute", "conversationid": ["a"]}, {"action": "mute", "conversationid": {"x": 1}}):
        err(srv.conv(body, ADMIN), 400)
    for raw in (b"{not json", b"[1,2]", b"\"mute\"", b"", b"\xff\xfe", b"[" * 5000,
                b'{"action":"mute","conversationid":"%s","clientversioncode":1%s}' % (C_EX.encode(), b"0" * 5000)):
        err(srv.post("chatconversation", content=raw), 400)
    # huge but valid integer is fine
    ok(srv.conv({**EXAMPLE_MUTE, "clientversioncode": 10**30}, ADMIN))
    for cid in ("../../etc", "'; DROP TABLE x;--", "\u00e9" * 100, "x" * 10000):
        r = srv.act("mute", cid, ADMIN)
        assert r.status_code == 404
    err(srv.http.get(srv.url("chatconversation"), headers=headers_for(ADMIN)), 405)
    err(srv.http.post(srv.base + "/?srv=chatserver&api=nope", json=EXAMPLE_MUTE, headers=headers_for(ADMIN)), 404)
    err(srv.http.post(srv.base + "/?api=chatconversation", json=EXAMPLE_MUTE, headers=headers_for(ADMIN)), 404)
    err(srv.http.post(srv.base + "/other?srv=chatserver&api=chatconversation", json=EXAMPLE_MUTE, headers=headers_for(ADMIN)), 404)
    err(srv.post("chatblocklist", {"action": "mute"}, ADMIN), 400)
    # other accepted paths
    r = srv.http.post(srv.base + "/index.php?srv=chatserver&api=chatconversation", json=EXAMPLE_UNMUTE, headers=headers_for(ADMIN))
    assert ok(r)["conversation"]["mutedby"] == []
    # nothing above changed alice's state
    assert srv.listing(ALICE)[C_EX]["mutedby"] == []


def test_login(srv):
    h = {"Content-Type": "application/json", "Ozeki-Station": "801c91e6466a1ab34945d73ae4f762c6"}
    b = ok(srv.post("chatlogin", {"action": "login", "apikey": U["alice"]["apikey"]}, headers=h))
    assert b["userid"] == ALICE and b["errormessage"] == ""
    assert b["urls"]["conversation"].endswith("?srv=chatserver&api=chatconversation")
    assert b["urls"]["blocklist"].endswith("?srv=chatserver&api=chatblocklist")
    assert {"udp", "ws", "wss"} <= set(b["listeners"]) and b["rsakey"] and b["server"]
    r = srv.post("chatlogin", {"action": "login", "apikey": "nope"}, headers=h)
    assert r.status_code == 401 and r.json()["status"] == "ERROR"
    r = srv.post("chatlogin", {"action": "login", "apikey": U["alice"]["apikey"]}, headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    r = srv.post("chatlogin", {"action": "login"}, headers=h)
    assert r.status_code == 400


def test_concurrent_mutes_no_duplicates(srv):
    def work(uid):
        for _ in range(10):
            srv.act("mute", C_TEAM, uid)
    ts = [threading.Thread(target=work, args=(u,)) for u in (ADMIN, ALICE, CAROL, ADMIN, ALICE)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    m = srv.listing(ADMIN)[C_TEAM]["mutedby"]
    assert sorted(m) == sorted([BOB, ADMIN, ALICE, CAROL])


# ======================================================================= variants
def test_catalog_well_formed():
    names = [v["name"] for v in CATALOG]
    assert len(names) == len(set(names))
    assert {v["kind"] for v in CATALOG} == {"fault", "tolerated"}
    for v in CATALOG:
        assert v["what"] and v["why"]
    assert set(names) == set(WITNESS)


def _mute_ex(s, uid=ADMIN):
    return s.conv(EXAMPLE_MUTE, uid)


def w_auth_signature_ignored(s):
    r = s.conv(EXAMPLE_MUTE, headers=headers_for(ADMIN, signature="wrong"))
    return r.status_code == 200 and r.json()["status"] == "OK"


def w_auth_station_ignored(s):
    r = s.conv(EXAMPLE_MUTE, headers=headers_for(ADMIN, station="0" * 32))
    return r.status_code == 200 and r.json()["status"] == "OK"


def w_auth_missing_signature_accepted(s):
    h = {k: v for k, v in headers_for(ADMIN).items() if k != "Ozeki-Signature"}
    r = s.conv(EXAMPLE_MUTE, headers=h)
    return r.status_code == 200 and r.json()["status"] == "OK"


def w_auth_cross_user_signature(s):
    r = s.conv(EXAMPLE_MUTE, headers={**headers_for(BOB), "Ozeki-User": ALICE})
    return r.status_code == 200 and r.json()["status"] == "OK" and r.json()["conversation"]["mutedby"] == [ALICE]


def w_login_any_apikey(s):
    r = s.post("chatlogin", {"action": "login", "apikey": "nope"}, headers={"Ozeki-Station": "1" * 32})
    return r.json()["status"] == "OK" and "userid" in r.json()


def w_non_participant_allowed(s):
    r = s.act("mute", C_EX, DAVE)
    return r.status_code == 200 and r.json()["status"] == "OK" and DAVE in r.json()["conversation"]["mutedby"]


def w_mute_not_applied(s):
    c = ok(_mute_ex(s))["conversation"]
    return c["mutedby"] == [] and own(c, ADMIN)["ismuted"] is False


def w_unmute_not_applied(s):
    c = ok(s.act("unmute", C_TEAM, BOB))["conversation"]
    return BOB in c["mutedby"] and own(s.listing(BOB)[C_TEAM], BOB)["ismuted"] is True


def w_mute_duplicate_entry(s):
    ok(_mute_ex(s))
    c = ok(_mute_ex(s))["conversation"]
    return c["mutedby"] == [ADMIN, ADMIN]


def w_unmute_clears_others(s):
    ok(s.act("mute", C_TEAM, ALICE))
    c = ok(s.act("unmute", C_TEAM, ALICE))["conversation"]
    return BOB not in c["mutedby"]


def w_mute_other_party(s):
    c = ok(_mute_ex(s))["conversation"]
    return c["mutedby"] == [ALICE] and own(c, ADMIN)["ismuted"] is False


def w_mute_leaks_other_conversation(s):
    ok(s.act("mute", C_EX, ALICE))
    return own(s.listing(ALICE)[C_AB], ALICE)["ismuted"] is True


def w_unhide_not_applied(s):
    c = ok(s.act("unhide", C_BC, CAROL))["conversation"]
    return own(c, CAROL)["hideid"] != ""


def w_list_includes_foreign(s):
    return C_OPS in s.listing(ALICE)


def w_list_stale_mute(s):
    ok(s.act("mute", C_EX, ALICE))
    return own(s.listing(ALICE)[C_EX], ALICE)["ismuted"] is False


def w_blocklist_ignores_hidden(s):
    return ok(s.post("chatblocklist", {"action": "blocklist"}, CAROL))["conversations"] == []


def w_success_missing_errormessage(s):
    return "errormessage" not in _mute_ex(s).json()


def w_mutedby_string(s):
    return isinstance(ok(_mute_ex(s))["conversation"]["mutedby"], str)


def w_lastaccess_ms(s):
    return ok(_mute_ex(s))["conversation"]["lastaccess"] == 1710142205000


def w_participants_username_renamed(s):
    return "username" not in ok(_mute_ex(s))["conversation"]["participants"][0]


def w_timestamp_example_500(s):
    return _mute_ex(s).status_code == 500


# tolerated witnesses: the answer differs from the faithful one, but is still a documented answer
def t_errors_http_200(s):
    r = s.conv(EXAMPLE_MUTE, headers=headers_for(ADMIN, signature="wrong"))
    differs = r.status_code == 200
    return differs and is_error(r) and s.listing(ADMIN)[C_EX]["mutedby"] == []


def t_error_status_failed(s):
    r = s.act("mute", "0" * 32, ADMIN)
    differs = r.json()["status"] == "FAILED"
    return differs and is_error(r) and r.status_code == 404


def t_hide_hiddenby_empty(s):
    c = ok(s.act("hide", C_EX, ALICE, hideid="7sSwU2VoFM;"))["conversation"]
    check_conv_shape(c)
    return c["hiddenby"] == [] and own(c, ALICE)["hideid"] == "7sSwU2VoFM;"


def t_list_errormessage_quirk(s):
    b = ok(s.conv({"action": "list", "clientversioncode": 3, "timestamp": "2024-03-11 07:39:08"}, ALICE))
    bl = ok(s.post("chatblocklist", {"action": "blocklist"}, CAROL))
    return (b["errormessage"] == "File does not exist" and {c["id"] for c in b["conversations"]} == {C_EX, C_AB, C_TEAM}
            and bl["errormessage"] and [c["id"] for c in bl["conversations"]] == [C_BC])


def t_properties_all_participants(s):
    c = ok(_mute_ex(s))["conversation"]
    check_conv_shape(c)
    return len(c["properties"]) == 2 and own(c, ADMIN)["ismuted"] is True and own(c, ALICE)["ismuted"] is False \
        and c["mutedby"] == [ADMIN]


def t_strict_required_fields(s):
    r = s.conv({"action": "mute", "conversationid": C_EX}, ADMIN)
    differs = is_error(r)
    c = ok(_mute_ex(s))["conversation"]
    return differs and c["mutedby"] == [ADMIN]


def t_extra_fields(s):
    b = ok(_mute_ex(s))
    c = b["conversation"]
    check_conv_shape(c)
    return set(c) > CONV_KEYS and set(b) > {"status", "errormessage", "conversation"} and c["mutedby"] == [ADMIN]


def t_repeat_mute_error(s):
    r = s.act("mute", C_TEAM, BOB)  # bob already muted it in the seed
    return is_error(r) and s.listing(BOB)[C_TEAM]["mutedby"] == [BOB]


WITNESS = {n.replace("_", "-")[2:]: f for n, f in list(globals().items()) if n.startswith(("w_", "t_")) and callable(f)}


@pytest.mark.parametrize("variant", [v["name"] for v in CATALOG])
def test_variant_witness(pool, variant):
    kind = next(v["kind"] for v in CATALOG if v["name"] == variant)
    fn = WITNESS[variant]
    assert fn(pool[variant]) is True, f"{kind} variant {variant} not witnessed"
    # the same request on a fresh faithful server must give the faithful answer
    msg = "faithful server also shows fault" if kind == "fault" else "faithful server does not differ for"
    assert fn(pool[("faithful", variant)]) is False, f"{msg} {variant}"
