"""The conformance tester's own parts: its frame codec, the verdict rules, and that
it fails a peer that breaks the RFC (a tester that passes everything proves
nothing). The broken peer is a naive echo server written here: it echoes every
data frame and close frame as it comes, checking nothing. Also the command line's
``--spec`` (the original's JSON spec files), against ferrobahn's asyncio testees."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import selectors
import subprocess
import sys
from pathlib import Path

import pytest
from test_conformance import START_TIMEOUT, TESTEE, start_testee
from test_conformance_client import TESTEES

from ferrobahn.asyncio import __ident__ as IDENT
from ferrobahn.testsuite import all_cases, run_fuzzing_client, select
from ferrobahn.testsuite.__main__ import main
from ferrobahn.testsuite.frames import FrameReader, close_payload, encode_frame, mask
from ferrobahn.testsuite.spec import AgentExclusions
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


def test_agent_exclusion_patterns() -> None:
    """``exclude-agent-cases`` as the original matches it: ``*`` is any text, the
    whole agent name and the whole case id must match."""
    excluded = AgentExclusions({"My.Server*": ["6.4.*", "7.1.1"], "exact": ["*"]})
    assert excluded("My.Server/1.0", "6.4.2")
    assert excluded("My.Server", "7.1.1")
    assert not excluded("My.Server", "7.1.10")  # a case pattern matches the whole id
    assert not excluded("MyxServer", "6.4.2")  # "." is literal
    assert not excluded("the My.Server", "6.4.2")  # an agent pattern matches the whole name
    assert excluded("exact", "1.1.1") and not excluded("exactly", "1.1.1")
    assert not AgentExclusions()


def test_spec_fuzzingclient_two_agents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A wstest fuzzingclient spec: the asyncio testee server under two agent
    names and once unnamed (the agent is then its Server header), one report
    holding every agent, each without the cases excluded for it."""
    proc, url = start_testee(TESTEE)
    spec = {
        "options": {"failByDrop": False},
        "outdir": str(tmp_path / "servers"),
        "servers": [
            {"agent": "Alpha", "url": url, "options": {"version": 18}},
            {"agent": "Beta 2", "url": url},
            {"url": url},
        ],
        "cases": ["1.1.*", "2.1"],
        "exclude-cases": ["1.1.8"],
        "exclude-agent-cases": {"Beta*": ["1.1.*"], "ferrobahn/*": ["1.1.1", "2.*"]},
    }
    path = tmp_path / "fuzzingclient.json"
    path.write_text(json.dumps(spec))
    try:
        assert main(["fuzzingclient", "--spec", str(path), "--quiet"]) == 0
    finally:
        proc.terminate()
        proc.wait(10)
    err = capsys.readouterr().err
    assert err.count("warning") == 1
    assert "options.failByDrop" in err and "servers[0].options.version" in err
    index = json.loads((tmp_path / "servers" / "index.json").read_text())
    seven = [f"1.1.{n}" for n in range(1, 8)]
    assert {agent: sorted(cases) for agent, cases in index.items()} == {
        "Alpha": [*seven, "2.1"],
        "Beta 2": ["2.1"],
        IDENT: seven[1:],
    }
    assert all(v["behavior"] == OK for cases in index.values() for v in cases.values())
    page = (tmp_path / "servers" / "index.html").read_text()
    assert "<h2>Alpha</h2>" in page and "<h2>Beta 2</h2>" in page


def test_spec_fuzzingclient_needs_a_url(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"cases": ["1.1.1"]}))
    for argv in (["fuzzingclient"], ["fuzzingclient", "--spec", str(path)]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2


def test_spec_fuzzingserver_exclude_agent_cases(tmp_path: Path) -> None:
    """A wstest fuzzingserver spec with exclude-agent-cases, the asyncio testee
    client: the case count (and numbering) stays that of the spec's cases, an
    excluded case is closed at once and absent from that agent's report."""
    spec = {
        "url": "ws://127.0.0.1:9001",  # --port 0 below wins
        "outdir": str(tmp_path / "clients"),
        "options": {"failByDrop": False},
        "cases": ["1.1.1", "1.1.2", "1.1.3", "2.1", "2.2"],
        "exclude-cases": [],
        "exclude-agent-cases": {"ferrobahn/*-asyncio": ["1.1.2", "2.*"], "other": ["*"]},
    }
    path = tmp_path / "fuzzingserver.json"
    path.write_text(json.dumps(spec))
    command = ["-m", "ferrobahn.testsuite", "fuzzingserver", "--spec", str(path)]
    server = subprocess.Popen(
        [sys.executable, *command, "--port", "0", "--exit-after", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(server.stdout, selectors.EVENT_READ)
            assert selector.select(START_TIMEOUT), "the fuzzing server did not start"
        url = server.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:") and not url.endswith(":9001")
        client = subprocess.run(
            [sys.executable, str(TESTEES / "asyncio_client.py"), url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert client.returncode == 0, client.stderr[-2000:]
        assert f"Running 5 cases as {IDENT}" in client.stdout
        out, err = server.communicate(timeout=10)
    finally:
        server.kill()
        server.wait(10)
    assert server.returncode == 0, out + err
    assert f"skipped for {IDENT}" in out and "warning" in err
    index = json.loads((tmp_path / "clients" / "index.json").read_text())
    assert {agent: sorted(cases) for agent, cases in index.items()} == {IDENT: ["1.1.1", "1.1.3"]}
