"""The tester's own permessage-deflate (RFC 7692) for groups 12 and 13: negotiation
in both roles and the codec, on Python's :mod:`zlib`. Like ``frames.py`` it shares
nothing with ferrobahn's implementation (``websocket/compress.py`` and the Rust
core), so that ferrobahn is never judged by its own code.

Negotiation follows the Autobahn|Testsuite's 13.x parameter sets:

- as a **client** (``fuzzingclient``) the tester sends the case's offers, written
  the way AutobahnPython writes them (:meth:`Offer.header`), and checks the
  server's answer against RFC 7692 §7 (it must answer one of the offers: every
  ``server_*`` parameter that offer asked for confirmed, no
  ``client_max_window_bits`` unless offered, no window larger than asked). A
  response that breaks these rules fails the opening handshake.
- as a **server** (``fuzzingserver``) it reads the client's offers (a malformed one
  refuses the handshake, as the original does) and answers with the case's accept
  rule (:data:`ACCEPTS`), the original's 13.x server rules with window bits 9 (the
  suite's value since 2021: zlib cannot compress raw deflate with 8).

The negotiated parameters (:class:`Params`) are then applied as AutobahnPython
applies them, the response alone deciding: each side compresses with its own
``*_no_context_takeover`` and ``*_max_window_bits`` (15 when absent) and inflates
with its peer's. So, as in the original, the ``client_no_context_takeover`` of the
tester's offers (every 13.x offer has it) only lets the server ask for it: unless
the response does, the tester keeps its context, and a server's inflater is
tested with context takeover. (RFC 7692 §7.1.1.2 calls that offer parameter a
hint that the client will not use it; a server that relied on the hint would fail
here, as it would fail the original.) The inflater is strict: it drops its window after each message
when the peer agreed to no context takeover, and inflates with exactly the peer's
window, so a peer that breaks its side of the agreement fails to inflate ("invalid
distance too far back") instead of passing unnoticed.

Codec details: a message is compressed with ``Z_SYNC_FLUSH`` and sent without the
final ``00 00 ff ff``; a received message gets that tail back before the last
inflate. A DEFLATE block with BFINAL set ends zlib's stream; the inflater then
starts a new one primed with the window so far, so context takeover survives it.
Inflation is bounded (``limit``), so a peer cannot make the tester allocate without
bound. A window of 8 (RFC 7692 allows it, zlib cannot compress with it) is
inflated as 8 and compressed with 9, whose matches never reach further than 250
bytes back (zlib's ``MAX_DIST``), inside a 256-byte window.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

EXTENSION = "permessage-deflate"
TAIL = b"\x00\x00\xff\xff"
WINDOW_BITS = range(8, 16)
DEFAULT_BITS = 15

SERVER_NO_CONTEXT_TAKEOVER = "server_no_context_takeover"
CLIENT_NO_CONTEXT_TAKEOVER = "client_no_context_takeover"
SERVER_MAX_WINDOW_BITS = "server_max_window_bits"
CLIENT_MAX_WINDOW_BITS = "client_max_window_bits"
PARAMETERS = (
    SERVER_NO_CONTEXT_TAKEOVER,
    CLIENT_NO_CONTEXT_TAKEOVER,
    SERVER_MAX_WINDOW_BITS,
    CLIENT_MAX_WINDOW_BITS,
)


class NegotiationError(Exception):
    """An extension header, offer or response that breaks RFC 6455 §9.1 / RFC 7692."""


class DeflateError(Exception):
    """Compressed data the tester cannot inflate (within its limit)."""


# ------------------------------------------------------------------ header syntax

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SPACE = re.compile(r"[ \t]*")

Param = tuple[str, "str | None"]


def parse_extensions(header: str) -> list[tuple[str, list[Param]]]:
    """``Sec-WebSocket-Extensions`` as ``[(name, [(param, value or None)])]``,
    names and parameters lower-cased, quoted values unquoted (RFC 6455 §9.1)."""
    out: list[tuple[str, list[Param]]] = []
    pos = 0

    def skip() -> None:
        nonlocal pos
        match = _SPACE.match(header, pos)
        pos = match.end() if match else pos

    def token(what: str) -> str:
        nonlocal pos
        skip()
        match = _TOKEN.match(header, pos)
        if not match:
            raise NegotiationError(f"expected {what} at {header[pos:]!r} in {header!r}")
        pos = match.end()
        return match.group().lower()

    while True:
        name = token("an extension name")
        params: list[Param] = []
        skip()
        while header.startswith(";", pos):
            pos += 1
            param = token("a parameter name")
            value: str | None = None
            skip()
            if header.startswith("=", pos):
                pos += 1
                skip()
                quoted = _QUOTED.match(header, pos)
                if quoted:
                    value = re.sub(r"\\(.)", r"\1", quoted.group(1))
                    pos = quoted.end()
                else:
                    value = token("a parameter value")
                skip()
            params.append((param, value))
        out.append((name, params))
        if pos == len(header):
            return out
        if not header.startswith(",", pos):
            raise NegotiationError(f"unexpected {header[pos:]!r} in {header!r}")
        pos += 1


def _table(params: Sequence[Param]) -> dict[str, str | None]:
    """Parameters by name: unknown or repeated ones are errors (RFC 7692 §7)."""
    table: dict[str, str | None] = {}
    for name, value in params:
        if name not in PARAMETERS:
            raise NegotiationError(f"unknown permessage-deflate parameter {name!r}")
        if name in table:
            raise NegotiationError(f"permessage-deflate parameter {name!r} given twice")
        table[name] = value
    return table


def _flag(table: dict[str, str | None], name: str) -> bool:
    if name not in table:
        return False
    if table[name] is not None:
        raise NegotiationError(f"{name} takes no value, got {table[name]!r}")
    return True


def _bits(table: dict[str, str | None], name: str, *, bare_ok: bool = False) -> int | None:
    """A window-bits parameter: None if absent, 0 if bare (where allowed), else 8-15
    written as a plain decimal number."""
    if name not in table:
        return None
    value = table[name]
    if value is None:
        if bare_ok:
            return 0
        raise NegotiationError(f"{name} needs a value here")
    if not re.fullmatch(r"[1-9][0-9]?", value) or int(value) not in WINDOW_BITS:
        raise NegotiationError(f"{name}={value!r} is not a window size from 8 to 15")
    return int(value)


def _write(*params: tuple[str, bool | int]) -> str:
    """An extension element: the name, then each parameter that is set, a flag
    (``True``) bare, a window size (non-zero) with its value."""
    parts = [EXTENSION]
    for name, value in params:
        if value is True:
            parts.append(name)
        elif value:
            parts.append(f"{name}={value}")
    return "; ".join(parts)


# ------------------------------------------------------------------ offers and answers


@dataclass(frozen=True)
class Offer:
    """One permessage-deflate offer, with AutobahnPython's four knobs (the names the
    original's 13.x descriptions use)."""

    #: ``client_no_context_takeover``: the server may ask the client for it.
    accept_no_context_takeover: bool = True
    #: ``client_max_window_bits`` (no value): the server may limit the client's window.
    accept_max_window_bits: bool = True
    #: ``server_no_context_takeover``: the server must not use context takeover.
    request_no_context_takeover: bool = False
    #: ``server_max_window_bits=N`` (0: not asked).
    request_max_window_bits: int = 0

    def header(self) -> str:
        """This offer as AutobahnPython writes it."""
        return _write(
            (CLIENT_NO_CONTEXT_TAKEOVER, self.accept_no_context_takeover),
            (CLIENT_MAX_WINDOW_BITS, self.accept_max_window_bits),
            (SERVER_NO_CONTEXT_TAKEOVER, self.request_no_context_takeover),
            (SERVER_MAX_WINDOW_BITS, self.request_max_window_bits),
        )

    @classmethod
    def parse(cls, params: Sequence[Param]) -> Offer:
        """A client's offer (``client_max_window_bits`` may come bare or with a
        value; a value is only a hint, which the tester may ignore)."""
        table = _table(params)
        return cls(
            accept_no_context_takeover=_flag(table, CLIENT_NO_CONTEXT_TAKEOVER),
            accept_max_window_bits=_bits(table, CLIENT_MAX_WINDOW_BITS, bare_ok=True) is not None,
            request_no_context_takeover=_flag(table, SERVER_NO_CONTEXT_TAKEOVER),
            request_max_window_bits=_bits(table, SERVER_MAX_WINDOW_BITS) or 0,
        )

    def describe(self) -> str:
        """``(requestNoContextTakeover, requestMaxWindowBits)`` as the original
        describes an offer."""
        return f"({self.request_no_context_takeover}, {self.request_max_window_bits})"


