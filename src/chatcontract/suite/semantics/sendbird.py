"""Sendbird block lists: block, unblock, both sides of a block, page walks, filters.

Model (`Model`, fed one `Seen` per exchange, see model.py): the (blocker, blocked) pairs the
traffic has shown. A pair is known when a write of it succeeded (or was refused), or when a
complete read of one of its sides showed it or left it out: a user's `blocked_by_me` list must be
exactly {b | (user, b)} and `blocking_me` exactly {a | (a, user)} ([SB-list]). A read is complete
when it is the whole list: a first page (no `token`) with an empty `next`, or a walk of pages seen
from its first page, each page's `token` the `next` of the one before, to an empty `next` (the
model follows walks by user, list, limit and filters). A pair the traffic has not shown is not
known: a read of it cannot be judged. On Sendbird every token acts for every user ([SB-prep]), so
the state is per path user, not per caller; the "callers" whose lists must not show one another's
blocks are the path users. What the docs leave open is accepted either way, as the spec's
x-decisions record: a repeated block, unblocking someone not blocked (decision 31, 200 or 400), a
refused mixed bulk block (what it stored is not known until read back), the order of a list and
the codes of errors (decisions 30-32). A write answer is judged only for the x-request's identity.

Judged on every page: at most `limit` users (10 when `limit` is omitted), a user once, no user
the model knows is not blocked (a block is one-way: A blocking B does not make B block A), an
unfiltered page reached through a token or carrying one is not empty; a filter only narrows
(`user_ids`, `metadatakey` + `metadatavalues_in`: a comma-separated string of URL-encoded values).
Judged on a complete read: every user the model knows is blocked is there (through the filter's
documented meaning), and a walk's pages hold no user twice. Omitted `list` reads `blocked_by_me`.

The state machine (`Machine`) drives it and adds what needs chosen calls: the walkthrough, walks
at chosen limits that must end, calls with the secondary token and without one, the reset hook's
seeded block. Blocks have no duration, so nothing here waits for time; the clock hook only checks
that blocks stay. Partial targets: every behaviour needs the list (the read back); blocks and
unblocks run when the target implements them. Clean-up (every example): every actor's
`blocked_by_me` list is set back to what the start read, so a target without a reset hook is left
as it was found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable
from urllib.parse import quote, unquote

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract.redaction import clip
from chatcontract.suite.semantics import ModelMachine, doc
from chatcontract.suite.semantics.model import UNKNOWN_CALLER, Finding, Knowledge, Seen, acting_identity

P = "sendbird"
LIST, BLOCK, UNBLOCK = "sendbirdListBlockedUsers", "sendbirdBlockUser", "sendbirdUnblockUser"
BY_ME, BLOCKING_ME = "blocked_by_me", "blocking_me"
SIDES = (BY_ME, BLOCKING_ME)
READ_LIMIT = 100  # the documented maximum: a whole (small) list in one page
READ_CAP = 10  # pages a full read may take at READ_LIMIT before it counts as never ending
MAX_LIMIT = 100  # `limit`: 1 to 100 ([SB-list])


@lru_cache(maxsize=None)
def where(*pointer: str | int) -> str:
    """`doc(P, ...)`, computed once per place (each check names one)."""
    return doc(P, *pointer)


BOTH_SIDES = "semantics: block visible from both sides"
UNBLOCKED = "semantics: unblock then read back"
REPEAT = "semantics: idempotent repeat"
# On Sendbird every token acts for every user ([SB-prep]): "callers" are the path users, whose
# lists must not show one another's blocks.
ISOLATION = "semantics: isolation between callers"
AUTHZ = "semantics: authorization between identities"
COVER = "semantics: pages cover the whole list"
NO_DUPS = "semantics: no duplicates across pages"
LAST_NEXT = "semantics: next is empty on the last page"
PAGE_SIZE = "semantics: a page holds at most limit users"
ANSWERS = "semantics: list answers"
BLOCK_BODY = "semantics: block lists the blocked users"
ID_FILTER = "semantics: user_ids filter narrows the list"
META_FILTER = "semantics: metadata filter narrows the list"
ONE_WAY = "semantics: a block is not written to the other party"
DEFAULTS = "semantics: omitted parameters take their documented defaults"
DEFAULT_LIMIT = 10  # `limit` default ([SB-list]; spec parameter `limit`)
NEEDS = {BOTH_SIDES: (LIST,), UNBLOCKED: (LIST, BLOCK, UNBLOCK), REPEAT: (LIST, BLOCK), ISOLATION: (LIST,),
         AUTHZ: (LIST,), COVER: (LIST,), NO_DUPS: (LIST,), LAST_NEXT: (LIST,), PAGE_SIZE: (LIST,), ANSWERS: (LIST,),
         BLOCK_BODY: (LIST, BLOCK), ID_FILTER: (LIST,), META_FILTER: (LIST,), ONE_WAY: (LIST, BLOCK),
         DEFAULTS: (LIST, BLOCK)}
BODY_FIELDS = ("target_id", "user_ids", "users")
# The spec's x-target identity with the same access as the master token ([SB-prep]): what it reads
# differently is named by the authorization between identities.
SECONDARY = "secondary"

Pair = tuple[str, str]  # (blocker, blocked)


def _comma_list(raw: str) -> list[str]:
    """A comma-separated string of URL-encoded values ([SB-list]): split, then decode each."""
    return [unquote(part) for part in raw.split(",") if part]


def _text(answer: Any) -> str:
    return clip(answer if isinstance(answer, str) else json.dumps(answer), 200) if answer is not None else "(no body)"


@dataclass(frozen=True)
class View:
    """What one list request asks for: whose list, which, at what limit, through which filters."""

    user: str
    side: str
    side_omitted: bool  # `list` omitted: the documented default (`blocked_by_me`)
    limit: int | None  # None: omitted (default 10)
    user_ids: tuple[str, ...] | None  # the `user_ids` filter, decoded
    meta_key: str | None
    meta_values: tuple[str, ...] | None
    narrowed: bool  # some filter parameter was sent (documented or not)
    certain: bool  # every filter sent has its documented meaning (so a complete page can be judged whole)

    @property
    def limit_text(self) -> str:
        return str(self.limit)

    def pair(self, other: str) -> Pair:
        return (self.user, other) if self.side == BY_ME else (other, self.user)

    def label(self) -> str:
        return f"{self.user}'s {self.side}"


def view_of(seen: Seen) -> View | None:
    """The view a list request reads, or None when its parameters are not ones the docs give a
    meaning to (the errors layer judges those)."""
    user = seen.path.get("user_id")
    side = seen.param("list")
    limit_raw = seen.param("limit")
    if not user or (side is not None and side not in SIDES):
        return None
    limit = None
    if limit_raw is not None:
        try:
            limit = int(limit_raw)
        except ValueError:
            return None
        if not 1 <= limit <= MAX_LIMIT:
            return None
    ids_raw, key, values_raw = seen.param("user_ids"), seen.param("metadatakey"), seen.param("metadatavalues_in")
    ids = tuple(_comma_list(ids_raw)) if ids_raw else None
    meta = bool(key) and bool(values_raw)
    certain = (ids_raw is None or bool(ids)) and ((key is None and values_raw is None) or meta)
    return View(user, side or BY_ME, side is None, limit, ids, key if meta else None,
                tuple(_comma_list(values_raw)) if meta and values_raw else None,
                any(seen.query.get(k) for k in ("user_ids", "metadatakey", "metadatavalues_in")), certain)


@dataclass
class Walk:
    """The pages of one view seen so far, from its first page (each page's `token` the `next` of
    the page before)."""

    ids: list[str] = field(default_factory=list)
    pages: int = 0


class Model:
    """Sendbird's block rules, judged on every exchange (see the module docstring)."""

    def __init__(self) -> None:
        self.blocks: set[Pair] = set()  # pairs known blocked
        self.knowledge: dict[tuple[str, str], Knowledge] = {}  # (user, side) -> which others are known
        self.unblocked: set[Pair] = set()  # a successful unblock was the last write of the pair
        self.repeated: set[Pair] = set()  # blocked again while blocked, not unblocked since
        self.refused: dict[Pair, str] = {}  # a write of the pair refused for another identity: what it was
        self.metadata: dict[str, Any] = {}  # user id -> metadata as last listed
        self.walks: dict[tuple[View, str], Walk] = {}  # (view, the token its next page carries) -> pages so far

    # -- what is known -------------------------------------------------------------------------

    def side(self, user: str, side: str) -> Knowledge:
        return self.knowledge.setdefault((user, side), Knowledge())

    def knows(self, pair: Pair) -> bool:
        a, b = pair
        return self.side(a, BY_ME).knows(b) or self.side(b, BLOCKING_ME).knows(a)

    def known_absent(self, pair: Pair) -> bool:
        return pair not in self.blocks and self.knows(pair)

    def expected(self, user: str, side: str) -> set[str]:
        """The users the model knows are on `user`'s `side` list."""
        if side == BY_ME:
            return {b for a, b in self.blocks if a == user}
        return {a for a, b in self.blocks if b == user}

    def learn(self, pair: Pair, blocked: bool) -> None:
        a, b = pair
        (self.blocks.add if blocked else self.blocks.discard)(pair)
        self.side(a, BY_ME).learn(b)
        self.side(b, BLOCKING_ME).learn(a)

    def doubt(self, pair: Pair) -> None:
        a, b = pair
        self.blocks.discard(pair)
        self.unblocked.discard(pair)
        self.repeated.discard(pair)
        self.refused.pop(pair, None)
        self.side(a, BY_ME).doubt(b)
        self.side(b, BLOCKING_ME).doubt(a)

    def doubt_list(self, user: str, side: str) -> None:
        """Anything on `user`'s `side` list may have changed (an undocumented write succeeded)."""
        for other in self.expected(user, side):
            self.doubt((user, other) if side == BY_ME else (other, user))
        self.side(user, side).forget()
        mirror = BLOCKING_ME if side == BY_ME else BY_ME
        for (owner, kind), knowledge in self.knowledge.items():
            if kind == mirror and owner != user:
                knowledge.doubt(user)
        self._disturb(user, side)

    def _disturb(self, user: str, side: str) -> None:
        """A write changed the list: a walk of it under way no longer shows one state."""
        for key in [k for k in self.walks if k[0].user == user and k[0].side == side]:
            del self.walks[key]

    def _written(self, pair: Pair) -> None:
        self._disturb(pair[0], BY_ME)
        self._disturb(pair[1], BLOCKING_ME)

    def forget(self, reason: str) -> None:
        self.__init__()  # type: ignore[misc]

    # -- exchanges -------------------------------------------------------------------------------

    def writes(self, seen: Seen) -> bool:
        return seen.operation_id in (BLOCK, UNBLOCK)

    def see(self, seen: Seen) -> list[Finding]:
        if seen.operation_id == BLOCK:
            return self._block(seen)
        if seen.operation_id == UNBLOCK:
            return self._unblock(seen)
        if seen.operation_id == LIST and seen.status == 200 and isinstance(seen.answer, dict):
            return self._page(seen)
        return []

    def _block(self, seen: Seen) -> list[Finding]:
        a = seen.path.get("user_id")
        body = seen.body if isinstance(seen.body, dict) else {}
        fields = [f for f in BODY_FIELDS if f in body]
        value = body.get(fields[0]) if len(fields) == 1 else None
        targets = [value] if fields == ["target_id"] and isinstance(value, str) else (
            list(dict.fromkeys(value)) if fields and fields[0] != "target_id" and isinstance(value, list)
            and all(isinstance(v, str) for v in value) else None)
        if not a or not targets:
            if a and seen.succeeded:  # several fields at once, or a body the docs give no meaning: not known
                self.doubt_list(a, BY_ME)
            return []
        if a in targets:  # blocking oneself is undocumented (decision 31): nothing judged, not known after
            if seen.succeeded:
                for b in targets:
                    self.doubt((a, b))
                    self._written((a, b))
            return []
        findings: list[Finding] = []
        already = [b for b in targets if (a, b) in self.blocks]
        status = seen.status
        if seen.caller == acting_identity(P, BLOCK):
            if already:
                # Decision 31: blocking an already-blocked user may answer 200 or 400.
                findings.append(Finding(REPEAT, status in (200, 400),
                                        f"{a} blocking {targets}, of whom {already} were already blocked, answered "
                                        f"{status}", where(BLOCK, "x-decisions")))
            elif all(self.knows((a, b)) for b in targets):
                findings.append(Finding(BOTH_SIDES, status == 200,
                                        f"{a} blocking {targets} ({fields[0]}, as {seen.caller}) answered {status}: "
                                        f"{_text(seen.answer)}", where(BLOCK)))
            else:
                unknown = [b for b in targets if not self.knows((a, b))]
                findings.append(Finding(BOTH_SIDES, None, f"{a} blocking {targets} answered {status}; whether {a} "
                                        f"blocked {unknown} before is not known", where(BLOCK)))
        if status == 200:
            findings += self._block_body(a, targets, seen.answer)
            for b in targets:
                if (a, b) in self.blocks:
                    self.repeated.add((a, b))
                self.learn((a, b), True)
                self.unblocked.discard((a, b))
                self.refused.pop((a, b), None)
                self._written((a, b))
        elif 400 <= status < 500 and (len(targets) == 1 or set(targets) <= set(already)):
            self._refused(seen, [(a, b) for b in targets], f"{a} blocking {targets}")
        else:
            # A refused mixed request (decision 31), or an answer that says nothing: what it stored
            # is not known until a read shows it.
            for b in targets:
                if b not in already:
                    self.doubt((a, b))
                    self._written((a, b))
        return findings

    def _refused(self, seen: Seen, pairs: list[Pair], what: str) -> None:
        """A refused write changes nothing; one refused for an identity other than the x-request's
        (another token, none) names its pairs, so a read that shows a change says who changed them."""
        if seen.caller != acting_identity(P, seen.operation_id):
            who = "without Api-Token" if seen.caller in ("anonymous", UNKNOWN_CALLER) else f"as {seen.caller}"
            for pair in pairs:
                self.refused[pair] = f"{what} {who} (answered {seen.status})"

    def _block_body(self, a: str, targets: list[str], answer: Any) -> list[Finding]:
        entries = answer.get("users") if isinstance(answer, dict) else None
        if not isinstance(entries, list):
            return []
        # Decision 28: the blocked users as user objects or (the vendor's 2022 spec) bare ids.
        listed = {entry if isinstance(entry, str) else entry.get("user_id") if isinstance(entry, dict) else None
                  for entry in entries}
        # Besides the new ones it may list users `a` blocked before; not one `a` is known not to block.
        wrong = [x for x in listed if x not in targets and x is not None and self.known_absent((a, x))]
        return [Finding(BLOCK_BODY, set(targets) <= listed and not wrong,
                        f"{a} blocked {targets} but the response lists {sorted(x for x in listed if x is not None)}",
                        where(BLOCK, "responses", "200"))]

    def _unblock(self, seen: Seen) -> list[Finding]:
        a, b = seen.path.get("user_id"), seen.path.get("target_id")
        if not a or not b or a == b:
            return []
        pair, status = (a, b), seen.status
        findings: list[Finding] = []
        if seen.caller == acting_identity(P, UNBLOCK):
            if pair in self.blocks:
                findings.append(Finding(UNBLOCKED, status == 200,
                                        f"{a} unblocking {b}, whom {a} blocks, answered {status} (as {seen.caller}): "
                                        f"{_text(seen.answer)}", where(UNBLOCK)))
            elif self.knows(pair):
                # Decision 31: unblocking a user who is not blocked may answer 200 or 400.
                findings.append(Finding(REPEAT, status in (200, 400),
                                        f"{a} unblocking {b}, who is not blocked, answered {status}",
                                        where(UNBLOCK, "x-decisions")))
            else:
                findings.append(Finding(UNBLOCKED, None, f"{a} unblocking {b} answered {status}; whether {a} "
                                        f"blocked {b} is not known", where(UNBLOCK)))
        if status == 200:
            self.learn(pair, False)
            self.unblocked.add(pair)
            self.repeated.discard(pair)
            self.refused.pop(pair, None)
            self._written(pair)
        elif 400 <= status < 500:
            self._refused(seen, [pair], f"{a} unblocking {b}")
        elif pair in self.blocks:
            self.doubt(pair)
            self._written(pair)
        return findings

    # -- list pages ------------------------------------------------------------------------------

    def _page(self, seen: Seen) -> list[Finding]:
        view = view_of(seen)
        users = seen.answer.get("users")
        following = seen.answer.get("next")
        if view is None or not isinstance(users, list) or not isinstance(following, str):
            return []
        entries = [e for e in users if isinstance(e, dict) and isinstance(e.get("user_id"), str)]
        ids = [e["user_id"] for e in entries]
        for entry in entries:
            self.metadata[entry["user_id"]] = entry.get("metadata")
        token = seen.param("token")
        if "token" not in seen.query:
            walk: Walk | None = Walk()
        else:
            walk = self.walks.pop((view, token or ""), None)
        earlier = list(walk.ids) if walk else []
        if walk is not None:
            walk.ids += ids
            walk.pages += 1
            if following:
                self.walks[(view, following)] = walk
        page = f"page {walk.pages}" if walk else "a page reached through a token"
        label = f"{view.label()} {page}"
        findings: list[Finding] = []
        # Page size and the page's own `next`.
        if not ids:
            pass  # an empty page holds at most any limit: nothing to judge
        elif view.limit is None:  # omitted: the documented default
            findings.append(Finding(DEFAULTS, len(ids) <= DEFAULT_LIMIT,
                                    f"{label} without `limit` has {len(ids)} users; `limit` defaults to "
                                    f"{DEFAULT_LIMIT}", where(LIST, "parameters", 2)))
        else:
            findings.append(Finding(PAGE_SIZE, len(ids) <= view.limit,
                                    f"{label} has {len(ids)} users at limit={view.limit}",
                                    where(LIST, "parameters", 2)))
        if not view.narrowed and not ids:
            # A non-blank `next` loads "the next chunk of results"; blank means "the end of its
            # results" (the page-token note): on an unfiltered list a page reached through a token,
            # or a page with a token, is never empty. (A filtered page may be short or empty: the
            # docs' own filtered example has two users at limit=3 and a token.)
            findings.append(Finding(LAST_NEXT, not (not ids and ("token" in seen.query or following)),
                                    f"{label} at limit={view.limit_text} holds no users, yet "
                                    + ("the previous page's `next` pointed to it" if "token" in seen.query
                                       else f"its `next` is {following!r}")
                                    + ": the last page with users must carry a blank `next`",
                                    where(LIST, "responses", "200")))
        # A user once: on the page, and on the walk so far.
        again = sorted({x for x in ids if ids.count(x) > 1 or x in earlier})
        for x in again:
            if view.side == BY_ME and (view.user, x) in self.repeated:
                findings.append(Finding(REPEAT, False, f"{view.user} blocked {x} twice; the list shows {x} "
                                        f"{ids.count(x) + earlier.count(x)} times", where(BLOCK, "x-decisions")))
        if len(ids) + len(earlier) > 1:
            findings.append(Finding(NO_DUPS, not again,
                                    f"{view.label()} list at limit={view.limit_text} shows {again} on more than one "
                                    "page (or twice)", where(LIST)))
        name = self._namer(seen, view)
        # Whether the model knew anything of this list before the page (else only what the page
        # itself shows is judged: whom it lists the model knows nothing of).
        known = self._knows_view(view, ids)
        findings += self._narrowed(view, entries, ids)
        findings += self._listed(view, ids, name, known)
        for x in set(ids):  # listed: blocked (a filter only narrows the list)
            if not self.knows(view.pair(x)):
                self.learn(view.pair(x), True)
        if walk is not None and following == "" and view.certain:
            findings += self._whole(view, walk, name, known)
        elif following == "" and walk is None:
            findings.append(Finding(BOTH_SIDES, None, f"{label} ends a walk whose first pages the traffic did not "
                                    "show: whether the list lacks someone cannot be judged", where(LIST)))
        return findings

    def _namer(self, seen: Seen, view: View) -> Callable[[str, bool | None, str, str], Finding]:
        """How a read's findings are named: a read with the secondary token is the tokens' equal
        access ([SB-prep]); a read without `list` its default; a filtered read its filter."""
        def judge(behaviour: str, ok: bool | None, message: str, fact: str) -> Finding:
            if seen.caller == SECONDARY:
                return Finding(AUTHZ, ok, f"with the {seen.caller} token {message}", where(LIST))
            if view.side_omitted:
                return Finding(DEFAULTS, ok, f"{message} (`list` omitted; it defaults to {BY_ME})",
                               where(LIST, "parameters", 0))
            if view.user_ids is not None:
                return Finding(ID_FILTER, ok, f"{message} (filtered by user_ids={list(view.user_ids)})",
                               where(LIST, "parameters", 3))
            if view.meta_key is not None:
                return Finding(META_FILTER, ok, f"{message} (filtered by {view.meta_key}="
                               f"{list(view.meta_values or ())})", where(LIST, "parameters", 5))
            return Finding(behaviour, ok, message, fact)

        return judge

    def _narrowed(self, view: View, entries: list[dict], ids: list[str]) -> list[Finding]:
        """A filter's documented meaning, on the page alone: only users it lets through."""
        findings = []
        if view.user_ids is not None:
            outside = sorted(set(ids) - set(view.user_ids))
            findings.append(Finding(ID_FILTER, not outside, f"{view.label()} list filtered by user_ids="
                                    f"{list(view.user_ids)} shows {outside}", where(LIST, "parameters", 3)))
        if view.meta_key is not None:
            values = set(view.meta_values or ())
            other = sorted(e["user_id"] for e in entries if isinstance(e.get("metadata"), dict)
                           and (view.meta_key not in e["metadata"] or str(e["metadata"][view.meta_key]) not in values))
            findings.append(Finding(META_FILTER, not other, f"{view.label()} list filtered by {view.meta_key}="
                                    f"{sorted(values)} shows {other}, whose {view.meta_key} is none of those",
                                    where(LIST, "parameters", 5)))
        return findings

    def _of_view(self, view: View, pairs: set[Pair]) -> set[Pair]:
        return {p for p in pairs if (p[0] if view.side == BY_ME else p[1]) == view.user}

    def _knows_view(self, view: View, ids: list[str]) -> bool:
        """Whether the model knows something of the list `view` reads: the whole list, a user on
        it or a user listed here (from this list or the other side's)."""
        mine = self.side(view.user, view.side)
        if mine.complete or mine.known or self.expected(view.user, view.side):
            return True
        mirror = BLOCKING_ME if view.side == BY_ME else BY_ME
        return any(kind == mirror and owner != view.user and knowledge.knows(view.user)
                   for (owner, kind), knowledge in self.knowledge.items()) or any(self.knows(view.pair(x)) for x in ids)

    def _listed(self, view: View, ids: list[str], judge: Callable[..., Finding], known: bool) -> list[Finding]:
        """Users on the page the model knows are not on the list (a filter only narrows it)."""
        findings = []
        user, side = view.user, view.side
        groups: dict[str, list[str]] = {"unknown": [], "refused": [], "one-way": [], "unblocked": [], "isolation": []}
        for x in sorted(set(ids)):
            pair = view.pair(x)
            if not self.knows(pair):
                groups["unknown"].append(x)
            elif pair not in self.blocks:
                kind = ("refused" if pair in self.refused else "one-way" if (pair[1], pair[0]) in self.blocks
                        else "unblocked" if pair in self.unblocked else "isolation")
                groups[kind].append(x)
        if groups["unknown"]:
            findings.append(Finding(ISOLATION, None, f"{view.label()} list shows {groups['unknown']}, whose blocks "
                                    "the traffic had not shown", where(LIST, "description")))
        for x in groups["refused"]:
            findings.append(judge(AUTHZ, False, f"{self.refused[view.pair(x)]}, yet {view.label()} list shows {x}",
                                  where(BLOCK, "responses", "400")))
        for x in groups["one-way"]:
            text = (f"after {x} blocked {user}, {user}'s {BY_ME} list shows {x} ({user} never blocked {x})"
                    if side == BY_ME else
                    f"after {user} blocked {x}, {user}'s {BLOCKING_ME} list shows {x} ({x} never blocked {user})")
            findings.append(judge(ONE_WAY, False, text, where(LIST, "description")))
        if groups["unblocked"] or self._of_view(view, self.unblocked):
            findings.append(judge(UNBLOCKED, not groups["unblocked"], f"{view.label()} list still shows "
                                  f"{groups['unblocked']} after the unblock", where(UNBLOCK, "description")))
        if known:
            findings.append(judge(ISOLATION, not groups["isolation"], f"{view.label()} list shows "
                                  f"{groups['isolation']}, though no such block was made (another user's block?)",
                                  where(LIST, "description")))
        return findings

    def _whole(self, view: View, walk: Walk, judge: Callable[..., Finding], known: bool) -> list[Finding]:
        """A complete read (one page, or a walk seen from its first page): every user known to be
        on the list through the filter is there; afterwards the list (or the filtered part) is known."""
        findings = []
        user, side = view.user, view.side
        got = set(walk.ids)
        present = self.expected(user, side)
        unknown: list[str] = []
        if view.user_ids is not None:
            want = present & set(view.user_ids)
        elif view.meta_key is not None:
            values = set(view.meta_values or ())
            want = set()
            for x in present:
                if x not in self.metadata or not isinstance(self.metadata[x], dict):
                    unknown.append(x)  # not listed since it was blocked: its metadata is not known
                elif str(self.metadata[x].get(view.meta_key)) in values:
                    want.add(x)
        else:
            want = present
        missing = sorted(want - got)
        if unknown and not missing:
            findings.append(Finding(META_FILTER, None, f"{view.label()} list filtered by {view.meta_key}: the "
                                    f"metadata of {sorted(unknown)} is not known", where(LIST, "parameters", 5)))
        refused = [x for x in missing if view.pair(x) in self.refused]
        for x in refused:
            findings.append(judge(AUTHZ, False, f"{self.refused[view.pair(x)]}, yet {view.label()} list lacks {x}",
                                  where(BLOCK, "responses", "400")))
        missing = [x for x in missing if x not in refused]
        how = ", ".join(f"{user} blocked {m}" if side == BY_ME else f"{m} blocked {user}" for m in missing)
        if not known:
            findings.append(Finding(BOTH_SIDES, None, f"{view.label()} list: who was on it before the traffic is "
                                    "not known (this read makes it known)", where(LIST, "description")))
        elif view.user_ids is not None or view.meta_key is not None:
            findings.append(judge(BOTH_SIDES, not missing, f"{view.label()} list shows {sorted(got)}, expected "
                                  f"{sorted(want)}", where(LIST, "description")))
        elif walk.pages > 1:
            findings.append(judge(COVER, not missing, f"{view.label()} pages at limit={view.limit_text} show "
                                  f"{sorted(got)}, the whole list is {sorted(want | got)}: {how}",
                                  where(LIST, "description")))
        else:
            findings.append(judge(BOTH_SIDES, not missing, f"{view.label()} list lacks {missing}: {how}",
                                  where(LIST, "description")))
            # One page is the whole walk at this limit: it covers the list as a longer walk must.
            findings.append(judge(COVER, not missing, f"{view.label()} page at limit={view.limit_text} shows "
                                  f"{sorted(got)}, the whole list is {sorted(want | got)}", where(LIST, "description")))
        if view.side == BY_ME:
            for x in sorted(present & got):
                if (user, x) in self.repeated and walk.ids.count(x) == 1:
                    findings.append(Finding(REPEAT, True, f"{user} blocked {x} twice; the list shows {x} once",
                                            where(BLOCK, "x-decisions")))
        if not view.narrowed:
            # One-way: who blocks `user` (or whom `user` blocks) does not show on this side.
            others = ({a for a, b in self.blocks if b == user} if side == BY_ME
                      else {b for a, b in self.blocks if a == user})
            for x in sorted(others - got):
                if self.known_absent(view.pair(x)):
                    findings.append(judge(ONE_WAY, True, f"{view.label()} list does not show {x}",
                                          where(LIST, "description")))
            if self._of_view(view, set(self.refused)):
                findings.append(judge(AUTHZ, not refused, f"{view.label()} list lacks {refused} after refused "
                                      "writes", where(BLOCK, "responses", "400")))
            # Users known on the list but missing from it stay as the writes left them (each later
            # read fails again); every other user is now known.
            self.side(user, side).read_whole()
        elif view.user_ids is not None:
            for x in view.user_ids:
                pair = view.pair(x)
                if not self.knows(pair):
                    self.learn(pair, x in got)
        return findings


