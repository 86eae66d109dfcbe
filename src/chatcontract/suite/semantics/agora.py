"""Agora Chat chat-room mutes as a state machine: mute, unmute, list, expiry and the room-wide mute.

Model: chat room -> user ID -> the mutes it may carry, read from the lists at the start (with or
without a reset hook). A timed mute is the window its `expire`
must fall in (request time + `mute_duration`, measured on this side before and after the call,
widened by SKEW_MS); a permanent mute (`-1`) is None, whose `expire` is undocumented (decision
20). After a repeated mute the old and the new mute are both possible (decision 27) until a
list read says which one the server kept; when the clock runs past one of them, it becomes ENDED
(that reading leaves the user unmuted), so the user is "surely muted" only if every reading says
so. The room-wide mute (`…/ban`) is not in the model: it must leave the list exactly as it
was. Targets without reset start from what they list; targets without the clock hook skip
expiry (mute lengths are a minute or more, so nothing runs out), reported as skipped.

A mute with `mute_duration` 0 cancels the mute (Easemob, decision in specs/agora.yaml): the user
is never expected on the list after it, and its `expire` is not checked; a documented refusal
that changes nothing is accepted too. The envelope of the target's URL form (`x-url-forms`: on
the org/app form `organization`, `application`, `applicationName`; nothing more on the app-id
form) is asserted on every 200.

A list must name a user once, even after a repeated mute. Partial targets: every behaviour needs
the list (the read back) and the operations it calls; the rest runs. Clean-up (every example):
each room's list is set back to what the start read (users muted since are unmuted, users then
muted are muted again until the same `expire`, or for good), and a room whose room-wide mute the
machine switched gets unmute-all (no operation reads that flag; the fixtures describe
`chatroom_id` as a room whose room-wide mute may be turned on and off, taken as off).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Union
from urllib.parse import urlsplit

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract import specs
from chatcontract.suite.semantics import CLOCK, ModelMachine, doc

P = "agora"
MUTE, LIST, UNMUTE = "agoraMuteChatRoomMembers", "agoraListChatRoomMutes", "agoraUnmuteChatRoomMembers"
MUTE_ALL, UNMUTE_ALL = "agoraMuteAllChatRoomMembers", "agoraUnmuteAllChatRoomMembers"
PERMANENT = -1
CANCEL = 0  # `mute_duration` 0 cancels the mute (the spec's decision on it)
MAX_USERS = 60  # "up to 60 members" per mute or unmute call ([AG-doc], [EM-doc] tables)
DURATIONS_MS = [60_000, 3_600_000, 86_400_000]  # a minute, an hour, a day: never run out unaided
SKEW_MS = 5_000  # clock skew and processing time allowed between this machine and the target
RATE_CALLS = 50  # at most this many calls of one operation per rolling second (the limit is 100)

# Behaviours (matrix rows).
READ_BACK = "semantics: mute then read back"
UNMUTE_BACK = "semantics: unmute then read back"
REPEAT = "semantics: idempotent repeat"
CALLERS = "semantics: isolation between callers"
ROOMS = "semantics: isolation between rooms"
AUTHZ = "semantics: authorization between identities"
ENDS = "semantics: a mute ends after its duration"
EXPIRE = "semantics: expire = request time + duration"
FOREVER = "semantics: permanent mute"
MUTE_ALL_APART = "semantics: mute-all separate from the list"
LIST_ANSWERS = "semantics: list answers"
NON_MEMBER = "semantics: non-member refused, nothing muted"
AT_MOST_60 = "semantics: at most 60 users per call"
ENVELOPE = "semantics: the envelope names the org and app called"
ZERO = "semantics: mute_duration 0 cancels the mute"
NO_DUPS = "semantics: no duplicates after a repeated action"
LIVE = "semantics: the list names no ended mute"
# The callers that must be refused on every operation (x-target identities; the last two optional).
WHO = {"other_app": "another app's token", "expired": "an expired app token",
       "member_user": "the user token of a user who does not administer the room"}
# An `expire` this far (ms) before the list's own `timestamp` is a mute that ended: it must be off
# the list ([AG-doc] "expire: the Unix timestamp (ms) when the mute state expires"). Generous, for
# a server that sweeps ended mutes lazily; a permanent mute's sentinels (-1, 0, null, Long.MAX,
# decision 20) are never below the list's time by this much and above MS_EPOCH.
ENDED_GRACE_MS = 60_000
MS_EPOCH = 10 ** 11  # an `expire` below this is no Unix time in ms (1973): a sentinel
NEEDS = {READ_BACK: (MUTE, LIST), UNMUTE_BACK: (MUTE, UNMUTE, LIST), REPEAT: (MUTE, UNMUTE, LIST),
         CALLERS: (MUTE, LIST), ROOMS: (MUTE, UNMUTE, LIST), AUTHZ: (LIST,), ENDS: (MUTE, LIST, CLOCK),
         EXPIRE: (MUTE, LIST), FOREVER: (MUTE, UNMUTE, LIST), MUTE_ALL_APART: (MUTE_ALL, UNMUTE_ALL, LIST),
         LIST_ANSWERS: (LIST,), NON_MEMBER: (MUTE, LIST), AT_MOST_60: (MUTE, UNMUTE, LIST), ENVELOPE: (LIST,),
         NO_DUPS: (MUTE, LIST), LIVE: (LIST,), ZERO: (MUTE, LIST)}


def url_form(fixtures: dict[str, Any]) -> dict[str, Any]:
    """The spec's URL form (`x-url-forms`) the target is on: the one whose `org_name` its
    `org_name` fixture equals, else the default."""
    forms = specs.load_spec(P)["x-url-forms"]
    found = [f for f in forms["forms"].values() if f.get("org_name") == fixtures.get("org_name")]
    return found[0] if found else forms["forms"][forms["default"]]


def envelope_validator(form: dict[str, Any]) -> Any:
    """A validator for the form's `envelope` schema (its `$ref` resolved from specs/agora.yaml)."""
    name = next(n for n, f in specs.load_spec(P)["x-url-forms"]["forms"].items() if f is form)
    return specs.validator_at(specs.spec_path(P), specs.pointer("x-url-forms", "forms", name, "envelope"))


