"""permessage-deflate negotiation (ferrobahn.websocket.compress): RFC 7692 §7 in both
roles, strict parameter parsing, AutobahnPython's API, and agreement with websockets.

The Rust compressor is not used here: a small zlib stand-in (``ZlibPeer``) compresses and
inflates with what ``outgoing()`` / ``incoming()`` say, so every negotiated configuration
is also checked by actually exchanging messages that break on a wrong window size or a
wrong context-takeover setting.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import pickle
import random
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Optional

import pytest
from autobahn.websocket import compress as ab
from websockets.exceptions import NegotiationError as WsNegotiationError
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate as WsPerMessageDeflate,
)
from websockets.frames import Frame, Opcode
from websockets.headers import build_extension, parse_extension

from ferrobahn import _core
from ferrobahn.exception import InvalidTypeError, InvalidValueError
from ferrobahn.websocket import compress
from ferrobahn.websocket.compress import (
    PERMESSAGE_COMPRESSION_EXTENSION,
    DuplicateParameterError,
    InvalidParameterValueError,
    NegotiationError,
    PerMessageCompress,
    PerMessageCompressError,
    PerMessageCompressOffer,
    PerMessageCompressOfferAccept,
    PerMessageCompressResponse,
    PerMessageCompressResponseAccept,
    PerMessageDeflate,
    PerMessageDeflateOffer,
    PerMessageDeflateOfferAccept,
    PerMessageDeflateResponse,
    PerMessageDeflateResponseAccept,
    UnknownParameterError,
    negotiate_client,
    negotiate_server,
    offers_header,
)

Offer = PerMessageDeflateOffer
OfferAccept = PerMessageDeflateOfferAccept
ResponseAccept = PerMessageDeflateResponseAccept
Direction = tuple[int, bool]  # (window bits, no context takeover)
AcceptFn = Callable[[list[PerMessageDeflateOffer]], Optional[PerMessageDeflateOfferAccept]]

TAIL = b"\x00\x00\xff\xff"

# --- a zlib stand-in for the core, and messages that catch wrong parameters -----------


def _messages() -> list[bytes]:
    """Three messages. The second repeats the first (a compressor keeping its context
    refers back into the previous message); the third repeats 16 bytes at the largest
    distance each window size 9..15 can reach (2**k - 262), so inflating with a smaller
    window than the compressor's fails."""
    rnd = random.Random(7692)
    first = rnd.randbytes(3000)
    third = bytearray()
    for k in range(9, 16):
        # The filler compresses (4 letters), so zlib writes Huffman blocks, not stored
        # ones, which would carry no back-reference at all.
        block = rnd.randbytes(16)
        filler = bytes(rnd.choices(b"abcd", k=2**k - 262 - 16))
        third += block + filler + block
    return [first, first, bytes(third)]


MESSAGES = _messages()


def inflate_in_pieces(inflater: Any, data: bytes, piece: int) -> bytes:
    """Inflate ``data`` producing at most ``piece`` bytes per call. zlib checks a
    back-reference against its window only across calls (within one output buffer it
    reaches back as far as the buffer goes), so this is what makes a too-small window
    fail, as it does in a bounded inflater."""
    out = bytearray(inflater.decompress(data, piece))
    while True:
        chunk = inflater.decompress(inflater.unconsumed_tail, piece)
        if not chunk:
            return bytes(out)
        out += chunk


class ZlibPeer:
    """Compresses with ``pmce.outgoing()`` and inflates with ``pmce.incoming()``, the
    way the core is told to (output in 64-byte pieces)."""

    def __init__(self, pmce: PerMessageDeflate) -> None:
        self.out_bits, self.out_reset = pmce.outgoing()
        self.in_bits, self.in_reset = pmce.incoming()
        self.mem_level = pmce.mem_level
        self._compressor: Any = None
        self._decompressor: Any = None

    def compress(self, data: bytes) -> bytes:
        if self._compressor is None or self.out_reset:
            self._compressor = zlib.compressobj(6, zlib.DEFLATED, -self.out_bits, self.mem_level)
        out = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[:-4]

    def inflate(self, data: bytes) -> bytes:
        if self._decompressor is None or self.in_reset:
            self._decompressor = zlib.decompressobj(-self.in_bits)
        return inflate_in_pieces(self._decompressor, data + TAIL, 64)


def exchange(sender: Any, receiver: Any) -> None:
    """Every message survives ``sender.compress`` then ``receiver.inflate``."""
    for message in MESSAGES:
        assert receiver.inflate(sender.compress(message)) == message


class RawZlib:
    """A peer set up by hand: (bits, reset) for each direction."""

    def __init__(self, out: Direction, inn: Direction) -> None:
        self.out_bits, self.out_reset = out
        self.in_bits, self.in_reset = inn
        self.mem_level = 8
        self._compressor: Any = None
        self._decompressor: Any = None

    compress = ZlibPeer.compress
    inflate = ZlibPeer.inflate


_exchanged: set[tuple[Direction, Direction]] = set()


def check_direction(out: Direction, inn: Direction) -> None:
    """Messages compressed with ``out`` inflate with ``inn`` (each pair checked once)."""
    if (out, inn) in _exchanged:
        return
    exchange(RawZlib(out, (15, False)), RawZlib((15, False), inn))
    _exchanged.add((out, inn))


def check_connection(server: PerMessageDeflate, client: PerMessageDeflate) -> None:
    assert server.is_server and not client.is_server
    check_direction(server.outgoing(), client.incoming())
    check_direction(client.outgoing(), server.incoming())


def test_the_stand_in_catches_wrong_parameters() -> None:
    """The harness has teeth: a too-small window and a lost context both fail."""
    for k in range(10, 16):
        with pytest.raises(zlib.error):
            exchange(RawZlib((k, False), (15, False)), RawZlib((15, False), (k - 1, False)))
    with pytest.raises(zlib.error):
        exchange(RawZlib((15, False), (15, False)), RawZlib((15, False), (15, True)))
    # A compressor that resets is read by an inflater that does not, and vice versa for
    # window sizes: the safe directions.
    exchange(RawZlib((15, True), (15, False)), RawZlib((15, False), (15, False)))
    exchange(RawZlib((9, False), (15, False)), RawZlib((15, False), (15, False)))