@dataclass(frozen=True)
class Params:
    """What both sides agreed on (absent window sizes are 15)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = DEFAULT_BITS
    client_max_window_bits: int = DEFAULT_BITS

    def __str__(self) -> str:
        """Every parameter, written as in a header (the field names are theirs)."""
        return _write(*((f.name, getattr(self, f.name)) for f in fields(self)))


def offers_header(offers: Sequence[Offer]) -> str:
    return ", ".join(offer.header() for offer in offers)


def _answers(offer: Offer, table: dict[str, str | None]) -> str | None:
    """Why a response (its parameter table) cannot answer ``offer``, or None."""
    server_bits = _bits(table, SERVER_MAX_WINDOW_BITS)
    if offer.request_no_context_takeover and not _flag(table, SERVER_NO_CONTEXT_TAKEOVER):
        return "it lacks the server_no_context_takeover the offer asked for"
    asked = offer.request_max_window_bits
    if asked and server_bits is None:
        return f"it lacks the server_max_window_bits={asked} asked for"
    if asked and server_bits is not None and server_bits > asked:
        return f"server_max_window_bits={server_bits} is above the {asked} asked for"
    if CLIENT_MAX_WINDOW_BITS in table and not offer.accept_max_window_bits:
        return "it has client_max_window_bits, which the offer did not allow"
    return None


def negotiated_by_response(offers: Sequence[Offer], header: str) -> Params:
    """The client's side: read the server's ``Sec-WebSocket-Extensions`` answer to
    ``offers``. Raises :class:`NegotiationError` unless it is exactly one
    permessage-deflate extension that answers one of the offers."""
    extensions = parse_extensions(header)
    if len(extensions) != 1 or extensions[0][0] != EXTENSION:
        raise NegotiationError(f"the response {header!r} is not one {EXTENSION} extension")
    table = _table(extensions[0][1])
    params = Params(
        server_no_context_takeover=_flag(table, SERVER_NO_CONTEXT_TAKEOVER),
        client_no_context_takeover=_flag(table, CLIENT_NO_CONTEXT_TAKEOVER),
        server_max_window_bits=_bits(table, SERVER_MAX_WINDOW_BITS) or DEFAULT_BITS,
        client_max_window_bits=_bits(table, CLIENT_MAX_WINDOW_BITS) or DEFAULT_BITS,
    )
    problems = [_answers(offer, table) for offer in offers]
    if all(problems):
        raise NegotiationError(f"the response {header!r} answers no offer: {problems[0]}")
    return params


def client_offers(header: str | None) -> list[Offer]:
    """The server's side: the client's permessage-deflate offers, in its order
    (other extensions are ignored). Raises :class:`NegotiationError` for a header
    or an offer that cannot be read."""
    if not header:
        return []
    return [Offer.parse(params) for name, params in parse_extensions(header) if name == EXTENSION]


@dataclass(frozen=True)
class Accept:
    """How the tester, as a server, accepts one offer: what it asks of the client
    on top of what the offer asked of the server (AutobahnPython's
    ``PerMessageDeflateOfferAccept``)."""

    offer: Offer
    request_no_context_takeover: bool = False
    request_max_window_bits: int = 0

    def params(self) -> Params:
        return Params(
            server_no_context_takeover=self.offer.request_no_context_takeover,
            client_no_context_takeover=self.request_no_context_takeover,
            server_max_window_bits=self.offer.request_max_window_bits or DEFAULT_BITS,
            client_max_window_bits=self.request_max_window_bits or DEFAULT_BITS,
        )

    def header(self) -> str:
        """The response, written as AutobahnPython writes it (what the offer asked
        of the server echoed, then what the server asks of the client)."""
        return _write(
            (SERVER_NO_CONTEXT_TAKEOVER, self.offer.request_no_context_takeover),
            (SERVER_MAX_WINDOW_BITS, self.offer.request_max_window_bits),
            (CLIENT_NO_CONTEXT_TAKEOVER, self.request_no_context_takeover),
            (CLIENT_MAX_WINDOW_BITS, self.request_max_window_bits),
        )


AcceptRule = Callable[[Sequence[Offer]], "Accept | None"]


def accept_rule(no_context_takeover: bool, window_bits: int) -> AcceptRule:
    """The original's 13.x server rule ``(requestNoContextTakeover,
    requestMaxWindowBits)``: accept the first offer that lets the server ask the
    client for what it asks (no context takeover, a window), or None."""

    def accept(offers: Sequence[Offer]) -> Accept | None:
        for offer in offers:
            if no_context_takeover and not offer.accept_no_context_takeover:
                continue
            if window_bits and not offer.accept_max_window_bits:
                continue
            return Accept(offer, no_context_takeover, window_bits)
        return None

    return accept


def first_of(*rules: AcceptRule) -> AcceptRule:
    """The first rule that accepts an offer (the original's 13.7)."""

    def accept(offers: Sequence[Offer]) -> Accept | None:
        for rule in rules:
            found = rule(offers)
            if found is not None:
                return found
        return None

    return accept


@dataclass(frozen=True)
class Negotiation:
    """A 12.x/13.x case's negotiation: what the tester offers as a client, how it
    answers a client as a server, and how the original describes both."""

    offers: tuple[Offer, ...]
    accept: AcceptRule
    text: str


# ------------------------------------------------------------------ the codec


def _zlib_compress_bits(bits: int) -> int:
    return 9 if bits == 8 else bits


class Deflate:
    """The tester's compressor and inflater on one connection, configured from
    the negotiated :class:`Params` for its role."""

    def __init__(self, params: Params, *, is_server: bool) -> None:
        self.params = params
        if is_server:
            own = params.server_no_context_takeover, params.server_max_window_bits
            peer = params.client_no_context_takeover, params.client_max_window_bits
        else:
            own = params.client_no_context_takeover, params.client_max_window_bits
            peer = params.server_no_context_takeover, params.server_max_window_bits
        self._own_reset, self._own_bits = own[0], _zlib_compress_bits(own[1])
        self._peer_reset, self._peer_bits = peer
        self._deflater: zlib._Compress | None = None
        self._inflater = self._new_inflater()
        #: The last 2**bits bytes inflated (to carry the window over a BFINAL block).
        self._window = b""
        self._message_out = 0
        #: Statistics for the report: bytes compressed (in, out), inflated (in, out).
        self.compressed = [0, 0]
        self.inflated = [0, 0]

    def compress(self, data: bytes) -> bytes:
        """One message's compressed payload (without the ``00 00 ff ff`` tail)."""
        if self._deflater is None or self._own_reset:
            self._deflater = zlib.compressobj(
                zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self._own_bits
            )
        out = self._deflater.compress(data) + self._deflater.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        self.compressed[0] += len(data)
        self.compressed[1] += len(out) - len(TAIL)
        return out[: -len(TAIL)]

    def _new_inflater(self, window: bytes = b"") -> zlib._Decompress:
        if window:
            return zlib.decompressobj(-self._peer_bits, zdict=window)
        return zlib.decompressobj(-self._peer_bits)

    def begin_message(self) -> None:
        """A compressed message starts: a peer without context takeover starts
        from an empty window."""
        if self._peer_reset:
            self._inflater = self._new_inflater()
            self._window = b""
        self._message_out = 0

    def inflate(self, data: bytes, limit: int, *, last: bool = False) -> bytes:
        """Inflate the next compressed piece of the message (``last``: its final
        piece, to which the tail is added). Raises :class:`DeflateError` when the
        data is not valid deflate, reaches further back than the peer's window, or
        the message would exceed ``limit`` bytes.

        zlib only refuses a distance beyond its window when the match reaches back
        before the current call's output, so output is drawn in chunks of a
        quarter window: a match up to 1.25 windows back can pass unnoticed, any
        further one cannot."""
        self.inflated[0] += len(data)
        pending = data + TAIL if last else data
        chunk = max((1 << self._peer_bits) // 4, 64)
        out = bytearray()
        while True:
            want = min(chunk, limit - self._message_out - len(out) + 1)
            try:
                piece = self._inflater.decompress(pending, want)
            except zlib.error as exc:
                raise DeflateError(f"cannot inflate: {exc}") from None
            out += piece
            if self._message_out + len(out) > limit:
                raise DeflateError(f"the message inflates to more than {limit} bytes")
            if self._inflater.eof:
                # A BFINAL block ended zlib's stream; what follows starts a new one.
                pending = self._inflater.unused_data
                self._inflater = self._new_inflater(self._keep(bytes(out)))
                if last and pending == TAIL:
                    pending = b""
                if not pending:
                    break
            else:
                pending = self._inflater.unconsumed_tail
                if not pending and len(piece) < want:
                    break
        self._message_out += len(out)
        self.inflated[1] += len(out)
        self._window = self._keep(bytes(out))
        return bytes(out)

    def _keep(self, out: bytes) -> bytes:
        """The inflater's window once ``out`` is inflated."""
        return (self._window + out)[-(1 << self._peer_bits) :]

    def statistics(self) -> str:
        """What went through the codec, for the report."""

        (plain, packed), (unpacked, inflated) = self.compressed, self.inflated
        return (
            f"compressed {plain} to {packed} bytes ({plain / max(packed, 1):.2f}x), "
            f"inflated {unpacked} to {inflated} bytes ({inflated / max(unpacked, 1):.2f}x); "
            f"agreed: {self.params}"
        )
