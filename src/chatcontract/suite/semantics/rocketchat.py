"""Rocket.Chat ignore lists and room mutes as a state machine: ignore, un-ignore, read back, mute.

Model: for each (identity, room) the set of user ids in the `ignored` array of that identity's
subscription (None when it has no subscription: `subscription: null`), initialised from
`subscriptions.getOne` reads, so a target without reset works too; which users belong to which
room (from the same reads, and the fixture descriptions for `target_user_id`); and what the
machine knows of a user's mute in a room (no operation reads mutes back, so a
mute is known only after this machine's own successful mute or unmute, or from the seeded state
when the target was reset).

Rate limiter: every identity but the admin is rate-limited per route and client IP (10 calls per
60 s by default). A documented 429 changes nothing (the limiter runs before any check, [RC-api]);
with the clock capability the machine ends the window (`rate_limit.window_ms`) and repeats the
call, without it the call's checks are skipped. Most calls are made as the admin, which bypasses
the limiter. Without the clock only the admin changes ignore lists (the members only read them):
a member's change could not be undone while the limiter refuses it.

Partial targets: the ignore behaviours need chat.ignoreUser and subscriptions.getOne (the read
back), the mute behaviours rooms.muteUser / unmuteUser; whatever the target implements runs.

Clean-up (every example, `restore`): each ignore list the machine changed is read and set back to
what the start read; each (room, user) it muted or unmuted is put back, as the admin, to the state
the x-target fixtures describe for the seeded state (nobody muted; in the read-only channel no
`unmuted` exception), since no operation reads mutes back.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract.suite.semantics import ModelMachine, doc
from chatcontract.suite.wire import NOT_SET

P = "rocketchat"
IGNORE, GET_ONE = "rocketchatIgnoreUser", "rocketchatGetSubscription"
MUTE, UNMUTE = "rocketchatMuteUser", "rocketchatUnmuteUser"

B_IGNORE = "semantics: ignore then read back"
B_UNIGNORE = "semantics: un-ignore then read back"
B_REPEAT = "semantics: idempotent repeat"
B_CALLERS = "semantics: isolation between callers"
B_ROOMS = "semantics: isolation between rooms"
B_AUTH = "semantics: authorization between identities"
B_PARSE = "semantics: ignore value parsed as /true|1/ or as a boolean"
B_DEFAULT = "semantics: ignore left out means ignore (where it is accepted)"
B_MUTE = "semantics: mute succeeds where permitted"
B_UNMUTE = "semantics: unmute succeeds where permitted"
B_EXEMPT = "semantics: the admin is never rate-limited"
B_READ = "semantics: list answers"
B_NO_DUPS = "semantics: no duplicates after a repeated action"
EXEMPT = "admin"  # holds api-bypass-rate-limit (x-target identities)

ROOMS = ("room", "private_room", "readonly_room", "direct_room")  # fixture names
MUTE_ROOMS = ("room", "private_room", "readonly_room")  # room types that allow muting (t c / p)
CALLERS = ("admin", "member", "member2")  # who ignores
USER_OF = {"admin": "admin_user", "moderator": "moderator_user", "member": "member_user",
           "member2": "member2_user", "outsider": "outsider_user"}
USERS = ("target_user_id", "admin_user", "member_user", "member2_user", "moderator_user")  # to ignore
MUTE_TARGETS = ("target_user_id", "member_user", "member2_user")
# Rooms of the users whose subscriptions the machine does not read, from the x-target descriptions.
DESCRIBED_ROOMS = {"target_user_id": ("room", "readonly_room"), "moderator_user": ("room", "private_room")}
# x-target: admin holds mute-user everywhere, moderator only in `room` (room role), member nowhere.
MUTE_PERMITTED = {"admin": set(MUTE_ROOMS), "moderator": {"room"}, "member": set()}
# Values of `ignore`: decision 2 (spec parameter `ignore`): any non-empty string, read with the
# unanchored, case-sensitive test /true|1/.
VALUES = ("true", "false", "True", "1", "0", "untrue", "TRUE", "10", "yes", "false1")
# Each of these errors documents a condition (no permission, no room, wrong room type, not a
# member, no such user, bad body); a permitted mute of a member meets none of them, so even where
# the answer is left open (a repeated mute or unmute, undocumented) it cannot be one of these.
CONDITIONAL_ERRORS = {"error-not-allowed", "error-invalid-room", "error-invalid-room-type", "error-user-not-in-room",
                      "error-invalid-user", "error-user-param-not-provided", "invalid-params", "error-invalid-params"}
UNKNOWN: Any = object()


def ignores(value: str) -> bool:
    """How the server code reads `ignore` (decision 2)."""
    return re.search("true|1", value) is not None


def effects(value: str | None) -> set[bool]:
    """What `ignore=value` may do on a conforming server (True: ignore). Decision 2 accepts the
    server code's `/true|1/` and the documented boolean read case-insensitively; decision 8: a
    request without `ignore` that is accepted at all ignores (the vendor page's default)."""
    if value is None:
        return {True}
    return {ignores(value), value.strip().lower() in ("true", "1")}


IGNORES = (IGNORE, GET_ONE)
NEEDS = {B_IGNORE: IGNORES, B_UNIGNORE: IGNORES, B_REPEAT: IGNORES, B_CALLERS: IGNORES, B_ROOMS: IGNORES,
         B_PARSE: IGNORES, B_NO_DUPS: IGNORES, B_READ: (GET_ONE,), B_MUTE: (MUTE,), B_UNMUTE: (UNMUTE,),
         B_AUTH: (), B_EXEMPT: ()}


class Machine(ModelMachine):
    needs = NEEDS
    # The walkthrough is deterministic, so one per run is enough: it is marked done (for this
    # run's `behaviours` dict, which `semantics.run` makes anew) only when it passed, so a run
    # whose walkthrough failed walks again in every later example and replays fail the same way.
    walked_for: ClassVar[object | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.ignored: dict[tuple[str, str], frozenset[str] | None] = {}  # missing key: not known
        self.member_of: dict[tuple[str, str], bool] = {}  # (user id, room fixture) -> subscribed
        self.muted: dict[tuple[str, str], bool] = {}  # (room fixture, user id) -> muted; missing: unknown
        self.last: tuple[str, str] | None = None  # the (caller, room) the last ignore wrote
        self.turn = 0
        self.found: dict[tuple[str, str], frozenset[str] | None] = {}  # (caller, room) -> list at the start
        self.touched_ignores: set[tuple[str, str]] = set()  # (caller, room) an ignore was sent for
        self.touched_mutes: set[tuple[str, str]] = set()  # (room fixture, user fixture) a mute was sent for

    # --- plumbing ----------------------------------------------------------------------------

    def fx(self, name: str) -> str:
        return self.fixtures[name]

    def name_of(self, user_id: str) -> str:
        for name in USERS + ("outsider_user",):
            if self.fixtures.get(name) == user_id:
                return name
        return user_id

    def names(self, ids: frozenset[str] | None) -> str:
        return "no subscription" if ids is None else "[" + ", ".join(sorted(self.name_of(i) for i in ids)) + "]"

    def end_rate_window(self) -> bool:
        """Move the target's clock past the limiter's window; False when the target has no clock.
        (Through the wire's client: one short request instead of a new connection per call.)"""
        if not self.target.can("clock"):
            return False
        window = int(self.fixtures["rate_limit"]["window_ms"])
        self.context.wire.client.post(self.target.base_url + self.target.hooks_path + "/clock/advance",
                                      json={"ms": window + 1000}, timeout=self.target.request_timeout_s
                                      ).raise_for_status()
        return True

    def send(self, operation_id: str, who: str, **overrides: Any) -> tuple[Any, Any] | None:
        """The call as `who`; None when the rate limiter refused it (documented 429: nothing changed)
        and its window could not be ended."""
        for _ in range(2):
            response, body = self.call(operation_id, **{"as": who}, **overrides)
            if response.status_code != 429:
                return response, body
            self.expect(B_EXEMPT, who != EXEMPT, f"{operation_id} as {who} answered 429, but {who} holds "
                        "api-bypass-rate-limit and is never rate-limited", doc(P, operation_id, "responses", "429"))
            if not self.end_rate_window():
                return None
        return None

    def read(self, who: str, room: str, behaviour: str) -> Any:
        """`ignored` of who's subscription to room as a set, None without a subscription, or UNKNOWN."""
        sent = self.send(GET_ONE, who, query={"roomId": self.fx(room)})
        if sent is None:
            self.skip(behaviour, "the rate limiter refused the read (documented 429) and ending its window needs "
                                 "the target's clock hook (capabilities.clock: true)")
            return UNKNOWN
        response, body = sent
        self.expect(behaviour, response.status_code == 200,
                    f"subscriptions.getOne?roomId={self.fx(room)} as {who} answered {response.status_code}",
                    doc(P, GET_ONE))
        subscription = body["subscription"]
        if subscription is None:
            return None
        # Absent `ignored` reads as an empty list (getOne x-decisions).
        listed = list(subscription.get("ignored") or [])
        repeated = sorted({self.name_of(i) for i in listed if listed.count(i) > 1})
        self.expect(B_NO_DUPS, not repeated, f"{who}'s subscription to {room} lists {repeated} more than once in "
                    "`ignored`", doc(P, GET_ONE, "responses", "200"))
        return frozenset(listed)

    def may_change(self, who: str) -> bool:
        """Whether `who` may change an ignore list: the admin always; a rate-limited member only
        when the clock can end the limiter's window (else the change might not be undone)."""
        return who == EXEMPT or self.target.can("clock")

    def check(self, who: str, room: str, behaviour: str, after: str) -> None:
        """Read who's subscription to room back and compare it with the model."""
        if not self.can_call(GET_ONE):
            return
        got = self.read(who, room, behaviour)
        if got is UNKNOWN:
            return
        if (who, room) not in self.ignored:  # never read before (rate-limited): adopt it
            self.ignored[(who, room)] = got
            return
        want = self.ignored[(who, room)]
        self.expect(behaviour, got == want,
                    f"{who}'s subscription to {room} ({self.fx(room)}) has ignored={self.names(got)}, "
                    f"expected {self.names(want)} {after}", doc(P, GET_ONE))

    # --- ignore ------------------------------------------------------------------------------

    def ignore(self, who: str, room: str, user: str, value: str | None, behaviour: str | None = None) -> bool:
        """chat.ignoreUser as `who` (value None: `ignore` left out), then read the caller's list
        back; True when it was applied."""
        if not self.can_call(IGNORE, GET_ONE) or not self.may_change(who):
            return False
        user_id = self.fx(user)
        self.touched_ignores.add((who, room))
        sent = self.send(IGNORE, who, query={"rid": self.fx(room), "userId": user_id,
                                             "ignore": NOT_SET if value is None else value})
        if sent is None:
            return False
        response, body = sent
        mine = self.ignored.get((who, room), UNKNOWN)
        member = self.member_of.get((user_id, room))
        what = f"chat.ignoreUser as {who} in {room} on {user} with ignore={value}"
        if mine is None or member is False:
            # Decision 5: a caller or target without a subscription is 400 error-invalid-subscription.
            self.expect(B_AUTH, response.status_code == 400 and body.get("errorType") == "error-invalid-subscription",
                        f"{what} (caller subscribed: {mine is not None}, target subscribed: {member}) answered "
                        f"{response.status_code} {body}", doc(P, IGNORE, "responses", "400"))
            return False
        if value is None and response.status_code == 400:
            return False  # a validated server: missingIgnore (the documented-error layer checks its body)
        possible = effects(value)
        behaviour = behaviour or (B_DEFAULT if value is None else B_PARSE if value not in ("true", "false")
                                  else B_IGNORE if True in possible else B_UNIGNORE)
        if mine is UNKNOWN or member is None:
            if response.status_code != 200:
                return False
        self.expect(behaviour, response.status_code == 200, f"{what} answered {response.status_code} {body}",
                    doc(P, IGNORE))
        self.last = (who, room)
        if len(possible) == 1:
            adds = next(iter(possible))
            if mine is not UNKNOWN:
                self.ignored[(who, room)] = (mine | {user_id}) if adds else (mine - {user_id})
            how = "ignores" if adds else "un-ignores"
            self.check(who, room, behaviour, f"after {what} (`{value}` {how}, decisions 2 and 8)"
                       if behaviour != B_IGNORE and behaviour != B_UNIGNORE else f"after {what}")
            return True
        # The two readings of decision 2 disagree on this value: either effect, nothing else.
        got = self.read(who, room, behaviour)
        if got is UNKNOWN:  # rate-limited: the list is not known any more
            self.ignored.pop((who, room), None)
            return True
        if mine is UNKNOWN:
            self.ignored[(who, room)] = got
            return True
        either = (mine | {user_id}, mine - {user_id})
        self.expect(behaviour, got in either,
                    f"{who}'s subscription to {room} has ignored={self.names(got)} after {what}; decision 2 accepts "
                    f"{self.names(either[0])} (`/true|1/` or a boolean, whichever ignores) or {self.names(either[1])}",
                    doc(P, IGNORE, "parameters", 2))
        self.ignored[(who, room)] = got
        return True

    # --- mute --------------------------------------------------------------------------------

    def mute(self, who: str, room: str, user: str, mute: bool, spelling: str = "id") -> None:
        """rooms.muteUser / unmuteUser as `who`; the user by id, or by username in `spelling`."""
        user_id = self.fx(user)
        if spelling != "id" and user == "target_user_id":
            username = self.fx("target_username")
            body = {"roomId": self.fx(room), "username": username.lower() if spelling == "lower" else username.upper()}
        else:
            body = {"roomId": self.fx(room), "userId": user_id}
        operation = MUTE if mute else UNMUTE
        if not self.can_call(operation):
            return
        self.touched_mutes.add((room, user))
        sent = self.send(operation, who, body=body)
        if sent is None:
            return
        response, answer = sent
        error_type = answer.get("errorType") if isinstance(answer, dict) else None
        what = f"rooms.{'muteUser' if mute else 'unmuteUser'} as {who} in {room} with {body}"
        if room not in MUTE_PERMITTED[who]:
            self.expect(B_AUTH, response.status_code == 400 and error_type == "error-not-allowed",
                        f"{what} answered {response.status_code} {answer}; {who} lacks mute-user in {room}",
                        doc(P, operation, "responses", "400"))
            return
        behaviour = B_MUTE if mute else B_UNMUTE
        if who != "admin":
            self.expect(B_AUTH, error_type != "error-not-allowed",
                        f"{what} answered error-not-allowed; {who} holds mute-user in {room} (room role)",
                        doc(P, operation))
        if self.member_of.get((user_id, room)) is not True:
            return  # membership unknown: error-user-not-in-room would be right if it is not a member
        if "username" in body and error_type == "error-invalid-user":
            return  # a username in another case need not match (the spec's root decision on getUserFromParams)
        self.expect(behaviour, error_type not in CONDITIONAL_ERRORS,
                    f"{what} answered {response.status_code} {error_type}, whose documented condition does not hold",
                    doc(P, operation, "responses", "400"))
        if self.muted.get((room, user_id)) is (not mute):
            # The user is known (un)muted: the documented answer is 200. (A repeated mute or unmute
            # is undocumented, so nothing else is asserted then.)
            self.expect(behaviour, response.status_code == 200,
                        f"{what} answered {response.status_code} {answer}; the user was "
                        f"{'not ' if mute else ''}muted", doc(P, operation, "responses", "200"))
        if response.status_code == 200:
            self.muted[(room, user_id)] = mute

    # --- start and walkthrough ---------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        was_reset = self.reset_target()
        for who in CALLERS if self.can_call(GET_ONE) else ():
            for room in ROOMS:
                got = self.read(who, room, B_READ)
                if got is not UNKNOWN:
                    self.member_of[(self.fx(USER_OF[who]), room)] = got is not None
                    self.ignored[(who, room)] = got
                    self.found[(who, room)] = got
        for user, rooms in DESCRIBED_ROOMS.items():
            for room in ROOMS:
                self.member_of[(self.fx(user), room)] = room in rooms
        if was_reset:  # the fixture descriptions give the seeded mutes
            self.muted[("room", self.fx("target_user_id"))] = False
            self.muted[("room", self.fx("muted_user_id"))] = True
        if type(self).walked_for is not self.behaviours:
            self.walk_ignores()
            self.walk_mutes()
            type(self).walked_for = self.behaviours

    def walk_ignores(self) -> None:
        """Every documented ignore behaviour once, in an order that leaves nothing to chance."""
        if not self.can_call(IGNORE, GET_ONE):
            return
        target = "target_user_id"
        if self.ignore("admin", "room", target, "true"):
            self.ignore("admin", "room", target, "true", B_REPEAT)  # same list, still 200
            self.check("member", "room", B_CALLERS, "after admin ignored target_user_id in room")
            self.check("member2", "room", B_CALLERS, "after admin ignored target_user_id in room")
            self.check("admin", "readonly_room", B_ROOMS, "after admin ignored target_user_id in room only")
            self.check("admin", "private_room", B_ROOMS, "after admin ignored target_user_id in room only")
            outsider = self.read("outsider", "room", B_CALLERS)
            if outsider is not UNKNOWN:
                self.expect(B_CALLERS, outsider is None,
                            f"outsider (not a member of room) reads a subscription with ignored={self.names(outsider)}",
                            doc(P, GET_ONE, "responses", "200"))
        # One member's ignore is not another member's, in a shared channel and in their DM.
        if self.ignore("member", "direct_room", "member2_user", "true"):
            self.check("member2", "direct_room", B_CALLERS, "after member ignored member2 in their direct message")
            self.check("member", "room", B_ROOMS, "after member ignored member2 in direct_room only")
        self.ignore("admin", "room", "admin_user", "true")  # ignoring yourself is accepted (decision 5)
        self.ignore("admin", "room", target, "false")  # the other entry (admin itself) stays
        self.ignore("admin", "room", target, "false", B_REPEAT)
        self.ignore("admin", "room", "member2_user", "false", B_REPEAT)  # never ignored: still 200
        for value in ("1", "True", "untrue", "TRUE", "false1", "0"):  # alternately on and off
            self.ignore("admin", "room", target, value)
        self.ignore("admin", "room", target, "false")
        self.ignore("admin", "room", target, None)  # left out: refused (validated) or ignores (decision 8)
        self.ignore("admin", "room", target, "false")
        self.ignore("admin", "room", "admin_user", "false")
        self.ignore("member2", "private_room", target, "true")  # member2 has no subscription there

    def walk_mutes(self) -> None:
        target = "target_user_id"
        self.mute("admin", "room", target, True)
        self.mute("admin", "room", target, False, "lower")  # usernames match case-insensitively
        self.mute("moderator", "room", target, True, "upper")  # room role moderator holds mute-user
        self.mute("moderator", "room", target, False)
        self.mute("admin", "private_room", "member_user", True)  # private groups allow muting too ([RC-mute])
        self.mute("admin", "private_room", "member_user", False)
        self.mute("moderator", "private_room", "member_user", True)  # no room role there
        self.mute("member", "room", target, True)
        self.mute("member", "room", "member2_user", False)
        for mute in (True, False, True, False):  # a read-only channel mutes through its own list
            self.mute("admin", "readonly_room", target, mute)

    # --- random exploration ------------------------------------------------------------------

    @precondition(lambda self: self.can_call(IGNORE, GET_ONE))
    @rule(who=st.sampled_from(CALLERS), room=st.sampled_from(ROOMS), user=st.sampled_from(USERS),
          value=st.sampled_from(VALUES))
    def ignore_user(self, who: str, room: str, user: str, value: str) -> None:
        self.ignore(who, room, user, value)

    @precondition(lambda self: self.can_call(IGNORE, GET_ONE))
    @rule(who=st.sampled_from(CALLERS), room=st.sampled_from(ROOMS[:2]), user=st.sampled_from(USERS[:3]),
          value=st.sampled_from(("true", "false")))
    def repeat(self, who: str, room: str, user: str, value: str) -> None:
        if self.ignore(who, room, user, value):
            self.ignore(who, room, user, value, B_REPEAT)

    @precondition(lambda self: self.can_call(MUTE) or self.can_call(UNMUTE))
    @rule(who=st.sampled_from(("admin", "moderator", "member")), room=st.sampled_from(MUTE_ROOMS),
          user=st.sampled_from(MUTE_TARGETS), mute=st.booleans(), spelling=st.sampled_from(("id", "lower", "upper")))
    def mute_user(self, who: str, room: str, user: str, mute: bool, spelling: str) -> None:
        self.mute(who, room, user, mute, spelling)

    @precondition(lambda self: self.can_call(IGNORE, GET_ONE))
    @invariant()
    def one_subscription_matches(self) -> None:
        """One (caller, room) subscription per step, in turn, against the model."""
        pairs = [(who, room) for who in CALLERS for room in ROOMS]
        who, room = pairs[self.turn % len(pairs)]
        self.turn += 1
        last_who, last_room = self.last or (who, room)
        behaviour = B_CALLERS if who != last_who else B_ROOMS if room != last_room else B_IGNORE
        self.check(who, room, behaviour, "(the model's list, kept since the machine started)")

    # --- clean-up ----------------------------------------------------------------------------

    def restore(self) -> None:
        """Put back what this example changed (nothing asserted here; see the module docstring)."""
        for who, room in sorted(self.touched_ignores):
            found = self.found.get((who, room))
            if found is None:  # unknown or no subscription: nothing this machine could have changed
                continue
            now = self.quiet_read(who, room)
            if now is None:
                continue
            for user_id, value in [(u, "false") for u in sorted(now - found)] + [(u, "true") for u in sorted(found - now)]:
                self.quiet_as(who, IGNORE, query={"rid": self.fx(room), "userId": user_id, "ignore": value})
        for room, user in sorted(self.touched_mutes):
            # The seeded state the fixtures describe: not muted; in a read-only channel that is no
            # `unmuted` exception, which a mute call takes away ([RC-mute]).
            operation = MUTE if self.fixtures.get("readonly_room") == self.fx(room) else UNMUTE
            self.quiet(operation, **{"as": "admin"}, body={"roomId": self.fx(room), "userId": self.fx(user)})
        self.touched_ignores.clear()
        self.touched_mutes.clear()

    def quiet_as(self, who: str, operation_id: str, **overrides: Any) -> Any:
        """A clean-up call as `who`, past the rate limiter when the clock can end its window."""
        for _ in range(2):
            response = self.quiet(operation_id, **{"as": who}, **overrides)
            if response is None or response.status_code != 429 or not self.end_rate_window():
                return response
        return None

    def quiet_read(self, who: str, room: str) -> frozenset[str] | None:
        response = self.quiet_as(who, GET_ONE, query={"roomId": self.fx(room)})
        try:
            subscription = response.json()["subscription"] if response is not None and response.status_code == 200 else None
        except (ValueError, KeyError, TypeError):
            return None
        return frozenset(subscription.get("ignored") or []) if isinstance(subscription, dict) else None
