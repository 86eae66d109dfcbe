"""The schema layer's engine: schemathesis, configured from the spec and the target file.

Vendor conformance and generic HTTP are kept apart. Three kinds of schemathesis check come from
HTTP itself rather than from any vendor's docs: `unsupported_method` (405, not 501 or the
vendor's own answer, with an `Allow` header listing exactly the spec's methods), `ignored_auth`
(exactly 401 or 403 without valid credentials; the documented-error layer checks each vendor's
own auth errors instead) and a rejection of data that breaks a constraint the vendor does not
document (the request parts a spec decision marks `rejection-not-asserted`, read through
`decisions.rejection_not_asserted`). All are off in the vendor run; a target file switches each
on with `strict_http`, and they then run as their own case, reported under an `http:` row of the
matrix. An error body a decision accepts under a success status (Ozeki decision 16: the error
envelope with HTTP 200) counts as a rejection, never as acceptance.

Auth goes through schemathesis' own OpenAPI auth config (never injected headers, which would
repair the negative cases). Generated values for parameters the operation's `x-request` fills
from fixtures come from those fixtures most of the time (schemathesis dictionaries), so positive
cases reach real rooms and users. Which statuses a rejection or an acceptance may carry is read
from the operation's documented responses, so a vendor's documented 400 is not a false alarm.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Callable

import hypothesis
import schemathesis
from schemathesis.checks import load_all_checks
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario, content_type_probes_first
from schemathesis.specs.openapi.checks import (content_type_conformance, ignored_auth, missing_required_header,
                                               negative_data_rejection, response_schema_conformance,
                                               unsupported_method)
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import derive_operation_seed, overrides
# schemathesis' own case generators for the examples and coverage phases, the ones `st run` drives
# directly, and its hypothesis test builder for the fuzzing phase (pinned version).
from schemathesis.generation.drivers import CoverageGenerator, ExamplesGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.hypothesis.builder import HypothesisTestConfig, HypothesisTestMode, create_test
from schemathesis.pytest._test_builder import enabled_modes

from chatcontract import decisions, specs
from chatcontract.suite.guarded import guarded_session
from chatcontract.suite.wire import fixture_name
from chatcontract.targets import Target

# Documented errors that a schema-valid request can still meet: they depend on what exists.
STATE_DEPENDENT = {"not-found", "not-member", "not-permitted", "other", "rate-limited", "too-many"}


def schema_identity(target: Target) -> str:
    """The identity the schema layer calls as: the first one the spec's x-target names."""
    return next(iter(specs.load_spec(target.api)["x-target"]["identities"]))


def _auth(target: Target) -> dict[str, Any]:
    creds = target.credentials[schema_identity(target)]
    schemes = specs.security_schemes(target.api)
    auth = {}
    for name in specs.security_scheme_names(target.api):
        scheme = schemes[name]
        if scheme.get("type") == "http":
            auth[name] = {"bearer": creds[name]}
        else:
            auth[name] = {"api_key": creds[name]}
    return {"openapi": auth}


def _triggers(op: specs.Operation) -> dict[str, set[str]]:
    """status key → the x-trigger values of its examples."""
    found: dict[str, set[str]] = {}
    for other, key, _, example in decisions.documented_errors(op.platform):
        if other.operation_id == op.operation_id:
            found.setdefault(key, set()).add(example["x-trigger"])
    return found


