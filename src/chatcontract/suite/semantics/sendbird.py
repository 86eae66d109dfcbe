"""Sendbird block lists as a state machine: block, unblock, both sides of a block, page walks, filters.

Model: the set of (blocker, blocked) pairs that touch a small universe of users (the target's
`blocker`, `other_blockers`, some `targets`, the `unusual_user` and the `comma_user`), read from
the target at the start (so a target without reset works) and changed by every accepted call.
A user's `blocked_by_me` list must be exactly {b | (user, b)} and `blocking_me` exactly
{a | (a, user)} ([SB-list]). What the docs leave open is accepted either way, as
the spec's x-decisions record: a repeated block, unblocking someone not blocked (decision 31,
200 or 400), the order of a list and the codes of errors (decisions 30-32). Blocks have no
duration, so nothing here waits for time; the clock hook only checks that blocks stay.

Also checked: a block is one-way (A blocking B does not make B block A: B's `blocked_by_me` and
A's `blocking_me` stay without it), and omitted parameters take their documented defaults
(`list` = `blocked_by_me`, `limit` = 10: a page of at most 10 users, the pages still covering the
whole list). Partial targets: every behaviour needs the list (the read back); blocks and unblocks
run when the target implements them. Clean-up (every example): every actor's `blocked_by_me` list
is set back to what the start read, so a target without a reset hook is left as it was found.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from chatcontract.redaction import clip
from chatcontract.suite.semantics import ModelMachine, doc

P = "sendbird"
LIST, BLOCK, UNBLOCK = "sendbirdListBlockedUsers", "sendbirdBlockUser", "sendbirdUnblockUser"
BY_ME, BLOCKING_ME = "blocked_by_me", "blocking_me"
SIDES = (BY_ME, BLOCKING_ME)
READ_LIMIT = 100  # the documented maximum: a whole (small) list in one page
READ_CAP = 10  # pages a full read may take at READ_LIMIT before it counts as never ending


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
        self.blocks: set[tuple[str, str]] = set()
        self.ever_unblocked: set[tuple[str, str]] = set()  # unblocked during this run
        self.metadata: dict[str, Any] = {}  # user id -> metadata as last listed
        self.turn = 0
        self.found: set[tuple[str, str]] | None = None  # the blocks read at the start

    # -- reading ---------------------------------------------------------------------------------

    def expected(self, user: str, side: str) -> set[str]:
        if side == BY_ME:
            return {b for a, b in self.blocks if a == user}
        return {a for a, b in self.blocks if b == user}

    def walk(self, user: str, side: str, limit: int, *, cap: int, identity: str = "master",
             query: dict[str, Any] | None = None) -> list[str]:
        """Every page of one list at `limit`, following `next` until it is empty ([SB-list]); a walk
        longer than `cap` pages fails. Returns the user ids in page order (duplicates kept)."""
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
            for entry in body["users"]:
                self.metadata[entry["user_id"]] = entry.get("metadata")
            if limit is None:  # omitted: the documented default
                self.expect(DEFAULTS, len(body["users"]) <= DEFAULT_LIMIT,
                            f"{user}'s {side} page {page} without `limit` has {len(body['users'])} users; `limit` "
                            f"defaults to {DEFAULT_LIMIT}", where(LIST, "parameters", 2))
            else:
                self.expect(PAGE_SIZE, len(body["users"]) <= limit,
                            f"{user}'s {side} page {page} has {len(body['users'])} users at limit={limit}",
                            where(LIST, "parameters", 2))
            ids += [entry["user_id"] for entry in body["users"]]
            # A non-blank `next` loads "the next chunk of results"; blank means "the end of its
            # results" (the page-token note): on an unfiltered list a page reached through a token,
            # or a page with a token, is never empty. (A filtered page may be short or empty: the
            # docs' own filtered example has two users at limit=3 and a token.)
            unfiltered = not any((query or {}).get(k) for k in ("user_ids", "metadatakey", "metadatavalues_in"))
            self.expect(LAST_NEXT, not (unfiltered and not body["users"] and (token or body["next"])),
                        f"{user}'s {side} page {page} at limit={limit} holds no users, yet "
                        + (f"the previous page's `next` pointed to it" if token else f"its `next` is {body['next']!r}")
                        + ": the last page with users must carry a blank `next`", where(LIST, "responses", "200"))
            token = body["next"]
            if token == "":
                break
        self.expect(LAST_NEXT, token == "",
                    f"walking {user}'s {side} list at limit={limit} did not end after {cap} pages "
                    f"(`next` never empty; {len(set(ids))} distinct users seen)", where(LIST))
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        self.expect(NO_DUPS, not repeated,
                    f"{user}'s {side} list at limit={limit} shows {repeated} on more than one page (or twice)",
                    where(LIST))
        return ids

    def read(self, user: str, side: str, identity: str = "master") -> set[str]:
        return set(self.walk(user, side, READ_LIMIT, cap=READ_CAP, identity=identity))

    def check(self, user: str, side: str) -> None:
        """One whole list of `user` against the model."""
        got, want = self.read(user, side), self.expected(user, side)
        missing, extra = sorted(want - got), sorted(got - want)
        self.expect(BOTH_SIDES, not missing,
                    f"{user}'s {side} list lacks {missing}: " + ", ".join(
                        f"{user} blocked {m}" if side == BY_ME else f"{m} blocked {user}" for m in missing),
                    where(LIST, "description"))
        pair = (lambda x: (user, x)) if side == BY_ME else (lambda x: (x, user))
        stale = [x for x in extra if pair(x) in self.ever_unblocked]
        self.expect(UNBLOCKED, not stale, f"{user}'s {side} list still shows {stale} after the unblock",
                    where(UNBLOCK, "description"))
        self.expect(ISOLATION, not extra,
                    f"{user}'s {side} list shows {extra}, though no such block was made (another user's block?)",
                    where(LIST, "description"))

    def check_pair(self, a: str, b: str) -> None:
        self.check(a, BY_ME)
        self.check(b, BLOCKING_ME)

    # -- changing --------------------------------------------------------------------------------

    def block(self, a: str, targets: list[str], field: str = "target_id", identity: str = "master") -> None:
        if not self.can_call(BLOCK):
            return
        body: dict[str, Any] = {field: targets[0]} if field == "target_id" else {field: list(targets)}
        response, answer = self.call(BLOCK, **{"as": identity}, path={"user_id": a}, body=body)
        already = [b for b in targets if (a, b) in self.blocks]
        if not already:
            self.expect(BOTH_SIDES, response.status_code == 200,
                        f"{a} blocking {targets} ({field}, as {identity}) answered {response.status_code}: "
                        f"{clip(response.text, 200)}", where(BLOCK))
        else:
            # Decision 31: blocking an already-blocked user may answer 200 or 400.
            self.expect(REPEAT, response.status_code in (200, 400),
                        f"{a} blocking {targets}, of whom {already} were already blocked, answered "
                        f"{response.status_code}", where(BLOCK, "x-decisions"))
        if response.status_code == 200:
            # Decision 28: the blocked users as user objects or (the vendor's 2022 spec) bare ids.
            listed = {entry if isinstance(entry, str) else entry["user_id"] for entry in answer["users"]}
            allowed = set(targets) | self.expected(a, BY_ME)
            self.expect(BLOCK_BODY, set(targets) <= listed <= allowed,
                        f"{a} blocked {targets} but the response lists {sorted(listed)}",
                        where(BLOCK, "responses", "200"))
            self.blocks |= {(a, b) for b in targets}
        elif not set(targets) <= set(already):
            # A refused mixed request (decision 31): what it stored is read back, not assumed.
            now = self.read(a, BY_ME)
            self.blocks |= {(a, b) for b in targets if b in now}
        for b in targets:
            self.ever_unblocked.discard((a, b))

    def unblock(self, a: str, b: str, identity: str = "master") -> None:
        if not self.can_call(UNBLOCK):
            return
        response, _ = self.call(UNBLOCK, **{"as": identity}, path={"user_id": a, "target_id": b})
        if (a, b) in self.blocks:
            self.expect(UNBLOCKED, response.status_code == 200,
                        f"{a} unblocking {b}, whom {a} blocks, answered {response.status_code} (as {identity}): "
                        f"{clip(response.text, 200)}", where(UNBLOCK))
            self.blocks.discard((a, b))
            self.ever_unblocked.add((a, b))
        else:
            # Decision 31: unblocking a user who is not blocked may answer 200 or 400.
            self.expect(REPEAT, response.status_code in (200, 400),
                        f"{a} unblocking {b}, who is not blocked, answered {response.status_code}",
                        where(UNBLOCK, "x-decisions"))

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
        observed = {(u, side): self.read(u, side) for u in self.universe for side in SIDES}
        for (u, side), ids in observed.items():
            self.blocks |= {(u, x) if side == BY_ME else (x, u) for x in ids}
        # What was read from one side must show on the other (pairs inside the universe).
        for (u, side), ids in observed.items():
            want = self.expected(u, side)
            self.expect(BOTH_SIDES, ids == want,
                        f"at start, {u}'s {side} list is {sorted(ids)} but the other users' lists say {sorted(want)}",
                        where(LIST, "description"))
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
        self.check_pair(me, t[0])
        shown = self.walk(me, BY_ME, READ_LIMIT, cap=READ_CAP).count(t[0])
        self.expect(REPEAT, shown == 1, f"{me} blocked {t[0]} twice; the list shows {t[0]} {shown} times",
                    where(BLOCK, "x-decisions"))
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
        mine = self.read(b, BY_ME)
        self.expect(ONE_WAY, a not in mine, f"after {a} blocked {b}, {b}'s {BY_ME} list shows {a} ({b} never "
                    f"blocked {a})", where(LIST, "description"))
        theirs = self.read(a, BLOCKING_ME)
        self.expect(ONE_WAY, b not in theirs, f"after {a} blocked {b}, {a}'s {BLOCKING_ME} list shows {b} ({b} never "
                    f"blocked {a})", where(LIST, "description"))

    def defaults(self, a: str, targets: list[str]) -> None:
        """`list` omitted reads `blocked_by_me`; `limit` omitted gives pages of at most 10 whose
        walk covers the whole list (spec parameters `list` and `limit`, defaults from [SB-list])."""
        before = self.expected(a, BY_ME)
        targets = [b for b in targets if b != a]
        self.block(a, targets, "user_ids")
        want = self.expected(a, BY_ME)
        ids = self.walk(a, BY_ME, None, cap=len(want) // DEFAULT_LIMIT + 3, query={"list": None})  # type: ignore[arg-type]
        self.expect(DEFAULTS, set(ids) == want,
                    f"{a}'s list without `list` and `limit` shows {sorted(set(ids))}; {a}'s {BY_ME} list is "
                    f"{sorted(want)} (`list` defaults to {BY_ME})", where(LIST, "parameters", 0))
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
        self.check(user, side)  # the whole list (one page) equals the model, so pages must add up to it
        want = self.expected(user, side)
        ids = self.walk(user, side, limit, cap=len(want) + 2)
        self.expect(COVER, set(ids) == want,
                    f"{user}'s {side} pages at limit={limit} show {sorted(set(ids))}, the whole list is {sorted(want)}",
                    where(LIST, "description"))

    @precondition(lambda self: self.can_call(LIST))
    @rule(u=st.integers(0, 5), side=st.sampled_from(SIDES),
          picks=st.lists(st.integers(0, 7), min_size=1, max_size=3, unique=True))
    def filter_user_ids(self, u: int, side: str, picks: list[int]) -> None:
        user = self.universe[u]
        wanted = [self.pool[i] for i in picks]
        # A comma-separated string of URL-encoded ids ([SB-list]): a comma inside an id is encoded.
        ids = set(self.walk(user, side, READ_LIMIT, cap=READ_CAP,
                            query={"user_ids": ",".join(quote(w, safe="") for w in wanted)}))
        self.expect(ID_FILTER, ids <= set(wanted),
                    f"{user}'s {side} list filtered by user_ids={wanted} shows {sorted(ids - set(wanted))}",
                    where(LIST, "parameters", 3))
        want = self.expected(user, side) & set(wanted)
        self.expect(ID_FILTER, ids == want,
                    f"{user}'s {side} list filtered by user_ids={wanted} shows {sorted(ids)}, expected {sorted(want)}",
                    where(LIST, "parameters", 3))

    @precondition(lambda self: self.can_call(LIST))
    @rule(u=st.integers(0, 5), side=st.sampled_from(SIDES))
    def filter_metadata(self, u: int, side: str) -> None:
        user, key = self.universe[u], self.fixtures["metadata_key"]
        value = self.fixtures["metadata_values"][0]
        self.check(user, side)  # also refreshes every listed user's metadata
        ids = set(self.walk(user, side, READ_LIMIT, cap=READ_CAP,
                            query={"metadatakey": key, "metadatavalues_in": quote(value, safe="")}))
        want = {x for x in self.expected(user, side) if str((self.metadata.get(x) or {}).get(key)) == value}
        self.expect(META_FILTER, ids == want,
                    f"{user}'s {side} list filtered by {key}={value} shows {sorted(ids)}, expected {sorted(want)}",
                    where(LIST, "parameters", 5))

    @precondition(lambda self: self.can_call(LIST))
    @rule(u=st.integers(0, 5), side=st.sampled_from(SIDES))
    def read_as_secondary(self, u: int, side: str) -> None:
        user = self.universe[u]
        got, want = self.read(user, side, identity="secondary"), self.expected(user, side)
        self.expect(AUTHZ, got == want,
                    f"with the secondary token {user}'s {side} list is {sorted(got)}; with the master token {sorted(want)}",
                    where(LIST))

    def without_token(self, a: str, new: str, old: str) -> None:
        """No `Api-Token`: neither a block nor an unblock may change anything."""
        had_new, had_old = (a, new) in self.blocks, (a, old) in self.blocks
        response, _ = self.call(BLOCK, **{"as": "anonymous"}, path={"user_id": a}, body={"target_id": new})
        self.expect(AUTHZ, response.status_code >= 400, f"a block without Api-Token answered {response.status_code}",
                    where(BLOCK, "responses", "400"))
        response, _ = self.call(UNBLOCK, **{"as": "anonymous"}, path={"user_id": a, "target_id": old})
        self.expect(AUTHZ, response.status_code >= 400, f"an unblock without Api-Token answered {response.status_code}",
                    where(UNBLOCK, "responses", "400"))
        got = self.read(a, BY_ME)
        self.expect(AUTHZ, (new in got) == had_new and (old in got) == had_old,
                    f"calls without Api-Token changed {a}'s blocked_by_me list to {sorted(got)}",
                    where(BLOCK, "responses", "400"))

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
