"""ferrobahn on asyncio against real third-party peers over 127.0.0.1: a
ferrobahn server with ``websockets`` and ``aiohttp`` clients, a ferrobahn
client with a ``websockets`` server. Message sizes across every length
encoding, up to the 16 MiB default limit and one byte beyond it."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp
import pytest
from conftest import RecordingProtocol, echo_server_factory, next_event, run, start_server
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from ferrobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

MiB = 1 << 20
#: ferrobahn's default maxMessagePayloadSize and maxFramePayloadSize.
LIMIT = 16 * MiB
#: Large enough for the peers to take LIMIT + 1 themselves.
PEER_MAX = 2 * LIMIT
SIZES = [0, 1, 125, 126, 65536, MiB]


def make_payload(size: int, binary: bool) -> bytes:
    """Random bytes, or valid UTF-8 mixing 1- to 4-byte sequences (so that
    frame and read boundaries fall inside characters)."""
    if binary:
        return os.urandom(size)
    unit = "aé€😀".encode()  # 10 bytes
    return unit * (size // len(unit)) + b"x" * (size % len(unit))


# --------------------------------------------------------------------------
# Third-party clients behind one small interface, so tests run on both.
# --------------------------------------------------------------------------


class Peer:
    """A connected third-party client."""

    #: Whether the peer answers a close frame with the code it received
    #: (else with 1000).
    echoes_close_code: bool

    async def send(self, payload: bytes, binary: bool) -> None:
        raise NotImplementedError

    async def recv(self) -> tuple[Any, ...]:
        """``("message", payload bytes, binary)`` or ``("close", code, reason)``."""
        raise NotImplementedError

    async def ping(self, payload: bytes) -> bytes:
        """Send a ping and return the payload of the pong that answered it."""
        raise NotImplementedError

    async def close(self) -> tuple[int | None, bool]:
        """Close with 1000: the close code the peer ended with and whether
        the closing handshake completed (a close frame came back)."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release everything, whatever state the connection is in."""


class WebsocketsPeer(Peer):
    echoes_close_code = True

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, port: int) -> WebsocketsPeer:
        ws = await websockets_connect(
            f"ws://127.0.0.1:{port}", max_size=PEER_MAX, ping_interval=None, proxy=None
        )
        return cls(ws)

    async def send(self, payload: bytes, binary: bool) -> None:
        await self.ws.send(payload if binary else payload.decode())

    async def recv(self) -> tuple[Any, ...]:
        try:
            message = await self.ws.recv()
        except ConnectionClosed as closed:
            rcvd = closed.rcvd
            return ("close", rcvd.code, rcvd.reason) if rcvd else ("close", None, None)
        if isinstance(message, str):
            return ("message", message.encode(), False)
        return ("message", message, True)

    async def ping(self, payload: bytes) -> bytes:
        waiter = await self.ws.ping(payload)
        await waiter  # resolved only by a pong carrying this payload
        return payload

    async def close(self) -> tuple[int | None, bool]:
        await self.ws.close()
        protocol = self.ws.protocol
        clean = protocol.close_rcvd is not None and protocol.close_sent is not None
        return self.ws.close_code, clean

    async def aclose(self) -> None:
        # close() on a closed connection can trip over its closed transport
        # (websockets 17 on Python 3.11): only close what is still open.
        if self.ws.state != State.CLOSED:
            await self.ws.close()


class AiohttpPeer(Peer):
    echoes_close_code = False

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws

    @classmethod
    async def open(cls, port: int) -> AiohttpPeer:
        session = aiohttp.ClientSession()
        # autoping=False: pongs are handed to receive() instead of swallowed.
        ws = await session.ws_connect(
            f"ws://127.0.0.1:{port}/", max_msg_size=PEER_MAX, autoping=False
        )
        return cls(session, ws)

    async def send(self, payload: bytes, binary: bool) -> None:
        if binary:
            await self.ws.send_bytes(payload)
        else:
            await self.ws.send_str(payload.decode())

    async def recv(self) -> tuple[Any, ...]:
        msg = await self.ws.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            return ("message", msg.data.encode(), False)
        if msg.type == aiohttp.WSMsgType.BINARY:
            return ("message", msg.data, True)
        if msg.type == aiohttp.WSMsgType.CLOSE:
            return ("close", msg.data, msg.extra)
        return ("close", self.ws.close_code, None)  # CLOSED or ERROR: no close frame

    async def ping(self, payload: bytes) -> bytes:
        await self.ws.ping(payload)
        msg = await self.ws.receive()
        assert msg.type == aiohttp.WSMsgType.PONG, msg
        return msg.data  # type: ignore[no-any-return]

    async def close(self) -> tuple[int | None, bool]:
        # aiohttp returns True once the server's close frame arrived.
        clean = await self.ws.close()
        return self.ws.close_code, clean

    async def aclose(self) -> None:
        await self.ws.close()
        await self.session.close()


