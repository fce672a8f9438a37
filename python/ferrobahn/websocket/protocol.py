"""The WebSocket protocol, framework-agnostic: AutobahnPython's class hierarchy.

Wire work (HTTP head parsing, framing, masking, UTF-8, close payloads) is done
by the Rust core, ``ferrobahn._core``: one call per TCP read on the way in, one
call per message on the way out. This module holds the policy: states, options,
callbacks, the opening and closing handshakes and the timers.

A framework adapter (``ferrobahn.asyncio.websocket``, later Twisted) mixes in
and provides the few primitives listed in ``_Adapter``: writing and closing the
transport, timers, futures, and running what user callbacks return.
"""

from __future__ import annotations

import copy
import os
import struct
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from ferrobahn import __version__, _core
from ferrobahn._core import (
    EV_CLOSE,
    EV_ERROR,
    EV_FRAME_BEGIN,
    EV_FRAME_DATA,
    EV_FRAME_END,
    EV_MESSAGE,
    EV_MESSAGE_BEGIN,
    EV_MESSAGE_END,
    EV_PING,
    EV_PONG,
    HandshakeError,
)
from ferrobahn.exception import (
    Disconnected,
    InvalidTypeError,
    InvalidValueError,
    PayloadExceededError,
)
from ferrobahn.util import make_logger
from ferrobahn.websocket.advanced import FrameApi, PreparedMessage, overridden_frame_callbacks
from ferrobahn.websocket.compress import (
    PerMessageCompressError,
    PerMessageDeflate,
    negotiate_client,
    negotiate_server,
    offers_header,
)
from ferrobahn.websocket.types import (
    ConnectingRequest,
    ConnectionAccept,
    ConnectionDeny,
    ConnectionRequest,
    ConnectionResponse,
    TransportDetails,
)
from ferrobahn.websocket.util import origin_allowed, parse_url, wildcards2patterns

__all__ = [
    "WebSocketProtocol",
    "WebSocketServerProtocol",
    "WebSocketClientProtocol",
    "WebSocketFactory",
    "WebSocketServerFactory",
    "WebSocketClientFactory",
]

#: Data a peer may send before its opening handshake is answered (pipelined
#: frames while an asynchronous ``onConnect`` runs); more fails the connection.
MAX_EARLY_DATA = 1 << 20

#: Default size limits: AutobahnPython has none. 16 MiB is the smallest that
#: passes the Autobahn testsuite's 9.x cases; 0 still means "no limit".
DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024

SERVER_IDENT = f"ferrobahn/{__version__}"

# Hot-path aliases: module globals are found faster than class attributes.
_STATE_OPEN = 3
_STATE_CLOSED = 0
_encode_message = _core.encode_message
_encode_frame_header = _core.encode_frame_header

#: Unmasked messages at least this large go to the transport as a header and
#: the caller's payload object, uncopied (``_write_parts``). Below it one
#: buffer costs no more than a sequence of two. Measured on uvloop (echo,
#: medians of 15 runs): 64 KiB unchanged, 1 MiB 7% less server CPU.
_WRITE_APART_MIN = 64 * 1024


class _DiscardInput:
    """Stands in for the parser once the connection failed: RFC 6455 §7.1.7
    forbids processing anything the peer sends after that."""

    done = True

    @staticmethod
    def feed(data: bytes) -> list[Any]:
        return []


_DISCARD = _DiscardInput()


