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
import time
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract import specs
from chatcontract.suite.semantics import CLOCK, ModelMachine, doc

P = "plugdj"
LIST, MUTE, UNMUTE = "plugdjListMutes", "plugdjMuteUser", "plugdjUnmuteUser"


def _duration_seconds() -> dict[str, int]:
    schema = specs.read_document(specs.schemas_dir() / "plugdj" / "mute-request.schema.json")
    return dict(schema["properties"]["duration"]["x-duration-seconds"])


SECONDS = _duration_seconds()
# A server may keep a mute's end to the whole second (undocumented either way), so an end is known
# to 1 s either side of the measured call; `expires`, an integer, may be rounded either way too.
END_GRANULARITY_MS = 1000
EXPIRES = "semantics: expires is the time left or the mute's length"
NO_DUPS = "semantics: no duplicates after a repeated action"
ROOMS = "semantics: isolation between rooms"
OTHER = "other_room_moderator"  # optional identity: a moderator of another room (x-target)
NEEDS = {"semantics: list answers": (LIST,), "semantics: mute then read back": (MUTE, LIST),
         "semantics: unmute then read back": (MUTE, UNMUTE, LIST),
         "semantics: expires within the documented duration": (MUTE, LIST), EXPIRES: (MUTE, LIST),
         "semantics: a mute ends after its duration": (MUTE, LIST, CLOCK),
         "semantics: authorization between identities": (MUTE,), NO_DUPS: (MUTE, LIST),
         ROOMS: (MUTE, UNMUTE, LIST)}


@dataclass
class Expected:
    """What a muted user's entry may look like. A repeated mute may replace, keep or extend the
    first (decision 15), so the end is known only between `listed_until_ms` and `gone_after_ms`."""

    lengths: set[int]  # the mute lengths (s) it may carry: `expires` may be the full length (decision 10)
    reasons: set[int] = field(default_factory=set)
    gone_after_ms: float = 0  # (model time) the mute must have ended by then
    listed_until_ms: float = 0  # (model time) the mute must still be listed before then

    @property
    def max_seconds(self) -> int:
        return max(self.lengths)


