"""Echo client: sends messages of several sizes to an echo server and prints
round trips per second for each size.

    python examples/asyncio/echo_client.py [url] [seconds-per-size]
"""

import asyncio
import sys
import time

from ferrobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

SIZES = [64, 1024, 64 * 1024, 1024 * 1024]


class EchoClientProtocol(WebSocketClientProtocol):
    def onOpen(self):
        self.factory.opened.set_result(self)

    def onMessage(self, payload, isBinary):
        self.factory.replies.put_nowait(payload)

    def onClose(self, wasClean, code, reason):
        if not self.factory.closed.done():
            self.factory.closed.set_result((wasClean, code, reason))


async def main(url: str, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    factory = WebSocketClientFactory(url)
    factory.protocol = EchoClientProtocol
    factory.setProtocolOptions(maxMessagePayloadSize=0, maxFramePayloadSize=0)
    factory.opened, factory.closed = loop.create_future(), loop.create_future()
    factory.replies = asyncio.Queue()
    await asyncio.wait_for(loop.create_connection(factory, factory.host, factory.port), 10)
    proto = await asyncio.wait_for(factory.opened, 10)
    for size in SIZES:
        payload = bytes(i % 251 for i in range(size))
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            proto.sendMessage(payload, isBinary=True)
            reply = await asyncio.wait_for(factory.replies.get(), 10)
            assert reply == payload, "echo mismatch"
            count += 1
        elapsed = time.perf_counter() - started
        print(f"{size:>8} B: {count / elapsed:>10.0f} round trips/s")
    proto.sendClose(1000, "done")
    print("closed:", await asyncio.wait_for(factory.closed, 10))


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9000"
    asyncio.run(main(target, float(sys.argv[2]) if len(sys.argv) > 2 else 1.0))
