"""The schema layer's engine: schemathesis, configured from the spec and the target file.

Auth goes through schemathesis' own OpenAPI auth config (never injected headers, which would
repair the negative cases). Generated values for parameters the operation's `x-request` fills
from fixtures come from those fixtures most of the time (schemathesis dictionaries), so positive
cases reach real rooms and users. Which statuses a rejection or an acceptance may carry is read
from the operation's documented responses, so a vendor's documented 400 is not a false alarm.
"""

from __future__ import annotations

from typing import Any, Callable

import hypothesis
import schemathesis
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.feedback import FeedbackSources
# schemathesis' own per-operation test builder (pinned version): it runs the explicit-example,
# coverage and fuzzing phases exactly as `schema.parametrize()` does, for one operation at a time.
from schemathesis.pytest._test_builder import build_operation_test

from chatcontract import specs
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
    document = specs.spec_path(op.platform)
    for key, raw in op.responses.items():
        _, definition, _ = specs.deref(document, raw)
        for media in (definition.get("content") or {}).values():
            for example in (media.get("examples") or {}).values():
                _, example, _ = specs.deref(document, example)
                if isinstance(example, dict) and "x-trigger" in example:
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


def config_for(target: Target, op: specs.Operation, *, examples: int, seed: int | None,
               shrink: bool = True) -> SchemathesisConfig:
    triggers = _triggers(op)
    rejections = [k for k in op.responses if k[0] == "4"]
    acceptances = [k for k in op.responses if k[0] == "2"]
    acceptances += [k for k, kinds in triggers.items() if k[0] == "4" and kinds & STATE_DEPENDENT]
    dictionaries, parameters = _dictionaries(target, op)
    # schemathesis' ignored_auth check wants 401/403 without credentials. A vendor that documents
    # its auth errors under another status (Sendbird: 400 with code 400401) would be a false alarm;
    # the documented-error layer provokes those errors and checks them against the spec instead.
    auth_keys = {k for k, kinds in triggers.items() if kinds & {"auth-missing", "auth-invalid"}}
    auth_documented_as_401 = any(k in ("401", "403", "4XX") for k in auth_keys) or not auth_keys
    data: dict[str, Any] = {
        "base-url": target.base_url,
        "auth": _auth(target),
        "generation": {"max-examples": examples, "mode": "all", "no-shrink": not shrink},
        "phases": {"stateful": {"enabled": False}},
        "request-timeout": target.request_timeout_s,
        "max-redirects": 0,
        "checks": {
            "negative_data_rejection": {"expected-statuses": rejections or ["4XX"]},
            "positive_data_acceptance": {"expected-statuses": acceptances or ["2XX"]},
            "ignored_auth": {"enabled": auth_documented_as_401},
        },
        "suppress-health-check": ["all"],
    }
    if seed is not None:
        data["seed"] = seed
    if dictionaries:
        data["dictionaries"] = dictionaries
        data["parameters"] = parameters
    return SchemathesisConfig.from_dict(data)


def run_operation(target: Target, operation_id: str, *, examples: int, seed: int | None, shrink: bool = True,
                  on_call: Callable[[Any], None] | None = None) -> int:
    """Run schemathesis' checks on one operation of the target; returns how many calls it made.
    A deviation raises schemathesis' failure (an AssertionError subclass)."""
    load_all_checks()
    op_spec = specs.operation_by_id(target.api, operation_id)
    config = config_for(target, op_spec, examples=examples, seed=seed, shrink=shrink)
    schema = schemathesis.openapi.from_path(specs.spec_path(target.api), config=config)
    operation = schema.find_operation_by_label(op_spec.label)
    if operation is None:
        raise specs.SpecError(f"schemathesis found no operation {op_spec.label} in specs/{target.api}.yaml")
    calls = 0
    # Every call goes through the suite's guarded wire: the request timeout bounds each whole
    # exchange (a dripping target cannot hold the run), bodies are capped, no redirect is followed.
    session = guarded_session()

    def check(case: Any) -> None:
        nonlocal calls
        calls += 1
        if on_call is not None:
            on_call(case)
        case.call_and_validate(session=session)

    test = build_operation_test(config=schema.config, operation=operation, test_func=check,
                                given_kwargs={}, feedback=FeedbackSources())
    # Hypothesis' "Falsifying example" print would show the case, credentials included.
    try:
        with hypothesis.reporting.with_reporter(lambda _message: None):
            test()
    finally:
        session.close()
    return calls
