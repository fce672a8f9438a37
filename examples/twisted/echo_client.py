"""Echo client on Twisted: sends a few text and binary messages, prints the
echoes, then closes and stops.

    python examples/twisted/echo_client.py [url] [count]
"""

import sys

from twisted.internet import reactor

from ferrobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol, connectWS


class EchoClientProtocol(WebSocketClientProtocol):
    def onOpen(self):
        self.left = self.factory.count
        self.sendHello()

    def sendHello(self):
        self.sendMessage(f"Hello, world! ({self.left} to go)".encode())
        self.sendMessage(b"\x00\x01\x03\x04", isBinary=True)

    def onMessage(self, payload, isBinary):
        if isBinary:
            print(f"binary message echoed: {len(payload)} bytes", flush=True)
            self.left -= 1
            if self.left:
                self.factory.reactor.callLater(0.1, self.sendHello)
            else:
                self.sendClose(1000, "done")
        else:
            print(f"text message echoed: {payload.decode()}", flush=True)

    def onClose(self, wasClean, code, reason):
        print(f"closed: clean={wasClean} code={code} reason={reason!r}", flush=True)
        if reactor.running:
            reactor.stop()


if __name__ == "__main__":
    factory = WebSocketClientFactory(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9000")
    factory.protocol = EchoClientProtocol
    factory.count = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    connectWS(factory)
    reactor.run()
