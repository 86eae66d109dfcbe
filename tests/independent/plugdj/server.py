#!/usr/bin/env python3
"""Clean-room plug.dj moderation REST server (mutes, bans, waitlist bans, ignores, chat delete, auth).

Written only from the plugcommunity/documentation mutes excerpt and vendors.md section 2 / 6.
Run:  python tests/independent/plugdj/server.py --host 127.0.0.1 --port 0 [--variant NAME] [--seed FILE]
"""
import argparse
import json
import math
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path):
    with open(path) as f:
        return yaml.load(f, Loader=_Loader)

NONE, DJ, BOUNCER, MANAGER, COHOST, HOST = 0, 1000, 2000, 3000, 4000, 5000
NOT_AUTH_MSG = "You are not authorized to access this resource."
MUTE_SECONDS = {"s": 15 * 60, "m": 30 * 60, "l": 45 * 60}
BAN_SECONDS = {"h": 3600, "d": 86400, "f": None}
WLBAN_SECONDS = {"s": 15 * 60, "m": 30 * 60, "l": 45 * 60, "f": None}
MAX_BODY = 1 << 20

VARIANT = None  # set from --variant


def v(name):
    return VARIANT == name


class ApiError(Exception):
    def __init__(self, http, status, data=None):
        super().__init__(status)
        self.http = http
        self.status = status
        self.data = [] if data is None else data


def not_authorized(http=403):
    if v("notauth_status_string"):
        return ApiError(http, "unauthorized", [NOT_AUTH_MSG])
    if v("notauth_message_wrong"):
        return ApiError(http, "notAuthorized", ["Not authorized"])
    return ApiError(http, "notAuthorized", [NOT_AUTH_MSG])


def request_error(msg=None, http=400):
    return ApiError(http, "requestError", [] if msg is None else [msg])


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class State:
    def __init__(self, seed):
        self.lock = threading.RLock()
        now = time.time()
        self.users = {}
        self.by_email = {}
        for u in seed.get("users") or []:
            uid = int(u["id"])
            self.users[uid] = {
                "id": uid, "username": str(u["username"]), "email": str(u.get("email", "")),
                "password": str(u.get("password", "")), "gRole": int(u.get("gRole", 0) or 0),
                "room": u.get("current_room"),
            }
            self.by_email[str(u.get("email", "")).lower()] = uid
        # session value -> {"user": uid|None, "csrf": str|None}
        self.sessions = {}
        for val, uid in (seed.get("sessions") or {}).items():
            self.sessions[str(val)] = {"user": int(uid), "csrf": None}
        self.rooms = {}
        for r in seed.get("rooms") or []:
            slug = str(r["slug"])
            room = {
                "id": int(r["id"]), "slug": slug, "name": str(r.get("name", slug)),
                "host": int(r["host"]),
                "staff": {int(k): int(val) for k, val in (r.get("staff") or {}).items()},
                "mutes": {}, "bans": {}, "wlbans": {}, "chat": {},
            }
            for m in r.get("mutes") or []:
                room["mutes"][int(m["user"])] = {
                    "moderator": int(m["moderator"]), "reason": int(m["reason"]),
                    "duration": str(m["duration"]), "start": now,
                    "expires_at": now + float(m["remaining_seconds"]),
                }
            for b in r.get("bans") or []:
                d = str(b["duration"])
                secs = BAN_SECONDS.get(d)
                room["bans"][int(b["user"])] = {
                    "moderator": int(b["moderator"]), "reason": int(b["reason"]), "duration": d,
                    "start": now, "expires_at": None if secs is None else now + float(b.get("remaining_seconds", secs)),
                }
            for b in r.get("waitlist_bans") or []:
                d = str(b["duration"])
                secs = WLBAN_SECONDS.get(d)
                room["wlbans"][int(b["user"])] = {
                    "moderator": int(b["moderator"]), "reason": int(b["reason"]), "duration": d,
                    "start": now, "expires_at": None if secs is None else now + float(b.get("remaining_seconds", secs)),
                }
            for c in r.get("chat") or []:
                room["chat"][str(c["cid"])] = {"uid": int(c["uid"]), "message": str(c.get("message", ""))}
            self.rooms[slug] = room
        self.ignores = {int(k): [int(x) for x in val] for k, val in (seed.get("ignores") or {}).items()}

    def role(self, room, uid):
        return room["staff"].get(uid, NONE)


