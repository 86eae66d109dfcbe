"""The fault catalog against plain `st run --checks all` and against chatcontract, side by side in one run.

What the semantic layers add over schemathesis alone. For every platform this script:

1. starts the faithful reference server (fresh, no faults, no test hooks) and runs plain
   schemathesis on the same spec: `st run specs/<platform>.yaml --url URL --checks all
   --max-examples N --no-shrink --seed S --workers 1 -H ...`, N being the `examples` of our
   `default` profile (`src/chatcontract/suite/profiles.yaml`), auth given the plain way: one `-H`
   per credential of the target's first identity (header keys as they are, a cookie key as
   `Cookie: name=value`, HTTP bearer as `Authorization: Bearer ...`). No test hooks, no fixture ids:
   what a user of plain schemathesis would run.
2. for every catalog entry (`servers/<platform>/faults.yaml`, faults and tolerated variants):
   starts a fresh server with that entry switched on and runs (a) the same `st run` and (b)
   chatcontract (`default` profile, every layer, stopping at the first failing test, via
   `chatcontract.selftest.run_one`), timing each.

How "caught by plain schemathesis" is decided: each st failure is reduced to a signature
(operation, failure code and title, e.g. `GET /_/mutes: ST108 Response violates schema`) from st's
JSON report. A fault counts as caught by st
only when the faulty run has at least one signature the faithful run of the same platform (same
seed, same budget) did not have: st failing on the faulty server while passing on the faithful one,
or failing differently. Failing identically on both is not a catch. For a tolerated variant a new
signature is a false alarm. chatcontract's verdict is the selftest's (a fault: some test fails;
a tolerated variant: nothing fails).

    python bench/plain_schemathesis.py                    # all five platforms (~45 min on 2 busy cores)
    python bench/plain_schemathesis.py plugdj --fault list-without-meta

Writes `bench/results/<out>.json` (rewritten after every entry) and `bench/results/<out>.md`
(default out: plain_schemathesis). Credentials are passed to st on its command line only; they
are never written to the results (st's own output is kept in a scratch directory that is deleted).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from chatcontract import specs
from chatcontract.selftest import run_one
from chatcontract.servers.core.faults import catalog
from chatcontract.servers.serve import start_in_thread, target_document
from chatcontract.suite.plugin import SUITE_DIR

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
SEED = 1


def default_examples() -> int:
    profiles = yaml.safe_load((SUITE_DIR / "profiles.yaml").read_text(encoding="utf-8"))
    return int(profiles["default"]["examples"])


def auth_headers(platform: str, credentials: dict[str, dict[str, str]]) -> list[str]:
    """`-H` values for the target's first identity, from the spec's security schemes."""
    schemes = specs.security_schemes(platform)
    identity = next(iter(credentials.values()))
    headers, cookies = [], []
    for scheme_name, value in identity.items():
        scheme = schemes[scheme_name]
        if scheme["type"] == "http" and scheme.get("scheme", "").lower() == "bearer":
            headers.append(f"Authorization: Bearer {value}")
        elif scheme.get("in") == "header":
            headers.append(f"{scheme['name']}: {value}")
        elif scheme.get("in") == "cookie":
            cookies.append(f"{scheme['name']}={value}")
        else:  # query keys: plain st has no flag for them; none of our specs uses one
            raise SystemExit(f"{platform}: security scheme {scheme_name} is not a header or cookie")
    if cookies:
        headers.append("Cookie: " + "; ".join(cookies))
    return headers


def plain_st(platform: str, fault: str | None, examples: int, scratch: Path) -> dict:
    """One `st run` against a fresh server; returns exit code, wall time and failure signatures."""
    server = start_in_thread(platform, test_hooks=False, faults=(fault,) if fault else ())
    report_dir = Path(tempfile.mkdtemp(dir=scratch))
    try:
        credentials = target_document(platform, server.base_url, test_hooks=False)["credentials"]
        command = ["st", "run", str(specs.spec_path(platform)), "--url", server.base_url,
                   "--checks", "all", "--max-examples", str(examples), "--no-shrink", "--seed", str(SEED),
                   "--workers", "1", "--generation-database", "none", "--no-color",
                   "--report", "json", "--report-dir", str(report_dir)]
        for header in auth_headers(platform, credentials):
            command += ["-H", header]
        started = time.monotonic()
        finished = subprocess.run(command, capture_output=True, text=True, timeout=900)
        seconds = time.monotonic() - started
    finally:
        server.stop()
    reports = glob.glob(str(report_dir / "json-*.json"))
    if not reports:
        return {"exit_code": finished.returncode, "seconds": round(seconds, 2), "signatures": [], "error": True,
                "cases": 0}
    report = json.loads(Path(reports[0]).read_text())
    shutil.rmtree(report_dir, ignore_errors=True)
    return {"exit_code": finished.returncode, "seconds": round(seconds, 2), "error": bool(report.get("errors")),
            "cases": report["test_cases"]["generated"], "signatures": sorted(set(signatures(report)))}


def signatures(report: dict) -> list[str]:
    """One `operation | code title` per failure of st's JSON report (its `failures`: code, title, operations)."""
    return [f"{operation}: {failure.get('code', '?')} {failure.get('title', '')}".strip()
            for failure in report.get("failures", []) for operation in failure.get("operations") or ["?"]]


