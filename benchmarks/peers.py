"""Echo servers and clients of every library compared, behind one interface,
and the worker process the benchmark scripts drive.

A peer is an object with two coroutines:

- ``serve(limit)`` starts an echo server on 127.0.0.1 (a port of its own) and
  returns ``(port, close)``;
- ``connect(port, limit)`` opens one client connection (handshake done) and
  returns a ``Client`` with ``echo(message)`` (send one message, await the
  echoed one) and ``close()`` (closing handshake where the library has one).

Every library gets the same settings: compression off, size limits raised to
``limit``, its defaults otherwise. A ``bytes`` message is sent as a binary
message, a ``str`` as a text message: text starts as a ``str`` in the client,
as an application's text would, and a library whose API takes bytes encodes it.
Servers echo text as text, and every side receives it as its API hands text to
an application (validated UTF-8 bytes or a decoded ``str``). ``tcp`` is no
WebSocket at all (the echo of the raw bytes): the floor of what the event loop
and the transport cost.

``ferrobahn-twisted`` runs ferrobahn's Twisted classes on Twisted's
asyncioreactor, installed on the worker's own event loop (uvloop or asyncio),
so that the same worker drives it.

The worker (``python benchmarks/peers.py worker PEER [--loop uvloop|asyncio]``)
runs one event loop and answers JSON commands, one a line on stdin, with one
JSON line on stdout; see ``Worker``. ``echo.py``, ``conns.py`` and
``streaming.py`` start workers and tell them what to do, so that a server and
its client run in separate processes and each measures its own CPU time.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import os
import resource
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Union

HOST = "127.0.0.1"
LIMIT = 32 * 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")

Close = Callable[[], Awaitable[None]]


# bytes: a binary message, str: a text one. (Union: an alias is evaluated at run
# time, and Python 3.9 has no ``bytes | str``.)
Message = Union[bytes, str]


class Client:
    """One open client connection."""

    async def echo(self, message: Message) -> Message | None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# -- plain TCP: the floor ---------------------------------------------------------


class _TcpEchoServer(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _TcpClientProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.got = 0
        self.want = 0
        self.waiter: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        if self.got >= self.want and self.waiter is not None:
            self.waiter.set_result(None)
            self.waiter = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


class _TcpClient(Client):
    def __init__(self, proto: _TcpClientProtocol) -> None:
        self.proto = proto

    async def echo(self, message: Message) -> Message | None:
        payload = message.encode() if isinstance(message, str) else message
        proto = self.proto
        proto.got, proto.want = 0, len(payload)
        proto.waiter = asyncio.get_running_loop().create_future()
        proto.transport.write(payload)
        await proto.waiter
        return None  # the floor does not assemble the echo into one object

    async def close(self) -> None:
        self.proto.transport.close()
        await self.proto.lost


class TcpPeer:
    """No WebSocket: the client writes the payload, the server writes back each
    read as it comes, the client waits for as many bytes as it sent."""

    def __init__(self, fastnet: bool = False) -> None:
        self.fastnet = fastnet

    async def serve(self, limit: int) -> tuple[int, Close]:
        loop = asyncio.get_running_loop()
        if self.fastnet:
            import aiofastnet

            server = await aiofastnet.create_server(loop, _TcpEchoServer, HOST, 0)
        else:
            server = await loop.create_server(_TcpEchoServer, HOST, 0)
        return server.sockets[0].getsockname()[1], _closer(server)

    async def connect(self, port: int, limit: int) -> Client:
        loop = asyncio.get_running_loop()
        if self.fastnet:
            import aiofastnet

            _, proto = await aiofastnet.create_connection(loop, _TcpClientProtocol, HOST, port)
        else:
            _, proto = await loop.create_connection(_TcpClientProtocol, HOST, port)
        return _TcpClient(proto)


def _closer(server: Any) -> Close:
    async def close() -> None:
        server.close()

    return close


# -- ferrobahn and AutobahnPython: the same program, two imports ------------------


def _echo_protocols(mod: Any) -> tuple[Any, Any]:
    """The echo server protocol and the client protocol on the base classes of
    ``mod`` (``<package>.asyncio.websocket`` or ``ferrobahn.twisted.websocket``)."""

    class Server(mod.WebSocketServerProtocol):  # type: ignore[misc,name-defined]
        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            self.sendMessage(payload, isBinary)

    class ClientProto(mod.WebSocketClientProtocol):  # type: ignore[misc,name-defined]
        reply: asyncio.Future[bytes]

        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            self.reply.set_result(payload)

    return Server, ClientProto


async def _settled(result: Any) -> Any:
    """Await an asyncio future or a Twisted Deferred (an asyncio task cannot
    await a Deferred as it is)."""
    as_future = getattr(result, "asFuture", None)
    if as_future is not None:
        result = as_future(asyncio.get_running_loop())
    return await result


class AutobahnApiPeer:
    """ferrobahn and AutobahnPython share the API: the same classes serve both
    (``package`` is ``ferrobahn`` or ``autobahn``), on asyncio."""

    def __init__(self, package: str) -> None:
        self.package = package
        self._classes: Any = None
        self._factories: dict[int, Any] = {}

    def _load(self) -> Any:
        """(server factory class, client factory class, server protocol, client protocol)."""
        if self._classes is None:
            mod = importlib.import_module(f"{self.package}.asyncio.websocket")
            server, client = _echo_protocols(mod)
            self._classes = (mod.WebSocketServerFactory, mod.WebSocketClientFactory, server, client)
        return self._classes

    def _server_factory(self, limit: int) -> Any:
        server_factory, _, server, _ = self._load()
        factory = server_factory()
        factory.protocol = server
        factory.setProtocolOptions(maxMessagePayloadSize=limit, maxFramePayloadSize=limit)
        return factory

    def _client_factory(self, port: int, limit: int) -> Any:
        # One factory per server, made once, as an application would: building
        # it is not part of what a handshake costs.
        factory = self._factories.get(port)
        if factory is None:
            _, client_factory, _, client = self._load()
            factory = client_factory(f"ws://{HOST}:{port}")
            factory.protocol = client
            factory.setProtocolOptions(maxMessagePayloadSize=limit, maxFramePayloadSize=limit)
            self._factories[port] = factory
        return factory

    async def serve(self, limit: int) -> tuple[int, Close]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self._server_factory(limit), HOST, 0)
        return server.sockets[0].getsockname()[1], _closer(server)

    async def connect(self, port: int, limit: int) -> Client:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(self._client_factory(port, limit), HOST, port)
        await proto.is_open
        return _AutobahnApiClient(proto)


def _twisted_reactor() -> Any:
    """Twisted's reactor: on first use, an asyncioreactor installed on the
    running loop (before anything imports ``twisted.internet.reactor``, which
    would install the default epoll reactor instead)."""
    loop = asyncio.get_running_loop()
    if "twisted.internet.reactor" not in sys.modules:
        from twisted.internet import asyncioreactor

        asyncioreactor.install(loop)
    from twisted.internet import reactor

    # The label says which loop the reactor runs on: make sure it is that one.
    if getattr(reactor, "_asyncioEventloop", None) is not loop:
        raise RuntimeError(f"Twisted's reactor ({type(reactor).__name__}) is not on this loop")
    if not reactor.running:
        # What reactor.run() does before it runs the loop, which already runs.
        reactor.startRunning(installSignalHandlers=False)
    return reactor


class TwistedPeer(AutobahnApiPeer):
    """ferrobahn's Twisted classes (``ferrobahn.twisted.websocket``): server
    from ``reactor.listenTCP``, clients from ``reactor.connectTCP``. Both get
    the reactor before making a factory: a factory made without one imports
    (installs) the default reactor."""

    def __init__(self) -> None:
        super().__init__("ferrobahn")

    def _load(self) -> Any:
        if self._classes is None:
            mod = importlib.import_module("ferrobahn.twisted.websocket")
            server, echo_client = _echo_protocols(mod)

            class ClientProto(echo_client):  # type: ignore[misc,valid-type]
                def connectionMade(self) -> None:
                    super().connectionMade()
                    # connectTCP returns no protocol: hand this one to a waiting
                    # connect() (any of them: the connections are alike).
                    self.factory.connecting.popleft().set_result(self)

            class ClientFactory(mod.WebSocketClientFactory):  # type: ignore[misc,name-defined]
                def __init__(self, url: str) -> None:
                    super().__init__(url)
                    self.connecting: deque[asyncio.Future[Any]] = deque()

                def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
                    error = ConnectionError(reason.getErrorMessage())
                    self.connecting.popleft().set_exception(error)

            self._classes = (mod.WebSocketServerFactory, ClientFactory, server, ClientProto)
        return self._classes

    async def serve(self, limit: int) -> tuple[int, Close]:
        reactor = _twisted_reactor()
        port = reactor.listenTCP(0, self._server_factory(limit), interface=HOST)

        async def close() -> None:
            await _settled(port.stopListening())

        return port.getHost().port, close

    async def connect(self, port: int, limit: int) -> Client:
        reactor = _twisted_reactor()
        factory = self._client_factory(port, limit)
        made: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        factory.connecting.append(made)
        reactor.connectTCP(HOST, port, factory)
        proto = await made
        await _settled(proto.is_open)
        return _AutobahnApiClient(proto)


class _AutobahnApiClient(Client):
    def __init__(self, proto: Any) -> None:
        self.proto = proto

    async def echo(self, message: Message) -> Message | None:
        proto = self.proto
        proto.reply = asyncio.get_running_loop().create_future()
        if isinstance(message, str):
            proto.sendMessage(message.encode(), False)  # the API takes text as UTF-8 bytes
        else:
            proto.sendMessage(message, True)
        return await proto.reply  # type: ignore[no-any-return]

    async def close(self) -> None:
        self.proto.sendClose(1000)
        await _settled(self.proto.is_closed)


# -- picows ------------------------------------------------------------------------


class PicowsPeer:
    """picows (Cython). ``fastnet=False`` puts it on the loop's own transport
    instead of aiofastnet's, which it uses by default when installed."""

    def __init__(self, fastnet: bool | None = None) -> None:
        self.fastnet = fastnet

    async def serve(self, limit: int) -> tuple[int, Close]:
        import picows

        binary, text, close = picows.WSMsgType.BINARY, picows.WSMsgType.TEXT, picows.WSMsgType.CLOSE

        class Listener(picows.WSListener):  # type: ignore[misc]
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type == binary:
                    transport.send(binary, frame.get_payload_as_bytes())
                elif frame.msg_type == text:
                    # picows checks UTF-8 only when asked: read text as text.
                    transport.send(text, frame.get_payload_as_utf8_text().encode())
                elif frame.msg_type == close:
                    transport.send_close(frame.get_close_code())
                    transport.disconnect()

        server = await picows.ws_create_server(
            lambda request: Listener(),
            HOST,
            0,
            max_frame_size=limit,
            use_aiofastnet=self.fastnet,
        )
        return server.sockets[0].getsockname()[1], _closer(server)

    async def connect(self, port: int, limit: int) -> Client:
        import picows

        binary, text = picows.WSMsgType.BINARY, picows.WSMsgType.TEXT

        class Listener(picows.WSListener):  # type: ignore[misc]
            reply: asyncio.Future[Message] | None = None

            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if self.reply is None:
                    return
                if frame.msg_type == binary:
                    self.reply.set_result(frame.get_payload_as_bytes())
                elif frame.msg_type == text:
                    self.reply.set_result(frame.get_payload_as_utf8_text())
                else:
                    return
                self.reply = None

        transport, listener = await picows.ws_connect(
            Listener, f"ws://{HOST}:{port}", max_frame_size=limit, use_aiofastnet=self.fastnet
        )
        return _PicowsClient(transport, listener)


