"""Streaming receiver: a running SHA-256 over messages of any size.

The asyncio version of AutobahnPython's streaming server. Data is hashed as it
arrives (``onMessageFrameData``) and never buffered, so messages of unlimited
size pass in bounded memory. A digest goes back every BATCH_SIZE bytes and at
the end of each message, with the byte count and the peak memory growth.

    python examples/asyncio/streaming/streaming_server.py [port]
"""

import asyncio
import hashlib
import json
import resource
import sys

from ferrobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

BATCH_SIZE = 64 * 1024 * 1024


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class StreamingHashServerProtocol(WebSocketServerProtocol):
    def onOpen(self):
        self.baseline_kib = peak_rss_kib()

    def onMessageBegin(self, isBinary):
        super().onMessageBegin(isBinary)
        self.sha256 = hashlib.sha256()
        self.received = 0
        self.next_batch = BATCH_SIZE

    def onMessageFrameData(self, payload):
        # Hash each piece as it arrives; nothing is kept.
        self.sha256.update(payload)
        self.received += len(payload)
        if self.received >= self.next_batch:
            self.next_batch += BATCH_SIZE
            self.sendMessage(json.dumps({"batch_bytes": self.received}).encode())

    def onMessageFrameEnd(self):
        pass

    def onMessageEnd(self):
        report = {
            "bytes": self.received,
            "sha256": self.sha256.hexdigest(),
            "peak_rss_growth_kib": peak_rss_kib() - self.baseline_kib,
        }
        self.sendMessage(json.dumps(report).encode())


async def main(port: int) -> None:
    factory = WebSocketServerFactory()
    factory.protocol = StreamingHashServerProtocol
    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", port)
    print(f"streaming server on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9000))
