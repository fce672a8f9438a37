"""Any Twisted stream protocol over WebSocket, client side: sends lines to
the wrapping server and prints the answers.

    python examples/twisted/wrapping_client.py [url]
"""

import sys

from twisted.internet import reactor
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver

from ferrobahn.twisted.websocket import WrappingWebSocketClientFactory, connectWS

LINES = [b"hello", b"a line protocol", b"over websocket", b"bye"]


class Talker(LineReceiver):
    def connectionMade(self):
        for line in LINES:
            self.sendLine(line)

    def lineReceived(self, line):
        print("answer:", line.decode(), flush=True)

    def connectionLost(self, reason):
        print("connection closed:", reason.getErrorMessage(), flush=True)
        if reactor.running:
            reactor.stop()


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9000"
    connectWS(WrappingWebSocketClientFactory(Factory.forProtocol(Talker), url))
    reactor.run()
