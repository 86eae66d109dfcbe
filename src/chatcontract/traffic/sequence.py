"""The moderation model watching traffic it did not choose: every read judged against the writes
before it, by the platform's own `Model` (`suite/semantics/<platform>.py`), the one the
semantic state machine drives.

Each exchange the per-exchange checker passed is handed to the model as a `Seen` (the same
builder the machine uses); what the model finds becomes one result per exchange, filed under
`<index>:<operationId>/semantics`: `fail` when a finding is broken (the first one is the
message, every finding is in the detail), `pass` when it judged something and all held, `skip`
("cannot judge") when everything it would judge depends on state the traffic has not shown
(users muted before the trace began). An exchange that tells the model nothing (a write it only
records) gets no result of its own.

Exchanges that overlap in time (a browser's list while a mute is under way) may have been taken
by the server in either order: each is held until the first exchange that started after it ended
shows what ran beside it (so a `/semantics` result comes one exchange late, or at the end); an
exchange that ran beside a write (`Model.writes`; every exchange, for a model that does not say)
is "cannot judge", and after two writes at once the model forgets.

What the model cannot follow makes it forget what it knew, so nothing is judged on a guess: a
write whose request or answer is not as documented (the server may have done anything), and an
exchange outside the spec that may change state (any method but GET, HEAD, OPTIONS: a test hook's
reset or clock move, an endpoint the spec does not describe). The trace must hold all the traffic
that changes the keys it judges: a write by a client the proxy does not see cannot be known (the
README says so).

Callers: the identity of the target file whose credentials the request carries (so write answers
are judged for the spec's `x-request` identity, as in a run), else `caller 1`, `caller 2`, ... in
the order their credentials first appear (never the credential itself, nor a hash of it).
Times: the exchange's start and end on the recorder's clock (HAR `startedDateTime` and `time`).
"""

from __future__ import annotations

from typing import Any

from chatcontract import redaction
from chatcontract.redaction import clip
from chatcontract.suite.semantics import model_for
from chatcontract.suite.semantics.model import Finding, Model, Seen, caller_scheme, seen
from chatcontract.traffic import credentials
from chatcontract.traffic.checks import REQUEST_ROW, Observed, Verdict
from chatcontract.servers.core import validation

CHECK = "/semantics"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CANNOT_JUDGE = "cannot judge"


class SequenceObserver:
    """A traffic `Observer` (checks.Observer) that feeds the platform's moderation model."""

    def __init__(self, platform: str, model: Model, identities: dict[str, dict[str, str]] | None = None) -> None:
        self.platform = platform
        self.model = model
        self.identities = identities or {}  # identity name -> scheme name -> value (a target file's)
        self._callers: dict[tuple[tuple[str, str], ...], str] = {}
        self.names_caller = caller_scheme(platform)  # the scheme whose value is the caller's user id
        self._held: list[Observed | None] = []  # in order, waiting to know what ran beside them (None: missed)

    def caller(self, found: dict[str, str]) -> str:
        """Who sent a request carrying `found` (credentials.presented)."""
        for name, values in self.identities.items():
            if values and all(found.get(scheme) == str(value) for scheme, value in values.items()):
                return name
        key = tuple(sorted(found.items()))
        return self._callers.setdefault(key, f"caller {len(self._callers) + 1}")

    def observe(self, observed: Observed) -> list[Verdict]:
        """Hold the exchange until it is known which exchanges ran at the same time as it (the
        first one that started after it ended shows that); judge what is settled."""
        self._held.append(observed)
        return self._release(final=False)

    def missed(self) -> None:
        """An exchange the proxy forwarded never completed (the client went away): the target may
        have acted on it."""
        self._held.append(None)

    def finish(self) -> list[Verdict]:
        return self._release(final=True)

    def _release(self, final: bool) -> list[Verdict]:
        verdicts: list[Verdict] = []
        while self._held:
            if self._held[0] is None:  # a missed exchange, in its place in the order
                self._held.pop(0)
                self.model.forget("an exchange did not complete")
                continue
            group, ends = [self._held[0]], _end(self._held[0])
            for later in self._held[1:]:
                if later is None or later.exchange.started >= ends:
                    break
                group.append(later)
                ends = max(ends, _end(later))
            if not final and len(group) == len(self._held):
                break  # the next exchange may still join the group
            del self._held[:len(group)]
            verdicts += self._judge(group)
        return verdicts

    def _judge(self, group: list[Observed]) -> list[Verdict]:
        """Feed a group of exchanges that overlap in time, in the order they started. The server
        may have taken them in any order: an exchange that ran beside a write is not judged
        (cannot judge), and after two writes at once the model forgets (their order decides the
        state)."""
        fed = [(observed, self._feed(observed)) for observed in group]
        writes = {o.index for o, (_, seen_) in fed if seen_ is None or (seen_ is not _NOT_A_WRITE and self._writes(seen_))}
        verdicts = []
        for observed, (findings, _) in fed:
            beside = [o.index for o in group if o is not observed and o.index in writes and _overlap(o, observed)]
            if beside:
                why = (f"it ran at the same time as exchange {', '.join(map(str, beside))}, so the order the server "
                       "took them in is unknown")
                findings = [Finding(f.behaviour, None, f"{f.message} (not judged: {why})" if f.ok is False else
                                    f"{f.behaviour.removeprefix('semantics: ')}: not judged, {why}", f.fact)
                            for f in findings]
            verdict = _verdict(findings)
            if verdict is not None:
                verdict.about = observed
                verdicts.append(verdict)
        if len([o for o in group if o.index in writes]) > 1:
            self.model.forget("two writes ran at the same time")
        return verdicts

    def _writes(self, seen_: Seen) -> bool:
        writes = getattr(self.model, "writes", None)
        return True if writes is None else bool(writes(seen_))

    def _feed(self, observed: Observed) -> tuple[list[Finding], Seen | None]:
        """The model's findings on one exchange, and its Seen (None: it was not fed, and may have
        changed the target in a way the model cannot follow)."""
        op, exchange = observed.operation, observed.exchange
        if op is None:
            if exchange.method.upper() not in SAFE_METHODS:
                self.model.forget(f"{exchange.method} {clip(exchange.path, 120)} is outside the spec")
                return [], None
            return [], _NOT_A_WRITE
        verdict = observed.verdict
        clean = (verdict is not None and verdict.outcome == "pass" and not exchange.on_purpose
                 and verdict.behaviours.get(REQUEST_ROW, "pass") == "pass")
        if not clean:
            # The model cannot follow an answer that is not documented or a request off the spec:
            # what it knew may no longer hold (reads of it are not judged until shown again).
            self.model.forget(f"{op.label} was not as documented")
            return [], None
        body = observed.request_json if observed.request_json is not validation.NO_BODY else None
        started = exchange.started * 1000
        found = credentials.presented(self.platform, exchange)  # once: the caller and the principal
        seen_ = seen(op.operation_id, self.caller(found), exchange.url,
                     exchange.request_body if body is not None else None, observed.match.path_params,
                     exchange.status, observed.response_json, started, started + exchange.duration_s * 1000,
                     found.get(self.names_caller or "", ""))
        return self.model.see(seen_), seen_


