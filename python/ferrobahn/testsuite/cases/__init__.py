"""The case catalogue, numbered as the Autobahn|Testsuite numbers it, and case
selection by the original's patterns (``1.*``, ``6.4.*``, ``7.7.1``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ferrobahn.testsuite.cases.closing import group7
from ferrobahn.testsuite.cases.compression import group12, group13
from ferrobahn.testsuite.cases.framing import group1, group2, group3, group4, group5
from ferrobahn.testsuite.cases.limits import group9, group10
from ferrobahn.testsuite.cases.model import Case
from ferrobahn.testsuite.cases.utf8 import group6

#: Group titles, for reports.
GROUPS = {
    1: "Framing",
    2: "Pings/Pongs",
    3: "Reserved Bits",
    4: "Opcodes",
    5: "Fragmentation",
    6: "UTF-8 Handling",
    7: "Close Handling",
    9: "Limits/Performance",
    10: "Misc",
    12: "WebSocket Compression (different payloads)",
    13: "WebSocket Compression (different parameters)",
}

MODES = ("quick", "full")


def all_cases(mode: str = "quick") -> list[Case]:
    """Every case of the groups implemented, in the original's order."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    cases = [
        *group1(),
        *group2(),
        *group3(),
        *group4(),
        *group5(),
        *group6(),
        *group7(),
        *group9(quick=mode == "quick"),
        *group10(),
        *group12(quick=mode == "quick"),
        *group13(quick=mode == "quick"),
    ]
    return sorted(cases, key=Case.key)


def _matcher(pattern: str) -> re.Pattern[str]:
    """A pattern as the original reads it: ``*`` is any text, the rest literal;
    patterns with a wildcard match at the start of the id, others exactly."""
    regex = re.escape(pattern).replace(r"\*", ".*")
    return re.compile(regex if "*" in pattern else regex + "$")


def select(
    cases: Iterable[Case], include: Iterable[str], exclude: Iterable[str] = ()
) -> list[Case]:
    """The cases matching any ``include`` pattern and no ``exclude`` pattern."""
    wanted = [_matcher(p) for p in include]
    unwanted = [_matcher(p) for p in exclude]
    return [
        case
        for case in cases
        if any(m.match(case.id) for m in wanted) and not any(m.match(case.id) for m in unwanted)
    ]


__all__ = ["GROUPS", "MODES", "Case", "all_cases", "select"]
