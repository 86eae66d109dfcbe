"""A traffic session: every exchange through every observer, in order, into the usual reports.

`Session.add(exchange)` registers the exchange's credentials for redaction, matches it to an
operation, hands one `Observed` to each observer (the per-exchange `ExchangeChecker` first, so
later observers see its verdict) and turns each `Verdict` into one result record of the shape a
run writes (`outcomes.result_record`: id, layer, behaviour, matrix row, fact, outcome, message,
curl...), so `reports.junit`, `reports.markdown` and `chatcontract docs --results` read it as
they read a run. Result ids are `<target>::traffic::<index>:<operationId>` (`index`: the
exchange's 0-based place in the traffic, `unmatched` for an exchange in no operation), with an
observer's own suffix after it. `write(report_dir)` writes results.json, junit.xml and
summary.md; `exit_code()` is the run's (`runner.exit_code`: 3 an error, 1 a fail, else 0).
"""

from __future__ import annotations

import json
import shlex
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any, Callable

from chatcontract import redaction
from chatcontract.runner import exit_code
from chatcontract.suite import reports
from chatcontract.suite.cases import Fact
from chatcontract.suite.outcomes import Recorder
from chatcontract.traffic import credentials, matching
from chatcontract.traffic.checks import ExchangeChecker, Observed, Observer, Verdict
from chatcontract.traffic.exchange import Exchange

LAYER = "traffic"
PROFILE = "traffic"
UNMATCHED = "unmatched"
CURL_BODY_CHARS = 4000  # a longer request body is left out of the curl line (it says so)
Checked = Callable[[Exchange, list[dict[str, Any]]], None]  # told of each exchange checked, in order
_SKIP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}


def escaped(text: str) -> str:
    """`text` with every control or otherwise unprintable character written as an escape, so a
    terminal line can never be rewritten by what a server sent (ANSI sequences, `\\r`)."""
    return "".join(c if c.isprintable() and unicodedata.category(c) not in ("Cc", "Cf") else
                   c.encode("unicode_escape").decode("ascii") for c in text)


def curl(exchange: Exchange) -> str:
    """The exchange as a copy-paste curl command (credentials hidden by `redaction.redact`)."""
    parts = ["curl", "-X", exchange.method.upper(), shlex.quote(exchange.url)]
    for name, value in exchange.request_headers:
        if name.lower() not in _SKIP_HEADERS and not name.startswith(":"):
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if exchange.request_body:
        text = exchange.request_body.decode("utf-8", "replace")
        if len(text) > CURL_BODY_CHARS or exchange.request_truncated:
            parts.append(f"# (a request body of {len(exchange.request_body):,} bytes, left out)")
        else:
            parts += ["--data-raw", shlex.quote(text)]
    return redaction.redact(" ".join(parts))