def test_window_bits_8_is_served_by_compressing_with_9() -> None:
    """zlib cannot compress raw deflate with an 8-bit window; with 9 it never refers
    further back than 2**9 - 262 = 250 bytes, so a peer inflating with a 256-byte
    window reads it (inflated one byte per call, so every reference meets the window)."""
    with pytest.raises(ValueError):
        zlib.compressobj(6, zlib.DEFLATED, -8)
    rnd = random.Random(8)

    def letters(n: int) -> bytes:  # compressible: Huffman blocks, not stored ones
        return bytes(rnd.choices(b"abcdefgh", k=n))

    def sample() -> bytes:
        base = rnd.randbytes(rnd.randint(1, 40)) + letters(rnd.randint(1, 300))
        return b"".join(base if rnd.random() < 0.5 else letters(200) for _ in range(12))

    for level, mem_level in itertools.product((1, 6, 9), (1, 8, 9)):
        compressor = zlib.compressobj(level, zlib.DEFLATED, -9, mem_level)
        inflater = zlib.decompressobj(-8)
        for _ in range(4):
            data = sample()
            wire = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
            assert inflate_in_pieces(inflater, wire, 1) == data
    # The check has teeth: a 10-bit window is too much for an 8-bit inflater.
    compressor = zlib.compressobj(6, zlib.DEFLATED, -10)
    block = rnd.randbytes(16)
    data = block + letters(600) + block
    wire = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    with pytest.raises(zlib.error):
        inflate_in_pieces(zlib.decompressobj(-8), wire, 1)


# --- exports --------------------------------------------------------------------------


def test_exports_and_registry() -> None:
    for name in compress.__all__:
        assert hasattr(compress, name), name
    assert list(PERMESSAGE_COMPRESSION_EXTENSION) == ["permessage-deflate"]
    assert PERMESSAGE_COMPRESSION_EXTENSION["permessage-deflate"] == {
        "Offer": PerMessageDeflateOffer,
        "OfferAccept": PerMessageDeflateOfferAccept,
        "Response": PerMessageDeflateResponse,
        "ResponseAccept": PerMessageDeflateResponseAccept,
        "PMCE": PerMessageDeflate,
    }
    assert issubclass(PerMessageDeflateOffer, PerMessageCompressOffer)
    assert issubclass(PerMessageDeflateOfferAccept, PerMessageCompressOfferAccept)
    assert issubclass(PerMessageDeflateResponse, PerMessageCompressResponse)
    assert issubclass(PerMessageDeflateResponseAccept, PerMessageCompressResponseAccept)
    assert issubclass(PerMessageDeflate, PerMessageCompress)
    for cls in (UnknownParameterError, DuplicateParameterError, InvalidParameterValueError):
        assert issubclass(cls, PerMessageCompressError)
    assert issubclass(NegotiationError, PerMessageCompressError)
    assert issubclass(PerMessageCompressError, ValueError)
    assert Offer.EXTENSION_NAME == "permessage-deflate"
    assert (
        Offer.WINDOW_SIZE_PERMISSIBLE_VALUES
        == ab.PerMessageDeflateOffer.WINDOW_SIZE_PERMISSIBLE_VALUES
    )
    assert (
        Offer.MEM_LEVEL_PERMISSIBLE_VALUES == ab.PerMessageDeflateOffer.MEM_LEVEL_PERMISSIBLE_VALUES
    )
    assert list(range(8, 16)) == Offer.WIRE_WINDOW_SIZE_PERMISSIBLE_VALUES
    assert PerMessageDeflate.DEFAULT_WINDOW_BITS == 15
    assert PerMessageDeflate.DEFAULT_MEM_LEVEL == 8


# --- the handshake, end to end through the core's header parser ------------------------


def default_client_accept(response: PerMessageDeflateResponse) -> ResponseAccept:
    return ResponseAccept(response)


def handshake(
    offers: Sequence[PerMessageDeflateOffer],
    server_accept: AcceptFn,
    client_accept: Callable[[PerMessageDeflateResponse], Any] = default_client_accept,
) -> tuple[str, str | None, PerMessageDeflate | None, PerMessageDeflate | None]:
    """Client offers → header → server → header → client, as the protocol layer will."""
    request = offers_header(offers)
    accept, response, server = negotiate_server(_core.parse_extensions(request), server_accept)
    assert (accept is None) == (response is None) == (server is None)
    received = _core.parse_extensions(response) if response is not None else []
    client = negotiate_client(received, client_accept, offers)
    assert (client is None) == (server is None)
    return request, response, server, client


def first(**kwargs: Any) -> AcceptFn:
    """A server accept callback: accept the first offer with these arguments."""
    return lambda offers: OfferAccept(offers[0], **kwargs)


def nth(index: int) -> AcceptFn:
    return lambda offers: OfferAccept(offers[index])


F, T = False, True
PD = "permessage-deflate"

