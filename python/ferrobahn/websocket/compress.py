"""permessage-deflate negotiation (RFC 7692): ``autobahn.websocket.compress``'s API.

This module decides *what* both peers agreed on; it compresses nothing. The Rust core
(``ferrobahn._core``) does the deflating and inflating with the parameters that
:meth:`PerMessageDeflate.outgoing` and :meth:`PerMessageDeflate.incoming` give it.

The objects, in the order a handshake meets them (names, arguments and defaults are
AutobahnPython's):

- client: :class:`PerMessageDeflateOffer` — what the client offers
  (``perMessageCompressionOffers``); :func:`offers_header` turns the offers into the
  ``Sec-WebSocket-Extensions`` request header;
- server: :meth:`PerMessageDeflateOffer.parse` reads each offer, the application's
  ``perMessageCompressionAccept(offers)`` picks one and returns a
  :class:`PerMessageDeflateOfferAccept`, whose ``get_extension_string()`` is the
  response header (:func:`negotiate_server` does all of this);
- client: :meth:`PerMessageDeflateResponse.parse` reads the server's answer, the
  application's ``perMessageCompressionAccept(response)`` returns a
  :class:`PerMessageDeflateResponseAccept` (:func:`negotiate_client`);
- both: :class:`PerMessageDeflate`, the negotiated parameters of the connection
  (what ``websocket_extensions_in_use`` lists).

Only ``permessage-deflate`` exists: AutobahnPython's optional, non-standard bzip2,
snappy and brotli codecs are not provided, so :data:`PERMESSAGE_COMPRESSION_EXTENSION`
has one entry.

Where ferrobahn follows RFC 7692 rather than AutobahnPython
------------------------------------------------------------

- **Window bits 8.** §7.1.2 allows ``server_max_window_bits`` and
  ``client_max_window_bits`` from 8 to 15; AutobahnPython refuses 8 from a peer. Here a
  peer's 8 is accepted (and answered with 8 where the RFC says to echo a value), and
  both directions then run zlib with 9 (:meth:`PerMessageDeflate.incoming`,
  :meth:`~PerMessageDeflate.outgoing`). zlib cannot set up a raw deflate stream with an
  8-bit window, but with a 9-bit one it never emits a back-reference further than
  ``2**9 - 262 = 250`` bytes (zlib's ``MAX_DIST``; zlib-rs, which the core uses, has the
  same bound), so what we send inflates within the peer's 256-byte window. Inflating
  with 9 what a peer compressed with 8 is always safe. Window sizes the *application*
  configures stay 9 to 15, as in AutobahnPython: asking a peer for 8 would make
  zlib-based peers (websockets) decline.
- **A malformed offer is declined, not fatal.** §5 says a server declines an offer with
  an unknown, repeated or invalid parameter; AutobahnPython fails the handshake with
  400. :func:`negotiate_server` skips such an offer and goes on with the others (the
  client may have sent a fallback). On the client side a bad response fails the
  connection, as §5 requires (:func:`negotiate_client` raises).
- **The client keeps its promises.** An offer carrying ``client_no_context_takeover``
  (AutobahnPython's default offer does) tells the server the client will not use
  context takeover (§7.1.1.2); an offer ``client_max_window_bits=N`` tells it the client
  will not use a window larger than N (§7.1.2.2). ferrobahn's client honours both even
  when the response does not repeat them; AutobahnPython ignores them.
- **Checked responses.** A response must answer one of the offers (§7.1.1.1, §7.1.2):
  ``server_no_context_takeover`` and ``server_max_window_bits`` confirmed when requested,
  no ``client_max_window_bits`` unless offered, none larger than offered. AutobahnPython
  checks none of this, and hands the application a response for an extension the client
  never offered.
- **Strict values.** A window size is a decimal integer without leading zeros or signs
  (``"09"``, ``"+9"`` and ``"1_5"`` are refused; AutobahnPython's ``int()`` takes them).
- **Errors** are :class:`PerMessageCompressError` (a ``ValueError``) for what a peer
  sent, and :class:`~ferrobahn.exception.InvalidTypeError` /
  :class:`~ferrobahn.exception.InvalidValueError` for bad arguments from the application;
  AutobahnPython raises bare ``Exception`` for both. All of them are still ``Exception``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

from ferrobahn.exception import InvalidTypeError, InvalidValueError

__all__ = [
    "PERMESSAGE_COMPRESSION_EXTENSION",
    "DuplicateParameterError",
    "InvalidParameterValueError",
    "NegotiationError",
    "PerMessageCompress",
    "PerMessageCompressError",
    "PerMessageCompressOffer",
    "PerMessageCompressOfferAccept",
    "PerMessageCompressResponse",
    "PerMessageCompressResponseAccept",
    "PerMessageDeflate",
    "PerMessageDeflateMixin",
    "PerMessageDeflateOffer",
    "PerMessageDeflateOfferAccept",
    "PerMessageDeflateResponse",
    "PerMessageDeflateResponseAccept",
    "UnknownParameterError",
    "negotiate_client",
    "negotiate_server",
    "offers_header",
]

ParamValue = Union[str, bool, None]
"""One value of an extension parameter: a string, or ``True`` / ``None`` for none."""

ParamTable = Mapping[str, Sequence[ParamValue]]
"""AutobahnPython's shape of one extension's parameters: ``{name: [values]}``."""

ParamPairs = Sequence[tuple[str, Optional[str]]]
"""``ferrobahn._core.parse_extensions``' shape: ``[(name, value or None)]``."""

ExtensionList = Iterable[tuple[str, Union[ParamTable, ParamPairs]]]
"""Parsed ``Sec-WebSocket-Extensions``: ``[(extension name, parameters)]``, either shape."""


# --- errors ---------------------------------------------------------------------------


