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


_FOUND: set[Path] = set()  # spec files already seen to exist (a file check per lookup was a hot spot)
_RESOLVED: dict[Path, Path] = {}  # path -> its resolved form (resolving is a syscall per part)


def spec_path(platform: str) -> Path:
    path = specs_dir() / f"{platform}.yaml"
    if path not in _FOUND:
        if not path.is_file():
            known = ", ".join(platforms())
            raise SpecError(f"unknown platform {platform!r} (known: {known})")
        _FOUND.add(path)
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
    return _validator(_resolved(document).as_uri(), pointer)


@lru_cache(maxsize=1024)
def _validator(uri: str, pointer: str) -> "RememberingValidator":
    return RememberingValidator(Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=_preloaded_registry(data_root())))


class RememberingValidator:
    """A Draft 2020-12 validator that remembers the errors of the instances it has seen.

    A run validates the same few bodies and parameters over and over (a default run: 13,480
    validations of 2,765 distinct instances), and jsonschema's validation (a `referencing` lookup
    and a validator copy per `$ref` and keyword) was a third of a state machine's time. The key
    is the instance's exact JSON text (key order, 1 vs 1.0 vs true kept apart), so a remembered
    answer is the one the validator gave that very instance; an instance that is not plain JSON
    data, or a large one, is validated afresh each time. Written by hand: jsonschema has no cache
    of results, and a cache in front of it is a dozen lines."""

    LIMIT = 4096  # instances remembered per schema (the oldest go first)
    LARGEST = 16_384  # characters of JSON text worth remembering

    def __init__(self, validator: Draft202012Validator) -> None:
        self.validator = validator
        self._seen: dict[str, tuple] = {}
        self._lock = threading.Lock()  # the reference servers validate from their own threads

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        try:
            key = json.dumps(instance, ensure_ascii=False, allow_nan=True, check_circular=False,
                             default=_not_json)
        except (TypeError, ValueError, RecursionError):
            key = None
        if key is None or len(key) > self.LARGEST or not _plain_keys(instance):
            return self.validator.iter_errors(instance)
        found = self._seen.get(key)
        if found is None:
            found = tuple(self.validator.iter_errors(instance))
            with self._lock:
                if len(self._seen) >= self.LIMIT:
                    self._seen.pop(next(iter(self._seen)))
                self._seen[key] = found
        return iter(found)

    def is_valid(self, instance: Any) -> bool:
        return next(self.iter_errors(instance), None) is None


def _not_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _plain_keys(instance: Any) -> bool:
    """True when the JSON text names the instance exactly: every object key a string (json.dumps
    would turn 1 and "1" into one key) and no tuple (an array to json.dumps, not to the validator)."""
    if isinstance(instance, dict):
        return all(isinstance(k, str) for k in instance) and all(_plain_keys(v) for v in instance.values())
    if isinstance(instance, list):
        return all(_plain_keys(v) for v in instance)
    return not isinstance(instance, tuple)


@cache
def _preloaded_registry(root: Path) -> Registry:
    """Every spec and schema file, loaded and crawled once. A validator whose registry lacks a
    file retrieves and crawls it again on every validation (referencing keeps what a lookup
    retrieves only for that lookup), which made response checks the suite's main cost."""
    files = [p.resolve() for folder in ("specs", "schemas") for p in sorted((root / folder).rglob("*"))
             if p.suffix in (".yaml", ".json")]
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
