"""Conformance: the quick mode of ferrobahn's own tester (``ferrobahn.testsuite``)
against ferrobahn's asyncio testee server, one test per Autobahn case.

The server runs in a subprocess (``examples/testee/asyncio_echo_server.py``, the
program ``make conformance`` uses); the tester runs here. Every case must be OK or
INFORMATIONAL on both verdicts, the bar AutobahnPython's CI sets. A known ferrobahn
bug is listed in ``KNOWN_BUGS`` (case id -> reason) and expected to fail strictly,
so the test turns red once the bug is fixed and the entry must go.
"""

from __future__ import annotations

import asyncio
import selectors
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ferrobahn.testsuite import CaseResult, all_cases, run_fuzzing_client
from ferrobahn.testsuite.cases import Case
from ferrobahn.testsuite.verdict import STRICT_PASS

ROOT = Path(__file__).resolve().parent.parent
TESTEE = ROOT / "examples" / "testee" / "asyncio_echo_server.py"

#: case id -> why ferrobahn fails it today (the test is xfail(strict=True)).
KNOWN_BUGS: dict[str, str] = {}

CASES = all_cases("quick")
START_TIMEOUT = 30.0


def start_testee(script: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start an echo server script on a free port (more arguments after the port);
    returns it and its URL, printed within ``START_TIMEOUT`` seconds."""
    proc = subprocess.Popen(
        [sys.executable, str(script), "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(START_TIMEOUT)
    url = proc.stdout.readline().strip() if ready else ""
    if not url.startswith("ws://"):
        proc.kill()
        raise RuntimeError(f"{script.name} did not start: {url!r}")
    return proc, url


def run_quick(script: Path, *args: str, cases: Sequence[Case] = CASES) -> dict[str, CaseResult]:
    """Run the quick-mode ``cases`` (default: all) against a fresh ``script`` server."""
    proc, url = start_testee(script, *args)
    try:
        results = asyncio.run(asyncio.wait_for(run_fuzzing_client(url, list(cases)), 300))
    finally:
        proc.terminate()
        proc.wait(10)
    return {r.case.id: r for r in results}


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, CaseResult]]:
    yield run_quick(TESTEE)


def _params() -> list[object]:
    return [
        pytest.param(
            case.id,
            marks=[pytest.mark.xfail(reason=KNOWN_BUGS[case.id], strict=True)]
            if case.id in KNOWN_BUGS
            else [],
        )
        for case in CASES
    ]


@pytest.mark.parametrize("case_id", _params())
def test_case(results: dict[str, CaseResult], case_id: str) -> None:
    r = results[case_id]
    v = r.verdict
    assert v.behavior in STRICT_PASS and v.behavior_close in STRICT_PASS, (
        f"{case_id}: {v.behavior}/{v.behavior_close}: {v.result} / {v.result_close}"
        f" {r.note} received={r.seen.received[:5]} close={r.seen.remote_close_code}"
    )
