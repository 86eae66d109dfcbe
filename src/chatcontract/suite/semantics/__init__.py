"""Semantic layer: one hypothesis `RuleBasedStateMachine` per platform, in `<platform>.py`.

Each machine feeds its platform's moderation `Model` (who is muted, ignored, blocked; `model.py`:
the same model judges recorded traffic, `traffic/sequence.py`) with every call, drives the
target with the operations' `x-request`s, and checks what schema checks cannot: read-back after
a change, undo, idempotent repeats, isolation between callers and rooms, pagination, expiry and
authorization. Every check names its behaviour (a row of the compatibility matrix) and the doc
it rests on, so a failure points at the doc line.

Partial targets and targets without hooks, the same way for every platform:

* `needs`: each machine says which operations (and `clock`, the clock hook) each behaviour needs.
  A rule or walkthrough step runs only when `can_call(...)` says the target implements what it
  calls (its file's `implements:`); a behaviour that could not run is reported `skip` with the
  reason in `notes` ("not implemented by this target (needs ...)", "needs the clock hook ..."),
  never `pass`. Calling an operation the target does not implement is a harness error.
* `restore()`: every machine undoes its own changes at the end of each example (hypothesis'
  `teardown`), from what it read at the start, so a target without a reset hook is left as it
  was found and the next example (or run) starts alike.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky, FlakyFailure
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from chatcontract import specs
from chatcontract.suite.cases import Fact
from chatcontract.suite.expect import Mismatch, documented_body
from chatcontract.suite.semantics.model import UNKNOWN_CALLER, Finding, Model, caller_scheme, seen
from chatcontract.suite.wire import Call, Wire, base_call
from chatcontract.targets import NOT_IMPLEMENTED, Target


CLOCK = "clock"  # in `needs`: the behaviour needs the target's clock hook
NEEDS_CLOCK = ("needs the target's clock hook (capabilities.clock: true); waiting in real time would take "
               "longer than the target's realtime_budget_s")


class NotImplementedByTarget(Exception):
    """The machine called an operation the target does not implement: a missing guard (harness)."""


class SemanticViolation(Mismatch):
    """A moderation behaviour the target gets wrong; the message starts with the behaviour."""

    def __init__(self, behaviour: str, text: str) -> None:
        super().__init__(f"[{behaviour}] {text}")
        self.behaviour = behaviour
        self.text = text


@dataclass
class Context:
    """What a machine needs from the test: the target, a wire to it, and the run's budget."""

    target: Target
    wire: Wire
    realtime_budget_s: float


