"""Self-test: run the suite against reference servers with one fault switched on at a time.

Every `kind: fault` of `servers/<platform>/faults.yaml` must make the suite fail, in the layer
its `caught_by` names; every `kind: tolerated` variant must pass. Each run is a separate pytest
process (state and hypothesis settings never leak between faults).

    python -m chatcontract.selftest [PLATFORM ...] [--fault NAME ...] [--profile fast]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from chatcontract import specs
from chatcontract.servers.core.faults import catalog
from chatcontract.servers.serve import start_in_thread, target_document, write_target
from chatcontract.suite.plugin import SUITE_DIR


@dataclass
class Verdict:
    platform: str
    fault: str
    kind: str
    expected_layer: str
    ok: bool
    caught_by: list[str]  # test ids that failed
    first_message: str
    seconds: float  # wall time of the whole pytest run (start-up, collection, every test)
    detection_s: float | None = None  # test time until the first failing test ended (None: nothing failed)
    layers_failed: list[str] | None = None  # the layers with a failing test
    exit_code: int | None = None


def run_one(platform: str, fault: str, *, profile: str, workdir: Path, only_expected_layer: bool = False,
            stop_at_first_failure: bool = False) -> Verdict:
    """Run the suite against `platform` with `fault` on. `only_expected_layer` runs just the layer
    the fault should be caught by (faster; tolerated variants always run every layer);
    `stop_at_first_failure` ends the run at the first failing test (pytest -x: time to a verdict)."""
    entry = catalog(platform)[fault]
    server = start_in_thread(platform, test_hooks=True, faults=(fault,))
    try:
        target_file = workdir / f"{platform}-{fault}.target.yaml"
        document = target_document(platform, server.base_url, test_hooks=True)
        document["name"] = platform
        write_target(target_file, document)
        report_dir = workdir / f"report-{platform}-{fault}"
        started = time.monotonic()
        layers = ["--layer", entry["caught_by"]] if only_expected_layer and entry["kind"] == "fault" else []
        finished = subprocess.run(
            [sys.executable, "-m", "pytest", str(SUITE_DIR), *layers, "--target", str(target_file), "--profile", profile,
             "-q", "-p", "no:cacheprovider", "--report-dir", str(report_dir), *(["-x"] if stop_at_first_failure else [])],
            capture_output=True, text=True, timeout=600,
        )
        seconds = time.monotonic() - started
    finally:
        server.stop()
    results_file = report_dir / "results.json"
    if not results_file.exists():  # the harness itself failed: never counts as caught
        tail = (finished.stderr or finished.stdout).strip().splitlines()[-1:] or ["no output"]
        return Verdict(platform, fault, entry["kind"], entry.get("caught_by", "-"), False, [],
                       f"harness error (exit {finished.returncode}): {tail[0]}", seconds, None, [], finished.returncode)
    results = json.loads(results_file.read_text())["results"]
    failed = [r for r in results if r["outcome"] in ("fail", "error")]
    detection_s = None
    elapsed = 0.0
    for r in results:  # results are recorded in the order the tests ran (no xdist here)
        elapsed += r["duration_s"]
        if r["outcome"] in ("fail", "error"):
            detection_s = round(elapsed, 2)
            break
    if entry["kind"] == "tolerated":
        ok = not failed
    else:
        ok = any(r["layer"] == entry["caught_by"] and r["outcome"] == "fail" for r in failed)
    return Verdict(platform, fault, entry["kind"], entry.get("caught_by", "-"), ok,
                   [r["id"] for r in failed], failed[0]["message"] if failed else "", seconds,
                   detection_s, sorted({r["layer"] for r in failed}), finished.returncode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatcontract.selftest", description=__doc__.splitlines()[0])
    parser.add_argument("platform", nargs="*", help="platforms (default: all)")
    parser.add_argument("--fault", action="append", default=[], help="only these faults")
    parser.add_argument("--profile", default="fast", choices=("fast", "default", "thorough"))
    parser.add_argument("--json", type=Path, help="also write the verdicts here")
    args = parser.parse_args(argv)
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="chatcontract-selftest-") as tmp:
        for platform in args.platform or specs.platforms():
            for fault in catalog(platform):
                if args.fault and fault not in args.fault:
                    continue
                v = run_one(platform, fault, profile=args.profile, workdir=Path(tmp))
                verdicts.append(v)
                mark = "ok  " if v.ok else "BAD "
                print(f"{mark}{v.platform:<11} {v.fault:<34} {v.kind:<9} {v.expected_layer:<9} "
                      f"{v.seconds:5.1f}s {len(v.caught_by)} failing  {v.first_message[:110]}", flush=True)
    if args.json:
        args.json.write_text(json.dumps([v.__dict__ for v in verdicts], indent=2))
    bad = [v for v in verdicts if not v.ok]
    print(f"{len(verdicts) - len(bad)}/{len(verdicts)} as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
