"""The spec checks catch what they claim to: each planted mistake in a small spec is reported.

Without these, a clean run of test_spec_validity / test_spec_conventions could mean the checks
look at nothing.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from chatcontract import speccheck, specs

EXTENSIONS_DOC = specs.specs_dir() / "extensions.md"

ERROR_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Demo error",
    "description": "The demo error envelope.",
    "type": "object",
    "required": ["success", "error"],
    "properties": {"success": {"const": False}, "error": {"type": "string"}},
    "examples": [{"success": False, "error": "Invalid room"}],
}

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Demo", "version": "1", "license": {"name": "MIT", "identifier": "MIT"}},
    "servers": [{"url": "http://127.0.0.1:3000"}],
    "components": {"securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Token"}}},
    "security": [{"token": []}],
    "paths": {
        "/rooms/{rid}/mute": {
            "post": {
                "operationId": "demoMute",
                "summary": "Mute a member.",
                "description": "Mutes a member.",
                "externalDocs": {"url": "https://example.org/docs"},
                "x-sources": ["[DEMO]"],
                "x-decisions": [
                    {"ambiguity": 1, "question": "q?", "decision": "d.", "sources": ["[DEMO]"], "readings": []}
                ],
                "parameters": [
                    {"name": "rid", "in": "path", "required": True, "schema": {"type": "string"}, "example": "GENERAL"}
                ],
                "responses": {
                    "200": {
                        "description": "Muted.",
                        "content": {"application/json": {"schema": {"type": "object"}, "example": {}}},
                    },
                    "400": {
                        "description": "Failed.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "../schemas/demo/error.schema.json"},
                                "examples": {
                                    "invalidRoom": {
                                        "summary": "Unknown room.",
                                        "x-trigger": "not-found",
                                        "value": {"success": False, "error": "Invalid room"},
                                    }
                                },
                            }
                        },
                    },
                },
            }
        }
    },
}


def _plant(root: Path, spec: dict, schema: dict) -> None:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "schemas" / "demo").mkdir(parents=True, exist_ok=True)
    shutil.copy(EXTENSIONS_DOC, root / "specs" / "extensions.md")
    (root / "specs" / "demo.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (root / "schemas" / "demo" / "error.schema.json").write_text(json.dumps(schema))


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Returns a function that writes a (possibly broken) demo platform and runs every check."""
    monkeypatch.setattr(specs, "data_root", lambda: tmp_path)

    def run(spec: dict = SPEC, schema: dict = ERROR_SCHEMA) -> list[str]:
        _plant(tmp_path, spec, schema)
        return [str(p) for p in speccheck.check_platform("demo")]

    return run


def _op(spec: dict) -> dict:
    return spec["paths"]["/rooms/{rid}/mute"]["post"]


def test_clean_demo_has_no_problem(demo) -> None:
    assert demo() == []


def test_invalid_openapi_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["responses"]["200"]["description"] = 42
    assert any("demo.yaml" in p for p in demo(spec))


def test_dangling_ref_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["responses"]["400"]["content"]["application/json"]["schema"] = {"$ref": "../schemas/demo/nope.schema.json"}
    assert any("does not resolve" in p or "nope.schema.json" in p for p in demo(spec))


def test_wrong_spec_example_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["responses"]["400"]["content"]["application/json"]["examples"]["invalidRoom"]["value"]["success"] = True
    problems = demo(spec)
    assert any("examples/invalidRoom" in p and "does not match" in p for p in problems), problems


def test_wrong_parameter_example_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["parameters"][0]["example"] = 7
    assert any("parameters/0/example" in p for p in demo(spec))


def test_wrong_schema_file_example_is_reported(demo) -> None:
    schema = copy.deepcopy(ERROR_SCHEMA)
    schema["examples"] = [{"success": False}]
    assert any("error.schema.json/examples/0" in p for p in demo(schema=schema))


def test_schema_without_examples_is_reported(demo) -> None:
    schema = {k: v for k, v in ERROR_SCHEMA.items() if k != "examples"}
    assert any("no `examples`" in p for p in demo(schema=schema))


def test_operation_without_error_response_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    del _op(spec)["responses"]["400"]
    problems = demo(spec)
    assert any("no error response" in p for p in problems), problems


def test_operation_without_security_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["security"] = []
    assert any("no security requirement" in p for p in demo(spec))


def test_error_example_without_known_trigger_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["responses"]["400"]["content"]["application/json"]["examples"]["invalidRoom"]["x-trigger"] = "oops"
    assert any("x-trigger 'oops'" in p for p in demo(spec))


def test_missing_operation_metadata_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    for key in ("externalDocs", "x-sources", "summary"):
        del _op(spec)[key]
    problems = demo(spec)
    for needle in ("externalDocs.url is missing", "x-sources is missing", "summary is missing"):
        assert any(needle in p for p in problems), (needle, problems)


def test_closed_response_schema_is_reported(demo) -> None:
    schema = dict(ERROR_SCHEMA, additionalProperties=False)
    assert any("additionalProperties: false" in p for p in demo(schema=schema))


