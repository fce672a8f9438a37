"""Many connections: idle memory per connection, and handshakes per second.

Memory: a server process and a client process of the same library
(``peers.py`` workers); the client opens ``--warmup`` connections (so that
imports, caches and the allocator's first arenas are not counted), both
processes are measured (RSS after a garbage collection), the client opens
``--conns`` more and both are measured again: (RSS after - RSS before) /
conns, per process. Kernel socket buffers are not in RSS.

Handshakes: the client opens a connection, completes the opening handshake,
runs the closing handshake and waits for the TCP connection to close, one
after the other (sequential) and with ``--concurrency`` clients at once. The
table has connections per second (wall) and CPU µs per connection on each side.

    python benchmarks/conns.py [--full] [--loop uvloop|asyncio] [--peers a,b]

Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import PEERS, WorkerProc, runnable  # noqa: E402

MEMORY_PEERS = [
    "ferrobahn",
    "ferrobahn-twisted",
    "picows",
    "websockets",
    "wsproto",
    "aiohttp",
    "autobahn",
]
HANDSHAKE_PEERS = ["ferrobahn", "ferrobahn-twisted", "picows"]
HANDSHAKE_PEERS_FULL = [*HANDSHAKE_PEERS, "aiohttp", "websockets", "wsproto", "autobahn"]


def memory(peer: str, conns: int, warmup: int, loop: str) -> tuple[float, float]:
    """KiB per idle connection: (server, client)."""
    server, client = WorkerProc(peer, loop), WorkerProc(peer, loop)
    try:
        port = server.call("serve")["port"]
        client.call("open", port=port, n=warmup, concurrency=50)
        time.sleep(0.2)
        s0, c0 = server.call("mark", gc=True), client.call("mark", gc=True)
        client.call("open", port=port, n=conns, concurrency=50)
        time.sleep(0.5)  # let the server finish what it does after a handshake
        s1, c1 = server.call("mark", gc=True), client.call("mark", gc=True)
        client.call("close_all")
    finally:
        client.quit()
        server.quit()
    return (s1["rss"] - s0["rss"]) / conns / 1024, (c1["rss"] - c0["rss"]) / conns / 1024


def handshakes(
    peer: str, counts: dict[int, int], runs: int, loop: str
) -> dict[int, tuple[float, float, float]]:
    """concurrency -> median (connections/s, server CPU µs, client CPU µs)."""
    server, client = WorkerProc(peer, loop), WorkerProc(peer, loop)
    results: dict[int, list[tuple[float, float, float]]] = {}
    try:
        port = server.call("serve")["port"]
        client.call("handshakes", port=port, n=50, concurrency=1)  # warm-up
        for _ in range(runs):
            for concurrency, n in counts.items():
                s0 = server.call("mark")
                r = client.call("handshakes", port=port, n=n, concurrency=concurrency)
                s1 = server.call("mark")
                results.setdefault(concurrency, []).append(
                    (
                        n / r["wall"],
                        (s1["cpu"] - s0["cpu"]) / n * 1e6,
                        r["cpu"] / n * 1e6,
                    )
                )
    finally:
        client.quit()
        server.quit()
    return {
        c: tuple(statistics.median(v[i] for v in vals) for i in range(3))  # type: ignore[misc]
        for c, vals in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH_FULL") == "1")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--peers", help="comma-separated, for both parts")
    parser.add_argument("--conns", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-handshakes", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    chosen = [n.strip() for n in args.peers.split(",")] if args.peers else None

    if not args.skip_memory:
        peers = runnable(chosen or MEMORY_PEERS)
        rows = {p: memory(p, args.conns, args.warmup, args.loop) for p in peers}
        print(f"\n### Idle memory per connection at {args.conns} connections ({args.loop})\n")
        print("| | server KiB/conn | client KiB/conn | server × ferrobahn | server × picows |")
        print("|---|---|---|---|---|")
        for p, (s, c) in rows.items():
            fb = f"{s / rows['ferrobahn'][0]:.2f}" if "ferrobahn" in rows else "–"
            pw = f"{s / rows['picows'][0]:.2f}" if "picows" in rows else "–"
            print(f"| {PEERS[p].label_on(args.loop)} | {s:.1f} | {c:.1f} | {fb} | {pw} |")

    if not args.skip_handshakes:
        peers = runnable(chosen or (HANDSHAKE_PEERS_FULL if args.full else HANDSHAKE_PEERS))
        n_seq, n_conc = (2000, 5000) if args.full else (400, 1500)
        runs = 3 if args.full else 1
        counts = {1: n_seq, args.concurrency: n_conc}
        rows2 = {p: handshakes(p, counts, runs, args.loop) for p in peers}
        print(
            f"\n### Handshakes: connect + opening handshake + closing handshake "
            f"({args.loop}, median of {runs})\n"
        )
        print(
            "| | sequential conn/s | CPU µs server / client | "
            f"{args.concurrency} concurrent conn/s | CPU µs server / client | "
            "conn/s × picows (seq / conc) |"
        )
        print("|---|---|---|---|---|---|")
        for p, r in rows2.items():
            seq, conc = r[1], r[args.concurrency]
            if "picows" in rows2:
                base = rows2["picows"]
                vs = f"{seq[0] / base[1][0]:.2f} / {conc[0] / base[args.concurrency][0]:.2f}"
            else:
                vs = "–"
            print(
                f"| {PEERS[p].label_on(args.loop)} | {seq[0]:,.0f} | {seq[1]:.0f} / {seq[2]:.0f} | "
                f"{conc[0]:,.0f} | {conc[1]:.0f} / {conc[2]:.0f} | {vs} |"
            )
    print(f"\n({time.perf_counter() - started:.0f} s; `{' '.join(sys.argv)}`)")


if __name__ == "__main__":
    main()
