"""Semantic layer: the platform's state machine (suite/semantics/<platform>.py) against the target.

One test per target. Expiry checks use the target's clock hook when it has one; otherwise they
wait in real time only within the target's `realtime_budget_s`, else they are not exercised.
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
    seeded = request.config.getoption("hypothesis_seed", None) is not None
    try:
        case.extra["behaviours"] = semantics.run(target.api, context, examples=run_profile["machine_examples"],
                                                 steps=run_profile["machine_steps"], shrink=run_profile["shrink"],
                                                 seeded=seeded)
    finally:
        if not case.extra["behaviours"]:
            case.extra["behaviours"] = dict(semantics.machine_for(target.api).behaviours)
