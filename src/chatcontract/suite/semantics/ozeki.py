"""Ozeki Chat conversation mute: the rules as a model (judging any traffic) and a state machine
that drives it: per-caller mute, unmute, list, isolation, authorization.

Model (`Model`, fed one exchange at a time: the machine's calls or recorded traffic): per
conversation the user ids known to be in its `mutedby` (lowercase), learned from `list` (never
from a write's answer: a server can answer right and store wrong), changed only by a
participant's own successful `mute`/`unmute`; per caller the conversation ids its `list` holds.
Mute is the caller's own conversation mute (decision 18): after `mute` the caller is in `mutedby`
and the caller's `properties` entry (found by `userid`, never by position) has `ismuted: true`;
`unmute` reverses both; `list` reads it back, for the caller and for every other participant.
What the docs leave open is accepted either way: a repeated mute or an unmute of an unmuted
conversation, and a call on a conversation the caller does not take part in, may answer OK or the
error envelope (operation x-decisions); the HTTP status of an error envelope may be 200 or 4xx
(decision 16); success is read from `status` alone (decision 19); user ids may be either case;
order of `list` and of `mutedby` is undocumented (compared as sets). Ozeki mutes have no duration,
so no clock is needed. Whether a write is a repeat, and whether its caller takes part in the
conversation, is known only once the traffic showed them (the conversation's `mutedby` in a list,
the caller's own list); until then what depends on it is not judged.

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

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from chatcontract import specs
from chatcontract.redaction import clip
from chatcontract.suite.semantics import ModelMachine, doc
from chatcontract.suite.semantics.model import Finding, Seen
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
    return {str(v).lower() for v in values or []} if isinstance(values, list) else set()


def _succeeded(status: int, body: Any) -> bool:
    # Decisions 16 and 19: success is HTTP 200 with `status` OK; an error envelope may come with 200.
    return status == 200 and isinstance(body, dict) and body.get("status") == "OK"


def _own(conversation: dict[str, Any], user: str) -> dict[str, Any] | None:
    """The caller's `properties` entry, found by `userid` (decision 18)."""
    entries = conversation.get("properties")
    return next((p for p in entries if isinstance(p, dict) and str(p.get("userid", "")).lower() == user), None) \
        if isinstance(entries, list) else None


