#!/usr/bin/env python3
"""Clean-room Agora Chat (Easemob) chat room mute-list server.

Implements, for the org/app URL form (and the app-id form) of vendors.md 4.1:
  POST   /{org}/{app}/chatrooms/{id}/mute            mute members
  DELETE /{org}/{app}/chatrooms/{id}/mute/{members}  unmute members (comma list, %2C)
  GET    /{org}/{app}/chatrooms/{id}/mute            list muted members
  POST   /{org}/{app}/chatrooms/{id}/ban             mute all
  DELETE /{org}/{app}/chatrooms/{id}/ban             unmute all
  GET    /{org}/{app}/chatrooms/{id}                 room detail (shows the `mute` flag, 4.7)

Usage: python server.py --host 127.0.0.1 --port 0 [--variant NAME] [--seed PATH]
Stdlib only (plus pyyaml for the seed).
"""
import argparse
import collections
import json
import math
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
LONG_MAX = 2 ** 63 - 1
MAX_BODY = 1 << 20
RATE_LIMIT = 100  # per app key, per method, per second (vendors.md 4.1)
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{16,1024}$")
FAR_FUTURE = LONG_MAX

VARIANTS = {
    # faults
    "mute_nonmember_ok", "notfound_status_400", "error_no_description",
    "forbidden_op_misnamed", "mute_expire_renamed", "expire_in_seconds",
    "result_as_string", "auth_unknown_token_ok", "auth_missing_ok",
    "auth_expired_ok", "auth_cross_app_ok", "member_user_token_ok",
    "unmute_not_applied", "mute_leaks_other_room", "list_all_rooms",
    "remute_duplicates", "mute_limit_61", "permanent_mute_expires",
    "expired_mute_listed", "unmute_comma_not_split", "muteall_not_applied",
    "room_id_int32_500", "ratelimit_missing", "bad_json_500",
    # tolerated
    "notfound_service_resource", "forbidden_op_403", "permanent_far_future",
    "muteall_table_shape", "owner_user_token", "auth_all_unauthorized",
    "agora_example_actions", "missing_duration_permanent",
}

EXC = {
    "unauthorized": "UnauthorizedException",
    "auth_bad_access_token": "org.apache.usergrid.rest.exceptions.SecurityException",
    "resource_not_found": "EasemobResourceNotFoundException",
    "service_resource_not_found": "ServiceResourceNotFoundException",
    "forbidden_op": "EasemobForbiddenOpException",
    "forbidden": "EasemobForbiddenOpException",
    "invalid_parameter": "EasemobInvalidParameterException",
    "json_parse": "com.fasterxml.jackson.core.JsonParseException",
    "illegal_argument": "java.lang.IllegalArgumentException",
    "reach_limit": "EasemobReachLimitException",
    "web_application": "javax.ws.rs.WebApplicationException",
    "unsupported_service_operation": "UnsupportedServiceOperationException",
    "internal_error": "java.lang.NumberFormatException",
}


def now_ms():
    return int(time.time() * 1000)


