"""Interop matrix: ferrobahn (asyncio) against the other Python WebSocket
libraries over 127.0.0.1, in both roles.

- ferrobahn server with clients of ``websockets``, ``aiohttp``, ``wsproto`` (the
  sans-I/O library, driven over a raw asyncio socket here) and ``autobahn``;
- ferrobahn client with servers of ``websockets``, ``aiohttp`` and ``autobahn``.

Each pairing exchanges text and binary messages of sizes across the three length
encodings, a fragmented message each way (where the library can send one; a text
message split inside multi-byte characters), pings, and a clean close with a code
started from either end. Every echo server here (ferrobahn's and the peers') answers
alike: it echoes each message, echoes a message starting with ``fragment-me`` in
frames of ``FRAGMENT_SIZE`` bytes, and closes on the text ``close:CODE:REASON``.

``compression`` is a parameter of every test: on, the peers offer (or accept)
permessage-deflate and the test checks that it was negotiated. It is skipped until
permessage-deflate is wired into ferrobahn's protocol layer.
"""

from __future__ import annotations

import asyncio
import functools
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from autobahn.websocket import compress as autobahn_compress
from conftest import RecordingProtocol, next_event, run, start_server
from test_asyncio_interop import AiohttpPeer, Peer, WebsocketsPeer, make_payload
from websockets.asyncio.client import connect as websockets_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate as WsprotoDeflate

from ferrobahn.asyncio import websocket as ferrobahn_asyncio
from ferrobahn.websocket import compress

MiB = 1 << 20
#: Payload sizes: empty, the largest 7-bit, the smallest 16-bit and a 64-bit length.
SIZES = [0, 125, 126, 65536, MiB]
#: Every peer is told to accept messages this large.
PEER_MAX = 4 * MiB
#: An echo server answers a message starting with FRAGMENT_ME in frames of this size.
FRAGMENT_ME = b"fragment-me "
FRAGMENT_SIZE = 7
#: A fragmented message as its pieces: text split at character boundaries (for the
#: APIs that take ``str`` pieces), and binary.
TEXT_PIECES = ["Hello, ", "fragmented ", "wörld €😀", "!"]
BINARY_PIECES = [bytes(range(50)), bytes(range(50, 256)), b"\xff" * 10]
#: ferrobahn's echo of this is split inside multi-byte characters.
SPLIT_TEXT = FRAGMENT_ME + "wörld €😀 and more: ñ, 𝄞".encode() * 3

COMPRESSION = [pytest.param(False, id="plain"), pytest.param(True, id="deflate")]


def pieces(binary: bool) -> list[bytes]:
    return BINARY_PIECES if binary else [p.encode() for p in TEXT_PIECES]


def fragments(payload: bytes, binary: bool) -> list[Any]:
    """``payload`` in pieces of FRAGMENT_SIZE: bytes, or for text ``str`` pieces of
    FRAGMENT_SIZE characters (for APIs that fragment text as ``str``)."""
    if binary:
        return [payload[i : i + FRAGMENT_SIZE] for i in range(0, len(payload), FRAGMENT_SIZE)]
    text = payload.decode()
    return [text[i : i + FRAGMENT_SIZE] for i in range(0, len(text), FRAGMENT_SIZE)]


def parse_close_command(payload: bytes, binary: bool) -> tuple[int, str] | None:
    """``close:CODE:REASON`` as (code, reason), else None."""
    if binary or not payload.startswith(b"close:"):
        return None
    _, code, reason = payload.decode().split(":", 2)
    return int(code), reason


def answer(proto: Any, payload: bytes, binary: bool) -> None:
    """The echo servers' answer, for protocols with AutobahnPython's API
    (ferrobahn's and autobahn's)."""
    command = parse_close_command(payload, binary)
    if command is not None:
        proto.sendClose(*command)
    elif payload.startswith(FRAGMENT_ME):
        proto.sendMessage(payload, binary, fragmentSize=FRAGMENT_SIZE)
    else:
        proto.sendMessage(payload, binary)


