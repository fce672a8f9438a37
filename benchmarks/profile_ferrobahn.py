"""Where ferrobahn's time and memory go: numbers to tune by.

    python benchmarks/profile_ferrobahn.py recv       # per-message cost, receive and send paths
    python benchmarks/profile_ferrobahn.py memory     # one idle connection, piece by piece
    python benchmarks/profile_ferrobahn.py handshake  # one handshake, piece by piece
    python benchmarks/profile_ferrobahn.py spy        # py-spy on a real echo server (64 B)
    python benchmarks/profile_ferrobahn.py perf       # perf: CPU by library, echo server (64 B)
    python benchmarks/profile_ferrobahn.py all        # every one of the above that can run

``recv``, ``memory`` and ``handshake`` run ferrobahn's real protocol objects
on a fake transport (``inmemory.py``): no event loop or socket, so what they
measure is ferrobahn's own work, timed step by step (each step adds one layer
to the one before) and then profiled with cProfile. ``spy`` and ``perf`` attach
to an echo server worker (``peers.py``) while a client process drives it.
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import inmemory as im  # noqa: E402

from ferrobahn import _core  # noqa: E402
from ferrobahn.asyncio.websocket import (  # noqa: E402
    WebSocketServerProtocol,
)


def per_call(fn: Callable[[], Any], n: int) -> float:
    """Best of 5 batches: µs per call."""
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def top_functions(fn: Callable[[], Any], n: int, limit: int = 14) -> None:
    """cProfile ``n`` calls of ``fn``; the functions with the most own time,
    in µs per call of ``fn`` (cProfile's own overhead inflates small functions)."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        fn()
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, name), (_cc, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{os.path.basename(file)}:{line}" if line else "C"
        rows.append((tottime, cumtime, ncalls, f"{name} ({where})"))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    print(f"  cProfile, {n} calls; own time per call of the whole (and cumulative):")
    for tottime, cumtime, ncalls, label in rows[:limit]:
        print(
            f"    {tottime / n * 1e6:7.3f} µs ({cumtime / n * 1e6:7.3f})  "
            f"{ncalls / n:5.2f}×  {tottime / total * 100:4.1f}%  {label}"
        )


# -- receive and send, per message -------------------------------------------------


class _Count(WebSocketServerProtocol):
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        pass


class _Echo(WebSocketServerProtocol):
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.sendMessage(payload, isBinary)


def recv() -> None:
    import asyncio

    asyncio.set_event_loop(asyncio.new_event_loop())
    payload = os.urandom(64)
    frame = _core.encode_frame(2, payload, mask=True)
    n = 200_000
    parser = _core.Parser("required")
    count = im.ferrobahn_server(_Count)
    echo = im.ferrobahn_server(_Echo)
    client = im.ferrobahn_client()
    print("\n## Receive and send path, one 64 B binary message per read (µs per message)\n")
    steps = [
        ("Parser.feed(read) alone", lambda: parser.feed(frame)),
        ("+ protocol: _dataReceived → no-op onMessage", lambda: count._dataReceived(frame)),
        ("+ onMessage echoes: sendMessage → transport.write", lambda: echo._dataReceived(frame)),
        (
            "send alone: _core.encode_message (unmasked)",
            lambda: _core.encode_message(payload, True),
        ),
        ("send alone: server sendMessage → write", lambda: echo.sendMessage(payload, True)),
        (
            "send alone: _core.encode_message (masked)",
            lambda: _core.encode_message(payload, True, True),
        ),
        (
            "send alone: client sendMessage → write (masked)",
            lambda: client.sendMessage(payload, True),
        ),
    ]
    print("| step | µs per message |")
    print("|---|---|")
    for label, fn in steps:
        print(f"| {label} | {per_call(fn, n):.3f} |")
    print("\nServer receive + echo (the 3rd step):")
    top_functions(lambda: echo._dataReceived(frame), n)
    print("\nClient send (the last step):")
    top_functions(lambda: client.sendMessage(payload, True), n)


# -- memory per idle connection ------------------------------------------------------


def memory() -> None:
    import asyncio

    asyncio.set_event_loop(asyncio.new_event_loop())
    n = 1000

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    factory = im.server_factory("ferrobahn", _Count)
    warm = [im.ferrobahn_server(factory=factory) for _ in range(50)]  # imports, caches
    gc.collect()
    r0 = rss()
    protos = [im.ferrobahn_server(factory=factory) for _ in range(n)]
    gc.collect()
    r1 = rss()
    # Again, traced (tracemalloc's own bookkeeping would inflate the RSS above).
    tracemalloc.start(1)
    snap0 = tracemalloc.take_snapshot()
    traced_protos = [im.ferrobahn_server(factory=factory) for _ in range(n)]
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    traced = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    del warm, traced_protos

    p = protos[0]
    print(f"\n## One idle server connection, open, on a fake transport ({n} of them)\n")
    print(f"- RSS growth per connection: {(r1 - r0) / n / 1024:.2f} KiB")
    print(f"- Python allocations (tracemalloc, second batch): {traced / n / 1024:.2f} KiB")
    print("  (the fake transport's share is a few hundred bytes; a real transport is not here)")
    print("\n| piece | bytes |")
    print("|---|---|")
    d = p.__dict__
    fut = p.is_open
    pieces = [
        ("protocol object (no __slots__)", sys.getsizeof(p)),
        (f"its __dict__ ({len(d)} attributes)", sys.getsizeof(d)),
        ("is_open + is_closed futures", sys.getsizeof(fut) * 2),
        ("transport_details", sys.getsizeof(p.transport_details) + _dict_size(p.transport_details)),
        ("_core.Parser object (Python side only)", sys.getsizeof(p._parser)),
        ("http_headers dict", sys.getsizeof(p.http_headers)),
        (
            "http_request_data (the request head)",
            sys.getsizeof(getattr(p, "http_request_data", b"")),
        ),
        ("http_request_params", sys.getsizeof(p.http_request_params or {})),
        (
            "websocket_* lists, observers list",
            sum(
                sys.getsizeof(getattr(p, a))
                for a in (
                    "websocket_protocols",
                    "websocket_extensions",
                    "websocket_extensions_in_use",
                    "_message_observers",
                    "_early_data",
                )
            ),
        ),
    ]
    for label, size in pieces:
        print(f"| {label} | {size:,} |")
    print("\nPython allocations per connection by source line (tracemalloc):\n")
    for stat in snap1.compare_to(snap0, "lineno")[:12]:
        frame = stat.traceback[0]
        print(
            f"    {stat.size_diff / n:8.0f} B  {stat.count_diff / n:5.1f} blocks  "
            f"{os.path.relpath(frame.filename)}:{frame.lineno}"
        )
    # The parser alone, Rust side included.
    gc.collect()
    r2 = rss()
    parsers = [_core.Parser("required", max_frame_payload=1 << 24) for _ in range(10 * n)]
    r3 = rss()
    print(f"\n_core.Parser alone: {(r3 - r2) / len(parsers):.0f} B each (RSS, 10,000 of them)")
    del parsers, protos


def _dict_size(obj: Any) -> int:
    return sys.getsizeof(getattr(obj, "__dict__", {}))


# -- handshake -----------------------------------------------------------------------


def handshake() -> None:
    import asyncio

    asyncio.set_event_loop(asyncio.new_event_loop())
    n = 5000
    request = im.UPGRADE_REQUEST
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    head = _core.HeadReader()
    print("\n## One opening handshake, server and client side, in process (µs)\n")

    def rust_server() -> None:
        reader = _core.HeadReader()
        reader.feed(request)
        req = _core.parse_request(reader.head)
        req.upgrade()
        _core.build_accept_response(key, server="ferrobahn")

    response = _core.build_accept_response(key)

    def rust_client() -> None:
        k = _core.generate_client_key()
        _core.build_request("127.0.0.1", 9000, "/", k)
        reader = _core.HeadReader()
        reader.feed(response)
        _core.parse_response(reader.head)

    del head
    sf = im.server_factory("ferrobahn", _Count)
    cf = im.client_factory("ferrobahn")

    def server() -> None:
        im.ferrobahn_server(factory=sf)

    def client() -> None:
        im.ferrobahn_client(factory=cf)

    steps = [
        ("server, Rust calls only (read head, parse, check, build 101)", rust_server),
        ("server: factory() + connection_made + request → 101 + open", server),
        ("client, Rust calls only (key, build request, read + parse 101)", rust_client),
        ("client: factory() + connection_made → request; 101 → open", client),
    ]
    print("| step | µs per handshake |")
    print("|---|---|")
    for label, fn in steps:
        print(f"| {label} | {per_call(fn, n // 5):.1f} |")
    print("\nServer side:")
    top_functions(server, n, limit=16)
    print("\nClient side:")
    top_functions(client, n, limit=12)


# -- attached profilers on a real echo server ------------------------------------------


def _echo_pair(seconds: float) -> tuple[Any, Any, int]:
    from peers import WorkerProc

    server, client = WorkerProc("ferrobahn"), WorkerProc("ferrobahn")
    port = server.call("serve")["port"]
    client.call("connect", port=port)
    client.call("run", size=64, seconds=0.3)  # warm-up
    return server, client, port


def spy(seconds: float = 5.0) -> None:
    """py-spy on the echo server while the client runs 64 B round trips:
    own time by function (the leaf of each sample)."""
    exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(exe):
        print("\n(py-spy is not installed: pip install py-spy)")
        return
    server, client, _ = _echo_pair(seconds)
    out = tempfile.mktemp(suffix=".txt")
    try:
        spy_proc = subprocess.Popen(
            [
                exe,
                "record",
                "-p",
                str(server.pid),
                "-d",
                str(int(seconds)),
                "-r",
                "500",
                "-f",
                "raw",
                "-o",
                out,
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        client.call("run", size=64, seconds=seconds)
        spy_proc.wait(30)
    finally:
        client.quit()
        server.quit()
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(out) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            frames = stack.split(";")
            leaf[frames[-1]] += int(count)
            for frame in set(frames):
                inclusive[frame] += int(count)
            total += int(count)
    os.unlink(out)
    print(f"\n## py-spy: ferrobahn echo server, 64 B round trips ({total} samples)\n")
    print("Own time by Python function (native code, e.g. the loop's and the")
    print("transport's system calls, is counted in the Python function calling it):\n")
    for name, count in leaf.most_common(10):
        print(f"    {count / total * 100:5.1f}%  {name}")
    print("\nInclusive time of ferrobahn's functions (with what they call):\n")
    ours = [(n, c) for n, c in inclusive.most_common() if "ferrobahn/" in n or "onMessage" in n]
    for name, count in ours[:8]:
        print(f"    {count / total * 100:5.1f}%  {name}")


def perf(seconds: float = 5.0) -> None:
    """perf on the echo server while the client runs 64 B round trips: CPU by
    shared object (kernel, Python interpreter, uvloop, ferrobahn's core)."""
    if shutil.which("perf") is None:
        print("\n(perf is not installed)")
        return
    server, client, _ = _echo_pair(seconds)
    data = tempfile.mktemp(suffix=".data")
    try:
        rec = subprocess.Popen(
            [
                "perf",
                "record",
                "-F",
                "1999",
                "-p",
                str(server.pid),
                "-o",
                data,
                "--",
                "sleep",
                str(seconds),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        client.call("run", size=64, seconds=seconds - 0.5)
        rec.wait(30)
    finally:
        client.quit()
        server.quit()
    for sort in ("dso", "dso,symbol"):
        report = subprocess.run(
            ["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio"],
            capture_output=True,
            text=True,
        ).stdout
        rows = [r for r in report.splitlines() if r.strip() and not r.startswith("#")]
        title = "shared object" if sort == "dso" else "symbol"
        print(f"\n## perf: ferrobahn echo server, 64 B round trips, CPU by {title}\n")
        for row in rows[: 8 if sort == "dso" else 20]:
            print("    " + " ".join(row.split()))
    os.unlink(data)


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    todo = {"recv": recv, "memory": memory, "handshake": handshake, "spy": spy, "perf": perf}
    if what == "all":
        for fn in todo.values():
            fn()
    elif what in todo:
        todo[what]()
    else:
        raise SystemExit(f"usage: {sys.argv[0]} [{'|'.join(todo)}|all]")


if __name__ == "__main__":
    main()
