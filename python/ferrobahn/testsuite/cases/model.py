"""What a case is: a script of steps the tester performs, the events it expects
back, and how the connection must end.

Most cases of the Autobahn|Testsuite are the same few moves (send these frames,
written like this, then wait or fail the connection after a delay), so a case here
is data: a tuple of ``Step`` values built by the helpers below. Cases that have to
react to what comes back (group 9's echo round trips) use one custom step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from ferrobahn.testsuite.deflate import Negotiation
from ferrobahn.testsuite.frames import OP_CONTINUATION, OP_PING, OP_TEXT
from ferrobahn.testsuite.peer import OPCODE_NAMES, Session
from ferrobahn.testsuite.verdict import (
    FAILED,
    NON_STRICT,
    OK,
    Event,
    ExpectedClose,
)

CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_PAYLOAD = 1007

#: The peer must echo, then close cleanly when the tester starts the handshake.
CLEAN_CLOSE_BY_ME = ExpectedClose(True, (CLOSE_NORMAL,), True)
#: The peer must fail the connection with a protocol error (or drop TCP).
PEER_FAILS = ExpectedClose(False, (CLOSE_PROTOCOL_ERROR,), False)
#: The peer must fail the connection for invalid UTF-8 (or drop TCP).
PEER_FAILS_UTF8 = ExpectedClose(False, (CLOSE_INVALID_PAYLOAD,), False, True)

#: Time allowed after a case's last timer for the closing handshake to finish
#: (close handshake timeout + server drop timeout + slack).
CLOSING_ALLOWANCE = 4.0

HELLO = b"Hello, world!"
#: "κόσμε" with the omicron as U+1F79 (3 bytes): 11 bytes of 1-, 2- and 3-byte
#: code points, the text Kuhn's test file starts with.
KALIMERA = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"


@dataclass(frozen=True)
class Step:
    """One move of a case. ``run`` returns False to end the script early (the
    connection is no longer open). ``delay`` is the time the step may take or
    schedules (for the case's overall deadline); ``text`` is for reports."""

    run: Callable[[Session], Awaitable[bool]]
    text: str
    delay: float = 0.0


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    expectation: str
    steps: tuple[Step, ...]
    #: behavior -> exact events earning it; None: a step judges (group 9).
    expected: Mapping[str, tuple[Event, ...]] | None
    close: ExpectedClose
    #: The tester does not start the closing handshake when the events match.
    suppress_close: bool = False
    #: A WRONG CODE close verdict fails the case (7.x).
    wrong_code_fails: bool = False
    #: Only recorded: the RFC leaves the behaviour open.
    informational: bool = False
    #: permessage-deflate offers and accept rule (groups 12 and 13); None: the
    #: tester offers no extension and declines every offer.
    negotiation: Negotiation | None = None

    @property
    def timeout(self) -> float:
        """The hard bound on the whole case, from its steps' delays."""
        return sum(step.delay for step in self.steps) + CLOSING_ALLOWANCE

    @property
    def group(self) -> int:
        return int(self.id.split(".")[0])

    def key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.id.split("."))


def _payload_text(payload: bytes) -> str:
    shown = payload[:40]
    more = f"... ({len(payload)} bytes)" if len(payload) > 40 else ""
    try:
        text = repr(shown.decode("utf-8"))
    except UnicodeDecodeError:
        text = "0x" + shown.hex()
    return text + more


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    chop: int | None = None,
    sync: bool = False,
) -> Step:
    """Send one frame (coalesced with its neighbours unless ``chop``/``sync``)."""

    async def run(s: Session) -> bool:
        await s.send_frame(opcode, payload, fin=fin, rsv=rsv, chop=chop, sync=sync)
        return True

    name = OPCODE_NAMES.get(opcode, f"opcode {opcode}")
    how = f", chops of {chop}" if chop else ", own write" if sync else ""
    text = f"{name} fin={int(fin)} rsv={rsv} {_payload_text(payload)}{how}"
    return Step(run, text)


