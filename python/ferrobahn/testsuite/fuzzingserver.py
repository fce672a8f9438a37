"""``fuzzingserver`` mode: the tester is a WebSocket server and tests the clients
that connect to it, with the original's URL scheme, so existing testee clients
(AutobahnPython's ``wstest`` testee clients, websockets' compliance client, ...)
work unchanged:

- ``/getCaseCount``: one text message holding the number of cases, then a close;
- ``/runCase?case=N&agent=A``: runs the N-th case (1-based, in the order of the
  selected cases) against the connecting client, reported under agent ``A``;
- ``/updateReports?agent=A``: writes the reports (every agent seen so far), then
  closes;
- ``/getCaseInfo?case=N`` and ``/getCaseStatus?case=N&agent=A``: a JSON text
  message with the case's id and description, or its verdicts for that agent.

A case runs exactly as in ``fuzzingclient`` mode (same case tables, same verdict
rules), with the tester in the server role: it masks nothing, requires masked
frames, and drops TCP itself once the closing handshake is done. As in the
original, "FAILED BY CLIENT" is only ever reported in ``fuzzingclient`` mode (it
means the tester, as client, had to drop TCP): a client under test that drops TCP
first after a clean closing handshake is not penalised.

The permessage-deflate cases (groups 12 and 13) answer the client's offers with
the case's accept rule, the original's 13.x server rules (``deflate.py``); an
offer that cannot be read refuses the handshake (400), as the original does, and
the case is recorded as failed. Every other case declines every extension.

Cases excluded for an agent (a spec's ``exclude-agent-cases``, ``excluded``) are
handled as the original's fuzzing server handles them (``FuzzingProtocol.onOpen``
in autobahntestsuite/fuzzing.py): ``/getCaseCount`` still counts every selected
case, so the case numbers stay the same for every agent; ``/runCase`` for an
excluded case accepts the opening handshake, then at once sends a close frame
without a status code (the original's bare ``sendClose()``) and runs nothing; the
case is not recorded, so it is absent from that agent's report (and
``/getCaseStatus`` answers UNKNOWN for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ferrobahn.testsuite.cases import Case
from ferrobahn.testsuite.deflate import NegotiationError, Params, client_offers
from ferrobahn.testsuite.frames import OP_TEXT
from ferrobahn.testsuite.peer import CLOSE_HANDSHAKE_TIMEOUT, Session, WireLog
from ferrobahn.testsuite.report import write_reports
from ferrobahn.testsuite.runner import (
    MAX_HEAD,
    OPEN_HANDSHAKE_TIMEOUT,
    CaseResult,
    Excluded,
    HandshakeError,
    Request,
    accept_response,
    make_result,
    read_request,
    refusal,
    run_open_case,
    upgrade_problem,
    utcnow,
)

#: Bound on a control connection (count, reports, info) after its handshake.
CONTROL_TIMEOUT = 5 * CLOSE_HANDSHAKE_TIMEOUT + 5


class Refused(Exception):
    """A request the fuzzing server answers with an HTTP error."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class FuzzingServer:
    """Serves the selected ``cases`` to any client that connects (several at
    once if they like) and keeps every result, per agent, for the reports.

    ``reported`` receives an agent's name each time its ``/updateReports``
    request has been served (the command line's ``--exit-after`` waits on it).
    A case ``excluded`` for an agent is not run for it (see the module's
    docstring); ``skipped`` is told of each such request."""

    def __init__(
        self,
        cases: Sequence[Case],
        outdir: Path,
        mode: str,
        progress: Callable[[CaseResult], None] | None = None,
        excluded: Excluded | None = None,
        skipped: Callable[[Case, str], None] | None = None,
    ) -> None:
        self.cases = list(cases)
        self.outdir = outdir
        self.mode = mode
        self.progress = progress
        self.excluded = excluded
        self.skipped = skipped
        #: agent -> case id -> the latest result.
        self.results: dict[str, dict[str, CaseResult]] = {}
        self.reported: asyncio.Queue[str] = asyncio.Queue()
        self.report_page: Path | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (useful with port 0)."""
        self._server = await asyncio.start_server(
            self._accept, host, port, limit=MAX_HEAD, reuse_address=True
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and abort the connections still running."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def agent_results(self, agent: str) -> list[CaseResult]:
        """``agent``'s results in case order."""
        found = self.results.get(agent, {})
        return [found[c.id] for c in self.cases if c.id in found]

    # ------------------------------------------------------------------ serving

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(read_request(reader), OPEN_HANDSHAKE_TIMEOUT)
        except (HandshakeError, OSError, asyncio.TimeoutError):
            writer.transport.abort()
            return
        try:
            await self._route(request, reader, writer)
        except Refused as refused:
            writer.write(refusal(refused.status, refused.reason))
            writer.close()
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_HANDSHAKE_TIMEOUT)
        finally:
            writer.transport.abort()

    def _case(self, request: Request) -> Case:
        raw = request.param("case")
        if raw is None or not raw.isdigit() or not 1 <= int(raw) <= len(self.cases):
            raise Refused(404, f"no case {raw!r}: cases are 1 to {len(self.cases)}")
        return self.cases[int(raw) - 1]

    def _agent(self, request: Request) -> str:
        agent = request.param("agent")
        if not agent:
            raise Refused(400, f"{request.path} needs an agent (?agent=NAME)")
        return agent

    async def _route(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        path = request.path
        if path == "/runCase":
            case, agent = self._case(request), self._agent(request)
            if self.excluded is not None and self.excluded(agent, case.id):
                await self._control(request, reader, writer, None, close_code=None)
                if self.skipped is not None:
                    self.skipped(case, agent)
                return
            await self._run_case(case, agent, request, reader, writer)
            return
        if path == "/getCaseCount":
            message: str | None = json.dumps(len(self.cases))
        elif path == "/getCaseInfo":
            case = self._case(request)
            message = json.dumps({"id": case.id, "description": case.description})
        elif path == "/getCaseStatus":
            case, agent = self._case(request), self._agent(request)
            found = self.results.get(agent, {}).get(case.id)
            status = {"behavior": found.verdict.behavior if found else "UNKNOWN"}
            message = json.dumps(status)
        elif path == "/updateReports":
            agent = self._agent(request)
            everything = [r for by_case in self.results.values() for r in by_case.values()]
            if everything:
                self.report_page = write_reports(everything, self.outdir, self.mode)
            await self._control(request, reader, writer, None)
            self.reported.put_nowait(agent)
            return
        else:
            raise Refused(404, f"unknown resource {path}")
        await self._control(request, reader, writer, message)

    def _open(
        self, request: Request, writer: asyncio.StreamWriter, case: Case | None = None
    ) -> tuple[str, Params | None]:
        """Answer the opening handshake, negotiating permessage-deflate if ``case``
        does; returns the response head and the parameters agreed on."""
        problem = upgrade_problem(request)
        if problem:
            raise Refused(400, f"invalid WebSocket opening handshake: {problem}")
        extension, params = None, None
        if case is not None and case.negotiation is not None:
            try:
                offers = client_offers(request.headers.get("sec-websocket-extensions"))
            except NegotiationError as exc:
                raise Refused(400, f"invalid permessage-deflate offer: {exc}") from None
            accepted = case.negotiation.accept(offers)
            if accepted is not None:
                extension, params = accepted.header(), accepted.params()
        response = accept_response(request, extension)
        writer.write(response.encode())
        return response, params

    async def _control(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        message: str | None,
        close_code: int | None = 1000,
    ) -> None:
        """A control connection: the message (if any), then the closing handshake
        (``close_code`` None: a close frame without a status code)."""
        self._open(request, writer)
        session = Session(reader, writer, is_server=True, log=WireLog())
        reading = asyncio.ensure_future(session.read_loop())
        if message is not None:
            session.send(session.frame(OP_TEXT, message.encode()))
        session.send_close(close_code)
        try:
            await asyncio.wait_for(reading, CONTROL_TIMEOUT)
        except asyncio.TimeoutError:
            session.drop(abort=True)

    async def _run_case(
        self,
        case: Case,
        agent: str,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        started = utcnow()
        try:
            response, params = self._open(request, writer, case)
        except Refused as refused:
            # The client's handshake is part of what is tested: record the case.
            note = f"opening handshake refused: {refused.reason}"
            t0 = time.monotonic()
            self._record(make_result(case, agent, started, t0, None, note, request.text))
            raise
        result = await run_open_case(
            case,
            agent,
            reader,
            writer,
            is_server=True,
            started=started,
            request=request.text,
            response=response,
            deflate=params,
        )
        self._record(result)

    def _record(self, result: CaseResult) -> None:
        self.results.setdefault(result.agent, {})[result.case.id] = result
        if self.progress is not None:
            self.progress(result)
