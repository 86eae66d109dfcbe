"""Schema layer: every operation of the target's spec, fuzzed and checked by schemathesis.

Checks: server errors, status codes, content type, response schema and headers, negative data
rejected (where the vendor documents the constraint), positive data accepted, missing required
headers, auth not ignored. Each test names the operation it checks; a failure carries
schemathesis' own account.

Generic HTTP checks that no vendor documents (405 with an exact `Allow` for an unlisted method,
rejection of data whose constraint a spec decision leaves open) run only when the target file's
`strict_http` asks, as a case of their own (`schema::<operationId>/strict-http`) under the
matrix row `http: generic rules (not vendor conformance)`, so they never count as the vendor's.

Edges (`schema::<operationId>/edges`): for every request parameter or top-level body field whose
documented schema bounds it (an integer `enum`, a `minimum`, a `maximum`), the operation's
`x-request` is sent with the value one past each end, and the answer must be a documented
rejection (a 4xx the operation documents, its body as documented). schemathesis' coverage phase
sends some value outside an enum or a range, not necessarily the nearest one, so a server
that accepts `reason: 6` of 1–5 or `limit=101` of 1–100 would pass it. Parts whose rejection a
spec decision leaves open (`rejection-not-asserted`) are left out. The same case sends the
docs' own example inputs (`x-docs-values`), which must get a documented answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from chatcontract import decisions, specs
from chatcontract.suite import fuzzing, schema_failures
from chatcontract.suite.cases import Case, Fact
from chatcontract.suite.expect import Mismatch, documented_body
from chatcontract.suite.wire import Wire, base_call
from chatcontract.targets import Target

LAYER = "schema"
STRICT = "strict-http"
EDGES = "edges"


def _schema(document: Path, node: Any) -> Any:
    return specs.deref(document, node)[1] if isinstance(node, dict) else {}


def _bounds(schema: Any) -> Iterator[tuple[str, Any]]:
    """(keyword, value one past that end) for each bound of a numeric schema."""
    if not isinstance(schema, dict):
        return
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, int) and not isinstance(v, bool) for v in enum):
        yield "enum", min(enum) - 1
        yield "enum", max(enum) + 1
    if schema.get("type") in ("integer", "number"):
        if isinstance(schema.get("minimum"), (int, float)):
            yield "minimum", schema["minimum"] - 1
        if isinstance(schema.get("maximum"), (int, float)):
            yield "maximum", schema["maximum"] + 1


def edges(op: specs.Operation) -> list[tuple[str, str, Any]]:
    """(request part, keyword, value) one past each documented bound of the operation's request,
    leaving out the parts whose rejection a spec decision does not assert."""
    document = specs.spec_path(op.platform)
    open_parts = decisions.rejection_not_asserted(op.platform, op.operation_id)
    found: list[tuple[str, str, Any]] = []
    shared = (specs.load_spec(op.platform)["paths"][op.path] or {}).get("parameters", [])
    for raw in [*op.definition.get("parameters", []), *shared]:
        parameter = _schema(document, raw)
        if parameter.get("in") not in ("query", "path"):
            continue
        for keyword, value in _bounds(_schema(document, parameter.get("schema"))):
            found.append((f"{parameter['in']}.{parameter['name']}", keyword, value))
    body = _schema(document, op.definition.get("requestBody"))
    media = ((body.get("content") or {}).get("application/json") or {}) if isinstance(body, dict) else {}
    body_document, body_schema, _ = specs.deref(document, media.get("schema", {}))
    for name, raw in (body_schema.get("properties") or {}).items() if isinstance(body_schema, dict) else ():
        for keyword, value in _bounds(specs.deref(body_document, raw)[1]):
            found.append((f"body.{name}", keyword, value))
    return [(part, keyword, value) for part, keyword, value in dict.fromkeys(found)
            if part not in open_parts and f"{part}:{keyword}" not in open_parts]


def cases(target: Target) -> list[Case]:
    found = []
    for op in specs.operations(target.api):
        found.append(Case(target, LAYER, op.operation_id, Fact.of_operation(op), operation_id=op.operation_id,
                          matrix_row="schema: every response matches the spec"))
        if edges(op) or op.definition.get("x-docs-values"):
            found.append(Case(target, LAYER, f"{op.operation_id}/{EDGES}", Fact.of_operation(op, "requestBody")
                              if "requestBody" in op.definition else Fact.of_operation(op, "parameters"),
                              payload=EDGES, operation_id=op.operation_id,
                              matrix_row="schema: bounds and the docs' own example values"))
        if target.strict_http and any(target.strict_http.values()):
            found.append(Case(target, LAYER, f"{op.operation_id}/{STRICT}", Fact.of_operation(op),
                              payload=STRICT, operation_id=op.operation_id,
                              matrix_row="http: generic rules (not vendor conformance)"))
    return found


def test_operation_conforms(case: Case, target: Target, run_profile: dict, request: pytest.FixtureRequest) -> None:
    if case.payload == EDGES:
        _check_edges(case, target, request.getfixturevalue("wire"))
        return
    seed = request.config.getoption("hypothesis_seed", None)
    try:
        fuzzing.run_operation(target, case.operation_id, examples=run_profile["examples"],
                              seed=int(seed) if seed is not None else 0, shrink=run_profile["shrink"],
                              strict=case.payload == STRICT)
    except (AssertionError, BaseExceptionGroup) as exc:
        # Which check, where, expected and got, and a curl of the exact request (credentials redacted).
        text, case.extra["curl"] = schema_failures.describe(case.operation_id, exc, getattr(exc, "failing_response", None),
                                                             target)
        failure = AssertionError(text)
        failure.described = True  # outcomes: this lead line already names each distinct problem
        raise failure from None


def _check_edges(case: Case, target: Target, wire: Wire) -> None:
    op = specs.operation_by_id(target.api, case.operation_id)
    for values in op.definition.get("x-docs-values", []):
        response = wire.send(base_call(target, op.operation_id).changed({"set": values["set"]}, target.fixtures))
        try:
            documented_body(op, response)
        except Mismatch as exc:
            raise Mismatch(f"{exc} (sent the docs' own example values {values['set']}, {values['source']})") from None
    for part, keyword, value in edges(op):
        call = base_call(target, op.operation_id).changed({"set": {part: value}}, target.fixtures)
        response = wire.send(call)
        documented_body(op, response)  # whatever it is, it must be documented
        if not 400 <= response.status_code < 500:
            raise Mismatch(f"{op.label} accepted {part} = {value!r} ({response.status_code}), one past the documented "
                           f"`{keyword}` of {part}: a documented rejection (4xx) was expected")
