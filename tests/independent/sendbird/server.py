#!/usr/bin/env python3
"""Clean-room Sendbird Platform API v3 moderation server (block / unblock / list).

    python server.py --host 127.0.0.1 --port 0 [--variant NAME] [--seed PATH]

Prints ``listening http://HOST:PORT`` once ready.  Stdlib only (+ PyYAML for the seed).
See README.md for the readings chosen on each ambiguity and catalog.yaml for variants.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, unquote_plus, urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

PAGE_TOKEN_TTL = 3600          # seconds a page token stays valid (400109 afterwards)
MAX_BODY = 1 << 20             # 1 MiB request body cap
MAX_BULK = 100                 # max targets in one block request (400203 beyond)
LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 100, 10
LIST_VALUES = ("blocked_by_me", "blocking_me")

ROUTE_LIST = re.compile(r"^/v3/users/([^/]*)/block/?$")
ROUTE_ONE = re.compile(r"^/v3/users/([^/]*)/block/([^/]*)/?$")


class ApiError(Exception):
    def __init__(self, code: int, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def not_found(what: str = "User") -> ApiError:
    return ApiError(400201, f'"{what}" not found.')


# --------------------------------------------------------------------------- state
class State:
    def __init__(self, seed: dict, variant: str | None):
        self.variant = variant or ""
        self.lock = threading.RLock()
        self.app_id = str(seed.get("application_id", ""))
        toks = seed.get("api_tokens") or {}
        self.valid_tokens = {str(toks.get("master", ""))} | {str(t) for t in toks.get("secondary") or []}
        self.valid_tokens.discard("")
        self.users: dict[str, dict] = {}
        for u in seed.get("users") or []:
            uid = str(u["user_id"])
            self.users[uid] = {
                "user_id": uid,
                "nickname": str(u.get("nickname", "")),
                "profile_url": str(u.get("profile_url", "")),
                "is_online": bool(u.get("is_online", False)),
                "last_seen_at": int(u.get("last_seen_at", 0) or 0),
                "metadata": {str(k): str(v) for k, v in (u.get("metadata") or {}).items()},
                "_created_at": 1700000000 + len(self.users),
            }
        # blocks: list of (blocker, blocked) pairs; a list (not a set) so that the
        # 'block-duplicates' variant can store duplicates.
        self.blocks: list[tuple[str, str]] = []
        for blocker, targets in (seed.get("blocks") or {}).items():
            for t in targets or []:
                pair = (str(blocker), str(t))
                if pair not in self.blocks:
                    self.blocks.append(pair)

    def user_obj(self, uid: str) -> dict:
        u = self.users[uid]
        obj = {k: v for k, v in u.items() if not k.startswith("_")}
        obj["metadata"] = dict(u["metadata"])
        if self.variant == "user-extra-fields":
            obj.update({
                "is_active": True,
                "created_at": u["_created_at"],
                "has_ever_logged_in": u["last_seen_at"] != 0 or u["is_online"],
                "is_shadow_blocked": False,
                "discovery_keys": [],
                "preferred_languages": [],
            })
        return obj


STATE: State  # set in main()


# --------------------------------------------------------------------------- helpers
def b64e(d: dict) -> str:
    raw = json.dumps(d, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64d(s: str) -> dict | None:
    try:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,2000}", s):
            return None
        d = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode())
        if not isinstance(d, dict):
            return None
        if not isinstance(d.get("u"), str) or not isinstance(d.get("l"), str):
            return None
        if not isinstance(d.get("a"), str) or not isinstance(d.get("t"), (int, float)) or isinstance(d.get("t"), bool):
            return None
        return d
    except Exception:
        return None


def parse_query(qs: str) -> dict[str, str]:
    """First occurrence wins; values are kept RAW (still percent-encoded)."""
    out: dict[str, str] = {}
    for part in qs.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        k = unquote_plus(k, errors="replace")
        out.setdefault(k, v)
    return out


def qval(raw: str) -> str:
    return unquote_plus(raw, errors="replace")


def qlist(raw: str) -> list[str]:
    """The parameter value (after ordinary query decoding) is a comma-separated string
    whose items are each URL-encoded: decode once, split on ',', percent-decode each item.
    So `a,b` and `a%2Cb` both mean [a, b]; an id containing a comma is sent as `comma%252Cuser`."""
    items = []
    for piece in qval(raw).split(","):
        piece = unquote(piece, errors="replace")
        if piece != "":
            items.append(piece)
    return items


def parse_limit(raw: str | None) -> int:
    v = STATE.variant
    default = LIMIT_DEFAULT
    if raw is None:
        return default
    s = qval(raw).strip()
    if not re.fullmatch(r"[+-]?\d+", s):
        raise ApiError(400101, 'Invalid value: "limit" should be a number.')
    digits = s.lstrip("+-")
    n = int(s) if len(digits) <= 18 else (10 ** 19 if not s.startswith("-") else -(10 ** 19))
    hi = LIMIT_MAX + 1 if v == "limit-101-accepted" else LIMIT_MAX
    if n < LIMIT_MIN or n > hi:
        if v == "limit-out-of-range-400111":
            raise ApiError(400111, 'Invalid value: "limit" should be between 1 and 100.')
        raise ApiError(400113, 'Parameter value out of range: "limit" should be between 1 and 100.',
                       status=422 if v == "limit-range-http-422" else 400)
    return n


# --------------------------------------------------------------------------- operations
def op_list(uid: str, query: dict[str, str]) -> dict:
    v = STATE.variant
    # --- parameter validation (before the user lookup)
    list_raw = query.get("list")
    if list_raw is None or qval(list_raw) == "":
        which = "blocking_me" if v == "default-list-blocking-me" else "blocked_by_me"
    else:
        which = qval(list_raw)
        if which not in LIST_VALUES:
            raise ApiError(400111, 'Invalid value: "list" should be one of blocked_by_me, blocking_me.')
    limit = parse_limit(query.get("limit"))
    after = None
    tok_raw = query.get("token")
    if tok_raw is not None and qval(tok_raw) != "":
        d = b64d(qval(tok_raw))
        if d is None or d["u"] != uid or d["l"] != which:
            raise ApiError(400111, 'Invalid value: "token".')
        if time.time() - float(d["t"]) > PAGE_TOKEN_TTL:
            raise ApiError(400109, 'The page token has expired: "token".')
        after = d["a"]
    id_filter = None
    if "user_ids" in query and qval(query["user_ids"]).strip() != "":
        id_filter = set(qlist(query["user_ids"]))
    mkey = query.get("metadatakey")
    mvals = query.get("metadatavalues_in")
    if (mkey is None) != (mvals is None):
        missing = "metadatavalues_in" if mvals is None else "metadatakey"
        raise ApiError(400105, f'"{missing}" is required when using metadata filters.')
    meta_key = qval(mkey) if mkey is not None else None
    meta_vals = set(qlist(mvals)) if mvals is not None else None
    if v == "metadata-filter-500" and meta_key is not None:
        raise RuntimeError("metadata index lookup failed")

    with STATE.lock:
        if uid not in STATE.users:
            raise not_found()
        if v == "list-ignores-user":
            ids = [b for (_a, b) in STATE.blocks] if which == "blocked_by_me" else [a for (a, _b) in STATE.blocks]
            ids = sorted(set(ids))
        elif which == "blocked_by_me":
            ids = [b for (a, b) in STATE.blocks if a == uid]
        else:
            ids = [a for (a, b) in STATE.blocks if b == uid]
        if v != "block-duplicates":
            ids = sorted(set(ids))
        else:
            ids = sorted(ids)
        ids = [i for i in ids if i in STATE.users]
        if id_filter is not None:
            ids = [i for i in ids if i in id_filter]
        if meta_key is not None:
            ids = [i for i in ids if STATE.users[i]["metadata"].get(meta_key) in meta_vals]
        # keyset pagination: strictly after the last id of the previous page
        if after is not None:
            start = 0
            while start < len(ids) and ids[start] <= after:
                start += 1
            if v == "page-skip" and start < len(ids):
                start += 1
        else:
            start = 0
        page = ids[start:start + limit]
        more = len(ids) > start + limit
        users = [STATE.user_obj(i) for i in page]

    nxt: str | None = ""
    if more and page:
        anchor = page[-1]
        if v == "page-overlap" and len(page) >= 2:
            anchor = page[-2]
        nxt = b64e({"u": uid, "l": which, "a": anchor, "t": int(time.time())})
    elif v == "next-nonblank-at-end" and page:
        nxt = b64e({"u": uid, "l": which, "a": page[-1], "t": int(time.time())})
    elif v == "next-null-at-end":
        nxt = None
    key = "blocked_users" if v == "users-key-renamed" else "users"
    return {key: users, "next": nxt}


def _target_list(body) -> list[str]:
    if not isinstance(body, dict):
        raise ApiError(400403, "Invalid JSON request body: an object is expected.")
    targets: list[str] = []
    present = False
    if "target_id" in body and body["target_id"] is not None:
        present = True
        t = body["target_id"]
        if not isinstance(t, str):
            raise ApiError(400100, 'Invalid value: "target_id" should be a string.')
        if t.strip() == "":
            raise ApiError(400151, 'Not allowed character: "target_id" must not be empty.')
        targets.append(t)
    for field in ("user_ids", "users"):
        if field not in body or body[field] is None:
            continue
        present = True
        lst = body[field]
        if not isinstance(lst, list):
            raise ApiError(400102, f'Invalid value: "{field}" should be a list.')
        if len(lst) > MAX_BULK:
            raise ApiError(400203, f'Too many items in parameter: "{field}" (max {MAX_BULK}).')
        for item in lst:
            if isinstance(item, dict) and isinstance(item.get("user_id"), str):
                item = item["user_id"]
            if not isinstance(item, str):
                raise ApiError(400100, f'Invalid value: "{field}" items should be strings.')
            if item.strip() == "":
                raise ApiError(400151, f'Not allowed character: "{field}" items must not be empty.')
            targets.append(item)
    if not present:
        raise ApiError(400105, 'Missing required parameter: "target_id" or "user_ids".')
    if not targets:
        raise ApiError(400105, 'Missing required parameter: "user_ids" must not be empty.')
    seen, out = set(), []
    for t in targets:
        if t not in seen:
            seen.add(t)
            out.append(t)
    if len(out) > MAX_BULK:
        raise ApiError(400203, f"Too many items in parameter: at most {MAX_BULK} users per request.")
    return out


def op_block(uid: str, body) -> dict:
    v = STATE.variant
    targets = _target_list(body)
    with STATE.lock:
        if uid not in STATE.users:
            raise not_found()
        for t in targets:
            if t not in STATE.users:
                raise not_found()
        if uid in targets:
            raise ApiError(400111, 'Invalid value: a user cannot block themselves.')
        if v == "reblock-already-exists":
            for t in targets:
                if (uid, t) in STATE.blocks:
                    raise ApiError(400202, f'"Block" already exists: {t}.')
        for t in targets:
            pair = (t, uid) if v == "block-reversed" else (uid, t)
            if v == "block-not-applied":
                continue
            if v == "block-duplicates" or pair not in STATE.blocks:
                STATE.blocks.append(pair)
        users = [STATE.user_obj(t) for t in targets]
    if v == "block-response-ids":
        return {"users": [u["user_id"] for u in users]}
    return {"users": users, "next": ""}


def op_unblock(uid: str, target: str) -> dict | None:
    v = STATE.variant
    with STATE.lock:
        if uid not in STATE.users or target not in STATE.users:
            raise not_found()
        pair = (uid, target)
        if pair not in STATE.blocks and v == "unblock-not-blocked-400201":
            raise not_found("Block")
        if v != "unblock-not-applied":
            STATE.blocks = [p for p in STATE.blocks if p != pair]
    if v == "unblock-empty-body":
        return None
    return {}


# --------------------------------------------------------------------------- HTTP
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16               # one segment per response (flushed by handle_one_request)
    disable_nagle_algorithm = True
    server_version = "SendbirdCleanRoom/1.0"

    def log_message(self, fmt, *args):  # keep stdout/stderr quiet
        pass

    # ---- body reading
    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ApiError(400403, "Invalid JSON request body.")
                try:
                    size = int(line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    self.close_connection = True
                    raise ApiError(400403, "Invalid JSON request body.")
                if size < 0:
                    self.close_connection = True
                    raise ApiError(400403, "Invalid JSON request body.")
                if size == 0:
                    while True:  # trailers
                        tl = self.rfile.readline(1024)
                        if tl in (b"\r\n", b"\n", b""):
                            break
                    break
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    raise ApiError(400110, "Parameter value length exceeded: request body too large.")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(16)
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        if not cl.strip().isdigit():
            self.close_connection = True
            raise ApiError(400403, "Invalid JSON request body: bad Content-Length.")
        n = int(cl.strip()) if len(cl.strip()) < 12 else MAX_BODY + 1
        if n > MAX_BODY:
            self.close_connection = True
            raise ApiError(400110, "Parameter value length exceeded: request body too large.")
        return self.rfile.read(n) if n else b""

    # ---- low-level protocol errors (bad request line, unknown method, huge headers)
    def send_error(self, code, message=None, explain=None):
        self.close_connection = True
        if not hasattr(self, "command") or self.command is None:
            self.command = "GET"
        err = ApiError(400404, "Invalid request URL.")
        try:
            self._send_error(err)
        except Exception:
            pass

    # ---- responses
    def _send(self, status: int, payload, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_error(self, err: ApiError):
        v = STATE.variant
        status = err.status
        code: object = err.code
        if v == "notfound-http-200" and err.code == 400201:
            status = 200
        if v == "error-code-as-string":
            code = str(err.code)
        body = {"message": err.message, "code": code, "error": True}
        if v == "error-flag-missing":
            del body["error"]
        self._send(status, body)

    def _auth(self):
        v = STATE.variant
        tok = self.headers.get("Api-Token")
        if tok is None or tok.strip() == "":
            if v == "auth-optional":
                return
            msg = ("Invalid value: \"Api-Token\"." if v == "auth-message-alt"
                   else "Not valid Api-Token. Api-Token is missing.")
            raise ApiError(400108 if v == "auth-wrong-code" else 400401, msg)
        if tok not in STATE.valid_tokens:
            if v == "auth-accept-any-token":
                return
            msg = ("Not valid Api-Token. Api-Token is missing." if v == "auth-message-alt"
                   else "Invalid value: \"Api-Token\".")
            raise ApiError(400108 if v == "auth-wrong-code" else 400401, msg)

    def _handle(self):
        try:
            body_bytes = self._read_body()
        except ApiError as e:
            self._send_error(e)
            return
        try:
            result = self._dispatch(body_bytes)
            if result is None:
                self._send(200, None, raw=b"")
            else:
                self._send(200, result)
        except ApiError as e:
            self._send_error(e)
        except Exception:  # never leak a traceback; documented internal error shape
            self._send(500, {"message": "Internal server error.", "code": 500901, "error": True})

    def _dispatch(self, body_bytes: bytes):
        try:
            parts = urlsplit(self.path)
            path, qs = parts.path, parts.query
        except Exception:
            raise ApiError(400404, "Invalid request URL.")
        self._auth()
        method = self.command
        m1 = ROUTE_LIST.match(path)
        m2 = ROUTE_ONE.match(path) if not m1 else None
        if m1:
            uid = unquote(m1.group(1), errors="replace")
            if method in ("GET", "HEAD"):
                return op_list(uid, parse_query(qs))
            if method == "POST":
                return op_block(uid, self._json(body_bytes))
        elif m2:
            uid = unquote(m2.group(1), errors="replace")
            target = unquote(m2.group(2), errors="replace")
            if method == "DELETE":
                return op_unblock(uid, target)
        raise ApiError(400404, "Invalid request URL.")

    def _json(self, body_bytes: bytes):
        v = STATE.variant
        if body_bytes.strip() == b"":
            return {}
        try:
            return json.loads(body_bytes.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            if v == "bad-json-internal-error":
                raise ApiError(500901, "Internal server error.", status=500)
            raise ApiError(400403, "Invalid JSON request body.")

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):  # connection-level noise
        pass


def main(argv=None) -> int:
    global STATE
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--variant", default=None)
    ap.add_argument("--seed", default=os.path.join(HERE, "seed.yaml"))
    a = ap.parse_args(argv)
    if a.variant:
        with open(os.path.join(HERE, "catalog.yaml"), encoding="utf-8") as f:
            names = {v["name"] for v in (yaml.safe_load(f) or {}).get("variants", [])}
        if a.variant not in names:
            print(f"unknown variant: {a.variant}", file=sys.stderr)
            return 2
    with open(a.seed, encoding="utf-8") as f:
        STATE = State(yaml.safe_load(f) or {}, a.variant)
    if ":" in a.host:
        Server.address_family = __import__("socket").AF_INET6
    srv = Server((a.host, a.port), Handler)
    port = srv.server_address[1]
    host = a.host if ":" not in a.host else f"[{a.host}]"

    def stop(_sig, _frm):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening http://{host}:{port}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
