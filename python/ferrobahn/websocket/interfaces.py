"""Abstract interfaces of channels, factories and agents (``autobahn.websocket.interfaces``).

These ABCs document the callbacks a user overrides and the methods a user calls. The
concrete protocol and factory classes in ``ferrobahn.websocket.protocol`` implement them;
they are registered as virtual subclasses there rather than inheriting, as in
AutobahnPython, so ``isinstance(proto, IWebSocketChannel)`` holds.

Callbacks marked "may be a coroutine" can be written with ``async def``; the framework
adapter schedules the result.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Optional, Union

from ferrobahn.websocket.types import (
    ConnectingRequest,
    ConnectionRequest,
    ConnectionResponse,
    TransportDetails,
)

__all__ = (
    "IWebSocketChannel",
    "IWebSocketChannelFrameApi",
    "IWebSocketChannelStreamingApi",
    "IWebSocketClientAgent",
    "IWebSocketClientChannelFactory",
    "IWebSocketServerChannelFactory",
)

ConnectResult = Union[None, str, tuple[Optional[str], dict[str, Any]]]
"""What a server's ``onConnect`` returns: no subprotocol, one, or one plus extra headers."""


class IWebSocketClientAgent(abc.ABC):
    """Something that opens client WebSocket connections on request and hands back protocols."""

    @abc.abstractmethod
    def open(
        self,
        transport_config: str | dict[str, Any],
        options: dict[str, Any],
        protocol_class: type | None = None,
    ) -> Awaitable[Any]:
        """Connect to ``transport_config`` (a ``ws://`` or ``wss://`` URL) and run the handshake.

        ``options`` may carry ``origin``, ``protocols``, ``useragent``, ``headers`` and
        ``proxy``. ``protocol_class`` is the client protocol class to instantiate. The
        returned future resolves with the protocol once the connection is open, or fails
        with the reason it could not be opened.
        """


class IWebSocketServerChannelFactory(abc.ABC):
    """A server factory: holds the session parameters and options for new server connections.

    Constructed as ``Factory(url=None, protocols=None, server=..., headers=None,
    externalPort=None)``; each connection's protocol copies the options at connect time.
    """

    @abc.abstractmethod
    def setSessionParameters(
        self,
        url: str | None = None,
        protocols: Sequence[str] | None = None,
        server: str | None = None,
        headers: dict[str, Any] | None = None,
        externalPort: int | None = None,
    ) -> None:
        """Set the served URL and handshake parameters.

        ``url`` is the URL the server is reached under (``ws://localhost`` when None, e.g.
        for Unix sockets; it must not have a query). ``protocols`` lists subprotocols the
        server speaks (the choice itself is made by ``onConnect``). ``server`` is the
        ``Server:`` header (None omits it), ``headers`` extra response headers (a list
        value gives repeated lines), ``externalPort`` the port clients see when the server
        is behind a forwarder (checked against the Host header).
        """

    @abc.abstractmethod
    def setProtocolOptions(
        self,
        versions: Sequence[int] | None = None,
        webStatus: bool | None = None,
        utf8validateIncoming: bool | None = None,
        maskServerFrames: bool | None = None,
        requireMaskedClientFrames: bool | None = None,
        applyMask: bool | None = None,
        maxFramePayloadSize: int | None = None,
        maxMessagePayloadSize: int | None = None,
        autoFragmentSize: int | None = None,
        failByDrop: bool | None = None,
        echoCloseCodeReason: bool | None = None,
        openHandshakeTimeout: float | None = None,
        closeHandshakeTimeout: float | None = None,
        tcpNoDelay: bool | None = None,
        perMessageCompressionAccept: Callable[[list[Any]], Any] | None = None,
        autoPingInterval: float | None = None,
        autoPingTimeout: float | None = None,
        autoPingSize: int | None = None,
        autoPingRestartOnAnyTraffic: bool | None = None,
        serveFlashSocketPolicy: bool | None = None,
        flashSocketPolicy: str | None = None,
        allowedOrigins: Sequence[str] | None = None,
        allowNullOrigin: bool = False,
        maxConnections: int | None = None,
        trustXForwardedFor: int = 0,
    ) -> None:
        """Set options for connections accepted from now on; None leaves an option unchanged.

        - ``versions``: accepted wire versions (default ``[8, 13]``).
        - ``webStatus``: answer a plain HTTP GET with a status page (default True).
        - ``utf8validateIncoming``: check received text is UTF-8 (default True).
        - ``maskServerFrames`` (default False) / ``requireMaskedClientFrames`` (default
          True) / ``applyMask`` (default True): masking rules, the latter two as testing aids.
        - ``maxFramePayloadSize`` / ``maxMessagePayloadSize``: receive limits in bytes,
          0 for none (default 0); exceeding one closes with 1009.
        - ``autoFragmentSize``: split sent messages into frames of at most this size
          (default 0, no splitting).
        - ``failByDrop``: on a protocol violation drop TCP instead of closing (default True).
        - ``echoCloseCodeReason``: answer a close with the peer's code and reason instead of
          1000 (default False).
        - ``openHandshakeTimeout`` (default 5 s) / ``closeHandshakeTimeout`` (default 1 s).
        - ``tcpNoDelay``: disable Nagle's algorithm (default True).
        - ``perMessageCompressionAccept``: given the client's compression offers, return an
          accept object or None (default: no compression).
        - ``autoPingInterval`` / ``autoPingTimeout`` (seconds, 0 off) / ``autoPingSize``
          (12..125 bytes) / ``autoPingRestartOnAnyTraffic`` (default True): keep-alive pings.
        - ``serveFlashSocketPolicy`` / ``flashSocketPolicy``: legacy Flash policy file.
        - ``allowedOrigins``: Origin allow-list with ``*`` wildcards (default ``["*"]``);
          ``allowNullOrigin``: accept a ``null`` Origin.
        - ``maxConnections``: refuse handshakes with 503 beyond this many connections (0 off).
        - ``trustXForwardedFor``: number of trusted proxies adding ``X-Forwarded-For``.
        """

    @abc.abstractmethod
    def resetProtocolOptions(self) -> None:
        """Restore every protocol option to its default."""


