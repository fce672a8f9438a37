"""Any Twisted stream protocol over WebSocket, server side: a line protocol
that answers each line in upper case, served to WebSocket clients that speak
the ``binary`` or ``base64`` subprotocol (websockify's).

    python examples/twisted/wrapping_server.py [port]
"""

import sys

from twisted.internet import reactor
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver

from ferrobahn.twisted.websocket import WrappingWebSocketServerFactory


class Shout(LineReceiver):
    def connectionMade(self):
        print("connection from", self.transport.getPeer())

    def lineReceived(self, line):
        if line == b"bye":
            self.transport.loseConnection()
        else:
            self.sendLine(line.upper())


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    factory = WrappingWebSocketServerFactory(Factory.forProtocol(Shout), "ws://127.0.0.1")
    listening = reactor.listenTCP(port, factory, interface="127.0.0.1")
    print(f"line server over ws://127.0.0.1:{listening.getHost().port}", flush=True)
    reactor.run()
