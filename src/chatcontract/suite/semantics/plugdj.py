"""plug.dj mutes as a state machine: mute, unmute, list, role checks, `expires` and expiry.

Model: user id -> (the durations in seconds it may have been muted for, the reasons it may carry,
the server time after which it must be gone). What the docs leave open (decisions
10, 11, 15: a repeated mute, unmuting someone not muted, whether `expires` counts down) is
accepted either way, as the spec's x-decisions record.

Time is bounded by measurement, not guessed: each call is timed on the suite's clock (plus the
clock hook's offset), so a mute made between t0 and t1 for L seconds ends between t0 + L and
t1 + L, widened by END_GRANULARITY_MS for a server that keeps ends to the whole second. A slow
network or a loaded machine widens the window by exactly the time it took, never a false alarm.

Without the clock hook the expiry check is reported skipped: the shortest documented mute is 15
minutes, longer than any real-time budget. `expires` is checked in seconds (the documented unit).
The list must name a user once, even after a repeated mute. Partial targets: each behaviour runs
when the target implements what it calls (the list for every read back). Clean-up (every example):
users muted since the start are unmuted; users muted at the start and unmuted since are muted
again with their reason, for the shortest documented duration that covers what was left of it
(plug.dj cannot mute until a given time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract import specs
from chatcontract.suite.semantics import CLOCK, ModelMachine, doc
from chatcontract.suite.semantics.model import Finding, Knowledge, Seen, acting_identity

P = "plugdj"
LIST, MUTE, UNMUTE = "plugdjListMutes", "plugdjMuteUser", "plugdjUnmuteUser"


def _duration_seconds() -> dict[str, int]:
    schema = specs.read_document(specs.schemas_dir() / "plugdj" / "mute-request.schema.json")
    return dict(schema["properties"]["duration"]["x-duration-seconds"])


SECONDS = _duration_seconds()
# A server may keep a mute's end to the whole second (undocumented either way), so an end is known
# to 1 s either side of the measured call; `expires`, an integer, may be rounded either way too.
END_GRANULARITY_MS = 1000
ANSWERS = "semantics: list answers"
READ_BACK = "semantics: mute then read back"
UNMUTED = "semantics: unmute then read back"
WITHIN = "semantics: expires within the documented duration"
ENDS = "semantics: a mute ends after its duration"
AUTHZ = "semantics: authorization between identities"
EXPIRES = "semantics: expires is the time left or the mute's length"
NO_DUPS = "semantics: no duplicates after a repeated action"
ROOMS = "semantics: isolation between rooms"
OTHER = "other_room_moderator"  # optional identity: a moderator of another room (x-target)
NEEDS = {ANSWERS: (LIST,), READ_BACK: (MUTE, LIST), UNMUTED: (MUTE, UNMUTE, LIST), WITHIN: (MUTE, LIST),
         EXPIRES: (MUTE, LIST), ENDS: (MUTE, LIST, CLOCK), AUTHZ: (MUTE,), NO_DUPS: (MUTE, LIST),
         ROOMS: (MUTE, UNMUTE, LIST)}


@dataclass
class Expected:
    """What a muted user's entry may look like. A repeated mute may replace, keep or extend the
    first (decision 15), so the end is known only between `listed_until_ms` and `gone_after_ms`.
    `vague`: the user may have been muted already before the traffic showed it, so the entry may
    carry that earlier mute's reason and end: only that it is listed is known, until a list
    shows the entry."""

    lengths: set[int]  # the mute lengths (s) it may carry: `expires` may be the full length (decision 10)
    reasons: set[int] = field(default_factory=set)
    gone_after_ms: float = 0  # (model time) the mute must have ended by then
    listed_until_ms: float = 0  # (model time) the mute must still be listed before then
    vague: bool = False

    @property
    def max_seconds(self) -> int:
        return max(self.lengths)


@dataclass
class Room:
    """What the traffic says about the mutes of one caller's room (each operation acts on the
    caller's current room)."""

    muted: dict[int, Expected] = field(default_factory=dict)
    expired: set[int] = field(default_factory=set)  # mutes whose time ran out, not muted again since
    knowledge: Knowledge = field(default_factory=Knowledge)

    def known_absent(self, user: int) -> bool:
        return user not in self.muted and self.knowledge.knows(user)


