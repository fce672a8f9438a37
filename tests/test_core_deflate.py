"""permessage-deflate in ferrobahn._core: Deflater, Parser with deflate on.

The compressed streams are checked against Python's own zlib in both directions
(raw DEFLATE, ``wbits=-N``), and the receive path against decompression bombs: the
limits count inflated bytes, fail with 1009 at the first byte over, and memory stays
bounded by the limit, never by what the peer's data could inflate to.
"""

from __future__ import annotations

import json
import pathlib
import random
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Sequence

import pytest
from conftest import triples

from ferrobahn import _core
from ferrobahn._core import (
    EV_ERROR,
    EV_FRAME_BEGIN,
    EV_FRAME_DATA,
    EV_MESSAGE,
    EV_MESSAGE_BEGIN,
    EV_MESSAGE_END,
    EV_PING,
)

TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20


def json_text(n: int, seed: int = 0) -> bytes:
    """About n bytes of JSON-like text (valid UTF-8), exactly n bytes long."""
    rng = random.Random(seed)
    items = []
    size = 0
    while size < n:
        item = json.dumps(
            {"id": rng.randrange(10**6), "name": f"user{rng.randrange(1000)}", "ok": True}
        )
        items.append(item)
        size += len(item) + 1
    return ",".join(items).encode()[:n]


def zlib_compress(data: bytes, bits: int = 15, compressor: object | None = None) -> bytes:
    """A message's payload as RFC 7692 §7.2.1 says, with Python's zlib."""
    c = compressor or zlib.compressobj(6, zlib.DEFLATED, -bits)
    out: bytes = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)  # type: ignore[attr-defined]
    assert out.endswith(TAIL)
    return out[:-4]


def frames(opcode: int, payload: bytes, cuts: list[int] | None = None) -> bytes:
    """A compressed message as masked client frames, RSV1 on the first one only."""
    bounds = sorted(min(c, len(payload)) for c in cuts or []) + [len(payload)]
    wire = b""
    start = 0
    for i, end in enumerate(bounds):
        wire += _core.encode_frame(
            opcode if i == 0 else 0,
            payload[start:end],
            fin=i + 1 == len(bounds),
            rsv=4 if i == 0 else 0,
            mask=True,
        )
        start = end
    return wire


def deflate_parser(bits: int = 15, nct: bool = False, **options: object) -> _core.Parser:
    return _core.Parser(
        "required",
        deflate_window_bits=bits,
        deflate_no_context_takeover=nct,
        **options,  # type: ignore[arg-type]
    )


def messages(events: Sequence[tuple[object, ...]]) -> list[tuple[bytes, bool]]:
    """Whole messages out of the events of either delivery mode."""
    out: list[tuple[bytes, bool]] = []
    current: list[bytes] = []
    binary = False
    for event in events:
        if event[0] == EV_MESSAGE:
            out.append((event[1], event[2]))  # type: ignore[arg-type]
        elif event[0] == EV_MESSAGE_BEGIN:
            current, binary = [], bool(event[1])
        elif event[0] == EV_FRAME_DATA:
            current.append(event[1])  # type: ignore[arg-type]
        elif event[0] == EV_MESSAGE_END:
            out.append((b"".join(current), binary))
    return out


def error_code(events: Sequence[tuple[object, ...]]) -> object:
    return events[-1][1] if events and events[-1][0] == EV_ERROR else None


# ---------------------------------------------------------------- interop with zlib


@pytest.mark.parametrize("bits", range(9, 16))
@pytest.mark.parametrize("nct", [False, True])
def test_our_compressor_inflates_with_zlib(bits: int, nct: bool) -> None:
    deflater = _core.Deflater(bits, nct)
    assert (deflater.window_bits, deflater.no_context_takeover) == (bits, nct)
    inflater = zlib.decompressobj(wbits=-bits)
    for i, data in enumerate([b"Hello", json_text(50_000, bits), b"", json_text(3000), b"x"]):
        payload = deflater.compress(data)
        assert payload  # never empty, even for an empty message (RFC 7692 §7.2.3.6)
        if nct:
            # Each message stands alone: a fresh inflater reads it.
            inflater = zlib.decompressobj(wbits=-bits)
        assert inflater.decompress(payload + TAIL) == data, i


