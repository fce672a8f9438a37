"""Helpers that AutobahnPython programs import from ``autobahn.util``, plus ferrobahn's logger.

- ``newid``, ``utcnow``, ``utcstr``, ``rtime``, ``Stopwatch``, ``encode_truncate``,
  ``wildcards2patterns``: same names and behaviour as in ``autobahn.util``.
- ``make_logger`` / ``Logger``: a stand-in for ``txaio.make_logger()``. The protocol
  layer logs with txaio-style calls (``self.log.info("case {n}", n=3)``); this adapter
  formats them with ``str.format`` and hands the text to the standard ``logging``
  module, so applications configure ferrobahn's output like any other library's.
"""

from __future__ import annotations

import base64
import codecs
import logging
import re
import secrets
import sys
import time
import types
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Literal, Optional, overload

from ferrobahn.exception import InvalidTypeError, InvalidValueError

__all__ = (
    "TRACE",
    "Logger",
    "Stopwatch",
    "encode_truncate",
    "make_logger",
    "newid",
    "rtime",
    "utcnow",
    "utcstr",
    "wildcards2patterns",
)

# ---------------------------------------------------------------------------
# identifiers and time
# ---------------------------------------------------------------------------


def newid(length: int = 16) -> str:
    """Return a random string of ``length`` characters from the URL-safe base64 alphabet.

    The characters come from ``secrets`` (the OS CSPRNG), each uniformly drawn from
    ``A-Z a-z 0-9 - _`` (6 bits of entropy per character), so the result is fit for
    tokens and keys and can go into a URL or a file name unescaped.
    """
    if not isinstance(length, int) or isinstance(length, bool):
        raise InvalidTypeError(f"length must be an int, not {type(length).__name__}")
    if length < 0:
        raise InvalidValueError(f"length must be >= 0, not {length}")
    # ceil(length * 6 / 8) random bytes give at least 6 * length bits, so every one of
    # the first `length` base64 characters is fully determined by random bits.
    nbytes = (length * 6 + 7) // 8
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes))[:length].decode("ascii")


def utcstr(ts: datetime | None = None) -> str:
    """Format a timestamp as ISO 8601 UTC with milliseconds, e.g. ``2026-11-25T15:20:29.123Z``.

    ``ts`` defaults to now. A naive datetime is taken to be UTC already; an aware one is
    converted to UTC first.
    """
    if ts is None:
        ts = datetime.now(timezone.utc)
    elif not isinstance(ts, datetime):
        raise InvalidTypeError(f"ts must be a datetime or None, not {type(ts).__name__}")
    elif ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def utcnow() -> str:
    """Return the current UTC time as an ISO 8601 string (see :func:`utcstr`)."""
    return utcstr()


def rtime() -> float:
    """Return a high-resolution monotonic clock reading in seconds.

    Only differences between readings are meaningful. ``Stopwatch`` reads the time
    through this function.
    """
    return time.perf_counter()


class Stopwatch:
    """Accumulates the time during which it was running (pause/resume aware).

    Cheap to create. ``elapsed()``, ``pause()``, ``resume()`` and ``stop()`` each return
    the total running time in seconds, as in AutobahnPython; ``start()`` is a ferrobahn
    addition that discards the total and starts afresh.
    """

    __slots__ = ("_elapsed", "_running", "_started")

    def __init__(self, start: bool = True) -> None:
        """Create the stopwatch, running unless ``start`` is False."""
        self._elapsed = 0.0
        self._running = bool(start)
        self._started: float | None = rtime() if start else None

    def start(self) -> float:
        """Reset the total to zero and start running from now; return 0.0."""
        self._elapsed = 0.0
        self._started = rtime()
        self._running = True
        return 0.0

    def elapsed(self) -> float:
        """Return the total running time so far, without changing the state."""
        if self._running and self._started is not None:
            return self._elapsed + (rtime() - self._started)
        return self._elapsed

    def pause(self) -> float:
        """Stop accumulating time (if running) and return the total."""
        if self._running and self._started is not None:
            self._elapsed += rtime() - self._started
            self._running = False
        return self._elapsed

    def resume(self) -> float:
        """Continue accumulating time (if paused) and return the total."""
        if self._running:
            return self.elapsed()
        self._started = rtime()
        self._running = True
        return self._elapsed

    def stop(self) -> float:
        """Stop, return the total, and reset to zero (a later ``resume()`` starts over)."""
        total = self.pause()
        self._elapsed = 0.0
        self._started = None
        self._running = False
        return total


