"""Compressed echo of a 1 MiB JSON-like text message, ferrobahn against
websockets (both compress by default once negotiated), in one run and one
process; best of three rounds of two seconds each.

    python benchmarks/echo_deflate.py
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import websockets.asyncio.client
import websockets.asyncio.server

from ferrobahn.asyncio.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from ferrobahn.websocket.compress import (
    PerMessageDeflateOffer,
    PerMessageDeflateOfferAccept,
    PerMessageDeflateResponseAccept,
)

LIMIT = 32 << 20
_rng = random.Random(1)
DOCUMENT = json.dumps(
    [
        {"id": i, "name": f"user{i}", "score": _rng.random(), "tags": ["a", "b", str(i % 7)]}
        for i in range(12000)
    ]
).encode()[: 1 << 20]

Echo = Callable[[bytes], Awaitable[bytes]]


class _Server(WebSocketServerProtocol):
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.sendMessage(payload, isBinary)


class _Client(WebSocketClientProtocol):
    def onOpen(self) -> None:
        self.factory.opened.set_result(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.reply.set_result(payload)


async def ferrobahn_echo() -> tuple[Echo, Callable[[], Any]]:
    loop = asyncio.get_running_loop()
    server_factory = WebSocketServerFactory()
    server_factory.protocol = _Server
    server_factory.setProtocolOptions(
        perMessageCompressionAccept=lambda offers: PerMessageDeflateOfferAccept(offers[0]),
        maxMessagePayloadSize=LIMIT,
    )
    server = await loop.create_server(server_factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}")
    factory.protocol = _Client
    factory.opened = loop.create_future()
    factory.setProtocolOptions(
        perMessageCompressionOffers=[PerMessageDeflateOffer(accept_no_context_takeover=False)],
        perMessageCompressionAccept=PerMessageDeflateResponseAccept,
        maxMessagePayloadSize=LIMIT,
    )
    await loop.create_connection(factory, "127.0.0.1", port)
    client = await asyncio.wait_for(factory.opened, 10)
    assert client.websocket_extensions_in_use

    async def echo(payload: bytes) -> bytes:
        factory.reply = loop.create_future()
        client.sendMessage(payload)
        return await asyncio.wait_for(factory.reply, 10)  # type: ignore[no-any-return]

    return echo, server.close


async def websockets_echo() -> tuple[Echo, Callable[[], Any]]:
    async def handler(ws: websockets.asyncio.server.ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    server = await websockets.asyncio.server.serve(handler, "127.0.0.1", 0, max_size=LIMIT)
    port = next(iter(server.sockets)).getsockname()[1]
    client = await websockets.asyncio.client.connect(f"ws://127.0.0.1:{port}", max_size=LIMIT)
    assert "permessage-deflate" in client.response.headers["Sec-WebSocket-Extensions"]

    async def echo(payload: bytes) -> bytes:
        await client.send(payload.decode())
        return (await asyncio.wait_for(client.recv(), 10)).encode()  # type: ignore[union-attr]

    return echo, server.close


async def main() -> None:
    best: dict[str, float] = {}
    for _ in range(3):
        for name, setup in (("ferrobahn", ferrobahn_echo), ("websockets", websockets_echo)):
            echo, stop = await setup()
            assert await echo(DOCUMENT) == DOCUMENT
            count, started = 0, time.perf_counter()
            while time.perf_counter() - started < 2:
                await echo(DOCUMENT)
                count += 1
            best[name] = max(best.get(name, 0.0), count / (time.perf_counter() - started))
            stop()
    ratio = best["ferrobahn"] / best["websockets"]
    print(
        f"1 MiB JSON, compressed echo round trips/s: ferrobahn {best['ferrobahn']:.1f}, "
        f"websockets {best['websockets']:.1f}, ratio {ratio:.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