@pytest.mark.parametrize("bits", range(9, 16))
@pytest.mark.parametrize("stream", [False, True])
def test_zlib_compressor_inflates_with_our_parser(bits: int, stream: bool) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -bits)
    sent = [json_text(40_000, bits), b"Hello", b"", bytes(range(256)) * 10]
    wire = b""
    for data in sent:
        payload = zlib_compress(data, compressor=compressor)
        wire += frames(2, payload, [1, len(payload) // 2])
        wire += _core.encode_frame(9, b"ping", mask=True)
    for size in (len(wire), 1000, 7):
        parser = deflate_parser(bits, stream=stream)
        events = [
            e for i in range(0, len(wire), size) for e in triples(parser.feed(wire[i : i + size]))
        ]
        assert error_code(events) is None
        assert messages(events) == [(data, True) for data in sent]
        assert sum(e[0] == EV_PING for e in events) == len(sent)


def test_zlib_with_bfinal_blocks_and_context_takeover() -> None:
    # RFC 7692 §7.2.3.3: a sender may end each message with a final block
    # (Z_FINISH), which starts a new DEFLATE stream for the next message.
    wire = b""
    sent = [b"Hello", json_text(5000), b"Hello"]
    for data in sent:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = c.compress(data) + c.flush(zlib.Z_FINISH) + b"\x00"
        wire += frames(1, payload)
    assert messages(triples(deflate_parser().feed(wire))) == [(d, False) for d in sent]


def test_window_bits_8_runs_as_9_and_fits_a_256_byte_window() -> None:
    deflater = _core.Deflater(8)
    assert deflater.window_bits == 9
    assert deflate_parser(8).deflate == (9, False)
    # Repeats 260 bytes apart: a 9-bit zlib window never reaches back further than
    # 250 bytes, so an inflater with a real 256-byte window (zlib allows 8 there)
    # reads what we send.
    rng = random.Random(8)
    block = bytes(rng.getrandbits(8) for _ in range(260))
    data = block * 100 + json_text(20_000)
    assert zlib.decompressobj(wbits=-8).decompress(deflater.compress(data) + TAIL) == data
    # And what a peer compresses with 8 (zlib: 9) we inflate with 9.
    parser = deflate_parser(8)
    assert messages(triples(parser.feed(frames(2, zlib_compress(data, 9))))) == [(data, True)]


def test_compress_chunk_streams_one_message() -> None:
    deflater = _core.Deflater()
    data = json_text(300_000)
    pieces = [data[i : i + 70_000] for i in range(0, len(data), 70_000)]
    payloads = [deflater.compress_chunk(p, i + 1 == len(pieces)) for i, p in enumerate(pieces)]
    assert not deflater.in_message
    joined = b"".join(payloads)
    assert zlib.decompressobj(wbits=-15).decompress(joined + TAIL) == data
    # Each piece is one frame's payload.
    wire = b"".join(
        _core.encode_frame(
            1 if i == 0 else 0, p, fin=i + 1 == len(payloads), rsv=4 if i == 0 else 0, mask=True
        )
        for i, p in enumerate(payloads)
    )
    assert messages(triples(deflate_parser().feed(wire))) == [(data, False)]
    # compress() refuses to interleave with an unfinished chunked message.
    deflater.compress_chunk(b"abc", False)
    assert deflater.in_message
    with pytest.raises(ValueError):
        deflater.compress(b"x")
    with pytest.raises(ValueError):
        deflater.encode_message(b"x", False)
    deflater.compress_chunk(b"", True)
    assert deflater.compress(b"") == b"\x00"


def test_encode_message_frames_compressed_payload() -> None:
    deflater = _core.Deflater(12, True, level=1, mem_level=5)
    data = json_text(100_000)
    wire = deflater.encode_message(data, False, mask=True, fragment_size=4096)
    assert wire[0] == 0x40 | 0x01  # RSV1, text, not FIN: fragmented
    assert len(wire) < len(data) // 2
    assert messages(triples(deflate_parser(12, True).feed(wire))) == [(data, False)]
    wire = deflater.encode_message(b"bin", True)
    assert wire[0] == 0x80 | 0x40 | 0x02
    assert messages(triples(_core.Parser("forbidden", deflate_window_bits=12).feed(wire))) == [
        (b"bin", True)
    ]


def test_stream_mode_delivers_inflated_pieces_as_they_arrive() -> None:
    data = json_text(500_000)
    payload = zlib_compress(data)
    wire = frames(1, payload)
    parser = deflate_parser(stream=True)
    events = triples(parser.feed(wire[: len(wire) // 2]))
    assert events[0] == (EV_MESSAGE_BEGIN, False, None)
    assert events[1] == (EV_FRAME_BEGIN, len(payload), (4, True))
    early = b"".join(e[1] for e in events if e[0] == EV_FRAME_DATA)  # type: ignore[misc]
    assert len(early) > 100_000 and data.startswith(early)
    events += triples(parser.feed(wire[len(wire) // 2 :]))
    assert messages(events) == [(data, False)]


def test_parameters_are_checked_and_switchable() -> None:
    for bad in (7, 16):
        with pytest.raises(ValueError):
            _core.Deflater(bad)
        with pytest.raises(ValueError):
            deflate_parser(bad)
    with pytest.raises(ValueError):
        _core.Deflater(level=10)
    with pytest.raises(ValueError):
        _core.Deflater(mem_level=0)
    parser = _core.Parser("required")
    assert parser.deflate is None
    payload = _core.Deflater().compress(b"Hello")
    assert error_code(triples(_core.Parser("required").feed(frames(1, payload)))) == 1002
    parser.set_deflate(15, True)
    assert parser.deflate == (15, True)
    assert triples(parser.feed(frames(1, payload))) == [(EV_MESSAGE, b"Hello", False)]
    with pytest.raises(ValueError):
        parser.set_deflate(16)
    parser.configure("required")  # the whole configuration: deflate off again
    assert parser.deflate is None
    parser.set_deflate(None)
    assert error_code(triples(parser.feed(frames(1, payload)))) == 1002


# ------------------------------------------------------------------ protocol errors


@pytest.mark.parametrize(
    "name, wire",
    [
        ("compressed ping", _core.encode_frame(9, b"", rsv=4, mask=True)),
        ("compressed pong", _core.encode_frame(10, b"x", rsv=4, mask=True)),
        ("compressed close", _core.encode_frame(8, b"\x03\xe8", rsv=4, mask=True)),
        (
            "rsv1 on a continuation",
            _core.encode_frame(1, b"\xf2\x48", fin=False, rsv=4, mask=True)
            + _core.encode_frame(0, b"\xcd\xc9\xc9\x07\x00", rsv=4, mask=True),
        ),
        ("rsv2", _core.encode_frame(1, b"x", rsv=2, mask=True)),
        ("rsv3", _core.encode_frame(2, b"x", rsv=1, mask=True)),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_rsv_misuse_is_1002(name: str, wire: bytes, stream: bool) -> None:
    assert error_code(triples(deflate_parser(stream=stream).feed(wire))) == 1002, name


def test_corrupt_data_and_invalid_utf8_are_1007() -> None:
    assert error_code(triples(deflate_parser().feed(frames(2, b"\xff\xff")))) == 1007
    bad_text = zlib_compress(b"caf\xc3 \xed\xa0\x80")
    assert error_code(triples(deflate_parser().feed(frames(1, bad_text)))) == 1007
    # Binary messages are not checked.
    assert messages(triples(deflate_parser().feed(frames(2, bad_text)))) == [
        (b"caf\xc3 \xed\xa0\x80", True)
    ]


# ----------------------------------------------------------------------- limits


def held_back_frames(data: bytes) -> bytes:
    """The message in two frames: zlib holds everything back (Z_NO_FLUSH) until the
    sync flush, which is alone in the last frame."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = c.compress(data)
    last = c.flush(zlib.Z_SYNC_FLUSH)[:-4]
    return _core.encode_frame(1, first, fin=False, rsv=4, mask=True) + _core.encode_frame(
        0, last, mask=True
    )


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("which", ["message", "frame"])
def test_limit_counts_inflated_bytes_exactly(stream: bool, which: str) -> None:
    limit = 100_000
    options: dict[str, object] = {f"max_{which}_payload": limit, "stream": stream}
    for size, ok in ((limit, True), (limit + 1, False)):
        data = json_text(size)
        payload = zlib_compress(data)
        assert len(payload) < limit // 4  # compressed far below, inflated at or above
        shapes = {"one frame": frames(1, payload), "final flush": held_back_frames(data)}
        if which == "message":
            shapes["fragments"] = frames(1, payload, list(range(100, len(payload), 100)))
        for shape, wire in shapes.items():
            events = triples(deflate_parser(15, False, **options).feed(wire))
            if ok:
                assert messages(events) == [(data, False)], shape
            else:
                assert error_code(events) == 1009, shape
                assert messages(events) == [], shape  # the application never sees it


def zero_bomb(units: int) -> bytes:
    """`units` MiB of zeros, deflated to about 1 KiB each: one sync-flushed unit
    repeated (it refers to nothing before it), tail removed from the last."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    unit = c.compress(bytes(MiB)) + c.flush(zlib.Z_SYNC_FLUSH)
    return unit * units


def test_bomb_is_a_bomb() -> None:
    bomb = zero_bomb(1024)
    assert len(bomb) < 1100 * 1024
    unit = len(bomb) // 1024
    inflater = zlib.decompressobj(wbits=-15)
    assert inflater.decompress(bomb[: 16 * unit], 64 * MiB) == bytes(16 * MiB)


BOMB_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from ferrobahn import _core

    path, stream, nct, which = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1", sys.argv[4]
    limit = 1 << 20
    with open(path, "rb") as f:
        wire = f.read()
    parser = _core.Parser("required", stream=stream, deflate_window_bits=15,
                          deflate_no_context_takeover=nct, **{f"max_{which}_payload": limit})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux: also reset the kernel's peak (VmHWM) to the current RSS, so that the
    # peak is measured from here and not from the interpreter's start-up.
    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key))
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        hwm_base = status("VmRSS:")
    except OSError:
        hwm_base = None
    events = []
    for i in range(0, len(wire), 65536):
        events += parser.feed(wire[i : i + 65536])
        if parser.done:
            break
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm_growth = None if hwm_base is None else status("VmHWM:") - hwm_base
    # Flat (kind, a, b): the payloads of messages (0) and of frame pieces (3).
    delivered = sum(len(events[i + 1]) for i in range(0, len(events), 3) if events[i] in (0, 3))
    print(json.dumps({"last": events[-3:-1], "growth_kib": after - before,
                      "hwm_growth_kib": hwm_growth, "delivered": delivered}))
    """
)


def run_bomb(path: str, stream: bool, nct: bool, which: str) -> dict[str, object]:
    """Feed the wire in `path` to a parser in a fresh process, so that ru_maxrss (the
    peak RSS) measures the feed alone: the process holds little more than the wire."""
    args = [path, str(int(stream)), str(int(nct)), which]
    out = subprocess.run(
        [sys.executable, "-c", BOMB_SCRIPT, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("nct", [False, True])
@pytest.mark.parametrize("fragments", [1, 1000])
def test_decompression_bomb_fails_with_bounded_memory(
    tmp_path: pathlib.Path, stream: bool, nct: bool, fragments: int
) -> None:
    # About 1 GiB of zeros in about 1 MiB, in one frame or in 1000 fragments.
    bomb = zero_bomb(1024)[:-4]
    assert len(bomb) < 1100 * 1024
    wire = frames(2, bomb, [i * len(bomb) // fragments for i in range(1, fragments)])
    path = tmp_path / "bomb"
    path.write_bytes(wire)
    for which in ("message", "frame") if fragments == 1 else ("message",):
        result = run_bomb(str(path), stream, nct, which)
        assert result["last"] == [EV_ERROR, 1009], result
        # Stream mode hands out at most the limit, in pieces, before failing.
        assert isinstance(result["delivered"], int) and result["delivered"] <= MiB, result
        # Peak RSS grew by less than the limit + 8 MiB: the gigabyte never exists.
        # getrusage's peak counts from the process start; where Linux lets the
        # peak be reset (VmHWM), it counts from the first byte fed.
        for key in ("growth_kib", "hwm_growth_kib"):
            growth = result[key]
            assert growth is None or isinstance(growth, int)
            if growth is not None:
                assert growth * 1024 < MiB + 8 * MiB, result
