"""Rocket.Chat workspace state: users, rooms, subscriptions (with `ignored`), room mutes, limiter.

No HTTP here: methods take plain values and raise `RcProblem` for documented failures, in the
order the real server checks them ([RC-method], [RC-mute], [RC-model]).
"""

from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults

# Room types whose directives allow the MUTE member action: channels and private groups. Direct
# messages (and omnichannel rooms) refuse it with error-invalid-room-type ([RC-mute]).
MUTABLE_ROOM_TYPES = frozenset({"c", "p"})


class RcProblem(Exception):
    """A documented failure. `error_type` is the Meteor.Error code (None for a plain
    `API.v1.failure(text)`), `reason` its text, `details` the error's details object."""

    def __init__(self, kind: str, error_type: str | None, reason: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.kind = kind  # the x-trigger it corresponds to
        self.error_type = error_type
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class RateCheck:
    """One pass of the REST rate limiter (Meteor's RateLimiter: increment, then check)."""

    limit: int
    remaining: int
    reset_at_ms: int
    time_to_reset_ms: int
    allowed: bool


def iso(ms: int) -> str:
    """A JS `Date` as JSON.stringify writes it."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _add(document: dict[str, Any], field: str, value: str) -> None:
    """MongoDB `$addToSet`: creates the array when missing, never duplicates."""
    values = document.setdefault(field, [])
    if value not in values:
        values.append(value)


def _pull(document: dict[str, Any], field: str, value: str) -> None:
    """MongoDB `$pull`: a missing array stays missing; an emptied one stays as `[]`."""
    values = document.get(field)
    if values is not None and value in values:
        values.remove(value)


def _invalid_subscription() -> RcProblem:
    return RcProblem("not-member", "error-invalid-subscription", "Invalid subscription", {"method": "ignoreUser"})


class RocketState:
    """Everything the server remembers. Every public method holds the lock for its whole run."""

    def __init__(self, seed: dict[str, Any], clock: Clock, faults: Faults | None = None) -> None:
        self._seed = seed
        self.clock = clock
        # Switchable deviations for the suite's self-test (faults.yaml); all off by default.
        self.faults = faults or Faults("rocketchat")
        self.lock = threading.RLock()
        self.permissions = {name: set(roles) for name, roles in seed["permissions"].items()}
        settings = seed["settings"]
        self.limiter_on = bool(settings["API_Enable_Rate_Limiter"])
        self.limit_calls = int(settings["API_Enable_Rate_Limiter_Limit_Calls_Default"])
        self.limit_window_ms = int(settings["API_Enable_Rate_Limiter_Limit_Time_Default"])
        self.identity_users = {name: ident["user"] for name, ident in seed["identities"].items()}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users: dict[str, dict[str, Any]] = {u["_id"]: dict(u) for u in self._seed["users"]}
            self.rooms: dict[str, dict[str, Any]] = {}
            # (rid, user id) -> the subscription document subscriptions.getOne returns
            self.subscriptions: dict[tuple[str, str], dict[str, Any]] = {}
            for seeded in self._seed["rooms"]:
                room = {k: copy.deepcopy(v) for k, v in seeded.items() if k != "members"}
                self.rooms[room["_id"]] = room
                members = [self.users[m["user"]] for m in seeded["members"]]
                for member in seeded["members"]:
                    self.subscriptions[(room["_id"], member["user"])] = self._subscription(room, member, members)
            # Meteor RateLimiter rules, one per route: when the window began and calls per key.
            self.limiter: dict[str, tuple[int, dict[str, int]]] = {}

    def _subscription(self, room: dict[str, Any], member: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
        user = self.users[member["user"]]
        if room["t"] == "d":  # a DM subscription is named after the other user
            other = next((m for m in members if m["_id"] != user["_id"]), user)
            name, fname = other.get("username", ""), other.get("name", "")
        else:
            name = fname = room["name"]
        sub: dict[str, Any] = {
            "_id": member["sub"],
            "rid": room["_id"],
            "u": {"_id": user["_id"], "username": user.get("username"), "name": user.get("name")},
            "t": room["t"],
            "name": name,
            "fname": fname,
            "open": True,
            "alert": False,
            "unread": 0,
            "userMentions": 0,
            "groupMentions": 0,
            "ts": room["ts"],
            "ls": room["ts"],
            "_updatedAt": room["ts"],
        }
        if member.get("roles"):
            sub["roles"] = list(member["roles"])
        if "ignored" in member:
            sub["ignored"] = list(member["ignored"])
        return sub

    # --- identities and permissions -------------------------------------------------------

    def user_of(self, identity: str) -> str:
        return self.identity_users[identity]

    def _has_permission(self, user_id: str, permission: str, rid: str | None = None) -> bool:
        """`hasPermissionAsync`: global roles, plus the room roles of the user's subscription."""
        roles = set(self.users.get(user_id, {}).get("roles", []))
        if rid is not None and self.faults.on("room-role-everywhere"):  # FAULT: any room's roles count
            for (_, uid), sub in self.subscriptions.items():
                if uid == user_id:
                    roles |= set(sub.get("roles", []))
        if rid is not None:
            roles |= set(self.subscriptions.get((rid, user_id), {}).get("roles", []))
        return bool(roles & self.permissions.get(permission, set()))

    # --- REST rate limiter ([RC-api] enforceRateLimit) --------------------------------------

    def rate_limit(self, route: str, client_ip: str, user_id: str) -> RateCheck | None:
        """Count one call of `route` from `client_ip`; None when the limiter does not run
        (turned off, or the caller holds `api-bypass-rate-limit`)."""
        with self.lock:
            if not self.limiter_on or self._has_permission(user_id, "api-bypass-rate-limit"):
                return None
            now = self.clock.now_ms()
            started, counters = self.limiter.get(route, (now, {}))
            if now - started > self.limit_window_ms:  # the rule resets every counter lazily
                started, counters = now, {}
            counters[client_ip] = counters.get(client_ip, 0) + 1
            self.limiter[route] = (started, counters)
            calls = counters[client_ip]
            to_reset = self.limit_window_ms - (now - started)
            allowed = calls <= self.limit_calls
            return RateCheck(self.limit_calls, max(self.limit_calls - calls, 0) if allowed else 0,
                             now + to_reset, to_reset, allowed)

    @staticmethod
    def wait_seconds(check: RateCheck) -> int:
        return math.ceil(check.time_to_reset_ms / 1000)

    # --- chat.ignoreUser / subscriptions.getOne --------------------------------------------

    def ignore_user(self, caller: str, rid: str, user_id: str, ignore: bool) -> None:
        """`ignoreUser`: both subscriptions must exist, then `$addToSet` / `$pull` on `ignored`.
        Ignoring yourself is allowed; repeating a call changes nothing ([RC-method], [RC-model])."""
        with self.lock:
            own = self.subscriptions.get((rid, caller))
            target = self.subscriptions.get((rid, user_id))
            if own is None or target is None:  # the two cases share one error
                raise _invalid_subscription()
            if self._ignore_fault(own, target, caller, rid, user_id, ignore):
                return
            if ignore:
                _add(own, "ignored", user_id)
            else:
                _pull(own, "ignored", user_id)
            own["_updatedAt"] = iso(self.clock.now_ms())  # BaseRaw.updateOne always sets it

    def _ignore_fault(self, own: dict[str, Any], target: dict[str, Any], caller: str, rid: str, user_id: str,
                      ignore: bool) -> bool:
        """FAULT hooks of faults.yaml for the ignore list; True when a fault took the write over."""
        on = self.faults.on
        if ignore and on("ignore-not-recorded"):
            return True
        if not ignore and on("unignore-noop"):
            return True
        if not ignore and on("unignore-clears-list"):
            own["ignored"] = []
            return True
        if ignore and on("ignore-duplicates"):
            own.setdefault("ignored", []).append(user_id)  # $push instead of $addToSet
            return True
        if ignore and on("ignore-stored-on-target"):
            _add(target, "ignored", caller)  # written to the ignored user's subscription
            return True
        if on("ignore-every-room") or on("ignore-visible-to-all"):
            every_room = on("ignore-every-room")
            for (r, uid), sub in self.subscriptions.items():
                if (every_room and uid == caller) or (not every_room and r == rid):
                    (_add if ignore else _pull)(sub, "ignored", user_id)
            return True
        return False

    def subscription(self, caller: str, room_id: str) -> dict[str, Any] | None:
        """`Subscriptions.findOneByRoomIdAndUserId`, or None (answered as `subscription: null`)."""
        with self.lock:
            found = copy.deepcopy(self.subscriptions.get((room_id, caller)))
            if found is not None and found.get("ignored") == [] and self.faults.on("ignored-absent-when-empty"):
                del found["ignored"]  # TOLERATED: `ignored` may be absent when empty (read as [])
            return found

    # --- rooms.muteUser / rooms.unmuteUser -------------------------------------------------

    def find_user(self, user_id: str | None, username: str | None) -> dict[str, Any]:
        """`getUserFromParams`: by id when `userId` is not blank, else by username ignoring case."""
        with self.lock:
            if user_id is not None and js_trim(user_id):
                user = self.users.get(user_id)
            elif username is not None and js_trim(username):
                user = self._by_username(username)
            else:
                raise RcProblem("param-blank", "error-user-param-not-provided",
                                'The required "userId" or "username" param was not provided')
            if user is None:
                raise RcProblem("not-found", "error-invalid-user",
                                'The required "userId" or "username" param provided does not match any users')
            return dict(user)

    def _by_username(self, username: str) -> dict[str, Any] | None:
        if self.faults.on("username-case-sensitive"):  # FAULT: exact-case match only
            return next((u for u in self.users.values() if u.get("username") == username), None)
        wanted = username.lower()
        return next((u for u in self.users.values() if u.get("username", "").lower() == wanted), None)

    def set_muted(self, caller: str, rid: str, username: str, mute: bool) -> None:
        """`muteUserInRoom` / `unmuteUserInRoom`, check for check ([RC-mute])."""
        method = "muteUserInRoom" if mute else "unmuteUserInRoom"
        with self.lock:
            if not self._has_permission(caller, "mute-user", rid) and not self.faults.on("member-may-mute"):
                raise RcProblem("not-permitted", "error-not-allowed", "Not allowed", {"method": method})
            room = self.rooms.get(rid)
            if room is None:
                raise RcProblem("not-found", "error-invalid-room", "Invalid room", {"method": method})
            if (room["t"] not in MUTABLE_ROOM_TYPES and not self.faults.on("dm-mute-accepted")) or (
                    room.get("ro") and self.faults.on("readonly-mute-rejected")):  # FAULTs
                raise RcProblem("other", "error-invalid-room-type", f"{room['t']} is not a valid room type",
                                {"method": method, "type": room["t"]})
            if not any(s["u"].get("username") == username for (r, _), s in self.subscriptions.items() if r == rid):
                raise RcProblem("not-member", "error-user-not-in-room", "User is not in this room", {"method": method})
            user = self._by_username(username)
            if user is None or not user.get("username"):
                raise RcProblem("other", "error-invalid-user", f"Invalid user to {'mute' if mute else 'unmute'}",
                                {"method": method})
            # Rooms model: a read-only room keeps `unmuted` exceptions, any other room `muted`.
            # Repeating a call changes nothing ($addToSet / $pull); undocumented, answered 200.
            name, read_only = user["username"], bool(room.get("ro"))
            if mute and not read_only and name in room.get("muted", []) and self.faults.on("mute-repeat-rejected"):
                # TOLERATED: what muting an already-muted user answers is undocumented
                raise RcProblem("other", "error-user-already-muted", "User is already muted", {"method": method})
            if mute:
                if not read_only:
                    _add(room, "muted", name)  # muteUsernameByRoomId
                _pull(room, "unmuted", name)  # both mute calls
            else:
                _pull(room, "muted", name)  # both unmute calls
                if read_only:
                    _add(room, "unmuted", name)  # unmuteReadOnlyUsernameByRoomId
            room["_updatedAt"] = iso(self.clock.now_ms())

    def room(self, rid: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.rooms.get(rid))


# JavaScript's String.prototype.trim removes these (WhiteSpace and LineTerminator code points).
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000\ufeff"


def js_trim(value: str) -> str:
    return value.strip(_JS_SPACE)