class PerMessageCompressError(ValueError):
    """A peer's permessage-deflate parameters cannot be used.

    The base of every negotiation error this module raises. For a server this means
    "decline this offer"; for a client, "fail the connection" (RFC 7692 §5).
    ``param`` is the parameter at fault, when there is one.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class UnknownParameterError(PerMessageCompressError):
    """A parameter RFC 7692 §7 does not define for permessage-deflate."""


class DuplicateParameterError(PerMessageCompressError):
    """A parameter given more than once in one offer or response (names compared
    without regard to case)."""


class InvalidParameterValueError(PerMessageCompressError):
    """A value where none is allowed, none where one is required, or a value out of
    range."""


class NegotiationError(PerMessageCompressError):
    """A well-formed response that still cannot be accepted: it answers none of the
    client's offers, repeats the extension, names an extension that was not offered, or
    the application's accept callback refused it."""


# --- AutobahnPython's abstract roles --------------------------------------------------


class PerMessageCompressOffer:
    """Base of the classes describing what a client offers."""


class PerMessageCompressOfferAccept:
    """Base of the classes describing how a server accepts one client offer."""


class PerMessageCompressResponse:
    """Base of the classes describing what a server answered."""


class PerMessageCompressResponseAccept:
    """Base of the classes describing how a client takes the server's answer."""


class PerMessageCompress:
    """Base of the classes holding a connection's negotiated compression parameters."""


# --- parameter reading ----------------------------------------------------------------

_SERVER_NO_CONTEXT_TAKEOVER = "server_no_context_takeover"
_CLIENT_NO_CONTEXT_TAKEOVER = "client_no_context_takeover"
_SERVER_MAX_WINDOW_BITS = "server_max_window_bits"
_CLIENT_MAX_WINDOW_BITS = "client_max_window_bits"
_KNOWN_PARAMS = frozenset(
    (
        _SERVER_NO_CONTEXT_TAKEOVER,
        _CLIENT_NO_CONTEXT_TAKEOVER,
        _SERVER_MAX_WINDOW_BITS,
        _CLIENT_MAX_WINDOW_BITS,
    )
)

# The only spellings of a window size: decimal, no leading zero, no sign (RFC 7692 §7.1.2).
_WINDOW_BITS_TEXT = {str(bits): bits for bits in range(8, 16)}


def _read_params(params: ParamTable) -> dict[str, str | None]:
    """``{lower-cased name: value or None}``, one look at each parameter.

    Raises for an unknown name, a name given twice (also as ``"A"`` and ``"a"``) and a
    value that is neither a string nor ``True`` / ``None``.
    """
    seen: dict[str, str | None] = {}
    for raw_name, values in params.items():
        name = raw_name.lower()
        if name not in _KNOWN_PARAMS:
            raise UnknownParameterError(
                f"permessage-deflate: unknown parameter {raw_name!r}", raw_name
            )
        if len(values) == 0:
            continue
        if len(values) > 1 or name in seen:
            raise DuplicateParameterError(
                f"permessage-deflate: parameter {name!r} given more than once", name
            )
        value = values[0]
        if value is True or value is None:
            seen[name] = None
        elif isinstance(value, str):
            seen[name] = value
        else:
            raise InvalidParameterValueError(
                f"permessage-deflate: parameter {name!r} has the value {value!r}", name
            )
    return seen


def _flag(params: dict[str, str | None], name: str) -> bool:
    """A parameter that takes no value: present or not."""
    if name not in params:
        return False
    value = params[name]
    if value is not None:
        raise InvalidParameterValueError(
            f"permessage-deflate: parameter {name!r} takes no value, got {value!r}", name
        )
    return True


def _window_bits(params: dict[str, str | None], name: str) -> int:
    """A window size parameter: 0 if absent, else its value, 8 to 15."""
    if name not in params:
        return 0
    value = params[name]
    bits = None if value is None else _WINDOW_BITS_TEXT.get(value)
    if bits is None:
        raise InvalidParameterValueError(
            f"permessage-deflate: parameter {name!r} needs a value from 8 to 15, "
            f"got {'none' if value is None else repr(value)}",
            name,
        )
    return bits


def _param_table(params: ParamTable | ParamPairs) -> ParamTable:
    """Either shape of one extension's parameters as ``{name: [values]}``."""
    if isinstance(params, Mapping):
        return params
    table: dict[str, list[ParamValue]] = {}
    for name, value in params:
        table.setdefault(name, []).append(value)
    return table


# --- argument checks ------------------------------------------------------------------


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(f"{name} must be a bool, not {type(value).__name__}")


def _check_optional_bool(name: str, value: object) -> None:
    if value is not None:
        _check_bool(name, value)


def _check_bits(name: str, value: object, allowed: Sequence[int], zero: bool) -> None:
    """``value`` is an int in ``allowed`` (or 0 when ``zero``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__}")
    if not ((zero and value == 0) or value in allowed):
        permitted = ("0 or " if zero else "") + f"{allowed[0]} to {allowed[-1]}"
        raise InvalidValueError(f"{name} must be {permitted}, not {value}")


def _check_mem_level(value: object) -> None:
    if value is not None:
        _check_bits("mem_level", value, PerMessageDeflateMixin.MEM_LEVEL_PERMISSIBLE_VALUES, False)


def _check_max_message_size(value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"max_message_size must be an int or None, not {type(value).__name__}"
        )
    if value < 0:
        raise InvalidValueError(f"max_message_size must not be negative, not {value}")


def _zlib_bits(bits: int) -> int:
    """Negotiated window bits (8..15) as zlib runs them (9..15); see the module doc."""
    return 9 if bits == 8 else bits


# --- permessage-deflate ---------------------------------------------------------------


class PerMessageDeflateMixin:
    """Constants of the permessage-deflate extension."""

    EXTENSION_NAME: ClassVar[str] = "permessage-deflate"
    """The extension's token in ``Sec-WebSocket-Extensions``."""

    WINDOW_SIZE_PERMISSIBLE_VALUES: ClassVar[list[int]] = list(range(9, 16))
    """Window sizes (base-2 logarithm) the application may configure or request: 9 to
    15, what zlib can compress with. 15 (32 KiB) is the default; smaller saves memory
    and costs compression."""

    WIRE_WINDOW_SIZE_PERMISSIBLE_VALUES: ClassVar[list[int]] = list(range(8, 16))
    """Window sizes a peer may send (RFC 7692 §7.1.2): 8 to 15. ferrobahn only."""

    MEM_LEVEL_PERMISSIBLE_VALUES: ClassVar[list[int]] = list(range(1, 10))
    """zlib memory levels for our compressor: 1 to 9 (default 8). Higher is faster and
    compresses better, and costs more memory."""


