"""Echo round trips per second, ferrobahn against websockets, in one run.

Both libraries run server and client in this one process and event loop, so
the rate reflects the whole CPU cost of a round trip (both ends). Runs
alternate between libraries and the best of several rounds is kept, which
keeps the ratio meaningful on a shared, noisy machine.

    python benchmarks/echo.py [--seconds S] [--rounds N] [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
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

SIZES = [64, 1024, 64 * 1024, 1024 * 1024]
LIMIT = 32 * 1024 * 1024

Echo = Callable[[bytes], Awaitable[bytes]]


class _Server(WebSocketServerProtocol):
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.sendMessage(payload, isBinary)


class _Client(WebSocketClientProtocol):
    def onOpen(self) -> None:
        self.factory.opened.set_result(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.reply.set_result(payload)


async def ferrobahn_echo() -> tuple[Echo, Callable[[], Awaitable[None]]]:
    loop = asyncio.get_running_loop()
    server_factory = WebSocketServerFactory()
    server_factory.protocol = _Server
    server_factory.setProtocolOptions(maxMessagePayloadSize=LIMIT, maxFramePayloadSize=LIMIT)
    server = await loop.create_server(server_factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}")
    factory.protocol = _Client
    factory.setProtocolOptions(maxMessagePayloadSize=LIMIT, maxFramePayloadSize=LIMIT)
    factory.opened = loop.create_future()
    await loop.create_connection(factory, "127.0.0.1", port)
    client = await asyncio.wait_for(factory.opened, 10)

    async def echo(payload: bytes) -> bytes:
        factory.reply = loop.create_future()
        client.sendMessage(payload, True)
        return await factory.reply  # type: ignore[no-any-return]

    async def stop() -> None:
        client.sendClose()
        await asyncio.wait_for(client.is_closed, 10)
        server.close()

    return echo, stop


async def websockets_echo() -> tuple[Echo, Callable[[], Awaitable[None]]]:
    async def handler(ws: websockets.asyncio.server.ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    server = await websockets.asyncio.server.serve(
        handler, "127.0.0.1", 0, max_size=LIMIT, compression=None
    )
    port = next(iter(server.sockets)).getsockname()[1]
    client = await websockets.asyncio.client.connect(
        f"ws://127.0.0.1:{port}", max_size=LIMIT, compression=None
    )

    async def echo(payload: bytes) -> bytes:
        await client.send(payload)
        return await client.recv(decode=False)  # type: ignore[no-any-return]

    async def stop() -> None:
        await client.close()
        server.close()

    return echo, stop


async def picows_echo() -> tuple[Echo, Callable[[], Awaitable[None]]]:
    """picows (Cython): frames, not messages; the fastest peer measured."""
    import picows

    loop = asyncio.get_running_loop()
    reply: asyncio.Future[bytes] = loop.create_future()

    class ServerListener(picows.WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == picows.WSMsgType.BINARY:
                transport.send(picows.WSMsgType.BINARY, frame.get_payload_as_bytes())

    class ClientListener(picows.WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            reply.set_result(frame.get_payload_as_bytes())

    server = await picows.ws_create_server(
        lambda request: ServerListener(), "127.0.0.1", 0, max_frame_size=LIMIT
    )
    port = server.sockets[0].getsockname()[1]
    transport, _ = await picows.ws_connect(
        ClientListener, f"ws://127.0.0.1:{port}", max_frame_size=LIMIT
    )

    async def echo(payload: bytes) -> bytes:
        nonlocal reply
        reply = loop.create_future()
        transport.send(picows.WSMsgType.BINARY, payload)
        return await reply

    async def stop() -> None:
        transport.disconnect()
        server.close()

    return echo, stop


LIBRARIES = {"ferrobahn": ferrobahn_echo, "websockets": websockets_echo, "picows": picows_echo}


async def rate(echo: Echo, size: int, seconds: float) -> float:
    payload = bytes(i % 251 for i in range(size))
    assert await echo(payload) == payload
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        await echo(payload)
        count += 1
    return count / (time.perf_counter() - started)


async def main(seconds: float, rounds: int) -> None:
    best: dict[tuple[str, int], float] = {}
    for _ in range(rounds):
        for name, setup in LIBRARIES.items():
            echo, stop = await setup()
            for size in SIZES:
                r = await rate(echo, size, seconds)
                best[name, size] = max(best.get((name, size), 0.0), r)
            await stop()
    names = list(LIBRARIES)
    print(f"round trips/s, best of {rounds}; ratio: ferrobahn / peer")
    print(
        f"{'size':>9}"
        + "".join(f"{n:>12}" for n in names)
        + "".join(f"{'/' + n:>13}" for n in names[1:])
    )
    for size in SIZES:
        rates = [best[n, size] for n in names]
        ratios = [rates[0] / r for r in rates[1:]]
        print(
            f"{size:>9}"
            + "".join(f"{r:>12.0f}" for r in rates)
            + "".join(f"{x:>12.2f}x" for x in ratios)
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.install()
    asyncio.run(main(args.seconds, args.rounds))
