"""The conformance extensions of every spec (x-target, x-request, x-provoke) are well formed
and consistent: the shapes of schemas/chatcontract/extensions.schema.json, every documented error
has a way to provoke it, and every identity and fixture they name is declared in x-target."""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator

from chatcontract import specs
from chatcontract.decisions import MISSING, lookup
from chatcontract.suite.test_documented_errors import documented_errors

_SCHEMA = specs.read_document(specs.schemas_dir() / "chatcontract" / "extensions.schema.json")


def _validator(definition: str) -> Draft202012Validator:
    return Draft202012Validator({**_SCHEMA, "$ref": f"#/$defs/{definition}"})


def _fixture_names(node) -> set[str]:
    return set(re.findall(r"\$\{fixtures\.([A-Za-z_][A-Za-z0-9_]*)", str(node)))


def _identities(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        if isinstance(node.get("as"), str):
            found.add(node["as"])
        for value in node.values():
            found |= _identities(value)
    elif isinstance(node, list):
        for value in node:
            found |= _identities(value)
    return found


def test_conformance_extensions_are_well_formed_and_consistent(platform: str) -> None:
    spec = specs.load_spec(platform)
    target = spec["x-target"]
    problems = [f"x-target: {e.message}" for e in _validator("target").iter_errors(target)]
    declared_ids, declared_fixtures = set(target["identities"]) | {"anonymous"}, set(target["fixtures"])
    used = []
    for op in specs.operations(platform):
        request = op.definition.get("x-request")
        if request is None:
            problems.append(f"{op.operation_id} has no x-request")
            continue
        problems += [f"{op.operation_id} x-request: {e.message}" for e in _validator("request").iter_errors(request)]
        used.append(request)
        if "x-docs-values" in op.definition:
            problems += [f"{op.operation_id} x-docs-values: {e.message}"
                         for e in _validator("docsValues").iter_errors(op.definition["x-docs-values"])]
    for op, key, name, example in documented_errors(platform):
        provoke = example.get("x-provoke")
        if provoke is None:
            problems.append(f"{op.operation_id} {key} {name}: x-trigger without x-provoke")
            continue
        problems += [f"{op.operation_id} {key} {name}: {e.message}" for e in _validator("provoke").iter_errors(provoke)]
        identity = example.get("x-identity", [])
        problems += [f"{op.operation_id} {key} {name} x-identity: {e.message}"
                     for e in _validator("identity").iter_errors(identity)] if "x-identity" in example else []
        for pointer in identity if isinstance(identity, list) else []:
            if lookup(example.get("value"), pointer) is MISSING:
                problems.append(f"{op.operation_id} {key} {name}: x-identity {pointer} is not in the example's value")
        used.append(provoke)
    for node in used:
        problems += [f"identity {i!r} is not declared in x-target" for i in _identities(node) - declared_ids]
        problems += [f"fixture {f!r} is not declared in x-target" for f in _fixture_names(node) - declared_fixtures]
    assert not problems, "\n".join(sorted(set(problems)))
