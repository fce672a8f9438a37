"""Echo round trips: CPU time per round trip of each library, server and client
in separate processes, and round trips per second with both ends in one process.

Separate processes (the default): for each library an echo server process and a
client process (``peers.py`` workers) on 127.0.0.1. The client sends one binary
message and awaits its echo, again and again, for ``--seconds`` of wall time;
each process reads its own CPU time (``time.process_time``: user + system, all
threads) before and after, so the table has the CPU microseconds one round trip
costs the server and the client. CPU time per round trip is stabler than wall
time on a shared machine. Libraries and sizes are interleaved, ``--runs`` times;
the table has medians, the spread table (max - min) / median.

``--inprocess``: server and client in one process and one event loop (the
earlier mode of this script): round trips per second and the CPU per round trip
of both ends together.

    python benchmarks/echo.py [--full] [--loop uvloop|asyncio] [--peers a,b] [--inprocess]

``BENCH_FULL=1`` (or ``--full``) runs longer and more often. Timings are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import PEERS, WorkerProc, available  # noqa: E402

SIZES = [64, 1024, 64 * 1024, 1024 * 1024]
ORDER = [
    "tcp",
    "tcp-afn",
    "ferrobahn",
    "picows",
    "picows-asyncio",
    "aiohttp",
    "websockets",
    "autobahn",
    "autobahn-py",
    "wsproto",
]
# Slow peers at large sizes: fewer round trips still give a stable CPU figure.
MIN_COUNT = 3


def size_name(size: int) -> str:
    if size >= 1 << 20:
        return f"{size >> 20} MiB"
    if size >= 1 << 10:
        return f"{size >> 10} KiB"
    return f"{size} B"


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def ratio(value: float, base: float | None) -> str:
    if base is None or not base:
        return "–"
    return f"{value / base:.2f}"


def pick_peers(arg: str | None) -> list[str]:
    names = ORDER if not arg else [n.strip() for n in arg.split(",") if n.strip()]
    chosen = []
    for name in names:
        if name not in PEERS:
            raise SystemExit(f"unknown peer {name!r}; known: {', '.join(ORDER)}")
        why = available(name)
        if why is None:
            chosen.append(name)
        else:
            print(f"skipping {name}: {why}", file=sys.stderr)
    return chosen


def separate(
    peers: list[str], sizes: list[int], seconds: float, runs: int, loop: str
) -> dict[tuple[str, int], list[tuple[float, ...]]]:
    """(peer, size) -> per run: (server us/rt, client us/rt, round trips/s,
    server page faults/rt, client page faults/rt)."""
    results: dict[tuple[str, int], list[tuple[float, ...]]] = {}
    pairs: dict[str, tuple[WorkerProc, WorkerProc]] = {}
    try:
        for name in peers:
            server, client = WorkerProc(name, loop), WorkerProc(name, loop)
            pairs[name] = (server, client)
            port = server.call("serve")["port"]
            client.call("connect", port=port)
        for run in range(runs):
            # Every peer at one size, then the next size: the numbers compared
            # with each other are measured close together in time.
            for size in sizes:
                for name in peers:
                    server, client = pairs[name]
                    before = server.call("mark")
                    r = client.call("run", size=size, seconds=seconds, min_count=MIN_COUNT)
                    after = server.call("mark")
                    n = r["count"]
                    results.setdefault((name, size), []).append(
                        (
                            (after["cpu"] - before["cpu"]) / n * 1e6,
                            r["cpu"] / n * 1e6,
                            n / r["wall"],
                            (after["minflt"] - before["minflt"]) / n,
                            r["minflt"] / n,
                        )
                    )
            print(f"  run {run + 1}/{runs} done", file=sys.stderr)
    finally:
        for server, client in pairs.values():
            client.quit()
            server.quit()
    return results


def report_separate(
    results: dict[tuple[str, int], list[tuple[float, ...]]],
    peers: list[str],
    sizes: list[int],
    runs: int,
    loop: str,
) -> None:
    med: dict[tuple[str, int], tuple[float, ...]] = {
        key: tuple(statistics.median(v[i] for v in vals) for i in range(5))
        for key, vals in results.items()
    }
    head = "| |" + "".join(f" {size_name(s)} |" for s in sizes)
    rule = "|---|" + "---|" * len(sizes)
    label = {n: PEERS[n].label for n in peers}

    print(
        f"\n### CPU µs per echo round trip, server / client (separate processes, {loop}, "
        f"median of {runs})\n"
    )
    print(head)
    print(rule)
    for name in peers:
        cells = [f"{fmt(med[name, s][0])} / {fmt(med[name, s][1])}" for s in sizes]
        print(f"| {label[name]} | " + " | ".join(cells) + " |")

    for base, title in (("picows", "picows"), ("tcp", "the plain-TCP floor")):
        if base not in peers:
            continue
        print(f"\n### Ratio to {title} (CPU per round trip, server / client; < 1 is less CPU)\n")
        print(head)
        print(rule)
        for name in peers:
            cells = [
                f"{ratio(med[name, s][0], med[base, s][0])} / "
                f"{ratio(med[name, s][1], med[base, s][1])}"
                for s in sizes
            ]
            print(f"| {label[name]} | " + " | ".join(cells) + " |")

    print("\n### Round trips per second (wall, one connection)\n")
    print(head)
    print(rule)
    for name in peers:
        print(f"| {label[name]} | " + " | ".join(f"{med[name, s][2]:,.0f}" for s in sizes) + " |")

    print(
        "\n### Page faults per round trip, server / client (fresh pages touched: "
        "allocations that went back to the OS)\n"
    )
    print(head)
    print(rule)
    for name in peers:
        cells = [f"{med[name, s][3]:.1f} / {med[name, s][4]:.1f}" for s in sizes]
        print(f"| {label[name]} | " + " | ".join(cells) + " |")

    if runs > 1:
        print("\n### Spread of the runs: (max - min) / median, server / client\n")
        print(head)
        print(rule)
        for name in peers:
            cells = []
            for s in sizes:
                vals = results[name, s]
                spread = []
                for i in (0, 1):
                    xs = [v[i] for v in vals]
                    spread.append(f"{(max(xs) - min(xs)) / statistics.median(xs) * 100:.0f}%")
                cells.append(" / ".join(spread))
            print(f"| {label[name]} | " + " | ".join(cells) + " |")


def inprocess(
    peers: list[str], sizes: list[int], seconds: float, rounds: int, loop: str
) -> dict[tuple[str, int], tuple[float, float]]:
    """(peer, size) -> (best round trips/s, CPU us per round trip at that run)."""
    best: dict[tuple[str, int], tuple[float, float]] = {}
    workers: dict[str, WorkerProc] = {}
    try:
        for name in peers:
            workers[name] = WorkerProc(name, loop)
            workers[name].call("inproc")
        for _ in range(rounds):
            for size in sizes:
                for name in peers:
                    r = workers[name].call("run", size=size, seconds=seconds, min_count=MIN_COUNT)
                    rate = r["count"] / r["wall"]
                    if rate > best.get((name, size), (0.0, 0.0))[0]:
                        best[name, size] = (rate, r["cpu"] / r["count"] * 1e6)
    finally:
        for w in workers.values():
            w.quit()
    return best


def report_inprocess(
    best: dict[tuple[str, int], tuple[float, float]],
    peers: list[str],
    sizes: list[int],
    rounds: int,
    loop: str,
) -> None:
    head = "| |" + "".join(f" {size_name(s)} |" for s in sizes)
    rule = "|---|" + "---|" * len(sizes)
    print(
        f"\n### In one process: round trips/s (best of {rounds}) and CPU µs per round trip, "
        f"both ends ({loop})\n"
    )
    print(head)
    print(rule)
    for name in peers:
        cells = [f"{best[name, s][0]:,.0f} ({fmt(best[name, s][1])} µs)" for s in sizes]
        print(f"| {PEERS[name].label} | " + " | ".join(cells) + " |")
    if "ferrobahn" in peers:
        print(
            "\n### In one process: ferrobahn's round trips/s ÷ the peer's (> 1: ferrobahn faster)\n"
        )
        print(head)
        print(rule)
        for name in peers:
            if name == "ferrobahn":
                continue
            cells = [f"{best['ferrobahn', s][0] / best[name, s][0]:.2f}" for s in sizes]
            print(f"| {PEERS[name].label} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH_FULL") == "1")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--peers", help="comma-separated, default: all installed")
    parser.add_argument("--sizes", help="comma-separated bytes, default: 64,1024,65536,1048576")
    parser.add_argument("--seconds", type=float, help="per measurement (default 0.2, full 2)")
    parser.add_argument(
        "--runs", type=int, help="runs per measurement (default 5; in process 1; full 5)"
    )
    parser.add_argument("--inprocess", action="store_true", help="both ends in one process")
    args = parser.parse_args()
    seconds = args.seconds or (2.0 if args.full else 0.2)
    runs = args.runs or (5 if args.full else 1 if args.inprocess else 5)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else SIZES
    peers = pick_peers(args.peers)
    started = time.perf_counter()
    if args.inprocess:
        best = inprocess(peers, sizes, seconds, runs, args.loop)
        report_inprocess(best, peers, sizes, runs, args.loop)
    else:
        results = separate(peers, sizes, seconds, runs, args.loop)
        report_separate(results, peers, sizes, runs, args.loop)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n({time.perf_counter() - started:.0f} s; load average after: {load}; ", end="")
    print(f"`{' '.join(sys.argv)}`)")


if __name__ == "__main__":
    main()
