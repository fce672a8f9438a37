"""AutobahnPython's advanced API: messages as frames, frames as streams.

Receiving: the Rust parser hands out message and frame boundaries and payload
pieces as they arrive (``Delivery::Stream``) when a protocol class overrides
any of the callbacks below; the default implementations buffer and call the
next level up exactly as AutobahnPython's do (``onMessageFrameData`` →
``onMessageFrameEnd`` → ``onMessageFrame`` → ``onMessageEnd`` → ``onMessage``),
so a class overriding any subset, calling the base or not, sees what it would
see on AutobahnPython. A class overriding none of them keeps the fast path:
whole messages assembled in Rust.

Sending: ``beginMessage`` / ``sendMessageFrame`` / ``endMessage`` send a
message frame by frame; ``beginMessageFrame`` / ``sendMessageFrameData``
stream one frame's payload of any size (up to 2^63 - 1 bytes) in pieces.
``sendFrame`` writes raw frames, reserved bits and opcodes included.
"""

from __future__ import annotations

from typing import Any

from ferrobahn import _core
from ferrobahn.exception import Disconnected, InvalidTypeError, InvalidValueError

#: The receive callbacks whose override switches a class to frame delivery.
FRAME_API_CALLBACKS = (
    "onMessageBegin",
    "onMessageFrameBegin",
    "onMessageFrameData",
    "onMessageFrameEnd",
    "onMessageFrame",
    "onMessageEnd",
)

STATE_OPEN = 3
SEND_STATE_GROUND = 0
SEND_STATE_MESSAGE_BEGIN = 1
SEND_STATE_INSIDE_MESSAGE = 2
SEND_STATE_INSIDE_MESSAGE_FRAME = 3
OPCODE_CONTINUATION = 0x0
RSV1 = 0b100
MAX_FRAME_LENGTH = (1 << 63) - 1


_overrides: dict[type, frozenset[str]] = {}


def overridden_frame_callbacks(cls: type) -> frozenset[str]:
    """Which receive callbacks of the frame API a protocol class overrides;
    decided once per class, not per message."""
    found = _overrides.get(cls)
    if found is None:
        found = _overrides[cls] = frozenset(
            name
            for name in FRAME_API_CALLBACKS
            if getattr(cls, name) is not getattr(FrameApi, name)
        )
    return found


class PreparedMessage:
    """A message framed once, to be sent to many connections unchanged
    (``factory.prepareMessage``). A masked one uses one key for all, as in
    AutobahnPython."""

    __slots__ = ("payload", "binary", "doNotCompress", "data", "compressed")

    def __init__(
        self, payload: bytes, isBinary: bool, applyMask: bool, doNotCompress: bool
    ) -> None:
        if type(payload) is not bytes:
            raise InvalidTypeError(f"payload must be bytes, not {type(payload).__name__}")
        self.payload = payload
        self.binary = bool(isBinary)
        self.doNotCompress = doNotCompress
        self.data = _core.encode_message(payload, self.binary, mask=applyMask)
        #: Compressed frames by window bits, for peers without context takeover.
        self.compressed: dict[int, bytes] = {}


