"""What a platform's moderation model takes and gives, whoever drives it.

A platform model (`Model` in `suite/semantics/<platform>.py`) holds what the traffic so far says
the target's state must be (who is muted, ignored, blocked) and judges every exchange against
it. Two drivers feed it the same way, one `Seen` per exchange:

* the platform's hypothesis state machine (`ModelMachine.call`), which chose the requests; it
  raises the model's failed `Finding`s as violations, and adds what only a driver that chooses
  its calls can check (a walkthrough's order, a call as another identity on purpose, waiting
  for the clock);
* the traffic observer (`traffic/sequence.py`), which did not choose them: a HAR file, a proxy's
  exchanges. It files each finding as a result.

So each moderation rule of a platform is written once, in its model. A model knows only what
the exchanges it saw tell it: state from before them is "not known", and a read of something
not known is a `Finding` with `ok=None` ("cannot judge"), never a pass or a failure. What a
spec's decisions leave open is accepted every way, as the machines always did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import httpx

from chatcontract import specs

UNKNOWN_CALLER = ""


@dataclass(frozen=True)
class Seen:
    """One exchange as a model takes it. Times are milliseconds on the driver's clock (the
    machine's includes how far it moved the target's clock hook); a request was sent at
    `sent_ms` and its answer had arrived by `answered_ms`."""

    operation_id: str
    caller: str  # the identity name of the target file, a stand-in for an unnamed credential, or ""
    path: dict[str, str]  # path parameters as they were in the URL (decoded text)
    query: dict[str, list[str]]  # query parameters as sent (text), every value of each name
    body: Any  # the parsed JSON request body, or None
    status: int
    answer: Any  # the parsed (documented) response body, or None
    sent_ms: float
    answered_ms: float
    # The user the caller acts as, where a credential names it (the value of the security scheme
    # marked `x-names-caller` in the spec: Ozeki-User, X-User-Id), else "". A credential: never
    # put it in a message as it is (reports redact it; name it by identity where known).
    principal: str = ""

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None when it was not sent."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Finding:
    """One judgement of a model: `ok` True (held), False (broken), None (cannot judge: the
    traffic lacks what it needs). `behaviour` is the compatibility-matrix row; `fact` the spec
    pointer and vendor doc it rests on."""

    behaviour: str
    ok: bool | None
    message: str
    fact: str = ""


class Model(Protocol):
    """A platform model: fed every exchange in order, it answers with what it judged."""

    def see(self, seen: Seen) -> list[Finding]: ...

    def writes(self, seen: Seen) -> bool:
        """Whether the exchange may change the state (a traffic observer holds reads that ran at
        the same time as a write unjudged: the server may have taken them in either order)."""
        ...

    def forget(self, reason: str) -> None:
        """Something the model did not see may have changed the target (an exchange outside the
        spec, an answer it could not read): every later read of what it knew cannot be judged
        until the traffic shows it again."""
        ...


@dataclass
class Knowledge:
    """Which keys (users, pairs) a model knows the state of, for a model whose reads can list
    everything (a complete read makes every key known) or only some keys. Keys the traffic never
    showed are not known; `forget` makes everything not known again (until the next complete read)."""

    complete: bool = False  # a read showed the whole state: every key not listed is known absent
    known: set[Any] = field(default_factory=set)  # keys known (present or absent) besides that
    doubted: set[Any] = field(default_factory=set)  # keys not known despite a complete read

    def knows(self, key: Any) -> bool:
        return key in self.known or (self.complete and key not in self.doubted)

    def learn(self, key: Any) -> None:
        self.known.add(key)
        self.doubted.discard(key)

    def doubt(self, key: Any) -> None:
        self.known.discard(key)
        self.doubted.add(key)

    def read_whole(self) -> None:
        self.complete, self.known, self.doubted = True, set(), set()

    def forget(self) -> None:
        self.complete, self.known, self.doubted = False, set(), set()


def seen(operation_id: str, caller: str, url: str | httpx.URL, request_body: bytes | None, path: dict[str, Any], status: int,
         answer: Any, sent_ms: float, answered_ms: float, principal: str = "") -> Seen:
    """The `Seen` of one exchange, built the same way for both drivers: the query and the JSON
    body read from what went on the wire (a body that is not JSON is None)."""
    params = (url if isinstance(url, httpx.URL) else httpx.URL(url)).params  # a sent request's URL: parsed already
    body = None
    if request_body:
        try:
            body = json.loads(request_body)
        except ValueError:
            body = None
    return Seen(operation_id, caller, {k: str(v) for k, v in path.items()},
                {k: params.get_list(k) for k in params.keys()}, body, status, answer, sent_ms, answered_ms, principal)


@cache
def caller_scheme(platform: str) -> str | None:
    """The security scheme whose value names the calling user (`x-names-caller: true`), if any."""
    return next((name for name, scheme in specs.security_schemes(platform).items() if scheme.get("x-names-caller")), None)


@cache
def acting_identity(platform: str, operation_id: str) -> str:
    """The identity the spec's `x-request` calls the operation as: the caller whose writes the
    documented success is promised to (a target file's identity of that name)."""
    return str((specs.operation_by_id(platform, operation_id).definition.get("x-request") or {}).get("as", ""))
