"""Scale bench (issue 17 item 7): many loopback targets, run as 1, 2 and 4 shards, then merged.

For every size N (`--sizes`, default 10,50,100) it starts N reference-server processes
(`chatcontract serve PLATFORM --test-hooks --write-targets DIR`, one process each, the five
platforms round robin, free loopback ports), turns each written target file into one with a name
of its own (`t0007-rocketchat`), then for every shard count S (`--shards`, default 1,2,4) starts
S `chatcontract run --target ... --shard K/S` processes at once, as the S runners of a CI matrix
would, and merges their reports with `chatcontract merge`. Per (N, S) it records the wall time of
every shard (what each runner of a matrix would see) and of the slowest, every shard's CPU time
and peak RSS (`os.wait4`: the largest single process of the shard's tree; and the summed RSS of the
tree, sampled from /proc every 0.2 s), the reference servers' CPU time over the run (from
/proc/PID/stat), the merge's wall time and peak RSS, and checks that the merged results are the
sum of the shards' and, check by check, N times the per-target counts of the unsharded run.

This machine has 2 cores: S concurrent shards share them, so the slowest shard's wall here is an
upper bound of what S separate runners would need; the CPU times are what each runner would
spend. By default each shard process takes `chatcontract run`'s default worker count (one per
core), as it would on a runner.

`--calibrate PROFILES` also runs the whole suite (every layer) once per profile against one target
of each platform, unsharded with one worker, for the per-target cost of a full run; `--synthetic
SIZES` measures `chatcontract merge` alone on results of 250 to 2,000 targets built by copying a
real run's records under new target names (split into `--synthetic-pieces` files, as the
artifacts of that many runners), for the merge cost curve.

    python bench/scale.py                                  # what docs/scale.md quotes
    python bench/scale.py --sizes 2 --shards 1,2 --calibrate '' --synthetic 20 --out /tmp/scale

Writes OUT/scale.json and OUT/scale.md (default bench/results/). Every server and shard runs in a
process group of its own, killed at the end, on error and on Ctrl-C or SIGTERM; every wait has a
timeout. Linux only (/proc, os.wait4). Target files carry the reference servers' seeded
credentials; they stay in a scratch directory that is deleted, never in the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host_platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("agora", "ozeki", "plugdj", "rocketchat", "sendbird")
CLI = [sys.executable, "-m", "chatcontract.cli"]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


class BenchError(RuntimeError):
    """Something the bench cannot go on from (a server that does not start, a shard that hangs)."""


# --- processes -------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return found


def tree_rss_kb(pid: int) -> int:
    """The resident memory of `pid` and all its descendants now (0 once gone)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
        todo += _children(current)
    return total


def cpu_s(pid: int) -> float:
    """User + system CPU seconds `pid` has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15 of stat)


def high_water_kb(pid: int) -> int:
    """Peak resident memory (VmHWM) of a running process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def kill_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the process group of `proc` (its own session), then SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    except ChildProcessError:  # reaped by os.wait4 already
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace_s)
    except (subprocess.TimeoutExpired, ChildProcessError):
        pass


@dataclass
class Measured:
    """One finished command: exit code, wall and CPU seconds, peak memory."""

    argv: list[str]
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float  # the largest single process of the tree (ru_maxrss)
    peak_tree_rss_mb: float  # the tree's summed RSS, sampled
    timed_out: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "wall_s": round(self.wall_s, 2), "cpu_s": round(self.cpu_s, 2),
                "peak_rss_mb": round(self.peak_rss_mb, 1), "peak_tree_rss_mb": round(self.peak_tree_rss_mb, 1),
                "timed_out": self.timed_out}


