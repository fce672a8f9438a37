"""Group 6: UTF-8 handling of text messages.

6.1-6.3 are small hand-made messages; 6.4.x check fail-fast validation (the bad
byte arrives, then the tester pauses: the peer must fail before the pause ends);
6.5-6.23 are the sequences of Markus Kuhn's UTF-8 decoder stress test, kept here as
a table of (valid?, bytes) per sub-group, in the original's order.
"""

from __future__ import annotations

from collections.abc import Iterator

from ferrobahn.testsuite.cases.model import (
    CLEAN_CLOSE_BY_ME,
    KALIMERA,
    PEER_FAILS_UTF8,
    Case,
    Step,
    begin_frame,
    close_after,
    echo,
    frame,
    frame_data,
    kill_after,
    message,
    ok,
    pause,
    peer_fails,
    steps,
)
from ferrobahn.testsuite.frames import OP_CONTINUATION, OP_TEXT
from ferrobahn.testsuite.peer import utf8_valid
from ferrobahn.testsuite.verdict import NON_STRICT, OK

MIXED = "Hello-µ@ßöäüàá-UTF-8!!".encode()
SURROGATE_TEXT = KALIMERA + b"\xed\xa0\x80" + b"edited"

#: 6.4.x: a valid prefix, the bytes that make it invalid (a code point above
#: U+10FFFF), and the rest.
FAST_PARTS = (KALIMERA, b"\xf4\x90\x80\x80", b"edited")


def _non_characters() -> list[bytes]:
    """U+FFFE/U+FFFF and the non-characters U+xFFFE/U+xFFFF of planes 1-16,
    written as 4-byte sequences: valid UTF-8 (RFC 3629)."""
    seqs = [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]
    for lead in (0xF0, 0xF1, 0xF2, 0xF3, 0xF4):
        for second in (0x8F, 0x9F, 0xAF, 0xBF):
            if lead == 0xF4 and second != 0x8F:
                continue  # above U+10FFFF
            for last in (0xBE, 0xBF):
                seq = bytes((lead, second, 0xBF, last))
                if seq not in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):  # overlong
                    seqs.append(seq)
    return seqs