# ---------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------


@overload
def encode_truncate(
    text: None, limit: int, encoding: str = ..., return_encoded: bool = ...
) -> None: ...
@overload
def encode_truncate(
    text: str, limit: int, encoding: str = ..., return_encoded: Literal[True] = ...
) -> bytes: ...
@overload
def encode_truncate(
    text: str, limit: int, encoding: str, return_encoded: Literal[False]
) -> str: ...
@overload
def encode_truncate(text: str, limit: int, *, return_encoded: Literal[False]) -> str: ...
@overload
def encode_truncate(
    text: str | None, limit: int, encoding: str = ..., return_encoded: bool = ...
) -> bytes | str | None: ...


def encode_truncate(
    text: str | None, limit: int, encoding: str = "utf8", return_encoded: bool = True
) -> bytes | str | None:
    """Encode ``text`` and cut it to at most ``limit`` bytes without splitting a character.

    Used for close reasons (at most 123 UTF-8 bytes on the wire). Returns the encoded
    bytes, or the truncated ``str`` when ``return_encoded`` is False; ``None`` for ``None``.
    """
    if text is not None and not isinstance(text, str):
        raise InvalidTypeError(f"text must be a str or None, not {type(text).__name__}")
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise InvalidTypeError(f"limit must be an int, not {type(limit).__name__}")
    if limit < 0:
        raise InvalidValueError(f"limit must be >= 0, not {limit}")
    if text is None:
        return None

    data = text.encode(encoding)
    if len(data) <= limit:
        return data if return_encoded else text

    if codecs.lookup(encoding).name == "utf-8":
        # Back off over continuation bytes (0b10xxxxxx) to the start of the cut character.
        end = limit
        while end > 0 and (data[end] & 0xC0) == 0x80:
            end -= 1
        data = data[:end]
        return data if return_encoded else data.decode("utf-8")

    # Any other codec: drop the partial character that the cut leaves at the end.
    truncated = data[:limit].decode(encoding, "ignore")
    return truncated.encode(encoding) if return_encoded else truncated


# ---------------------------------------------------------------------------
# wildcard patterns (used for the server's Origin allow-list)
# ---------------------------------------------------------------------------


def wildcards2patterns(wildcards: Iterable[str]) -> list[re.Pattern[str]]:
    """Compile wildcard strings into anchored, case-insensitive regular expressions.

    ``*`` matches any run of characters (also an empty one); every other character
    matches only itself (it is regex-escaped). Each pattern must match the whole
    subject, so ``https://a.com`` does not match ``https://a.com.evil.org``.
    """
    patterns: list[re.Pattern[str]] = []
    for wildcard in wildcards:
        if not isinstance(wildcard, str):
            raise InvalidTypeError(f"wildcards must be str, not {type(wildcard).__name__}")
        body = ".*".join(re.escape(part) for part in wildcard.split("*"))
        patterns.append(re.compile(r"\A" + body + r"\Z", re.IGNORECASE))
    return patterns


# ---------------------------------------------------------------------------
# logging (txaio-style calls on top of the standard library)
# ---------------------------------------------------------------------------

TRACE = 5
"""Numeric level of ``Logger.trace`` (below ``logging.DEBUG``; txaio's "trace")."""

_ExcInfo = tuple[type[BaseException], BaseException, Optional[types.TracebackType]]

