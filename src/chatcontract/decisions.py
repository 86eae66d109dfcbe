"""The machine-readable readings of the specs' `x-decisions`: what each decision leaves open.

A decision's prose `accepts` is for people; its `readings` (specs/extensions.md) are what the
suite reads. Two kinds:

* an **error reading** widens what the documented-error layer accepts for the examples it names
  (by operation, example name and/or `x-trigger`): more statuses, more values at an identifying
  JSON pointer, keys of the example that may be absent, or other body forms (a schema under a
  status, e.g. Ozeki's error envelope under HTTP 200);
* an **empty-body reading** (`empty-bodies`) lets a success status come with no body at all
  (Sendbird's unblock), in every layer;
* a **request reading** names request parts (`query.NAME`, `body.FIELD`, `path.NAME`, optionally
  `:keyword`) whose rejection the suite must not assert when they are missing or odd.

`error_readings()` folds every reading that applies to one documented error into one
`ErrorReadings`, whose `check()` is the documented-error layer's verdict on a response.
`variants()` turns every mechanical alternative (a status, an identity value, a dropped key, a
body form under another status) into a tolerated response rewrite of the reference server, so
`python -m chatcontract.selftest PLATFORM --fault NAME` proves the suite accepts it.

Written by hand: the readings are this project's own data format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Iterator

import httpx

from chatcontract import specs

MISSING: Any = object()  # a JSON pointer that does not resolve (distinct from JSON null)
FORM_CHECKS = ("example", "schema")


# --------------------------------------------------------------------------- the readings

@dataclass(frozen=True)
class Reading:
    """One item of a decision's `readings`, with the decision it comes from."""

    platform: str
    decision_at: str  # JSON pointer of the x-decisions entry in specs/<platform>.yaml
    decision: dict[str, Any] = field(hash=False, compare=False)
    index: int = 0
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def at(self) -> str:
        return f"{self.decision_at}/readings/{self.index}"

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def kind(self) -> str:
        return "request" if "rejection-not-asserted" in self.data else "error"

    @property
    def label(self) -> str:
        number = self.decision.get("ambiguity")
        where = f"decision {number}" if number is not None else f"the decision at {self.decision_at}"
        return f"{where}, reading {self.name}"

    def selects(self, operation_id: str, example_name: str | None = None, trigger: str | None = None) -> bool:
        ops, names, triggers = self.data.get("operations"), self.data.get("examples"), self.data.get("triggers")
        if ops is not None and operation_id not in ops:
            return False
        if example_name is not None and names is not None and example_name not in names:
            return False
        if trigger is not None and triggers is not None and trigger not in triggers:
            return False
        return True

    def mechanical(self) -> list[tuple[str, dict[str, Any]]]:
        """The alternatives a response rewrite can produce: (slug, alternative)."""
        found: list[tuple[str, dict[str, Any]]] = []
        for status in self.data.get("statuses", []):
            found.append((f"status-{status}", {"set_status": status}))
        for pointer, values in (self.data.get("identity") or {}).items():
            for value in values:
                found.append((f"{_slug(pointer)}-{_slug(value)}", {"set": {pointer: value}}))
        if self.data.get("optional-keys"):
            found.append(("without-" + "-".join(_slug(p) for p in self.data["optional-keys"]),
                          {"drop": list(self.data["optional-keys"])}))
        for form in self.data.get("forms", []):
            if form.get("checks", "example") == "example":
                found.append((f"form-{form['status']}", {"set_status": form["status"]}))
        return found


def _slug(value: Any) -> str:
    text = str(value).strip("/").replace("/", "-")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:40] or "empty"


@cache
def _all(platform: str) -> tuple[Reading, ...]:
    found = []
    for at, entry in decision_entries(platform):
        for index, data in enumerate(entry.get("readings") or []):
            found.append(Reading(platform, at, entry, index, data))
    return tuple(found)