STATE = None


# ---------------------------------------------------------------- helpers

def caller(ctx):
    """Return the logged-in user dict or raise notAuthorized (401)."""
    sess = ctx["session"]
    if v("get_mutes_no_auth") and ctx["route"] == "GET mutes" and not sess:
        # bug: an unauthenticated GET falls back to the room host
        return STATE.users[STATE.rooms["chill-lounge"]["host"]]
    if sess is not None:
        rec = STATE.sessions.get(sess)
        if rec and rec["user"] is not None and rec["user"] in STATE.users:
            return STATE.users[rec["user"]]
        if v("session_userid_only"):
            m = re.match(r"^(\d{1,12})\|", sess)
            if m and int(m.group(1)) in STATE.users:
                return STATE.users[int(m.group(1))]
    raise not_authorized(403 if v("errors_all_403") else 401)


def current_room(user):
    slug = user.get("room")
    room = STATE.rooms.get(slug) if slug else None
    if room is None:
        raise request_error("Not in a room")
    return room


def require_mod(room, user, perm_error=None):
    need = DJ if v("dj_can_mute") else BOUNCER
    if v("member_can_mute") and perm_error is None:
        need = NONE
    if STATE.role(room, user["id"]) < need:
        if perm_error is not None:
            raise perm_error
        if v("perm_error_requesterror"):
            raise ApiError(403, "requestError", [NOT_AUTH_MSG])
        raise not_authorized(403)


def body_obj(ctx):
    b = ctx["body"]
    if not isinstance(b, dict):
        raise request_error("Invalid request body")
    return b


def parse_user_id_value(val, field="userID"):
    if not is_int(val):
        raise request_error("Not a valid %s" % field)
    return val


def parse_path_id(s, field="userID"):
    if s is None or s == "":
        raise request_error("%s is required" % field)
    if not re.fullmatch(r"-?[0-9]{1,30}", s):
        raise request_error("Not a valid %s" % field)
    return int(s)


def remaining(entry, now):
    if entry["expires_at"] is None:
        return None
    return entry["expires_at"] - now


def active(entry, now):
    return entry["expires_at"] is None or entry["expires_at"] > now


def purge(d, now):
    for k in [k for k, e in d.items() if not active(e, now)]:
        del d[k]


def uname(uid):
    u = STATE.users.get(uid)
    return u["username"] if u else ""


# ---------------------------------------------------------------- mutes

def get_mutes(ctx):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user)
    now = time.time()
    rooms = list(STATE.rooms.values()) if v("get_lists_all_rooms") else [room]
    out = []
    for r in rooms:
        if not v("expired_still_listed"):
            purge(r["mutes"], now)
        items = r["mutes"].items()
        if v("remute_duplicates"):
            items = [(uid, e) for uid, lst in r.setdefault("_dups", {}).items() for e in lst] + list(items)
        for uid, e in items:
            rem = remaining(e, now)
            if v("expires_full_duration"):
                expires = MUTE_SECONDS.get(e["duration"], int(round(e["expires_at"] - e["start"])))
            else:
                expires = int(math.ceil(rem)) if rem > 0 else (int(math.floor(rem)) if v("expired_still_listed") else 0)
            if v("expires_ms"):
                expires = expires * 1000
            item = {"expires": expires, "moderator": uname(e["moderator"]), "reason": e["reason"]}
            if v("get_id_renamed"):
                item["userID"] = uid
            else:
                item["id"] = uid
            item["username"] = uname(uid)
            if v("extra_moderator_id"):
                item["moderatorID"] = e["moderator"]
            out.append(item)
    return out


