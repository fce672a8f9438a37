"""The payload corpora of groups 12 and 13 (permessage-deflate), generated.

The Autobahn|Testsuite ships five files and sends slices of them: a JSON document
(text), a 512x512 grey-scale bitmap (binary), Goethe's *Faust* from Project
Gutenberg (plain text, sent as binary), an HTML page (text) and a PDF (binary).
We cannot ship those files, so this module *generates* a corpus of the same kind and
of exactly the same size for each, from a fixed seed:

========  ==========  ======  ===================================================
corpus    bytes       type    what it is made of
========  ==========  ======  ===================================================
json      194,056     text    an ``index.json``-shaped report, indented, ASCII
bitmap    263,222     binary  a BMP: 54-byte headers, a 256-grey palette, 512x512
                              8-bit pixels of smooth value noise with grain
faust     222,218     binary  German-like verse drama in UTF-8 (umlauts, ß)
html      263,647     text    a report page: style sheet, tables of results, ASCII
pdf       1,042,328   binary  a PDF 1.4 file: text content streams, Flate-compressed
                              streams and fonts (incompressible), xref and trailer
========  ==========  ======  ===================================================

So the payloads differ from the original's, while the sizes, the message types and
the slicing are the original's: message *n* of a case is the next ``size`` bytes of
the corpus after message *n - 1*, wrapping around at the end (the original slices
text by characters; our text corpora are ASCII, so characters are bytes). How well
each corpus compresses with zlib is what the cases exercise, and it is of the kind
of the original's: the generated reports (JSON, HTML) about 19x, the verse 3x, the
bitmap 1.07x and the PDF 1.14x (mostly compressed streams, so deflate mostly emits
stored blocks).

The generator is deterministic across platforms and Python versions: it draws from
SHAKE-256 of the seed, never from :mod:`random`. ``SHA256`` pins the result; a
change to a generator must change its digest there (the tests check it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

SEED = "ferrobahn-testsuite-corpora-1"


class Rng:
    """A deterministic stream of random numbers: SHAKE-256 of the seed, read in
    blocks (4 bytes per draw)."""

    BLOCK = 1 << 16

    def __init__(self, name: str) -> None:
        self._seed = f"{SEED}/{name}".encode()
        self._block = 0
        self._buf = b""
        self._pos = 0

    def _refill(self) -> None:
        counter = self._block.to_bytes(8, "big")
        self._buf = hashlib.shake_256(self._seed + counter).digest(self.BLOCK)
        self._block += 1
        self._pos = 0

    def raw(self, n: int) -> bytes:
        """``n`` random bytes."""
        out = bytearray()
        while len(out) < n:
            if self._pos >= len(self._buf):
                self._refill()
            take = min(n - len(out), len(self._buf) - self._pos)
            out += self._buf[self._pos : self._pos + take]
            self._pos += take
        return bytes(out)

    def below(self, n: int) -> int:
        """An integer in ``range(n)`` (the modulo bias of 32 bits is irrelevant here)."""
        if self._pos + 4 > len(self._buf):
            self._refill()
        value = int.from_bytes(self._buf[self._pos : self._pos + 4], "big")
        self._pos += 4
        return value % n

    def between(self, low: int, high: int) -> int:
        """An integer from ``low`` to ``high`` inclusive."""
        return low + self.below(high - low + 1)

    def pick(self, items: Sequence[str]) -> str:
        return items[self.below(len(items))]

    def weighted(self, items: Sequence[tuple[str, int]]) -> str:
        point = self.below(sum(w for _, w in items))
        for item, weight in items:
            point -= weight
            if point < 0:
                return item
        raise AssertionError("unreachable")


def _fit(parts: Iterator[str], budget: int) -> list[str]:
    """Take parts while their total length stays within ``budget``."""
    taken: list[str] = []
    used = 0
    for part in parts:
        if used + len(part.encode()) > budget:
            break
        taken.append(part)
        used += len(part.encode())
    return taken


def _filler(rng: Rng, n: int) -> str:
    """``n`` characters of lower-case letters (exact sizes need a little padding)."""
    return "".join(chr(97 + rng.below(26)) for _ in range(n))


# ---------------------------------------------------------------------- JSON

VERDICTS = (("OK", 80), ("NON-STRICT", 6), ("INFORMATIONAL", 3), ("FAILED", 7), ("WRONG CODE", 4))
CLOSE_CODES = (("1000", 70), ("1002", 20), ("1007", 6), ("null", 4))


def _agent_name(rng: Rng) -> str:
    syllables = ("ka", "ro", "vin", "ta", "lux", "mer", "do", "pel", "zan", "quo", "ri", "sto")
    name = "".join(rng.pick(syllables) for _ in range(rng.between(2, 4))).capitalize()
    return f"{name}/{rng.between(0, 9)}.{rng.between(0, 30)}.{rng.between(0, 99)}"


def _case_ids(rng: Rng) -> Iterator[str]:
    for group in range(1, 14):
        for sub in range(1, rng.between(2, 9)):
            for n in range(1, rng.between(2, 30)):
                yield f"{group}.{sub}.{n}"


def _json_entries(rng: Rng) -> Iterator[str]:
    """Indented JSON text, piece by piece: an agent's opening, its cases (each
    preceded by the comma its predecessor needs), its closing brace."""
    first_agent = True
    while True:
        agent = _agent_name(rng)
        clean = "".join(c if c.isalnum() else "_" for c in agent.lower())
        yield ("" if first_agent else ",\n") + f"   {json.dumps(agent)}: {{"
        first_agent = False
        separator = "\n"
        for case in _case_ids(rng):
            report = f"{clean}_case_{case.replace('.', '_')}.json"
            yield (
                f'{separator}      "{case}": {{\n'
                f'         "behavior": "{rng.weighted(VERDICTS)}",\n'
                f'         "behaviorClose": "{rng.weighted(VERDICTS[:1] + VERDICTS[3:])}",\n'
                f'         "duration": {rng.between(0, 9) ** rng.between(1, 4)},\n'
                f'         "remoteCloseCode": {rng.weighted(CLOSE_CODES)},\n'
                f'         "reportfile": "{report}"\n'
                "      }"
            )
            separator = ",\n"
        yield "\n   }"


def make_json(rng: Rng, size: int) -> bytes:
    """An Autobahn ``index.json``-like document of exactly ``size`` bytes: agents,
    each with the verdicts of many cases, and a last ``"comment"`` member whose
    length makes the size exact."""
    close_agent = "\n   }"
    head, tail = "{\n", ',\n   "comment": ""\n}\n'
    parts = _fit(_json_entries(rng), size - len(head) - len(tail) - len(close_agent) - 64)
    if parts[-1] != close_agent:
        parts.append(close_agent)
    body = "".join(parts)
    pad = size - len(head) - len(body) - len(tail)
    text = head + body + f',\n   "comment": "{_filler(rng, pad)}"\n}}\n'
    json.loads(text)  # it is valid JSON
    return text.encode("ascii")


# ---------------------------------------------------------------------- bitmap


def make_bitmap(rng: Rng, size: int, side: int = 512) -> bytes:
    """A 512x512, 8 bits per pixel, grey-scale BMP (``size`` must be what that
    takes: 14 + 40 + 1024 + 512 * 512 bytes): smooth value noise (bilinear over a
    coarse random grid) plus fine grain, like a photograph."""
    palette = b"".join(bytes((v, v, v, 0)) for v in range(256))
    offset = 14 + 40 + len(palette)
    if offset + side * side != size:
        raise ValueError(f"a {side}x{side} 8-bit BMP has {offset + side * side} bytes")
    cells = 16
    step = side // cells
    grid = [[rng.below(256) for _ in range(cells + 1)] for _ in range(cells + 1)]
    grain = rng.raw(side * side)
    pixels = bytearray(side * side)
    for y in range(side):
        gy, fy = divmod(y, step)
        top, bottom = grid[gy], grid[gy + 1]
        for x in range(side):
            gx, fx = divmod(x, step)
            upper = top[gx] * (step - fx) + top[gx + 1] * fx
            lower = bottom[gx] * (step - fx) + bottom[gx + 1] * fx
            value = (upper * (step - fy) + lower * fy) // (step * step)
            value += (grain[y * side + x] & 15) - 8
            pixels[y * side + x] = min(255, max(0, value))
    file_header = b"BM" + struct.pack("<IHHI", size, 0, 0, offset)
    info_header = struct.pack(
        "<IiiHHIIiiII", 40, side, side, 1, 8, 0, side * side, 2835, 2835, 256, 256
    )
    return file_header + info_header + palette + bytes(pixels)


# ---------------------------------------------------------------------- German verse

_GERMAN = (
    "der die das und ich du er sie wir nicht ist sind war mit von zu den dem des ein eine "
    "einem auf im in an als wie so doch noch nur schon auch mir mich dir dich sich mein "
    "dein sein kein was wer wo nun da hier dort ja nie wohl gar sehr mehr ganz fort hin "
    "Herz Geist Welt Nacht Tag Licht Himmel Erde Gott Teufel Seele Liebe Zeit Kraft Natur "
    "Mensch Leben Tod Blut Feuer Wasser Luft Stern Traum Wort Buch Hand Auge Gesang Glück "
    "gehen kommen sehen hören sagen fühlen wissen glauben lieben leben sterben suchen "
    "groß klein schön alt jung neu tief hoch still laut hell dunkel süß bitter froh"
)
FUNCTION_WORDS = _GERMAN.split()
SPEAKERS = ("FAUST", "MEPHISTOPHELES", "WAGNER", "MARGARETE", "MARTHE", "CHOR", "GEIST", "HEXE")
ONSETS: tuple[str, ...] = ("", "b", "br", "d", "f", "fl", "g", "gr", "h", "k", "kl", "l", "m")
ONSETS += ("n", "p", "pf", "r", "s", "sch", "schw", "sp", "st", "str", "t", "tr", "w", "z", "zw")
NUCLEI = ("a", "e", "i", "o", "u", "ä", "ö", "ü", "ei", "au", "eu", "ie", "e", "a")
CODAS = ("", "", "n", "r", "l", "s", "t", "ch", "ng", "nd", "st", "cht", "ß", "ck", "m", "ft")
ENDINGS = ("", "", "en", "er", "e", "ung", "heit", "keit", "lich", "ig", "isch", "te", "ten")


def _vocabulary(rng: Rng, size: int = 3000) -> list[str]:
    """Common words first, then made-up German-looking ones (nouns capitalised)."""
    words = list(FUNCTION_WORDS)
    while len(words) < size:
        stem = "".join(
            rng.pick(ONSETS) + rng.pick(NUCLEI) + rng.pick(CODAS) for _ in range(rng.between(1, 3))
        )
        word = stem + rng.pick(ENDINGS)
        words.append(word.capitalize() if rng.below(10) < 3 else word)
    return words


def _word(rng: Rng, words: Sequence[str]) -> str:
    """Roughly Zipf-distributed: early (common) words far more often than late ones
    (integers only, so every platform draws the same words)."""
    return words[rng.below(1 << rng.below(12)) % len(words)]


def _verse(rng: Rng, words: Sequence[str]) -> str:
    line = " ".join(_word(rng, words) for _ in range(rng.between(4, 9)))
    line = line[0].upper() + line[1:]
    return line + rng.weighted(((",", 40), (".", 25), ("!", 10), ("?", 8), (";", 7), ("", 10)))


def _drama(rng: Rng) -> Iterator[str]:
    words = _vocabulary(rng)
    scene = 0
    while True:
        scene += 1
        yield f"\n\n{rng.pick(('Nacht', 'Studierzimmer', 'Straße', 'Garten', 'Kerker'))}.\n"
        yield f"Szene {scene}.\n\n"
        for _ in range(rng.between(3, 12)):
            yield f"\n{rng.pick(SPEAKERS)}:\n"
            for _ in range(rng.between(1, 14)):
                yield "  " + _verse(rng, words) + "\n"


def make_verse(rng: Rng, size: int) -> bytes:
    """German-like verse drama in UTF-8 of exactly ``size`` bytes (a Gutenberg-style
    heading, scenes, speakers, verse lines), padded at the end with a line of
    lower-case letters."""
    head = "Der Tragödie erster Teil\n\nEin Gedicht, erzeugt für die Kompressionsprobe.\n"
    tail_min = len("\n\nENDE\n") + 1
    body = "".join(_fit(_drama(rng), size - len(head.encode()) - tail_min - 80))
    used = len(head.encode()) + len(body.encode())
    text = head + body + "\n" + _filler(rng, size - used - len("\n\nENDE\n")) + "\nENDE\n"
    data = text.encode("utf-8")
    assert len(data) == size
    return data


# ---------------------------------------------------------------------- HTML

HTML_HEAD = """<!DOCTYPE html>
<html>
   <head>
      <meta charset="utf-8" />
      <title>Conformance report</title>
      <style lang="css">
