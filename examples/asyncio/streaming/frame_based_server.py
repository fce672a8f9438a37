"""Frame-based receiver: a SHA-256 digest of every frame as it completes.

The asyncio version of AutobahnPython's frame-based server: ``onMessageFrame``
gets each whole frame (a list of the pieces it arrived in) and answers with
the frame's digest; whole messages are never assembled.

    python examples/asyncio/streaming/frame_based_server.py [port]
"""

import asyncio
import hashlib
import sys

from ferrobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol


class FrameBasedHashServerProtocol(WebSocketServerProtocol):
    def onMessageFrame(self, payload):
        sha256 = hashlib.sha256()
        for piece in payload:
            sha256.update(piece)
        self.sendMessage(sha256.hexdigest().encode())

    def onMessageEnd(self):
        pass  # nothing was buffered: no onMessage


async def main(port: int) -> None:
    factory = WebSocketServerFactory()
    factory.protocol = FrameBasedHashServerProtocol
    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", port)
    print(f"frame-based server on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9000))
