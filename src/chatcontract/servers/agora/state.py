"""Agora Chat app state: apps, their chat rooms and members, app tokens, each room's mute list and
room-wide mute flag, and the per-App-Key call counters.

No HTTP here: methods take plain values and raise `AgoraProblem`, named after the errors.py
failure it stands for. Time is the core Clock, so mutes end when the test hook moves it forward.

Decisions where the docs are silent (decision 27, recorded in specs/agora.yaml):
muting a member who is already muted replaces the earlier expiry; unmuting a user who is not on
the mute list answers `result: false` for that user (as the two-user [EM-doc] example shows);
a user ID repeated in one request is handled once.

Faults (servers/agora/faults.yaml) switch on deviations where the code checks
`self.faults.on("<name>")`; every such line is marked `# fault:` and does nothing by default.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults

PERMANENT = -1  # `mute_duration` -1 mutes for good; the list then shows `expire: -1` (§6 point 20)
CANCEL = 0  # `mute_duration` 0 cancels the mute ([EM-doc] chat-room mute page, decision in specs/agora.yaml)
INT64_MAX = 2**63 - 1  # `mute_duration` and `expire` are Java longs (`format: int64`)


class AgoraProblem(Exception):
    """A documented failure: `name` is an errors.py failure, `subject` fills its `XX`."""

    def __init__(self, name: str, subject: str = "") -> None:
        super().__init__(f"{name} {subject}".strip())
        self.name = name
        self.subject = subject


@dataclass
class ChatRoom:
    id: str
    members: frozenset[str]
    mutes: dict[str, int] = field(default_factory=dict)  # user ID -> expire (Unix ms) or PERMANENT
    mute_all: bool = False  # the room-wide flag of POST/DELETE …/ban; never touches `mutes`


@dataclass
class App:
    org_name: str
    app_name: str
    application: str
    rooms: dict[str, ChatRoom]
    app_id: str = ""  # the App ID that names the app on the app-id URL form

    def info(self) -> dict[str, str]:
        return {"org_name": self.org_name, "app_name": self.app_name, "application": self.application}


def canonical_user(user_id: str) -> str:
    """User IDs are case-insensitive on the older Agora page (§6 point 25): stored lowercase."""
    return user_id.lower()


class AgoraState:
    """Everything the server remembers. Every public method holds the lock for its whole run."""

    def __init__(self, seed: dict[str, Any], clock: Clock, faults: Faults | None = None) -> None:
        self._seed = seed
        self.clock = clock
        self.faults = faults or Faults("agora")
        self.lock = threading.RLock()
        self._well_formed = re.compile(seed["tokens"]["well_formed"])
        self._rate_calls = int(seed["rate_limit"]["calls"])
        self._rate_window_ms = int(seed["rate_limit"]["window_ms"])
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.apps: dict[tuple[str, str], App] = {}
            app_keys: dict[str, tuple[str, str]] = {}
            for label, app in self._seed["apps"].items():
                key = (str(app["org_name"]), str(app["app_name"]))
                app_keys[label] = key
                rooms = {
                    str(room["id"]): ChatRoom(str(room["id"]), frozenset(canonical_user(str(m)) for m in room["members"]))
                    for room in app.get("chatrooms") or []
                }
                if self.faults.on("mutes-shared-between-rooms"):  # fault: one mute list for all rooms
                    shared: dict[str, int] = {}
                    for room in rooms.values():
                        room.mutes = shared
                self.apps[key] = App(key[0], key[1], str(app["application"]), rooms, str(app.get("app_id", "")))
            # identity name -> (the App Key its token was issued for, expiry in Unix ms or None)
            self.tokens: dict[str, tuple[tuple[str, str], int | None]] = {
                name: (app_keys[ident["app"]], ident.get("expires_at")) for name, ident in self._seed["identities"].items()
            }
            self.calls: dict[tuple[str, str, str], deque[int]] = {}

    # --- authentication and limits -------------------------------------------------------------

    def app_key(self, first: str, second: str, app_id_segment: str) -> tuple[str, str]:
        """The (org_name, app_name) the URL's first two segments name: themselves on the org/app
        form; on the app-id form (`first` is the form's literal segment) the app with that App ID,
        or the segments as they are when no app has it (then no token is valid there)."""
        if first != app_id_segment:
            return first, second
        with self.lock:
            return next(((a.org_name, a.app_name) for a in self.apps.values() if a.app_id and a.app_id == second),
                        (first, second))

    def is_well_formed(self, token: str) -> bool:
        return bool(self._well_formed.fullmatch(token))

    def authorize(self, identity: str, org_name: str, app_name: str) -> dict[str, str]:
        """The app a known token may act on; expired tokens and other apps' tokens are refused."""
        with self.lock:
            if self.faults.on("any-token-accepted") and (org_name, app_name) in self.apps:  # fault
                return self.apps[(org_name, app_name)].info()
            app_key, expires_at = self.tokens[identity]
            if expires_at is not None and expires_at <= self.clock.now_ms():
                raise AgoraProblem("expired_token")
            if app_key != (org_name, app_name) or app_key not in self.apps:
                raise AgoraProblem("oauth")
            if self._seed["identities"][identity].get("user"):  # a user token: app tokens only ([AG-auth])
                raise AgoraProblem("oauth")
            return self.apps[app_key].info()

    def admit(self, org_name: str, app_name: str, operation: str) -> None:
        """Count one call of `operation` for this App Key; refuse it above the documented rate."""
        with self.lock:
            now = self.clock.now_ms()
            window = self.calls.setdefault((org_name, app_name, operation), deque())
            while window and window[0] <= now - self._rate_window_ms:
                window.popleft()
            if len(window) >= self._rate_calls:
                raise AgoraProblem("reach_limit")
            window.append(now)

    # --- chat rooms ----------------------------------------------------------------------------

    def _room(self, org_name: str, app_name: str, room_id: str) -> ChatRoom:
        room = self.apps[(org_name, app_name)].rooms.get(room_id)
        if room is None and self.faults.on("rooms-shared-across-apps"):  # fault: any app's room
            room = next((a.rooms[room_id] for a in self.apps.values() if room_id in a.rooms), None)
        if room is None:
            raise AgoraProblem("room_not_found", room_id)
        return room

    def _shown(self, expire: int) -> int | None:
        """`expire` as the responses show it (faults may change the unit or the permanent value)."""
        if expire == PERMANENT and self.faults.on("permanent-expire-null"):  # fault (tolerated)
            return None
        if expire not in (PERMANENT, INT64_MAX) and self.faults.on("expire-in-seconds"):  # fault
            return expire // 1000
        return expire

    def _expire(self, room: ChatRoom) -> None:
        if self.faults.on("mute-never-expires"):  # fault
            return
        now = self.clock.now_ms()
        for user in [u for u, expire in room.mutes.items() if expire != PERMANENT and expire <= now]:
            del room.mutes[user]

    def list_mutes(self, org_name: str, app_name: str, room_id: str) -> list[dict[str, Any]]:
        with self.lock:
            room = self._room(org_name, app_name, room_id)
            self._expire(room)
            return [{"expire": self._shown(expire), "user": user} for user, expire in room.mutes.items()]

    def mute(self, org_name: str, app_name: str, room_id: str, usernames: list[str], duration_ms: int) -> list[dict[str, Any]]:
        """Mute every user for `duration_ms` from now (or for good); all must be room members."""
        with self.lock:
            room = self._room(org_name, app_name, room_id)
            users = list(dict.fromkeys(canonical_user(u) for u in usernames))
            outsiders = [u for u in users if u not in room.members]
            if outsiders and not self.faults.on("non-member-partial-mute"):  # fault: mutes the members
                # Nobody is muted when one of them is not a member ([EM-doc] mute table).
                raise AgoraProblem("not_member", ", ".join(outsiders))
            self._expire(room)
            now = self.clock.now_ms()
            if duration_ms == CANCEL and not self.faults.on("zero-duration-mutes-for-good"):  # fault: 0 as -1
                # `0` cancels the mute ([EM-doc] chat-room mute page): off the list, a mute that ends now.
                if self.faults.on("zero-duration-keeps-mute"):  # fault: answered, but nothing changes
                    return [{"result": True, "expire": now, "user": user} for user in users]
                for user in users:
                    room.mutes.pop(user, None)
                return [{"result": True, "expire": now, "user": user} for user in users]
            if duration_ms == CANCEL:
                duration_ms = PERMANENT
            expire = PERMANENT if duration_ms == PERMANENT else min(now + duration_ms, INT64_MAX)
            if duration_ms != PERMANENT and self.faults.on("duration-as-seconds"):  # fault: ms read as s
                expire = min(now + duration_ms * 1000, INT64_MAX)
            if duration_ms == PERMANENT and self.faults.on("permanent-mute-expires"):  # fault: -1 is a day
                expire = now + 86_400_000
            if duration_ms == PERMANENT and self.faults.on("permanent-expire-max-long"):  # fault (tolerated)
                expire = INT64_MAX
            stored: dict[str, int] = {}
            for user in [u for u in users if u not in outsiders]:
                if self.faults.on("mute-not-recorded"):  # fault
                    break
                if self.faults.on("mute-stores-first-user-only") and stored:  # fault
                    break
                if self.faults.on("remute-keeps-expire") and user in room.mutes:  # fault (tolerated)
                    stored[user] = room.mutes[user]
                    continue
                room.mutes.pop(user, None)  # a repeated mute moves to the end with its new expiry
                room.mutes[user] = stored[user] = expire
            if outsiders:
                raise AgoraProblem("not_member", ", ".join(outsiders))
            return [{"result": True, "expire": self._shown(stored.get(user, expire)), "user": user} for user in users]

    def unmute(self, org_name: str, app_name: str, room_id: str, members: list[str]) -> list[dict[str, Any]]:
        """Take users off the mute list; `result` is false for a user who was not on it."""
        with self.lock:
            room = self._room(org_name, app_name, room_id)
            self._expire(room)
            users = list(dict.fromkeys(canonical_user(u) for u in members))
            # fault (tolerated): refuse the call when one of them is not muted
            if self.faults.on("unmute-not-muted-refused") and any(u not in room.mutes for u in users):
                raise AgoraProblem("illegal_argument")
            if self.faults.on("unmute-noop"):  # fault
                return [{"result": True, "user": user} for user in users]
            if self.faults.on("unmute-not-muted-result-true"):  # fault (tolerated): true for everyone
                for user in users:
                    room.mutes.pop(user, None)
                return [{"result": True, "user": user} for user in users]
            return [{"result": room.mutes.pop(user, None) is not None, "user": user} for user in users]

    def set_mute_all(self, org_name: str, app_name: str, room_id: str, on: bool) -> bool:
        """Turn the room-wide mute on or off; the mute list is left exactly as it is."""
        with self.lock:
            room = self._room(org_name, app_name, room_id)
            room.mute_all = on
            if on and self.faults.on("mute-all-writes-list"):  # fault: every member on the list
                room.mutes.update({member: PERMANENT for member in room.members})
            if not on and self.faults.on("unmute-all-clears-list"):  # fault
                room.mutes.clear()
            return room.mute_all
