"""The basic API on asyncio over real sockets: handshake, messages, ping/pong,
closing in both roles, timeouts, errors in user code."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import (
    RawClient,
    RecordingProtocol,
    close_payload,
    frame,
    next_event,
    run,
    start_server,
)

from ferrobahn.asyncio.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from ferrobahn.exception import Disconnected, PayloadExceededError
from ferrobahn.websocket.types import ConnectingRequest, ConnectionDeny


class EchoServer(RecordingProtocol, WebSocketServerProtocol):
    def onConnect(self, request: Any) -> Any:
        self.factory.requests.append(request)
        return self.factory.on_connect(request)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        super().onMessage(payload, isBinary)
        if payload == b"close please":
            self.sendClose(3001, "as you wish")
        elif payload == b"raise":
            raise RuntimeError("user code failed")
        else:
            self.sendMessage(payload, isBinary)


class Client(RecordingProtocol, WebSocketClientProtocol):
    pass


def make_server(**options: Any) -> WebSocketServerFactory:
    factory = WebSocketServerFactory()
    factory.protocol = EchoServer
    factory.queue = asyncio.Queue()
    factory.requests = []
    factory.on_connect = options.pop("on_connect", lambda request: None)
    if options:
        factory.setProtocolOptions(**options)
    return factory


def make_client(port: int, **kwargs: Any) -> WebSocketClientFactory:
    options = kwargs.pop("options", {})
    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}", **kwargs)
    factory.protocol = Client
    factory.queue = asyncio.Queue()
    if options:
        factory.setProtocolOptions(**options)
    return factory


async def connect(port: int, **kwargs: Any) -> tuple[Any, Client]:
    factory = make_client(port, **kwargs)
    loop = asyncio.get_running_loop()
    await loop.create_connection(factory, "127.0.0.1", port)
    await next_event(factory, "open")
    return factory, factory.instance


def test_echo_text_and_binary_then_client_close() -> None:
    async def main() -> None:
        server_factory = make_server()
        server, port = await start_server(server_factory)
        client_factory, client = await connect(port)
        for size in (0, 1, 125, 126, 65535, 65536, 1 << 20):
            for binary in (False, True):
                payload = (b"x" if not binary else b"\xff") * size
                client.sendMessage(payload, isBinary=binary)
                assert await next_event(client_factory, "message") == (payload, binary)
        client.sendMessage(b"fragmented " * 1000, fragmentSize=100)
        assert (await next_event(client_factory, "message"))[0] == b"fragmented " * 1000
        client.sendClose(1000, "done")
        assert await next_event(client_factory, "close") == (True, 1000, "")
        assert await next_event(server_factory, "close") == (True, 1000, "done")
        assert client.is_closed.done() and client.is_open.done()
        server.close()

    run(main())


def test_server_initiated_close_and_echoed_code() -> None:
    async def main() -> None:
        server_factory = make_server()
        server, port = await start_server(server_factory)
        client_factory, client = await connect(port, options={"echoCloseCodeReason": True})
        client.sendMessage(b"close please")
        assert await next_event(client_factory, "close") == (True, 3001, "as you wish")
        assert await next_event(server_factory, "close") == (True, 3001, "as you wish")
        server.close()

    run(main())


def test_handshake_introspection_and_subprotocol() -> None:
    async def main() -> None:
        server_factory = make_server(on_connect=lambda request: "chat")
        server, port = await start_server(server_factory)
        client_factory = make_client(
            port, protocols=["superchat", "chat"], origin="http://example.com"
        )
        client_factory.resource = "/path?a=1&a=2"
        loop = asyncio.get_running_loop()
        await loop.create_connection(client_factory, "127.0.0.1", port)
        await next_event(client_factory, "open")
        client = client_factory.instance
        assert client.websocket_protocol_in_use == "chat"
        (request,) = server_factory.requests
        assert request.path == "/path"
        assert request.params == {"a": ["1", "2"]}
        assert request.protocols == ["superchat", "chat"]
        assert request.origin == "http://example.com"
        assert request.headers["upgrade"] == "websocket"
        assert request.peer.startswith("tcp4:127.0.0.1:")
        client.sendClose()
        await next_event(client_factory, "close")
        server.close()

    run(main())


@pytest.mark.parametrize(
    ("on_connect", "status"),
    [
        (lambda request: (_ for _ in ()).throw(ConnectionDeny(403, "go away")), 403),
        (lambda request: 1 / 0, 500),
        (lambda request: "never-offered", 500),
    ],
    ids=["deny", "exception", "unoffered-subprotocol"],
)
def test_handshake_refusals(on_connect: Any, status: int) -> None:
    async def main() -> None:
        server_factory = make_server(on_connect=on_connect)
        server, port = await start_server(server_factory)
        raw = await RawClient.connect(port, handshake=False)
        got, headers = await raw.handshake()
        assert got == status
        body = await raw.reader.read()  # the server closes after its answer
        assert len(body) == int(headers["content-length"])
        closed = await next_event(server_factory, "close")
        assert closed[0] is False and closed[1] == 1006
        # The client side reports the refusal in onClose.
        client_factory = make_client(port)
        loop = asyncio.get_running_loop()
        await loop.create_connection(client_factory, "127.0.0.1", port)
        clean, code, reason = await next_event(client_factory, "close")
        assert (clean, code) == (False, 1006)
        assert f"[{status}]" in reason
        server.close()

    run(main())


def test_async_on_connect_is_awaited() -> None:
    async def slow_accept(request: Any) -> tuple[str, dict[str, str]]:
        await asyncio.sleep(0.05)
        return "chat", {"X-Answer": "42"}

    async def main() -> None:
        server, port = await start_server(make_server(on_connect=slow_accept))
        raw = await RawClient.connect(port, handshake=False)
        # A pipelined frame sent before the answer is kept and processed after it.
        raw.writer.write(b"")
        status, headers = await raw.handshake(Sec_WebSocket_Protocol="chat")
        assert status == 101
        assert headers["x-answer"] == "42"
        assert headers["sec-websocket-protocol"] == "chat"
        raw.send(frame(1, b"hello"))
        assert await raw.recv_frame() == (1, b"hello")
        server.close()

    run(main())


def test_ping_pong_both_ways() -> None:
    async def main() -> None:
        server_factory = make_server()
        server, port = await start_server(server_factory)
        client_factory, client = await connect(port)
        client.sendPing(b"are you there")
        assert await next_event(client_factory, "pong") == (b"are you there",)
        with pytest.raises(ValueError, match="125"):
            client.sendPing(b"x" * 126)
        raw = await RawClient.connect(port)
        for i in range(10):  # Autobahn 2.10: every ping gets its pong
            raw.send(frame(9, bytes([i])))
        for i in range(10):
            assert await raw.recv_frame() == (10, bytes([i]))
        raw.send(frame(10, b"unsolicited"))
        raw.send(frame(9, b"after"))
        assert await raw.recv_frame() == (10, b"after")
        server.close()

    run(main())


def test_send_api_errors() -> None:
    async def main() -> None:
        server, port = await start_server(make_server(maxMessagePayloadSize=1000))
        client_factory, client = await connect(port, options={"maxMessagePayloadSize": 100})
        with pytest.raises(TypeError, match="bytes"):
            client.sendMessage("text")  # type: ignore[arg-type]
        with pytest.raises(PayloadExceededError):
            client.sendMessage(b"x" * 101)
        for code, reason, error in [
            (1001, None, ValueError),
            (2999, None, ValueError),
            (None, "reason", ValueError),
            ("1000", None, TypeError),
            (1000, b"bytes", TypeError),
        ]:
            with pytest.raises(error):
                client.sendClose(code, reason)  # type: ignore[arg-type]
        client.sendClose(4000, "x" * 200)  # reason truncated, not refused
        assert (await next_event(client_factory, "close"))[0] is True
        with pytest.raises(Disconnected):
            client.sendMessage(b"late")
        server.close()

    run(main())


def test_exception_in_on_message_fails_with_1011() -> None:
    async def main() -> None:
        server_factory = make_server(failByDrop=False)
        server, port = await start_server(server_factory)
        raw = await RawClient.connect(port)
        raw.send(frame(1, b"raise"))
        code, _ = await raw.recv_close()
        assert code == 1011
        assert await raw.at_eof()
        closed = await next_event(server_factory, "close")
        assert closed[:2] == (False, 1006)
        server.close()

    run(main())


def test_async_on_message_failure_fails_the_connection() -> None:
    class AsyncFailing(EchoServer):
        async def onMessage(self, payload: bytes, isBinary: bool) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            raise ValueError("async user code failed")

    async def main() -> None:
        factory = make_server(failByDrop=False)
        factory.protocol = AsyncFailing
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        raw.send(frame(1, b"hi"))
        assert (await raw.recv_close())[0] == 1011
        server.close()

    run(main())


def test_open_handshake_timeout() -> None:
    async def main() -> None:
        factory = make_server(openHandshakeTimeout=0.2)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port, handshake=False)
        raw.send(b"GET / HTTP/1.1\r\n")  # slowloris: never finishes
        started = asyncio.get_running_loop().time()
        assert await raw.at_eof()
        assert asyncio.get_running_loop().time() - started < 2
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "opening handshake timeout" in reason
        server.close()

    run(main())


def test_close_handshake_timeout_when_peer_never_answers() -> None:
    class Closer(EchoServer):
        def onOpen(self) -> None:
            super().onOpen()
            self.sendClose(1000)

    async def main() -> None:
        factory = make_server(closeHandshakeTimeout=0.2)
        factory.protocol = Closer
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        assert (await raw.recv_close())[0] == 1000
        # No answer: the server drops TCP after closeHandshakeTimeout.
        assert await raw.at_eof()
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "closing handshake timeout" in reason
        server.close()

    run(main())


def test_client_waits_for_server_to_drop_then_drops() -> None:
    async def main() -> None:
        # A raw server that answers the close but never closes TCP.
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            key = next(
                line.split(":", 1)[1].strip()
                for line in head.decode().split("\r\n")
                if line.lower().startswith("sec-websocket-key")
            )
            import base64
            import hashlib

            from conftest import GUID

            accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
            )
            writer.write(frame(8, close_payload(1000), mask=False))
            await asyncio.sleep(5)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client_factory = make_client(port, options={"serverConnectionDropTimeout": 0.2})
        loop = asyncio.get_running_loop()
        started = loop.time()
        await loop.create_connection(client_factory, "127.0.0.1", port)
        clean, code, reason = await next_event(client_factory, "close")
        assert loop.time() - started < 2
        assert (clean, code) == (False, 1006)
        assert "server did not drop" in reason
        server.close()

    run(main())


def test_on_close_exactly_once_when_peer_vanishes() -> None:
    async def main() -> None:
        factory = make_server()
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        raw.writer.transport.abort()
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "peer dropped the TCP connection" in reason
        await asyncio.sleep(0.05)
        assert factory.queue.empty()  # no second onClose
        server.close()

    run(main())


def test_auto_ping_keeps_alive_and_times_out() -> None:
    async def main() -> None:
        factory = make_server(autoPingInterval=0.05, autoPingTimeout=0.1)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        opcode, payload = await raw.recv_frame()
        assert opcode == 9 and len(payload) == 12
        raw.send(frame(10, payload))  # answered: the connection stays
        opcode, _ = await raw.recv_frame()
        assert opcode == 9  # the next ping, one interval later
        # Not answered this time: dropped after the timeout.
        assert await raw.at_eof()
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "ping timeout" in reason
        server.close()

    run(main())


def test_on_message_observer_and_is_open_future() -> None:
    async def main() -> None:
        server, port = await start_server(make_server())
        client_factory, client = await connect(port)
        seen: list[tuple[bytes, bool]] = []
        client.on("message", lambda payload, is_binary: seen.append((payload, is_binary)))
        await client.is_open
        client.sendMessage(b"observed", isBinary=True)
        await next_event(client_factory, "message")
        assert seen == [(b"observed", True)]
        client.sendClose()
        assert await client.is_closed is client
        server.close()

    run(main())


def test_runs_on_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        server_factory = make_server()
        server, port = await start_server(server_factory)
        client_factory, client = await connect(port)
        client.sendMessage(b"on uvloop", isBinary=True)
        assert await next_event(client_factory, "message") == (b"on uvloop", True)
        client.sendClose()
        assert (await next_event(client_factory, "close"))[0] is True
        server.close()

    async def bounded() -> None:
        await asyncio.wait_for(main(), 20)

    uvloop.run(bounded())


def test_on_connecting_overrides_the_request() -> None:
    class Custom(Client):
        def onConnecting(self, transport_details: Any) -> Any:
            assert transport_details.peer.startswith("tcp4:127.0.0.1:")

            async def later() -> ConnectingRequest:
                return ConnectingRequest(
                    host="example.test",
                    port=self.factory.port,
                    resource="/custom?x=1",
                    headers={"X-Custom": "yes"},
                    protocols=["p1"],
                )

            return later()

    async def main() -> None:
        server_factory = make_server(on_connect=lambda request: "p1")
        server, port = await start_server(server_factory)
        client_factory = make_client(port)
        client_factory.protocol = Custom
        loop = asyncio.get_running_loop()
        await loop.create_connection(client_factory, "127.0.0.1", port)
        await next_event(client_factory, "open")
        (request,) = server_factory.requests
        assert (request.host, request.path, request.params) == (
            "example.test",
            "/custom",
            {"x": ["1"]},
        )
        assert request.headers["x-custom"] == "yes"
        assert client_factory.instance.websocket_protocol_in_use == "p1"
        server.close()

    run(main())


def test_client_through_http_connect_proxy() -> None:
    async def main() -> None:
        server, port = await start_server(make_server())
        requests: list[bytes] = []

        async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            requests.append(head)
            target = head.split()[1].decode()
            host, _, target_port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(target_port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                while data := await src.read(65536):
                    dst.write(data)
                dst.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        proxy_server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        proxy_port = proxy_server.sockets[0].getsockname()[1]
        client_factory = make_client(port, proxy={"host": "127.0.0.1", "port": proxy_port})
        loop = asyncio.get_running_loop()
        await loop.create_connection(client_factory, "127.0.0.1", proxy_port)
        await next_event(client_factory, "open")
        assert requests[0].startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n".encode())
        client = client_factory.instance
        client.sendMessage(b"via proxy")
        assert await next_event(client_factory, "message") == (b"via proxy", False)
        client.sendClose()
        await next_event(client_factory, "close")
        server.close()
        proxy_server.close()

    run(main())


def test_forwarded_peer_and_external_port() -> None:
    async def main() -> None:
        factory = make_server(trustXForwardedFor=1)
        factory.externalPort = 8443
        server, port = await start_server(factory)
        raw = await RawClient.connect(port, handshake=False)
        status, _ = await raw.handshake(X_Forwarded_For="203.0.113.7, 198.51.100.1")
        assert status == 101  # Host header without a port: no port check
        assert factory.requests[0].peer == "198.51.100.1"
        # A Host port that differs from externalPort is refused.
        raw2 = await RawClient.connect(port, handshake=False)
        raw2.send(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9999\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        status, _ = await raw2.read_head()
        assert status == 400
        server.close()

    run(main())