@dataclass
class Processes:
    """Every process the bench started, so that all of them are killed at the end."""

    running: list[subprocess.Popen] = field(default_factory=list)

    def start(self, argv: list[str], log: Path) -> subprocess.Popen:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=log.parent)
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        kill_group(proc)
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.running):
            self.stop(proc)

    def measure(self, commands: list[tuple[list[str], Path]], timeout_s: float) -> list[Measured]:
        """Run the commands at once; wait for all (os.wait4 gives each one's CPU and peak RSS)."""
        started = time.monotonic()
        procs = [self.start(argv, log) for argv, log in commands]
        done: dict[int, Measured] = {}
        tree_peak = [0] * len(procs)
        while len(done) < len(procs):
            for i, proc in enumerate(procs):
                if i in done:
                    continue
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid == 0:
                    tree_peak[i] = max(tree_peak[i], tree_rss_kb(proc.pid))
                    if time.monotonic() - started > timeout_s:
                        self.stop(proc)
                        done[i] = Measured(commands[i][0], -1, time.monotonic() - started, 0.0, 0.0,
                                           tree_peak[i] / 1024, timed_out=True)
                    continue
                proc.returncode = os.waitstatus_to_exitcode(status)
                self.running.remove(proc)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind
                except ProcessLookupError:
                    pass
                done[i] = Measured(commands[i][0], proc.returncode, time.monotonic() - started,
                                   usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                                   max(tree_peak[i], usage.ru_maxrss) / 1024)
            time.sleep(0.2)
        return [done[i] for i in range(len(procs))]


# --- targets ---------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    platform: str
    proc: subprocess.Popen
    target: Path


def start_servers(procs: Processes, count: int, work: Path, timeout_s: float) -> list[Server]:
    """`count` reference servers, one process each, and a named target file for each."""
    servers = []
    for i in range(count):
        platform = PLATFORMS[i % len(PLATFORMS)]
        folder = work / "servers" / f"{i:05d}"
        folder.mkdir(parents=True)
        proc = procs.start([*CLI, "serve", platform, "--test-hooks", "--write-targets", str(folder)],
                           folder / "serve.log")
        servers.append(Server(f"t{i:05d}-{platform}", platform, proc, folder / f"{platform}.target.yaml"))
    deadline = time.monotonic() + timeout_s
    targets = work / "targets"
    targets.mkdir(exist_ok=True)
    for server in servers:
        while True:
            document = _read_target(server.target)
            if document is not None:
                break
            if server.proc.poll() is not None:
                raise BenchError(f"{server.name}: `chatcontract serve` exited with {server.proc.returncode}: "
                                 + (server.target.parent / "serve.log").read_text(errors="replace")[-500:])
            if time.monotonic() > deadline:
                raise BenchError(f"{server.name}: no target file after {timeout_s:g} s")
            time.sleep(0.1)
        named = targets / f"{server.name}.target.yaml"
        named.write_text(yaml.safe_dump({"name": server.name, **document}, sort_keys=False), encoding="utf-8")
        server.target = named
    return servers


def _read_target(path: Path) -> dict[str, Any] | None:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return document if isinstance(document, dict) and "base_url" in document else None


# --- runs ------------------------------------------------------------------------------------