PEERS = [pytest.param(WebsocketsPeer, id="websockets"), pytest.param(AiohttpPeer, id="aiohttp")]


async def serve_and_connect(peer_class: type[Peer], **options: Any) -> tuple[Any, Any, Peer]:
    factory = echo_server_factory(**options)
    server, port = await start_server(factory)
    peer = await peer_class.open(port)  # type: ignore[attr-defined]
    await next_event(factory, "open")
    return factory, server, peer


# --------------------------------------------------------------------------
# ferrobahn server, third-party clients
# --------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("peer_class", PEERS)
def test_server_echoes_peer_messages(peer_class: type[Peer], binary: bool) -> None:
    async def main() -> None:
        factory, server, peer = await serve_and_connect(peer_class)
        try:
            for size in SIZES:
                payload = make_payload(size, binary)
                await peer.send(payload, binary)
                assert await next_event(factory, "message") == (payload, binary)
                assert await peer.recv() == ("message", payload, binary)
        finally:
            await peer.aclose()
            server.close()

    run(main())


@pytest.mark.parametrize("peer_class", PEERS)
def test_server_answers_ping_and_peer_close(peer_class: type[Peer]) -> None:
    async def main() -> None:
        factory, server, peer = await serve_and_connect(peer_class)
        try:
            assert await peer.ping(b"are you there") == b"are you there"
            assert await peer.ping(b"") == b""
            assert await peer.close() == (1000, True)
            assert await next_event(factory, "close") == (True, 1000, "")
        finally:
            await peer.aclose()
            server.close()

    run(main())


@pytest.mark.parametrize("peer_class", PEERS)
def test_server_initiated_close_reaches_peer(peer_class: type[Peer]) -> None:
    async def main() -> None:
        factory, server, peer = await serve_and_connect(peer_class)
        try:
            await peer.send(b"close:3000:bye", binary=False)
            assert await peer.recv() == ("close", 3000, "bye")
            answer = 3000 if peer.echoes_close_code else 1000
            assert (await next_event(factory, "close"))[:2] == (True, answer)
        finally:
            await peer.aclose()
            server.close()

    run(main())


@pytest.mark.parametrize("peer_class", PEERS)
def test_server_size_limit_with_peer(peer_class: type[Peer]) -> None:
    """Exactly 16 MiB passes both ways; 16 MiB + 1 is refused with 1009 on
    the wire (failByDrop=False: AutobahnPython's default drops TCP instead)."""

    async def main() -> None:
        factory, server, peer = await serve_and_connect(peer_class, failByDrop=False)
        try:
            for binary in (True, False):
                payload = make_payload(LIMIT, binary)
                await peer.send(payload, binary)
                assert await peer.recv() == ("message", payload, binary)
            # The server fails the connection at the frame header, then reads
            # and discards the rest of the frame (a lingering close): the
            # peer's send completes (no reset) and it gets the close frame.
            await peer.send(b"x" * (LIMIT + 1), binary=True)
            kind, code, _ = await peer.recv()
            assert (kind, code) == ("close", 1009)
            clean, code, reason = await next_event(factory, "close")
            assert (clean, code) == (False, 1006)
            assert factory.instance.wasMaxFramePayloadSizeExceeded
        finally:
            await peer.aclose()
            server.close()

    run(main())


# --------------------------------------------------------------------------
# ferrobahn client, websockets server
# --------------------------------------------------------------------------


class RecordingClient(RecordingProtocol, WebSocketClientProtocol):
    pass