_DEFAULT_NAME = "ferrobahn"


class _LoggedFailure:
    """What a ``{log_failure}`` field renders: ``ExceptionType: message``.

    Also exposes ``value`` (the exception) and ``getErrorMessage()`` so that format
    strings written for txaio or Twisted failures (``{log_failure.value}``) work.
    """

    __slots__ = ("type", "value")

    def __init__(self, value: BaseException) -> None:
        self.type = type(value)
        self.value = value

    def getErrorMessage(self) -> str:
        """Return the exception's message (Twisted ``Failure`` compatibility)."""
        return str(self.value)

    def __str__(self) -> str:
        return f"{self.type.__name__}: {self.value}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _as_exc_info(obj: object) -> _ExcInfo | None:
    """Turn an exception, a txaio/Twisted failure or ``True`` into an ``exc_info`` tuple."""
    if obj is None or obj is False:
        return None
    if obj is True:
        etype, value, tb = sys.exc_info()
        if etype is None or value is None:
            return None
        return etype, value, tb
    if isinstance(obj, tuple) and len(obj) == 3 and isinstance(obj[1], BaseException):
        exc = obj[1]
        tb = obj[2] if isinstance(obj[2], types.TracebackType) else exc.__traceback__
        return type(exc), exc, tb
    if isinstance(obj, BaseException):
        return type(obj), obj, obj.__traceback__
    value = getattr(obj, "value", None)  # txaio IFailedFuture, Twisted Failure
    if isinstance(value, BaseException):
        tb = getattr(obj, "_traceback", None) or getattr(obj, "tb", None)
        if not isinstance(tb, types.TracebackType):
            tb = value.__traceback__
        return type(value), value, tb
    return None


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not break logging
        return f"<unrepresentable {type(value).__name__}>"


def _render(msg_format: object, args: tuple[Any, ...], fields: dict[str, Any]) -> str:
    """Format txaio-style; on any formatting error return the raw text plus the values."""
    try:
        return str(msg_format).format(*args, **fields)
    except Exception:
        parts = [str(msg_format)]
        parts.extend(_safe_repr(a) for a in args)
        parts.extend(f"{k}={_safe_repr(v)}" for k, v in fields.items() if not k.startswith("log_"))
        return " ".join(parts)