def message(
    payload: bytes, *, binary: bool = False, fragment: int | None = None, chop: int | None = None
) -> tuple[Step, ...]:
    """A whole message: one frame, or frames of ``fragment`` payload bytes."""
    if not fragment or len(payload) <= fragment:
        return (frame(2 if binary else OP_TEXT, payload, chop=chop),)
    pieces = [payload[i : i + fragment] for i in range(0, len(payload), fragment)]
    return tuple(
        frame(
            (2 if binary else OP_TEXT) if i == 0 else OP_CONTINUATION,
            piece,
            fin=i == len(pieces) - 1,
            chop=chop,
        )
        for i, piece in enumerate(pieces)
    )


def close(code: int | None = None, reason: bytes = b"") -> Step:
    """Start the closing handshake with exactly this close payload."""

    async def run(s: Session) -> bool:
        s.send_close(code, reason)
        return True

    return Step(run, f"start closing handshake: code={code} reason={_payload_text(reason)}")


def pause(delay: float, tag: str | None = None) -> Step:
    """Wait; stop the script if the connection is no longer open. A ``tag``
    records the event ("timeout", tag) when the pause ends with the connection
    still open (6.4.x: the peer must fail fast, before the pause ends)."""

    async def run(s: Session) -> bool:
        if not await s.pause(delay, tag):
            return False
        if tag is not None:
            s.record(("timeout", tag))
        return True

    return Step(run, f"pause {delay} s" + (f" (tag {tag})" if tag else ""), delay)


def kill_after(delay: float) -> Step:
    async def run(s: Session) -> bool:
        s.kill_after(delay)
        return True

    return Step(run, f"fail the connection after {delay} s", delay)


def close_after(delay: float) -> Step:
    async def run(s: Session) -> bool:
        s.close_after(delay)
        return True

    return Step(run, f"start the closing handshake after {delay} s", delay)


def begin_frame(opcode: int, length: int) -> Step:
    """Send only a frame header; ``frame_data`` steps send its payload."""

    async def run(s: Session) -> bool:
        s.partial = s.begin_frame(opcode, length)
        return True

    return Step(run, f"{OPCODE_NAMES[opcode]} header for {length} payload bytes")


def frame_data(chunk: bytes) -> Step:
    async def run(s: Session) -> bool:
        assert s.partial is not None, "frame_data without begin_frame"
        s.partial.write(chunk)
        return True

    return Step(run, f"payload chunk {_payload_text(chunk)}")


def ping(payload: bytes = b"", *, chop: int | None = None, sync: bool = False) -> Step:
    return frame(OP_PING, payload, chop=chop, sync=sync)


def echo(payload: bytes, binary: bool = False) -> tuple[Event, ...]:
    return (("message", payload, binary),)


def ok(*events: Event) -> dict[str, tuple[Event, ...]]:
    return {OK: events}


def ok_or_no_echo(*events: Event) -> dict[str, tuple[Event, ...]]:
    """OK with ``events``; NON-STRICT when the peer failed before echoing them."""
    return {OK: events, NON_STRICT: ()}


def peer_fails(
    case_id: str, description: str, script: tuple[Step, ...], *, utf8: bool = False
) -> Case:
    """A case whose peer must fail the connection (1002, or 1007 for invalid
    UTF-8, or drop TCP) without echoing anything; the tester kills it after 1 s."""
    code = "1007" if utf8 else "1002"
    return Case(
        case_id,
        description,
        f"The peer fails the connection ({code} or drop) and echoes nothing.",
        steps(script, kill_after(1)),
        ok(),
        PEER_FAILS_UTF8 if utf8 else PEER_FAILS,
    )


def steps(*parts: Step | Sequence[Step]) -> tuple[Step, ...]:
    """Flatten steps and step tuples into one script."""
    flat: list[Step] = []
    for part in parts:
        flat.extend([part] if isinstance(part, Step) else part)
    return tuple(flat)


__all__ = [
    "CLEAN_CLOSE_BY_ME",
    "FAILED",
    "PEER_FAILS",
    "PEER_FAILS_UTF8",
    "Case",
    "Step",
]
