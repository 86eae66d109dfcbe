"""Rocket.Chat ignore lists and room mutes: the rules in `Model`, the chosen calls in `Machine`.

Model (`Model`, fed one `Seen` per exchange by the machine and by the traffic observer, see
model.py): for each (owner, room id) what the traffic says of the owner's subscription to the
room (the owner: the user the request's X-User-Id names, `Seen.principal`, else the caller): whether it exists (`subscription: null` when not), which users are known ignored and which
known not ignored. A `subscriptions.getOne` read makes every user of that list known; a
successful `chat.ignoreUser` makes its user known (ignored or not, by decisions 2 and 8), or not
known when the decisions leave the value's reading open. The docs keep the list per caller and
per room ("nothing else changes"), so one owner's write leaves every other (owner, room) as it
was known: a change there is an isolation failure. Which users are subscribed to which room (a
successful ignore shows both subscriptions; a read shows the caller's when the request names
its user), and what is known of a user's mute in a room: no operation reads mutes
back, so a mute is known only after a successful mute or unmute (or, in the machine, from the
seeded state when the target was reset). Write answers are judged only for the callers the
model is told are entitled to the documented success (by default the x-request's identity).

Machine: what needs calls it chooses: the walkthrough, every identity's calls (the rate limiter,
the admin's exemption from it, the room roles that grant mute-user, the outsider who is no
member), and the clean-up.

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
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract.suite.semantics import ModelMachine, doc
from chatcontract.suite.semantics.model import UNKNOWN_CALLER, Finding, Knowledge, Seen, acting_identity
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
IGNORE_PARAMETERS = {"rid", "userId", "ignore"}
KEPT = "(the model's list, kept since the traffic began)"
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


@dataclass(frozen=True)
class Because:
    """Why the model expects what it does of a list: the behaviour a difference breaks, the
    exchange that set it (for the message) and the doc it rests on."""

    behaviour: str
    after: str
    fact: str


@dataclass
class Subscription:
    """What the traffic says of one caller's subscription to one room."""

    exists: bool | None = None  # None: not known (False: the read answered `subscription: null`)
    ignored: set[str] = field(default_factory=set)  # the known users who are ignored
    knowledge: Knowledge = field(default_factory=Knowledge)  # which users' state is known
    why: dict[str, Because] = field(default_factory=dict)  # users written since the last read
    pending: Because | None = None  # the caller's last write to this list since it was last read

    def state(self, user: str) -> bool | None:
        """True: known ignored; False: known not ignored; None: not known."""
        return (user in self.ignored) if self.knowledge.knows(user) else None

    def set(self, user: str, ignored: bool | None) -> None:
        if ignored is None:
            self.knowledge.doubt(user)
            self.ignored.discard(user)
            return
        self.knowledge.learn(user)
        (self.ignored.add if ignored else self.ignored.discard)(user)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class Model:
    """Rocket.Chat's ignore and mute rules, judged on every exchange (see model.py and the module
    docstring). `names`: display names of user and room ids (the machine's fixture names);
    `usernames`: user ids by lower-case username (a mute may name its user so);
    `entitled(caller, operation_id, room_id)`: whether the docs promise that caller the documented
    success of a write (default: the x-request's identity). An ignore list belongs to a user: it is
    kept per `Seen.principal` (the X-User-Id the request carries) where known, else per caller."""

    def __init__(self, names: dict[str, str] | None = None, usernames: dict[str, str] | None = None,
                 entitled: Callable[[str, str, str], bool] | None = None) -> None:
        self.names = dict(names or {})
        self.usernames = {k.lower(): v for k, v in (usernames or {}).items()}
        self.entitled = entitled or (lambda caller, operation_id, room: caller == acting_identity(P, operation_id))
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self.members: dict[tuple[str, str], bool] = {}  # (user id, room id) -> subscribed, as the traffic showed
        self.described: dict[tuple[str, str], bool] = {}  # the same, as the driver was told (a target file)
        self.muted: dict[tuple[str, str], bool] = {}  # (room id, user id) -> muted; missing: not known
        self.last: tuple[str, str] | None = None  # the (owner, room id) of the last successful ignore

    # --- what the model knows ------------------------------------------------------------------

    def subscription(self, owner: str, room: str) -> Subscription:
        """What is known of `owner`'s subscription to `room` (owner: see `owner`)."""
        return self.subscriptions.setdefault((owner, room), Subscription())

    @staticmethod
    def owner(caller: str, principal: str = "") -> str:
        """Whose ignore lists a caller's exchanges touch: its user (the principal) where the
        request names it, else the caller itself."""
        return f"user {principal}" if principal else caller

    def member(self, user: str, room: str) -> bool | None:
        """Whether `user` is subscribed to `room`: True, False, or None (not known)."""
        return self.members.get((user, room), self.described.get((user, room)))

    def forget(self, reason: str) -> None:
        self.subscriptions.clear()
        self.members.clear()
        self.muted.clear()
        self.last = None

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def room_label(self, room: str) -> str:
        return f"{self.names[room]} ({room})" if room in self.names else room

    def list_names(self, ids: Any) -> str:
        return "no subscription" if ids is None else "[" + ", ".join(sorted(self.name(i) for i in ids)) + "]"

    def expectation(self, owner: str, room: str) -> Because:
        """What a difference in caller's list of room breaks, for a user the last read showed and
        no write since touched: the caller's own write there since, else isolation from the last
        write elsewhere."""
        pending = self.subscription(owner, room).pending
        if pending is not None:
            return pending
        who, where = self.last or (owner, room)
        behaviour = B_CALLERS if who != owner else B_ROOMS if where != room else B_IGNORE
        return Because(behaviour, KEPT, doc(P, GET_ONE))

    # --- judging -------------------------------------------------------------------------------

    def see(self, seen: Seen) -> list[Finding]:
        if seen.operation_id == IGNORE:
            return self._ignore(seen)
        if seen.operation_id == GET_ONE:
            return self._read(seen)
        if seen.operation_id in (MUTE, UNMUTE):
            return self._mute(seen)
        return []

    def _ignore(self, seen: Seen) -> list[Finding]:
        room, user, value = _text(seen.param("rid")), _text(seen.param("userId")), seen.param("ignore")
        if room is None or user is None or seen.status == 429:  # refused before anything changed
            return []
        if seen.caller == UNKNOWN_CALLER:  # whose list it wrote is not known
            if seen.succeeded:
                for (_, where), subscription in self.subscriptions.items():
                    if where == room:
                        subscription.set(user, None)
            return []
        # An extra parameter (the older route ignores it) or a repeated one: the answer is open.
        odd = bool(set(seen.query) - IGNORE_PARAMETERS) or any(len(v) > 1 for v in seen.query.values())
        caller, owner = seen.caller, self.owner(seen.caller, seen.principal)
        mine = self.subscription(owner, room)
        member = self.member(user, room)
        judged = not odd and self.entitled(caller, IGNORE, room)
        what = f"chat.ignoreUser as {caller} in {self.name(room)} on {self.name(user)} with ignore={value}"
        findings: list[Finding] = []
        if mine.exists is False or member is False:
            if judged:  # decision 5: a caller or target without a subscription is 400 error-invalid-subscription
                error = seen.answer.get("errorType") if isinstance(seen.answer, dict) else None
                findings.append(Finding(B_AUTH, seen.status == 400 and error == "error-invalid-subscription",
                                        f"{what} (caller subscribed: {mine.exists is not False}, target subscribed: "
                                        f"{member}) answered {seen.status} {seen.answer}",
                                        doc(P, IGNORE, "responses", "400")))
            if seen.succeeded:  # against what the traffic showed: nothing more is known of it
                mine.set(user, None)
            return findings
        if value is None and seen.status == 400:
            return findings  # a validated server: missingIgnore (the documented-error layer checks its body)
        possible = effects(value)
        before = mine.state(user)
        behaviour = (B_DEFAULT if value is None else B_PARSE if value not in ("true", "false")
                     else B_REPEAT if before is not None and possible == {before}
                     else B_IGNORE if True in possible else B_UNIGNORE)
        if judged and mine.exists and member:
            findings.append(Finding(behaviour, seen.status == 200, f"{what} answered {seen.status} {seen.answer}",
                                    doc(P, IGNORE)))
        if not seen.succeeded:
            if seen.status >= 500:  # it may have been written before the server failed
                mine.set(user, None)
            return findings
        mine.exists = True  # a success shows both subscriptions
        self.members[(user, room)] = True
        if seen.principal:
            self.members[(seen.principal, room)] = True
        self.last = (owner, room)
        if len(possible) == 1:
            adds = next(iter(possible))
            mine.set(user, adds)
            how = "ignores" if adds else "un-ignores"
            because = Because(behaviour, f"after {what}" if behaviour in (B_IGNORE, B_UNIGNORE)
                              else f"after {what} (`{value}` {how}, decisions 2 and 8)", doc(P, GET_ONE))
        else:
            # The two readings of decision 2 disagree on this value: either effect, so the user is
            # not known until a read shows it; nothing else may change.
            mine.set(user, None)
            because = Because(behaviour, f"after {what}; decision 2 accepts either effect of `{value}` on "
                              f"{self.name(user)} (`/true|1/` or a boolean, whichever ignores), nothing else",
                              doc(P, IGNORE, "parameters", 2))
        mine.why[user] = because
        mine.pending = because
        return findings

    def _read(self, seen: Seen) -> list[Finding]:
        room = seen.param("roomId")
        if seen.status != 200 or not isinstance(seen.answer, dict) or room is None or seen.caller == UNKNOWN_CALLER:
            return []  # the machine checks the answers of the reads it chose
        subscription = seen.answer.get("subscription")
        if subscription is not None and not isinstance(subscription, dict):
            return []
        caller, owner = seen.caller, self.owner(seen.caller, seen.principal)
        mine = self.subscription(owner, room)
        # Absent `ignored` reads as an empty list (getOne x-decisions).
        got = None if subscription is None else [i for i in subscription.get("ignored") or [] if isinstance(i, str)]
        label = f"{caller}'s subscription to {self.room_label(room)}"
        findings: list[Finding] = []
        repeated = sorted({self.name(i) for i in got if got.count(i) > 1}) if got is not None else []
        if repeated or any(mine.state(i) for i in got or ()):  # as plug.dj's: where an ignore was seen
            findings.append(Finding(B_NO_DUPS, not repeated, f"{caller}'s subscription to {self.name(room)} lists "
                                    f"{repeated} more than once in `ignored`" if repeated else
                                    f"{caller}'s subscription to {self.name(room)} lists each user once in `ignored`",
                                    doc(P, GET_ONE, "responses", "200")))
        listed = frozenset(got or ())
        shown = None if got is None else listed
        if mine.exists is not None and mine.exists != (got is not None):
            because = self.expectation(owner, room)
            want = None if not mine.exists else {u for u in mine.ignored if mine.knowledge.knows(u)}
            findings.append(Finding(because.behaviour, False, f"{label} has ignored={self.list_names(shown)}, "
                                    f"expected {self.list_names(want)} {because.after}", because.fact))
        elif mine.exists is not None or mine.knowledge.known:
            wrong: dict[Because, set[str]] = {}
            # Every user the last read showed and nothing touched since is known too (the whole list).
            checked: set[Because] = {self.expectation(owner, room)} if mine.knowledge.complete else set()
            for user in set(mine.ignored) | set(listed) | set(mine.why):
                state = mine.state(user)
                if state is None:
                    continue
                because = mine.why.get(user) or self.expectation(owner, room)
                checked.add(because)
                if state != (user in listed):
                    wrong.setdefault(because, set()).add(user)
            unknown = {u for u in listed if mine.state(u) is None}
            want = {u for u in listed if mine.state(u) is not False} | {u for u in mine.ignored if mine.state(u)}
            for because in sorted(checked, key=lambda b: (b.behaviour, b.after)):
                if because in wrong:
                    findings.append(Finding(because.behaviour, False, f"{label} has ignored={self.list_names(shown)}, "
                                            f"expected {self.list_names(want)} {because.after}", because.fact))
                else:
                    findings.append(Finding(because.behaviour, True, f"{label} has ignored={self.list_names(shown)} "
                                            f"{because.after}", because.fact))
            if unknown:
                findings.append(Finding(B_IGNORE, None, f"{label} lists {self.list_names(unknown)}, whose state "
                                        "the traffic before it did not show", doc(P, GET_ONE)))
        else:
            findings.append(Finding(B_IGNORE, None, f"{label} has ignored={self.list_names(shown)}: the first read, "
                                    "nothing the traffic showed before to hold it against", doc(P, GET_ONE)))
        # From now on the whole list is known, as read.
        mine.exists = got is not None
        mine.ignored = set(listed)
        mine.knowledge.read_whole()
        mine.why.clear()
        mine.pending = None
        if seen.principal:
            self.members[(seen.principal, room)] = mine.exists
        return findings

    def _mute(self, seen: Seen) -> list[Finding]:
        body = seen.body if isinstance(seen.body, dict) else {}
        mute = seen.operation_id == MUTE
        room = _text(body.get("roomId"))
        if room is None or seen.status == 429:
            return []
        user = _text(body.get("userId"))
        if user is None and isinstance(body.get("username"), str):
            user = self.usernames.get(body["username"].lower())
        if user is None:  # a user the model cannot name: any user of the room may have changed
            if seen.succeeded:
                for key in [k for k in self.muted if k[0] == room]:
                    del self.muted[key]
            return []
        answer = seen.answer if isinstance(seen.answer, dict) else {}
        error_type = answer.get("errorType")
        if "username" in body and error_type == "error-invalid-user":
            return []  # a username in another case need not match (the spec's root decision on getUserFromParams)
        findings = []
        if (self.muted.get((room, user)) is (not mute) and seen.caller != UNKNOWN_CALLER
                and self.entitled(seen.caller, seen.operation_id, room)):
            # The user is known (un)muted: the documented answer is 200. (A repeated mute or unmute
            # is undocumented, so nothing is asserted then.)
            what = f"rooms.{'muteUser' if mute else 'unmuteUser'} as {seen.caller} in {self.name(room)} with {body}"
            findings.append(Finding(B_MUTE if mute else B_UNMUTE, seen.status == 200,
                                    f"{what} answered {seen.status} {seen.answer}; the user was "
                                    f"{'not ' if mute else ''}muted", doc(P, seen.operation_id, "responses", "200")))
        if seen.succeeded:
            self.muted[(room, user)] = mute
            self.members[(user, room)] = True
        elif seen.status >= 500:
            self.muted.pop((room, user), None)
        return findings


