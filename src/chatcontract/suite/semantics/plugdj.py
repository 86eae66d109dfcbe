"""plug.dj mutes as a state machine: mute, unmute, list, role checks and `expires` counting down.

Model: user id -> (the durations in seconds it may have been muted for, the reasons it may carry,
the server time after which it must be gone). What the docs leave open (vendors.md §6 points
10, 11, 15: a repeated mute, unmuting someone not muted, whether `expires` counts down) is
accepted either way, as the spec's x-decisions record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract import specs
from chatcontract.suite.semantics import ModelMachine, doc

P = "plugdj"


def _duration_seconds() -> dict[str, int]:
    schema = specs.read_document(specs.schemas_dir() / "plugdj" / "mute-request.schema.json")
    return dict(schema["properties"]["duration"]["x-duration-seconds"])


SECONDS = _duration_seconds()
SLACK_S = 2  # seconds of clock skew and rounding allowed between the call and the read-back


@dataclass
class Expected:
    """What a muted user's entry may look like. A repeated mute may replace, keep or extend the
    first (decision 15), so the end is known only between `listed_until_ms` and `gone_after_ms`."""

    max_seconds: int
    reasons: set[int] = field(default_factory=set)
    gone_after_ms: float = 0  # (model time) the mute must have ended by then
    listed_until_ms: float = 0  # (model time) the mute must still be listed before then


class Machine(ModelMachine):
    def __init__(self) -> None:
        super().__init__()
        self.muted: dict[int, Expected] = {}
        self.offset_ms = 0  # how far the target's clock was moved
        self.expired: set[int] = set()  # mutes whose time ran out, not muted again since

    def now_ms(self) -> float:
        return time.time() * 1000 + self.offset_ms

    def listing(self) -> dict[int, dict]:
        response, body = self.call("plugdjListMutes")
        self.expect("semantics: list answers", response.status_code == 200,
                    f"GET /_/mutes as moderator answered {response.status_code}", doc(P, "plugdjListMutes"))
        return {entry["id"]: entry for entry in body["data"]}

    @initialize()
    def start(self) -> None:
        self.reset_target()
        for user_id, entry in self.listing().items():
            self.muted[user_id] = Expected(max(SECONDS.values()), {entry["reason"]},
                                           self.now_ms() + (entry["expires"] + SLACK_S) * 1000,
                                           self.now_ms() + (entry["expires"] - SLACK_S) * 1000)
        # Every run first walks through each documented behaviour once, so even the smallest
        # profile checks them all; the random rules below then explore interleavings.
        for index, duration in enumerate(SECONDS):
            self.mute_read_back_unmute(index % 3, duration)
        if self.target.can("clock"):
            self.mute_until_it_runs_out(0, next(iter(SECONDS)))

    # First rule: hypothesis' simplest runs repeat it, so every run checks a whole cycle.
    @rule(index=st.integers(0, 2), duration=st.sampled_from(list(SECONDS)))
    def mute_read_back_unmute(self, index: int, duration: str) -> None:
        user = self.fixtures["mutable_users"][index]
        self.mute(index, 2, duration)
        entry = self.listing().get(user)
        self.expect("semantics: mute then read back", entry is not None,
                    f"{user} muted ({duration}) but not in GET /_/mutes", doc(P, "plugdjListMutes"))
        self.expect("semantics: expires within the documented duration", entry["expires"] <= self.muted[user].max_seconds,
                    f"{user} muted for {SECONDS[duration]} s ({duration}) lists expires={entry['expires']}",
                    doc(P, "plugdjMuteUser", "requestBody"))
        self.unmute(index)
        self.expect("semantics: unmute then read back", user not in self.listing(),
                    f"{user} unmuted but still in GET /_/mutes", doc(P, "plugdjUnmuteUser"))

    @precondition(lambda self: self.target.can("clock"))
    @rule(index=st.integers(0, 2), duration=st.sampled_from(list(SECONDS)))
    def mute_until_it_runs_out(self, index: int, duration: str) -> None:
        user = self.fixtures["mutable_users"][index]
        self.mute(index, 1, duration)
        self.time_passes_ms((SECONDS[duration] + 2 * SLACK_S) * 1000)
        self.expect("semantics: a mute ends after its duration", user not in self.listing(),
                    f"{user} muted for {SECONDS[duration]} s ({duration}) is still listed after that time",
                    doc(P, "plugdjMuteUser", "requestBody"))

    @rule(index=st.integers(0, 2), reason=st.integers(1, 5), duration=st.sampled_from(list(SECONDS)))
    def mute(self, index: int, reason: int, duration: str) -> None:
        user = self.fixtures["mutable_users"][index]
        response, _ = self.call("plugdjMuteUser", body={"userID": user, "reason": reason, "duration": duration})
        already = user in self.muted
        if not already:
            self.expect("semantics: mute then read back", response.status_code == 200,
                        f"muting {user} ({duration}) answered {response.status_code}", doc(P, "plugdjMuteUser"))
        if response.status_code == 200:
            self.expired.discard(user)
            seconds = SECONDS[duration]
            before = self.muted.get(user)
            ends_ms = self.now_ms() + seconds * 1000
            self.muted[user] = Expected(
                max(seconds, before.max_seconds if before else 0),
                {reason} | (before.reasons if before else set()),
                max(ends_ms + SLACK_S * 1000, before.gone_after_ms if before else 0),
                min(ends_ms - SLACK_S * 1000, before.listed_until_ms if before else float("inf")),
            )

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

    @rule(index=st.integers(0, 2))
    def member_cannot_mute(self, index: int) -> None:
        user = self.fixtures["mutable_users"][index]
        response, _ = self.call("plugdjMuteUser", **{"as": "member"}, body={"userID": user, "reason": 1, "duration": "s"})
        self.expect("semantics: authorization between identities", response.status_code >= 400,
                    f"a plain member muted {user} (status {response.status_code})",
                    doc(P, "plugdjMuteUser", "responses", "4XX"))

    @precondition(lambda self: self.target.can("clock"))
    @rule(minutes=st.sampled_from([5, 16, 31, 46]))
    def time_passes(self, minutes: int) -> None:
        self.time_passes_ms(minutes * 60_000)

    def time_passes_ms(self, ms: int) -> None:
        self.advance_clock(ms)
        self.offset_ms += ms
        now = self.now_ms()
        for user in [u for u, e in self.muted.items() if e.gone_after_ms <= now - SLACK_S * 1000]:
            del self.muted[user]
            self.expired.add(user)

    @invariant()
    def list_matches_model(self) -> None:
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
            remaining_s = (expected.gone_after_ms - now) / 1000
            self.expect("semantics: expires counts down", entry["expires"] <= remaining_s + SLACK_S,
                        f"user {user} has expires={entry['expires']} s but at most {remaining_s:.0f} s remain",
                        doc(P, "plugdjListMutes"))
            self.expect("semantics: mute then read back", entry["reason"] in expected.reasons,
                        f"user {user} listed with reason {entry['reason']}, muted with {sorted(expected.reasons)}",
                        doc(P, "plugdjListMutes"))
