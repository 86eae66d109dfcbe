"""Run the suite against the clean-room servers: start one variant, run `chatcontract run`, judge.

The servers under `tests/independent/<platform>/` were written from the vendor doc excerpts and
the vendor research alone, by people who had not read the specs, the suite or the reference
servers; each folder has its own catalog (`catalog.yaml`) of faults and tolerated variants,
written before the suite was run against it. `target.yaml` beside each server maps that
server's own seed onto the identities and fixtures the spec's `x-target` asks for; it was
written afterwards, from the seed alone, and says `reset: false, clock: false`: the servers have
no test hooks, as a real deployment would not.

A target file may list catalog entries that change only operations outside the specs (plug.dj
bans, for example) under `x-out-of-scope` with the reason; they are reported, never run or scored.

A verdict per variant, the same rule as the reference servers' selftest but without a layer
(a clean-room catalog does not know the suite's layers):
- faithful, tolerated, partial: the run exits 0 with no `fail` and no `error`;
- fault: the run has at least one `fail` (exit 1), and no `error`.

Used by `tests/suite/test_cleanroom.py` (a quick subset in CI) and `bench/cleanroom.py` (all).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator
from contextlib import contextmanager

import yaml

HERE = Path(__file__).resolve().parent
PLATFORMS = ("rocketchat", "plugdj", "ozeki", "agora", "sendbird")
FAITHFUL = "faithful"
OUT_OF_SCOPE = "out-of-scope"  # never run: the catalog entry is about an operation no spec describes
START_TIMEOUT_S = 20


@dataclass
class Variant:
    platform: str
    name: str  # FAITHFUL, or a catalog entry's name
    kind: str  # faithful | fault | tolerated | partial
    what: str = ""
    implements: list[str] | None = None  # operationIds, for a partial server


@dataclass
class Verdict:
    platform: str
    variant: str
    kind: str
    ok: bool
    exit_code: int
    failed: list[str] = field(default_factory=list)  # test ids with outcome fail
    errors: list[str] = field(default_factory=list)  # test ids with outcome error
    first_message: str = ""
    seconds: float = 0.0
    skipped_not_implemented: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)  # "layer::behaviour" -> outcome


def catalog(platform: str) -> list[Variant]:
    """The faithful server and every variant of the platform's clean-room catalog."""
    data = yaml.safe_load((HERE / platform / "catalog.yaml").read_text(encoding="utf-8")) or {}
    document = target_document(platform)
    mapping = document.get("x-operations", {})
    out_of_scope = document.get("x-out-of-scope", {})
    found = [Variant(platform, FAITHFUL, FAITHFUL, "the server as its author read the docs")]
    for entry in data.get("variants", []):
        implements = entry.get("implements")
        if implements is not None:
            implements = [mapping.get(name, name) for name in implements]
        if entry["name"] in out_of_scope:  # a fault in an operation the spec does not describe
            found.append(Variant(platform, entry["name"], OUT_OF_SCOPE, out_of_scope[entry["name"]]))
            continue
        found.append(Variant(platform, entry["name"], entry["kind"], entry.get("what", ""), implements))
    return found


def target_document(platform: str) -> dict[str, Any]:
    return yaml.safe_load((HERE / platform / "target.yaml").read_text(encoding="utf-8"))


@contextmanager
def running(platform: str, variant: str) -> Iterator[str]:
    """Start the platform's clean-room server with `variant` on a free loopback port; yield its URL."""
    extra = [str(HERE / platform / a) if a.endswith(".yaml") else a
             for a in target_document(platform).get("x-server-args", [])]
    command = [sys.executable, str(HERE / platform / "server.py"), "--host", "127.0.0.1", "--port", "0", *extra]
    if variant != FAITHFUL:
        command += ["--variant", variant]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            raise RuntimeError(f"clean-room {platform} server ({variant}) printed nothing in {START_TIMEOUT_S} s") from None
        if not line.startswith("listening "):
            raise RuntimeError(f"clean-room {platform} server ({variant}) said {line.strip()!r}")
        yield line.split(None, 1)[1].strip().rstrip("/")
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def judge(variant: Variant, *, profile: str = "fast", workdir: Path | None = None,
          extra_args: tuple[str, ...] = ()) -> Verdict:
    """Run `chatcontract run` against one variant and say whether the suite got it right."""
    with tempfile.TemporaryDirectory(prefix="chatcontract-cleanroom-") as tmp:
        work = workdir or Path(tmp)
        document = {k: v for k, v in target_document(variant.platform).items() if not k.startswith("x-")}
        document["name"] = f"cleanroom-{variant.platform}"
        if variant.implements is not None:
            document["implements"] = variant.implements
        target_file = work / f"{variant.platform}-{variant.name}.target.yaml"
        report_dir = work / f"report-{variant.platform}-{variant.name}"
        started = time.monotonic()
        with running(variant.platform, variant.name) as url:
            document["base_url"] = url
            target_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
            finished = subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--target", str(target_file),
                                       "--profile", profile, "--report-dir", str(report_dir), *extra_args],
                                      capture_output=True, text=True, timeout=900, cwd=work)
        seconds = time.monotonic() - started
        results_file = report_dir / "results.json"
        if not results_file.exists():
            tail = (finished.stderr or finished.stdout).strip().splitlines()[-1:] or ["no output"]
            return Verdict(variant.platform, variant.name, variant.kind, False, finished.returncode,
                           first_message=f"no results (exit {finished.returncode}): {tail[0]}", seconds=seconds)
        results = json.loads(results_file.read_text(encoding="utf-8"))["results"]
    failed = [r for r in results if r["outcome"] == "fail"]
    errors = [r for r in results if r["outcome"] == "error"]
    not_implemented = sum(1 for r in results if r["outcome"] == "skip"
                          and str(r.get("message", "")).startswith("not implemented by this target"))
    if variant.kind == "fault":
        ok = bool(failed) and not errors
    else:
        ok = not failed and not errors and finished.returncode == 0
    first = (failed or errors or [{}])[0]
    message = str(first.get("message", "")).splitlines()
    return Verdict(variant.platform, variant.name, variant.kind, ok, finished.returncode,
                   [r["id"] for r in failed], [r["id"] for r in errors], message[0] if message else "",
                   round(seconds, 1), not_implemented,
                   {f"{r['layer']}::{r['behaviour']}": r["outcome"] for r in results})


def as_dict(verdict: Verdict) -> dict[str, Any]:
    return asdict(verdict)