@dataclass(frozen=True)
class Window:
    """A timed mute: its `expire` lies in [lo, hi] (target clock, ms), give or take SKEW_MS."""

    lo: float
    hi: float


class Ended:
    """A reading in which the user's mute has already run out (the server may have dropped them)."""

    def __repr__(self) -> str:
        return "ENDED"


ENDED = Ended()
Option = Union[Window, Ended, None]  # None: a permanent mute


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def fits(window: Window, expire: Any) -> bool:
    return _is_int(expire) and window.lo - SKEW_MS <= expire <= window.hi + SKEW_MS


def consistent(options: list[Option], expire: Any) -> list[Option]:
    """The options a listed `expire` leaves. A permanent mute may report anything (decision 20),
    but not a value that is exactly a timed option's request time + duration."""
    timed = [o for o in options if isinstance(o, Window) and fits(o, expire)]
    if timed:
        return timed
    return [None] if None in options else []


def unit_hint(expire: Any, window: Option) -> str:
    """A note when `expire` is right but in seconds: it is documented in milliseconds ([AG-doc])."""
    if isinstance(window, Window) and _is_int(expire) and fits(Window(window.lo / 1000, window.hi / 1000), expire):
        return "; that is the right time in seconds, but `expire` is documented as a Unix timestamp in ms"
    return ""


def surely_active(options: list[Option], now: float) -> bool:
    return bool(options) and all(o is None or (isinstance(o, Window) and now < o.lo - SKEW_MS) for o in options)


def surely_over(options: list[Option], now: float) -> bool:
    return all(o is ENDED for o in run_out(options, now))


def run_out(options: list[Option], now: float) -> list[Option]:
    """The readings after the clock reached `now`: a window surely past becomes ENDED."""
    kept = [ENDED if isinstance(o, Window) and now > o.hi + SKEW_MS else o for o in options]
    return list(dict.fromkeys(kept))