def post_mutes(ctx):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user)
    b = body_obj(ctx)
    if v("example_values_500") and b.get("userID") == -1 and b.get("duration") == "x":
        raise ApiError(500, "serverError", ["Internal server error"])
    if b.get("userID") is None:
        raise request_error("userID is required")
    reason = b.get("reason")
    if reason is None:
        if v("missing_reason_accepted"):
            reason = 1
        else:
            if v("required_error_no_data"):
                raise ApiError(400, "requestError", False)
            raise request_error("reason is required")
    target_id = parse_user_id_value(b.get("userID"))
    hi = 6 if v("reason_6_accepted") else 5
    if not is_int(reason) or not (1 <= reason <= hi):
        raise request_error("Not a valid mute reason")
    duration = b.get("duration")
    if duration is None:
        if v("duration_required"):
            raise request_error("duration is required")
        duration = "l" if v("default_duration_long") else "s"
    if not isinstance(duration, str) or duration not in MUTE_SECONDS:
        raise request_error("Not a valid mute duration")
    target = STATE.users.get(target_id)
    if target is None:
        raise request_error(None)
    if not v("rank_check_missing") and not v("member_can_mute") and STATE.role(room, target_id) >= STATE.role(room, user["id"]):
        raise request_error("This user cannot be muted", http=403)
    now = time.time()
    secs = MUTE_SECONDS[duration]
    if v("duration_l_60min") and duration == "l":
        secs = 3600
    purge(room["mutes"], now)
    if v("remute_already_muted_error") and target_id in room["mutes"]:
        raise request_error("This user is already muted")
    if v("mute_not_applied"):
        return []
    entry = {"moderator": user["id"], "reason": reason, "duration": duration,
             "start": now, "expires_at": now + secs}
    key = target_id
    if v("mute_swaps_parties"):
        entry["moderator"] = target_id
        key = user["id"]
    if v("remute_duplicates") and key in room["mutes"]:
        room.setdefault("_dups", {}).setdefault(key, []).append(room["mutes"][key])
    targets = list(STATE.rooms.values()) if v("mute_applies_all_rooms") else [room]
    for r in targets:
        r["mutes"][key] = dict(entry)
    if v("success_data_object"):
        return {}
    return []


def delete_mutes(ctx, uid_s):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user)
    target_id = parse_path_id(uid_s)
    if target_id not in STATE.users:
        raise request_error(None)
    now = time.time()
    purge(room["mutes"], now)
    if v("delete_clears_all_mutes"):
        room["mutes"].clear()
        return []
    if target_id not in room["mutes"] and v("unmute_not_muted_error"):
        raise request_error("This user is not muted")
    if v("unmute_not_applied"):
        return []
    targets = list(STATE.rooms.values()) if v("unmute_leaks_other_rooms") else [room]
    for r in targets:
        r["mutes"].pop(target_id, None)
        r.get("_dups", {}).pop(target_id, None)
    return []


# ---------------------------------------------------------------- bans / waitlist bans

def list_bans(d, now):
    purge(d, now)
    out = []
    for uid, e in d.items():
        rem = remaining(e, now)
        out.append({"id": uid, "username": uname(uid), "moderator": uname(e["moderator"]),
                    "reason": e["reason"], "duration": e["duration"],
                    "expires": None if rem is None else int(math.ceil(rem))})
    return out


def get_bans(ctx):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user)
    return list_bans(room["bans"], time.time())


def _ban_body(b, durations, dur_msg, reason_msg):
    if b.get("userID") is None:
        raise request_error("userID is required")
    if b.get("reason") is None:
        raise request_error("reason is required")
    if b.get("duration") is None:
        raise request_error("duration is required")
    target_id = parse_user_id_value(b["userID"])
    reason = b["reason"]
    if not is_int(reason) or not (1 <= reason <= 5):
        raise request_error(reason_msg)
    duration = b["duration"]
    if not isinstance(duration, str) or duration not in durations:
        raise request_error(dur_msg)
    return target_id, reason, duration


def post_bans_add(ctx):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user)
    b = body_obj(ctx)
    target_id, reason, duration = _ban_body(b, BAN_SECONDS, "Not a valid ban duration", "Not a valid ban reason")
    if target_id not in STATE.users:
        raise request_error(None)
    if STATE.role(room, target_id) >= STATE.role(room, user["id"]):
        raise request_error("Cannot ban a higher ranking user", http=403)
    if duration == "f" and STATE.role(room, user["id"]) < MANAGER and not v("bouncer_perm_ban"):
        raise request_error("Nice try buddy, bouncers can't perm ban", http=403)
    now = time.time()
    secs = BAN_SECONDS[duration]
    room["bans"][target_id] = {"moderator": user["id"], "reason": reason, "duration": duration,
                               "start": now, "expires_at": None if secs is None else now + secs}
    target = STATE.users[target_id]
    if target.get("room") == room["slug"]:
        target["room"] = None
    return []


