"""Checks that the hand-written specs and schemas are valid, consistent and self-illustrating.

Each check returns a list of `Problem`s (empty when the platform is clean), so the same code
serves the test suite (`tests/specs/`) and the `chatcontract check` command. The conventions
checked here are the ones written down in `specs/README.md` and `specs/extensions.md`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

from jsonschema.exceptions import best_match
from referencing.exceptions import Unresolvable

from chatcontract import specs, usercache
from chatcontract.specs import Operation, is_error_status, pointer

DECISION_KEYS_REQUIRED = ("ambiguity", "question", "decision", "sources")
# The project's own extension shapes (read once, from the package's data, whatever spec is checked).
_EXTENSIONS_SCHEMA = specs.read_document(specs.schemas_dir() / "chatcontract" / "extensions.schema.json")
LOWER_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one spec or schema file."""

    platform: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.platform}: {self.where}: {self.message}"


# --- walking documents -------------------------------------------------------------------------


def _walk(node: Any, where: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) pair in a JSON-like tree, depth first."""
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*where, index))


def _schema_files(platform: str) -> list[Path]:
    return sorted((specs.schemas_dir() / platform).glob("*.schema.json"))


def _referenced_files(document: Path, seen: set[Path] | None = None) -> set[Path]:
    """Every local file reachable from `document` through `$ref`s (the document included)."""
    seen = set() if seen is None else seen
    document = document.resolve()
    if document in seen:
        return seen
    seen.add(document)
    for _, value in _walk(specs.read_document(document)):
        if isinstance(value, dict) and isinstance(value.get("$ref"), str):
            target = value["$ref"].partition("#")[0]
            if target and "://" not in target:
                _referenced_files((document.parent / target), seen)
    return seen


# --- the checks --------------------------------------------------------------------------------


def check_openapi(platform: str) -> list[Problem]:
    """The spec is a valid OpenAPI 3.1 document (openapi-spec-validator, refs followed)."""
    from openapi_spec_validator import validate as validate_openapi_document  # 0.7 s to import: when needed

    path = specs.spec_path(platform)
    try:
        validate_openapi_document(specs.load_spec(platform), base_uri=path.as_uri())
    except Exception as exc:  # the validator raises several unrelated types; report any of them
        return [Problem(platform, path.name, str(exc).splitlines()[0])]
    return []


def check_refs(platform: str) -> list[Problem]:
    """Every `$ref` in the spec and in every schema it reaches resolves to an existing node."""
    problems = []
    for document in sorted(_referenced_files(specs.spec_path(platform))):
        resolver = specs.registry().resolver(base_uri=document.as_uri())
        for where, value in _walk(specs.read_document(document)):
            if isinstance(value, dict) and isinstance(value.get("$ref"), str):
                ref = value["$ref"]
                if "://" in ref:
                    problems.append(Problem(platform, document.name, f"$ref {ref} is not local"))
                    continue
                try:
                    resolver.lookup(ref)
                except (Unresolvable, specs.SpecError, LookupError) as exc:
                    problems.append(
                        Problem(platform, f"{document.name}{pointer(*where)}", f"$ref {ref!r} does not resolve: {exc}")
                    )
    return problems


def structural_problem(platforms: list[str]) -> str | None:
    """The first problem that makes these platforms' specs unusable (not OpenAPI 3.1, a `$ref`
    that does not resolve), with the command that shows them all; None when they are usable.

    A clean answer is remembered per content of `specs/` and `schemas/` (and the versions of
    chatcontract and openapi-spec-validator) in the user's cache folder, so that the same specs
    are not validated again before every run (~1.2 s of each run's start-up, before any worker
    could start). Any change to a spec or schema file is a new key: checked afresh."""
    marker = _checked_marker(platforms)
    if marker is not None and marker.exists():
        return None
    for platform in platforms:
        problems = check_openapi(platform) + check_refs(platform)
        if problems:
            return f"{problems[0]} (run `chatcontract check --api {platform}`)"
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # a read-only home: checked again next time, nothing lost
    return None


def _checked_marker(platforms: list[str]) -> Path | None:
    """Where a clean check of exactly these files is remembered (None: no cache folder)."""
    digest = hashlib.sha256()
    for version_of in ("chatcontract", "openapi-spec-validator"):
        try:
            digest.update(f"{version_of}={metadata.version(version_of)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{version_of} from a checkout\n".encode())
    for module in (__file__, specs.__file__):  # the checks, and how a $ref resolves
        digest.update(Path(module).read_bytes())
    digest.update(",".join(sorted(platforms)).encode())
    root = specs.data_root()
    for path in sorted(p for folder in ("specs", "schemas") for p in (root / folder).rglob("*") if p.is_file()):
        digest.update(f"\n{path.relative_to(root)}\n".encode())
        digest.update(path.read_bytes())
    try:
        return usercache.folder("specs-checked", digest.hexdigest())
    except RuntimeError:  # no home folder to be found
        return None


def _validate_example(platform: str, document: Path, schema_at: tuple, value: Any, where: str) -> list[Problem]:
    error = best_match(specs.validator_at(document, pointer(*schema_at)).iter_errors(value))
    if error is None:
        return []
    at = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return [Problem(platform, where, f"example does not match its schema at {at}: {error.message}")]


def _example_values(container: dict[str, Any], document: Path, at: tuple) -> Iterator[tuple[str, Any]]:
    if "example" in container:
        yield "example", container["example"]
    for name, example in (container.get("examples") or {}).items():
        _, example, _ = specs.deref(document, example, (*at, "examples", name))
        if isinstance(example, dict) and "value" in example:
            yield f"examples/{name}", example["value"]


def _example_holders(platform: str) -> Iterator[tuple[Path, tuple, dict[str, Any]]]:
    """Every media type, parameter and header object in the spec that has a schema."""
    path = specs.spec_path(platform)
    spec = specs.load_spec(platform)
    for where, value in _walk(spec):
        if not isinstance(value, dict) or "schema" not in value:
            continue
        parent = where[-2] if len(where) >= 2 else None
        is_media = parent == "content"
        is_param = parent == "parameters" or (len(where) == 3 and where[:2] == ("components", "parameters"))
        is_header = parent == "headers"
        if is_media or is_param or is_header:
            yield path, where, value


def check_examples(platform: str) -> list[Problem]:
    """Every example in the spec and every `examples` entry of every schema file validates."""
    problems = []
    for document, at, holder in _example_holders(platform):
        for name, value in _example_values(holder, document, at):
            where = f"{document.name}{pointer(*at)}/{name}"
            problems += _validate_example(platform, document, (*at, "schema"), value, where)
    for schema_file in _schema_files(platform):
        schema = specs.read_document(schema_file)
        examples = schema.get("examples") if isinstance(schema, dict) else None
        if not examples:
            problems.append(Problem(platform, schema_file.name, "schema has no `examples` beside it"))
            continue
        for index, value in enumerate(examples):
            problems += _validate_example(platform, schema_file, (), value, f"{schema_file.name}/examples/{index}")
    return problems


def check_schema_files(platform: str) -> list[Problem]:
    """Schema files are 2020-12, titled, and each one is used by the spec (no dead shapes)."""
    problems = []
    used = _referenced_files(specs.spec_path(platform))
    for schema_file in _schema_files(platform):
        schema = specs.read_document(schema_file)
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            problems.append(Problem(platform, schema_file.name, "`$schema` is not JSON Schema 2020-12"))
        for key in ("title", "description"):
            if not schema.get(key):
                problems.append(Problem(platform, schema_file.name, f"schema has no `{key}`"))
        if schema_file.resolve() not in used:
            problems.append(Problem(platform, schema_file.name, "schema file is not referenced from the spec"))
    return problems


def _security_of(spec: dict[str, Any], op: Operation) -> list:
    return op.definition.get("security", spec.get("security")) or []


def _error_responses(op: Operation) -> Iterator[tuple[str, Path, dict[str, Any], tuple]]:
    path = specs.spec_path(op.platform)
    for code, response in op.responses.items():
        if is_error_status(str(code)):
            document, resolved, at = specs.deref(path, response, ("paths", op.path, op.method, "responses", code))
            yield str(code), document, resolved, at


def check_operations(platform: str) -> list[Problem]:
    """Each operation carries the metadata, errors and security that specs/README.md requires."""
    spec = specs.load_spec(platform)
    triggers = specs.trigger_vocabulary()
    problems: list[Problem] = []

    def need(ok: bool, op: Operation, message: str) -> None:
        if not ok:
            problems.append(Problem(platform, op.label, message))

    for op in specs.operations(platform):
        d = op.definition
        need(bool(LOWER_CAMEL.match(op.operation_id)), op, "operationId is missing or not lowerCamelCase")
        need(op.operation_id.startswith(platform), op, f"operationId does not start with {platform!r}")
        need(str(d.get("summary", "")).endswith("."), op, "summary is missing or does not end with a full stop")
        need(bool(d.get("description")), op, "description is missing")
        need(bool((d.get("externalDocs") or {}).get("url")), op, "externalDocs.url is missing")
        need(bool(d.get("x-sources")), op, "x-sources is missing")
        need(bool(_security_of(spec, op)), op, "no security requirement applies")
        success = [c for c in op.responses if str(c).startswith("2")]
        need(bool(success), op, "no success response")
        errors = list(_error_responses(op))
        need(bool(errors), op, "no error response is declared")
        for code, document, response, _ in errors:
            media = (response.get("content") or {}).get("application/json")
            if not media or "schema" not in media:
                need(False, op, f"error response {code} has no application/json schema")
                continue
            examples = media.get("examples") or {}
            need(bool(examples), op, f"error response {code} has no named example")
            for name, example in examples.items():
                _, example, _ = specs.deref(document, example, ())
                trigger = example.get("x-trigger") if isinstance(example, dict) else None
                need(trigger in triggers, op, f"error example {code}/{name} has x-trigger {trigger!r}, not one of extensions.md")
                need(bool(example.get("summary")), op, f"error example {code}/{name} has no summary")
    return problems


# `x-rate-limit` (specs/extensions.md): at the root `per` says whether each operation is counted
# apart or all of them together; an operation's own limit is that operation's alone.
_RATE_LIMIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["calls_per_second", "sources"],
    "additionalProperties": False,
    "properties": {
        "calls_per_second": {"type": "number", "exclusiveMinimum": 0},
        "per": {"enum": ["operation", "api"]},
        "sources": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": r"^\[[A-Za-z]+-[A-Za-z0-9-]+\]$"}},
    },
}


def check_rate_limits(platform: str) -> list[Problem]:
    """Each `x-rate-limit` has its documented shape, and its source tags are in the bibliography."""
    from jsonschema import Draft202012Validator

    spec = specs.load_spec(platform)
    found = [("x-rate-limit", spec.get("x-rate-limit"), True)] if "x-rate-limit" in spec else []
    found += [(f"{op.label} x-rate-limit", op.definition["x-rate-limit"], False)
              for op in specs.operations(platform) if "x-rate-limit" in op.definition]
    if not found:
        return []
    bibliography = specs.read_document(specs.specs_dir() / "sources" / "bibliography.yaml")
    problems = []
    for where, entry, at_root in found:
        shape = _RATE_LIMIT_SCHEMA if at_root else {**_RATE_LIMIT_SCHEMA, "properties": {
            k: v for k, v in _RATE_LIMIT_SCHEMA["properties"].items() if k != "per"}}
        errors = list(Draft202012Validator(shape).iter_errors(entry))
        problems += [Problem(platform, where, e.message) for e in errors]
        if errors:
            continue
        if at_root and "per" not in entry:
            problems.append(Problem(platform, where, "a spec-wide limit says `per: operation` (each operation "
                                                     "counted apart) or `per: api` (all together)"))
        problems += [Problem(platform, where, f"source {tag} is not in specs/sources/bibliography.yaml")
                     for tag in entry["sources"] if tag not in bibliography]
    return problems


def decisions(platform: str) -> list[tuple[str, dict[str, Any]]]:
    """Every `x-decisions` entry in the spec, with the JSON pointer where it stands."""
    found = []
    for where, value in _walk(specs.load_spec(platform)):
        if isinstance(value, dict) and isinstance(value.get("x-decisions"), list):
            found += [(pointer(*where), entry) for entry in value["x-decisions"]]
    return found


def check_decisions(platform: str) -> list[Problem]:
    """Every `x-decisions` entry has the keys extensions.md defines."""
    problems = []
    for where, entry in decisions(platform):
        if not isinstance(entry, dict):
            problems.append(Problem(platform, where or "/", "x-decisions entry is not an object"))
            continue
        missing = [k for k in DECISION_KEYS_REQUIRED if k not in entry]
        if missing:
            problems.append(Problem(platform, where or "/", f"x-decisions entry lacks {', '.join(missing)}"))
        number = entry.get("ambiguity")
        if number is not None and not (isinstance(number, int) and 1 <= number <= 32):
            problems.append(Problem(platform, where or "/", f"ambiguity {number!r} is not one of the numbered decisions (1-32)"))
    return problems


def _request_parts(op: Operation) -> set[str]:
    """`query.NAME`, `path.NAME`, `headers.NAME` and `body.FIELD` of an operation (top-level body
    properties of every branch of its JSON body schema), plus `body`."""
    document = specs.spec_path(op.platform)
    item = specs.load_spec(op.platform)["paths"][op.path]
    parts = {"body"}
    for raw in [*(item.get("parameters") or []), *(op.definition.get("parameters") or [])]:
        _, param, _ = specs.deref(document, raw)
        parts.add(f"{ {'header': 'headers'}.get(param['in'], param['in'])}.{param['name']}")
    content = ((op.definition.get("requestBody") or {}).get("content") or {}).get("application/json") or {}

    def properties(node: Any, where: Path, seen: set) -> None:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            where, node, at = specs.deref(where, {"$ref": node["$ref"]})
            if (where, at) in seen:
                return
            seen.add((where, at))
        if not isinstance(node, dict):
            return
        parts.update(f"body.{name}" for name in node.get("properties") or {})
        for key in ("oneOf", "anyOf", "allOf"):
            for branch in node.get(key) or []:
                properties(branch, where, seen)

    properties(content.get("schema"), document, set())
    return parts


def check_readings(platform: str) -> list[Problem]:
    """Every decision has `readings` (possibly empty: nothing a check reads is left open), each
    reading has the shape of extensions.schema.json, a unique name, and names only operations,
    examples, statuses and request parts the spec has (specs/extensions.md, `readings`)."""
    from jsonschema import Draft202012Validator

    from chatcontract import decisions as readings_of

    validator = Draft202012Validator({**_EXTENSIONS_SCHEMA, "$ref": "#/$defs/readings"})
    problems: list[Problem] = []
    ops = {op.operation_id: op for op in specs.operations(platform)}
    examples = {(op.operation_id, key, name): ex for op, key, name, ex in readings_of.documented_errors(platform)}
    names: set[str] = set()
    for at, entry in readings_of.decision_entries(platform):
        if "readings" not in entry:
            problems.append(Problem(platform, at, "x-decisions entry has no `readings` (write `readings: []` when nothing is left open)"))
            continue
        problems += [Problem(platform, at, f"readings: {e.message}") for e in validator.iter_errors(entry["readings"])]
        for index, reading in enumerate(entry["readings"] if isinstance(entry["readings"], list) else []):
            where = f"{at}/readings/{index}"
            if not isinstance(reading, dict):
                continue
            if reading.get("name") in names:
                problems.append(Problem(platform, where, f"reading name {reading.get('name')!r} is used twice"))
            names.add(reading.get("name"))
            chosen = [o for o in reading.get("operations", ops) if o in ops]
            problems += [Problem(platform, where, f"no operation {o!r}") for o in reading.get("operations", []) if o not in ops]
            if "rejection-not-asserted" in reading:
                for part in reading["rejection-not-asserted"]:
                    name = part.split(":")[0]
                    if not any(name in _request_parts(ops[o]) for o in chosen):
                        problems.append(Problem(platform, where, f"{part}: no operation it names has the request part {name}"))
                continue
            matched = [(o, k, n) for (o, k, n), ex in examples.items() if o in chosen
                       and n in reading.get("examples", [n]) and ex["x-trigger"] in reading.get("triggers", [ex["x-trigger"]])]
            if not matched:
                problems.append(Problem(platform, where, "the reading selects no documented error example"))
            for name in reading.get("examples", []):
                if not any(n == name for _, _, n in matched):
                    problems.append(Problem(platform, where, f"no selected operation has an error example {name!r}"))
            for status in reading.get("statuses", []):
                for o, _, _ in matched:
                    if status not in ops[o].responses:
                        problems.append(Problem(platform, where, f"status {status} is not a documented response of {o} (use `forms` for an undocumented one)"))
            for form in reading.get("forms", []):
                try:
                    specs.validator_at(specs.spec_path(platform), f"{where}/forms/{reading['forms'].index(form)}/schema")
                except Exception as exc:  # an unresolvable $ref
                    problems.append(Problem(platform, where, f"form schema does not resolve: {exc}"))
    return problems


def _response_schemas(platform: str) -> Iterator[tuple[str, Path, tuple]]:
    for op in specs.operations(platform):
        for code, response in op.responses.items():
            document, resolved, at = specs.deref(
                specs.spec_path(platform), response, ("paths", op.path, op.method, "responses", code)
            )
            for media_type, media in (resolved.get("content") or {}).items():
                if "schema" in media:
                    yield f"{op.label} {code} {media_type}", document, (*at, "content", media_type, "schema")


def _closed_objects(document: Path, at: tuple, seen: set) -> Iterator[str]:
    """Places in a schema (following `$ref`s) that forbid properties they do not list."""
    key = (document, at)
    if key in seen:
        return
    seen.add(key)
    document, node, _ = specs.deref(document, {"$ref": "#" + pointer(*at)}, ())
    for where, value in _walk(node):
        if not isinstance(value, dict):
            continue
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if value.get(keyword) is False:
                yield f"{document.name}#{pointer(*at, *where)} sets {keyword}: false"
        ref = value.get("$ref")
        if isinstance(ref, str):
            target, _, fragment = ref.partition("#")
            next_doc = (document.parent / target).resolve() if target else document
            next_at = tuple(p.replace("~1", "/").replace("~0", "~") for p in filter(None, fragment.split("/")))
            yield from _closed_objects(next_doc, next_at, seen)


def check_response_tolerance(platform: str) -> list[Problem]:
    """No response schema rejects extra properties: vendors add fields, and that is tolerated."""
    problems = []
    for label, document, at in _response_schemas(platform):
        for place in _closed_objects(document, at, set()):
            problems.append(Problem(platform, label, place))
    return problems


CHECKS: dict[str, Callable[[str], list[Problem]]] = {
    "openapi": check_openapi,
    "refs": check_refs,
    "examples": check_examples,
    "schema-files": check_schema_files,
    "operations": check_operations,
    "decisions": check_decisions,
    "readings": check_readings,
    "response-tolerance": check_response_tolerance,
    "rate-limits": check_rate_limits,
}


def check_platform(platform: str) -> list[Problem]:
    """Every check, in order; a spec that is not valid OpenAPI stops there."""
    problems = check_openapi(platform)
    if problems:
        return problems
    for name, check in CHECKS.items():
        if name != "openapi":
            problems += check(platform)
    return problems


def check_decision_coverage(platform_names: list[str]) -> list[Problem]:
    """Each of the 32 numbered open points of the vendors' docs is recorded, in one platform's spec only."""
    owners: dict[int, set[str]] = {}
    for platform in platform_names:
        for _, entry in decisions(platform):
            if isinstance(entry, dict) and isinstance(entry.get("ambiguity"), int):
                owners.setdefault(entry["ambiguity"], set()).add(platform)
    problems = [Problem("all", "x-decisions", f"decision {n} (an open point of the vendors' docs) is recorded nowhere") for n in range(1, 33) if n not in owners]
    problems += [
        Problem("all", "x-decisions", f"decision {n} is recorded in several specs: {sorted(p)}")
        for n, p in sorted(owners.items())
        if len(p) > 1
    ]
    return problems
