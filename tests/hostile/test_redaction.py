"""Credentials never reach a report, whatever form a target echoes them in and wherever a text is
cut, quoted or escaped.

A property test: random secrets (every printable ASCII character, for the credential the suite
sends; any printable Unicode, for one it never sends) become a target's credentials, the target's
base URL carries one in its path, and a loopback server echoes both back in every encoding a
server or debug page might use — JSON with `\\/` and full or partial `\\uXXXX` escaping, percent-
encoding in either case, `+` for spaces, HTML entities named, decimal and hex, base64 of
`Bearer <secret>` and `user:<secret>`, shell quoting — after a prefix of random length, so the
200-character body quote and the 120-character Location quote fall anywhere, also inside a
secret. The real pipeline then runs (wire, expectation, outcome, reports, terminal lines) and no
output byte may hold the secret in any form a reader could decode.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatcontract import specs
from chatcontract.runner import show
from chatcontract.servers.serve import target_document
from chatcontract.suite import reports
from chatcontract.suite.cases import Case, Fact
from chatcontract.suite.expect import documented_body
from chatcontract.suite.outcomes import Recorder, classify, result_record
from chatcontract.suite.wire import Wire, base_call
from chatcontract.targets import from_document
from tests.hostile.servers import serving

pytestmark = pytest.mark.xdist_group("hostile-redaction")

SENT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=8, max_size=40)
NEVER_SENT = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), min_size=8, max_size=24)


def echoes(secret: str) -> list[str]:
    """`secret` in every form a server might echo it."""
    raw = secret.encode()
    dumped = json.dumps(secret)[1:-1]
    every_u = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else json.dumps(c)[1:-1] for c in secret)
    half_u = "".join(f"\\u{ord(c):04X}" if i % 2 and ord(c) < 0x10000 else json.dumps(c)[1:-1] for i, c in enumerate(secret))
    lower = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe=""))
    return [
        secret, dumped, dumped.replace("/", "\\/"), json.dumps(secret, ensure_ascii=False)[1:-1], every_u, half_u,
        quote(secret, safe=""), quote(secret), lower, quote_plus(secret),
        html.escape(secret), "".join(f"&#{ord(c)};" for c in secret), "".join(f"&#x{ord(c):X};" for c in secret),
        base64.b64encode(b"Bearer " + raw).decode(), base64.b64encode(b"user:" + raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="), shlex.quote(secret), repr(secret),
    ]


def readable_forms(secret: str) -> set[str]:
    """The forms a reader of a report could decode the secret from (raw, and as each report
    format escapes it)."""
    escaped_md = re.sub(r"([\\`*_{}\[\]()|~])", r"\\\1", html.escape(secret, quote=False))
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], html.escape(secret),
            html.escape(secret, quote=False), escaped_md, quote(secret, safe="")}


class _Echo:
    """A target that answers every request with a 302 whose Location and body echo the secrets."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.body_prefix = 0
        self.location_prefix = 0

    def app(self) -> Starlette:
        async def answer(request: Request) -> Response:
            body = "x" * self.body_prefix + " | ".join(form for s in self.secrets for form in echoes(s))
            location = "http://127.0.0.2:1/" + "p" * self.location_prefix + "?t=" + quote(self.secrets[0], safe="")
            return Response(body, status_code=302, media_type="text/plain", headers={"Location": location})
        return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST", "DELETE"])])


@pytest.fixture(scope="module")
def echo() -> Iterator[tuple[_Echo, str]]:
    own = _Echo()
    with serving(own.app()) as url:
        yield own, url


