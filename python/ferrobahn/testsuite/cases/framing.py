"""Groups 1-5: framing, ping/pong, reserved bits, opcodes and fragmentation.

Each group is a table: the regular cases are generated from their parameters
(payload sizes, reserved bit values, opcodes, how the bytes are written), so a
case reads as one line of data.
"""

from __future__ import annotations

from collections.abc import Iterator

from ferrobahn.testsuite.cases.model import (
    CLEAN_CLOSE_BY_ME,
    HELLO,
    PEER_FAILS,
    Case,
    Step,
    close,
    close_after,
    echo,
    frame,
    kill_after,
    ok,
    ok_or_no_echo,
    pause,
    peer_fails,
    ping,
    steps,
)
from ferrobahn.testsuite.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PONG,
    OP_TEXT,
)

#: How a case writes its frames: (label, chop, sync).
WRITES = (
    ("in one write", None, False),
    ("one frame per write", None, True),
    ("one byte per write", 1, False),
)


def group1() -> Iterator[Case]:
    """Echo of text (1.1) and binary (1.2) messages across the three length
    encodings; x.8 writes 64 KiB in 997-byte pieces."""
    sizes = (0, 125, 126, 127, 128, 65535, 65536, 65536)
    for sub, (opcode, fill, kind) in enumerate(
        ((OP_TEXT, b"*", "text"), (OP_BINARY, b"\xfe", "binary")), 1
    ):
        for n, size in enumerate(sizes, 1):
            chop = 997 if n == 8 else None
            payload = fill * size
            yield Case(
                f"1.{sub}.{n}",
                f"Send a {kind} message of {size} bytes"
                + (", written 997 bytes at a time." if chop else "."),
                "The message is echoed unchanged, then a clean close with 1000.",
                steps(frame(opcode, payload, chop=chop), kill_after(10 if size >= 65536 else 1)),
                ok(*echo(payload, opcode == OP_BINARY)),
                CLEAN_CLOSE_BY_ME,
            )


def _pong_case(
    n: int, description: str, script: tuple[Step, ...], pongs: tuple[bytes, ...], wait: float = 1
) -> Case:
    return Case(
        f"2.{n}",
        description,
        "A pong echoes each ping's payload; unsolicited pongs get no answer; clean close.",
        steps(script, close_after(wait)),
        ok(*(("pong", p) for p in pongs)),
        CLEAN_CLOSE_BY_ME,
    )


