"""The conventions of specs/README.md and specs/extensions.md hold in every spec.

Every operation declares its security and at least one documented error with a named, triggered
example; every vendors.md §6 ambiguity is recorded as a decision; no response schema rejects
extra fields (vendors add fields, and the suite must not cry wolf over them).
"""

from __future__ import annotations

from chatcontract import speccheck, specs
from tests.specs.test_spec_validity import _explain


def test_operations_carry_metadata_security_and_errors(platform: str) -> None:
    assert list(specs.operations(platform)), f"{platform} documents no operation"
    problems = speccheck.check_operations(platform)
    assert not problems, _explain(problems)


def test_decisions_have_their_keys(platform: str) -> None:
    problems = speccheck.check_decisions(platform)
    assert not problems, _explain(problems)


def test_every_ambiguity_is_decided_once() -> None:
    problems = speccheck.check_decision_coverage(specs.platforms())
    assert not problems, _explain(problems)


def test_response_schemas_tolerate_extra_fields(platform: str) -> None:
    problems = speccheck.check_response_tolerance(platform)
    assert not problems, _explain(problems)


def test_operation_ids_are_unique_across_specs() -> None:
    ids = [op.operation_id for p in specs.platforms() for op in specs.operations(p)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"operationIds used twice: {duplicates}"


def test_schemathesis_sees_every_operation(platform: str) -> None:
    # The suite drives schemathesis from these files; it must load them, relative refs and all.
    import schemathesis

    loaded = schemathesis.openapi.from_path(str(specs.spec_path(platform)))
    seen = {op.ok().label for op in loaded.get_all_operations()}
    assert seen == {op.label for op in specs.operations(platform)}