body { background-color: #f4f4f4; color: #333; font-family: Tahoma, Arial, sans-serif; }
table { border-collapse: collapse; border-spacing: 0px; }
td { margin: 0; border: 1px solid #fff; padding: 6px 16px; font-size: 0.9em; color: #fff; }
td.case { background-color: #666; text-align: left; padding-left: 40px; }
td.case_ok { background-color: #0a0; text-align: center; }
td.case_non_strict { background-color: #9a0; text-align: center; }
td.case_failed { background-color: #900; text-align: center; }
td.case_info { background-color: #4095bf; text-align: center; }
span.case_duration { font-size: 0.7em; color: #fff; }
</style>
   </head>
   <body>
      <h1>Conformance report</h1>
"""
HTML_CLASSES = {"OK": "case_ok", "NON-STRICT": "case_non_strict", "FAILED": "case_failed"}


def _html_rows(rng: Rng) -> Iterator[str]:
    while True:
        agents = [_agent_name(rng) for _ in range(rng.between(2, 4))]
        cells = "".join(f'<td class="agent">{a}</td>' for a in agents)
        yield (
            '      <table id="results">\n'
            f'         <tr><td class="case_category">Group</td>{cells}</tr>\n'
        )
        for case in _case_ids(rng):
            anchor = case.replace(".", "_")
            yield (
                '         <tr class="agent_case_result_row">\n'
                f'            <td class="case"><a href="#case_desc_{anchor}">Case {case}</a></td>\n'
            )
            for agent in agents:
                verdict = rng.weighted(VERDICTS[:2] + VERDICTS[3:4])
                page = "".join(c if c.isalnum() else "_" for c in agent.lower())
                link = f'<a href="{page}_case_{anchor}.html">{verdict.title()}</a>'
                duration = f'<span class="case_duration">{rng.between(1, 999)} ms</span>'
                yield (
                    f'            <td class="{HTML_CLASSES[verdict]}">{link}<br/>{duration}</td>\n'
                )
            yield "         </tr>\n"
        yield "      </table>\n"


def make_html(rng: Rng, size: int) -> bytes:
    """A report page of exactly ``size`` bytes; an HTML comment before the end of
    the body makes the size exact."""
    tail = "      <!--  -->\n   </body>\n</html>\n"
    rows = _fit(_html_rows(rng), size - len(HTML_HEAD) - len(tail) - 64)
    if rows and not rows[-1].endswith("</table>\n"):
        rows.append("      </table>\n")
    used = len(HTML_HEAD) + sum(map(len, rows)) + len(tail)
    tail = f"      <!-- {_filler(rng, size - used)} -->\n   </body>\n</html>\n"
    text = HTML_HEAD + "".join(rows) + tail
    assert len(text) == size
    return text.encode("ascii")


# ---------------------------------------------------------------------- PDF


def _pdf_page_text(rng: Rng) -> bytes:
    """A page's content stream: text-showing operators over English-ish words."""
    words = (
        "the",
        "of",
        "a",
        "model",
        "we",
        "data",
        "in",
        "is",
        "for",
        "to",
        "result",
        "network",
        "figure",
        "shown",
        "analysis",
        "and",
        "error",
        "table",
        "method",
    )
    lines = [b"BT /F1 10 Tf 12 TL 72 720 Td"]
    for _ in range(rng.between(40, 60)):
        text = " ".join(rng.pick(words) for _ in range(rng.between(8, 14)))
        lines.append(f"({text}) Tj T*".encode())
    lines.append(b"ET")
    return b"\n".join(lines)


def _pdf_objects(rng: Rng) -> Iterator[bytes]:
    """Object bodies (without ``N 0 obj``/``endobj``), from object 3 on: per page a
    page, a content stream (plain or Flate-compressed) and now and then an image
    XObject (compressed noise) or an embedded font program (random bytes)."""
    number = 3
    while True:
        content = number + 1  # the page itself is object ``number``
        number += 2
        text = _pdf_page_text(rng)
        if rng.below(3):
            stream, filt = zlib.compress(text, 9), b" /Filter /FlateDecode"
        else:
            stream, filt = text, b""
        yield (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 "
            b"/BaseFont /Times-Roman >> >> >> " + f"/Contents {content} 0 R >>".encode()
        )
        yield b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(stream), filt, stream)
        if rng.below(3) == 0:
            number += 1
            blob = rng.raw(rng.between(4000, 40000))
            kind = rng.pick(
                ("/Subtype /Image /Width 200 /Height 100 /BitsPerComponent 8", "/Length1 9000")
            )
            yield b"<< %s /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (
                kind.encode(),
                len(blob),
                blob,
            )


def make_pdf(rng: Rng, size: int) -> bytes:
    """A PDF 1.4 file of exactly ``size`` bytes: catalogue, page tree, pages with
    their content streams and images/fonts, a padding stream, the xref table and
    the trailer (offsets correct)."""
    header = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    bodies: list[bytes] = []
    used = len(header)
    for body in _pdf_objects(rng):
        framed = len(body) + 40  # "N 0 obj\n", "\nendobj\n" and an xref entry
        if used + framed > size - 2048:
            break
        bodies.append(body)
        used += framed
    pages = [i + 3 for i, b in enumerate(bodies) if b.startswith(b"<< /Type /Page ")]
    kids = " ".join(f"{p} 0 R" for p in pages)
    bodies[:0] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
    ]

    def assemble(pad: int) -> bytes:
        objects = [*bodies, b"<< /Length %d >>\nstream\n%s\nendstream" % (pad, b"%" * pad)]
        out = bytearray(header)
        offsets = []
        for n, body in enumerate(objects, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objects) + 1,
            xref,
        )
        return bytes(out)

    pad = 0
    for _ in range(4):  # the padding's own digits can shift the size: converge
        pad += size - len(assemble(pad))
    data = assemble(pad)
    assert len(data) == size, (len(data), size)
    return data


# ---------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Corpus:
    """One corpus: its name, what it stands for, its size and message type, and the
    SHA-256 its generator must produce."""

    name: str
    description: str
    size: int
    binary: bool
    sha256: str
    make: Callable[[Rng, int], bytes]

    def data(self) -> bytes:
        return _generate(self.name)

    def slices(self, length: int) -> Iterator[bytes]:
        """Successive ``length``-byte slices of the corpus, wrapping around."""
        data = self.data()
        pos = 0
        while True:
            end = pos + length
            if end <= len(data):
                yield data[pos:end]
            else:
                end -= len(data)
                yield data[pos:] + data[:end]
            pos = end


CORPORA = {
    c.name: c
    for c in (
        Corpus(
            "json",
            "Large JSON data file (generated: a test report index)",
            194_056,
            False,
            "11680f04ba51b7516d26d2020526fb705757a2b5d8a7594816a654333b80229d",
            make_json,
        ),
        Corpus(
            "bitmap",
            "Bitmap 512x512 8-bit grey (generated: value noise)",
            263_222,
            True,
            "01ad54430c46847485d6c67a0c420a352ed9edd9d8df2212e313add7da46bdfd",
            make_bitmap,
        ),
        Corpus(
            "faust",
            "Human readable text, German verse drama (generated, UTF-8)",
            222_218,
            True,
            "ab7fca52b8b4ecbe3feab667f5771764b37e63f3691c886da0966bda037c2ac5",
            make_verse,
        ),
        Corpus(
            "html",
            "Large HTML file (generated: a test report page)",
            263_647,
            False,
            "77ba3eb83e13b86c4ad24eb53952276a048e279f83e7ff735dd991a6c0128db2",
            make_html,
        ),
        Corpus(
            "pdf",
            "A larger PDF (generated)",
            1_042_328,
            True,
            "f738c3e593ecfee70160e1535b08ed87d6b195ab39e35edf13ff5f47d0f83a9e",
            make_pdf,
        ),
    )
}


@functools.cache
def _generate(name: str) -> bytes:
    corpus = CORPORA[name]
    data = corpus.make(Rng(name), corpus.size)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != corpus.size or digest != corpus.sha256:
        # Reports only compare across runs if every run sends the same bytes.
        raise AssertionError(
            f"corpus {name}: {len(data)} bytes with SHA-256 {digest}, not the pinned "
            f"{corpus.size} bytes with {corpus.sha256}"
        )
    return data