def _outputs(echo: tuple[_Echo, str], directory: Path, sent: str, never_sent: str) -> dict[str, bytes]:
    """Everything a run shows for one failing check against the echoing target."""
    own, url = echo
    own.secrets = [sent, never_sent]
    document = target_document("plugdj", url, test_hooks=False)
    # As a target file writes a literal value: `${` would start an environment reference (targets.py).
    document["credentials"]["moderator"]["session"] = sent.replace("${", "$${")
    document["credentials"]["host"]["session"] = never_sent.replace("${", "$${")
    document["base_url"] = f"{url}/t/{quote(sent, safe='')}"
    target = from_document(document, where="echo.target.yaml", default_name="echo")
    wire = Wire(target)
    operation = specs.operation_by_id("plugdj", "plugdjListMutes")

    def check() -> None:
        documented_body(operation, wire.send(base_call(target, "plugdjListMutes", **{"as": "moderator"})),
                        expect_key="200")

    try:
        call = pytest.CallInfo.from_call(check, when="call")
    finally:
        wire.close()
    outcome = classify(SimpleNamespace(skipped=False, when="call", passed=False), call, "disabled by config")
    assert outcome is not None and outcome.kind == "fail", outcome
    case = Case(target=target, layer="errors", behaviour="echo", operation_id="plugdjListMutes", matrix_row="echo",
                fact=Fact.of_operation(operation, summary="echo"))
    recorder = Recorder()
    recorder.add(result_record(case, outcome, wire.curl(), 0.01), target.redacted())
    document_out = reports.write_all(directory, recorder, profile="fast", finished_at=0)
    terminal = io.StringIO()
    show(document_out, Console(file=terminal, width=300))
    terminal.write("\n".join(reports.summary_lines(recorder)))
    found = {name: (directory / name).read_bytes() for name in ("results.json", "junit.xml", "summary.md")}
    found["terminal"] = terminal.getvalue().encode()
    return found


_VOCABULARY: list[bytes] = []


def _vocabulary(echo, tmp_path_factory) -> list[bytes]:
    """Every output of one run whose secrets share no character run with the examples' (built once)."""
    if not _VOCABULARY:
        echo[0].body_prefix, echo[0].location_prefix = 0, 0
        _VOCABULARY.extend(_outputs(echo, tmp_path_factory.mktemp("vocabulary"), "\x7f" * 8, "\x7f" * 9).values())
    return _VOCABULARY


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sent=SENT, never_sent=NEVER_SENT, body_prefix=st.integers(0, 220), location_prefix=st.integers(0, 140))
@example(sent="k9${Q}x$${z", never_sent="Zq${wörd}7", body_prefix=3, location_prefix=5)  # a literal ${ in a secret
def test_no_secret_reaches_any_output_in_any_form(echo, tmp_path_factory, sent: str, never_sent: str,
                                                   body_prefix: int, location_prefix: int) -> None:
    # A secret made of what every report prints anyway (spaces, `<redacted>`, a key such as
    # `operation_id`, found in the reports of a run with other secrets) says nothing.
    vocabulary = _vocabulary(echo, tmp_path_factory)
    for secret in (sent, never_sent):
        assume(secret == secret.strip() and len(set(secret)) >= 4 and secret not in "<redacted> " * 3)
        assume(not any(form.encode() in data for form in readable_forms(secret) for data in vocabulary))
    echo[0].body_prefix, echo[0].location_prefix = body_prefix, location_prefix
    outputs = _outputs(echo, tmp_path_factory.mktemp("redaction"), sent, never_sent)
    assert b"<redacted>" in outputs["summary.md"]  # the echo was quoted, and redacted
    for name, data in outputs.items():
        for secret in (sent, never_sent):
            for form in readable_forms(secret):
                assert form.encode() not in data, f"{name} holds {form!r} (a form of the secret {secret!r})"


@pytest.mark.parametrize("secret", ["it's-a-s3cret'value", "pa/ss\\wo\"rd<&>%2F", "ünïcödé-tøken-€"])
def test_the_named_leaks_of_issue_14(echo, tmp_path: Path, secret: str) -> None:
    """The cases the issue names, pinned: a `'` through shell quoting, `\\/` and `\\u` JSON, lower-case
    percent-encoding, HTML entities, the secret in the base URL's path."""
    outputs = _outputs(echo, tmp_path, "it's-a-s3cret'value" if "ü" in secret else secret, secret)
    for name, data in outputs.items():
        for form in readable_forms(secret):
            assert form.encode() not in data, f"{name} holds {form!r}"
