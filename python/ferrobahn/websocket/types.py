"""Value objects of the WebSocket opening handshake and messages (``autobahn.websocket.types``).

``ConnectionRequest`` is what a server's ``onConnect`` receives, ``ConnectionResponse``
what a client's ``onConnect`` receives, ``ConnectingRequest`` what a client's
``onConnecting`` may return, and ``ConnectionDeny`` what a server's ``onConnect`` raises
to refuse a client. ``TransportDetails`` (``autobahn.wamp.types`` in AutobahnPython) is
what ``onConnecting`` is given.

Where AutobahnPython validates constructor arguments with ``assert``, these classes raise
:class:`~ferrobahn.exception.InvalidTypeError` / ``InvalidValueError`` (both also
``AssertionError``), so the checks survive ``python -O``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pprint import pformat
from typing import Any, ClassVar

from ferrobahn.exception import InvalidTypeError, InvalidValueError

__all__ = (
    "ConnectingRequest",
    "ConnectionAccept",
    "ConnectionDeny",
    "ConnectionRequest",
    "ConnectionResponse",
    "IncomingMessage",
    "Message",
    "OutgoingMessage",
    "Ping",
    "TransportDetails",
)


def _type_name(value: object) -> str:
    return type(value).__name__


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(f"{name} must be a bool, not {_type_name(value)}")


def _check_bytes(name: str, value: object) -> None:
    if not isinstance(value, bytes):
        raise InvalidTypeError(f"{name} must be bytes, not {_type_name(value)}")


def _check_optional_str(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be a str or None, not {_type_name(value)}")


class ConnectionRequest:
    """The client's opening-handshake request, as a server's ``onConnect`` sees it.

    Attributes: ``peer`` (e.g. ``"tcp4:127.0.0.1:5678"``), ``headers`` (lower-cased
    names; repeated headers joined with ``", "``), ``host`` (Host header without the
    port), ``path`` (request path without the query), ``params`` (query as
    ``{name: [values]}``), ``version`` (wire version, 13 for RFC 6455), ``origin``
    (``""`` when the client sent none; only browsers send a trustworthy one),
    ``protocols`` (offered subprotocols, in the client's order: ``onConnect`` may return
    one of them) and ``extensions`` (offered extensions as ``(name, {param: [values]})``).
    """

    __slots__ = (
        "extensions",
        "headers",
        "host",
        "origin",
        "params",
        "path",
        "peer",
        "protocols",
        "version",
    )

    def __init__(
        self,
        peer: str,
        headers: dict[str, str],
        host: str,
        path: str,
        params: dict[str, list[str]],
        version: int,
        origin: str | None,
        protocols: list[str],
        extensions: list[tuple[str, dict[str, list[Any]]]],
    ) -> None:
        """Store the parsed request (built by the server protocol, rarely by users)."""
        self.peer = peer
        self.headers = headers
        self.host = host
        self.path = path
        self.params = params
        self.version = version
        self.origin = origin
        self.protocols = protocols
        self.extensions = extensions

    def __json__(self) -> dict[str, Any]:
        """Return the fields as a plain dict (for logging and JSON)."""
        return {
            "peer": self.peer,
            "headers": self.headers,
            "host": self.host,
            "path": self.path,
            "params": self.params,
            "version": self.version,
            "origin": self.origin,
            "protocols": self.protocols,
            "extensions": self.extensions,
        }

    def __str__(self) -> str:
        return pformat(self.__json__())


class ConnectionResponse:
    """The server's opening-handshake response, as a client's ``onConnect`` sees it.

    Attributes: ``peer``, ``headers`` (lower-cased names), ``version`` (the *spec*
    version, 18 for RFC 6455, as AutobahnPython reports it), ``protocol`` (the
    subprotocol the server chose, or None) and ``extensions`` (the negotiated extension
    objects, e.g. ``PerMessageDeflate``).
    """

    __slots__ = ("extensions", "headers", "peer", "protocol", "version")

    def __init__(
        self,
        peer: str,
        headers: dict[str, str],
        version: int,
        protocol: str | None,
        extensions: list[Any],
    ) -> None:
        """Store the parsed response (built by the client protocol)."""
        self.peer = peer
        self.headers = headers
        self.version = version
        self.protocol = protocol
        self.extensions = extensions

    def __json__(self) -> dict[str, Any]:
        """Return the fields as a plain dict (for logging and JSON)."""
        return {
            "peer": self.peer,
            "headers": self.headers,
            "version": self.version,
            "protocol": self.protocol,
            "extensions": self.extensions,
        }

    def __str__(self) -> str:
        return pformat(self.__json__())


class ConnectingRequest:
    """What a client's ``onConnecting`` may return to shape this connection's request.

    The values are what the server will see (Host header, request target, and so on),
    which need not be the address actually dialled (e.g. behind a tunnel). ``None``
    arguments take the defaults: host ``"localhost"``, port 80, resource ``"/"``, no
    extra headers, no subprotocols; ``useragent`` and ``origin`` stay None (no header).
    """

    __slots__ = ("headers", "host", "origin", "port", "protocols", "resource", "useragent")

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        resource: str | None = None,
        headers: dict[str, Any] | None = None,
        useragent: str | None = None,
        origin: str | None = None,
        protocols: list[str] | None = None,
    ) -> None:
        """Validate the arguments and fill in the defaults for those left as None."""
        _check_optional_str("host", host)
        if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
            raise InvalidTypeError(f"port must be an int or None, not {_type_name(port)}")
        _check_optional_str("resource", resource)
        if headers is not None and not isinstance(headers, Mapping):
            raise InvalidTypeError(f"headers must be a dict or None, not {_type_name(headers)}")
        _check_optional_str("useragent", useragent)
        _check_optional_str("origin", origin)
        if protocols is not None:
            if isinstance(protocols, str) or not isinstance(protocols, Sequence):
                raise InvalidTypeError(
                    f"protocols must be a list of str or None, not {_type_name(protocols)}"
                )
            for p in protocols:
                if not isinstance(p, str):
                    raise InvalidTypeError(f"protocols must contain str, not {_type_name(p)}")

        self.host: str = host if host is not None else "localhost"
        self.port: int = port if port is not None else 80
        self.resource: str = resource if resource is not None else "/"
        self.headers: dict[str, Any] = headers if headers is not None else {}
        self.useragent = useragent
        self.origin = origin
        self.protocols: list[str] = protocols if protocols is not None else []

    def __json__(self) -> dict[str, Any]:
        """Return the fields as a plain dict (for logging and JSON)."""
        return {
            "host": self.host,
            "port": self.port,
            "resource": self.resource,
            "headers": self.headers,
            "useragent": self.useragent,
            "origin": self.origin,
            "protocols": self.protocols,
        }

    def __str__(self) -> str:
        return pformat(self.__json__())


class ConnectionAccept:
    """A server's acceptance of a client: chosen subprotocol and extra response headers.

    Header values are a ``str`` or a list/tuple of ``str`` (one header line per item).
    As in AutobahnPython, the object is exported and validated, but ``onConnect`` accepts
    with a return value of ``None``, ``subprotocol`` or ``(subprotocol, headers)``.
    """

    __slots__ = ("headers", "subprotocol")

    def __init__(
        self,
        subprotocol: str | None = None,
        headers: dict[str, str | list[str] | tuple[str, ...]] | None = None,
    ) -> None:
        """Validate and store the subprotocol and headers."""
        _check_optional_str("subprotocol", subprotocol)
        if headers is not None:
            if not isinstance(headers, dict):
                raise InvalidTypeError(f"headers must be a dict or None, not {_type_name(headers)}")
            for key, value in headers.items():
                if not isinstance(key, str):
                    raise InvalidTypeError(f"header names must be str, not {_type_name(key)}")
                if isinstance(value, (list, tuple)):
                    for item in value:
                        if not isinstance(item, str):
                            raise InvalidTypeError(
                                f"header {key!r} values must be str, not {_type_name(item)}"
                            )
                elif not isinstance(value, str):
                    raise InvalidTypeError(
                        f"header {key!r} must be a str or a list of str, not {_type_name(value)}"
                    )
        self.subprotocol = subprotocol
        self.headers = headers


class ConnectionDeny(Exception):
    """Raise from a server's ``onConnect`` to refuse the client with an HTTP error.

    The response is ``HTTP/1.1 <code> <reason>``; the class constants name the usual
    codes (e.g. ``raise ConnectionDeny(ConnectionDeny.FORBIDDEN, "no such user")``).
    """

    __slots__ = ("code", "reason")

    BAD_REQUEST: ClassVar[int] = 400
    """The request is malformed."""

    FORBIDDEN: ClassVar[int] = 403
    """The request is understood and refused; authenticating would not help."""

    NOT_FOUND: ClassVar[int] = 404
    """Nothing is served at the requested path."""

    NOT_ACCEPTABLE: ClassVar[int] = 406
    """None of what the client asked for (e.g. subprotocols) can be provided."""

    REQUEST_TIMEOUT: ClassVar[int] = 408
    """The client took too long to send its request."""

    INTERNAL_SERVER_ERROR: ClassVar[int] = 500
    """The server failed while handling the request."""

    NOT_IMPLEMENTED: ClassVar[int] = 501
    """The server does not support what the request needs."""

    SERVICE_UNAVAILABLE: ClassVar[int] = 503
    """The server is overloaded or down for maintenance; try again later."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        """Store the HTTP status ``code`` and the optional ``reason`` phrase."""
        if not isinstance(code, int) or isinstance(code, bool):
            raise InvalidTypeError(f"code must be an int, not {_type_name(code)}")
        _check_optional_str("reason", reason)
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class Message:
    """Base class of the message value objects."""

    __slots__ = ()


class IncomingMessage(Message):
    """A received message: ``payload`` bytes (UTF-8 text unless ``is_binary``)."""

    __slots__ = ("is_binary", "payload")

    def __init__(self, payload: bytes, is_binary: bool = False) -> None:
        """Validate and store the payload and its kind."""
        _check_bytes("payload", payload)
        _check_bool("is_binary", is_binary)
        self.payload = payload
        self.is_binary = is_binary


class OutgoingMessage(Message):
    """A message to send; ``skip_compress`` sends it uncompressed even when deflate is on."""

    __slots__ = ("is_binary", "payload", "skip_compress")

    def __init__(
        self, payload: bytes, is_binary: bool = False, skip_compress: bool = False
    ) -> None:
        """Validate and store the payload and flags."""
        _check_bytes("payload", payload)
        _check_bool("is_binary", is_binary)
        _check_bool("skip_compress", skip_compress)
        self.payload = payload
        self.is_binary = is_binary
        self.skip_compress = skip_compress


class Ping:
    """A ping with an optional payload of at most 125 bytes (the control-frame limit)."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes | None = None) -> None:
        """Validate and store the payload."""
        if payload is not None:
            _check_bytes("payload", payload)
            if len(payload) > 125:
                raise InvalidValueError(
                    f"ping payload is {len(payload)} bytes, at most 125 are allowed"
                )
        self.payload = payload


