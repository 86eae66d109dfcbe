"""Start reference servers with uvicorn: from the CLI (foreground) or in a thread (tests, suite).

The target file that points the conformance suite at a running server is targetfile.py's
(`target_document` and `write_target`, also importable from here).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from chatcontract.servers import create_app
from chatcontract.servers.targetfile import target_document, write_target

LOOPBACK = "127.0.0.1"


def _config(platform: str, host: str, port: int, test_hooks: bool, faults: tuple[str, ...] = ()) -> uvicorn.Config:
    app = create_app(platform, test_hooks=test_hooks, faults=faults)
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")


def _bound_port(server: uvicorn.Server) -> int:
    return server.servers[0].sockets[0].getsockname()[1]


@dataclass
class RunningServer:
    """A reference server running in a background thread; stop() ends it."""

    platform: str
    base_url: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self.ask_to_stop()
        self._thread.join(timeout=10)

    def ask_to_stop(self) -> None:
        """Tell the server to end without waiting for it (it notices within uvicorn's 0.1 s tick):
        several servers asked first and then joined stop in one tick, not one each."""
        self._server.should_exit = True

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_in_thread(platform: str, *, host: str = LOOPBACK, port: int = 0, test_hooks: bool = True,
                    faults: tuple[str, ...] = (), startup_timeout_s: float = 15.0) -> RunningServer:
    """Start one server on a free loopback port (or `port`) and return once it accepts requests."""
    server = uvicorn.Server(_config(platform, host, port, test_hooks, tuple(faults)))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
    thread = threading.Thread(target=server.run, name=f"chatcontract-{platform}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the {platform} reference server did not start on {host}:{port}")
        time.sleep(0.01)
    return RunningServer(platform, f"http://{host}:{_bound_port(server)}", server, thread)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class PortInUse(Exception):
    """A port `serve` was asked for cannot be bound; the message is one line."""


def bind_sockets(host: str, ports: list[int]) -> list[socket.socket]:
    """A listening socket per port (0: a free one), bound before any server starts, so a busy
    port is one line (PortInUse) rather than uvicorn's error log and a SystemExit."""
    bound: list[socket.socket] = []
    try:
        for port in ports:
            # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
            # without it every response waited ~40 ms for a delayed ACK (Nagle), 25x slower per request.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                                "(pick another --port, or 0 for free ports)") from None
            sock.listen(2048)
            sock.setblocking(False)
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    return bound


async def serve_forever(platforms: list[str], *, host: str, port: int, test_hooks: bool,
                        target_dir: Path | None, announce: Any, faults: tuple[str, ...] = ()) -> None:
    """Serve every platform in one event loop: `port` for the first, the next ports for the rest
    (or free ports when `port` is 0). Calls `announce(platform, base_url)` for each. A port that
    cannot be bound raises PortInUse before any server starts."""
    sockets = bind_sockets(host, [port + index if port else 0 for index in range(len(platforms))])
    servers = []
    for index, platform in enumerate(platforms):
        servers.append(uvicorn.Server(_config(platform, host, sockets[index].getsockname()[1], test_hooks, faults)))
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(servers, sockets)]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            for s in servers:
                s.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            raise RuntimeError("a reference server could not start (is the port in use?)")
        await asyncio.sleep(0.02)
    for platform, server in zip(platforms, servers):
        base_url = f"http://{host}:{_bound_port(server)}"
        if target_dir is not None:
            write_target(target_dir / f"{platform}.target.yaml", target_document(platform, base_url, test_hooks))
        announce(platform, base_url)
    await asyncio.gather(*tasks)
