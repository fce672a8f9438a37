"""Validates the conformance tester itself: run against `websockets`, a library known
to pass the Autobahn|Testsuite, it must report exactly what websockets is known to
score. A FAILED anywhere else is a bug in the tester, not in websockets. And
AutobahnPython's server (the asyncio testee run on ``autobahn``, deflate accepted as
its wstest testee does) must pass every permessage-deflate case (groups 12, 13).

websockets' documented deviations: NON-STRICT on 3.2, 3.3, 4.1.3, 4.1.4, 4.2.3,
4.2.4 and 5.15 (it fails the connection before echoing the valid message that came
first; timing decides, so OK is accepted too) and on 6.4.1-6.4.4 (UTF-8 checked per
frame, not per chunk), and a deliberate FAIL on 7.1.5 (it answers 1002).
"""

from __future__ import annotations

import pytest
from test_conformance import CASES, ROOT, TESTEE, run_quick

from ferrobahn.testsuite import select
from ferrobahn.testsuite.verdict import FAILED, INFORMATIONAL, NON_STRICT, OK, WRONG_CODE

pytest.importorskip("websockets")

REFERENCE = ROOT / "examples" / "testee" / "websockets_echo_server.py"

#: case id -> the (behavior, behaviorClose) pairs websockets may get.
DEVIATIONS = {
    **{
        case: {(NON_STRICT, OK), (OK, OK)}
        for case in ("3.2", "3.3", "4.1.3", "4.1.4", "4.2.3", "4.2.4", "5.15")
    },
    **{f"6.4.{n}": {(NON_STRICT, OK)} for n in range(1, 5)},
    "7.1.5": {(FAILED, WRONG_CODE)},
}
INFORMATIONAL_CASES = ("7.1.6", "7.13.1", "7.13.2")


def test_websockets_scores_as_published() -> None:
    results = run_quick(REFERENCE)
    wrong = {}
    for case_id, r in results.items():
        got = (r.verdict.behavior, r.verdict.behavior_close)
        if case_id in INFORMATIONAL_CASES:
            allowed = {(INFORMATIONAL, INFORMATIONAL)}
        else:
            allowed = DEVIATIONS.get(case_id, {(OK, OK)})
        if got not in allowed:
            wrong[case_id] = (got, r.verdict.result, r.verdict.result_close, r.note)
    assert not wrong


def test_autobahn_server_passes_the_compression_cases() -> None:
    pytest.importorskip("autobahn")
    results = run_quick(TESTEE, "autobahn", cases=select(CASES, ["12.*", "13.*"]))
    assert len(results) == 52
    failed = {
        case_id: (r.verdict.behavior, r.verdict.behavior_close, r.verdict.result)
        for case_id, r in results.items()
        if (r.verdict.behavior, r.verdict.behavior_close) != (OK, OK)
    }
    assert not failed
