"""Semantic layer: one hypothesis `RuleBasedStateMachine` per platform, in `<platform>.py`.

Each machine keeps a model of the state it expects (who is muted, ignored, blocked), drives the
target with the operations' `x-request`s, and checks what schema checks cannot: read-back after
a change, undo, idempotent repeats, isolation between callers and rooms, pagination, expiry and
authorization. Every check names its behaviour (a row of the compatibility matrix) and the doc
it rests on, so a failure points at the doc line.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyFailure
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from chatcontract import specs
from chatcontract.suite.cases import Fact
from chatcontract.suite.expect import Mismatch, documented_body
from chatcontract.suite.wire import Call, Wire, base_call
from chatcontract.targets import Target


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
    behaviours: ClassVar[dict[str, str]]  # behaviour -> "pass" | "fail", across all runs

    @property
    def target(self) -> Target:
        return self.context.target

    @property
    def fixtures(self) -> dict[str, Any]:
        return self.context.target.fixtures

    def call(self, operation_id: str, **overrides: Any) -> tuple[httpx.Response, Any]:
        """Send the operation's x-request with `overrides`; the response must be documented."""
        call: Call = base_call(self.target, operation_id, **overrides)
        response = self.context.wire.send(call)
        return response, documented_body(call.operation, response)

    def expect(self, behaviour: str, ok: bool, message: str, fact: str) -> None:
        if ok:
            self.behaviours.setdefault(behaviour, "pass")
            return
        self.behaviours[behaviour] = "fail"
        raise SemanticViolation(behaviour, f"{message}\nchecks: {fact}")

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


def doc(platform: str, operation_id: str, *more: str | int) -> str:
    """`specs/<platform>.yaml#pointer (vendor url)` for a check's message."""
    fact = Fact.of_operation(specs.operation_by_id(platform, operation_id), *more)
    return f"{fact.spec_pointer} ({fact.vendor_url})"


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
    config = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                      derandomize=not seeded, suppress_health_check=list(HealthCheck), print_blob=False,
                      phases=[p for p in Phase if p is not Phase.explain and (shrink or p is not Phase.shrink)])
    try:
        run_state_machine_as_test(machine, settings=config)
    except SemanticViolation as exc:
        # Hypothesis attaches the failing example's steps to the exception as notes.
        steps = [n for n in getattr(exc, "__notes__", []) if n.strip() and not n.startswith("Failing test case")]
        label = "steps (shrunk)" if shrink else "steps"
        raise SemanticViolation(exc.behaviour, f"{exc.text}\n{label}:\n" + "\n".join(steps)) from None
    except FlakyFailure as group:
        # The violation was seen, then the same steps passed when hypothesis replayed them: the
        # target answered the same calls two ways (or something else changed it meanwhile).
        seen, _ = group.split(SemanticViolation)
        if seen is None:
            raise
        first = _first_leaf(seen)
        raise SemanticViolation(first.behaviour, f"{first.text}\n(seen once; a replay of the same steps did not "
                                                 "show it again: the target is inconsistent or was changed "
                                                 "by another client meanwhile)") from None
    return dict(machine.behaviours)