def kuhn_sequences() -> list[tuple[str, list[tuple[bool, bytes]]]]:
    """The sub-groups 6.5 to 6.23: (title, [(valid, bytes), ...])."""
    incomplete = [
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xf8\x80\x80\x80",
        b"\xfc\x80\x80\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xfb\xbf\xbf\xbf",
        b"\xfd\xbf\xbf\xbf\xbf",
    ]
    lonely = [
        b"".join(bytes((b, 0x20)) for b in range(first, end))
        for first, end in ((0xC0, 0xDF), (0xE0, 0xEF), (0xF0, 0xF7), (0xF8, 0xFB), (0xFC, 0xFD))
    ]
    surrogates = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf"]
    low = [b"\xed\xb0\x80", b"\xed\xbf\xbf"]
    invalid: dict[str, list[bytes]] = {
        "Invalid code points of length 5 and 6": [
            b"\xf8\x88\x80\x80\x80",
            b"\xfc\x84\x80\x80\x80\x80",
        ],
        "Invalid last code points of length 4, 5 and 6": [
            b"\xf7\xbf\xbf\xbf",
            b"\xfb\xbf\xbf\xbf\xbf",
            b"\xfd\xbf\xbf\xbf\xbf\xbf",
        ],
        "Unexpected continuation bytes": [
            b"\x80",
            b"\xbf",
            b"\x80\xbf",
            b"\x80\xbf\x80",
            b"\x80\xbf\x80\xbf",
            b"\x80\xbf\x80\xbf\x80",
            b"\x80\xbf\x80\xbf\x80\xbf",
            bytes(range(0x80, 0xBF)),
        ],
        "Lonely start bytes": lonely,
        "Sequences missing their last continuation byte": incomplete,
        "Concatenation of incomplete sequences": [b"".join(incomplete)],
        "Impossible bytes": [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"],
        "Overlong ASCII character": [
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xf0\x80\x80\xaf",
            b"\xf8\x80\x80\x80\xaf",
            b"\xfc\x80\x80\x80\x80\xaf",
        ],
        "Maximal overlong sequences": [
            b"\xc1\xbf",
            b"\xe0\x9f\xbf",
            b"\xf0\x8f\xbf\xbf",
            b"\xf8\x87\xbf\xbf\xbf",
            b"\xfc\x83\xbf\xbf\xbf\xbf",
        ],
        "Overlong NUL": [
            b"\xc0\x80",
            b"\xe0\x80\x80",
            b"\xf0\x80\x80\x80",
            b"\xf8\x80\x80\x80\x80",
            b"\xfc\x80\x80\x80\x80\x80",
        ],
        "Single UTF-16 surrogates": [
            *surrogates,
            b"\xed\xb0\x80",
            b"\xed\xbe\x80",
            b"\xed\xbf\xbf",
        ],
        "Paired UTF-16 surrogates": [high + lo for high in surrogates for lo in low],
    }
    valid: dict[str, list[bytes]] = {
        "Valid UTF-8 text": [
            b"hello$world",
            "hello¢world".encode(),
            "hello€world".encode(),
            "hello\U00024b62world".encode(),
            KALIMERA,
        ],
        "First code point of each length": [
            b"\x00",
            b"\xc2\x80",
            b"\xe0\xa0\x80",
            b"\xf0\x90\x80\x80",
        ],
        "Last code point of each length": [
            b"\x7f",
            b"\xdf\xbf",
            b"\xef\xbf\xbf",
            b"\xf4\x8f\xbf\xbf",
        ],
        "Non-character code points (valid UTF-8)": _non_characters(),
        "The Specials block, U+FFF9 to U+FFFF": [
            bytes((0xEF, 0xBF, last)) for last in range(0xB9, 0xC0)
        ],
    }

    def all_valid(title: str) -> tuple[str, list[tuple[bool, bytes]]]:
        return title, [(True, seq) for seq in valid[title]]

    def all_invalid(title: str) -> tuple[str, list[tuple[bool, bytes]]]:
        return title, [(False, seq) for seq in invalid[title]]

    prefixes = [(utf8_valid(KALIMERA[:n]), KALIMERA[:n]) for n in range(1, len(KALIMERA) + 1)]
    boundaries = [
        (True, b"\xed\x9f\xbf"),
        (True, b"\xee\x80\x80"),
        (True, b"\xef\xbf\xbd"),
        (True, b"\xf4\x8f\xbf\xbf"),
        (False, b"\xf4\x90\x80\x80"),
    ]
    return [
        all_valid("Valid UTF-8 text"),
        ("Every prefix of a valid multi-byte text", prefixes),
        all_valid("First code point of each length"),
        all_invalid("Invalid code points of length 5 and 6"),
        all_valid("Last code point of each length"),
        all_invalid("Invalid last code points of length 4, 5 and 6"),
        ("Other boundaries (U+D7FF, U+E000, U+FFFD, U+10FFFF, U+110000)", boundaries),
        all_invalid("Unexpected continuation bytes"),
        all_invalid("Lonely start bytes"),
        all_invalid("Sequences missing their last continuation byte"),
        all_invalid("Concatenation of incomplete sequences"),
        all_invalid("Impossible bytes"),
        all_invalid("Overlong ASCII character"),
        all_invalid("Maximal overlong sequences"),
        all_invalid("Overlong NUL"),
        all_invalid("Single UTF-16 surrogates"),
        all_invalid("Paired UTF-16 surrogates"),
        all_valid("Non-character code points (valid UTF-8)"),
        all_valid("The Specials block, U+FFF9 to U+FFFF"),
    ]


def _echo_text(case_id: str, description: str, script: tuple[Step, ...], payload: bytes) -> Case:
    return Case(
        case_id,
        description,
        "The text is echoed unchanged, then a clean close.",
        steps(script, close_after(1)),
        ok(*echo(payload)),
        CLEAN_CLOSE_BY_ME,
    )


def group6() -> Iterator[Case]:
    yield _echo_text("6.1.1", "Send an empty text message.", (frame(OP_TEXT),), b"")
    yield _echo_text(
        "6.1.2",
        "Send a text message of three empty fragments.",
        (frame(OP_TEXT, fin=False), frame(OP_CONTINUATION, fin=False), frame(OP_CONTINUATION)),
        b"",
    )
    middle = b"middle frame payload"
    yield _echo_text(
        "6.1.3",
        "Send a text message of three fragments: empty, non-empty, empty.",
        (
            frame(OP_TEXT, fin=False),
            frame(OP_CONTINUATION, middle, fin=False),
            frame(OP_CONTINUATION),
        ),
        middle,
    )
    yield _echo_text("6.2.1", "Send valid UTF-8 text in one frame.", message(MIXED), MIXED)
    cut = len("Hello-µ@ßöä".encode())
    yield _echo_text(
        "6.2.2",
        "Send valid UTF-8 text in two fragments split on a code point boundary.",
        (frame(OP_TEXT, MIXED[:cut], fin=False), frame(OP_CONTINUATION, MIXED[cut:])),
        MIXED,
    )
    for n, payload in ((3, MIXED), (4, KALIMERA)):
        yield _echo_text(
            f"6.2.{n}",
            "Send valid UTF-8 text in 1-byte fragments (most end inside a code point).",
            message(payload, fragment=1),
            payload,
        )
    yield peer_fails(
        "6.3.1",
        "Send a text message containing an encoded surrogate.",
        message(SURROGATE_TEXT),
        utf8=True,
    )
    yield peer_fails(
        "6.3.2",
        "Send the same invalid text in 1-byte fragments.",
        message(SURROGATE_TEXT, fragment=1),
        utf8=True,
    )
    yield from _fail_fast_cases()
    for sub, (title, sequences) in enumerate(kuhn_sequences(), 5):
        for n, (valid, payload) in enumerate(sequences, 1):
            description = f"{title}: a text message of 0x{payload.hex()}."
            case_id = f"6.{sub}.{n}"
            if valid:
                yield Case(
                    case_id,
                    description,
                    "Valid UTF-8: echoed, then a clean close.",
                    steps(message(payload), kill_after(0.5)),
                    ok(*echo(payload)),
                    CLEAN_CLOSE_BY_ME,
                )
            else:
                yield Case(
                    case_id,
                    description,
                    "Invalid UTF-8: the peer fails the connection with 1007 (or drops it).",
                    steps(message(payload), kill_after(0.5)),
                    ok(),
                    PEER_FAILS_UTF8,
                )


def _fail_fast_cases() -> Iterator[Case]:
    """6.4.1-6.4.4: a valid prefix, pause 1 s, the bad bytes, pause 1 s, the
    rest. OK if the peer fails during the second pause, NON-STRICT if only after
    the whole message."""
    whole = b"".join(FAST_PARTS)
    first, bad, rest = FAST_PARTS
    cuts = {
        "whole bad code point": (first, bad, rest),
        "single bad byte": (whole[:12], whole[12:13], whole[13:]),
    }
    n = 1
    for as_frames in (True, False):
        for label, parts in cuts.items():
            writes: list[tuple[Step, ...]]
            if as_frames:
                how = "in three frames"
                writes = [
                    (frame(OP_TEXT, parts[0], fin=False),),
                    (frame(OP_CONTINUATION, parts[1], fin=False),),
                    (frame(OP_CONTINUATION, parts[2]),),
                ]
            else:
                how = "in three chunks of one frame"
                writes = [(frame_data(part),) for part in parts]
                writes[0] = (begin_frame(OP_TEXT, len(whole)), *writes[0])
            script = steps(
                writes[0], pause(1, "A"), writes[1], pause(1, "B"), writes[2], kill_after(1)
            )
            yield Case(
                f"6.4.{n}",
                f"Send invalid text {how} ({label}): the valid prefix, a 1 s pause, "
                "the bytes that make it invalid, a 1 s pause, the rest.",
                "The peer fails the connection (1007) right after the bad bytes, before the "
                "second pause ends (fail fast); failing only after the whole message is "
                "non-strict.",
                script,
                {OK: (("timeout", "A"),), NON_STRICT: (("timeout", "A"), ("timeout", "B"))},
                PEER_FAILS_UTF8,
            )
            n += 1