class TransportDetails:
    """Facts about the byte stream under a connection (given to ``onConnecting``).

    The attributes user code reads: ``channel_type`` (one of ``CHANNEL_TYPE_*``, e.g.
    TCP or TLS), ``channel_framing`` (``CHANNEL_FRAMING_WEBSOCKET`` here), ``peer``
    (e.g. ``"tcp4:127.0.0.1:9000"``), ``own`` (local address), ``is_server``,
    ``is_secure`` (TLS), ``own_pid`` and the handshake headers
    ``http_headers_received`` / ``http_headers_sent``. Unknown values are None.
    Same constructor and constants as ``autobahn.wamp.types.TransportDetails``.
    """

    __slots__ = (
        "channel_framing",
        "channel_id",
        "channel_serializer",
        "channel_type",
        "http_cbtid",
        "http_headers_received",
        "http_headers_sent",
        "is_secure",
        "is_server",
        "own",
        "own_fd",
        "own_pid",
        "own_tid",
        "peer",
        "peer_cert",
        "websocket_extensions_in_use",
        "websocket_protocol",
    )

    CHANNEL_TYPE_NONE: ClassVar[int] = 0
    CHANNEL_TYPE_FUNCTION: ClassVar[int] = 1
    CHANNEL_TYPE_MEMORY: ClassVar[int] = 2
    CHANNEL_TYPE_SERIAL: ClassVar[int] = 3
    CHANNEL_TYPE_TCP: ClassVar[int] = 4
    CHANNEL_TYPE_TLS: ClassVar[int] = 5
    CHANNEL_TYPE_UDP: ClassVar[int] = 6
    CHANNEL_TYPE_DTLS: ClassVar[int] = 7

    CHANNEL_TYPE_TO_STR: ClassVar[dict[int, str]] = {
        0: "null",
        1: "function",
        2: "memory",
        3: "serial",
        4: "tcp",
        5: "tls",
        6: "udp",
        7: "dtls",
    }
    CHANNEL_TYPE_FROM_STR: ClassVar[dict[str, int]] = {v: k for k, v in CHANNEL_TYPE_TO_STR.items()}

    CHANNEL_FRAMING_NONE: ClassVar[int] = 0
    CHANNEL_FRAMING_NATIVE: ClassVar[int] = 1
    CHANNEL_FRAMING_WEBSOCKET: ClassVar[int] = 2
    CHANNEL_FRAMING_RAWSOCKET: ClassVar[int] = 3

    CHANNEL_FRAMING_TO_STR: ClassVar[dict[int, str]] = {
        0: "null",
        1: "native",
        2: "websocket",
        3: "rawsocket",
    }
    CHANNEL_FRAMING_FROM_STR: ClassVar[dict[str, int]] = {
        v: k for k, v in CHANNEL_FRAMING_TO_STR.items()
    }

    CHANNEL_SERIALIZER_NONE: ClassVar[int] = 0
    CHANNEL_SERIALIZER_JSON: ClassVar[int] = 1
    CHANNEL_SERIALIZER_MSGPACK: ClassVar[int] = 2
    CHANNEL_SERIALIZER_CBOR: ClassVar[int] = 3
    CHANNEL_SERIALIZER_UBJSON: ClassVar[int] = 4
    CHANNEL_SERIALIZER_FLATBUFFERS: ClassVar[int] = 5

    CHANNEL_SERIALIZER_TO_STR: ClassVar[dict[int, str]] = {
        0: "null",
        1: "json",
        2: "msgpack",
        3: "cbor",
        4: "ubjson",
        5: "flatbuffers",
    }
    CHANNEL_SERIALIZER_FROM_STR: ClassVar[dict[str, int]] = {
        v: k for k, v in CHANNEL_SERIALIZER_TO_STR.items()
    }

    def __init__(
        self,
        channel_type: int | None = None,
        channel_framing: int | None = None,
        channel_serializer: int | None = None,
        own: str | None = None,
        peer: str | None = None,
        is_server: bool | None = None,
        own_pid: int | None = None,
        own_tid: int | None = None,
        own_fd: int | None = None,
        is_secure: bool | None = None,
        channel_id: dict[str, bytes] | None = None,
        peer_cert: dict[str, Any] | None = None,
        websocket_protocol: str | None = None,
        websocket_extensions_in_use: list[str] | None = None,
        http_headers_received: dict[str, Any] | None = None,
        http_headers_sent: dict[str, Any] | None = None,
        http_cbtid: str | None = None,
    ) -> None:
        """Store whatever the transport adapter knows; everything defaults to None."""
        self.channel_type = channel_type
        self.channel_framing = channel_framing
        self.channel_serializer = channel_serializer
        self.own = own
        self.peer = peer
        self.is_server = is_server
        self.own_pid = own_pid
        self.own_tid = own_tid
        self.own_fd = own_fd
        self.is_secure = is_secure
        self.channel_id = channel_id
        self.peer_cert = peer_cert
        self.websocket_protocol = websocket_protocol
        self.websocket_extensions_in_use = websocket_extensions_in_use
        self.http_headers_received = http_headers_received
        self.http_headers_sent = http_headers_sent
        self.http_cbtid = http_cbtid

    @property
    def channel_typeid(self) -> str:
        """Short id of type, framing and serializer, e.g. ``"tcp-websocket-null"``."""
        return "{}-{}-{}".format(
            self.CHANNEL_TYPE_TO_STR.get(self.channel_type or 0, "null"),
            self.CHANNEL_FRAMING_TO_STR.get(self.channel_framing or 0, "null"),
            self.CHANNEL_SERIALIZER_TO_STR.get(self.channel_serializer or 0, "null"),
        )

    def marshal(self) -> dict[str, Any]:
        """Return the fields as a plain dict, the numeric codes spelled as strings."""
        out: dict[str, Any] = {name: getattr(self, name) for name in self.__slots__}
        for name, table in (
            ("channel_type", self.CHANNEL_TYPE_TO_STR),
            ("channel_framing", self.CHANNEL_FRAMING_TO_STR),
            ("channel_serializer", self.CHANNEL_SERIALIZER_TO_STR),
        ):
            code = out[name]
            out[name] = None if code is None else table.get(code)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransportDetails):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __str__(self) -> str:
        return pformat(self.marshal())
