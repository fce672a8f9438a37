"""Conformance on Twisted: the quick mode of ferrobahn's own tester against the
Twisted testee server (``examples/twisted/testee_server.py``), held to the bar
the asyncio testee meets (``tests/test_conformance.py``): OK or INFORMATIONAL on
both verdicts of every case."""

from __future__ import annotations

from test_conformance import ROOT, run_quick

from ferrobahn.testsuite.verdict import STRICT_PASS

TESTEE = ROOT / "examples" / "twisted" / "testee_server.py"


def test_twisted_testee_passes_every_quick_case() -> None:
    results = run_quick(TESTEE)
    assert len(results) > 200
    failed = {
        case_id: (r.verdict.behavior, r.verdict.behavior_close, r.verdict.result, r.note)
        for case_id, r in results.items()
        if r.verdict.behavior not in STRICT_PASS or r.verdict.behavior_close not in STRICT_PASS
    }
    assert not failed