def test_incomplete_decision_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["x-decisions"] = [{"ambiguity": 40, "question": "q?"}]
    problems = demo(spec)
    assert any("lacks decision, sources" in p for p in problems), problems
    assert any("ambiguity 40" in p for p in problems), problems


def test_decision_without_readings_is_reported(demo) -> None:
    spec = copy.deepcopy(SPEC)
    del _op(spec)["x-decisions"][0]["readings"]
    assert any("has no `readings`" in p for p in demo(spec))


@pytest.mark.parametrize("reading, expected", [
    ({"name": "a", "examples": ["noSuchExample"], "statuses": ["400"]}, "selects no documented error"),
    ({"name": "a", "operations": ["demoNope"], "statuses": ["400"]}, "no operation 'demoNope'"),
    ({"name": "a", "statuses": ["404"]}, "status 404 is not a documented response of demoMute"),
    ({"name": "a", "rejection-not-asserted": ["query.nope"]}, "request part query.nope"),
    ({"name": "a"}, "readings:"),
    ({"name": "Bad Name", "statuses": ["400"]}, "readings:"),
    ({"name": "a", "identity": {"/error": ["x"]}, "rejection-not-asserted": ["path.rid"]}, "readings:"),
])
def test_wrong_reading_is_reported(demo, reading: dict, expected: str) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["x-decisions"][0]["readings"] = [reading]
    problems = demo(spec)
    assert any(expected in p for p in problems), problems


def test_good_readings_pass(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["x-decisions"][0]["readings"] = [
        {"name": "a", "examples": ["invalidRoom"], "statuses": ["400"], "identity": {"/error": ["Unknown room"]}},
        {"name": "b", "rejection-not-asserted": ["path.rid:pattern"], "covered-by": "tests/x.py"},
    ]
    assert demo(spec) == []


def test_reading_names_are_unique(demo) -> None:
    spec = copy.deepcopy(SPEC)
    _op(spec)["x-decisions"][0]["readings"] = [{"name": "a", "statuses": ["400"]}, {"name": "a", "statuses": ["400"]}]
    assert any("used twice" in p for p in demo(spec))


def test_unreferenced_schema_file_is_reported(demo, tmp_path: Path) -> None:
    demo()
    (tmp_path / "schemas" / "demo" / "stray.schema.json").write_text(json.dumps(ERROR_SCHEMA))
    assert any("stray.schema.json" in str(p) and "not referenced" in str(p) for p in speccheck.check_platform("demo"))


def test_uncovered_ambiguities_are_reported(demo) -> None:
    demo()
    problems = [str(p) for p in speccheck.check_decision_coverage(["demo"])]
    assert len(problems) == 31 and "decision 2 (an open point of the vendors' docs) is recorded nowhere" in problems[0]


def test_closed_object_in_a_nested_schema_file_is_reported(demo, tmp_path: Path) -> None:
    # error.schema.json refers to details.schema.json, which closes its object: found through both.
    schema = dict(ERROR_SCHEMA, properties={**ERROR_SCHEMA["properties"], "details": {"$ref": "details.schema.json"}})
    demo(schema=schema)
    details = dict(ERROR_SCHEMA, title="Details", additionalProperties=False, examples=[{"success": False, "error": "x"}])
    (tmp_path / "schemas" / "demo" / "details.schema.json").write_text(json.dumps(details))
    problems = [str(p) for p in speccheck.check_response_tolerance("demo")]
    assert any("details.schema.json" in p and "additionalProperties: false" in p for p in problems), problems


def _copy_of_the_data(to: Path) -> Path:
    for folder in ("specs", "schemas"):
        shutil.copytree(specs.data_root() / folder, to / folder)
    return to


def test_a_clean_spec_check_is_remembered_per_content_and_a_change_is_checked_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clean = _copy_of_the_data(tmp_path / "clean")
    monkeypatch.setattr(specs, "data_root", lambda: clean)
    assert speccheck.structural_problem(["plugdj"]) is None
    assert len(list((tmp_path / "cache" / "chatcontract" / "specs-checked").iterdir())) == 1

    # The same files elsewhere: remembered, not validated again.
    same = _copy_of_the_data(tmp_path / "same")
    monkeypatch.setattr(specs, "data_root", lambda: same)
    monkeypatch.setattr(speccheck, "check_openapi", lambda platform: pytest.fail("checked again"))
    assert speccheck.structural_problem(["plugdj"]) is None
    monkeypatch.undo()

    # One $ref broken: new content, checked afresh, the problem in one line.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    broken = _copy_of_the_data(tmp_path / "broken")
    spec = broken / "specs" / "plugdj.yaml"
    spec.write_text(spec.read_text().replace("../schemas/plugdj/", "../schemas/nowhere/", 1))
    monkeypatch.setattr(specs, "data_root", lambda: broken)
    try:
        problem = speccheck.structural_problem(["plugdj"])
    except specs.SpecError as exc:  # a file the $ref names is missing: said as the run says it (exit 2)
        problem = str(exc)
    assert problem and "nowhere" in problem and "\n" not in problem
