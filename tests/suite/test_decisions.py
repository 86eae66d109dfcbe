"""The readings of every spec's x-decisions, walked one by one (cheap: fake responses, no servers).

Each accepted reading of a documented error (the example itself, another status, another value at
an identifying pointer, a key left out, another body form) must pass the errors layer's check, and
a reading no decision accepts (a status, a value, a missing key) must fail it. Every reading must
be proved against a running reference server too: a generated tolerated variant for what a
response rewrite can produce, or a named test or hand-written tolerated entry for the rest.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatcontract import decisions, specs
from chatcontract.servers.core import faults
from chatcontract.suite.expect import Mismatch
from chatcontract.suite.wire import WRONG_CREDENTIAL, Call, Wire, near_miss, partial_credentials, user_id_schemes
from chatcontract.targets import Target

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = specs.platforms()
UNACCEPTED = "chatcontract-no-decision-accepts-this"


def _response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def _code(key: str) -> int:
    return int(key) if key.isdigit() else int(key[0]) * 100 + 22


def _put(body: Any, pointer: str, value: Any) -> Any:
    body = copy.deepcopy(body)
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


def _drop(body: Any, pointers: list[str]) -> Any:
    body = copy.deepcopy(body)
    for pointer in pointers:
        *parents, last = pointer.split("/")[1:]
        node = body
        for key in parents:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return body


def _every_error():
    for platform in PLATFORMS:
        for op, key, name, example in decisions.documented_errors(platform):
            yield pytest.param(platform, op, key, name, example, id=f"{platform}-{op.operation_id}-{key}-{name}")


def _form_example(platform: str, form: decisions.Form) -> Any:
    """A body the form's schema documents: the first `examples` item of the schema it names."""
    _, schema, _ = specs.deref(specs.spec_path(platform), specs.deref(specs.spec_path(platform),
                                                                        {"$ref": "#" + form.schema_at})[1])
    examples = schema.get("examples") or []
    assert examples, f"{form.schema_at}: the form's schema has no example to test with"
    return examples[0]


@pytest.mark.parametrize("platform, op, key, name, example", list(_every_error()))
def test_each_reading_passes_and_a_foreign_one_fails(platform, op, key, name, example) -> None:
    readings = decisions.error_readings(platform, op.operation_id, name, key)
    value = example["value"]
    check = readings.check

    # Accepted: the example itself, each accepted status, each accepted identity value, the
    # optional keys left out, each body form.
    check(op, example, _response(_code(key), value))
    for status in readings.statuses:
        check(op, example, _response(_code(status), value))
    for pointer, values in readings.identity.items():
        for accepted in values:
            if accepted is not decisions.MISSING:
                check(op, example, _response(_code(key), _put(value, pointer, accepted)))
    for reading in readings.readings:
        if reading.data.get("optional-keys"):
            rest = _drop(value, reading.data["optional-keys"])
            if rest:  # (an example holding only optional keys is checked through its siblings)
                check(op, example, _response(_code(key), rest))
    for form in readings.forms:
        body = value if form.checks == "example" else _form_example(platform, form)
        check(op, example, _response(_code(form.status), body))

    # Not accepted: a status outside every reading, a value at an identifying pointer that no
    # decision names, a documented key left out.
    accepted_keys = [*readings.statuses, *(f.status for f in readings.forms)]
    foreign = next(c for c in (418, 409, 302, 503, 201) if not any(_matches(k, c) for k in accepted_keys))
    with pytest.raises(Mismatch):
        check(op, example, _response(foreign, value))
    for pointer in decisions.identity_pointers(platform, example):
        if decisions.lookup(value, pointer) is not decisions.MISSING:
            with pytest.raises(Mismatch):
                check(op, example, _response(_code(key), _put(value, pointer, UNACCEPTED)))
    required = [p for p in decisions.example_keys(value) if not readings.optional(p)]
    for pointer in required[:3]:
        with pytest.raises(Mismatch):
            check(op, example, _response(_code(key), _drop(value, [pointer])))


