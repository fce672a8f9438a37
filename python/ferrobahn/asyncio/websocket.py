"""AutobahnPython's asyncio classes on ferrobahn.

Transport glue only: the protocol lives in ``ferrobahn.websocket.protocol``.
Each ``data_received`` goes straight to the protocol (one Rust call for the
whole read), with no queue or extra loop hop in between.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from ferrobahn.websocket import protocol

__all__ = [
    "WebSocketAdapterProtocol",
    "WebSocketServerProtocol",
    "WebSocketClientProtocol",
    "WebSocketAdapterFactory",
    "WebSocketServerFactory",
    "WebSocketClientFactory",
]


def peer2str(peer: Any) -> str:
    """AutobahnPython's peer strings: ``tcp4:host:port``, ``tcp6:host:port``,
    ``unix:path``."""
    if isinstance(peer, tuple) and len(peer) == 2:
        return f"tcp4:{peer[0]}:{peer[1]}"
    if isinstance(peer, tuple) and len(peer) == 4:
        return f"tcp6:{peer[0]}:{peer[1]}"
    if isinstance(peer, str) and peer:
        return f"unix:{peer}"
    return "unknown"


class WebSocketAdapterProtocol(asyncio.Protocol):
    """asyncio ``Protocol`` glue shared by server and client protocols."""

    factory: Any
    transport: Any
    _loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._loop = self.factory.loop
        self.peer = peer2str(transport.get_extra_info("peername"))
        self._connectionMade()  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self._dataReceived(data)  # type: ignore[attr-defined]

    def connection_lost(self, exc: BaseException | None) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.stopProducing()
        self._connectionLost(exc)  # type: ignore[attr-defined]

    # Flow control for senders: Twisted's producer API on asyncio's write
    # buffer marks. A push producer is paused above the high-water mark and
    # resumed below the low-water mark; a pull producer is asked for the
    # next piece whenever the buffer is below the high-water mark.

    _producer: Any = None
    _producer_streaming = True
    _writing_paused = False

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self._producer is not None:
            raise RuntimeError("a producer is already registered")
        self._producer = producer
        self._producer_streaming = streaming
        if not streaming:
            self._loop.call_soon(self._pull)
        elif self._writing_paused:
            producer.pauseProducing()

    def unregisterProducer(self) -> None:
        self._producer = None

    def pause_writing(self) -> None:
        self._writing_paused = True
        if self._producer is not None and self._producer_streaming:
            self._producer.pauseProducing()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._producer is not None:
            if self._producer_streaming:
                self._producer.resumeProducing()
            else:
                self._pull()

    def _pull(self) -> None:
        producer = self._producer
        if producer is None or self._producer_streaming or self._writing_paused:
            return
        producer.resumeProducing()
        if self._producer is producer and not self._writing_paused:
            self._loop.call_soon(self._pull)

    def _closeConnection(self, abort: bool = False) -> None:
        if abort:
            self.transport.abort()
        else:
            self.transport.close()

    def _half_close(self) -> bool:
        if not self.transport.can_write_eof():
            return False
        self.transport.write_eof()
        return True

    def _write_parts(self, parts: tuple[bytes, ...]) -> None:
        self.transport.writelines(parts)

    def _call_later(self, delay: float, fn: Callable[[], None]) -> asyncio.TimerHandle:
        return self._loop.call_later(delay, fn)

    def _create_future(self) -> asyncio.Future[Any]:
        return self._loop.create_future()

    def _resolve_future(self, future: asyncio.Future[Any], value: Any) -> None:
        if not future.done():
            future.set_result(value)

    def _run_result(self, result: Any, what: str) -> None:
        if not inspect.isawaitable(result):
            return
        task = asyncio.ensure_future(result, loop=self._loop)

        def done(task: asyncio.Future[Any]) -> None:
            if not task.cancelled() and task.exception() is not None:
                self._callback_failed(what, task.exception())  # type: ignore[attr-defined]

        task.add_done_callback(done)

    def _when_ready(
        self,
        result: Any,
        on_value: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        if not inspect.isawaitable(result):
            on_value(result)
            return
        task = asyncio.ensure_future(result, loop=self._loop)

        def done(task: asyncio.Future[Any]) -> None:
            if task.cancelled():
                on_error(asyncio.CancelledError())
            elif task.exception() is not None:
                on_error(task.exception())  # type: ignore[arg-type]
            else:
                on_value(task.result())

        task.add_done_callback(done)


class WebSocketServerProtocol(WebSocketAdapterProtocol, protocol.WebSocketServerProtocol):
    """Base class for asyncio WebSocket server protocols."""

    # Straight to the protocol layer: no extra call per read.
    data_received = protocol.WebSocketServerProtocol._dataReceived


class WebSocketClientProtocol(WebSocketAdapterProtocol, protocol.WebSocketClientProtocol):
    """Base class for asyncio WebSocket client protocols."""

    data_received = protocol.WebSocketClientProtocol._dataReceived


class WebSocketAdapterFactory:
    """Makes the factory a protocol factory for ``loop.create_server`` and
    ``loop.create_connection``."""

    protocol: Any
    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop given to the factory, else the running loop, else the
        loop ``asyncio.get_event_loop()`` gives (AutobahnPython's examples
        reach for ``factory.loop`` before and while the loop runs)."""
        if self._loop is not None:
            return self._loop
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return asyncio.get_event_loop()

    @loop.setter
    def loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def __call__(self) -> Any:
        proto = self.protocol()
        proto.factory = self
        return proto


class WebSocketServerFactory(WebSocketAdapterFactory, protocol.WebSocketServerFactory):
    """asyncio server factory: ``loop.create_server(factory, host, port)``."""

    protocol = WebSocketServerProtocol

    def __init__(
        self, *args: Any, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any
    ) -> None:
        self.loop = loop
        protocol.WebSocketServerFactory.__init__(self, *args, **kwargs)


class WebSocketClientFactory(WebSocketAdapterFactory, protocol.WebSocketClientFactory):
    """asyncio client factory: ``loop.create_connection(factory, host, port)``."""

    protocol = WebSocketClientProtocol

    def __init__(
        self, *args: Any, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any
    ) -> None:
        self.loop = loop
        protocol.WebSocketClientFactory.__init__(self, *args, **kwargs)