# --------------------------------------------------------------------------
# ferrobahn's ends
# --------------------------------------------------------------------------


class FerrobahnEcho(RecordingProtocol, ferrobahn_asyncio.WebSocketServerProtocol):
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        super().onMessage(payload, isBinary)
        answer(self, payload, isBinary)


class FerrobahnClient(RecordingProtocol, ferrobahn_asyncio.WebSocketClientProtocol):
    pass


def deflate_accept(offers: list[Any]) -> Any:
    for offer in offers:
        if isinstance(offer, compress.PerMessageDeflateOffer):
            return compress.PerMessageDeflateOfferAccept(offer)
    return None


def deflate_response_accept(response: Any) -> Any:
    if isinstance(response, compress.PerMessageDeflateResponse):
        return compress.PerMessageDeflateResponseAccept(response)
    return None


async def ferrobahn_server(compression: bool) -> tuple[Any, Any, int]:
    factory = ferrobahn_asyncio.WebSocketServerFactory()
    factory.protocol = FerrobahnEcho
    factory.queue = asyncio.Queue()
    if compression:
        factory.setProtocolOptions(perMessageCompressionAccept=deflate_accept)
    server, port = await start_server(factory)
    return factory, server, port


async def ferrobahn_client(port: int, compression: bool) -> tuple[Any, Any]:
    factory = ferrobahn_asyncio.WebSocketClientFactory(f"ws://127.0.0.1:{port}/")
    factory.protocol = FerrobahnClient
    factory.queue = asyncio.Queue()
    if compression:
        factory.setProtocolOptions(
            perMessageCompressionOffers=[compress.PerMessageDeflateOffer()],
            perMessageCompressionAccept=deflate_response_accept,
        )
    await asyncio.get_running_loop().create_connection(factory, "127.0.0.1", port)
    await next_event(factory, "open")
    assert bool(factory.instance.websocket_extensions_in_use) == compression
    return factory, factory.instance


# --------------------------------------------------------------------------
# Third-party clients, behind one interface
# --------------------------------------------------------------------------


class Client(Peer):
    """A third-party client connected to ferrobahn's server: ``Peer``'s interface
    (``send``, ``recv``, ``ping``, ``aclose``) plus compression, fragments and a
    close with a code."""

    #: Whether the library can send a fragmented message.
    sends_fragments = True
    #: How many frames the last message received came in, where the library says.
    frames: int | None = None

    @classmethod
    async def open(cls, port: int, compression: bool) -> Client:
        raise NotImplementedError

    async def send_fragments(self, parts: list[bytes], binary: bool) -> None:
        raise NotImplementedError

    async def close_with(self, code: int, reason: str) -> tuple[int | None, bool]:
        """Close with ``code``: the code of the answer and whether the closing
        handshake completed."""
        raise NotImplementedError


class WebsocketsClient(WebsocketsPeer, Client):
    @classmethod
    async def open(cls, port: int, compression: bool) -> Client:
        ws = await websockets_connect(
            f"ws://127.0.0.1:{port}/",
            compression="deflate" if compression else None,
            max_size=PEER_MAX,
            ping_interval=None,
            proxy=None,
        )
        return cls(ws)

    async def send_fragments(self, parts: list[bytes], binary: bool) -> None:
        await self.ws.send([p if binary else p.decode() for p in parts])

    async def close_with(self, code: int, reason: str) -> tuple[int | None, bool]:
        await self.ws.close(code, reason)
        rcvd = self.ws.protocol.close_rcvd
        return (rcvd.code if rcvd else None), rcvd is not None


