"""Documented-error layer: each documented error is provoked on purpose and checked.

For every named example with an `x-trigger` in the spec, the operation's `x-request` is changed
as the example's `x-provoke` says (another identity, wrong credentials, a parameter dropped or
replaced...), sent, and the answer must be a reading of that error the example or a decision
accepts (`decisions.error_readings`): one of the accepted statuses (or body forms) with the
documented body schema, every key the example carries (unless a decision lets it be absent), and
an accepted value at each identifying pointer (`x-target.error-identity`, the example's
`x-identity`). The envelope values the docs fix (`success: false`, `error: true`, a `status`
other than `OK`/`ok`) are part of each platform's error schema.

An `auth-invalid` example whose `x-provoke` sends wrong credentials is also provoked with partly
wrong ones, generated from the spec's security schemes (`wire.partial_credentials`): each
credential a near miss of the caller's own, each scheme wrong alone and left out alone, the user
id right with everything else wrong, another identity's user id with the caller's secret. Each
is its own case (`.../<example>/only-authToken-wrong`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from chatcontract import decisions, specs
from chatcontract.suite import guarded
from chatcontract.suite.cases import Case, Fact
from chatcontract.suite.wire import NotProvided, Wire, base_call, partial_credentials
from chatcontract.targets import ANONYMOUS, Target

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

RATE_LIMITED = "rate-limited"  # the x-trigger of a documented rate-limit error


def documented_errors(platform: str):
    """(operation, status key, example name, example) for every example with an x-trigger."""
    yield from decisions.documented_errors(platform)


def _partial_variants(target: Target, op: specs.Operation, example: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    provoke = example.get("x-provoke") or {}
    if example.get("x-trigger") != "auth-invalid" or provoke.get("credentials") != "wrong":
        return []
    caller = provoke.get("as") or (op.definition.get("x-request") or {}).get("as", ANONYMOUS)
    if caller == ANONYMOUS:
        return []
    identities = list(specs.load_spec(target.api)["x-target"]["identities"])
    return [(suffix, {**provoke, "credentials": credentials})
            for suffix, credentials in partial_credentials(target.api, caller, identities)]


def cases(target: Target) -> list[Case]:
    found = []
    for op, key, name, example in documented_errors(target.api):
        summary = f"{key} {name}: {example.get('summary', '')}"
        variants = [("", example.get("x-provoke")), *_partial_variants(target, op, example)]
        for suffix, provoke in variants:
            fact = Fact.of_operation(op, "responses", key,
                                     summary=summary + (f" (partial credentials: {suffix})" if suffix else ""))
            behaviour = f"{op.operation_id}/{key}/{name}" + (f"/{suffix}" if suffix else "")
            found.append(Case(target, LAYER, behaviour, fact, payload=(op, key, name, provoke, example),
                              operation_id=op.operation_id, matrix_row=ROW[example["x-trigger"]]))
    return found


def test_documented_error(case: Case, target: Target, wire: Wire) -> None:
    op, key, name, provoke, example = case.payload
    if provoke is None:
        raise specs.SpecError(f"{op.operation_id} example {name} has no x-provoke")
    if "skip" in provoke:
        pytest.skip(provoke["skip"])
    for fixture in provoke.get("needs", []):
        if fixture not in target.fixtures:  # only an x-target `optional` one can be missing
            raise NotProvided(f"the target file gives no fixture {fixture!r}, which this error needs "
                              "(optional in the spec's x-target)")
    # A rate limit provoked on purpose: its burst is not paced by the target's rate limit and its
    # 429 never retried (guarded.py); every other provocation is paced like any request.
    with guarded.provoking() if example.get("x-trigger") == RATE_LIMITED else contextlib.nullcontext():
        for step in provoke.get("before", []):
            prior = base_call(target, step["operation"]).changed(step, target.fixtures)
            wire.send(prior)
        response = wire.send(base_call(target, op.operation_id).changed(provoke, target.fixtures))
    decisions.error_readings(target.api, op.operation_id, name, key).check(op, example, response)