class Session:
    """The observers and the results of one stream of traffic (a HAR file, a proxy's life)."""

    def __init__(self, api: str, *, target: dict[str, Any], base_url: str | None = None,
                 observers: list[Observer] | None = None) -> None:
        self.api = api
        self.target = target  # the redacted target document the reports embed (name, api, base_url...)
        self.base_url = base_url
        self.observers: list[Observer] = [ExchangeChecker(), *(observers or [])]
        self.recorder = Recorder()
        self._lock = threading.Lock()  # observers see the exchanges one at a time, in order
        self._count = 0  # exchanges checked
        self._next_slot = 0  # the next place in the order to hand out
        self._head = 0  # the next place whose exchange the observers are waiting for
        self._pending: dict[int, Exchange] = {}  # exchanges whose checks finished before an earlier one's
        self._since: dict[int, float] = {}  # place -> when it was handed out (monotonic)

    @property
    def name(self) -> str:
        return self.target["name"]

    @property
    def count(self) -> int:
        return self._count

    def add(self, exchange: Exchange) -> list[dict[str, Any]]:
        """Check one exchange with every observer; its result records (already recorded). For
        exchanges that arrive one after another (a HAR file's entries, in its order)."""
        credentials.register(self.api, exchange)
        with self._lock:
            return self._judge(self._count, exchange)

    def reserve(self) -> int:
        """A place in the order for an exchange whose request has just arrived (the proxy):
        observers see exchanges in the order their requests arrived, whatever order their checks
        finish in (the answer of one goes out while the next is forwarded)."""
        with self._lock:
            slot = self._next_slot
            self._next_slot += 1
            self._since[slot] = time.monotonic()
            return slot

    def add_in_order(self, slot: int, exchange: Exchange, then: Checked, stall_s: float = 30.0) -> int:
        """Check the exchange of `slot` once every earlier slot's has been checked, calling
        `then(exchange, records)` for each exchange checked, in order (this one and any that
        waited on it; maybe none), before the next is checked; how many were. A slot whose
        exchange never came (the client went away) is given up after `stall_s` seconds, and each
        observer is told (`missed`)."""
        credentials.register(self.api, exchange)
        with self._lock:
            self._pending[slot] = exchange
            return self._drain(then, stall_s)

    def _drain(self, then: Checked, stall_s: float | None) -> int:
        done = 0
        while self._head < self._next_slot:
            if self._head in self._pending:
                exchange = self._pending.pop(self._head)
                then(exchange, self._judge(self._head, exchange))
                done += 1
            elif self._pending and (stall_s is None or time.monotonic() - self._since.get(self._head, 0.0) > stall_s):
                for observer in self.observers:
                    getattr(observer, "missed", lambda: None)()
            else:
                break
            self._since.pop(self._head, None)
            self._head += 1
        return done

    def _judge(self, index: int, exchange: Exchange) -> list[dict[str, Any]]:
        self._count += 1
        observed = Observed(index, exchange, matching.match(self.api, exchange.method, exchange.url, self.base_url))
        verdicts: list[Verdict] = []
        for observer in self.observers:
            verdicts += observer.observe(observed)
        return [self._record(v.about or observed, v) for v in verdicts]

    def flush(self, then: Checked) -> int:
        """Check every exchange still waiting for an earlier one that never came (at the end)."""
        with self._lock:
            return self._drain(then, None)

    def finish(self) -> list[dict[str, Any]]:
        """What each observer has left to say at the end (a sequence it could not judge...)."""
        records = []
        with self._lock:
            for observer in self.observers:
                records += [self._record(v.about, v) for v in observer.finish()]
        return records

    def _record(self, observed: Observed | None, verdict: Verdict) -> dict[str, Any]:
        op = observed.operation if observed is not None else None
        operation_id = op.operation_id if op is not None else ""
        where = f"{observed.index}:{operation_id or UNMATCHED}" if observed is not None else "end"
        behaviour = where + verdict.check
        if op is not None:
            fact = Fact.of_operation(op).as_dict()
        else:
            fact = {"spec": f"specs/{self.api}.yaml", "vendor_doc": "", "summary": verdict.matrix_row}
        exchange = observed.exchange if observed is not None else None
        record = {
            "id": f"{self.name}::{LAYER}::{behaviour}",
            "target": self.name,
            "api": self.api,
            "layer": LAYER,
            "behaviour": behaviour,
            "operation_id": operation_id,
            "matrix_row": verdict.matrix_row,
            "behaviours": dict(verdict.behaviours),
            "fact": fact,
            "outcome": verdict.outcome,
            "accepted_by_baseline": False,
            "message": redaction.redact(verdict.message),
            "detail": redaction.redact(verdict.detail),
            "curl": curl(exchange) if exchange is not None and verdict.outcome in ("fail", "error") else "",
            "duration_s": round(exchange.duration_s, 4) if exchange is not None else 0.0,
            "side": verdict.side,
        }
        if exchange is not None:
            record["exchange"] = {"index": observed.index, "method": exchange.method,
                                  "url": redaction.redact(exchange.url), "status": exchange.status,
                                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exchange.started))}
        self.recorder.add(record, self.target)
        return record

    def document(self) -> dict[str, Any]:
        if not self.recorder.targets:  # no traffic at all: the target still shows, with zeros
            self.recorder.targets[self.name] = self.target
        return reports.result_document(self.recorder, profile=PROFILE, finished_at=time.time())

    def write(self, report_dir: Path) -> dict[str, Any]:
        """results.json, junit.xml and summary.md in `report_dir`; the results document."""
        document = self.document()
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "results.json").write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        reports.junit(document).write(report_dir / "junit.xml", encoding="utf-8", xml_declaration=True)
        (report_dir / "summary.md").write_text(reports.markdown(document), encoding="utf-8")
        return document

    def exit_code(self) -> int:
        return exit_code(self.document())


def line(record: dict[str, Any]) -> str:
    """One result as a terminal line: `pass <id>` or `FAIL <id>: <message>`, escaped."""
    text = f"{reports.SYMBOL[record['outcome']]} {record['id']}"
    if record["message"]:
        text += f": {record['message']}"
    return escaped(redaction.redact(text))
