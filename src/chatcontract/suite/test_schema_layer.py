"""Schema layer: every operation of the target's spec, fuzzed and checked by schemathesis.

Checks: server errors, status codes, content type, response schema and headers, negative data
rejected, positive data accepted, missing required headers, auth not ignored, unsupported
methods. Each test names the operation it checks; a failure carries schemathesis' own account.
"""

from __future__ import annotations

import pytest

from chatcontract import specs
from chatcontract.suite import fuzzing
from chatcontract.suite.cases import Case, Fact
from chatcontract.targets import Target

LAYER = "schema"


def cases(target: Target) -> list[Case]:
    return [
        Case(target, LAYER, op.operation_id, Fact.of_operation(op), operation_id=op.operation_id,
             matrix_row="schema: every response matches the spec")
        for op in specs.operations(target.api)
    ]


def test_operation_conforms(case: Case, target: Target, run_profile: dict, request: pytest.FixtureRequest) -> None:
    seed = request.config.getoption("hypothesis_seed", None)
    try:
        fuzzing.run_operation(target, case.operation_id, examples=run_profile["examples"],
                              seed=int(seed) if seed is not None else 0, shrink=run_profile["shrink"])
    except (AssertionError, BaseExceptionGroup) as exc:
        # schemathesis' report (its own curl line included) with every credential redacted.
        raise AssertionError(target.redact(f"{case.operation_id}: {exc}")) from None
