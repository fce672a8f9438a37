"""ferrobahn.util: ids, time, Stopwatch, encode_truncate and the txaio-style logger."""

from __future__ import annotations

import logging
import re
import string
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any

import pytest

import ferrobahn.util as util
from ferrobahn.exception import InvalidTypeError, InvalidValueError
from ferrobahn.util import (
    TRACE,
    Logger,
    Stopwatch,
    encode_truncate,
    make_logger,
    newid,
    utcnow,
    utcstr,
)

URLSAFE = set(string.ascii_letters + string.digits + "-_")

# --- newid ------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 5, 15, 16, 17, 64, 1000])
def test_newid_length_and_alphabet(length: int) -> None:
    value = newid(length)
    assert isinstance(value, str)
    assert len(value) == length
    assert set(value) <= URLSAFE


def test_newid_default_and_randomness() -> None:
    ids = {newid() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 for i in ids)
    # every character position is random: 4000 draws from 64 symbols show most symbols
    assert len(set("".join(newid(4) for _ in range(1000)))) > 50


def test_newid_rejects() -> None:
    with pytest.raises(InvalidTypeError):
        newid("16")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        newid(-1)


# --- utcnow / utcstr -------------------------------------------------------------------

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def test_utcnow_format_and_value() -> None:
    before = datetime.now(timezone.utc)
    text = utcnow()
    after = datetime.now(timezone.utc)
    assert ISO.fullmatch(text), text
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert before - timedelta(milliseconds=1) <= parsed <= after


def test_utcstr() -> None:
    assert utcstr(datetime(2026, 11, 25, 15, 20, 29, 123456)) == "2026-11-25T15:20:29.123Z"
    assert utcstr(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"
    cet = timezone(timedelta(hours=1))
    aware = datetime(2026, 11, 25, 16, 20, 29, 999999, tzinfo=cet)
    assert utcstr(aware) == "2026-11-25T15:20:29.999Z"
    assert ISO.fullmatch(utcstr())
    with pytest.raises(InvalidTypeError):
        utcstr("2026-01-01")  # type: ignore[arg-type]


# --- Stopwatch ----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    fake = FakeClock()
    monkeypatch.setattr(util, "rtime", fake)
    yield fake


def test_stopwatch_running(clock: FakeClock) -> None:
    sw = Stopwatch()
    clock.now += 2.5
    assert sw.elapsed() == pytest.approx(2.5)
    clock.now += 1.0
    assert sw.elapsed() == pytest.approx(3.5)


def test_stopwatch_pause_resume(clock: FakeClock) -> None:
    sw = Stopwatch()
    clock.now += 2.0
    assert sw.pause() == pytest.approx(2.0)
    clock.now += 100.0  # paused time does not count
    assert sw.elapsed() == pytest.approx(2.0)
    assert sw.pause() == pytest.approx(2.0)  # pausing twice is harmless
    assert sw.resume() == pytest.approx(2.0)
    clock.now += 3.0
    assert sw.resume() == pytest.approx(5.0)  # resume while running reports the total
    assert sw.elapsed() == pytest.approx(5.0)


def test_stopwatch_not_started(clock: FakeClock) -> None:
    sw = Stopwatch(start=False)
    clock.now += 10.0
    assert sw.elapsed() == 0.0
    assert sw.pause() == 0.0
    sw.resume()
    clock.now += 1.5
    assert sw.elapsed() == pytest.approx(1.5)


def test_stopwatch_stop_resets(clock: FakeClock) -> None:
    sw = Stopwatch()
    clock.now += 4.0
    assert sw.stop() == pytest.approx(4.0)
    clock.now += 4.0
    assert sw.elapsed() == 0.0
    assert sw.stop() == 0.0
    sw.resume()
    clock.now += 1.0
    assert sw.elapsed() == pytest.approx(1.0)


def test_stopwatch_start_restarts(clock: FakeClock) -> None:
    sw = Stopwatch()
    clock.now += 7.0
    assert sw.start() == 0.0
    clock.now += 0.5
    assert sw.elapsed() == pytest.approx(0.5)
    sw.pause()
    sw.start()  # also from paused
    clock.now += 0.25
    assert sw.elapsed() == pytest.approx(0.25)


def test_stopwatch_real_clock() -> None:
    sw = Stopwatch()
    time.sleep(0.01)
    first = sw.elapsed()
    assert 0.005 < first < 10.0  # generous: only the order of magnitude matters
    paused = sw.pause()
    time.sleep(0.01)
    assert sw.elapsed() == paused


# --- encode_truncate ----------------------------------------------------------------------


def test_encode_truncate_fits() -> None:
    assert encode_truncate("hello", 10) == b"hello"
    assert encode_truncate("hello", 5) == b"hello"
    assert encode_truncate("hello", 5, return_encoded=False) == "hello"
    assert encode_truncate(None, 5) is None
    assert encode_truncate("", 0) == b""


def test_encode_truncate_ascii() -> None:
    assert encode_truncate("hello", 3) == b"hel"
    assert encode_truncate("hello", 3, return_encoded=False) == "hel"
    assert encode_truncate("hello", 0) == b""


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_encode_truncate_code_point_boundary(char: str) -> None:
    width = len(char.encode("utf8"))
    text = "a" + char * 3
    for limit in range(0, 1 + 3 * width + 1):
        out = encode_truncate(text, limit)
        assert isinstance(out, bytes)
        assert len(out) <= limit
        decoded = out.decode("utf8")  # never a partial character
        assert text.startswith(decoded)
        # maximal: the next whole character would not have fitted
        if decoded != text:
            assert len(text[: len(decoded) + 1].encode("utf8")) > limit
        assert encode_truncate(text, limit, return_encoded=False) == decoded


def test_encode_truncate_close_reason_limit() -> None:
    reason = "ü" * 100  # 200 bytes
    out = encode_truncate(reason, 123)
    assert out == ("ü" * 61).encode("utf8")


def test_encode_truncate_other_encodings() -> None:
    assert encode_truncate("héllo", 2, encoding="latin-1") == b"h\xe9"
    assert encode_truncate("ab€", 4, encoding="utf-16-le") == "ab".encode("utf-16-le")
    assert encode_truncate("ab€", 5, encoding="utf-16-le", return_encoded=False) == "ab"
    assert encode_truncate("a€b", 3, encoding="UTF-8") == b"a"


def test_encode_truncate_checks() -> None:
    with pytest.raises(InvalidTypeError):
        encode_truncate(b"x", 1)  # type: ignore[call-overload]
    with pytest.raises(InvalidTypeError):
        encode_truncate("x", 1.0)  # type: ignore[call-overload]
    with pytest.raises(InvalidValueError):
        encode_truncate("x", -1)


# --- logger ---------------------------------------------------------------------------------


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Logger:
    caplog.set_level(TRACE, logger="ferrobahn.test")
    return make_logger("ferrobahn.test")


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records]


