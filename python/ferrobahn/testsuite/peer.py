"""The tester's end of one case's WebSocket connection, after the opening handshake.

It behaves like the Autobahn|Testsuite's fuzzing peer (an AutobahnPython protocol
with ``failByDrop=True`` and default timeouts), because the verdicts depend on that
behaviour: which side closed first (``closed_by_me``), whether the closing handshake
completed and the server then dropped TCP (``was_clean``), who dropped TCP
(``dropped_by_me``) and the peer's close code. Any violation by the peer makes the
tester drop TCP at once, as the original does.

With permessage-deflate negotiated (groups 12 and 13), the session compresses what
``message`` sends and inflates what it receives with the tester's own codec
(``deflate.py``): RSV1 is then allowed on the first frame of a data message only.

Writes follow the original's timing model: frames a case sends back to back leave in
one TCP write (they are coalesced until the event loop turns); "chopped" frames are
written a few bytes at a time and "sync" frames one frame per write, yielding to the
loop between writes. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import enum
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from ferrobahn.testsuite.deflate import Deflate, DeflateError
from ferrobahn.testsuite.frames import (
    CONTROL_OPCODES,
    DATA_OPCODES,
    MAX_FRAME_PAYLOAD,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
    FrameError,
    FrameReader,
    close_payload,
    encode_frame,
    encode_header,
    mask,
    new_mask_key,
)
from ferrobahn.testsuite.verdict import Event, Observed

#: The original's AutobahnPython defaults for the tester side (seconds).
CLOSE_HANDSHAKE_TIMEOUT = 1.0
SERVER_CONNECTION_DROP_TIMEOUT = 1.0

#: Writes of fewer bytes than this ("byte-wise" chops) are spaced by ``CHOP_GAP``
#: seconds, so that on a fast loopback each one still reaches the peer as a read of
#: its own, which is what the 1-byte chop cases test (the original's slower writer
#: spaced them naturally). Larger chops (group 9) only yield one loop turn.
SMALL_CHOP = 64
CHOP_GAP = 0.0005

#: Wire log entries keep at most this many payload bytes.
MAX_LOGGED_PAYLOAD = 256


def valid_close_code(code: int) -> bool:
    """Codes the tester accepts from a peer, as AutobahnPython does."""
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1013 or 3000 <= code <= 4999


def utf8_valid(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class WireLog:
    """What went over the wire and what the tester decided, in order, with the
    time since the connection opened (ms). Entries are plain dicts (JSON-ready)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.enabled = True
        self._t0 = time.monotonic()

    def add(self, kind: str, **fields: Any) -> None:
        if self.enabled or kind not in ("RO", "TO", "RF", "TF"):
            ms = round(1000 * (time.monotonic() - self._t0), 3)
            self.entries.append({"t": ms, "kind": kind, **fields})


def _shown(payload: bytes) -> dict[str, Any]:
    """A payload for the wire log: hex of its first bytes, and its length."""
    return {"len": len(payload), "hex": payload[:MAX_LOGGED_PAYLOAD].hex()}


