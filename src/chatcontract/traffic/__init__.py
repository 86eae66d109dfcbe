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
* `commands`: `main_check_traffic` and `main_proxy`, the entry points cli.py calls;
* `sequence.SequenceObserver`: the platform's moderation `Model` (the one its semantic state
  machine drives, `suite/semantics/<platform>.py`) fed every exchange in the order the requests
  arrived, each read judged against the writes before it (`<index>:<operationId>/semantics`);
  "cannot judge" where the trace lacks what it needs (state from before it, exchanges that
  overlapped a write, a change it could not follow).

Every exchange reaches each observer of a `Session` as one `checks.Observed` (its index, the
`Exchange`, the matched operation and path parameters, the parsed bodies and the per-exchange
`Verdict`), in order; `finish()` is called once at the end. An observer returns
`checks.Verdict`s, each a result of its own (`Verdict.check` is the id's suffix, `Verdict.about`
the exchange it judges when that is not the one just observed).
"""
