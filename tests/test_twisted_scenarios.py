"""The shared scenarios, each on both flavours: a server of one flavour with a
client of each (Twisted against Twisted, against asyncio and back), and
servers of each flavour fed by a raw client, good input and bad."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    RawClient,
    RecordingProtocol,
    close_payload,
    frame,
    frame_header,
    http_exchange,
    next_event,
)
from flavours import FLAVOURS, PAIR_IDS, PAIRS, Echo, Flavour, run_on
from test_asyncio_bad_input import (
    BAD_FRAMES,
    BAD_HANDSHAKES,
    LIMIT,
    assert_still_serves,
    recv_close_or_reset,
)

from ferrobahn.websocket.types import ConnectionDeny

pair = pytest.mark.parametrize(("server_flavour", "client_flavour"), PAIRS, ids=PAIR_IDS)
each_server = pytest.mark.parametrize("server_flavour", FLAVOURS)


async def dropped(raw: RawClient) -> bool:
    """EOF or a reset: the server dropped the connection (Twisted's
    ``abortConnection`` resets it, asyncio's ``abort`` closes it)."""
    try:
        return await raw.at_eof()
    except ConnectionResetError:
        return True


# --------------------------------------------------------------------------
# A server and a client, each of either flavour
# --------------------------------------------------------------------------


@pair
def test_echo_then_client_closes(server_flavour: str, client_flavour: str) -> None:
    async def main(s: Flavour, c: Flavour) -> None:
        server_factory = s.server_factory()
        port = await s.listen(server_factory)
        client_factory, client = await c.open_client(port)
        for size in (0, 1, 125, 126, 65535, 65536, 1 << 20):
            for binary in (False, True):
                payload = (b"\xff" if binary else b"x") * size
                await c.call(client.sendMessage, payload, binary)
                assert await next_event(client_factory, "message") == (payload, binary)
                assert await next_event(server_factory, "message") == (payload, binary)
        await c.call(client.sendMessage, b"fragmented " * 1000, False, 100)
        assert (await next_event(client_factory, "message"))[0] == b"fragmented " * 1000
        await c.call(client.sendClose, 1000, "done")
        assert await next_event(client_factory, "close") == (True, 1000, "")
        assert await next_event(server_factory, "close") == (True, 1000, "done")
        assert await c.call(lambda: client.is_closed) is client

    run_on(main, server_flavour, client_flavour)


@pair
def test_compressed_echo(server_flavour: str, client_flavour: str) -> None:
    from ferrobahn.websocket.compress import (
        PerMessageDeflateOffer,
        PerMessageDeflateOfferAccept,
        PerMessageDeflateResponseAccept,
    )

    async def main(s: Flavour, c: Flavour) -> None:
        server_factory = s.server_factory(
            perMessageCompressionAccept=lambda offers: PerMessageDeflateOfferAccept(offers[0])
        )
        port = await s.listen(server_factory)
        options = {
            "perMessageCompressionOffers": [PerMessageDeflateOffer()],
            "perMessageCompressionAccept": PerMessageDeflateResponseAccept,
        }
        client_factory, client = await c.open_client(port, options=options)
        assert await c.call(lambda: len(client.websocket_extensions_in_use)) == 1
        for size in (0, 100, 100_000):
            payload = b"compress me " * (size // 12)
            await c.call(client.sendMessage, payload, False)
            assert await next_event(client_factory, "message") == (payload, False)

    run_on(main, server_flavour, client_flavour)


@pair
def test_server_closes_with_code(server_flavour: str, client_flavour: str) -> None:
    async def main(s: Flavour, c: Flavour) -> None:
        server_factory = s.server_factory()
        port = await s.listen(server_factory)
        client_factory, client = await c.open_client(port, options={"echoCloseCodeReason": True})
        await c.call(client.sendMessage, b"close:3001:as you wish")
        assert await next_event(client_factory, "close") == (True, 3001, "as you wish")
        assert await next_event(server_factory, "close") == (True, 3001, "as you wish")

    run_on(main, server_flavour, client_flavour)


@pair
def test_ping_pong_both_ways(server_flavour: str, client_flavour: str) -> None:
    async def main(s: Flavour, c: Flavour) -> None:
        server_factory = s.server_factory()
        port = await s.listen(server_factory)
        client_factory, client = await c.open_client(port)
        await c.call(client.sendPing, b"are you there")
        assert await next_event(client_factory, "pong") == (b"are you there",)
        await c.call(client.sendMessage, b"ping:from the server")
        assert await next_event(server_factory, "pong") == (b"from the server",)
        with pytest.raises(ValueError, match="125"):
            await c.call(client.sendPing, b"x" * 126)

    run_on(main, server_flavour, client_flavour)


@pair
@pytest.mark.parametrize(
    ("on_connect", "status"),
    [
        (lambda request: (_ for _ in ()).throw(ConnectionDeny(403, "go away")), 403),
        (lambda request: 1 / 0, 500),
    ],
    ids=["deny", "exception"],
)
def test_handshake_refused(
    server_flavour: str, client_flavour: str, on_connect: Any, status: int
) -> None:
    async def main(s: Flavour, c: Flavour) -> None:
        port = await s.listen(s.server_factory(on_connect=on_connect))
        client_factory = c.client_factory(port)
        await c.connect(client_factory, port)
        clean, code, reason = await next_event(client_factory, "close")
        assert (clean, code) == (False, 1006)
        assert f"[{status}]" in reason

    run_on(main, server_flavour, client_flavour)


@pair
def test_awaitable_on_connect_chooses_subprotocol(server_flavour: str, client_flavour: str) -> None:
    """The server's ``onConnect`` returns its framework's awaitable (a
    Deferred on Twisted); the answer, given later, is used."""

    async def main(s: Flavour, c: Flavour) -> None:
        answer = ("chat", {"X-Answer": "42"})
        port = await s.listen(s.server_factory(on_connect=lambda request: s.sleep(0.05, answer)))
        client_factory, client = await c.open_client(port, protocols=["other", "chat"])
        assert client.websocket_protocol_in_use == "chat"
        assert client.http_headers["x-answer"] == "42"
        await c.call(client.sendMessage, b"after the wait")
        assert await next_event(client_factory, "message") == (b"after the wait", False)

    run_on(main, server_flavour, client_flavour)


@pair
def test_exception_in_on_message_closes_with_1011(server_flavour: str, client_flavour: str) -> None:
    async def main(s: Flavour, c: Flavour) -> None:
        server_factory = s.server_factory(failByDrop=False)
        port = await s.listen(server_factory)
        client_factory, client = await c.open_client(port)
        await c.call(client.sendMessage, b"raise")
        clean, code, _ = await next_event(client_factory, "close")
        assert client.remoteCloseCode == 1011
        assert (await next_event(server_factory, "close"))[:2] == (False, 1006)

    run_on(main, server_flavour, client_flavour)


@pair
def test_auto_ping_keeps_connection(server_flavour: str, client_flavour: str) -> None:
    """The client answers the server's pings by itself: the server's auto-ping
    sees pongs and does not drop the connection."""

    class Pongs(Echo):
        def onAutoPong(self, *args: Any) -> None:
            self._record("auto-pong", *args)

    async def main(s: Flavour, c: Flavour) -> None:
        server_factory = s.server_factory(
            s.server_class(Pongs), autoPingInterval=0.05, autoPingTimeout=1
        )
        port = await s.listen(server_factory)
        client_factory, client = await c.open_client(port)
        for _ in range(3):
            sent, seq, received, rtt, payload = await next_event(server_factory, "auto-pong")
            assert received >= sent and len(payload) == 12
        await c.call(client.sendMessage, b"still open")
        assert await next_event(client_factory, "message") == (b"still open", False)

    run_on(main, server_flavour, client_flavour)


class FrameLengths(Echo):
    """Records the length of each frame received, then echoes as ``Echo``."""

    def onMessageFrameBegin(self, length: int) -> None:
        self._record("frame", length)
        super().onMessageFrameBegin(length)  # type: ignore[misc]


class Streaming(RecordingProtocol):
    """Takes messages as they arrive (the streaming API), records the pieces."""

    def onMessageFrameData(self, payload: bytes) -> None:
        self._record("data", payload)

    def onMessageEnd(self) -> None:
        self._record("end")


@pair
def test_frame_and_streaming_apis(server_flavour: str, client_flavour: str) -> None:
    """The client sends frame by frame; the server sees the frames and echoes
    the message; the client takes the echo in pieces as they arrive."""

    def send_in_frames(client: Any) -> None:
        client.beginMessage(isBinary=True)
        for piece in (b"abc", b"defgh"):
            client.sendMessageFrame(piece)
        client.endMessage()

    async def main(s: Flavour, c: Flavour) -> None:
        server_factory = s.server_factory(s.server_class(FrameLengths))
        port = await s.listen(server_factory)
        client_factory, client = await c.open_client(port, protocol=c.client_class(Streaming))
        await c.call(send_in_frames, client)
        assert [await next_event(server_factory, "frame") for _ in range(3)] == [(3,), (5,), (0,)]
        assert await next_event(server_factory, "message") == (b"abcdefgh", True)
        received = b""
        while (event := await client_factory.queue.get())[0] != "end":
            if event[0] == "data":
                received += event[1][0]
        assert received == b"abcdefgh"

    run_on(main, server_flavour, client_flavour)


class PullProducer:
    """Sends ``chunks`` as one message frame, one chunk each time it is asked."""

    def __init__(self, proto: Any, chunks: list[bytes]) -> None:
        self.proto = proto
        self.chunks = chunks

    def start(self) -> None:
        self.proto.beginMessage(isBinary=True)
        self.proto.beginMessageFrame(sum(map(len, self.chunks)))
        self.proto.registerProducer(self, False)

    def resumeProducing(self) -> None:
        if self.chunks:
            self.proto.sendMessageFrameData(self.chunks.pop(0))
            if not self.chunks:
                self.proto.unregisterProducer()
                self.proto.endMessage()

    def pauseProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        self.chunks = []


@pair
def test_pull_producer_streams_a_message(server_flavour: str, client_flavour: str) -> None:
    async def main(s: Flavour, c: Flavour) -> None:
        server_factory = s.server_factory()
        port = await s.listen(server_factory)
        client_factory, client = await c.open_client(port)
        chunks = [bytes([i]) * 65536 for i in range(32)]
        expected = b"".join(chunks)
        await c.call(PullProducer(client, chunks).start)
        assert await next_event(server_factory, "message") == (expected, True)
        assert await next_event(client_factory, "message") == (expected, True)

    run_on(main, server_flavour, client_flavour)


# --------------------------------------------------------------------------
# A server of either flavour and a raw client
# --------------------------------------------------------------------------


@each_server
@pytest.mark.parametrize(("data", "code"), BAD_FRAMES)
def test_bad_frame_fails_connection(server_flavour: str, data: bytes, code: int) -> None:
    async def main(s: Flavour) -> None:
        factory = s.server_factory(failByDrop=False)
        port = await s.listen(factory)
        raw = await RawClient.connect(port)
        raw.send(data)
        got, reason = await raw.recv_close()
        assert got == code
        reason.decode()
        assert await raw.at_eof()
        raw.close()
        clean, got_code, reason_text = await next_event(factory, "close")
        assert (clean, got_code) == (False, 1006)
        assert "I failed the WebSocket connection" in reason_text
        await assert_still_serves(port)

    run_on(main, server_flavour)


@each_server
def test_bad_frame_with_fail_by_drop(server_flavour: str) -> None:
    async def main(s: Flavour) -> None:
        factory = s.server_factory()
        port = await s.listen(factory)
        raw = await RawClient.connect(port)
        raw.send(frame(1, b"hello", rsv=2))
        assert await recv_close_or_reset(raw) == (None, b"")
        assert (await next_event(factory, "close"))[:2] == (False, 1006)
        await assert_still_serves(port)

    run_on(main, server_flavour)


@each_server
@pytest.mark.parametrize(("head", "status"), BAD_HANDSHAKES)
def test_bad_handshake_gets_http_error(server_flavour: str, head: bytes, status: int) -> None:
    async def main(s: Flavour) -> None:
        factory = s.server_factory()
        port = await s.listen(factory)
        got, headers, body = await http_exchange(port, head)
        assert got == status
        assert len(body) == int(headers["content-length"])
        assert (await next_event(factory, "close"))[:2] == (False, 1006)
        await assert_still_serves(port)

    run_on(main, server_flavour)


@each_server
def test_plain_get_gets_status_page(server_flavour: str) -> None:
    async def main(s: Flavour) -> None:
        port = await s.listen(s.server_factory())
        head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        status, headers, body = await http_exchange(port, head)
        assert status == 200 and b"ferrobahn" in body

    run_on(main, server_flavour)


@each_server
def test_open_handshake_timeout(server_flavour: str) -> None:
    async def main(s: Flavour) -> None:
        factory = s.server_factory(openHandshakeTimeout=0.2)
        port = await s.listen(factory)
        raw = await RawClient.connect(port, handshake=False)
        raw.send(b"GET / HTTP/1.1\r\n")
        assert await dropped(raw)
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "opening handshake timeout" in reason

    run_on(main, server_flavour)


@each_server
def test_close_handshake_timeout(server_flavour: str) -> None:
    async def main(s: Flavour) -> None:
        factory = s.server_factory(closeHandshakeTimeout=0.2)
        port = await s.listen(factory)
        raw = await RawClient.connect(port)
        raw.send(frame(1, b"close:1000:bye"))
        assert await raw.recv_close() == (1000, b"bye")
        assert await dropped(raw)  # never answered: dropped after the timeout
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "closing handshake timeout" in reason

    run_on(main, server_flavour)


@each_server
def test_auto_ping_timeout(server_flavour: str) -> None:
    async def main(s: Flavour) -> None:
        factory = s.server_factory(autoPingInterval=0.05, autoPingTimeout=0.1)
        port = await s.listen(factory)
        raw = await RawClient.connect(port)
        opcode, payload = await raw.recv_frame()
        assert opcode == 9 and len(payload) == 12
        raw.send(frame(10, payload))
        assert (await raw.recv_frame())[0] == 9
        assert await dropped(raw)  # this one is not answered
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "ping timeout" in reason

    run_on(main, server_flavour)


@each_server
def test_on_close_once_when_peer_vanishes(server_flavour: str) -> None:
    async def main(s: Flavour) -> None:
        factory = s.server_factory()
        port = await s.listen(factory)
        raw = await RawClient.connect(port)
        raw.writer.transport.abort()
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "peer dropped the TCP connection" in reason
        await assert_still_serves(port)
        await next_event(factory, "close")
        assert factory.queue.empty()

    run_on(main, server_flavour)


@each_server
def test_failed_connection_lingers_instead_of_reset(server_flavour: str) -> None:
    """The server fails the connection while the peer still sends: it half-closes
    and reads on, so the peer gets the close frame and a FIN, not a reset."""

    async def main(s: Flavour) -> None:
        factory = s.server_factory(failByDrop=False)
        port = await s.listen(factory)
        raw = await RawClient.connect(port)
        raw.send(frame_header(2, LIMIT + 1, key=b"\x01\x02\x03\x04") + b"\x00" * (4 << 20))
        assert (await raw.recv_close())[0] == 1009
        assert await raw.at_eof()
        raw.send(b"\x00" * (1 << 20))
        await raw.writer.drain()
        raw.close()
        assert (await next_event(factory, "close"))[:2] == (False, 1006)

    run_on(main, server_flavour)


@each_server
def test_input_after_close_is_ignored(server_flavour: str) -> None:
    async def main(s: Flavour) -> None:
        factory = s.server_factory()
        port = await s.listen(factory)
        raw = await RawClient.connect(port)
        raw.send(frame(8, close_payload(1000, b"bye")) + frame(1, b"ignored"))
        assert await raw.recv_frame() == (8, close_payload(1000))
        assert await raw.recv_frame() == (-1, b"")
        assert await next_event(factory, "close") == (True, 1000, "bye")

    run_on(main, server_flavour)


@each_server
def test_client_of_each_flavour_sees_server_drop(server_flavour: str) -> None:
    """A client (of the other flavour too) whose server vanishes reports 1006."""

    async def main(s: Flavour, other: Flavour) -> None:
        server_factory = s.server_factory()
        port = await s.listen(server_factory)
        for c in (s, other):
            client_factory, client = await c.open_client(port)
            await next_event(server_factory, "open")
            await s.call(server_factory.instance._closeConnection, True)
            clean, code, _ = await next_event(client_factory, "close")
            assert (clean, code) == (False, 1006)

    other = "asyncio" if server_flavour == "twisted" else "twisted"
    run_on(main, server_flavour, other)