class AiohttpClient(AiohttpPeer, Client):
    sends_fragments = False

    @classmethod
    async def open(cls, port: int, compression: bool) -> Client:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(
            f"ws://127.0.0.1:{port}/",
            max_msg_size=PEER_MAX,
            autoping=False,  # pongs are handed to receive()
            compress=15 if compression else 0,
        )
        return cls(session, ws)

    async def close_with(self, code: int, reason: str) -> tuple[int | None, bool]:
        # aiohttp returns True once the answering close frame arrived.
        clean = await self.ws.close(code=code, message=reason.encode())
        return self.ws.close_code, clean


class WsprotoClient(Client):
    """wsproto, the sans-I/O library, over an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = WSConnection(ConnectionType.CLIENT)
        self.pending: deque[Event] = deque()

    @classmethod
    async def open(cls, port: int, compression: bool) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        extensions = [WsprotoDeflate()] if compression else []
        client.write(Request(host=f"127.0.0.1:{port}", target="/", extensions=extensions))
        accepted = await client.event()
        assert isinstance(accepted, AcceptConnection), accepted
        assert bool(accepted.extensions) == compression
        return client

    def write(self, event: Event) -> None:
        self.writer.write(self.conn.send(event))

    async def event(self) -> Event | None:
        """The next event (pings answered on the way); None at EOF."""
        while True:
            while not self.pending:
                data = await self.reader.read(65536)
                self.conn.receive_data(data or None)
                self.pending.extend(self.conn.events())
                if not data and not self.pending:
                    return None
            event = self.pending.popleft()
            if isinstance(event, Ping):
                self.write(event.response())
            else:
                return event

    async def send(self, payload: bytes, binary: bool) -> None:
        self.write(Message(data=payload if binary else payload.decode()))

    async def send_fragments(self, parts: list[bytes], binary: bool) -> None:
        for i, part in enumerate(parts):
            data = part if binary else part.decode()
            self.write(Message(data=data, message_finished=i == len(parts) - 1))

    async def recv(self) -> tuple[Any, ...]:
        chunks: list[bytes] = []
        self.frames = 0
        while True:
            event = await self.event()
            if isinstance(event, (TextMessage, BytesMessage)):
                data = event.data
                chunks.append(data.encode() if isinstance(data, str) else data)
                self.frames += event.frame_finished
                if event.message_finished:
                    return ("message", b"".join(chunks), isinstance(event, BytesMessage))
            elif isinstance(event, CloseConnection):
                self.write(event.response())
                return ("close", event.code, event.reason)
            elif event is None:
                return ("close", None, None)

    async def ping(self, payload: bytes) -> bytes:
        self.write(Ping(payload=payload))
        event = await self.event()
        assert isinstance(event, Pong), event
        return bytes(event.payload)

    async def close_with(self, code: int, reason: str) -> tuple[int | None, bool]:
        self.write(CloseConnection(code=code, reason=reason))
        event = await self.event()
        if isinstance(event, CloseConnection):
            return event.code, True
        return None, False

    async def aclose(self) -> None:
        self.writer.close()


URLLIB_TABLES = ("relative", "netloc", "params", "query", "fragment")


def autobahn_asyncio() -> Any:
    """``autobahn.asyncio.websocket``, imported when a test first needs it, and
    without the ws/wss entries autobahn adds to urllib.parse's global scheme
    tables on import: ferrobahn must not change those tables, which
    tests/test_url.py checks in this same process."""
    tables = [getattr(urllib.parse, f"uses_{kind}") for kind in URLLIB_TABLES]
    saved = [list(table) for table in tables]
    import autobahn.asyncio.websocket

    for table, before in zip(tables, saved):
        table[:] = before
    return autobahn.asyncio.websocket


@functools.cache
def on_autobahn(mixin: type, base: str) -> Any:
    """The protocol class ``mixin`` + autobahn's asyncio ``base`` class."""
    return type(mixin.__name__, (mixin, getattr(autobahn_asyncio(), base)), {})


