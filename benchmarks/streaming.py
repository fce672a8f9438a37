"""Streaming: one huge message through ferrobahn's streaming API, against the
plain-TCP floor of pushing the same bytes through asyncio transports.

ferrobahn: the client sends one binary message of ``--total`` bytes in frames of
``--frame`` bytes (``beginMessage``, then per frame ``beginMessageFrame`` and
``sendMessageFrameData``, ``endMessage``), paced by a push producer
(``registerProducer``: paused above the transport's high-water mark). The server
overrides ``onMessageFrameData`` (so it streams: nothing is assembled) and
discards the data; at ``onMessageEnd`` it answers with the byte count and its CPU
time. TCP floor: the client writes the same blocks on a plain transport, paced by
``pause_writing`` / ``resume_writing``; the server counts bytes and answers.

Server and client are separate processes (this script, ``server`` / ``client``
roles). Reported: MB/s (1e6 B/s, wall, from the first write to the answer), CPU
seconds per GB on each side, and ferrobahn's ratios to the floor.

    python benchmarks/streaming.py [--full] [--total BYTES] [--frame BYTES] [--runs N]

Quick: 256 MiB, one run; ``--full`` / ``BENCH_FULL=1``: 1 GiB, three runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import HOST, minor_faults, run_loop  # noqa: E402

MIB = 1 << 20

# -- servers --------------------------------------------------------------------


async def ferrobahn_server(ready: Any) -> None:
    from ferrobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

    class Discard(WebSocketServerProtocol):
        def onMessageBegin(self, isBinary: bool) -> None:
            self.received = 0
            self.cpu0 = time.process_time()
            self.faults0 = minor_faults()

        def onMessageFrameBegin(self, length: int) -> None:
            pass

        def onMessageFrameData(self, payload: bytes) -> None:
            self.received += len(payload)

        def onMessageFrameEnd(self) -> None:
            pass

        def onMessageEnd(self) -> None:
            cpu = time.process_time() - self.cpu0
            faults = minor_faults() - self.faults0
            report = {"bytes": self.received, "cpu": cpu, "minflt": faults}
            self.sendMessage(json.dumps(report).encode())

    factory = WebSocketServerFactory()
    factory.protocol = Discard
    server = await asyncio.get_running_loop().create_server(factory, HOST, 0)
    ready(server.sockets[0].getsockname()[1])
    await server.serve_forever()


class _TcpSink(asyncio.Protocol):
    total = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.received = 0
        self.cpu0 = 0.0

    def data_received(self, data: bytes) -> None:
        if not self.received:
            self.cpu0 = time.process_time()
            self.faults0 = minor_faults()
        self.received += len(data)
        if self.received >= self.total:
            cpu = time.process_time() - self.cpu0
            faults = minor_faults() - self.faults0
            report = {"bytes": self.received, "cpu": cpu, "minflt": faults}
            self.transport.write(json.dumps(report).encode())


async def tcp_server(ready: Any, total: int) -> None:
    _TcpSink.total = total
    server = await asyncio.get_running_loop().create_server(_TcpSink, HOST, 0)
    ready(server.sockets[0].getsockname()[1])
    await server.serve_forever()


# -- clients --------------------------------------------------------------------


async def ferrobahn_client(port: int, total: int, frame: int) -> dict[str, Any]:
    from ferrobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

    loop = asyncio.get_running_loop()
    done: asyncio.Future[dict[str, Any]] = loop.create_future()
    block = os.urandom(frame)

    class Producer:
        def __init__(self, proto: Any) -> None:
            self.proto = proto
            self.sent = 0
            self.paused = False

        def pauseProducing(self) -> None:
            self.paused = True

        def stopProducing(self) -> None:
            self.paused = True

        def resumeProducing(self) -> None:
            self.paused = False
            proto = self.proto
            while not self.paused and self.sent < total:
                size = min(frame, total - self.sent)
                proto.beginMessageFrame(size)
                proto.sendMessageFrameData(block if size == frame else block[:size])
                self.sent += size
            if self.sent >= total and not self.paused:
                proto.unregisterProducer()
                proto.endMessage()

    class Sender(WebSocketClientProtocol):
        def onOpen(self) -> None:
            self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
            self.beginMessage(isBinary=True)
            producer = Producer(self)
            self.registerProducer(producer, True)
            producer.resumeProducing()

        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            wall, cpu = time.perf_counter() - self.wall0, time.process_time() - self.cpu0
            done.set_result({"server": json.loads(payload), "wall": wall, "cpu": cpu})
            self.sendClose(1000)

    factory = WebSocketClientFactory(f"ws://{HOST}:{port}")
    factory.protocol = Sender
    await loop.create_connection(factory, HOST, port)
    return await asyncio.wait_for(done, 600)


async def tcp_client(port: int, total: int, frame: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[dict[str, Any]] = loop.create_future()
    block = os.urandom(frame)

    class Pusher(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.sent = 0
            self.paused = False
            self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
            self.push()

        def push(self) -> None:
            while not self.paused and self.sent < total:
                size = min(frame, total - self.sent)
                self.transport.write(block if size == frame else block[:size])
                self.sent += size

        def pause_writing(self) -> None:
            self.paused = True

        def resume_writing(self) -> None:
            self.paused = False
            self.push()

        def data_received(self, data: bytes) -> None:
            wall, cpu = time.perf_counter() - self.wall0, time.process_time() - self.cpu0
            done.set_result({"server": json.loads(data), "wall": wall, "cpu": cpu})
            self.transport.close()

    await loop.create_connection(Pusher, HOST, port)
    return await asyncio.wait_for(done, 600)


# -- driver ---------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    def ready(port: int) -> None:
        print(port, flush=True)

    if args.role == "server":
        main = (
            ferrobahn_server(ready) if args.kind == "ferrobahn" else tcp_server(ready, args.total)
        )
        with contextlib.suppress(KeyboardInterrupt):  # how a profiling run stops it
            run_loop(main, args.loop)
    else:
        client = ferrobahn_client if args.kind == "ferrobahn" else tcp_client
        result = run_loop(client(args.port, args.total, args.frame), args.loop)
        print(json.dumps(result), flush=True)


def one(kind: str, total: int, frame: int, loop: str) -> dict[str, Any]:
    me = os.path.abspath(__file__)
    common = ["--kind", kind, "--total", str(total), "--frame", str(frame), "--loop", loop]
    server = subprocess.Popen(
        [sys.executable, me, "server", *common], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        out = subprocess.run(
            [sys.executable, me, "client", "--port", str(port), *common],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait()
    if result["server"]["bytes"] != total:
        raise RuntimeError(f"{kind}: server got {result['server']['bytes']} of {total} bytes")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", nargs="?", choices=["server", "client"])
    parser.add_argument("--kind", choices=["ferrobahn", "tcp"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH_FULL") == "1")
    parser.add_argument("--total", type=int)
    parser.add_argument("--frame", type=int, default=MIB)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    if args.total is None:
        args.total = 1024 * MIB if args.full else 256 * MIB
    if args.role:
        child(args)
        return
    runs = args.runs or (3 if args.full else 1)
    started = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {"tcp": [], "ferrobahn": []}
    for _ in range(runs):
        for kind in results:
            results[kind].append(one(kind, args.total, args.frame, args.loop))
    rows = {}
    for kind, rs in results.items():
        gb = args.total / 1e9
        rows[kind] = (
            statistics.median(args.total / r["wall"] / 1e6 for r in rs),
            statistics.median(r["server"]["cpu"] / gb for r in rs),
            statistics.median(r["cpu"] / gb for r in rs),
            statistics.median(r["server"]["minflt"] / (args.total / MIB) for r in rs),
        )
    label = {"tcp": "plain TCP through asyncio transports (floor)", "ferrobahn": ""}
    label["ferrobahn"] = "ferrobahn streaming API (beginMessageFrame / sendMessageFrameData)"
    print(
        f"\n### Streaming {args.total / MIB:,.0f} MiB in {args.frame / MIB:g} MiB frames "
        f"({args.loop}, median of {runs})\n"
    )
    print(
        "| | MB/s | CPU s/GB server / client | time × floor | CPU × floor server / client "
        "| server page faults per MiB |"
    )
    print("|---|---|---|---|---|---|")
    floor = rows["tcp"]
    for kind, (rate, scpu, ccpu, faults) in rows.items():
        print(
            f"| {label[kind]} | {rate:,.0f} | {scpu:.3f} / {ccpu:.3f} | {floor[0] / rate:.2f} | "
            f"{scpu / floor[1]:.2f} / {ccpu / floor[2]:.2f} | {faults:.0f} |"
        )
    if runs > 1:
        spread = {kind: [args.total / r["wall"] / 1e6 for r in rs] for kind, rs in results.items()}
        print(
            "\nMB/s of each run: "
            + "; ".join(f"{k}: " + ", ".join(f"{x:,.0f}" for x in v) for k, v in spread.items())
        )
    print(f"\n({time.perf_counter() - started:.0f} s; `{' '.join(sys.argv)}`)")


if __name__ == "__main__":
    main()
