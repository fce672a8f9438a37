"""Streaming sender: one message of many large frames, paced by a producer.

The asyncio version of AutobahnPython's streaming producer client. A push
producer writes frame data until the transport's buffer passes its high-water
mark (``pauseProducing``) and goes on when it drains (``resumeProducing``), so
the sender's memory stays bounded whatever the message size. Prints the
throughput and both sides' peak memory growth.

    python examples/asyncio/streaming/streaming_producer_client.py URL [total MiB] [frame KiB]
"""

import asyncio
import hashlib
import json
import os
import resource
import sys
import time

from ferrobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class MessageProducer:
    """Pushes ``total`` bytes as frames of ``frame_size`` bytes, in pieces."""

    def __init__(self, proto, total: int, frame_size: int) -> None:
        self.proto = proto
        self.total = total
        self.frame_size = frame_size
        self.sent = 0
        self.paused = False
        self.block = os.urandom(256 * 1024)
        self.sha256 = hashlib.sha256()

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        proto = self.proto
        while not self.paused and self.sent < self.total:
            if proto.send_state != proto.SEND_STATE_INSIDE_MESSAGE_FRAME:
                proto.beginMessageFrame(min(self.frame_size, self.total - self.sent))
            piece = self.block[: min(len(self.block), self.total - self.sent)]
            self.sha256.update(piece)
            owed = proto.sendMessageFrameData(piece)
            self.sent += len(piece) + min(owed, 0)
        if self.sent >= self.total:
            proto.unregisterProducer()
            proto.endMessage()

    def stopProducing(self):
        self.paused = True


class StreamingClientProtocol(WebSocketClientProtocol):
    def onOpen(self):
        self.baseline_kib = peak_rss_kib()
        self.started = time.perf_counter()
        self.producer = MessageProducer(self, self.factory.total, self.factory.frame_size)
        self.beginMessage(isBinary=True)
        self.registerProducer(self.producer, True)
        self.producer.resumeProducing()

    def onMessage(self, payload, isBinary):
        report = json.loads(payload)
        if "sha256" not in report:
            return  # a batch notice
        elapsed = time.perf_counter() - self.started
        digest = self.producer.sha256.hexdigest()
        ok = report["sha256"] == digest and report["bytes"] == self.factory.total
        result = {
            "ok": ok,
            "bytes": report["bytes"],
            "seconds": round(elapsed, 3),
            "mb_per_s": round(report["bytes"] / elapsed / 1e6, 1),
            "client_peak_rss_growth_kib": peak_rss_kib() - self.baseline_kib,
            "server_peak_rss_growth_kib": report["peak_rss_growth_kib"],
        }
        print(json.dumps(result), flush=True)
        self.factory.done.set_result(ok)
        self.sendClose(1000)


async def main(url: str, total: int, frame_size: int) -> int:
    loop = asyncio.get_running_loop()
    factory = WebSocketClientFactory(url)
    factory.protocol = StreamingClientProtocol
    factory.total, factory.frame_size = total, frame_size
    factory.done = loop.create_future()
    await asyncio.wait_for(loop.create_connection(factory, factory.host, factory.port), 10)
    ok = await asyncio.wait_for(factory.done, 600)
    return 0 if ok else 1


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9000"
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    frame_kib = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    sys.exit(asyncio.run(main(target, mib * 1024 * 1024, frame_kib * 1024)))
