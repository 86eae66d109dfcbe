"""Per-exchange checks of observed traffic, with the suite's own code: is this answer documented,
and is this request what the spec describes?

The response (the server's side) must be documented for the operation, exactly as the suite's
layers judge one (`expect.documented_body`: status, content type, body schema, the empty bodies
a decision allows); an error status must be one of the operation's documented errors, by the
documented-error layer's own verdict (`decisions.error_readings(...).check`: the example's keys,
its identifying fields, every status, value, optional key and body form the decisions accept).
A response that is not documented as such still passes when some decision's reading accepts it
(an error envelope under HTTP 200, another status).

The request (the client's side) must carry what the spec describes: every parameter (path,
query, header, cookie) against its schema and `required`, the JSON body against the request
body schema, through the reference servers' own reader of the spec
(`servers/core/validation.OperationContract`). A problem in a request part whose rejection a
decision leaves open (`decisions.rejection_not_asserted`) is not reported: the docs leave it
open to clients too. Request problems are reported as the client's, not the server's, and an
exchange chatcontract itself recorded while breaking a request on purpose (`Exchange.on_purpose`)
has its request problems noted, not failed. Credentials are not judged here (a missing or wrong
one is a documented error the server must answer, which the response check covers).

`ExchangeChecker` is one `Observer`: every exchange goes through `Observed` objects that a
sequence observer can subscribe to as well (see the package docstring).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from jsonschema.exceptions import ValidationError, best_match
from starlette.datastructures import Headers, QueryParams
from starlette.requests import cookie_parser

from chatcontract import decisions, specs
from chatcontract.redaction import clip, redact
from chatcontract.servers.core import validation
from chatcontract.suite.expect import Mismatch, documented_body, response_definition, status_matches
from chatcontract.suite.guarded import MAX_BODY_BYTES
from chatcontract.traffic.exchange import Exchange
from chatcontract.traffic.matching import Match

RESPONSE_ROW = "traffic: responses as documented (the server's side)"
REQUEST_ROW = "traffic: requests as documented (the client's side)"
UNMATCHED_ROW = "traffic: not in the spec"
CLIENT = "request problem (the client's, not the server's)"


@dataclass
class Verdict:
    """One judgement of an observer about the traffic: a result of the report."""

    outcome: str  # pass | fail | skip | error (outcomes.KINDS; traffic has no `disabled`)
    message: str = ""  # one line, redacted
    detail: str = ""
    check: str = ""  # "" for the per-exchange verdict; an observer's own suffix otherwise (`/semantics`)
    behaviours: dict[str, str] = field(default_factory=dict)  # compatibility-matrix row -> outcome
    matrix_row: str = RESPONSE_ROW
    side: str = ""  # server | client | both | "" : whose fault a failure is
    about: "Observed | None" = None  # the exchange it judges, when it is not the one just observed


@dataclass
class Observed:
    """One exchange as every observer receives it: its place in the traffic, the operation it
    matched (None: not in the spec), the parsed bodies, and the per-exchange verdict."""

    index: int
    exchange: Exchange
    match: Match
    request_json: Any = validation.NO_BODY  # the parsed JSON request body, or NO_BODY
    response_json: Any = None  # the parsed response body, when it was documented JSON
    verdict: Verdict | None = None  # the per-exchange checker's verdict (set before others see it)

    @property
    def operation(self) -> specs.Operation | None:
        return self.match.operation


class Observer(Protocol):
    """Anything that judges traffic: called once per exchange, in order, then once at the end."""

    def observe(self, observed: Observed) -> list[Verdict]: ...

    def finish(self) -> list[Verdict]: ...

    # Optional: `missed()`, told that an exchange in the order never completed (Session.add_in_order).


# --------------------------------------------------------------------------- responses

@cache
def _error_readings(platform: str, operation_id: str) -> tuple[decisions.ErrorReadings, ...]:
    return tuple(decisions.error_readings(platform, op.operation_id, name, key)
                 for op, key, name, _ in decisions.documented_errors(platform) if op.operation_id == operation_id)


def _size(size: int) -> str:
    return f"{size:,} bytes" if size >= 0 else "an unknown size"


def response_problem(op: specs.Operation, exchange: Exchange) -> tuple[str | None, Any, str]:
    """(the first problem with the response or None, its parsed body, a note on which reading
    or documented error it is)."""
    if exchange.response_truncated:
        size = exchange.response_size if exchange.response_size is not None else -1
        return (f"{op.label} sent a response body of {_size(size)}, more than the {MAX_BODY_BYTES // (1024 * 1024)} MiB "
                "chatcontract reads (no documented body is that big)"), None, ""
    response = exchange.response()
    code = response.status_code
    if not exchange.response_recorded:
        try:  # the status must be documented; the body cannot be judged
            response_definition(op, code)
        except Mismatch as failure:
            return str(failure), None, ""
        return None, None, "a documented status (the recording has no body, so only the status is checked)"
    try:
        body = documented_body(op, response)
    except Mismatch as failure:
        for readings in _error_readings(op.platform, op.operation_id):
            if not any(status_matches(form.status, code) for form in readings.forms):
                continue
            try:
                body = readings.check(op, None, response)
            except Mismatch:
                continue
            return None, body, f"{readings.example_name}, accepted as a reading ({'; '.join(r.label for r in readings.readings)})"
        return str(failure), None, ""
    if code < 400:
        return None, body, ""
    candidates = [r for r in _error_readings(op.platform, op.operation_id)
                  if any(status_matches(k, code) for k in r.accepted_statuses())]
    if not candidates:
        return None, body, ""  # a documented error status with no named error to tell apart
    failures: list[tuple[decisions.ErrorReadings, Mismatch]] = []
    for readings in candidates:
        try:
            readings.check(op, None, response)
            return None, body, f"the documented error {readings.example_name}"
        except Mismatch as failure:
            failures.append((readings, failure))
    return _identity_problem(op, code, body, failures), body, ""


def _identity_problem(op: specs.Operation, code: int, body: Any,
                      failures: list[tuple[decisions.ErrorReadings, Mismatch]]) -> str:
    """Why an error answer is none of the documented errors its status stands for: the failure
    of the error it is by its identifying fields (a key missing, say), else its fields beside the
    documented ones."""
    for readings, failure in failures:
        if readings.identity and all(any(decisions._same(decisions.lookup(body, p), a) for a in accepted)
                                     for p, accepted in readings.identity.items()):
            return str(failure)
    pointers = list(dict.fromkeys(p for readings, _ in failures for p in readings.identity))
    if not pointers:
        return str(failures[0][1])
    got = ", ".join(f"{p} = {_shown(decisions.lookup(body, p))}" for p in pointers)
    documented = sorted({_shown(v) for readings, _ in failures for values in readings.identity.values() for v in values})
    names = ", ".join(dict.fromkeys(r.example_name for r, _ in failures))
    return (f"{op.label} answered {code} with {got}, which is none of the documented errors of that status "
            f"({names}; documented values: {', '.join(documented)})")


def _shown(value: Any) -> str:
    return "(absent)" if value is decisions.MISSING else clip(repr(value), 80)


# --------------------------------------------------------------------------- requests

@cache
def _contract(platform: str, operation_id: str) -> validation.OperationContract:
    return validation.OperationContract(platform, operation_id)


@cache
def _extra_parameter_error(platform: str, operation_id: str) -> str | None:
    """The documented error an undocumented parameter provokes (`x-trigger: param-extra`), if any."""
    return next((name for op, _, name, example in decisions.documented_errors(platform)
                 if op.operation_id == operation_id and example.get("x-trigger") == "param-extra"), None)


def _query_credentials(platform: str) -> set[str]:
    return {str(s.get("name")) for s in specs.security_schemes(platform).values()
            if s.get("type") == "apiKey" and s.get("in") == "query"}


_REQUIRED = re.compile(r"^'([^']+)' is a required property")


def _is_open(part: str, keyword: str, open_parts: set[str]) -> bool:
    return part in open_parts or f"{part}:{keyword}" in open_parts


def _body_error_open(error: ValidationError, open_parts: set[str]) -> bool:
    """Whether a body schema error lies wholly in parts a decision leaves open. For `oneOf` /
    `anyOf`, when some branch fails only in open parts."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and not path:
        found = _REQUIRED.match(error.message)
        part = f"body.{found.group(1)}" if found else "body"
    else:
        part = f"body.{path[0]}" if path else "body"
    if _is_open(part, str(error.validator), open_parts) or "body" in open_parts:
        return True
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        return any(all(_body_error_open(sub, open_parts) for sub in subs) for subs in branches.values())
    return False


