"""Time, CPU, memory and repeatability of `chatcontract run`, and the schema layer beside plain schemathesis.

Part 1, the main job: runs `chatcontract run` (each configuration several times, each a fresh
process with its own report directory) and records per configuration: wall time (min / median /
max), CPU time (user + system of the whole process tree), peak memory (the largest resident set of
any process of the run: the suite, an xdist worker or a reference-server process), the requests
the run sent and the rate it achieved, the machine's load before and after each run, the exit
codes, and whether every run gave the same outcome for every test (a flaky test shows up as a test
id whose outcome differs between runs). The reference servers' own capacity, measured by
`bench/throughput.py`, is quoted beside it: how far the run is from the wire-bound limit.

Part 2, the schema layer against plain `st run`: for each platform, one reference server (no test
hooks, as plain schemathesis sees it) and, pair by pair, in alternating order, `st run --checks all
--max-examples N --no-shrink --workers 1` and `chatcontract run --layer schema -j 1` on the same
server at the same example budget N (the `default` profile's), each a whole process.

    python bench/run_times.py                          # default and fast: 5 runs each; the st pairs
    python bench/run_times.py --runs 10 --profile default --no-plain    # the ten-runs-identical check
    python bench/run_times.py --profile default --jobs 1 --jobs 2       # the same profile on 1 and 2 workers

Python compiles each module once and caches the bytecode; a machine with PYTHONDONTWRITEBYTECODE
set recompiles everything in every process, which this script undoes for the processes it starts
(the number is then the one a user sees from the second run on). Writes `bench/results/<name>.json`
and `bench/results/<name>.md` (default name: run_times), which README quotes.

Exit code 0 when every run exited 0 and all runs of a configuration agree; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from chatcontract import specs  # noqa: E402
from chatcontract.servers.serve import start_in_thread, target_document, write_target  # noqa: E402
from chatcontract.suite.plugin import SUITE_DIR  # noqa: E402
from plain_schemathesis import auth_headers  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
SEED = 1
# Runs a command and prints, as its last line, the CPU seconds and the peak RSS (KiB) of the
# command's whole process tree (RUSAGE_CHILDREN: every descendant that was waited for).
MEASURE = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]);"
           "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
           "print(f'\\n@@measure {u.ru_utime + u.ru_stime:.2f} {u.ru_maxrss}', file=sys.stderr); sys.exit(done.returncode)")


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measured(command: list[str], **kwargs) -> dict:
    """Run `command` as a whole process; wall, CPU and peak memory of its process tree."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=environment(), **kwargs)
    wall = time.monotonic() - started
    cpu, rss = 0.0, 0
    tail = []
    for line in done.stderr.splitlines():
        if line.startswith("@@measure "):
            cpu, rss = float(line.split()[1]), int(line.split()[2])
        elif line.strip():
            tail.append(line)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss / 1024, 1),
            "exit_code": done.returncode, "stderr_tail": tail[-1:] if done.returncode else []}


def one_run(profile: str, jobs: int | None, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="chatcontract-bench-") as scratch:
        report_dir = Path(scratch) / "reports"
        command = [sys.executable, "-m", "chatcontract.cli", "run", "--report-dir", str(report_dir)]
        if profile != "default":
            command += ["--profile", profile]
        if jobs is not None:
            command += ["-j", str(jobs)]
        load_before = os.getloadavg()[0]
        run = measured([*command, *extra], cwd=scratch)
        run["load_before"], run["load_after"] = round(load_before, 2), round(os.getloadavg()[0], 2)
        outcomes: dict[str, str] = {}
        results = report_dir / "results.json"
        run["requests"] = None
        if results.exists():
            document = json.loads(results.read_text(encoding="utf-8"))
            outcomes = {r["id"]: r["outcome"] for r in document["results"]}
            run["requests"] = document.get("requests_sent")
        run["outcomes"] = outcomes
        return run


def differing(runs: list[dict]) -> dict[str, list[str]]:
    """Test ids whose outcome was not the same in every run (with the outcomes seen)."""
    ids = set().union(*(r["outcomes"] for r in runs))
    return {i: [r["outcomes"].get(i, "absent") for r in runs]
            for i in sorted(ids) if len({r["outcomes"].get(i, "absent") for r in runs}) > 1}


def server_capacity() -> str:
    """The reference servers' own request rate range, from bench/throughput.py's last results."""
    path = RESULTS_DIR / "throughput.json"
    if not path.exists():
        return "not measured (run bench/throughput.py)"
    rows = [r for r in json.loads(path.read_text())["rows"] if r.get("server") == "reference"]
    rates = sorted(r["rps"] for r in rows)
    return f"{rates[0]:.0f}–{rates[-1]:.0f} req/s per server (bench/throughput.py)" if rates else "not measured"


def default_examples() -> int:
    profiles = yaml.safe_load((SUITE_DIR / "profiles.yaml").read_text(encoding="utf-8"))
    return int(profiles["default"]["examples"])


