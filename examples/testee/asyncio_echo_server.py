"""ferrobahn's testee echo server for the conformance tester (asyncio).

Written against the public API like any user program: it is AutobahnPython's asyncio
testee server with ``autobahn`` replaced by ``ferrobahn`` in the imports, and given
``autobahn`` as second argument it runs on AutobahnPython itself (a reference peer
for validating the tester). Options as the conformance runs need them:
``failByDrop=False`` so a failed connection still gets its close frame, message and
frame limits raised above 16 MiB so the largest group 9 cases (16 MiB) fit, and
permessage-deflate accepted (the first offer, as AutobahnPython's testee server
accepts it) for groups 12 and 13.

    python examples/testee/asyncio_echo_server.py [port] [ferrobahn|autobahn]

Port 0 picks a free port. It prints ``ws://127.0.0.1:PORT`` once it listens.
"""

import asyncio
import socket
import sys

if len(sys.argv) > 2 and sys.argv[2] == "autobahn":
    from autobahn.asyncio import __ident__
    from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from autobahn.websocket import compress
else:
    from ferrobahn.asyncio import __ident__
    from ferrobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from ferrobahn.websocket import compress

#: Above the largest message of the test suite (16 MiB in 9.1.6/9.2.6).
LIMIT = 32 * 2**20


class TesteeServerProtocol(WebSocketServerProtocol):
    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)


def accept_deflate(offers):
    """Accept the first permessage-deflate offer as it is."""
    for offer in offers:
        if isinstance(offer, compress.PerMessageDeflateOffer):
            return compress.PerMessageDeflateOfferAccept(offer)
    return None


async def main(port: int) -> None:
    # Bind first: with port 0 the URL (checked against the Host header) needs the real port.
    sock = socket.create_server(("127.0.0.1", port))
    port = sock.getsockname()[1]
    factory = WebSocketServerFactory(f"ws://127.0.0.1:{port}", server=__ident__)
    factory.protocol = TesteeServerProtocol
    factory.setProtocolOptions(
        failByDrop=False,
        maxMessagePayloadSize=LIMIT,
        maxFramePayloadSize=LIMIT,
        perMessageCompressionAccept=accept_deflate,
    )
    server = await asyncio.get_running_loop().create_server(factory, sock=sock)
    print(f"ws://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9001))