def _matches(key: str, code: int) -> bool:
    return key == str(code) or (key.endswith("XX") and key[0] == str(code)[0])


def test_a_form_checks_only_what_it_says() -> None:
    # Ozeki decision 16: the error envelope under HTTP 200 is the documented error (its keys still
    # count); the operation decision's "unknown conversation answered OK" is the success body.
    op = specs.operation_by_id("ozeki", "ozekiConversation")
    readings = decisions.error_readings("ozeki", "ozekiConversation", "badSignature")
    readings.check(op, None, _response(200, {"status": "ERROR", "errormessage": "no"}))
    with pytest.raises(Mismatch):
        readings.check(op, None, _response(200, {"status": "ERROR"}))  # errormessage is documented
    with pytest.raises(Mismatch):
        readings.check(op, None, _response(200, {"status": "OK", "errormessage": ""}))  # not an error
    unknown = decisions.error_readings("ozeki", "ozekiConversation", "unknownConversation")
    with pytest.raises(Mismatch):  # badSignature has no reading that accepts a success body
        readings.check(op, None, _response(200, _form_example("ozeki", unknown.forms[-1])))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_request_readings_reach_the_schema_layer(platform: str) -> None:
    for reading in decisions.all_readings(platform):
        if reading.kind != "request":
            continue
        for op in specs.operations(platform):
            if reading.selects(op.operation_id):
                assert set(reading.data["rejection-not-asserted"]) <= decisions.rejection_not_asserted(platform, op.operation_id)


def test_rejection_not_asserted_names_the_documented_cases() -> None:
    assert "body.duration" in decisions.rejection_not_asserted("plugdj", "plugdjMuteUser")
    assert decisions.rejection_not_asserted("plugdj", "plugdjListMutes") == set()
    assert "body.timestamp:required" in decisions.rejection_not_asserted("ozeki", "ozekiConversation")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_reading_has_a_tolerated_variant_or_a_covering_test(platform: str) -> None:
    catalog = faults.catalog(platform)
    written = faults.written(platform)
    missing = []
    for reading in decisions.all_readings(platform):
        generated = [n for n in catalog if n.startswith(f"reading-{reading.name}-") and "generated_from" in catalog[n]]
        covered = reading.data.get("covered-by")
        tolerated = reading.data.get("tolerated-by")
        if tolerated is not None:
            assert written.get(tolerated, {}).get("kind") == "tolerated", f"{reading.at}: no tolerated entry {tolerated!r}"
        if covered is not None:
            path, _, function = covered.partition("::")
            assert (ROOT / path).is_file(), f"{reading.at}: covered-by names no file {path}"
            if function:
                assert f"def {function}(" in (ROOT / path).read_text(), f"{reading.at}: {path} has no {function}"
        mechanical_left = [slug for slug, _ in reading.mechanical() if f"reading-{reading.name}-{slug}" not in catalog]
        non_mechanical = [f for f in reading.data.get("forms", []) if f.get("checks") == "schema"] \
            + reading.data.get("empty-bodies", [])
        if reading.kind == "request" or non_mechanical or (mechanical_left and not generated):
            if not (covered or tolerated):
                missing.append(f"{reading.at} ({reading.name})")
        elif not generated:
            missing.append(f"{reading.at} ({reading.name}): no generated variant")
    assert not missing, "readings proved by nothing:\n" + "\n".join(missing)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_generated_variants_are_tolerated_rewrites_of_real_operations(platform: str) -> None:
    operations = {op.operation_id for op in specs.operations(platform)}
    for name, entry in faults.catalog(platform).items():
        if "generated_from" not in entry:
            continue
        assert entry["kind"] == "tolerated" and entry["transforms"], name
        assert all(t["operation"] in operations for t in entry["transforms"]), name
        assert name not in faults.written(platform), f"{name} is also hand-written"


