"""Echo server: AutobahnPython's asyncio echo example, on ferrobahn.

python examples/asyncio/echo_server.py [port]
"""

import asyncio
import sys

from ferrobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol


class EchoServerProtocol(WebSocketServerProtocol):
    def onConnect(self, request):
        print(f"client connecting: {request.peer}")

    def onOpen(self):
        print("connection open")

    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)

    def onClose(self, wasClean, code, reason):
        print(f"connection closed: clean={wasClean} code={code} reason={reason!r}")


async def main(port: int) -> None:
    factory = WebSocketServerFactory(f"ws://127.0.0.1:{port}")
    factory.protocol = EchoServerProtocol
    factory.setProtocolOptions(maxMessagePayloadSize=0, maxFramePayloadSize=0)
    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", port)
    print(f"echo server on ws://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9000))