class IWebSocketClientChannelFactory(abc.ABC):
    """A client factory: holds the session parameters and options for new client connections.

    Constructed as ``Factory(url=None, origin=None, protocols=None, useragent=...,
    headers=None, proxy=None)``; set the URL here or with ``setSessionParameters`` before
    connecting.
    """

    @abc.abstractmethod
    def setSessionParameters(
        self,
        url: str | None = None,
        origin: str | None = None,
        protocols: Sequence[str] | None = None,
        useragent: str | None = None,
        headers: dict[str, str] | None = None,
        proxy: dict[str, Any] | None = None,
    ) -> None:
        """Set the URL to connect to and the handshake parameters.

        ``url`` may carry a query (kept in the request target); ``ws://localhost`` when
        None. ``origin`` is sent as the Origin header, ``protocols`` are the subprotocols
        offered, ``useragent`` the User-Agent header, ``headers`` extra request headers and
        ``proxy`` a ``{"host": ..., "port": ...}`` HTTP proxy to tunnel through.
        """

    @abc.abstractmethod
    def setProtocolOptions(
        self,
        version: int | None = None,
        utf8validateIncoming: bool | None = None,
        acceptMaskedServerFrames: bool | None = None,
        maskClientFrames: bool | None = None,
        applyMask: bool | None = None,
        maxFramePayloadSize: int | None = None,
        maxMessagePayloadSize: int | None = None,
        autoFragmentSize: int | None = None,
        failByDrop: bool | None = None,
        echoCloseCodeReason: bool | None = None,
        serverConnectionDropTimeout: float | None = None,
        openHandshakeTimeout: float | None = None,
        closeHandshakeTimeout: float | None = None,
        tcpNoDelay: bool | None = None,
        perMessageCompressionOffers: list[Any] | None = None,
        perMessageCompressionAccept: Callable[[Any], Any] | None = None,
        autoPingInterval: float | None = None,
        autoPingTimeout: float | None = None,
        autoPingSize: int | None = None,
        autoPingRestartOnAnyTraffic: bool | None = None,
    ) -> None:
        """Set options for connections made from now on; None leaves an option unchanged.

        - ``version``: spec version to speak (default 18, i.e. RFC 6455).
        - ``utf8validateIncoming`` (default True), ``applyMask`` (default True).
        - ``acceptMaskedServerFrames`` (default False) / ``maskClientFrames`` (default True).
        - ``maxFramePayloadSize`` / ``maxMessagePayloadSize``: receive limits, 0 for none.
        - ``autoFragmentSize``, ``failByDrop``, ``echoCloseCodeReason``: as on the server.
        - ``serverConnectionDropTimeout``: after a clean close, how long to wait for the
          server to drop TCP before aborting (default 1 s).
        - ``openHandshakeTimeout`` (default 5 s) / ``closeHandshakeTimeout`` (default 1 s).
        - ``tcpNoDelay``: disable Nagle's algorithm (default True).
        - ``perMessageCompressionOffers``: compression offers to send, in order (default
          none); ``perMessageCompressionAccept``: given the server's response, return an
          accept object, or None to fail the handshake.
        - ``autoPingInterval`` / ``autoPingTimeout`` / ``autoPingSize`` /
          ``autoPingRestartOnAnyTraffic``: keep-alive pings, as on the server.
        """

    @abc.abstractmethod
    def resetProtocolOptions(self) -> None:
        """Restore every protocol option to its default."""