class _PicowsClient(Client):
    def __init__(self, transport: Any, listener: Any) -> None:
        import picows

        self.transport = transport
        self.listener = listener
        self.binary, self.text = picows.WSMsgType.BINARY, picows.WSMsgType.TEXT
        # send_close() without a code sends none, which some servers take for an error.
        self.close_code = picows.WSCloseCode.OK

    async def echo(self, message: Message) -> Message | None:
        reply = self.listener.reply = asyncio.get_running_loop().create_future()
        if isinstance(message, str):
            self.transport.send(self.text, message.encode())  # the API takes bytes
        else:
            self.transport.send(self.binary, message)
        return await reply  # type: ignore[no-any-return]

    async def close(self) -> None:
        self.transport.send_close(self.close_code)
        await self.transport.wait_disconnected()


# -- aiohttp -----------------------------------------------------------------------


class AiohttpPeer:
    """aiohttp: its web server and ClientSession (Cython reader, C masking)."""

    async def serve(self, limit: int) -> tuple[int, Close]:
        from aiohttp import WSMsgType, web

        async def handler(request: Any) -> Any:
            ws = web.WebSocketResponse(max_msg_size=limit, compress=False)
            await ws.prepare(request)
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await ws.send_bytes(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    await ws.send_str(msg.data)
            return ws

        app = web.Application()
        app.router.add_get("/", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        async def close() -> None:
            await runner.cleanup()

        return port, close

    async def connect(self, port: int, limit: int) -> Client:
        import aiohttp

        session = getattr(self, "_session", None)
        if session is None:
            connector = aiohttp.TCPConnector(limit=0, force_close=True)
            session = self._session = aiohttp.ClientSession(connector=connector)
        ws = await session.ws_connect(f"ws://{HOST}:{port}/", max_msg_size=limit, compress=0)
        return _AiohttpClient(ws)


class _AiohttpClient(Client):
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def echo(self, message: Message) -> Message | None:
        if isinstance(message, str):
            await self.ws.send_str(message)
        else:
            await self.ws.send_bytes(message)
        msg = await self.ws.receive()
        return msg.data  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.ws.close()


# -- websockets --------------------------------------------------------------------


class WebsocketsPeer:
    """websockets' asyncio implementation (C masking)."""

    async def serve(self, limit: int) -> tuple[int, Close]:
        from websockets.asyncio.server import serve

        async def handler(ws: Any) -> None:
            async for message in ws:
                await ws.send(message)

        server = await serve(handler, HOST, 0, max_size=limit, compression=None)
        port = next(iter(server.sockets)).getsockname()[1]
        return port, _closer(server)

    async def connect(self, port: int, limit: int) -> Client:
        from websockets.asyncio.client import connect

        ws = await connect(f"ws://{HOST}:{port}", max_size=limit, compression=None)
        return _WebsocketsClient(ws)


class _WebsocketsClient(Client):
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def echo(self, message: Message) -> Message | None:
        await self.ws.send(message)  # a str goes as a text message
        return await self.ws.recv()  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.ws.close()


# -- wsproto: a small asyncio driver -----------------------------------------------


class _WsprotoProtocol(asyncio.Protocol):
    """wsproto's sans-I/O connection on an asyncio transport: every read goes
    through ``receive_data`` and its events; a message's pieces are joined
    (``bytes`` of a binary message, ``str`` of a text one)."""

    def __init__(self, server: bool, host: str = HOST) -> None:
        from wsproto import ConnectionType, WSConnection

        self.ws = WSConnection(ConnectionType.SERVER if server else ConnectionType.CLIENT)
        self.server = server
        self.host = host
        self.parts: list[Any] = []
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.reply: asyncio.Future[Message] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if not self.server:
            from wsproto.events import Request

            transport.write(self.ws.send(Request(host=self.host, target="/")))

    def data_received(self, data: bytes) -> None:
        from wsproto.events import (
            AcceptConnection,
            CloseConnection,
            Ping,
            Request,
        )
        from wsproto.events import Message as WsprotoMessage

        ws = self.ws
        ws.receive_data(data)
        out = []
        close = False
        for event in ws.events():
            if isinstance(event, WsprotoMessage):  # BytesMessage or TextMessage
                self.parts.append(event.data)
                if event.message_finished:
                    parts, self.parts = self.parts, []
                    if len(parts) == 1:
                        payload = parts[0]
                    else:
                        payload = b"".join(parts) if isinstance(parts[0], bytes) else "".join(parts)
                    if self.server:
                        out.append(ws.send(type(event)(data=payload)))
                    elif self.reply is not None:
                        self.reply.set_result(payload)
                        self.reply = None
            elif isinstance(event, Request):
                out.append(ws.send(AcceptConnection()))
            elif isinstance(event, AcceptConnection):
                self.opened.set_result(None)
            elif isinstance(event, Ping):
                out.append(ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                if self.server:
                    out.append(ws.send(event.response()))
                close = True
        if out:
            self.transport.write(b"".join(out))
        if close and self.server:
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


class _WsprotoClient(Client):
    def __init__(self, proto: _WsprotoProtocol) -> None:
        self.proto = proto

    async def echo(self, message: Message) -> Message | None:
        from wsproto.events import BytesMessage, TextMessage

        proto = self.proto
        reply = proto.reply = asyncio.get_running_loop().create_future()
        event = (
            TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
        )
        proto.transport.write(proto.ws.send(event))
        return await reply

    async def close(self) -> None:
        from wsproto.events import CloseConnection

        proto = self.proto
        proto.transport.write(proto.ws.send(CloseConnection(code=1000)))
        await proto.lost


class WsprotoPeer:
    async def serve(self, limit: int) -> tuple[int, Close]:
        server = await asyncio.get_running_loop().create_server(
            lambda: _WsprotoProtocol(server=True), HOST, 0
        )
        return server.sockets[0].getsockname()[1], _closer(server)

    async def connect(self, port: int, limit: int) -> Client:
        _, proto = await asyncio.get_running_loop().create_connection(
            lambda: _WsprotoProtocol(server=False), HOST, port
        )
        await proto.opened
        return _WsprotoClient(proto)


# -- the registry ------------------------------------------------------------------


@dataclass
class PeerSpec:
    name: str
    label: str  # may name the event loop: "{loop}"
    make: Callable[[], Any]
    needs: str  # the module that must import
    env: dict[str, str] = field(default_factory=dict)
    websocket: bool = True  # False: plain TCP, which cannot talk to another library

    def label_on(self, loop: str) -> str:
        return self.label.format(loop=loop)


PEERS = {
    p.name: p
    for p in [
        PeerSpec("tcp", "plain TCP echo (floor)", TcpPeer, "asyncio", websocket=False),
        PeerSpec(
            "tcp-afn",
            "plain TCP echo on aiofastnet",
            lambda: TcpPeer(True),
            "aiofastnet",
            websocket=False,
        ),
        PeerSpec("ferrobahn", "ferrobahn", lambda: AutobahnApiPeer("ferrobahn"), "ferrobahn"),
        PeerSpec(
            "ferrobahn-twisted",
            "ferrobahn on Twisted (asyncioreactor on {loop})",
            TwistedPeer,
            "twisted",
        ),
        PeerSpec("picows", "picows (aiofastnet)", PicowsPeer, "picows"),
        PeerSpec(
            "picows-asyncio",
            "picows on the loop's transport",
            lambda: PicowsPeer(False),
            "picows",
        ),
        PeerSpec("aiohttp", "aiohttp", AiohttpPeer, "aiohttp"),
        PeerSpec("websockets", "websockets", WebsocketsPeer, "websockets"),
        PeerSpec(
            "autobahn",
            "autobahn with NVX",
            lambda: AutobahnApiPeer("autobahn"),
            "autobahn",
            {"AUTOBAHN_USE_NVX": "1"},
        ),
        PeerSpec(
            "autobahn-py",
            "autobahn without NVX",
            lambda: AutobahnApiPeer("autobahn"),
            "autobahn",
            {"AUTOBAHN_USE_NVX": "0"},
        ),
        PeerSpec("wsproto", "wsproto", WsprotoPeer, "wsproto"),
    ]
}


def available(name: str) -> str | None:
    """``None`` when the peer can run here, else why not."""
    import importlib.util

    spec = PEERS[name]
    if importlib.util.find_spec(spec.needs) is None:
        return f"{spec.needs} is not installed"
    if spec.env.get("AUTOBAHN_USE_NVX") == "1":
        for mod in ("_nvx_utf8validator", "_nvx_xormasker"):
            if importlib.util.find_spec(mod) is None:
                return "autobahn was built without NVX"
    return None


def runnable(names: list[str]) -> list[str]:
    """The peers of ``names`` that can run here; says on stderr why the others are left out."""
    out = []
    for name in names:
        why = available(name)
        if why is None:
            out.append(name)
        else:
            print(f"skipping {name}: {why}", file=sys.stderr)
    return out


# -- the worker --------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads)."""
    return time.process_time()


def minor_faults() -> int:
    """Page faults served without I/O so far: fresh pages the process touched."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class Worker:
    """Answers one JSON command a line: ``{"cmd": NAME, ...arguments}``.

    - ``serve``: start the echo server; answers ``port``.
    - ``connect`` (``port``): open the client connection used by ``run``.
    - ``inproc``: ``serve`` and ``connect`` in this one process.
    - ``run`` (``size``, ``seconds``, ``min_count``, ``text``): echo round trips
      of a ``size``-byte message, a text message of ASCII if ``text``, for
      ``seconds`` of wall time (at least ``min_count``) after a checked warm-up;
      answers ``count``, ``cpu`` (s), ``wall`` (s) and ``minflt`` (page faults).
    - ``mark``: ``cpu`` (s), ``rss`` (bytes) and ``minflt``; with ``gc`` true, ``rss`` after a
      garbage collection.
    - ``open`` (``port``, ``n``, ``concurrency``): open ``n`` more idle connections.
    - ``close_all``: close the idle connections (closing handshakes).
    - ``handshakes`` (``port``, ``n``, ``concurrency``): ``n`` times connect,
      handshake and close; answers ``count``, ``cpu``, ``wall``.
    - ``quit``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.peer = PEERS[name].make()
        self.client: Client | None = None
        self.idle: list[Client] = []
        self.close_server: Close | None = None

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd["cmd"]
        limit = cmd.get("limit", LIMIT)
        if op == "serve":
            port, self.close_server = await self.peer.serve(limit)
            return {"port": port}
        if op == "connect":
            self.client = await self.peer.connect(cmd["port"], limit)
            return {}
        if op == "inproc":
            port, self.close_server = await self.peer.serve(limit)
            self.client = await self.peer.connect(port, limit)
            return {"port": port}
        if op == "run":
            return await self.run(
                cmd["size"], cmd["seconds"], cmd.get("min_count", 3), cmd.get("text", False)
            )
        if op == "mark":
            cpu = cpu_seconds()  # before the collection, which is not the work measured
            if cmd.get("gc"):
                gc.collect()
            return {"cpu": cpu, "rss": rss_bytes(), "minflt": minor_faults()}
        if op == "open":
            await self.open(cmd["port"], cmd["n"], cmd.get("concurrency", 50), limit)
            return {"open": len(self.idle)}
        if op == "close_all":
            idle, self.idle = self.idle, []
            await asyncio.gather(*(c.close() for c in idle))
            return {}
        if op == "handshakes":
            return await self.handshakes(cmd["port"], cmd["n"], cmd.get("concurrency", 1), limit)
        raise ValueError(f"unknown command {op!r}")

    async def run(self, size: int, seconds: float, min_count: int, text: bool) -> dict[str, Any]:
        client = self.client
        assert client is not None
        message: Message
        if text:
            message = "".join(chr(32 + i % 95) for i in range(size))  # printable ASCII
        else:
            message = bytes(i % 251 for i in range(size))
        payload = message.encode() if isinstance(message, str) else message
        for _ in range(3):
            got = await client.echo(message)
            if isinstance(got, str):  # text, as the library hands it over
                got = got.encode()
            if got is not None and got != payload:
                kind = "text" if text else "binary"
                raise AssertionError(f"{self.name}: {kind} echo of {size} B came back different")
        count = 0
        faults0 = minor_faults()
        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        deadline = wall0 + seconds
        while count < min_count or time.perf_counter() < deadline:
            await client.echo(message)
            count += 1
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        faults = minor_faults() - faults0
        return {"count": count, "cpu": cpu, "wall": wall, "minflt": faults}

    async def open(self, port: int, n: int, concurrency: int, limit: int) -> None:
        todo = iter(range(n))

        async def opener() -> None:
            for _ in todo:
                self.idle.append(await self.peer.connect(port, limit))

        await asyncio.gather(*(opener() for _ in range(min(concurrency, n))))

    async def handshakes(self, port: int, n: int, concurrency: int, limit: int) -> dict[str, Any]:
        todo = iter(range(n))

        async def one_by_one() -> None:
            for _ in todo:
                client = await self.peer.connect(port, limit)
                await client.close()

        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        await asyncio.gather(*(one_by_one() for _ in range(min(concurrency, n))))
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        return {"count": n, "cpu": cpu, "wall": wall}

    async def serve_commands(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        out = sys.stdout
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = json.loads(line)
            if cmd["cmd"] == "quit":
                break
            try:
                answer = await self.handle(cmd)
            except Exception as error:  # reported to the driver, which decides
                answer = {"error": f"{type(error).__name__}: {error}"}
            out.write(json.dumps(answer) + "\n")
            out.flush()
        await self.shutdown()

    async def shutdown(self) -> None:
        """Close what is open, cleanly, so that no library complains on exit."""
        clients = self.idle + ([self.client] if self.client is not None else [])
        self.idle, self.client = [], None
        if clients:
            await asyncio.wait([asyncio.ensure_future(c.close()) for c in clients], timeout=5)
        session = getattr(self.peer, "_session", None)
        if session is not None:
            await session.close()
        if self.close_server is not None:
            await self.close_server()


def run_loop(main: Awaitable[Any], loop: str) -> Any:
    """Run ``main`` on uvloop or asyncio's default loop."""
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    event_loop = factory()
    asyncio.set_event_loop(event_loop)
    try:
        return event_loop.run_until_complete(main)
    finally:
        event_loop.close()


class WorkerProc:
    """A worker process, from the driver's side: ``call`` sends one command
    and waits for its answer; an answer with ``error`` raises."""

    def __init__(self, peer: str, loop: str = "uvloop", env: dict[str, str] | None = None) -> None:
        import subprocess

        self.peer = peer
        full_env = dict(os.environ)
        full_env.update(PEERS[peer].env)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "worker", peer, "--loop", loop],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=full_env,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.peer} worker exited (code {self.proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.peer} worker, {cmd}: {answer['error']}")
        return answer

    def quit(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait()


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="benchmark worker (driven over stdin/stdout)")
    parser.add_argument("role", choices=["worker"])
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    # Logs must not reach stdout, which carries the answers; a warning repeated
    # for every connection is shown once, with its count at the end.
    summary = _LogSummary()
    logging.basicConfig(level=logging.WARNING, handlers=[summary])
    try:
        run_loop(Worker(args.peer).serve_commands(), args.loop)
    finally:
        summary.report(args.peer)


class _LogSummary(logging.Handler):
    """The first of each warning on stderr; how often it came, at the end."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        key = f"{record.levelname} {record.name}: {record.getMessage()[:160]}"
        if key not in self.seen:
            sys.stderr.write(key + "\n")
        self.seen[key] += 1

    def report(self, peer: str) -> None:
        for key, count in self.seen.items():
            if count > 1:
                sys.stderr.write(f"[{peer} worker] {count} times: {key}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