# (id, offers, server's accept, request header, response header,
#  server (incoming, outgoing), client (incoming, outgoing))
SCENARIOS: list[tuple[Any, ...]] = [
    (
        "AutobahnPython default offer, default accept",
        [Offer()],
        first(),
        f"{PD}; client_no_context_takeover; client_max_window_bits",
        PD,
        ((15, F), (15, F)),
        ((15, F), (15, T)),  # the client keeps its client_no_context_takeover promise
    ),
    ("no parameters", [Offer(F, F)], first(), PD, PD, ((15, F), (15, F)), ((15, F), (15, F))),
    (
        "client_max_window_bits offered without a value, not used",
        [Offer(F, T)],
        first(),
        f"{PD}; client_max_window_bits",
        PD,
        ((15, F), (15, F)),
        ((15, F), (15, F)),
    ),
    (
        "client_max_window_bits offered without a value, server limits the client to 10",
        [Offer(F, T)],
        first(request_max_window_bits=10),
        f"{PD}; client_max_window_bits",
        f"{PD}; client_max_window_bits=10",
        ((10, F), (15, F)),
        ((15, F), (10, F)),
    ),
    (
        "client_max_window_bits=11 offered, server ignores it: the client keeps to 11",
        [Offer(F, T, client_max_window_bits_hint=11)],
        first(),
        f"{PD}; client_max_window_bits=11",
        PD,
        ((15, F), (15, F)),
        ((15, F), (11, F)),
    ),
    (
        "client_max_window_bits=11 offered, server asks 13: answered with 11",
        [Offer(F, T, client_max_window_bits_hint=11)],
        first(request_max_window_bits=13),
        f"{PD}; client_max_window_bits=11",
        f"{PD}; client_max_window_bits=11",
        ((11, F), (15, F)),
        ((15, F), (11, F)),
    ),
    (
        "client_max_window_bits=11 offered, server asks 9",
        [Offer(F, T, client_max_window_bits_hint=11)],
        first(request_max_window_bits=9),
        f"{PD}; client_max_window_bits=11",
        f"{PD}; client_max_window_bits=9",
        ((9, F), (15, F)),
        ((15, F), (9, F)),
    ),
    (
        "client_max_window_bits=8 offered: the server answers 8, the client compresses with 9",
        [Offer(F, T, client_max_window_bits_hint=8)],
        first(request_max_window_bits=12),
        f"{PD}; client_max_window_bits=8",
        f"{PD}; client_max_window_bits=8",
        ((9, F), (15, F)),
        ((15, F), (9, F)),
    ),
    (
        "server_no_context_takeover requested and confirmed",
        [Offer(F, F, T)],
        first(),
        f"{PD}; server_no_context_takeover",
        f"{PD}; server_no_context_takeover",
        ((15, F), (15, T)),
        ((15, T), (15, F)),
    ),
    (
        "server_no_context_takeover requested, no_context_takeover=True",
        [Offer(F, F, T)],
        first(no_context_takeover=True),
        f"{PD}; server_no_context_takeover",
        f"{PD}; server_no_context_takeover",
        ((15, F), (15, T)),
        ((15, T), (15, F)),
    ),
    (
        "server resets its context unasked and does not say so",
        [Offer(F, F)],
        first(no_context_takeover=True),
        PD,
        PD,
        ((15, F), (15, T)),
        ((15, F), (15, F)),
    ),
    (
        "server asks for client_no_context_takeover",
        [Offer(T, F)],
        first(request_no_context_takeover=True),
        f"{PD}; client_no_context_takeover",
        f"{PD}; client_no_context_takeover",
        ((15, T), (15, F)),
        ((15, F), (15, T)),
    ),
    (
        "server asks for client_no_context_takeover the client did not offer",
        [Offer(F, F)],
        # A parsed offer always accepts it: RFC 7692 §7.1.1.2 lets the server ask.
        first(request_no_context_takeover=True),
        PD,
        f"{PD}; client_no_context_takeover",
        ((15, T), (15, F)),
        ((15, F), (15, T)),
    ),
    (
        "client_no_context_takeover offered, not answered: the client still keeps to it",
        [Offer(T, F)],
        first(),
        f"{PD}; client_no_context_takeover",
        PD,
        ((15, F), (15, F)),
        ((15, F), (15, T)),
    ),
    (
        "server_max_window_bits=10 requested and confirmed",
        [Offer(F, F, F, 10)],
        first(),
        f"{PD}; server_max_window_bits=10",
        f"{PD}; server_max_window_bits=10",
        ((15, F), (10, F)),
        ((10, F), (15, F)),
    ),
    (
        "server_max_window_bits=10 requested, server compresses with 9",
        [Offer(F, F, F, 10)],
        first(window_bits=9),
        f"{PD}; server_max_window_bits=10",
        f"{PD}; server_max_window_bits=10",
        ((15, F), (9, F)),
        ((10, F), (15, F)),
    ),
    (
        "server compresses with 12 unasked",
        [Offer(F, F)],
        first(window_bits=12),
        PD,
        PD,
        ((15, F), (12, F)),
        ((15, F), (15, F)),
    ),
    (
        "server_max_window_bits=8: confirmed as 8, compressed and inflated with 9",
        [Offer(F, F, F, 8)],
        first(),
        f"{PD}; server_max_window_bits=8",
        f"{PD}; server_max_window_bits=8",
        ((15, F), (9, F)),
        ((9, F), (15, F)),
    ),
    (
        "every parameter",
        [Offer(T, T, T, 10)],
        first(request_no_context_takeover=True, request_max_window_bits=9, mem_level=5),
        f"{PD}; client_no_context_takeover; client_max_window_bits; "
        "server_no_context_takeover; server_max_window_bits=10",
        f"{PD}; server_no_context_takeover; server_max_window_bits=10; "
        "client_no_context_takeover; client_max_window_bits=9",
        ((9, T), (10, T)),
        ((10, T), (9, T)),
    ),
    (
        "RFC 7692 §7.1.3 fallback offers: the server takes the first",
        [Offer(F, T, F, 10), Offer(F, T)],
        nth(0),
        f"{PD}; client_max_window_bits; server_max_window_bits=10, {PD}; client_max_window_bits",
        f"{PD}; server_max_window_bits=10",
        ((15, F), (10, F)),
        ((10, F), (15, F)),
    ),
    (
        "RFC 7692 §7.1.3 fallback offers: the server takes the second",
        [Offer(F, T, F, 10), Offer(F, T)],
        nth(1),
        f"{PD}; client_max_window_bits; server_max_window_bits=10, {PD}; client_max_window_bits",
        PD,
        ((15, F), (15, F)),
        ((15, F), (15, F)),
    ),
    (
        "server declines",
        [Offer()],
        lambda offers: None,
        f"{PD}; client_no_context_takeover; client_max_window_bits",
        None,
        None,
        None,
    ),
    ("client offers nothing", [], first(), "", None, None, None),
]


@pytest.mark.parametrize(
    ("offers", "accept", "request_header", "response_header", "server_dirs", "client_dirs"),
    [case[1:] for case in SCENARIOS],
    ids=[case[0] for case in SCENARIOS],
)
def test_rfc7692_scenarios(
    offers: list[PerMessageDeflateOffer],
    accept: AcceptFn,
    request_header: str,
    response_header: str | None,
    server_dirs: tuple[Direction, Direction] | None,
    client_dirs: tuple[Direction, Direction] | None,
) -> None:
    got_request, got_response, server, client = handshake(offers, accept)
    assert got_request == request_header
    assert got_response == response_header
    if server is None or client is None:
        assert server_dirs is None and client_dirs is None
        return
    assert (server.incoming(), server.outgoing()) == server_dirs
    assert (client.incoming(), client.outgoing()) == client_dirs
    check_connection(server, client)


def test_the_response_is_matched_to_the_offer_it_answers() -> None:
    offers = [Offer(F, T, F, 10), Offer(T, F)]
    _, _, _, client = handshake(offers, nth(1))
    # The response "permessage-deflate" cannot answer the first offer (server window
    # not confirmed), so it answers the second, whose client_no_context_takeover holds.
    assert client is not None and client.outgoing() == (15, True)


def test_mem_level_and_max_message_size_reach_the_pmce() -> None:
    def server_accept(offers: list[PerMessageDeflateOffer]) -> OfferAccept:
        return OfferAccept(offers[0], mem_level=3, max_message_size=1000)

    def client_accept(response: PerMessageDeflateResponse) -> ResponseAccept:
        return ResponseAccept(response, mem_level=9, max_message_size=2000)

    _, _, server, client = handshake([Offer()], server_accept, client_accept)
    assert server is not None and client is not None
    assert (server.mem_level, server.max_message_size) == (3, 1000)
    assert (client.mem_level, client.max_message_size) == (9, 2000)
    _, _, server, client = handshake([Offer()], first())
    assert server is not None and client is not None
    assert (server.mem_level, server.max_message_size) == (8, None)
    assert (client.mem_level, client.max_message_size) == (8, None)


def test_client_window_bits_override() -> None:
    def client_accept(response: PerMessageDeflateResponse) -> ResponseAccept:
        return ResponseAccept(response, window_bits=10, no_context_takeover=True)

    _, _, server, client = handshake(
        [Offer(F, T)], first(request_max_window_bits=12), client_accept
    )
    assert server is not None and client is not None
    assert client.outgoing() == (10, True)
    assert server.incoming() == (12, False)  # inflating with a larger window is fine
    check_connection(server, client)


