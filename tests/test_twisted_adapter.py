"""Twisted only: the wrapping factories (a line protocol over WebSocket),
Deferreds from callbacks, producers, TCP_NODELAY, the reactor chooser, and
that the asyncio flavour never imports Twisted."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from conftest import RawClient, frame, next_event
from flavours import Echo, Events, TwistedFlavour, run_on
from test_asyncio_bad_input import request
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver

from ferrobahn.twisted.websocket import (
    WrappingWebSocketClientFactory,
    WrappingWebSocketServerFactory,
)

# --------------------------------------------------------------------------
# A line protocol over WebSocket
# --------------------------------------------------------------------------


class Shout(LineReceiver):
    """Answers each line in upper case; ``bye`` closes the connection."""

    def lineReceived(self, line: bytes) -> None:
        if line == b"bye":
            self.transport.loseConnection()
        else:
            self.sendLine(line.upper())


class Talker(LineReceiver):
    """Sends the factory's lines, records what comes back and how it ends."""

    factory: Any

    def connectionMade(self) -> None:
        self.factory.events.put_nowait(("peer", self.transport.getPeer().port))
        for line in self.factory.lines:
            self.sendLine(line)

    def lineReceived(self, line: bytes) -> None:
        self.factory.events.put_nowait(("line", line))

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.events.put_nowait(("lost", type(reason.value).__name__))


async def listen_wrapped(tx: TwistedFlavour, **kwargs: Any) -> int:
    factory = WrappingWebSocketServerFactory(
        Factory.forProtocol(Shout), "ws://127.0.0.1", reactor=tx.reactor, **kwargs
    )
    return await tx.listen(factory)


def test_line_protocol_over_websocket() -> None:
    async def main(tx: TwistedFlavour) -> None:
        port = await listen_wrapped(tx, autoFragmentSize=4)
        talker = Factory.forProtocol(Talker)
        talker.events = Events()
        talker.lines = [b"hello", b"over websocket", b"bye"]
        client = WrappingWebSocketClientFactory(
            talker, f"ws://127.0.0.1:{port}", reactor=tx.reactor
        )
        await tx.call(tx.reactor.connectTCP, "127.0.0.1", port, client)
        assert await talker.events.get() == ("peer", port)
        assert await talker.events.get() == ("line", b"HELLO")
        assert await talker.events.get() == ("line", b"OVER WEBSOCKET")
        assert await talker.events.get() == ("lost", "ConnectionDone")

    run_on(main, "twisted")


def test_wrapped_base64_subprotocol_and_its_errors() -> None:
    async def main(tx: TwistedFlavour) -> None:
        port = await listen_wrapped(tx)
        raw = await RawClient.connect(port, handshake=False)
        status, headers = await raw.handshake(Sec_WebSocket_Protocol="base64")
        assert (status, headers["sec-websocket-protocol"]) == (101, "base64")
        raw.send(frame(1, base64.b64encode(b"quiet\r\n")))
        assert await raw.recv_frame() == (1, base64.b64encode(b"QUIET\r\n"))
        raw.send(frame(1, b"not base64!"))
        assert (await raw.recv_close())[0] == 1007
        # A binary message where base64 text was agreed: 1003.
        raw = await RawClient.connect(port, handshake=False)
        await raw.handshake(Sec_WebSocket_Protocol="base64")
        raw.send(frame(2, b"binary"))
        assert (await raw.recv_close())[0] == 1003
        # Neither binary nor base64 offered: refused.
        raw = await RawClient.connect(port, handshake=False)
        raw.send(request(Sec_WebSocket_Protocol="chat"))
        assert (await raw.read_head())[0] == 406

    run_on(main, "twisted")


# --------------------------------------------------------------------------
# Deferreds, producers, TCP_NODELAY
# --------------------------------------------------------------------------


def test_failed_deferred_from_on_message_closes_with_1011() -> None:
    class Failing(Echo):
        def onMessage(self, payload: bytes, isBinary: bool) -> Any:
            deferred: Deferred[None] = Deferred()
            self.factory.reactor.callLater(0.01, deferred.errback, ValueError("later"))
            return deferred

    async def main(tx: TwistedFlavour) -> None:
        port = await tx.listen(tx.server_factory(tx.server_class(Failing), failByDrop=False))
        raw = await RawClient.connect(port)
        raw.send(frame(1, b"hi"))
        assert (await raw.recv_close())[0] == 1011

    run_on(main, "twisted")


def test_producer_passes_through_and_is_unregistered_on_close() -> None:
    class Producer:
        def pauseProducing(self) -> None:
            pass

        def resumeProducing(self) -> None:
            pass

        def stopProducing(self) -> None:
            pass

    producer = Producer()

    class Producing(Echo):
        def onOpen(self) -> None:
            self.registerProducer(producer, True)
            super().onOpen()

    async def main(tx: TwistedFlavour) -> None:
        server_factory = tx.server_factory(tx.server_class(Producing))
        port = await tx.listen(server_factory)
        client_factory, client = await tx.open_client(port)
        server = server_factory.instance
        assert server.transport.producer is producer
        await tx.call(client.sendMessage, b"close:1000:done")
        assert await next_event(client_factory, "close") == (True, 1000, "done")
        assert (await next_event(server_factory, "close"))[0] is True
        assert server.transport.producer is None

    run_on(main, "twisted")


@pytest.mark.parametrize("no_delay", [True, False])
def test_tcp_no_delay_is_applied(no_delay: bool) -> None:
    async def main(tx: TwistedFlavour) -> None:
        server_factory = tx.server_factory(tcpNoDelay=no_delay)
        port = await tx.listen(server_factory)
        await tx.open_client(port)
        await next_event(server_factory, "open")
        assert bool(server_factory.instance.transport.getTcpNoDelay()) is no_delay

    run_on(main, "twisted")


# --------------------------------------------------------------------------
# In fresh interpreters
# --------------------------------------------------------------------------


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_asyncio_flavour_never_imports_twisted() -> None:
    run_python(
        """
        import sys
        import ferrobahn.asyncio
        import ferrobahn.asyncio.websocket
        import ferrobahn.websocket.protocol
        import ferrobahn.websocket.types
        import ferrobahn.util
        loaded = [m for m in sys.modules if m.split(".")[0] in ("twisted", "zope")]
        assert not loaded, loaded
        import ferrobahn.twisted
        import ferrobahn.twisted.resource
        import ferrobahn.twisted.websocket
        assert "twisted.internet.reactor" not in sys.modules  # none installed
        assert ferrobahn.twisted.__ident__.startswith("ferrobahn/")
        """
    )


def test_install_reactor() -> None:
    out = run_python(
        """
        import sys
        from twisted.internet.error import ReactorAlreadyInstalledError
        from ferrobahn.twisted.choosereactor import (
            current_reactor_klass, install_optimal_reactor, install_reactor)
        assert current_reactor_klass() is None
        reactor = install_reactor("asyncio", verbose=True)
        print(type(reactor).__name__)
        try:
            install_optimal_reactor()
        except ReactorAlreadyInstalledError:
            print("refused")
        assert install_optimal_reactor(require_optimal_reactor=False) is reactor
        """
    )
    assert out.split() == ["AsyncioSelectorReactor", "refused"]
    optimal = "EPollReactor" if sys.platform.startswith("linux") else ""
    out = run_python(
        """
        from ferrobahn.twisted.choosereactor import install_reactor
        print(type(install_reactor()).__name__)
        """
    )
    assert not optimal or out.strip() == optimal
