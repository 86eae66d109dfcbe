"""bench/scale.py at its smallest: two loopback reference servers run as 1 and 2 shards and merged.
The table it writes must say that the merged results are the shards' results, target by target
as in the unsharded run, and no server or shard process may outlive the bench."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _sessions_alive(session_ids: set[int]) -> list[int]:
    """The processes still running in any of these sessions (every server had one of its own)."""
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) in session_ids:
                    alive.append(int(entry))
            except (ProcessLookupError, PermissionError):
                pass
    return alive


def test_smallest_bench_writes_merged_counts_equal_to_the_shards_and_leaves_no_server(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"), "--sizes", "2", "--shards", "1,2",
                           "--jobs", "1", "--calibrate", "", "--synthetic", "6", "--synthetic-pieces", "3",
                           "--out", str(out)], capture_output=True, text=True, timeout=170, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((out / "scale.json").read_text(encoding="utf-8"))
    assert [(r["targets"], r["shards"]) for r in report["runs"]] == [(2, 1), (2, 2)]
    for run in report["runs"]:
        shard_sum = sum(s["results"] for s in run["shard_runs"])
        assert shard_sum > 0 and run["merge"]["results"] == shard_sum == run["checks"]["expected_results"]
        assert run["merge"]["targets"] == 2 and all(run["checks"].values()) and run["ok"]
        assert all(s["exit_code"] in (0, 1) and s["wall_s"] > 0 and s["peak_rss_mb"] > 0 for s in run["shard_runs"])
    one, two = report["runs"]
    assert one["per_platform_results_per_target"] == two["per_platform_results_per_target"]
    assert set(one["per_platform_results_per_target"]) == {"agora", "ozeki"}  # round robin over the platforms
    synthetic = report["synthetic_merge"][0]
    assert synthetic["ok"] and synthetic["results"] == 3 * sum(one["per_platform_results_per_target"].values())
    table = (out / "scale.md").read_text(encoding="utf-8")
    for run in report["runs"]:
        merged = run["merge"]["results"]
        assert f"| 2 | {run['shards']} |" in table and f"| {merged} = {merged} = {merged} | yes |" in table
    assert len(report["server_pids"]) == 2
    assert _sessions_alive(set(report["server_pids"])) == []