class PerMessageDeflateOffer(PerMessageCompressOffer, PerMessageDeflateMixin):
    """One permessage-deflate offer of a client.

    A client lists these in ``perMessageCompressionOffers``, most preferred first; a
    server's accept callback receives them, parsed from the request, in the client's
    order.

    - ``accept_no_context_takeover``: offer ``client_no_context_takeover``. On the wire
      this says the client will not use context takeover (RFC 7692 §7.1.1.2), and a
      ferrobahn client keeps to that; to AutobahnPython it means the client lets the
      server ask for it. A server may ask for it whatever the offer says, so a parsed
      offer always has ``True``.
    - ``accept_max_window_bits``: offer ``client_max_window_bits``, letting the server
      limit the window the client compresses with (§7.1.2.2). Without it the server
      must not set that limit.
    - ``request_no_context_takeover``: ask the server not to use context takeover
      (``server_no_context_takeover``); the server must agree or decline the offer.
    - ``request_max_window_bits``: 0, or ask the server to compress with a window of at
      most 2**N bytes (``server_max_window_bits=N``). The application may ask 9 to 15;
      an offer parsed from a peer may carry 8.
    - ``client_max_window_bits_hint`` (keyword, ferrobahn only): 0, or the client
      promises never to compress with a window over 2**N bytes, sent as
      ``client_max_window_bits=N`` (needs ``accept_max_window_bits``). A server may then
      answer with N or less to save memory; ferrobahn's server never answers more.
    """

    def __init__(
        self,
        accept_no_context_takeover: bool = True,
        accept_max_window_bits: bool = True,
        request_no_context_takeover: bool = False,
        request_max_window_bits: int = 0,
        *,
        client_max_window_bits_hint: int = 0,
    ) -> None:
        _check_bool("accept_no_context_takeover", accept_no_context_takeover)
        _check_bool("accept_max_window_bits", accept_max_window_bits)
        _check_bool("request_no_context_takeover", request_no_context_takeover)
        _check_bits(
            "request_max_window_bits",
            request_max_window_bits,
            self.WIRE_WINDOW_SIZE_PERMISSIBLE_VALUES,
            True,
        )
        _check_bits(
            "client_max_window_bits_hint",
            client_max_window_bits_hint,
            self.WIRE_WINDOW_SIZE_PERMISSIBLE_VALUES,
            True,
        )
        if client_max_window_bits_hint and not accept_max_window_bits:
            raise InvalidValueError(
                "client_max_window_bits_hint needs accept_max_window_bits=True "
                "(both are the client_max_window_bits parameter)"
            )
        self.accept_no_context_takeover = accept_no_context_takeover
        self.accept_max_window_bits = accept_max_window_bits
        self.request_no_context_takeover = request_no_context_takeover
        self.request_max_window_bits = request_max_window_bits
        self.client_max_window_bits_hint = client_max_window_bits_hint

    @classmethod
    def parse(cls, params: ParamTable) -> PerMessageDeflateOffer:
        """Read one offer from its parameters ``{name: [values]}`` (a value of ``True``
        or ``None`` means the parameter had none). Names are compared without regard to
        case.

        Raises :class:`UnknownParameterError`, :class:`DuplicateParameterError` or
        :class:`InvalidParameterValueError`; a server then declines this offer.
        Accepts the four parameters of RFC 7692 §7; ``client_max_window_bits`` with or
        without a value, the window sizes 8 to 15.
        """
        table = _read_params(params)
        # client_max_window_bits may come without a value in an offer (§7.1.2.2).
        offers_client_bits = _CLIENT_MAX_WINDOW_BITS in table
        bare = offers_client_bits and table[_CLIENT_MAX_WINDOW_BITS] is None
        hint = 0 if bare else _window_bits(table, _CLIENT_MAX_WINDOW_BITS)
        # client_no_context_takeover is only a promise from the client: the server may
        # ask for it either way, hence accept_no_context_takeover is always True.
        _flag(table, _CLIENT_NO_CONTEXT_TAKEOVER)
        return cls(
            accept_no_context_takeover=True,
            accept_max_window_bits=offers_client_bits,
            request_no_context_takeover=_flag(table, _SERVER_NO_CONTEXT_TAKEOVER),
            request_max_window_bits=_window_bits(table, _SERVER_MAX_WINDOW_BITS),
            client_max_window_bits_hint=hint,
        )

    def get_extension_string(self) -> str:
        """This offer as one element of ``Sec-WebSocket-Extensions``, e.g. the default
        ``"permessage-deflate; client_no_context_takeover; client_max_window_bits"``."""
        parts = [self.EXTENSION_NAME]
        if self.accept_no_context_takeover:
            parts.append(_CLIENT_NO_CONTEXT_TAKEOVER)
        if self.client_max_window_bits_hint:
            parts.append(f"{_CLIENT_MAX_WINDOW_BITS}={self.client_max_window_bits_hint}")
        elif self.accept_max_window_bits:
            parts.append(_CLIENT_MAX_WINDOW_BITS)
        if self.request_no_context_takeover:
            parts.append(_SERVER_NO_CONTEXT_TAKEOVER)
        if self.request_max_window_bits:
            parts.append(f"{_SERVER_MAX_WINDOW_BITS}={self.request_max_window_bits}")
        return "; ".join(parts)

    def __json__(self) -> dict[str, Any]:
        """The offer as a plain dict (AutobahnPython's keys)."""
        return {
            "extension": self.EXTENSION_NAME,
            "accept_no_context_takeover": self.accept_no_context_takeover,
            "accept_max_window_bits": self.accept_max_window_bits,
            "request_no_context_takeover": self.request_no_context_takeover,
            "request_max_window_bits": self.request_max_window_bits,
        }

    def __repr__(self) -> str:
        hint = (
            f", client_max_window_bits_hint={self.client_max_window_bits_hint}"
            if self.client_max_window_bits_hint
            else ""
        )
        return (
            f"PerMessageDeflateOffer(accept_no_context_takeover={self.accept_no_context_takeover}"
            f", accept_max_window_bits={self.accept_max_window_bits}"
            f", request_no_context_takeover={self.request_no_context_takeover}"
            f", request_max_window_bits={self.request_max_window_bits}{hint})"
        )


