"""Echo round trips: CPU time per round trip of each library, server and client
in separate processes, and round trips per second with both ends in one process.

Separate processes (the default): for each library an echo server process and a
client process (``peers.py`` workers) on 127.0.0.1. The client sends one message
and awaits its echo, again and again, for ``--seconds`` of wall time; each
process reads its own CPU time (``time.process_time``: user + system, all
threads) before and after, so the table has the CPU microseconds one round trip
costs the server and the client. CPU time per round trip is stabler than wall
time on a shared machine. Libraries and sizes are interleaved, ``--runs`` times;
the table has medians, the spread table (max - min) / median.

Sizes are bytes of a binary message, or with a ``t`` (``1024t``) of a text
message of printable ASCII, which every library sends and receives as text.

Who talks to whom:

- by default each library's client talks to the same library's server;
- ``--ref-client PEER``: every server is driven by PEER's client, so the server
  column compares servers alone (the client is the same in every row);
- ``--ref-server PEER``: every client talks to PEER's server, so the client
  column compares clients alone.

``--inprocess``: server and client in one process and one event loop (the
earlier mode of this script): round trips per second and the CPU per round trip
of both ends together.

    python benchmarks/echo.py [--full] [--loop uvloop|asyncio] [--peers a,b]
        [--sizes 64,1024t] [--ref-client P | --ref-server P] [--inprocess] [--json PATH]

``--json PATH`` also writes the medians and spreads (``report.py`` plots them).
``BENCH_FULL=1`` (or ``--full``) runs longer and more often. Timings are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import PEERS, WorkerProc, runnable  # noqa: E402

SIZES = "64,1024,1024t,65536,1048576"
ORDER = [
    "tcp",
    "tcp-afn",
    "ferrobahn",
    "ferrobahn-twisted",
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
SERVER, CLIENT, RATE, SERVER_FAULTS, CLIENT_FAULTS = range(5)  # one run's measurements
SIDE_NAMES = {SERVER: "server", CLIENT: "client"}


@dataclass(frozen=True)
class Size:
    nbytes: int
    text: bool = False

    @classmethod
    def parse(cls, spec: str) -> Size:
        spec = spec.strip()
        if spec.endswith("t"):
            return cls(int(spec[:-1]), True)
        return cls(int(spec))

    @property
    def name(self) -> str:
        n = self.nbytes
        if n >= 1 << 20 and n % (1 << 20) == 0:
            name = f"{n >> 20} MiB"
        elif n >= 1 << 10 and n % (1 << 10) == 0:
            name = f"{n >> 10} KiB"
        else:
            name = f"{n} B"
        return f"{name} text" if self.text else name


@dataclass(frozen=True)
class Pair:
    """One connection measured: ``row`` is the library its table row is about."""

    row: str
    server: str
    client: str


@dataclass
class Plan:
    """Who talks to whom, and which columns (server, client) the tables show:
    with a reference client, only the server's CPU compares libraries."""

    mode: str  # "same", "ref-client" or "ref-server"
    reference: str | None
    pairs: list[Pair]
    sides: tuple[int, ...]


def plan(peers: list[str], ref_client: str | None, ref_server: str | None) -> Plan:
    if ref_client is None and ref_server is None:
        return Plan("same", None, [Pair(p, p, p) for p in peers], (SERVER, CLIENT))
    reference = ref_client or ref_server
    assert reference is not None
    if not PEERS[reference].websocket:
        raise SystemExit(f"{reference} is no WebSocket peer: it cannot be the reference")
    rows = []
    for p in peers:
        if PEERS[p].websocket:
            rows.append(p)
        else:
            print(f"skipping {p}: plain TCP cannot talk to {reference}", file=sys.stderr)
    if ref_client is not None:
        return Plan("ref-client", reference, [Pair(p, p, reference) for p in rows], (SERVER,))
    return Plan("ref-server", reference, [Pair(p, reference, p) for p in rows], (CLIENT,))


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def ratio(value: float, base: float | None) -> str:
    if base is None or not base:
        return "–"
    r = value / base
    if r >= 100:
        return f"{r:,.0f}"
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"  # two digits that say something


def pick_peers(arg: str | None) -> list[str]:
    names = ORDER if not arg else [n.strip() for n in arg.split(",") if n.strip()]
    for name in names:
        if name not in PEERS:
            raise SystemExit(f"unknown peer {name!r}; known: {', '.join(ORDER)}")
    return runnable(names)


Results = dict[tuple[str, Size], list[tuple[float, ...]]]