# --- every combination, checked against RFC 7692 §7 ---------------------------------

SWEEP_OFFERS = [
    Offer(accept_nct, accept_bits, request_nct, request_bits, client_max_window_bits_hint=hint)
    for accept_nct, (accept_bits, hint), request_nct, request_bits in itertools.product(
        (F, T), ((F, 0), (T, 0), (T, 11)), (F, T), (0, 8, 10)
    )
]
SWEEP_ACCEPTS = list(itertools.product((F, T), (0, 9, 12), (None, True, False), (None, 9, 15)))


def expected_response(offer: PerMessageDeflateOffer, accept: tuple[Any, ...]) -> str:
    request_nct, request_bits, _, _ = accept
    parts = [PD]
    if offer.request_no_context_takeover:
        parts.append("server_no_context_takeover")
    if offer.request_max_window_bits:
        parts.append(f"server_max_window_bits={offer.request_max_window_bits}")
    if request_nct:
        parts.append("client_no_context_takeover")
    if request_bits:
        hint = offer.client_max_window_bits_hint
        parts.append(f"client_max_window_bits={min(request_bits, hint or 15)}")
    return "; ".join(parts)


def zlib_bits(bits: int) -> int:
    return max(bits, 9)


@pytest.mark.parametrize("offer", SWEEP_OFFERS, ids=repr)
def test_every_offer_and_accept(offer: PerMessageDeflateOffer) -> None:
    """Each offer against every accept the server can make (and a decline): the accept
    is refused exactly when RFC 7692 forbids it; otherwise the response and both sides'
    parameters are what §7 says, and messages flow both ways."""
    request = offers_header([offer])
    assert negotiate_server(_core.parse_extensions(request), lambda offers: None) == (
        None,
        None,
        None,
    )
    for accept_args in SWEEP_ACCEPTS:
        request_nct, request_bits, nct, window_bits = accept_args
        forbidden = (
            (request_bits and not offer.accept_max_window_bits)
            or (nct is False and offer.request_no_context_takeover)
            or (
                window_bits is not None
                and offer.request_max_window_bits
                and window_bits > offer.request_max_window_bits
            )
        )

        server_accept = first(
            request_no_context_takeover=request_nct,
            request_max_window_bits=request_bits,
            no_context_takeover=nct,
            window_bits=window_bits,
        )

        if forbidden:
            with pytest.raises(InvalidValueError):
                handshake([offer], server_accept)
            continue
        _, response, server, client = handshake([offer], server_accept)
        assert server is not None and client is not None
        assert response == expected_response(offer, accept_args)

        hint = offer.client_max_window_bits_hint
        client_bits = min(request_bits or 15, hint or 15)
        server_out = window_bits or offer.request_max_window_bits or 15
        server_reset = nct if nct is not None else offer.request_no_context_takeover
        assert server.outgoing() == (zlib_bits(server_out), server_reset)
        assert server.incoming() == (zlib_bits(min(request_bits, hint or 15) or 15), request_nct)
        assert client.incoming() == (
            zlib_bits(offer.request_max_window_bits or 15),
            offer.request_no_context_takeover,
        )
        assert client.outgoing() == (
            zlib_bits(client_bits),
            request_nct or offer.accept_no_context_takeover,
        )
        check_connection(server, client)


@pytest.mark.parametrize("offer", SWEEP_OFFERS, ids=repr)
def test_same_as_autobahn_where_autobahn_follows_the_rfc(offer: PerMessageDeflateOffer) -> None:
    """AutobahnPython gives the same offer string, response string and server-side
    parameters, except where ferrobahn deliberately differs (window bits 8, a client's
    window promise, the client keeping its no-context-takeover promise)."""
    ours = offer.get_extension_string()
    if offer.request_max_window_bits == 8 or offer.client_max_window_bits_hint:
        return
    theirs_offer = ab.PerMessageDeflateOffer(
        offer.accept_no_context_takeover,
        offer.accept_max_window_bits,
        offer.request_no_context_takeover,
        offer.request_max_window_bits,
    )
    assert theirs_offer.get_extension_string() == ours
    ((name, params),) = _core.parse_extensions(ours)
    table: dict[str, list[Any]] = {}
    for key, value in params:
        table.setdefault(key, []).append(True if value is None else value)
    parsed_ours = Offer.parse(table)
    parsed_theirs = ab.PerMessageDeflateOffer.parse(table)
    assert parsed_ours.__json__() == parsed_theirs.__json__()
    for request_nct, request_bits, nct, window_bits in SWEEP_ACCEPTS:
        kwargs = dict(
            request_no_context_takeover=request_nct,
            request_max_window_bits=request_bits,
            no_context_takeover=nct,
            window_bits=window_bits,
        )
        try:
            theirs = ab.PerMessageDeflateOfferAccept(parsed_theirs, **kwargs)
        except Exception:
            with pytest.raises(InvalidValueError):
                OfferAccept(parsed_ours, **kwargs)
            continue
        accept = OfferAccept(parsed_ours, **kwargs)
        assert accept.get_extension_string() == theirs.get_extension_string()
        assert accept.__json__() == theirs.__json__()
        ours_pmce = PerMessageDeflate.create_from_offer_accept(True, accept)
        theirs_pmce = ab.PerMessageDeflate.create_from_offer_accept(True, theirs)
        assert ours_pmce.__json__() == theirs_pmce.__json__()
        # The client's side, where the offer made no promise.
        if offer.accept_no_context_takeover:
            continue
        response = _core.parse_extensions(accept.get_extension_string())[0][1]
        rtable: dict[str, list[Any]] = {}
        for key, value in response:
            rtable.setdefault(key, []).append(True if value is None else value)
        ours_client = negotiate_client([(PD, rtable)], default_client_accept, [offer])
        theirs_response = ab.PerMessageDeflateResponse.parse(rtable)
        theirs_client = ab.PerMessageDeflate.create_from_response_accept(
            False, ab.PerMessageDeflateResponseAccept(theirs_response)
        )
        assert ours_client is not None
        assert ours_client.__json__() == theirs_client.__json__()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), f"{PD}; client_no_context_takeover; client_max_window_bits"),
        ((F, F), PD),
        ((T, F), f"{PD}; client_no_context_takeover"),
        ((F, T), f"{PD}; client_max_window_bits"),
        ((F, F, T), f"{PD}; server_no_context_takeover"),
        ((F, F, F, 9), f"{PD}; server_max_window_bits=9"),
        ((F, F, F, 15), f"{PD}; server_max_window_bits=15"),
        (
            (T, T, T, 12),
            f"{PD}; client_no_context_takeover; client_max_window_bits; "
            "server_no_context_takeover; server_max_window_bits=12",
        ),
    ],
)
def test_offer_strings(args: tuple[Any, ...], expected: str) -> None:
    assert Offer(*args).get_extension_string() == expected
    assert ab.PerMessageDeflateOffer(*args).get_extension_string() == expected
    assert offers_header([Offer(*args)]) == expected


