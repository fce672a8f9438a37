"""Throughput of the Rust core as Python sees it, against a plain copy.

Run with ``make bench`` (or ``.venv/bin/pytest benchmarks/ --benchmark-only``).
Each group times one buffer size; the summary after pytest-benchmark's table
(see ``conftest.py``) gives GB/s and the ratio of each operation to copying
the same buffer, all measured in the same run.

The copy is ``bytes(memoryview(buf))``: one allocation and one memcpy.
(``bytes(buf)`` and ``buf[:]`` return ``buf`` itself for a ``bytes`` object,
and ``bytes(bytearray(buf))`` copies twice.) The other operations allocate
their result the same way, so the ratio is what the work costs over a copy.

``examples/rust/core_throughput.rs`` measures the same loops without Python.
"""

from __future__ import annotations

from typing import Any

import pytest

from ferrobahn import _core

MIB = 1 << 20
KEY = b"\x37\xfa\x21\x3d"
TEXT_OPCODE = 1
# ASCII with 2-, 3- and 4-byte sequences; the same text as the Rust example.
PATTERN = "Hello, wörld! Grüße aus Köln. Привет, мир! 你好，世界。 🎉🚀 "


def mixed_text(size: int) -> bytes:
    """Exactly ``size`` bytes of valid UTF-8 (cut on a code point, space-padded)."""
    data = (PATTERN * (size // len(PATTERN.encode()) + 1)).encode()
    cut = size
    while data[cut] & 0xC0 == 0x80:  # a continuation byte: not a boundary
        cut -= 1
    return data[:cut] + b" " * (size - cut)


TEXT_1MIB = mixed_text(MIB)
FRAME_1MIB = _core.encode_frame(TEXT_OPCODE, TEXT_1MIB, mask=True)
FRAME_64B = _core.encode_frame(TEXT_OPCODE, mixed_text(64), mask=True)
FRAMES_PER_READ = 256 * 1024 // len(FRAME_64B)
READ_256KIB = FRAME_64B * FRAMES_PER_READ

GROUP_1MIB = "1 MiB"
GROUP_64B = f"64 B text frames, {FRAMES_PER_READ} in one {len(READ_256KIB)} B read"


# -- 1 MiB --------------------------------------------------------------------


@pytest.mark.benchmark(group=GROUP_1MIB)
def test_copy_1mib(benchmark: Any, throughput: Any) -> None:
    out = benchmark(bytes, memoryview(TEXT_1MIB))
    assert out == TEXT_1MIB and out is not TEXT_1MIB
    throughput(benchmark, "copy: bytes(memoryview(buf))", MIB, baseline=True)


@pytest.mark.benchmark(group=GROUP_1MIB)
def test_apply_mask_1mib(benchmark: Any, throughput: Any) -> None:
    out = benchmark(_core.apply_mask, TEXT_1MIB, KEY)
    assert _core.apply_mask(out, KEY) == TEXT_1MIB
    throughput(benchmark, "_core.apply_mask(buf, key)", MIB)


@pytest.mark.benchmark(group=GROUP_1MIB)
def test_validate_utf8_1mib(benchmark: Any, throughput: Any) -> None:
    assert benchmark(_core.validate_utf8, TEXT_1MIB)
    throughput(benchmark, "_core.validate_utf8(text)", MIB)


@pytest.mark.benchmark(group=GROUP_1MIB)
def test_parser_feed_1mib(benchmark: Any, throughput: Any) -> None:
    parser = _core.Parser("required")
    events = benchmark(parser.feed, FRAME_1MIB)
    assert events == [_core.EV_MESSAGE, TEXT_1MIB, False]  # flat: kind, payload, binary
    throughput(benchmark, "Parser.feed(frame): parse+unmask+UTF-8", MIB)


# -- 64 B frames in a 256 KiB read ----------------------------------------------


@pytest.mark.benchmark(group=GROUP_64B)
def test_copy_256kib(benchmark: Any, throughput: Any) -> None:
    out = benchmark(bytes, memoryview(READ_256KIB))
    assert out == READ_256KIB and out is not READ_256KIB
    throughput(benchmark, "copy: bytes(memoryview(buf))", len(READ_256KIB), baseline=True)


@pytest.mark.benchmark(group=GROUP_64B)
def test_parser_feed_64b_frames(benchmark: Any, throughput: Any) -> None:
    parser = _core.Parser("required")
    events = benchmark(parser.feed, READ_256KIB)
    assert len(events) == 3 * FRAMES_PER_READ  # flat: kind, payload, binary per message
    assert events[:3] == [_core.EV_MESSAGE, mixed_text(64), False]
    throughput(
        benchmark, "Parser.feed(read): 64 B frames", len(READ_256KIB), frames=FRAMES_PER_READ
    )
