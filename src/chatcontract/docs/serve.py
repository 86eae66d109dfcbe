"""Serve a built site on a loopback address with Starlette's StaticFiles under uvicorn.

Binds the socket first, so the printed URL has the real port (a free one when asked for 0), and
leaves on Ctrl-C after uvicorn's own clean shutdown.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

LOOPBACK = "127.0.0.1"


def app_for(folder: Path) -> Starlette:
    return Starlette(routes=[Mount("/", app=StaticFiles(directory=folder, html=True))])


def listen(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (RuntimeError when the port is taken)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise RuntimeError(f"cannot listen on {LOOPBACK}:{port}: {exc.strerror}") from None
    sock.listen(128)
    return sock


def serve_forever(folder: Path, *, port: int, announce: Callable[[str], None]) -> None:
    """Serve `folder` until interrupted; `announce(url)` is called once it accepts connections."""
    sock = listen(port)
    url = f"http://{LOOPBACK}:{sock.getsockname()[1]}/"
    config = uvicorn.Config(app_for(folder), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            announce(url)
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()
