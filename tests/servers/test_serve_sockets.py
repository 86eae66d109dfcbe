"""`chatcontract serve` binds its listening sockets itself (a busy port is one line); what it
binds must still give every accepted connection TCP_NODELAY, as uvicorn's own binding does.
Without it (a socket made with proto 0, which asyncio does not take for TCP) each response of a
separate-process reference server waited ~40 ms for a delayed ACK: 43 ms per request instead of
under 1 ms, so a run against `serve`'s targets took 88 s where the embedded run takes 13 s."""

from __future__ import annotations

import asyncio
import socket

from chatcontract.servers.serve import bind_sockets


def test_connections_accepted_on_serves_sockets_have_nodelay() -> None:
    async def accept_one() -> int:
        (listening,) = bind_sockets("127.0.0.1", [0])
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Record(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted = transport.get_extra_info("socket")
                seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Record, sock=listening)  # as uvicorn serves `sockets=`
        try:
            _, writer = await asyncio.open_connection(*listening.getsockname())
            value = await asyncio.wait_for(seen, 10)
            writer.close()
            return value
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(accept_one()) != 0
