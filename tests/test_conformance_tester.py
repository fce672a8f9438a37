"""The conformance tester's own parts: its frame codec, the verdict rules, and that
it fails a peer that breaks the RFC (a tester that passes everything proves
nothing). The broken peer is a naive echo server written here: it echoes every
data frame and close frame as it comes, checking nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib

from ferrobahn.testsuite import all_cases, run_fuzzing_client, select
from ferrobahn.testsuite.frames import FrameReader, close_payload, encode_frame, mask
from ferrobahn.testsuite.verdict import (
    FAILED,
    INFORMATIONAL,
    NON_STRICT,
    OK,
    STRICT_PASS,
    UNCLEAN,
    WRONG_CODE,
    ExpectedClose,
    Observed,
    judge,
)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def test_frames_round_trip_in_any_chunking() -> None:
    key = b"\x01\x02\x03\x04"
    wire = b"".join(
        encode_frame(op, payload, fin=fin, key=key)
        for op, payload, fin in ((1, b"x" * 200, False), (0, b"y" * 70000, True), (9, b"", True))
    )
    reader = FrameReader()
    frames = [f for i in range(0, len(wire), 7) for f in reader.feed(wire[i : i + 7])]
    assert [(f.opcode, f.fin, f.masked, len(f.payload)) for f in frames] == [
        (1, False, True, 200),
        (0, True, True, 70000),
        (9, True, True, 0),
    ]
    assert frames[1].payload == b"y" * 70000
    # Masking in pieces at the right key offset equals masking the whole.
    data = bytes(range(256)) * 3
    assert mask(data[:5], key) + mask(data[5:], key, 5) == mask(data, key)
    assert close_payload(1000, b"bye") == b"\x03\xe8bye"


def test_verdict_rules() -> None:
    clean = ExpectedClose(True, (1000,), True)
    seen = Observed(received=[("message", b"a", False)], connection_was_open=True)
    seen.closed_by_me, seen.was_clean, seen.remote_close_code = True, True, 1000
    expected = {OK: (("message", b"a", False),), NON_STRICT: ()}
    assert (judge(expected, clean, seen).behavior, judge(expected, clean, seen).behavior_close) == (
        OK,
        OK,
    )
    seen.was_clean = False
    assert judge(expected, clean, seen).behavior_close == UNCLEAN
    seen.was_clean, seen.remote_close_code = True, 1002
    assert judge(expected, clean, seen).behavior_close == WRONG_CODE
    assert judge(expected, clean, seen, wrong_code_fails=True).behavior == FAILED
    assert judge(expected, clean, seen, informational=True).behavior == INFORMATIONAL
    # Invalid UTF-8: the tester closing instead of the peer fails the case itself.
    utf8 = ExpectedClose(False, (1007,), False, wrong_endpoint_fatal=True)
    assert judge(
        {OK: ()}, utf8, Observed(connection_was_open=True, closed_by_me=True)
    ).behavior == (FAILED)


async def naive_echo(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, extension: str | None = None
) -> None:
    """Echo data and close frames unmasked, whatever they hold (reserved bits
    included); answer pings. Answers any extension offer with ``extension``."""
    head = await reader.readuntil(b"\r\n\r\n")
    key = next(
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: "
        + accept
        + b"\r\n"
        + (f"Sec-WebSocket-Extensions: {extension}\r\n".encode() if extension else b"")
        + b"\r\n"
    )
    frames = FrameReader()
    try:
        while data := await reader.read(65536):
            for f in frames.feed(data):
                if f.opcode == 9:
                    writer.write(encode_frame(10, f.payload))
                elif f.opcode != 10:
                    writer.write(encode_frame(f.opcode, f.payload, fin=f.fin, rsv=f.rsv))
                if f.opcode == 8:
                    writer.close()
                    return
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    writer.close()


def test_tester_fails_a_peer_that_checks_nothing() -> None:
    async def run() -> dict[str, tuple[str, str]]:
        server = await asyncio.start_server(naive_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        cases = select(all_cases("quick"), ["1.1.1", "3.1", "4.1.1", "6.3.1", "7.9.1"])
        async with server:
            results = await run_fuzzing_client(f"ws://127.0.0.1:{port}", cases)
        return {r.case.id: (r.verdict.behavior, r.verdict.behavior_close) for r in results}

    verdicts = asyncio.run(asyncio.wait_for(run(), 60))
    assert verdicts["1.1.1"] == (OK, OK)
    for case_id in ("3.1", "4.1.1", "6.3.1", "7.9.1"):
        assert not set(verdicts[case_id]) <= STRICT_PASS, case_id
    # Echoed invalid UTF-8 makes the tester drop TCP (as the original does): the
    # case then ends "FAILED BY CLIENT", never a strict pass.
