"""Connections without a network: a library's real protocol object on a fake
transport, past its opening handshake, so that a benchmark can feed it reads
and collect its writes in process (micro-benchmarks, profiles).

- ``ferrobahn_server`` / ``autobahn_server``: the asyncio server protocol of
  ferrobahn or AutobahnPython, open; feed it with ``proto._dataReceived``.
- ``ferrobahn_client`` / ``autobahn_client``: the client protocol, open; send
  with ``proto.sendMessage``, writes land on ``proto.transport``.
- ``picows_server``: picows' ``WSProtocol`` (a ``BufferedProtocol``), open;
  feed it with ``picows_feed``. picows has no parser of its own to call: its
  frame parser is a method of the protocol.
- ``pure_autobahn()``: AutobahnPython's pure-Python masker and UTF-8 validator
  (what it runs with ``AUTOBAHN_USE_NVX=0``), loaded beside the NVX ones, so
  that one process can measure both.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import importlib.util
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

UPGRADE_REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
UPGRADE_RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: {accept}\r\n\r\n"
)


class FakeTransport:
    """Enough of an asyncio transport for the libraries measured: writes are
    counted (or kept, with ``keep=True``), never sent."""

    def __init__(
        self, keep: bool = False, sock: socket.socket | None = None, ssl_object: Any = None
    ) -> None:
        self.keep = keep
        self.ssl_object = ssl_object
        self.written: list[bytes] = []
        self.nbytes = 0
        self.closed = False
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.nbytes += len(data)
        if self.keep:
            self.written.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "socket":
            return self.sock
        if name == "ssl_object":
            return self.ssl_object
        if name in ("peername", "sockname"):
            return ("127.0.0.1", 9000)
        return default

    def get_write_buffer_size(self) -> int:
        return 0

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (16384, 65536)

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.written)
        self.written.clear()
        return data


def accept_key(key: bytes) -> bytes:
    import hashlib

    digest = hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    return base64.b64encode(digest)


# -- ferrobahn and AutobahnPython ----------------------------------------------


def _api(package: str) -> Any:
    return importlib.import_module(f"{package}.asyncio.websocket")


def server_factory(package: str, protocol: type | None = None, limit: int = 0) -> Any:
    mod = _api(package)
    factory = mod.WebSocketServerFactory("ws://127.0.0.1:9000")
    factory.protocol = protocol or mod.WebSocketServerProtocol
    factory.setProtocolOptions(
        maxMessagePayloadSize=limit, maxFramePayloadSize=limit, openHandshakeTimeout=0
    )
    return factory


def client_factory(package: str, protocol: type | None = None, limit: int = 0) -> Any:
    mod = _api(package)
    factory = mod.WebSocketClientFactory("ws://127.0.0.1:9000")
    factory.protocol = protocol or mod.WebSocketClientProtocol
    factory.setProtocolOptions(
        maxMessagePayloadSize=limit, maxFramePayloadSize=limit, openHandshakeTimeout=0
    )
    return factory


def _server(
    package: str, protocol: type | None, limit: int, keep: bool, factory: Any = None
) -> Any:
    """A server protocol of ``factory`` (a new one if ``None``), open."""
    if factory is None:
        factory = server_factory(package, protocol, limit)
    proto = factory()
    transport = FakeTransport(keep=True)
    proto.connection_made(transport)
    proto._dataReceived(UPGRADE_REQUEST)
    answer = transport.take()
    if not answer:  # AutobahnPython answers from the loop: run it a little
        _spin()
        answer = transport.take()
    if not answer.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"{package}: handshake refused: {answer[:200]!r}")
    transport.keep = keep
    return proto


def _client(
    package: str, protocol: type | None, limit: int, keep: bool, factory: Any = None
) -> Any:
    """A client protocol of ``factory`` (a new one if ``None``), open."""
    if factory is None:
        factory = client_factory(package, protocol, limit)
    proto = factory()
    transport = FakeTransport(keep=True)
    proto.connection_made(transport)
    request = transport.take()
    if not request:  # AutobahnPython sends from the loop: run it a little
        _spin()
        request = transport.take()
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    proto._dataReceived(UPGRADE_RESPONSE.replace(b"{accept}", accept_key(key)))
    if proto.state != proto.STATE_OPEN:
        _spin()
    if proto.state != proto.STATE_OPEN:
        raise RuntimeError(f"{package}: client handshake did not complete")
    transport.keep = keep
    return proto


def _spin() -> None:
    """Run the current event loop for a few iterations."""
    loop = asyncio.get_event_loop()
    for _ in range(5):
        loop.run_until_complete(asyncio.sleep(0))


def ferrobahn_server(
    protocol: type | None = None, limit: int = 0, keep: bool = False, factory: Any = None
) -> Any:
    return _server("ferrobahn", protocol, limit, keep, factory)


def ferrobahn_client(
    protocol: type | None = None, limit: int = 0, keep: bool = False, factory: Any = None
) -> Any:
    return _client("ferrobahn", protocol, limit, keep, factory)


def autobahn_server(protocol: type | None = None, limit: int = 0, keep: bool = False) -> Any:
    return _server("autobahn", protocol, limit, keep)


def autobahn_client(protocol: type | None = None, limit: int = 0, keep: bool = False) -> Any:
    return _client("autobahn", protocol, limit, keep)


def _load_pure(name: str) -> Any:
    import autobahn.websocket as aw

    origin = importlib.util.find_spec(f"autobahn.websocket.{name}")
    assert origin is not None and origin.origin is not None
    spec = importlib.util.spec_from_file_location(f"_bench_pure_{name}", origin.origin)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = aw.USES_NVX
    aw.USES_NVX = False  # read by the module at import
    try:
        spec.loader.exec_module(module)
    finally:
        aw.USES_NVX = saved
    return module


_pure: dict[str, Any] = {}


def pure_autobahn() -> tuple[Any, Any]:
    """(``create_xor_masker``, ``Utf8Validator``) of AutobahnPython without NVX."""
    if not _pure:
        _pure["xor"] = _load_pure("xormasker").create_xor_masker
        _pure["utf8"] = _load_pure("utf8validator").Utf8Validator
    return _pure["xor"], _pure["utf8"]


@contextmanager
def autobahn_without_nvx() -> Iterator[None]:
    """AutobahnPython's protocol module on its pure-Python masker and
    validator for the duration (as with ``AUTOBAHN_USE_NVX=0``)."""
    import autobahn.websocket.protocol as ap

    create_xor_masker, validator = pure_autobahn()
    saved = ap.create_xor_masker, ap.Utf8Validator
    ap.create_xor_masker, ap.Utf8Validator = create_xor_masker, validator
    try:
        yield
    finally:
        ap.create_xor_masker, ap.Utf8Validator = saved


# -- picows --------------------------------------------------------------------


def _tcp_socket() -> tuple[socket.socket, socket.socket]:
    """A connected TCP pair on loopback: picows sets TCP options on its socket."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        other = socket.create_connection(listener.getsockname())
        sock, _ = listener.accept()
    finally:
        listener.close()
    return sock, other