class Logger:
    """A txaio-compatible logger writing to a standard ``logging.Logger``.

    Calls look like txaio's: ``log.info("opened {peer}", peer=p)``. The message is
    ``msg_format.format(*args, **kwargs)``; a bad format string or an unknown field
    never raises, the raw text and the values are logged instead. Besides the caller's
    kwargs, the fields ``log_level``, ``log_namespace`` and (for ``failure``)
    ``log_failure`` are available. Nothing is formatted when the level is disabled, so
    a ``debug`` call on the hot path costs one ``isEnabledFor`` check.

    ``exc_info=`` (``True``, an exception or an ``exc_info`` tuple) or ``log_failure=``
    (an exception or a txaio/Twisted failure) on any call attaches that traceback.
    """

    __slots__ = ("_logger", "namespace")

    def __init__(self, name: str = _DEFAULT_NAME) -> None:
        """Wrap ``logging.getLogger(name)``."""
        self.namespace = name
        self._logger = logging.getLogger(name)

    @property
    def logger(self) -> logging.Logger:
        """The underlying standard-library logger."""
        return self._logger

    def is_enabled(self, level: int | str) -> bool:
        """Tell whether a message at ``level`` (a number or a txaio level name) would be logged."""
        if isinstance(level, str):
            level = _LEVELS[level]
        return self._logger.isEnabledFor(level)

    # The level methods are spelled out (no functools.partial) so that the disabled
    # case is a single attribute lookup, one method call and a return.

    def trace(self, msg_format: str, *args: Any, **kwargs: Any) -> None:
        """Log at TRACE (5), below debug: per-frame and per-byte detail."""
        if self._logger.isEnabledFor(TRACE):
            self._emit(TRACE, "trace", msg_format, args, kwargs)

    def debug(self, msg_format: str, *args: Any, **kwargs: Any) -> None:
        """Log at DEBUG."""
        if self._logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, "debug", msg_format, args, kwargs)

    def info(self, msg_format: str, *args: Any, **kwargs: Any) -> None:
        """Log at INFO."""
        if self._logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, "info", msg_format, args, kwargs)

    def warn(self, msg_format: str, *args: Any, **kwargs: Any) -> None:
        """Log at WARNING (txaio's spelling)."""
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, "warn", msg_format, args, kwargs)

    def warning(self, msg_format: str, *args: Any, **kwargs: Any) -> None:
        """Log at WARNING (the standard library's spelling)."""
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, "warn", msg_format, args, kwargs)

    def error(self, msg_format: str, *args: Any, **kwargs: Any) -> None:
        """Log at ERROR; pass ``exc_info=True`` to attach the active exception."""
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, "error", msg_format, args, kwargs)

    def critical(self, msg_format: str, *args: Any, **kwargs: Any) -> None:
        """Log at CRITICAL."""
        if self._logger.isEnabledFor(logging.CRITICAL):
            self._emit(logging.CRITICAL, "critical", msg_format, args, kwargs)

    def failure(self, msg_format: str | None = None, failure: object = None, **kwargs: Any) -> None:
        """Log an exception with its traceback at ERROR.

        ``failure`` (or ``log_failure=``) may be an exception or a txaio/Twisted failure;
        by default the exception being handled (``sys.exc_info()``) is used, as
        ``log.failure("Unhandled: {log_failure}")`` inside an ``except`` block does in
        txaio. The message defaults to ``"{log_failure}"``.
        """
        if not self._logger.isEnabledFor(logging.ERROR):
            return
        if failure is None:
            failure = kwargs.pop("log_failure", None)
        exc_info = _as_exc_info(True if failure is None else failure)
        kwargs["log_failure"] = _LoggedFailure(exc_info[1]) if exc_info else None
        kwargs["exc_info"] = exc_info
        self._emit(
            logging.ERROR,
            "failure",
            "{log_failure}" if msg_format is None else msg_format,
            (),
            kwargs,
        )

    def emit(self, level: str, msg_format: str, *args: Any, **kwargs: Any) -> None:
        """Log at a level given by its txaio name (``"debug"``, ``"warn"``, ``"failure"``...)."""
        if level == "failure":
            self.failure(msg_format, **kwargs)
            return
        if level not in _LEVELS:
            raise InvalidValueError(f"unknown log level {level!r}")
        number = _LEVELS[level]
        if self._logger.isEnabledFor(number):
            self._emit(number, level, msg_format, args, kwargs)

    def _emit(
        self,
        level: int,
        level_name: str,
        msg_format: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        exc_info: _ExcInfo | None = None
        if "exc_info" in kwargs:
            exc_info = _as_exc_info(kwargs.pop("exc_info"))
        fields: dict[str, Any] = {"log_level": level_name, "log_namespace": self.namespace}
        fields.update(kwargs)
        failure = fields.get("log_failure")
        if failure is not None and not isinstance(failure, _LoggedFailure):
            failure_info = _as_exc_info(failure)
            if failure_info is not None:
                fields["log_failure"] = _LoggedFailure(failure_info[1])
                if exc_info is None:
                    exc_info = failure_info
        # stacklevel=3: the record names the caller of info()/debug()/..., not this module.
        self._logger.log(level, _render(msg_format, args, fields), exc_info=exc_info, stacklevel=3)


_LEVELS: dict[str, int] = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "failure": logging.ERROR,
}


def make_logger(name: str | None = None) -> Logger:
    """Return a txaio-style :class:`Logger` on the stdlib logger ``name`` ("ferrobahn" if None)."""
    return Logger(_DEFAULT_NAME if name is None else name)