def _where(error: ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(body)"


def request_problems(op: specs.Operation, exchange: Exchange, path_params: dict[str, str]) -> tuple[list[str], Any]:
    """Every problem with the request (one line each), and the parsed JSON body (or NO_BODY)."""
    contract = _contract(op.platform, op.operation_id)
    open_parts = decisions.rejection_not_asserted(op.platform, op.operation_id)
    headers = Headers(raw=[(k.lower().encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                           for k, v in exchange.request_headers])
    sources = {"query": QueryParams(exchange.query), "path": path_params, "header": headers,
               "cookie": cookie_parser(headers.get("cookie", ""))}
    problems: list[str] = []
    for param in contract.params:
        part = f"{'headers' if param.location == 'header' else param.location}.{param.name}"
        raw = sources.get(param.location, {}).get(param.name)
        if raw is None:
            if param.required and not _is_open(part, "required", open_parts):
                problems.append(f"{param.location} parameter {param.name} is required and was not sent")
            continue
        for error in param.validator.iter_errors(validation._coerce(raw, param.schema)):
            if not _is_open(part, str(error.validator), open_parts):
                problems.append(f"{param.location} parameter {param.name} = {clip(repr(raw), 80)}: {clip(error.message, 160)}")
                break
    extra = _extra_parameter_error(op.platform, op.operation_id)
    if extra is not None:  # the operation documents that it rejects undocumented parameters
        known = contract.param_names("query") | _query_credentials(op.platform)
        for name in dict.fromkeys(k for k, _ in sources["query"].multi_items()):
            if name not in known and not _is_open(f"query.{name}", "additionalProperties", open_parts):
                problems.append(f"query parameter {clip(name, 60)} is not documented (the operation answers an "
                                f"undocumented parameter with its documented error {extra})")
    if exchange.request_truncated:
        problems.append(f"the request body is larger than the {MAX_BODY_BYTES // (1024 * 1024)} MiB chatcontract reads")
        return problems, validation.NO_BODY
    body, problem = contract.parse_body(exchange.request_body)
    if problem is not None and not (problem.kind == "param-missing" and _is_open("body", "required", open_parts)):
        problems.append("the request body is required and was empty" if problem.kind == "param-missing"
                        else f"the request body is not JSON ({clip(problem.message, 120)})")
    if body is not validation.NO_BODY and contract.body_validator is not None:
        media = (exchange.request_header("content-type") or "").split(";")[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            problems.append(f"the request body is sent as {clip(media, 60)!r}; the spec documents application/json")
        try:
            errors = [e for e in contract.body_validator.iter_errors(body) if not _body_error_open(e, open_parts)]
        except RecursionError:
            errors, problems = [], [*problems, "the request body is nested too deeply to check"]
        error = best_match(errors)
        if error is not None:
            problems.append(f"the request body does not match the spec at {_where(error)}: {clip(error.message, 160)}")
    return problems, body


# --------------------------------------------------------------------------- one exchange

def _kind(problems: list[str]) -> str:
    return "fail" if problems else "pass"


class ExchangeChecker:
    """The per-exchange verdict: the response as documented, the request as described."""

    def observe(self, observed: Observed) -> list[Verdict]:
        op, exchange = observed.operation, observed.exchange
        if op is None:
            verdict = Verdict("skip", redact(f"{exchange.method} {clip(exchange.path, 200)}: {observed.match.reason}"),
                              matrix_row=UNMATCHED_ROW)
            observed.verdict = verdict
            return [verdict]
        if exchange.failure or exchange.status == 0:  # no answer to judge
            verdict = (Verdict("error", clip(f"{op.label}: no answer from the target: {exchange.failure}", 500), side="server")
                       if exchange.failure else
                       Verdict("skip", f"{op.label}: the recording has no response (status 0: the client gave up or was blocked)"))
            observed.verdict = verdict
            return [verdict]
        server, body, note = response_problem(op, exchange)
        observed.response_json = body
        client, observed.request_json = request_problems(op, exchange, observed.match.path_params)
        noted = exchange.on_purpose and client
        lines: list[str] = []
        if server:
            lines.append(server)
        if client and not noted:
            lines.append(f"{CLIENT}: {op.label}: " + "; ".join(client))
        side = "both" if server and client and not noted else "server" if server else "client" if client and not noted else ""
        details = [f"answered {exchange.status} for {exchange.method} {exchange.url}"]
        if note:
            details.append(f"the response is {note}")
        if noted:
            details.append("the request breaks the spec on purpose (recorded by chatcontract while it provoked an error): "
                           + "; ".join(client))
        first = (lines[0].splitlines() or [""])[0] if lines else ""
        rest = "\n".join([*lines[0].splitlines()[1:], *lines[1:]]) if lines else ""
        message = first if len(lines) < 2 else f"{len(lines)} problems: {first}"
        verdict = Verdict("fail" if lines else "pass", clip(message, 500), redact("\n".join(filter(None, [rest, *details])))[:6000],
                          behaviours={RESPONSE_ROW: _kind([server] if server else []),
                                      REQUEST_ROW: "pass" if noted else _kind(client)},
                          side=side)
        observed.verdict = verdict
        return [verdict]

    def finish(self) -> list[Verdict]:
        return []
