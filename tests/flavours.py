"""Both flavours, asyncio and Twisted, behind one small interface, so that a
scenario is written once and runs on each (and across them).

A test stays an asyncio program (``conftest.run``): asyncio protocols run in
its loop; Twisted protocols run in a reactor in a background thread, started
once and shared by the tests. Whatever a test does to a protocol goes through
``flavour.call``, which runs it in the protocol's own thread. Callbacks are
recorded (``conftest.RecordingProtocol``) into a thread-safe ``Events`` queue
that ``conftest.next_event`` awaits. Everything a flavour started is stopped
and every connection it made is aborted when the test ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from conftest import DEADLINE, RecordingProtocol, run

FLAVOURS = ["asyncio", "twisted"]

#: (server flavour, client flavour): each against itself and the other.
PAIRS = [(server, client) for server in FLAVOURS for client in FLAVOURS]
PAIR_IDS = [f"{server}-server-{client}-client" for server, client in PAIRS]


class Events:
    """A queue that any thread may put into and an asyncio test awaits
    (the parts of ``asyncio.Queue`` the recording helpers use)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def put_nowait(self, item: Any) -> None:
        self._queue.put(item)

    def get_nowait(self) -> Any:
        return self._queue.get_nowait()

    def empty(self) -> bool:
        return self._queue.empty()

    async def get(self) -> Any:
        while True:
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.002)


class Tracked:
    """Mixin: the factory remembers every connection, for the clean-up."""

    factory: Any

    def _connectionMade(self) -> None:
        self.factory.connections.append(self)
        super()._connectionMade()  # type: ignore[misc]


class Echo(RecordingProtocol):
    """Echoes messages; ``close:CODE:REASON`` starts the closing handshake,
    ``ping:DATA`` sends a ping, ``raise`` raises in ``onMessage``."""

    def onConnect(self, request: Any) -> Any:
        return self.factory.on_connect(request)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        super().onMessage(payload, isBinary)
        proto: Any = self
        if isBinary:
            proto.sendMessage(payload, isBinary)
        elif payload.startswith(b"close:"):
            _, code, reason = payload.decode().split(":", 2)
            proto.sendClose(int(code), reason)
        elif payload.startswith(b"ping:"):
            proto.sendPing(payload[5:])
        elif payload == b"raise":
            raise RuntimeError("user code failed")
        else:
            proto.sendMessage(payload, isBinary)