def separate(pairs: list[Pair], sizes: list[Size], seconds: float, runs: int, loop: str) -> Results:
    """(row, size) -> per run: (server us/rt, client us/rt, round trips/s,
    server page faults/rt, client page faults/rt)."""
    results: Results = {}
    servers: dict[str, WorkerProc] = {}  # one per library, shared by its clients
    clients: dict[Pair, WorkerProc] = {}
    try:
        ports = {}
        for pair in pairs:
            if pair.server not in servers:
                servers[pair.server] = WorkerProc(pair.server, loop)
                ports[pair.server] = servers[pair.server].call("serve")["port"]
            clients[pair] = WorkerProc(pair.client, loop)
            clients[pair].call("connect", port=ports[pair.server])
        for run in range(runs):
            # Every pair at one size, then the next size: the numbers compared
            # with each other are measured close together in time.
            for size in sizes:
                for pair in pairs:
                    server, client = servers[pair.server], clients[pair]
                    before = server.call("mark")
                    r = client.call(
                        "run",
                        size=size.nbytes,
                        text=size.text,
                        seconds=seconds,
                        min_count=MIN_COUNT,
                    )
                    after = server.call("mark")
                    n = r["count"]
                    results.setdefault((pair.row, size), []).append(
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
        for worker in [*clients.values(), *servers.values()]:
            worker.quit()
    return results


def medians(results: Results) -> dict[tuple[str, Size], tuple[float, ...]]:
    return {
        key: tuple(statistics.median(v[i] for v in vals) for i in range(5))
        for key, vals in results.items()
    }


def spread(values: list[float]) -> float:
    """(max - min) / median."""
    return (max(values) - min(values)) / statistics.median(values)


def print_table(
    title: str,
    rows: list[str],
    sizes: list[Size],
    cell: Callable[[str, Size], str],
    loop: str,
) -> None:
    print(f"\n### {title}\n")
    print("| |" + "".join(f" {s.name} |" for s in sizes))
    print("|---|" + "---|" * len(sizes))
    for name in rows:
        cells = [cell(name, s) for s in sizes]
        print(f"| {PEERS[name].label_on(loop)} | " + " | ".join(cells) + " |")


def report_separate(
    results: Results, the_plan: Plan, sizes: list[Size], runs: int, loop: str
) -> None:
    med = medians(results)
    rows = [pair.row for pair in the_plan.pairs]
    sides = the_plan.sides
    side_names = " / ".join(SIDE_NAMES[i] for i in sides)
    ref = PEERS[the_plan.reference].label_on(loop) if the_plan.reference else ""
    who = {
        "same": "each library's client and server",
        "ref-client": f"each server driven by the client of {ref}",
        "ref-server": f"each client against the server of {ref}",
    }[the_plan.mode]
    setting = f"{who}; separate processes, {loop}, median of {runs}"

    def per_side(value: Callable[[int], str]) -> str:
        return " / ".join(value(i) for i in sides)

    def ratio_to(base: str) -> Callable[[str, Size], str]:
        return lambda n, s: per_side(lambda i: ratio(med[n, s][i], med[base, s][i]))

    print_table(
        f"CPU µs per echo round trip, {side_names} ({setting})",
        rows,
        sizes,
        lambda n, s: per_side(lambda i: fmt(med[n, s][i])),
        loop,
    )
    for base, title in (("picows", "picows"), ("tcp", "the plain-TCP floor")):
        if base in rows:
            print_table(
                f"Ratio to {title} (CPU per round trip, {side_names}; < 1 is less CPU)",
                rows,
                sizes,
                ratio_to(base),
                loop,
            )
    if "ferrobahn" in rows:
        print_table(
            f"ferrobahn ÷ each peer (ferrobahn's CPU per round trip ÷ the peer's, "
            f"{side_names}; < 1: ferrobahn uses less)",
            [n for n in rows if n != "ferrobahn" and PEERS[n].websocket],
            sizes,
            lambda n, s: per_side(lambda i: ratio(med["ferrobahn", s][i], med[n, s][i])),
            loop,
        )
    print_table(
        "Round trips per second (wall, one connection)",
        rows,
        sizes,
        lambda n, s: f"{med[n, s][RATE]:,.0f}",
        loop,
    )
    faults = (SERVER_FAULTS, CLIENT_FAULTS)
    print_table(
        f"Page faults per round trip, {side_names} (fresh pages touched: "
        "allocations that went back to the OS)",
        rows,
        sizes,
        lambda n, s: per_side(lambda i: f"{med[n, s][faults[i]]:.1f}"),
        loop,
    )
    if runs > 1:
        print_table(
            f"Spread of the runs: (max - min) / median, {side_names}",
            rows,
            sizes,
            lambda n, s: per_side(lambda i: f"{spread([v[i] for v in results[n, s]]):.0%}"),
            loop,
        )


def write_json(
    path: str, results: Results, the_plan: Plan, sizes: list[Size], runs: int, loop: str
) -> None:
    """The medians and spreads, by row and size name, for ``report.py``."""
    med = medians(results)
    rows = [pair.row for pair in the_plan.pairs]
    data: dict[str, Any] = {
        "mode": the_plan.mode,
        "reference": the_plan.reference,
        "loop": loop,
        "runs": runs,
        "sizes": [s.name for s in sizes],
        "labels": {n: PEERS[n].label_on(loop) for n in rows},
        "median": {
            n: {
                s.name: {
                    "server": med[n, s][SERVER],
                    "client": med[n, s][CLIENT],
                    "rate": med[n, s][RATE],
                }
                for s in sizes
            }
            for n in rows
        },
        "spread": {
            n: {
                s.name: {SIDE_NAMES[i]: spread([v[i] for v in results[n, s]]) for i in SIDE_NAMES}
                for s in sizes
            }
            for n in rows
        },
    }
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def inprocess(
    peers: list[str], sizes: list[Size], seconds: float, rounds: int, loop: str
) -> dict[tuple[str, Size], tuple[float, float]]:
    """(peer, size) -> (best round trips/s, CPU us per round trip at that run)."""
    best: dict[tuple[str, Size], tuple[float, float]] = {}
    workers: dict[str, WorkerProc] = {}
    try:
        for name in peers:
            workers[name] = WorkerProc(name, loop)
            workers[name].call("inproc")
        for _ in range(rounds):
            for size in sizes:
                for name in peers:
                    r = workers[name].call(
                        "run",
                        size=size.nbytes,
                        text=size.text,
                        seconds=seconds,
                        min_count=MIN_COUNT,
                    )
                    rate = r["count"] / r["wall"]
                    if rate > best.get((name, size), (0.0, 0.0))[0]:
                        best[name, size] = (rate, r["cpu"] / r["count"] * 1e6)
    finally:
        for w in workers.values():
            w.quit()
    return best


def report_inprocess(
    best: dict[tuple[str, Size], tuple[float, float]],
    peers: list[str],
    sizes: list[Size],
    rounds: int,
    loop: str,
) -> None:
    print_table(
        f"In one process: round trips/s (best of {rounds}) and CPU µs per round trip, "
        f"both ends ({loop})",
        peers,
        sizes,
        lambda n, s: f"{best[n, s][0]:,.0f} ({fmt(best[n, s][1])} µs)",
        loop,
    )
    if "ferrobahn" in peers:
        print_table(
            "In one process: ferrobahn's round trips/s ÷ the peer's (> 1: ferrobahn faster)",
            [n for n in peers if n != "ferrobahn"],
            sizes,
            lambda n, s: f"{best['ferrobahn', s][0] / best[n, s][0]:.2f}",
            loop,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH_FULL") == "1")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--peers", help="comma-separated, default: all installed")
    parser.add_argument(
        "--sizes", default=SIZES, help=f"comma-separated bytes, t for text (default {SIZES})"
    )
    parser.add_argument("--seconds", type=float, help="per measurement (default 0.2, full 2)")
    parser.add_argument(
        "--runs", type=int, help="runs per measurement (default 5; in process 1; full 5)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--ref-client", metavar="PEER", help="every server driven by this client")
    mode.add_argument("--ref-server", metavar="PEER", help="every client against this server")
    mode.add_argument("--inprocess", action="store_true", help="both ends in one process")
    parser.add_argument("--json", metavar="PATH", help="also write the medians here")
    args = parser.parse_args()
    seconds = args.seconds or (2.0 if args.full else 0.2)
    runs = args.runs or (5 if args.full else 1 if args.inprocess else 5)
    sizes = [Size.parse(s) for s in args.sizes.split(",") if s.strip()]
    peers = pick_peers(args.peers)
    started = time.perf_counter()
    if args.inprocess:
        best = inprocess(peers, sizes, seconds, runs, args.loop)
        report_inprocess(best, peers, sizes, runs, args.loop)
    else:
        reference = args.ref_client or args.ref_server
        if reference is not None and reference not in peers:
            peers.append(reference)  # its own row: the ratios' base
        the_plan = plan(peers, args.ref_client, args.ref_server)
        results = separate(the_plan.pairs, sizes, seconds, runs, args.loop)
        report_separate(results, the_plan, sizes, runs, args.loop)
        if args.json:
            write_json(args.json, results, the_plan, sizes, runs, args.loop)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n({time.perf_counter() - started:.0f} s; load average after: {load}; ", end="")
    print(f"`{' '.join(sys.argv)}`)")


if __name__ == "__main__":
    main()