def _header_pairs(headers: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Header dicts as AutobahnPython takes them: a list or tuple value
    repeats the header line."""
    pairs: list[tuple[str, str]] = []
    for name, value in (headers or {}).items():
        if isinstance(value, (list, tuple)):
            pairs.extend((name, str(v)) for v in value)
        else:
            pairs.append((name, str(value)))
    return pairs


def _header_dict(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names, repeated headers joined with ", " (AutobahnPython's
    ``http_headers``)."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _extension_offers(
    parsed: list[tuple[str, list[tuple[str, str | None]]]],
) -> list[tuple[str, dict[str, list[Any]]]]:
    """``(name, {param: [values]})``, the shape ``ConnectionRequest.extensions``
    has in AutobahnPython (a parameter without a value is ``True``)."""
    offers = []
    for name, params in parsed:
        table: dict[str, list[Any]] = {}
        for key, value in params:
            table.setdefault(key, []).append(True if value is None else value)
        offers.append((name, table))
    return offers


_options_by_class: dict[type, tuple[str, ...]] = {}


def _factory_options(cls: type[WebSocketProtocol]) -> tuple[str, ...]:
    """The options a connection of ``cls`` takes from its factory: all of its
    role's, except those the class itself sets (AutobahnPython lets a protocol
    class or instance override a factory option). Computed once per class."""
    names = _options_by_class.get(cls)
    if names is None:
        names = _options_by_class[cls] = tuple(n for n in cls.CONFIG_ATTRS if not hasattr(cls, n))
    return names


def _split_host(host: str) -> tuple[str, int | None]:
    """``Host`` header into name and port (``None`` when absent); IPv6
    literals keep their brackets."""
    name, colon, port = host.rpartition(":")
    if not colon or name.endswith(":") or "]" in port or not port.isdigit():
        return host, None
    return name, int(port)


class WebSocketProtocol(FrameApi):
    """State, options and callbacks shared by both roles."""

    is_server: bool = False
    #: The option names copied from the factory: set per role.
    CONFIG_ATTRS: list[str] = []

    STATE_CLOSED = 0
    STATE_CONNECTING = 1
    STATE_CLOSING = 2
    STATE_OPEN = 3
    STATE_PROXY_CONNECTING = 4

    SEND_STATE_GROUND = 0
    SEND_STATE_MESSAGE_BEGIN = 1
    SEND_STATE_INSIDE_MESSAGE = 2
    SEND_STATE_INSIDE_MESSAGE_FRAME = 3

    MESSAGE_TYPE_TEXT = 1
    MESSAGE_TYPE_BINARY = 2

    CLOSE_STATUS_CODE_NORMAL = 1000
    CLOSE_STATUS_CODE_GOING_AWAY = 1001
    CLOSE_STATUS_CODE_PROTOCOL_ERROR = 1002
    CLOSE_STATUS_CODE_UNSUPPORTED_DATA = 1003
    CLOSE_STATUS_CODE_RESERVED1 = 1004
    CLOSE_STATUS_CODE_NULL = 1005
    CLOSE_STATUS_CODE_ABNORMAL_CLOSE = 1006
    CLOSE_STATUS_CODE_INVALID_PAYLOAD = 1007
    CLOSE_STATUS_CODE_POLICY_VIOLATION = 1008
    CLOSE_STATUS_CODE_MESSAGE_TOO_BIG = 1009
    CLOSE_STATUS_CODE_MANDATORY_EXTENSION = 1010
    CLOSE_STATUS_CODE_INTERNAL_ERROR = 1011
    CLOSE_STATUS_CODE_SERVICE_RESTART = 1012
    CLOSE_STATUS_CODE_TRY_AGAIN_LATER = 1013
    CLOSE_STATUS_CODE_UNASSIGNED1 = 1014
    CLOSE_STATUS_CODE_TLS_HANDSHAKE_FAILED = 1015

    #: Codes accepted in a peer's close frame, besides 3000-4999. 1014 is
    #: registered with IANA (bad gateway) and accepted, unlike AutobahnPython.
    CLOSE_STATUS_CODES_ALLOWED = [
        1000,
        1001,
        1002,
        1003,
        1007,
        1008,
        1009,
        1010,
        1011,
        1012,
        1013,
        1014,
    ]

    SUPPORTED_SPEC_VERSIONS = [18]
    SUPPORTED_PROTOCOL_VERSIONS = [13]
    SPEC_TO_PROTOCOL_VERSION = {18: 13}
    PROTOCOL_TO_SPEC_VERSION = {13: 18}
    DEFAULT_SPEC_VERSION = 18

    CONFIG_ATTRS_COMMON = [
        "logOctets",
        "logFrames",
        "trackTimings",
        "utf8validateIncoming",
        "applyMask",
        "maxFramePayloadSize",
        "maxMessagePayloadSize",
        "autoFragmentSize",
        "failByDrop",
        "echoCloseCodeReason",
        "openHandshakeTimeout",
        "closeHandshakeTimeout",
        "tcpNoDelay",
        "autoPingInterval",
        "autoPingTimeout",
        "autoPingSize",
        "autoPingRestartOnAnyTraffic",
    ]
    CONFIG_ATTRS_SERVER = [
        "versions",
        "webStatus",
        "requireMaskedClientFrames",
        "maskServerFrames",
        "perMessageCompressionAccept",
        "serveFlashSocketPolicy",
        "flashSocketPolicy",
        "allowedOrigins",
        "allowedOriginsPatterns",
        "allowNullOrigin",
        "maxConnections",
        "trustXForwardedFor",
    ]
    CONFIG_ATTRS_CLIENT = [
        "version",
        "acceptMaskedServerFrames",
        "maskClientFrames",
        "serverConnectionDropTimeout",
        "perMessageCompressionOffers",
        "perMessageCompressionAccept",
    ]

    log = make_logger()

    # Set by the factory or the adapter.
    factory: Any = None
    transport: Any = None
    peer: str = "unknown"

    wasNotCleanReason: str | None
    autoPingTimeoutCall: Any
    _head: Any

    # Options, copied from the factory at connect time (see _connectionMade).
    utf8validateIncoming: bool
    applyMask: bool
    maxFramePayloadSize: int
    maxMessagePayloadSize: int
    autoFragmentSize: int
    failByDrop: bool
    echoCloseCodeReason: bool
    openHandshakeTimeout: float
    closeHandshakeTimeout: float
    autoPingInterval: float
    autoPingTimeout: float
    autoPingSize: int
    autoPingRestartOnAnyTraffic: bool
    perMessageCompressionAccept: Callable[[Any], Any]

    # ---------------------------------------------------------------- adapter
    # Provided by the framework adapter.

    def _closeConnection(self, abort: bool = False) -> None:
        raise NotImplementedError

    def _half_close(self) -> bool:
        """Close the sending side once pending data is written and keep
        receiving; ``False`` when the transport cannot (nothing was done)."""
        return False

    def _call_later(self, delay: float, fn: Callable[[], None]) -> Any:
        raise NotImplementedError

    def _write_parts(self, parts: tuple[bytes, ...]) -> None:
        """Write ``parts`` in order, without joining them where the transport
        can (a writev of the caller's buffers)."""
        raise NotImplementedError

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Flow control for senders (Twisted's producer API): a push producer
        (``streaming``) is paused while the transport's buffer is full; a
        pull producer is asked for each next piece."""
        raise NotImplementedError

    def unregisterProducer(self) -> None:
        pass

    def _create_future(self) -> Any:
        raise NotImplementedError

    def _resolve_future(self, future: Any, value: Any) -> None:
        raise NotImplementedError

    def _run_result(self, result: Any, what: str) -> None:
        """Run what a callback returned when it is a coroutine or future;
        a failure fails the connection as an exception raised would."""
        raise NotImplementedError

    def _when_ready(
        self,
        result: Any,
        on_value: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """Call ``on_value`` with ``result``, awaiting it first if it is awaitable."""
        raise NotImplementedError

    # -------------------------------------------------------------- callbacks

    def onOpen(self) -> Any:
        pass

    def onMessage(self, payload: bytes, isBinary: bool) -> Any:
        pass

    def onPing(self, payload: bytes) -> Any:
        if self.state == WebSocketProtocol.STATE_OPEN:
            self.sendPong(payload)

    def onPong(self, payload: bytes) -> Any:
        pass

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> Any:
        pass

    def onAutoPong(
        self, ping_sent: int, ping_seq: int, pong_received: int, pong_rtt: float, payload: bytes
    ) -> None:
        pass

    def onAutoPingTimeout(self) -> None:
        self.autoPingTimeoutCall = None
        self._drop_unclean("WebSocket ping timeout (peer did not respond with pong in time)")

    def onOpenHandshakeTimeout(self) -> None:
        self.wasOpenHandshakeTimeout = True
        self._drop_unclean("WebSocket opening handshake timeout (peer did not finish it in time)")

    def onCloseHandshakeTimeout(self) -> None:
        self.wasCloseHandshakeTimeout = True
        self._drop_unclean("WebSocket closing handshake timeout (peer did not finish it in time)")

    def onServerConnectionDropTimeout(self) -> None:
        self.wasServerConnectionDropTimeout = True
        self._drop_unclean(
            "WebSocket closing handshake timeout (server did not drop TCP connection in time)"
        )

    def _drop_unclean(self, reason: str) -> None:
        self.wasClean = False
        self.wasNotCleanReason = reason
        self.dropConnection(abort=True)

    # ------------------------------------------------------------ observers

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Observe ``"message"`` events: ``handler(payload, is_binary=...)``
        runs after ``onMessage``."""
        if event != "message":
            raise ValueError(f'unknown event "{event}" (only "message" is supported)')
        self._message_observers.append(handler)

    def off(self, event: str | None = None, handler: Callable[..., Any] | None = None) -> None:
        if event not in (None, "message"):
            raise ValueError(f'unknown event "{event}"')
        if handler is None:
            self._message_observers.clear()
        elif handler in self._message_observers:
            self._message_observers.remove(handler)

    def fire(self, event: str, *args: Any, **kwargs: Any) -> None:
        if event == "message":
            for handler in list(self._message_observers):
                try:
                    handler(*args, **kwargs)
                except Exception:
                    self.log.failure("observer of 'message' failed: {log_failure}")

    # ------------------------------------------------------------- lifecycle

    def _connectionMade(self) -> None:
        """The transport is up: copy options, reset state, arm the opening
        handshake timeout. Called by the adapter."""
        factory = self.factory
        own = self.__dict__
        for attr in _factory_options(type(self)):
            if attr not in own:
                own[attr] = getattr(factory, attr)
        self.state = WebSocketProtocol.STATE_CONNECTING
        self.send_state = WebSocketProtocol.SEND_STATE_GROUND
        self.wasClean = False
        self.wasNotCleanReason = None
        self.closedByMe = False
        self.failedByMe = False
        self.droppedByMe = False
        self.localCloseCode: int | None = None
        self.localCloseReason: str | None = None
        self.remoteCloseCode: int | None = None
        self.remoteCloseReason: str | None = None
        self.wasOpenHandshakeTimeout = False
        self.wasCloseHandshakeTimeout = False
        self.wasServerConnectionDropTimeout = False
        self.wasMaxFramePayloadSizeExceeded = False
        self.wasMaxMessagePayloadSizeExceeded = False
        self.http_headers: dict[str, str] = {}
        self.http_request_uri: str | None = None
        self.http_request_path: str | None = None
        self.http_request_params: dict[str, list[str]] | None = None
        self.http_request_host: str | None = None
        self.websocket_version: int | None = None
        self.websocket_protocols: list[str] = []
        self.websocket_protocol_in_use: str | None = None
        self.websocket_extensions: list[Any] = []
        self.websocket_extensions_in_use: list[Any] = []
        self.websocket_origin: str | None = None
        self._message_observers: list[Callable[..., Any]] = []
        self._parser: Any = None
        self._head = _core.HeadReader()
        self._early_data: list[bytes] = []
        self._early_size = 0
        self._waiting = False  # an async onConnect/onConnecting is running
        self._mask_outgoing = False
        #: permessage-deflate in effect: the negotiated extension and our compressor.
        self._pmce: PerMessageDeflate | None = None
        self._deflater: Any = None
        self._traffic = False
        self._ping_payload: bytes | None = None
        self._ping_seq = 0
        self._ping_sent = 0
        self.openHandshakeTimeoutCall: Any = None
        self.closeHandshakeTimeoutCall: Any = None
        self.serverConnectionDropTimeoutCall: Any = None
        self.autoPingPendingCall: Any = None
        self.autoPingTimeoutCall = None
        self.is_open = self._create_future()
        self.is_closed = self._create_future()
        self.transport_details = TransportDetails(peer=self.peer, is_server=self.is_server)
        if self.openHandshakeTimeout > 0:
            self.openHandshakeTimeoutCall = self._call_later(
                self.openHandshakeTimeout, self._open_handshake_timed_out
            )

    def _dataReceived(self, data: bytes) -> None:
        """Bytes from the transport. Called by the adapter: one Rust call for
        the whole read, then its events; whole messages, the common case, are
        delivered right here."""
        parser = self._parser
        if parser is None:
            if self.state in (
                WebSocketProtocol.STATE_CONNECTING,
                WebSocketProtocol.STATE_PROXY_CONNECTING,
            ):
                self._handshake_data(data)
            return
        self._traffic = True
        # The events come flat, three items each (kind, a, b): see _core.pyi.
        items = iter(parser.feed(data))
        for kind, a, b in zip(items, items, items):
            if kind == EV_MESSAGE:
                try:
                    result = self.onMessage(a, b)
                except Exception:
                    self._callback_failed("onMessage")
                    return
                if result is not None:
                    self._run_result(result, "onMessage")
                if self._message_observers:
                    self.fire("message", a, is_binary=b)
            else:
                self._dispatch(kind, a, b)
            if self.state == _STATE_CLOSED:
                return

    def _connectionLost(self, reason: Any = None) -> None:
        """The transport is gone: fire ``onClose``, exactly once. Called by the adapter."""
        if getattr(self, "_lost", False):
            return
        self._lost = True
        for name in (
            "openHandshakeTimeoutCall",
            "closeHandshakeTimeoutCall",
            "serverConnectionDropTimeoutCall",
            "autoPingPendingCall",
            "autoPingTimeoutCall",
        ):
            self._cancel(name)
        if not self.wasClean and self.wasNotCleanReason is None:
            self.wasNotCleanReason = (
                "peer dropped the TCP connection without previous WebSocket closing handshake"
            )
        self.state = WebSocketProtocol.STATE_CLOSED
        self._parser = _DISCARD
        self._resolve_future(self.is_closed, self)
        if self.wasClean:
            args: tuple[bool, int | None, str | None] = (
                True,
                self.remoteCloseCode,
                self.remoteCloseReason,
            )
        else:
            args = (
                False,
                WebSocketProtocol.CLOSE_STATUS_CODE_ABNORMAL_CLOSE,
                f'connection was closed uncleanly ("{self.wasNotCleanReason}")',
            )
        self._call_user("onClose", self.onClose, *args)

    # ------------------------------------------------------- receive dispatch

    def _dispatch(self, kind: int, a: Any, b: Any) -> None:
        """Deliver an event other than a whole message."""
        if kind == EV_FRAME_DATA:
            self._call_user("onMessageFrameData", self.onMessageFrameData, a)
        elif kind == EV_FRAME_BEGIN:
            self._call_user("onMessageFrameBegin", self.onMessageFrameBegin, a)
        elif kind == EV_FRAME_END:
            self._call_user("onMessageFrameEnd", self.onMessageFrameEnd)
        elif kind == EV_MESSAGE_BEGIN:
            self._call_user("onMessageBegin", self.onMessageBegin, a)
        elif kind == EV_MESSAGE_END:
            self._call_user("onMessageEnd", self.onMessageEnd)
        elif kind == EV_PING:
            self._call_user("onPing", self.onPing, a)
        elif kind == EV_PONG:
            self._on_pong(a)
        elif kind == EV_CLOSE:
            self._on_close_frame(a, b)
        elif kind == EV_ERROR:
            if a == WebSocketProtocol.CLOSE_STATUS_CODE_MESSAGE_TOO_BIG:
                frame = "frame" in b
                self.wasMaxFramePayloadSizeExceeded = frame
                self.wasMaxMessagePayloadSizeExceeded = not frame
            self._fail_connection(a, b)

    def _call_user(self, what: str, callback: Callable[..., Any], *args: Any) -> None:
        """Run a user callback; an exception or failed coroutine is logged and
        fails the connection (1011) instead of silently stalling it."""
        try:
            result = callback(*args)
        except Exception:
            self._callback_failed(what)
            return
        if result is not None:
            self._run_result(result, what)

    def _callback_failed(self, what: str, failure: BaseException | None = None) -> None:
        if failure is None:
            self.log.failure("exception raised in {what}: {log_failure}", what=what)
        else:
            self.log.error("{what} failed: {error!r}", what=what, error=failure, exc_info=failure)
        if self.state not in (WebSocketProtocol.STATE_CLOSED,):
            self._fail_connection(
                WebSocketProtocol.CLOSE_STATUS_CODE_INTERNAL_ERROR, f"exception in {what}"
            )

    def _on_pong(self, payload: bytes) -> None:
        if self._ping_payload is not None and payload == self._ping_payload:
            self._ping_payload = None
            self._cancel("autoPingTimeoutCall")
            now = time.time_ns()
            self._call_user(
                "onAutoPong",
                self.onAutoPong,
                self._ping_sent,
                self._ping_seq,
                now,
                (now - self._ping_sent) / 1e6,
                payload,
            )
            self._schedule_auto_ping()
        self._call_user("onPong", self.onPong, payload)

    def _on_close_frame(self, code: int | None, reason: str) -> None:
        self.remoteCloseCode = code
        self.remoteCloseReason = reason if code is not None else None
        if self.state == WebSocketProtocol.STATE_CLOSING:
            # The peer answered our close: the closing handshake is complete.
            self._cancel("closeHandshakeTimeoutCall")
            self.wasClean = True
            self._after_close_handshake()
        elif self.state == WebSocketProtocol.STATE_OPEN:
            if self.echoCloseCodeReason and code is not None:
                reply_code, reply_reason = code, reason
            else:
                reply_code, reply_reason = WebSocketProtocol.CLOSE_STATUS_CODE_NORMAL, ""
            self._write_close(reply_code, reply_reason)
            self.state = WebSocketProtocol.STATE_CLOSING
            self.wasClean = True
            self._after_close_handshake()

    def _after_close_handshake(self) -> None:
        """RFC 6455 §7.1.1: the server closes TCP first; the client waits for
        that. Role-specific."""
        raise NotImplementedError

    def _mask_policy(self) -> tuple[str, bool]:
        """(what incoming frames must be, whether outgoing frames are masked),
        from the role's options."""
        raise NotImplementedError

    # ------------------------------------------------------------ failing

    def _fail_connection(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 §7.1.7): with ``failByDrop`` drop TCP
        at once, else send a close frame with ``code`` first. Either way the
        peer's further input is not processed."""
        if self.state == WebSocketProtocol.STATE_CLOSED:
            return
        self.failedByMe = True
        self.wasClean = False
        self.wasNotCleanReason = f"I failed the WebSocket connection: {reason}"
        was_open = self.state == WebSocketProtocol.STATE_OPEN
        self._parser = _DISCARD
        if self.failByDrop or not was_open:
            self.dropConnection(abort=True)
            return
        self._write_close(code, reason)
        self.state = WebSocketProtocol.STATE_CLOSING
        self.closedByMe = True
        self._after_close_handshake()

    def dropConnection(self, abort: bool = False) -> None:
        """Close the TCP connection without a closing handshake."""
        if self.state == WebSocketProtocol.STATE_CLOSED:
            return
        self.droppedByMe = True
        self.state = WebSocketProtocol.STATE_CLOSED
        self._parser = _DISCARD
        self._resolve_future(self.is_closed, self)
        self.unregisterProducer()
        self._closeConnection(abort)

    # ---------------------------------------------------------------- timers

    def _cancel(self, name: str) -> None:
        call = getattr(self, name, None)
        if call is not None:
            call.cancel()
            setattr(self, name, None)

    def _open_handshake_timed_out(self) -> None:
        self.openHandshakeTimeoutCall = None
        if self.state in (
            WebSocketProtocol.STATE_CONNECTING,
            WebSocketProtocol.STATE_PROXY_CONNECTING,
        ):
            self.onOpenHandshakeTimeout()

    def _close_handshake_timed_out(self) -> None:
        self.closeHandshakeTimeoutCall = None
        if self.state != WebSocketProtocol.STATE_CLOSED:
            self.onCloseHandshakeTimeout()

    def _server_drop_timed_out(self) -> None:
        self.serverConnectionDropTimeoutCall = None
        if self.state != WebSocketProtocol.STATE_CLOSED:
            self.onServerConnectionDropTimeout()

    def _schedule_auto_ping(self) -> None:
        if self.autoPingInterval > 0 and self.state == WebSocketProtocol.STATE_OPEN:
            self._traffic = False
            self.autoPingPendingCall = self._call_later(self.autoPingInterval, self._auto_ping_due)

    def _auto_ping_due(self) -> None:
        self.autoPingPendingCall = None
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        if self._traffic:
            # The peer is visibly alive: no ping needed this interval (#1327).
            self._schedule_auto_ping()
            return
        self._ping_seq += 1
        self._ping_sent = time.time_ns()
        size = max(12, min(125, int(self.autoPingSize)))
        payload = struct.pack("!QI", self._ping_sent, self._ping_seq) + os.urandom(size - 12)
        self._ping_payload = payload
        self.sendPing(payload)
        if self.autoPingTimeout > 0:
            self._traffic = False
            self.autoPingTimeoutCall = self._call_later(
                self.autoPingTimeout, self._auto_ping_timed_out
            )

    def _auto_ping_timed_out(self) -> None:
        self.autoPingTimeoutCall = None
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        if self._traffic:
            self._ping_payload = None
            self._schedule_auto_ping()
        else:
            self.onAutoPingTimeout()

    # ------------------------------------------------------------------ open

    def _open(self, leftover: bytes) -> None:
        """The opening handshake is complete: enter OPEN, call ``onOpen``,
        then process whatever arrived after the handshake."""
        self._cancel("openHandshakeTimeoutCall")
        mask, self._mask_outgoing = self._mask_policy()
        frame_callbacks = overridden_frame_callbacks(type(self))
        max_frame, max_message = self.maxFramePayloadSize, self.maxMessagePayloadSize
        if "onMessageFrameData" in frame_callbacks:
            # A streaming receiver buffers nothing: the default limits, which
            # guard buffers, do not apply; limits set explicitly still do.
            explicit = getattr(self.factory, "explicitOptions", ())
            max_frame = max_frame if "maxFramePayloadSize" in explicit else 0
            max_message = max_message if "maxMessagePayloadSize" in explicit else 0
        inflate_bits, inflate_reset = None, False
        pmce = self._pmce
        if pmce is not None:
            inflate_bits, inflate_reset = pmce.incoming()
            out_bits, out_reset = pmce.outgoing()
            self._deflater = _core.Deflater(out_bits, out_reset, mem_level=pmce.mem_level or 8)
            if pmce.max_message_size:
                max_message = min(max_message or pmce.max_message_size, pmce.max_message_size)
        parser = _core.Parser(
            mask,  # type: ignore[arg-type]
            max_frame_payload=max_frame,
            max_message_payload=max_message,
            validate_utf8=self.utf8validateIncoming,
            stream=bool(frame_callbacks),
            deflate_window_bits=inflate_bits,
            deflate_no_context_takeover=inflate_reset,
        )
        self.state = WebSocketProtocol.STATE_OPEN
        self._call_user("onOpen", self.onOpen)
        self._resolve_future(self.is_open, None)
        self._schedule_auto_ping()
        if self.state != WebSocketProtocol.STATE_OPEN:
            return  # onOpen closed or failed the connection
        self._parser = parser
        early = b"".join(self._early_data) + leftover if self._early_data else leftover
        self._early_data = []
        self._head = None
        if early:
            self._dataReceived(early)

    def _keep_early_data(self, data: bytes) -> None:
        """Hold data that arrives while an asynchronous handshake callback runs."""
        self._early_size += len(data)
        if self._early_size > MAX_EARLY_DATA:
            self.wasNotCleanReason = (
                "peer sent too much data before the opening handshake completed"
            )
            self.dropConnection(abort=True)
        else:
            self._early_data.append(data)

    def _handshake_data(self, data: bytes) -> None:
        if self._waiting:
            self._keep_early_data(data)
            return
        try:
            used = self._head.feed(data)
        except HandshakeError as error:
            self._handshake_failed(error.args[0], error.args[1])
            return
        if used is not None:
            head = self._head.head
            self._head = _core.HeadReader()
            self._process_head(head, data[used:])

    def _process_head(self, head: bytes, leftover: bytes) -> None:
        raise NotImplementedError

    def _handshake_failed(self, status: int, reason: str) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ send

    def sendMessage(
        self,
        payload: bytes,
        isBinary: bool = False,
        fragmentSize: int | None = None,
        sync: bool = False,
        doNotCompress: bool = False,
    ) -> None:
        """Send a whole message, all its frames in one write."""
        if type(payload) is not bytes:
            raise InvalidTypeError(f"payload must be bytes, not {type(payload).__name__}")
        if self.state != _STATE_OPEN or self.send_state:
            self._refuse_send()
        limit = self.maxMessagePayloadSize
        if limit and len(payload) > limit:
            raise PayloadExceededError(
                f"message payload of {len(payload)} bytes exceeds the limit of {limit} bytes"
            )
        fragment = self.autoFragmentSize if fragmentSize is None else fragmentSize
        deflater = self._deflater
        if deflater is None or doNotCompress:
            if len(payload) >= _WRITE_APART_MIN and not (self._mask_outgoing or fragment):
                opcode = 2 if isBinary else 1
                self._write_parts((_encode_frame_header(opcode, len(payload), fin=True), payload))
                return
            data = _encode_message(payload, isBinary, self._mask_outgoing, fragment or 0)
        else:
            data = deflater.encode_message(
                payload, isBinary, mask=self._mask_outgoing, fragment_size=fragment or 0
            )
        self.transport.write(data)

    def _refuse_send(self) -> None:
        if self.state != _STATE_OPEN:
            raise Disconnected("Attempt to send on a closed protocol")
        raise RuntimeError("sendMessage is invalid while a message is being sent frame by frame")

    def sendPing(self, payload: bytes | None = None) -> None:
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        payload = self._control_payload(payload)
        self.transport.write(_core.encode_frame(0x9, payload, mask=self._mask_outgoing))

    def sendPong(self, payload: bytes | None = None) -> None:
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        payload = self._control_payload(payload)
        self.transport.write(_core.encode_frame(0xA, payload, mask=self._mask_outgoing))

    @staticmethod
    def _control_payload(payload: bytes | None) -> bytes:
        if payload is None:
            return b""
        if type(payload) is not bytes:
            raise InvalidTypeError(f"payload must be bytes, not {type(payload).__name__}")
        if len(payload) > 125:
            raise InvalidValueError(
                f"invalid payload for ping/pong (payload length must be <= 125, was {len(payload)})"
            )
        return payload

    def sendClose(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake. Applications may send 1000 and
        3000-4999, as in AutobahnPython and the browser API."""
        if code is not None:
            if type(code) is not int:
                raise InvalidTypeError(f"close code must be an int, not {type(code).__name__}")
            if code != 1000 and not 3000 <= code <= 4999:
                raise InvalidValueError(f"invalid close code {code} (must be 1000 or 3000-4999)")
        if reason is not None:
            if code is None:
                raise InvalidValueError("close reason without close code")
            if type(reason) is not str:
                raise InvalidTypeError(f"close reason must be a str, not {type(reason).__name__}")
        if self.state == WebSocketProtocol.STATE_CONNECTING:
            raise RuntimeError("cannot close: the opening handshake has not completed")
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        self._write_close(code, reason or "")
        self.state = WebSocketProtocol.STATE_CLOSING
        self.closedByMe = True
        if self.closeHandshakeTimeout > 0:
            self.closeHandshakeTimeoutCall = self._call_later(
                self.closeHandshakeTimeout, self._close_handshake_timed_out
            )

    def _write_close(self, code: int | None, reason: str) -> None:
        self.localCloseCode = code
        self.localCloseReason = reason if code is not None else None
        self.transport.write(_core.encode_close(code, reason, mask=self._mask_outgoing))


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------

_STATUS_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ferrobahn</title>{refresh}</head>
<body><h1>ferrobahn {version}</h1>
<p>This is a WebSocket endpoint. Connect with a WebSocket client.</p></body></html>
"""


class WebSocketServerProtocol(WebSocketProtocol):
    """The server role: answers the opening handshake through ``onConnect``."""

    is_server = True
    CONFIG_ATTRS = WebSocketProtocol.CONFIG_ATTRS_COMMON + WebSocketProtocol.CONFIG_ATTRS_SERVER

    versions: list[int]
    webStatus: bool
    requireMaskedClientFrames: bool
    maskServerFrames: bool
    allowedOriginsPatterns: list[Any]
    trustXForwardedFor: int

    def _mask_policy(self) -> tuple[str, bool]:
        return ("required" if self.requireMaskedClientFrames else "optional"), self.maskServerFrames

    def _after_close_handshake(self) -> None:
        if self.failedByMe and self.closeHandshakeTimeout > 0 and self._half_close():
            # Lingering close: after failing with a close frame, read (and
            # discard) what the peer still sends until it closes, for
            # closeHandshakeTimeout at most. Closing a socket with unread
            # input makes the kernel reset the connection, which can destroy
            # the close frame before the peer reads it.
            self.closeHandshakeTimeoutCall = self._call_later(
                self.closeHandshakeTimeout, lambda: self.dropConnection(abort=True)
            )
            return
        self._closeConnection(abort=False)

    def onConnect(self, request: ConnectionRequest) -> Any:
        """Return ``None``, a subprotocol, or ``(subprotocol, headers)``;
        raise ``ConnectionDeny`` to refuse. May return an awaitable."""
        return None

    def _connectionMade(self) -> None:
        self.factory.countConnections += 1
        super()._connectionMade()

    def _connectionLost(self, reason: Any = None) -> None:
        if not getattr(self, "_lost", False):
            self.factory.countConnections -= 1
        super()._connectionLost(reason)

    def _handshake_failed(
        self, status: int, reason: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        """Answer with an HTTP error and close (the peer is not a WebSocket
        client we can talk to)."""
        self.wasNotCleanReason = f"WebSocket opening handshake failed [{status}]: {reason}"
        self.transport.write(_core.build_error_response(status, reason, headers or []))
        self.state = WebSocketProtocol.STATE_CLOSED
        self._parser = _DISCARD
        self._closeConnection(abort=False)

    def _process_head(self, head: bytes, leftover: bytes) -> None:
        try:
            request = _core.parse_request(head)
        except HandshakeError as error:
            self._handshake_failed(error.args[0], error.args[1])
            return
        pairs = request.headers
        self.http_request_data = head
        self.http_headers = headers = _header_dict(pairs)
        self.http_request_uri = request.target
        if self.trustXForwardedFor and "x-forwarded-for" in headers:
            hops = [h.strip() for h in headers["x-forwarded-for"].split(",")]
            self.peer = hops[-min(len(hops), self.trustXForwardedFor)]
        if "upgrade" not in headers and request.method == "GET":
            self._serve_status_page(request.target)
            return
        try:
            path, query, host, key, version, origin, protocols, extensions = request.upgrade()
        except HandshakeError as error:
            self._handshake_failed(error.args[0], error.args[1])
            return

        factory = self.factory
        if 0 < factory.maxConnections < factory.countConnections:
            self._handshake_failed(503, "maximum number of connections reached")
            return
        host_name, host_port = _split_host(host)
        if factory.externalPort and host_port is not None and host_port != factory.externalPort:
            self._handshake_failed(400, "port in Host header does not match the server's port")
            return
        if origin is not None and not origin_allowed(
            origin,
            self.allowedOriginsPatterns,
            factory.allowNullOrigin,
        ):
            self._handshake_failed(403, "origin not allowed")
            return

        self.http_request_path = path
        self.http_request_params = parse_qs(query)
        self.http_request_host = host_name
        self.websocket_version = version
        self.websocket_protocols = protocols
        self.websocket_origin = origin
        self.websocket_extensions = _extension_offers(extensions)
        request_info = ConnectionRequest(
            self.peer,
            headers,
            host_name,
            path,
            self.http_request_params,
            version,
            origin or "",
            protocols,
            self.websocket_extensions,
        )
        self._waiting = True

        def accepted(result: Any) -> None:
            self._waiting = False
            self._accept(result, key, leftover)

        def refused(error: BaseException) -> None:
            self._waiting = False
            if isinstance(error, ConnectionDeny):
                self._handshake_failed(error.code, error.reason or "")
            else:
                self.log.error("onConnect failed: {error!r}", error=error, exc_info=error)
                self._handshake_failed(500, "Internal server error")

        try:
            result = self.onConnect(request_info)
        except Exception as error:
            refused(error)
            return
        self._when_ready(result, accepted, refused)

    def _accept(self, result: Any, key: str, leftover: bytes) -> None:
        if self.state != WebSocketProtocol.STATE_CONNECTING:
            return  # timed out or dropped while onConnect ran
        headers: dict[str, Any] = {}
        if result is None or isinstance(result, str):
            protocol = result
        elif isinstance(result, ConnectionAccept):
            protocol, headers = result.subprotocol, result.headers or {}
        elif isinstance(result, tuple) and len(result) == 2:
            protocol, headers = result[0], result[1] or {}
        else:
            self.log.error(
                "onConnect returned {result!r}, not None, a str or a tuple", result=result
            )
            self._handshake_failed(500, "Internal server error")
            return
        if protocol is not None and protocol not in self.websocket_protocols:
            self.log.error(
                "onConnect chose subprotocol {protocol!r}, which the client did not offer",
                protocol=protocol,
            )
            self._handshake_failed(500, "Internal server error")
            return
        declined: list[PerMessageCompressError] = []
        try:
            _, extensions, self._pmce = negotiate_server(
                self.websocket_extensions, self.perMessageCompressionAccept, declined
            )
            response = _core.build_accept_response(
                key,
                server=self.factory.server,
                protocol=protocol,
                extensions=extensions,
                headers=_header_pairs(self.factory.headers) + _header_pairs(headers),
            )
        except Exception as error:
            self.log.error("cannot answer the opening handshake: {error!r}", error=error)
            self._handshake_failed(500, "Internal server error")
            return
        for offer_error in declined:
            self.log.info("declined a permessage-deflate offer: {error}", error=offer_error)
        if self._pmce is not None:
            self.websocket_extensions_in_use = [self._pmce]
        self.websocket_protocol_in_use = protocol
        self.transport.write(response)
        self._open(leftover)

    def _serve_status_page(self, target: str) -> None:
        """A plain HTTP GET (no Upgrade): AutobahnPython's ``webStatus`` page,
        or 426 when it is off. ``?redirect=URL`` answers 303."""
        if not self.webStatus:
            self._handshake_failed(426, "Upgrade Required")
            return
        params = parse_qs(target.partition("?")[2])
        redirect = params.get("redirect", [None])[0]
        refresh = ""
        if redirect is not None:
            after = params.get("after", [None])[0]
            if after is None:
                self._handshake_failed(303, "See Other", [("Location", redirect)])
                return
            refresh = f'<meta http-equiv="refresh" content="{int(after)};URL=\'{redirect}\'">'
        body = _STATUS_PAGE.format(version=__version__, refresh=refresh).encode()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n".encode()
            + (f"Server: {self.factory.server}\r\n".encode() if self.factory.server else b"")
            + b"\r\n"
            + body
        )
        self.wasNotCleanReason = "served the status page to a plain HTTP request"
        self.state = WebSocketProtocol.STATE_CLOSED
        self._closeConnection(abort=False)


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------


class WebSocketClientProtocol(WebSocketProtocol):
    """The client role: sends the opening handshake and checks the answer."""

    is_server = False
    CONFIG_ATTRS = WebSocketProtocol.CONFIG_ATTRS_COMMON + WebSocketProtocol.CONFIG_ATTRS_CLIENT

    acceptMaskedServerFrames: bool
    maskClientFrames: bool
    serverConnectionDropTimeout: float
    perMessageCompressionOffers: list[Any]

    def _mask_policy(self) -> tuple[str, bool]:
        return ("optional" if self.acceptMaskedServerFrames else "forbidden"), self.maskClientFrames

    def _after_close_handshake(self) -> None:
        """Wait for the server to drop TCP, ``serverConnectionDropTimeout`` at most."""
        if self.serverConnectionDropTimeout > 0 and self.serverConnectionDropTimeoutCall is None:
            self.serverConnectionDropTimeoutCall = self._call_later(
                self.serverConnectionDropTimeout, self._server_drop_timed_out
            )

    def startTLS(self) -> None:
        """Start TLS on the connection: ``wss://`` through an HTTP proxy, once
        the proxy has connected. Provided by the adapter where the framework can."""
        raise NotImplementedError("wss:// through an HTTP proxy is not supported here")

    def onConnecting(self, transport_details: TransportDetails) -> ConnectingRequest | None:
        """Before the handshake: return a ``ConnectingRequest`` to override
        the factory's request settings, or ``None``. May return an awaitable."""
        return None

    def onConnect(self, response: ConnectionResponse) -> Any:
        """After a valid 101 answer, before ``onOpen``. May return an awaitable."""
        return None

    def _connectionMade(self) -> None:
        super()._connectionMade()
        self._key = ""
        self._offered_protocols: list[str] = []
        proxy = self.factory.proxy
        if proxy is not None:
            self.state = WebSocketProtocol.STATE_PROXY_CONNECTING
            target = f"{self.factory.host}:{self.factory.port}"
            self.transport.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        else:
            self._start_handshake()

    def _start_handshake(self) -> None:
        self._waiting = True

        def failed(error: BaseException) -> None:
            self._waiting = False
            self.log.error("onConnecting failed: {error!r}", error=error, exc_info=error)
            self.wasNotCleanReason = f"onConnecting failed: {error!r}"
            self.dropConnection(abort=False)

        try:
            result = self.onConnecting(self.transport_details)
        except Exception as error:
            failed(error)
            return
        self._when_ready(result, self._send_request, failed)

    def _send_request(self, request: ConnectingRequest | None) -> None:
        self._waiting = False
        if self.state != WebSocketProtocol.STATE_CONNECTING:
            return
        factory = self.factory
        if request is None:
            request = ConnectingRequest(
                host=factory.host,
                port=factory.port,
                resource=factory.resource,
                headers=factory.headers,
                useragent=factory.useragent,
                origin=factory.origin,
                protocols=factory.protocols,
            )
        self._key = _core.generate_client_key()
        self._offered_protocols = list(request.protocols or [])
        try:
            offers = offers_header(self.perMessageCompressionOffers) or None
            data = _core.build_request(
                request.host,
                request.port,
                request.resource,
                self._key,
                secure=factory.isSecure,
                useragent=request.useragent,
                origin=request.origin,
                protocols=self._offered_protocols,
                extensions=offers,
                headers=_header_pairs(request.headers),
            )
        except (HandshakeError, InvalidTypeError) as error:
            self.log.error("cannot build the opening handshake: {reason}", reason=error.args[1])
            self.wasNotCleanReason = f"invalid opening handshake request: {error.args[1]}"
            self.dropConnection(abort=True)
            return
        self.transport.write(data)
        if self._early_data:  # the answer arrived while onConnecting ran
            early = b"".join(self._early_data)
            self._early_data = []
            self._handshake_data(early)

    def _handshake_failed(self, status: int, reason: str) -> None:
        self.wasNotCleanReason = f"WebSocket connection upgrade failed [{status}]: {reason}"
        self.dropConnection(abort=True)

    def _process_head(self, head: bytes, leftover: bytes) -> None:
        try:
            response = _core.parse_response(head)
        except HandshakeError as error:
            self._handshake_failed(error.args[0], error.args[1])
            return
        if self.state == WebSocketProtocol.STATE_PROXY_CONNECTING:
            if response.status != 200:
                self._handshake_failed(
                    response.status, f"HTTP proxy refused CONNECT: {response.reason}"
                )
                return
            self.state = WebSocketProtocol.STATE_CONNECTING
            if self.factory.isSecure:
                try:
                    self.startTLS()
                except NotImplementedError as error:
                    self._handshake_failed(response.status, str(error))
                    return
            self._start_handshake()
            if leftover:
                self._handshake_data(leftover)
            return
        offered = ["permessage-deflate"] if self.perMessageCompressionOffers else []
        try:
            protocol, extensions = response.upgrade(self._key, self._offered_protocols, offered)
            self._pmce = negotiate_client(
                extensions, self.perMessageCompressionAccept, self.perMessageCompressionOffers
            )
        except HandshakeError as error:
            self._handshake_failed(error.args[0], error.args[1] or response.reason)
            return
        except PerMessageCompressError as error:
            self._handshake_failed(0, f"permessage-deflate negotiation failed: {error}")
            return
        if self._pmce is not None:
            self.websocket_extensions_in_use = [self._pmce]
        self.http_headers = _header_dict(response.headers)
        self.websocket_version = 13
        self.websocket_protocol_in_use = protocol
        info = ConnectionResponse(
            self.peer,
            self.http_headers,
            WebSocketProtocol.DEFAULT_SPEC_VERSION,
            protocol,
            self.websocket_extensions_in_use,
        )
        self._waiting = True

        def connected(_: Any) -> None:
            self._waiting = False
            if self.state == WebSocketProtocol.STATE_CONNECTING:
                self._open(leftover)

        def refused(error: BaseException) -> None:
            self._waiting = False
            self._callback_failed("onConnect", error)
            self.dropConnection(abort=True)

        try:
            result = self.onConnect(info)
        except Exception as error:
            refused(error)
            return
        self._when_ready(result, connected, refused)


# ---------------------------------------------------------------------------
# Factories
# ---------------------------------------------------------------------------


class WebSocketFactory:
    """Options shared by both factories."""

    isServer: bool = False
    log = make_logger()
    logOctets = False
    logFrames = False
    trackTimings = False

    def _reset_common_options(self) -> None:
        #: Options set through setProtocolOptions (rather than defaults).
        self.explicitOptions: set[str] = set()
        self.utf8validateIncoming = True
        self.applyMask = True
        self.maxFramePayloadSize = DEFAULT_MAX_PAYLOAD
        self.maxMessagePayloadSize = DEFAULT_MAX_PAYLOAD
        self.autoFragmentSize = 0
        self.failByDrop = True
        self.echoCloseCodeReason = False
        self.openHandshakeTimeout: float = 5
        self.closeHandshakeTimeout: float = 1
        self.tcpNoDelay = True
        self.autoPingInterval: float = 0
        self.autoPingTimeout: float = 0
        self.autoPingSize = 12
        self.autoPingRestartOnAnyTraffic = True
        self.perMessageCompressionAccept: Callable[[Any], Any] = lambda _: None

    def prepareMessage(
        self, payload: bytes, isBinary: bool = False, doNotCompress: bool = False
    ) -> PreparedMessage:
        """Frame a message once, to send it to many connections with
        ``sendPreparedMessage``."""
        mask = self.maskServerFrames if self.isServer else self.maskClientFrames  # type: ignore[attr-defined]
        return PreparedMessage(payload, isBinary, mask, doNotCompress)

    def _set_options(self, options: dict[str, Any]) -> None:
        """Apply ``setProtocolOptions`` keywords; ``None`` leaves an option as it is."""
        for name, value in options.items():
            if value is None:
                continue
            self.explicitOptions.add(name)
            if name in ("maxFramePayloadSize", "maxMessagePayloadSize", "autoFragmentSize") and (
                not isinstance(value, int) or value < 0
            ):
                raise ValueError(f"{name} must be a non-negative int, not {value!r}")
            if name == "autoPingSize" and not 12 <= value <= 125:
                raise ValueError(f"autoPingSize must be between 12 and 125, not {value!r}")
            setattr(self, name, value)


class WebSocketServerFactory(WebSocketFactory):
    """Creates server protocols and holds their session parameters and options."""

    isServer = True
    protocol: type[WebSocketServerProtocol] = WebSocketServerProtocol

    def __init__(
        self,
        url: str | None = None,
        protocols: list[str] | None = None,
        server: str | None = SERVER_IDENT,
        headers: dict[str, Any] | None = None,
        externalPort: int | None = None,
    ) -> None:
        self.countConnections = 0
        self.setSessionParameters(url, protocols, server, headers, externalPort)
        self.resetProtocolOptions()

    def setSessionParameters(
        self,
        url: str | None = None,
        protocols: list[str] | None = None,
        server: str | None = SERVER_IDENT,
        headers: dict[str, Any] | None = None,
        externalPort: int | None = None,
    ) -> None:
        self.url = url or "ws://localhost"
        self.isSecure, self.host, self.port, self.resource, self.path, self.params = parse_url(
            self.url
        )
        if self.params:
            raise ValueError("a server URL must not contain query parameters")
        self.protocols = protocols or []
        self.server = server
        self.headers = headers or {}
        self.externalPort = externalPort

    def resetProtocolOptions(self) -> None:
        self._reset_common_options()
        self.versions = [13]
        self.webStatus = True
        self.requireMaskedClientFrames = True
        self.maskServerFrames = False
        self.serveFlashSocketPolicy = False
        self.flashSocketPolicy = ""
        self.allowedOrigins = ["*"]
        self.allowedOriginsPatterns = wildcards2patterns(self.allowedOrigins)
        self.allowNullOrigin = True
        self.maxConnections = 0
        self.trustXForwardedFor = 0

    def setProtocolOptions(
        self,
        versions: list[int] | None = None,
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
        perMessageCompressionAccept: Callable[[Any], Any] | None = None,
        autoPingInterval: float | None = None,
        autoPingTimeout: float | None = None,
        autoPingSize: int | None = None,
        autoPingRestartOnAnyTraffic: bool | None = None,
        serveFlashSocketPolicy: bool | None = None,
        flashSocketPolicy: str | None = None,
        allowedOrigins: list[str] | None = None,
        allowNullOrigin: bool | None = None,
        maxConnections: int | None = None,
        trustXForwardedFor: int | None = None,
    ) -> None:
        """AutobahnPython's server options. Unlike AutobahnPython, leaving out
        ``allowNullOrigin`` leaves it unchanged instead of resetting it."""
        options = dict(locals())
        del options["self"]
        if versions is not None:
            unsupported = [v for v in versions if v not in self.SUPPORTED_VERSIONS]
            if unsupported:
                raise ValueError(f"unsupported WebSocket versions {unsupported} (only 13)")
        self._set_options(options)
        if allowedOrigins is not None:
            self.allowedOriginsPatterns = wildcards2patterns(allowedOrigins)

    SUPPORTED_VERSIONS = WebSocketProtocol.SUPPORTED_PROTOCOL_VERSIONS

    def getConnectionCount(self) -> int:
        return self.countConnections


class WebSocketClientFactory(WebSocketFactory):
    """Creates client protocols and holds their session parameters and options."""

    isServer = False
    protocol: type[WebSocketClientProtocol] = WebSocketClientProtocol

    def __init__(
        self,
        url: str | None = None,
        origin: str | None = None,
        protocols: list[str] | None = None,
        useragent: str | None = SERVER_IDENT,
        headers: dict[str, Any] | None = None,
        proxy: dict[str, Any] | None = None,
    ) -> None:
        self.setSessionParameters(url, origin, protocols, useragent, headers, proxy)
        self.resetProtocolOptions()

    def setSessionParameters(
        self,
        url: str | None = None,
        origin: str | None = None,
        protocols: list[str] | None = None,
        useragent: str | None = SERVER_IDENT,
        headers: dict[str, Any] | None = None,
        proxy: dict[str, Any] | None = None,
    ) -> None:
        self.url = url or "ws://localhost"
        self.isSecure, self.host, self.port, self.resource, self.path, self.params = parse_url(
            self.url
        )
        self.origin = origin
        self.protocols = protocols or []
        self.useragent = useragent
        self.headers = headers or {}
        self.proxy = proxy

    def resetProtocolOptions(self) -> None:
        self._reset_common_options()
        self.version = WebSocketProtocol.DEFAULT_SPEC_VERSION
        self.acceptMaskedServerFrames = False
        self.maskClientFrames = True
        self.serverConnectionDropTimeout: float = 1
        self.perMessageCompressionOffers: list[Any] = []

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
        """AutobahnPython's client options."""
        options = dict(locals())
        del options["self"]
        if version is not None and version not in WebSocketProtocol.SUPPORTED_SPEC_VERSIONS:
            raise ValueError(f"unsupported WebSocket spec version {version} (only 18, RFC 6455)")
        if perMessageCompressionOffers is not None:
            options["perMessageCompressionOffers"] = copy.deepcopy(perMessageCompressionOffers)
        self._set_options(options)
