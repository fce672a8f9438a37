"""Verdicts: how a case's observed events and closing become ``behavior`` and
``behaviorClose``, computed the way the Autobahn|Testsuite computes them.

Kept apart from the runner so the rules can be read (and tested) in one place:
results only compare with published Autobahn reports if these rules are the
original's, including its quirks (a missing close code always counts as allowed;
"FAILED BY CLIENT" is reported when the tester, as a client, had to drop TCP).

One rule depends on the tester's role, and there ferrobahn is stricter than the
original: as a server (``fuzzingserver``, testing clients) dropping TCP is the
tester's job after the closing handshake, so "FAILED BY CLIENT" is reported only
when the tester had to drop a connection that did not close cleanly (the client
broke the protocol, never failed the connection, or never answered a close).
The original reports OK there, so a client that ignores bad input passes its
"the peer fails the connection" cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

OK = "OK"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
UNIMPLEMENTED = "UNIMPLEMENTED"
FAILED = "FAILED"
WRONG_CODE = "WRONG CODE"
UNCLEAN = "UNCLEAN"
FAILED_BY_CLIENT = "FAILED BY CLIENT"

#: An observed event: ("message", payload, is_binary), ("pong", payload) or
#: ("timeout", tag) for a pause that ended with the connection still open.
Event = tuple[object, ...]

#: Verdict pairs that count as a strict pass (AutobahnPython's CI gate).
STRICT_PASS = frozenset({OK, INFORMATIONAL})


@dataclass(frozen=True)
class ExpectedClose:
    """How a case expects the connection to end."""

    #: True when the tester is expected to start the closing handshake.
    closed_by_me: bool
    #: Close codes the peer may send (a missing code is always allowed).
    codes: tuple[int, ...]
    #: True when the closing handshake must complete (and the server drop TCP).
    require_clean: bool
    #: For invalid UTF-8: the wrong endpoint closing fails the case itself.
    wrong_endpoint_fatal: bool = False


@dataclass
class Observed:
    """What the tester saw of one case's connection."""

    received: list[Event] = field(default_factory=list)
    connection_was_open: bool = False
    is_server: bool = False
    closed_by_me: bool = False
    dropped_by_me: bool = False
    was_clean: bool = False
    remote_close_code: int | None = None
    #: Set by cases that judge their own events (group 9): behavior and why.
    script_behavior: str | None = None
    script_result: str | None = None


@dataclass(frozen=True)
class Verdict:
    behavior: str
    behavior_close: str
    result: str
    result_close: str


def judge(
    expected: Mapping[str, Sequence[Event]] | None,
    close: ExpectedClose,
    seen: Observed,
    *,
    wrong_code_fails: bool = False,
    informational: bool = False,
) -> Verdict:
    """The verdict of one case. ``expected`` maps a behavior (OK, NON-STRICT) to
    the exact event list that earns it; ``None`` means the case judged its own
    events (``seen.script_behavior``)."""
    if expected is None:
        behavior = seen.script_behavior or FAILED
        result = seen.script_result or "The case did not judge its events."
    else:
        behavior, result = FAILED, "Actual events differ from any expected."
        for name, events in expected.items():
            if list(events) == seen.received:
                behavior, result = name, "Actual events match at least one expected."
                break
    if not seen.connection_was_open:
        behavior_close = FAILED
        result_close = "The WebSocket opening handshake was never completed!"
    elif close.closed_by_me != seen.closed_by_me:
        behavior_close, result_close = FAILED, "The connection was failed by the wrong endpoint"
        if close.wrong_endpoint_fatal:
            behavior = FAILED
    elif close.require_clean and not seen.was_clean:
        behavior_close = UNCLEAN
        result_close = "The spec requires the connection to be failed cleanly here"
    elif seen.remote_close_code is not None and seen.remote_close_code not in close.codes:
        behavior_close = WRONG_CODE
        allowed = ",".join(map(str, close.codes))
        result_close = f"The close code should have been {allowed} or empty"
    elif seen.dropped_by_me and not seen.is_server:
        behavior_close = FAILED_BY_CLIENT
        result_close = "It is preferred that the server close the TCP connection"
    elif seen.dropped_by_me and not seen.was_clean:
        # The tester is the server: dropping TCP is its job, but only once the
        # closing handshake is done. The original reports OK here, which lets a
        # client that never fails (or never answers a close) pass.
        behavior_close = FAILED_BY_CLIENT
        result_close = (
            "The client neither closed nor failed the connection: the tester (server) "
            "had to drop TCP"
        )
    else:
        behavior_close, result_close = OK, "Connection was properly closed"
    if wrong_code_fails and behavior_close == WRONG_CODE:
        behavior, result = FAILED, result_close
    if informational:
        behavior = behavior_close = INFORMATIONAL
        result = f"Recorded only: the spec leaves this open ({result})"
    return Verdict(behavior, behavior_close, result, result_close)


def is_failed(verdict_behavior: str, verdict_close: str, *, strict: bool) -> bool:
    """Whether a case counts against the run. Strict: anything but OK or
    INFORMATIONAL on either verdict. Otherwise only FAILED behaviour, or a close
    that failed (wrong endpoint, no handshake) or was unclean where it had to be
    clean; NON-STRICT, WRONG CODE (outside 7.x) and FAILED BY CLIENT pass."""
    if strict:
        return not (verdict_behavior in STRICT_PASS and verdict_close in STRICT_PASS)
    return verdict_behavior == FAILED or verdict_close in (FAILED, UNCLEAN)
