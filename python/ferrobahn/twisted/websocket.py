"""AutobahnPython's Twisted classes on ferrobahn.

Transport glue only: the protocol lives in ``ferrobahn.websocket.protocol``.
Each ``dataReceived`` goes straight to the protocol (one Rust call for the
whole read). Timers are ``reactor.callLater`` calls, futures are Deferreds,
and what a callback returns (a Deferred or a coroutine) is run with
``ensureDeferred``.

Importing this module installs no reactor: a factory built without
``reactor=`` imports the global one then.
"""

from __future__ import annotations

import binascii
import contextlib
import importlib
import inspect
import os
from base64 import b64decode, b64encode
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from twisted.internet import protocol as twisted_protocol
from twisted.internet import tcp
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import ITransport
from twisted.python.failure import Failure
from zope.interface import implementer

from ferrobahn.websocket import protocol
from ferrobahn.websocket.interfaces import IWebSocketClientAgent
from ferrobahn.websocket.types import ConnectionDeny, ConnectionRequest, ConnectionResponse

__all__ = [
    "WebSocketAdapterProtocol",
    "WebSocketServerProtocol",
    "WebSocketClientProtocol",
    "WebSocketAdapterFactory",
    "WebSocketServerFactory",
    "WebSocketClientFactory",
    "WrappingWebSocketAdapter",
    "WrappingWebSocketServerProtocol",
    "WrappingWebSocketClientProtocol",
    "WrappingWebSocketServerFactory",
    "WrappingWebSocketClientFactory",
    "connectWS",
    "listenWS",
    "create_client_agent",
]


def peer2str(addr: Any) -> str:
    """AutobahnPython's peer strings for Twisted addresses: ``tcp4:host:port``,
    ``tcp6:host:port``, ``unix:path``."""
    if isinstance(addr, IPv4Address):
        return f"tcp4:{addr.host}:{addr.port}"
    if isinstance(addr, IPv6Address):
        return f"tcp6:{addr.host}:{addr.port}"
    if isinstance(addr, UNIXAddress) and addr.name:
        return f"unix:{os.fsdecode(addr.name)}"
    return "unknown"


def _global_reactor() -> Any:
    from twisted.internet import reactor

    return reactor


class _Timer:
    """A ``callLater`` handle whose ``cancel()`` is harmless once the call ran
    or was cancelled, as asyncio's is (Twisted's raises)."""

    __slots__ = ("_call",)

    def __init__(self, call: Any) -> None:
        self._call = call

    def cancel(self) -> None:
        if self._call.active():
            self._call.cancel()


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _as_deferred(result: Any) -> Deferred[Any] | None:
    """A Deferred for what a callback returned, ``None`` when it is a plain value."""
    if isinstance(result, Deferred):
        return result
    if inspect.iscoroutine(result):
        return ensureDeferred(result)
    if inspect.isawaitable(result):
        return ensureDeferred(_awaited(result))
    return None


def _error(failure: Failure) -> BaseException:
    return failure.value if failure.value is not None else RuntimeError(str(failure))


