"""permessage-deflate on asyncio over real sockets: negotiation with real
peers, every API level compressed, decompression bombs, limits counted on
inflated bytes."""

from __future__ import annotations

import asyncio
import functools
import zlib
from typing import Any

import pytest
from conftest import RawClient, frame, next_event, run, start_server

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

websockets_client = pytest.importorskip("websockets.asyncio.client")
websockets_server = pytest.importorskip("websockets.asyncio.server")
aiohttp = pytest.importorskip("aiohttp")

LIMIT = 16 * 1024 * 1024
SIZES = [0, 1, 1000, 65536, 1 << 20, LIMIT]


def text_of(size: int) -> bytes:
    """Compressible, valid UTF-8 text of exactly ``size`` bytes."""
    unit = b'{"name": "ferrobahn", "value": 12345, "ok": true} '
    return (unit * (size // len(unit) + 1))[:size]


class Echo(WebSocketServerProtocol):
    def onOpen(self) -> None:
        self.factory.instances.append(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.queue.put_nowait(("message", (payload, isBinary)))
        self.sendMessage(payload, isBinary)


def accept_first(offers: list[Any]) -> Any:
    return PerMessageDeflateOfferAccept(offers[0]) if offers else None


def deflate_server(protocol: type = Echo, **options: Any) -> WebSocketServerFactory:
    factory = WebSocketServerFactory()
    factory.protocol = protocol
    factory.instances = []
    factory.queue = asyncio.Queue()
    factory.setProtocolOptions(
        perMessageCompressionAccept=options.pop("accept", accept_first), **options
    )
    return factory


class Client(WebSocketClientProtocol):
    def onOpen(self) -> None:
        self.factory.instance = self
        self.factory.queue.put_nowait(("open", ()))

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.queue.put_nowait(("message", (payload, isBinary)))

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.factory.queue.put_nowait(("close", (wasClean, code, reason)))


async def deflate_client(port: int, offers: list[Any] | None = None, **options: Any) -> Any:
    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}")
    factory.protocol = Client
    factory.queue = asyncio.Queue()
    factory.setProtocolOptions(
        perMessageCompressionOffers=offers if offers is not None else [PerMessageDeflateOffer()],
        perMessageCompressionAccept=lambda response: PerMessageDeflateResponseAccept(response),
        maxMessagePayloadSize=LIMIT,
        **options,
    )
    await asyncio.get_running_loop().create_connection(factory, "127.0.0.1", port)
    await next_event(factory, "open")
    return factory


def test_websockets_and_aiohttp_clients_compress_with_a_ferrobahn_server() -> None:
    async def main() -> None:
        factory = deflate_server()
        server, port = await start_server(factory)
        url = f"ws://127.0.0.1:{port}"
        async with websockets_client.connect(url, max_size=LIMIT + 1) as ws:
            assert "permessage-deflate" in ws.response.headers["Sec-WebSocket-Extensions"]
            for size in SIZES:
                await ws.send(text_of(size).decode())
                assert await ws.recv() == text_of(size).decode()
                await ws.send(text_of(size))
                assert await ws.recv() == text_of(size)
            await ws.send([text_of(5000), text_of(3000)])  # fragmented and compressed
            assert await ws.recv() == text_of(5000) + text_of(3000)
        assert factory.instances[0].websocket_extensions_in_use[0].EXTENSION_NAME == (
            "permessage-deflate"
        )
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, compress=15, max_msg_size=LIMIT + 1) as ws,
        ):
            assert ws.compress == 15
            for size in SIZES:
                await ws.send_bytes(text_of(size))
                assert (await ws.receive()).data == text_of(size)
        server.close()

    run(main(), timeout=60)


@pytest.mark.parametrize(
    "offer",
    [
        PerMessageDeflateOffer(),
        PerMessageDeflateOffer(request_no_context_takeover=True),
        PerMessageDeflateOffer(request_max_window_bits=9),
        PerMessageDeflateOffer(accept_no_context_takeover=False, request_max_window_bits=12),
    ],
    ids=["default", "server-no-context-takeover", "server-window-9", "window-12"],
)
def test_ferrobahn_client_with_websockets_server(offer: Any) -> None:
    async def main() -> None:
        async def echo(ws: Any) -> None:
            async for message in ws:
                await ws.send(message)

        async with websockets_server.serve(echo, "127.0.0.1", 0, max_size=LIMIT + 1) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            factory = await deflate_client(port, [offer])
            client = factory.instance
            assert client.websocket_extensions_in_use
            for size in SIZES:
                client.sendMessage(text_of(size))
                assert await next_event(factory, "message") == (text_of(size), False)
            client.sendMessage(text_of(100_000), isBinary=True, fragmentSize=7000)
            assert await next_event(factory, "message") == (text_of(100_000), True)
            client.sendClose(1000)
            assert (await next_event(factory, "close"))[:2] == (True, 1000)

    run(main(), timeout=60)


class StreamingEcho(WebSocketServerProtocol):
    """Receives frame by frame (inflated pieces as they arrive), echoes whole."""

    def onMessageBegin(self, isBinary: bool) -> None:
        super().onMessageBegin(isBinary)
        self.pieces: list[bytes] = []

    def onMessageFrameData(self, payload: bytes) -> None:
        self.pieces.append(payload)

    def onMessageEnd(self) -> None:
        self.sendMessage(b"".join(self.pieces), self.message_is_binary)


