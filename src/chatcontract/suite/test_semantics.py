"""Semantic layer: the platform's state machine (suite/semantics/<platform>.py) against the target.

One test per target. Expiry checks use the target's clock hook when it has one; otherwise they
wait in real time only within the target's `realtime_budget_s`, else they are reported skipped.
A partial target (`implements:`) gets every behaviour whose operations it serves; the others are
reported skipped, "not implemented by this target", and when none is left the test is a skip.
Each example of the machine undoes its own changes, so a target without a reset hook is left as
it was found.
"""

from __future__ import annotations

import pytest

from chatcontract import specs
from chatcontract.suite import semantics
from chatcontract.suite.cases import Case, Fact
from chatcontract.suite.wire import Wire
from chatcontract.targets import Target

LAYER = "semantics"


def cases(target: Target) -> list[Case]:
    module = semantics.machine_for(target.api).__module__
    summary = (__import__(module, fromlist=["_"]).__doc__ or "").strip().splitlines()[0]
    first = next(specs.operations(target.api))
    fact = Fact(f"src/chatcontract/suite/semantics/{target.api}.py", (first.definition.get("externalDocs") or {}).get("url", ""), summary)
    return [Case(target, LAYER, "state-machine", fact, matrix_row="semantics: state machine")]


def test_moderation_semantics(case: Case, target: Target, wire: Wire, run_profile: dict,
                              request: pytest.FixtureRequest) -> None:
    context = semantics.Context(target, wire, float(target.capabilities.get("realtime_budget_s", 0)))
    case.extra["behaviours"] = {}
    machine = semantics.machine_for(target.api)
    operations = sorted({op for needs in machine.needs.values() for op in needs if op != semantics.CLOCK})
    if operations and not any(target.implemented(op) for op in operations):
        pytest.skip(f"{semantics.NOT_IMPLEMENTED}: the state machine calls {', '.join(operations)}, none of which "
                    "is in the target's `implements`")
    seeded = request.config.getoption("hypothesis_seed", None) is not None
    try:
        case.extra["behaviours"] = semantics.run(target.api, context, examples=run_profile["machine_examples"],
                                                 steps=run_profile["machine_steps"], shrink=run_profile["shrink"],
                                                 seeded=seeded)
    finally:
        if not case.extra["behaviours"]:
            case.extra["behaviours"] = dict(getattr(machine, "behaviours", {}))
        case.extra["notes"] = dict(getattr(machine, "notes", {}))
    behaviours = case.extra["behaviours"]
    if behaviours and all(kind == "skip" for kind in behaviours.values()):
        reasons = sorted(set(case.extra["notes"].values()))
        lead = next((r for r in reasons if r.startswith(semantics.NOT_IMPLEMENTED)), reasons[0])
        pytest.skip(f"{semantics.NOT_IMPLEMENTED}: no behaviour of the state machine could run; " + "; ".join(reasons)
                    if lead.startswith(semantics.NOT_IMPLEMENTED) else f"no behaviour could run: {'; '.join(reasons)}")