def decision_entries(platform: str) -> list[tuple[str, dict[str, Any]]]:
    """Every `x-decisions` entry of the spec with its own JSON pointer, in document order."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(node: Any, where: tuple) -> None:
        if isinstance(node, dict):
            for index, entry in enumerate(node.get("x-decisions") or []):
                if isinstance(entry, dict):
                    found.append((specs.pointer(*where, "x-decisions", index), entry))
            for key, value in node.items():
                if key != "x-decisions":
                    walk(value, (*where, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*where, index))

    walk(specs.load_spec(platform), ())
    return found


def all_readings(platform: str) -> Iterator[Reading]:
    """Every reading of the platform's spec, each with the decision it comes from."""
    yield from _all(platform)


@cache
def empty_body_accepted(platform: str, operation_id: str, status: int) -> bool:
    """Whether a decision lets the operation answer `status` with no body at all (`empty-bodies`)."""
    from chatcontract.suite.expect import status_matches

    return any(reading.selects(operation_id) and any(status_matches(str(key), status)
                                                      for key in reading.data.get("empty-bodies", []))
               for reading in _all(platform))


def rejection_not_asserted(platform: str, operation_id: str) -> set[str]:
    """The request parts (`query.ignore`, `body.duration`, `body.timestamp:pattern`...) whose
    rejection the suite must not assert for this operation when they are missing or odd."""
    parts: set[str] = set()
    for reading in _all(platform):
        if reading.kind == "request" and reading.selects(operation_id):
            parts.update(reading.data["rejection-not-asserted"])
    return parts


# --------------------------------------------------------------------------- documented errors

def documented_errors(platform: str) -> Iterator[tuple[specs.Operation, str, str, dict[str, Any]]]:
    """(operation, status key, example name, example) for every example with an x-trigger."""
    document = specs.spec_path(platform)
    for op in specs.operations(platform):
        for key, raw in op.responses.items():
            _, definition, _ = specs.deref(document, raw)
            for media in (definition.get("content") or {}).values():
                for name, example in (media.get("examples") or {}).items():
                    _, example, _ = specs.deref(document, example)
                    if isinstance(example, dict) and "x-trigger" in example:
                        yield op, key, name, example


def lookup(document: Any, pointer: str) -> Any:
    """The value at a JSON pointer, or MISSING (a JSON null that is there is None)."""
    node = document
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return MISSING
    return node


def example_keys(value: Any, prefix: str = "") -> list[str]:
    """The JSON pointers of every object member of an example's value (lists are leaves)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            pointer = f"{prefix}/{str(key).replace('~', '~0').replace('/', '~1')}"
            found.append(pointer)
            found += example_keys(child, pointer)
    return found


def identity_pointers(platform: str, example: dict[str, Any]) -> list[str]:
    """The pointers that identify a documented error: the platform's, then the example's own."""
    spec = specs.load_spec(platform)
    return list(dict.fromkeys([*spec["x-target"]["error-identity"], *example.get("x-identity", [])]))


@dataclass(frozen=True)
class Form:
    """A body form a decision accepts under `status`: a JSON Schema (at `schema_at` in the spec);
    `checks` "example": the example's keys and identity still apply; "schema": only the schema."""

    status: str
    schema_at: str
    checks: str
    reading: Reading


