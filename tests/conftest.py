"""Shared helpers: run a coroutine with a deadline, raw WebSocket peers over
real sockets on 127.0.0.1 (built by hand, not with ferrobahn's code)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")

#: Every test coroutine runs under this deadline: a hang fails, never blocks.
DEADLINE = 20.0


def run(coro: Awaitable[T], timeout: float = DEADLINE) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def triples(flat: list[Any]) -> list[tuple[Any, Any, Any]]:
    """``_core.Parser.feed``'s flat list as (kind, a, b) events, grouped as
    the protocol layer reads them."""
    items = iter(flat)
    return list(zip(items, items, items))


def frame(
    opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, mask: bool = True
) -> bytes:
    """One frame, encoded independently of ferrobahn."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, bit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawClient:
    """A hand-written WebSocket client for feeding a server bad input."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, handshake: bool = True, **headers: str) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        if handshake:
            status, _ = await client.handshake(**headers)
            assert status == 101
        return client

    async def handshake(self, **extra: str) -> tuple[int, dict[str, str]]:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET / HTTP/1.1",
            "Host: 127.0.0.1",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k.replace('_', '-')}: {v}" for k, v in extra.items()),
        ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        status, headers = await self.read_head()
        if status == 101:
            accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
            assert headers["sec-websocket-accept"] == accept
        return status, headers

    async def read_head(self) -> tuple[int, dict[str, str]]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def recv_frame(self) -> tuple[int, bytes]:
        """The next frame from the server: (opcode, payload); opcode -1 on EOF."""
        try:
            b0, b1 = await self.reader.readexactly(2)
        except asyncio.IncompleteReadError:
            return -1, b""
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        assert not b1 & 0x80, "a server must not mask"
        return b0 & 0x0F, await self.reader.readexactly(n)

    async def recv_close(self) -> tuple[int | None, bytes]:
        """Read until a close frame (or EOF): (close code or None, reason bytes)."""
        while True:
            opcode, payload = await self.recv_frame()
            if opcode == -1:
                return None, b""
            if opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return code, payload[2:]

    async def at_eof(self) -> bool:
        return await self.reader.read(1) == b""

    def close(self) -> None:
        self.writer.close()


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


async def start_server(factory: Any) -> tuple[asyncio.AbstractServer, int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` (RFC 6455 §5.3), fast enough
    for megabytes: one big-integer XOR instead of a loop per byte."""
    n = len(payload)
    if n == 0:
        return b""
    keystream = (key * (n // 4 + 1))[:n]
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(keystream, "little")
    return masked.to_bytes(n, "little")


def frame_header(
    opcode: int, length: int, fin: bool = True, rsv: int = 0, key: bytes | None = None
) -> bytes:
    """The header of a frame declaring ``length`` payload bytes, with the mask
    key ``key`` (unmasked when ``None``): for sending a frame in pieces, or a
    header alone."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    bit = 0x80 if key is not None else 0
    if length < 126:
        head = struct.pack("!BB", first, bit | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, bit | 127, length)
    return head + (key or b"")


def big_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A masked frame like ``frame()``, built fast for large payloads."""
    key = os.urandom(4)
    return frame_header(opcode, len(payload), fin, key=key) + mask_payload(payload, key)


async def http_exchange(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send a raw HTTP request head; read the answer's status and headers,
    then everything up to EOF (the server must close the connection)."""
    raw = await RawClient.connect(port, handshake=False)
    raw.send(head)
    status, headers = await raw.read_head()
    body = await raw.reader.read()  # returns at EOF only
    raw.close()
    return status, headers, body


async def next_event(factory: Any, name: str) -> tuple[Any, ...]:
    """The arguments of the next callback ``name`` recorded by a
    ``RecordingProtocol`` of ``factory`` (earlier other events are skipped)."""
    while True:
        event, args = await factory.queue.get()
        if event == name:
            return args  # type: ignore[no-any-return]


class RecordingProtocol:
    """Mixin for ferrobahn protocols: every callback is put on
    ``factory.queue`` as ``(name, args)``; the open protocol is ``factory.instance``."""

    factory: Any

    def _record(self, name: str, *args: Any) -> None:
        self.factory.queue.put_nowait((name, args))

    def onOpen(self) -> None:
        self.factory.instance = self
        self._record("open")

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self._record("message", payload, isBinary)

    def onPong(self, payload: bytes) -> None:
        self._record("pong", payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self._record("close", wasClean, code, reason)


def echo_server_factory(**options: Any) -> Any:
    """A ferrobahn asyncio server factory whose protocol echoes every message
    and records its callbacks (see ``RecordingProtocol``). The text message
    ``close:CODE:REASON`` makes it start the closing handshake instead."""
    from ferrobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

    class EchoProtocol(RecordingProtocol, WebSocketServerProtocol):
        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            super().onMessage(payload, isBinary)
            if not isBinary and payload.startswith(b"close:"):
                _, code, reason = payload.decode().split(":", 2)
                self.sendClose(int(code), reason)
            else:
                self.sendMessage(payload, isBinary)

    factory = WebSocketServerFactory()
    factory.protocol = EchoProtocol
    factory.queue = asyncio.Queue()
    if options:
        factory.setProtocolOptions(**options)
    return factory
