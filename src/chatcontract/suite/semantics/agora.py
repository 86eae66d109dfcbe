"""Agora Chat chat-room mutes: mute, unmute, list, expiry and the room-wide mute.

The rules live in `Model` (one model, two drivers: see model.py), fed one exchange at a time by
the state machine below and by the traffic observer. State per chat room of an app (the URL's
org, app and room id): user -> the mutes it may carry. A timed mute is the window its `expire`
must fall in (request time + `mute_duration`, widened by SKEW_MS); a permanent mute (`-1`) is
None, whose `expire` is undocumented (decision 20). After a repeated mute the old and the new
mute are both possible (decision 27) until a list read says which one the server kept; when the
clock runs past one of them, it becomes ENDED (that reading leaves the user unmuted), so the user
is "surely muted" only if every reading says so. A user the traffic has not shown is not known:
a list naming them is "cannot judge", and their mute from before the traffic (EARLIER) may be the
one a repeated mute keeps. The room-wide mute (`…/ban`) is not in the model: it must leave the
list exactly as it was. A refused write changes nothing; a write in one room changes no other
room (of the app: isolation between rooms; of another app: between callers), so a change the next
list shows is named after the write that must not have made it.

A mute with `mute_duration` 0 cancels the mute (Easemob, decision in specs/agora.yaml): the user
is never expected on the list after it, and its `expire` is not checked; a documented refusal
that changes nothing is accepted too. Times: the machine's are the target's clock (synchronised
with the clock hook and moved with it); in traffic every time is the server's own `timestamp`
(see `Model`), so a skew between recorder and server never shows.

The machine keeps what needs chosen calls: the walkthrough, calls as another app or user on
purpose (refused), a non-member in a mute call (it knows who is a member), another app's view of
the room, the clock, and the envelope of the target's URL form (`x-url-forms`: on the org/app
form `organization`, `application`, `applicationName`; nothing more on the app-id form), asserted
on every 200. Targets without reset start from what they list; targets without the clock hook
skip expiry (mute lengths are a minute or more, so nothing runs out), reported as skipped.

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
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union
from urllib.parse import urlsplit

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract import specs
from chatcontract.suite.semantics import CLOCK, ModelMachine, doc
from chatcontract.suite.semantics.model import Finding, Knowledge, Seen, acting_identity

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


class Earlier:
    """A reading in which a mute from before the traffic showed the user is the one kept (a
    repeated mute may keep the first one, decision 27): its `expire` and end are not known."""

    def __repr__(self) -> str:
        return "EARLIER"


EARLIER = Earlier()
Option = Union[Window, Ended, Earlier, None]  # None: a permanent mute


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
    return [o for o in options if o is None or o is EARLIER]  # EARLIER: its `expire` is not known


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


def _user(value: Any) -> str:
    return str(value).lower()


@dataclass
class Room:
    """What the traffic says about the mute list of one chat room (of one app)."""

    muted: dict[str, list[Option]] = field(default_factory=dict)  # user -> the mutes it may carry
    how: dict[str, str] = field(default_factory=dict)  # a muted user: the behaviour its absence would break
    why_absent: dict[str, str] = field(default_factory=dict)  # a user not muted: why it must not be listed
    knowledge: Knowledge = field(default_factory=Knowledge)
    members: set[str] = field(default_factory=set)  # users the traffic showed to be members (muted here)
    # The behaviours of the writes since the last list that must leave it alone ("": one that changes it);
    # when they are all one behaviour, every mismatch of the next list is that behaviour's.
    pending: list[str] = field(default_factory=list)
    fresh: set[str] = field(default_factory=set)  # users written since the last list (a pass to report)
    maybe_unmuted: set[str] = field(default_factory=set)  # an unmute refused: the list says what it did

    def known_absent(self, user: str) -> bool:
        return user not in self.muted and self.knowledge.knows(user)

    def absent(self, user: str, why: str) -> None:
        self.muted.pop(user, None)
        self.how.pop(user, None)
        self.maybe_unmuted.discard(user)
        self.why_absent[user] = why
        self.knowledge.learn(user)
        self.fresh.add(user)

    def blame(self) -> str:
        kinds = set(self.pending)
        return next(iter(kinds)) if len(kinds) == 1 else ""


Key = tuple[str, str, str]  # org_name (or `app-id`), app_name (or App ID), chatroom_id: as in the URL


class Model:
    """Agora Chat's chat-room mute rules, judged on every exchange (model.py). State per chat room
    of an app (the URL's org, app and room). Times: with `measured` (the machine), a `Seen`'s times
    are the target's clock (the machine synchronised its clock with the target's clock hook and
    moves it with it), so a mute's window is the measured request time + duration; without (the
    traffic, recorded on another clock than the server's), every time is the server's own: the
    answer's `timestamp`, or, for an answer without one, the last `timestamp` plus the time that
    passed on the recorder's clock since (only differences of the recorder's clock are used, so a
    skew between the two clocks never shows). `expiry`: whether a mute's end is judged (the machine
    judges it only with the clock hook; without it nothing runs out during a run). `paced`: the
    driver keeps every operation under the rate limit and is the target's only client, so a 429 is
    judged like any other answer; in traffic the App Key's limit is shared with clients not seen,
    so a 429 cannot be judged (and changed nothing). `members`: room -> users known to be members
    (a driver's fixtures); the traffic shows a member by a successful mute."""

    def __init__(self, *, measured: bool = False, expiry: bool = True, paced: bool = False,
                 members: dict[Key, set[str]] | None = None) -> None:
        self.measured, self.expiry, self.paced = measured, expiry, paced
        self.rooms: dict[Key, Room] = {}
        self.anchor: tuple[float, float, float] | None = None  # server time, sent, answered (recorder)
        self.known_members = {key: {_user(u) for u in users} for key, users in (members or {}).items()}

    def room(self, key: Key) -> Room:
        if key not in self.rooms:
            self.rooms[key] = Room(members=set(self.known_members.get(key, ())))
        return self.rooms[key]

    def forget(self, reason: str) -> None:
        self.rooms.clear()
        self.anchor = None

    def writes(self, seen: Seen) -> bool:
        return seen.operation_id != LIST

    def span(self, seen: Seen) -> tuple[float, float] | None:
        """When the server handled the exchange, on the clock `expire` is on (ms), or None."""
        if self.measured:
            return seen.sent_ms, seen.answered_ms
        stamp = seen.answer.get("timestamp") if isinstance(seen.answer, dict) else None
        if _is_int(stamp) and stamp >= MS_EPOCH:
            self.anchor = (float(stamp), seen.sent_ms, seen.answered_ms)
            return float(stamp), float(stamp)
        if self.anchor is None:
            return None
        at, sent, answered = self.anchor
        return at + seen.sent_ms - answered, at + seen.answered_ms - sent

    def see(self, seen: Seen) -> list[Finding]:
        path = seen.path
        if not all(path.get(k) for k in ("org_name", "app_name", "chatroom_id")):
            return []
        key = (path["org_name"], path["app_name"], path["chatroom_id"])
        room = self.room(key)
        span = self.span(seen)
        if self.expiry and span is not None:
            self._run_out(room, span[0])
        findings: list[Finding] = []
        if seen.status == 429 and not self.paced and seen.operation_id != LIST:
            return findings + [Finding(READ_BACK, None, f"{seen.operation_id} on chat room {key[2]} answered 429: the "
                                       "App Key's rate limit is shared with clients the traffic does not show",
                                       doc(P, seen.operation_id))]
        if seen.operation_id == MUTE:
            return findings + self._mute(key, room, seen, span)
        if seen.operation_id == UNMUTE:
            return findings + self._unmute(key, room, seen, span)
        if seen.operation_id in (MUTE_ALL, UNMUTE_ALL):
            return findings + self._mute_all(key, room, seen)
        if seen.operation_id == LIST and seen.status == 200 and isinstance(seen.answer, dict):
            return findings + self._listing(key, room, seen, span)
        return findings

    # --- writes -----------------------------------------------------------------------------------

    def _run_out(self, room: Room, now: float) -> None:
        """The clock reached `now`: a mute surely past has ended (its user is not muted)."""
        for user in [u for u, options in room.muted.items() if surely_over(options, now)]:
            room.absent(user, ENDS)
        for user, options in room.muted.items():
            room.muted[user] = run_out(options, now)

    def _elsewhere(self, key: Key, users: list[str]) -> None:
        """A write in room `key` must not change another room: a change there is that isolation's
        (between rooms of an app, or between apps)."""
        for other_key, other in self.rooms.items():
            if other_key == key:
                continue
            self._blame_next(other, users, ROOMS if other_key[:2] == key[:2] else CALLERS)

    def _mute(self, key: Key, room: Room, seen: Seen, span: tuple[float, float] | None) -> list[Finding]:
        body = seen.body if isinstance(seen.body, dict) else {}
        names, duration = body.get("usernames"), body.get("mute_duration")
        if not isinstance(names, list) or not names or not _is_int(duration):
            return []
        users = list(dict.fromkeys(_user(u) for u in names))
        where, status = key[2], seen.status
        acting = seen.caller == acting_identity(P, MUTE)
        self._elsewhere(key, users)
        answer = seen.answer if isinstance(seen.answer, dict) else {}
        findings: list[Finding] = []
        if duration == CANCEL:
            if acting:
                findings.append(Finding(ZERO, status == 200 or 400 <= status < 500,
                                        f"muting {users[0]} with mute_duration 0 answered {status}",
                                        doc(P, MUTE, "x-decisions", 2)))
            if status == 200:
                for user in users:
                    room.absent(user, ZERO)
                room.pending.append("")
            else:
                self._blame_next(room, users, ZERO if acting else AUTHZ)
            return findings
        repeated = [u for u in users if u in room.muted]
        what = AT_MOST_60 if len(users) >= MAX_USERS else REPEAT if repeated else READ_BACK
        refused_as = answer.get("error") == "forbidden_op" and status in (400, 403)
        if acting:
            if len(users) > MAX_USERS:
                findings.append(Finding(AT_MOST_60, status == 400,
                                        f"muting {len(users)} members in one call answered {status}",
                                        doc(P, MUTE, "responses", "400")))
            elif refused_as and not all(u in room.members for u in users):
                findings.append(Finding(what, None, f"muting {users[:3]} in chat room {where} answered {status} "
                                        "forbidden_op: whether they are all members, the traffic has not shown",
                                        doc(P, MUTE, "x-decisions", 0)))
            else:
                findings.append(Finding(
                    what, status == 200,
                    f"muting {users[:3]}{'…' if len(users) > 3 else ''} in chat room {where} for {duration} ms "
                    f"answered {status}" + (f" ({repeated[:3]} already muted)" if repeated else ""),
                    doc(P, MUTE, "x-decisions", 1) if repeated else doc(P, MUTE)))
        if status != 200:
            why = (AUTHZ if status == 401 else AT_MOST_60 if len(users) > MAX_USERS else NON_MEMBER if refused_as
                   else what if acting else AUTHZ)
            self._blame_next(room, users, why)
            return findings
        entries = {_user(e.get("user")): e for e in answer.get("data") or [] if isinstance(e, dict)}
        missing = [u for u in users if u not in entries or entries[u].get("result") is not True]
        if acting:
            findings.append(Finding(what, not missing, f"the mute answer has no `result: true` entry for {missing[:5]}",
                                    doc(P, MUTE, "responses", "200")))
        new: Option = None
        if duration != PERMANENT:
            new = Window(span[0] + duration, span[1] + duration) if span is not None else EARLIER
        for user in users:
            known = room.knowledge.knows(user)
            # A mute that already ran out is not repeated: only the new one can be kept. One from
            # before the traffic showed the user may be the one kept (decision 27).
            options = [o for o in room.muted.get(user, []) if o is not ENDED] + ([] if known else [EARLIER]) + [new]
            options = list(dict.fromkeys(options))
            if isinstance(new, Window) and acting and user in entries:
                expire = entries[user].get("expire")
                if known:
                    findings.append(Finding(
                        EXPIRE, bool(consistent(options, expire)),
                        f"{user} muted for {duration} ms between {new.lo - duration:.0f} and {new.hi - duration:.0f} "
                        f"(target clock) has expire {expire!r}, not that time + duration (±{SKEW_MS} ms)"
                        + unit_hint(expire, new), doc(P, MUTE)))
                else:
                    findings.append(Finding(EXPIRE, None, f"{user} may have been muted before the traffic showed "
                                            f"them, and a repeated mute may keep that mute's expire", doc(P, MUTE)))
            room.muted[user] = options
            room.how[user] = what
            room.why_absent.pop(user, None)
            room.maybe_unmuted.discard(user)
            room.knowledge.learn(user)
            room.members.add(user)
            room.fresh.add(user)
        room.pending.append("")
        return findings

    def _blame_next(self, room: Room, users: list[str], why: str) -> None:
        """`room`'s state of `users` must not have changed (a refused write, another room's
        write): a change the next list shows is `why`'s."""
        for user in users:
            if user in room.muted:
                room.how[user] = why
            else:
                room.why_absent[user] = why
            room.fresh.add(user)
        room.pending.append(why)

    def _unmute(self, key: Key, room: Room, seen: Seen, span: tuple[float, float] | None) -> list[Finding]:
        users = list(dict.fromkeys(_user(u) for u in str(seen.path.get("member", "")).split(",") if u))
        if not users:
            return []
        where, status = key[2], seen.status
        acting = seen.caller == acting_identity(P, UNMUTE)
        self._elsewhere(key, users)
        answer = seen.answer if isinstance(seen.answer, dict) else {}
        if not acting and status != 200:  # another identity, refused: nothing changes
            self._blame_next(room, users, AUTHZ)
            return []
        now = span[0] if span is not None else None
        muted = [u for u in users if now is not None and surely_active(room.muted.get(u, []), now)]
        what = (AT_MOST_60 if len(users) >= MAX_USERS
                else REPEAT if all(room.known_absent(u) for u in users) else UNMUTE_BACK)
        findings: list[Finding] = []
        if len(muted) == len(users) or status == 200:
            findings.append(Finding(what, status == 200,
                                    f"unmuting muted {muted[:3]} in chat room {where} answered {status}",
                                    doc(P, UNMUTE)))
            if status == 200:
                entries = {_user(e.get("user")): e for e in answer.get("data") or [] if isinstance(e, dict)}
                wrong = [u for u in muted if u not in entries or entries[u].get("result") is not True]
                findings.append(Finding(what, not wrong, f"unmuting muted {wrong[:5]} answered no `result: true` "
                                        "for them", doc(P, UNMUTE, "responses", "200")))
                for user in users:
                    room.absent(user, what)
                room.pending.append("")
                return findings if acting else []  # answers judged for the x-request's identity only
        else:
            # Decision 27: unmuting someone not muted may be refused with a documented 4xx; what that
            # does to the others in the same call is undocumented, so the list says.
            judged = all(room.knowledge.knows(u) for u in users)
            findings.append(Finding(REPEAT, (400 <= status < 500) if judged else None,
                                    f"unmuting {users} (not all muted) answered {status}",
                                    doc(P, MUTE, "x-decisions", 1)))
        for user in users:
            if user in room.muted:
                room.muted[user] = list(dict.fromkeys(room.muted[user] + [ENDED]))
                room.maybe_unmuted.add(user)
        room.pending.append("")
        return findings if acting else []  # answers judged for the x-request's identity only

    def _mute_all(self, key: Key, room: Room, seen: Seen) -> list[Finding]:
        """Mute-all / unmute-all flip the room-wide flag and leave the mute list as it was."""
        on, status = seen.operation_id == MUTE_ALL, seen.status
        if seen.caller != acting_identity(P, seen.operation_id):
            room.pending.append(AUTHZ if status != 200 else MUTE_ALL_APART)
            return []
        room.pending.append(MUTE_ALL_APART)
        findings = [Finding(MUTE_ALL_APART, status == 200,
                            f"{'mute' if on else 'unmute'}-all on chat room {key[2]} answered {status}",
                            doc(P, seen.operation_id))]
        data = seen.answer.get("data") if isinstance(seen.answer, dict) else None
        if status == 200 and isinstance(data, dict):
            # Decision 21: `data` is {"mute": <the new flag>} or {"result": true, …}; both are checked.
            findings.append(Finding(MUTE_ALL_APART, data.get("mute", on) is on and data.get("result", True) is True,
                                    f"{'mute' if on else 'unmute'}-all answered data {data}",
                                    doc(P, MUTE_ALL, "x-decisions", 0)))
        return findings

    # --- the list against the writes before it ----------------------------------------------------

    def _listing(self, key: Key, room: Room, seen: Seen, span: tuple[float, float] | None) -> list[Finding]:
        where, answer = key[2], seen.answer
        entries = [e for e in answer.get("data") or [] if isinstance(e, dict)]
        users = [_user(e.get("user")) for e in entries]
        listed = {_user(e.get("user")): e.get("expire") for e in entries}
        findings: list[Finding] = []
        twice = sorted({u for u in users if users.count(u) > 1})
        if twice:
            findings.append(Finding(NO_DUPS, False, f"the mute list of chat room {where} names {twice[:5]} more than "
                                    "once", doc(P, LIST, "responses", "200")))
        elif any(u in room.muted for u in users):
            findings.append(Finding(NO_DUPS, True, f"the mute list of chat room {where} names each user once",
                                    doc(P, LIST, "responses", "200")))
        answered_at = answer.get("timestamp")
        if _is_int(answered_at):
            ended = {str(e.get("user")): e.get("expire") for e in entries
                     if _is_int(e.get("expire")) and MS_EPOCH <= e["expire"] < answered_at - ENDED_GRACE_MS}
            if ended or any(u in room.muted for u in users):  # a pass only where the traffic knew a mute
                findings.append(Finding(LIVE, not ended, f"the mute list of chat room {where} (answered at "
                                        f"{answered_at}) names mutes that ended more than {ENDED_GRACE_MS} ms "
                                        f"before: {dict(list(ended.items())[:5])}", doc(P, LIST)))
        blame = room.blame()
        hi = span[1] if span is not None else None
        failed = False
        held: dict[str, list[str]] = {}
        for user, options in room.muted.items():
            if user in listed:
                continue
            if hi is not None and surely_active(options, hi):
                what = blame or (FOREVER if all(o is None for o in options) else room.how.get(user, READ_BACK))
                findings.append(Finding(what, False, f"{user} is muted in chat room {where} but not in its mute list "
                                        f"{sorted(listed)[:10]}", doc(P, LIST)))
                failed = True
        before: list[str] = []
        for user, expire in listed.items():
            if user not in room.muted:
                if room.knowledge.knows(user):
                    why = blame or room.why_absent.get(user, READ_BACK)
                    findings.append(Finding(why, False, f"chat room {where} lists {user} (expire {expire!r}), who is "
                                            "not muted there", doc(P, LIST)))
                    failed = True
                else:
                    # Muted before the traffic showed it: a future timestamp is taken as its end,
                    # anything else as permanent (decision 20); not asserted beyond what is listed.
                    before.append(user)
                    future = _is_int(expire) and (expire > hi if hi is not None else expire >= MS_EPOCH)
                    room.muted[user] = [Window(expire, expire) if future else None]
                    room.how[user] = READ_BACK
                continue
            options = room.muted[user]
            left = consistent(options, expire)
            if options == [EARLIER] or left == [EARLIER]:
                # The mute kept is one from before the traffic showed it: now its end is listed.
                future = _is_int(expire) and (expire > hi if hi is not None else expire >= MS_EPOCH)
                room.muted[user] = [Window(expire, expire) if future else None]
                before.append(user)
                continue
            if not left:
                findings.append(Finding(blame or EXPIRE, False, f"{user} in chat room {where} lists expire {expire!r}; "
                                        f"muted until {[(round(o.lo), round(o.hi)) for o in options if isinstance(o, Window)]}"
                                        f" (±{SKEW_MS} ms)", doc(P, LIST)))
                failed = True
            elif any(isinstance(o, Window) for o in options):
                held.setdefault(EXPIRE, []).append(user)
            if user in room.fresh:
                what = blame or (FOREVER if all(o is None for o in options) else room.how.get(user, READ_BACK))
                held.setdefault(what, []).append(user)
            room.muted[user] = left
        for user in [u for u in room.muted if u not in listed and not (hi is not None and surely_active(room.muted[u], hi))]:
            room.absent(user, room.how.get(user, UNMUTE_BACK) if user in room.maybe_unmuted else ENDS)
            room.fresh.discard(user)
        for user in room.fresh:
            if user not in listed and user not in room.muted and room.knowledge.knows(user):
                held.setdefault(blame or room.why_absent.get(user, READ_BACK), []).append(user)
        if before:
            findings.append(Finding(READ_BACK, None, f"chat room {where} lists {sorted(before)[:10]}, muted before the "
                                    "traffic showed their state", doc(P, LIST)))
        if not failed:
            if blame:
                held.setdefault(blame, [])
            for behaviour, who in held.items():
                findings.append(Finding(behaviour, True, f"the mute list of chat room {where} is as the writes "
                                        f"before it left it ({sorted(who)[:10]})", doc(P, LIST)))
        room.knowledge.read_whole()
        for user in listed:
            room.knowledge.learn(user)
        room.pending.clear()
        room.fresh.clear()
        return findings


class Machine(ModelMachine):
    needs = NEEDS
    _calls: ClassVar[dict[str, deque[float]]] = {}
    _walked_for: ClassVar[object] = None  # the run (its `behaviours` dict) already walked through

    def __init__(self) -> None:
        super().__init__()
        # `offset_ms` (base): target clock minus local clock, read from the clock hook and moved
        # with it, so `now_ms()` is the target's clock and the model's windows are on it.
        self.rooms: list[str] = []
        self.dirty: set[str] = set()  # rooms changed since their list was last checked
        self.found: dict[str, dict[str, Any]] = {}  # room -> the list read at the start (user -> expire)
        self.switched: set[str] = set()  # rooms whose room-wide mute this example switched
        fixtures = self.fixtures
        # The machine knows who is a member (its fixtures), paces its calls under the rate limit
        # and is the target's only client.
        self.moderation = Model(measured=True, expiry=self.target.can("clock"), paced=True, members={
            self.key(fixtures["chatroom_id"]): set(fixtures.get("members", ())),
            self.key(fixtures.get("other_chatroom_id", "")): set(fixtures.get("other_chatroom_members", ()))})

    # --- plumbing ---------------------------------------------------------------------------------

    def key(self, room: str) -> Key:
        """The model's key of one of this app's chat rooms (the x-request's org and app)."""
        return (str(self.fixtures["org_name"]), str(self.fixtures["app_name"]), str(room))

    def muted(self, room: str) -> dict[str, list[Option]]:
        """Who the model has muted in one of this app's chat rooms (user -> the mutes it may carry)."""
        return self.moderation.room(self.key(room)).muted

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
        """Every call, paced under the documented rate limit (the model judges it)."""
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
        """Read the list (the model holds it against every write before it); user -> expire."""
        self.dirty.discard(room)
        response, body = self.call(LIST, path=self.at(room))
        self.expect(LIST_ANSWERS, response.status_code == 200,
                    f"GET …/chatrooms/{room}/mute as admin answered {response.status_code}", doc(P, LIST))
        return {str(entry["user"]).lower(): entry["expire"] for entry in body["data"]}

    # --- start: reset, read, walk through every behaviour once ------------------------------------

    @initialize()
    def start(self) -> None:
        self.rooms = [self.fixtures["chatroom_id"], self.fixtures["other_chatroom_id"]]
        if not self.can_call(LIST):
            return
        self.reset_target()
        self.sync_clock()
        for room in self.rooms:
            # The model takes this first list as the state before the run: a future timestamp is
            # a mute's end, anything else permanent (decision 20), not asserted beyond what is listed.
            self.found[room] = self.listing(room)
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
        self.check_room(self.rooms[0])
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

    # --- walkthrough steps (also rules): the model judges every answer and list -------------------

    @precondition(lambda self: self.can_run(UNMUTE_BACK))
    @rule(index=st.integers(0, 3), duration=st.integers(0, len(DURATIONS_MS) - 1))
    def mute_read_back_unmute(self, index: int, duration: int) -> None:
        room = self.rooms[0]
        user = self.pool(room)[index]
        self.mute_users(room, [user], DURATIONS_MS[duration])
        self.listing(room)
        self.unmute_users(room, [user])
        self.listing(room)

    def repeat_mute_and_unmute(self, index: int) -> None:
        room = self.rooms[0]
        user = self.fixtures["members"][index]
        self.mute_users(room, [user], DURATIONS_MS[0])
        self.mute_users(room, [user], DURATIONS_MS[2])
        self.listing(room)
        self.unmute_users(room, [user])
        self.unmute_users(room, [user])
        self.listing(room)

    def permanent_mute(self, index: int) -> None:
        room = self.rooms[0]
        user = self.fixtures["members"][index]
        self.mute_users(room, [user], PERMANENT)
        self.listing(room)
        if self.target.can("clock"):
            self.time_passes_ms(2 * DURATIONS_MS[-1])
            self.listing(room)  # a permanent mute is still listed two days on
        self.unmute_users(room, [user])

    @precondition(lambda self: self.can_run(ENDS))
    @rule(index=st.integers(0, 3), duration=st.integers(0, len(DURATIONS_MS) - 1))
    def mute_until_it_runs_out(self, index: int, duration: int) -> None:
        room = self.rooms[0]
        user = self.pool(room)[index]
        length = DURATIONS_MS[duration]
        self.mute_users(room, [user], length)
        self.time_passes_ms(length + 2 * SKEW_MS + 1_000)
        self.listing(room)

    @precondition(lambda self: self.can_run(ZERO))
    @rule(index=st.integers(0, 3), muted_first=st.booleans())
    def zero_cancels(self, index: int, muted_first: bool) -> None:
        """`mute_duration` 0 cancels the mute (decision on it): afterwards the user is not on the
        list, muted before or not. A documented refusal (4xx) must change nothing."""
        room = self.rooms[0]
        user = self.pool(room)[index]
        if muted_first:
            self.mute_users(room, [user], DURATIONS_MS[1])
        self.call(MUTE, path=self.at(room), body={"usernames": [user], "mute_duration": CANCEL})
        self.listing(room)

    def rooms_are_apart(self, user: str) -> None:
        a, b = self.rooms
        if user in self.muted(b):
            self.unmute_users(b, [user])
        self.mute_users(a, [user], DURATIONS_MS[1])
        self.listing(b)
        self.mute_users(b, [user], DURATIONS_MS[1])
        self.unmute_users(a, [user])
        self.listing(b)
        self.unmute_users(b, [user])

    def mute_stays_in_its_room(self) -> None:
        """A mute made just now in the first room is not on the second room's list (a list of the
        whole app's mutes would name it, with the same `expire`). Judged by that `expire`, not by
        the start read, so a target without reset fails it again on every replay."""
        a, b = self.rooms
        others = set(self.fixtures["other_chatroom_members"])
        user = next((u for u in self.fixtures["members"][6:] if u not in others and u not in self.muted(a)), None)
        if user is None:
            return
        self.mute_users(a, [user], DURATIONS_MS[1])
        listed = self.listing(b)
        self.expect(ROOMS, user not in listed or not consistent(self.muted(a).get(user, []), listed[user]),
                    f"{user}, muted just now in chat room {a} only, is listed in chat room {b} "
                    f"(expire {listed.get(user)!r})", doc(P, LIST))
        self.unmute_users(a, [user])

    def sixty_at_once(self) -> None:
        room = self.rooms[0]
        users = list(self.fixtures["members"][:MAX_USERS])
        self.mute_users(room, users, DURATIONS_MS[1])
        self.listing(room)
        self.unmute_users(room, users)
        self.listing(room)

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
        """Mute-all / unmute-all flip the room-wide flag and leave the mute list as it was (the
        model judges the answer and the list after it)."""
        chat_room = self.rooms[room]
        self.switched.add(chat_room)
        if chat_room in self.dirty:
            self.check_room(chat_room)  # so that what changes below is the mute-all's doing
        self.call(MUTE_ALL if on else UNMUTE_ALL, path=self.at(chat_room))
        self.check_room(chat_room)

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
            self.check_room(self.rooms[room])

    def other_app_tries(self, room: str, index: int, op: str, who: str = "other_app") -> None:
        """`who` (another app's token, an expired one, a plain user's) calls `op`: refused (the
        model takes a change the list shows as this refusal's)."""
        pool = self.pool(room)
        user = pool[index % len(pool)]
        if op == MUTE:
            response, _ = self.call(MUTE, **{"as": who}, path=self.at(room),
                                    body={"usernames": [user], "mute_duration": DURATIONS_MS[1]})
        elif op == UNMUTE:
            target = min(self.muted(room), default=user)
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
        ours = set(self.muted(room))
        seen = sorted(ours & {str(e["user"]).lower() for e in body["data"]}) if response.status_code == 200 else []
        self.expect(CALLERS, not seen,
                    f"app {self.fixtures['other_app_name']} lists {seen}, muted in chat room {room} of "
                    f"app {self.fixtures['app_name']}", doc(P, LIST))
        user = self.pool(room)[index]
        self.call(MUTE, **{"as": "other_app"}, path=self.at(room, app_name=self.fixtures["other_app_name"]),
                  body={"usernames": [user], "mute_duration": DURATIONS_MS[1]})
        self.check_room(room)  # a change here is the other app's (the model: isolation between callers)

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
        self.check_room(room)

    @precondition(lambda self: self.can_call(MUTE, LIST))
    @rule()
    def too_many_mutes_nobody(self) -> None:
        room = self.rooms[0]
        users = list(self.fixtures["members"][:MAX_USERS + 1])
        self.call(MUTE, path=self.at(room), body={"usernames": users, "mute_duration": DURATIONS_MS[1]})
        self.check_room(room)

    @precondition(lambda self: self.target.can("clock") and self.can_call(LIST))
    @rule(ms=st.sampled_from([30_000, DURATIONS_MS[0] + 2 * SKEW_MS + 1_000, DURATIONS_MS[1] + 2 * SKEW_MS,
                              DURATIONS_MS[2] + 2 * SKEW_MS]))
    def time_passes(self, ms: int) -> None:
        self.time_passes_ms(ms)

    # --- actions (the model judges them) ----------------------------------------------------------

    def mute_users(self, room: str, users: list[str], duration_ms: int) -> None:
        self.call(MUTE, path=self.at(room), body={"usernames": users, "mute_duration": duration_ms})

    def unmute_users(self, room: str, users: list[str]) -> None:
        response, _ = self.call(UNMUTE, path=self.at(room, member=",".join(users)))
        if response.status_code != 200:
            # What a refused unmute did to the others in the call is undocumented (decision 27):
            # the list says (the model takes it from there).
            self.listing(room)

    def time_passes_ms(self, ms: int) -> None:
        if not self.advance_clock(ms):
            return
        self.offset_ms += ms  # the model's clock moves with the target's: mutes end on it
        self.dirty.update(self.rooms)

    def check_room(self, room: str) -> None:
        self.listing(room)

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
            clock = self.now_ms()
            for user, expire in found.items():
                if now.get(user, object()) == expire:
                    continue
                # Muted before the run: again until the same end, or for good (decision 20).
                left = int(expire - clock) if _is_int(expire) and expire > clock + 1000 else PERMANENT
                if _is_int(expire) and 0 < expire <= clock + 1000:
                    continue  # it has run out meanwhile
                self.quiet(MUTE, path=self.at(room), body={"usernames": [user], "mute_duration": left})
