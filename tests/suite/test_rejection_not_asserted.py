"""Which negative cases the schema layer may hold a rejection against (fuzzing.breaks_only_asserted).

schemathesis records what a negative case broke: the coverage phase as a scenario, a location
and a schema path, the fuzzing phase as mutations. A decision's `rejection-not-asserted` names
request parts (`body.duration`) or one constraint of a part (`body.timestamp:pattern`); a case
that breaks one of them must not be held to a rejection, every other negative case must.
"""

from __future__ import annotations

from types import SimpleNamespace

from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario
from schemathesis.generation.modes import GenerationMode

from chatcontract import decisions
from chatcontract.suite.fuzzing import breaks_only_asserted, negative_parts


def _coverage(scenario: CoverageScenario, location: ParameterLocation, parameter: str | None,
              schema_at: str | None = None, description: str = "", mode: GenerationMode = GenerationMode.NEGATIVE):
    data = CoveragePhaseData(scenario=scenario, description=description, location=schema_at,
                             parameter=parameter, parameter_location=location)
    return SimpleNamespace(meta=SimpleNamespace(generation=SimpleNamespace(mode=mode), phase=SimpleNamespace(data=data)))


def _mutation(location: ParameterLocation, parameter: str | None, *keywords: str):
    mutation = SimpleNamespace(parameter_location=location, parameter=parameter, keywords=keywords)
    data = SimpleNamespace(mutations=(mutation,))
    return SimpleNamespace(meta=SimpleNamespace(generation=SimpleNamespace(mode=GenerationMode.NEGATIVE),
                                                phase=SimpleNamespace(data=data)))


def test_a_body_property_is_read_from_the_schema_location_or_the_description() -> None:
    typed = _coverage(CoverageScenario.INCORRECT_TYPE, ParameterLocation.BODY, "application/json",
                      "/properties/duration/type")
    missing = _coverage(CoverageScenario.OBJECT_MISSING_REQUIRED_PROPERTY, ParameterLocation.BODY,
                        "application/json", "/required", "Missing required property: timestamp")
    assert negative_parts(typed) == {("body.duration", "type")}
    assert negative_parts(missing) == {("body.timestamp", "required")}
    assert negative_parts(_mutation(ParameterLocation.QUERY, "limit", "maximum")) == {("query.limit", "maximum")}
    positive = _coverage(CoverageScenario.INCORRECT_TYPE, ParameterLocation.BODY, "application/json",
                         "/properties/duration/type", mode=GenerationMode.POSITIVE)
    assert negative_parts(positive) == set()


def test_a_part_or_one_constraint_of_it_is_left_open() -> None:
    open_parts = {"body.duration", "body.timestamp:pattern"}
    assert not breaks_only_asserted(_mutation(ParameterLocation.BODY, "duration", "enum"), open_parts)
    assert not breaks_only_asserted(_mutation(ParameterLocation.BODY, "timestamp", "pattern"), open_parts)
    assert breaks_only_asserted(_mutation(ParameterLocation.BODY, "timestamp", "type"), open_parts)
    assert breaks_only_asserted(_mutation(ParameterLocation.BODY, "reason", "enum"), open_parts)
    # The whole body replaced at once: a left-open member may be what the server read.
    assert not breaks_only_asserted(_mutation(ParameterLocation.BODY, None, "type"), open_parts)
    assert breaks_only_asserted(_mutation(ParameterLocation.QUERY, None, "required"), open_parts)


def test_the_specs_leave_open_what_their_decisions_say() -> None:
    assert decisions.rejection_not_asserted("plugdj", "plugdjMuteUser") == {"body.duration"}
    ozeki = decisions.rejection_not_asserted("ozeki", "ozekiConversation")
    assert "body.timestamp:required" in ozeki and "body.timestamp:pattern" in ozeki
    missing_timestamp = _coverage(CoverageScenario.OBJECT_MISSING_REQUIRED_PROPERTY, ParameterLocation.BODY,
                                  "application/json", "/required", "Missing required property: timestamp")
    assert not breaks_only_asserted(missing_timestamp, ozeki)