class PerMessageDeflateOfferAccept(PerMessageCompressOfferAccept, PerMessageDeflateMixin):
    """How a server accepts one client offer; what its accept callback returns.

    - ``offer``: the :class:`PerMessageDeflateOffer` accepted (one of those the callback
      received).
    - ``request_no_context_takeover``: tell the client not to use context takeover
      (``client_no_context_takeover`` in the response), so the server need not keep
      its inflater's window between messages.
    - ``request_max_window_bits``: 0, or tell the client to compress with a window of
      at most 2**N bytes (``client_max_window_bits=N``, N from 9 to 15); allowed only if
      the offer had ``client_max_window_bits``. If the client promised a smaller window
      (``client_max_window_bits_hint``), the promise is what is sent: this attribute is
      lowered to it (RFC 7692 §7.1.2.2: the answer must not exceed the offer).
    - ``no_context_takeover``: ``None`` (do what the offer asked) or whether the
      server's compressor drops its context after each message; ``False`` is refused
      when the client asked for ``server_no_context_takeover``.
    - ``window_bits``: ``None`` (the offer's ``server_max_window_bits``, or 15) or the
      window, 9 to 15, the server compresses with; at most what the offer asked. The
      response does not mention a smaller window: the client inflates with a larger
      one, which is always safe.
    - ``mem_level``: ``None`` (8) or zlib's memory level, 1 to 9, for the server's
      compressor.
    - ``max_message_size``: ``None`` or 0 (no limit of its own), or a limit on the
      inflated size of one incoming message, on top of ``maxMessagePayloadSize``.
    """

    def __init__(
        self,
        offer: PerMessageDeflateOffer,
        request_no_context_takeover: bool = False,
        request_max_window_bits: int = 0,
        no_context_takeover: bool | None = None,
        window_bits: int | None = None,
        mem_level: int | None = None,
        max_message_size: int | None = None,
    ) -> None:
        if not isinstance(offer, PerMessageDeflateOffer):
            raise InvalidTypeError(
                f"offer must be a PerMessageDeflateOffer, not {type(offer).__name__}"
            )
        _check_bool("request_no_context_takeover", request_no_context_takeover)
        if request_no_context_takeover and not offer.accept_no_context_takeover:
            raise InvalidValueError(
                "request_no_context_takeover=True, but the offer does not accept "
                "client_no_context_takeover"
            )
        _check_bits(
            "request_max_window_bits",
            request_max_window_bits,
            self.WINDOW_SIZE_PERMISSIBLE_VALUES,
            True,
        )
        if request_max_window_bits and not offer.accept_max_window_bits:
            raise InvalidValueError(
                f"request_max_window_bits={request_max_window_bits}, but the offer has no "
                "client_max_window_bits (RFC 7692 §7.1.2.2: the response must not have it)"
            )
        hint = offer.client_max_window_bits_hint
        if request_max_window_bits and hint and hint < request_max_window_bits:
            request_max_window_bits = hint
        _check_optional_bool("no_context_takeover", no_context_takeover)
        if offer.request_no_context_takeover and no_context_takeover is False:
            raise InvalidValueError(
                "no_context_takeover=False, but the client asked for server_no_context_takeover"
            )
        if window_bits is not None:
            _check_bits("window_bits", window_bits, self.WINDOW_SIZE_PERMISSIBLE_VALUES, False)
            if offer.request_max_window_bits and window_bits > offer.request_max_window_bits:
                raise InvalidValueError(
                    f"window_bits={window_bits}, but the client asked for "
                    f"server_max_window_bits={offer.request_max_window_bits}"
                )
        _check_mem_level(mem_level)
        _check_max_message_size(max_message_size)
        self.offer = offer
        self.request_no_context_takeover = request_no_context_takeover
        self.request_max_window_bits = request_max_window_bits
        self.no_context_takeover = no_context_takeover
        self.window_bits = window_bits
        self.mem_level = mem_level
        self.max_message_size = max_message_size

    def get_extension_string(self) -> str:
        """The server's ``Sec-WebSocket-Extensions`` response: the ``server_*``
        parameters the client asked for, echoed (which is how a server agrees to them),
        then the ``client_*`` ones the server asks for."""
        parts = [self.EXTENSION_NAME]
        if self.offer.request_no_context_takeover:
            parts.append(_SERVER_NO_CONTEXT_TAKEOVER)
        if self.offer.request_max_window_bits:
            parts.append(f"{_SERVER_MAX_WINDOW_BITS}={self.offer.request_max_window_bits}")
        if self.request_no_context_takeover:
            parts.append(_CLIENT_NO_CONTEXT_TAKEOVER)
        if self.request_max_window_bits:
            parts.append(f"{_CLIENT_MAX_WINDOW_BITS}={self.request_max_window_bits}")
        return "; ".join(parts)

    def __json__(self) -> dict[str, Any]:
        """The accept as a plain dict (AutobahnPython's keys)."""
        return {
            "extension": self.EXTENSION_NAME,
            "offer": self.offer.__json__(),
            "request_no_context_takeover": self.request_no_context_takeover,
            "request_max_window_bits": self.request_max_window_bits,
            "no_context_takeover": self.no_context_takeover,
            "window_bits": self.window_bits,
            "mem_level": self.mem_level,
            "max_message_size": self.max_message_size,
        }

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflateOfferAccept(offer={self.offer!r}"
            f", request_no_context_takeover={self.request_no_context_takeover}"
            f", request_max_window_bits={self.request_max_window_bits}"
            f", no_context_takeover={self.no_context_takeover}"
            f", window_bits={self.window_bits}, mem_level={self.mem_level}"
            f", max_message_size={self.max_message_size})"
        )