def delete_bans(ctx, uid_s):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user)
    target_id = parse_path_id(uid_s)
    if target_id not in STATE.users:
        raise request_error(None)
    room["bans"].pop(target_id, None)
    return []


def get_wlban(ctx):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user, perm_error=request_error("Not a moderator", http=403))
    return list_bans(room["wlbans"], time.time())


def post_wlban(ctx):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user, perm_error=request_error("Not a moderator", http=403))
    b = body_obj(ctx)
    target_id, reason, duration = _ban_body(b, WLBAN_SECONDS, "Not a valid ban duration", "Not a valid ban reason")
    target = STATE.users.get(target_id)
    if target is None:
        raise request_error(None)
    if target["gRole"] > 0:
        raise request_error("That user is too powerful to ban", http=403)
    if STATE.role(room, target_id) >= STATE.role(room, user["id"]):
        raise request_error("Cannot ban a >= ranking user", http=403)
    if duration == "f" and STATE.role(room, user["id"]) < MANAGER:
        raise request_error("Nice try buddy, bouncers can't perm ban", http=403)
    now = time.time()
    secs = WLBAN_SECONDS[duration]
    room["wlbans"][target_id] = {"moderator": user["id"], "reason": reason, "duration": duration,
                                 "start": now, "expires_at": None if secs is None else now + secs}
    return []


def delete_wlban(ctx, uid_s):
    user = caller(ctx)
    room = current_room(user)
    require_mod(room, user, perm_error=request_error("Not a moderator", http=403))
    target_id = parse_path_id(uid_s)
    if target_id not in STATE.users:
        raise request_error(None)
    room["wlbans"].pop(target_id, None)
    return []


# ---------------------------------------------------------------- ignores

def get_ignores(ctx):
    user = caller(ctx)
    return [{"id": i, "username": uname(i)} for i in STATE.ignores.get(user["id"], [])]


def post_ignores(ctx):
    user = caller(ctx)
    b = body_obj(ctx)
    if b.get("id") is None:
        raise request_error("id is required")
    tid = parse_user_id_value(b["id"], "id")
    if tid not in STATE.users:
        raise request_error(None)
    if tid == user["id"]:
        raise request_error("You cannot ignore yourself")
    lst = STATE.ignores.setdefault(user["id"], [])
    if tid not in lst:
        lst.append(tid)
    return [{"id": tid, "username": uname(tid)}]


def delete_ignores(ctx, id_s):
    user = caller(ctx)
    tid = parse_path_id(id_s, "id")
    lst = STATE.ignores.setdefault(user["id"], [])
    if tid in lst:
        lst.remove(tid)
    return []


# ---------------------------------------------------------------- chat / rooms

def delete_chat(ctx, cid):
    user = caller(ctx)
    room = current_room(user)
    if not cid:
        raise request_error("cid is required")
    msg = room["chat"].get(cid)
    if msg is None:
        raise ApiError(404, "notFound", [])
    if msg["uid"] != user["id"] and STATE.role(room, user["id"]) < BOUNCER:
        raise not_authorized(403)
    del room["chat"][cid]
    return []


def get_room_state(ctx):
    user = caller(ctx)
    room = current_room(user)
    now = time.time()
    purge(room["mutes"], now)
    mutes = {str(uid): int(math.ceil(remaining(e, now))) for uid, e in room["mutes"].items()}
    users = [u["id"] for u in STATE.users.values() if u.get("room") == room["slug"]]
    return [{"meta": {"id": room["id"], "slug": room["slug"], "name": room["name"], "hostID": room["host"]},
             "mutes": mutes, "role": STATE.role(room, user["id"]), "users": users}]


def post_rooms_join(ctx):
    user = caller(ctx)
    b = body_obj(ctx)
    slug = b.get("slug")
    if slug is None:
        raise request_error("slug is required")
    if not isinstance(slug, str):
        raise request_error("Not a valid slug")
    room = STATE.rooms.get(slug)
    if room is None:
        raise ApiError(404, "notFound", [])
    now = time.time()
    purge(room["bans"], now)
    ban = room["bans"].get(user["id"])
    if ban is not None:
        rem = remaining(ban, now)
        raise ApiError(403, "ban", [{"r": ban["reason"], "l": None if rem is None else int(math.ceil(rem))}])
    user["room"] = slug
    return []


