"""Running cases: one TCP connection per case, the opening handshake done by the
tester itself, the case's script, then the verdict.

Used by both modes: ``fuzzingclient`` connects to the server under test
(``run_client_case``); ``fuzzingserver`` reads and answers the client's opening
handshake (``read_request``, ``upgrade_problem``, ``accept_response``) and hands
the connection to ``run_open_case``. Same cases, same verdict rules, only the
tester's role differs (``peer.Session``: masking, who drops TCP). Every wait is
bounded: the opening handshake by ``OPEN_HANDSHAKE_TIMEOUT``, a case by its timeout.

Only the cases of groups 12 and 13 negotiate an extension (permessage-deflate,
``Case.negotiation``): the tester as client offers what the case offers, the
tester as server answers with the case's accept rule; every other case offers
nothing and declines every offer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ferrobahn.testsuite.cases import Case
from ferrobahn.testsuite.deflate import (
    Deflate,
    NegotiationError,
    Offer,
    Params,
    negotiated_by_response,
    offers_header,
)
from ferrobahn.testsuite.peer import CLOSE_HANDSHAKE_TIMEOUT, Session, WireLog
from ferrobahn.testsuite.verdict import Observed, Verdict, judge

OPEN_HANDSHAKE_TIMEOUT = 5.0
#: Events a result keeps once judged (the reports show no more): every payload of
#: every case held until the reports are written took 11 GB in groups 12/13 (full).
KEPT_EVENTS = 50
MAX_HEAD = 64 * 2**10
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def user_agent() -> str:
    from ferrobahn import __version__

    return f"ferrobahn-testsuite/{__version__}"


@dataclass
class CaseResult:
    """Everything the reports show about one case run."""

    case: Case
    agent: str
    verdict: Verdict
    started: str
    duration_ms: int
    seen: Observed
    wirelog: list[dict[str, Any]] = field(default_factory=list)
    http_request: str = ""
    http_response: str = ""
    remote_close_reason: str | None = None
    local_close_code: int | None = None
    was_not_clean_reason: str | None = None
    note: str = ""
    #: How many events the peer caused (``seen.received`` keeps the first ones).
    received_count: int = 0


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """The first line and the headers (lower-case names) of an HTTP head."""
    first, *lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return first, headers


class HandshakeError(Exception):
    pass


@dataclass
class Opened:
    """A connection whose opening handshake succeeded (the tester as client)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    request: str
    response: str
    headers: dict[str, str]
    #: The permessage-deflate parameters agreed on, if any.
    deflate: Params | None = None


async def client_handshake(
    url: str, path_and_query: str | None = None, offers: tuple[Offer, ...] = ()
) -> Opened:
    """Connect and upgrade, offering permessage-deflate with ``offers`` if any."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise HandshakeError(f"not a ws:// or wss:// URL: {url}")
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    path = path_and_query or ((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    reader, writer = await asyncio.open_connection(
        host, port, ssl=parts.scheme == "wss" or None, limit=MAX_HEAD
    )
    key = base64.b64encode(os.urandom(16)).decode()
    default_port = port == (443 if parts.scheme == "wss" else 80)
    host_header = host if default_port else f"{host}:{port}"
    extensions = f"Sec-WebSocket-Extensions: {offers_header(offers)}\r\n" if offers else ""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{extensions}User-Agent: {user_agent()}\r\n\r\n"
    )
    writer.write(request.encode())
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
        writer.transport.abort()
        raise HandshakeError(f"no HTTP response head: {exc!r}") from exc
    status, headers = parse_head(head)
    response = head.decode("latin-1")
    problem, deflate = None, None
    answer = headers.get("sec-websocket-extensions")
    if status.split()[1:2] != ["101"]:
        problem = f"status line {status!r}, not 101"
    elif headers.get("upgrade", "").lower() != "websocket":
        problem = "Upgrade header is not 'websocket'"
    elif "upgrade" not in headers.get("connection", "").lower():
        problem = "Connection header lacks 'Upgrade'"
    elif headers.get("sec-websocket-accept") != accept_key(key):
        problem = "wrong Sec-WebSocket-Accept"
    elif answer and not offers:
        problem = "the server accepted an extension the tester did not offer"
    elif answer:
        try:
            deflate = negotiated_by_response(offers, answer)
        except NegotiationError as exc:
            problem = str(exc)
    if problem:
        writer.transport.abort()
        raise HandshakeError(problem)
    return Opened(reader, writer, request, response, headers, deflate)


@dataclass
class Request:
    """A client's opening handshake as the tester (a server) read it."""

    text: str
    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        """The single value of query parameter ``name`` (None if absent or repeated)."""
        values = self.params.get(name, [])
        return values[0] if len(values) == 1 else None


