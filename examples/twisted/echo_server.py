"""Echo server on Twisted: AutobahnPython's Twisted echo example, on ferrobahn.

python examples/twisted/echo_server.py [port]
"""

import sys

from twisted.internet import reactor

from ferrobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol


class EchoServerProtocol(WebSocketServerProtocol):
    def onConnect(self, request):
        print(f"client connecting: {request.peer}")

    def onOpen(self):
        print("connection open")

    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)

    def onClose(self, wasClean, code, reason):
        print(f"connection closed: clean={wasClean} code={code} reason={reason!r}")


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    factory = WebSocketServerFactory("ws://127.0.0.1")
    factory.protocol = EchoServerProtocol
    listening = reactor.listenTCP(port, factory, interface="127.0.0.1")  # 0: any free port
    print(f"echo server on ws://127.0.0.1:{listening.getHost().port}", flush=True)
    reactor.run()