class IWebSocketChannel(abc.ABC):
    """A message-based WebSocket connection: the callbacks users override and the calls they make.

    Opening: ``onConnecting`` (client; transport up, before the HTTP handshake), then
    ``onConnect`` (handshake received), then ``onOpen`` (messages may flow). Messages:
    ``sendMessage`` / ``onMessage``. Keep-alive: ``sendPing`` / ``onPing`` /
    ``sendPong`` / ``onPong``. Closing: ``sendClose``, ``dropConnection``, ``onClose``.
    """

    @abc.abstractmethod
    def onConnecting(
        self, transport_details: TransportDetails
    ) -> ConnectingRequest | Awaitable[ConnectingRequest | None] | None:
        """Client only: the transport is connected and the opening handshake is about to start.

        Return a :class:`ConnectingRequest` to set this connection's Host, port, resource,
        headers, user agent, origin or subprotocols, or None for the factory's values.
        May be a coroutine. Raising drops the connection.
        """

    @abc.abstractmethod
    def onConnect(
        self, request_or_response: ConnectionRequest | ConnectionResponse
    ) -> ConnectResult | Awaitable[ConnectResult]:
        """The peer's opening handshake arrived.

        On a server, ``request_or_response`` is a :class:`ConnectionRequest`: return None
        to accept without a subprotocol, one of ``request.protocols`` to accept with it, or
        ``(subprotocol, headers)`` to add response headers; raise
        :class:`ConnectionDeny` to refuse with an HTTP status. On a client it is a
        :class:`ConnectionResponse` and the return value is ignored; raising fails the
        connection. May be a coroutine.
        """

    @abc.abstractmethod
    def onOpen(self) -> Awaitable[None] | None:
        """The handshake completed; from now on messages can be sent and received.

        May be a coroutine.
        """

    @abc.abstractmethod
    def sendMessage(
        self,
        payload: bytes,
        isBinary: bool = False,
        fragmentSize: int | None = None,
        sync: bool = False,
        doNotCompress: bool = False,
    ) -> None:
        """Send one message: ``payload`` bytes, UTF-8 text unless ``isBinary``.

        ``fragmentSize`` overrides the factory's ``autoFragmentSize`` for this message;
        ``doNotCompress`` sends it uncompressed even when compression was negotiated;
        ``sync`` (testing only) pushes bytes out immediately. Raises
        :class:`~ferrobahn.exception.Disconnected` unless the connection is open and
        :class:`~ferrobahn.exception.PayloadExceededError` above ``maxMessagePayloadSize``.
        """

    @abc.abstractmethod
    def onMessage(
        self,
        payload: bytes,
        isBinary: bool,
    ) -> Awaitable[None] | None:
        """A whole message arrived: ``payload`` is bytes (validated UTF-8 text unless ``isBinary``).

        May be a coroutine.
        """

    @abc.abstractmethod
    def sendPing(self, payload: bytes | None = None) -> None:
        """Send a ping carrying at most 125 bytes; the peer should answer with a pong.

        Does nothing unless the connection is open. A peer with several pings outstanding
        may answer only the latest.
        """

    @abc.abstractmethod
    def onPing(self, payload: bytes) -> None:
        """A ping arrived. The default answers with a pong carrying the same payload;
        overriding without calling the base method turns that answer off."""

    @abc.abstractmethod
    def sendPong(self, payload: bytes | None = None) -> None:
        """Send a pong of at most 125 bytes, solicited or not (an unsolicited pong is a
        one-way heartbeat). Does nothing unless the connection is open."""

    @abc.abstractmethod
    def onPong(self, payload: bytes) -> None:
        """A pong arrived (the default does nothing)."""

    @abc.abstractmethod
    def sendClose(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake.

        ``code`` is 1000 or an application code 3000-4999; a ``reason`` needs a ``code``
        and is cut to 123 UTF-8 bytes. Does nothing while already closing or closed.
        """

    @abc.abstractmethod
    def onClose(
        self,
        wasClean: bool,
        code: int | None,
        reason: str | None,
    ) -> Awaitable[None] | None:
        """The connection is gone; called once per connection, also after a failed handshake.

        ``wasClean`` tells whether the closing handshake completed. ``code`` and ``reason``
        are the peer's (either may be None); after an unclean close ``code`` is 1006 and
        ``reason`` says what happened. May be a coroutine.
        """

    @abc.abstractmethod
    def dropConnection(self, abort: bool = False) -> None:
        """Close the transport now, without a closing handshake.

        ``abort=True`` discards unsent data (TCP reset); otherwise buffered data is
        flushed first.
        """


class IWebSocketChannelFrameApi(IWebSocketChannel):
    """Frame-level receiving and sending, for messages too large or too slow to hold whole.

    Receiving: ``onMessageBegin`` → ``onMessageFrame`` per frame → ``onMessageEnd``. The
    default implementations assemble the message and call ``onMessage``; overriding them
    without calling the base methods replaces that. Sending: ``beginMessage`` →
    ``sendMessageFrame`` per frame → ``endMessage``.
    """

    @abc.abstractmethod
    def onMessageBegin(self, isBinary: bool) -> None:
        """A new message starts (binary or UTF-8 text)."""

    @abc.abstractmethod
    def onMessageFrame(self, payload: list[bytes]) -> None:
        """One whole frame of the current message arrived, as a list of byte chunks."""

    @abc.abstractmethod
    def onMessageEnd(self) -> None:
        """The current message's last frame arrived."""

    @abc.abstractmethod
    def beginMessage(
        self,
        isBinary: bool = False,
        doNotCompress: bool = False,
    ) -> None:
        """Start sending a message; frames follow with ``sendMessageFrame``.

        ``doNotCompress`` keeps this message uncompressed when compression was negotiated.
        """

    @abc.abstractmethod
    def sendMessageFrame(self, payload: bytes, sync: bool = False) -> None:
        """Send one complete frame of the message begun with ``beginMessage``.

        Text must already be UTF-8 encoded. ``sync`` is a testing aid that pushes bytes
        out immediately.
        """

    @abc.abstractmethod
    def endMessage(self) -> None:
        """Finish the message begun with ``beginMessage``; a new one must be begun next."""


class IWebSocketChannelStreamingApi(IWebSocketChannelFrameApi):
    """Streaming within frames: payload handed over in pieces as it arrives or is produced.

    Receiving: ``onMessageFrameBegin(length)`` → ``onMessageFrameData`` per piece →
    ``onMessageFrameEnd``. Sending: ``beginMessageFrame(length)`` then
    ``sendMessageFrameData`` until ``length`` bytes went out (there is no explicit end).
    """

    @abc.abstractmethod
    def onMessageFrameBegin(self, length: int) -> None:
        """A frame of ``length`` payload bytes (on the wire) starts.

        The default prepares to collect the frame and enforces the size limits.
        """

    @abc.abstractmethod
    def onMessageFrameData(self, payload: bytes) -> None:
        """A piece of the current frame's payload arrived (unmasked, and decompressed if
        compression is on); the default collects it."""

    @abc.abstractmethod
    def onMessageFrameEnd(self) -> None:
        """The current frame is complete; the default hands the collected pieces to
        ``onMessageFrame``."""

    @abc.abstractmethod
    def beginMessageFrame(self, length: int) -> None:
        """Start sending a frame of exactly ``length`` bytes (0 to 2**63 - 1) of the message."""

    @abc.abstractmethod
    def sendMessageFrameData(self, payload: bytes, sync: bool = False) -> int:
        """Send payload of the frame begun with ``beginMessageFrame``.

        Returns the number of bytes the frame still needs (> 0), 0 when the frame is
        exactly complete, or minus the number of surplus bytes of ``payload`` that did
        not fit and were not sent (< 0). The frame ends by itself once complete.
        """