class Model:
    """Ozeki's mute rules, judged on every exchange (see model.py). `names`: user id -> the name a
    message gives it (a user id is also the `Ozeki-User` credential, so reports redact it);
    learned from each exchange's caller as well. `labels`: conversation id -> a name for messages."""

    def __init__(self, names: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> None:
        self.names = {str(k).lower(): v for k, v in (names or {}).items()}
        self.labels = dict(labels or {})
        self.mutedby: dict[str, set[str]] = {}  # conversation id -> user ids expected in `mutedby`
        self.unsure: dict[str, set[str]] = {}  # conversation id -> users whose entry a write left not known
        self.member_of: dict[str, set[str]] = {}  # caller -> the conversation ids its `list` holds
        # The last write, for naming what a mismatch breaks: (user id, conversation id, kind) with
        # kind "member" (a participant's own mute/unmute), "repeat" or "foreign".
        self.last: tuple[str, str, str] | None = None

    def forget(self, reason: str) -> None:
        self.mutedby, self.unsure, self.member_of, self.last = {}, {}, {}, None

    def writes(self, seen: Seen) -> bool:
        """`mute` and `unmute` may change the state; `list` does not."""
        body = seen.body if isinstance(seen.body, dict) else {}
        return seen.operation_id == OP and body.get("action") != "list"

    # --- names ---------------------------------------------------------------------------------

    def named(self, users: Any) -> str:
        """User ids as identity (or caller) names where known, else as they are."""
        if isinstance(users, str):
            return self.names.get(users.lower(), users)
        return "[" + ", ".join(self.names.get(str(u).lower(), str(u)) for u in users or []) + "]"

    def label(self, conversation: Any) -> str:
        return self.labels.get(str(conversation), str(conversation))

    # --- exchanges -----------------------------------------------------------------------------

    def see(self, seen: Seen) -> list[Finding]:
        body = seen.body if isinstance(seen.body, dict) else {}
        me = seen.principal.lower()
        if seen.operation_id != OP or not me:
            if seen.operation_id == OP and body.get("action") in ("mute", "unmute") and _succeeded(seen.status, seen.answer):
                self.forget("a write whose user is not known")  # whose mute it changed, nobody knows
            return []
        if seen.caller and me not in self.names:
            self.names[me] = seen.caller
        action = body.get("action")
        if action == "list":
            if _succeeded(seen.status, seen.answer) and isinstance(seen.answer.get("conversations"), list):
                return self._listing(seen, me)
            return []
        if action in ("mute", "unmute") and isinstance(body.get("conversationid"), str):
            return self._write(seen, me, action, body["conversationid"])
        return []

    def _write(self, seen: Seen, me: str, action: str, cid: str) -> list[Finding]:
        who, key, want = self.named(me), self.label(cid), action == "mute"
        ok = _succeeded(seen.status, seen.answer)
        listed = self.member_of.get(seen.caller)
        known = cid in self.mutedby and me not in self.unsure.get(cid, set())
        if listed is not None and cid not in listed:
            # Not a participant: the answer is undocumented (OK or the error envelope, operation
            # x-decisions), so only the state is judged: the conversation must not change for anyone,
            # nor appear in the caller's list (judged by the lists after it).
            self.last = (me, cid, "foreign")
            return []
        if listed is None:
            # Whether the caller takes part, the traffic has not shown (no `list` with these
            # credentials before it): only recorded, as the caller's entry not known.
            self.last = (me, cid, "member")
            if cid in self.mutedby:
                self.unsure.setdefault(cid, set()).add(me)
            return []
        repeat = (me in self.mutedby[cid]) == want if known else None
        behaviour = REPEAT if repeat else READ_BACK[action]
        fact = doc(P, OP, "x-decisions") if repeat else doc(P, OP, "x-actions", action)
        findings = []
        # A repeat may answer OK or the error envelope (operation x-decisions); with OK, the
        # conversation it returns shows the state unchanged. A first mute/unmute must succeed.
        if repeat is False:
            findings.append(Finding(behaviour, ok, f"`{action}` of {key} as {who} answered {seen.status} "
                                    f"{clip(str(seen.answer), 200)}", fact))
        elif repeat is None and not ok:
            findings.append(Finding(behaviour, None, f"`{action}` of {key} as {who} answered {seen.status}: whether "
                                    f"it was a repeat is not known (no `list` showed {key} before it)", fact))
        returned = seen.answer.get("conversation") if ok else None
        if isinstance(returned, dict):
            entry = _own(returned, me)
            findings.append(Finding(behaviour, returned.get("id") == cid,
                                    f"`{action}` of {cid} as {who} returned conversation {returned.get('id')!r}", fact))
            findings.append(Finding(behaviour, (me in _ids(returned.get("mutedby"))) == want,
                                    f"`{action}` of {key} as {who} returned mutedby={self.named(returned.get('mutedby'))}",
                                    fact))
            findings.append(Finding(behaviour, entry is not None and entry.get("ismuted") is want,
                                    f"`{action}` of {key} as {who}: the caller's properties entry has "
                                    f"ismuted={(entry or {}).get('ismuted')} (expected {want})", fact))
            findings.extend(self.favorite_agrees(behaviour, returned, me, f"`{action}` of {key} as {who} returned"))
        if cid in self.mutedby:
            if ok:  # what the caller asked for holds now (a repeat's OK: the state unchanged)
                (self.mutedby[cid].add if want else self.mutedby[cid].discard)(me)
                self.unsure.get(cid, set()).discard(me)
            elif repeat is not True:  # a failed first write: what the server did is not known
                self.unsure.setdefault(cid, set()).add(me)
        self.last = (me, cid, "repeat" if repeat else "member")
        return findings

    def blame(self, user: str, conversation: str) -> str:
        """The behaviour a mismatch of `user`'s mute of `conversation` breaks, given the last write."""
        if self.last is None:
            return READ_BACK["mute"]
        actor, acted_on, kind = self.last
        if kind == "foreign":
            return AUTHZ
        if conversation != acted_on:
            return ROOMS
        if user != actor:
            return CALLERS
        if kind == "repeat":
            return REPEAT
        return READ_BACK["mute" if user in self.mutedby.get(conversation, set()) else "unmute"]

    def _listing(self, seen: Seen, me: str) -> list[Finding]:
        """The caller's `list` against what the traffic before it showed: every conversation of
        theirs still listed, none other gained, `mutedby` as expected, their own `ismuted` and
        `isfavorite` to match. Then what it shows is known."""
        listed = {str(c.get("id")): c for c in seen.answer["conversations"] if isinstance(c, dict)}
        viewer, fact = seen.caller or self.named(me), doc(P, OP, "x-actions", "list")
        findings = self.only_own(viewer, me, listed)
        before = self.member_of.get(seen.caller)
        if before is not None:
            for cid in sorted(set(self.mutedby) - before):
                findings.append(Finding(self.blame(me, cid), cid not in listed,
                                        f"{viewer}'s `list` holds {cid}, a conversation {viewer} does not take part in",
                                        fact))
            for cid in sorted(before):
                findings.append(Finding(self.blame(me, cid), cid in listed,
                                        f"conversation {cid} of {viewer} is missing from its `list`", fact))
        for cid in sorted(listed):
            conversation = listed[cid]
            raw = [str(u).lower() for u in conversation.get("mutedby") or []] \
                if isinstance(conversation.get("mutedby"), list) else []
            shown, first = set(raw), cid not in self.mutedby
            twice = sorted({u for u in raw if raw.count(u) > 1})
            findings.append(Finding(NO_DUPS, not twice, f"{viewer}'s `list` shows {cid} with {self.named(twice)} more "
                                    "than once in mutedby", fact))
            if before is not None and cid not in before:
                continue  # gained: reported above; the caller's entry is not theirs to judge
            unsure = self.unsure.pop(cid, set())
            if first:
                if shown:
                    findings.append(Finding(READ_BACK["mute"], None, f"{viewer}'s `list` shows {cid} with mutedby="
                                            f"{self.named(conversation.get('mutedby'))}, muted before the traffic showed "
                                            "its state", fact))
                self.mutedby[cid] = set(shown)
            else:
                expected = self.mutedby[cid]
                for user in sorted((shown ^ expected) - unsure):
                    findings.append(Finding(self.blame(user, cid), False,
                                            f"{viewer}'s `list` shows {cid} with mutedby="
                                            f"{self.named(conversation.get('mutedby'))}; {self.named(user)} should "
                                            f"{'' if user in expected else 'not '}be in it", fact))
                for user in unsure:  # the list shows what the write did
                    (expected.add if user in shown else expected.discard)(user)
            muted = me in self.mutedby[cid]
            entry = _own(conversation, me)
            findings.append(Finding(self.blame(me, cid), entry is not None and entry.get("ismuted") is muted,
                                    f"{viewer}'s `list` shows {cid} with its own properties entry "
                                    f"ismuted={(entry or {}).get('ismuted')} (expected {muted})", fact))
            findings.extend(self.favorite_agrees(self.blame(me, cid), conversation, me, f"{viewer}'s `list` shows"))
        self.member_of[seen.caller] = set(listed)
        return findings

    def only_own(self, viewer: str, me: str, listed: dict[str, dict[str, Any]]) -> list[Finding]:
        """`list` is the caller's own conversations ([OZ-list]; `x-actions.list`): a listed
        conversation whose `participantids` do not name the caller is another users' conversation
        (with its `secret`) leaking, whichever conversation it is and whether or not the fixtures
        name it. Only that is asserted; the conversation's other members are the target's."""
        return [Finding(AUTHZ, me in _ids(conversation.get("participantids")),
                        f"{viewer}'s `list` holds {cid}, whose participantids="
                        f"{self.named(conversation.get('participantids'))} do not include {viewer}",
                        doc(P, OP, "x-actions", "list"))
                for cid, conversation in sorted(listed.items())]

    def favorite_agrees(self, behaviour: str, conversation: dict[str, Any], me: str, context: str) -> list[Finding]:
        """The caller's `isfavorite` follows `favoriteby` (operation x-decisions 6), as `ismuted`
        follows `mutedby`; the suite never changes favorites, so this is their agreement only."""
        entry = _own(conversation, me)
        if entry is None:  # a missing entry is already reported by the `ismuted` check
            return []
        listed = me in _ids(conversation.get("favoriteby", []))
        return [Finding(behaviour, entry.get("isfavorite") is listed,
                        f"{context} {conversation.get('id')} with the caller's isfavorite={entry.get('isfavorite')} but "
                        f"the caller {'in' if listed else 'not in'} favoriteby="
                        f"{self.named(conversation.get('favoriteby', []))}", doc(P, OP, "x-decisions", 6))]


class Machine(ModelMachine):
    needs = {behaviour: (OP,) for behaviour in (*READ_BACK.values(), REPEAT, CALLERS, ROOMS, AUTHZ, LIST, NO_DUPS)}
    _walked: ClassVar[Any] = None  # the run (its Context) whose first example walked through

    def __init__(self) -> None:
        super().__init__()
        self.moderation = self.model()
        # The last action, for choosing who reads back: (identity, conversation id).
        self.last: tuple[str, str] | None = None

    def model(self) -> Model:
        return Model({self.uid(i): i for i in IDENTITIES}, {self.fixtures[k]: k for k in CONVERSATIONS})

    # --- requests -----------------------------------------------------------------------------

    def uid(self, identity: str) -> str:
        return str(self.fixtures["user_ids"][identity]).lower()

    def principal(self, identity: str) -> str:
        """The fixtures' user id of the identity (its `Ozeki-User`), as the target file names it."""
        return self.uid(identity) if identity in IDENTITIES else super().principal(identity)

    @property
    def mutedby(self) -> dict[str, set[str]]:
        return self.moderation.mutedby

    @property
    def member_of(self) -> dict[str, set[str]]:
        return self.moderation.member_of

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

    def listing(self, identity: str) -> dict[str, dict[str, Any]]:
        """`list` as `identity` (the model judges it against what it knows)."""
        response, body = self.call(OP, **{"as": identity}, body=self.body("list"))
        self.expect(LIST, _succeeded(response.status_code, body),
                    f"`list` as {identity} answered {response.status_code} {clip(str(body), 200)}",
                    doc(P, OP, "x-actions", "list"))
        return {c["id"]: c for c in body["conversations"]}

    # --- start and walkthrough ----------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        self.reset_target()
        self.moderation, self.last = self.model(), None
        # Each list is judged by the model as it comes (a list leaking others' conversations is
        # found before the fixtures are compared with the target: the target's fault); the later
        # lists are held against the first ones.
        for identity in IDENTITIES:
            self.listing(identity)
        self.found = {cid: set(users) for cid, users in self.mutedby.items()}
        self.check_fixtures()
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
        """`who`'s own mute or unmute; the model judges the answer (a first one must succeed, a
        repeat may answer either way) and a non-participant's attempt by the state after it."""
        conversation = self.fixtures[key]
        self.call(OP, **{"as": who}, body=self.body(action, conversation))
        self.last = (who, conversation)

    def foreign_attempt(self, who: str, conversation: str, action: str) -> None:
        """`who` does not take part in `conversation`. The answer is undocumented (OK or the error
        envelope, operation x-decisions), so only the state is checked: the conversation must not
        change for anyone, nor appear in `who`'s list (checked by the read-back)."""
        self.call(OP, **{"as": who}, body=self.body(action, conversation))
        self.last = (who, conversation)

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

    @invariant()
    def read_back(self) -> None:
        """`list` as everyone the last action may have touched: the actor (whose list must not gain
        a conversation it is not in) and every identity taking part in the conversation acted on.
        The model holds each list against the writes before it."""
        if self.last is None:
            return
        actor, conversation = self.last
        for viewer in IDENTITIES:
            if viewer == actor or conversation in self.member_of[viewer]:
                self.listing(viewer)
        self.last = None

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
