"""The advanced API on asyncio over real sockets: frame-based and streaming
receive (with AutobahnPython's callback chaining), frame-by-frame and
streaming send, raw frames, prepared messages, producers, limits."""

from __future__ import annotations

import asyncio
import itertools
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest
from conftest import RawClient, close_payload, frame, next_event, run, start_server

from ferrobahn.asyncio.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from ferrobahn.exception import InvalidValueError
from ferrobahn.websocket.advanced import FRAME_API_CALLBACKS

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples" / "asyncio" / "streaming"

# A text message in three fragments (an empty one in the middle) with a ping
# between them, a binary message in one frame, an empty text message.
WIRE = (
    frame(1, b"he", fin=False)
    + frame(0, b"", fin=False)
    + frame(9, b"p")
    + frame(0, "llo €".encode())
    + frame(2, b"\x00\x01")
    + frame(1, b"")
)
MESSAGES = [("hello €".encode(), False), (b"\x00\x01", True), (b"", False)]
EMPTY_MESSAGES = [(b"", False), (b"", True), (b"", False)]


def recording_class(overrides: dict[str, bool]) -> type[WebSocketServerProtocol]:
    """A server class overriding the named callbacks; each records its call
    and calls the base class if its flag is True."""

    def make(name: str, call_super: bool) -> Any:
        base = getattr(WebSocketServerProtocol, name)

        def callback(self: Any, *args: Any) -> Any:
            self.factory.calls.append((name, *args))
            if call_super:
                return base(self, *args)
            return None

        return callback

    namespace: dict[str, Any] = {name: make(name, sup) for name, sup in overrides.items()}

    def onMessage(self: Any, payload: bytes, isBinary: bool) -> None:
        self.factory.calls.append(("onMessage", payload, isBinary))

    def onPing(self: Any, payload: bytes) -> None:
        self.factory.calls.append(("onPing", payload))

    def onClose(self: Any, *args: Any) -> None:
        self.factory.closed.set_result(args)

    namespace.update(onMessage=onMessage, onPing=onPing, onClose=onClose)
    return type("Recording", (WebSocketServerProtocol,), namespace)


async def feed_recording(
    overrides: dict[str, bool], wire: bytes = WIRE, chunk: int = 0
) -> list[Any]:
    factory = WebSocketServerFactory()
    factory.protocol = recording_class(overrides)
    factory.calls = []
    factory.closed = asyncio.get_running_loop().create_future()
    server, port = await start_server(factory)
    raw = await RawClient.connect(port)
    for start in range(0, len(wire), chunk or len(wire)):
        raw.send(wire[start : start + (chunk or len(wire))])
        await raw.writer.drain()
    raw.send(frame(8, close_payload(1000)))
    await asyncio.wait_for(factory.closed, 5)
    server.close()
    return factory.calls  # type: ignore[no-any-return]


def test_no_override_keeps_the_fast_path() -> None:
    calls = run(feed_recording({}))
    assert calls == [("onPing", b"p"), *(("onMessage", p, b) for p, b in MESSAGES)]


@pytest.mark.parametrize("chunk", [0, 1, 5])
def test_every_override_calling_the_base_sees_the_same_messages(chunk: int) -> None:
    async def main() -> None:
        for n in range(1, len(FRAME_API_CALLBACKS) + 1):
            for names in itertools.combinations(FRAME_API_CALLBACKS, n):
                calls = await feed_recording(dict.fromkeys(names, True), chunk=chunk)
                messages = [c[1:] for c in calls if c[0] == "onMessage"]
                assert messages == MESSAGES, names

    run(main(), timeout=120)


def test_frame_sequence_of_the_streaming_api() -> None:
    calls = run(feed_recording(dict.fromkeys(FRAME_API_CALLBACKS, False)))
    assert calls == [
        ("onMessageBegin", False),
        ("onMessageFrameBegin", 2),
        ("onMessageFrameData", b"he"),
        ("onMessageFrameEnd",),
        ("onMessageFrameBegin", 0),
        ("onMessageFrameEnd",),
        ("onPing", b"p"),
        ("onMessageFrameBegin", 7),
        ("onMessageFrameData", "llo €".encode()),
        ("onMessageFrameEnd",),
        ("onMessageEnd",),
        ("onMessageBegin", True),
        ("onMessageFrameBegin", 2),
        ("onMessageFrameData", b"\x00\x01"),
        ("onMessageFrameEnd",),
        ("onMessageEnd",),
        ("onMessageBegin", False),
        ("onMessageFrameBegin", 0),
        ("onMessageFrameEnd",),
        ("onMessageEnd",),
    ]


