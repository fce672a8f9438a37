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

    __slots__ = ("payload", "binary", "doNotCompress", "data")

    def __init__(
        self, payload: bytes, isBinary: bool, applyMask: bool, doNotCompress: bool
    ) -> None:
        if type(payload) is not bytes:
            raise InvalidTypeError(f"payload must be bytes, not {type(payload).__name__}")
        self.payload = payload
        self.binary = bool(isBinary)
        self.doNotCompress = doNotCompress
        self.data = _core.encode_message(payload, self.binary, mask=applyMask)


class FrameApi:
    """The frame-based and streaming API, mixed into ``WebSocketProtocol``."""

    # Provided by WebSocketProtocol.
    state: int
    send_state: int
    transport: Any
    _mask_outgoing: bool
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
        streamed (``beginMessageFrame``); ``endMessage`` ends it."""
        if self._check_send_state((SEND_STATE_GROUND,), "beginMessage"):
            self._send_opcode = 2 if isBinary else 1
            self.send_state = SEND_STATE_MESSAGE_BEGIN

    def _next_opcode(self) -> int:
        return (
            self._send_opcode
            if self.send_state == SEND_STATE_MESSAGE_BEGIN
            else OPCODE_CONTINUATION
        )

    def sendMessageFrame(self, payload: bytes, sync: bool = False) -> None:
        """Send one whole frame of the current message (FIN=0)."""
        if self._check_send_state(
            (SEND_STATE_MESSAGE_BEGIN, SEND_STATE_INSIDE_MESSAGE), "sendMessageFrame"
        ):
            frame = _core.encode_frame(
                self._next_opcode(), payload, fin=False, mask=self._mask_outgoing
            )
            self.transport.write(frame)
            self.send_state = SEND_STATE_INSIDE_MESSAGE

    def beginMessageFrame(self, length: int) -> None:
        """Start a frame of ``length`` payload bytes (0 to 2^63 - 1), to be
        sent in pieces with ``sendMessageFrameData``. The header goes out now."""
        if not self._check_send_state(
            (SEND_STATE_MESSAGE_BEGIN, SEND_STATE_INSIDE_MESSAGE), "beginMessageFrame"
        ):
            return
        if type(length) is not int:
            raise InvalidTypeError(f"frame length must be an int, not {type(length).__name__}")
        if not 0 <= length <= MAX_FRAME_LENGTH:
            raise InvalidValueError(f"frame length {length} is not between 0 and 2**63 - 1")
        key = _core.random_mask_key() if self._mask_outgoing else None
        self.transport.write(_core.encode_frame_header(self._next_opcode(), length, key=key))
        self._frame_key = key
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
        if self._frame_key is not None:
            piece = _core.apply_mask(piece, self._frame_key, self._frame_sent)
        self.transport.write(piece)
        self._frame_sent += len(piece)
        self._frame_remaining -= len(piece)
        if not self._frame_remaining:
            self.send_state = SEND_STATE_INSIDE_MESSAGE
        return owed - len(payload)

    def endMessage(self) -> None:
        """End the current message with an empty final frame (FIN=1), as
        AutobahnPython does."""
        if self._check_send_state(
            (SEND_STATE_MESSAGE_BEGIN, SEND_STATE_INSIDE_MESSAGE), "endMessage"
        ):
            frame = _core.encode_frame(self._next_opcode(), b"", fin=True, mask=self._mask_outgoing)
            self.transport.write(frame)
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
        """Send a message framed by ``factory.prepareMessage``."""
        if self.state != STATE_OPEN:
            raise Disconnected("Attempt to send on a closed protocol")
        if self.send_state != SEND_STATE_GROUND:
            raise RuntimeError("sendPreparedMessage is invalid while a message is being sent")
        self.transport.write(preparedMsg.data)