_keepalive: list[Any] = []


def picows_server(listener: Any, loop: asyncio.AbstractEventLoop, limit: int = 1 << 25) -> Any:
    """picows' server ``WSProtocol`` with ``listener``, past its handshake."""
    import logging

    import picows
    from picows.picows import WSProtocol

    async def make() -> Any:
        proto = WSProtocol(
            None,
            None,
            False,
            lambda request: listener,
            logging.getLogger("bench.picows"),
            True,
            None,
            False,
            10,
            10,
            picows.WSAutoPingStrategy.PING_WHEN_IDLE,
            True,
            limit,
            None,
            16 * 1024,
        )
        sock, other = _tcp_socket()
        _keepalive.append(other)
        transport = FakeTransport(sock=sock)
        proto.connection_made(transport)
        picows_feed(proto, UPGRADE_REQUEST)
        if transport.nbytes == 0:
            raise RuntimeError("picows: no handshake response")
        return proto

    return loop.run_until_complete(make())


def picows_feed(proto: Any, data: bytes) -> None:
    """One read, as the loop hands it to a ``BufferedProtocol``: copied into
    the buffer the protocol offers, then ``buffer_updated``."""
    view = memoryview(data)
    while view:
        buf = proto.get_buffer(-1)
        n = min(len(buf), len(view))
        buf[:n] = view[:n]
        proto.buffer_updated(n)
        view = view[n:]


def close_keepalive() -> None:
    while _keepalive:
        _keepalive.pop().close()