def test_offers_header() -> None:
    assert offers_header([]) == ""
    assert offers_header([Offer(F, F), Offer(F, F, T)]) == f"{PD}, {PD}; server_no_context_takeover"
    with pytest.raises(InvalidTypeError):
        offers_header([ab.PerMessageDeflateOffer()])  # type: ignore[list-item]


# --- strict parsing -------------------------------------------------------------------

BAD_WINDOW_VALUES = ["7", "16", "0", "08", "010", "+9", "-9", "1_5", "9.0", "0x9", " 9", "", "abc"]


@pytest.mark.parametrize("parse", [Offer.parse, PerMessageDeflateResponse.parse])
def test_parse_rejects(parse: Callable[[Any], Any]) -> None:
    with pytest.raises(UnknownParameterError) as info:
        parse({"server_max_window_bits": ["10"], "x_window_bits": [True]})
    assert info.value.param == "x_window_bits"
    with pytest.raises(UnknownParameterError):
        parse({"max_window_bits": ["10"]})
    for name, value in [
        ("server_no_context_takeover", True),
        ("client_no_context_takeover", True),
        ("server_max_window_bits", "10"),
        ("client_max_window_bits", "10"),
    ]:
        with pytest.raises(DuplicateParameterError) as dup:
            parse({name: [value, value]})
        assert dup.value.param == name
        with pytest.raises(DuplicateParameterError):
            parse({name: [value], name.upper(): [value]})
    for name in ("server_max_window_bits", "client_max_window_bits"):
        for value in BAD_WINDOW_VALUES:
            with pytest.raises(InvalidParameterValueError) as bad:
                parse({name: [value]})
            assert bad.value.param == name
        with pytest.raises(InvalidParameterValueError):
            parse({name: [9]})  # not a string
    for name in ("server_no_context_takeover", "client_no_context_takeover"):
        for value in ("1", "true", ""):
            with pytest.raises(InvalidParameterValueError):
                parse({name: [value]})
    with pytest.raises(InvalidParameterValueError):
        parse({"server_max_window_bits": [True]})


def test_parse_offer() -> None:
    plain = Offer.parse({})
    assert plain.__json__() == Offer(True, False, False, 0).__json__()
    # client_max_window_bits without a value is legal in an offer, True or None alike.
    for bare in (True, None):
        offer = Offer.parse({"client_max_window_bits": [bare]})
        assert offer.accept_max_window_bits and offer.client_max_window_bits_hint == 0
    offer = Offer.parse(
        {
            "Server_No_Context_Takeover": [True],
            "client_no_context_takeover": [None],
            "server_max_window_bits": ["8"],
            "client_max_window_bits": ["15"],
        }
    )
    assert offer.request_no_context_takeover and offer.request_max_window_bits == 8
    assert offer.accept_max_window_bits and offer.client_max_window_bits_hint == 15
    for bits in range(8, 16):
        assert Offer.parse({"server_max_window_bits": [str(bits)]}).request_max_window_bits == bits
    assert Offer.parse({"server_max_window_bits": []}).request_max_window_bits == 0


def test_parse_response() -> None:
    response = PerMessageDeflateResponse.parse({})
    assert response.__json__() == PerMessageDeflateResponse(0, False, 0, False).__json__()
    # client_max_window_bits without a value is not legal in a response.
    for bare in (True, None):
        with pytest.raises(InvalidParameterValueError):
            PerMessageDeflateResponse.parse({"client_max_window_bits": [bare]})
    response = PerMessageDeflateResponse.parse(
        {
            "server_no_context_takeover": [True],
            "client_no_context_takeover": [True],
            "server_max_window_bits": ["9"],
            "client_max_window_bits": ["8"],
        }
    )
    assert response.__json__() == PerMessageDeflateResponse(8, True, 9, True).__json__()
    assert response.get_extension_string() == (
        f"{PD}; server_no_context_takeover; server_max_window_bits=9; "
        "client_no_context_takeover; client_max_window_bits=8"
    )


def test_long_parameter_lists() -> None:
    """A pathological header is refused on its first fault."""
    many = [(f"p{i}", None) for i in range(20000)]
    with pytest.raises(UnknownParameterError):
        negotiate_client([(PD, many)], default_client_accept, [Offer()])
    dup = [("server_no_context_takeover", None)] * 20000
    assert negotiate_server([(PD, dup)] * 50, first()) == (None, None, None)


# --- the server's side ----------------------------------------------------------------


def test_server_declines_malformed_offers_and_takes_a_fallback() -> None:
    header = (
        f"{PD}; x_unknown, {PD}; server_no_context_takeover; server_no_context_takeover, "
        f"{PD}; server_max_window_bits=16, {PD}; server_max_window_bits, "
        f"{PD}; client_no_context_takeover=1, {PD}; client_max_window_bits=08, "
        f"{PD}; client_max_window_bits"
    )
    seen: list[list[PerMessageDeflateOffer]] = []

    def server_accept(offers: list[PerMessageDeflateOffer]) -> OfferAccept:
        seen.append(offers)
        return OfferAccept(offers[0], request_max_window_bits=10)

    declined: list[PerMessageCompressError] = []
    accept, response, server = negotiate_server(
        _core.parse_extensions(header), server_accept, declined
    )
    assert [type(e) for e in declined] == [
        UnknownParameterError,
        DuplicateParameterError,
        InvalidParameterValueError,
        InvalidParameterValueError,
        InvalidParameterValueError,
        InvalidParameterValueError,
    ]
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].accept_max_window_bits
    assert response == f"{PD}; client_max_window_bits=10"
    assert accept is not None and server is not None and server.incoming() == (10, False)


def test_server_without_a_usable_offer_does_not_call_back() -> None:
    def never(offers: list[PerMessageDeflateOffer]) -> None:
        raise AssertionError("called")

    assert negotiate_server([], never) == (None, None, None)
    others = _core.parse_extensions("x-webkit-deflate-frame, permessage-foo; a=1")
    assert negotiate_server(others, never) == (None, None, None)
    bad = _core.parse_extensions(f"{PD}; nope")
    assert negotiate_server(bad, never) == (None, None, None)  # no declined list: fine