async def read_request(reader: asyncio.StreamReader) -> Request:
    """Read an HTTP request head (at most ``MAX_HEAD`` bytes)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
        raise HandshakeError(f"no HTTP request head: {exc!r}") from exc
    first, headers = parse_head(head)
    parts = first.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise HandshakeError(f"not an HTTP request line: {first!r}")
    target = urlsplit(parts[1])
    return Request(head.decode("latin-1"), parts[0], target.path, parse_qs(target.query), headers)


def upgrade_problem(request: Request) -> str | None:
    """What makes ``request`` an invalid WebSocket opening handshake (RFC 6455
    §4.2.1), or None. The client under test is judged here, with the tester's
    own rules."""
    headers = request.headers
    key = headers.get("sec-websocket-key", "")
    try:
        key_ok = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        key_ok = False
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    if request.method != "GET":
        return f"method {request.method}, not GET"
    if "host" not in headers:
        return "no Host header"
    if headers.get("upgrade", "").lower() != "websocket":
        return "Upgrade header is not 'websocket'"
    if "upgrade" not in tokens:
        return "Connection header lacks 'Upgrade'"
    if headers.get("sec-websocket-version") != "13":
        return "Sec-WebSocket-Version is not 13"
    if not key_ok:
        return "Sec-WebSocket-Key is not 16 bytes in base64"
    return None


def accept_response(request: Request, extensions: str | None = None) -> str:
    """The 101 answer to a valid opening handshake: no subprotocol, and the
    extension response ``extensions`` if one was accepted."""
    accept = accept_key(request.headers["sec-websocket-key"])
    answer = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    return (
        f"HTTP/1.1 101 Switching Protocols\r\nServer: {user_agent()}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
        f"{answer}\r\n"
    )


def refusal(status: int, reason: str) -> bytes:
    """An HTTP error answer to a request the tester cannot serve."""
    body = reason.encode() + b"\n"
    phrase = {400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    return (
        f"HTTP/1.1 {status} {phrase}\r\nServer: {user_agent()}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


def finish_when_done(case: Case, session: Session) -> None:
    """The original's rule: once the events match *every* expected outcome, the
    tester starts the closing handshake if the case expects it to."""
    expected = case.expected
    if (
        expected
        and case.close.closed_by_me
        and not case.suppress_close
        and all(list(events) == session.seen.received for events in expected.values())
    ):
        session.send_close(case.close.codes[0])


async def run_session(case: Case, session: Session) -> str:
    """Drive one case on an open connection until the connection is gone or the
    case's time is up. Returns a note for the report (empty when all went as
    designed)."""
    session.on_event = lambda: finish_when_done(case, session)
    reading = asyncio.ensure_future(session.read_loop())
    note = ""

    async def script() -> None:
        for step in case.steps:
            if not await step.run(session):
                return

    scripting = asyncio.ensure_future(script())
    try:
        await asyncio.wait_for(asyncio.shield(session.lost.wait()), case.timeout)
    except asyncio.TimeoutError:
        note = f"the case did not end within its {case.timeout:g} s bound: connection dropped"
        session.fail("case timeout")
    scripting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await scripting
    if not scripting.cancelled() and scripting.exception() is not None:
        note = f"tester error in the case script: {scripting.exception()!r}"
    await asyncio.wait_for(reading, 5)
    return note


def utcnow() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_result(
    case: Case,
    agent: str,
    started: str,
    t0: float,
    session: Session | None,
    note: str,
    request: str = "",
    response: str = "",
    log: WireLog | None = None,
) -> CaseResult:
    seen = session.seen if session is not None else Observed()
    verdict = judge(
        case.expected,
        case.close,
        seen,
        wrong_code_fails=case.wrong_code_fails,
        informational=case.informational,
    )
    reason = session.remote_close_reason if session is not None else None
    received_count = len(seen.received)
    del seen.received[KEPT_EVENTS:]
    return CaseResult(
        case=case,
        agent=agent,
        verdict=verdict,
        started=started,
        duration_ms=round(1000 * (time.monotonic() - t0)),
        seen=seen,
        wirelog=log.entries if log is not None else [],
        http_request=request,
        http_response=response,
        remote_close_reason=reason.decode("utf-8", "replace") if reason is not None else None,
        local_close_code=session.local_close_code if session is not None else None,
        was_not_clean_reason=session.was_not_clean_reason if session is not None else None,
        note=note,
        received_count=received_count,
    )


async def run_open_case(
    case: Case,
    agent: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    is_server: bool,
    started: str,
    request: str,
    response: str,
    deflate: Params | None = None,
) -> CaseResult:
    """Run one case on a connection whose opening handshake is done, in either
    role: the tester as client (``fuzzingclient``) or as server (``fuzzingserver``),
    with permessage-deflate if ``deflate`` parameters were agreed on. The
    duration counts from the open connection, as the original's does."""
    t0 = time.monotonic()
    log = WireLog()
    codec = Deflate(deflate, is_server=is_server) if deflate is not None else None
    session = Session(reader, writer, is_server=is_server, log=log, deflate=codec)
    note = await run_session(case, session)
    return make_result(case, agent, started, t0, session, note, request, response, log)


