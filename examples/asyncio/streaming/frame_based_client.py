"""Frame-based sender: one message sent frame by frame, each frame's digest
checked against the server's answer.

    python examples/asyncio/streaming/frame_based_client.py [url] [frames] [frame KiB]
"""

import asyncio
import hashlib
import os
import sys

from ferrobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol


class FrameBasedHashClientProtocol(WebSocketClientProtocol):
    def onOpen(self):
        frames, size = self.factory.frames, self.factory.frame_size
        self.expected = []
        self.beginMessage(isBinary=True)
        for _ in range(frames):
            data = os.urandom(size)
            self.expected.append(hashlib.sha256(data).hexdigest())
            self.sendMessageFrame(data)
        self.endMessage()  # an empty final frame: its digest comes back too
        self.expected.append(hashlib.sha256(b"").hexdigest())

    def onMessage(self, payload, isBinary):
        digest = payload.decode()
        expected = self.expected.pop(0)
        print(f"frame digest {digest[:16]}... {'ok' if digest == expected else 'MISMATCH'}")
        if digest != expected:
            self.factory.done.set_result(False)
        elif not self.expected:
            self.factory.done.set_result(True)
            self.sendClose(1000)


async def main(url: str, frames: int, frame_size: int) -> int:
    loop = asyncio.get_running_loop()
    factory = WebSocketClientFactory(url)
    factory.protocol = FrameBasedHashClientProtocol
    factory.frames, factory.frame_size = frames, frame_size
    factory.done = loop.create_future()
    await asyncio.wait_for(loop.create_connection(factory, factory.host, factory.port), 10)
    return 0 if await asyncio.wait_for(factory.done, 60) else 1


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9000"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    kib = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    sys.exit(asyncio.run(main(target, count, kib * 1024)))
