"""Wall time and repeatability of `chatcontract run` against the built-in reference servers.

Runs the main job several times per configuration (profile x jobs), each in a fresh process and
report directory, and records: wall time (min / median / max), the machine's core count and load,
the exit codes, and whether every run gave the same outcome for every test (a flaky test shows up
as a test id whose outcome differs between runs). Writes `bench/results/run_times.json` and a
Markdown table `bench/results/run_times.md` that README quotes.

    python bench/run_times.py                          # default profile, -j 1 and -j 2, 3 runs each
    python bench/run_times.py --runs 10 --jobs 2       # the repeatability check: ten default runs
    python bench/run_times.py --profile fast --profile default --jobs 1 --jobs 2

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

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def one_run(profile: str, jobs: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="chatcontract-bench-") as scratch:
        report_dir = Path(scratch) / "reports"
        command = [sys.executable, "-m", "chatcontract.cli", "run", "--profile", profile, "-j", str(jobs),
                   "--report-dir", str(report_dir), *extra]
        started = time.monotonic()
        finished = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - started
        outcomes: dict[str, str] = {}
        results = report_dir / "results.json"
        if results.exists():
            outcomes = {r["id"]: r["outcome"] for r in json.loads(results.read_text(encoding="utf-8"))["results"]}
        return {"wall_s": round(wall, 2), "exit_code": finished.returncode, "outcomes": outcomes,
                "stderr_tail": finished.stderr.strip().splitlines()[-1:] if finished.returncode else []}


def differing(runs: list[dict]) -> dict[str, list[str]]:
    """Test ids whose outcome was not the same in every run (with the outcomes seen)."""
    ids = set().union(*(r["outcomes"] for r in runs))
    return {i: [r["outcomes"].get(i, "absent") for r in runs]
            for i in sorted(ids) if len({r["outcomes"].get(i, "absent") for r in runs}) > 1}


def table(machine: dict, rows: list[dict]) -> str:
    """The Markdown results table README quotes."""
    lines = [f"Machine: {machine['cores']} cores, Python {machine['python']}, {machine['system']}.", "",
             "| profile | -j | runs | wall min / median / max (s) | load before each run (1-min avg) | exit codes "
             "| results per run | outcomes identical |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        same = "yes" if not row["flaky"] else f"no: {', '.join(row['flaky'])}"
        lines.append(f"| {row['profile']} | {row['jobs']} | {row['runs']} | {row['min_s']} / {row['median_s']} / "
                     f"{row['max_s']} | {', '.join(map(str, row['load_before']))} | {', '.join(map(str, row['exit_codes']))} | {row['results_per_run']} | {same} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="append", choices=("fast", "default", "thorough"))
    parser.add_argument("--jobs", action="append", type=int)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--name", default="run_times", help="results file name under bench/results/")
    parser.add_argument("extra", nargs="*", help="more `chatcontract run` arguments (after --)")
    args = parser.parse_args(argv)
    configs = [(p, j) for p in (args.profile or ["default"]) for j in (args.jobs or [1, 2])]
    rows = []
    for profile, jobs in configs:
        runs = []
        for index in range(args.runs):
            load = os.getloadavg()[0]
            run = one_run(profile, jobs, args.extra)
            run["load_before"] = round(load, 2)
            runs.append(run)
            print(f"{profile} -j {jobs} run {index + 1}/{args.runs}: {run['wall_s']} s, exit {run['exit_code']}, "
                  f"{len(run['outcomes'])} results", flush=True)
        walls = [r["wall_s"] for r in runs]
        flaky = differing(runs)
        rows.append({"profile": profile, "jobs": jobs, "runs": len(runs), "min_s": min(walls),
                     "median_s": round(statistics.median(walls), 2), "max_s": max(walls),
                     "exit_codes": sorted({r["exit_code"] for r in runs}),
                     "results_per_run": len(runs[0]["outcomes"]), "flaky": flaky,
                     "load_before": [r["load_before"] for r in runs],
                     "stderr": [r["stderr_tail"] for r in runs if r["stderr_tail"]]})
    machine = {"cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{args.name}.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    text = table(machine, rows)
    (RESULTS_DIR / f"{args.name}.md").write_text(text)
    print(text, end="")
    ok = all(row["exit_codes"] == [0] and not row["flaky"] for row in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