class WebSocketAdapterProtocol(twisted_protocol.Protocol):
    """Twisted ``Protocol`` glue shared by server and client protocols."""

    factory: Any
    transport: Any
    wasNotCleanReason: str | None = None
    _reactor: Any
    _producer_registered = False

    def connectionMade(self) -> None:
        self._reactor = getattr(self.factory, "reactor", None) or _global_reactor()
        self.peer = peer2str(self.transport.getPeer())
        self._connectionMade()  # type: ignore[attr-defined]
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            with contextlib.suppress(OSError):  # e.g. a Unix socket
                set_no_delay(self.tcpNoDelay)  # type: ignore[attr-defined]

    def dataReceived(self, data: bytes) -> None:
        self._dataReceived(data)  # type: ignore[attr-defined]

    def connectionLost(self, reason: Failure = twisted_protocol.connectionDone) -> None:
        error = reason.value
        if type(error).__module__.startswith("OpenSSL") and self.wasNotCleanReason is None:
            # e.g. the peer's certificate did not verify: say so in onClose
            self.wasNotCleanReason = f"TLS failed: {error}"
        self._connectionLost(reason)  # type: ignore[attr-defined]

    def _closeConnection(self, abort: bool = False) -> None:
        transport = self.transport
        if abort and hasattr(transport, "abortConnection"):
            transport.abortConnection()
            return
        self.unregisterProducer()  # loseConnection would wait for it
        transport.loseConnection()

    def _half_close(self) -> bool:
        # Only a plain TCP connection: under TLS a FIN would skip close_notify.
        if not isinstance(self.transport, tcp.Connection):
            return False
        transport: Any = self.transport  # (its methods are not annotated)
        transport.loseWriteConnection()
        return True

    def _write_parts(self, parts: tuple[bytes, ...]) -> None:
        self.transport.writeSequence(parts)

    def _call_later(self, delay: float, fn: Callable[[], None]) -> _Timer:
        return _Timer(self._reactor.callLater(delay, fn))

    def _create_future(self) -> Deferred[Any]:
        return Deferred()

    def _resolve_future(self, future: Deferred[Any], value: Any) -> None:
        if not future.called:
            future.callback(value)

    def _run_result(self, result: Any, what: str) -> None:
        deferred = _as_deferred(result)
        if deferred is None:
            return

        def failed(failure: Failure) -> None:
            self._callback_failed(what, _error(failure))  # type: ignore[attr-defined]

        deferred.addErrback(failed)

    def _when_ready(
        self,
        result: Any,
        on_value: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        deferred = _as_deferred(result)
        if deferred is None:
            on_value(result)
            return

        def failed(failure: Failure) -> None:
            on_error(_error(failure))

        deferred.addCallbacks(on_value, failed)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Register a Twisted push (``streaming``) or pull producer with the transport."""
        self.transport.registerProducer(producer, streaming)
        self._producer_registered = True

    def unregisterProducer(self) -> None:
        """Unregister the producer from the transport."""
        if self._producer_registered:
            self._producer_registered = False
            self.transport.unregisterProducer()


class WebSocketServerProtocol(WebSocketAdapterProtocol, protocol.WebSocketServerProtocol):
    """Base class for Twisted WebSocket server protocols."""


class WebSocketClientProtocol(WebSocketAdapterProtocol, protocol.WebSocketClientProtocol):
    """Base class for Twisted WebSocket client protocols."""

    def startTLS(self) -> None:
        """Start TLS on the connection (``wss://`` through an HTTP proxy)."""
        self.transport.startTLS(self.factory.contextFactory)


class WebSocketAdapterFactory:
    """Holds the reactor: the one given, else the global one."""

    reactor: Any

    def _set_reactor(self, reactor: Any) -> None:
        self.reactor = reactor if reactor is not None else _global_reactor()


class WebSocketServerFactory(
    WebSocketAdapterFactory,
    protocol.WebSocketServerFactory,
    twisted_protocol.ServerFactory,
):
    """Twisted server factory: ``reactor.listenTCP(port, factory)`` or ``listenWS(factory)``.
    Takes AutobahnPython's arguments plus ``reactor=``."""

    protocol = WebSocketServerProtocol

    def __init__(self, *args: Any, reactor: Any = None, **kwargs: Any) -> None:
        self._set_reactor(reactor)
        protocol.WebSocketServerFactory.__init__(self, *args, **kwargs)


class WebSocketClientFactory(
    WebSocketAdapterFactory,
    protocol.WebSocketClientFactory,
    twisted_protocol.ClientFactory,
):
    """Twisted client factory: ``connectWS(factory)`` or ``reactor.connectTCP(host, port,
    factory)``. Takes AutobahnPython's arguments plus ``reactor=``."""

    protocol = WebSocketClientProtocol
    #: TLS options for ``wss://`` through a proxy (TLS starts after CONNECT).
    contextFactory: Any = None

    def __init__(self, *args: Any, reactor: Any = None, **kwargs: Any) -> None:
        self._set_reactor(reactor)
        protocol.WebSocketClientFactory.__init__(self, *args, **kwargs)
        if self.isSecure and self.proxy is not None:
            from twisted.internet.ssl import optionsForClientTLS

            self.contextFactory = optionsForClientTLS(self.host)


# ---------------------------------------------------------------------------
# Any stream protocol over WebSocket
# ---------------------------------------------------------------------------


@implementer(ITransport)
class WrappingWebSocketAdapter(protocol.WebSocketProtocol):
    """Carries a Twisted stream protocol over WebSocket, as websockify does.

    The ``binary`` subprotocol (or the factory's extra one) sends the bytes as
    binary messages, ``base64`` as base64 text messages. To the wrapped
    protocol this object is the transport (``ITransport``).
    """

    _proto: Any
    _binaryMode = True
    _wrapped_open = False

    def onConnect(self, requestOrResponse: ConnectionRequest | ConnectionResponse) -> Any:
        subprotocols = self.factory._subprotocols
        if isinstance(requestOrResponse, ConnectionRequest):
            for offered in requestOrResponse.protocols:
                if offered in subprotocols:
                    self._binaryMode = offered != "base64"
                    return offered
            raise ConnectionDeny(
                ConnectionDeny.NOT_ACCEPTABLE,
                f"this server only speaks {subprotocols} WebSocket subprotocols",
            )
        chosen = requestOrResponse.protocol
        if chosen not in subprotocols:
            raise ConnectionDeny(
                ConnectionDeny.NOT_ACCEPTABLE,
                f"this client only speaks {subprotocols} WebSocket subprotocols",
            )
        self._binaryMode = chosen != "base64"
        return None

    def onOpen(self) -> None:
        self._wrapped_open = True
        self._proto.makeConnection(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.state != protocol.WebSocketProtocol.STATE_OPEN:
            return
        if isBinary != self._binaryMode:
            self._fail_connection(
                protocol.WebSocketProtocol.CLOSE_STATUS_CODE_UNSUPPORTED_DATA,
                "message payload type does not match the negotiated subprotocol",
            )
            return
        if not isBinary:
            try:
                payload = b64decode(payload, validate=True)
            except binascii.Error as error:
                self._fail_connection(
                    protocol.WebSocketProtocol.CLOSE_STATUS_CODE_INVALID_PAYLOAD,
                    f"message payload base64 decoding error: {error}",
                )
                return
        self._proto.dataReceived(payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self._wrapped_open:
            self._wrapped_open = False
            error = ConnectionDone() if wasClean else ConnectionLost(reason)
            self._proto.connectionLost(Failure(error))  # type: ignore[no-untyped-call]

    # ITransport, for the wrapped protocol. Like a TCP transport's, writes
    # after the connection closed are dropped.

    def write(self, data: bytes | str) -> None:
        """Send ``data``; a ``str`` is sent UTF-8 encoded (AutobahnPython's
        wrapping examples write ``str``; AutobahnPython itself refuses it)."""
        if self.state != protocol.WebSocketProtocol.STATE_OPEN:
            return
        if isinstance(data, str):
            data = data.encode()
        if self._binaryMode:
            self.sendMessage(data, isBinary=True)
        else:
            self.sendMessage(b64encode(data), isBinary=False)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if self.state == protocol.WebSocketProtocol.STATE_OPEN:
            self.sendClose(protocol.WebSocketProtocol.CLOSE_STATUS_CODE_NORMAL)

    @property
    def disconnecting(self) -> bool:
        """True once the connection is closing (``LineReceiver`` checks it)."""
        return self.state in (
            protocol.WebSocketProtocol.STATE_CLOSING,
            protocol.WebSocketProtocol.STATE_CLOSED,
        )

    def getPeer(self) -> Any:
        return self.transport.getPeer()

    def getHost(self) -> Any:
        return self.transport.getHost()


class WrappingWebSocketServerProtocol(WrappingWebSocketAdapter, WebSocketServerProtocol):
    """Server protocol carrying a stream protocol over WebSocket."""


class WrappingWebSocketClientProtocol(WrappingWebSocketAdapter, WebSocketClientProtocol):
    """Client protocol carrying a stream protocol over WebSocket."""


def _deflate_module() -> Any:
    """``ferrobahn.websocket.compress``, or ``None`` while permessage-deflate
    is not available."""
    try:
        return importlib.import_module("ferrobahn.websocket.compress")
    except ImportError:
        return None


class _WrappingFactory:
    """What both wrapping factories share: the wrapped factory, the
    subprotocols, and building a wrapping protocol around a wrapped one.
    Mixed in before ``WebSocketServerFactory`` or ``WebSocketClientFactory``."""

    wrappingProtocol: type[WrappingWebSocketAdapter]

    def __init__(
        self,
        factory: Any,
        url: str,
        reactor: Any = None,
        enableCompression: bool = True,
        autoFragmentSize: int = 0,
        subprotocol: str | None = None,
    ) -> None:
        """``factory`` makes the stream protocols to carry; ``url`` is the
        WebSocket URL; ``subprotocol`` is spoken besides binary and base64."""
        self._factory = factory
        self._subprotocols = ["binary", "base64"] + ([subprotocol] if subprotocol else [])
        super().__init__(  # type: ignore[call-arg]
            url=url, reactor=reactor, protocols=self._subprotocols
        )
        # Play nice: fail with a closing handshake, not a TCP drop.
        self.setProtocolOptions(  # type: ignore[attr-defined]
            autoFragmentSize=autoFragmentSize, failByDrop=False
        )
        compress = _deflate_module() if enableCompression else None
        if compress is not None:
            self._enable_deflate(compress)

    def _enable_deflate(self, compress: Any) -> None:
        raise NotImplementedError

    def buildProtocol(self, addr: Any) -> Any:
        wrapped = self._factory.buildProtocol(addr)
        if wrapped is None:
            return None
        proto = self.wrappingProtocol()
        proto.factory = self
        proto._proto = wrapped
        return proto

    def startFactory(self) -> None:
        self._factory.doStart()

    def stopFactory(self) -> None:
        self._factory.doStop()


class WrappingWebSocketServerFactory(_WrappingFactory, WebSocketServerFactory):
    """Serves the stream protocols of ``factory`` over WebSocket:
    ``(factory, url, reactor=None, enableCompression=True, autoFragmentSize=0,
    subprotocol=None)``."""

    wrappingProtocol = WrappingWebSocketServerProtocol

    def _enable_deflate(self, compress: Any) -> None:
        def accept(offers: list[Any]) -> Any:
            for offer in offers:
                if isinstance(offer, compress.PerMessageDeflateOffer):
                    return compress.PerMessageDeflateOfferAccept(offer)
            return None

        self.setProtocolOptions(perMessageCompressionAccept=accept)


class WrappingWebSocketClientFactory(_WrappingFactory, WebSocketClientFactory):
    """Connects the stream protocols of ``factory`` over WebSocket (same
    arguments as the server's)."""

    wrappingProtocol = WrappingWebSocketClientProtocol

    def _enable_deflate(self, compress: Any) -> None:
        def accept(response: Any) -> Any:
            if isinstance(response, compress.PerMessageDeflateResponse):
                return compress.PerMessageDeflateResponseAccept(response)
            return None

        self.setProtocolOptions(
            perMessageCompressionOffers=[compress.PerMessageDeflateOffer()],
            perMessageCompressionAccept=accept,
        )


# ---------------------------------------------------------------------------
# Connecting and listening
# ---------------------------------------------------------------------------


def connectWS(
    factory: WebSocketClientFactory,
    contextFactory: Any = None,
    timeout: float = 30,
    bindAddress: tuple[str, int] | None = None,
) -> Any:
    """Connect to the server of ``factory.url`` (through ``factory.proxy`` if
    set); returns the ``IConnector``. For ``wss://`` without ``contextFactory``
    the server's certificate and host name are verified against the system's
    trust roots (``optionsForClientTLS``; AutobahnPython verifies nothing)."""
    reactor = getattr(factory, "reactor", None) or _global_reactor()
    if factory.isSecure and contextFactory is None:
        from twisted.internet.ssl import optionsForClientTLS

        contextFactory = optionsForClientTLS(factory.host)
    if factory.proxy is not None:
        factory.contextFactory = contextFactory
        return reactor.connectTCP(
            factory.proxy["host"], factory.proxy["port"], factory, timeout, bindAddress
        )
    if factory.isSecure:
        return reactor.connectSSL(
            factory.host, factory.port, factory, contextFactory, timeout, bindAddress
        )
    return reactor.connectTCP(factory.host, factory.port, factory, timeout, bindAddress)


def listenWS(
    factory: WebSocketServerFactory,
    contextFactory: Any = None,
    backlog: int = 50,
    interface: str = "",
) -> Any:
    """Listen on ``factory.port`` (TLS with ``contextFactory`` for a ``wss://``
    URL, which then is required); returns the ``IListeningPort``."""
    reactor = getattr(factory, "reactor", None) or _global_reactor()
    if factory.isSecure:
        if contextFactory is None:
            raise ValueError("Secure WebSocket listen requested, but no SSL context factory given")
        return reactor.listenSSL(factory.port, factory, contextFactory, backlog, interface)
    return reactor.listenTCP(factory.port, factory, backlog, interface)


# ---------------------------------------------------------------------------
# Client agent
# ---------------------------------------------------------------------------

_AGENT_OPTIONS = frozenset(["origin", "protocols", "useragent", "headers", "proxy"])


def create_client_agent(reactor: Any) -> IWebSocketClientAgent:
    """An agent whose ``open(url, options, protocol_class=None)`` returns a
    Deferred that fires with the protocol once the handshake completed, or
    fails if the connection could not be opened."""
    return _TwistedWebSocketClientAgent(reactor)


class _TwistedWebSocketClientAgent(IWebSocketClientAgent):
    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor

    def open(
        self,
        transport_config: str | dict[str, Any],
        options: dict[str, Any],
        protocol_class: type | None = None,
    ) -> Deferred[Any]:
        if not isinstance(transport_config, str) or not transport_config.startswith(
            ("ws://", "wss://")
        ):
            raise ValueError("'transport_config' must be a string starting with ws:// or wss://")
        unknown = set(options) - _AGENT_OPTIONS
        if unknown:
            raise ValueError(f"'options' may not contain {sorted(unknown)}")
        factory = WebSocketClientFactory(transport_config, reactor=self._reactor, **options)
        if protocol_class is not None:
            factory.protocol = protocol_class  # type: ignore[assignment]
        result: Deferred[Any] = Deferred()

        def opened(_: Any, proto: Any) -> None:
            if not result.called:
                result.callback(proto)

        def closed(proto: Any) -> None:
            if not result.called:
                reason = proto.wasNotCleanReason or "connection closed"
                result.errback(ConnectionError(f"WebSocket connection not opened: {reason}"))

        def connected(proto: Any) -> None:
            proto.is_open.addCallback(opened, proto)
            proto.is_closed.addCallback(closed)

        def not_connected(failure: Failure) -> None:
            if not result.called:
                result.errback(failure)

        self._endpoint(factory).connect(factory).addCallbacks(connected, not_connected)
        return result

    def _endpoint(self, factory: WebSocketClientFactory) -> Any:
        from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

        if factory.proxy is not None:
            return HostnameEndpoint(self._reactor, factory.proxy["host"], factory.proxy["port"])
        endpoint: Any = HostnameEndpoint(self._reactor, factory.host, int(factory.port))
        if factory.isSecure:
            from twisted.internet.ssl import optionsForClientTLS

            return wrapClientTLS(optionsForClientTLS(factory.host), endpoint)
        return endpoint