# ---------------------------------------------------------------- auth

def get_mobile_init(ctx):
    sess = ctx["session"]
    rec = STATE.sessions.get(sess) if sess else None
    if rec is None:
        sess = "anon|" + secrets.token_hex(16)
        rec = {"user": None, "csrf": None}
        STATE.sessions[sess] = rec
        ctx["set_cookie"] = sess
    rec["csrf"] = secrets.token_hex(16)
    return [{"c": rec["csrf"], "t": int(time.time())}]


def post_auth_login(ctx):
    sess = ctx["session"]
    rec = STATE.sessions.get(sess) if sess else None
    b = body_obj(ctx)
    csrf = b.get("csrf")
    if rec is None or not rec.get("csrf") or not isinstance(csrf, str) or not secrets.compare_digest(csrf, rec["csrf"]):
        raise ApiError(403, "csrfTokenInvalid", [])
    email, password = b.get("email"), b.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise request_error("Missing email or password")
    uid = STATE.by_email.get(email.lower())
    if uid is None or not secrets.compare_digest(STATE.users[uid]["password"], password):
        raise ApiError(401, "badLogin", [])
    del STATE.sessions[sess]
    new = "%d|%s" % (uid, secrets.token_hex(16))
    STATE.sessions[new] = {"user": uid, "csrf": None}
    ctx["set_cookie"] = new
    return []


def get_auth_token(ctx):
    user = caller(ctx)
    return ["%d:%s" % (user["id"], secrets.token_hex(16))]


def delete_auth_session(ctx):
    caller(ctx)
    STATE.sessions.pop(ctx["session"], None)
    return []


# ---------------------------------------------------------------- routing

ROUTES = [
    # (regex, {method: (route-name, fn)})
    (r"/_/mutes/?", {"GET": ("GET mutes", get_mutes), "POST": ("POST mutes", post_mutes),
                     "DELETE": ("DELETE mutes", lambda c: delete_mutes(c, ""))}),
    (r"/_/mutes/([^/]*)", {"DELETE": ("DELETE mutes", delete_mutes)}),
    (r"/_/bans/?", {"GET": ("GET bans", get_bans)}),
    (r"/_/bans/add/?", {"POST": ("POST bans", post_bans_add)}),
    (r"/_/bans/([^/]*)", {"DELETE": ("DELETE bans", delete_bans)}),
    (r"/_/booth/waitlistban/?", {"GET": ("GET wlban", get_wlban), "POST": ("POST wlban", post_wlban),
                                 "DELETE": ("DELETE wlban", lambda c: delete_wlban(c, ""))}),
    (r"/_/booth/waitlistban/([^/]*)", {"DELETE": ("DELETE wlban", delete_wlban)}),
    (r"/_/ignores/?", {"GET": ("GET ignores", get_ignores), "POST": ("POST ignores", post_ignores),
                       "DELETE": ("DELETE ignores", lambda c: delete_ignores(c, ""))}),
    (r"/_/ignores/([^/]*)", {"DELETE": ("DELETE ignores", delete_ignores)}),
    (r"/_/chat/([^/]*)", {"DELETE": ("DELETE chat", delete_chat)}),
    (r"/_/rooms/state/?", {"GET": ("GET state", get_room_state)}),
    (r"/_/rooms/join/?", {"POST": ("POST join", post_rooms_join)}),
    (r"/_/mobile/init/?", {"GET": ("GET init", get_mobile_init)}),
    (r"/_/auth/login/?", {"POST": ("POST login", post_auth_login)}),
    (r"/_/auth/token/?", {"GET": ("GET token", get_auth_token)}),
    (r"/_/auth/session/?", {"DELETE": ("DELETE session", delete_auth_session)}),
]
ROUTES = [(re.compile(p), m) for p, m in ROUTES]


