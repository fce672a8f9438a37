"""ferrobahn._core driven from Python: framing, parsing, close codes.

Every malformed input must come back as an error event carrying the RFC's
close code, never as a Python exception or a panic.
"""

from __future__ import annotations

import random
import struct

import pytest
from conftest import triples

from ferrobahn import _core
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
)

KEY = b"\x01\x02\x03\x04"


def client_frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    """A masked frame built by hand, independently of the encoder under test."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    masked = bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))
    return head + KEY + masked


def server_parser(**options: object) -> _core.Parser:
    return _core.Parser("required", **options)  # type: ignore[arg-type]


def feed_split(parser: _core.Parser, data: bytes, size: int) -> list[tuple[object, ...]]:
    events: list[tuple[object, ...]] = []
    for i in range(0, len(data), size):
        events.extend(triples(parser.feed(data[i : i + size])))
    return events


def test_messages_of_every_length_encoding() -> None:
    for n in (0, 125, 126, 127, 128, 65535, 65536):
        payload = bytes(random.getrandbits(8) for _ in range(n))
        wire = client_frame(2, payload)
        assert triples(server_parser().feed(wire)) == [(EV_MESSAGE, payload, True)]
        # Autobahn 1.1.8: the same in 997-byte reads.
        assert feed_split(server_parser(), wire, 997) == [(EV_MESSAGE, payload, True)]


def test_payloads_are_bytes() -> None:
    ((kind, payload, binary),) = triples(server_parser().feed(client_frame(1, "κόσμε".encode())))
    assert (kind, binary) == (EV_MESSAGE, False)
    assert type(payload) is bytes
    assert payload.decode() == "κόσμε"


def test_ping_pong_close_and_after_close() -> None:
    parser = server_parser()
    wire = (
        client_frame(9, b"ping")
        + client_frame(10, b"")
        + client_frame(8, struct.pack("!H", 1001) + b"going")
        + client_frame(1, b"ignored")
    )
    assert triples(parser.feed(wire)) == [
        (EV_PING, b"ping", None),
        (EV_PONG, b"", None),
        (EV_CLOSE, 1001, "going"),
    ]
    assert parser.done
    assert triples(parser.feed(client_frame(1, b"more"))) == []
    assert triples(server_parser().feed(client_frame(8, b""))) == [(EV_CLOSE, None, "")]


def test_ping_between_fragments_is_delivered_first() -> None:
    # Autobahn 5.6-5.8, one byte at a time included.
    wire = client_frame(1, b"frag", fin=False) + client_frame(9, b"p") + client_frame(0, b"ment")
    for size in (len(wire), 1):
        assert feed_split(server_parser(), wire, size) == [
            (EV_PING, b"p", None),
            (EV_MESSAGE, b"fragment", False),
        ]


def test_stream_mode_events() -> None:
    parser = server_parser(stream=True)
    wire = client_frame(2, b"abc", fin=False) + client_frame(0, b"de")
    assert triples(parser.feed(wire[:7])) == [
        (EV_MESSAGE_BEGIN, True, None),
        (EV_FRAME_BEGIN, 3, (0, False)),
        (EV_FRAME_DATA, b"a", None),
    ]
    assert triples(parser.feed(wire[7:])) == [
        (EV_FRAME_DATA, b"bc", None),
        (EV_FRAME_END, None, None),
        (EV_FRAME_BEGIN, 2, (0, True)),
        (EV_FRAME_DATA, b"de", None),
        (EV_FRAME_END, None, None),
        (EV_MESSAGE_END, None, None),
    ]


MALFORMED = [
    ("reserved opcode 3", client_frame(3, b""), 1002),
    ("reserved opcode 15", client_frame(15, b"x"), 1002),
    ("rsv bits without extension", client_frame(1, b"x", rsv=5), 1002),
    ("unmasked client frame", b"\x81\x01x", 1002),
    ("continuation without message", client_frame(0, b"x"), 1002),
    ("text while fragmented", client_frame(1, b"a", fin=False) + client_frame(1, b"b"), 1002),
    ("fragmented ping", client_frame(9, b"", fin=False), 1002),
    ("126-byte ping", client_frame(9, b"x" * 126), 1002),
    ("1-byte close payload", client_frame(8, b"\x03"), 1002),
    ("close code 1005", client_frame(8, struct.pack("!H", 1005)), 1002),
    ("close code 999", client_frame(8, struct.pack("!H", 999)), 1002),
    ("close code 5000", client_frame(8, struct.pack("!H", 5000)), 1002),
    ("invalid close reason", client_frame(8, struct.pack("!H", 1000) + b"\xff"), 1007),
    ("surrogate in text", client_frame(1, b"\xed\xa0\x80"), 1007),
    ("text ends mid code point", client_frame(1, b"\xe2\x82"), 1007),
    ("top bit of 64-bit length", b"\x82\xff" + struct.pack("!Q", 2**63 + 5) + KEY, 1002),
    ("non-minimal length", b"\x82\xfe\x00\x05" + KEY + b"abcde", 1002),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("size", [1, 3, 1 << 20])
@pytest.mark.parametrize(("name", "wire", "code"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_gets_its_close_code(
    name: str, wire: bytes, code: int, size: int, stream: bool
) -> None:
    parser = server_parser(stream=stream)
    events = feed_split(parser, wire, size)
    assert events[-1][:2] == (EV_ERROR, code), name
    assert isinstance(events[-1][2], str)
    assert parser.done


def test_earlier_message_is_delivered_before_the_error() -> None:
    # Autobahn 3.2 / 4.1.3 strict: echo the valid message, then fail.
    wire = client_frame(1, b"hello") + client_frame(4, b"") + client_frame(9, b"")
    events = triples(server_parser().feed(wire))
    assert events[0] == (EV_MESSAGE, b"hello", False)
    assert events[1][:2] == (EV_ERROR, 1002)
    assert len(events) == 2


def test_invalid_utf8_fails_at_the_bad_byte() -> None:
    # Autobahn 6.4.3: frame still incomplete when F4 90 arrives.
    payload = "κόσμε".encode() + b"\xf4\x90\x80\x80" + b"edited"
    wire = client_frame(1, payload)
    bad = 2 + 4 + len("κόσμε".encode())
    parser = server_parser()
    assert triples(parser.feed(wire[: bad + 1])) == []
    assert triples(parser.feed(wire[bad + 1 : bad + 2]))[-1][:2] == (EV_ERROR, 1007)


def test_size_limits_fail_with_1009_before_the_payload() -> None:
    parser = server_parser(max_frame_payload=100, max_message_payload=150)
    assert triples(parser.feed(client_frame(2, b"x" * 100))) == [(EV_MESSAGE, b"x" * 100, True)]
    header_only = client_frame(2, b"x" * 101)[:8]
    assert triples(server_parser(max_frame_payload=100).feed(header_only))[-1][:2] == (
        EV_ERROR,
        1009,
    )
    fragments = client_frame(2, b"x" * 100, fin=False) + client_frame(0, b"x" * 51)
    assert triples(server_parser(max_message_payload=150).feed(fragments))[-1][:2] == (
        EV_ERROR,
        1009,
    )
    huge = b"\x82\xff" + struct.pack("!Q", 2**63 - 1) + KEY
    assert triples(server_parser(max_message_payload=1 << 24).feed(huge))[-1][:2] == (
        EV_ERROR,
        1009,
    )


def test_client_side_rejects_masked_frames_and_optional_accepts_both() -> None:
    assert triples(_core.Parser("forbidden").feed(client_frame(1, b"x")))[-1][:2] == (
        EV_ERROR,
        1002,
    )
    assert triples(_core.Parser("forbidden").feed(b"\x81\x01x")) == [(EV_MESSAGE, b"x", False)]
    optional = _core.Parser("optional")
    assert triples(optional.feed(b"\x81\x01x" + client_frame(1, b"y"))) == [
        (EV_MESSAGE, b"x", False),
        (EV_MESSAGE, b"y", False),
    ]
    with pytest.raises(ValueError, match="mask must be"):
        _core.Parser("sometimes")


def test_rsv_allowed_by_extension_is_reported() -> None:
    parser = server_parser(allowed_rsv=4, stream=True)
    events = triples(parser.feed(client_frame(1, b"", rsv=4)))
    assert (EV_FRAME_BEGIN, 0, (4, True)) in events


def test_encoder_output_parses_back() -> None:
    client = _core.Parser("forbidden")
    server = server_parser()
    for n in (0, 1, 125, 126, 65535, 65536, 200_000):
        payload = random.randbytes(n)
        for frag in (0, 1000):
            unmasked = _core.encode_message(payload, True, fragment_size=frag)
            assert triples(client.feed(unmasked)) == [(EV_MESSAGE, payload, True)]
            masked = _core.encode_message(payload, True, mask=True, fragment_size=frag)
            assert triples(server.feed(masked)) == [(EV_MESSAGE, payload, True)]
    assert _core.encode_message(b"Hello", False) == b"\x81\x05Hello"
    assert _core.encode_frame(9, b"", mask=False) == b"\x89\x00"
    # Raw access: reserved opcodes and bits can be sent on purpose.
    assert _core.encode_frame(3, b"", fin=False, rsv=7) == b"\x73\x00"


def test_masked_encoding_uses_fresh_keys() -> None:
    keys = {_core.encode_message(b"", False, mask=True)[2:6] for _ in range(1000)}
    assert len(keys) > 990


def test_close_encoding() -> None:
    assert _core.encode_close() == b"\x88\x00"
    assert _core.encode_close(1000, "bye") == b"\x88\x05\x03\xe8bye"
    long = _core.encode_close(1000, "é" * 100)
    assert long[1] == 2 + 122  # truncated on a character boundary
    with pytest.raises(ValueError, match="1005"):
        _core.encode_close(1005)
    assert [c for c in range(65536) if _core.is_valid_close_code(c)] == [
        *range(1000, 1004),
        *range(1007, 1015),
        *range(3000, 5000),
    ]


def test_arbitrary_bytes_give_events_or_one_error() -> None:
    rng = random.Random(6455)
    for _ in range(3000):
        data = rng.randbytes(rng.randrange(0, 64))
        for mask in ("required", "forbidden"):
            events = feed_split(
                _core.Parser(mask, max_message_payload=1000), data, rng.randrange(1, 9)
            )
            kinds = [e[0] for e in events]
            assert kinds.count(EV_ERROR) <= 1
            assert EV_ERROR not in kinds[:-1]