class FrameApi:
    """The frame-based and streaming API, mixed into ``WebSocketProtocol``."""

    # Provided by WebSocketProtocol.
    state: int
    send_state: int
    transport: Any
    _mask_outgoing: bool
    _deflater: Any
    _message_observers: list[Any]

    def _run_result(self, result: Any, what: str) -> None:
        raise NotImplementedError

    def fire(self, event: str, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def onMessage(self, payload: bytes, isBinary: bool) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------- receiving

    def onMessageBegin(self, isBinary: bool) -> Any:
        self.message_is_binary = isBinary
        self.message_data: list[bytes] | None = []
        self.message_data_total_length = 0

    def onMessageFrameBegin(self, length: int) -> Any:
        self.frame_length = length
        self.frame_data: list[bytes] | None = []
        self.message_data_total_length += length

    def onMessageFrameData(self, payload: bytes) -> Any:
        assert self.frame_data is not None
        self.frame_data.append(payload)

    def onMessageFrameEnd(self) -> Any:
        chunks, self.frame_data = self.frame_data, None
        return self.onMessageFrame(chunks or [])

    def onMessageFrame(self, payload: list[bytes]) -> Any:
        assert self.message_data is not None
        self.message_data.extend(payload)

    def onMessageEnd(self) -> Any:
        payload = b"".join(self.message_data or ())
        self.message_data = None
        result = self.onMessage(payload, self.message_is_binary)
        if result is not None:
            self._run_result(result, "onMessage")
        if self._message_observers:
            self.fire("message", payload, is_binary=self.message_is_binary)

    # --------------------------------------------------------------- sending

    def _check_send_state(self, allowed: tuple[int, ...], what: str) -> bool:
        """False when not open (a no-op, as AutobahnPython); raises when the
        call does not fit the message being sent."""
        if self.state != STATE_OPEN:
            return False
        if self.send_state not in allowed:
            raise RuntimeError(f"{what} is invalid in the current sending state {self.send_state}")
        return True

    def beginMessage(self, isBinary: bool = False, doNotCompress: bool = False) -> None:
        """Start a message sent frame by frame (``sendMessageFrame``) or
        streamed (``beginMessageFrame``); ``endMessage`` ends it. With
        permessage-deflate in use the message is compressed as it is given,
        unless ``doNotCompress``."""
        if self._check_send_state((SEND_STATE_GROUND,), "beginMessage"):
            self._send_opcode = 2 if isBinary else 1
            self._send_deflater = None if doNotCompress else self._deflater
            self._send_first = True
            self.send_state = SEND_STATE_MESSAGE_BEGIN

    def _write_frame(self, payload: bytes, fin: bool) -> None:
        """A whole frame of the current message: the first carries the opcode
        (and RSV1 when compressed), the rest are continuations."""
        first, self._send_first = self._send_first, False
        opcode = self._send_opcode if first else OPCODE_CONTINUATION
        rsv = RSV1 if first and self._send_deflater is not None else 0
        self.transport.write(
            _core.encode_frame(opcode, payload, fin=fin, rsv=rsv, mask=self._mask_outgoing)
        )

    def sendMessageFrame(self, payload: bytes, sync: bool = False) -> None:
        """Send one whole frame of the current message (FIN=0); compressed,
        the frame carries what the compressor gives back for ``payload``."""
        if self._check_send_state(
            (SEND_STATE_MESSAGE_BEGIN, SEND_STATE_INSIDE_MESSAGE), "sendMessageFrame"
        ):
            if self._send_deflater is not None:
                payload = self._send_deflater.compress_chunk(payload, False)
            self._write_frame(payload, fin=False)
            self.send_state = SEND_STATE_INSIDE_MESSAGE

    def beginMessageFrame(self, length: int) -> None:
        """Start a frame of ``length`` payload bytes (0 to 2^63 - 1), to be
        sent in pieces with ``sendMessageFrameData``. The header goes out now;
        compressed, each piece goes out as a frame of its own instead, since
        the compressed length is not known in advance."""
        if not self._check_send_state(
            (SEND_STATE_MESSAGE_BEGIN, SEND_STATE_INSIDE_MESSAGE), "beginMessageFrame"
        ):
            return
        if type(length) is not int:
            raise InvalidTypeError(f"frame length must be an int, not {type(length).__name__}")
        if not 0 <= length <= MAX_FRAME_LENGTH:
            raise InvalidValueError(f"frame length {length} is not between 0 and 2**63 - 1")
        self._frame_key = None
        if self._send_deflater is None:
            first, self._send_first = self._send_first, False
            opcode = self._send_opcode if first else OPCODE_CONTINUATION
            self._frame_key = _core.random_mask_key() if self._mask_outgoing else None
            self.transport.write(_core.encode_frame_header(opcode, length, key=self._frame_key))
        self._frame_remaining = length
        self._frame_sent = 0
        self.send_state = SEND_STATE_INSIDE_MESSAGE_FRAME if length else SEND_STATE_INSIDE_MESSAGE

    def sendMessageFrameData(self, payload: bytes, sync: bool = False) -> int | None:
        """Send the next piece of the current frame. Returns the bytes the
        frame still needs (> 0), 0 when it is complete, or minus the surplus
        (< 0; the surplus is not sent)."""
        if not self._check_send_state((SEND_STATE_INSIDE_MESSAGE_FRAME,), "sendMessageFrameData"):
            return None
        owed = self._frame_remaining
        piece = payload if len(payload) <= owed else payload[:owed]
        if self._send_deflater is not None:
            self._write_frame(self._send_deflater.compress_chunk(piece, False), fin=False)
        elif self._frame_key is not None:
            self.transport.write(_core.apply_mask(piece, self._frame_key, self._frame_sent))
        else:
            self.transport.write(piece)
        self._frame_sent += len(piece)
        self._frame_remaining -= len(piece)
        if not self._frame_remaining:
            self.send_state = SEND_STATE_INSIDE_MESSAGE
        return owed - len(payload)

    def endMessage(self) -> None:
        """End the current message with a final frame (FIN=1): empty, or the
        compressor's flushed tail, as AutobahnPython does."""
        if self._check_send_state(
            (SEND_STATE_MESSAGE_BEGIN, SEND_STATE_INSIDE_MESSAGE), "endMessage"
        ):
            tail = b""
            if self._send_deflater is not None:
                tail = self._send_deflater.compress_chunk(b"", True)
            self._write_frame(tail, fin=True)
            self.send_state = SEND_STATE_GROUND

    def sendFrame(
        self,
        opcode: int,
        payload: bytes = b"",
        fin: bool = True,
        rsv: int = 0,
        mask: bytes | None = None,
        payload_len: int | None = None,
        chopsize: int | None = None,
        sync: bool = False,
    ) -> None:
        """Write one raw frame, unchecked: reserved opcodes and bits included
        (a testing and fuzzing aid, as in AutobahnPython). ``payload_len``
        repeats ``payload`` to that length; ``chopsize`` splits the write."""
        if self.state != STATE_OPEN:
            return
        if payload_len is not None:
            if not payload and payload_len:
                raise InvalidValueError("payload_len needs a non-empty payload to repeat")
            payload = (payload * (payload_len // max(len(payload), 1) + 1))[:payload_len]
        key = (
            mask if mask is not None else (_core.random_mask_key() if self._mask_outgoing else None)
        )
        data = _core.encode_frame(opcode, payload, fin=fin, rsv=rsv, key=key)
        self.sendData(data, chopsize=chopsize)

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        """Write raw bytes, in writes of ``chopsize`` bytes if given."""
        if not chopsize:
            self.transport.write(data)
            return
        for start in range(0, len(data), chopsize):
            self.transport.write(data[start : start + chopsize])

    def sendPreparedMessage(self, preparedMsg: PreparedMessage) -> None:
        """Send a message framed by ``factory.prepareMessage``. With
        permessage-deflate in use it is compressed; without context takeover
        the compressed frame is the same for every connection with the same
        parameters, so it is made once and reused."""
        if self.state != STATE_OPEN:
            raise Disconnected("Attempt to send on a closed protocol")
        if self.send_state != SEND_STATE_GROUND:
            raise RuntimeError("sendPreparedMessage is invalid while a message is being sent")
        deflater = self._deflater
        if deflater is None or preparedMsg.doNotCompress:
            self.transport.write(preparedMsg.data)
        elif deflater.no_context_takeover and not self._mask_outgoing:
            key = deflater.window_bits
            data = preparedMsg.compressed.get(key)
            if data is None:
                data = preparedMsg.compressed[key] = deflater.encode_message(
                    preparedMsg.payload, preparedMsg.binary
                )
            self.transport.write(data)
        else:
            self.transport.write(
                deflater.encode_message(
                    preparedMsg.payload, preparedMsg.binary, mask=self._mask_outgoing
                )
            )
