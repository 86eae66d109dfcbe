"""The entry functions of `chatcontract check-traffic` and `chatcontract proxy`, for cli.py.

Each returns the exit code and prints every problem with its input as one line on stderr:
0 every exchange as documented (or not in the spec), 1 a check failed, 2 bad usage or input (a
HAR that is malformed, too large or not text; a target file that cannot be used; a report
directory that cannot be written; a listen address that is not loopback), 3 the target could
not be reached (proxy) or the proxy could not start.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, TextIO

from chatcontract import exitcodes, specs
from chatcontract.targets import TargetError, Target, check_base_url, load_target
from chatcontract.traffic import har, sequence
from chatcontract.traffic.proxy import Proxy, ProxyServer, parse_listen
from chatcontract.traffic.session import Session, escaped, line


_PRINTING = threading.Lock()


def _say(stream: TextIO, text: str) -> None:
    """One whole line at a time (the proxy's checks run on several threads), escaped."""
    with _PRINTING:
        stream.write(escaped(text) + "\n")
        stream.flush()


def _target_document(api: str, name: str, base_url: str | None, source: str) -> dict[str, Any]:
    """The report's target entry when there is no target file (no credentials to show)."""
    return {"name": name, "api": api, "base_url": base_url or "", "credentials": {}, "fixtures": {},
            "capabilities": {}, "disabled": [], "implements": None, "strict_http": {}, "tls": {}, "source": source}


def _writable(report_dir: Path) -> None:
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        probe = report_dir / ".chatcontract-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise TargetError(f"the report directory {report_dir} cannot be written ({exc.strerror or exc})") from None


def check_traffic(api: str, har_path: Path, *, target: Target | None = None, base_url: str | None = None,
                  observers: list[Any] | None = None, on_line: Callable[[str], None] | None = None) -> Session:
    """Check every exchange of a HAR file; the session holding the results (HarError when the
    file cannot be read)."""
    exchanges = har.read(har_path)  # read (and refused) whole before any result exists
    if target is not None:
        document, base_url = target.redacted(), base_url or target.base_url
    else:
        document = _target_document(api, Path(har_path).name.removesuffix(".har") or "traffic", base_url, str(har_path))
    if observers is None:
        observers = sequence.observers_for(api, target.credentials if target is not None else None)
    session = Session(api, target=document, base_url=base_url, observers=observers)
    for exchange in exchanges:
        for record in session.add(exchange):
            if on_line is not None:
                on_line(line(record))
    for record in session.finish():
        if on_line is not None:
            on_line(line(record))
    return session


def main_check_traffic(api: str | None, har_path: Path, report_dir: Path, target_path: Path | None = None, *,
                       base_url: str | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """`chatcontract check-traffic --api NAME FILE.har [--target FILE] [--base-url URL] [--report-dir DIR]`.

    `api` may be None when `target_path` is given (the target's `api`); `base_url` (or the
    target's) is the prefix an exchange's URL must start with to be matched, default any origin.
    Writes results.json, junit.xml and summary.md into `report_dir`; prints one line per
    exchange. Exit 0 / 1 / 2 (see the module docstring)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        target = load_target(target_path) if target_path is not None else None
        if target is not None and api is not None and api != target.api:
            raise TargetError(f"--api {api} but the target file {target_path} is for {target.api}")
        api = api or (target.api if target is not None else None)
        if api is None:
            raise TargetError("check-traffic needs --api NAME or --target FILE (which spec judges the traffic)")
        specs.spec_path(api)
        if base_url is not None:
            base_url = check_base_url(base_url, "--base-url")
        _writable(report_dir)
        session = check_traffic(api, har_path, target=target, base_url=base_url, on_line=lambda t: _say(out, t))
        document = session.write(report_dir)
    except (har.HarError, TargetError, specs.SpecError) as exc:
        _say(err, f"chatcontract: {exc}")
        return exitcodes.USAGE
    totals = document["totals"]
    _say(out, f"{session.count} exchanges: " + ", ".join(f"{v} {k}" for k, v in totals.items() if v or k in ("pass", "fail"))
         + f"; reports in {report_dir}/ (summary.md, results.json, junit.xml)")
    return session.exit_code()


def main_proxy(target_path: Path, listen: str = "127.0.0.1:0", max_exchanges: int | None = None,
               duration_s: float | None = None, report_dir: Path = Path("reports"), *, record: Path | None = None,
               allow_remote: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None,
               ready: Callable[[str], None] | None = None, observers: list[Any] | None = None) -> int:
    """`chatcontract proxy --target FILE [--listen 127.0.0.1:PORT] [--max-exchanges N] [--duration S]
    [--report-dir DIR] [--record FILE.har]`.

    Serves the checking proxy in the foreground until Ctrl-C (SIGINT or SIGTERM), `max_exchanges`
    checked exchanges, or `duration_s` seconds; then writes the reports (and the HAR of every
    exchange, redacted, with `record`). Prints `proxy for NAME (BASE_URL) on http://HOST:PORT`
    first (and calls `ready(url)`), then one line per exchange. Exit 0 / 1 / 2 / 3 (module
    docstring); a listen address off loopback needs `allow_remote`."""
    import ipaddress

    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        target = load_target(target_path)
        host, port = parse_listen(listen)
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            raise TargetError(f"--listen {listen!r}: {host!r} is not an IP address") from None
        if not loopback and not allow_remote:
            raise TargetError(f"--listen {listen!r} is not a loopback address (the proxy forwards with the client's "
                              "credentials; listen off loopback only on purpose)")
        if max_exchanges is not None and max_exchanges < 1:
            raise TargetError("--max-exchanges must be at least 1")
        if duration_s is not None and not duration_s > 0:
            raise TargetError("--duration must be more than 0 seconds")
        _writable(report_dir)
    except (TargetError, ValueError, specs.SpecError) as exc:
        _say(err, f"chatcontract: {exc}")
        return exitcodes.USAGE
    if observers is None:
        observers = sequence.observers_for(target.api, target.credentials)
    session = Session(target.api, target=target.redacted(), base_url=target.base_url, observers=observers)
    writer = har.HarWriter(record, api=target.api, secrets=target.secrets()) if record is not None else None
    proxy = Proxy(session, target.base_url, timeout_s=target.request_timeout_s, verify=target.ssl_context(),
                  max_exchanges=max_exchanges, on_line=lambda t: _say(out, t), har=writer)
    server = ProxyServer(proxy, host, port)
    stop = threading.Event()
    proxy.on_limit = stop.set
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)} \
        if threading.current_thread() is threading.main_thread() else {}
    try:
        try:
            server.start()
        except (RuntimeError, OSError, SystemExit) as exc:
            _say(err, f"chatcontract: the proxy could not listen on {host}:{port} ({exc})")
            return exitcodes.HARNESS
        _say(out, f"proxy for {target.name} ({target.base_url}) on {server.url}")
        if ready is not None:
            ready(server.url)
        stop.wait(duration_s)
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if writer is not None:
            writer.close()
    document = session.write(report_dir)
    totals = document["totals"]
    _say(out, f"{session.count} exchanges: " + ", ".join(f"{v} {k}" for k, v in totals.items() if v or k in ("pass", "fail"))
         + f"; reports in {report_dir}/ (summary.md, results.json, junit.xml)")
    return session.exit_code()
