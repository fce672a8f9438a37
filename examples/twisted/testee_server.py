"""ferrobahn's testee echo server on Twisted, for the conformance tester
(``python -m ferrobahn.testsuite fuzzingclient URL``): an echo server with
``failByDrop=False``, so a failed connection still gets its close frame,
limits above the 16 MiB of the largest cases, and permessage-deflate accepted
(the first offer, as AutobahnPython's testee server does) for groups 12 and 13.

    python examples/twisted/testee_server.py [port]

Port 0 picks a free port. It prints ``ws://127.0.0.1:PORT`` once it listens.
"""

import sys

from twisted.internet import reactor

from ferrobahn.twisted import __ident__
from ferrobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from ferrobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

LIMIT = 32 * 2**20


class TesteeServerProtocol(WebSocketServerProtocol):
    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)


def accept_deflate(offers):
    """Accept the first permessage-deflate offer as it is."""
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None


if __name__ == "__main__":
    factory = WebSocketServerFactory(server=__ident__)
    factory.protocol = TesteeServerProtocol
    factory.setProtocolOptions(
        failByDrop=False,
        maxMessagePayloadSize=LIMIT,
        maxFramePayloadSize=LIMIT,
        perMessageCompressionAccept=accept_deflate,
    )
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9001
    port = reactor.listenTCP(port, factory, interface="127.0.0.1").getHost().port
    print(f"ws://127.0.0.1:{port}", flush=True)
    reactor.run()