class Flavour:
    """Servers, clients and calls of one framework (subclasses)."""

    name: str
    #: ``ferrobahn.asyncio.websocket`` or ``ferrobahn.twisted.websocket``
    module: Any

    def __init__(self) -> None:
        self._factories: list[Any] = []
        self._closers: list[Callable[[], Any]] = []

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in this flavour's thread; its result, awaited."""
        raise NotImplementedError

    def sleep(self, seconds: float, value: Any = None) -> Awaitable[Any]:
        """This framework's awaitable that gives ``value`` after ``seconds``."""
        raise NotImplementedError

    async def listen(self, factory: Any) -> int:
        raise NotImplementedError

    async def connect(self, factory: Any, port: int) -> None:
        raise NotImplementedError

    def _factory_kwargs(self) -> dict[str, Any]:
        return {}

    def _track(self, factory: Any, protocol: type, options: dict[str, Any]) -> Any:
        factory.protocol = protocol
        factory.queue = Events()
        factory.connections = []
        if options:
            factory.setProtocolOptions(**options)
        self._factories.append(factory)
        return factory

    def server_class(self, *mixins: type) -> type:
        return _protocol_class(self.module.WebSocketServerProtocol, mixins)

    def client_class(self, *mixins: type) -> type:
        return _protocol_class(self.module.WebSocketClientProtocol, mixins)

    def server_factory(
        self,
        protocol: type | None = None,
        on_connect: Callable[[Any], Any] = lambda request: None,
        **options: Any,
    ) -> Any:
        """A server factory (``Echo`` protocols unless ``protocol``)."""
        factory = self.module.WebSocketServerFactory(**self._factory_kwargs())
        factory.on_connect = on_connect
        return self._track(factory, protocol or self.server_class(Echo), options)

    def client_factory(
        self,
        port: int,
        protocol: type | None = None,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A client factory for the server on ``port`` (recording protocols
        unless ``protocol``); ``kwargs`` go to the factory."""
        factory = self.module.WebSocketClientFactory(
            f"ws://127.0.0.1:{port}", **kwargs, **self._factory_kwargs()
        )
        return self._track(factory, protocol or self.client_class(RecordingProtocol), options or {})

    async def open_client(self, port: int, **kwargs: Any) -> tuple[Any, Any]:
        """Connect a client and wait for ``onOpen``: (factory, protocol)."""
        from conftest import next_event

        factory = self.client_factory(port, **kwargs)
        await self.connect(factory, port)
        await next_event(factory, "open")
        return factory, factory.instance

    async def aclose(self) -> None:
        for factory in self._factories:
            for proto in factory.connections:
                await self.call(_abort, proto)
        for close in self._closers:
            await self.call(close)


def _abort(proto: Any) -> None:
    if not getattr(proto, "_lost", False):  # still connected
        proto._closeConnection(True)


@functools.cache
def _protocol_class(base: type, mixins: tuple[type, ...]) -> type:
    names = "".join(mixin.__name__ for mixin in mixins)
    return type(f"{names}{base.__name__}", (Tracked, *mixins, base), {})


class AsyncioFlavour(Flavour):
    name = "asyncio"

    def __init__(self) -> None:
        super().__init__()
        import ferrobahn.asyncio.websocket

        self.module = ferrobahn.asyncio.websocket

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        result = fn(*args)
        if isinstance(result, Awaitable):
            result = await result
        return result

    def sleep(self, seconds: float, value: Any = None) -> Awaitable[Any]:
        return asyncio.sleep(seconds, value)

    async def listen(self, factory: Any) -> int:
        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        self._closers.append(server.close)
        return int(server.sockets[0].getsockname()[1])

    async def connect(self, factory: Any, port: int) -> None:
        await asyncio.get_running_loop().create_connection(factory, "127.0.0.1", port)


_reactor_thread: threading.Thread | None = None


def twisted_reactor() -> Any:
    """The global reactor, running in a background thread (started once)."""
    global _reactor_thread
    from twisted.internet import reactor

    if _reactor_thread is None:
        _reactor_thread = threading.Thread(
            target=reactor.run,
            kwargs={"installSignalHandlers": False},
            name="twisted-reactor",
            daemon=True,
        )
        _reactor_thread.start()
    return reactor


async def in_reactor(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn`` in the reactor thread; its result, a Deferred's awaited."""
    from twisted.internet.defer import maybeDeferred

    reactor = twisted_reactor()
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def start() -> None:
        deferred = maybeDeferred(fn, *args, **kwargs)
        deferred.addCallbacks(done.set_result, lambda failure: done.set_exception(failure.value))

    reactor.callFromThread(start)
    return await asyncio.wait_for(asyncio.wrap_future(done), DEADLINE)


class TwistedFlavour(Flavour):
    name = "twisted"

    def __init__(self) -> None:
        super().__init__()
        import ferrobahn.twisted.websocket

        self.module = ferrobahn.twisted.websocket
        self.reactor = twisted_reactor()

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await in_reactor(fn, *args)

    def sleep(self, seconds: float, value: Any = None) -> Awaitable[Any]:
        from twisted.internet.task import deferLater

        return deferLater(self.reactor, seconds, lambda: value)

    def _factory_kwargs(self) -> dict[str, Any]:
        return {"reactor": self.reactor}

    async def listen(self, factory: Any) -> int:
        port = await self.call(self.reactor.listenTCP, 0, factory, 50, "127.0.0.1")
        self._closers.append(port.stopListening)
        return int(port.getHost().port)

    async def connect(self, factory: Any, port: int) -> None:
        await self.call(self.module.connectWS, factory)


def flavour(name: str) -> Flavour:
    return AsyncioFlavour() if name == "asyncio" else TwistedFlavour()


@contextlib.asynccontextmanager
async def flavours(*names: str) -> AsyncIterator[list[Flavour]]:
    """One ``Flavour`` per name (a name given twice gives one object), closed at the end."""
    made = {name: flavour(name) for name in dict.fromkeys(names)}
    try:
        yield [made[name] for name in names]
    finally:
        for each in made.values():
            await each.aclose()


def run_on(main: Callable[..., Awaitable[None]], *names: str) -> None:
    """``run(main(flavour, ...))`` with the named flavours, cleaned up after."""

    async def bounded() -> None:
        async with flavours(*names) as made:
            await main(*made)

    run(bounded())