def test_frame_based_receiver_gets_frames_as_lists_of_pieces() -> None:
    calls = run(feed_recording({"onMessageFrame": False}, chunk=3))
    frames = [c[1] for c in calls if c[0] == "onMessageFrame"]
    assert [b"".join(f) for f in frames] == [b"he", b"", "llo €".encode(), b"\x00\x01", b""]
    assert all(isinstance(f, list) for f in frames)
    # Without the base onMessageFrame nothing was buffered: onMessage sees empty messages.
    assert [c[1:] for c in calls if c[0] == "onMessage"] == [
        (b"", False),
        (b"", True),
        (b"", False),
    ]


def test_overriding_frame_data_without_base_starves_on_message() -> None:
    calls = run(feed_recording({"onMessageFrameData": False}))
    assert [c[1:] for c in calls if c[0] == "onMessage"] == [
        (b"", False),
        (b"", True),
        (b"", False),
    ]
    data = b"".join(c[1] for c in calls if c[0] == "onMessageFrameData")
    assert data == "hello €".encode() + b"\x00\x01"


class EchoServer(WebSocketServerProtocol):
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.sendMessage(payload, isBinary)


class FrameLengthServer(WebSocketServerProtocol):
    """Reports the frame lengths of each message, then the payload."""

    def onMessageBegin(self, isBinary: bool) -> None:
        super().onMessageBegin(isBinary)
        self.lengths: list[int] = []

    def onMessageFrameBegin(self, length: int) -> None:
        super().onMessageFrameBegin(length)
        self.lengths.append(length)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.sendMessage(json.dumps(self.lengths).encode())
        self.sendMessage(payload, isBinary)


class Client(WebSocketClientProtocol):
    def onOpen(self) -> None:
        self.factory.instance = self
        self.factory.queue.put_nowait(("open", ()))

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.queue.put_nowait(("message", (payload, isBinary)))


async def client_of(server_protocol: type, **options: Any) -> tuple[Any, Any, Any]:
    factory = WebSocketServerFactory()
    factory.protocol = server_protocol
    if options:
        factory.setProtocolOptions(**options)
    server, port = await start_server(factory)
    client_factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}")
    client_factory.protocol = Client
    client_factory.queue = asyncio.Queue()
    await asyncio.get_running_loop().create_connection(client_factory, "127.0.0.1", port)
    await next_event(client_factory, "open")
    return server, client_factory, client_factory.instance


def test_send_frame_by_frame_and_streamed() -> None:
    async def main() -> None:
        server, factory, client = await client_of(FrameLengthServer)
        client.beginMessage()
        client.sendMessageFrame(b"abc")
        client.sendMessageFrame(b"defgh")
        client.endMessage()
        assert await next_event(factory, "message") == (b"[3, 5, 0]", False)
        assert await next_event(factory, "message") == (b"abcdefgh", False)

        client.beginMessage(isBinary=True)
        client.beginMessageFrame(10)
        assert client.sendMessageFrameData(b"0123") == 6
        assert client.sendMessageFrameData(b"456789") == 0
        client.beginMessageFrame(3)
        assert client.sendMessageFrameData(b"abcdef") == -3  # surplus not sent
        client.beginMessageFrame(0)
        client.endMessage()
        assert await next_event(factory, "message") == (b"[10, 3, 0, 0]", False)
        assert await next_event(factory, "message") == (b"0123456789abc", True)
        server.close()

    run(main())


def test_send_state_errors() -> None:
    async def main() -> None:
        server, factory, client = await client_of(EchoServer)
        with pytest.raises(RuntimeError):
            client.sendMessageFrameData(b"x")  # no frame begun
        with pytest.raises(RuntimeError):
            client.endMessage()  # no message begun
        client.beginMessage()
        with pytest.raises(RuntimeError):
            client.beginMessage()
        with pytest.raises(RuntimeError):
            client.sendMessage(b"interleaved")
        with pytest.raises(InvalidValueError):
            client.beginMessageFrame(-1)
        with pytest.raises(InvalidValueError):
            client.beginMessageFrame(2**63)
        client.beginMessageFrame(2)
        with pytest.raises(RuntimeError):
            client.endMessage()  # the frame still owes 2 bytes
        client.sendMessageFrameData(b"ok")
        client.endMessage()
        assert await next_event(factory, "message") == (b"ok", False)
        server.close()

    run(main())