def plain_pairs(examples: int, scratch: Path) -> list[dict]:
    """Per platform: plain `st run` and our schema layer, alternating which goes first."""
    rows = []
    for index, name in enumerate(specs.platforms()):
        server = start_in_thread(name, test_hooks=False)
        try:
            document = target_document(name, server.base_url, test_hooks=False)
            target_file = scratch / f"{name}.target.yaml"
            write_target(target_file, document)
            st = ["st", "run", str(specs.spec_path(name)), "--url", server.base_url, "--checks", "all",
                  "--max-examples", str(examples), "--no-shrink", "--seed", str(SEED), "--workers", "1",
                  "--generation-database", "none", "--no-color"]
            for header in auth_headers(name, document["credentials"]):
                st += ["-H", header]
            ours = [sys.executable, "-m", "chatcontract.cli", "run", "--target", str(target_file), "--layer", "schema",
                    "-j", "1", "--report-dir", str(scratch / f"{name}-reports")]
            pair = {}
            for which in (("st", "ours") if index % 2 == 0 else ("ours", "st")):
                pair[which] = measured(st if which == "st" else ours, cwd=scratch)
            rows.append({"platform": name, "st": pair["st"], "ours": pair["ours"],
                         "ratio": round(pair["ours"]["wall_s"] / pair["st"]["wall_s"], 2)})
            print(f"{name}: st {pair['st']['wall_s']} s, chatcontract schema layer {pair['ours']['wall_s']} s", flush=True)
        finally:
            server.stop()
    return rows


def table(machine: dict, rows: list[dict], pairs: list[dict], examples: int) -> str:
    """The Markdown results tables README quotes."""
    lines = [f"Machine: {machine['cores']} cores, Python {machine['python']}, {machine['system']}. "
             f"Reference servers' capacity: {machine['capacity']}.", "",
             "| command | runs | wall min / median / max (s) | CPU median (s) | peak RSS (MB) | requests | req/s "
             "| load before / after (1-min avg) | exit codes | results | outcomes identical |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        same = "yes" if not row["flaky"] else f"no: {', '.join(row['flaky'])}"
        requests = row["requests"] if row["requests"] is not None else "–"
        rate = f"{row['requests'] / row['median_s']:.0f}" if row["requests"] else "–"
        loads = "; ".join(f"{b} / {a}" for b, a in zip(row["load_before"], row["load_after"]))
        lines.append(f"| `{row['command']}` | {row['runs']} | {row['min_s']} / {row['median_s']} / {row['max_s']} | "
                     f"{row['cpu_median_s']} | {row['peak_rss_mb']} | {requests} | {rate} | {loads} | "
                     f"{', '.join(map(str, row['exit_codes']))} | {row['results_per_run']} | {same} |")
    if pairs:
        st_total = sum(p["st"]["wall_s"] for p in pairs)
        ours_total = sum(p["ours"]["wall_s"] for p in pairs)
        lines += ["", f"Schema layer against plain schemathesis, {examples} examples per operation, one worker, "
                  "the same server, each a whole process:", "",
                  "| platform | `st run --checks all` wall (s) | CPU (s) | `chatcontract run --layer schema -j 1` wall (s) "
                  "| CPU (s) | ratio (ours / st) |", "|---|---|---|---|---|---|"]
        for p in pairs:
            lines.append(f"| {p['platform']} | {p['st']['wall_s']} | {p['st']['cpu_s']} | {p['ours']['wall_s']} | "
                         f"{p['ours']['cpu_s']} | {p['ratio']} |")
        lines.append(f"| all | {st_total:.2f} | | {ours_total:.2f} | | {ours_total / st_total:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="append", choices=("fast", "default", "thorough"))
    parser.add_argument("--jobs", action="append", type=int, help="-j values to try (default: the run's own default)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-plain", action="store_true", help="skip the plain schemathesis comparison")
    parser.add_argument("--name", default="run_times", help="results file name under bench/results/")
    parser.add_argument("extra", nargs="*", help="more `chatcontract run` arguments (after --)")
    args = parser.parse_args(argv)
    configs = [(p, j) for p in (args.profile or ["default", "fast"]) for j in (args.jobs or [None])]
    rows = []
    for profile, jobs in configs:
        runs = []
        shown = "chatcontract run" + (f" --profile {profile}" if profile != "default" else "") + \
            (f" -j {jobs}" if jobs is not None else "")
        for index in range(args.runs):
            run = one_run(profile, jobs, args.extra)
            runs.append(run)
            print(f"{shown} run {index + 1}/{args.runs}: {run['wall_s']} s wall, {run['cpu_s']} s CPU, "
                  f"{run['peak_rss_mb']} MB, exit {run['exit_code']}, {len(run['outcomes'])} results", flush=True)
        walls = [r["wall_s"] for r in runs]
        requests = [r["requests"] for r in runs if r["requests"] is not None]
        rows.append({"command": shown, "profile": profile, "jobs": jobs, "runs": len(runs), "min_s": min(walls),
                     "median_s": round(statistics.median(walls), 2), "max_s": max(walls),
                     "cpu_median_s": round(statistics.median(r["cpu_s"] for r in runs), 2),
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                     "requests": round(statistics.median(requests)) if requests else None,
                     "exit_codes": sorted({r["exit_code"] for r in runs}),
                     "results_per_run": len(runs[0]["outcomes"]), "flaky": differing(runs),
                     "load_before": [r["load_before"] for r in runs], "load_after": [r["load_after"] for r in runs],
                     "stderr": [r["stderr_tail"] for r in runs if r["stderr_tail"]]})
    examples = default_examples()
    pairs: list[dict] = []
    if not args.no_plain:
        with tempfile.TemporaryDirectory(prefix="chatcontract-bench-st-") as scratch:
            pairs = plain_pairs(examples, Path(scratch))
    machine = {"cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform(),
               "capacity": server_capacity()}
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{args.name}.json").write_text(json.dumps({"machine": machine, "rows": rows, "plain": pairs},
                                                              indent=2) + "\n")
    text = table(machine, rows, pairs, examples)
    (RESULTS_DIR / f"{args.name}.md").write_text(text)
    print(text, end="")
    ok = all(row["exit_codes"] == [0] and not row["flaky"] for row in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