class PerMessageDeflateResponse(PerMessageCompressResponse, PerMessageDeflateMixin):
    """The server's answer, as the client reads it. Window sizes are 0 (absent) or 8
    to 15; the flags say whether the parameter was present.

    ``offer`` (ferrobahn only) is the client's offer this response answers, set by
    :func:`negotiate_client`; ``None`` for a response built by hand.
    """

    def __init__(
        self,
        client_max_window_bits: int,
        client_no_context_takeover: bool,
        server_max_window_bits: int,
        server_no_context_takeover: bool,
        *,
        offer: PerMessageDeflateOffer | None = None,
    ) -> None:
        wire = self.WIRE_WINDOW_SIZE_PERMISSIBLE_VALUES
        _check_bits("client_max_window_bits", client_max_window_bits, wire, True)
        _check_bool("client_no_context_takeover", client_no_context_takeover)
        _check_bits("server_max_window_bits", server_max_window_bits, wire, True)
        _check_bool("server_no_context_takeover", server_no_context_takeover)
        if offer is not None and not isinstance(offer, PerMessageDeflateOffer):
            raise InvalidTypeError(
                f"offer must be a PerMessageDeflateOffer or None, not {type(offer).__name__}"
            )
        self.client_max_window_bits = client_max_window_bits
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.server_no_context_takeover = server_no_context_takeover
        self.offer = offer

    @classmethod
    def parse(cls, params: ParamTable) -> PerMessageDeflateResponse:
        """Read a response from its parameters ``{name: [values]}``.

        Raises :class:`UnknownParameterError`, :class:`DuplicateParameterError` or
        :class:`InvalidParameterValueError`; the client then fails the connection.
        Unlike an offer, ``client_max_window_bits`` needs a value here (§7.1.2.2).
        Whether the response fits the client's offers is :func:`negotiate_client`'s
        check.
        """
        table = _read_params(params)
        return cls(
            client_max_window_bits=_window_bits(table, _CLIENT_MAX_WINDOW_BITS),
            client_no_context_takeover=_flag(table, _CLIENT_NO_CONTEXT_TAKEOVER),
            server_max_window_bits=_window_bits(table, _SERVER_MAX_WINDOW_BITS),
            server_no_context_takeover=_flag(table, _SERVER_NO_CONTEXT_TAKEOVER),
        )

    def get_extension_string(self) -> str:
        """The response as one element of ``Sec-WebSocket-Extensions`` (ferrobahn only;
        the server sends :meth:`PerMessageDeflateOfferAccept.get_extension_string`)."""
        parts = [self.EXTENSION_NAME]
        if self.server_no_context_takeover:
            parts.append(_SERVER_NO_CONTEXT_TAKEOVER)
        if self.server_max_window_bits:
            parts.append(f"{_SERVER_MAX_WINDOW_BITS}={self.server_max_window_bits}")
        if self.client_no_context_takeover:
            parts.append(_CLIENT_NO_CONTEXT_TAKEOVER)
        if self.client_max_window_bits:
            parts.append(f"{_CLIENT_MAX_WINDOW_BITS}={self.client_max_window_bits}")
        return "; ".join(parts)

    def __json__(self) -> dict[str, Any]:
        """The response as a plain dict (AutobahnPython's keys)."""
        return {
            "extension": self.EXTENSION_NAME,
            "client_max_window_bits": self.client_max_window_bits,
            "client_no_context_takeover": self.client_no_context_takeover,
            "server_max_window_bits": self.server_max_window_bits,
            "server_no_context_takeover": self.server_no_context_takeover,
        }

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflateResponse(client_max_window_bits={self.client_max_window_bits}"
            f", client_no_context_takeover={self.client_no_context_takeover}"
            f", server_max_window_bits={self.server_max_window_bits}"
            f", server_no_context_takeover={self.server_no_context_takeover})"
        )


class PerMessageDeflateResponseAccept(PerMessageCompressResponseAccept, PerMessageDeflateMixin):
    """How a client takes the server's answer; what its accept callback returns.

    - ``response``: the :class:`PerMessageDeflateResponse` the callback received.
    - ``no_context_takeover``: ``None`` or whether the client's compressor drops its
      context after each message. ``False`` is refused when the server asked for
      ``client_no_context_takeover``; it is overruled (taken as ``True``) when the
      client's own offer promised ``client_no_context_takeover``.
    - ``window_bits``: ``None`` or the window, 9 to 15, the client compresses with; at
      most the response's ``client_max_window_bits`` and the offer's promise.
    - ``mem_level``: ``None`` (8) or zlib's memory level, 1 to 9, for the client's
      compressor.
    - ``max_message_size``: ``None`` or 0 (no limit of its own), or a limit on the
      inflated size of one incoming message, on top of ``maxMessagePayloadSize``.
    """

    def __init__(
        self,
        response: PerMessageDeflateResponse,
        no_context_takeover: bool | None = None,
        window_bits: int | None = None,
        mem_level: int | None = None,
        max_message_size: int | None = None,
    ) -> None:
        if not isinstance(response, PerMessageDeflateResponse):
            raise InvalidTypeError(
                f"response must be a PerMessageDeflateResponse, not {type(response).__name__}"
            )
        _check_optional_bool("no_context_takeover", no_context_takeover)
        if response.client_no_context_takeover and no_context_takeover is False:
            raise InvalidValueError(
                "no_context_takeover=False, but the server asked for client_no_context_takeover"
            )
        if window_bits is not None:
            _check_bits("window_bits", window_bits, self.WINDOW_SIZE_PERMISSIBLE_VALUES, False)
            limit = response.client_max_window_bits
            if limit and window_bits > limit:
                raise InvalidValueError(
                    f"window_bits={window_bits}, but the server asked for "
                    f"client_max_window_bits={limit}"
                )
            hint = response.offer.client_max_window_bits_hint if response.offer else 0
            if hint and window_bits > hint:
                raise InvalidValueError(
                    f"window_bits={window_bits}, but the offer promised "
                    f"client_max_window_bits={hint}"
                )
        _check_mem_level(mem_level)
        _check_max_message_size(max_message_size)
        self.response = response
        self.no_context_takeover = no_context_takeover
        self.window_bits = window_bits
        self.mem_level = mem_level
        self.max_message_size = max_message_size

    def __json__(self) -> dict[str, Any]:
        """The accept as a plain dict (AutobahnPython's keys)."""
        return {
            "extension": self.EXTENSION_NAME,
            "response": self.response.__json__(),
            "no_context_takeover": self.no_context_takeover,
            "window_bits": self.window_bits,
            "mem_level": self.mem_level,
        }

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflateResponseAccept(response={self.response!r}"
            f", no_context_takeover={self.no_context_takeover}"
            f", window_bits={self.window_bits}, mem_level={self.mem_level}"
            f", max_message_size={self.max_message_size})"
        )