def test_raw_frames_reach_the_peer_unchecked() -> None:
    async def main() -> None:
        factory = WebSocketServerFactory()
        factory.protocol = EchoServer
        factory.setProtocolOptions(failByDrop=False)
        server, port = await start_server(factory)
        client_factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}")
        client_factory.protocol = Client
        client_factory.queue = asyncio.Queue()
        await asyncio.get_running_loop().create_connection(client_factory, "127.0.0.1", port)
        await next_event(client_factory, "open")
        client = client_factory.instance
        client.sendFrame(1, b"ab", payload_len=5, chopsize=1)
        assert await next_event(client_factory, "message") == (b"ababa", False)
        closed = asyncio.get_running_loop().create_future()
        client.onClose = lambda *args: closed.set_result(args)
        client.sendFrame(1, b"x", rsv=2)  # no extension allows RSV2: the server fails
        clean, code, _ = await asyncio.wait_for(closed, 5)
        assert client.remoteCloseCode == 1002
        server.close()

    run(main())


def test_prepared_message_to_many_connections() -> None:
    async def main() -> None:
        class Broadcast(WebSocketServerProtocol):
            def onOpen(self) -> None:
                self.sendPreparedMessage(self.factory.prepared)

        factory = WebSocketServerFactory()
        factory.protocol = Broadcast
        factory.prepared = factory.prepareMessage(b"to everyone", isBinary=True)
        server, port = await start_server(factory)
        for _ in range(3):
            raw = await RawClient.connect(port)
            assert await raw.recv_frame() == (2, b"to everyone")
        server.close()

    run(main())


def test_streaming_receiver_takes_a_2_to_the_40_frame_as_it_arrives() -> None:
    class Counter(WebSocketServerProtocol):
        def onMessageFrameBegin(self, length: int) -> None:
            self.factory.length = length
            self.received = 0

        def onMessageFrameData(self, payload: bytes) -> None:
            self.received += len(payload)
            if self.received == 4 << 20:
                self.sendMessage(b"got 4 MiB")

    async def main() -> None:
        factory = WebSocketServerFactory()
        factory.protocol = Counter
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        key = b"\x00\x00\x00\x00"
        raw.send(b"\x82\xff" + (1 << 40).to_bytes(8, "big") + key)
        for _ in range(64):
            raw.send(bytes(64 * 1024))
        assert await raw.recv_frame() == (1, b"got 4 MiB")
        assert factory.length == 1 << 40
        server.close()

    run(main())


class DiscardingStreamer(WebSocketServerProtocol):
    """A streaming receiver that keeps nothing."""

    def onMessageFrameData(self, payload: bytes) -> None:
        pass


NO_MASK = b"\x00\x00\x00\x00"


@pytest.mark.parametrize(
    ("options", "pieces", "code"),
    [
        # Invalid UTF-8 (a surrogate) while the frame is far from its end.
        ({}, [b"\x81\xfe\x03\xe8" + NO_MASK + b"valid text, then ", b"\xed\xa0\x80"], 1007),
        # An explicitly set limit binds a streaming receiver too.
        ({"maxFramePayloadSize": 1000}, [b"\x82\xfe\x03\xe9" + NO_MASK], 1009),
    ],
    ids=["utf8-fails-at-the-bad-chunk", "explicit-limit"],
)
def test_streaming_receiver_failures(
    options: dict[str, Any], pieces: list[bytes], code: int
) -> None:
    async def main() -> None:
        factory = WebSocketServerFactory()
        factory.protocol = DiscardingStreamer
        factory.setProtocolOptions(failByDrop=False, **options)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        for piece in pieces:
            raw.send(piece)
            await raw.writer.drain()
        assert (await raw.recv_close())[0] == code
        server.close()

    run(main())