class ApiError(Exception):
    def __init__(self, status, error, description):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class State:
    def __init__(self, seed, variant):
        self.v = variant
        self.lock = threading.RLock()
        self.apps = {}      # app_name -> app dict
        self.app_ids = {}   # app_id -> app_name
        self.tokens = {}
        self.users = {}     # app -> set
        self.rooms = {}     # app -> {room_id: room}
        self.rate = collections.defaultdict(collections.deque)
        for a in seed.get("apps", []):
            self.apps[a["app_name"]] = dict(a)
            self.app_ids[str(a["app_id"])] = a["app_name"]
        for t in seed.get("tokens", []):
            self.tokens[t["token"]] = dict(t)
        for app, ul in (seed.get("users") or {}).items():
            flat = set()
            for u in ul:
                if isinstance(u, list):
                    flat.update(str(x) for x in u)
                else:
                    flat.add(str(u))
            self.users[app] = flat
        for app, rl in (seed.get("chatrooms") or {}).items():
            rooms = {}
            for r in rl:
                mutes = collections.OrderedDict()
                for u, e in (r.get("mutes") or {}).items():
                    mutes[str(u)] = [int(e)]  # list of expiries (list to allow dup variant)
                rooms[str(r["id"])] = {
                    "id": str(r["id"]), "name": r.get("name", ""),
                    "owner": r["owner"], "admins": list(r.get("admins") or []),
                    "members": [str(m) for m in r.get("members") or []],
                    "mute_all": bool(r.get("mute_all")),
                    "mutes": mutes, "created": 1642148173726,
                }
            self.rooms[app] = rooms


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "agora-cleanroom/1.0"
    st = None  # set in main

    def log_message(self, fmt, *args):  # quiet
        pass

    # ------------------------------------------------------------------ io
    def _send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, e):
        st = self.st
        status, err, desc = e.status, e.error, e.description
        if err == "resource_not_found":
            if "notfound_service_resource" in st.v:
                err, desc = "service_resource_not_found", "Service resource not found."
            if "notfound_status_400" in st.v:
                status = 400
        if err == "forbidden_op":
            if "forbidden_op_403" in st.v:
                status = 403
            if "forbidden_op_misnamed" in st.v:
                err = "forbidden"
        if status == 401 and "auth_all_unauthorized" in st.v:
            err, desc = "unauthorized", "Unable to authenticate (OAuth)"
        body = {"error": err, "exception": EXC.get(err, "EasemobException"),
                "timestamp": now_ms(), "duration": max(0, now_ms() - self.t0),
                "error_description": desc}
        if "error_no_description" in st.v:
            del body["error_description"]
        self._send(status, body)

    def _ok(self, action, data, app, path):
        st = self.st
        a = st.apps[app]
        self._send(200, {
            "action": action,
            "application": a.get("application", ""),
            "applicationName": app,
            "organization": a["org_name"],
            "uri": "http://%s:%d%s" % (self.server.server_address[0],
                                       self.server.server_address[1], path),
            "entities": [],
            "data": data,
            "timestamp": now_ms(),
            "duration": max(0, now_ms() - self.t0),
        })

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te:
            self.close_connection = True
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl.strip())
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        return self.rfile.read(n) if n else b""

    # ------------------------------------------------------------ dispatch
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    def _dispatch(self, method):
        self.t0 = now_ms()
        try:
            try:
                body = self._read_body()
            except ApiError:
                body = None
                raise
            self._route(method, body)
        except ApiError as e:
            self._error(e)
        except Exception:  # never a 500 page; a generic 400 instead
            try:
                self._error(ApiError(400, "illegal_argument", "This is an invalid request."))
            except Exception:
                pass

    def _route(self, method, body):
        raw = self.path.split("?", 1)[0].split("#", 1)[0]
        if raw.startswith("http://") or raw.startswith("https://"):
            raw = "/" + raw.split("/", 3)[3] if raw.count("/") >= 3 else "/"
        segs = [urllib.parse.unquote(s, errors="replace") for s in raw.split("/")[1:]]
        if segs and segs[-1] == "":
            segs = segs[:-1]
        # normalise app-id form to (org, app)
        app = None
        if len(segs) >= 2 and segs[0] == "app-id":
            app = self.st.app_ids.get(segs[1])
            app_known = app is not None
            rest = segs[2:]
        elif len(segs) >= 2:
            a = self.st.apps.get(segs[1])
            app_known = a is not None and a["org_name"] == segs[0]
            app = segs[1] if app_known else None
            rest = segs[2:]
        else:
            rest = None
        if rest is None or len(rest) < 2 or rest[0] != "chatrooms":
            raise ApiError(404, "service_resource_not_found", "Service resource not found.")
        room_id = rest[1]
        tail = rest[2:]
        if tail == ["mute"]:
            ops = {"POST": "mute", "GET": "list"}
        elif len(tail) == 2 and tail[0] == "mute":
            ops = {"DELETE": "unmute"}
        elif tail == ["ban"]:
            ops = {"POST": "muteall", "DELETE": "unmuteall"}
        elif tail == []:
            ops = {"GET": "detail"}
        else:
            raise ApiError(404, "service_resource_not_found", "Service resource not found.")
        op = ops.get(method)
        if op is None:
            raise ApiError(405, "unsupported_service_operation", "Service operation not supported.")
        st = self.st
        token = self._auth(app if app_known else None, room_id)
        if "room_id_int32_500" in st.v:
            try:
                if int(room_id) > 2 ** 31 - 1:
                    self._send(500, {"error": "internal_error", "exception": EXC["internal_error"],
                                     "timestamp": now_ms(), "duration": 0,
                                     "error_description": "For input string: \"%s\"" % room_id})
                    return
            except ValueError:
                pass
        with st.lock:
            if op != "detail":
                self._rate(app, op)
            payload = None
            if op == "mute":
                payload = self._parse_json(body)
            room = st.rooms.get(app, {}).get(room_id)
            if room is None:
                raise ApiError(404, "resource_not_found", "grpID %s does not exist!" % room_id)
            self._privilege(token, room)
            path = raw
            if op == "mute":
                data = self._mute(app, room, payload)
                self._ok("post", data, app, path)
            elif op == "unmute":
                data = self._unmute(room, tail[1])
                self._ok("delete", data, app, path)
            elif op == "list":
                data = self._list(app, room)
                self._ok("post" if "agora_example_actions" in st.v else "get", data, app, path)
            elif op == "muteall":
                if "muteall_not_applied" not in st.v:
                    room["mute_all"] = True
                data = {"result": True, "expire": -1} if "muteall_table_shape" in st.v else {"mute": True}
                self._ok("put" if "agora_example_actions" in st.v else "post", data, app, path)
            elif op == "unmuteall":
                room["mute_all"] = False
                data = {"result": True} if "muteall_table_shape" in st.v else {"mute": False}
                self._ok("put" if "agora_example_actions" in st.v else "delete", data, app, path)
            else:
                self._ok("get", [self._detail(room)], app, path)

    # ----------------------------------------------------------------- auth
    def _auth(self, app, room_id):
        st = self.st
        h = self.headers.get("Authorization")
        if h is None or h.strip() == "" or h.strip() == "Bearer":
            if "auth_missing_ok" in st.v:
                return {"kind": "app", "app": app}
            raise ApiError(401, "unauthorized", "Unable to authenticate due to expired access token.")
        if not h.startswith("Bearer "):
            raise ApiError(401, "auth_bad_access_token",
                           "Unable to authenticate due to corrupt access token.")
        tok = h[len("Bearer "):]
        if not TOKEN_RE.match(tok):
            raise ApiError(401, "auth_bad_access_token",
                           "Unable to authenticate due to corrupt access token.")
        t = st.tokens.get(tok)
        if t is None:
            if "auth_unknown_token_ok" in st.v:
                return {"kind": "app", "app": app}
            raise ApiError(401, "auth_bad_access_token", "Unable to authenticate.")
        if t["app"] != app and "auth_cross_app_ok" not in st.v:
            raise ApiError(401, "auth_bad_access_token", "Unable to authenticate.")
        if int(t.get("expires_at", LONG_MAX)) <= now_ms() and "auth_expired_ok" not in st.v:
            raise ApiError(401, "unauthorized", "Unable to authenticate due to expired access token.")
        if app is None:
            # app unknown: no token can be valid for it
            raise ApiError(401, "auth_bad_access_token", "Unable to authenticate.")
        if t["kind"] != "app" and not ({"member_user_token_ok", "owner_user_token"} & st.v):
            raise ApiError(401, "unauthorized", "Unable to authenticate (OAuth)")
        return t

    def _privilege(self, token, room):
        st = self.st
        if token.get("kind") == "app" or "member_user_token_ok" in st.v:
            return
        u = token.get("user")
        if u == room["owner"] or u in room["admins"]:
            return
        raise ApiError(401, "unauthorized", "Unable to authenticate (OAuth)")

    def _rate(self, app, op):
        if "ratelimit_missing" in self.st.v:
            return
        q = self.st.rate[(app, op)]
        t = time.monotonic()
        while q and q[0] <= t - 1.0:
            q.popleft()
        if len(q) >= RATE_LIMIT:
            raise ApiError(429, "reach_limit", "This request has reached API limit.")
        q.append(t)

    # ----------------------------------------------------------------- ops
    def _parse_json(self, body):
        ct = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ct != "application/json":
            raise ApiError(415, "web_application", "Unsupported Media Type.")
        if body is None:
            body = b""

        def bad_const(_):
            raise ValueError("constant")
        try:
            if "bad_json_500" in self.st.v:
                return json.loads(body.decode("utf-8"))
            return json.loads(body.decode("utf-8"), parse_constant=bad_const)
        except ApiError:
            raise
        except Exception:
            if "bad_json_500" in self.st.v:
                raise ApiError(500, "web_application", "javax.ws.rs.WebApplicationException")
            raise ApiError(400, "json_parse", "Unexpected character.")

    @staticmethod
    def _active(expires, now):
        return [e for e in expires if e == -1 or e > now]

    def _mute(self, app, room, payload):
        st = self.st
        if not isinstance(payload, dict):
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        dur = payload.get("mute_duration", None)
        if dur is None:
            if "missing_duration_permanent" in st.v and "mute_duration" not in payload:
                dur = -1
            else:
                raise ApiError(400, "illegal_argument", "This is an invalid request.")
        if isinstance(dur, bool) or not isinstance(dur, (int, float)):
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        if isinstance(dur, float):
            if not math.isfinite(dur) or dur != int(dur):
                raise ApiError(400, "illegal_argument", "This is an invalid request.")
            dur = int(dur)
        now = now_ms()
        if not (dur == -1 or 0 < dur <= LONG_MAX - now):
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        names = payload.get("usernames")
        if not isinstance(names, list) or not names:
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        if not all(isinstance(n, str) and n != "" for n in names):
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        limit = 61 if "mute_limit_61" in st.v else 60
        if len(names) > limit:
            raise ApiError(400, "invalid_parameter", "userNames size is more than max limit : 60")
        uniq = list(dict.fromkeys(names))
        members = set(room["members"]) | {room["owner"]} | set(room["admins"])
        if "mute_nonmember_ok" not in st.v:
            missing = [n for n in uniq if n not in members]
            if missing:
                raise ApiError(400, "forbidden_op",
                               "users [%s] are not members of this group!" % ", ".join(missing))
        if dur == -1:
            expire = -1
            if "permanent_mute_expires" in st.v:
                expire = now - 1
        else:
            expire = now + dur
        rooms = [room]
        if "mute_leaks_other_room" in st.v:
            rooms = [r for r in st.rooms[app].values()
                     if r is room or any(n in r["members"] for n in uniq)]
        out = []
        for n in uniq:
            for r in rooms:
                if r is not room and n not in r["members"]:
                    continue
                if "remute_duplicates" in st.v and n in r["mutes"]:
                    r["mutes"][n].append(expire)
                else:
                    r["mutes"][n] = [expire]
            shown = expire
            if expire == -1 and "permanent_far_future" in st.v:
                shown = FAR_FUTURE
            if "expire_in_seconds" in st.v and shown != -1:
                shown = shown // 1000
            item = {"result": "true" if "result_as_string" in st.v else True,
                    "expire": shown, "user": n}
            if "mute_expire_renamed" in st.v:
                item["expireTime"] = item.pop("expire")
            out.append(item)
        return out

    def _unmute(self, room, member_seg):
        st = self.st
        if "unmute_comma_not_split" in st.v:
            names = [member_seg] if member_seg else []
        else:
            names = [n for n in member_seg.split(",") if n != ""]
        if not names:
            raise ApiError(400, "illegal_argument", "This is an invalid request.")
        if len(names) > 60:
            raise ApiError(400, "invalid_parameter", "removeMute member size more than max limit :  60")
        now = now_ms()
        out = []
        for n in dict.fromkeys(names):
            exp = room["mutes"].get(n)
            ok = bool(exp and self._active(exp, now))
            if exp is not None and "unmute_not_applied" not in st.v:
                del room["mutes"][n]
            out.append({"result": "true" if ("result_as_string" in st.v and ok) else ok, "user": n})
        return out

    def _list(self, app, room):
        st = self.st
        now = now_ms()
        rooms = list(st.rooms[app].values()) if "list_all_rooms" in st.v else [room]
        out = []
        for r in rooms:
            for n, exps in list(r["mutes"].items()):
                act = exps if "expired_mute_listed" in st.v else self._active(exps, now)
                if not act and "expired_mute_listed" not in st.v:
                    del r["mutes"][n]
                    continue
                for e in act:
                    shown = e
                    if e == -1 and "permanent_far_future" in st.v:
                        shown = FAR_FUTURE
                    if "expire_in_seconds" in st.v and shown != -1:
                        shown = shown // 1000
                    out.append({"expire": shown, "user": n})
        return out

    def _detail(self, room):
        aff = [{"owner": room["owner"]}] + [{"member": m} for m in room["admins"] + room["members"]]
        return {
            "id": room["id"], "name": room["name"], "description": "",
            "membersonly": False, "allowinvites": False, "maxusers": 10000,
            "owner": room["owner"], "created": room["created"], "custom": "",
            "mute": room["mute_all"], "affiliations_count": len(aff),
            "affiliations": aff, "public": True,
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--variant", default=None)
    ap.add_argument("--seed", default=os.path.join(HERE, "seed.yaml"))
    a = ap.parse_args()
    variants = set()
    if a.variant:
        for v in a.variant.split(","):
            v = v.strip()
            if v and v not in VARIANTS:
                print("unknown variant: %s" % v, file=sys.stderr)
                sys.exit(2)
            if v:
                variants.add(v)
    with open(a.seed) as f:
        seed = yaml.safe_load(f)
    Handler.st = State(seed, variants)
    httpd = ThreadingHTTPServer((a.host, a.port), Handler)
    httpd.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    host, port = httpd.server_address[:2]
    print("listening http://%s:%d" % (host, port), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