class Session:
    """One open WebSocket connection driven by a case (client or server role)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        is_server: bool,
        log: WireLog,
        deflate: Deflate | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.is_server = is_server
        self.log = log
        #: The tester's permessage-deflate codec, when the extension was negotiated.
        self.deflate = deflate
        self.state = State.OPEN
        self.seen = Observed(connection_was_open=True, is_server=is_server)
        self.failed_by_me = False
        self.was_not_clean_reason: str | None = None
        self.remote_close_reason: bytes | None = None
        self.local_close_code: int | None = None
        #: Called after every recorded event (the runner's "finish when done").
        self.on_event: Callable[[], None] = lambda: None
        #: Events for cases that wait for them (group 9); None once the
        #: connection is gone.
        self.events: asyncio.Queue[Event | None] = asyncio.Queue()
        #: Set when the TCP connection is gone.
        self.lost = asyncio.Event()
        self._frames = FrameReader()
        self._message: bytearray | None = None
        self._message_binary = False
        self._message_compressed = False
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._close_received = False
        #: The frame being written in pieces (``begin_frame``), if any.
        self.partial: FrameWriter | None = None
        self._pending = bytearray()
        self._flush_scheduled = False
        self._timers: list[asyncio.TimerHandle] = []
        self._loop = asyncio.get_running_loop()
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ------------------------------------------------------------------ sending

    def _key(self) -> bytes | None:
        """A client masks every frame; a server masks none."""
        return None if self.is_server else new_mask_key()

    def frame(
        self,
        opcode: int,
        payload: bytes = b"",
        *,
        fin: bool = True,
        rsv: int = 0,
    ) -> bytes:
        """Encode (and log) one frame from this side."""
        key = self._key()
        self.log.add(
            "TF", opcode=opcode, fin=fin, rsv=rsv, masked=key is not None, **_shown(payload)
        )
        return encode_frame(opcode, payload, fin=fin, rsv=rsv, key=key)

    def send(self, data: bytes) -> None:
        """Queue bytes; everything queued before the loop turns leaves in one write."""
        if self.state is State.CLOSED:
            return
        self._pending += data
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            self._write(data)

    def _write(self, data: bytes) -> None:
        if self.state is State.CLOSED or self._writer.is_closing():
            return
        self.log.add("TO", **_shown(data))
        self._writer.write(data)

    async def send_chopped(self, data: bytes, chop: int, *, spaced: bool = True) -> None:
        """Write ``data`` ``chop`` bytes per TCP write, yielding to the loop (and
        so to the peer) between writes; byte-wise chops are also spaced in time
        unless ``spaced`` is False."""
        gap = CHOP_GAP if spaced and chop < SMALL_CHOP else 0
        self.flush()
        for start in range(0, len(data), chop):
            if self.state is State.CLOSED:
                return
            self._write(data[start : start + chop])
            try:
                await self._writer.drain()
            except (ConnectionError, OSError):
                return
            await asyncio.sleep(gap)

    async def send_frame(
        self,
        opcode: int,
        payload: bytes = b"",
        *,
        fin: bool = True,
        rsv: int = 0,
        chop: int | None = None,
        sync: bool = False,
    ) -> None:
        """Send one frame: coalesced with neighbours (default), in its own write
        (``sync``), or ``chop`` bytes per write."""
        data = self.frame(opcode, payload, fin=fin, rsv=rsv)
        if chop:
            await self.send_chopped(data, chop)
        elif sync:
            await self.send_chopped(data, len(data), spaced=False)
        else:
            self.send(data)

    def message(self, payload: bytes, *, binary: bool, fragment: int = 0) -> bytes:
        """The frames of one message, compressed when permessage-deflate is in use
        (RSV1 on the first frame), in frames of at most ``fragment`` payload bytes
        (of the compressed payload, as AutobahnPython's ``autoFragmentSize``)."""
        rsv = 0
        if self.deflate is not None:
            payload, rsv = self.deflate.compress(payload), 4
        step = fragment or len(payload) or 1
        pieces = [payload[i : i + step] for i in range(0, len(payload), step)] or [b""]
        opcode = OP_BINARY if binary else OP_TEXT
        return b"".join(
            self.frame(
                opcode if n == 0 else OP_CONTINUATION,
                piece,
                fin=n == len(pieces) - 1,
                rsv=rsv if n == 0 else 0,
            )
            for n, piece in enumerate(pieces)
        )

    def begin_frame(self, opcode: int, length: int, *, fin: bool = True) -> FrameWriter:
        """Start a frame whose payload is written later in pieces (6.4.3/6.4.4)."""
        key = self._key()
        self.log.add("TF", opcode=opcode, fin=fin, rsv=0, masked=key is not None, len=length)
        self.send(encode_header(opcode, length, fin=fin, key=key))
        return FrameWriter(self, key)

    def send_close(self, code: int | None = None, reason: bytes = b"") -> None:
        """Start the closing handshake (only while open): the close frame goes out
        with exactly this payload, valid or not, and the reply is awaited for
        ``CLOSE_HANDSHAKE_TIMEOUT``."""
        if self.state is not State.OPEN:
            return
        self.send(self.frame(OP_CLOSE, close_payload(code, reason)))
        self.state = State.CLOSING
        self.seen.closed_by_me = True
        self.local_close_code = code
        self._later(CLOSE_HANDSHAKE_TIMEOUT, self._close_handshake_timeout)

    # ------------------------------------------------------------------ timers

    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        self._timers.append(self._loop.call_later(delay, fn))

    def kill_after(self, delay: float) -> None:
        """Fail the connection (drop TCP) after ``delay`` unless it is gone by then."""
        self.log.add("KL", delay=delay)

        def kill() -> None:
            if self.state is not State.CLOSED:
                self.log.add("KLE")
                self.fail("the case's time was up")

        self._later(delay, kill)

    def close_after(self, delay: float) -> None:
        """Start the closing handshake (empty close frame) after ``delay``."""
        self.log.add("TI", delay=delay)

        def close() -> None:
            if self.state is not State.CLOSED:
                self.log.add("TIE")
                self.send_close()

        self._later(delay, close)

    async def pause(self, delay: float, tag: str | None = None) -> bool:
        """Wait ``delay`` seconds; True if the connection is still open then."""
        self.log.add("CT", delay=delay, tag=tag)
        self.flush()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.lost.wait(), delay)
        if self.state is State.CLOSED:
            return False
        self.log.add("CTE", tag=tag)
        return self.state is State.OPEN

    def _close_handshake_timeout(self) -> None:
        if self.state is not State.CLOSED and not self._close_received:
            self.seen.was_clean = False
            self.was_not_clean_reason = "peer did not answer our close frame in time"
            self.drop(abort=True)

    def _server_drop_timeout(self) -> None:
        if self.state is not State.CLOSED:
            self.seen.was_clean = False
            self.was_not_clean_reason = "server did not drop TCP connection in time"
            self.drop(abort=True)

    # ------------------------------------------------------------------ closing

    def drop(self, *, abort: bool) -> None:
        """Close TCP from this side."""
        if self.state is State.CLOSED:
            return
        self.flush()
        self.seen.dropped_by_me = True
        self.state = State.CLOSED
        self.log.add("DROP", abort=abort)
        if abort:
            self._writer.transport.abort()
        else:
            self._writer.close()

    def fail(self, reason: str) -> None:
        """Fail the connection the way the original tester does: drop TCP."""
        if self.state is State.CLOSED:
            return
        self.failed_by_me = True
        self.seen.was_clean = False
        self.was_not_clean_reason = f"I dropped the TCP connection: {reason}"
        self.log.add("FAIL", reason=reason)
        self.drop(abort=True)

    def _connection_lost(self) -> None:
        if self.state is not State.CLOSED:
            self.state = State.CLOSED
            if not self.seen.was_clean and self.was_not_clean_reason is None:
                self.was_not_clean_reason = (
                    "peer dropped the TCP connection without previous WebSocket closing handshake"
                )
        for timer in self._timers:
            timer.cancel()
        self.log.add("LOST", dropped_by_me=self.seen.dropped_by_me)
        self.lost.set()
        self.events.put_nowait(None)

    # ------------------------------------------------------------------ receiving

    def record(self, event: Event) -> None:
        self.seen.received.append(event)
        self.events.put_nowait(event)
        self.on_event()

    async def next_message(self, timeout: float) -> tuple[bytes, bool] | None:
        """The next message received (payload, is_binary), or None when none
        arrives within ``timeout`` or the connection is gone."""
        while True:
            try:
                event = await asyncio.wait_for(self.events.get(), max(timeout, 0))
            except asyncio.TimeoutError:
                return None
            if event is None:
                self.events.put_nowait(None)
                return None
            if event[0] == "message":
                payload, binary = event[1], event[2]
                assert isinstance(payload, bytes) and isinstance(binary, bool)
                return payload, binary

    async def read_loop(self) -> None:
        """Read and handle the peer's frames until the connection is gone."""
        try:
            while self.state is not State.CLOSED:
                data = await self._reader.read(2**18)
                if not data:
                    break
                self.log.add("RO", **_shown(data))
                if self._close_received:
                    continue
                try:
                    frames = self._frames.feed(data)
                except FrameError as exc:
                    self.fail(str(exc))
                    break
                for frame in frames:
                    if self._ignoring_input():
                        break
                    self._on_frame(frame)
        except (ConnectionError, OSError):
            pass
        finally:
            self._connection_lost()
            self._writer.transport.abort()

    def _ignoring_input(self) -> bool:
        """After the peer's close frame, or once TCP is gone, input is ignored."""
        return self.state is State.CLOSED or self._close_received

    def _violation(self, frame: Frame) -> str | None:
        if frame.masked != self.is_server:
            return "a server must not mask" if not self.is_server else "a client must mask"
        if frame.rsv and not (
            frame.rsv == 4 and self.deflate is not None and frame.opcode in (OP_TEXT, OP_BINARY)
        ):
            if self.deflate is None:
                return f"RSV={frame.rsv} without a negotiated extension"
            return f"RSV={frame.rsv} on a {OPCODE_NAMES.get(frame.opcode, 'reserved')} frame"
        if frame.opcode not in DATA_OPCODES and frame.opcode not in CONTROL_OPCODES:
            return f"reserved opcode {frame.opcode}"
        if frame.opcode in CONTROL_OPCODES:
            if not frame.fin:
                return "fragmented control frame"
            if len(frame.payload) > 125:
                return "control frame payload above 125 bytes"
        elif frame.opcode == OP_CONTINUATION and self._message is None:
            return "continuation frame without a message to continue"
        elif frame.opcode != OP_CONTINUATION and self._message is not None:
            return "new data frame inside a fragmented message"
        return None

    def _on_frame(self, frame: Frame) -> None:
        self.log.add(
            "RF",
            opcode=frame.opcode,
            fin=frame.fin,
            rsv=frame.rsv,
            masked=frame.masked,
            **_shown(frame.payload),
        )
        problem = self._violation(frame)
        if problem:
            self.fail(problem)
        elif frame.opcode in DATA_OPCODES:
            self._on_data(frame)
        elif frame.opcode == OP_PING:
            if self.state is State.OPEN:
                self.send(self.frame(OP_PONG, frame.payload))
        elif frame.opcode == OP_PONG:
            self.record(("pong", frame.payload))
        else:
            self._on_close(frame.payload)

    def _on_data(self, frame: Frame) -> None:
        if self._message is None:
            self._message = bytearray()
            self._message_binary = frame.opcode == OP_BINARY
            self._message_compressed = frame.rsv == 4
            self._utf8.reset()
            if self.deflate is not None and self._message_compressed:
                self.deflate.begin_message()
        data = frame.payload
        if self.deflate is not None and self._message_compressed:
            try:
                data = self.deflate.inflate(data, MAX_FRAME_PAYLOAD, last=frame.fin)
            except DeflateError as exc:
                self.fail(f"permessage-deflate: {exc}")
                return
        self._message += data
        if not self._message_binary:
            try:
                self._utf8.decode(data, final=frame.fin)
            except UnicodeDecodeError:
                self.fail("text message that is not valid UTF-8")
                return
        if frame.fin:
            payload, self._message = bytes(self._message), None
            self.record(("message", payload, self._message_binary))

    def _on_close(self, payload: bytes) -> None:
        if len(payload) == 1:
            self.fail("close frame with a 1-byte payload")
            return
        code = struct.unpack("!H", payload[:2])[0] if payload else None
        if code is not None and not valid_close_code(code):
            self.fail(f"invalid close code {code}")
            return
        if not utf8_valid(payload[2:]):
            self.fail("close reason that is not valid UTF-8")
            return
        self._close_received = True
        self.seen.remote_close_code = code
        self.remote_close_reason = payload[2:]
        self.seen.was_clean = True
        if self.state is State.OPEN:
            # The peer started the closing handshake: reply with 1000.
            self.send(self.frame(OP_CLOSE, close_payload(1000)))
            self.state = State.CLOSING
        if self.is_server:
            self.drop(abort=False)
        else:
            self._later(SERVER_CONNECTION_DROP_TIMEOUT, self._server_drop_timeout)


class FrameWriter:
    """The payload of a frame begun with ``Session.begin_frame``, written in pieces
    that are masked at the right key offset."""

    def __init__(self, session: Session, key: bytes | None) -> None:
        self._session = session
        self._key = key
        self._offset = 0

    def write(self, chunk: bytes) -> None:
        data = mask(chunk, self._key, self._offset) if self._key is not None else chunk
        self._offset += len(chunk)
        self._session.send(data)


OPCODE_NAMES = {
    OP_CONTINUATION: "CONT",
    OP_TEXT: "TEXT",
    OP_BINARY: "BINARY",
    OP_CLOSE: "CLOSE",
    OP_PING: "PING",
    OP_PONG: "PONG",
}
