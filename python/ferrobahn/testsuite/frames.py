"""The tester's own WebSocket frame codec (RFC 6455 §5).

Why a second codec in a library that has one in Rust: the conformance tester must
judge ferrobahn with code that shares none of ferrobahn's code, or a bug in the core
would be both committed and excused. This module is small on purpose: it encodes any
frame a case needs (including invalid ones: reserved bits and opcodes, oversized
control frames, wrong close payloads) and decodes the peer's frames without judging
them; the rules a peer must follow are checked by ``peer.py``.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

OP_CONTINUATION = 0
OP_TEXT = 1
OP_BINARY = 2
OP_CLOSE = 8
OP_PING = 9
OP_PONG = 10

#: Opcodes RFC 6455 defines; everything else is reserved.
DATA_OPCODES = frozenset({OP_CONTINUATION, OP_TEXT, OP_BINARY})
CONTROL_OPCODES = frozenset({OP_CLOSE, OP_PING, OP_PONG})

#: The largest frame payload the tester accepts from a peer (16 MiB cases + room).
MAX_FRAME_PAYLOAD = 64 * 2**20


class FrameError(Exception):
    """The peer's bytes cannot be read as frames at all."""


def mask(payload: bytes, key: bytes, offset: int = 0) -> bytes:
    """XOR ``payload`` with the 4-byte ``key``, starting ``offset`` bytes into the
    key stream (for a frame payload written in several chunks). One big-integer XOR
    instead of a Python loop per byte, so megabyte payloads stay cheap."""
    n = len(payload)
    if n == 0:
        return b""
    shift = offset % 4
    rotated = key[shift:] + key[:shift]
    stream = (rotated * (n // 4 + 1))[:n]
    value = int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")
    return value.to_bytes(n, "little")


def new_mask_key() -> bytes:
    return os.urandom(4)


def encode_header(
    opcode: int, length: int, *, fin: bool = True, rsv: int = 0, key: bytes | None = None
) -> bytes:
    """A frame header declaring ``length`` payload bytes (minimal length encoding),
    followed by the mask key when ``key`` is given."""
    first = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    bit = 0x80 if key is not None else 0
    if length < 126:
        head = struct.pack("!BB", first, bit | length)
    elif length < 2**16:
        head = struct.pack("!BBH", first, bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, bit | 127, length)
    return head + (key or b"")


def encode_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    key: bytes | None = None,
) -> bytes:
    """A whole frame, masked with ``key`` when one is given."""
    body = mask(payload, key) if key is not None else payload
    return encode_header(opcode, len(payload), fin=fin, rsv=rsv, key=key) + body


def close_payload(code: int | None = None, reason: bytes = b"") -> bytes:
    """The payload of a close frame: the code (if any) then the raw reason bytes.
    Deliberately lets a case build invalid payloads (a reason without a code, a
    reason longer than 123 bytes, a reason that is not UTF-8)."""
    return (struct.pack("!H", code) if code is not None else b"") + reason


@dataclass
class Frame:
    """One frame as it arrived, unmasked."""

    opcode: int
    fin: bool
    rsv: int
    masked: bool
    payload: bytes


class FrameReader:
    """Incremental frame decoder: ``feed`` any chunking of the byte stream and get
    back the frames it completes. It only refuses what cannot be framed at all (a
    64-bit length with the top bit set, a payload above ``MAX_FRAME_PAYLOAD``)."""

    def __init__(self, max_payload: int = MAX_FRAME_PAYLOAD) -> None:
        self._buf = bytearray()
        self._max = max_payload

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        masked = bool(b1 & 0x80)
        length = b1 & 0x7F
        pos = 2
        if length == 126:
            if len(buf) < 4:
                return None
            (length,) = struct.unpack_from("!H", buf, 2)
            pos = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            (length,) = struct.unpack_from("!Q", buf, 2)
            pos = 10
            if length >> 63:
                raise FrameError("64-bit payload length with the most significant bit set")
        if length > self._max:
            raise FrameError(f"frame payload of {length} bytes is above the tester's limit")
        key = b""
        if masked:
            if len(buf) < pos + 4:
                return None
            key = bytes(buf[pos : pos + 4])
            pos += 4
        if len(buf) < pos + length:
            return None
        payload = bytes(buf[pos : pos + length])
        del buf[: pos + length]
        if masked:
            payload = mask(payload, key)
        return Frame(b0 & 0x0F, bool(b0 & 0x80), (b0 >> 4) & 7, masked, payload)
