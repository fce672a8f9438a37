"""The framework-independent WebSocket layer (``autobahn.websocket``'s names).

Re-exports the handshake and message value types and ``IWebSocketChannel``. The protocol
classes live in ``ferrobahn.websocket.protocol``; user code subclasses the asyncio or
Twisted flavours in ``ferrobahn.asyncio.websocket`` / ``ferrobahn.twisted.websocket``.
"""

from __future__ import annotations

from ferrobahn.websocket.interfaces import IWebSocketChannel
from ferrobahn.websocket.types import (
    ConnectingRequest,
    ConnectionAccept,
    ConnectionDeny,
    ConnectionRequest,
    ConnectionResponse,
    IncomingMessage,
    Message,
    OutgoingMessage,
)

HAS_NVX = False
"""AutobahnPython's flag for its optional C accelerators; ferrobahn has none (its core is Rust)."""

USES_NVX = False
"""See ``HAS_NVX``: always False."""

__all__ = (
    "HAS_NVX",
    "USES_NVX",
    "ConnectingRequest",
    "ConnectionAccept",
    "ConnectionDeny",
    "ConnectionRequest",
    "ConnectionResponse",
    "IWebSocketChannel",
    "IncomingMessage",
    "Message",
    "OutgoingMessage",
)