def load_results(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def per_target(document: dict[str, Any] | None) -> Counter:
    return Counter(r["target"] for r in (document or {}).get("results", []))


def run_shards(procs: Processes, servers: list[Server], shards: int, work: Path, args: argparse.Namespace
               ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    folder = work / f"n{len(servers)}-s{shards}"
    folder.mkdir()
    base = [*CLI, "run", "--profile", args.profile, "--seed", str(args.seed)]
    for server in servers:
        base += ["--target", str(server.target)]
    for layer in args.layer:
        base += ["--layer", layer]
    if args.jobs:
        base += ["-j", str(args.jobs)]
    commands = []
    for k in range(1, shards + 1):
        report = folder / f"shard-{k}"
        report.mkdir()
        commands.append(([*base, "--shard", f"{k}/{shards}", "--report-dir", str(report)], report / "run.log"))
    server_cpu_before = sum(cpu_s(s.proc.pid) for s in servers)
    measured = procs.measure(commands, args.shard_timeout)
    server_cpu = sum(cpu_s(s.proc.pid) for s in servers) - server_cpu_before
    shard_docs = [load_results(folder / f"shard-{k}") for k in range(1, shards + 1)]
    shard_rows = []
    for k, (m, doc) in enumerate(zip(measured, shard_docs), start=1):
        shard_rows.append({"shard": f"{k}/{shards}", **m.as_dict(),
                           "results": len(doc["results"]) if doc else None,
                           "targets": len(doc["targets"]) if doc else None,
                           "requests_sent": doc.get("requests_sent") if doc else None})
    merged_dir = folder / "merged"
    merged_dir.mkdir()
    merge = procs.measure([([*CLI, "merge", *[str(folder / f"shard-{k}") for k in range(1, shards + 1)],
                             "--out", str(merged_dir)], folder / "merge.log")], args.merge_timeout)[0]
    merged = load_results(merged_dir)
    row = {
        "targets": len(servers), "shards": shards,
        "slowest_shard_wall_s": round(max(m.wall_s for m in measured), 2),
        "shard_cpu_s": round(sum(m.cpu_s for m in measured), 2),
        "server_cpu_s": round(server_cpu, 2),
        "peak_shard_rss_mb": round(max(m.peak_rss_mb for m in measured), 1),
        "peak_shard_tree_rss_mb": round(max(m.peak_tree_rss_mb for m in measured), 1),
        "shard_runs": shard_rows,
        "requests_sent": sum(r["requests_sent"] or 0 for r in shard_rows),
        "shard_results": sum(r["results"] or 0 for r in shard_rows),
        "merge": {**merge.as_dict(), "results": len(merged["results"]) if merged else None,
                  "targets": len(merged["targets"]) if merged else None,
                  "totals": merged.get("totals") if merged else None,
                  "results_json_bytes": _size(merged_dir / "results.json"),
                  "log_tail": (folder / "merge.log").read_text(errors="replace")[-300:] if merge.exit_code not in (0, 1) else ""},
    }
    for k, (m, shard_row) in enumerate(zip(measured, shard_rows), start=1):
        if m.exit_code not in (0, 1):
            shard_row["log_tail"] = (folder / f"shard-{k}" / "run.log").read_text(errors="replace")[-300:]
    return row, merged


def check_counts(row: dict[str, Any], merged: dict[str, Any] | None, reference: Counter | None,
                 servers: list[Server]) -> None:
    """The merged results are every shard's, once, and per target what the unsharded run had."""
    counts = per_target(merged)
    by_platform: dict[str, set[int]] = {}
    for server in servers:
        by_platform.setdefault(server.platform, set()).add(counts.get(server.name, 0))
    expected = None
    if reference is not None:
        per_platform = {s.platform: reference[s.name] for s in servers}
        expected = sum(per_platform[s.platform] for s in servers)  # N x the per-target count, by platform
    row["checks"] = {
        "merged_equals_sum_of_shards": merged is not None and len(merged["results"]) == row["shard_results"],
        "every_target_merged": merged is not None and set(counts) == {s.name for s in servers},
        "same_count_for_every_target_of_a_platform": all(len(v) == 1 for v in by_platform.values()),
        "per_target_counts_equal_unsharded": reference is None or counts == reference,
        "expected_results": expected,
        "merged_equals_expected": expected is None or (merged is not None and len(merged["results"]) == expected),
        "no_duplicate_ids": merged is not None and len({r["id"] for r in merged["results"]}) == len(merged["results"]),
    }
    row["per_platform_results_per_target"] = {p: sorted(v)[0] for p, v in sorted(by_platform.items())}
    row["ok"] = all(v for k, v in row["checks"].items() if k != "expected_results") and \
        row["merge"]["exit_code"] in (0, 1) and all(r["exit_code"] in (0, 1) for r in row["shard_runs"])


def calibrate(procs: Processes, servers: list[Server], profile: str, work: Path, args: argparse.Namespace
              ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The whole suite, one worker, once against one target of each platform: a full run's cost."""
    chosen = {}
    for server in servers:
        chosen.setdefault(server.platform, server)
    folder = work / f"calibrate-{profile}"
    folder.mkdir()
    argv = [*CLI, "run", "--profile", profile, "--seed", str(args.seed), "-j", "1", "--report-dir", str(folder)]
    for server in chosen.values():
        argv += ["--target", str(server.target)]
    before = sum(cpu_s(s.proc.pid) for s in chosen.values())
    m = procs.measure([(argv, folder / "run.log")], args.shard_timeout)[0]
    server_cpu = sum(cpu_s(s.proc.pid) for s in chosen.values()) - before
    doc = load_results(folder)
    targets = {}
    for server in chosen.values():
        mine = [r for r in (doc or {}).get("results", []) if r["target"] == server.name]
        targets[server.platform] = {"results": len(mine), "requests": sum(r.get("requests") or 0 for r in mine),
                                    "checks_s": round(sum(r.get("duration_s") or 0 for r in mine), 2)}
    return {"profile": profile, "targets": len(chosen), **m.as_dict(), "server_cpu_s": round(server_cpu, 2),
            "results": len(doc["results"]) if doc else None, "requests_sent": doc.get("requests_sent") if doc else None,
            "results_json_bytes": _size(folder / "results.json"), "per_platform": targets}, doc


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


# --- merge alone on synthetic inputs ----------------------------------------------------------


def synthetic_merge(procs: Processes, template: dict[str, Any], count: int, pieces: int, work: Path,
                    timeout_s: float) -> dict[str, Any]:
    """Results of `count` targets, copied from `template`'s targets under new names, in `pieces`
    files (runs of different targets, as a matrix's artifacts), merged by `chatcontract merge`."""
    folder = work / f"synthetic-{count}"
    folder.mkdir()
    originals = template["targets"]
    records: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in originals}
    for r in template["results"]:
        records[r["target"]].append(r)
    pieces = max(1, min(pieces, count))
    input_bytes = 0
    for p in range(pieces):
        targets, results = [], []
        for j in range(p, count, pieces):
            source = originals[j % len(originals)]
            name = f"s{j:05d}-{source['api']}"
            targets.append({**source, "name": name})
            for r in records[source["name"]]:
                results.append({**r, "target": name, "id": name + r["id"][len(source["name"]):]})
        doc = {k: v for k, v in template.items() if k not in ("results", "targets", "shards", "merged_from")}
        doc.update(targets=targets, results=results,
                   totals={k: sum(1 for r in results if r["outcome"] == k) for k in template["totals"]},
                   checks_planned=len(results))
        piece = folder / f"piece-{p:04d}"
        piece.mkdir()
        (piece / "results.json").write_text(json.dumps(doc), encoding="utf-8")
        input_bytes += (piece / "results.json").stat().st_size
    out = folder / "merged"
    m = procs.measure([([*CLI, "merge", str(folder), "--out", str(out)], folder / "merge.log")], timeout_s)[0]
    merged = load_results(out)
    row = {"targets": count, "pieces": pieces, **m.as_dict(), "input_bytes": input_bytes,
           "results": len(merged["results"]) if merged else None,
           "expected_results": sum(len(records[originals[j % len(originals)]["name"]]) for j in range(count)),
           "output_bytes": {name: _size(out / name) for name in ("results.json", "junit.xml", "summary.md")}}
    row["ok"] = m.exit_code in (0, 1) and row["results"] == row["expected_results"]
    if not row["ok"]:
        row["log_tail"] = (folder / "merge.log").read_text(errors="replace")[-300:]
    shutil.rmtree(folder, ignore_errors=True)  # 10,000 targets are ~0.5 GB of JSON
    return row


# --- reports ---------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Measured with `{report['command']}` on {report['host']['cpus']} cores, "
             f"{report['host']['mem_gb']} GB, load average {report['load_start']} at the start and "
             f"{report['load_end']} at the end; profile `{report['profile']}`, layers "
             f"{', '.join(report['layers']) or 'all'}, {report['jobs']} worker(s) per shard; "
             f"{report['wall_s']:.0f} s in all.", "",
             "| targets | shards | slowest shard s | each shard s | shard CPU s | server CPU s | CPU s / target "
             "| peak RSS / shard MB (largest process, tree) | merge s | merge RSS MB | results: shards = merged = expected | ok |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        cpu_per_target = (r["shard_cpu_s"] + r["server_cpu_s"]) / r["targets"]
        lines.append(
            f"| {r['targets']} | {r['shards']} | {r['slowest_shard_wall_s']:.1f} | "
            f"{' / '.join(format(s['wall_s'], '.0f') for s in r['shard_runs'])} | {r['shard_cpu_s']:.1f} | "
            f"{r['server_cpu_s']:.1f} | {cpu_per_target:.2f} | {r['peak_shard_rss_mb']:.0f}, {r['peak_shard_tree_rss_mb']:.0f} | "
            f"{r['merge']['wall_s']:.1f} | {r['merge']['peak_rss_mb']:.0f} | "
            f"{r['shard_results']} = {r['merge']['results']} = {r['checks']['expected_results']} | "
            f"{'yes' if r['ok'] else '**no**'} |")
    if report["servers"]:
        lines += ["", "| targets | servers started in s | server peak RSS MB (mean, max) |", "|---|---|---|"]
        lines += [f"| {s['targets']} | {s['startup_s']:.1f} | {s['peak_rss_mb_mean']:.0f}, {s['peak_rss_mb_max']:.0f} |"
                  for s in report["servers"]]
    if report["calibration"]:
        lines += ["", "Whole suite, one worker, one target of each platform (`--calibrate`):", "",
                  "| profile | targets | wall s | client CPU s | server CPU s | peak RSS MB | results | requests | results.json bytes |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {c['profile']} | {c['targets']} | {c['wall_s']:.1f} | {c['cpu_s']:.1f} | {c['server_cpu_s']:.1f} | "
                  f"{c['peak_rss_mb']:.0f} | {c['results']} | {c['requests_sent']} | {c['results_json_bytes']} |"
                  for c in report["calibration"]]
    if report["synthetic_merge"]:
        lines += ["", f"`chatcontract merge` alone on synthetic results (records of `{report['synthetic_template']}` "
                      "copied under new target names):", "",
                  "| targets | input files | input MB | merge s | merge CPU s | peak RSS MB | results | results.json MB | junit.xml MB | summary.md MB | ok |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in report["synthetic_merge"]:
            mb = {k: (v or 0) / 1e6 for k, v in s["output_bytes"].items()}
            lines.append(f"| {s['targets']} | {s['pieces']} | {s['input_bytes'] / 1e6:.1f} | {s['wall_s']:.1f} | "
                         f"{s['cpu_s']:.1f} | {s['peak_rss_mb']:.0f} | {s['results']} | {mb['results.json']:.1f} | "
                         f"{mb['junit.xml']:.1f} | {mb['summary.md']:.1f} | {'yes' if s['ok'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=[10, 50, 100], help="numbers of targets (default 10,50,100)")
    parser.add_argument("--shards", type=_sizes, default=[1, 2, 4], help="shard counts (default 1,2,4)")
    parser.add_argument("--profile", default="fast", help="the run's --profile (default fast)")
    parser.add_argument("--layer", action="append", default=None,
                        help="the run's --layer (repeatable; default errors: see docs/scale.md; 'all' for every layer)")
    parser.add_argument("--jobs", type=int, default=0, help="-j per shard (default: run's own default, one per core)")
    parser.add_argument("--seed", type=int, default=1, help="--seed of every run (default 1)")
    parser.add_argument("--calibrate", type=lambda t: [p for p in t.split(",") if p], default=["fast"],
                        help="profiles to run the whole suite with against one target of each platform (default fast; '' for none)")
    parser.add_argument("--synthetic", type=_sizes, default=[250, 500, 1000, 2000],
                        help="target counts for merge alone on synthetic results (default 250,500,1000,2000; '' for "
                             "none; docs/scale.md says why not 10,000)")
    parser.add_argument("--synthetic-pieces", type=int, default=100, help="files the synthetic results come in (default 100)")
    parser.add_argument("--shard-timeout", type=float, default=1800, help="seconds a shard may run (default 1800)")
    parser.add_argument("--merge-timeout", type=float, default=900, help="seconds a merge may run (default 900)")
    parser.add_argument("--startup-timeout", type=float, default=300, help="seconds for N servers to start (default 300)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where scale.json and scale.md go")
    args = parser.parse_args(argv)
    args.layer = [] if args.layer == ["all"] else (args.layer or ["errors"])
    return args


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _on_term(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # so that the finally below kills every process


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_term)
    started = time.monotonic()
    report: dict[str, Any] = {
        "command": "python bench/scale.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "profile": args.profile, "layers": args.layer, "jobs": args.jobs or "one per core (run's default)",
        "seed": args.seed,
        "host": {"cpus": os.cpu_count(), "mem_gb": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2 ** 30, 1),
                 "python": host_platform.python_version(), "system": host_platform.platform()},
        "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "load_start": _load(), "runs": [], "servers": [], "calibration": [], "synthetic_merge": [],
        "server_pids": [],
    }
    procs = Processes()
    template: dict[str, Any] | None = None
    failed = False
    with tempfile.TemporaryDirectory(prefix="chatcontract-scale-") as scratch:
        work = Path(scratch)
        try:
            for size in args.sizes:
                size_dir = work / f"n{size}"
                size_dir.mkdir()
                t0 = time.monotonic()
                servers = start_servers(procs, size, size_dir, args.startup_timeout)
                report["server_pids"] += [s.proc.pid for s in servers]
                startup = time.monotonic() - t0
                print(f"{size} servers up in {startup:.1f} s", flush=True)
                reference: Counter | None = None
                for shards in args.shards:
                    row, merged = run_shards(procs, servers, shards, size_dir, args)
                    if shards == 1:
                        reference = per_target(merged)
                    check_counts(row, merged, reference, servers)
                    failed |= not row["ok"]
                    report["runs"].append(row)
                    if template is None or len((merged or {}).get("targets", [])) > len(template["targets"]):
                        template, report["synthetic_template"] = merged, f"{size} targets, {shards} shard(s)"
                    print(f"N={size} S={shards}: slowest shard {row['slowest_shard_wall_s']} s, merged "
                          f"{row['merge']['results']} results, ok={row['ok']}", flush=True)
                if size == max(args.sizes):
                    for profile in args.calibrate:
                        row, doc = calibrate(procs, servers, profile, size_dir, args)
                        report["calibration"].append(row)
                        if doc and profile == args.calibrate[0]:
                            template, report["synthetic_template"] = doc, f"the whole suite at --profile {profile}"
                        print(f"calibrate {profile}: {row['wall_s']} s, {row['results']} results", flush=True)
                hwm = [high_water_kb(s.proc.pid) / 1024 for s in servers]
                report["servers"].append({"targets": size, "startup_s": round(startup, 2),
                                          "peak_rss_mb_mean": round(sum(hwm) / len(hwm), 1),
                                          "peak_rss_mb_max": round(max(hwm), 1)})
                for server in servers:
                    procs.stop(server.proc)
                shutil.rmtree(size_dir, ignore_errors=True)
            for count in args.synthetic:
                if template is None:
                    break
                row = synthetic_merge(procs, template, count, args.synthetic_pieces, work, args.merge_timeout)
                failed |= not row["ok"]
                report["synthetic_merge"].append(row)
                print(f"synthetic merge of {count} targets: {row['wall_s']} s, {row['peak_rss_mb']} MB", flush=True)
        except BenchError as exc:
            print(f"scale.py: {exc}", file=sys.stderr)
            return 3
        except KeyboardInterrupt:
            print("scale.py: interrupted; every server and shard stopped", file=sys.stderr)
            return 130
        finally:
            procs.stop_all()
    report["load_end"] = _load()
    report["wall_s"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (args.out / "scale.md").write_text(markdown(report), encoding="utf-8")
    print(f"wrote {args.out / 'scale.json'} and {args.out / 'scale.md'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
