"""The five outcomes of a conformance test, never blurred: pass, fail, skip, disabled, error.

`fail` means the target is wrong; `error` means the harness or the network failed (the target
was unreachable, a connection broke or timed out, a fixture the target file promised is missing).
A group of problems (schemathesis reports several distinct failures at once) is a `fail` when at
least one of them is a deviation of the target, else an `error`; its one-line reason names them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from chatcontract.redaction import redact
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
        "message": redact(outcome.message),
        "detail": redact(outcome.detail),
        "curl": redact(curl),
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


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def _deciding(exc: BaseException) -> BaseException:
    """The exception that decides the outcome. A layer that re-raises a group of problems with a
    one-line lead (`raise AssertionError(...) from None`) keeps the group as its context."""
    context = exc.__context__
    if exc.__suppress_context__ and isinstance(context, BaseExceptionGroup) and not isinstance(exc, BaseExceptionGroup):
        return context
    return exc


def _is_deviation(exc: BaseException) -> bool:
    """A deviation of the target is an AssertionError; anything else is the harness or network."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return isinstance(exc, AssertionError) and not names & set(_HARNESS_ERRORS)


def _exception_kind(excinfo: Any) -> str:
    return "fail" if any(_is_deviation(leaf) for leaf in _leaves(_deciding(excinfo.value))) else "error"


def _title(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0].strip()
    return first if _is_deviation(exc) else f"{type(exc).__name__}: {first}".rstrip(": ")


def _group_reason(exc: BaseException, lead: str) -> str | None:
    """`<lead's label>: N problems: title; title` for a group of problems, else None."""
    group = _deciding(exc)
    if not isinstance(group, BaseExceptionGroup) or getattr(exc, "described", False):
        return None  # (a layer that described each problem itself keeps its own lead line)
    titles = list(dict.fromkeys(_title(leaf) for leaf in _leaves(group)))
    label, sep, _ = lead.partition(": ")
    prefix = f"{label}: " if sep and " " not in label else ""
    count = f"{len(titles)} problems: " if len(titles) > 1 else ""
    return prefix + count + "; ".join(titles)


def _split(text: str) -> tuple[str, str]:
    """The first line and the rest, each redacted before it is cut (redaction.py)."""
    text = redact(text).strip()
    first, _, rest = text.partition("\n")
    return first.strip()[:500], rest.strip()[:12000]


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
        exc = call.excinfo.value
        if type(exc).__name__ == "NotProvided":  # wire.NotProvided: an optional fixture left out
            return Outcome("skip", *_split(str(exc)))
        kind = _exception_kind(call.excinfo)
        text = str(exc) or type(exc).__name__
        if kind == "error" and _deciding(exc) is exc and not getattr(exc, "plain", False):
            text = f"{type(exc).__name__}: {text}"
        message, detail = _split(text)
        reason = _group_reason(exc, message)
        if reason is not None:
            message, detail = redact(reason)[:500], f"{message}\n{detail}".strip()
        return Outcome(kind, message, detail)
    if report.when == "teardown" and report.failed and call.excinfo is not None:
        return Outcome("error", *_split(f"teardown: {call.excinfo.value}"))
    return None