class PerMessageDeflate(PerMessageCompress, PerMessageDeflateMixin):
    """The permessage-deflate parameters in force on one connection.

    It holds no compressor: the protocol layer hands :meth:`outgoing`,
    :meth:`incoming`, ``mem_level`` and ``max_message_size`` to the Rust core.
    Attributes: ``is_server`` (our role), ``server_no_context_takeover`` /
    ``client_no_context_takeover`` (whether each side's compressor resets after every
    message), ``server_max_window_bits`` / ``client_max_window_bits`` (each side's
    compression window as negotiated, 8 to 15; a 0 given to the constructor becomes
    15), ``mem_level`` (our compressor's, 1 to 9; ``None`` or 0 becomes 8) and
    ``max_message_size`` (``None``/0 for no limit of its own).

    For the server the ``server_*`` values are what it compresses with, which may be
    less than it announced (``PerMessageDeflateOfferAccept.window_bits``); for the
    client they are what the server announced, which it inflates with. Likewise for
    ``client_*``, the other way round.
    """

    DEFAULT_WINDOW_BITS: ClassVar[int] = 15
    DEFAULT_MEM_LEVEL: ClassVar[int] = 8

    def __init__(
        self,
        is_server: bool,
        server_no_context_takeover: bool,
        client_no_context_takeover: bool,
        server_max_window_bits: int,
        client_max_window_bits: int,
        mem_level: int | None,
        max_message_size: int | None = None,
    ) -> None:
        wire = self.WIRE_WINDOW_SIZE_PERMISSIBLE_VALUES
        _check_bool("is_server", is_server)
        _check_bool("server_no_context_takeover", server_no_context_takeover)
        _check_bool("client_no_context_takeover", client_no_context_takeover)
        _check_bits("server_max_window_bits", server_max_window_bits, wire, True)
        _check_bits("client_max_window_bits", client_max_window_bits, wire, True)
        if mem_level:
            _check_mem_level(mem_level)
        _check_max_message_size(max_message_size)
        self.is_server = is_server
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits or self.DEFAULT_WINDOW_BITS
        self.client_max_window_bits = client_max_window_bits or self.DEFAULT_WINDOW_BITS
        self.mem_level = mem_level or self.DEFAULT_MEM_LEVEL
        self.max_message_size = max_message_size

    @classmethod
    def create_from_offer_accept(
        cls, is_server: bool, accept: PerMessageDeflateOfferAccept
    ) -> PerMessageDeflate:
        """The server's parameters once it accepted an offer (RFC 7692 §7.1):

        - server compresses with ``accept.window_bits``, else the offer's
          ``server_max_window_bits``, else 15; it resets its context if
          ``accept.no_context_takeover``, else if the offer asked for
          ``server_no_context_takeover``;
        - client compresses with ``accept.request_max_window_bits`` or 15, and resets
          if ``accept.request_no_context_takeover``.
        """
        if not isinstance(accept, PerMessageDeflateOfferAccept):
            raise InvalidTypeError(
                f"accept must be a PerMessageDeflateOfferAccept, not {type(accept).__name__}"
            )
        offer = accept.offer
        return cls(
            is_server,
            server_no_context_takeover=(
                accept.no_context_takeover
                if accept.no_context_takeover is not None
                else offer.request_no_context_takeover
            ),
            client_no_context_takeover=accept.request_no_context_takeover,
            server_max_window_bits=(
                accept.window_bits
                if accept.window_bits is not None
                else offer.request_max_window_bits
            ),
            client_max_window_bits=accept.request_max_window_bits,
            mem_level=accept.mem_level,
            max_message_size=accept.max_message_size,
        )

    @classmethod
    def create_from_response_accept(
        cls, is_server: bool, accept: PerMessageDeflateResponseAccept
    ) -> PerMessageDeflate:
        """The client's parameters once it took the server's response (RFC 7692 §7.1):

        - server: as the response says (``server_no_context_takeover``,
          ``server_max_window_bits`` or 15);
        - client compresses with ``accept.window_bits``, else the smaller of the
          response's ``client_max_window_bits`` and the offer's promise
          (``client_max_window_bits_hint``), else 15; it resets its context if the
          response asked, if ``accept.no_context_takeover``, or if the offer promised
          it (``accept_no_context_takeover``, sent as ``client_no_context_takeover``).

        The offer is ``accept.response.offer``, which :func:`negotiate_client` sets;
        without one only the response counts (AutobahnPython's behaviour).
        """
        if not isinstance(accept, PerMessageDeflateResponseAccept):
            raise InvalidTypeError(
                f"accept must be a PerMessageDeflateResponseAccept, not {type(accept).__name__}"
            )
        response = accept.response
        offer = response.offer
        promised_reset = offer is not None and offer.accept_no_context_takeover
        limits = [response.client_max_window_bits]
        if offer is not None:
            limits.append(offer.client_max_window_bits_hint)
        client_bits = min((bits for bits in limits if bits), default=0)
        return cls(
            is_server,
            server_no_context_takeover=response.server_no_context_takeover,
            client_no_context_takeover=(
                response.client_no_context_takeover
                or bool(accept.no_context_takeover)
                or promised_reset
            ),
            server_max_window_bits=response.server_max_window_bits,
            client_max_window_bits=(
                accept.window_bits if accept.window_bits is not None else client_bits
            ),
            mem_level=accept.mem_level,
            max_message_size=accept.max_message_size,
        )

    def outgoing(self) -> tuple[int, bool]:
        """``(window_bits, no_context_takeover)`` for our compressor.

        A server compresses with the ``server_*`` parameters, a client with the
        ``client_*`` ones (RFC 7692 §7.1.1, §7.1.2). ``window_bits`` is 9 to 15, what to
        give zlib for raw deflate (a negotiated 8 is 9: see the module doc);
        ``no_context_takeover`` True means: reset the compressor after every message.
        """
        if self.is_server:
            bits, reset = self.server_max_window_bits, self.server_no_context_takeover
        else:
            bits, reset = self.client_max_window_bits, self.client_no_context_takeover
        return _zlib_bits(bits), reset

    def incoming(self) -> tuple[int, bool]:
        """``(window_bits, no_context_takeover)`` for our decompressor.

        The peer's parameters: ``client_*`` for a server, ``server_*`` for a client.
        ``window_bits`` is 9 to 15 (an inflater with a larger window than the peer's
        reads its data just as well). ``no_context_takeover`` True means the peer
        resets after every message, so the inflater may be reset (and freed) after
        each message; False means it must keep its window from one message to the
        next.
        """
        if self.is_server:
            bits, reset = self.client_max_window_bits, self.client_no_context_takeover
        else:
            bits, reset = self.server_max_window_bits, self.server_no_context_takeover
        return _zlib_bits(bits), reset

    def __json__(self) -> dict[str, Any]:
        """The parameters as a plain dict (AutobahnPython's keys)."""
        return {
            "extension": self.EXTENSION_NAME,
            "is_server": self.is_server,
            "server_no_context_takeover": self.server_no_context_takeover,
            "client_no_context_takeover": self.client_no_context_takeover,
            "server_max_window_bits": self.server_max_window_bits,
            "client_max_window_bits": self.client_max_window_bits,
            "mem_level": self.mem_level,
        }

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflate(is_server={self.is_server}"
            f", server_no_context_takeover={self.server_no_context_takeover}"
            f", client_no_context_takeover={self.client_no_context_takeover}"
            f", server_max_window_bits={self.server_max_window_bits}"
            f", client_max_window_bits={self.client_max_window_bits}"
            f", mem_level={self.mem_level}, max_message_size={self.max_message_size})"
        )


