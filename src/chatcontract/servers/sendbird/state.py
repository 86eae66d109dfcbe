"""Sendbird application state: users, who blocks whom, page tokens, and per-token admission.

No HTTP here: methods take plain values and raise `SendbirdProblem` with the Sendbird error code
([SB-err]) for documented failures. Lists are ordered by user ID (the order is undocumented) and
paged by position ("after user ID x"), so a page token stays valid and consistent while the list
changes: no user can appear on two pages, and no user who stays in the list throughout is skipped
([SB-list]); a user blocked mid-paging shows up only if their ID sorts after the page.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import deque
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults

BLOCKED_BY_ME = "blocked_by_me"


class Code(IntEnum):
    """The Sendbird error codes this server sends ([SB-err]; names from [SB-flutter])."""

    UNEXPECTED_TYPE_STRING = 400100
    UNEXPECTED_TYPE_NUMBER = 400101
    UNEXPECTED_TYPE_LIST = 400102
    MISSING_REQUIRED_PARAMETER = 400105
    EXPIRED_PAGE_TOKEN = 400109
    INVALID_VALUE = 400111
    VALUE_OUT_OF_RANGE = 400113
    NOT_ALLOWED_CHARACTER = 400151
    RESOURCE_NOT_FOUND = 400201
    RESOURCE_ALREADY_EXISTS = 400202  # sent only with the tolerated variant `repeat-block-rejected`
    TOO_MANY_ITEMS = 400203
    INVALID_API_TOKEN = 400401
    INVALID_JSON_BODY = 400403
    INVALID_REQUEST_URL = 400404
    APPLICATION_NOT_AVAILABLE = 403100
    INTERNAL_ERROR = 500901
    RATE_LIMIT_EXCEEDED = 500910


class SendbirdProblem(Exception):
    """A documented failure, as the Sendbird code the server answers with."""

    def __init__(self, code: Code, detail: str = "") -> None:
        super().__init__(f"{int(code)} {code.name}: {detail}")
        self.code = code
        self.detail = detail


class RateLimited(SendbirdProblem):
    """500910 with what the rate-limits page says goes with it: the limit of the window, none
    remaining, and how long to wait (X-RateLimit-Limit `N;w=W`, X-RateLimit-Remaining,
    X-RateLimit-RetryAfter; the unit of the last is undocumented, seconds here, as Retry-After)."""

    def __init__(self, identity: str, allowed: int, window_ms: int, retry_after_s: int) -> None:
        super().__init__(Code.RATE_LIMIT_EXCEEDED, identity)
        window_s = max(1, window_ms // 1000)
        self.headers = {"X-RateLimit-Limit": f"{allowed};w={window_s}", "X-RateLimit-Remaining": "0",
                        "X-RateLimit-RetryAfter": str(retry_after_s), "Retry-After": str(retry_after_s)}


@dataclass(frozen=True)
class Cursor:
    """Where a page token points: after user ID `after` in one user's one list."""

    user_id: str
    which: str
    after: str