@pytest.mark.parametrize("server_protocol", [Echo, StreamingEcho], ids=["whole", "streaming"])
@pytest.mark.parametrize(
    "offer",
    [PerMessageDeflateOffer(), PerMessageDeflateOffer(request_no_context_takeover=True)],
    ids=["takeover", "no-takeover"],
)
def test_every_api_level_compresses(server_protocol: type, offer: Any) -> None:
    async def main() -> None:
        server, port = await start_server(deflate_server(server_protocol))
        factory = await deflate_client(port, [offer])
        client = factory.instance
        for _ in range(3):  # more than once: context takeover carries between messages
            client.sendMessage(text_of(10_000))
            assert await next_event(factory, "message") == (text_of(10_000), False)
        client.beginMessage()
        client.sendMessageFrame(text_of(300))
        client.sendMessageFrame(b"")
        client.sendMessageFrame(text_of(4000))
        client.endMessage()
        assert await next_event(factory, "message") == (text_of(300) + text_of(4000), False)
        client.beginMessage(isBinary=True)
        client.beginMessageFrame(3 << 20)
        for _ in range(3):
            client.sendMessageFrameData(text_of(1 << 20))
        client.endMessage()
        assert await next_event(factory, "message") == (text_of(1 << 20) * 3, True)
        client.sendMessage(b"plain", doNotCompress=True)
        assert await next_event(factory, "message") == (b"plain", False)
        server.close()

    run(main(), timeout=60)


def test_prepared_messages_are_compressed_once_without_context_takeover() -> None:
    class Broadcast(WebSocketServerProtocol):
        def onOpen(self) -> None:
            self.sendPreparedMessage(self.factory.prepared)

    async def main() -> None:
        factory = deflate_server(
            Broadcast,
            accept=lambda offers: PerMessageDeflateOfferAccept(offers[0], no_context_takeover=True),
        )
        factory.prepared = factory.prepareMessage(text_of(50_000))
        server, port = await start_server(factory)
        for _ in range(3):
            client_factory = await deflate_client(port)
            assert await next_event(client_factory, "message") == (text_of(50_000), False)
        assert len(factory.prepared.compressed) == 1
        assert len(next(iter(factory.prepared.compressed.values()))) < 5000
        server.close()

    run(main(), timeout=60)


@functools.cache
def deflated(data_pieces: int, piece: bytes) -> bytes:
    """Raw DEFLATE of ``piece`` repeated, sync-flushed, tail removed (§7.2.1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [compressor.compress(piece) for _ in range(data_pieces)]
    out.append(compressor.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(out)[:-4]


def peak_rss_reset() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets VmHWM, the peak resident set size


def peak_rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("fragments", [1, 64], ids=["one-frame", "fragmented"])
def test_decompression_bomb_fails_with_1009_in_bounded_memory(fragments: int) -> None:
    bomb = deflated(1024, bytes(1 << 20))  # about 1 GiB of zeros inflated
    assert len(bomb) < 2 << 20

    async def main() -> int:
        factory = deflate_server(failByDrop=False)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port, handshake=False)
        status, headers = await raw.handshake(Sec_WebSocket_Extensions="permessage-deflate")
        assert status == 101 and "permessage-deflate" in headers["sec-websocket-extensions"]
        peak_rss_reset()
        before = peak_rss_kib()
        step = -(-len(bomb) // fragments)
        pieces = [bomb[i : i + step] for i in range(0, len(bomb), step)]
        for i, piece in enumerate(pieces):
            opcode, rsv = (2, 4) if i == 0 else (0, 0)
            raw.send(frame(opcode, piece, fin=i == len(pieces) - 1, rsv=rsv))
        code, _ = await raw.recv_close()
        assert code == 1009
        assert factory.queue.empty()  # the application never saw the message
        server.close()
        return peak_rss_kib() - before

    growth_kib = run(main(), timeout=60)
    print(f"bomb ({fragments} frames): peak RSS growth {growth_kib} KiB")
    assert growth_kib < (LIMIT >> 10) + 8 * 1024


def test_limit_counts_inflated_bytes() -> None:
    async def main() -> None:
        factory = deflate_server(failByDrop=False, maxMessagePayloadSize=100_000)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port, handshake=False)
        await raw.handshake(Sec_WebSocket_Extensions="permessage-deflate")
        exact = deflated(1, text_of(100_000))
        raw.send(frame(1, exact, rsv=4))
        opcode, echoed = await raw.recv_frame()  # the echo comes back compressed
        inflated = zlib.decompressobj(-15).decompress(echoed + b"\x00\x00\xff\xff")
        assert (opcode, inflated) == (1, text_of(100_000))
        over = deflated(1, text_of(100_001))
        assert len(over) < 100_000
        raw.send(frame(1, over, rsv=4))
        code, _ = await raw.recv_close()
        assert code == 1009
        messages = []
        while not factory.queue.empty():
            messages.append(factory.queue.get_nowait())
        assert [len(args[0]) for _, args in messages] == [100_000]
        server.close()

    run(main())


def test_client_role_bomb_and_rsv1_misuse() -> None:
    """A raw server that negotiates deflate, then sends a bomb, or RSV1 on a
    continuation frame: the ferrobahn client fails with 1009 / 1002."""

    async def main(payload: bytes) -> tuple[Any, ...]:
        import base64
        import hashlib

        from conftest import GUID

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            key = next(
                line.split(":", 1)[1].strip()
                for line in head.decode().split("\r\n")
                if line.lower().startswith("sec-websocket-key")
            )
            accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
                b"Sec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n" + payload
            )
            await reader.read()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        factory = await deflate_client(port, failByDrop=False)
        closed = await next_event(factory, "close")
        server.close()
        return (factory.instance.localCloseCode, *closed)

    bomb = frame(2, deflated(256, bytes(1 << 20)), rsv=4, mask=False)
    assert run(main(bomb))[0] == 1009
    misuse = frame(1, b"", fin=False, rsv=4, mask=False) + frame(0, b"", rsv=4, mask=False)
    assert run(main(misuse))[0] == 1002