@dataclass
class ErrorReadings:
    """Everything the decisions accept for one documented error example."""

    platform: str
    operation_id: str
    example_name: str
    key: str  # the example's own response key
    example: dict[str, Any]
    statuses: set[str] = field(default_factory=set)
    identity: dict[str, list[Any]] = field(default_factory=dict)
    optional_keys: set[str] = field(default_factory=set)
    forms: list[Form] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)

    def _why(self) -> str:
        return f" (accepted per {'; '.join(r.label for r in self.readings)})" if self.readings else ""

    def optional(self, pointer: str) -> bool:
        return any(pointer == p or pointer.startswith(p + "/") for p in self.optional_keys)

    def accepted_statuses(self) -> list[str]:
        return [self.key, *sorted(s for s in self.statuses if s != self.key), *(f.status for f in self.forms)]

    def check(self, op: specs.Operation, example: dict[str, Any] | None, response: httpx.Response) -> Any:
        """Raise expect.Mismatch unless the response is a reading of this documented error that the
        example or some decision accepts; return the parsed body."""
        from chatcontract.suite.expect import Mismatch, _short, _status, documented_body, form_body, status_matches

        example = self.example if example is None else example
        code = response.status_code
        status_keys = [self.key, *sorted(s for s in self.statuses if s != self.key)]
        if any(status_matches(k, code) for k in status_keys):
            body = documented_body(op, response)
            self._example_checks(op, example, response, body)
            return body
        forms = [f for f in self.forms if status_matches(f.status, code)]
        if not forms:
            raise Mismatch(f"{op.label} answered {_status(response)}, expected "
                           f"{' or '.join(dict.fromkeys(self.accepted_statuses()))} for the documented error "
                           f"{self.example_name}{self._why()}; body: {_short(response)}")
        failures: list[Mismatch] = []
        for form in forms:  # any one form the decisions accept under this status will do
            try:
                body = form_body(op, response, specs.spec_path(self.platform), form.schema_at,
                                 f"the form {form.reading.name} ({form.reading.label})")
                if form.checks == "example":
                    self._example_checks(op, example, response, body)
                return body
            except Mismatch as failure:
                failures.append(failure)
        raise failures[0]

    def _example_checks(self, op: specs.Operation, example: dict[str, Any], response: httpx.Response, body: Any) -> None:
        """Every key the example carries is there (unless optional); each identifying pointer has
        an accepted value."""
        from chatcontract.suite.expect import Mismatch, _short

        name, summary, code = self.example_name, example.get("summary", ""), response.status_code
        value = example.get("value")
        for pointer in example_keys(value):
            if lookup(body, pointer) is MISSING and not self.optional(pointer):
                raise Mismatch(f"{op.label} answered {code} without {pointer}, which the documented error "
                               f"{name} ({summary}) carries{self._why()}; body: {_short(response)}")
        for pointer in identity_pointers(self.platform, example):
            accepted = self.identity.get(pointer, [lookup(value, pointer)])
            got = lookup(body, pointer)
            if got is MISSING and (self.optional(pointer) or MISSING in accepted):
                continue
            if not any(_same(got, a) for a in accepted):
                shown = [a for a in accepted if a is not MISSING] or ["(absent)"]
                raise Mismatch(f"{op.label} answered {code} with {pointer} = "
                               f"{'(absent)' if got is MISSING else repr(got)}; the documented error {name} "
                               f"({summary}) has {' or '.join(repr(a) for a in shown)}{self._why()}")


def _same(got: Any, expected: Any) -> bool:
    """JSON equality: `true` is not `1`, absent is only absent."""
    if got is MISSING or expected is MISSING:
        return got is expected
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is type(expected) and got == expected
    return got == expected


@cache
def _examples(platform: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(op.operation_id, key, name): example for op, key, name, example in documented_errors(platform)}


