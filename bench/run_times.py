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
server at the same example budget N (the `default` profile's), each a whole process, three times a
side (`--pair-runs`), the median wall of each side compared.

Before each run a fixed pure-Python loop is timed (the "host probe"): the machine is a virtual
machine whose host's speed varies by a third and more within an hour, so each run's wall time is
reported beside the speed the host had.

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
import re
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


# A fixed pure-Python loop, timed just before each run: this 2-core machine is a virtual machine
# whose host's other tenants change its speed (the same loop took 0.68 s and 1.14 s within one
# hour on 2026-12-04, at load < 1), so a run's wall time is read beside the speed it ran at.
HOST_PROBE_ITERATIONS = 3_000_000


def host_probe_s() -> float:
    """Seconds the host probe loop takes now (lower is a faster host)."""
    started = time.perf_counter()
    total = 0
    for i in range(HOST_PROBE_ITERATIONS):
        total += i
    return round(time.perf_counter() - started, 3)


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measured(command: list[str], *, keep_stdout: bool = False, **kwargs) -> dict:
    """Run `command` as a whole process; wall, CPU and peak memory of its process tree (and its
    standard output, when kept)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURE, *command],
                          stdout=subprocess.PIPE if keep_stdout else subprocess.DEVNULL,
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
            "stdout": done.stdout if keep_stdout else "",
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
        probe = host_probe_s()
        run = measured([*command, *extra], cwd=scratch)
        run["host_probe_s"] = probe
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


def _st_test_cases(stdout: str) -> int | None:
    """The test cases a plain `st run` generated (its summary's "N generated")."""
    found = re.search(r"(\d+) generated", stdout)
    return int(found.group(1)) if found else None


def _requests_of(report_dir: Path) -> int | None:
    results = report_dir / "results.json"
    return json.loads(results.read_text(encoding="utf-8")).get("requests_sent") if results.exists() else None


def plain_pairs(examples: int, scratch: Path, rounds: int) -> list[dict]:
    """Per platform, `rounds` times each, in rotating order: plain `st run` as the issue wrote it
    ("st"), the same with `--continue-on-failure` ("st_full") and our schema layer ("ours"); the
    median wall of each. Plain st ends an operation's phase at its first failure, and against the
    reference servers it fails generic HTTP rules the vendors do not follow (401/403 for a missing
    credential, 2xx for every schema-valid request), so without the flag it spends a fraction of
    the example budget: "st_full" is the comparison at the same budget."""
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
            commands = {"st": st, "st_full": [*st, "--continue-on-failure"], "ours": ours}
            order = list(commands)
            measures: dict[str, list[dict]] = {which: [] for which in commands}
            for round_ in range(rounds):
                shift = (index + round_) % len(order)
                for which in order[shift:] + order[:shift]:
                    run = measured(commands[which], cwd=scratch, keep_stdout=which != "ours")
                    run["work"] = _st_test_cases(run["stdout"]) if which != "ours" else _requests_of(scratch / f"{name}-reports")
                    measures[which].append(run)
            pair = {which: {"wall_s": round(statistics.median(m["wall_s"] for m in runs), 2),
                            "cpu_s": round(statistics.median(m["cpu_s"] for m in runs), 2),
                            "walls": [m["wall_s"] for m in runs], "work": runs[-1]["work"]}
                    for which, runs in measures.items()}
            rows.append({"platform": name, **pair,
                         "ratio": round(pair["ours"]["wall_s"] / pair["st_full"]["wall_s"], 2),
                         "ratio_vs_stopping_st": round(pair["ours"]["wall_s"] / pair["st"]["wall_s"], 2)})
            print(f"{name}: st {pair['st']['wall_s']} s, st --continue-on-failure {pair['st_full']['wall_s']} s, "
                  f"chatcontract schema layer {pair['ours']['wall_s']} s", flush=True)
        finally:
            server.stop()
    return rows


def table(machine: dict, rows: list[dict], pairs: list[dict], examples: int) -> str:
    """The Markdown results tables README quotes."""
    lines = [f"Machine: {machine['cores']} cores, Python {machine['python']}, {machine['system']}. "
             f"Reference servers' capacity: {machine['capacity']}.", "",
             f"Host probe: seconds a fixed {HOST_PROBE_ITERATIONS:,}-step Python loop took just before each run "
             "(this machine is a VM whose host's speed varies; lower is faster).", "",
             "| command | runs | wall min / median / max (s) | CPU median (s) | peak RSS (MB) | requests | req/s "
             "| load before / after (1-min avg) | host probe before each run (s) | exit codes | results | outcomes identical |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        same = "yes" if not row["flaky"] else f"no: {', '.join(row['flaky'])}"
        requests = row["requests"] if row["requests"] is not None else "–"
        rate = f"{row['requests'] / row['median_s']:.0f}" if row["requests"] else "–"
        loads = "; ".join(f"{b} / {a}" for b, a in zip(row["load_before"], row["load_after"]))
        lines.append(f"| `{row['command']}` | {row['runs']} | {row['min_s']} / {row['median_s']} / {row['max_s']} | "
                     f"{row['cpu_median_s']} | {row['peak_rss_mb']} | {requests} | {rate} | {loads} | "
                     f"{', '.join(str(p) for p in row.get('host_probe_s', [])) or '–'} | "
                     f"{', '.join(map(str, row['exit_codes']))} | {row['results_per_run']} | {same} |")
    if pairs:
        totals = {which: sum(p[which]["wall_s"] for p in pairs) for which in ("st", "st_full", "ours")}
        lines += ["", f"Schema layer against plain schemathesis, {examples} examples per operation, one worker, "
                  f"the same server, each a whole process, median of {len(pairs[0]['st']['walls'])} a side. "
                  "`st run --checks all` ends an operation's phase at its first failure (against these servers: "
                  "generic HTTP rules the vendors do not follow), so it spends part of the budget; "
                  "`--continue-on-failure` spends all of it, as the suite does. Work: st's generated test cases, "
                  "the suite's requests.", "",
                  "| platform | `st run --checks all` wall (s) / work | `st run ... --continue-on-failure` wall (s) / CPU (s) / work "
                  "| `chatcontract run --layer schema -j 1` wall (s) / CPU (s) / work | ratio (ours / st at the same budget) "
                  "| ratio (ours / stopping st) |", "|---|---|---|---|---|---|"]
        for p in pairs:
            lines.append(f"| {p['platform']} | {p['st']['wall_s']} / {p['st']['work']} | "
                         f"{p['st_full']['wall_s']} / {p['st_full']['cpu_s']} / {p['st_full']['work']} | "
                         f"{p['ours']['wall_s']} / {p['ours']['cpu_s']} / {p['ours']['work']} | {p['ratio']} | "
                         f"{p['ratio_vs_stopping_st']} |")
        lines.append(f"| all | {totals['st']:.2f} | {totals['st_full']:.2f} | {totals['ours']:.2f} | "
                     f"{totals['ours'] / totals['st_full']:.2f} | {totals['ours'] / totals['st']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="append", choices=("fast", "default", "thorough"))
    parser.add_argument("--jobs", action="append", type=int, help="-j values to try (default: the run's own default)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-plain", action="store_true", help="skip the plain schemathesis comparison")
    parser.add_argument("--pair-runs", type=int, default=3, help="runs of each side of each st pair (median)")
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
                     "host_probe_s": [r["host_probe_s"] for r in runs],
                     "stderr": [r["stderr_tail"] for r in runs if r["stderr_tail"]]})
    examples = default_examples()
    pairs: list[dict] = []
    if not args.no_plain:
        with tempfile.TemporaryDirectory(prefix="chatcontract-bench-st-") as scratch:
            pairs = plain_pairs(examples, Path(scratch), args.pair_runs)
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
