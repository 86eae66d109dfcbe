"""Check a request against its operation in the spec, so servers never restate the contract.

The servers call this to learn *what* is wrong (a missing parameter, a value out of range, too
many items, a malformed body); each platform then answers with its own documented error. The
first problem is returned, in the spec's parameter order, as real servers report one at a time.

Why by hand: openapi-core would validate whole requests, but it reports framework errors rather
than "which parameter, which kind of fault", and it is not a dependency we otherwise need; the
actual schema validation is jsonschema's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from chatcontract import specs

NO_BODY: Any = object()  # what parse_body returns for an empty body (JSON `null` is a body)
_REQUIRED = re.compile(r"^'([^']+)' is a required property")


@dataclass(frozen=True)
class RequestProblem:
    """What is wrong with a request. `kind` uses the x-trigger vocabulary of extensions.md."""

    kind: str  # param-missing | param-invalid | param-extra | param-blank | too-many | body-malformed
    name: str  # the parameter or body field, "" for the body as a whole
    message: str


@dataclass(frozen=True)
class _Param:
    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    validator: Draft202012Validator


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    """A query/path string as the type its schema declares; unchanged when it does not parse."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "integer" in types and re.fullmatch(r"-?\d+", raw):
        try:
            return int(raw)
        except ValueError:  # longer than Python converts (4,300 digits): left a string, so invalid
            return raw
    if "number" in types:
        try:
            return float(raw)
        except ValueError:
            pass
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    if "array" in types:
        return raw.split(",") if raw else []
    return raw


def _problem_from(error: ValidationError, prefix: str = "") -> RequestProblem:
    path = [str(p) for p in error.absolute_path]
    name = prefix or (path[0] if path else "")
    if error.validator == "required":
        match = _REQUIRED.match(error.message)
        missing = match.group(1) if match else ""
        return RequestProblem("param-missing", prefix or ".".join([*path, missing]), error.message)
    if error.validator in ("maxItems", "maxProperties"):
        return RequestProblem("too-many", name, error.message)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        return RequestProblem("param-extra", name, error.message)
    if error.validator == "minLength" and error.validator_value == 1:
        return RequestProblem("param-blank", name, error.message)
    return RequestProblem("param-invalid", name, error.message)


class OperationContract:
    """One operation's parameters and body, read from the spec, ready to check requests."""

    def __init__(self, platform: str, operation_id: str) -> None:
        self.operation = specs.operation_by_id(platform, operation_id)
        document = specs.spec_path(platform)
        spec = specs.load_spec(platform)
        path_item = spec["paths"][self.operation.path]
        self.params: list[_Param] = []
        op_at = self.operation.json_pointer_parts()
        declared = [(("paths", self.operation.path, "parameters", i), p) for i, p in enumerate(path_item.get("parameters", []))]
        declared += [((*op_at, "parameters", i), p) for i, p in enumerate(self.operation.definition.get("parameters", []))]
        for inline_at, raw in declared:
            where, param, at = specs.deref(document, raw, inline_at)
            _, schema, _ = specs.deref(where, param.get("schema", {}), ())  # its type, for coercion
            self.params.append(
                _Param(param["name"], param["in"], bool(param.get("required")), schema,
                       specs.validator_at(where, specs.pointer(*at, "schema")))
            )
        body = self.operation.definition.get("requestBody")
        self.body_validator: Draft202012Validator | None = None
        self.body_required = False
        if body:
            where, body, body_at = specs.deref(document, body, self.operation.json_pointer_parts("requestBody"))
            media = (body.get("content") or {}).get("application/json")
            self.body_required = bool(body.get("required"))
            if media and "schema" in media:
                self.body_validator = specs.validator_at(
                    where, specs.pointer(*body_at, "content", "application/json", "schema"))

    def param_names(self, location: str) -> set[str]:
        return {p.name for p in self.params if p.location == location}

    def check_params(self, request: Any, path_params: Mapping[str, str] | None = None) -> RequestProblem | None:
        """The first problem with the request's query, path, header and cookie parameters."""
        sources: dict[str, Mapping[str, str]] = {
            "query": request.query_params,
            "path": path_params if path_params is not None else request.path_params,
            "header": request.headers,
            "cookie": request.cookies,
        }
        for param in self.params:
            raw = sources[param.location].get(param.name)
            if raw is None:
                if param.required:
                    return RequestProblem("param-missing", param.name, f"{param.name} is required")
                continue
            error = best_match(param.validator.iter_errors(_coerce(raw, param.schema)))
            if error is not None:
                return _problem_from(error, prefix=param.name)
        return None

    def parse_body(self, raw: bytes) -> tuple[Any, RequestProblem | None]:
        """The JSON body (NO_BODY when empty), or the problem that it is not JSON / missing."""
        if not raw.strip():
            if self.body_required:
                return NO_BODY, RequestProblem("param-missing", "", "request body is required")
            return NO_BODY, None
        try:
            return json.loads(raw), None
        # ValueError covers JSONDecodeError, UnicodeDecodeError and a number too long to convert;
        # RecursionError is JSON nested deeper than the parser goes. All are a malformed body.
        except (ValueError, RecursionError) as exc:
            return NO_BODY, RequestProblem("body-malformed", "", str(exc).splitlines()[0][:200])

    def check_body(self, body: Any) -> RequestProblem | None:
        if self.body_validator is None or body is NO_BODY:
            return None
        try:
            error = best_match(self.body_validator.iter_errors(body))
        except RecursionError:  # parsed, but nested too deep to validate
            return RequestProblem("body-malformed", "", "the body is nested too deeply")
        return None if error is None else _problem_from(error)