def markdown(rows: list[dict], baselines: dict, examples: int, command: str, wall_s: float) -> str:
    faults = [r for r in rows if r["kind"] == "fault"]
    tolerated = [r for r in rows if r["kind"] == "tolerated"]
    st_caught = sum(r["st_caught"] for r in faults)
    cc_caught = sum(r["cc_caught"] for r in faults)
    st_time = sum(r["st_seconds"] for r in rows)
    cc_time = sum(r["cc_seconds"] for r in rows)
    lines = [
        f"Plain `st run --checks all --max-examples {examples}` (our `default` budget, auth by `-H`) against "
        f"chatcontract (`default` profile, stop at first failure) on the same fault catalog, side by side in one run. "
        f"Reproduce: `{command}`. {os.cpu_count()} cores; total wall time {wall_s / 60:.1f} min.",
        "",
        f"**Faults caught: plain schemathesis {st_caught}/{len(faults)}, chatcontract {cc_caught}/{len(faults)}. "
        f"False alarms on tolerated variants: plain schemathesis {sum(r['st_false_alarm'] for r in tolerated)}/{len(tolerated)}, "
        f"chatcontract {sum(not r['cc_ok'] for r in tolerated)}/{len(tolerated)}. "
        f"Wall time over all entries: st {st_time / 60:.1f} min, chatcontract {cc_time / 60:.1f} min.**",
        "",
        "| platform | plain st on the faithful server | faults caught by st | by chatcontract | caught only by chatcontract | only by st |",
        "|---|---|---|---|---|---|",
    ]
    for name, base in baselines.items():
        f = [r for r in faults if r["platform"] == name]
        state = "passes" if not base["signatures"] else f"fails ({len(base['signatures'])} signatures)"
        lines.append(f"| {name} | {state}, {base['cases']} cases, {base['seconds']:.1f}s | "
                     f"{sum(r['st_caught'] for r in f)}/{len(f)} | {sum(r['cc_caught'] for r in f)}/{len(f)} | "
                     f"{sum(r['cc_caught'] and not r['st_caught'] for r in f)} | {sum(r['st_caught'] and not r['cc_caught'] for r in f)} |")
    lines += ["", "| platform | fault | kind | caught by plain st | new st failures | st time (s) | caught by chatcontract | chatcontract time (s) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] == "fault":
            st_word, cc_word = ("yes" if r["st_caught"] else "no"), ("yes" if r["cc_caught"] else "**no**")
        else:
            st_word = "false alarm" if r["st_false_alarm"] else "passes (ok)"
            cc_word = "passes (ok)" if r["cc_ok"] else "**false alarm**"
        new = "; ".join(r["st_new"])[:160].replace("|", "\\|") or "-"
        lines.append(f"| {r['platform']} | `{r['fault']}` | {r['kind']} | {st_word} | {new} | {r['st_seconds']:.1f} | "
                     f"{cc_word} | {r['cc_seconds']:.1f} |")
    lines += ["", "Plain st failures on the faithful servers (the baseline a fault must add to):", ""]
    for name, base in baselines.items():
        lines.append(f"- {name}: " + ("; ".join(f"`{sig}`" for sig in base["signatures"]) or "none"))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", nargs="*", help="platforms (default: all five)")
    parser.add_argument("--fault", action="append", default=[], help="only these catalog entries")
    parser.add_argument("--out", default="plain_schemathesis", help="result name under bench/results/")
    args = parser.parse_args(argv)
    unknown = [p for p in args.platform if p not in specs.platforms()]
    if unknown:
        print(f"unknown platform {unknown[0]!r} (one of {', '.join(specs.platforms())})", file=sys.stderr)
        return 2
    if shutil.which("st") is None:
        print("the schemathesis CLI `st` is not on PATH (pip install schemathesis)", file=sys.stderr)
        return 3
    examples = default_examples()
    command = " ".join(["python bench/plain_schemathesis.py", *args.platform, *[f"--fault {f}" for f in args.fault]])
    RESULTS_DIR.mkdir(exist_ok=True)
    json_path, md_path = RESULTS_DIR / f"{args.out}.json", RESULTS_DIR / f"{args.out}.md"
    rows: list[dict] = []
    baselines: dict[str, dict] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chatcontract-plain-st-") as tmp:
        scratch = Path(tmp)
        for name in args.platform or specs.platforms():
            entries = [f for f in catalog(name) if not args.fault or f in args.fault]
            if not entries:
                continue
            baselines[name] = plain_st(name, None, examples, scratch)
            print(f"baseline {name}: st exit {baselines[name]['exit_code']}, {len(baselines[name]['signatures'])} "
                  f"failure signatures, {baselines[name]['seconds']:.1f}s", flush=True)
            for fault in entries:
                kind = catalog(name)[fault]["kind"]
                st = plain_st(name, fault, examples, scratch)
                new = sorted(set(st["signatures"]) - set(baselines[name]["signatures"]))
                cc = run_one(name, fault, profile="default", workdir=scratch, stop_at_first_failure=(kind == "fault"))
                row = {"platform": name, "fault": fault, "kind": kind,
                       "st_exit": st["exit_code"], "st_seconds": st["seconds"], "st_new": new,
                       "st_caught": kind == "fault" and bool(new), "st_false_alarm": kind == "tolerated" and bool(new),
                       "cc_ok": cc.ok, "cc_caught": kind == "fault" and bool(cc.caught_by),
                       "cc_first_failing": cc.caught_by[:1], "cc_seconds": round(cc.seconds, 2),
                       "cc_detection_s": cc.detection_s}
                rows.append(row)
                print(f"{name:<11} {fault:<36} {kind:<9} st={'caught' if row['st_caught'] else ('FALSE ALARM' if row['st_false_alarm'] else '-'):<11} "
                      f"{st['seconds']:5.1f}s  cc={'caught' if row['cc_caught'] else ('ok' if cc.ok else 'BAD'):<6} {cc.seconds:5.1f}s",
                      flush=True)
                json_path.write_text(json.dumps({"examples": examples, "seed": SEED, "command": command,
                                                 "baselines": baselines, "rows": rows}, indent=2))
    md_path.write_text(markdown(rows, baselines, examples, command, time.monotonic() - started), encoding="utf-8")
    print(f"wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
