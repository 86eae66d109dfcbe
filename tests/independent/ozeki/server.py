#!/usr/bin/env python3
"""Clean-room Ozeki Chat conversation-moderation server.

Written only from the Ozeki seed excerpt (seed 002) and vendors.md sections 3 and 6.
Run:  python tests/independent/ozeki/server.py --host 127.0.0.1 --port 0 [--variant NAME]
Prints exactly one line "listening http://HOST:PORT" when ready.  See README.md.
"""
from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import secrets
import signal
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_BODY = 1 << 20

FAULTS = {
    "auth-signature-ignored", "auth-station-ignored", "auth-missing-signature-accepted",
    "auth-cross-user-signature", "mute-not-applied", "unmute-not-applied",
    "mute-duplicate-entry", "unmute-clears-others", "mute-leaks-other-conversation",
    "mute-other-party", "non-participant-allowed", "list-includes-foreign",
    "list-stale-mute", "success-missing-errormessage", "mutedby-string", "lastaccess-ms",
    "participants-username-renamed", "timestamp-example-500", "unhide-not-applied",
    "blocklist-ignores-hidden", "login-any-apikey",
}
TOLERATED = {
    "errors-http-200", "error-status-failed", "hide-hiddenby-empty",
    "list-errormessage-quirk", "properties-all-participants", "strict-required-fields",
    "extra-fields", "repeat-mute-error",
}

CONVERSATION_ACTIONS = {"mute", "unmute", "list", "hide", "unhide", "favorite", "unfavorite"}


class ApiError(Exception):
    def __init__(self, http: int, message: str):
        super().__init__(message)
        self.http = http
        self.message = message


