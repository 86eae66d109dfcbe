"""Every spec is valid OpenAPI 3.1, every `$ref` resolves, every example matches its schema.

A wrong example is a bug: the examples are what client developers copy, and what the reference
servers are checked against.
"""

from __future__ import annotations

from chatcontract import speccheck, specs

FIVE_PLATFORMS = {"rocketchat", "plugdj", "ozeki", "agora", "sendbird"}


def _explain(problems: list[speccheck.Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def test_every_platform_has_a_spec() -> None:
    assert FIVE_PLATFORMS <= set(specs.platforms())


def test_spec_is_valid_openapi_3_1(platform: str) -> None:
    assert specs.load_spec(platform)["openapi"].startswith("3.1")
    problems = speccheck.check_openapi(platform)
    assert not problems, _explain(problems)


def test_every_ref_resolves(platform: str) -> None:
    problems = speccheck.check_refs(platform)
    assert not problems, _explain(problems)


def test_every_example_matches_its_schema(platform: str) -> None:
    problems = speccheck.check_examples(platform)
    assert not problems, _explain(problems)


def test_schema_files_are_2020_12_titled_and_used(platform: str) -> None:
    problems = speccheck.check_schema_files(platform)
    assert not problems, _explain(problems)
