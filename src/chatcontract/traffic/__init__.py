"""Check real traffic: HAR files and a live proxy, judged by the same specs as a run.

The pieces, each a small module:

* `exchange.Exchange`: one observed request and response (bodies decoded, capped at 2 MiB);
* `matching.match`: which documented operation an exchange is (the spec's path templates under
  the target's base URL), or "not in the spec" (a skip, never a failure);
* `checks`: the per-exchange verdict with the suite's own code: the response documented
  (`expect.documented_body`), an error one of the documented errors
  (`decisions.error_readings(...).check`), every reading the decisions accept; the request as
  the spec describes it, reported as the client's problem, not the server's;
* `session.Session`: every exchange through every `Observer`, into result records of a run's
  shape and the usual reports (results.json, junit.xml, summary.md via `suite/reports.py`);
* `har`: read HAR 1.2 (devtools, mitmproxy, our own) and write it, redacted (`HarWriter`);
* `proxy`: the checking reverse proxy (Starlette + uvicorn + httpx, bodies streamed);
* `credentials`: the credentials inside recorded traffic, registered for redaction;
* `commands`: `main_check_traffic` and `main_proxy`, the entry points cli.py calls.

**For part 2 (the moderation models observing whole sequences).** Every exchange reaches each
observer of a `Session` as one `checks.Observed` (its index, the `Exchange`, the matched
operation and path parameters, the parsed request and response bodies, and the per-exchange
`Verdict`, whose outcome says whether the response conformed), in the order the exchanges
ended; `finish()` is called once at the end. An observer returns `checks.Verdict`s, each a
result of its own (`Verdict.check` is the result id's suffix after `<index>:<operationId>`, e.g.
`/semantics`; a verdict from `finish()` is filed under `end`). What part 2 must add: an
`Observer` per platform that drives the same model the semantics state machines use (the
machines in `suite/semantics/` first refactored so their model can be fed exchanges it did not
choose), judging reads against the writes before them, accepting every reading the decisions
allow, and saying "cannot judge" (a `skip` verdict) where the trace lacks what it needs (state
from before the trace began, the clock); then pass it in `Session(observers=[...])` from
`commands.check_traffic` and `commands.main_proxy` (both already take the list through
`Session`), and a test of HAR files with planted sequence faults.
"""