class WebsocketsServer:
    """A ``websockets`` echo server. Text commands: ``close:CODE:REASON``
    closes; ``oversize`` sends a binary message of LIMIT + 1 bytes. Each
    connection's end ``(close code received, sent, exception)`` goes to ``ended``."""

    def __init__(self) -> None:
        self.ended: asyncio.Queue[tuple[Any, Any, BaseException | None]] = asyncio.Queue()

    async def handler(self, conn: ServerConnection) -> None:
        error: BaseException | None = None
        try:
            async for message in conn:
                if isinstance(message, str) and message.startswith("close:"):
                    _, code, reason = message.split(":", 2)
                    await conn.close(int(code), reason)
                elif message == "oversize":
                    await conn.send(b"x" * (LIMIT + 1))
                else:
                    await conn.send(message)
        except ConnectionClosed as closed:
            error = closed
        protocol = conn.protocol
        self.ended.put_nowait((protocol.close_rcvd, protocol.close_sent, error))

    async def start(self) -> tuple[Any, int]:
        server = await websockets_serve(
            self.handler,
            "127.0.0.1",
            0,
            max_size=PEER_MAX,
            ping_interval=None,
            select_subprotocol=lambda conn, offered: "b" if "b" in offered else None,
        )
        return server, server.sockets[0].getsockname()[1]


async def ferrobahn_client(port: int, **kwargs: Any) -> tuple[Any, Any]:
    options = kwargs.pop("options", {})
    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}", **kwargs)
    factory.protocol = RecordingClient
    factory.queue = asyncio.Queue()
    if options:
        factory.setProtocolOptions(**options)
    await asyncio.get_running_loop().create_connection(factory, "127.0.0.1", port)
    await next_event(factory, "open")
    return factory, factory.instance


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_client_messages_with_websockets_server(binary: bool) -> None:
    async def main() -> None:
        peer = WebsocketsServer()
        server, port = await peer.start()
        try:
            factory, client = await ferrobahn_client(port)
            assert client.websocket_protocol_in_use is None
            for size in SIZES:
                payload = make_payload(size, binary)
                client.sendMessage(payload, isBinary=binary)
                assert await next_event(factory, "message") == (payload, binary)
            client.sendClose()
            await next_event(factory, "close")
        finally:
            server.close()

    run(main())


def test_client_size_limit_with_websockets_server() -> None:
    async def main() -> None:
        peer = WebsocketsServer()
        server, port = await peer.start()
        try:
            factory, client = await ferrobahn_client(port, options={"failByDrop": False})
            for binary in (True, False):
                payload = make_payload(LIMIT, binary)
                client.sendMessage(payload, isBinary=binary)
                assert await next_event(factory, "message") == (payload, binary)
            client.sendMessage(b"oversize")
            clean, code, _ = await next_event(factory, "close")
            assert (clean, code) == (False, 1006)
            assert client.wasMaxFramePayloadSizeExceeded
            rcvd, _, error = await peer.ended.get()
            assert rcvd is not None and rcvd.code == 1009
            assert error is not None
        finally:
            server.close()

    run(main())


def test_client_subprotocol_with_websockets_server() -> None:
    async def main() -> None:
        peer = WebsocketsServer()
        server, port = await peer.start()
        try:
            factory, client = await ferrobahn_client(port, protocols=["a", "b"])
            assert client.websocket_protocol_in_use == "b"
            assert client.http_headers["sec-websocket-protocol"] == "b"
            client.sendMessage(b"hi")
            assert await next_event(factory, "message") == (b"hi", False)
            client.sendClose()
            await next_event(factory, "close")
        finally:
            server.close()

    run(main())


@pytest.mark.parametrize(
    ("closer", "expected_client", "expected_server"),
    [
        # The client closes: websockets echoes code and reason.
        ("client", (True, 1000, "done"), (1000, 1000)),
        # The server closes: the client answers 1000 (echoCloseCodeReason off).
        ("server", (True, 3001, "server bye"), (1000, 3001)),
    ],
)
def test_client_close_with_websockets_server(
    closer: str, expected_client: tuple[Any, ...], expected_server: tuple[int, int]
) -> None:
    async def main() -> None:
        peer = WebsocketsServer()
        server, port = await peer.start()
        try:
            factory, client = await ferrobahn_client(port)
            if closer == "client":
                client.sendClose(1000, "done")
            else:
                client.sendMessage(b"close:3001:server bye")
            assert await next_event(factory, "close") == expected_client
            rcvd, sent, _ = await peer.ended.get()
            assert (rcvd.code, sent.code) == expected_server
        finally:
            server.close()

    run(main())
