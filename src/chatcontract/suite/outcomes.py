"""The five outcomes of a conformance test, never blurred: pass, fail, skip, disabled, error.

`fail` means the target is wrong; `error` means the harness or the network failed (the target
was unreachable, a connection broke, a fixture the target file promised is missing).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from chatcontract.suite.cases import Case

KINDS = ("pass", "fail", "skip", "disabled", "error")
_HARNESS_ERRORS = ("TargetUnreachable", "FixtureError", "ConnectError", "ConnectTimeout", "ReadTimeout",
                   "WriteTimeout", "PoolTimeout", "ReadError", "WriteError", "RemoteProtocolError",
                   "ConnectionError", "Timeout", "ChunkedEncodingError", "TooManyRedirects")


@dataclass
class Outcome:
    kind: str  # one of KINDS
    message: str = ""  # one line
    detail: str = ""
    accepted: bool = False  # a failure the baseline accepts


def result_record(case: Case, outcome: Outcome, curl: str, duration_s: float) -> dict[str, Any]:
    """One result as plain data (it crosses from xdist workers to the controller), redacted."""
    target = case.target
    return {
        "id": case.test_id,
        "target": target.name,
        "api": target.api,
        "layer": case.layer,
        "behaviour": case.behaviour,
        "operation_id": case.operation_id,
        "matrix_row": case.matrix_row,
        "behaviours": dict(case.extra.get("behaviours", {})),
        "fact": case.fact.as_dict(),
        "outcome": outcome.kind,
        "accepted_by_baseline": outcome.accepted,
        "message": target.redact(outcome.message),
        "detail": target.redact(outcome.detail),
        "curl": target.redact(curl),
        "duration_s": round(duration_s, 4),
    }


@dataclass
class Recorder:
    """Every result of the run, and the (redacted) targets they ran against, in first-seen order."""

    results: list[dict[str, Any]] = field(default_factory=list)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, result: dict[str, Any], target: dict[str, Any]) -> None:
        with self._lock:
            self.results.append(result)
            self.targets.setdefault(target["name"], target)


def _exception_kind(excinfo: Any) -> str:
    """A deviation of the target is an AssertionError; anything else is the harness or network."""
    names = {cls.__name__ for cls in type(excinfo.value).__mro__}
    if names & set(_HARNESS_ERRORS) or not isinstance(excinfo.value, AssertionError):
        return "error"
    return "fail"


def _split(text: str) -> tuple[str, str]:
    text = text.strip()
    first, _, rest = text.partition("\n")
    return first.strip()[:500], rest.strip()[:6000]


def classify(report: pytest.TestReport, call: pytest.CallInfo[None], disabled_prefix: str) -> Outcome | None:
    """The outcome a test report stands for, or None when this phase decides nothing."""
    if report.skipped:
        if hasattr(report, "wasxfail"):
            return Outcome("fail", *_split(report.wasxfail), accepted=True)
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        kind = "disabled" if reason.startswith(disabled_prefix) else "skip"
        return Outcome(kind, *_split(reason))
    if report.when == "setup":
        if report.failed and call.excinfo is not None:
            exc = call.excinfo.value
            text = str(exc) if type(exc).__name__ == "TargetUnreachable" else f"{type(exc).__name__}: {exc}"
            return Outcome("error", *_split(text))
        return None
    if report.when == "call":
        if report.passed:
            return Outcome("pass")
        if call.excinfo is None:  # a strict XPASS: the baseline lists a failure that now passes
            return Outcome("fail", "this check now passes: remove it from the baseline so the list only shrinks")
        kind = _exception_kind(call.excinfo)
        text = str(call.excinfo.value) or type(call.excinfo.value).__name__
        if kind == "error":
            text = f"{type(call.excinfo.value).__name__}: {text}"
        return Outcome(kind, *_split(text))
    if report.when == "teardown" and report.failed and call.excinfo is not None:
        return Outcome("error", *_split(f"teardown: {call.excinfo.value}"))
    return None