def test_server_accepts_both_parameter_shapes_and_any_case() -> None:
    for offers in (
        [
            (
                "Permessage-Deflate",
                {"server_max_window_bits": ["10"], "client_max_window_bits": [True]},
            )
        ],
        [
            (
                "permessage-deflate",
                [("server_max_window_bits", "10"), ("client_max_window_bits", None)],
            )
        ],
        [
            ("x-other", []),
            (
                "PERMESSAGE-DEFLATE",
                [("SERVER_MAX_WINDOW_BITS", "10"), ("Client_Max_Window_Bits", None)],
            ),
        ],
    ):
        _, response, server = negotiate_server(offers, first(request_max_window_bits=9))
        assert response == f"{PD}; server_max_window_bits=10; client_max_window_bits=9"
        assert server is not None and server.outgoing() == (10, False)


def test_server_accept_callback_mistakes() -> None:
    offers = _core.parse_extensions(f"{PD}, {PD}; client_max_window_bits")
    with pytest.raises(InvalidTypeError):
        negotiate_server(offers, lambda o: "yes")  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidValueError):
        negotiate_server(offers, lambda o: OfferAccept(Offer()))
    # Limiting the client's window is refused when it did not offer client_max_window_bits.
    with pytest.raises(InvalidValueError):
        negotiate_server(offers, first(request_max_window_bits=10))
    accept, response, _ = negotiate_server(
        offers, lambda o: OfferAccept(o[1], request_max_window_bits=10)
    )
    assert accept is not None and response == f"{PD}; client_max_window_bits=10"

    def boom(o: list[PerMessageDeflateOffer]) -> None:
        raise KeyError("application bug")

    with pytest.raises(KeyError):
        negotiate_server(offers, boom)


# --- the client's side ----------------------------------------------------------------


def client_for(offers: list[PerMessageDeflateOffer], response: str) -> PerMessageDeflate | None:
    return negotiate_client(_core.parse_extensions(response), default_client_accept, offers)


@pytest.mark.parametrize(
    ("offers", "response", "incoming", "outgoing"),
    [
        ([Offer(F, F)], f"{PD}; server_no_context_takeover", (15, T), (15, F)),
        ([Offer(F, F)], f"{PD}; server_max_window_bits=12", (12, F), (15, F)),
        ([Offer(F, F, F, 12)], f'{PD}; server_max_window_bits="10"', (10, F), (15, F)),
        ([Offer(F, F, F, 9)], f"{PD}; server_max_window_bits=8", (9, F), (15, F)),
        ([Offer(F, F)], f"{PD}; client_no_context_takeover", (15, F), (15, T)),
        ([Offer(F, T)], f"{PD}; client_max_window_bits=8", (15, F), (9, F)),
        ([Offer(F, T)], f"{PD}; client_max_window_bits=15", (15, F), (15, F)),
        ([Offer(F, F, T)], "PerMessage-Deflate; Server_No_Context_Takeover", (15, T), (15, F)),
    ],
)
def test_client_takes_what_the_rfc_allows(
    offers: list[PerMessageDeflateOffer], response: str, incoming: Direction, outgoing: Direction
) -> None:
    client = client_for(offers, response)
    assert client is not None and not client.is_server
    assert (client.incoming(), client.outgoing()) == (incoming, outgoing)