class Machine(ModelMachine):
    needs = NEEDS

    def __init__(self) -> None:
        super().__init__()
        fx = self.fixtures
        # Who blocks (path users) and who is blocked; they overlap so mutual blocks happen.
        self.actors: list[str] = [fx["blocker"], *fx["other_blockers"][:3], fx["unusual_user"]]
        self.pool: list[str] = [*fx["targets"][:5], fx["comma_user"], fx["blocker"], fx["other_blockers"][0]]
        # Everyone whose lists are read; `targets[5]` only ever watches (nobody blocks them).
        self.universe: list[str] = list(dict.fromkeys(self.actors + self.pool + [fx["targets"][5]]))
        self.model = Model()
        self.moderation = self.model
        self.turn = 0
        self.found: set[tuple[str, str]] | None = None  # the blocks read at the start

    @property
    def blocks(self) -> set[Pair]:
        return self.model.blocks

    def expected(self, user: str, side: str) -> set[str]:
        return self.model.expected(user, side)

    # -- reading ---------------------------------------------------------------------------------

    def walk(self, user: str, side: str, limit: int, *, cap: int, identity: str = "master",
             query: dict[str, Any] | None = None) -> list[str]:
        """Every page of one list at `limit`, following `next` until it is empty ([SB-list]); the
        model judges each page and the walk. A walk longer than `cap` pages fails. Returns the user
        ids in page order (duplicates kept)."""
        ids: list[str] = []
        token = ""
        for page in range(1, cap + 1):
            params: dict[str, Any] = {"list": side, "limit": limit, **(query or {})}
            params = {k: v for k, v in params.items() if v is not None}  # None: omitted (its default)
            if token:
                params["token"] = token
            response, body = self.call(LIST, **{"as": identity}, path={"user_id": user}, query=params)
            self.expect(ANSWERS, response.status_code == 200,
                        f"GET /v3/users/{user}/block?list={side}&limit={limit} (page {page}, as {identity}) "
                        f"answered {response.status_code}: {clip(response.text, 200)}", where(LIST))
            ids += [entry["user_id"] for entry in body["users"]]
            token = body["next"]
            if token == "":
                break
        self.expect(LAST_NEXT, token == "",
                    f"walking {user}'s {side} list at limit={limit} did not end after {cap} pages "
                    f"(`next` never empty; {len(set(ids))} distinct users seen)", where(LIST))
        return ids

    def read(self, user: str, side: str, identity: str = "master") -> set[str]:
        return set(self.walk(user, side, READ_LIMIT, cap=READ_CAP, identity=identity))

    def check(self, user: str, side: str) -> None:
        """One whole list of `user`, which the model holds against what it knows."""
        self.read(user, side)

    def check_pair(self, a: str, b: str) -> None:
        self.check(a, BY_ME)
        self.check(b, BLOCKING_ME)

    # -- changing --------------------------------------------------------------------------------

    def block(self, a: str, targets: list[str], field: str = "target_id", identity: str = "master") -> None:
        if not self.can_call(BLOCK):
            return
        body: dict[str, Any] = {field: targets[0]} if field == "target_id" else {field: list(targets)}
        already = [b for b in targets if (a, b) in self.blocks]
        response, _ = self.call(BLOCK, **{"as": identity}, path={"user_id": a}, body=body)  # judged by the model
        if response.status_code != 200 and not set(targets) <= set(already):
            # A refused mixed request (decision 31): what it stored is read back, not assumed.
            self.read(a, BY_ME)

    def unblock(self, a: str, b: str, identity: str = "master") -> None:
        if not self.can_call(UNBLOCK):
            return
        blocked = (a, b) in self.blocks
        response, _ = self.call(UNBLOCK, **{"as": identity}, path={"user_id": a, "target_id": b})
        if identity != acting_identity(P, UNBLOCK) and blocked:
            # The model judges the x-request's identity's answers; any token of the application
            # changes the same lists ([SB-prep]).
            self.expect(AUTHZ, response.status_code == 200,
                        f"{a} unblocking {b}, whom {a} blocks, answered {response.status_code} (as {identity}): "
                        f"{clip(response.text, 200)}", where(UNBLOCK))

    # -- the walkthrough -------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        if not self.can_call(LIST):
            return
        reset = self.reset_target()
        if reset:  # the seeded state holds the block x-target promises (the unblock request undoes it)
            blocker, blocked = self.fixtures["seeded_blocker"], self.fixtures["seeded_blocked"]
            seen = self.read(blocker, BY_ME)
            self.expect(ANSWERS, blocked in seen, f"after a reset, {blocker}'s {BY_ME} list is {sorted(seen)}, "
                        f"without {blocked} (x-target: the seeded state has that block)",
                        where(LIST, "description"))
        # Both sides of every user: the model learns the state, and what one side showed must
        # show on the other (pairs inside the universe).
        for u in self.universe:
            for side in SIDES:
                self.read(u, side)
        self.found = set(self.blocks)
        self.walkthrough()
    def walkthrough(self) -> None:
        """Every documented behaviour once, in a fixed order (the fast profile runs few steps)."""
        fx = self.fixtures
        me, others, t = fx["blocker"], fx["other_blockers"], fx["targets"]
        if not self.can_call(BLOCK):  # a target that only lists: the lists, pages and filters
            for limit in (1, 3):
                self.walk_pages(0, BY_ME, limit)
            self.filter_user_ids(0, BY_ME, [0, 1, 5])
            self.read_as_secondary(0, BY_ME)
            return
        # Block one user: both sides; then the same again (decision 31: 200 or 400, no duplicate).
        self.unblock(me, t[0])
        self.block(me, [t[0]])
        self.check_pair(me, t[0])
        self.one_way(me, t[0])
        self.block(me, [t[0]])
        self.check_pair(me, t[0])  # the model: the list shows t[0] once
        self.defaults(me, list(t[:DEFAULT_LIMIT + 2]))
        # Bulk blocks with `user_ids` and with its alias `users`.
        self.block(me, t[1:5], "user_ids")
        for b in t[1:5]:
            self.check(b, BLOCKING_ME)
        self.block(others[0], t[0:2], "users")
        self.check_pair(others[0], t[0])
        self.check(t[1], BLOCKING_ME)
        # Another blocker's lists are untouched by those blocks (the invariant covers the rest).
        for side in SIDES:
            self.check(others[1], side)
        # Pages: small limits over the blocker's 5 and the first target's 2 entries.
        for limit in (1, 3):
            self.walk_pages(0, BY_ME, limit)
        self.walk_pages(self.universe.index(t[0]), BLOCKING_ME, 1)
        # Filters.
        self.filter_user_ids(0, BY_ME, [0, 1, 5])
        self.filter_metadata(0, BY_ME)
        # Other tokens: the secondary token sees and changes the same lists ([SB-prep]); no token
        # changes nothing.
        self.read_as_secondary(0, BY_ME)
        if self.can_call(UNBLOCK):
            self.unblock(me, t[4], identity="secondary")
            self.check_pair(me, t[4])
            self.without_token(me, t[5], t[3])
        # Unusual ids: in the path (non-ASCII, ', +, @) and with a comma inside `user_ids`.
        self.block(fx["unusual_user"], [fx["comma_user"]])
        self.check_pair(fx["unusual_user"], fx["comma_user"])
        self.block(me, [fx["unusual_user"], fx["comma_user"]], "user_ids")
        self.check_pair(me, fx["unusual_user"])
        self.filter_user_ids(0, BY_ME, [5, 0])
        # Mutual blocks are two separate relations.
        self.block(others[0], [me])
        self.check_pair(others[0], me)
        self.check(me, BLOCKING_ME)
        if not self.can_call(UNBLOCK):
            return
        self.unblock(fx["unusual_user"], fx["comma_user"])
        self.check_pair(fx["unusual_user"], fx["comma_user"])
        # Unblock: both sides; then again (decision 31: 200 or 400, still unblocked).
        self.unblock(me, t[0])
        self.check_pair(me, t[0])
        self.unblock(me, t[0])
        self.check_pair(me, t[0])

    def one_way(self, a: str, b: str) -> None:
        """A blocks B: B's own list of whom B blocks, and A's list of who blocks A, do not gain it
        (the relation is one-way, [SB-list]: A's `blocked_by_me`, B's `blocking_me`)."""
        if (a, b) not in self.blocks or (b, a) in self.blocks:
            return
        self.read(b, BY_ME)  # the model judges both reads
        self.read(a, BLOCKING_ME)

    def defaults(self, a: str, targets: list[str]) -> None:
        """`list` omitted reads `blocked_by_me`; `limit` omitted gives pages of at most 10 whose
        walk covers the whole list (spec parameters `list` and `limit`, defaults from [SB-list])."""
        before = self.expected(a, BY_ME)
        targets = [b for b in targets if b != a]
        self.block(a, targets, "user_ids")
        want = self.expected(a, BY_ME)
        # The model judges the pages (at most 10 users) and the whole walk against `a`'s blocked_by_me.
        self.walk(a, BY_ME, None, cap=len(want) // DEFAULT_LIMIT + 3, query={"list": None})  # type: ignore[arg-type]
        for b in targets:
            if b not in before:
                self.unblock(a, b)

    # -- random steps ----------------------------------------------------------------------------

    @precondition(lambda self: self.can_call(LIST, BLOCK))
    @rule(a=st.integers(0, 4), b=st.integers(0, 7))
    def block_one(self, a: int, b: int) -> None:
        blocker, target = self.actors[a], self.pool[b]
        if blocker == target:
            return  # blocking oneself is undocumented (decision 31): not part of the model
        self.block(blocker, [target])
        self.check_pair(blocker, target)
        self.one_way(blocker, target)

    @precondition(lambda self: self.can_call(LIST, BLOCK))
    @rule(a=st.integers(0, 4), bs=st.lists(st.integers(0, 7), min_size=1, max_size=3, unique=True),
          field=st.sampled_from(["user_ids", "users"]))
    def block_many(self, a: int, bs: list[int], field: str) -> None:
        blocker = self.actors[a]
        targets = [self.pool[b] for b in bs if self.pool[b] != blocker]
        if targets:
            self.block(blocker, targets, field)
            self.check(blocker, BY_ME)
            for target in targets:
                self.check(target, BLOCKING_ME)

    @precondition(lambda self: self.can_call(LIST, UNBLOCK))
    @rule(a=st.integers(0, 4), b=st.integers(0, 7))
    def unblock_one(self, a: int, b: int) -> None:
        blocker, target = self.actors[a], self.pool[b]
        if blocker != target:
            self.unblock(blocker, target)
            self.check_pair(blocker, target)

    @precondition(lambda self: self.can_call(LIST))
    @rule(u=st.integers(0, 5), side=st.sampled_from(SIDES), limit=st.integers(1, 3))
    def walk_pages(self, u: int, side: str, limit: int) -> None:
        user = self.universe[u]
        self.check(user, side)  # the whole list (one page) is known, so the model holds the pages to it
        self.walk(user, side, limit, cap=len(self.expected(user, side)) + 2)

    @precondition(lambda self: self.can_call(LIST))
    @rule(u=st.integers(0, 5), side=st.sampled_from(SIDES),
          picks=st.lists(st.integers(0, 7), min_size=1, max_size=3, unique=True))
    def filter_user_ids(self, u: int, side: str, picks: list[int]) -> None:
        user = self.universe[u]
        wanted = [self.pool[i] for i in picks]
        # A comma-separated string of URL-encoded ids ([SB-list]): a comma inside an id is encoded.
        self.walk(user, side, READ_LIMIT, cap=READ_CAP, query={"user_ids": ",".join(quote(w, safe="") for w in wanted)})

    @precondition(lambda self: self.can_call(LIST))
    @rule(u=st.integers(0, 5), side=st.sampled_from(SIDES))
    def filter_metadata(self, u: int, side: str) -> None:
        user, key = self.universe[u], self.fixtures["metadata_key"]
        value = self.fixtures["metadata_values"][0]
        self.check(user, side)  # also refreshes (in the model) every listed user's metadata
        self.walk(user, side, READ_LIMIT, cap=READ_CAP, query={"metadatakey": key, "metadatavalues_in": quote(value, safe="")})

    @precondition(lambda self: self.can_call(LIST))
    @rule(u=st.integers(0, 5), side=st.sampled_from(SIDES))
    def read_as_secondary(self, u: int, side: str) -> None:
        # The secondary token sees the same lists ([SB-prep]): the model names what differs.
        self.read(self.universe[u], side, identity="secondary")

    def without_token(self, a: str, new: str, old: str) -> None:
        """No `Api-Token`: neither a block nor an unblock may change anything (the model holds the
        read back to the state before them)."""
        response, _ = self.call(BLOCK, **{"as": "anonymous"}, path={"user_id": a}, body={"target_id": new})
        self.expect(AUTHZ, response.status_code >= 400, f"a block without Api-Token answered {response.status_code}",
                    where(BLOCK, "responses", "400"))
        response, _ = self.call(UNBLOCK, **{"as": "anonymous"}, path={"user_id": a, "target_id": old})
        self.expect(AUTHZ, response.status_code >= 400, f"an unblock without Api-Token answered {response.status_code}",
                    where(UNBLOCK, "responses", "400"))
        self.read(a, BY_ME)

    @precondition(lambda self: self.can_call(LIST, BLOCK, UNBLOCK))
    @rule(a=st.integers(0, 4), b=st.integers(0, 7), c=st.integers(0, 7))
    def anonymous_changes_nothing(self, a: int, b: int, c: int) -> None:
        if self.actors[a] not in (self.pool[b], self.pool[c]):
            self.without_token(self.actors[a], self.pool[b], self.pool[c])

    @precondition(lambda self: self.target.can("clock"))
    @rule(hours=st.sampled_from([1, 24, 24 * 30]))
    def time_passes(self, hours: int) -> None:
        # Blocks have no duration ([SB-block]): the invariant then finds every block still there.
        self.advance_clock(hours * 3_600_000)

    @precondition(lambda self: self.can_call(LIST))
    @invariant()
    def one_user_matches_model(self) -> None:
        """Each step re-reads one more list, round the universe (both sides of every user)."""
        user = self.universe[(self.turn // 2) % len(self.universe)]
        self.check(user, SIDES[self.turn % 2])
        self.turn += 1

    # -- clean-up --------------------------------------------------------------------------------

    def quiet_walk(self, user: str) -> set[str] | None:
        """`user`'s whole blocked_by_me list, nothing asserted; None when it cannot be read."""
        ids: set[str] = set()
        token = ""
        for _ in range(READ_CAP * 2):
            query = {"list": BY_ME, "limit": READ_LIMIT, **({"token": token} if token else {})}
            response = self.quiet(LIST, path={"user_id": user}, query=query)
            try:
                body = response.json() if response is not None and response.status_code == 200 else None
                ids |= {entry["user_id"] for entry in body["users"]} if body else set()
                token = body["next"] if body else ""
            except (ValueError, KeyError, TypeError):
                return None
            if body is None:
                return None
            if not token:
                return ids
        return None

    def restore(self) -> None:
        """Every actor's blocks back to what the start read (nothing asserted here)."""
        if self.found is None:
            return
        for a in self.actors:
            now = self.quiet_walk(a)
            if now is None:
                continue
            then = {b for x, b in self.found if x == a}
            for b in sorted(now - then):
                self.quiet(UNBLOCK, path={"user_id": a, "target_id": b})
            if then - now:
                self.quiet(BLOCK, path={"user_id": a}, body={"user_ids": sorted(then - now)})
