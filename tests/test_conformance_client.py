"""Conformance of ferrobahn's client: the quick mode of the tester's ``fuzzingserver``
mode against ferrobahn's testee clients (``examples/testee/asyncio_client.py`` and
``twisted_client.py``, the programs a user would run), one test per case for
asyncio.

The fuzzing server runs here, in the test's event loop; the testee client runs in
a subprocess and connects to ``/getCaseCount``, ``/runCase?case=N&agent=A`` and
``/updateReports?agent=A`` as it would to the original Autobahn|Testsuite. Every
case must be OK or INFORMATIONAL on both verdicts. A known ferrobahn bug is listed
in ``KNOWN_BUGS`` (case id -> reason) and expected to fail strictly, so the test
turns red once the bug is fixed and the entry must go.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ferrobahn.testsuite import CaseResult, FuzzingServer, all_cases
from ferrobahn.testsuite.verdict import STRICT_PASS

ROOT = Path(__file__).resolve().parent.parent
TESTEES = ROOT / "examples" / "testee"

#: case id -> why ferrobahn's client fails it today (xfail(strict=True)).
KNOWN_BUGS: dict[str, str] = {}

CASES = all_cases("quick")
#: Bound on one whole quick run (about 15 s on a 2-vCPU machine).
RUN_TIMEOUT = 240.0


async def _run_clients(commands: Sequence[Sequence[str]]) -> dict[str, list[CaseResult]]:
    """Serve the quick cases, run each testee client command (``{url}`` in an
    argument stands for the server's URL) at the same time, and return each
    agent's results once it asked for the reports."""
    with tempfile.TemporaryDirectory() as outdir:
        server = FuzzingServer(CASES, Path(outdir), "quick")
        port = await server.start()
        url = f"ws://127.0.0.1:{port}"
        procs = [
            await asyncio.create_subprocess_exec(
                *(arg.format(url=url) for arg in command),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            for command in commands
        ]
        try:
            errors = await asyncio.gather(*(proc.communicate() for proc in procs))
            for command, proc, (_, stderr) in zip(commands, procs, errors):
                assert proc.returncode == 0, (command, stderr.decode(errors="replace")[-2000:])
            agents = [await asyncio.wait_for(server.reported.get(), 10) for _ in commands]
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await server.close()
        return {agent: server.agent_results(agent) for agent in agents}


def run_clients(*commands: Sequence[str]) -> dict[str, list[CaseResult]]:
    """``_run_clients`` under ``RUN_TIMEOUT``."""
    return asyncio.run(asyncio.wait_for(_run_clients(commands), RUN_TIMEOUT))


def run_client(*command: str) -> dict[str, CaseResult]:
    """One testee client's quick run: case id -> result."""
    ((_, results),) = run_clients(command).items()
    assert len(results) == len(CASES)
    return {r.case.id: r for r in results}


#: Verdict pairs of a strict pass (AutobahnPython's CI gate).
STRICT = {(behavior, close) for behavior in STRICT_PASS for close in STRICT_PASS}


def unexpected(
    results: dict[str, CaseResult],
    allowed: Callable[[str], set[tuple[str, str]]] = lambda _: STRICT,
) -> dict[str, tuple[str, ...]]:
    """The cases whose (behavior, behaviorClose) is not in ``allowed(case id)``
    (default: a strict pass), with why."""
    return {
        case_id: (r.verdict.behavior, r.verdict.behavior_close, r.verdict.result, r.note)
        for case_id, r in results.items()
        if (r.verdict.behavior, r.verdict.behavior_close) not in allowed(case_id)
    }


def known_bug(case_id: str) -> Any:
    """The test parameter of a case: expected to fail strictly if in KNOWN_BUGS."""
    reason = KNOWN_BUGS.get(case_id)
    return pytest.param(
        case_id, marks=[pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    )


@pytest.fixture(scope="module")
def results() -> dict[str, CaseResult]:
    return run_client(sys.executable, str(TESTEES / "asyncio_client.py"), "{url}")


@pytest.mark.parametrize("case_id", [known_bug(case.id) for case in CASES])
def test_asyncio_client_case(results: dict[str, CaseResult], case_id: str) -> None:
    r = results[case_id]
    assert not unexpected({case_id: r}), (
        f"{case_id}: {r.verdict.behavior}/{r.verdict.behavior_close}: {r.verdict.result} / "
        f"{r.verdict.result_close} {r.note} received={r.seen.received[:5]} "
        f"close={r.seen.remote_close_code}"
    )


def test_twisted_client_passes_every_quick_case() -> None:
    pytest.importorskip("twisted")
    results = run_client(sys.executable, str(TESTEES / "twisted_client.py"), "{url}")
    assert not unexpected(results)


def test_fuzzing_server_resources() -> None:
    """The original's resources besides ``/runCase``, and refusals of bad requests."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def main() -> None:
        with tempfile.TemporaryDirectory() as outdir:
            server = FuzzingServer(CASES[:3], Path(outdir), "quick")
            url = f"ws://127.0.0.1:{await server.start()}"

            async def ask(resource: str) -> Any:
                async with connect(url + resource, proxy=None) as ws:
                    return json.loads(await asyncio.wait_for(ws.recv(), 5))

            try:
                assert await ask("/getCaseCount") == 3
                info = await ask("/getCaseInfo?case=2")
                assert info == {"id": "1.1.2", "description": CASES[1].description}
                assert await ask("/getCaseStatus?case=1&agent=a") == {"behavior": "UNKNOWN"}
                async with connect(url + "/runCase?case=1&agent=a", proxy=None) as ws:
                    await ws.send(await ws.recv())  # 1.1.1: an empty text message
                    await asyncio.wait_for(ws.wait_closed(), 5)
                assert await ask("/getCaseStatus?case=1&agent=a") == {"behavior": "OK"}
                async with connect(url + "/updateReports?agent=a", proxy=None) as ws:
                    await asyncio.wait_for(ws.wait_closed(), 5)
                assert await asyncio.wait_for(server.reported.get(), 5) == "a"
                assert (Path(outdir) / "index.html").exists()
                for resource, status in (
                    ("/runCase?case=4&agent=a", 404),
                    ("/runCase?case=1", 400),
                    ("/nothing", 404),
                ):
                    with pytest.raises(InvalidStatus) as refused:
                        async with connect(url + resource, proxy=None):
                            pass
                    assert refused.value.response.status_code == status, resource
            finally:
                await server.close()

    asyncio.run(asyncio.wait_for(main(), 30))