class ModelMachine(RuleBasedStateMachine):
    """Base for the platform machines: calls, documented-body checks and named expectations."""

    context: ClassVar[Context]
    behaviours: ClassVar[dict[str, str]]  # behaviour -> "pass" | "fail" | "skip", across all runs
    notes: ClassVar[dict[str, str]] = {}  # behaviour -> why it was skipped
    # behaviour -> the operationIds (and CLOCK) it needs; what is listed here and never ran is a skip.
    needs: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.context.wire.begin()  # a failure lists this example's exchanges only
        self.offset_ms = 0.0  # how far the target's clock was moved (the model's time runs with it)
        # The platform's model (model.py): every call's exchange is fed to it and what it finds
        # is checked, so the machine and the traffic observer judge by the same rules.
        self.moderation: Model | None = None

    def now_ms(self) -> float:
        """The model's clock: this machine's clock plus how far it moved the target's."""
        return time.time() * 1000 + self.offset_ms

    @property
    def target(self) -> Target:
        return self.context.target

    @property
    def fixtures(self) -> dict[str, Any]:
        return self.context.target.fixtures

    def can_call(self, *operation_ids: str) -> bool:
        """Whether the target implements every one of these operations (its file's `implements`)."""
        return self.context.target.implemented(*operation_ids)

    def can_run(self, behaviour: str) -> bool:
        """Whether the target offers all that `behaviour` needs (operations and the clock hook)."""
        return not missing_needs(self.context.target, self.needs.get(behaviour, ()))

    def skip(self, behaviour: str, reason: str) -> None:
        """Report `behaviour` as skipped for `reason`, unless a check of it already ran."""
        if behaviour not in self.behaviours:
            self.behaviours[behaviour] = "skip"
            self.notes[behaviour] = reason

    def call(self, operation_id: str, **overrides: Any) -> tuple[httpx.Response, Any]:
        """Send the operation's x-request with `overrides`; the response must be documented."""
        if not self.can_call(operation_id):
            raise NotImplementedByTarget(f"the machine called {operation_id}, which {self.target.name} does not "
                                         "implement (a missing can_call guard in the suite)")
        call: Call = base_call(self.target, operation_id, **overrides)
        sent = self.now_ms()
        response = self.context.wire.send(call)
        answered = self.now_ms()
        body = documented_body(call.operation, response)
        for finding in self._seen(call, response, body, sent, answered):
            if finding.ok is not None:  # None: the model cannot judge (nothing to check)
                self.expect(finding.behaviour, finding.ok, finding.message, finding.fact)
        return response, body

    def _seen(self, call: Call, response: httpx.Response, body: Any, sent: float, answered: float) -> list[Finding]:
        """Feed one exchange to the model; what it found."""
        if self.moderation is None:
            return []
        caller = UNKNOWN_CALLER if call.wrong_credentials or call.credential_from else call.identity
        return self.moderation.see(seen(call.operation.operation_id, caller, response.request.url,
                                        response.request.content, call.path, response.status_code, body, sent, answered,
                                        self.principal(caller)))

    def principal(self, identity: str) -> str:
        """The user `identity` acts as (model.Seen.principal): its credential of the spec's
        `x-names-caller` scheme, or ""."""
        scheme = caller_scheme(self.target.api)
        return str(self.target.credentials.get(identity, {}).get(scheme, "")) if scheme else ""

    def expect(self, behaviour: str, ok: bool, message: str, fact: str) -> None:
        if ok:
            if not self.can_run(behaviour):
                # A check of a behaviour whose operations (or clock) the target lacks holds only
                # vacuously (nothing was unblocked, nothing ran out): never a pass.
                self.skip(behaviour, skip_reason(self.context.target, self.needs[behaviour]))
                return
            if self.behaviours.get(behaviour, "skip") == "skip":  # a check that ran outweighs a skip
                self.behaviours[behaviour] = "pass"
                self.notes.pop(behaviour, None)
            return
        self.behaviours[behaviour] = "fail"
        violation = SemanticViolation(behaviour, f"{message}\nchecks: {fact}")
        violation.exchanges = self.context.wire.exchanges()  # up to the failing read, before any clean-up
        raise violation

    def quiet(self, operation_id: str, **overrides: Any) -> httpx.Response | None:
        """A call for setup or clean-up: nothing is asserted; None when the target lacks it."""
        if not self.can_call(operation_id):
            return None
        call = base_call(self.target, operation_id, **overrides)
        sent = self.now_ms()
        response = self.context.wire.send(call)
        if self.moderation is not None:  # the model follows the change; nothing it finds is asserted
            try:
                body = documented_body(call.operation, response)
            except Mismatch:
                self.moderation.forget(f"{call.operation.label} answered as not documented")
            else:
                self._seen(call, response, body, sent, self.now_ms())
        return response

    def restore(self) -> None:
        """Undo this example's changes (override): called at the end of every example."""

    def teardown(self) -> None:
        # The failure report's curl line is the request that failed, not a clean-up request.
        wire = self.context.wire
        saved = wire.last
        try:
            self.restore()
        finally:
            wire.last = saved

    def _other_rule_enabled(self) -> bool:
        return any(all(check(self) for check in r.preconditions)
                   for r in self.rules if r.function.__name__ != "nothing_to_do")

    @precondition(lambda self: not self._other_rule_enabled())
    @rule()
    def nothing_to_do(self) -> None:
        """The only step when the target implements none of what the rules call (a partial
        target): the walkthrough in `initialize` ran what it could."""

    def reset_target(self) -> bool:
        """Back to the seeded state when the target can (returns whether it did)."""
        if not self.target.can("reset"):
            return False
        self.context.wire.client.post(self.target.base_url + self.target.hooks_path + "/reset").raise_for_status()
        return True

    def advance_clock(self, ms: int) -> bool:
        if not self.target.can("clock"):
            return False
        self.context.wire.client.post(self.target.base_url + self.target.hooks_path + "/clock/advance",
                                      json={"ms": ms}).raise_for_status()
        return True