def group2() -> Iterator[Case]:
    """Pings are answered with their payload, unsolicited pongs are ignored."""
    plain = (b"", HELLO, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff", b"\xfe" * 125)
    names = (
        "an empty ping",
        "a ping with a text payload",
        "a ping with a binary payload",
        "a ping with 125 payload bytes (the maximum)",
    )
    for n, (payload, name) in enumerate(zip(plain, names), 1):
        yield _pong_case(n, f"Send {name}.", (ping(payload),), (payload,))
    yield Case(
        "2.5",
        "Send a ping with 126 payload bytes (control frames may carry at most 125).",
        "The peer fails the connection (1002 or drop).",
        (ping(b"\xfe" * 126), kill_after(1)),
        ok(),
        PEER_FAILS,
    )
    yield _pong_case(
        6,
        "Send a ping with 125 payload bytes, one byte per write.",
        (ping(b"\xfe" * 125, chop=1),),
        (b"\xfe" * 125,),
        wait=2,
    )
    for n, payload in ((7, b""), (8, b"unsolicited pong payload")):
        yield _pong_case(
            n,
            f"Send an unsolicited pong ({len(payload)} bytes), then close.",
            (frame(OP_PONG, payload), close(1000)),
            (),
        )
    yield _pong_case(
        9,
        "Send an unsolicited pong, then a ping.",
        (frame(OP_PONG, b"unsolicited pong payload"), ping(b"ping payload")),
        (b"ping payload",),
    )
    for n, chop in ((10, None), (11, 1)):
        payloads = tuple(f"payload-{i}".encode() for i in range(10))
        how = ", one byte per write" if chop else ""
        yield _pong_case(
            n,
            f"Send ten pings with payloads{how}; all ten must be answered.",
            tuple(ping(p, chop=chop) for p in payloads),
            payloads,
            wait=3,
        )


def _fails_after_echo(
    case_id: str, description: str, bad: Step, write: tuple[int | None, bool] | None
) -> Case:
    """A valid text message, then ``bad``, then a ping: OK when the message is
    echoed before the connection fails, NON-STRICT when it is not."""
    chop, sync = write or (None, False)
    script = (
        frame(OP_TEXT, HELLO, chop=chop, sync=sync),
        bad,
        ping(chop=chop, sync=sync),
        kill_after(1),
    )
    return Case(
        case_id,
        description,
        "The first message is echoed, then the connection fails (1002 or drop); no pong.",
        script,
        ok_or_no_echo(*echo(HELLO)),
        PEER_FAILS,
    )


def group3() -> Iterator[Case]:
    """A reserved bit set while no extension was negotiated fails the connection."""
    yield peer_fails("3.1", "Send a text message with RSV=1.", (frame(OP_TEXT, HELLO, rsv=1),))
    for n, rsv, (label, chop, sync) in zip((2, 3, 4), (2, 3, 4), WRITES):
        yield _fails_after_echo(
            f"3.{n}",
            f"Send a text message, the same with RSV={rsv}, then a ping ({label}).",
            frame(OP_TEXT, HELLO, rsv=rsv, chop=chop, sync=sync),
            (chop, sync),
        )
    binary = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
    yield peer_fails("3.5", "Send a binary message with RSV=5.", (frame(OP_BINARY, binary, rsv=5),))
    yield peer_fails("3.6", "Send a binary frame with RSV=6.", (frame(OP_BINARY, HELLO, rsv=6),))
    yield peer_fails("3.7", "Send a close frame with RSV=7.", (frame(OP_CLOSE, rsv=7),))


def group4() -> Iterator[Case]:
    """Reserved opcodes: data opcodes 3-7 (4.1.x) and control opcodes 11-15 (4.2.x)."""
    for sub, kind, opcodes in (
        (1, "non-control", (3, 4, 5, 6, 7)),
        (2, "control", (11, 12, 13, 14, 15)),
    ):
        first, second, third, fourth, fifth = opcodes
        name = f"reserved {kind} opcode"
        yield peer_fails(f"4.{sub}.1", f"Send an empty frame with {name} {first}.", (frame(first),))
        yield peer_fails(
            f"4.{sub}.2",
            f"Send a frame with {name} {second} and a payload.",
            (frame(second, b"reserved opcode payload"),),
        )
        yield _fails_after_echo(
            f"4.{sub}.3",
            f"Send a text message, an empty frame with {name} {third}, then a ping.",
            frame(third),
            None,
        )
        yield _fails_after_echo(
            f"4.{sub}.4",
            f"Send a text message, a frame with {name} {fourth} and a payload, then a ping.",
            frame(fourth, HELLO),
            None,
        )
        yield _fails_after_echo(
            f"4.{sub}.5",
            f"As 4.{sub}.4 with opcode {fifth}, one byte per write.",
            frame(fifth, HELLO, chop=1),
            (1, False),
        )


def group5() -> Iterator[Case]:
    """Fragmentation: control frames must not be fragmented, continuation frames
    need a message to continue, pings may come between fragments."""
    f1, f2 = b"fragment1", b"fragment2"
    for n, opcode, name in ((1, 9, "ping"), (2, OP_PONG, "pong")):
        yield peer_fails(
            f"5.{n}",
            f"Send a {name} in two fragments.",
            (frame(opcode, f1, fin=False), frame(OP_CONTINUATION, f2)),
        )
    for first, pong in ((3, False), (6, True)):
        between = " with a ping between them" if pong else ""
        for n, (label, chop, sync) in enumerate(WRITES, first):
            middle = (ping(b"ping payload", chop=chop, sync=sync),) if pong else ()
            yield Case(
                f"5.{n}",
                f"Send a text message in two fragments{between} ({label}).",
                ("The pong comes first, then the whole message" if pong else "The message")
                + " is echoed, then a clean close.",
                (
                    frame(OP_TEXT, f1, fin=False, chop=chop, sync=sync),
                    *middle,
                    frame(OP_CONTINUATION, f2, chop=chop, sync=sync),
                    close_after(1),
                ),
                ok(*((("pong", b"ping payload"),) if pong else ()), *echo(f1 + f2)),
                CLEAN_CLOSE_BY_ME,
            )
    for first, fin in ((9, True), (12, False)):
        for n, (label, chop, sync) in enumerate(WRITES, first):
            yield peer_fails(
                f"5.{n}",
                f"Send a continuation frame (FIN={int(fin)}) with nothing to continue, "
                f"then a text message ({label}).",
                (
                    frame(
                        OP_CONTINUATION, b"non-continuation payload", fin=fin, chop=chop, sync=sync
                    ),
                    frame(OP_TEXT, HELLO, chop=chop, sync=sync),
                ),
            )
    yield Case(
        "5.15",
        "Send a text message in two fragments, then a continuation frame (FIN=0) with "
        "nothing to continue, then a text message.",
        "The first message is echoed, then the connection fails (1002 or drop).",
        (
            frame(OP_TEXT, f1, fin=False),
            frame(OP_CONTINUATION, f2),
            frame(OP_CONTINUATION, b"fragment3", fin=False),
            frame(OP_TEXT, b"fragment4"),
            kill_after(1),
        ),
        ok_or_no_echo(*echo(f1 + f2)),
        PEER_FAILS,
    )
    for n, fin in ((16, False), (17, True)):
        stray = (
            frame(OP_CONTINUATION, f1, fin=fin),
            frame(OP_TEXT, f2, fin=False),
            frame(OP_CONTINUATION, b"fragment3"),
        )
        yield peer_fails(
            f"5.{n}",
            f"Twice: a continuation frame (FIN={int(fin)}) with nothing to continue, "
            "then a text message in two fragments.",
            stray + stray,
        )
    yield peer_fails(
        "5.18",
        "Send a text message in two fragments that both carry the text opcode.",
        (frame(OP_TEXT, f1, fin=False), frame(OP_TEXT, f2)),
    )
    fragments = tuple(f"fragment{i}".encode() for i in range(1, 6))
    pings = (b"pongme 1!", b"pongme 2!")
    for n, sync in ((19, False), (20, True)):
        yield Case(
            f"5.{n}",
            "Send a text message in five fragments: two fragments, a ping, a 1 s pause, "
            "two more fragments, a ping, the last fragment"
            + (" (one frame per write)." if sync else "."),
            "Both pongs arrive before the message completes, then the whole message is "
            "echoed; clean close.",
            (
                frame(OP_TEXT, fragments[0], fin=False, sync=sync),
                frame(OP_CONTINUATION, fragments[1], fin=False, sync=sync),
                ping(pings[0], sync=sync),
                pause(1),
                frame(OP_CONTINUATION, fragments[2], fin=False, sync=sync),
                frame(OP_CONTINUATION, fragments[3], fin=False, sync=sync),
                ping(pings[1], sync=sync),
                frame(OP_CONTINUATION, fragments[4], sync=sync),
                close_after(1),
            ),
            ok(("pong", pings[0]), ("pong", pings[1]), *echo(b"".join(fragments))),
            CLEAN_CLOSE_BY_ME,
        )
