"""Peak memory of `chatcontract run` against every hostile target: under 300 MB each.

For each kind of hostile loopback server in tests/hostile/servers.py (never answers, drips,
resets, HTML, 10 MB bodies, invalid JSON, 500s, echoes, redirects, gzip and deflate bombs plain
and stacked up to three deep, control bytes and markup) one `chatcontract run --profile fast`
against a plug.dj target at that server (request_timeout_s 1), and one against the plug.dj
reference server for comparison. Each run is a fresh process started from a small wrapper that
reports the largest resident set of the run (`getrusage(RUSAGE_CHILDREN).ru_maxrss`: with `-j 1`
the run is one process), with its exit code and wall time.

    python bench/hostile_memory.py            # every kind
    python bench/hostile_memory.py gzip-bomb  # some kinds

Writes bench/results/hostile_memory.md. Exit 0 when every run stayed under the bound and exited
with a documented code (0, 1 or 3); 1 otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.conftest import hostile_target  # noqa: E402
from tests.hostile.servers import KINDS, HostileServers  # noqa: E402

BOUND_MB = 300
OUT = ROOT / "bench" / "results" / "hostile_memory.md"
WRAPPER = ("import resource, subprocess, sys, json, time; started = time.monotonic(); "
           "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
           "print(json.dumps({'code': code, 'wall_s': time.monotonic() - started, "
           "'peak_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")


def measure(args: list[str], cwd: Path) -> dict:
    command = [sys.executable, "-m", "chatcontract.cli", "run", "--profile", "fast", "-j", "1",
               "--report-dir", str(cwd / "reports"), *args]
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    return json.loads(done.stdout)


def main(argv: list[str]) -> int:
    kinds = argv or list(KINDS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, HostileServers(kinds=tuple(k for k in kinds if k in KINDS)) as servers:
        base = Path(tmp)
        reference = base / "reference"
        reference.mkdir()
        rows.append(("plug.dj reference server (comparison)", measure(["--api", "plugdj"], reference)))
        for kind in kinds:
            cwd = base / kind
            cwd.mkdir()
            rows.append((kind, measure(["--target", str(hostile_target(cwd, kind, servers.url(kind)))], cwd)))
            print(f"{kind:<24} exit {rows[-1][1]['code']}  {rows[-1][1]['peak_kb'] / 1024:6.1f} MB  "
                  f"{rows[-1][1]['wall_s']:5.1f} s", flush=True)
    peak = max(r["peak_kb"] for _, r in rows) / 1024
    ok = all(r["peak_kb"] / 1024 < BOUND_MB and r["code"] in (0, 1, 3) for _, r in rows)
    lines = ["# Peak memory against hostile targets", "",
             f"`python bench/hostile_memory.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"load average {os.getloadavg()[0]:.1f} at the end. One `chatcontract run --profile fast -j 1` per "
             "row against a plug.dj target at that hostile loopback server (request_timeout_s 1); peak = the "
             "largest resident set of the run's process.", "",
             f"Bound: {BOUND_MB} MB. Largest peak: {peak:.1f} MB. {'Every run under the bound.' if ok else 'BOUND EXCEEDED.'}",
             "", "| target | exit code | wall s | peak RSS MB |", "|---|---|---|---|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['code']} | {r['wall_s']:.1f} | {r['peak_kb'] / 1024:.1f} |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: largest peak {peak:.1f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