def _first_leaf(group: BaseExceptionGroup) -> "SemanticViolation":
    for exc in group.exceptions:
        found = _first_leaf(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if isinstance(found, SemanticViolation):
            return found
    raise LookupError("no SemanticViolation in the group")


def missing_needs(target: Target, needs: tuple[str, ...]) -> list[str]:
    """What of `needs` (operationIds, CLOCK) the target lacks."""
    missing = [op for op in needs if op != CLOCK and not target.implemented(op)]
    if CLOCK in needs and not target.can("clock"):
        missing.append(CLOCK)
    return missing


def skip_reason(target: Target, needs: tuple[str, ...]) -> str:
    missing = missing_needs(target, needs)
    operations = [m for m in missing if m != CLOCK]
    if operations:
        return f"{NOT_IMPLEMENTED} (needs {', '.join(operations)})"
    if missing:
        return NEEDS_CLOCK
    return "not exercised in this run"


def settle(machine: type[ModelMachine], target: Target) -> None:
    """Every behaviour the machine declares that no check reached is reported as skipped."""
    for behaviour, needs in machine.needs.items():
        if behaviour not in machine.behaviours:
            machine.behaviours[behaviour] = "skip"
            machine.notes[behaviour] = skip_reason(target, needs)


def doc(platform: str, operation_id: str, *more: str | int) -> str:
    """`specs/<platform>.yaml#pointer (vendor url)` for a check's message."""
    fact = Fact.of_operation(specs.operation_by_id(platform, operation_id), *more)
    return f"{fact.spec_pointer} ({fact.vendor_url})"


def model_for(platform: str) -> type[Model] | None:
    """The platform's moderation model (`Model` in its module), or None where its rules still
    live only in its machine."""
    module = importlib.import_module(f"chatcontract.suite.semantics.{platform}")
    return getattr(module, "Model", None)


def machine_for(platform: str) -> type[ModelMachine]:
    module = importlib.import_module(f"chatcontract.suite.semantics.{platform}")
    return module.Machine


def run(platform: str, context: Context, *, examples: int, steps: int, shrink: bool = True,
        seeded: bool = False) -> dict[str, str]:
    """Run the platform's machine against the target; returns the behaviours it checked.
    A violation raises SemanticViolation with hypothesis' step sequence in its text.

    Without a seed the run is derandomized: the same target gives the same outcome on every run
    (no flaky gate). `seeded`: the run was given `--hypothesis-seed` (chatcontract run --seed N),
    which hypothesis' pytest plugin applies to every test; each seed explores other sequences,
    and the same seed replays the same ones."""
    machine = machine_for(platform)
    machine.context = context
    machine.behaviours = {}
    machine.notes = {}
    config = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                      derandomize=not seeded, suppress_health_check=list(HealthCheck), print_blob=False,
                      phases=[p for p in Phase if p is not Phase.explain and (shrink or p is not Phase.shrink)])
    try:
        run_state_machine_as_test(machine, settings=config)
        settle(machine, context.target)
    except SemanticViolation as exc:
        # Hypothesis attaches the failing example's steps to the exception as notes.
        steps = [n for n in getattr(exc, "__notes__", []) if n.strip() and not n.startswith("Failing test case")]
        label = "steps (shrunk)" if shrink else "steps"
        exchanges = getattr(exc, "exchanges", "")
        listed = f"\nexchanges of the failing example, each with its curl:\n{exchanges}" if exchanges else ""
        raise SemanticViolation(exc.behaviour, f"{exc.text}{listed}\n{label}:\n" + "\n".join(steps)) from None
    except FlakyFailure as group:
        # The violation was seen, then the same steps passed when hypothesis replayed them: the
        # target answered the same calls two ways (or something else changed it meanwhile).
        seen, _ = group.split(SemanticViolation)
        if seen is None:
            raise
        first = _first_leaf(seen)
        violation = SemanticViolation(first.behaviour, f"{first.text}\n(seen once; a replay of the same steps did not "
                                                       "show it again: the target is inconsistent or was changed "
                                                       "by another client meanwhile)")
        violation.described = True  # its own lead line, not a list of the group's problems
        raise violation from None
    except Flaky:
        # Hypothesis replayed an example and the machine, reading the target's state, chose
        # other steps than the first time: the state it found had changed between the two.
        raise StateChangedUnderRun(STATE_CHANGED) from None
    return dict(machine.behaviours)


STATE_CHANGED = ("the target's state changed while the semantic checks ran, by requests this run did not send: "
                 "replaying the same steps, the run found other users muted, ignored or blocked than the first "
                 "time, so no behaviour could be judged. Another client (a second run against the same target?) "
                 "was changing it; run the semantic layer against a target one run at a time.")


class StateChangedUnderRun(Exception):
    """The target's state changed under the machine between replays (not a deviation: the run
    could not judge). `plain`: the reports show the message without the exception's name."""

    plain = True