PERMESSAGE_COMPRESSION_EXTENSION: dict[str, dict[str, type]] = {
    PerMessageDeflateMixin.EXTENSION_NAME: {
        "Offer": PerMessageDeflateOffer,
        "OfferAccept": PerMessageDeflateOfferAccept,
        "Response": PerMessageDeflateResponse,
        "ResponseAccept": PerMessageDeflateResponseAccept,
        "PMCE": PerMessageDeflate,
    }
}
"""The extensions known, by name: the classes playing each role (AutobahnPython's
table; only permessage-deflate here)."""


# --- the handshake's use of all this --------------------------------------------------

OfferAcceptCallback = Callable[
    [list[PerMessageDeflateOffer]], Optional[PerMessageCompressOfferAccept]
]
"""A server's ``perMessageCompressionAccept``: offers in, an accept or ``None`` out."""

ResponseAcceptCallback = Callable[
    [PerMessageDeflateResponse], Optional[PerMessageCompressResponseAccept]
]
"""A client's ``perMessageCompressionAccept``: the response in, an accept or ``None``
out."""


def negotiate_server(
    offers: ExtensionList,
    accept_callback: OfferAcceptCallback,
    declined: list[PerMessageCompressError] | None = None,
) -> tuple[PerMessageDeflateOfferAccept | None, str | None, PerMessageDeflate | None]:
    """Run a server's side of the negotiation.

    ``offers`` is the request's ``Sec-WebSocket-Extensions`` as parsed: ``[(name,
    params)]`` with ``params`` as ``{param: [values]}`` (``ConnectionRequest.extensions``)
    or ``[(param, value or None)]`` (``ferrobahn._core.parse_extensions``).
    ``accept_callback`` is the factory's ``perMessageCompressionAccept``.

    Every ``permessage-deflate`` offer (name compared without regard to case) is
    parsed; one that is malformed is declined (RFC 7692 §5), and its
    :class:`PerMessageCompressError` appended to ``declined`` if given (for the log).
    Other extensions are ignored. If valid offers remain, ``accept_callback`` is called
    once with all of them, in the client's order.

    Returns ``(accept, header, pmce)``:

    - ``(None, None, None)``: no compression. No usable offer (the callback is not
      called), or the callback returned ``None``. Send no ``Sec-WebSocket-Extensions``.
    - otherwise ``accept`` is the callback's :class:`PerMessageDeflateOfferAccept`,
      ``header`` the ``Sec-WebSocket-Extensions`` value to put in the 101 response, and
      ``pmce`` the connection's :class:`PerMessageDeflate` (``is_server`` True): put it
      in ``websocket_extensions_in_use``, set up the core from ``pmce.outgoing()``,
      ``pmce.incoming()``, ``pmce.mem_level`` and ``pmce.max_message_size``, and accept
      RSV1 on incoming data frames.

    Raises :class:`~ferrobahn.exception.InvalidTypeError` if the callback returns
    something other than ``None`` or a ``PerMessageDeflateOfferAccept``, and
    :class:`~ferrobahn.exception.InvalidValueError` if that accept is for an offer the
    callback was not given; exceptions from the callback propagate. All three are bugs
    of the application: answer 500, not 400.
    """
    parsed: list[PerMessageDeflateOffer] = []
    name_wanted = PerMessageDeflateMixin.EXTENSION_NAME
    for name, params in offers:
        if name.lower() != name_wanted:
            continue
        try:
            parsed.append(PerMessageDeflateOffer.parse(_param_table(params)))
        except PerMessageCompressError as error:
            if declined is not None:
                declined.append(error)
    if not parsed:
        return None, None, None
    accept = accept_callback(parsed)
    if accept is None:
        return None, None, None
    if not isinstance(accept, PerMessageDeflateOfferAccept):
        raise InvalidTypeError(
            "perMessageCompressionAccept must return a PerMessageDeflateOfferAccept or "
            f"None, not {type(accept).__name__}"
        )
    if not any(accept.offer is offer for offer in parsed):
        raise InvalidValueError(
            "perMessageCompressionAccept returned an accept for an offer the client did "
            "not make (build it from one of the offers it receives)"
        )
    pmce = PerMessageDeflate.create_from_offer_accept(True, accept)
    return accept, accept.get_extension_string(), pmce