#: Decides whether a case is excluded for an agent: called with the agent and the
#: case id (``spec.AgentExclusions``, the spec's ``exclude-agent-cases``).
Excluded = Callable[[str, str], bool]


async def close_at_once(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, is_server: bool
) -> None:
    """On a freshly opened connection, run no case: send a close frame without a
    status code and wait (bounded) for the closing handshake and the end of TCP.
    The original does this for a case excluded for the agent."""
    session = Session(reader, writer, is_server=is_server, log=WireLog())
    reading = asyncio.ensure_future(session.read_loop())
    session.send_close()
    try:
        await asyncio.wait_for(reading, 3 * CLOSE_HANDSHAKE_TIMEOUT + 5)
    except asyncio.TimeoutError:
        session.drop(abort=True)


async def _client_case(
    url: str,
    case: Case,
    agent: str | None,
    excluded: Excluded | None = None,
    skipped: Callable[[Case, str], None] | None = None,
) -> CaseResult | None:
    """A case run against the server at ``url``, or None when the agent the
    server's ``Server`` header names has the case ``excluded``."""
    started, t0 = utcnow(), time.monotonic()
    offers = case.negotiation.offers if case.negotiation is not None else ()
    try:
        opened = await asyncio.wait_for(
            client_handshake(url, offers=offers), OPEN_HANDSHAKE_TIMEOUT
        )
    except (HandshakeError, OSError, asyncio.TimeoutError) as exc:
        note = f"opening handshake failed: {exc!r}"
        return make_result(case, agent or "UnknownServer", started, t0, None, note)
    name = agent or opened.headers.get("server") or "UnknownServer"
    if excluded is not None and excluded(name, case.id):
        await close_at_once(opened.reader, opened.writer, is_server=False)
        if skipped is not None:
            skipped(case, name)
        return None
    return await run_open_case(
        case,
        name,
        opened.reader,
        opened.writer,
        is_server=False,
        started=started,
        request=opened.request,
        response=opened.response,
        deflate=opened.deflate,
    )


async def run_client_case(url: str, case: Case, agent: str | None) -> CaseResult:
    """Run one case against the server at ``url`` on a fresh connection."""
    result = await _client_case(url, case, agent)
    assert result is not None
    return result


async def run_fuzzing_client(
    url: str,
    cases: list[Case],
    agent: str | None = None,
    progress: Callable[[CaseResult], None] | None = None,
    excluded: Excluded | None = None,
    skipped: Callable[[Case, str], None] | None = None,
) -> list[CaseResult]:
    """Run ``cases`` one after the other against the server at ``url``, leaving
    out those ``excluded`` for the agent (reported to ``skipped``, absent from the
    results): without connecting when ``agent`` is given, else as the original
    does, once the ``Server`` header has named the agent: the tester closes (no
    status code) right after the opening handshake."""
    results = []
    for case in cases:
        if agent is not None and excluded is not None and excluded(agent, case.id):
            if skipped is not None:
                skipped(case, agent)
            continue
        result = await _client_case(url, case, agent, excluded, skipped)
        if result is None:
            continue
        results.append(result)
        if progress is not None:
            progress(result)
    return results
