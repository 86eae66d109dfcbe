"""The whole fault catalog against the conformance suite, as a table: caught or missed, by which test, how fast.

For every entry of every platform's `servers/<platform>/faults.yaml` (every `fault` and every
`tolerated` variant) this starts that platform's reference server with the entry switched on and
runs the suite against it in a fresh pytest process, through `chatcontract.selftest.run_one`:
for a fault, the layer its `caught_by` names, stopping at the first failing test (pytest -x);
for a tolerated variant, all three layers to the end. With `--full` every entry runs all layers
to the end (slower; shows every test that fails). A fault counts as caught when a test of its
layer fails; a tolerated variant is right when nothing fails. Time to detection is the suite's
own test time up to the end of the first failing test (start-up and collection excluded; the
table also gives the wall time of the whole pytest run).

    python bench/selftest_table.py                       # every platform, fast profile (~30 min on 2 busy cores)
    python bench/selftest_table.py --full                # every layer for every entry, no early stop
    python bench/selftest_table.py plugdj --profile default
    python bench/selftest_table.py --out selftest-plugdj # another result name
    python bench/selftest_table.py --resume              # keep the entries an interrupted run measured

Writes `bench/results/<out>.json` (one record per entry, rewritten after each entry so a partial
run keeps what it measured) and `bench/results/<out>.md` (the table README quotes). Exit code 0
when every fault is caught and no tolerated variant fails, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import sys
import tempfile
import time
from pathlib import Path

from chatcontract import specs
from chatcontract.selftest import Verdict, run_one
from chatcontract.servers.core.faults import catalog

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def catching_test(v: Verdict) -> str:
    """The failing test of the expected layer (the first one), else the first failing test."""
    for test_id in v.caught_by:
        if test_id.split("::", 1)[0] == v.expected_layer:
            return test_id
    return v.caught_by[0] if v.caught_by else "-"


def verdict_word(v: Verdict) -> str:
    if v.kind == "tolerated":
        return "passed (ok)" if v.ok else "FAILED (false alarm)"
    if v.ok:
        return "caught"
    return "caught, other layer" if v.caught_by else "MISSED"


def markdown(verdicts: list[Verdict], profile: str, command: str, wall_s: float, full: bool) -> str:
    faults = [v for v in verdicts if v.kind == "fault"]
    tolerated = [v for v in verdicts if v.kind == "tolerated"]
    lines = [
        f"Fault catalog against the suite (`{profile}` profile, one fresh server and pytest run per entry; "
        f"{'every layer to the end' if full else 'a fault: its own layer up to the first failing test; a tolerated variant: every layer'}). "
        f"Reproduce: `{command}`.",
        "",
        f"Machine: {os.cpu_count()} cores, Python {host.python_version()}, load at end {os.getloadavg()[0]:.2f}; "
        f"total wall time {wall_s / 60:.1f} min.",
        "",
        f"**{sum(v.ok for v in faults)}/{len(faults)} faults caught by their layer, "
        f"{sum(v.ok for v in tolerated)}/{len(tolerated)} tolerated variants passed.**",
        "",
        "| platform | entries | faults caught | tolerated passed | median detection (s) | median run (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(v.platform for v in verdicts):
        mine = [v for v in verdicts if v.platform == name]
        f = [v for v in mine if v.kind == "fault"]
        t = [v for v in mine if v.kind == "tolerated"]
        det = sorted(v.detection_s for v in f if v.detection_s is not None)
        runs = sorted(v.seconds for v in mine)
        lines.append(f"| {name} | {len(mine)} | {sum(v.ok for v in f)}/{len(f)} | {sum(v.ok for v in t)}/{len(t)} | "
                     f"{det[len(det) // 2] if det else '-'} | {runs[len(runs) // 2]:.1f} |")
    lines += [
        "",
        "| platform | fault | kind | expected layer | verdict | caught by (first test of that layer) | failing tests | layers failing | detection (s) | run (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        det = "-" if v.detection_s is None else f"{v.detection_s:.2f}"
        lines.append(f"| {v.platform} | `{v.fault}` | {v.kind} | {v.expected_layer} | {verdict_word(v)} | "
                     f"`{catching_test(v)}` | {len(v.caught_by)} | {', '.join(v.layers_failed or []) or '-'} | "
                     f"{det} | {v.seconds:.1f} |")
    bad = [v for v in verdicts if not v.ok]
    if bad:
        lines += ["", "Not as expected:", ""]
        lines += [f"- {v.platform} `{v.fault}` ({v.kind}): {v.first_message[:300] or 'no failing test'}" for v in bad]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", nargs="*", help="platforms (default: all five)")
    parser.add_argument("--fault", action="append", default=[], help="only these catalog entries")
    parser.add_argument("--profile", default="fast", choices=("fast", "default", "thorough"))
    parser.add_argument("--full", action="store_true", help="every layer for every entry, no stop at the first failure")
    parser.add_argument("--out", default="selftest", help="result name under bench/results/ (default: selftest)")
    parser.add_argument("--resume", action="store_true", help="keep the entries already in the result JSON, run the rest")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [p for p in args.platform if p not in specs.platforms()]
    if unknown:
        print(f"unknown platform {unknown[0]!r} (one of {', '.join(specs.platforms())})", file=sys.stderr)
        return 2
    known = {f for name in args.platform or specs.platforms() for f in catalog(name)}
    missing = [f for f in args.fault if f not in known]
    if missing:
        print(f"no catalog entry {missing[0]!r} on {', '.join(args.platform) or 'any platform'}", file=sys.stderr)
        return 2
    command = "python bench/selftest_table.py " + " ".join(args.platform + [f"--fault {f}" for f in args.fault]
                                                            + ["--profile", args.profile] + (["--full"] if args.full else []))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = args.results_dir / f"{args.out}.json", args.results_dir / f"{args.out}.md"
    verdicts: list[Verdict] = []
    earlier_s = 0.0
    if args.resume and json_path.exists():
        previous = json.loads(json_path.read_text())
        if previous.get("profile") == args.profile and previous.get("full", False) == args.full:
            verdicts = [Verdict(**v) for v in previous["verdicts"]]
            earlier_s = previous.get("wall_s", 0.0)
    done = {(v.platform, v.fault) for v in verdicts}
    started = time.monotonic() - earlier_s
    with tempfile.TemporaryDirectory(prefix="chatcontract-selftest-table-") as tmp:
        for name in args.platform or specs.platforms():
            for fault in catalog(name):
                if (args.fault and fault not in args.fault) or (name, fault) in done:
                    continue
                try:
                    v = run_one(name, fault, profile=args.profile, workdir=Path(tmp),
                                only_expected_layer=not args.full, stop_at_first_failure=not args.full)
                except Exception as error:  # a server that cannot start is a harness error, never "caught"
                    entry = catalog(name)[fault]
                    v = Verdict(name, fault, entry["kind"], entry.get("caught_by", "-"), False, [],
                                f"harness error: {type(error).__name__}: {error}", 0.0, None, [], None)
                verdicts.append(v)
                print(f"{'ok ' if v.ok else 'BAD'} {name:<11} {fault:<36} {v.kind:<9} {verdict_word(v):<20} "
                      f"{catching_test(v)[:60]:<60} {v.seconds:5.1f}s", flush=True)
                json_path.write_text(json.dumps({"profile": args.profile, "full": args.full, "command": command,
                                                 "wall_s": round(time.monotonic() - started, 1),
                                                 "verdicts": [x.__dict__ for x in verdicts]}, indent=2))
    md_path.write_text(markdown(verdicts, args.profile, command, time.monotonic() - started, args.full), encoding="utf-8")
    bad = [v for v in verdicts if not v.ok]
    print(f"{len(verdicts) - len(bad)}/{len(verdicts)} as expected; wrote {md_path} and {json_path}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
