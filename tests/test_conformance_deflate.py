"""The conformance tester's permessage-deflate (groups 12 and 13): its corpora, its
negotiation (checked against AutobahnPython's, whose strings the original sends), its
codec, and that it fails a server that breaks what it agreed to (a tester that
passes everything proves nothing)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import struct
import zlib
from collections.abc import Iterator

import pytest
from test_conformance_tester import naive_echo

from ferrobahn.testsuite import all_cases, run_fuzzing_client, select
from ferrobahn.testsuite.cases.compression import PARAMETER_SETS, QUICK_MESSAGES, SIZES
from ferrobahn.testsuite.corpora import CORPORA
from ferrobahn.testsuite.deflate import (
    Accept,
    Deflate,
    DeflateError,
    Negotiation,
    NegotiationError,
    Offer,
    Params,
    accept_rule,
    client_offers,
    negotiated_by_response,
    offers_header,
    parse_extensions,
)
from ferrobahn.testsuite.runner import KEPT_EVENTS
from ferrobahn.testsuite.verdict import FAILED, OK, UNIMPLEMENTED

# ---------------------------------------------------------------------- catalogue


def test_catalogue_matches_the_original() -> None:
    full = [c for c in all_cases("full") if c.group in (12, 13)]
    assert len(full) == 5 * 18 + 7 * 18 == 216
    assert len(all_cases("full")) == 517  # the original's total
    quick = [c for c in all_cases("quick") if c.group in (12, 13)]
    assert len(quick) == 52
    assert {"12.1.11", "12.1.12", "13.1.11", "13.1.12"} <= {c.id for c in quick}
    assert f"Send {QUICK_MESSAGES} compressed" in quick[0].description
    case = next(c for c in full if c.id == "13.7.16")
    assert case.timeout == 480 + 4 and "auto-fragment to 1024 octets" in case.description
    assert [size for size, _, _ in SIZES][:4] == [16, 64, 256, 1024]


# ---------------------------------------------------------------------- corpora


def test_corpora_have_the_originals_sizes_types_and_pinned_contents() -> None:
    sizes = {name: (c.size, c.binary) for name, c in CORPORA.items()}
    assert sizes == {
        "json": (194_056, False),
        "bitmap": (263_222, True),
        "faust": (222_218, True),
        "html": (263_647, False),
        "pdf": (1_042_328, True),
    }
    for corpus in CORPORA.values():
        assert hashlib.sha256(corpus.data()).hexdigest() == corpus.sha256
    json.loads(CORPORA["json"].data())
    for name in ("json", "html"):
        CORPORA[name].data().decode("ascii")  # characters are bytes: slices stay text
    CORPORA["faust"].data().decode("utf-8")
    bitmap = CORPORA["bitmap"].data()
    assert bitmap[:2] == b"BM" and struct.unpack_from("<iiHH", bitmap, 18) == (512, 512, 1, 8)
    pdf = CORPORA["pdf"].data()
    assert pdf.startswith(b"%PDF-1.4") and pdf.endswith(b"%%EOF\n")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    assert pdf[xref:].startswith(b"xref")


def test_corpus_slices_wrap_around() -> None:
    corpus = CORPORA["json"]
    data = corpus.data()
    slices = corpus.slices(100_000)
    first, second = next(slices), next(slices)
    assert first == data[:100_000]
    assert second == data[100_000:] + data[: 200_000 - len(data)]
    assert next(slices) == data[200_000 - len(data) : 300_000 - len(data)]


# ---------------------------------------------------------------------- negotiation


def test_extension_header_syntax() -> None:
    assert parse_extensions(
        'permessage-deflate; client_max_window_bits ; Server_Max_Window_Bits="10", foo, x;a=b'
    ) == [
        (
            "permessage-deflate",
            [("client_max_window_bits", None), ("server_max_window_bits", "10")],
        ),
        ("foo", []),
        ("x", [("a", "b")]),
    ]
    for bad in ("", "permessage-deflate;", "a b", "a, ,b", 'a; b="c'):
        with pytest.raises(NegotiationError):
            parse_extensions(bad)


def test_offers_and_answers_are_written_as_autobahn_writes_them() -> None:
    """The 13.x offers and the server's accept rules produce the strings
    AutobahnPython produces for the same parameters (the original sends those)."""
    compress = pytest.importorskip("autobahn.websocket.compress")
    for negotiation in PARAMETER_SETS:
        theirs = [
            compress.PerMessageDeflateOffer(
                o.accept_no_context_takeover,
                o.accept_max_window_bits,
                o.request_no_context_takeover,
                o.request_max_window_bits,
            )
            for o in negotiation.offers
        ]
        assert offers_header(negotiation.offers) == ", ".join(
            t.get_extension_string() for t in theirs
        )
        # As a server, answering the same offers (parsed back from the header).
        accepted = negotiation.accept(client_offers(offers_header(negotiation.offers)))
        assert accepted is not None
        index = negotiation.offers.index(accepted.offer)
        theirs_accept = compress.PerMessageDeflateOfferAccept(
            theirs[index],
            request_no_context_takeover=accepted.request_no_context_takeover,
            request_max_window_bits=accepted.request_max_window_bits,
        )
        assert accepted.header() == theirs_accept.get_extension_string()


def test_accept_rules_follow_what_the_offer_allows() -> None:
    bare = Offer(accept_no_context_takeover=False, accept_max_window_bits=False)
    assert accept_rule(True, 0)([bare]) is None  # 13.2 needs client_no_context_takeover
    assert accept_rule(False, 9)([bare]) is None  # 13.3 needs client_max_window_bits
    assert accept_rule(False, 0)([bare]) == Accept(bare)
    websockets_offer = client_offers("permessage-deflate; client_max_window_bits")[0]
    assert accept_rule(True, 9)([websockets_offer]) is None
    assert accept_rule(False, 9)([websockets_offer]) == Accept(websockets_offer, False, 9)
    assert Accept(Offer(request_no_context_takeover=True), True, 9).params() == Params(
        True, True, 15, 9
    )


def test_responses_must_answer_an_offer() -> None:
    default, strict = Offer(), Offer(request_no_context_takeover=True, request_max_window_bits=9)
    assert negotiated_by_response([default], "permessage-deflate") == Params()
    assert negotiated_by_response(
        [strict], "permessage-deflate; server_no_context_takeover; server_max_window_bits=8"
    ) == Params(True, False, 8, 15)
    # 13.7: the response answers the second offer.
    assert negotiated_by_response(
        [strict, Offer(request_no_context_takeover=True)],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    ) == Params(True, True, 15, 15)
    for offers, response in (
        ([strict], "permessage-deflate; server_no_context_takeover"),
        ([strict], "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"),
        ([Offer(accept_max_window_bits=False)], "permessage-deflate; client_max_window_bits=9"),
        ([default], "permessage-deflate; client_max_window_bits"),
        ([default], "permessage-deflate; server_max_window_bits=7"),
        ([default], "permessage-deflate; server_max_window_bits=09"),
        ([default], "permessage-deflate; server_no_context_takeover=1"),
        ([default], "permessage-deflate; mystery"),
        ([default], "permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
        ([default], "permessage-deflate, permessage-deflate"),
        ([default], "x-webkit-deflate-frame"),
    ):
        with pytest.raises(NegotiationError):
            negotiated_by_response(offers, response)


# ---------------------------------------------------------------------- codec


def _messages() -> Iterator[bytes]:
    return CORPORA["json"].slices(3000)


@pytest.mark.parametrize("negotiation", PARAMETER_SETS, ids=[f"13.{n}" for n in range(1, 8)])
def test_codec_round_trips_in_both_directions(negotiation: Negotiation) -> None:
    accepted = negotiation.accept(list(negotiation.offers))
    assert accepted is not None
    params = accepted.params()
    server, client = Deflate(params, is_server=True), Deflate(params, is_server=False)
    for sender, receiver in ((server, client), (client, server)):
        for message in [m for m, _ in zip(_messages(), range(20))]:
            packed = sender.compress(message)
            receiver.begin_message()
            pieces = [packed[i : i + 100] for i in range(0, len(packed), 100)] or [b""]
            out = b"".join(
                receiver.inflate(p, 2**20, last=n == len(pieces) - 1) for n, p in enumerate(pieces)
            )
            assert out == message


def _peer(bits: int = 15) -> zlib._Compress:
    return zlib.compressobj(6, zlib.DEFLATED, -bits)


def _send(peer: zlib._Compress, data: bytes) -> bytes:
    return (peer.compress(data) + peer.flush(zlib.Z_SYNC_FLUSH))[:-4]


def _receive(codec: Deflate, data: bytes, limit: int = 2**20) -> bytes:
    codec.begin_message()
    return codec.inflate(data, limit, last=True)


def test_inflater_holds_the_peer_to_its_window_and_context_takeover() -> None:
    text = CORPORA["faust"].data()[:20_000]
    # A server that promised a 512-byte window but compresses with 32 KiB.
    narrow = Deflate(Params(server_max_window_bits=9), is_server=False)
    far = _send(_peer(), text + text[:5000])
    with pytest.raises(DeflateError, match="too far back"):
        _receive(narrow, far)
    assert _receive(Deflate(Params(), is_server=False), far) == text + text[:5000]
    # A server that promised no context takeover but keeps its context.
    fresh = Deflate(Params(server_no_context_takeover=True), is_server=False)
    peer = _peer()
    assert _receive(fresh, _send(peer, text)) == text
    with pytest.raises(DeflateError):
        _receive(fresh, _send(peer, text[:3000]))


def test_inflater_carries_its_window_over_a_final_block() -> None:
    first, second = b"permessage-deflate " * 50, b"permessage-deflate again " * 20
    peer = zlib.compressobj(6, zlib.DEFLATED, -15)
    ended = peer.compress(first) + peer.flush(zlib.Z_FINISH)  # BFINAL=1, no 00 00 ff ff
    codec = Deflate(Params(), is_server=True)
    assert _receive(codec, ended) == first
    primed = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=first)
    assert _receive(codec, _send(primed, second)) == second


def test_inflater_is_bounded() -> None:
    bomb = _send(_peer(), b"\0" * 2**22)
    assert len(bomb) < 5000
    with pytest.raises(DeflateError, match="more than"):
        _receive(Deflate(Params(), is_server=True), bomb, limit=2**20)
    with pytest.raises(DeflateError, match="cannot inflate"):
        _receive(Deflate(Params(), is_server=True), b"\xff\xff\xff\xff")


def test_compressor_keeps_to_the_agreement() -> None:
    text = CORPORA["json"].data()[:40_000]
    # client_max_window_bits=9: inflatable with a 512-byte window (8 runs as 9).
    for bits in (8, 9):
        codec = Deflate(Params(client_max_window_bits=bits), is_server=False)
        assert zlib.decompressobj(-9).decompress(codec.compress(text) + b"\0\0\xff\xff") == text
    # no context takeover: each message inflates on its own.
    codec = Deflate(Params(server_no_context_takeover=True), is_server=True)
    codec.compress(text)
    assert zlib.decompressobj(-15).decompress(codec.compress(text) + b"\0\0\xff\xff") == text
    assert Deflate(Params(), is_server=True).compress(b"") == b"\x00"


# ---------------------------------------------------------------------- against servers


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (None, (UNIMPLEMENTED, OK)),
        ("permessage-deflate", (OK, OK)),
        ("permessage-deflate; client_max_window_bits=9", (OK, OK)),
        # The server claims what it does not do: the tester fails the connection.
        ("permessage-deflate; server_no_context_takeover", (FAILED, FAILED)),
        ("permessage-deflate; server_max_window_bits=9", (FAILED, FAILED)),
        # Not an answer to the offer: the opening handshake fails.
        ("permessage-deflate; server_max_window_bits", (FAILED, FAILED)),
    ],
)
def test_tester_judges_what_a_server_agreed_to(
    answer: str | None, verdict: tuple[str, str]
) -> None:
    async def run() -> tuple[str, str]:
        # Echoes every frame verbatim: valid only if the agreement is symmetric
        # and the tester keeps its side of it.
        server = await asyncio.start_server(
            functools.partial(naive_echo, extension=answer), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            (result,) = await run_fuzzing_client(
                f"ws://127.0.0.1:{port}", select(all_cases("quick"), ["12.1.4"])
            )
        return result.verdict.behavior, result.verdict.behavior_close

    assert asyncio.run(asyncio.wait_for(run(), 30)) == verdict


def test_results_keep_a_bounded_sample_of_what_was_received() -> None:
    """A full run holds every result until the reports are written: with every
    echoed payload kept, groups 12/13 took 11 GB. The count stays exact."""

    async def run() -> tuple[int, int]:
        server = await asyncio.start_server(
            functools.partial(naive_echo, extension="permessage-deflate"), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            (result,) = await run_fuzzing_client(
                f"ws://127.0.0.1:{port}", select(all_cases("quick"), ["12.1.1"])
            )
        return result.received_count, len(result.seen.received)

    count, kept = asyncio.run(asyncio.wait_for(run(), 30))
    assert count >= QUICK_MESSAGES  # every echo (and the close) counted
    assert kept == KEPT_EVENTS