def parse_cookie(header):
    if not header:
        return None
    for part in header.split(";"):
        k, sep, val = part.strip().partition("=")
        if sep and k.strip() == "session":
            val = val.strip()
            if len(val) >= 2 and val[0] == val[-1] == '"':
                val = val[1:-1]
            try:
                return unquote(val)
            except Exception:
                return val
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "plugdj-cleanroom/1.0"
    timeout = 30  # a client that announces more body than it sends cannot pin a thread forever

    def log_message(self, fmt, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def _send(self, http, status, data, set_cookie=None, started=None):
        elapsed = (time.perf_counter() - started) * 1000.0 if started else 0.0
        if http >= 400 and v("errors_minimal_body"):
            body = {"data": data, "status": status}
        elif data is False:
            body = {"meta": {}, "status": status, "time": elapsed}  # fault required_error_no_data
        else:
            body = {"data": data, "meta": {}, "status": status,
                    "time": ("%.11f" % elapsed) if v("time_as_string") else elapsed}
        raw = json.dumps(body).encode()
        self.send_response(http)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        if set_cookie:
            self.send_header("Set-Cookie", "session=%s; Path=/; HttpOnly" % set_cookie)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(raw)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []

    def _handle(self):
        started = time.perf_counter()
        try:
            self._dispatch(started)
        except Exception:  # never a 500 for bad input; last-resort safety net
            try:
                self.close_connection = True
                self._send(400, "requestError", ["Bad request"], started=started)
            except Exception:
                pass

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te and "chunked" in te.lower():
            self.close_connection = True
            raise request_error("Chunked bodies are not supported")
        cl = self.headers.get_all("Content-Length") or []
        if not cl:
            return b""
        if len(set(x.strip() for x in cl)) != 1 or not re.fullmatch(r"\d{1,9}", cl[0].strip()):
            self.close_connection = True
            raise request_error("Invalid Content-Length")
        n = int(cl[0].strip())
        if n > MAX_BODY:
            self.close_connection = True
            raise request_error("Request body too large")
        return self.rfile.read(n) if n else b""

    def _dispatch(self, started):
        try:
            path = urlsplit(self.path).path
        except Exception:
            path = self.path
        try:
            path = unquote(path, errors="strict")
        except Exception:
            pass
        ctx = {"session": parse_cookie(self.headers.get("Cookie")), "body": None, "set_cookie": None, "route": None}
        try:
            raw = self._read_body()
        except ApiError as e:
            self._send(e.http, e.status, e.data, started=started)
            return
        fn = None
        args = ()
        known_path = False
        for rx, methods in ROUTES:
            m = rx.fullmatch(path)
            if m:
                known_path = True
                if self.command in methods:
                    ctx["route"], fn = methods[self.command]
                    args = m.groups()
                    break
        if fn is None:
            if known_path:
                self._send(405, "requestError", ["Method not allowed"], started=started)
            else:
                self._send(404, "notFound", [], started=started)
            return
        if raw.strip():
            try:
                ctx["body"] = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError, RecursionError):
                ctx["body"] = ValueError  # sentinel: malformed JSON
        else:
            ctx["body"] = {}
        try:
            with STATE.lock:
                if ctx["body"] is ValueError and self.command in ("POST", "PUT"):
                    # authentication first, then the body
                    if ctx["route"] not in ("POST login",):
                        caller(ctx)
                    raise request_error("Invalid JSON body")
                if ctx["body"] is ValueError:
                    ctx["body"] = {}
                data = fn(ctx, *args)
            self._send(200, "ok", data, set_cookie=ctx["set_cookie"], started=started)
        except ApiError as e:
            self._send(e.http, e.status, e.data, set_cookie=ctx.get("set_cookie"), started=started)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _handle


def load_catalog_names():
    try:
        cat = load_yaml(os.path.join(HERE, "catalog.yaml")) or {}
        return {x["name"] for x in cat.get("variants") or []}
    except Exception:
        return None


def main():
    global STATE, VARIANT
    holder = {}

    def stop(signum, frame):
        httpd = holder.get("httpd")
        if httpd is None:
            sys.exit(0)
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--variant", default=None)
    ap.add_argument("--seed", default=os.path.join(HERE, "seed.yaml"))
    a = ap.parse_args()
    if a.variant:
        names = load_catalog_names()
        if names is not None and a.variant not in names:
            print("unknown variant: %s" % a.variant, file=sys.stderr)
            sys.exit(2)
        VARIANT = a.variant
    STATE = State(load_yaml(a.seed) or {})

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    httpd = ThreadingHTTPServer((a.host, a.port), Handler)
    holder["httpd"] = httpd
    host, port = httpd.server_address[:2]
    print("listening http://%s:%d" % (host, port), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.05)
    finally:
        httpd.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