class Machine(ModelMachine):
    needs = NEEDS
    _calls: ClassVar[dict[str, deque[float]]] = {}
    _walked_for: ClassVar[object] = None  # the run (its `behaviours` dict) already walked through

    def __init__(self) -> None:
        super().__init__()
        self.offset_ms = 0.0  # target clock minus local clock
        self.rooms: list[str] = []
        self.model: dict[str, dict[str, list[Option]]] = {}
        self.why_absent: dict[str, dict[str, str]] = {}  # why a user must not be listed (behaviour)
        self.dirty: set[str] = set()  # rooms changed since their list was last checked
        self.found: dict[str, dict[str, Any]] = {}  # room -> the list read at the start (user -> expire)
        self.switched: set[str] = set()  # rooms whose room-wide mute this example switched

    # --- plumbing ---------------------------------------------------------------------------------

    def pace(self, operation_id: str) -> None:
        """Keep calls under RATE_CALLS per operation and second (100/s per App Key, [AG-doc])."""
        window = self._calls.setdefault(operation_id, deque())
        while len(window) >= RATE_CALLS:
            wait = window[0] + 1.0 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            window.popleft()
        window.append(time.monotonic())

    def call(self, operation_id: str, **overrides: Any) -> tuple[httpx.Response, Any]:
        """Every call, paced under the documented rate limit."""
        self.pace(operation_id)
        if operation_id != LIST:  # anything else may change a mute list, even when refused
            self.dirty.add((overrides.get("path") or {}).get("chatroom_id", self.fixtures["chatroom_id"]))
        response, body = super().call(operation_id, **overrides)
        if response.status_code == 200 and isinstance(body, dict):
            self.check_envelope(operation_id, response, body)
        return response, body

    def check_envelope(self, operation_id: str, response: httpx.Response, body: dict[str, Any]) -> None:
        """The URL form's own envelope (`x-url-forms`, decision on URL forms: on the org/app form
        `organization`, `application`, `applicationName`), and on the org/app form `organization`
        and `applicationName` are the URL's org and app names ([AG-doc] response tables). The
        app-id form's URL names neither, so nothing is compared there."""
        form = url_form(self.fixtures)
        if "envelope" not in form:
            return
        problems = [e.message for e in envelope_validator(form).iter_errors(body)]
        self.expect(ENVELOPE, not problems, f"{operation_id} on the org/app URL form answered an envelope that "
                    f"breaks that form's: {'; '.join(problems)[:300]}", doc(P, operation_id, "responses", "200"))
        below_base = response.request.url.path[len(urlsplit(self.target.base_url).path.rstrip("/")):]
        org, app = below_base.split("/")[1:3]  # a base URL may carry a path prefix
        self.expect(ENVELOPE, (body.get("organization"), body.get("applicationName")) == (org, app),
                    f"{operation_id} on /{org}/{app}/… answered organization={body.get('organization')!r}, "
                    f"applicationName={body.get('applicationName')!r}", doc(P, operation_id, "responses", "200"))

    def hook(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A test-hook call on the wire's connection (a fresh client per call costs ~50 ms)."""
        response = self.context.wire.client.request(method, self.target.base_url + self.target.hooks_path + path,
                                                    timeout=self.target.request_timeout_s, **kwargs)
        response.raise_for_status()
        return response

    def reset_target(self) -> bool:
        if not self.target.can("reset"):
            return False
        self.hook("POST", "/reset")
        return True

    def advance_clock(self, ms: int) -> bool:
        if not self.target.can("clock"):
            return False
        self.hook("POST", "/clock/advance", json={"ms": ms})
        return True

    def now(self) -> float:
        """The target's clock as well as this side knows it (ms)."""
        return time.time() * 1000 + self.offset_ms

    def sync_clock(self) -> None:
        self.offset_ms = 0.0
        if not self.target.can("clock"):
            return
        before = time.time() * 1000
        try:
            answer = self.hook("GET", "/clock")
            self.offset_ms = float(answer.json()["now_ms"]) - (before + time.time() * 1000) / 2
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            self.offset_ms = 0.0

    def at(self, room: str, **path: str) -> dict[str, str]:
        return {"chatroom_id": room, **path}

    def pool(self, room: str) -> list[str]:
        """The users the random rules act on in `room` (few, so that rules collide)."""
        if room == self.fixtures["chatroom_id"]:
            return list(self.fixtures["members"][:4])
        return list(self.fixtures["other_chatroom_members"][:3])

    def listing(self, room: str) -> dict[str, Any]:
        response, body = self.call(LIST, path=self.at(room))
        self.expect(LIST_ANSWERS, response.status_code == 200,
                    f"GET …/chatrooms/{room}/mute as admin answered {response.status_code}", doc(P, LIST))
        users = [str(entry["user"]).lower() for entry in body["data"]]
        twice = sorted({u for u in users if users.count(u) > 1})
        if twice:
            self.expect(NO_DUPS, False, f"the mute list of chat room {room} names {twice[:5]} more than once",
                        doc(P, LIST, "responses", "200"))
        elif any(u in self.model.get(room, {}) for u in users):
            self.expect(NO_DUPS, True, "", "")
        answered_at = body.get("timestamp")
        if _is_int(answered_at):
            ended = {str(e["user"]): e["expire"] for e in body["data"]
                     if _is_int(e.get("expire")) and MS_EPOCH <= e["expire"] < answered_at - ENDED_GRACE_MS}
            self.expect(LIVE, not ended,
                        f"the mute list of chat room {room} (answered at {answered_at}) names mutes that ended more "
                        f"than {ENDED_GRACE_MS} ms before: {dict(list(ended.items())[:5])}", doc(P, LIST))
        return {str(entry["user"]).lower(): entry["expire"] for entry in body["data"]}

    def forget(self, room: str, user: str, why: str) -> None:
        self.model[room].pop(user, None)
        self.why_absent[room][user] = why

    # --- start: reset, read, walk through every behaviour once ------------------------------------

    @initialize()
    def start(self) -> None:
        self.rooms = [self.fixtures["chatroom_id"], self.fixtures["other_chatroom_id"]]
        for room in self.rooms:
            self.model[room], self.why_absent[room] = {}, {}
        if not self.can_call(LIST):
            return
        self.reset_target()
        self.sync_clock()
        for room in self.rooms:
            now = self.now()
            self.found[room] = self.listing(room)
            for user, expire in self.found[room].items():
                # Muted before this run: a future timestamp is taken as its end, anything else as
                # permanent (decision 20); either way it is not asserted beyond what is listed.
                self.model[room][user] = [Window(expire, expire) if _is_int(expire) and expire > now else None]
        # Each run first walks through every behaviour once, so even the smallest profile checks
        # them all; the random rules below then explore interleavings. Once per run, not per
        # example: it is deterministic, and marked done only when it passed, so a failing walk
        # replays the same way while hypothesis shrinks.
        if type(self)._walked_for is type(self).behaviours:
            return
        members = self.fixtures["members"]
        can = self.can_run
        if can(UNMUTE_BACK):
            self.mute_read_back_unmute(0, 1)
        if can(REPEAT):
            self.repeat_mute_and_unmute(1)
        if can(FOREVER):
            self.permanent_mute(2)
        if can(ENDS):
            self.mute_until_it_runs_out(3, 0)
        if can(ZERO):
            self.zero_cancels(0, True)
            self.zero_cancels(1, False)
        shared = [u for u in self.fixtures["other_chatroom_members"] if u in members]
        if shared and can(ROOMS):
            self.rooms_are_apart(shared[0])
        if self.can_call(MUTE):
            self.mute(0, 0, 1)
        for on in (True, False):
            if self.can_call(MUTE_ALL if on else UNMUTE_ALL):
                self.mute_all(0, on)
        for who in WHO:
            if who != "other_app" and who not in self.target.credentials:  # optional identities
                continue
            for op in (MUTE, UNMUTE, LIST, MUTE_ALL, UNMUTE_ALL):
                if self.can_call(op):
                    if op in (MUTE_ALL, UNMUTE_ALL):
                        self.switched.add(self.rooms[0])  # refused, but were it not, the flag is put back
                    self.other_app_tries(self.rooms[0], 1, op, who)
        self.check_room(self.rooms[0], behaviour=AUTHZ)
        if can(CALLERS):
            self.other_app_sees_nothing(0)
        if can(NON_MEMBER):
            self.non_member_mutes_nobody(5)
        if can(AT_MOST_60):
            self.sixty_at_once()
            self.too_many_mutes_nobody()
        if can(ROOMS):
            self.mute_stays_in_its_room()
        type(self)._walked_for = type(self).behaviours

    # --- walkthrough steps (also rules) -----------------------------------------------------------

    @precondition(lambda self: self.can_run(UNMUTE_BACK))
    @rule(index=st.integers(0, 3), duration=st.integers(0, len(DURATIONS_MS) - 1))
    def mute_read_back_unmute(self, index: int, duration: int) -> None:
        room = self.rooms[0]
        user = self.pool(room)[index]
        self.mute_users(room, [user], DURATIONS_MS[duration])
        listed = self.listing(room)
        self.expect(READ_BACK, user in listed,
                    f"{user} muted for {DURATIONS_MS[duration]} ms is not in the room's mute list {sorted(listed)}",
                    doc(P, LIST))
        self.check_listed(room, listed)
        self.unmute_users(room, [user])
        listed = self.listing(room)
        self.expect(UNMUTE_BACK, user not in listed, f"{user} unmuted but still in the mute list", doc(P, UNMUTE))
        self.check_listed(room, listed)

    def repeat_mute_and_unmute(self, index: int) -> None:
        room = self.rooms[0]
        user = self.fixtures["members"][index]
        self.mute_users(room, [user], DURATIONS_MS[0])
        self.mute_users(room, [user], DURATIONS_MS[2])
        listed = self.listing(room)
        self.expect(REPEAT, user in listed, f"{user} muted twice is not in the mute list", doc(P, MUTE))
        self.check_listed(room, listed)
        self.unmute_users(room, [user])
        self.unmute_users(room, [user])
        listed = self.listing(room)
        self.expect(REPEAT, user not in listed, f"{user} unmuted twice is still in the mute list", doc(P, UNMUTE))

    def permanent_mute(self, index: int) -> None:
        room = self.rooms[0]
        user = self.fixtures["members"][index]
        self.mute_users(room, [user], PERMANENT)
        self.expect(FOREVER, user in self.listing(room), f"{user} muted with -1 is not in the mute list",
                    doc(P, MUTE, "requestBody"))
        if self.target.can("clock"):
            self.time_passes_ms(2 * DURATIONS_MS[-1])
            self.expect(FOREVER, user in self.listing(room),
                        f"{user} muted with -1 left the mute list after the clock moved two days on",
                        doc(P, MUTE, "requestBody"))
        self.unmute_users(room, [user])

    @precondition(lambda self: self.can_run(ENDS))
    @rule(index=st.integers(0, 3), duration=st.integers(0, len(DURATIONS_MS) - 1))
    def mute_until_it_runs_out(self, index: int, duration: int) -> None:
        room = self.rooms[0]
        user = self.pool(room)[index]
        length = DURATIONS_MS[duration]
        self.mute_users(room, [user], length)
        self.time_passes_ms(length + 2 * SKEW_MS + 1_000)
        listed = self.listing(room)
        if user not in self.model[room]:
            self.expect(ENDS, user not in listed,
                        f"{user} muted for {length} ms is still listed (expire {listed.get(user)}) after that time",
                        doc(P, MUTE, "requestBody"))
        self.check_listed(room, listed)

    @precondition(lambda self: self.can_run(ZERO))
    @rule(index=st.integers(0, 3), muted_first=st.booleans())
    def zero_cancels(self, index: int, muted_first: bool) -> None:
        """`mute_duration` 0 cancels the mute (decision on it): afterwards the user is not on the
        list, muted before or not. A documented refusal (4xx) must change nothing."""
        room = self.rooms[0]
        user = self.pool(room)[index]
        if muted_first:
            self.mute_users(room, [user], DURATIONS_MS[1])
        response, body = self.call(MUTE, path=self.at(room), body={"usernames": [user], "mute_duration": CANCEL})
        self.expect(ZERO, response.status_code == 200 or 400 <= response.status_code < 500,
                    f"muting {user} with mute_duration 0 answered {response.status_code}",
                    doc(P, MUTE, "x-decisions", 2))
        if response.status_code == 200:
            self.forget(room, user, ZERO)
        listed = self.listing(room)
        if response.status_code == 200:
            self.expect(ZERO, user not in listed,
                        f"{user} is listed (expire {listed.get(user)!r}) after a mute with mute_duration 0, which "
                        f"cancels the mute", doc(P, MUTE, "x-decisions", 2))
        self.check_listed(room, listed)

    def rooms_are_apart(self, user: str) -> None:
        a, b = self.rooms
        if user in self.model[b]:
            self.unmute_users(b, [user])
        self.mute_users(a, [user], DURATIONS_MS[1])
        self.expect(ROOMS, user not in self.listing(b),
                    f"{user} muted in chat room {a} is listed in chat room {b}", doc(P, LIST))
        self.mute_users(b, [user], DURATIONS_MS[1])
        self.unmute_users(a, [user])
        self.expect(ROOMS, user in self.listing(b),
                    f"unmuting {user} in chat room {a} also took them off the list of chat room {b}", doc(P, UNMUTE))
        self.unmute_users(b, [user])

    def mute_stays_in_its_room(self) -> None:
        """A mute made just now in the first room is not on the second room's list (a list of the
        whole app's mutes would name it, with the same `expire`). Judged by that `expire`, not by
        the start read, so a target without reset fails it again on every replay."""
        a, b = self.rooms
        others = set(self.fixtures["other_chatroom_members"])
        user = next((u for u in self.fixtures["members"][6:] if u not in others and u not in self.model[a]), None)
        if user is None:
            return
        self.mute_users(a, [user], DURATIONS_MS[1])
        listed = self.listing(b)
        self.expect(ROOMS, user not in listed or not consistent(self.model[a].get(user, []), listed[user]),
                    f"{user}, muted just now in chat room {a} only, is listed in chat room {b} "
                    f"(expire {listed.get(user)!r})", doc(P, LIST))
        self.unmute_users(a, [user])

    def sixty_at_once(self) -> None:
        room = self.rooms[0]
        users = list(self.fixtures["members"][:MAX_USERS])
        self.mute_users(room, users, DURATIONS_MS[1], behaviour=AT_MOST_60)
        listed = self.listing(room)
        missing = [u for u in users if u not in listed]
        self.expect(AT_MOST_60, not missing, f"after muting {MAX_USERS} members in one call, {missing} are not listed",
                    doc(P, MUTE))
        self.unmute_users(room, users, behaviour=AT_MOST_60)
        listed = self.listing(room)
        left = [u for u in users if u in listed]
        self.expect(AT_MOST_60, not left, f"after unmuting {MAX_USERS} members in one call, {left} are still listed",
                    doc(P, UNMUTE))

    # --- rules ------------------------------------------------------------------------------------

    @precondition(lambda self: self.can_call(MUTE, LIST))
    @rule(room=st.integers(0, 1), index=st.integers(0, 3), duration=st.integers(-1, len(DURATIONS_MS) - 1))
    def mute(self, room: int, index: int, duration: int) -> None:
        chat_room = self.rooms[room]
        pool = self.pool(chat_room)
        self.mute_users(chat_room, [pool[index % len(pool)]], PERMANENT if duration < 0 else DURATIONS_MS[duration])

    @precondition(lambda self: self.can_call(UNMUTE, LIST))
    @rule(room=st.integers(0, 1), first=st.integers(0, 3), count=st.integers(1, 2))
    def unmute(self, room: int, first: int, count: int) -> None:
        chat_room = self.rooms[room]
        pool = self.pool(chat_room)
        users = list(dict.fromkeys(pool[(first + i) % len(pool)] for i in range(count)))
        self.unmute_users(chat_room, users)

    @precondition(lambda self: self.can_call(MUTE_ALL, UNMUTE_ALL, LIST))
    @rule(room=st.integers(0, 1), on=st.booleans())
    def mute_all(self, room: int, on: bool) -> None:
        """Mute-all / unmute-all flip the room-wide flag and leave the mute list as it was."""
        chat_room = self.rooms[room]
        self.switched.add(chat_room)
        if chat_room in self.dirty:
            self.check_room(chat_room)  # so that what changes below is the mute-all's doing
        op = MUTE_ALL if on else UNMUTE_ALL
        response, body = self.call(op, path=self.at(chat_room))
        self.expect(MUTE_ALL_APART, response.status_code == 200,
                    f"{'mute' if on else 'unmute'}-all on chat room {chat_room} answered {response.status_code}",
                    doc(P, op))
        data = body["data"]
        # Decision 21: `data` is {"mute": <the new flag>} or {"result": true, …}; both are checked.
        self.expect(MUTE_ALL_APART, data.get("mute", on) is on and data.get("result", True) is True,
                    f"{'mute' if on else 'unmute'}-all answered data {data}", doc(P, MUTE_ALL, "x-decisions", 0))
        self.check_room(chat_room, behaviour=MUTE_ALL_APART)

    @precondition(lambda self: self.can_call(LIST))
    @rule(room=st.integers(0, 1), index=st.integers(0, 3),
          op=st.sampled_from([MUTE, UNMUTE, LIST, MUTE_ALL, UNMUTE_ALL]))
    def other_app_cannot_touch(self, room: int, index: int, op: str) -> None:
        """A token of another app is refused on this app's URLs and changes nothing."""
        if not self.can_call(op):
            return
        if op in (MUTE_ALL, UNMUTE_ALL):
            self.switched.add(self.rooms[room])  # refused, but were it not, the flag is put back
        self.other_app_tries(self.rooms[room], index, op)
        if op != LIST:
            self.check_room(self.rooms[room], behaviour=AUTHZ)

    def other_app_tries(self, room: str, index: int, op: str, who: str = "other_app") -> None:
        """`who` (another app's token, an expired one, a plain user's) calls `op`: refused."""
        pool = self.pool(room)
        user = pool[index % len(pool)]
        if op == MUTE:
            response, _ = self.call(MUTE, **{"as": who}, path=self.at(room),
                                    body={"usernames": [user], "mute_duration": DURATIONS_MS[1]})
            if user not in self.model[room]:
                self.why_absent[room][user] = AUTHZ
        elif op == UNMUTE:
            target = min(self.model[room], default=user)
            response, _ = self.call(UNMUTE, **{"as": who}, path=self.at(room, member=target))
        else:
            response, _ = self.call(op, **{"as": who}, path=self.at(room))
        # An expired app token is 401 in every source ([AG-http], [EM-doc]); the others are some
        # refusal (decision 24 for a user token).
        refused = response.status_code == 401 if who == "expired" else 400 <= response.status_code < 500
        self.expect(AUTHZ, refused, f"{op} on chat room {room} with {WHO[who]} answered {response.status_code}",
                    doc(P, op, "responses", "401"))

    @precondition(lambda self: self.can_run(CALLERS))
    @rule(index=st.integers(0, 3))
    def other_app_sees_nothing(self, index: int) -> None:
        """Another app, on its own URL, does not see this app's chat room or its mutes."""
        room = self.rooms[0]
        response, body = self.call(LIST, **{"as": "other_app"},
                                   path=self.at(room, app_name=self.fixtures["other_app_name"]))
        ours = set(self.model[room])
        seen = sorted(ours & {str(e["user"]).lower() for e in body["data"]}) if response.status_code == 200 else []
        self.expect(CALLERS, not seen,
                    f"app {self.fixtures['other_app_name']} lists {seen}, muted in chat room {room} of "
                    f"app {self.fixtures['app_name']}", doc(P, LIST))
        user = self.pool(room)[index]
        response, _ = self.call(MUTE, **{"as": "other_app"},
                                path=self.at(room, app_name=self.fixtures["other_app_name"]),
                                body={"usernames": [user], "mute_duration": DURATIONS_MS[1]})
        if user not in self.model[room]:
            self.why_absent[room][user] = CALLERS
        self.check_room(room, behaviour=CALLERS)

    @precondition(lambda self: self.can_run(NON_MEMBER))
    @rule(index=st.integers(0, 3))
    def non_member_mutes_nobody(self, index: int) -> None:
        """One non-member in `usernames` refuses the whole call: nobody is muted."""
        room = self.rooms[0]
        user = self.fixtures["members"][index]
        outsider = self.fixtures["non_member"]
        response, body = self.call(MUTE, path=self.at(room),
                                   body={"usernames": [user, outsider], "mute_duration": DURATIONS_MS[1]})
        # Decision 23: 400 (Easemob table) or 403 (status page), `forbidden_op` either way.
        self.expect(NON_MEMBER, response.status_code in (400, 403),
                    f"muting members {user} and non-member {outsider} answered {response.status_code}",
                    doc(P, MUTE, "x-decisions", 0))
        if user not in self.model[room]:
            self.why_absent[room][user] = NON_MEMBER
        self.check_room(room, behaviour=NON_MEMBER)

    @precondition(lambda self: self.can_call(MUTE, LIST))
    @rule()
    def too_many_mutes_nobody(self) -> None:
        room = self.rooms[0]
        users = list(self.fixtures["members"][:MAX_USERS + 1])
        response, _ = self.call(MUTE, path=self.at(room), body={"usernames": users, "mute_duration": DURATIONS_MS[1]})
        self.expect(AT_MOST_60, response.status_code == 400,
                    f"muting {len(users)} members in one call answered {response.status_code}",
                    doc(P, MUTE, "responses", "400"))
        for user in users:
            if user not in self.model[room]:
                self.why_absent[room][user] = AT_MOST_60
        self.check_room(room, behaviour=AT_MOST_60)

    @precondition(lambda self: self.target.can("clock") and self.can_call(LIST))
    @rule(ms=st.sampled_from([30_000, DURATIONS_MS[0] + 2 * SKEW_MS + 1_000, DURATIONS_MS[1] + 2 * SKEW_MS,
                              DURATIONS_MS[2] + 2 * SKEW_MS]))
    def time_passes(self, ms: int) -> None:
        self.time_passes_ms(ms)

    # --- actions with their checks ----------------------------------------------------------------

    def mute_users(self, room: str, users: list[str], duration_ms: int, behaviour: str = "") -> None:
        before = self.now()
        response, body = self.call(MUTE, path=self.at(room), body={"usernames": users, "mute_duration": duration_ms})
        after = self.now()
        repeated = [u for u in users if u in self.model[room]]
        what = behaviour or (REPEAT if repeated else READ_BACK)
        self.expect(what, response.status_code == 200,
                    f"muting {users[:3]}{'…' if len(users) > 3 else ''} in chat room {room} for {duration_ms} ms "
                    f"answered {response.status_code}" + (f" ({repeated[:3]} already muted)" if repeated else ""),
                    doc(P, MUTE, "x-decisions", 1) if repeated else doc(P, MUTE))
        new: Option = None if duration_ms == PERMANENT else Window(before + duration_ms, after + duration_ms)
        entries = {str(e["user"]).lower(): e for e in body["data"]}
        missing = [u for u in users if u not in entries or entries[u]["result"] is not True]
        self.expect(what, not missing, f"the mute answer has no `result: true` entry for {missing[:5]}",
                    doc(P, MUTE, "responses", "200"))
        for user in users:
            # A mute that already ran out is not repeated: only the new one can be kept.
            options = [o for o in self.model[room].get(user, []) if o is not ENDED] + [new]
            if new is not None:
                expire = entries[user]["expire"]
                self.expect(EXPIRE, bool(consistent(options, expire)),
                            f"{user} muted for {duration_ms} ms between {before:.0f} and {after:.0f} (target clock) "
                            f"has expire {expire!r}, not that time + duration (±{SKEW_MS} ms)" + unit_hint(expire, new),
                            doc(P, MUTE))
            self.model[room][user] = options
            self.why_absent[room].pop(user, None)
        for other in self.rooms:
            for user in users:
                if other != room and user not in self.model[other]:
                    self.why_absent[other][user] = ROOMS

    def unmute_users(self, room: str, users: list[str], behaviour: str = "") -> None:
        now = self.now()
        muted = [u for u in users if surely_active(self.model[room].get(u, []), now)]
        response, body = self.call(UNMUTE, path=self.at(room, member=",".join(users)))
        what = behaviour or UNMUTE_BACK
        if len(muted) == len(users) or response.status_code == 200:
            self.expect(what, response.status_code == 200,
                        f"unmuting muted {muted[:3]} in chat room {room} answered {response.status_code}",
                        doc(P, UNMUTE))
            entries = {str(e["user"]).lower(): e for e in body["data"]}
            wrong = [u for u in muted if u not in entries or entries[u]["result"] is not True]
            self.expect(what, not wrong, f"unmuting muted {wrong[:5]} answered no `result: true` for them",
                        doc(P, UNMUTE, "responses", "200"))
            for user in users:
                self.forget(room, user, what)
            return
        # Decision 27: unmuting someone not muted may be refused with a documented 4xx; what that
        # does to the others in the same call is undocumented, so the list says.
        self.expect(REPEAT, 400 <= response.status_code < 500,
                    f"unmuting {users} (not all muted) answered {response.status_code}", doc(P, MUTE, "x-decisions", 1))
        listed = self.listing(room)
        for user in users:
            if user not in listed:
                self.forget(room, user, what)

    def time_passes_ms(self, ms: int) -> None:
        if not self.advance_clock(ms):
            return
        self.offset_ms += ms
        self.dirty.update(self.rooms)
        now = self.now()
        for room in self.rooms:
            for user in [u for u, options in self.model[room].items() if surely_over(options, now)]:
                self.forget(room, user, ENDS)
            for user, options in self.model[room].items():
                self.model[room][user] = run_out(options, now)

    # --- the model against the lists -------------------------------------------------------------

    def check_listed(self, room: str, listed: dict[str, Any], behaviour: str = "") -> None:
        """The list of `room` against the model; the model learns which mute a repeat kept.
        `behaviour` names every mismatch after an action that must leave the list alone."""
        self.dirty.discard(room)
        now = self.now()
        model = self.model[room]
        for user, options in model.items():
            if user not in listed and surely_active(options, now):
                what = behaviour or (FOREVER if all(o is None for o in options) else READ_BACK)
                self.expect(what, False, f"{user} is muted in chat room {room} but not in its mute list "
                                         f"{sorted(listed)[:10]}", doc(P, LIST))
        for user, expire in listed.items():
            if user not in model:
                why = behaviour or self.why_absent[room].get(user, READ_BACK)
                self.expect(why, False, f"chat room {room} lists {user} (expire {expire!r}), who is not muted there",
                            doc(P, LIST))
                continue
            options = model[user]
            if surely_over(options, now) and self.target.can("clock"):  # without it, expiry is not checked
                self.expect(behaviour or ENDS, False,
                            f"{user} is still listed in chat room {room} (expire {expire!r}) after their mute ran out",
                            doc(P, MUTE, "requestBody"))
            left = consistent(options, expire)
            self.expect(behaviour or EXPIRE, bool(left),
                        f"{user} in chat room {room} lists expire {expire!r}; muted until "
                        f"{[(round(o.lo), round(o.hi)) for o in options if isinstance(o, Window)]} (±{SKEW_MS} ms)",
                        doc(P, LIST))
            model[user] = left
        for user in [u for u in model if u not in listed and not surely_active(model[u], now)]:
            self.forget(room, user, ENDS)

    def check_room(self, room: str, behaviour: str = "") -> None:
        self.check_listed(room, self.listing(room), behaviour)

    @precondition(lambda self: self.can_call(LIST))
    @invariant()
    def lists_match_model(self) -> None:
        for room in [r for r in self.rooms if r in self.dirty]:
            self.check_room(room)

    # --- clean-up ---------------------------------------------------------------------------------

    def quiet(self, operation_id: str, **overrides: Any) -> httpx.Response | None:
        self.pace(operation_id)  # the same rate as every call
        return super().quiet(operation_id, **overrides)

    def restore(self) -> None:
        """Each room's list back to what the start read; the room-wide mute off where it was switched."""
        for room in sorted(self.switched):
            self.quiet(UNMUTE_ALL, path=self.at(room))
        self.switched.clear()
        for room, found in self.found.items():
            response = self.quiet(LIST, path=self.at(room))
            try:
                now = {str(e["user"]).lower(): e["expire"] for e in response.json()["data"]} if response else None
            except (ValueError, KeyError, TypeError):
                now = None
            if now is None:
                continue
            extra = sorted(u for u in now if u not in found)
            for first in range(0, len(extra), MAX_USERS):
                self.quiet(UNMUTE, path=self.at(room, member=",".join(extra[first:first + MAX_USERS])))
            clock = self.now()
            for user, expire in found.items():
                if now.get(user, object()) == expire:
                    continue
                # Muted before the run: again until the same end, or for good (decision 20).
                left = int(expire - clock) if _is_int(expire) and expire > clock + 1000 else PERMANENT
                if _is_int(expire) and 0 < expire <= clock + 1000:
                    continue  # it has run out meanwhile
                self.quiet(MUTE, path=self.at(room), body={"usernames": [user], "mute_duration": left})