def _load_seed(path: str) -> dict:
    with open(path, "r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class State:
    def __init__(self, seed: dict, variant: str | None):
        self.variant = variant or ""
        self.lock = threading.Lock()
        self.version = str((seed.get("server") or {}).get("version", "Ozeki Chat Server"))
        self.users: dict[str, dict] = {}
        self.by_apikey: dict[str, str] = {}
        # (user, station) -> signature
        self.creds: dict[tuple[str, str], str] = {}
        for u in seed.get("users") or []:
            uid = str(u["id"])
            self.users[uid] = {
                "id": uid,
                "username": str(u.get("username", "")),
                "color": str(u.get("color", "#bae1ff")),
            }
            if u.get("apikey"):
                self.by_apikey[str(u["apikey"])] = uid
            for st in u.get("stations") or []:
                self.creds[(uid, str(st["station"]))] = str(st["signature"])
        self.convs: dict[str, dict] = {}
        self.order: list[str] = []
        for c in seed.get("conversations") or []:
            cid = str(c["id"])
            self.convs[cid] = {
                "id": cid,
                "isgroup": bool(c.get("isgroup", False)),
                "participantids": [str(p) for p in c.get("participantids") or []],
                "lastmessageid": str(c.get("lastmessageid", "") or ""),
                "lastreportid": str(c.get("lastreportid", "") or ""),
                "lastaccess": int(c.get("lastaccess", 0) or 0),
                "secret": str(c.get("secret", "")),
                "instance": str(c.get("instance", "")),
                "mutedby": [str(x) for x in c.get("mutedby") or []],
                "favoriteby": [str(x) for x in c.get("favoriteby") or []],
                "hidden": {str(k): str(v) for k, v in (c.get("hidden") or {}).items()},
                "colors": {str(k): str(v) for k, v in (c.get("colors") or {}).items()},
            }
            self.order.append(cid)
        self.initial = copy.deepcopy(self.convs)  # only used by the list-stale-mute fault

    # ------------------------------------------------------------------ views
    def _displayname(self, conv: dict, caller: str) -> str:
        others = [self.users.get(p, {}).get("username", p) for p in conv["participantids"] if p != caller]
        name = ", ".join(others) if others else "(me)"
        # "encrypted" display name: fresh random nonce each time, as in the docs
        # (displayname differs between responses, vendors.md 3.5).
        return base64.b64encode(secrets.token_bytes(12) + name.encode("utf-8")).decode("ascii")

    def _props(self, conv: dict, uid: str) -> dict:
        return {
            "userid": uid,
            "ismuted": uid in conv["mutedby"],
            "isfavorite": uid in conv["favoriteby"],
            "hideid": conv["hidden"].get(uid, ""),
            "listitembackgroundcolor": conv["colors"].get(uid, self.users.get(uid, {}).get("color", "#bae1ff")),
        }

    def view(self, conv: dict, caller: str) -> dict:
        v = self.variant
        participants = []
        for p in conv["participantids"]:
            entry = {"userid": p}
            if v == "participants-username-renamed":
                entry["name"] = self.users.get(p, {}).get("username", "")
            else:
                entry["username"] = self.users.get(p, {}).get("username", "")
            participants.append(entry)
        hiddenby = [u for u in conv["participantids"] if conv["hidden"].get(u)]
        if v == "hide-hiddenby-empty":
            hiddenby = []
        mutedby = list(conv["mutedby"])
        if v == "properties-all-participants":
            props = [self._props(conv, p) for p in conv["participantids"]]
        else:
            props = [self._props(conv, caller)]
        out = {
            "id": conv["id"],
            "isgroup": conv["isgroup"],
            "participantids": list(conv["participantids"]),
            "participants": participants,
            "displayname": self._displayname(conv, caller),
            "lastmessageid": conv["lastmessageid"],
            "lastreportid": conv["lastreportid"],
            "lastaccess": conv["lastaccess"] * 1000 if v == "lastaccess-ms" else conv["lastaccess"],
            "secret": conv["secret"],
            "instance": conv["instance"],
            "mutedby": ",".join(mutedby) if v == "mutedby-string" else mutedby,
            "favoriteby": list(conv["favoriteby"]),
            "hiddenby": hiddenby,
            "properties": props,
        }
        if v == "extra-fields":
            out["participantcount"] = len(conv["participantids"])
            out["createdat"] = conv["lastaccess"]
        return out


# ---------------------------------------------------------------------- logic
class Api:
    def __init__(self, state: State):
        self.s = state
        self.v = state.variant

    def ok(self, **payload) -> tuple[int, dict]:
        body = {"status": "OK"}
        if self.v != "success-missing-errormessage":
            body["errormessage"] = ""
        body.update(payload)
        if self.v == "extra-fields":
            body["servertime"] = datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S")
        return 200, body

    # ---- auth
    def authenticate(self, headers) -> str:
        s, v = self.s, self.v
        user = headers.get("Ozeki-User")
        station = headers.get("Ozeki-Station")
        sig = headers.get("Ozeki-Signature")
        user = user.strip() if isinstance(user, str) else None
        station = station.strip() if isinstance(station, str) else None
        sig = sig.strip() if isinstance(sig, str) else None
        if not user or not station or (not sig and v != "auth-missing-signature-accepted"):
            missing = [n for n, x in (("Ozeki-User", user), ("Ozeki-Station", station), ("Ozeki-Signature", sig)) if not x]
            raise ApiError(401, "Authentication failed: missing header " + ", ".join(missing))
        if user not in s.users:
            raise ApiError(401, "Authentication failed")
        if v == "auth-cross-user-signature":
            if any(st == station and sg == sig for (u, st), sg in s.creds.items()):
                return user
            raise ApiError(401, "Authentication failed")
        if v == "auth-station-ignored":
            if any(u == user and sg == sig for (u, st), sg in s.creds.items()):
                return user
            raise ApiError(401, "Authentication failed")
        expected = s.creds.get((user, station))
        if expected is None:
            raise ApiError(401, "Authentication failed")
        if v == "auth-signature-ignored":
            return user
        if v == "auth-missing-signature-accepted" and not sig:
            return user
        if sig != expected:
            raise ApiError(401, "Authentication failed")
        return user

    # ---- parameter checks
    def check_common(self, body: dict) -> None:
        strict = self.v == "strict-required-fields"
        if "clientversioncode" in body:
            cv = body["clientversioncode"]
            if isinstance(cv, bool) or not isinstance(cv, int):
                raise ApiError(400, "Invalid parameter: clientversioncode must be an integer")
        elif strict:
            raise ApiError(400, "Missing parameter: clientversioncode")
        if "timestamp" in body:
            ts = body["timestamp"]
            if not isinstance(ts, str):
                raise ApiError(400, "Invalid parameter: timestamp must be a string 'yyyy-MM-dd HH:mm:ss'")
            if self.v == "timestamp-example-500":
                datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S")  # bug: ISO-only parse, not caught
            elif not _parse_ts(ts):
                raise ApiError(400, "Invalid parameter: timestamp must be 'yyyy-MM-dd HH:mm:ss'")
        elif strict:
            raise ApiError(400, "Missing parameter: timestamp")

    def get_conv(self, body: dict, caller: str) -> dict:
        cid = body.get("conversationid")
        if cid is None:
            raise ApiError(400, "Missing parameter: conversationid")
        if not isinstance(cid, str) or not cid.strip():
            raise ApiError(400, "Invalid parameter: conversationid")
        conv = self.s.convs.get(cid.strip())
        if conv is None:
            raise ApiError(404, "Conversation not found")
        if caller not in conv["participantids"] and self.v != "non-participant-allowed":
            raise ApiError(403, "You are not a participant of this conversation")
        return conv

    # ---- operations
    def conversation(self, caller: str, body: dict) -> tuple[int, dict]:
        s, v = self.s, self.v
        action = body.get("action")
        if not isinstance(action, str) or not action:
            raise ApiError(400, "Missing parameter: action")
        if action not in CONVERSATION_ACTIONS:
            raise ApiError(400, "Unknown action: " + action[:64])
        self.check_common(body)
        if action == "list":
            convs = s.initial if v == "list-stale-mute" else s.convs
            out = []
            for cid in s.order:
                c = convs[cid]
                if caller in c["participantids"] or v == "list-includes-foreign":
                    out.append(s.view(c, caller))
            code, resp = self.ok(conversations=out)
            if v == "list-errormessage-quirk" and "errormessage" in resp:
                resp["errormessage"] = "File does not exist"
            return code, resp
        conv = self.get_conv(body, caller)
        if action == "mute":
            if v == "repeat-mute-error" and caller in conv["mutedby"]:
                raise ApiError(409, "Conversation is already muted")
            if v == "mute-not-applied":
                pass
            elif v == "mute-other-party":
                for p in conv["participantids"]:
                    if p != caller and p not in conv["mutedby"]:
                        conv["mutedby"].append(p)
            elif v == "mute-duplicate-entry":
                conv["mutedby"].append(caller)
            else:
                if caller not in conv["mutedby"]:
                    conv["mutedby"].append(caller)
            if v == "mute-leaks-other-conversation":
                for c in s.convs.values():
                    if caller in c["participantids"] and caller not in c["mutedby"]:
                        c["mutedby"].append(caller)
        elif action == "unmute":
            if v == "unmute-not-applied":
                pass
            elif v == "unmute-clears-others":
                conv["mutedby"].clear()
            else:
                conv["mutedby"][:] = [u for u in conv["mutedby"] if u != caller]
        elif action == "favorite":
            if caller not in conv["favoriteby"]:
                conv["favoriteby"].append(caller)
        elif action == "unfavorite":
            conv["favoriteby"][:] = [u for u in conv["favoriteby"] if u != caller]
        elif action == "hide":
            hid = body.get("hideid")
            if hid is None or hid == "":
                hid = conv["instance"] + ";"
            if not isinstance(hid, str) or len(hid) > 1024:
                raise ApiError(400, "Invalid parameter: hideid")
            conv["hidden"][caller] = hid
        elif action == "unhide":
            if v != "unhide-not-applied":
                conv["hidden"].pop(caller, None)
        return self.ok(conversation=s.view(conv, caller))

    def blocklist(self, caller: str, body: dict) -> tuple[int, dict]:
        s = self.s
        action = body.get("action")
        if not isinstance(action, str) or not action:
            raise ApiError(400, "Missing parameter: action")
        if action != "blocklist":
            raise ApiError(400, "Unknown action: " + action[:64])
        self.check_common(body)
        out = []
        if self.v != "blocklist-ignores-hidden":
            for cid in s.order:
                c = s.convs[cid]
                if caller in c["participantids"] and c["hidden"].get(caller):
                    out.append(s.view(c, caller))
        code, resp = self.ok(users=[], conversations=out)
        if self.v == "list-errormessage-quirk" and "errormessage" in resp:
            resp["errormessage"] = "File does not exist"
        return code, resp

    def login(self, headers, body: dict, host: str) -> tuple[int, dict]:
        s = self.s
        station = headers.get("Ozeki-Station")
        if not isinstance(station, str) or not station.strip():
            raise ApiError(401, "Authentication failed: missing header Ozeki-Station")
        action = body.get("action")
        if not isinstance(action, str) or not action:
            raise ApiError(400, "Missing parameter: action")
        if action != "login":
            raise ApiError(400, "Unknown action: " + action[:64])
        key = body.get("apikey")
        if key is None:
            raise ApiError(400, "Missing parameter: apikey")
        if not isinstance(key, str):
            raise ApiError(400, "Invalid parameter: apikey")
        uid = s.by_apikey.get(key)
        if uid is None:
            if self.v == "login-any-apikey" and s.users:
                uid = next(iter(s.users))
            else:
                raise ApiError(401, "Authentication failed: invalid apikey")
        base = f"http://{host}/ozeki/index.php?srv=chatserver&api="
        hostname = host.rsplit(":", 1)[0]
        rsakey = base64.b64encode(b"-----BEGIN ENCRYPTED PRIVATE KEY-----" + secrets.token_bytes(48)).decode()
        return self.ok(
            userid=uid,
            rsakey=rsakey,
            urls={
                "login": base + "chatlogin",
                "conversation": base + "chatconversation",
                "blocklist": base + "chatblocklist",
            },
            listeners={"udp": f"{hostname}:7780", "ws": f"ws://{hostname}:7781", "wss": f"wss://{hostname}:7782"},
            server=s.version,
        )


def _parse_ts(ts: str) -> bool:
    if len(ts) > 64:
        return False
    for fmt in ("%Y-%m-%d %H:%M:%S",):
        try:
            datetime.strptime(ts, fmt)
            return True
        except ValueError:
            pass
    try:
        datetime.fromisoformat(ts)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------- HTTP
ALLOWED_PATHS = {"", "/", "/index.php", "/ozeki", "/ozeki/", "/ozeki/index.php"}


def make_handler(state: State):
    api = Api(state)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes; avoid 40 ms stalls
        server_version = "OzekiCleanRoom/1.0"

        def log_message(self, fmt, *args):  # keep stdout clean
            pass

        def send_error(self, code, message=None, explain=None):
            # protocol-level errors from http.server (bad request line, huge headers): JSON too
            self.close_connection = True
            try:
                self._send(code, {"status": "ERROR", "errormessage": str(message or "Bad request")})
            except Exception:  # noqa: BLE001
                pass

        def _send(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _error(self, err: ApiError) -> None:
            status = "FAILED" if state.variant == "error-status-failed" else "ERROR"
            code = 200 if state.variant == "errors-http-200" else err.http
            self._send(code, {"status": status, "errormessage": err.message})

        def _route(self) -> tuple[str, str]:
            parts = urlsplit(self.path)
            if parts.path not in ALLOWED_PATHS:
                raise ApiError(404, "Not found")
            q = parse_qs(parts.query, keep_blank_values=True)
            srv = (q.get("srv") or [""])[0]
            apiname = (q.get("api") or [""])[0]
            if srv != "chatserver":
                raise ApiError(404, "Unknown srv")
            if apiname not in ("chatconversation", "chatblocklist", "chatlogin"):
                raise ApiError(404, "Unknown api")
            return srv, apiname

        def _read_body(self) -> dict:
            te = self.headers.get("Transfer-Encoding")
            if te and te.lower() != "identity":
                raise ApiError(400, "Chunked request bodies are not supported")
            raw_len = self.headers.get("Content-Length", "0") or "0"
            try:
                length = int(raw_len)
            except ValueError:
                raise ApiError(400, "Invalid Content-Length")
            if length < 0:
                raise ApiError(400, "Invalid Content-Length")
            if length > MAX_BODY:
                raise ApiError(413, "Request body too large")
            raw = self.rfile.read(length) if length else b""
            if not raw.strip():
                raise ApiError(400, "Missing JSON body")
            try:
                body = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise ApiError(400, "Invalid JSON body")
            if not isinstance(body, dict):
                raise ApiError(400, "JSON body must be an object")
            return body

        def _drain(self) -> None:
            try:
                n = int(self.headers.get("Content-Length", "0") or "0")
            except ValueError:
                n = 0
            if 0 < n <= MAX_BODY:
                self.rfile.read(n)
            elif n > MAX_BODY:
                self.close_connection = True

        def do_POST(self):
            try:
                try:
                    _, apiname = self._route()
                except ApiError:
                    self._drain()
                    raise
                if apiname == "chatlogin":
                    body = self._read_body()
                    with state.lock:
                        code, resp = api.login(self.headers, body, self.headers.get("Host") or "127.0.0.1")
                else:
                    try:
                        caller = api.authenticate(self.headers)
                    except ApiError:
                        self._drain()
                        raise
                    body = self._read_body()
                    with state.lock:
                        if apiname == "chatconversation":
                            code, resp = api.conversation(caller, body)
                        else:
                            code, resp = api.blocklist(caller, body)
                self._send(code, resp)
            except ApiError as e:
                if e.http == 413:
                    self.close_connection = True
                self._error(e)
            except Exception as e:  # noqa: BLE001 - only reachable through fault variants
                self._send(500, {"status": "ERROR", "errormessage": "Internal server error: " + type(e).__name__})

        def _not_allowed(self):
            self._drain()
            self._error(ApiError(405, "Method not allowed; use POST"))

        do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed

    return Handler


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="clean-room Ozeki Chat moderation server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--variant", default=None)
    ap.add_argument("--seed", default=os.path.join(HERE, "seed.yaml"))
    a = ap.parse_args(argv)
    if a.variant and a.variant not in FAULTS | TOLERATED:
        print(f"unknown variant: {a.variant}", file=sys.stderr)
        return 2
    state = State(_load_seed(a.seed), a.variant)
    httpd = ThreadingHTTPServer((a.host, a.port), make_handler(state))
    httpd.daemon_threads = True

    def _stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    host, port = httpd.server_address[:2]
    print(f"listening http://{host}:{port}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.05)
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
