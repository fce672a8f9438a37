"""ferrobahn's core and hot paths next to the same operation in every peer that
exposes one, and a memory copy, measured side by side in one run.

Groups (one per operation and size; the summary after pytest-benchmark's
table, from ``conftest.py``, gives GB/s, frames/s, × copy and × ferrobahn):

- parse, server side, masked binary frames: 64 B frames in one 256 KiB read;
  one 1 MiB frame in four 256 KiB reads; and a 1 MiB text frame (with UTF-8
  validation, or decoding where that is how the peer checks it).
- encode one masked (client) message: 64 B and 1 MiB.
- mask 1 MiB; validate 1 MiB of UTF-8 (mixed scripts, and ASCII).

What each peer row runs (its own public or documented entry point; where a
library has no standalone parser, its protocol object on a fake transport):

- ferrobahn ``_core.Parser.feed`` (the reference row), and the whole receive
  path: the asyncio protocol's ``_dataReceived`` calling a no-op ``onMessage``;
- picows: ``WSProtocol.get_buffer`` / ``buffer_updated`` (its parser is part of
  the protocol) with its C ``WSListener`` (no Python per frame, the frame a
  zero-copy view) and with a Python listener taking ``get_payload_as_bytes()``;
- aiohttp: ``WebSocketReader.feed_data`` (its Cython reader) into its queue;
- websockets: ``Frame.parse`` over its ``StreamReader`` (C unmasking);
- wsproto: ``FrameProtocol.receive_bytes`` and ``received_frames``;
- AutobahnPython: its protocol's ``_dataReceived`` to a no-op ``onMessage``,
  with NVX and without (its pure-Python masker and validator, as with
  ``AUTOBAHN_USE_NVX=0``).

Timings are reported, never asserted; the asserts check that each row did the
work (frame count, payload).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from typing import Any

import inmemory as im
import pytest

from ferrobahn import _core

MIB = 1 << 20
READ = 256 * 1024
BINARY, TEXT = 2, 1
KEY = b"\x37\xfa\x21\x3d"
PATTERN = "Hello, wörld! Grüße aus Köln. Привет, мир! 你好，世界。 🎉🚀 "


def mixed_text(size: int) -> bytes:
    """Exactly ``size`` bytes of valid UTF-8 (cut on a code point, space-padded)."""
    data = (PATTERN * (size // len(PATTERN.encode()) + 1)).encode()
    cut = size
    while data[cut] & 0xC0 == 0x80:
        cut -= 1
    return data[:cut] + b" " * (size - cut)


PAYLOAD_64 = os.urandom(64)
PAYLOAD_1M = os.urandom(MIB)
TEXT_1M = mixed_text(MIB)
ASCII_1M = (b"The quick brown fox jumps over the lazy dog. " * (MIB // 45 + 1))[:MIB]

FRAME_64 = _core.encode_frame(BINARY, PAYLOAD_64, mask=True)
N_64 = READ // len(FRAME_64)
READS_64 = [FRAME_64 * N_64]  # one read of N_64 frames
FRAME_1M = _core.encode_frame(BINARY, PAYLOAD_1M, mask=True)
READS_1M = [FRAME_1M[i : i + READ] for i in range(0, len(FRAME_1M), READ)]
TEXT_FRAME_1M = _core.encode_frame(TEXT, TEXT_1M, mask=True)
READS_TEXT_1M = [TEXT_FRAME_1M[i : i + READ] for i in range(0, len(TEXT_FRAME_1M), READ)]

G_PARSE_64 = f"parse: 64 B binary frames, masked, {N_64} in one {len(READS_64[0])} B read"
G_PARSE_1M = "parse: one 1 MiB binary frame, masked, in 256 KiB reads"
G_PARSE_TEXT = "parse: one 1 MiB text frame (UTF-8 checked), masked, in 256 KiB reads"

CASES = {
    "64": (G_PARSE_64, READS_64, N_64, PAYLOAD_64, False),
    "1M": (G_PARSE_1M, READS_1M, 1, PAYLOAD_1M, False),
    "text": (G_PARSE_TEXT, READS_TEXT_1M, 1, TEXT_1M, True),
}
CASE_IDS = list(CASES)


def wire_bytes(reads: list[bytes]) -> int:
    return sum(len(r) for r in reads)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(event_loop)
    yield event_loop
    im.close_keepalive()
    event_loop.close()
    asyncio.set_event_loop(None)


def run_parse(
    benchmark: Any,
    throughput: Any,
    case: str,
    name: str,
    feed: Callable[[bytes], Any],
    deliveries: list[Any] | Callable[[], list[Any]],
    check: Callable[[Any], Any] | None = None,
    reset: Callable[[], Any] | None = None,
    **kind: bool,
) -> None:
    """Benchmark feeding the case's reads. What the peer delivers goes to
    ``deliveries`` (a list, or a function returning them); each run starts by
    dropping the previous run's (``reset``, by default clearing the list), as an
    application drops messages it has handled, so nothing piles up across
    rounds. ``check`` maps one delivered item to its payload."""
    group, reads, frames, payload, text = CASES[case]
    benchmark.group = group
    if reset is None:
        assert isinstance(deliveries, list)
        reset = deliveries.clear

    def run() -> None:
        reset()
        for r in reads:
            feed(r)

    benchmark(run)
    run()
    got = deliveries() if callable(deliveries) else deliveries
    assert len(got) == frames, f"{name}: {len(got)} deliveries, {frames} expected"
    if check is not None:
        assert check(got[-1]) in (payload, payload.decode() if text else payload)
    throughput(benchmark, name, wire_bytes(reads), frames=frames if case == "64" else 0, **kind)


# -- parse ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_IDS)
def test_parse_copy(benchmark: Any, throughput: Any, case: str) -> None:
    group, reads, *_ = CASES[case]
    benchmark.group = group
    benchmark(lambda: [bytes(memoryview(r)) for r in reads])
    throughput(benchmark, "memory copy of the reads", wire_bytes(reads), baseline=True)


@pytest.mark.parametrize("case", CASE_IDS)
def test_parse_ferrobahn_parser(benchmark: Any, throughput: Any, case: str) -> None:
    parser = _core.Parser("required")
    events: list[Any] = []

    def feed(data: bytes) -> None:
        events.extend(parser.feed(data)[1::3])  # the payloads: (kind, payload, binary) flat

    run_parse(
        benchmark,
        throughput,
        case,
        "ferrobahn _core.Parser.feed",
        feed,
        events,
        check=lambda p: p,
        ref=True,
    )


def test_parse_ferrobahn_parser_one_read(benchmark: Any, throughput: Any) -> None:
    """The 1 MiB frame in a single read: the one-copy path (no assembly)."""
    parser = _core.Parser("required")
    benchmark.group = G_PARSE_1M
    events = benchmark(parser.feed, FRAME_1M)
    assert events[1] == PAYLOAD_1M
    throughput(benchmark, "ferrobahn Parser.feed, whole frame in one read", len(FRAME_1M))


def _autobahn_like_server(package: str, pure: bool = False) -> tuple[Any, list[Any]]:
    mod = im._api(package)
    got: list[Any] = []

    class Server(mod.WebSocketServerProtocol):  # type: ignore[misc,name-defined]
        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            got.append(payload)

    if pure:
        with im.autobahn_without_nvx():
            proto = im.autobahn_server(Server)
    else:
        proto = (im.ferrobahn_server if package == "ferrobahn" else im.autobahn_server)(Server)
    return proto, got


@pytest.mark.parametrize("case", CASE_IDS)
def test_parse_ferrobahn_protocol(
    benchmark: Any, throughput: Any, case: str, loop: asyncio.AbstractEventLoop
) -> None:
    proto, got = _autobahn_like_server("ferrobahn")
    run_parse(
        benchmark,
        throughput,
        case,
        "ferrobahn protocol: _dataReceived → onMessage",
        proto._dataReceived,
        got,
        check=lambda p: p,
    )


@pytest.mark.parametrize("case", CASE_IDS)
def test_parse_picows_c_listener(
    benchmark: Any, throughput: Any, case: str, loop: asyncio.AbstractEventLoop
) -> None:
    pytest.importorskip("picows")
    import picows

    if case == "text":
        pytest.skip("the C listener does not look at the payload: nothing is decoded")
    listener = picows.WSListener()  # on_ws_frame is a C method: no Python per frame
    proto = im.picows_server(listener, loop)
    # Nothing to collect: count the frames by the bytes consumed.
    group, reads, frames, *_ = CASES[case]
    benchmark.group = group

    def run() -> None:
        for r in reads:
            im.picows_feed(proto, r)

    benchmark(run)
    throughput(
        benchmark,
        "picows WSProtocol, C listener (zero-copy frame)",
        wire_bytes(reads),
        frames=frames if case == "64" else 0,
    )


@pytest.mark.parametrize("case", CASE_IDS)
def test_parse_picows_python_listener(
    benchmark: Any, throughput: Any, case: str, loop: asyncio.AbstractEventLoop
) -> None:
    pytest.importorskip("picows")
    import picows

    got: list[Any] = []
    text = CASES[case][4]

    class Listener(picows.WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            got.append(frame.get_payload_as_utf8_text() if text else frame.get_payload_as_bytes())

    proto = im.picows_server(Listener(), loop)
    how = "get_payload_as_utf8_text()" if text else "get_payload_as_bytes()"
    run_parse(
        benchmark,
        throughput,
        case,
        f"picows WSProtocol, Python listener, {how}",
        lambda data: im.picows_feed(proto, data),
        got,
        check=lambda p: p,
    )


@pytest.mark.parametrize("case", CASE_IDS)
def test_parse_aiohttp(
    benchmark: Any, throughput: Any, case: str, loop: asyncio.AbstractEventLoop
) -> None:
    pytest.importorskip("aiohttp")
    from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader

    class Protocol:  # what the queue asks of aiohttp's protocol
        _reading_paused = False

        def pause_reading(self) -> None:
            self._reading_paused = True

        def resume_reading(self) -> None:
            self._reading_paused = False

    state: dict[str, Any] = {}

    def fresh() -> None:
        # The queue holds what was parsed until the application reads it; a
        # new queue and reader per run drops it (construction is < 1 % of a run).
        queue = WebSocketDataQueue(Protocol(), 1 << 30, loop=loop)  # type: ignore[arg-type]
        state["queue"] = queue
        state["reader"] = WebSocketReader(queue, 0, compress=False, decode_text=True)

    fresh()

    def feed(data: bytes) -> None:
        state["reader"].feed_data(data)

    def collect() -> list[Any]:
        return [msg for msg, _ in state["queue"]._buffer]

    label = "Cython" if "reader_c" in WebSocketReader.__module__ else "pure Python!"
    run_parse(
        benchmark,
        throughput,
        case,
        f"aiohttp WebSocketReader.feed_data ({label})",
        feed,
        collect,
        check=lambda m: m.data,
        reset=fresh,
    )


class _WebsocketsFrames:
    """websockets' frame parser as its protocol drives it: the reads go into its
    ``StreamReader``, ``Frame.parse`` (a generator) runs until it needs more."""

    def __init__(self, text: bool) -> None:
        from websockets.frames import Frame
        from websockets.streams import StreamReader

        self.parse = Frame.parse
        self.reader = StreamReader()
        self.gen: Any = None
        self.text = text
        self.frames: list[Any] = []

    def feed(self, data: bytes) -> None:
        reader = self.reader
        reader.feed_data(data)
        while True:
            if self.gen is None:
                if not reader.buffer:
                    return
                self.gen = self.parse(reader.read_exact, mask=True, max_size=None)
            try:
                next(self.gen)
            except StopIteration as done:
                frame = done.value
                self.gen = None
                # websockets' protocol checks UTF-8 by decoding a text message.
                self.frames.append(frame.data.decode() if self.text else frame.data)
            else:
                return  # waiting for more data


@pytest.mark.parametrize("case", CASE_IDS)
def test_parse_websockets(benchmark: Any, throughput: Any, case: str) -> None:
    pytest.importorskip("websockets")
    parser = _WebsocketsFrames(CASES[case][4])
    how = " + bytes.decode" if CASES[case][4] else ""
    run_parse(
        benchmark,
        throughput,
        case,
        f"websockets Frame.parse (C unmask){how}",
        parser.feed,
        parser.frames,
        check=lambda p: p,
    )


@pytest.mark.parametrize("case", CASE_IDS)
def test_parse_wsproto(benchmark: Any, throughput: Any, case: str) -> None:
    pytest.importorskip("wsproto")
    from wsproto.frame_protocol import FrameProtocol

    proto = FrameProtocol(client=False, extensions=[])
    pieces: list[Any] = []
    messages: list[Any] = []

    def feed(data: bytes) -> None:
        proto.receive_bytes(data)
        for frame in proto.received_frames():  # a frame may come in pieces
            pieces.append(frame.payload)
            if frame.frame_finished:
                payload = pieces[0] if len(pieces) == 1 else type(pieces[0])().join(pieces)
                messages.append(payload)
                pieces.clear()

    run_parse(
        benchmark,
        throughput,
        case,
        "wsproto FrameProtocol (text: incremental decode)",
        feed,
        messages,
        check=lambda p: p,
    )


@pytest.mark.parametrize("case", CASE_IDS)
@pytest.mark.parametrize("nvx", [True, False], ids=["nvx", "pure"])
def test_parse_autobahn(
    benchmark: Any, throughput: Any, case: str, nvx: bool, loop: asyncio.AbstractEventLoop
) -> None:
    pytest.importorskip("autobahn")
    from autobahn.websocket import HAS_NVX

    if nvx and not HAS_NVX:
        pytest.skip("autobahn was built without NVX")
    proto, got = _autobahn_like_server("autobahn", pure=not nvx)
    name = "with NVX" if nvx else "pure Python (AUTOBAHN_USE_NVX=0)"

    def feed(data: bytes) -> None:
        proto._dataReceived(data)

    if not nvx:
        benchmark.extra_info["pure"] = True
        with im.autobahn_without_nvx():  # the masker is made per frame
            run_parse(
                benchmark,
                throughput,
                case,
                f"autobahn protocol {name}",
                feed,
                got,
                check=lambda p: p,
            )
        return
    run_parse(
        benchmark,
        throughput,
        case,
        f"autobahn protocol {name}",
        feed,
        got,
        check=lambda p: p,
    )


# -- encode one masked message ------------------------------------------------------

G_ENC_64 = "encode: one 64 B binary message, masked (client)"
G_ENC_1M = "encode: one 1 MiB binary message, masked (client)"
ENC = {"64": (G_ENC_64, PAYLOAD_64), "1M": (G_ENC_1M, PAYLOAD_1M)}


def run_encode(
    benchmark: Any,
    throughput: Any,
    case: str,
    name: str,
    fn: Callable[[bytes], Any],
    size_of: Callable[[Any], int] | None = None,
    **kind: bool,
) -> None:
    group, payload = ENC[case]
    benchmark.group = group
    out = benchmark(fn, payload)
    if size_of is not None:
        wire = size_of(out)
        assert len(payload) + 6 <= wire <= len(payload) + 14, f"{name}: {wire} bytes on the wire"
    throughput(benchmark, name, len(payload), **kind)


@pytest.mark.parametrize("case", list(ENC))
def test_encode_copy(benchmark: Any, throughput: Any, case: str) -> None:
    run_encode(
        benchmark,
        throughput,
        case,
        "memory copy of the payload",
        lambda p: bytes(memoryview(p)),
        baseline=True,
    )


@pytest.mark.parametrize("case", list(ENC))
def test_encode_ferrobahn_core(benchmark: Any, throughput: Any, case: str) -> None:
    run_encode(
        benchmark,
        throughput,
        case,
        "ferrobahn _core.encode_message",
        lambda p: _core.encode_message(p, True, True),
        len,
        ref=True,
    )


@pytest.mark.parametrize("case", list(ENC))
def test_encode_ferrobahn_send(
    benchmark: Any, throughput: Any, case: str, loop: asyncio.AbstractEventLoop
) -> None:
    proto = im.ferrobahn_client()
    transport = proto.transport

    def send(payload: bytes) -> int:
        before = transport.nbytes
        proto.sendMessage(payload, True)
        return transport.nbytes - before  # type: ignore[no-any-return]

    run_encode(
        benchmark, throughput, case, "ferrobahn protocol sendMessage → write", send, lambda n: n
    )


@pytest.mark.parametrize("case", list(ENC))
def test_encode_picows(
    benchmark: Any, throughput: Any, case: str, loop: asyncio.AbstractEventLoop
) -> None:
    pytest.importorskip("picows")
    import logging

    import picows
    from picows.picows import WSTransport

    sock, other = im._tcp_socket()
    im._keepalive.append(other)
    # picows writes straight to the socket with send(2) when the transport's
    # buffer is empty and there is no TLS; an "ssl_object" makes it hand the
    # frame to the transport instead, as the other rows do (no system call).
    fake = im.FakeTransport(sock=sock, ssl_object=object())
    transport = WSTransport(True, fake, logging.getLogger("bench.picows"), loop)

    def send(payload: bytes) -> int:
        before = fake.nbytes
        transport.send(picows.WSMsgType.BINARY, payload)
        return fake.nbytes - before

    run_encode(benchmark, throughput, case, "picows WSTransport.send → write", send, lambda n: n)
    sock.close()


@pytest.mark.parametrize("case", list(ENC))
def test_encode_aiohttp(
    benchmark: Any, throughput: Any, case: str, loop: asyncio.AbstractEventLoop
) -> None:
    pytest.importorskip("aiohttp")
    from aiohttp._websocket.writer import WebSocketWriter

    class Protocol:
        _paused = False

    fake = im.FakeTransport()
    writer = WebSocketWriter(Protocol(), fake, use_mask=True)  # type: ignore[arg-type]

    def send(payload: bytes) -> int:
        before = fake.nbytes
        coro = writer.send_frame(payload, BINARY)
        try:
            coro.send(None)  # completes without suspending: nothing to wait for
        except StopIteration:
            pass
        else:
            raise AssertionError("aiohttp's send_frame suspended")
        return fake.nbytes - before

    run_encode(
        benchmark, throughput, case, "aiohttp WebSocketWriter.send_frame → write", send, lambda n: n
    )


@pytest.mark.parametrize("case", list(ENC))
def test_encode_websockets(benchmark: Any, throughput: Any, case: str) -> None:
    pytest.importorskip("websockets")
    from websockets.frames import Frame, Opcode

    run_encode(
        benchmark,
        throughput,
        case,
        "websockets Frame.serialize (C mask)",
        lambda p: Frame(Opcode.BINARY, p).serialize(mask=True),
        len,
    )


@pytest.mark.parametrize("case", list(ENC))
def test_encode_wsproto(benchmark: Any, throughput: Any, case: str) -> None:
    pytest.importorskip("wsproto")
    from wsproto.frame_protocol import FrameProtocol

    proto = FrameProtocol(client=True, extensions=[])
    run_encode(
        benchmark,
        throughput,
        case,
        "wsproto FrameProtocol.send_data",
        lambda p: proto.send_data(p, fin=True),
        len,
    )


@pytest.mark.parametrize("case", list(ENC))
@pytest.mark.parametrize("nvx", [True, False], ids=["nvx", "pure"])
def test_encode_autobahn(
    benchmark: Any, throughput: Any, case: str, nvx: bool, loop: asyncio.AbstractEventLoop
) -> None:
    pytest.importorskip("autobahn")
    from autobahn.websocket import HAS_NVX

    if nvx and not HAS_NVX:
        pytest.skip("autobahn was built without NVX")
    name = "with NVX" if nvx else "pure Python"

    def bench() -> None:
        proto = im.autobahn_client()
        transport = proto.transport

        def send(payload: bytes) -> int:
            before = transport.nbytes
            proto.sendMessage(payload, True)
            return transport.nbytes - before  # type: ignore[no-any-return]

        run_encode(
            benchmark,
            throughput,
            case,
            f"autobahn sendMessage → write, {name}",
            send,
            lambda n: n,
        )

    if nvx:
        bench()
    else:
        with im.autobahn_without_nvx():
            bench()


# -- masking and UTF-8 ---------------------------------------------------------------

G_MASK = "mask: 1 MiB (a new buffer, or in place on a copy)"


def test_mask_copy(benchmark: Any, throughput: Any) -> None:
    benchmark.group = G_MASK
    benchmark(bytes, memoryview(PAYLOAD_1M))
    throughput(benchmark, "memory copy", MIB, baseline=True)


def test_mask_ferrobahn(benchmark: Any, throughput: Any) -> None:
    benchmark.group = G_MASK
    out = benchmark(_core.apply_mask, PAYLOAD_1M, KEY)
    assert _core.apply_mask(out, KEY) == PAYLOAD_1M
    throughput(benchmark, "ferrobahn _core.apply_mask", MIB, ref=True)


def test_mask_websockets(benchmark: Any, throughput: Any) -> None:
    pytest.importorskip("websockets")
    from websockets.speedups import apply_mask

    benchmark.group = G_MASK
    out = benchmark(apply_mask, PAYLOAD_1M, KEY)
    assert out == _core.apply_mask(PAYLOAD_1M, KEY)
    throughput(benchmark, "websockets speedups.apply_mask", MIB)


def test_mask_aiohttp(benchmark: Any, throughput: Any) -> None:
    pytest.importorskip("aiohttp")
    from aiohttp._websocket.helpers import websocket_mask

    def mask(data: bytes) -> bytearray:
        buf = bytearray(data)  # aiohttp masks in place, on a copy of the payload
        websocket_mask(KEY, buf)
        return buf

    benchmark.group = G_MASK
    out = benchmark(mask, PAYLOAD_1M)
    assert bytes(out) == _core.apply_mask(PAYLOAD_1M, KEY)
    throughput(benchmark, "aiohttp bytearray + websocket_mask", MIB)


@pytest.mark.parametrize("nvx", [True, False], ids=["nvx", "pure"])
def test_mask_autobahn(benchmark: Any, throughput: Any, nvx: bool) -> None:
    pytest.importorskip("autobahn")
    from autobahn.websocket import HAS_NVX

    if nvx:
        if not HAS_NVX:
            pytest.skip("autobahn was built without NVX")
        from autobahn.nvx._xormasker import create_xor_masker
    else:
        create_xor_masker = im.pure_autobahn()[0]
    benchmark.group = G_MASK
    out = benchmark(lambda d: create_xor_masker(KEY, len(d)).process(d), PAYLOAD_1M)
    assert bytes(out) == _core.apply_mask(PAYLOAD_1M, KEY)
    throughput(benchmark, f"autobahn xormasker, {'NVX' if nvx else 'pure Python'}", MIB)


G_UTF8 = {
    "mixed": ("UTF-8 validation: 1 MiB, mixed scripts", TEXT_1M),
    "ascii": ("UTF-8 validation: 1 MiB, ASCII", ASCII_1M),
}


@pytest.mark.parametrize("text", list(G_UTF8))
def test_utf8_copy(benchmark: Any, throughput: Any, text: str) -> None:
    benchmark.group, data = G_UTF8[text]
    benchmark(bytes, memoryview(data))
    throughput(benchmark, "memory copy", MIB, baseline=True)


@pytest.mark.parametrize("text", list(G_UTF8))
def test_utf8_ferrobahn(benchmark: Any, throughput: Any, text: str) -> None:
    benchmark.group, data = G_UTF8[text]
    assert benchmark(_core.validate_utf8, data)
    throughput(benchmark, "ferrobahn _core.validate_utf8", MIB, ref=True)


@pytest.mark.parametrize("text", list(G_UTF8))
def test_utf8_ferrobahn_incremental(benchmark: Any, throughput: Any, text: str) -> None:
    benchmark.group, data = G_UTF8[text]
    validator = _core.Utf8Validator()

    def validate(d: bytes) -> tuple[bool, bool]:
        validator.reset()
        return validator.feed(d)

    assert benchmark(validate, data) == (True, True)
    throughput(benchmark, "ferrobahn _core.Utf8Validator.feed", MIB)


@pytest.mark.parametrize("text", list(G_UTF8))
def test_utf8_decode(benchmark: Any, throughput: Any, text: str) -> None:
    benchmark.group, data = G_UTF8[text]
    benchmark(bytes.decode, data, "utf-8")
    throughput(benchmark, "bytes.decode('utf-8') (websockets, aiohttp)", MIB)


@pytest.mark.parametrize("text", list(G_UTF8))
@pytest.mark.parametrize("nvx", [True, False], ids=["nvx", "pure"])
def test_utf8_autobahn(benchmark: Any, throughput: Any, text: str, nvx: bool) -> None:
    pytest.importorskip("autobahn")
    from autobahn.websocket import HAS_NVX

    if nvx:
        if not HAS_NVX:
            pytest.skip("autobahn was built without NVX")
        from autobahn.nvx._utf8validator import Utf8Validator
    else:
        Utf8Validator = im.pure_autobahn()[1]
    benchmark.group, data = G_UTF8[text]
    validator = Utf8Validator()

    def validate(d: bytes) -> Any:
        validator.reset()
        return validator.validate(d)

    assert benchmark(validate, data)[0]
    throughput(benchmark, f"autobahn Utf8Validator, {'NVX' if nvx else 'pure Python'}", MIB)