def error_readings(platform: str, operation_id: str, example_name: str, key: str | None = None) -> ErrorReadings:
    """What the decisions accept for the documented error `example_name` of the operation (`key`:
    its response key, where one name stands under two statuses; default: the one that is provoked)."""
    candidates = [(k, ex) for (op_id, k, n), ex in _examples(platform).items()
                  if op_id == operation_id and n == example_name and (key is None or k == key)]
    if not candidates:
        raise specs.SpecError(f"{platform} {operation_id} has no documented error example {example_name!r}")
    candidates.sort(key=lambda c: "skip" in (c[1].get("x-provoke") or {}))
    own_key, example = candidates[0]
    result = ErrorReadings(platform, operation_id, example_name, own_key, example, statuses={own_key})
    value = example.get("value")
    for pointer in identity_pointers(platform, example):
        result.identity[pointer] = [lookup(value, pointer)]
    for reading in _all(platform):
        if reading.kind != "error" or not reading.selects(operation_id, example_name, example.get("x-trigger")):
            continue
        result.readings.append(reading)
        result.statuses.update(reading.data.get("statuses", []))
        for pointer, values in (reading.data.get("identity") or {}).items():
            accepted = result.identity.setdefault(pointer, [lookup(value, pointer)])
            accepted += [v for v in values if not any(_same(v, a) for a in accepted)]
        result.optional_keys.update(reading.data.get("optional-keys", []))
        for index, form in enumerate(reading.data.get("forms", [])):
            result.forms.append(Form(str(form["status"]), f"{reading.at}/forms/{index}/schema",
                                     form.get("checks", "example"), reading))
    return result


# --------------------------------------------------------------------------- tolerated variants

def _concrete(status: str, avoid: str) -> int:
    """A status code for a response key: the key itself, or for a range one the range holds
    that differs from `avoid` (422 for 4XX: a code no reference server uses)."""
    if status.isdigit():
        return int(status)
    return {"4": 422, "5": 503, "2": 202}.get(status[0], int(status[0]) * 100)


def _when(platform: str, example: dict[str, Any], siblings: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """The body values that single out this example's responses: its identifying values, or
    (for a platform whose errors carry none) its top-level values; where a sibling example
    (same operation and status) has the same identifying values, also the top-level strings
    that tell the two apart (Agora's `error_description`)."""
    value = example.get("value")
    pointers = identity_pointers(platform, example)
    found = {p: lookup(value, p) for p in pointers if lookup(value, p) is not MISSING}
    top = {"/" + k.replace("~", "~0").replace("/", "~1"): v for k, v in value.items()} if isinstance(value, dict) else {}
    if not found:
        return top
    same = [s.get("value") for s in siblings if s is not example
            and all(_same(lookup(s.get("value"), p), v) for p, v in found.items())]
    for pointer, text in top.items():
        if same and isinstance(text, str) and any(not _same(lookup(other, pointer), text) for other in same):
            found[pointer] = text
    return found


def variants(platform: str) -> dict[str, dict[str, Any]]:
    """A tolerated fault entry (servers/core/faults.py format, with `transforms`) per mechanical
    alternative of every error reading: the reference server answers the examples the reading is
    about with that alternative instead."""
    found: dict[str, dict[str, Any]] = {}
    for reading in _all(platform):
        if reading.kind != "error":
            continue
        for slug, alternative in reading.mechanical():
            transforms = []
            for op, key, name, example in documented_errors(platform):
                if "skip" in (example.get("x-provoke") or {}):
                    continue
                if not reading.selects(op.operation_id, name, example.get("x-trigger")):
                    continue
                siblings = [ex for o, k, _, ex in documented_errors(platform) if o.operation_id == op.operation_id and k == key]
                transform: dict[str, Any] = {"operation": op.operation_id, "status": key,
                                             "when": _when(platform, example, siblings)}
                if "set_status" in alternative:
                    transform["set_status"] = _concrete(str(alternative["set_status"]), key)
                    if str(alternative["set_status"]) == key and key.isdigit():
                        continue  # the example's own status: nothing to vary
                if "set" in alternative and all(_same(lookup(example.get("value"), p), v)
                                                for p, v in alternative["set"].items()):
                    continue  # the example's own value: nothing to vary
                for part in ("set", "drop"):
                    if part in alternative:
                        transform[part] = alternative[part]
                transforms.append(transform)
            if not transforms:
                continue
            found[f"reading-{reading.name}-{slug}"] = {
                "description": f"Generated from {reading.label} ({reading.at}): the documented errors it is "
                               f"about answer with {slug} instead.",
                "kind": "tolerated",
                "generated_from": reading.at,
                "transforms": transforms,
            }
    return found
