"""Groups 9 (limits and performance) and 10 (auto-fragmentation).

Group 9 sends large messages, many small frames, tiny TCP writes and 1000-message
round trips, each within a deadline, and records the duration. Two modes:

- ``full``: exactly the original's sizes (up to 16 MiB) and 1000 messages in
  9.7.x/9.8.x.
- ``quick``: every message is capped at ``QUICK_CAP`` (1 MiB) bytes: 9.1.4-9.1.6
  and 9.2.4-9.2.6 send 1 MiB instead of 4, 8 and 16 MiB, 9.3.x/9.4.x send 1 MiB in
  the same frame sizes (so 9.3.8/9.3.9 and 9.4.8/9.4.9 become a single frame), and
  9.7.x/9.8.x send ``QUICK_ROUND_TRIPS`` (100) messages instead of 1000. The case
  numbers stay the original's; the description says what was capped.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Awaitable, Callable, Iterator

from ferrobahn.testsuite.cases.model import (
    CLEAN_CLOSE_BY_ME,
    CLOSE_NORMAL,
    Case,
    Step,
    echo,
    kill_after,
    message,
    ok,
    steps,
)
from ferrobahn.testsuite.frames import OP_BINARY, OP_CONTINUATION, OP_TEXT
from ferrobahn.testsuite.peer import Session
from ferrobahn.testsuite.verdict import FAILED, OK

KIB = 2**10
MIB = 2**20
QUICK_CAP = MIB

TEXT_FILL = b"BAsd7&jh23"
BINARY_FILL = b"\x00\xfe\x23\xfa\xf0"

#: Frame sizes of 9.3.x/9.4.x and TCP write sizes of 9.5.x/9.6.x.
FRAGMENT_SIZES = (64, 256, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB)
CHOP_SIZES = (64, 128, 256, 512, 1024, 2048)
ROUND_TRIP_SIZES = (0, 16, 64, 256, 1024, 4096)
ROUND_TRIP_WAITS = (60, 60, 60, 120, 240, 480)


def _fill(pattern: bytes, size: int) -> bytes:
    return (pattern * (size // len(pattern) + 1))[:size]


def _size(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB else f"{n // KIB} KiB" if n >= KIB else f"{n} B"


def echo_problem(got: tuple[bytes, bool], payload: bytes, binary: bool) -> str | None:
    """How an echo differs from the message sent (the original's wording), or None."""
    data, is_binary = got
    if is_binary != binary:
        return f"Echo'ed message type differs from what I sent (got binary {is_binary})."
    if len(data) != len(payload):
        return (
            f"Echo'ed message length differs from what I sent (got length {len(data)}, "
            f"expected length {len(payload)})."
        )
    if data != payload:
        got_sha, sent_sha = hashlib.sha1(data).hexdigest(), hashlib.sha1(payload).hexdigest()
        return (
            f"Echo'ed message contents differs from what I sent (got SHA1 {got_sha}, "
            f"expected SHA1 {sent_sha})."
        )
    return None


async def echoes(
    s: Session,
    payloads: Iterator[bytes],
    send: Callable[[bytes], Awaitable[None]],
    *,
    binary: bool,
    count: int,
    wait: float,
    logged: int = 0,
) -> str | None:
    """Send ``count`` messages (the next of ``payloads`` each time, through
    ``send``) one at a time, each after the previous echo, within ``wait`` seconds
    in all. Returns why the echoes failed, or None when all came back right. The
    wire log is off meanwhile (as in the original: thousands of frames), but for
    the first ``logged`` round trips."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        for i in range(count):
            s.log.enabled = i < logged
            payload = next(payloads)
            await send(payload)
            got = await s.next_message(deadline - loop.time())
            if got is None:
                gone = "the connection was gone" if s.lost.is_set() else f"{wait:g} s passed"
                return f"No echo of message {i + 1} of {count}: {gone}."
            problem = echo_problem(got, payload, binary)
            if problem:
                return f"Message {i + 1} of {count}: {problem}"
        return None
    finally:
        s.log.enabled = True


def round_trips(
    payload: bytes,
    *,
    binary: bool,
    count: int,
    wait: float,
    fragment: int | None = None,
    chop: int | None = None,
) -> Step:
    """Send ``count`` messages one at a time, each after the previous echo, and
    judge: OK when every echo has the right type and payload within ``wait``
    seconds in all. Then start the closing handshake."""
    opcode = OP_BINARY if binary else OP_TEXT
    step = fragment or len(payload) or 1
    pieces = [payload[i : i + step] for i in range(0, len(payload), step)] or [b""]

    async def run(s: Session) -> bool:
        async def send(_: bytes) -> None:
            for n, piece in enumerate(pieces):
                last = n == len(pieces) - 1
                await s.send_frame(
                    opcode if n == 0 else OP_CONTINUATION, piece, fin=last, chop=chop
                )

        problem = await echoes(
            s, itertools.repeat(payload), send, binary=binary, count=count, wait=wait
        )
        s.seen.script_behavior = FAILED if problem else OK
        s.seen.script_result = problem or (
            f"Received {count} correct echo(es) of {len(payload)} bytes."
        )
        s.send_close(CLOSE_NORMAL)
        return False

    how = (
        f"frames of {fragment} B"
        if fragment
        else f"TCP writes of {chop} B"
        if chop
        else "one frame"
    )
    text = f"{count} x {'binary' if binary else 'text'} message of {len(payload)} B ({how})"
    return Step(run, text, wait)


def _limit_case(case_id: str, description: str, step: Step, capped: bool) -> Case:
    note = " Quick mode: capped (see --mode)." if capped else ""
    return Case(
        case_id,
        description + note,
        "Every echo arrives with the payload sent, within the case's time; clean close.",
        (step,),
        None,
        CLEAN_CLOSE_BY_ME,
    )


def group9(quick: bool) -> Iterator[Case]:
    cap = QUICK_CAP if quick else None

    def capped(size: int) -> int:
        return min(size, cap) if cap else size

    sizes = (64 * KIB, 256 * KIB, MIB, 4 * MIB, 8 * MIB, 16 * MIB)
    kinds = (
        (1, False, TEXT_FILL, (10, 10, 100, 100, 100, 100)),
        (2, True, BINARY_FILL, (10, 10, 10, 10, 100, 100)),
    )
    for sub, binary, fill, waits in kinds:
        kind = "binary" if binary else "text"
        for n, (size, wait) in enumerate(zip(sizes, waits), 1):
            payload = _fill(fill, capped(size))
            yield _limit_case(
                f"9.{sub}.{n}",
                f"Send a {kind} message of {_size(size)} in one frame.",
                round_trips(payload, binary=binary, count=1, wait=wait),
                capped(size) != size,
            )
    for sub, binary in ((3, False), (4, True)):
        kind = "binary" if binary else "text"
        for n, fragment in enumerate(FRAGMENT_SIZES, 1):
            payload = b"*" * capped(4 * MIB)
            yield _limit_case(
                f"9.{sub}.{n}",
                f"Send a {kind} message of 4 MiB in frames of {_size(fragment)}.",
                round_trips(payload, binary=binary, count=1, wait=100, fragment=fragment),
                bool(cap),
            )
    for sub, binary, fill in ((5, False, TEXT_FILL), (6, True, BINARY_FILL)):
        kind = "binary" if binary else "text"
        for n, chop in enumerate(CHOP_SIZES, 1):
            yield _limit_case(
                f"9.{sub}.{n}",
                f"Send a {kind} message of 1 MiB in one frame, written {chop} bytes at a time.",
                round_trips(_fill(fill, MIB), binary=binary, count=1, wait=1000, chop=chop),
                False,
            )
    for sub, binary, fill in ((7, False, b"*"), (8, True, b"\xfe")):
        kind = "binary" if binary else "text"
        for n, (size, wait) in enumerate(zip(ROUND_TRIP_SIZES, ROUND_TRIP_WAITS), 1):
            yield _limit_case(
                f"9.{sub}.{n}",
                f"Send 1000 {kind} messages of {size} bytes, each after the previous echo "
                "(round-trip time).",
                round_trips(fill * size, binary=binary, count=1000, wait=wait),
                False,
            )


def group10() -> Iterator[Case]:
    payload = b"*" * 65536
    yield Case(
        "10.1.1",
        "Send a 64 KiB text message in frames of 1300 bytes (50 full frames and a rest).",
        "The message is echoed whole, then a clean close.",
        steps(message(payload, fragment=1300), kill_after(10)),
        ok(*echo(payload)),
        CLEAN_CLOSE_BY_ME,
    )
