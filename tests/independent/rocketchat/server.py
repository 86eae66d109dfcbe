#!/usr/bin/env python3
"""Clean-room Rocket.Chat moderation REST server (in-memory, stateful).

Implements, under /api/v1:
  GET  chat.ignoreUser        ?rid=&userId=&ignore=
  GET  subscriptions.getOne   ?roomId=
  POST rooms.muteUser         {roomId, userId} | {roomId, username}
  POST rooms.unmuteUser       same body
  POST im.blockUser           {roomId, block}

Usage: python server.py --host 127.0.0.1 --port 0 [--variant a,b] [--seed seed.yaml]
See README.md for readings of the docs and catalog.yaml for the variants.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import datetime as _dt
import json
import os
import re
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = "/api/v1/"
LOGIN_MSG = "You must be logged in to do this."
MAX_BODY = 1 << 20

# Variants that are shorthands for a set of others.
ALIASES = {
    "legacy-seed": {"legacy-seed", "seed-ignore-default", "seed-missing-param-errors",
                    "doc-401-body", "no-validation"},
}
KNOWN = None  # filled from catalog.yaml when present


def now_iso() -> str:
    t = _dt.datetime.now(_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class ApiError(Exception):
    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(body.get("error") if isinstance(body, dict) else "")
        self.status = status
        self.body = body
        self.headers = headers or {}


class State:
    def __init__(self, seed: dict):
        self.lock = threading.RLock()
        self.permissions = {k: list(v) for k, v in (seed.get("permissions") or {}).items()}
        self.users: dict[str, dict] = {}
        self.by_username: dict[str, str] = {}
        self.tokens: dict[str, str] = {}  # token -> user id
        for u in seed.get("users") or []:
            uid = str(u["_id"])
            self.users[uid] = {"_id": uid, "username": str(u["username"]),
                               "name": str(u.get("name", u["username"])),
                               "roles": list(u.get("roles") or ["user"])}
            self.by_username[str(u["username"])] = uid
            if u.get("authToken"):
                self.tokens[str(u["authToken"])] = uid
        self.user_token = {v: k for k, v in self.tokens.items()}
        self.rooms: dict[str, dict] = {}
        self.subs: dict[tuple, dict] = {}  # (rid, uid) -> subscription doc
        ts = now_iso()
        for r in seed.get("rooms") or []:
            rid = str(r["_id"])
            members = r.get("members") or []
            uids = [str(m["userId"]) for m in members]
            room = {"_id": rid, "t": r.get("t", "c"), "name": r.get("name"),
                    "muted": list(r.get("muted") or []), "uids": uids}
            self.rooms[rid] = room
            for m in members:
                uid = str(m["userId"])
                user = self.users[uid]
                if room["t"] == "d":
                    other = [x for x in uids if x != uid] or [uid]
                    name = self.users[other[0]]["username"]
                    fname = self.users[other[0]]["name"]
                else:
                    name = fname = room["name"]
                sub = {"_id": hashlib.sha1(f"{rid}/{uid}".encode()).hexdigest()[:17], "rid": rid,
                       "u": {"_id": uid, "username": user["username"], "name": user["name"]},
                       "t": room["t"], "name": name, "fname": fname,
                       "open": True, "alert": False, "unread": 0,
                       "userMentions": 0, "groupMentions": 0,
                       "ts": ts, "ls": ts, "_updatedAt": ts}
                if m.get("roles"):
                    sub["roles"] = list(m["roles"])
                if m.get("ignored") is not None:
                    sub["ignored"] = [str(x) for x in m["ignored"]]
                if m.get("blocker"):
                    sub["blocker"] = True
                if m.get("blocked"):
                    sub["blocked"] = True
                self.subs[(rid, uid)] = sub


def ajv_string(v, coerce=True):
    """ajv coerceTypes for a `type: string` schema. Returns (ok, value)."""
    if isinstance(v, str):
        return True, v
    if not coerce:
        return False, v
    if isinstance(v, bool):
        return True, "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return False, v
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
            return True, str(int(v))
        return True, json.dumps(v)
    if v is None:
        return True, ""
    return False, v


def ajv_boolean(v):
    if isinstance(v, bool):
        return True, v
    if v in ("true", "false"):
        return True, v == "true"
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v in (0, 1):
        return True, v == 1
    if v is None:
        return True, False
    return False, v


class App:
    def __init__(self, seed: dict, variants: set[str]):
        self.state = State(seed)
        self.v = variants

    def has(self, name: str) -> bool:
        return name in self.v

    # ------------------------------------------------------------ helpers
    def err_type_invalid_params(self):
        return "error-invalid-params" if self.has("typed-router-errors") else "invalid-params"

    def invalid_params(self, msg: str) -> ApiError:
        et = self.err_type_invalid_params()
        body = {"success": False}
        if self.has("typed-router-errors"):
            body["error"] = msg
        else:
            body["error"] = f"{msg} [{et}]"
        if not self.has("invalid-params-no-errortype"):
            body["errorType"] = et
        return ApiError(400, body)

    @staticmethod
    def failure(msg: str, etype: str | None = None, details: dict | None = None, status=400) -> ApiError:
        body = {"success": False, "error": f"{msg} [{etype}]" if etype else msg}
        if etype:
            body["errorType"] = etype
        if details is not None:
            body["details"] = details
        return ApiError(status, body)

    def unauthorized(self) -> ApiError:
        if self.has("doc-401-body"):
            body = {"status": "error", "message": LOGIN_MSG}
        elif self.has("breaking-401-body"):
            body = {"success": False, "error": LOGIN_MSG}
        else:
            body = {"success": False, "error": LOGIN_MSG, "status": "error", "message": LOGIN_MSG}
        return ApiError(403 if self.has("auth-401-as-403") else 401, body)

    def authenticate(self, headers) -> str | None:
        uid = headers.get("X-User-Id")
        tok = headers.get("X-Auth-Token")
        st = self.state
        if self.has("auth-missing-accepted") and not uid and not tok:
            return ""  # anonymous caller reaches the handler
        if not uid or not tok:
            raise self.unauthorized()
        if self.has("auth-wrong-token-accepted"):
            if uid in st.users and uid in st.user_token:
                return uid
            raise self.unauthorized()
        owner = st.tokens.get(tok)
        if owner is None:
            raise self.unauthorized()
        if owner != uid:
            if self.has("auth-token-any-userid") and uid in st.users:
                return owner
            raise self.unauthorized()
        return owner

    def validate(self, params: dict, schema: list, required: list, extra_ok=False):
        """Mimic ajv (allErrors off): required (in order) -> additionalProperties
        -> properties (type, minLength) in schema order. schema: [(name, kind, minLength)]."""
        if not isinstance(params, dict):
            raise self.invalid_params("must be object")
        names = [s[0] for s in schema]
        order = ["required", "additional", "props"]
        if self.has("ajv-additional-first"):
            order = ["additional", "required", "props"]
        for step in order:
            if step == "required":
                for r in required:
                    if r not in params:
                        raise self.invalid_params(f"must have required property '{r}'")
            elif step == "additional":
                if not extra_ok and any(k not in names for k in params):
                    raise self.invalid_params("must NOT have additional properties")
            else:
                for name, kind, minlen in schema:
                    if name not in params:
                        continue
                    val = params[name]
                    if kind == "string":
                        ok, val = ajv_string(val)
                        if not ok:
                            raise self.invalid_params("must be string")
                        if minlen and len(val) < minlen:
                            raise self.invalid_params(f"must NOT have fewer than {minlen} characters")
                    elif kind == "boolean":
                        ok, val = ajv_boolean(val)
                        if not ok:
                            raise self.invalid_params("must be boolean")
                    params[name] = val
        return params

    def has_permission(self, uid: str, perm: str, rid: str) -> bool:
        roles = set(self.state.permissions.get(perm, []))
        user = self.state.users.get(uid)
        if user and roles & set(user["roles"]):
            return True
        sub = self.state.subs.get((rid, uid))
        return bool(sub and roles & set(sub.get("roles") or []))

    # ------------------------------------------------------------ routes
    def routes(self):
        r = {
            ("GET", "chat.ignoreUser"): self.chat_ignore_user,
            ("GET", "subscriptions.getOne"): self.subscriptions_get_one,
            ("POST", "rooms.muteUser"): lambda q, b, h: self.rooms_mute(q, b, h, True),
            ("POST", "rooms.unmuteUser"): lambda q, b, h: self.rooms_mute(q, b, h, False),
            ("POST", "im.blockUser"): self.im_block_user,
        }
        if self.has("partial"):
            r = {k: v for k, v in r.items() if k[1] in ("chat.ignoreUser", "subscriptions.getOne")}
        return r

    def ok(self, extra: dict | None = None):
        body = dict(extra or {})
        body["success"] = "true" if self.has("success-as-string") else True
        return 200, body

    def chat_ignore_user(self, query, body, headers):
        st = self.state
        if self.has("auth-after-validation"):
            self._ignore_validate(query)
        caller = self.authenticate(headers)
        params = self._ignore_validate(query)
        if "ignore" not in params:
            if self.has("missing-ignore-500"):
                raise RuntimeError("Cannot read properties of undefined (reading 'match')")
            ignore = False if self.has("ignore-missing-default-false") else True
        else:
            raw = params["ignore"]
            if self.has("ignore-flag-by-presence"):
                ignore = True
            elif self.has("strict-boolean-ignore"):
                ignore = str(raw).lower() in ("true", "1")
            else:
                ignore = bool(re.search(r"true|1", raw)) if isinstance(raw, str) else bool(raw)
        rid = params.get("rid")
        user_id = params.get("userId")
        if not isinstance(rid, str) or not rid.strip():
            raise self.failure('The required "rid" param is missing.', "error-room-id-param-not-provided")
        if not isinstance(user_id, str) or not user_id.strip():
            raise self.failure('The required "userId" param is missing.', "error-user-id-param-not-provided")
        with st.lock:
            own = st.subs.get((rid, caller))
            target = st.subs.get((rid, user_id))
            if not own or (not target and not self.has("target-subscription-not-checked")):
                etype = "error-invalid-room" if self.has("invalid-sub-wrong-errortype") else "error-invalid-subscription"
                details = None if self.has("invalid-sub-no-details") else {"method": "ignoreUser"}
                raise self.failure("Invalid subscription", etype, details)
            if self.has("ignore-written-to-target") and target:
                docs = [target]
            elif self.has("ignore-leaks-other-rooms"):
                docs = [s for (r, u), s in st.subs.items() if u == caller]
            else:
                docs = [own]
            for doc in docs:
                lst = doc.get("ignored")
                if ignore:
                    if self.has("ignore-not-applied") or self.has("partial-ignore-not-stored"):
                        continue
                    if lst is None:
                        lst = doc["ignored"] = []
                    if self.has("ignore-duplicates") or user_id not in lst:
                        lst.append(user_id)
                        doc["_updatedAt"] = now_iso()
                else:
                    if self.has("unignore-not-applied"):
                        continue
                    if lst is not None and user_id in lst:
                        doc["ignored"] = [x for x in lst if x != user_id]
                        doc["_updatedAt"] = now_iso()
        return self.ok()

    def _ignore_validate(self, query):
        params = dict(query)
        if self.has("no-validation"):
            for k in ("rid", "userId", "ignore"):
                if isinstance(params.get(k), list):
                    params[k] = params[k][0]
            return params
        required = []
        if not self.has("seed-missing-param-errors"):
            required += ["rid", "userId"]
        if not (self.has("seed-ignore-default") or self.has("ignore-missing-default-false")
                or self.has("missing-ignore-500")):
            required.append("ignore")
        return self.validate(params, [("rid", "string", 1), ("userId", "string", 1),
                                      ("ignore", "string", 1)], required)

    def subscriptions_get_one(self, query, body, headers):
        st = self.state
        caller = self.authenticate(headers)
        if self.has("no-validation"):
            params = dict(query)
        else:
            params = self.validate(dict(query), [("roomId", "string", 0)], ["roomId"])
        room_id = params.get("roomId")
        if isinstance(room_id, list):
            room_id = room_id[0]
        if not room_id:
            raise self.failure("The 'roomId' param is required")
        with st.lock:
            if self.has("getone-ignores-roomid"):
                sub = next((s for (r, u), s in st.subs.items() if u == caller), None)
            else:
                sub = st.subs.get((room_id, caller))
            sub = copy.deepcopy(sub)
        if sub is not None:
            if self.has("ignored-always-present") and "ignored" not in sub:
                sub["ignored"] = []
            if self.has("partial-getone-missing-ignored"):
                sub.pop("ignored", None)
        return self.ok({"subscription": sub})

    def _mute_validate(self, body):
        if not isinstance(body, dict):
            raise self.invalid_params("must be object")
        errs = []
        good = None
        for key in ("userId", "username"):
            try:
                good = self.validate(dict(body), [("roomId", "string", 1), (key, "string", 1)],
                                     ["roomId", key])
                errs.append(None)
            except ApiError as e:
                msg = e.body.get("error", "")
                errs.append(re.sub(r" \[[a-z-]+\]$", "", msg))
        if errs.count(None) == 1:
            return good
        msgs = [m for m in errs if m] + ["must match exactly one schema in oneOf"]
        raise self.invalid_params("\n ".join(msgs))

    def rooms_mute(self, query, body, headers, mute: bool):
        st = self.state
        caller = self.authenticate(headers)
        params = self._mute_validate(body)
        method = "muteUserInRoom" if mute else "unmuteUserInRoom"
        rid = params["roomId"]
        with st.lock:
            if "userId" in params:
                target = st.users.get(params["userId"])
            else:
                tid = st.by_username.get(params["username"])
                target = st.users.get(tid) if tid else None
            if target is None:
                raise self.failure('The required "userId" or "username" param provided does not match any users',
                                   "error-invalid-user")
            if not self.has("mute-no-permission-check") and not self.has_permission(caller, "mute-user", rid):
                raise self.failure("Not allowed", "error-not-allowed", {"method": method})
            room = st.rooms.get(rid)
            if room is None:
                raise self.failure("Invalid room", "error-invalid-room", {"method": method})
            if room["t"] not in ("c", "p") and not self.has("mute-dm-accepted"):
                raise self.failure(f"{room['t']} is not a valid room type", "error-invalid-room-type",
                                   {"method": method})
            if (rid, target["_id"]) not in st.subs:
                raise self.failure("User is not in this room", "error-user-not-in-room", {"method": method})
            uname = target["username"]
            if mute:
                if uname not in room["muted"]:
                    room["muted"].append(uname)
            else:
                room["muted"] = [x for x in room["muted"] if x != uname]
        return self.ok()

    def im_block_user(self, query, body, headers):
        st = self.state
        caller = self.authenticate(headers)
        params = self.validate(body if isinstance(body, dict) else body,
                               [("roomId", "string", 1), ("block", "boolean", 0)], ["roomId", "block"])
        rid, block = params["roomId"], params["block"]
        method = "blockUser" if block else "unblockUser"
        with st.lock:
            room = st.rooms.get(rid)
            own = st.subs.get((rid, caller))
            if room is None or own is None or room["t"] != "d":
                raise self.failure("Invalid room", "error-invalid-room", {"method": method})
            others = [u for u in room["uids"] if u != caller]
            other = st.subs.get((rid, others[0])) if others else None
            if other is None:
                raise self.failure("Invalid room", "error-invalid-room", {"method": method})
            me_key, them_key = ("blocked", "blocker") if self.has("block-flags-swapped") else ("blocker", "blocked")
            ts = now_iso()
            if block:
                own[me_key] = True
                other[them_key] = True
            else:
                own.pop(me_key, None)
                other.pop(them_key, None)
            own["_updatedAt"] = other["_updatedAt"] = ts
        return self.ok()

    # ------------------------------------------------------------ dispatch
    def handle(self, method: str, raw_path: str, headers, body_bytes: bytes):
        path, _, qs = raw_path.partition("?")
        path = path.partition("#")[0]
        qs = qs.partition("#")[0]
        not_found = (404, {"status": "error", "message": "API endpoint does not exist"})
        if not path.startswith(BASE):
            return not_found + ({},)
        name = path[len(BASE):]
        handler = self.routes().get((method, name))
        if handler is None:
            return not_found + ({},)
        query: dict = {}
        for k, v in parse_qsl(qs, keep_blank_values=True, errors="replace"):
            if k in query:
                query[k] = (query[k] if isinstance(query[k], list) else [query[k]]) + [v]
            else:
                query[k] = v
        extra_headers = {}
        if self.has("ratelimit-headers"):
            extra_headers = {"X-RateLimit-Limit": "100000", "X-RateLimit-Remaining": "99999",
                             "X-RateLimit-Reset": str(int((_dt.datetime.now().timestamp() + 60) * 1000))}
        try:
            body = None
            if method == "POST":
                body = self.parse_body(headers, body_bytes)
            status, out = handler(query, body, headers)
        except ApiError as e:
            return e.status, e.body, {**extra_headers, **e.headers}
        except Exception as e:  # only variants raise on purpose
            if self.has("missing-ignore-500"):
                return 500, {"success": False, "error": str(e)}, {}
            return 400, {"success": False, "error": "Bad request [error-bad-request]",
                         "errorType": "error-bad-request"}, {}
        return status, out, extra_headers

    def parse_body(self, headers, data: bytes):
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not data.strip():
            return {}
        if ctype == "application/x-www-form-urlencoded":
            return dict(parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ApiError(400, {"success": False, "error": "Invalid JSON body [error-invalid-body]",
                                 "errorType": "error-invalid-body"})


def make_handler(app: App):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "RocketChatCleanRoom/1.0"

        def log_message(self, *a):
            pass

        def send_error(self, code, message=None, explain=None):
            # JSON instead of the stdlib HTML page (malformed request lines, too-long headers...)
            body = json.dumps({"success": False, "error": message or "Bad request"}).encode()
            self.close_connection = True
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if getattr(self, "command", None) != "HEAD":
                    self.wfile.write(body)
            except OSError:
                pass

        def setup(self):
            super().setup()
            try:
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

        def _read_body(self) -> bytes | None:
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            if "chunked" in te:
                out = b""
                while True:
                    line = self.rfile.readline(65537)
                    try:
                        n = int(line.split(b";")[0].strip() or b"0", 16)
                    except ValueError:
                        return None
                    if n == 0:
                        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    if len(out) + n > MAX_BODY:
                        return None
                    out += self.rfile.read(n)
                    self.rfile.readline(65537)
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return None
            if n < 0 or n > MAX_BODY:
                return None
            return self.rfile.read(n) if n else b""

        def _go(self, method):
            data = self._read_body()
            if data is None:
                self.close_connection = True
                status, body, hdrs = 400, {"success": False, "error": "Invalid request body"}, {}
            else:
                try:
                    status, body, hdrs = app.handle(method, self.path, self.headers, data)
                except Exception:  # never leak a 500 from the faithful server
                    status, body, hdrs = 400, {"success": False, "error": "Bad request"}, {}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in hdrs.items():
                self.send_header(k, v)
            if method != "HEAD":
                self._headers_buffer.append(b"\r\n" + payload)
                self.flush_headers()
            else:
                self.end_headers()

        def do_GET(self):
            self._go("GET")

        def do_POST(self):
            self._go("POST")

        def do_PUT(self):
            self._go("PUT")

        def do_DELETE(self):
            self._go("DELETE")

        def do_PATCH(self):
            self._go("PATCH")

        def do_HEAD(self):
            self._go("HEAD")

        def do_OPTIONS(self):
            self._go("OPTIONS")

    return Handler


def parse_variants(spec: str | None) -> set[str]:
    out: set[str] = set()
    for name in (spec or "").split(","):
        name = name.strip()
        if not name or name == "faithful":
            continue
        out |= ALIASES.get(name, {name})
        if name.startswith("partial-"):
            out.add("partial")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--variant", default="")
    ap.add_argument("--seed", default=os.path.join(HERE, "seed.yaml"))
    args = ap.parse_args(argv)
    variants = parse_variants(args.variant)
    cat_path = os.path.join(HERE, "catalog.yaml")
    if os.path.exists(cat_path):
        with open(cat_path) as f:
            known = {v["name"] for v in (yaml.load(f, Loader=_Loader) or {}).get("variants", [])}
        known |= set().union(*ALIASES.values()) | {"no-validation"}
        unknown = sorted(v for v in variants if v not in known)
        if unknown:
            print(f"unknown variant(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
    with open(args.seed) as f:
        seed = yaml.load(f, Loader=_Loader) or {}
    app = App(seed, variants)
    httpd = ThreadingHTTPServer((args.host, args.port), make_handler(app))
    httpd.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    host, port = httpd.server_address[:2]
    print(f"listening http://{host}:{port}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.05)
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
