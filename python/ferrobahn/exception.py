"""Exceptions that ferrobahn raises to user code (``autobahn.exception``'s names).

``Disconnected`` and ``PayloadExceededError`` are the two that AutobahnPython
programs catch around ``sendMessage``. ``InvalidTypeError`` and
``InvalidValueError`` are ferrobahn's own: where AutobahnPython checks an
argument with ``assert`` (which ``python -O`` strips), ferrobahn raises one of
these instead. They subclass ``AssertionError`` as well, so code written to
catch AutobahnPython's assertion failures still catches them.
"""

from __future__ import annotations

__all__ = (
    "Disconnected",
    "InvalidTypeError",
    "InvalidValueError",
    "PayloadExceededError",
)


class PayloadExceededError(RuntimeError):
    """A message to send is larger than the connection's message size limit.

    Raised by ``sendMessage`` when the payload, after compression, exceeds
    ``maxMessagePayloadSize``; nothing is sent.
    """


class Disconnected(RuntimeError):
    """An operation needs an open connection, and the connection is not open.

    Raised by ``sendMessage`` in any state other than OPEN (still connecting,
    closing or closed).
    """


class InvalidTypeError(TypeError, AssertionError):
    """An argument has the wrong type (where AutobahnPython would fail an ``assert``)."""


class InvalidValueError(ValueError, AssertionError):
    """An argument has a value out of range (where AutobahnPython would fail an ``assert``)."""
