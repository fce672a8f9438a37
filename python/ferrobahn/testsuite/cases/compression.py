"""Groups 12 and 13: permessage-deflate (RFC 7692).

Each case negotiates permessage-deflate, then sends messages one at a time, each
the next slice of a corpus (``corpora.py``), compressed by the tester and, where
the case says so, cut into frames of a fixed size (of the compressed payload, as
AutobahnPython's ``autoFragmentSize``). The peer must echo each one; the echo must
match in type, length and content (the report names the SHA-1s of a mismatch, as
the original does). The case is OK once every echo came back within its time,
FAILED otherwise, UNIMPLEMENTED when permessage-deflate was not negotiated; the
tester then closes with 1000 and expects a clean close.

- 12.1-12.5: the five corpora (JSON, bitmap, German verse, HTML, PDF), AutobahnPython's
  default offer as client, the first offer accepted as is as server.
- 13.1-13.7: the JSON corpus, seven parameter sets: the client's offers and the
  server's accept rule, with window bits 9 (the original since 2021).

Within each sub-group, the same 18 combinations (``SIZES``): 16 B to 128 KiB
whole, 8 KiB to 128 KiB in 256-byte frames, 128 KiB in 1, 4 and 32 KiB frames;
1000 messages, 60 to 480 s.

Modes: ``full`` runs all 216 cases as the original. ``quick`` runs, like
wsproto's old Autobahn harness, the first four combinations of every sub-group
(16, 64, 256 and 1024 B whole) and 12.1.11, 12.1.12, 13.1.11, 13.1.12 (8 and 16 KiB
in 256-byte frames), 52 cases, each with ``QUICK_MESSAGES`` messages instead of
1000; the other cases are left out of the quick catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator

from ferrobahn.testsuite.cases.limits import echoes
from ferrobahn.testsuite.cases.model import CLEAN_CLOSE_BY_ME, CLOSE_NORMAL, Case, Step
from ferrobahn.testsuite.corpora import CORPORA, Corpus
from ferrobahn.testsuite.deflate import Negotiation, Offer, accept_rule, first_of
from ferrobahn.testsuite.peer import Session
from ferrobahn.testsuite.verdict import FAILED, OK, UNIMPLEMENTED

MESSAGES = 1000
QUICK_MESSAGES = 250
LOGGED_FRAMES = 64

#: (message size, case timeout in seconds, frame size or 0 for one frame)
SIZES = (
    (16, 60, 0),
    (64, 60, 0),
    (256, 120, 0),
    (1024, 240, 0),
    (4096, 480, 0),
    (8192, 480, 0),
    (16384, 480, 0),
    (32768, 480, 0),
    (65536, 480, 0),
    (131072, 480, 0),
    (8192, 480, 256),
    (16384, 480, 256),
    (32768, 480, 256),
    (65536, 480, 256),
    (131072, 480, 256),
    (131072, 480, 1024),
    (131072, 480, 4096),
    (131072, 480, 32768),
)
#: Combinations (1-based) of every sub-group in the quick mode, and the extra
#: ones of 12.1 and 13.1 (wsproto's fast set).
QUICK_COMBINATIONS = (1, 2, 3, 4)
QUICK_EXTRA = ("12.1.11", "12.1.12", "13.1.11", "13.1.12")

#: 12.x: the original's corpus order.
CORPUS_ORDER = ("json", "bitmap", "faust", "html", "pdf")

#: What the original's 12.x does: its default offer; as server, accept the first.
DEFAULT_NEGOTIATION = Negotiation((Offer(),), accept_rule(False, 0), "default offer")


def _negotiation(
    offers: tuple[Offer, ...], rule: tuple[bool, int], *more: tuple[bool, int]
) -> Negotiation:
    described = ", ".join(offer.describe() for offer in offers)
    rules = (rule, *more)
    accept = first_of(*(accept_rule(*r) for r in rules))
    accepts = ", ".join(f"({nct}, {bits})" for nct, bits in rules)
    return Negotiation(
        offers,
        accept,
        "client offers (requestNoContextTakeover, requestMaxWindowBits): "
        f"[{described}] / server accept (requestNoContextTakeover, "
        f"requestMaxWindowBits): [{accepts}]",
    )


#: 13.1-13.7: the client's offers and the server's accept rules, window bits 9.
PARAMETER_SETS = (
    _negotiation((Offer(),), (False, 0)),
    _negotiation((Offer(request_no_context_takeover=True),), (True, 0)),
    _negotiation((Offer(request_max_window_bits=9),), (False, 9)),
    _negotiation((Offer(request_max_window_bits=15),), (False, 15)),
    _negotiation((Offer(request_no_context_takeover=True, request_max_window_bits=9),), (True, 9)),
    _negotiation(
        (Offer(request_no_context_takeover=True, request_max_window_bits=15),), (True, 15)
    ),
    _negotiation(
        (
            Offer(request_no_context_takeover=True, request_max_window_bits=9),
            Offer(request_no_context_takeover=True),
            Offer(),
        ),
        (True, 9),
        (True, 0),
        (False, 0),
    ),
)


def compressed_echoes(corpus: Corpus, size: int, count: int, wait: float, fragment: int) -> Step:
    """The one step of a 12.x/13.x case. The wire log shows the first round trip
    if it takes at most ``LOGGED_FRAMES`` frames each way (a report stays small)."""
    logged = 1 if not fragment or size // fragment <= LOGGED_FRAMES else 0

    async def run(s: Session) -> bool:
        if s.deflate is None:
            s.seen.script_behavior = UNIMPLEMENTED
            s.seen.script_result = "permessage-deflate was not negotiated."
            s.send_close(CLOSE_NORMAL)
            return False
        deflate = s.deflate

        async def send(payload: bytes) -> None:
            s.send(s.message(payload, binary=corpus.binary, fragment=fragment))

        problem = await echoes(
            s,
            corpus.slices(size),
            send,
            binary=corpus.binary,
            count=count,
            wait=wait,
            logged=logged,
        )
        s.seen.script_behavior = FAILED if problem else OK
        summary = f"The tester {deflate.statistics()}."
        s.seen.script_result = f"{problem or f'Received all {count} echoes in time.'} {summary}"
        s.send_close(CLOSE_NORMAL)
        return False

    frames = f"frames of {fragment} B" if fragment else "one frame"
    kind = "binary" if corpus.binary else "text"
    return Step(run, f"{count} x {kind} message of {size} B, compressed ({frames})", wait)


def _cases(
    group: int, sub: int, corpus: Corpus, negotiation: Negotiation, quick: bool
) -> Iterator[Case]:
    for n, (size, wait, fragment) in enumerate(SIZES, 1):
        case_id = f"{group}.{sub}.{n}"
        if quick and n not in QUICK_COMBINATIONS and case_id not in QUICK_EXTRA:
            continue
        count = QUICK_MESSAGES if quick else MESSAGES
        cut = f" Quick mode: {count} messages, not {MESSAGES}." if quick else ""
        yield Case(
            case_id,
            f"Send {count} compressed messages each of payload size {size}, auto-fragment "
            f"to {fragment} octets. Corpus: {corpus.description} ({corpus.size} bytes, "
            f"{'binary' if corpus.binary else 'text'}). Use permessage-deflate "
            f"{negotiation.text}.{cut}",
            f"Receive echo'ed messages (with payload as sent). Timeout case after {wait} secs.",
            (compressed_echoes(corpus, size, count, wait, fragment),),
            None,
            CLEAN_CLOSE_BY_ME,
            negotiation=negotiation,
        )


def group12(quick: bool) -> Iterator[Case]:
    for sub, name in enumerate(CORPUS_ORDER, 1):
        yield from _cases(12, sub, CORPORA[name], DEFAULT_NEGOTIATION, quick)


def group13(quick: bool) -> Iterator[Case]:
    for sub, negotiation in enumerate(PARAMETER_SETS, 1):
        yield from _cases(13, sub, CORPORA["json"], negotiation, quick)


__all__ = ["MESSAGES", "QUICK_MESSAGES", "group12", "group13"]
