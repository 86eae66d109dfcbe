"""What the checking proxy costs a client, and how fast the traffic checker runs.

For every platform this starts two reference servers (`chatcontract serve PLATFORM`, each its own
process) and `chatcontract proxy` (its own process, `--record`) in front of the second, then sends
the same sequential cycle of requests (every operation's `x-request`, in the spec's order: a list,
a mute, an unmute...) to both, interleaved one by one, so drift in the machine's load falls on
both alike. Each request's latency is timed at the client (httpx, one kept-alive connection per
path). The proxy's added latency is the difference of the two distributions' percentiles (p50,
p99). Then the proxy's recording is checked offline (`commands.check_traffic`, in this process:
every exchange's checks and the moderation model), and exchanges/s is the number of exchanges
over that time (the HAR is read first, not counted).

    python bench/traffic.py                       # every platform, 600 exchanges each
    python bench/traffic.py plugdj --exchanges 2000

Writes `bench/results/traffic.json` and `bench/results/traffic.md` (README quotes the .md). The
proxy's verdicts are part of the result: on a clean reference server none may fail (exit 1
otherwise). Credentials stay in a scratch directory that is deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from chatcontract import specs
from chatcontract.suite.wire import Wire, base_call
from chatcontract.targets import load_target
from chatcontract.traffic.commands import check_traffic

RESULTS = Path(__file__).resolve().parent / "results"
CLI = [sys.executable, "-m", "chatcontract.cli"]


def _serve(platform: str, folder: Path) -> tuple[subprocess.Popen, Path]:
    """A reference server in its own process; its target file."""
    folder.mkdir(parents=True)
    process = subprocess.Popen([*CLI, "serve", platform, "--test-hooks", "--write-targets", str(folder)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    process.stdout.readline()  # the base URL line: the server is up and the target file written
    return process, folder / f"{platform}.target.yaml"


def _proxy(target_file: Path, folder: Path) -> tuple[subprocess.Popen, str]:
    """The proxy in its own process; its verdict lines go to a file (a pipe nobody drains would
    fill and stop the proxy at its next line, as it would any program)."""
    lines = (folder / "proxy.out").open("w")
    process = subprocess.Popen([*CLI, "proxy", "--target", str(target_file), "--listen", "127.0.0.1:0",
                                "--record", str(folder / "proxied.har"), "--report-dir", str(folder / "reports")],
                               stdout=lines, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        first = (folder / "proxy.out").read_text().partition("\n")
        if first[1]:
            break
        time.sleep(0.05)
    if " on " not in first[0]:
        raise SystemExit(f"the proxy did not start: {(folder / 'proxy.out').read_text()}")
    return process, first[0].rsplit(" on ", 1)[1].strip()


def _stop(process: subprocess.Popen, output: Path | None = None) -> str:
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return output.read_text() if output is not None else (out or "")


class _Path:
    """One way to the server: a kept-alive client and the requests of the cycle, prepared once."""

    def __init__(self, target_file: Path, base_url: str | None = None) -> None:
        self.target = load_target(target_file, base_url=base_url)
        self.wire = Wire(self.target)
        self.client = httpx.Client(trust_env=False, timeout=30)
        self.cycle = [self.wire.prepare(base_call(self.target, op.operation_id))
                      for op in specs.operations(self.target.api)]
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    def send(self, index: int) -> None:
        prepared = self.cycle[index % len(self.cycle)]
        headers = dict(prepared.headers)
        if prepared.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in prepared.cookies.items())
        began = time.perf_counter()
        response = self.client.request(prepared.method, prepared.url, headers=headers, content=prepared.content)
        self.latencies.append(time.perf_counter() - began)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1

    def close(self) -> None:
        self.client.close()
        self.wire.close()


def _percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def measure(platform: str, exchanges: int, scratch: Path) -> dict[str, Any]:
    servers = [_serve(platform, scratch / f"{platform}-{name}") for name in ("direct", "proxied")]
    proxy, url = _proxy(servers[1][1], scratch / f"{platform}-proxied")
    try:
        direct, proxied = _Path(servers[0][1]), _Path(servers[1][1], base_url=url)
        for index in range(exchanges):
            direct.send(index)
            proxied.send(index)
        direct.close()
        proxied.close()
        summary = _stop(proxy, scratch / f"{platform}-proxied" / "proxy.out").strip().splitlines()[-1]
    finally:
        for process, _ in servers:
            _stop(process)
    document = json.loads((scratch / f"{platform}-proxied" / "reports" / "results.json").read_text())
    started = time.perf_counter()
    session = check_traffic(platform, scratch / f"{platform}-proxied" / "proxied.har")
    checked_s = time.perf_counter() - started
    offline = session.document()["totals"]
    row: dict[str, Any] = {"platform": platform, "exchanges": exchanges, "cycle": len(direct.cycle),
                           "statuses": {str(k): v for k, v in sorted(proxied.statuses.items())}}
    for name, path in (("direct", direct), ("proxied", proxied)):
        row[name] = {f"p{p}_ms": round(_percentile(path.latencies, p) * 1000, 3) for p in (50, 99)}
    row["added_ms"] = {key: round(row["proxied"][key] - row["direct"][key], 3) for key in ("p50_ms", "p99_ms")}
    row["proxy_totals"] = document["totals"]
    row["proxy_summary"] = summary
    row["check_traffic"] = {"exchanges": session.count, "seconds": round(checked_s, 3),
                            "exchanges_per_s": round(session.count / checked_s, 1), "totals": offline}
    return row


def markdown(document: dict[str, Any]) -> str:
    lines = [f"# Proxy overhead and traffic-checker speed ({document['date']})", "",
             f"`python bench/traffic.py` — {document['machine']}; load average {document['load_before']} before, "
             f"{document['load_after']} after. Sequential requests, every operation's x-request in turn, "
             "direct and through `chatcontract proxy` interleaved one by one; latency at the client.", "",
             "| platform | exchanges | direct p50 / p99 ms | proxied p50 / p99 ms | added p50 / p99 ms | proxy verdicts "
             "(pass / fail / skip) | check-traffic exchanges/s |",
             "|---|---|---|---|---|---|---|"]
    for row in document["rows"]:
        totals = row["proxy_totals"]
        lines.append(f"| {row['platform']} | {row['exchanges']} | {row['direct']['p50_ms']} / {row['direct']['p99_ms']} | "
                     f"{row['proxied']['p50_ms']} / {row['proxied']['p99_ms']} | {row['added_ms']['p50_ms']} / "
                     f"{row['added_ms']['p99_ms']} | {totals.get('pass', 0)} / {totals.get('fail', 0)} / "
                     f"{totals.get('skip', 0)} | {row['check_traffic']['exchanges_per_s']:,} |")
    lines += ["", "Proxy verdicts count results: each exchange's own, plus the moderation model's `/semantics` "
              "ones. Status codes answered through the proxy: "
              + "; ".join(f"{r['platform']} {r['statuses']}" for r in document["rows"]) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", nargs="*", help="platforms (default: all five)")
    parser.add_argument("--exchanges", type=int, default=600, help="requests per path and platform (default 600)")
    parser.add_argument("--out", default="traffic", help="result name under bench/results/")
    args = parser.parse_args(argv)
    platforms = args.platform or specs.platforms()
    unknown = [p for p in platforms if p not in specs.platforms()]
    if unknown or args.exchanges < 10:
        print(f"traffic.py: unknown platform {unknown} or fewer than 10 exchanges", file=sys.stderr)
        return 2
    before = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    with tempfile.TemporaryDirectory(prefix="chatcontract-bench-traffic-") as scratch:
        rows = []
        for platform in platforms:
            rows.append(measure(platform, args.exchanges, Path(scratch)))
            print(f"{platform}: added p50 {rows[-1]['added_ms']['p50_ms']} ms, p99 {rows[-1]['added_ms']['p99_ms']} ms; "
                  f"check-traffic {rows[-1]['check_traffic']['exchanges_per_s']} exchanges/s; {rows[-1]['proxy_summary']}",
                  flush=True)
    after = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    document = {"date": time.strftime("%Y-%m-%d"), "machine": f"{host.machine()} {os.cpu_count()} cores, "
                f"Python {host.python_version()}", "load_before": before, "load_after": after, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(document, indent=2) + "\n")
    (RESULTS / f"{args.out}.md").write_text(markdown(document))
    failed = [r["platform"] for r in rows if r["proxy_totals"].get("fail", 0) or r["check_traffic"]["totals"].get("fail", 0)]
    if failed:
        print(f"traffic.py: checks failed on clean reference servers: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