class _PushProducer:
    def __init__(self, proto: Any, total: int) -> None:
        self.proto, self.total, self.sent = proto, total, 0
        self.paused = False
        self.pauses = 0
        self.max_buffer = 0

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1

    def resumeProducing(self) -> None:
        self.paused = False
        piece = bytes(64 * 1024)
        while not self.paused and self.sent < self.total:
            self.proto.sendMessageFrameData(piece)
            self.sent += len(piece)
            size = self.proto.transport.get_write_buffer_size()
            self.max_buffer = max(self.max_buffer, size)
        if self.sent >= self.total:
            self.proto.unregisterProducer()
            self.proto.endMessage()

    def stopProducing(self) -> None:
        self.paused = True


def test_push_producer_is_paused_and_resumed() -> None:
    class SlowStreaming(WebSocketServerProtocol):
        async def onMessageFrameData(self, payload: bytes) -> None:  # type: ignore[override]
            pass

        def onMessageEnd(self) -> None:
            self.sendMessage(b"done")

    async def main() -> None:
        server, factory, client = await client_of(SlowStreaming)
        total = 64 << 20
        client.beginMessage(isBinary=True)
        client.beginMessageFrame(total)
        producer = _PushProducer(client, total)
        client.registerProducer(producer, True)
        producer.resumeProducing()
        assert await next_event(factory, "message") == (b"done", False)
        assert producer.pauses > 0
        # The buffer never grew past the high-water mark by more than a piece.
        high = client.transport.get_write_buffer_limits()[1]
        assert producer.max_buffer <= high + 64 * 1024 + 16
        server.close()

    run(main(), timeout=60)


def run_example_pair(server: str, client: str, *args: str, timeout: float) -> str:
    """Start an example server on a free port, run an example client against
    it; returns the client's output (it must exit with status 0)."""
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / server), "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]  # the server prints its URL first
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / client), url, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout
    finally:
        process.terminate()
        process.wait(10)


def test_one_gib_streamed_in_bounded_memory() -> None:
    """The streaming examples, in separate processes: 1 GiB in 1 MiB frames,
    the sender paced by a producer, the receiver hashing as data arrives."""
    out = run_example_pair(
        "streaming_server.py", "streaming_producer_client.py", "1024", "1024", timeout=180
    )
    report = json.loads(out.strip().splitlines()[-1])
    assert report["ok"] and report["bytes"] == 1 << 30
    assert report["client_peak_rss_growth_kib"] < 64 * 1024
    assert report["server_peak_rss_growth_kib"] < 64 * 1024


def test_frame_based_examples() -> None:
    out = run_example_pair("frame_based_server.py", "frame_based_client.py", "4", "300", timeout=60)
    assert out.count(" ok") == 5


def test_fragmented_messages_interoperate() -> None:
    websockets_client = pytest.importorskip("websockets.asyncio.client")
    websockets_server = pytest.importorskip("websockets.asyncio.server")
    aiohttp = pytest.importorskip("aiohttp")

    async def main() -> None:
        # ferrobahn server sending in 1000-byte fragments; peers send fragments too.
        factory = WebSocketServerFactory()
        factory.protocol = EchoServer
        factory.setProtocolOptions(autoFragmentSize=1000)
        server, port = await start_server(factory)
        payload = bytes(range(256)) * 40
        async with websockets_client.connect(f"ws://127.0.0.1:{port}") as ws:
            await ws.send([payload[:5000], payload[5000:]])  # a fragmented message
            assert await ws.recv() == payload
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://127.0.0.1:{port}") as ws,
        ):
            await ws.send_bytes(payload)
            assert (await ws.receive()).data == payload
        server.close()

        # ferrobahn client sending fragmented, frame by frame and streamed, to websockets.
        async def echo(ws: Any) -> None:
            async for message in ws:
                await ws.send(message)

        async with websockets_server.serve(echo, "127.0.0.1", 0) as ws_server:
            ws_port = next(iter(ws_server.sockets)).getsockname()[1]
            client_factory = WebSocketClientFactory(f"ws://127.0.0.1:{ws_port}")
            client_factory.protocol = Client
            client_factory.queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            await loop.create_connection(client_factory, "127.0.0.1", ws_port)
            await next_event(client_factory, "open")
            client = client_factory.instance
            client.sendMessage(payload, isBinary=True, fragmentSize=999)
            assert await next_event(client_factory, "message") == (payload, True)
            client.beginMessage()
            client.sendMessageFrame(b"frame ")
            client.beginMessageFrame(6)
            client.sendMessageFrameData(b"stream")
            client.endMessage()
            assert await next_event(client_factory, "message") == (b"frame stream", False)
            client.sendClose()

    run(main())
