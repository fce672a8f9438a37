"""Validates the tester's ``fuzzingserver`` mode itself. Against clients known to
pass the original Autobahn|Testsuite it must report exactly what they are known to
score: AutobahnPython's asyncio client every case OK (or INFORMATIONAL), the
`websockets` client the deviations websockets documents for its implementation
(the same as a server: ``test_conformance_reference.DEVIATIONS``), and
UNIMPLEMENTED in 13.2, 13.5 and 13.6: websockets' default offer
(``permessage-deflate; client_max_window_bits``) lacks the
``client_no_context_takeover`` that the original's server rules for those
sub-groups require of an offer, so the original declines them too. A FAILED
anywhere else is a bug in the tester, not in those libraries. And against a naive
client that checks nothing it must not pass what that client gets wrong (a tester
that passes everything proves nothing)."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import tempfile
from pathlib import Path

import pytest
from test_conformance_client import TESTEES, run_clients, unexpected
from test_conformance_reference import DEVIATIONS, INFORMATIONAL_CASES

from ferrobahn.testsuite import FuzzingServer, all_cases, select
from ferrobahn.testsuite.frames import OP_CLOSE, OP_PING, OP_PONG, FrameReader, encode_frame
from ferrobahn.testsuite.verdict import (
    FAILED,
    FAILED_BY_CLIENT,
    INFORMATIONAL,
    OK,
    UNIMPLEMENTED,
)

#: Sub-groups whose server rule needs ``client_no_context_takeover`` in the offer.
NEEDS_CLIENT_NO_CONTEXT_TAKEOVER = ("13.2.", "13.5.", "13.6.")


def test_reference_clients_score_as_published() -> None:
    pytest.importorskip("websockets")
    pytest.importorskip("autobahn")
    runs = run_clients(
        (sys.executable, str(TESTEES / "websockets_client.py"), "{url}"),
        (sys.executable, str(TESTEES / "asyncio_client.py"), "{url}", "autobahn"),
    )
    by_agent = {agent: {r.case.id: r for r in results} for agent, results in runs.items()}
    websockets = by_agent.pop("websockets")
    ((autobahn_agent, autobahn),) = by_agent.items()
    assert autobahn_agent.startswith("Autobahn/")
    assert len(autobahn) == len(websockets) > 200
    assert not unexpected(autobahn)

    def websockets_allowed(case_id: str) -> set[tuple[str, str]]:
        if case_id in INFORMATIONAL_CASES:
            return {(INFORMATIONAL, INFORMATIONAL)}
        if case_id.startswith(NEEDS_CLIENT_NO_CONTEXT_TAKEOVER):
            return {(UNIMPLEMENTED, OK)}
        return DEVIATIONS.get(case_id, {(OK, OK)})

    assert not unexpected(websockets, websockets_allowed)


async def naive_connection(port: int, resource: str, *, masked: bool) -> None:
    """A client that checks nothing: it echoes every data and close frame as it
    comes (masked, or not when ``masked`` is False), answers pings, and closes
    TCP after a close frame."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {resource} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    frames = FrameReader()
    try:
        while data := await reader.read(65536):
            for f in frames.feed(data):
                mask_key = os.urandom(4) if masked else None
                if f.opcode == OP_PING:
                    writer.write(encode_frame(OP_PONG, f.payload, key=mask_key))
                elif f.opcode != OP_PONG:
                    writer.write(
                        encode_frame(f.opcode, f.payload, fin=f.fin, rsv=f.rsv, key=mask_key)
                    )
                if f.opcode == OP_CLOSE:
                    writer.close()
                    return
    except ConnectionError:
        pass
    writer.close()


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_tester_fails_a_client_that_checks_nothing(masked: bool) -> None:
    cases = select(all_cases("quick"), ["1.1.1", "3.1", "4.1.1", "6.3.1", "7.9.1"])

    async def run() -> dict[str, tuple[str, str]]:
        with tempfile.TemporaryDirectory() as outdir:
            server = FuzzingServer(cases, Path(outdir), "quick")
            port = await server.start()
            try:
                await naive_connection(port, "/getCaseCount", masked=masked)
                for n in range(1, len(cases) + 1):
                    await naive_connection(port, f"/runCase?case={n}&agent=naive", masked=masked)
                await naive_connection(port, "/updateReports?agent=naive", masked=masked)
                assert await server.reported.get() == "naive"
                assert (Path(outdir) / "index.html").exists()
            finally:
                await server.close()
        results = server.agent_results("naive")
        return {r.case.id: (r.verdict.behavior, r.verdict.behavior_close) for r in results}

    verdicts = asyncio.run(asyncio.wait_for(run(), 60))
    assert list(verdicts) == [c.id for c in cases]
    # The tester drops TCP at the first frame that breaks the protocol (an
    # echoed reserved bit or opcode, invalid UTF-8 or close code, or any frame
    # not masked): the client failed to close properly.
    for case_id in ("3.1", "4.1.1", "6.3.1", "7.9.1"):
        assert verdicts[case_id] == (OK, FAILED_BY_CLIENT), case_id
    # Echoing valid text is fine, unless unmasked: then the tester failed the
    # connection instead of starting the closing handshake (wrong endpoint).
    assert verdicts["1.1.1"] == ((OK, OK) if masked else (FAILED, FAILED))
