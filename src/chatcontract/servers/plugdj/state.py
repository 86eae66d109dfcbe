"""plug.dj room state: who is in the room, their roles, sessions and the room's mutes.

No HTTP here: methods take plain values and raise `PlugProblem` for documented failures.
Mute lengths come from the spec (`x-duration-seconds` on the request's `duration`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from chatcontract import specs
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults

BOUNCER = 2000  # the lowest room role that may mute ([PD-docs] mutes.md, constants.md)


def duration_seconds() -> dict[str, int]:
    request = specs.read_document(specs.schemas_dir() / "plugdj" / "mute-request.schema.json")
    return dict(request["properties"]["duration"]["x-duration-seconds"])


class PlugProblem(Exception):
    """A documented failure: `kind` is the x-trigger it corresponds to, `message` is data[0]."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Mute:
    user_id: int
    reason: int
    moderator_id: int
    seconds: int
    ends_at_ms: int


class PlugState:
    """Everything the server remembers. Every public method holds the lock for its whole run."""

    def __init__(self, seed: dict[str, Any], clock: Clock, faults: Faults | None = None) -> None:
        self._seed = seed
        self.clock = clock
        self.faults = faults or Faults("plugdj")
        self.lock = threading.RLock()
        self.durations = duration_seconds()
        if self.faults.on("duration-mapping-swapped"):
            self.durations = {"s": self.durations["l"], "m": self.durations["m"], "l": self.durations["s"]}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users = {u["id"]: dict(u) for u in self._seed["users"]}
            self.sessions = {
                str(ident["credentials"]["session"]): ident["user"] for ident in self._seed["identities"].values()
            }
            self.mutes: dict[int, Mute] = {}

    def user_for_session(self, session: str | None) -> int | None:
        with self.lock:
            return self.sessions.get(session or "")

    def any_moderator_session(self) -> str:
        """A session of some moderator (only the `list-without-session` fault uses it)."""
        with self.lock:
            return next(s for s, u in self.sessions.items() if self.users[u]["role"] >= BOUNCER)

    def require_moderator(self, caller: int) -> None:
        if self.faults.on("member-may-moderate"):
            return
        if self.users[caller]["role"] < BOUNCER:
            raise PlugProblem("not-permitted", "You are not authorized to access this resource.")

    @property
    def _second_ms(self) -> int:
        """How long a second of a mute lasts: 1000 ms, or 1001 under the rate-error fault."""
        return 1001 if self.faults.on("expires-short-by-a-thousandth") else 1000

    def _expire(self) -> None:
        if self.faults.on("mute-never-expires"):
            return
        now = self.clock.now_ms()
        for user_id in [u for u, m in self.mutes.items() if m.ends_at_ms <= now]:
            del self.mutes[user_id]

    def list_mutes(self, caller: int) -> list[dict[str, Any]]:
        with self.lock:
            self.require_moderator(caller)
            self._expire()
            now = self.clock.now_ms()
            unit = 1000 if self.faults.on("expires-in-ms") else 1
            full = self.faults.on("expires-full-length")
            exact = self.faults.on("expires-fractional")  # TOLERATED: seconds with a fraction (decision 10)

            def left(m: Any) -> float:
                if full:
                    return m.seconds
                if exact:
                    return round(max(0.0, min(m.seconds, (m.ends_at_ms - now) / self._second_ms)), 3)
                return max(0, min(m.seconds, math.ceil((m.ends_at_ms - now) / self._second_ms)))

            return [
                {
                    "expires": left(m) * unit,
                    "moderator": self.users[m.moderator_id]["username"],
                    "reason": m.reason,
                    "id": m.user_id,
                    "username": self.users[m.user_id]["username"],
                }
                for m in sorted(self.mutes.values(), key=lambda m: m.ends_at_ms)
            ]

    def mute(self, caller: int, user_id: int, reason: int, duration: str) -> None:
        with self.lock:
            self.require_moderator(caller)
            target = self.users.get(user_id)
            if target is None:
                # Undocumented for mutes; bans/add answers an unknown user with requestError.
                raise PlugProblem("not-found", "User not found")
            if target["role"] >= self.users[caller]["role"]:
                raise PlugProblem("other", "You cannot mute this user" if self.faults.on("cannot-be-muted-text-changed")
                                  else "This user cannot be muted")
            seconds = self.durations[duration]
            if self.faults.on("mute-not-recorded"):
                return
            # A repeated mute replaces the earlier one (undocumented, decision 15).
            self.mutes[user_id] = Mute(user_id, reason, caller, seconds, self.clock.now_ms() + seconds * self._second_ms)

    def unmute(self, caller: int, user_id: int) -> None:
        with self.lock:
            self.require_moderator(caller)
            # Unmuting a user who is not muted succeeds and changes nothing (undocumented, §6.15).
            if not self.faults.on("unmute-noop"):
                self.mutes.pop(user_id, None)
