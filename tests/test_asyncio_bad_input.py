"""A ferrobahn asyncio server fed malformed input over raw sockets: bad frames
(each failing the connection with the RFC's close code, or a plain TCP drop
with failByDrop) and bad opening handshakes (each answered with its HTTP
status). After every failure the same server still serves a good client."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from conftest import (
    RawClient,
    big_frame,
    close_payload,
    echo_server_factory,
    frame,
    frame_header,
    http_exchange,
    mask_payload,
    next_event,
    run,
    start_server,
)

LIMIT = 16 << 20  # ferrobahn's default maxFramePayloadSize / maxMessagePayloadSize


async def assert_still_serves(port: int) -> None:
    """A fresh, well-behaved connection to the same server gets its echo."""
    raw = await RawClient.connect(port)
    raw.send(frame(1, b"still here") + frame(2, b"\x00\xff"))
    assert await raw.recv_frame() == (1, b"still here")
    assert await raw.recv_frame() == (2, b"\x00\xff")
    raw.send(frame(8, close_payload(1000)))
    assert await raw.recv_close() == (1000, b"")
    assert await raw.at_eof()
    raw.close()


async def recv_close_or_reset(raw: RawClient) -> tuple[int | None, bytes]:
    """``RawClient.recv_close``, where a TCP reset also counts as "dropped"."""
    try:
        return await raw.recv_close()
    except ConnectionResetError:
        return None, b""


# --------------------------------------------------------------------------
# Bad frames
# --------------------------------------------------------------------------

INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]

#: (bytes sent in one write after the handshake, close code expected)
BAD_FRAMES = [
    pytest.param(frame(1, b"hello", mask=False), 1002, id="unmasked"),
    *(pytest.param(frame(1, b"hello", rsv=rsv), 1002, id=f"rsv{rsv}") for rsv in (1, 2, 4)),
    pytest.param(frame(3, b"x"), 1002, id="opcode3"),
    pytest.param(frame(11, b"x"), 1002, id="opcode11"),
    pytest.param(frame(0, b"orphan"), 1002, id="continuation-without-message"),
    pytest.param(
        frame(1, b"first", fin=False) + frame(1, b"second"), 1002, id="text-inside-fragmented"
    ),
    pytest.param(frame(9, b"ping", fin=False), 1002, id="fragmented-ping"),
    pytest.param(frame(9, b"x" * 126), 1002, id="ping-126-bytes"),
    pytest.param(frame(8, b"\x03"), 1002, id="close-1-byte"),
    *(
        pytest.param(frame(8, close_payload(code)), 1002, id=f"close-code-{code}")
        for code in INVALID_CLOSE_CODES
    ),
    pytest.param(frame(8, close_payload(1000, b"bad \xff reason")), 1007, id="close-reason-utf8"),
    pytest.param(frame(1, "κόσμε".encode() + b"\xed\xa0\x80"), 1007, id="text-utf8"),
    pytest.param(
        frame(1, b"\xce\xba\xe1", fin=False)
        + frame(0, b"\xbd\xb9\xcf", fin=False)
        + frame(0, b"\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"),
        1007,
        id="text-utf8-fragmented",
    ),
    pytest.param(
        # A fragment boundary inside a character whose continuation is wrong.
        frame(1, b"ok \xe2\x82", fin=False) + frame(0, b"A"),
        1007,
        id="text-utf8-split-character",
    ),
    pytest.param(
        # Fragments of 8 MiB each are fine; together with one more byte the
        # message is over the 16 MiB limit.
        big_frame(2, b"\x00" * (LIMIT // 2), fin=False)
        + big_frame(0, b"\x00" * (LIMIT // 2), fin=False)
        + frame(0, b"\x00"),
        1009,
        id="message-over-limit-fragmented",
    ),
]


@pytest.mark.parametrize("fail_by_drop", [False, True], ids=["close-frame", "drop"])
@pytest.mark.parametrize(("data", "code"), BAD_FRAMES)
def test_bad_frame_fails_connection(data: bytes, code: int, fail_by_drop: bool) -> None:
    async def main() -> None:
        factory = echo_server_factory(failByDrop=fail_by_drop)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        raw.send(data)
        if fail_by_drop:
            # No close frame: TCP is simply dropped.
            assert await recv_close_or_reset(raw) == (None, b"")
        else:
            got, reason = await raw.recv_close()
            assert got == code
            reason.decode()  # a valid UTF-8 reason
            assert await raw.at_eof()  # the server then closes TCP
        raw.close()
        clean, got_code, reason_text = await next_event(factory, "close")
        assert (clean, got_code) == (False, 1006)
        assert "I failed the WebSocket connection" in reason_text
        await assert_still_serves(port)
        server.close()

    run(main())


def test_invalid_utf8_fails_before_rest_of_frame() -> None:
    """Autobahn 6.4.x: the 1007 comes as soon as the bad byte arrives, while
    most of the frame is still unsent."""

    async def main() -> None:
        factory = echo_server_factory(failByDrop=False)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        key = os.urandom(4)
        start = "κόσμε".encode() + b"\xf4\x90\x80\x80"  # > U+10FFFF: invalid
        raw.send(frame_header(1, 1000, key=key) + mask_payload(start, key))
        code, _ = await raw.recv_close()  # nothing more is sent
        assert code == 1007
        assert await raw.at_eof()
        raw.close()
        assert (await next_event(factory, "close"))[:2] == (False, 1006)
        await assert_still_serves(port)
        server.close()

    run(main())


def test_oversized_frame_header_fails_before_payload() -> None:
    """A frame header declaring 16 MiB + 1 bytes is refused with 1009 at
    once: the payload is never sent nor waited for."""

    async def main() -> None:
        factory = echo_server_factory(failByDrop=False)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        raw.send(frame_header(2, LIMIT + 1, key=os.urandom(4)))
        code, _ = await raw.recv_close()
        assert code == 1009
        assert await raw.at_eof()
        raw.close()
        assert (await next_event(factory, "close"))[:2] == (False, 1006)
        assert factory.instance.wasMaxFramePayloadSizeExceeded
        await assert_still_serves(port)
        server.close()

    run(main())


def test_valid_message_before_bad_frame_is_delivered() -> None:
    """Autobahn 3.2: a message completed before the bad frame, in the same
    TCP write, is processed (echoed) before the connection fails."""

    async def main() -> None:
        factory = echo_server_factory(failByDrop=False)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        raw.send(frame(1, b"hello") + frame(9, b"ping") + frame(1, b"bad", rsv=1))
        assert await raw.recv_frame() == (1, b"hello")
        assert await raw.recv_frame() == (10, b"ping")
        assert (await raw.recv_close())[0] == 1002
        assert await raw.at_eof()
        raw.close()
        assert await next_event(factory, "message") == (b"hello", False)
        assert (await next_event(factory, "close"))[:2] == (False, 1006)
        server.close()

    run(main())


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        (frame(1, b"ignored") + frame(9, b"ignored"), b""),
        (b"\xff\xff garbage that is no frame at all", b"bye"),
    ],
    ids=["frames", "garbage"],
)
def test_input_after_close_frame_is_ignored(after: bytes, reason: bytes) -> None:
    """A clean close by the client: the server answers 1000 (its own code,
    echoCloseCodeReason being off) and ignores whatever follows the close."""

    async def main() -> None:
        factory = echo_server_factory(failByDrop=False)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        raw.send(frame(8, close_payload(1000, reason)) + after)
        assert await raw.recv_frame() == (8, close_payload(1000))
        assert await raw.recv_frame() == (-1, b"")  # EOF: nothing was echoed
        raw.close()
        assert await next_event(factory, "close") == (True, 1000, reason.decode())
        assert not [e for e in _drain(factory) if e[0] == "message"]
        await assert_still_serves(port)
        server.close()

    run(main())


def _drain(factory: Any) -> list[tuple[str, tuple[Any, ...]]]:
    events = []
    while not factory.queue.empty():
        events.append(factory.queue.get_nowait())
    return events


# --------------------------------------------------------------------------
# Bad opening handshakes
# --------------------------------------------------------------------------


def request(
    method: str = "GET",
    target: str = "/",
    version: str = "HTTP/1.1",
    remove: tuple[str, ...] = (),
    **headers: str,
) -> bytes:
    """An opening handshake request; ``headers`` (``_`` for ``-``) replace
    or add fields, ``remove`` drops fields by name."""
    fields = {
        "Host": "127.0.0.1",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    lines = [f"{method} {target} {version}"]
    lines += [f"{name}: {value}" for name, value in fields.items() if name not in remove]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def many_headers(count: int) -> bytes:
    """A valid request with ``count`` header fields in all."""
    head = request()
    extra = "".join(f"X-Filler-{i}: {i}\r\n" for i in range(count - 5))
    return head[:-2] + extra.encode() + b"\r\n"


BAD_HANDSHAKES = [
    pytest.param(request(remove=("Sec-WebSocket-Key",)), 400, id="no-key"),
    pytest.param(request(Sec_WebSocket_Key="not-a-valid-key"), 400, id="bad-key"),
    pytest.param(
        request(Sec_WebSocket_Key=base64.b64encode(b"15 bytes only!!").decode()),
        400,
        id="short-key",
    ),
    pytest.param(request(Sec_WebSocket_Version="8"), 426, id="version-8"),
    pytest.param(request(method="POST"), 405, id="post"),
    pytest.param(request(version="HTTP/1.0"), 505, id="http-1.0"),
    pytest.param(request(remove=("Host",)), 400, id="no-host"),
    pytest.param(request(remove=("Connection",)), 400, id="no-connection"),
    pytest.param(request(Connection="keep-alive"), 400, id="connection-without-upgrade"),
    pytest.param(request(target="/" + "a" * 8200), 414, id="request-line-over-8k"),
    pytest.param(many_headers(129), 431, id="129-headers"),
]


@pytest.mark.parametrize(("head", "status"), BAD_HANDSHAKES)
def test_bad_handshake_gets_http_error(head: bytes, status: int) -> None:
    async def main() -> None:
        factory = echo_server_factory()
        server, port = await start_server(factory)
        got, headers, body = await http_exchange(port, head)
        assert got == status
        assert len(body) == int(headers["content-length"])
        if status == 426:
            assert headers["sec-websocket-version"] == "13"
        if status == 405:
            assert headers["allow"] == "GET"
        assert (await next_event(factory, "close"))[:2] == (False, 1006)
        await assert_still_serves(port)
        server.close()

    run(main())


def test_128_headers_are_accepted() -> None:
    async def main() -> None:
        server, port = await start_server(echo_server_factory())
        raw = await RawClient.connect(port, handshake=False)
        raw.send(many_headers(128))
        assert (await raw.read_head())[0] == 101
        raw.close()
        server.close()

    run(main())


@pytest.mark.parametrize(("web_status", "status"), [(True, 200), (False, 426)])
def test_plain_get_without_upgrade(web_status: bool, status: int) -> None:
    async def main() -> None:
        factory = echo_server_factory(webStatus=web_status)
        server, port = await start_server(factory)
        head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        got, headers, body = await http_exchange(port, head)
        assert got == status
        assert len(body) == int(headers["content-length"])
        if web_status:
            assert headers["content-type"].startswith("text/html")
            assert b"ferrobahn" in body
        await assert_still_serves(port)
        server.close()

    run(main())


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("https://good.example", 101),
        ("https://good.example.evil.org", 403),
        ("https://evil.org", 403),
        ("http://good.example", 403),
    ],
)
def test_allowed_origins(origin: str, status: int) -> None:
    async def main() -> None:
        factory = echo_server_factory(allowedOrigins=["https://good.example"])
        server, port = await start_server(factory)
        raw = await RawClient.connect(port, handshake=False)
        got, headers = await raw.handshake(Origin=origin)
        assert got == status
        if status == 101:
            raw.send(frame(1, b"welcome"))
            assert await raw.recv_frame() == (1, b"welcome")
        else:
            body = await raw.reader.read()  # up to EOF: the server closes
            assert len(body) == int(headers["content-length"])
        raw.close()
        server.close()

    run(main())


def test_max_connections() -> None:
    async def main() -> None:
        factory = echo_server_factory(maxConnections=1)
        server, port = await start_server(factory)
        first = await RawClient.connect(port)
        got, headers, body = await http_exchange(port, request())
        assert got == 503
        assert len(body) == int(headers["content-length"])
        assert (await next_event(factory, "close"))[:2] == (False, 1006)
        # The first connection is unaffected...
        first.send(frame(1, b"first"))
        assert await first.recv_frame() == (1, b"first")
        first.send(frame(8, close_payload(1000)))
        assert (await first.recv_close())[0] == 1000
        assert await first.at_eof()
        first.close()
        await next_event(factory, "close")
        # ...and once it is gone a new one is served.
        await assert_still_serves(port)
        server.close()

    run(main())


def test_fragmented_message_at_limit_is_accepted() -> None:
    """The counterpart of the over-limit case: exactly 16 MiB in two fragments."""

    async def main() -> None:
        server, port = await start_server(echo_server_factory())
        raw = await RawClient.connect(port)
        half = os.urandom(LIMIT // 2)
        raw.send(big_frame(2, half, fin=False) + big_frame(0, half))
        assert await raw.recv_frame() == (2, half + half)
        raw.close()
        server.close()

    run(main())


def test_failed_connection_lingers_instead_of_reset() -> None:
    """The peer is still sending when the server fails the connection: the
    server discards the rest and half-closes (FIN) rather than closing with
    unread input, which would reset the connection (RST) under the peer."""

    async def main() -> None:
        factory = echo_server_factory(failByDrop=False)
        server, port = await start_server(factory)
        raw = await RawClient.connect(port)
        key = os.urandom(4)
        raw.send(frame_header(2, LIMIT + 1, key=key) + b"\x00" * (4 << 20))
        assert (await raw.recv_close())[0] == 1009
        assert await raw.at_eof()  # a FIN: a reset raises ConnectionResetError
        raw.send(b"\x00" * (1 << 20))  # still read and discarded
        await raw.writer.drain()
        raw.close()
        clean, code, reason = await next_event(factory, "close")
        assert (clean, code) == (False, 1006)
        assert "frame payload exceeds the limit" in reason
        server.close()

    run(main())