class Machine(ModelMachine):
    needs = NEEDS
    # The walkthrough is deterministic, so one per run is enough: it is marked done (for this
    # run's `behaviours` dict, which `semantics.run` makes anew) only when it passed, so a run
    # whose walkthrough failed walks again in every later example and replays fail the same way.
    walked_for: ClassVar[object | None] = None

    def __init__(self) -> None:
        super().__init__()
        names = {self.fixtures[n]: n for n in USERS + ("outsider_user",) + ROOMS if n in self.fixtures}
        usernames = {self.fixtures["target_username"]: self.fixtures["target_user_id"]} \
            if "target_username" in self.fixtures else {}
        self.moderation: Model = Model(names, usernames, self.entitled)
        self.turn = 0
        self.found: dict[tuple[str, str], frozenset[str] | None] = {}  # (caller, room) -> list at the start
        self.touched_ignores: set[tuple[str, str]] = set()  # (caller, room) an ignore was sent for
        self.touched_mutes: set[tuple[str, str]] = set()  # (room fixture, user fixture) a mute was sent for

    # --- plumbing ----------------------------------------------------------------------------

    def fx(self, name: str) -> str:
        return self.fixtures[name]

    def entitled(self, who: str, operation_id: str, room_id: str) -> bool:
        """Whom the docs promise a write's documented success (the x-target identities): every
        caller its ignore (no permission is checked, only the two subscriptions); a mute only to
        who holds mute-user in the room (the admin everywhere, the moderator by its room role)."""
        if operation_id == IGNORE:
            return who in USER_OF
        rooms = {self.fixtures.get(room) for room in MUTE_PERMITTED.get(who, ())}
        return room_id in rooms

    def expectation(self, who: str, room: str) -> str:
        """The behaviour a difference in who's list of room would break (the model's naming)."""
        return self.moderation.expectation(Model.owner(who, self.principal(who)), self.fx(room)).behaviour

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
        """`ignored` of who's subscription to room as a set, None without a subscription, or UNKNOWN.
        The model holds the list against the traffic before it; this checks that the read answered."""
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
        return frozenset(subscription.get("ignored") or [])

    def may_change(self, who: str) -> bool:
        """Whether `who` may change an ignore list: the admin always; a rate-limited member only
        when the clock can end the limiter's window (else the change might not be undone)."""
        return who == EXEMPT or self.target.can("clock")

    def check(self, who: str, room: str, behaviour: str) -> None:
        """Read who's subscription to room back (the model compares it with what it knows);
        `behaviour` names the read's own answer."""
        if self.can_call(GET_ONE):
            self.read(who, room, behaviour)

    # --- ignore ------------------------------------------------------------------------------

    def ignore(self, who: str, room: str, user: str, value: str | None) -> bool:
        """chat.ignoreUser as `who` (value None: `ignore` left out), then read the caller's list
        back; True when it was applied. The model judges the answer and the read."""
        if not self.can_call(IGNORE, GET_ONE) or not self.may_change(who):
            return False
        self.touched_ignores.add((who, room))
        sent = self.send(IGNORE, who, query={"rid": self.fx(room), "userId": self.fx(user),
                                             "ignore": NOT_SET if value is None else value})
        if sent is None or sent[0].status_code != 200:
            return False
        self.check(who, room, self.expectation(who, room))
        return True

    # --- mute --------------------------------------------------------------------------------

    def mute(self, who: str, room: str, user: str, mute: bool, spelling: str = "id") -> None:
        """rooms.muteUser / unmuteUser as `who`; the user by id, or by username in `spelling`.
        Here the room roles and memberships of the target file; the model judges a known state."""
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
        if self.moderation.member(user_id, self.fx(room)) is not True:
            return  # membership unknown: error-user-not-in-room would be right if it is not a member
        if "username" in body and error_type == "error-invalid-user":
            return  # a username in another case need not match (the spec's root decision on getUserFromParams)
        self.expect(behaviour, error_type not in CONDITIONAL_ERRORS,
                    f"{what} answered {response.status_code} {error_type}, whose documented condition does not hold",
                    doc(P, operation, "responses", "400"))

    # --- start and walkthrough ---------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        was_reset = self.reset_target()
        for who in CALLERS if self.can_call(GET_ONE) else ():
            for room in ROOMS:
                got = self.read(who, room, B_READ)  # the model takes it as the state before the run
                if got is not UNKNOWN:
                    self.found[(who, room)] = got
        for user, rooms in DESCRIBED_ROOMS.items():  # the target file's word, not the traffic's
            for room in ROOMS:
                self.moderation.described[(self.fx(user), self.fx(room))] = room in rooms
        if was_reset:  # the fixture descriptions give the seeded mutes
            self.moderation.muted[(self.fx("room"), self.fx("target_user_id"))] = False
            self.moderation.muted[(self.fx("room"), self.fx("muted_user_id"))] = True
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
            self.ignore("admin", "room", target, "true")  # a repeat: same list, still 200
            self.check("member", "room", B_CALLERS)  # the model: unchanged by the admin's ignore
            self.check("member2", "room", B_CALLERS)
            self.check("admin", "readonly_room", B_ROOMS)  # the model: the admin ignored in room only
            self.check("admin", "private_room", B_ROOMS)
            outsider = self.read("outsider", "room", B_CALLERS)
            if outsider is not UNKNOWN:
                self.expect(B_CALLERS, outsider is None,
                            f"outsider (not a member of room) reads a subscription with "
                            f"ignored={self.moderation.list_names(outsider)}", doc(P, GET_ONE, "responses", "200"))
        # One member's ignore is not another member's, in a shared channel and in their DM.
        if self.ignore("member", "direct_room", "member2_user", "true"):
            self.check("member2", "direct_room", B_CALLERS)
            self.check("member", "room", B_ROOMS)
        self.ignore("admin", "room", "admin_user", "true")  # ignoring yourself is accepted (decision 5)
        self.ignore("admin", "room", target, "false")  # the other entry (admin itself) stays
        self.ignore("admin", "room", target, "false")  # a repeat
        self.ignore("admin", "room", "member2_user", "false")  # never ignored: a repeat, still 200
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
            self.ignore(who, room, user, value)  # the model judges it as a repeat (the state is known)

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
        self.check(who, room, self.expectation(who, room))

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