def test_make_logger_names() -> None:
    assert make_logger().logger is logging.getLogger("ferrobahn")
    assert make_logger().namespace == "ferrobahn"
    assert make_logger("x.y").logger is logging.getLogger("x.y")


def test_levels_and_formatting(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    log.trace("t {n}", n=0)
    log.debug("case {n}", n=3)
    log.info("{a} and {b!r}", a="x", b="y")
    log.warn("warn {x[k]}", x={"k": 1})
    log.warning("warning {o.real}", o=5)
    log.error("error {0}", "positional")
    log.critical("{log_level} in {log_namespace}")
    assert messages(caplog) == [
        (TRACE, "t 0"),
        (logging.DEBUG, "case 3"),
        (logging.INFO, "x and 'y'"),
        (logging.WARNING, "warn 1"),
        (logging.WARNING, "warning 5"),
        (logging.ERROR, "error positional"),
        (logging.CRITICAL, "critical in ferrobahn.test"),
    ]


def test_emit_by_name(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    log.emit("info", "hello {who}", who="you")
    log.emit("warn", "w")
    assert messages(caplog) == [(logging.INFO, "hello you"), (logging.WARNING, "w")]
    with pytest.raises(ValueError):
        log.emit("loud", "x")


def test_record_points_at_caller(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    log.info("where")
    (record,) = caplog.records
    assert record.funcName == "test_record_points_at_caller"
    assert record.pathname == __file__


def test_percent_signs_are_not_interpolated(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    log.info("100% {x}", x="%s")
    assert messages(caplog) == [(logging.INFO, "100% %s")]


@pytest.mark.parametrize(
    ("fmt", "args", "kwargs", "expect"),
    [
        ("unknown {field}", (), {"other": 1}, ["unknown {field}", "other=1"]),
        ("unbalanced {", (), {"n": 2}, ["unbalanced {", "n=2"]),
        ("unbalanced }", (), {}, ["unbalanced }"]),
        ("bad spec {n:zz}", (), {"n": 3}, ["bad spec {n:zz}", "n=3"]),
        ("index {0}", (), {}, ["index {0}"]),
        ("attr {n.nope}", (), {"n": 1}, ["attr {n.nope}", "n=1"]),
        ("literal {} braces", (), {}, ["literal {} braces"]),
        ("extra positional {0} {1}", ("a",), {}, ["extra positional {0} {1}", "'a'"]),
    ],
)
def test_bad_format_strings_do_not_raise(
    log: Logger,
    caplog: pytest.LogCaptureFixture,
    fmt: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    expect: list[str],
) -> None:
    log.info(fmt, *args, **kwargs)
    ((level, text),) = messages(caplog)
    assert level == logging.INFO
    for piece in expect:
        assert piece in text


def test_broken_str_and_repr_do_not_raise(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    class Evil:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        def __format__(self, spec: str) -> str:
            raise RuntimeError("no format")

    log.info("value {v}", v=Evil())
    ((_, text),) = messages(caplog)
    assert text.startswith("value {v}") and "unrepresentable Evil" in text


def test_non_str_format_is_tolerated(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    log.info(b"bytes {x}", x=1)  # type: ignore[arg-type]
    log.info(42)  # type: ignore[arg-type]
    assert [t for _, t in messages(caplog)] == ["b'bytes 1'", "42"]


def test_disabled_levels_skip_formatting(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ferrobahn.quiet")
    log = make_logger("ferrobahn.quiet")

    class Explodes:
        def __format__(self, spec: str) -> str:
            raise AssertionError("formatted although the level is disabled")

        def __repr__(self) -> str:
            raise AssertionError("repr'd although the level is disabled")

    log.trace("{x}", x=Explodes())
    log.debug("{x}", x=Explodes())
    log.info("{x}", x=Explodes())
    assert caplog.records == []
    assert not log.is_enabled("debug")
    assert log.is_enabled("warn")
    assert log.is_enabled(logging.ERROR)


def test_disabled_debug_is_cheap() -> None:
    log = make_logger("ferrobahn.bench.disabled")
    log.logger.setLevel(logging.WARNING)
    n = 20000
    start = time.perf_counter()
    for i in range(n):
        log.debug("frame {i} {payload}", i=i, payload=b"x")
    per_call = (time.perf_counter() - start) / n
    assert per_call < 20e-6  # generous bound (~0.2 µs expected); catches formatting work


def test_failure_logs_active_exception(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        log.failure("Unhandled: {log_failure}")
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Unhandled: ValueError: boom"
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert "Traceback" in caplog.text and "raise ValueError" in caplog.text


def test_failure_default_message_and_value_field(
    log: Logger, caplog: pytest.LogCaptureFixture
) -> None:
    empty: dict[str, int] = {}
    try:
        empty["missing"]  # noqa: B018
    except KeyError:
        log.failure()
        log.failure("value was {log_failure.value!r}, {log_failure.type.__name__}")
    assert [t for _, t in messages(caplog)] == [
        "KeyError: 'missing'",
        "value was KeyError('missing'), KeyError",
    ]


def test_failure_with_explicit_exception(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    def fail() -> None:
        raise OSError("disk")

    try:
        fail()
    except OSError as e:
        saved = e
    # outside the except block: the traceback comes from the exception object
    log.failure("saved {log_failure}", saved)
    log.failure("kw {log_failure}", log_failure=saved)
    texts = [t for _, t in messages(caplog)]
    assert texts == ["saved OSError: disk", "kw OSError: disk"]
    for record in caplog.records:
        assert record.exc_info is not None and record.exc_info[1] is saved
    assert "in fail" in caplog.text  # the traceback reaches into fail()


def test_failure_accepts_txaio_style_failure(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    class FailedFuture:  # what txaio.create_failure() returns on asyncio
        def __init__(self) -> None:
            self._value: BaseException | None = sys.exc_info()[1]
            self._traceback: TracebackType | None = sys.exc_info()[2]

        @property
        def value(self) -> BaseException | None:
            return self._value

    try:
        raise RuntimeError("via txaio")
    except RuntimeError:
        fail = FailedFuture()
    log.failure("handler failed: {log_failure}", failure=fail)
    (record,) = caplog.records
    assert record.getMessage() == "handler failed: RuntimeError: via txaio"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


def test_failure_without_exception(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    log.failure("nothing: {log_failure}")
    (record,) = caplog.records
    assert record.getMessage() == "nothing: None"
    assert not record.exc_info


def test_error_with_exc_info(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise KeyError("k")
    except KeyError as e:
        log.error("with current: {n}", n=1, exc_info=True)
        err = e
    log.error("with object: {e!r}", e=err, exc_info=err)
    log.error("without")
    first, second, third = caplog.records
    assert first.getMessage() == "with current: 1"
    assert first.exc_info is not None and first.exc_info[0] is KeyError
    assert second.getMessage() == "with object: KeyError('k')"
    assert second.exc_info is not None and second.exc_info[1] is err
    assert not third.exc_info


def test_log_failure_kwarg_on_other_levels(log: Logger, caplog: pytest.LogCaptureFixture) -> None:
    exc = ConnectionResetError("peer gone")
    log.warn("dropped: {log_failure}", log_failure=exc)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "dropped: ConnectionResetError: peer gone"
    assert record.exc_info is not None and record.exc_info[1] is exc


def test_failure_respects_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="ferrobahn.crit")
    log = make_logger("ferrobahn.crit")
    try:
        raise ValueError("x")
    except ValueError:
        log.failure("{log_failure}")
    assert caplog.records == []
