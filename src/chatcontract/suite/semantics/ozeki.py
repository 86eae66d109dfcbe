"""Ozeki Chat conversation mute as a state machine: per-caller mute, unmute, list, isolation, authorization.

Model: conversation id -> the user ids expected in its `mutedby` (lowercase), read from `list` at
the start, changed only by the identities' own successful `mute`/`unmute`. Mute is the caller's
own conversation mute (decision 18): after `mute` the caller is in `mutedby` and the caller's
`properties` entry (found by `userid`, never by position) has `ismuted: true`; `unmute` reverses
both; `list` reads it back, for the caller and for every other participant. What the docs leave
open is accepted either way: a repeated mute or an unmute of an unmuted conversation, and a call
on a conversation the caller does not take part in, may answer OK or the error envelope (operation
x-decisions); the HTTP status of an error envelope may be 200 or 4xx (decision 16); success is read
from `status` alone (decision 19); user ids may be either case; order of `list` and of `mutedby`
is undocumented (compared as sets). Ozeki mutes have no duration, so no clock is needed.

Isolation also covers `list` itself: every conversation it holds must name the caller among its
`participantids` (checked on every read, before the fixtures are compared with the target, so a
list leaking other users' conversations is a fail of the target, not a fixture error).
Isolation also covers repeats: `mutedby` must not name a user twice after a repeated mute.
Clean-up (every example): each identity's own mute of each conversation it lists is set back to
what the start read, so a target without a reset hook is left as it was found.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any, ClassVar

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from chatcontract import specs
from chatcontract.redaction import clip
from chatcontract.suite.semantics import ModelMachine, doc
from chatcontract.suite.wire import FixtureError

P = "ozeki"
OP = "ozekiConversation"
MEMBERS = ("participant", "other_participant")
IDENTITIES = (*MEMBERS, "outsider")
# The participants' conversations (fixture names); `foreign_conversation` is the outsider's.
CONVERSATIONS = ("conversation", "muted_conversation", "participant_only_conversation")
READ_BACK = {"mute": "semantics: mute then read back", "unmute": "semantics: unmute then read back"}
REPEAT = "semantics: idempotent repeat"
CALLERS = "semantics: isolation between callers"
ROOMS = "semantics: isolation between rooms"
AUTHZ = "semantics: authorization between identities"
LIST = "semantics: list answers"
NO_DUPS = "semantics: no duplicates after a repeated action"


def _ids(values: Any) -> set[str]:
    # Decision (user ids): 32 hex digits of either case, so ids are compared case-insensitively.
    return {str(v).lower() for v in values or []}


def _succeeded(response: httpx.Response, body: Any) -> bool:
    # Decisions 16 and 19: success is HTTP 200 with `status` OK; an error envelope may come with 200.
    return response.status_code == 200 and isinstance(body, dict) and body.get("status") == "OK"


class Machine(ModelMachine):
    needs = {behaviour: (OP,) for behaviour in (*READ_BACK.values(), REPEAT, CALLERS, ROOMS, AUTHZ, LIST, NO_DUPS)}
    _walked: ClassVar[Any] = None  # the run (its Context) whose first example walked through

    def __init__(self) -> None:
        super().__init__()
        self.mutedby: dict[str, set[str]] = {}  # conversation id -> user ids expected in `mutedby`
        self.member_of: dict[str, set[str]] = {}  # identity -> the conversation ids its `list` holds
        # The last action, for naming what a mismatch breaks: (identity, conversation id, kind)
        # with kind "member" (a participant's own mute/unmute), "repeat" or "foreign".
        self.last: tuple[str, str, str] | None = None

    # --- requests -----------------------------------------------------------------------------

    def uid(self, identity: str) -> str:
        return str(self.fixtures["user_ids"][identity]).lower()

    def named(self, users: Any) -> str:
        """User ids as identity names where known: a user id is also the `Ozeki-User` credential,
        so reports redact it and a raw id would read as `<redacted>`."""
        names = {self.uid(i): i for i in IDENTITIES}
        if isinstance(users, str):
            return names.get(users.lower(), users)
        return "[" + ", ".join(names.get(str(u).lower(), str(u)) for u in users or []) + "]"

    def body(self, action: str, conversation: str | None = None) -> dict[str, Any]:
        """The x-request body with another action (and conversation), stamped with the current
        UTC time in the documented `yyyy-MM-dd hh:mm:ss` layout, as a client sends it."""
        template = specs.operation_by_id(P, OP).definition["x-request"]["body"]
        body = {k: copy.deepcopy(v) for k, v in template.items() if k != "conversationid"}
        body["action"] = action
        body["timestamp"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        if "${" in str(body.get("clientversioncode", "")):  # a fixture reference: the target's value
            body["clientversioncode"] = self.fixtures.get("clientversioncode", 3)
        if conversation is not None:
            body["conversationid"] = conversation
        return body

    def own(self, conversation: dict[str, Any], identity: str) -> dict[str, Any] | None:
        """The caller's `properties` entry, found by `userid` (decision 18)."""
        me = self.uid(identity)
        return next((p for p in conversation.get("properties", []) if str(p.get("userid", "")).lower() == me), None)

    def listing(self, identity: str) -> dict[str, dict[str, Any]]:
        response, body = self.call(OP, **{"as": identity}, body=self.body("list"))
        self.expect(LIST, _succeeded(response, body),
                    f"`list` as {identity} answered {response.status_code} {clip(str(body), 200)}",
                    doc(P, OP, "x-actions", "list"))
        return {c["id"]: c for c in body["conversations"]}

    # --- start and walkthrough ----------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        self.reset_target()
        self.mutedby, self.member_of, self.last = {}, {}, None
        views = {identity: self.listing(identity) for identity in IDENTITIES}
        for identity, listed in views.items():  # before the fixtures: a leak is the target's fault
            self.only_own(identity, listed)
        for identity, listed in views.items():
            self.member_of[identity] = set(listed)
            for cid, conversation in listed.items():
                self.mutedby[cid] = _ids(conversation["mutedby"])
        self.found = {cid: set(users) for cid, users in self.mutedby.items()}
        self.check_fixtures()
        for identity, listed in views.items():  # the views agree with each other and with `ismuted`
            self.compare(identity, listed)
        # Every run first walks through each documented behaviour once, so even the smallest
        # profile checks them all; the random rules below then explore interleavings. The walk
        # runs in the run's first example only, and again until it has passed once (so a failure
        # in it replays identically while hypothesis shrinks); it ends in the state it started
        # from. Each step is read back at once (invariants do not run inside `initialize`).
        if Machine._walked is not self.context:
            self.walk_through()
            Machine._walked = self.context

    def walk_through(self) -> None:
        me = self.uid("participant")
        muted = me in self.mutedby[self.fixtures["conversation"]]
        walk = [("participant", "conversation", "unmute")] if muted else []
        walk += [("participant", "conversation", a) for a in ("mute", "mute", "unmute", "unmute")]  # then repeats
        walk += [("participant", "muted_conversation", a) for a in ("mute", "unmute")]  # beside another's mute
        other_muted = self.uid("other_participant") in self.mutedby[self.fixtures["muted_conversation"]]
        walk += [("other_participant", "muted_conversation", a)
                 for a in (("unmute", "mute") if other_muted else ("mute", "unmute"))]
        walk += [("outsider", "conversation", "mute")]
        for who, key, action in walk:
            self.act(who, key, action)
            self.read_back()
        self.act_on_foreign("participant", "mute")
        self.read_back()
        # An id of no conversation, and not of the examples' 32-hex form (any string is a valid
        # `conversationid`, operation x-decisions): OK or the error envelope, never an undocumented
        # 5xx (`call` holds the answer to the documented responses).
        for action in ("mute", "unmute"):
            self.call(OP, **{"as": "participant"}, body=self.body(action, "no-such-conversation"))
        self.read_back()

    def check_fixtures(self) -> None:
        """The target file's fixtures must describe the target (else a harness error, not a fail)."""
        f, of = self.fixtures, self.member_of
        wanted = [
            (f["conversation"] in of["participant"] & of["other_participant"],
             "conversation is not listed by both participants"),
            (f["muted_conversation"] in of["participant"] & of["other_participant"],
             "muted_conversation is not listed by both participants"),
            (f["participant_only_conversation"] in of["participant"] - of["other_participant"],
             "participant_only_conversation is not listed by participant alone"),
            (f["foreign_conversation"] in of["outsider"] - of["participant"] - of["other_participant"],
             "foreign_conversation is not listed by outsider alone"),
            (not {f[k] for k in CONVERSATIONS} & of["outsider"], "outsider lists a participants' conversation"),
        ]
        for ok, problem in wanted:
            if not ok:
                raise FixtureError(f"the target's fixtures do not match its state: {problem}")

    # --- actions: each leaves in `self.last` what the next read-back must look at -----------

    @rule(who=st.sampled_from(IDENTITIES), key=st.sampled_from(CONVERSATIONS),
          action=st.sampled_from(["mute", "unmute"]))
    def act(self, who: str, key: str, action: str) -> None:
        conversation = self.fixtures[key]
        if conversation not in self.member_of[who]:
            self.foreign_attempt(who, conversation, action)
            return
        me, want = self.uid(who), action == "mute"
        repeat = (me in self.mutedby[conversation]) == want
        response, body = self.call(OP, **{"as": who}, body=self.body(action, conversation))
        ok = _succeeded(response, body)
        behaviour = REPEAT if repeat else READ_BACK[action]
        fact = doc(P, OP, "x-decisions") if repeat else doc(P, OP, "x-actions", action)
        # A repeat may answer OK or the error envelope (operation x-decisions); with OK, the
        # conversation it returns shows the state unchanged. A first mute/unmute must succeed.
        if not repeat:
            self.expect(behaviour, ok, f"`{action}` of {key} as {who} answered {response.status_code} "
                        f"{clip(str(body), 200)}", fact)
        if ok:
            returned = body["conversation"]
            entry = self.own(returned, who)
            self.expect(behaviour, returned.get("id") == conversation,
                        f"`{action}` of {conversation} as {who} returned conversation "
                        f"{returned.get('id')!r}", fact)
            self.expect(behaviour, (me in _ids(returned["mutedby"])) == want,
                        f"`{action}` of {key} as {who} returned mutedby={self.named(returned['mutedby'])}", fact)
            self.expect(behaviour, entry is not None and entry["ismuted"] is want,
                        f"`{action}` of {key} as {who}: the caller's properties entry has "
                        f"ismuted={(entry or {}).get('ismuted')} (expected {want})", fact)
            self.favorite_agrees(behaviour, returned, who, f"`{action}` of {key} as {who} returned")
            (self.mutedby[conversation].add if want else self.mutedby[conversation].discard)(me)
        self.last = (who, conversation, "repeat" if repeat else "member")

    def foreign_attempt(self, who: str, conversation: str, action: str) -> None:
        """`who` does not take part in `conversation`. The answer is undocumented (OK or the error
        envelope, operation x-decisions), so only the state is checked: the conversation must not
        change for anyone, nor appear in `who`'s list (checked by the read-back)."""
        self.call(OP, **{"as": who}, body=self.body(action, conversation))
        self.last = (who, conversation, "foreign")

    @rule(who=st.sampled_from(MEMBERS), key=st.sampled_from(CONVERSATIONS),
          action=st.sampled_from(["mute", "unmute"]))
    def act_twice(self, who: str, key: str, action: str) -> None:
        self.act(who, key, action)
        self.read_back()
        self.act(who, key, action)

    @rule(who=st.sampled_from(MEMBERS), action=st.sampled_from(["mute", "unmute"]))
    def act_on_foreign(self, who: str, action: str) -> None:
        self.foreign_attempt(who, self.fixtures["foreign_conversation"], action)

    # --- read-back ------------------------------------------------------------------------------

    def blame(self, user: str, conversation: str) -> str:
        """The behaviour a mismatch of `user`'s mute of `conversation` breaks, given the last action."""
        if self.last is None:
            return READ_BACK["mute"]
        actor, acted_on, kind = self.last
        if kind == "foreign":
            return AUTHZ
        if conversation != acted_on:
            return ROOMS
        if user != self.uid(actor):
            return CALLERS
        if kind == "repeat":
            return REPEAT
        return READ_BACK["mute" if user in self.mutedby[conversation] else "unmute"]

    @invariant()
    def read_back(self) -> None:
        """`list` as everyone the last action may have touched: the actor (whose list must not gain
        a conversation it is not in) and every identity taking part in the conversation acted on."""
        if self.last is None:
            return
        actor, conversation, kind = self.last
        for viewer in IDENTITIES:
            if viewer == actor or conversation in self.member_of[viewer]:
                self.compare(viewer, self.listing(viewer))
        self.last = None

    def only_own(self, viewer: str, listed: dict[str, dict[str, Any]]) -> None:
        """`list` is the caller's own conversations ([OZ-list]; `x-actions.list`): a listed
        conversation whose `participantids` do not name the caller is another users' conversation
        (with its `secret`) leaking, whichever conversation it is and whether or not the fixtures
        name it. Only that is asserted; the conversation's other members are the target's."""
        me = self.uid(viewer)
        for cid, conversation in sorted(listed.items()):
            self.expect(AUTHZ, me in _ids(conversation.get("participantids")),
                        f"{viewer}'s `list` holds {cid}, whose participantids="
                        f"{self.named(conversation.get('participantids'))} do not include {viewer}",
                        doc(P, OP, "x-actions", "list"))

    def compare(self, viewer: str, listed: dict[str, dict[str, Any]]) -> None:
        """`viewer`'s `list` against the model: every conversation of theirs still listed, none
        other of ours gained, `mutedby` as expected, and their own `ismuted` to match."""
        fact = doc(P, OP, "x-actions", "list")
        self.only_own(viewer, listed)
        for cid in sorted(set(self.mutedby) - self.member_of[viewer]):
            self.expect(self.blame(self.uid(viewer), cid), cid not in listed,
                        f"{viewer}'s `list` holds {cid}, a conversation {viewer} does not take part in", fact)
        for cid in sorted(self.member_of[viewer]):
            self.expect(self.blame(self.uid(viewer), cid), cid in listed,
                        f"conversation {cid} of {viewer} is missing from its `list`", fact)
            seen, expected = _ids(listed[cid]["mutedby"]), self.mutedby[cid]
            raw = [str(u).lower() for u in listed[cid]["mutedby"] or []]
            twice = sorted({u for u in raw if raw.count(u) > 1})
            self.expect(NO_DUPS, not twice, f"{viewer}'s `list` shows {cid} with {self.named(twice)} more than once "
                        "in mutedby", fact)
            for user in sorted(seen ^ expected):
                self.expect(self.blame(user, cid), False,
                            f"{viewer}'s `list` shows {cid} with mutedby="
                            f"{self.named(listed[cid]['mutedby'])}; {self.named(user)} should "
                            f"{'' if user in expected else 'not '}be in it", fact)
            me = self.uid(viewer)
            entry = self.own(listed[cid], viewer)
            self.expect(self.blame(me, cid), entry is not None and entry["ismuted"] is (me in expected),
                        f"{viewer}'s `list` shows {cid} with its own properties entry "
                        f"ismuted={(entry or {}).get('ismuted')} (expected {me in expected})", fact)
            self.favorite_agrees(self.blame(me, cid), listed[cid], viewer, f"{viewer}'s `list` shows")

    def favorite_agrees(self, behaviour: str, conversation: dict[str, Any], identity: str, context: str) -> None:
        """The caller's `isfavorite` follows `favoriteby` (operation x-decisions 6), as `ismuted`
        follows `mutedby`; the suite never changes favorites, so this is their agreement only."""
        entry = self.own(conversation, identity)
        if entry is None:  # a missing entry is already reported by the `ismuted` check
            return
        listed = self.uid(identity) in _ids(conversation.get("favoriteby", []))
        self.expect(behaviour, entry.get("isfavorite") is listed,
                    f"{context} {conversation.get('id')} with the caller's isfavorite={entry.get('isfavorite')} but "
                    f"the caller {'in' if listed else 'not in'} favoriteby={self.named(conversation.get('favoriteby', []))}",
                    doc(P, OP, "x-decisions", 6))

    # --- clean-up -------------------------------------------------------------------------------

    def restore(self) -> None:
        """Each identity's own mute back to what the start read (nothing asserted here)."""
        found = getattr(self, "found", None)
        if not found:
            return
        for identity in IDENTITIES:
            response = self.quiet(OP, **{"as": identity}, body=self.body("list"))
            try:
                listed = {c["id"]: c for c in response.json()["conversations"]} if response is not None else {}
            except (ValueError, KeyError, TypeError):
                continue
            me = self.uid(identity)
            for cid, conversation in listed.items():
                if cid not in found:
                    continue
                muted_now, muted_then = me in _ids(conversation.get("mutedby")), me in found[cid]
                if muted_now != muted_then:
                    self.quiet(OP, **{"as": identity}, body=self.body("mute" if muted_then else "unmute", cid))