class Machine(ModelMachine):
    needs = NEEDS

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[int, dict] | None = None  # the list read at the start
        self.muted: dict[int, Expected] = {}
        self.offset_ms = 0  # how far the target's clock was moved
        self.expired: set[int] = set()  # mutes whose time ran out, not muted again since

    def now_ms(self) -> float:
        return time.time() * 1000 + self.offset_ms

    def listing(self) -> dict[int, dict]:
        response, body = self.call("plugdjListMutes")
        self.expect("semantics: list answers", response.status_code == 200,
                    f"GET /_/mutes as moderator answered {response.status_code}", doc(P, "plugdjListMutes"))
        ids = [entry["id"] for entry in body["data"]]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice or any(i in self.muted for i in ids):
            self.expect(NO_DUPS, not twice, f"GET /_/mutes lists {twice} more than once", doc(P, "plugdjListMutes"))
        return {entry["id"]: entry for entry in body["data"]}

    @initialize()
    def start(self) -> None:
        if not self.can_call(LIST):
            return
        self.reset_target()
        before = self.now_ms()
        listed = self.listing()
        self.found = listed
        after = self.now_ms()
        for user_id, entry in listed.items():
            # A mute made before the run: `expires` is the time left or its full length (decision
            # 10), so it ends within `expires` seconds, but it may end at any moment.
            self.muted[user_id] = Expected({entry["expires"]}, {entry["reason"]},
                                           after + entry["expires"] * 1000 + 2 * END_GRANULARITY_MS, before)
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
        if self.can_run("semantics: a mute ends after its duration") and self.can_call(UNMUTE):  # the longest mute: a rate error in its end shows the most
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
        self.expect("semantics: unmute then read back", second not in self.muted or second in listed,
                    f"unmuting {first} also ended the mute of {second}", doc(P, "plugdjUnmuteUser"))
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
                        doc(P, "plugdjListMutes"))
            self.mute(2, 1, "s")
            there = self.other_list()
            if here in self.muted and there is not None and here not in there_before:
                self.expect(ROOMS, here not in there, f"muting {here} in the moderator's room also muted them in "
                            "the other room", doc(P, "plugdjMuteUser"))
            self.unmute(2)
            both, _ = self.call(MUTE, body={"userID": stranger, "reason": 1, "duration": "s"})
            if both.status_code == 200:  # the other room's user muted here too, then unmuted here
                self.call(UNMUTE, path={"userID": stranger})
                there = self.other_list()
                if there is not None:
                    self.expect(ROOMS, stranger in there, f"unmuting {stranger} in the moderator's room also ended "
                                "their mute in the other room", doc(P, "plugdjUnmuteUser"))
        finally:
            self.quiet(UNMUTE, **{"as": OTHER}, path={"userID": stranger})

    # First rule: hypothesis' simplest runs repeat it, so every run checks a whole cycle.
    @precondition(lambda self: self.can_call(LIST, MUTE, UNMUTE))
    @rule(index=st.integers(0, 2), duration=st.sampled_from(list(SECONDS)))
    def mute_read_back_unmute(self, index: int, duration: str) -> None:
        user = self.fixtures["mutable_users"][index]
        self.mute(index, 2, duration)
        entry = self.check_listing().get(user)
        self.expect("semantics: mute then read back", entry is not None,
                    f"{user} muted ({duration}) but not in GET /_/mutes", doc(P, "plugdjListMutes"))
        self.expect("semantics: expires within the documented duration", entry["expires"] <= self.muted[user].max_seconds,
                    f"{user} muted for {SECONDS[duration]} s ({duration}) lists expires={entry['expires']}",
                    doc(P, "plugdjMuteUser", "requestBody"))
        self.unmute(index)
        self.expect("semantics: unmute then read back", user not in self.listing(),
                    f"{user} unmuted but still in GET /_/mutes", doc(P, "plugdjUnmuteUser"))

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
        self.expect("semantics: a mute ends after its duration", user not in self.listing(),
                    f"{user} muted for {SECONDS[duration]} s ({duration}) is still listed after that time",
                    doc(P, "plugdjMuteUser", "requestBody"))

    @precondition(lambda self: self.can_call(LIST, MUTE, UNMUTE))
    @rule(index=st.integers(0, 2), reason=st.integers(1, 5), duration=st.sampled_from(list(SECONDS)))
    def mute(self, index: int, reason: int, duration: str) -> None:
        user = self.fixtures["mutable_users"][index]
        sent = self.now_ms()
        response, _ = self.call("plugdjMuteUser", body={"userID": user, "reason": reason, "duration": duration})
        answered = self.now_ms()
        already = user in self.muted
        if not already:
            self.expect("semantics: mute then read back", response.status_code == 200,
                        f"muting {user} ({duration}) answered {response.status_code}", doc(P, "plugdjMuteUser"))
        if response.status_code == 200:
            self.expired.discard(user)
            seconds = SECONDS[duration]
            before = self.muted.get(user)
            self.muted[user] = Expected(
                {seconds} | (before.lengths if before else set()),
                {reason} | (before.reasons if before else set()),
                max(answered + seconds * 1000 + END_GRANULARITY_MS, before.gone_after_ms if before else 0),
                min(sent + seconds * 1000 - END_GRANULARITY_MS, before.listed_until_ms if before else float("inf")),
            )

    @precondition(lambda self: self.can_call(LIST, UNMUTE))
    @rule(index=st.integers(0, 2))
    def unmute(self, index: int) -> None:
        user = self.fixtures["mutable_users"][index]
        response, _ = self.call("plugdjUnmuteUser", path={"userID": user})
        if user in self.muted:
            self.expect("semantics: unmute then read back", response.status_code == 200,
                        f"unmuting muted user {user} answered {response.status_code}", doc(P, "plugdjUnmuteUser"))
            del self.muted[user]
        self.expired.discard(user)
        # Unmuting someone not muted may succeed or fail (decision 15): nothing to assert.

    @precondition(lambda self: self.can_call(MUTE))
    @rule(index=st.integers(0, 2))
    def member_cannot_mute(self, index: int) -> None:
        user = self.fixtures["mutable_users"][index]
        response, _ = self.call("plugdjMuteUser", **{"as": "member"}, body={"userID": user, "reason": 1, "duration": "s"})
        self.expect("semantics: authorization between identities", response.status_code >= 400,
                    f"a plain member muted {user} (status {response.status_code})",
                    doc(P, "plugdjMuteUser", "responses", "4XX"))

    @precondition(lambda self: self.target.can("clock") and self.can_call(LIST))
    @rule(minutes=st.sampled_from([5, 16, 31, 46]))
    def time_passes(self, minutes: int) -> None:
        self.time_passes_ms(minutes * 60_000)

    def time_passes_ms(self, ms: int) -> None:
        self.advance_clock(ms)
        self.offset_ms += ms
        now = self.now_ms()
        for user in [u for u, e in self.muted.items() if e.gone_after_ms <= now]:
            del self.muted[user]
            self.expired.add(user)

    @precondition(lambda self: self.can_call(LIST))
    @invariant()
    def list_matches_model(self) -> None:
        self.check_listing()

    def check_listing(self) -> dict[int, dict]:
        """Read the list and hold it against the model; returns what it listed."""
        asked = self.now_ms()
        listed = self.listing()
        now = self.now_ms()
        must = {u for u, e in self.muted.items() if now < e.listed_until_ms}
        missing = sorted(u for u in must if u not in listed)
        self.expect("semantics: mute then read back", not missing,
                    f"muted users {missing} are not in GET /_/mutes", doc(P, "plugdjListMutes"))
        stale = sorted(u for u in listed if u in self.expired)
        self.expect("semantics: a mute ends after its duration", not stale,
                    f"GET /_/mutes still lists {stale} after their mute time ran out", doc(P, "plugdjMuteUser"))
        extra = sorted(u for u in listed if u not in self.muted)
        self.expect("semantics: unmute then read back", not extra,
                    f"GET /_/mutes lists {extra}, who were unmuted or never muted", doc(P, "plugdjListMutes"))
        for user, entry in listed.items():
            expected = self.muted[user]
            self.expect("semantics: expires within the documented duration",
                        0 <= entry["expires"] <= expected.max_seconds,
                        f"user {user} has expires={entry['expires']}, outside 0..{expected.max_seconds} s",
                        doc(P, "plugdjListMutes"))
            # Seconds left when the server answered (between `asked` and `now`), rounded either way;
            # or, the other reading of decision 10, the mute's full length.
            least = math.floor(max(0.0, expected.listed_until_ms - now) / 1000)
            most = math.ceil((expected.gone_after_ms - asked) / 1000)
            self.expect(EXPIRES, least <= entry["expires"] <= most or entry["expires"] in expected.lengths,
                        f"user {user} has expires={entry['expires']}: {least}..{most} s are left, and it was muted "
                        f"for {'/'.join(map(str, sorted(expected.lengths)))} s", doc(P, "plugdjListMutes", "x-decisions", 0))
            self.expect("semantics: mute then read back", entry["reason"] in expected.reasons,
                        f"user {user} listed with reason {entry['reason']}, muted with {sorted(expected.reasons)}",
                        doc(P, "plugdjListMutes"))
        return listed

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