def offers_header(offers: Iterable[PerMessageCompressOffer]) -> str:
    """The ``Sec-WebSocket-Extensions`` value of a client's request.

    ``offers`` is ``perMessageCompressionOffers``: ``PerMessageDeflateOffer`` objects,
    most preferred first. Returns their strings joined with ``", "``, or ``""`` for no
    offers (send no header then). Raises
    :class:`~ferrobahn.exception.InvalidTypeError` for anything else in the list.
    """
    strings = []
    for offer in offers:
        if not isinstance(offer, PerMessageDeflateOffer):
            raise InvalidTypeError(
                "perMessageCompressionOffers must hold PerMessageDeflateOffer objects, "
                f"not {type(offer).__name__}"
            )
        strings.append(offer.get_extension_string())
    return ", ".join(strings)


def _mismatch(response: PerMessageDeflateResponse, offer: PerMessageDeflateOffer) -> str | None:
    """Why ``response`` cannot be the server's answer to ``offer`` (None if it can)."""
    if offer.request_no_context_takeover and not response.server_no_context_takeover:
        return "server_no_context_takeover was requested and not confirmed"
    asked = offer.request_max_window_bits
    if asked and not response.server_max_window_bits:
        return f"server_max_window_bits={asked} was requested and not confirmed"
    if asked and response.server_max_window_bits > asked:
        return (
            f"server_max_window_bits={response.server_max_window_bits} is more than the "
            f"{asked} requested"
        )
    if response.client_max_window_bits:
        if not offer.accept_max_window_bits:
            return "client_max_window_bits was not offered"
        hint = offer.client_max_window_bits_hint
        if hint and response.client_max_window_bits > hint:
            return (
                f"client_max_window_bits={response.client_max_window_bits} is more than "
                f"the {hint} offered"
            )
    return None


def negotiate_client(
    response_extensions: ExtensionList,
    accept_callback: ResponseAcceptCallback,
    offers: Sequence[PerMessageCompressOffer],
) -> PerMessageDeflate | None:
    """Run a client's side of the negotiation, once the 101 response has arrived.

    ``response_extensions`` is the response's ``Sec-WebSocket-Extensions`` as parsed
    (``[(name, params)]``, ``params`` in either shape, as for :func:`negotiate_server`;
    empty if the header is absent). ``accept_callback`` is the factory's
    ``perMessageCompressionAccept``; ``offers`` its ``perMessageCompressionOffers``,
    i.e. what the request offered.

    Returns ``None`` if the server accepted no extension: no compression either way.
    Otherwise the response is parsed, matched against the offers (the first one it
    answers is taken), handed to ``accept_callback``, and the connection's
    :class:`PerMessageDeflate` (``is_server`` False) is returned: put it in
    ``websocket_extensions_in_use`` and ``ConnectionResponse.extensions``, set up the
    core from ``outgoing()``, ``incoming()``, ``mem_level`` and ``max_message_size``,
    and accept RSV1 on incoming data frames.

    Raises :class:`PerMessageCompressError` — the client must then fail the
    connection (RFC 7692 §5, RFC 6455 §4.1) — when the response names an extension
    other than permessage-deflate or names it twice, when no offer was made, when a
    parameter is unknown, repeated or has a bad value (also ``client_max_window_bits``
    without a value), when it answers none of the offers (:class:`NegotiationError`
    says why, for the first offer), or when ``accept_callback`` returns ``None``.
    Raises :class:`~ferrobahn.exception.InvalidTypeError` /
    :class:`~ferrobahn.exception.InvalidValueError` for a bad ``offers`` entry or an
    accept that is not a ``PerMessageDeflateResponseAccept`` for this response.
    """
    offered: list[PerMessageDeflateOffer] = []
    for offer in offers:
        if not isinstance(offer, PerMessageDeflateOffer):
            raise InvalidTypeError(
                "perMessageCompressionOffers must hold PerMessageDeflateOffer objects, "
                f"not {type(offer).__name__}"
            )
        offered.append(offer)
    name_wanted = PerMessageDeflateMixin.EXTENSION_NAME
    pmce: PerMessageDeflate | None = None
    for name, params in response_extensions:
        if name.lower() != name_wanted:
            raise NegotiationError(f"the server accepted {name!r}, which was not offered")
        if pmce is not None:
            raise NegotiationError("the server accepted permessage-deflate twice")
        if not offered:
            raise NegotiationError("the server accepted permessage-deflate, which was not offered")
        response = PerMessageDeflateResponse.parse(_param_table(params))
        first_reason = None
        for offer in offered:
            reason = _mismatch(response, offer)
            if reason is None:
                response.offer = offer
                break
            if first_reason is None:
                first_reason = reason
        else:
            raise NegotiationError(
                f"the server's permessage-deflate response answers no offer: {first_reason}"
            )
        accept = accept_callback(response)
        if accept is None:
            raise NegotiationError(
                "perMessageCompressionAccept refused the server's permessage-deflate response"
            )
        if not isinstance(accept, PerMessageDeflateResponseAccept):
            raise InvalidTypeError(
                "perMessageCompressionAccept must return a PerMessageDeflateResponseAccept "
                f"or None, not {type(accept).__name__}"
            )
        if accept.response is not response:
            raise InvalidValueError(
                "perMessageCompressionAccept returned an accept for another response"
            )
        pmce = PerMessageDeflate.create_from_response_accept(False, accept)
    return pmce