def _user(value: object) -> object:
    """A user id as the list gives it (an integer), from a body or a path segment."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


class Model:
    """plug.dj's mute rules, judged on every exchange (see model.py). State per caller: the
    caller's room. A successful write by one caller makes that user not known in every other
    caller's room (two callers may share a room)."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}

    def room(self, caller: str) -> Room:
        return self.rooms.setdefault(caller, Room())

    def forget(self, reason: str) -> None:
        self.rooms.clear()

    def writes(self, seen: Seen) -> bool:
        return seen.operation_id in (MUTE, UNMUTE)

    def see(self, seen: Seen) -> list[Finding]:
        room = self.room(seen.caller)
        for user in [u for u, e in room.muted.items() if e.gone_after_ms <= seen.sent_ms]:
            del room.muted[user]
            room.expired.add(user)
        if seen.operation_id == MUTE:
            return self._mute(room, seen)
        if seen.operation_id == UNMUTE:
            return self._unmute(room, seen)
        if seen.operation_id == LIST and seen.status == 200 and isinstance(seen.answer, dict):
            return self._listing(room, seen)
        return []

    def _written(self, caller: str, user: object) -> None:
        for name, other in self.rooms.items():
            if name != caller:
                other.muted.pop(user, None)  # type: ignore[call-overload]
                other.expired.discard(user)  # type: ignore[arg-type]
                other.knowledge.doubt(user)

    def _mute(self, room: Room, seen: Seen) -> list[Finding]:
        body = seen.body if isinstance(seen.body, dict) else {}
        user, duration, reason = _user(body.get("userID")), body.get("duration"), body.get("reason")
        if not isinstance(user, int) or duration not in SECONDS:
            return []
        findings = []
        if room.known_absent(user) and seen.caller == acting_identity(P, MUTE):
            findings.append(Finding(READ_BACK, seen.status == 200, f"muting {user} ({duration}) answered {seen.status}",
                                    doc(P, MUTE)))
        if seen.status == 200:
            known = room.knowledge.knows(user)
            room.expired.discard(user)
            seconds = SECONDS[duration]
            before = room.muted.get(user)
            room.muted[user] = Expected(
                {seconds} | (before.lengths if before else set()),
                {reason} | (before.reasons if before else set()),
                max(seen.answered_ms + seconds * 1000 + END_GRANULARITY_MS, before.gone_after_ms if before else 0),
                min(seen.sent_ms + seconds * 1000 - END_GRANULARITY_MS, before.listed_until_ms if before else float("inf")),
                vague=not known or (before is not None and before.vague),
            )
            room.knowledge.learn(user)
            self._written(seen.caller, user)
        return findings

    def _unmute(self, room: Room, seen: Seen) -> list[Finding]:
        user = _user(seen.path.get("userID"))
        findings = []
        if user in room.muted and seen.caller == acting_identity(P, UNMUTE):
            findings.append(Finding(UNMUTED, seen.status == 200, f"unmuting muted user {user} answered {seen.status}",
                                    doc(P, UNMUTE)))
        if seen.status == 200:  # unmuting someone not muted may succeed or fail (decision 15)
            room.muted.pop(user, None)  # type: ignore[call-overload]
            room.expired.discard(user)  # type: ignore[arg-type]
            room.knowledge.learn(user)
            self._written(seen.caller, user)
        return findings

    def _listing(self, room: Room, seen: Seen) -> list[Finding]:
        """The list held against what the traffic before it says; afterwards every user is known."""
        entries = [e for e in seen.answer.get("data") or [] if isinstance(e, dict)]
        ids = [entry.get("id") for entry in entries]
        listed = {entry.get("id"): entry for entry in entries}
        asked, now = seen.sent_ms, seen.answered_ms
        findings: list[Finding] = []
        twice = sorted({i for i in ids if ids.count(i) > 1}, key=str)
        if twice or any(i in room.muted for i in ids):
            findings.append(Finding(NO_DUPS, not twice, f"GET /_/mutes lists {twice} more than once", doc(P, LIST)))
        # Each rule is judged when the traffic gave it something to hold the list against.
        must = [u for u, e in room.muted.items() if now < e.listed_until_ms]
        if must:
            missing = sorted(u for u in must if u not in listed)
            findings.append(Finding(READ_BACK, not missing, f"muted users {missing} are not in GET /_/mutes", doc(P, LIST)))
        if room.expired:
            stale = sorted((u for u in listed if u in room.expired), key=str)
            findings.append(Finding(ENDS, not stale, f"GET /_/mutes still lists {stale} after their mute time ran out",
                                    doc(P, MUTE)))
        if room.knowledge.complete or room.knowledge.known:
            extra = sorted((u for u in listed if room.known_absent(u)), key=str)
            findings.append(Finding(UNMUTED, not extra, f"GET /_/mutes lists {extra}, who were unmuted or never muted",
                                    doc(P, LIST)))
        before = sorted((u for u in listed if u not in room.muted and not room.knowledge.knows(u)), key=str)
        if before:
            findings.append(Finding(READ_BACK, None, f"GET /_/mutes lists {before}, muted before the traffic showed "
                                    "their state", doc(P, LIST)))
        for user, entry in listed.items():
            expected = room.muted.get(user)
            expires, reason = entry.get("expires"), entry.get("reason")
            if not isinstance(expires, int):
                continue
            if expected is None or expected.vague:
                # A mute made before the traffic showed it: `expires` is the time left or its full
                # length (decision 10), so it ends within `expires` seconds, but it may end at any moment.
                known = expected if expected is not None else Expected(set(), set(), 0, asked)
                room.muted[user] = Expected(known.lengths | {expires}, known.reasons | {reason},
                                            max(known.gone_after_ms, now + expires * 1000 + 2 * END_GRANULARITY_MS),
                                            known.listed_until_ms)
                continue
            findings.append(Finding(WITHIN, 0 <= expires <= expected.max_seconds,
                                    f"user {user} has expires={expires}, outside 0..{expected.max_seconds} s",
                                    doc(P, LIST)))
            # Seconds left when the server answered (between `asked` and `now`), rounded either way;
            # or, the other reading of decision 10, the mute's full length.
            least = math.floor(max(0.0, expected.listed_until_ms - now) / 1000)
            most = math.ceil((expected.gone_after_ms - asked) / 1000)
            findings.append(Finding(EXPIRES, least <= expires <= most or expires in expected.lengths,
                                    f"user {user} has expires={expires}: {least}..{most} s are left, and it was muted "
                                    f"for {'/'.join(map(str, sorted(expected.lengths)))} s",
                                    doc(P, LIST, "x-decisions", 0)))
            findings.append(Finding(READ_BACK, reason in expected.reasons,
                                    f"user {user} listed with reason {reason}, muted with {sorted(expected.reasons)}",
                                    doc(P, LIST)))
        room.knowledge.read_whole()
        return findings


