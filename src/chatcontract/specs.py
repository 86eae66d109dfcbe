"""Find, load and resolve the platform specs and their JSON Schemas.

One place knows where `specs/` and `schemas/` are and how a `$ref` between them resolves; the
checks, the inventory, the servers and the suite all go through here.
"""

from __future__ import annotations


import json
import re
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecError(Exception):
    """A spec or schema file that cannot be found or read."""


@cache
def data_root() -> Path:
    """The folder holding `specs/` and `schemas/`: the checkout, or the installed package data
    (found once per process: every spec lookup starts here)."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "specs").is_dir() and (checkout / "schemas").is_dir():
        return checkout
    packaged = Path(__file__).resolve().parent / "_data"
    if (packaged / "specs").is_dir():
        return packaged
    raise SpecError(f"no specs/ folder found beside {checkout} or in {packaged}")


def specs_dir() -> Path:
    return data_root() / "specs"


def schemas_dir() -> Path:
    return data_root() / "schemas"


def platforms() -> list[str]:
    """Platform names: the stem of every `specs/<platform>.yaml`."""
    return sorted(p.stem for p in specs_dir().glob("*.yaml"))


# (data root, platform) -> its spec file, once seen to exist: 20,000 lookups a run, and a
# file check, or even building the Path, per lookup was a hot spot.
_FOUND: dict[tuple[Path, str], Path] = {}
_RESOLVED: dict[Path, Path] = {}  # path -> its resolved form (resolving is a syscall per part)


def spec_path(platform: str) -> Path:
    key = (data_root(), platform)
    path = _FOUND.get(key)
    if path is None:
        path = specs_dir() / f"{platform}.yaml"
        if not path.is_file():
            known = ", ".join(platforms())
            raise SpecError(f"unknown platform {platform!r} (known: {known})")
        _FOUND[key] = path
    return path


MAX_SPEC_BYTES = 8 * 1024 * 1024  # the largest spec is under 100 KB


@cache
def _read(path: Path) -> Any:
    """Through the one loader of `inputs.py`: bounded size and alias expansion, errors in words."""
    from chatcontract import inputs

    try:
        text = inputs.read_text(path, "the file", limit=MAX_SPEC_BYTES)
        return inputs.parse_json(text, str(path)) if path.suffix == ".json" else inputs.parse_yaml(text, str(path), trusted=True)
    except inputs.InputError as exc:
        raise SpecError(str(exc)) from None


def read_document(path: Path) -> Any:
    """A parsed JSON or YAML file (cached; treat the result as read-only)."""
    return _read(_resolved(path))


def _resolved(path: Path) -> Path:
    found = _RESOLVED.get(path)
    if found is None:
        found = _RESOLVED[path] = path.resolve()
    return found


def load_spec(platform: str) -> dict[str, Any]:
    return read_document(spec_path(platform))


def _retrieve(uri: str) -> Resource:
    if not uri.startswith("file://"):
        # Specs only reference local files; anything else is a mistake, not a download.
        raise SpecError(f"$ref to {uri} is not a local file")
    return DRAFT202012.create_resource(read_document(Path(uri[len("file://"):])))


def registry() -> Registry:
    """A referencing registry that loads any local spec or schema file on first use."""
    return Registry(retrieve=_retrieve)


def validator_at(document: Path, pointer: str = "") -> "RememberingValidator":
    """A JSON Schema validator for the schema at `pointer` inside `document`.

    Relative `$ref`s inside that schema resolve against the document's own location, exactly as
    they do for an OpenAPI tool reading the spec. Cached: building one crawls the referenced files.
    """
    return _validator(_resolved(document), pointer)


@lru_cache(maxsize=1024)
def _validator(document: Path, pointer: str) -> "RememberingValidator":
    return remembering_validator(f"{document.as_uri()}#{pointer}", _preloaded_registry(data_root(), document))


def remembering_validator(uri: str, registry: Registry) -> "RememberingValidator":
    """The validator of the schema at `uri` (found in `registry`): inlined and with the compiled
    fast path where that keeps its meaning, else following its $refs."""
    referenced = {"$ref": uri}
    inlined = _inlined(referenced, registry.resolver())
    if inlined is None:
        return RememberingValidator(Draft202012Validator(referenced, registry=registry))
    return RememberingValidator(Draft202012Validator(inlined), _fast_validator(inlined))


def _fast_validator(schema: Any) -> Any:
    """jsonschema-rs' validator of the same (inlined) schema, or None where it cannot build one.
    It only ever says "valid": every error, and so every message a report shows, comes from
    jsonschema itself."""
    try:
        import jsonschema_rs

        return jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
    except Exception:  # a pattern its regex engine does not take, a missing wheel: jsonschema alone
        return None


class RememberingValidator:
    """A Draft 2020-12 validator that remembers what it found, and asks a compiled one first.

    A run validates the same few bodies and parameters over and over (a default run: 13,480
    validations of 2,765 distinct instances), and jsonschema's validation (a validator copy per
    keyword) was a third of a state machine's time. So:

    - the errors of each instance are remembered, keyed by its exact JSON text (key order, 1 vs
      1.0 vs true kept apart): a remembered answer is the one jsonschema gave that very instance;
    - an instance of plain JSON (string keys, no float, no integer beyond 2**53) is first given to
      jsonschema-rs (the schemathesis author's compiled validator, ~400x faster); only when it
      says "invalid" does jsonschema run, for the errors. On everything a run validates, and on
      192,000 mutations of it, the two agreed on every instance (2026-12-03); floats and big
      integers are left to jsonschema alone, where the two do arithmetic differently.

    Written by hand: neither library caches results, and a cache in front of them is a dozen lines."""

    LIMIT = 4096  # instances remembered per schema (the oldest go first)
    LARGEST = 16_384  # characters of JSON text worth remembering

    def __init__(self, validator: Draft202012Validator, fast: Any = None) -> None:
        self.validator, self.fast = validator, fast
        self._seen: dict[str, tuple] = {}
        self._lock = threading.Lock()  # the reference servers validate from their own threads

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        kind = _kind(instance)
        key = None
        if kind is not _NOT_PLAIN:
            try:
                key = json.dumps(instance, ensure_ascii=False, check_circular=False)
            except (TypeError, ValueError, RecursionError):
                kind = _NOT_PLAIN
        if key is not None and len(key) > self.LARGEST:
            key = None
        found = self._seen.get(key) if key is not None else None
        if found is None:
            found = () if kind is _FAST and self._fast_says_valid(instance) else tuple(self.validator.iter_errors(instance))
            if key is not None:
                with self._lock:
                    if len(self._seen) >= self.LIMIT:
                        self._seen.pop(next(iter(self._seen)), None)
                    self._seen[key] = found
        return iter(found)

    def _fast_says_valid(self, instance: Any) -> bool:
        if self.fast is None:
            return False
        try:
            return bool(self.fast.is_valid(instance))
        except Exception:  # an instance it cannot take (a lone surrogate): jsonschema decides
            return False

    def is_valid(self, instance: Any) -> bool:
        return next(self.iter_errors(instance), None) is None


_NOT_PLAIN, _PLAIN, _FAST = "not plain", "plain", "fast"
_SAFE_INTEGER = 2 ** 53


def _kind(instance: Any) -> str:
    """How an instance may be validated: _NOT_PLAIN when its JSON text would not name it exactly
    (a key that is not a string: json.dumps turns 1 and "1" into one; a tuple, an array to
    json.dumps but not to jsonschema; anything not JSON), _PLAIN when it holds a float or an
    integer beyond 2**53 (jsonschema alone), else _FAST."""
    kind = _FAST
    stack = [instance]
    while stack:
        value = stack.pop()
        if value is None or isinstance(value, (str, bool)):
            continue
        if isinstance(value, int):
            if not -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
                kind = _PLAIN
        elif isinstance(value, float):
            kind = _PLAIN
        elif isinstance(value, dict):
            if not all(type(k) is str for k in value):
                return _NOT_PLAIN
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        else:
            return _NOT_PLAIN
    return kind


_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_INLINED_NODES = 20_000  # a schema that grows past this when inlined is validated through its $refs
_DYNAMIC = ("$dynamicRef", "$recursiveRef")


class _NotInlined(Exception):
    """The schema cannot be written without its $refs (a cycle, a dynamic reference, another dialect)."""


def _inlined(node: Any, resolver: Any) -> Any:
    """The schema with every `$ref` replaced by what it names, or None where that would change what
    it means. Validating the inlined schema gives the same errors (messages and instance paths)
    as following the references, at half the cost: jsonschema looks a reference up afresh (URL
    joins, a resolver per step) every time it is followed. `{"$ref": X, ...}` becomes
    `{"allOf": [X], ...}` (2020-12 applies a $ref's siblings too; both are in-place applicators,
    so `unevaluated*` sees the same). Written by hand: neither jsonschema nor referencing bundles
    a schema without its references."""
    count = [0]

    def walk(node: Any, resolver: Any, stack: tuple[int, ...]) -> Any:
        count[0] += 1
        if count[0] > _INLINED_NODES:
            raise _NotInlined("too large")
        if isinstance(node, list):
            return [walk(item, resolver, stack) for item in node]
        if not isinstance(node, dict):
            return node
        if any(key in node for key in _DYNAMIC) or node.get("$schema", _DIALECT) != _DIALECT:
            raise _NotInlined("dynamic reference or another dialect")
        if "$id" in node:
            raise _NotInlined("a nested resource")  # its own base URI: kept as jsonschema reads it
        ref = node.get("$ref")
        rest = {key: walk(value, resolver, stack) for key, value in node.items() if key != "$ref"}
        if not isinstance(ref, str):
            return rest
        try:
            resolved = resolver.lookup(ref)
        except Exception as exc:  # unresolvable: let the validator report it as it always has
            raise _NotInlined(str(exc)) from None
        if id(resolved.contents) in stack:  # the registry's own nodes: the same node, the same object
            raise _NotInlined("a cycle")
        target = walk(resolved.contents, resolved.resolver, (*stack, id(resolved.contents)))
        if not rest:
            return target
        rest.pop("$schema", None)
        return {**rest, "allOf": [target, *rest.get("allOf", [])]}

    try:
        return walk(node, resolver, ())
    except _NotInlined:
        return None


@cache
def _preloaded_registry(root: Path, document: Path) -> Registry:
    """`document` and every schema file, loaded and crawled once per document: all its $refs can
    reach (a spec refers to schemas/ only, never to another spec). A validator whose registry
    lacks a file retrieves and crawls it again on every validation (referencing keeps what a
    lookup retrieves only for that lookup), which made response checks the suite's main cost.
    Not every spec: a run of one platform read the other four, their fidelity audits and the
    bibliography too, ~45 ms of YAML per process."""
    files = [p.resolve() for p in sorted((root / "schemas").rglob("*")) if p.suffix in (".yaml", ".json")]
    if document not in files:
        files.append(document)
    resources = [(path.as_uri(), DRAFT202012.create_resource(read_document(path))) for path in files]
    return registry().with_resources(resources).crawl()


def pointer(*parts: str | int) -> str:
    """A JSON pointer built from raw keys (escapes `~` and `/`, as in `/paths/~1api~1v1`)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Operation:
    """One documented operation of one platform."""

    platform: str
    method: str
    path: str
    definition: dict[str, Any]

    @property
    def operation_id(self) -> str:
        return self.definition.get("operationId", "")

    @property
    def responses(self) -> dict[str, Any]:
        return self.definition.get("responses", {})

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def json_pointer_parts(self, *more: str | int) -> tuple:
        return ("paths", self.path, self.method, *more)

    def json_pointer(self, *more: str | int) -> str:
        return pointer(*self.json_pointer_parts(*more))


def operations(platform: str) -> Iterator[Operation]:
    for path, item in (load_spec(platform).get("paths") or {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield Operation(platform, method, path, item[method])


def is_error_status(code: str) -> bool:
    """True for a response key that describes an error: 4xx, 5xx, 4XX, 5XX or `default`."""
    return code == "default" or code[:1] in ("4", "5")


def trigger_vocabulary() -> frozenset[str]:
    """The `x-trigger` values defined in the table of `specs/extensions.md` (plus `other`)."""
    text = (specs_dir() / "extensions.md").read_text(encoding="utf-8")
    section = text.split("## `x-trigger`", 1)[1].split("\n## ", 1)[0]
    return frozenset(re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.MULTILINE)) | {"other"}


def deref(document: Path, node: Any, at: tuple = ()) -> tuple[Path, Any, tuple]:
    """Follow a Reference Object (response, parameter, example…) to the node it names.

    Returns the document the node lives in, the node, and its path inside that document.
    """
    hops = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and hops < 20:
        hops += 1
        target, _, fragment = node["$ref"].partition("#")
        document = (document.parent / target).resolve() if target else document
        node = read_document(document)
        at = ()
        for raw in filter(None, fragment.split("/")):
            key = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
            at = (*at, key)
    return document, node, at


def operation_by_id(platform: str, operation_id: str) -> Operation:
    for op in operations(platform):
        if op.operation_id == operation_id:
            return op
    raise SpecError(f"{platform} spec has no operation {operation_id!r}")


def security_scheme_names(platform: str) -> list[str]:
    """The securitySchemes every operation requires (the spec's root `security`, first option)."""
    requirement = (load_spec(platform).get("security") or [{}])[0]
    return list(requirement)


def security_schemes(platform: str) -> dict[str, dict[str, Any]]:
    return dict(load_spec(platform).get("components", {}).get("securitySchemes", {}))