@pytest.mark.parametrize(
    ("offers", "response", "error"),
    [
        ([Offer()], f"{PD}; foo", UnknownParameterError),
        ([Offer()], f"{PD}; client_max_window_bits", InvalidParameterValueError),
        ([Offer()], f"{PD}; client_max_window_bits=16", InvalidParameterValueError),
        ([Offer()], f"{PD}; client_max_window_bits=09", InvalidParameterValueError),
        ([Offer()], f"{PD}; server_max_window_bits", InvalidParameterValueError),
        ([Offer()], f"{PD}; server_max_window_bits=7", InvalidParameterValueError),
        ([Offer()], f"{PD}; server_no_context_takeover=1", InvalidParameterValueError),
        ([Offer()], f"{PD}; client_no_context_takeover=x", InvalidParameterValueError),
        (
            [Offer()],
            f"{PD}; server_no_context_takeover; server_no_context_takeover",
            DuplicateParameterError,
        ),
        (
            [Offer()],
            f"{PD}; server_max_window_bits=10; SERVER_MAX_WINDOW_BITS=10",
            DuplicateParameterError,
        ),
        ([Offer(F, F)], f"{PD}; client_max_window_bits=10", NegotiationError),
        ([Offer(F, F, T)], PD, NegotiationError),
        ([Offer(F, F, F, 10)], PD, NegotiationError),
        ([Offer(F, F, F, 10)], f"{PD}; server_max_window_bits=11", NegotiationError),
        (
            [Offer(F, T, client_max_window_bits_hint=10)],
            f"{PD}; client_max_window_bits=11",
            NegotiationError,
        ),
        ([Offer(F, F, T), Offer(F, F, F, 9)], PD, NegotiationError),
        ([Offer()], f"{PD}, {PD}", NegotiationError),
        ([Offer()], "x-webkit-deflate-frame", NegotiationError),
        ([Offer()], f"{PD}, x-other", NegotiationError),
        ([], PD, NegotiationError),
    ],
)
def test_client_fails_on_a_bad_response(
    offers: list[PerMessageDeflateOffer], response: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        client_for(offers, response)


def test_client_accept_callback() -> None:
    response = _core.parse_extensions(
        f"{PD}; client_no_context_takeover; client_max_window_bits=10"
    )
    got: list[PerMessageDeflateResponse] = []

    def client_accept(r: PerMessageDeflateResponse) -> ResponseAccept:
        got.append(r)
        return ResponseAccept(r)

    offer = Offer()
    assert negotiate_client(response, client_accept, [offer]) is not None
    assert got[0].offer is offer and got[0].client_max_window_bits == 10
    with pytest.raises(NegotiationError):
        negotiate_client(response, lambda r: None, [offer])
    with pytest.raises(InvalidTypeError):
        negotiate_client(response, lambda r: object(), [offer])  # type: ignore[arg-type,return-value]
    other = PerMessageDeflateResponse(0, False, 0, False)
    with pytest.raises(InvalidValueError):
        negotiate_client(response, lambda r: ResponseAccept(other), [offer])
    with pytest.raises(InvalidValueError):  # the server asked for it
        negotiate_client(response, lambda r: ResponseAccept(r, no_context_takeover=False), [offer])
    with pytest.raises(InvalidValueError):  # more than the server allows
        negotiate_client(response, lambda r: ResponseAccept(r, window_bits=11), [offer])
    with pytest.raises(InvalidTypeError):
        negotiate_client(response, client_accept, ["permessage-deflate"])  # type: ignore[list-item]
    assert negotiate_client([], client_accept, [offer]) is None


def test_client_promise_overrules_an_explicit_false() -> None:
    """no_context_takeover=False cannot undo the offer's client_no_context_takeover."""
    client = negotiate_client(
        _core.parse_extensions(PD),
        lambda r: ResponseAccept(r, no_context_takeover=False),
        [Offer(T, F)],
    )
    assert client is not None and client.outgoing() == (15, True)


def test_response_accept_respects_the_offered_window_promise() -> None:
    offer = Offer(F, T, client_max_window_bits_hint=10)
    response = PerMessageDeflateResponse(0, False, 0, False, offer=offer)
    with pytest.raises(InvalidValueError):
        ResponseAccept(response, window_bits=11)
    pmce = PerMessageDeflate.create_from_response_accept(
        False, ResponseAccept(response, window_bits=9)
    )
    assert pmce.outgoing() == (9, False)
    # A response built by hand, without its offer: only the response counts.
    bare = PerMessageDeflateResponse(0, False, 0, False)
    pmce = PerMessageDeflate.create_from_response_accept(False, ResponseAccept(bare))
    assert (pmce.incoming(), pmce.outgoing()) == ((15, False), (15, False))


# --- PerMessageDeflate ----------------------------------------------------------------


def test_pmce_roles() -> None:
    pmce = PerMessageDeflate(True, True, False, 10, 12, None)
    assert (pmce.outgoing(), pmce.incoming()) == ((10, True), (12, False))
    pmce = PerMessageDeflate(False, True, False, 10, 12, 4)
    assert (pmce.outgoing(), pmce.incoming()) == ((12, False), (10, True))
    assert pmce.mem_level == 4 and pmce.max_message_size is None
    pmce = PerMessageDeflate(False, False, False, 0, 0, 0)
    assert (pmce.server_max_window_bits, pmce.client_max_window_bits, pmce.mem_level) == (15, 15, 8)
    pmce = PerMessageDeflate(True, False, False, 8, 8, None, 0)
    assert (pmce.server_max_window_bits, pmce.outgoing(), pmce.incoming()) == (
        8,
        (9, False),
        (9, False),
    )


# --- argument checks ------------------------------------------------------------------


def test_offer_arguments() -> None:
    for bad in (1, None, "yes"):
        for position in range(3):
            args: list[Any] = [True, True, False]
            args[position] = bad
            with pytest.raises(InvalidTypeError):
                Offer(*args)
    for bits in (1, 7, 16, -1):
        with pytest.raises(InvalidValueError):
            Offer(request_max_window_bits=bits)
    with pytest.raises(InvalidTypeError):
        Offer(request_max_window_bits="10")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        Offer(request_max_window_bits=True)
    with pytest.raises(InvalidValueError):
        Offer(accept_max_window_bits=False, client_max_window_bits_hint=10)
    assert Offer(request_max_window_bits=8).request_max_window_bits == 8
    # Still AssertionError and Exception, which AutobahnPython code may catch.
    with pytest.raises(AssertionError):
        Offer(request_max_window_bits=16)


def test_offer_accept_arguments() -> None:
    offer = Offer(T, T, T, 10)
    with pytest.raises(InvalidTypeError):
        OfferAccept(ab.PerMessageDeflateOffer())  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        OfferAccept(offer, request_no_context_takeover=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        OfferAccept(Offer(F, T), request_no_context_takeover=True)
    for bits in (8, 16):
        with pytest.raises(InvalidValueError):
            OfferAccept(offer, request_max_window_bits=bits)
    with pytest.raises(InvalidValueError):
        OfferAccept(Offer(T, F), request_max_window_bits=10)
    with pytest.raises(InvalidTypeError):
        OfferAccept(offer, no_context_takeover="no")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        OfferAccept(offer, no_context_takeover=False)
    for bits in (8, 11, 16):
        with pytest.raises(InvalidValueError):
            OfferAccept(offer, window_bits=bits)
    for level in (0, 10):
        with pytest.raises(InvalidValueError):
            OfferAccept(offer, mem_level=level)
    with pytest.raises(InvalidValueError):
        OfferAccept(offer, max_message_size=-1)
    with pytest.raises(InvalidTypeError):
        OfferAccept(offer, max_message_size=1.5)  # type: ignore[arg-type]
    accept = OfferAccept(offer, True, 9, True, 10, 1, 0)
    assert accept.get_extension_string() == (
        f"{PD}; server_no_context_takeover; server_max_window_bits=10; "
        "client_no_context_takeover; client_max_window_bits=9"
    )


def test_response_and_pmce_arguments() -> None:
    with pytest.raises(InvalidValueError):
        PerMessageDeflateResponse(16, False, 0, False)
    with pytest.raises(InvalidTypeError):
        PerMessageDeflateResponse(0, "no", 0, False)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        PerMessageDeflateResponse(0, False, 0, False, offer="x")  # type: ignore[arg-type]
    response = PerMessageDeflateResponse(10, True, 0, False)
    with pytest.raises(InvalidTypeError):
        ResponseAccept(ab.PerMessageDeflateResponse(0, False, 0, False))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        ResponseAccept(response, no_context_takeover=False)
    with pytest.raises(InvalidValueError):
        ResponseAccept(response, window_bits=11)
    with pytest.raises(InvalidValueError):
        ResponseAccept(PerMessageDeflateResponse(0, False, 0, False), window_bits=8)
    with pytest.raises(InvalidValueError):
        ResponseAccept(response, mem_level=10)
    with pytest.raises(InvalidTypeError):
        PerMessageDeflate(1, False, False, 0, 0, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        PerMessageDeflate(True, False, False, 7, 0, None)
    with pytest.raises(InvalidValueError):
        PerMessageDeflate(True, False, False, 0, 0, 10)
    with pytest.raises(InvalidTypeError):
        PerMessageDeflate.create_from_offer_accept(True, ResponseAccept(response))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        PerMessageDeflate.create_from_response_accept(False, OfferAccept(Offer()))  # type: ignore[arg-type]


# --- __json__, __repr__, copies -------------------------------------------------------


def test_json_repr_and_copies() -> None:
    offer = Offer(T, T, F, 12, client_max_window_bits_hint=11)
    accept = OfferAccept(offer, True, 10, None, 9, 4, 1000)
    response = PerMessageDeflateResponse(10, True, 12, False)
    response_accept = ResponseAccept(response, True, 9, 3, 500)
    pmce = PerMessageDeflate.create_from_offer_accept(True, accept)
    names = {name: getattr(compress, name) for name in compress.__all__}
    for obj in (offer, accept, response, response_accept, pmce):
        again = eval(repr(obj), names)
        assert type(again) is type(obj) and again.__json__() == obj.__json__()
        assert pickle.loads(pickle.dumps(obj)).__json__() == obj.__json__()
        assert copy.deepcopy(obj).__json__() == obj.__json__()
    assert offer.__json__() == {
        "extension": PD,
        "accept_no_context_takeover": True,
        "accept_max_window_bits": True,
        "request_no_context_takeover": False,
        "request_max_window_bits": 12,
    }
    assert accept.__json__()["offer"] == offer.__json__()
    assert set(accept.__json__()) == {
        "extension",
        "offer",
        "request_no_context_takeover",
        "request_max_window_bits",
        "no_context_takeover",
        "window_bits",
        "mem_level",
        "max_message_size",
    }
    assert response_accept.__json__()["response"] == response.__json__()
    assert pmce.__json__() == {
        "extension": PD,
        "is_server": True,
        "server_no_context_takeover": False,
        "client_no_context_takeover": True,
        "server_max_window_bits": 9,
        "client_max_window_bits": 10,
        "mem_level": 4,
    }


# --- websockets as the other peer -----------------------------------------------------


class WsPeer:
    """websockets' own PerMessageDeflate, speaking frames, seen as a ZlibPeer."""

    def __init__(self, extension: WsPerMessageDeflate) -> None:
        self.extension = extension

    def compress(self, data: bytes) -> bytes:
        frame = self.extension.encode(Frame(Opcode.BINARY, data))
        assert frame.rsv1
        return bytes(frame.data)

    def inflate(self, data: bytes) -> bytes:
        frame = self.extension.decode(Frame(Opcode.BINARY, data, rsv1=True), max_size=None)
        return bytes(frame.data)


def ws_direction_is_safe(ours: PerMessageDeflate, theirs: WsPerMessageDeflate) -> None:
    """What we send, they can read; what they send, we can read (our 9 stands for a
    negotiated 8, which an 8-bit inflater reads: see the test above)."""
    out_bits, out_reset = ours.outgoing()
    in_bits, in_reset = ours.incoming()
    assert out_bits <= max(theirs.remote_max_window_bits, 9)
    assert out_reset or not theirs.remote_no_context_takeover
    assert in_bits >= theirs.local_max_window_bits
    assert theirs.local_no_context_takeover or not in_reset


WS_CLIENTS = [
    dict(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=sbits,
        client_max_window_bits=cbits,
    )
    for snct, cnct, sbits, cbits in itertools.product(
        (F, T), (F, T), (None, 8, 10), (None, True, 11)
    )
]


def our_policy(offers: list[PerMessageDeflateOffer]) -> OfferAccept:
    """A server asking for everything it may: the client's window limited to 12 and no
    client context takeover, our own window 9 unless the client asked for 8."""
    offer = offers[0]
    return OfferAccept(
        offer,
        request_no_context_takeover=True,
        request_max_window_bits=12 if offer.accept_max_window_bits else 0,
        window_bits=None if offer.request_max_window_bits == 8 else 9,
    )


@pytest.mark.parametrize("server_policy", [first(), our_policy], ids=["default", "strict"])
@pytest.mark.parametrize("ws_config", WS_CLIENTS, ids=repr)
def test_websockets_client_against_our_server(
    ws_config: dict[str, Any], server_policy: AcceptFn
) -> None:
    factory = ClientPerMessageDeflateFactory(**ws_config)
    request = build_extension([(factory.name, list(factory.get_request_params()))])
    _, response, server = negotiate_server(_core.parse_extensions(request), server_policy)
    assert response is not None and server is not None
    ((name, params),) = parse_extension(response)
    theirs = factory.process_response_params(params, [])
    ws_direction_is_safe(server, theirs)
    peer = WsPeer(theirs)
    exchange(ZlibPeer(server), peer)
    exchange(peer, ZlibPeer(server))


WS_SERVERS = [
    dict(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=sbits,
        client_max_window_bits=cbits,
    )
    for snct, cnct, sbits, cbits in itertools.product((F, T), (F, T), (None, 10), (None, 8, 11))
]
OUR_CLIENT_OFFERS = [
    [Offer()],
    [Offer(F, F)],
    [Offer(F, T)],
    [Offer(T, T, T, 12)],
    [Offer(F, T, F, 9, client_max_window_bits_hint=10)],
    [Offer(F, F, F, 8), Offer(F, T)],
]


@pytest.mark.parametrize("offers", OUR_CLIENT_OFFERS, ids=repr)
@pytest.mark.parametrize("ws_config", WS_SERVERS, ids=repr)
def test_our_client_against_websockets_server(
    ws_config: dict[str, Any], offers: list[PerMessageDeflateOffer]
) -> None:
    factory = ServerPerMessageDeflateFactory(**ws_config)
    received = parse_extension(offers_header(offers))
    assert [name for name, _ in received] == [PD] * len(offers)
    for _, params in received:  # websockets takes the first offer it can accept
        try:
            response_params, theirs = factory.process_request_params(params, [])
            break
        except WsNegotiationError:
            continue
    else:
        pytest.skip("websockets declines every offer")
    response = build_extension([(PD, response_params)])
    client = negotiate_client(_core.parse_extensions(response), default_client_accept, offers)
    assert client is not None
    ws_direction_is_safe(client, theirs)
    peer = WsPeer(theirs)
    exchange(ZlibPeer(client), peer)
    exchange(peer, ZlibPeer(client))


def test_websockets_declines_our_request_for_8_and_we_fall_back() -> None:
    offers = [Offer(F, F, F, 8), Offer(F, T)]
    factory = ServerPerMessageDeflateFactory()
    (_, first_params), (_, second_params) = parse_extension(offers_header(offers))
    with pytest.raises(WsNegotiationError):
        factory.process_request_params(first_params, [])
    response_params, _ = factory.process_request_params(second_params, [])
    client = negotiate_client([(PD, response_params)], default_client_accept, offers)
    assert client is not None and client.incoming() == (15, False)


def test_strings_cross_parse() -> None:
    """Every string either side writes, the other side's parser reads back the same."""
    for offers in OUR_CLIENT_OFFERS:
        header = offers_header(offers)
        assert parse_extension(header) == _core.parse_extensions(header)
    for config in WS_CLIENTS:
        factory = ClientPerMessageDeflateFactory(**config)
        header = build_extension([(PD, list(factory.get_request_params()))])
        assert _core.parse_extensions(header) == parse_extension(header)
    accept = OfferAccept(Offer(T, T, T, 10), True, 9)
    assert parse_extension(accept.get_extension_string()) == _core.parse_extensions(
        accept.get_extension_string()
    )


def test_random_headers_never_crash() -> None:
    """Random parameter soup: always a clean accept, decline or PerMessageCompressError."""
    rnd = random.Random(int.from_bytes(os.urandom(4), "big"))
    names = [
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
        "Server_Max_Window_Bits",
        "x",
    ]
    values: list[str | None] = [None, "8", "9", "15", "16", "07", "a"]
    for _ in range(500):
        params = [(rnd.choice(names), rnd.choice(values)) for _ in range(rnd.randint(0, 5))]
        negotiate_server([(PD, params)], first())
        with contextlib.suppress(PerMessageCompressError):
            negotiate_client([(PD, params)], default_client_accept, [Offer(F, T, T, 12)])