class _AutobahnRecording:
    """An autobahn client protocol's callbacks, recorded on its factory."""

    factory: Any

    def onOpen(self) -> None:
        self.factory.opened.set_result(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.events.put_nowait(("message", payload, isBinary))

    def onPong(self, payload: bytes) -> None:
        self.factory.events.put_nowait(("pong", payload))

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.factory.events.put_nowait(("close", code, reason, wasClean))


class AutobahnClient(Client):
    def __init__(self, factory: Any, proto: Any) -> None:
        self.factory = factory
        self.proto = proto

    @classmethod
    async def open(cls, port: int, compression: bool) -> Client:
        loop = asyncio.get_running_loop()
        factory = autobahn_asyncio().WebSocketClientFactory(f"ws://127.0.0.1:{port}/")
        factory.protocol = on_autobahn(_AutobahnRecording, "WebSocketClientProtocol")
        factory.opened, factory.events = loop.create_future(), asyncio.Queue()
        factory.setProtocolOptions(maxMessagePayloadSize=PEER_MAX)
        if compression:
            factory.setProtocolOptions(
                perMessageCompressionOffers=[autobahn_compress.PerMessageDeflateOffer()],
                perMessageCompressionAccept=lambda r: (
                    autobahn_compress.PerMessageDeflateResponseAccept(r)
                    if isinstance(r, autobahn_compress.PerMessageDeflateResponse)
                    else None
                ),
            )
        await loop.create_connection(factory, "127.0.0.1", port)
        proto = await factory.opened
        assert bool(proto.websocket_extensions_in_use) == compression
        return cls(factory, proto)

    async def send(self, payload: bytes, binary: bool) -> None:
        self.proto.sendMessage(payload, binary)

    async def send_fragments(self, parts: list[bytes], binary: bool) -> None:
        self.proto.beginMessage(isBinary=binary)
        for part in parts:
            self.proto.sendMessageFrame(part)
        self.proto.endMessage()

    async def next(self, *kinds: str) -> tuple[Any, ...]:
        while True:
            event: tuple[Any, ...] = await self.factory.events.get()
            if event[0] in kinds:
                return event

    async def recv(self) -> tuple[Any, ...]:
        return (await self.next("message", "close"))[:3]

    async def ping(self, payload: bytes) -> bytes:
        self.proto.sendPing(payload)
        return (await self.next("pong"))[1]  # type: ignore[no-any-return]

    async def close_with(self, code: int, reason: str) -> tuple[int | None, bool]:
        self.proto.sendClose(code, reason)
        _, answer_code, _, clean = await self.next("close")
        return answer_code, clean

    async def aclose(self) -> None:
        if self.proto.transport is not None:
            self.proto.transport.abort()


CLIENTS = [
    pytest.param(WebsocketsClient, id="websockets"),
    pytest.param(AiohttpClient, id="aiohttp"),
    pytest.param(WsprotoClient, id="wsproto"),
    pytest.param(AutobahnClient, id="autobahn"),
]


def scenario(peers: list[Any], connect: Callable[[Any, bool, Any], Awaitable[None]]) -> Any:
    """Makes a coroutine function ``body`` a test parametrised over ``peers``
    and ``COMPRESSION``: each runs ``connect(peer, compression, body)``."""

    def make(body: Callable[..., Awaitable[None]]) -> Any:
        @pytest.mark.parametrize("compression", COMPRESSION)
        @pytest.mark.parametrize("peer", peers)
        def test(peer: Any, compression: bool) -> None:
            run(connect(peer, compression, body))

        test.__name__ = test.__qualname__ = body.__name__
        test.__doc__ = body.__doc__
        return test

    return make


async def serve_to(client_class: type[Client], compression: bool, body: Any) -> None:
    """``body(factory, client)``: a ``client_class`` client connected to a fresh
    ferrobahn server whose factory is ``factory``."""
    factory, server, port = await ferrobahn_server(compression)
    client = await client_class.open(port, compression)
    try:
        await next_event(factory, "open")
        assert bool(factory.instance.websocket_extensions_in_use) == compression
        await body(factory, client)
    finally:
        await client.aclose()
        server.close()


server_scenario = scenario(CLIENTS, serve_to)


# --------------------------------------------------------------------------
# ferrobahn server, third-party clients
# --------------------------------------------------------------------------


@server_scenario
async def test_server_echo(factory: Any, client: Client) -> None:
    for binary in (False, True):
        for size in SIZES:
            payload = make_payload(size, binary)
            await client.send(payload, binary)
            assert await client.recv() == ("message", payload, binary)


@server_scenario
async def test_server_fragmented(factory: Any, client: Client) -> None:
    if client.sends_fragments:
        for binary in (False, True):
            parts = pieces(binary)
            await client.send_fragments(parts, binary)
            assert await next_event(factory, "message") == (b"".join(parts), binary)
            assert await client.recv() == ("message", b"".join(parts), binary)
    # ferrobahn's echo of this comes in 7-byte frames, split inside characters
    # (compressed: the compressed payload in 7-byte frames).
    await client.send(SPLIT_TEXT, False)
    assert await client.recv() == ("message", SPLIT_TEXT, False)
    if client.frames is not None and not factory.instance.websocket_extensions_in_use:
        assert client.frames == -(-len(SPLIT_TEXT) // FRAGMENT_SIZE)
    elif client.frames is not None:
        assert client.frames > 1


@server_scenario
async def test_server_ping(factory: Any, client: Client) -> None:
    for payload in (b"", b"are you there?", b"\xfe" * 125):
        assert await client.ping(payload) == payload
    await client.send(b"still open", True)
    assert await client.recv() == ("message", b"still open", True)


@server_scenario
async def test_server_closed_by_client(factory: Any, client: Client) -> None:
    code, clean = await client.close_with(4000, "client bye")
    assert clean
    assert code == 1000  # ferrobahn answers 1000 (echoCloseCodeReason off)
    assert await next_event(factory, "close") == (True, 4000, "client bye")


@server_scenario
async def test_server_closes(factory: Any, client: Client) -> None:
    await client.send(b"close:4001:server bye", False)
    assert await client.recv() == ("close", 4001, "server bye")
    clean, code, _ = await next_event(factory, "close")
    assert clean and code in (1000, 4001)


# --------------------------------------------------------------------------
# Third-party servers, behind one interface
# --------------------------------------------------------------------------


class Server:
    """A third-party echo server (see the module's docstring) for ferrobahn's
    client; ``closes`` receives the close code each connection got (or None)."""

    #: Whether the library can send a fragmented message.
    sends_fragments = True

    def __init__(self) -> None:
        self.closes: asyncio.Queue[int | None] = asyncio.Queue()

    async def start(self, compression: bool) -> int:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError


class WebsocketsServer(Server):
    async def handler(self, conn: ServerConnection) -> None:
        try:
            async for message in conn:
                binary = not isinstance(message, str)
                payload = message if isinstance(message, bytes) else message.encode()
                command = parse_close_command(payload, binary)
                if command is not None:
                    await conn.close(*command)
                elif payload.startswith(FRAGMENT_ME):
                    await conn.send(fragments(payload, binary))
                else:
                    await conn.send(message)
        except ConnectionClosed:
            pass
        rcvd = conn.protocol.close_rcvd
        self.closes.put_nowait(rcvd.code if rcvd else None)

    async def start(self, compression: bool) -> int:
        self.server = await websockets_serve(
            self.handler,
            "127.0.0.1",
            0,
            compression="deflate" if compression else None,
            max_size=PEER_MAX,
            ping_interval=None,
        )
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


class AiohttpServer(Server):
    sends_fragments = False

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=self.compression, max_msg_size=PEER_MAX)
        await ws.prepare(request)
        async for msg in ws:
            binary = msg.type == aiohttp.WSMsgType.BINARY
            payload = msg.data if binary else msg.data.encode()
            command = parse_close_command(payload, binary)
            if command is not None:
                await ws.close(code=command[0], message=command[1].encode())
            elif binary:
                await ws.send_bytes(payload)
            else:
                await ws.send_str(msg.data)
        self.closes.put_nowait(ws.close_code)
        return ws

    async def start(self, compression: bool) -> int:
        self.compression = compression
        app = web.Application()
        app.router.add_get("/", self.handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        await self.runner.cleanup()


class _AutobahnEcho:
    """An autobahn server protocol's callbacks: ``answer``, and the close code
    received goes to the factory's ``closes``."""

    factory: Any
    remoteCloseCode: int | None

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        answer(self, payload, isBinary)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.factory.closes.put_nowait(self.remoteCloseCode)


class AutobahnServer(Server):
    async def start(self, compression: bool) -> int:
        factory = autobahn_asyncio().WebSocketServerFactory()
        factory.protocol = on_autobahn(_AutobahnEcho, "WebSocketServerProtocol")
        factory.closes = self.closes
        factory.setProtocolOptions(maxMessagePayloadSize=PEER_MAX)
        if compression:
            factory.setProtocolOptions(
                perMessageCompressionAccept=lambda offers: next(
                    (
                        autobahn_compress.PerMessageDeflateOfferAccept(o)
                        for o in offers
                        if isinstance(o, autobahn_compress.PerMessageDeflateOffer)
                    ),
                    None,
                )
            )
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(factory, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.server.close()


SERVERS = [
    pytest.param(WebsocketsServer, id="websockets"),
    pytest.param(AiohttpServer, id="aiohttp"),
    pytest.param(AutobahnServer, id="autobahn"),
]


async def connect_to(server_class: type[Server], compression: bool, body: Any) -> None:
    """``body(peer, factory, client)``: ferrobahn's client (``factory`` its
    factory) connected to a fresh ``server_class`` server ``peer``."""
    peer = server_class()
    port = await peer.start(compression)
    try:
        factory, client = await ferrobahn_client(port, compression)
        try:
            await body(peer, factory, client)
        finally:
            client.dropConnection(abort=True)
    finally:
        await peer.stop()


client_scenario = scenario(SERVERS, connect_to)


# --------------------------------------------------------------------------
# ferrobahn client, third-party servers
# --------------------------------------------------------------------------


@client_scenario
async def test_client_echo(peer: Server, factory: Any, client: Any) -> None:
    for binary in (False, True):
        for size in SIZES:
            payload = make_payload(size, binary)
            client.sendMessage(payload, isBinary=binary)
            assert await next_event(factory, "message") == (payload, binary)


@client_scenario
async def test_client_fragmented(peer: Server, factory: Any, client: Any) -> None:
    for binary in (False, True):
        parts = pieces(binary)
        client.beginMessage(isBinary=binary)
        for part in parts:
            client.sendMessageFrame(part)
        client.endMessage()
        assert await next_event(factory, "message") == (b"".join(parts), binary)
    # Echoed in fragments where the peer can (split at character boundaries).
    client.sendMessage(SPLIT_TEXT)
    assert await next_event(factory, "message") == (SPLIT_TEXT, False)


@client_scenario
async def test_client_ping(peer: Server, factory: Any, client: Any) -> None:
    for payload in (b"", b"are you there?", b"\xfe" * 125):
        client.sendPing(payload)
        assert await next_event(factory, "pong") == (payload,)


@client_scenario
async def test_client_closes(peer: Server, factory: Any, client: Any) -> None:
    client.sendClose(4000, "client bye")
    clean, code, _ = await next_event(factory, "close")
    assert clean and code in (1000, 4000)  # the peer answers 1000 or echoes
    assert await peer.closes.get() == 4000


@client_scenario
async def test_client_closed_by_server(peer: Server, factory: Any, client: Any) -> None:
    client.sendMessage(b"close:4001:server bye")
    assert await next_event(factory, "close") == (True, 4001, "server bye")
