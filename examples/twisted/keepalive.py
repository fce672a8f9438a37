"""Ping/pong and keepalive on Twisted: the server pings every client each
``autoPingInterval`` and drops those that do not answer within
``autoPingTimeout``; clients answer by themselves. Here a client stays for a
few pings, sends one explicit ping of its own, then leaves.

    python examples/twisted/keepalive.py [pings]
"""

import sys

from twisted.internet import reactor

from ferrobahn.twisted.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)


class KeepaliveServerProtocol(WebSocketServerProtocol):
    def onAutoPong(self, ping_sent, ping_seq, pong_received, pong_rtt, payload):
        print(f"server: pong #{ping_seq} from {self.peer}, round trip {pong_rtt:.2f} ms")

    def onPong(self, payload):
        pass

    def onClose(self, wasClean, code, reason):
        print(f"server: {self.peer} left (clean={wasClean}, code={code})", flush=True)


class KeepaliveClientProtocol(WebSocketClientProtocol):
    pings = 0

    def onPing(self, payload):
        self.pings += 1
        print(f"client: ping #{self.pings} ({len(payload)} bytes)", flush=True)
        super().onPing(payload)  # answers with a pong
        if self.pings == self.factory.pings:
            self.sendPing(b"my own ping")

    def onPong(self, payload):
        print(f"client: pong {payload!r}", flush=True)
        self.sendClose(1000, "enough")

    def onClose(self, wasClean, code, reason):
        print(f"client: closed (clean={wasClean}, code={code})", flush=True)
        reactor.callLater(0.1, reactor.stop)


if __name__ == "__main__":
    server = WebSocketServerFactory()
    server.protocol = KeepaliveServerProtocol
    server.setProtocolOptions(autoPingInterval=0.2, autoPingTimeout=1, autoPingSize=16)
    port = reactor.listenTCP(0, server, interface="127.0.0.1").getHost().port

    client = WebSocketClientFactory(f"ws://127.0.0.1:{port}")
    client.protocol = KeepaliveClientProtocol
    client.pings = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    reactor.connectTCP("127.0.0.1", port, client)
    reactor.run()