def test_partial_credentials_come_from_the_security_schemes() -> None:
    assert user_id_schemes("rocketchat") == ["userId"]
    assert [s for s, _ in partial_credentials("rocketchat", "admin", ["admin", "member"])] == [
        "only-userId-near-miss", "only-authToken-near-miss", "only-userId-wrong", "only-authToken-wrong",
        "only-userId-missing", "only-authToken-missing", "userId-of-member"]
    ozeki = dict(partial_credentials("ozeki", "participant", ["participant", "other_participant"]))
    assert ozeki["only-ozekiUser-right"] == {"ozekiSignature": "wrong", "ozekiStation": "wrong"}
    assert ozeki["ozekiUser-of-other_participant"] == {"ozekiUser": "other_participant"}
    assert ozeki["only-ozekiStation-missing"] == {"ozekiStation": "missing"}
    assert len(ozeki) == 11
    # One scheme: only the near miss (a session whose user prefix is right and whose secret is not).
    for single, scheme in (("plugdj", "session"), ("agora", "appToken"), ("sendbird", "apiToken")):
        assert partial_credentials(single, "x", ["x", "y"]) == [(f"only-{scheme}-near-miss", {scheme: "near-miss"})]


def test_a_near_miss_keeps_the_shape_and_changes_the_end() -> None:
    for value in ("1004|dave-b0uncer-5e55ion", "YWMtTESTAPPADMINTOKEN0000000001", "ab", "x", "----------"):
        missed = near_miss(value)
        assert missed != value and len(missed) == len(value)
        assert missed[: len(value) // 2] == value[: len(value) // 2]  # the user part stays
    assert near_miss("1004|dave-b0uncer-5e55ion") == "1004|dave-b0uncer-5f66jpo"


def test_wire_sends_each_scheme_from_where_the_change_says() -> None:
    target = Target("t", "rocketchat", "http://127.0.0.1:9", {"admin": {"userId": "A", "authToken": "a"},
                                                               "member": {"userId": "M", "authToken": "m"}}, {})
    wire = Wire(target)
    try:
        call = Call(specs.operation_by_id("rocketchat", "rocketchatIgnoreUser"), "admin")
        assert wire.credentials_for(call.changed({"credentials": {"authToken": "wrong"}}, {})) == {
            "userId": "A", "authToken": WRONG_CREDENTIAL}
        assert wire.credentials_for(call.changed({"credentials": {"userId": "member"}}, {})) == {
            "userId": "M", "authToken": "a"}
        assert set(wire.credentials_for(call.changed({"credentials": "wrong"}, {})).values()) == {WRONG_CREDENTIAL}
        assert wire.credentials_for(call.changed({"credentials": {"authToken": "missing"}}, {})) == {"userId": "A"}
        assert wire.credentials_for(call.changed({"credentials": {"authToken": "near-miss"}}, {})) == {
            "userId": "A", "authToken": near_miss("a")}
    finally:
        wire.close()


def test_fault_rewrites_match_status_ranges_and_body_values() -> None:
    assert faults.applies({"status": "4XX"}, 403, {})
    assert not faults.applies({"status": "4XX"}, 200, {})
    assert faults.applies({"status": 400, "when": {"/error": "forbidden_op"}}, 400, {"error": "forbidden_op"})
    assert not faults.applies({"when": {"/error": "forbidden_op"}}, 400, {"error": "invalid_parameter"})
    assert not faults.applies({"when": {"/code": 1}}, 400, {"code": True})


def test_credential_rewrites_loosen_only_what_they_name() -> None:
    identities = {"admin": {"credentials": {"userId": "A", "authToken": "a"}},
                  "member": {"credentials": {"userId": "M", "authToken": "m"}}}

    def sent(rule, user, token):
        headers = [(b"x-user-id", user.encode()), (b"x-auth-token", token.encode()), (b"accept", b"*/*")]
        out = dict(faults.rewrite_credentials("rocketchat", rule, headers, identities))
        return out[b"x-user-id"].decode(), out[b"x-auth-token"].decode()

    assert sent({"ignore": ["authToken"]}, "A", "wrong") == ("A", "a")
    assert sent({"ignore": ["authToken"]}, "wrong", "a") == ("wrong", "a")
    assert sent("mixed", "M", "a") == ("M", "m")
    assert sent("mixed", "M", "wrong") == ("M", "wrong")