class Machine(ModelMachine):
    needs = NEEDS

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[int, dict] | None = None  # the list read at the start
        self.moderation = Model()

    @property
    def home(self) -> Room:
        """The model of the moderator's room, the one the machine's calls act on."""
        return self.moderation.room(acting_identity(P, LIST))

    @property
    def muted(self) -> dict[int, Expected]:
        return self.home.muted

    def listing(self) -> dict[int, dict]:
        response, body = self.call(LIST)
        self.expect(ANSWERS, response.status_code == 200,
                    f"GET /_/mutes as moderator answered {response.status_code}", doc(P, LIST))
        return {entry["id"]: entry for entry in body["data"]}

    @initialize()
    def start(self) -> None:
        if not self.can_call(LIST):
            return
        self.reset_target()
        # The model takes this first list as the state before the run (each user muted before it
        # ends within `expires` seconds, but may end at any moment: decision 10).
        self.found = self.listing()
        # Every run first walks through each documented behaviour once, so even the smallest
        # profile checks them all; the random rules below then explore interleavings.
        for index, duration in enumerate(SECONDS):
            if self.can_call(MUTE, UNMUTE):
                self.mute_read_back_unmute(index % 3, duration)
            elif self.can_call(MUTE):  # nothing to undo it with: the clean-up cannot either, so
                break  # a mute-only target gets no mutes (they would be left behind)
        if self.can_call(MUTE, UNMUTE):
            self.walk_two_mutes()
            self.walk_other_room()
        if self.can_call(MUTE):
            self.member_cannot_mute(0)
        if self.can_run(ENDS) and self.can_call(UNMUTE):  # the longest mute: a rate error in its end shows the most
            self.mute_until_it_runs_out(0, max(SECONDS, key=SECONDS.__getitem__))

    def walk_two_mutes(self) -> None:
        """Two mutes at once: a repeated mute lists its user once (decision 15 leaves its answer
        open, not the list), and unmuting one leaves the other listed."""
        first, second = self.fixtures["mutable_users"][0], self.fixtures["mutable_users"][1]
        self.mute(0, 2, "s")
        self.mute(1, 2, "s")
        self.mute(1, 3, "m")  # again: 200 or an error, never a second entry
        self.check_listing()
        self.unmute(0)
        listed = self.check_listing()
        self.expect(UNMUTED, second not in self.muted or second in listed,
                    f"unmuting {first} also ended the mute of {second}", doc(P, UNMUTE))
        self.unmute(1)
        self.check_listing()

    def other_list(self) -> set[int] | None:
        """The ids GET /_/mutes lists for the other room's moderator (None: it did not answer 200)."""
        response, body = self.call(LIST, **{"as": OTHER})
        return {entry["id"] for entry in body["data"]} if response.status_code == 200 else None

    def walk_other_room(self) -> None:
        """Mutes are kept per room (each operation acts on the caller's current room): a mute in
        the other room is not listed here, a mute here is not written there, and unmuting here
        leaves the same user's mute there alone. Needs the optional other-room identity."""
        if OTHER not in self.target.credentials or "other_room_user" not in self.fixtures:
            self.skip(ROOMS, f"the target file gives no {OTHER} / other_room_user (optional in the spec's x-target)")
            return
        there_before = self.other_list()
        stranger, here = self.fixtures["other_room_user"], self.fixtures["mutable_users"][2]
        if there_before is None or stranger in there_before or stranger in self.muted:
            return  # nothing to compare against
        muted_there, _ = self.call(MUTE, **{"as": OTHER}, body={"userID": stranger, "reason": 1, "duration": "s"})
        if muted_there.status_code != 200:
            return
        try:
            self.expect(ROOMS, stranger not in self.check_listing(),
                        f"GET /_/mutes in the moderator's room lists {stranger}, muted only in the other room",
                        doc(P, LIST))
            self.mute(2, 1, "s")
            there = self.other_list()
            if here in self.muted and there is not None and here not in there_before:
                self.expect(ROOMS, here not in there, f"muting {here} in the moderator's room also muted them in "
                            "the other room", doc(P, MUTE))
            self.unmute(2)
            both, _ = self.call(MUTE, body={"userID": stranger, "reason": 1, "duration": "s"})
            if both.status_code == 200:  # the other room's user muted here too, then unmuted here
                self.call(UNMUTE, path={"userID": stranger})
                there = self.other_list()
                if there is not None:
                    self.expect(ROOMS, stranger in there, f"unmuting {stranger} in the moderator's room also ended "
                                "their mute in the other room", doc(P, UNMUTE))
        finally:
            self.quiet(UNMUTE, **{"as": OTHER}, path={"userID": stranger})

    # First rule: hypothesis' simplest runs repeat it, so every run checks a whole cycle.
    @precondition(lambda self: self.can_call(LIST, MUTE, UNMUTE))
    @rule(index=st.integers(0, 2), duration=st.sampled_from(list(SECONDS)))
    def mute_read_back_unmute(self, index: int, duration: str) -> None:
        user = self.fixtures["mutable_users"][index]
        self.mute(index, 2, duration)
        entry = self.check_listing().get(user)
        self.expect(READ_BACK, entry is not None,
                    f"{user} muted ({duration}) but not in GET /_/mutes", doc(P, LIST))
        self.expect(WITHIN, entry["expires"] <= self.muted[user].max_seconds,
                    f"{user} muted for {SECONDS[duration]} s ({duration}) lists expires={entry['expires']}",
                    doc(P, MUTE, "requestBody"))
        self.unmute(index)
        self.expect(UNMUTED, user not in self.listing(),
                    f"{user} unmuted but still in GET /_/mutes", doc(P, UNMUTE))

    @precondition(lambda self: self.target.can("clock") and self.can_call(LIST, MUTE, UNMUTE))
    @rule(index=st.integers(0, 2), duration=st.sampled_from(list(SECONDS)))
    def mute_until_it_runs_out(self, index: int, duration: str) -> None:
        user = self.fixtures["mutable_users"][index]
        self.mute(index, 1, duration)
        if user not in self.muted:
            return  # not muted: the answer was already judged
        # Just before the earliest moment it may end, it must still be listed (the invariant's
        # check, run here); then past the latest moment, it must be gone.
        expected = self.muted[user]
        self.time_passes_ms(max(0, math.floor(expected.listed_until_ms - self.now_ms()) - END_GRANULARITY_MS))
        self.check_listing()
        self.time_passes_ms(max(0, math.ceil(expected.gone_after_ms - self.now_ms())))
        self.expect(ENDS, user not in self.listing(),
                    f"{user} muted for {SECONDS[duration]} s ({duration}) is still listed after that time",
                    doc(P, MUTE, "requestBody"))

    @precondition(lambda self: self.can_call(LIST, MUTE, UNMUTE))
    @rule(index=st.integers(0, 2), reason=st.integers(1, 5), duration=st.sampled_from(list(SECONDS)))
    def mute(self, index: int, reason: int, duration: str) -> None:
        user = self.fixtures["mutable_users"][index]
        self.call(MUTE, body={"userID": user, "reason": reason, "duration": duration})  # judged by the model

    @precondition(lambda self: self.can_call(LIST, UNMUTE))
    @rule(index=st.integers(0, 2))
    def unmute(self, index: int) -> None:
        self.call(UNMUTE, path={"userID": self.fixtures["mutable_users"][index]})  # judged by the model

    @precondition(lambda self: self.can_call(MUTE))
    @rule(index=st.integers(0, 2))
    def member_cannot_mute(self, index: int) -> None:
        user = self.fixtures["mutable_users"][index]
        response, _ = self.call(MUTE, **{"as": "member"}, body={"userID": user, "reason": 1, "duration": "s"})
        self.expect(AUTHZ, response.status_code >= 400,
                    f"a plain member muted {user} (status {response.status_code})",
                    doc(P, MUTE, "responses", "4XX"))

    @precondition(lambda self: self.target.can("clock") and self.can_call(LIST))
    @rule(minutes=st.sampled_from([5, 16, 31, 46]))
    def time_passes(self, minutes: int) -> None:
        self.time_passes_ms(minutes * 60_000)

    def time_passes_ms(self, ms: int) -> None:
        self.advance_clock(ms)
        self.offset_ms += ms  # the model's clock moves with the target's: mutes end on it

    @precondition(lambda self: self.can_call(LIST))
    @invariant()
    def list_matches_model(self) -> None:
        self.check_listing()

    def check_listing(self) -> dict[int, dict]:
        """Read the list; the model holds it against every write before it. What it listed."""
        return self.listing()

    # --- clean-up ---------------------------------------------------------------------------------

    def restore(self) -> None:
        """Back to the list the start read (nothing asserted here; see the module docstring)."""
        if self.found is None:
            return
        response = self.quiet(LIST)
        try:
            now = {entry["id"]: entry for entry in response.json()["data"]} if response is not None else None
        except (ValueError, KeyError, TypeError):
            return
        if now is None:
            return
        for user in sorted(set(now) - set(self.found)):
            self.quiet(UNMUTE, path={"userID": user})
        for user in sorted(set(self.found) - set(now)):
            entry = self.found[user]
            fits = [d for d, seconds in sorted(SECONDS.items(), key=lambda i: i[1]) if seconds >= entry["expires"]]
            self.quiet(MUTE, body={"userID": user, "reason": entry["reason"], "duration": (fits or list(SECONDS))[-1]
                                   if not fits else fits[0]})
