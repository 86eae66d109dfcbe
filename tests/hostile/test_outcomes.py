"""How an exception becomes an outcome and a one-line reason (suite/outcomes.py).

The schema layer re-raises schemathesis' group of distinct problems as one AssertionError; the
group still decides: deviations make it a `fail`, timeouts and broken connections alone an `error`.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

import pytest
import requests

from chatcontract.suite.outcomes import Outcome, classify


def _outcome(body: Callable[[], None]) -> Outcome:
    call = pytest.CallInfo.from_call(body, when="call")
    outcome = classify(SimpleNamespace(skipped=False, when="call", passed=False), call, "disabled by config")
    assert outcome is not None
    return outcome


def _as_the_schema_layer_does(*problems: BaseException) -> Callable[[], None]:
    def body() -> None:
        try:
            raise BaseExceptionGroup("Schemathesis found 2 distinct failures", list(problems))
        except BaseExceptionGroup as exc:
            raise AssertionError(f"plugdjMuteUser: {exc}") from None

    return body


def test_a_group_of_timeouts_is_an_error_named_by_its_problems() -> None:
    outcome = _outcome(_as_the_schema_layer_does(requests.Timeout("POST /_/mutes: no complete response within 1 s"),
                                                 requests.ConnectionError("ReadError: reset by peer")))
    assert outcome.kind == "error"
    assert outcome.message == ("plugdjMuteUser: 2 problems: Timeout: POST /_/mutes: no complete response within 1 s; "
                               "ConnectionError: ReadError: reset by peer")
    assert outcome.detail.startswith("plugdjMuteUser: Schemathesis found 2 distinct failures")


def test_a_group_with_one_deviation_is_a_fail() -> None:
    outcome = _outcome(_as_the_schema_layer_does(AssertionError("Undocumented status code\n\nReceived: 302"),
                                                 requests.Timeout("GET /_/mutes: no complete response within 1 s")))
    assert outcome.kind == "fail"
    assert outcome.message == "plugdjMuteUser: 2 problems: Undocumented status code; Timeout: GET /_/mutes: no complete response within 1 s"


def test_a_network_error_alone_is_an_error_with_its_type() -> None:
    def body() -> None:
        raise requests.Timeout("GET /_/mutes: no complete response within 1 s")

    outcome = _outcome(body)
    assert (outcome.kind, outcome.message) == ("error", "Timeout: GET /_/mutes: no complete response within 1 s")


def test_a_deviation_keeps_its_first_line_as_the_reason() -> None:
    def body() -> None:
        raise AssertionError("GET /_/mutes answered 500, expected 4XX\nbody: Internal Server Error")

    outcome = _outcome(body)
    assert (outcome.kind, outcome.message, outcome.detail) == (
        "fail", "GET /_/mutes answered 500, expected 4XX", "body: Internal Server Error")