class SendbirdState:
    """Everything the server remembers. Every public method holds the lock for its whole run."""

    def __init__(self, seed: dict[str, Any], clock: Clock, faults: Faults | None = None) -> None:
        self._seed = seed
        self.clock = clock
        # Switchable deviations for the suite's self-test (servers/sendbird/faults.yaml); each
        # `self.faults.on(...)` below is one of them and is off unless named at start-up.
        self.faults = faults or Faults("sendbird")
        self.lock = threading.RLock()
        app = seed["application"]
        self.application_id = str(app["application_id"])
        self.token_ttl_ms = int(app["page_token_ttl_ms"])
        self.max_block_user_ids = int(app["max_block_user_ids"])
        self.identities = seed["identities"]
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users: dict[str, dict[str, Any]] = {str(u["user_id"]): dict(u) for u in self._seed["users"]}
            self.blocks: set[tuple[str, str]] = {(str(a), str(b)) for a, b in self._seed.get("blocks", [])}
            self._tokens: dict[str, tuple[Cursor, int]] = {}  # token -> (cursor, last handed out ms)
            self._calls: dict[str, deque[int]] = {}  # identity -> times of recent calls (rate limit)
            for entry in self._seed["application"].get("expired_page_tokens", []):
                # Handed out at the epoch: older than any lifetime, however the clock is moved.
                cursor = Cursor(str(entry["user_id"]), str(entry["list"]), str(entry["after"]))
                self._tokens[str(entry["token"])] = (cursor, 0)
            self._one_sided: set[tuple[str, str]] = set()  # fault block-one-side: not in blocking_me

    # -- callers ---------------------------------------------------------------------------------

    def admit(self, identity: str, method: str = "GET", endpoint: str = "") -> None:
        """Let an authenticated caller in, or refuse: unavailable application, rate limit (per
        endpoint, `method` + `endpoint` template, and per application, as the rate-limits page says)."""
        with self.lock:
            ident = self.identities[identity]
            if ident.get("application_available", True) is False:
                raise SendbirdProblem(Code.APPLICATION_NOT_AVAILABLE, identity)
            limit = ident.get("rate_limit")
            if limit:
                now = self.clock.now_ms()
                window = int(limit["window_ms"])
                allowed = int(limit["per_method"][method.upper()])
                recent = self._calls.setdefault(f"{identity} {method.upper()} {endpoint}", deque())
                while recent and recent[0] <= now - window:
                    recent.popleft()
                if len(recent) >= allowed:
                    retry_after_s = max(1, -(-(recent[0] + window - now) // 1000))
                    raise RateLimited(identity, allowed, window, retry_after_s)
                recent.append(now)

    # -- reading ---------------------------------------------------------------------------------

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise SendbirdProblem(Code.RESOURCE_NOT_FOUND, user_id)
        return user

    def _relations(self, user_id: str, which: str) -> list[str]:
        """The other users of one user's list, by user ID."""
        if which == BLOCKED_BY_ME:
            if self.faults.on("global-block-list"):  # FAULT: every blocker's list is one list
                return sorted({blocked for _, blocked in self.blocks if blocked != user_id})
            return sorted(blocked for blocker, blocked in self.blocks if blocker == user_id)
        return sorted(blocker for blocker, blocked in self.blocks
                      if blocked == user_id and (blocker, blocked) not in self._one_sided)

    def _token_for(self, cursor: Cursor) -> str:
        # Opaque and stable: the same position always gets the same token (within one state).
        digest = hashlib.sha256("\n".join([self.application_id, cursor.user_id, cursor.which, cursor.after]).encode()).digest()
        token = base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
        self._tokens[token] = (cursor, self.clock.now_ms())
        return token

    def _cursor(self, token: str, user_id: str, which: str) -> Cursor:
        entry = self._tokens.get(token)
        if entry is None:
            # A token this server never handed out (undocumented; InvalidValue is the closest).
            raise SendbirdProblem(Code.INVALID_VALUE, "token")
        cursor, handed_out_ms = entry
        if self.clock.now_ms() - handed_out_ms > self.token_ttl_ms and not self.faults.on("page-token-never-expires"):
            raise SendbirdProblem(Code.EXPIRED_PAGE_TOKEN, "token")
        if (cursor.user_id, cursor.which) != (user_id, which):
            # A token of another user's or another list's pages (undocumented).
            raise SendbirdProblem(Code.INVALID_VALUE, "token")
        return cursor

    def list_blocked(
        self,
        user_id: str,
        which: str,
        *,
        limit: int,
        token: str | None = None,
        user_ids: list[str] | None = None,
        metadata_key: str | None = None,
        metadata_values: list[str] | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """One page of `user_id`'s `which` list and the token of the next page ("" when none)."""
        with self.lock:
            self._user(user_id)
            after = self._cursor(token, user_id, which).after if token else None
            wanted = set(user_ids) if user_ids is not None else None
            values = set(metadata_values or [])
            matching = []
            for other in self._relations(user_id, which):
                if after is not None and (other < after if self.faults.on("pagination-repeats-last") else other <= after):
                    continue  # FAULT pagination-repeats-last: the previous page's last user comes again
                if wanted is not None and other not in wanted:
                    continue
                if metadata_key is not None:
                    metadata = self.users[other].get("metadata") or {}
                    if metadata_key not in metadata or str(metadata[metadata_key]) not in values:
                        continue
                matching.append(other)
            if after is not None and matching and self.faults.on("pagination-drops-one"):
                matching.pop(0)  # FAULT: the first user after the cursor is never shown
            page = matching[:limit]
            more = len(matching) > limit
            next_token = self._token_for(Cursor(user_id, which, page[-1])) if more else ""
            if not more and self.faults.on("next-never-empty"):  # FAULT: the last page has a `next`
                next_token = self._token_for(Cursor(user_id, which, page[-1] if page else after or ""))
            return [dict(self.users[other]) for other in page], next_token

    # -- changing --------------------------------------------------------------------------------

    def block(self, user_id: str, target_ids: list[str]) -> list[dict[str, Any]]:
        """`user_id` blocks every target (all or none); returns the blocked users' resources."""
        with self.lock:
            if len(target_ids) > self.max_block_user_ids:
                raise SendbirdProblem(Code.TOO_MANY_ITEMS, "user_ids")
            self._user(user_id)
            targets = list(dict.fromkeys(target_ids))  # a repeated id is blocked (and listed) once
            for target in targets:
                self._user(target)
            if user_id in targets:
                # Blocking oneself is undocumented (decision 31); refused as an invalid value.
                raise SendbirdProblem(Code.INVALID_VALUE, "target_id")
            if self.faults.on("repeat-block-rejected") and any((user_id, t) in self.blocks for t in targets):
                raise SendbirdProblem(Code.RESOURCE_ALREADY_EXISTS, "target_id")  # TOLERATED (§6.31)
            for target in (targets[:1] if self.faults.on("bulk-block-first-only") else targets):
                # Blocking an already-blocked user succeeds and changes nothing (§6.31).
                if self.faults.on("block-not-recorded"):
                    continue  # FAULT: answered, never stored
                if self.faults.on("block-reversed"):
                    self.blocks.add((target, user_id))  # FAULT: stored for the wrong user
                    continue
                if self.faults.on("block-one-side") and (user_id, target) not in self.blocks:
                    self._one_sided.add((user_id, target))  # FAULT: missing from blocking_me
                self.blocks.add((user_id, target))
            return [dict(self.users[t]) for t in targets]

    def unblock(self, user_id: str, target_id: str) -> None:
        with self.lock:
            self._user(user_id)
            self._user(target_id)
            if self.faults.on("unblock-not-blocked-rejected") and (user_id, target_id) not in self.blocks:
                raise SendbirdProblem(Code.RESOURCE_NOT_FOUND, target_id)  # TOLERATED (§6.31)
            if self.faults.on("unblock-noop"):
                return  # FAULT: answered, nothing removed
            # Unblocking a user who is not blocked succeeds and changes nothing (§6.31).
            self.blocks.discard((user_id, target_id))
            self._one_sided.discard((user_id, target_id))