def _end(observed: Observed) -> float:
    return observed.exchange.started + observed.exchange.duration_s


def _overlap(a: Observed, b: Observed) -> bool:
    return a.exchange.started < _end(b) and b.exchange.started < _end(a)


# An exchange outside the spec with a safe method: fed to nothing, and no write.
_NOT_A_WRITE = Seen("", "", {}, {}, None, 0, None, 0.0, 0.0)


def _verdict(findings: list[Finding]) -> Verdict | None:
    if not findings:
        return None
    broken = [f for f in findings if f.ok is False]
    held = [f for f in findings if f.ok is True]
    unknown = [f for f in findings if f.ok is None]
    behaviours: dict[str, str] = {}
    for finding in findings:  # a row's worst: fail over pass over skip
        now = "fail" if finding.ok is False else "pass" if finding.ok else "skip"
        if behaviours.get(finding.behaviour) != "fail" and not (now == "skip" and finding.behaviour in behaviours):
            behaviours[finding.behaviour] = now
    lines = [f"{'FAIL' if f.ok is False else CANNOT_JUDGE}: {f.message}" + (f"\n  checks: {f.fact}" if f.fact else "")
             for f in broken + unknown]
    if held:
        lines.append("held: " + "; ".join(dict.fromkeys(f.behaviour.removeprefix("semantics: ") for f in held)))
    detail = redaction.redact("\n".join(lines))[:6000]
    if broken:
        first = broken[0]
        message = f"[{first.behaviour}] {first.message}" + (f" (and {len(broken) - 1} more)" if len(broken) > 1 else "")
        return Verdict("fail", clip(message, 500), detail, check=CHECK, behaviours=behaviours,
                       matrix_row=first.behaviour, side="server")
    if held:
        return Verdict("pass", "", detail, check=CHECK, behaviours=behaviours, matrix_row=held[0].behaviour)
    first = unknown[0]
    return Verdict("skip", clip(f"{CANNOT_JUDGE}: {first.message}", 500), detail, check=CHECK, behaviours=behaviours,
                   matrix_row=first.behaviour)


def observers_for(platform: str, identities: dict[str, Any] | None = None) -> list[SequenceObserver]:
    """The sequence observer of the platform, when its rules are a model (none otherwise)."""
    model = model_for(platform)
    return [SequenceObserver(platform, model(), identities)] if model is not None else []
