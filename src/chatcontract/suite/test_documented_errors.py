"""Documented-error layer: each documented error is provoked on purpose and checked.

For every named example with an `x-trigger` in the spec, the operation's `x-request` is changed
as the example's `x-provoke` says (another identity, wrong credentials, a parameter dropped or
replaced...), sent, and the answer must carry the example's status, the documented body schema
and the same identifying fields (`x-target.error-identity`) as the example.
"""

from __future__ import annotations

import pytest

from chatcontract import specs
from chatcontract.suite.cases import Case, Fact
from chatcontract.suite.expect import Mismatch, documented_body, pointer_value
from chatcontract.suite.wire import Wire, base_call
from chatcontract.targets import Target

LAYER = "errors"
ROW = {
    "auth-missing": "errors: no credentials", "auth-invalid": "errors: wrong credentials",
    "param-missing": "errors: missing parameter", "param-invalid": "errors: invalid parameter",
    "param-extra": "errors: extra parameter", "param-blank": "errors: blank parameter",
    "body-malformed": "errors: malformed body", "too-many": "errors: over the limit",
    "not-found": "errors: unknown room/user", "not-member": "errors: not a member",
    "not-permitted": "errors: permission", "rate-limited": "errors: rate limit",
    "server-error": "errors: server error", "other": "errors: other documented",
}


def documented_errors(platform: str):
    """(operation, status key, example name, example) for every example with an x-trigger."""
    document = specs.spec_path(platform)
    for op in specs.operations(platform):
        for key, raw in op.responses.items():
            _, definition, _ = specs.deref(document, raw)
            for media in (definition.get("content") or {}).values():
                for name, example in (media.get("examples") or {}).items():
                    _, example, _ = specs.deref(document, example)
                    if isinstance(example, dict) and "x-trigger" in example:
                        yield op, key, name, example


def cases(target: Target) -> list[Case]:
    found = []
    for op, key, name, example in documented_errors(target.api):
        fact = Fact.of_operation(op, "responses", key, summary=f"{key} {name}: {example.get('summary', '')}")
        found.append(Case(target, LAYER, f"{op.operation_id}/{key}/{name}", fact, payload=(op, key, name, example),
                          operation_id=op.operation_id, matrix_row=ROW[example["x-trigger"]]))
    return found


def test_documented_error(case: Case, target: Target, wire: Wire) -> None:
    op, key, name, example = case.payload
    provoke = example.get("x-provoke")
    if provoke is None:
        raise specs.SpecError(f"{op.operation_id} example {name} has no x-provoke")
    if "skip" in provoke:
        pytest.skip(provoke["skip"])
    for step in provoke.get("before", []):
        prior = base_call(target, step["operation"]).changed(step, target.fixtures)
        wire.send(prior)
    response = wire.send(base_call(target, op.operation_id).changed(provoke, target.fixtures))
    body = documented_body(op, response, expect_key=key)
    # The platform's identifying fields, and this example's own (`x-identity`, specs/extensions.md).
    for pointer in [*specs.load_spec(target.api)["x-target"]["error-identity"], *example.get("x-identity", [])]:
        expected, got = pointer_value(example["value"], pointer), pointer_value(body, pointer)
        if expected != got:
            raise Mismatch(f"{op.label} answered {response.status_code} with {pointer} = {got!r}; "
                           f"the documented error {name} ({example.get('summary', '')}) has {expected!r}")
