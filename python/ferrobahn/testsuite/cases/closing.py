"""Group 7: the closing handshake and close codes.

The tester starts every closing handshake here; what is judged is the peer's
answer: a clean close with 1000 or the echoed code where the close was valid, 1002
(or a dropped connection) where it was not. A WRONG CODE fails these cases.
"""

from __future__ import annotations

from collections.abc import Iterator

from ferrobahn.testsuite.cases.model import (
    CLOSE_INVALID_PAYLOAD,
    CLOSE_NORMAL,
    CLOSE_PROTOCOL_ERROR,
    KALIMERA,
    Case,
    Step,
    close,
    echo,
    frame,
    kill_after,
    ok,
    ok_or_no_echo,
    ping,
    steps,
)
from ferrobahn.testsuite.frames import OP_CLOSE, OP_CONTINUATION, OP_TEXT
from ferrobahn.testsuite.verdict import Event, ExpectedClose

#: Valid codes a peer must accept (7.7.x) and invalid ones it must refuse (7.9.x).
VALID_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999)
INVALID_CODES = (0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999)
#: Codes the RFC leaves undefined (7.13.x, informational).
UNDEFINED_CODES = (5000, 65535)

CLEAN_1000 = ExpectedClose(True, (CLOSE_NORMAL,), True)
REFUSED = ExpectedClose(True, (CLOSE_PROTOCOL_ERROR,), False)
HELLO = b"Hello World!"


def _close_case(
    case_id: str,
    description: str,
    expectation: str,
    script: tuple[Step, ...],
    expect: ExpectedClose,
    events: dict[str, tuple[Event, ...]] | None = None,
    *,
    informational: bool = False,
    suppress_close: bool = True,
) -> Case:
    return Case(
        case_id,
        description,
        expectation,
        steps(script, kill_after(1)),
        events if events is not None else ok(),
        expect,
        suppress_close=suppress_close,
        wrong_code_fails=True,
        informational=informational,
    )


def group7() -> Iterator[Case]:
    yield _close_case(
        "7.1.1",
        "Send a text message; close once it is echoed.",
        "Echo, then a clean close with 1000.",
        (frame(OP_TEXT, HELLO),),
        CLEAN_1000,
        ok(*echo(HELLO)),
        suppress_close=False,
    )
    after_close = (
        ("7.1.2", "a second close frame", frame(OP_CLOSE)),
        ("7.1.3", "a ping", ping()),
        ("7.1.4", "a text message", frame(OP_TEXT, HELLO)),
    )
    for case_id, what, step in after_close:
        yield _close_case(
            case_id,
            f"Start the closing handshake, then send {what}.",
            "A clean close with 1000; what follows the close is ignored.",
            (close(CLOSE_NORMAL), step),
            CLEAN_1000,
        )
    yield _close_case(
        "7.1.5",
        "Send the first fragment of a text message, a close, then the last fragment.",
        "A clean close with 1000.",
        (
            frame(OP_TEXT, b"fragment1", fin=False),
            close(CLOSE_NORMAL),
            frame(OP_CONTINUATION, b"fragment2"),
        ),
        CLEAN_1000,
    )
    big = (b"BAsd7&jh23" * (256 * 2**10 // 10 + 1))[: 256 * 2**10]
    yield _close_case(
        "7.1.6",
        "Send a 256 KiB text message, a small text message, a close, then a ping.",
        "Informational: whether the messages are echoed before the close depends on the "
        "peer's processing model.",
        (frame(OP_TEXT, big), frame(OP_TEXT, HELLO), close(CLOSE_NORMAL), ping()),
        CLEAN_1000,
        ok_or_no_echo(*echo(HELLO)),
        informational=True,
    )
    payloads = (
        ("7.3.1", "an empty payload", None, b"", CLEAN_1000),
        ("7.3.2", "a 1-byte payload (invalid)", None, b"a", REFUSED),
        ("7.3.3", "a close code only", CLOSE_NORMAL, b"", CLEAN_1000),
        ("7.3.4", "a close code and a reason", CLOSE_NORMAL, b"Hello World!", CLEAN_1000),
        ("7.3.5", "a 123-byte reason (the maximum)", CLOSE_NORMAL, b"*" * 123, CLEAN_1000),
        ("7.3.6", "a 124-byte reason (payload above 125 bytes)", CLOSE_NORMAL, b"*" * 124, REFUSED),
    )
    for case_id, what, code, reason, expect in payloads:
        clean = expect is CLEAN_1000
        yield _close_case(
            case_id,
            f"Send a close frame with {what}.",
            "A clean close with 1000." if clean else "A close with 1002, or a dropped connection.",
            (close(code, reason),),
            expect,
        )
    bad_reason = KALIMERA + b"\xed\xa0\x80" + b"edited"
    yield _close_case(
        "7.5.1",
        "Send a close frame whose reason is not valid UTF-8.",
        "A close with 1002 or 1007, or a dropped connection.",
        (close(CLOSE_NORMAL, bad_reason),),
        ExpectedClose(True, (CLOSE_PROTOCOL_ERROR, CLOSE_INVALID_PAYLOAD), False),
    )
    code_tables = (
        ("7.7", VALID_CODES, "the valid", "A clean close with 1000 or the echoed code.", False),
        ("7.9", INVALID_CODES, "the invalid", "A close with 1002, or a dropped connection.", False),
        ("7.13", UNDEFINED_CODES, "the undefined", "Informational: any answer is recorded.", True),
    )
    for sub, codes, kind, expectation, informational in code_tables:
        for n, code in enumerate(codes, 1):
            if sub == "7.7":
                expect = ExpectedClose(True, (CLOSE_NORMAL, code), True)
            elif sub == "7.9":
                expect = REFUSED
            else:
                expect = ExpectedClose(True, (CLOSE_NORMAL, code, CLOSE_PROTOCOL_ERROR), False)
            yield _close_case(
                f"{sub}.{n}",
                f"Send a close frame with {kind} code {code}.",
                expectation,
                (close(code),),
                expect,
                informational=informational,
            )
