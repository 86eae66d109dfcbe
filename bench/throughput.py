"""Requests/s and p99 latency of the reference servers on loopback, next to a bare Starlette app and Prism.

The load generator is `wrk` (Debian package `wrk`, compiled C; `apt-get install -y wrk`). For every
platform it measures one list (read) and one mute (write) operation of `bench/throughput.yaml`
against:

- the reference server (`chatcontract serve PLATFORM --port N`, its own process: one uvicorn
  worker, log level warning, no access log, lifespan off, no test hooks, no faults);
- Prism (`@stoplight/prism-cli`, pinned in `bench/package.json` / `bench/package-lock.json`,
  installed with `npm ci --prefix bench` when missing) mocking the same spec, same request;

and once a bare Starlette hello-world (`bench/hello_app.py`) under the same uvicorn settings.
Before each load a single request is sent and its status recorded; wrk's count of non-2xx answers
is reported too (Agora's documented limit of 100 calls/s per operation makes most of its load
answer 429 `reach_limit`: that is what such a client meets, and the table says so).

    python bench/throughput.py                        # 10 s per measurement, 8 connections, 1 wrk thread
    python bench/throughput.py --duration 5 --connections 16 plugdj

Writes `bench/results/throughput.json` and `bench/results/throughput.md` (README quotes the .md).
Credentials go into wrk's Lua scripts in a scratch directory that is deleted; never into results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plain_schemathesis import auth_headers  # noqa: E402  (the same `-H` auth as the plain st baseline)

from chatcontract import specs  # noqa: E402
from chatcontract.servers.serve import target_document  # noqa: E402

BENCH = Path(__file__).resolve().parent
RESULTS_DIR = BENCH / "results"
UVICORN_FLAGS = ["--log-level", "warning", "--no-access-log", "--lifespan", "off"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout_s:.0f}s")


def start(command: list[str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=BENCH.parent)
    try:
        wait_for_port(port, process)
    except RuntimeError:
        process.kill()
        raise
    time.sleep(0.5)
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def prism_binary() -> Path:
    binary = BENCH / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        subprocess.run(["npm", "ci", "--prefix", str(BENCH), "--no-audit", "--no-fund"], check=True,
                       stdout=subprocess.DEVNULL)
    return binary


def lua_script(request: dict[str, Any], headers: list[str], scratch: Path) -> Path:
    lines = [f'wrk.method = "{request["method"]}"']
    if "json" in request:
        lines.append(f"wrk.body = {json.dumps(json.dumps(request['json']))}")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    for header in headers:
        name, value = header.split(": ", 1)
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    path = Path(tempfile.mkstemp(suffix=".lua", dir=scratch)[1])
    path.write_text("\n".join(lines) + "\n")
    return path


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, script: Path, duration: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def preflight(url: str, request: dict[str, Any], headers: list[str]) -> int:
    hdrs = dict(h.split(": ", 1) for h in headers)
    return httpx.request(request["method"], url, json=request.get("json"), headers=hdrs, timeout=10).status_code


def fill(template: Any, fixtures: dict[str, Any]) -> Any:
    if isinstance(template, str):
        return template.format(fixtures=fixtures)
    if isinstance(template, list):
        return [fill(t, fixtures) for t in template]
    if isinstance(template, dict):
        return {k: fill(v, fixtures) for k, v in template.items()}
    return template


def measure(label: str, server: str, base: str, request: dict, headers: list[str], args, scratch: Path,
            op: str = "-") -> dict:
    url = base + request["path"]
    status = preflight(url, request, headers)
    result = {"platform": label, "server": server, "op": op,
              "operation": f"{request['method']} {request['path'].split('?')[0]}",
              "first_status": status, **run_wrk(url, lua_script(request, headers, scratch), args.duration, args.connections)}
    print(f"{label:<11} {server:<10} {result['operation'][:48]:<48} first={status} {result['rps']:9.0f} req/s "
          f"p50 {result['p50_ms']:7.2f} ms p99 {result['p99_ms']:7.2f} ms non-2xx {result['non_2xx']}", flush=True)
    return result


def markdown(rows: list[dict], duration: int, connections: int, command: str, load: tuple[float, float]) -> str:
    hello = next(r for r in rows if r["server"] == "starlette")
    lines = [f"wrk 1 thread, {connections} connections, {duration} s per row, loopback, {os.cpu_count()} cores "
             f"shared with the servers and with other work (load average {load[0]:.2f} at start, {load[1]:.2f} at end). "
             f"Reproduce: `{command}`.", "",
             "| platform | op | operation | server | first status | req/s | p50 (ms) | p99 (ms) | non-2xx share | vs hello-world | vs Prism |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        prism = next((p for p in rows if p["server"] == "prism" and p["platform"] == r["platform"]
                      and p["op"] == r["op"]), None)
        vs_prism = f"{r['rps'] / prism['rps']:.2f}x" if prism and r["server"] == "reference" and prism["rps"] else ""
        share = f"{100 * r['non_2xx'] / max(r['requests'], 1):.0f}%"
        lines.append(f"| {r['platform']} | {r['op']} | `{r['operation']}` | {r['server']} | {r['first_status']} | {r['rps']:.0f} | "
                     f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {share} | {r['rps'] / hello['rps']:.2f}x | {vs_prism} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", nargs="*", help="platforms (default: all five)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per row")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--no-prism", action="store_true", help="skip the Prism rows")
    parser.add_argument("--out", default="throughput")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from the existing .json")
    args = parser.parse_args(argv)
    if args.render:
        doc = json.loads((RESULTS_DIR / f"{args.out}.json").read_text())
        (RESULTS_DIR / f"{args.out}.md").write_text(markdown(doc["rows"], doc["duration"], doc["connections"],
                                                             doc["command"], tuple(doc["load"])))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 3
    unknown = [p for p in args.platform if p not in specs.platforms()]
    if unknown:
        print(f"unknown platform {unknown[0]!r}", file=sys.stderr)
        return 2
    requests = yaml.safe_load((BENCH / "throughput.yaml").read_text())
    command = "python bench/throughput.py " + " ".join(args.platform + [f"--duration {args.duration}",
                                                                        f"--connections {args.connections}"])
    load_start = os.getloadavg()[0]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="chatcontract-throughput-") as tmp:
        scratch = Path(tmp)
        port = free_port()
        hello = start([sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "hello_app:app", "--host", "127.0.0.1",
                       "--port", str(port), *UVICORN_FLAGS], port)
        try:
            rows.append(measure("-", "starlette", f"http://127.0.0.1:{port}", {"method": "GET", "path": "/"}, [],
                                args, scratch))
        finally:
            stop(hello)
        for name in args.platform or specs.platforms():
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            document = target_document(name, base, test_hooks=False)
            headers = auth_headers(name, document["credentials"])
            ops = {op: fill(req, document["fixtures"]) for op, req in requests[name].items()}
            server = start([sys.executable, "-m", "chatcontract.cli", "serve", name, "--port", str(port)], port)
            try:
                for op, request in ops.items():
                    rows.append(measure(name, "reference", base, request, headers, args, scratch, op))
            finally:
                stop(server)
            if args.no_prism:
                continue
            port = free_port()
            prism = start([str(prism_binary()), "mock", str(specs.spec_path(name)), "-h", "127.0.0.1", "-p", str(port)],
                          port)
            try:
                for op, request in ops.items():
                    rows.append(measure(name, "prism", f"http://127.0.0.1:{port}", request, headers, args, scratch, op))
            finally:
                stop(prism)
    RESULTS_DIR.mkdir(exist_ok=True)
    load = (load_start, os.getloadavg()[0])
    (RESULTS_DIR / f"{args.out}.json").write_text(json.dumps({"command": command, "load": load, "rows": rows,
                                                               "duration": args.duration,
                                                               "connections": args.connections}, indent=2))
    (RESULTS_DIR / f"{args.out}.md").write_text(markdown(rows, args.duration, args.connections, command, load))
    print(f"wrote {RESULTS_DIR / (args.out + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
