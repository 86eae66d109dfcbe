"""The validators the suite and the reference servers use (`specs.validator_at`: $refs inlined,
answers remembered, jsonschema-rs asked first) must find exactly what jsonschema finds following
the $refs itself: the same errors, messages and instance paths, for every schema the specs give a
body or a parameter, on the specs' own examples and on mutations of them (a key dropped, a value
of every JSON type put in its place, an item added or removed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chatcontract import specs


def _schemas(platform: str) -> Iterator[tuple[str, list[Any]]]:
    """(pointer, example instances) of every parameter, request body and response body schema."""
    spec = specs.load_spec(platform)
    document = specs.spec_path(platform)
    for op in specs.operations(platform):
        for index, param in enumerate(op.definition.get("parameters") or []):
            at, param = op.json_pointer_parts("parameters", index), param
            document_of, param, at = specs.deref(document, param, at)
            if document_of == document and "schema" in param:
                yield specs.pointer(*at, "schema"), [param.get("example", "x"), 1, True, None, "", "a" * 300]
        for key, response in op.responses.items():
            document_of, response, at = specs.deref(document, response, op.json_pointer_parts("responses", key))
            for media, content in (response.get("content") or {}).items():
                if "schema" in content and document_of == document:
                    examples = [e.get("value") for e in (content.get("examples") or {}).values() if isinstance(e, dict)]
                    yield specs.pointer(*at, "content", media, "schema"), examples + [content.get("example", {})]
        body = op.definition.get("requestBody") or {}
        for media, content in (body.get("content") or {}).items():
            if "schema" in content:
                examples = [e.get("value") for e in (content.get("examples") or {}).values() if isinstance(e, dict)]
                yield (op.json_pointer("requestBody", "content", media, "schema"),
                       examples + [content.get("example", {})])
    assert spec  # the spec loaded


def _mutations(value: Any, depth: int = 0) -> Iterator[Any]:
    yield value
    if depth > 2:
        return
    if isinstance(value, dict):
        for key in list(value)[:8]:
            yield {k: v for k, v in value.items() if k != key}
            for other in (None, 1, -1, 1.5, 10 ** 20, "s", "", [], {}, True):
                yield {**value, key: other}
            for inner in list(_mutations(value[key], depth + 1))[1:10]:
                yield {**value, key: inner}
        yield {**value, "unexpected": 1}
    elif isinstance(value, list):
        if value:
            yield value[1:]
            yield value + value[:1]
            for inner in list(_mutations(value[0], depth + 1))[1:10]:
                yield [inner, *value[1:]]
        yield [None]
    else:
        yield from (None, 0, 1.0, "", "x" * 300, [], {}, True, 2 ** 60, -1)


def _found(errors: Iterator[Any]) -> list[tuple[list[str], str]]:
    return sorted((list(map(str, e.absolute_path)), e.message) for e in errors)


def test_the_suites_validators_find_what_jsonschema_finds(platform: str) -> None:
    registry = specs._preloaded_registry(specs.data_root(), specs.spec_path(platform).resolve())
    uri = specs.spec_path(platform).resolve().as_uri()
    compared = disagreements = 0
    for pointer, examples in _schemas(platform):
        ours = specs.validator_at(specs.spec_path(platform), pointer)
        reference = Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=registry)
        for example in examples:
            for instance in _mutations(example):
                for _ in range(2):  # the second time from what the validator remembered
                    compared += 1
                    if _found(ours.iter_errors(instance)) != _found(reference.iter_errors(instance)):
                        disagreements += 1
                        assert disagreements > 3, (pointer, json.dumps(instance)[:300],
                                                   _found(ours.iter_errors(instance)), _found(reference.iter_errors(instance)))
    assert compared > 200, f"only {compared} instances compared: the walk over {platform}'s schemas found too little"
    assert disagreements == 0


def _validator_for(schema: dict[str, Any], tmp_path: Path) -> specs.RememberingValidator:
    """A suite validator of `schema`, as validator_at builds one, the schema registered under a URI
    of its own."""
    uri = tmp_path.joinpath("schema.json").as_uri()
    return specs.remembering_validator(f"{uri}#", Registry().with_resource(uri, DRAFT202012.create_resource(schema)))


def test_a_recursive_schema_is_validated_through_its_refs(tmp_path: Path) -> None:
    tree = {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
            "required": ["name"]}
    validator = _validator_for(tree, tmp_path)
    assert validator.fast is None  # not inlined: a cycle has no end
    assert validator.is_valid({"name": "a", "children": [{"name": "b", "children": []}]})
    assert [e.message for e in validator.iter_errors({"name": "a", "children": [{"children": []}]})] == \
        ["'name' is a required property"]


def test_remembered_answers_keep_values_json_would_merge_apart(tmp_path: Path) -> None:
    booleans = _validator_for({"type": "boolean"}, tmp_path)
    assert booleans.is_valid(True) and not booleans.is_valid(1) and booleans.is_valid(True)
    arrays = _validator_for({"type": "array"}, tmp_path)
    assert arrays.is_valid([1]) and not arrays.is_valid((1,))  # a tuple is no JSON array to jsonschema
    keys = _validator_for({"type": "object", "required": ["1"]}, tmp_path)
    assert keys.is_valid({"1": 0}) and not keys.is_valid({1: 0})


def test_floats_and_large_integers_are_judged_by_jsonschema_alone(tmp_path: Path) -> None:
    # jsonschema's float arithmetic: 0.3 is no multiple of 0.1 (0.3 / 0.1 = 2.9999999999999996).
    tenths = _validator_for({"multipleOf": 0.1}, tmp_path)
    assert tenths.is_valid(0.3) == Draft202012Validator({"multipleOf": 0.1}).is_valid(0.3)
    bounded = _validator_for({"maximum": 2 ** 63 - 1}, tmp_path)
    assert not bounded.is_valid(2 ** 63) and bounded.is_valid(2 ** 63 - 1)


def test_a_refs_siblings_apply_too(tmp_path: Path) -> None:
    # 2020-12: a $ref's siblings apply beside it (inlined as allOf, never dropped).
    schema = {"$defs": {"name": {"type": "string"}}, "properties": {"nick": {"$ref": "#/$defs/name", "maxLength": 3}}}
    validator = _validator_for(schema, tmp_path)
    assert validator.fast is not None  # inlined
    assert validator.is_valid({"nick": "abc"})
    assert [e.message for e in validator.iter_errors({"nick": "abcd"})] == ["'abcd' is too long"]
    assert [e.message for e in validator.iter_errors({"nick": 7})] == ["7 is not of type 'string'"]