def _dictionaries(target: Target, op: specs.Operation) -> tuple[dict[str, Any], dict[str, Any]]:
    request = op.definition.get("x-request") or {}
    dictionaries: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for part in ("path", "query", "headers", "body"):
        values = request.get(part)
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            fixture = fixture_name(value)
            if fixture is None:
                continue
            found = target.fixtures[fixture]
            pool = found if isinstance(found, list) else [found]
            pool = [v for v in pool if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
            if not pool:
                continue
            prefix = {"headers": "header"}.get(part, part)
            dictionaries[f"fixture_{fixture}"] = {"values": pool}
            parameters[f"{prefix}.{name}"] = {"dictionary": f"fixture_{fixture}", "probability": 0.75}
    return dictionaries, parameters


# schemathesis' names for where a parameter goes, as the x-provoke vocabulary spells them.
_PART = {"query": "query", "path": "path", "header": "headers", "cookie": "cookies", "body": "body"}


# The JSON Schema keyword each negative coverage scenario breaks (the fuzzing phase records it).
_SCENARIO_KEYWORD = {
    CoverageScenario.VALUE_ABOVE_MAXIMUM: "maximum", CoverageScenario.VALUE_BELOW_MINIMUM: "minimum",
    CoverageScenario.STRING_ABOVE_MAX_LENGTH: "maxLength", CoverageScenario.STRING_BELOW_MIN_LENGTH: "minLength",
    CoverageScenario.ARRAY_ABOVE_MAX_ITEMS: "maxItems", CoverageScenario.ARRAY_BELOW_MIN_ITEMS: "minItems",
    CoverageScenario.OBJECT_ABOVE_MAX_PROPERTIES: "maxProperties",
    CoverageScenario.OBJECT_BELOW_MIN_PROPERTIES: "minProperties",
    CoverageScenario.OBJECT_UNEXPECTED_PROPERTIES: "additionalProperties",
    CoverageScenario.OBJECT_MISSING_REQUIRED_PROPERTY: "required", CoverageScenario.MISSING_PARAMETER: "required",
    CoverageScenario.INCORRECT_TYPE: "type", CoverageScenario.INVALID_ENUM_VALUE: "enum",
    CoverageScenario.INVALID_FORMAT: "format", CoverageScenario.INVALID_PATTERN: "pattern",
    CoverageScenario.NOT_MULTIPLE_OF: "multipleOf", CoverageScenario.NON_UNIQUE_ITEMS: "uniqueItems",
}
_PROPERTY_AT = re.compile(r"/properties/([^/]+)")
_MISSING_PROPERTY = re.compile(r"^Missing required property: (\S+)")


def _coverage_parameter(data: CoveragePhaseData) -> str | None:
    """The parameter (or top-level body property) a coverage case breaks. For a body, schemathesis
    names the media type as its parameter, and the property in the schema location it broke
    (`/properties/duration/enum`) or in the description (`Missing required property: reason`)."""
    if getattr(data.parameter_location, "value", None) != "body":
        return data.parameter
    match = _PROPERTY_AT.search(data.location or "") or _MISSING_PROPERTY.match(data.description or "")
    return match.group(1) if match else None


def negative_parts(case: Any) -> set[tuple[str, str]]:
    """The request parts a negative case breaks, as (`query.NAME` / `body.FIELD` / `body`, keyword):
    read from schemathesis' record of what it mutated (the coverage scenario, or the fuzzing
    phase's mutations). Empty when the case is not negative or nothing is recorded."""
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_negative:
        return set()
    data = meta.phase.data
    found: set[tuple[str, str]] = set()
    records = [(m.parameter_location, m.parameter, m.keywords) for m in getattr(data, "mutations", ())]
    if not records and getattr(data, "parameter_location", None) is not None:
        keyword = _SCENARIO_KEYWORD.get(getattr(data, "scenario", None), "") if isinstance(data, CoveragePhaseData) else ""
        records = [(data.parameter_location, _coverage_parameter(data), (keyword,))]
    for location, parameter, keywords in records:
        part = _PART.get(getattr(location, "value", None) or "", "")
        if not part:
            continue
        name = f"{part}.{parameter}" if parameter else part
        for keyword in keywords or ("",):
            found.add((name, keyword))
    return found


def breaks_only_asserted(case: Any, not_asserted: set[str]) -> bool:
    """False when the negative case breaks a part whose rejection a spec decision leaves open.
    `not_asserted` holds `part` (every constraint of it) or `part:keyword` (that one constraint)."""
    for part, keyword in negative_parts(case):
        if part in not_asserted or (keyword and f"{part}:{keyword}" in not_asserted):
            return False
        if "." not in part and any(item.startswith(part + ".") for item in not_asserted):
            return False  # a whole location broken at once: a left-open member may be what the server read
    return True


def error_forms(platform: str, operation_id: str) -> list[tuple[str, Any]]:
    """(status key, validator) of every error body form a decision accepts for the operation under
    a success status (Ozeki's error envelope under HTTP 200, decision 16): such an answer is a
    rejection, whatever its status says. Forms checked as a plain success schema do not count."""
    found = []
    for reading in decisions.all_readings(platform):
        if reading.kind != "error" or not reading.selects(operation_id):
            continue
        for index, form in enumerate(reading.data.get("forms", [])):
            if str(form["status"])[0] == "2" and form.get("checks", "example") != "schema":
                found.append((str(form["status"]), specs.validator_at(specs.spec_path(platform),
                                                                       f"{reading.at}/forms/{index}/schema")))
    return found


def answered_with_error(response: Any, forms: list[tuple[str, Any]]) -> bool:
    """Whether a response is one of those error forms (its status and body both match one)."""
    from chatcontract.suite.expect import status_matches

    matching = [validator for key, validator in forms if status_matches(key, response.status_code)]
    if not matching:
        return False
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return False
    return any(validator.is_valid(body) for validator in matching)


def config_for(target: Target, op: specs.Operation, *, examples: int, seed: int | None,
               shrink: bool = True, strict: bool = False) -> SchemathesisConfig:
    triggers = _triggers(op)
    probe_methods = strict and target.strict("unsupported_method")
    rejections = [k for k in op.responses if k[0] == "4"]
    acceptances = [k for k in op.responses if k[0] == "2"]
    acceptances += [k for k, kinds in triggers.items() if k[0] == "4" and kinds & STATE_DEPENDENT]
    dictionaries, parameters = _dictionaries(target, op)
    # schemathesis' ignored_auth check wants exactly 401 or 403 without (or with wrong) credentials:
    # an HTTP rule, not the vendors'. Sendbird documents 400 with code 400401, plug.dj any 4xx,
    # Ozeki an error envelope under HTTP 200 (decision 16). The documented-error layer provokes
    # every documented auth error (missing, wrong, partly wrong) and accepts what the decisions
    # accept, so here the 401/403 rule runs only when the target's `strict_http` asks for it.
    data: dict[str, Any] = {
        "base-url": target.base_url,
        "auth": _auth(target),
        "generation": {"max-examples": examples, "mode": "all", "no-shrink": not shrink},
        # Methods the spec does not list are probed only for the strict run that checks them.
        "phases": {"stateful": {"enabled": False},
                   **({} if probe_methods else {"coverage": {"unexpected-methods": []}})},
        "request-timeout": target.request_timeout_s,
        "max-redirects": 0,
        "checks": {
            "negative_data_rejection": {"expected-statuses": rejections or ["4XX"]},
            "positive_data_acceptance": {"expected-statuses": acceptances or ["2XX"]},
            "ignored_auth": {"enabled": strict and target.strict("auth_status")},
            # Generic HTTP (405 + Allow for a method the spec does not list): only when asked.
            "unsupported_method": {"enabled": probe_methods},
        },
        "suppress-health-check": ["all"],
        # Whole bodies in failures: the suite redacts credentials first and cuts after (a cut
        # inside a secret would leave part of it that redaction can no longer recognise).
        "output": {"truncation": {"enabled": False}},
    }
    if seed is not None:
        data["seed"] = seed
    if dictionaries:
        data["dictionaries"] = dictionaries
        data["parameters"] = parameters
    return SchemathesisConfig.from_dict(data)


def _schemathesis_schema(platform: str, config: SchemathesisConfig) -> Any:
    """The platform's spec as schemathesis loads it with `from_path`, from a copy of the parsed
    spec instead of parsing the YAML again for every operation (7-18 ms a time, 59 times a run):
    a fresh copy each time, since schemathesis may change the document it is given."""
    text = _spec_text(platform)
    if text is None:  # a value JSON cannot hold (a YAML date): as schemathesis reads the file
        return schemathesis.openapi.from_path(specs.spec_path(platform), config=config)
    schema = schemathesis.openapi.from_dict(json.loads(text), config=config)
    schema.location = specs.spec_path(platform).absolute().as_uri()  # relative $refs resolve as from_path's do
    return schema


@functools.cache
def _spec_text(platform: str) -> str | None:
    try:
        return json.dumps(specs.load_spec(platform))
    except (TypeError, ValueError):
        return None


def run_operation(target: Target, operation_id: str, *, examples: int, seed: int | None, shrink: bool = True,
                  on_call: Callable[[Any], None] | None = None, strict: bool = False) -> int:
    """Run schemathesis' checks on one operation of the target; returns how many calls it made.
    A deviation raises schemathesis' failure (an AssertionError subclass).

    `strict`: run only the generic HTTP checks the target's `strict_http` switches on, instead of
    the vendor checks."""
    load_all_checks()
    op_spec = specs.operation_by_id(target.api, operation_id)
    config = config_for(target, op_spec, examples=examples, seed=seed, shrink=shrink, strict=strict)
    not_asserted = decisions.rejection_not_asserted(target.api, operation_id)
    strict_checks = [check for name, check in (("unsupported_method", unsupported_method), ("auth_status", ignored_auth))
                     if strict and target.strict(name)]
    forms = error_forms(target.api, operation_id)
    schema = _schemathesis_schema(target.api, config)
    operation = schema.find_operation_by_label(op_spec.label)
    if operation is None:
        raise specs.SpecError(f"schemathesis found no operation {op_spec.label} in specs/{target.api}.yaml")
    calls = 0
    # Every call goes through the suite's guarded wire: the request timeout bounds each whole
    # exchange (a dripping target cannot hold the run), bodies are capped, no redirect is followed.
    session = guarded_session(target.ssl_context())

    failing: list[Any] = []  # the response of each call that failed a check; hypothesis replays the final one last

    def validate(case: Any, response: Any, **checks: Any) -> None:
        try:
            case.validate_response(response, transport_kwargs={"session": session}, **checks)
        except BaseException:
            failing.append(response)
            raise

    def check(case: Any) -> None:
        nonlocal calls
        calls += 1
        if on_call is not None:
            on_call(case)
        vendor_asserts_rejection = breaks_only_asserted(case, not_asserted)
        if not strict:
            response = case.call(session=session)
            # An error form under a success status is a rejection: schemathesis would read it as acceptance.
            excluded = [] if vendor_asserts_rejection else [negative_data_rejection]
            if answered_with_error(response, forms):
                excluded = [negative_data_rejection, missing_required_header]
            elif not response.content and decisions.empty_body_accepted(target.api, operation_id, response.status_code):
                excluded += [response_schema_conformance, content_type_conformance]  # a reading: no body at all
            validate(case, response, excluded_checks=excluded)
            return
        checks = list(strict_checks)
        if target.strict("undocumented_rejection") and not vendor_asserts_rejection:
            checks.append(negative_data_rejection)
        if checks:
            validate(case, case.call(session=session), checks=checks)

    explicit, fuzz = _phases(schema.config, operation, check)
    # Hypothesis' "Falsifying example" print would show the case, credentials included.
    try:
        with hypothesis.reporting.with_reporter(lambda _message: None):
            _run_explicit(explicit, check)
            if fuzz is not None:
                fuzz()
    except (AssertionError, BaseExceptionGroup) as exc:
        exc.failing_response = failing[-1] if failing else None  # for schema_failures.describe
        raise
    finally:
        session.close()
    return calls


def _phases(config: Any, operation: Any, check: Callable[[Any], None]) -> tuple[list[Any], Callable[[], None] | None]:
    """The operation's schema-example and coverage cases, in the order they run, and the fuzzing
    phase as a hypothesis test (None when the config turns it off).

    The same cases, in the same order, as `schema.parametrize()`'s test, which attaches them to one
    hypothesis test as explicit examples (examples first, then coverage, which hypothesis runs last
    attached first): `st run` instead sends them straight from the generators, and running each
    through hypothesis costs 10-25% of the schema layer's time (measured A/B, same calls)."""
    modes = enabled_modes(config.phases_for(operation=operation))
    override = overrides.with_config_headers(config, operation=operation)
    feedback = FeedbackSources()
    cases: list[Any] = []
    if HypothesisTestMode.EXAMPLES in modes:
        fill_missing = config.phases_for(operation=operation).examples.fill_missing
        cases += ExamplesGenerator(operation=operation, override=override, feedback=feedback, fill_missing=fill_missing)
    if HypothesisTestMode.COVERAGE in modes:
        generation = config.generation_for(operation=operation, phase=HypothesisTestMode.COVERAGE.value)
        cases += content_type_probes_first(CoverageGenerator(
            operation=operation, generation_modes=generation.modes, generation_config=generation, auth_storage=None,
            override=override, feedback=feedback))
    fuzz = None
    if HypothesisTestMode.FUZZING in modes:
        fuzz = create_test(operation=operation, test_func=check, config=HypothesisTestConfig(
            settings=config.get_hypothesis_settings(operation=operation, phase="fuzzing"),
            explicit_setting_names=config.explicit_hypothesis_settings(operation=operation, phase="fuzzing"),
            modes=[HypothesisTestMode.FUZZING], seed=derive_operation_seed(config.seed, operation.label),
            project=config, override=override, given_kwargs={}, feedback=feedback))
    return cases[::-1], fuzz


def _run_explicit(cases: list[Any], check: Callable[[Any], None]) -> None:
    """Every case through `check`, then what hypothesis raises for failing explicit examples (each
    error is collected and the next case runs; written here because hypothesis has no public way to
    run cases it did not generate): one failure per distinct origin (the case with the shortest representation), one alone or all in a
    group. The fuzzing phase runs only when every case passed, as under hypothesis."""
    from hypothesis.internal.escalation import InterestingOrigin

    by_origin: dict[Any, list[tuple[str, BaseException]]] = {}
    for case in cases:
        try:
            check(case)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 -- what hypothesis collects from explicit examples
            by_origin.setdefault(InterestingOrigin.from_exception(exc), []).append((repr(case), exc))
    if not by_origin:
        return
    found = [min(group, key=lambda item: (len(item[0]), item[0]))[1] for group in by_origin.values()]
    if len(found) == 1:
        raise found[0]
    raise BaseExceptionGroup(f"Hypothesis found {len(found)} distinct failures in explicit examples.", found)
