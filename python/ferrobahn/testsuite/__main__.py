"""Command line. ``python -m ferrobahn.testsuite fuzzingclient URL`` tests a
WebSocket echo server; ``python -m ferrobahn.testsuite fuzzingserver --port N``
tests WebSocket clients (testee clients connect to ``/getCaseCount``,
``/runCase?case=N&agent=A`` and ``/updateReports?agent=A``); see ``--help``.
The exit status is 1 when a case failed (with ``--strict``: when any case is not
OK or INFORMATIONAL on both verdicts), so CI can gate on it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ferrobahn.testsuite.cases import MODES, Case, all_cases, select
from ferrobahn.testsuite.fuzzingserver import FuzzingServer
from ferrobahn.testsuite.report import summary_lines, write_reports
from ferrobahn.testsuite.runner import CaseResult, run_fuzzing_client
from ferrobahn.testsuite.verdict import is_failed


def _patterns(values: Sequence[str] | None) -> list[str]:
    """Patterns given as several arguments and/or comma-separated lists."""
    return [p.strip() for v in values or () for p in v.split(",") if p.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ferrobahn.testsuite",
        description="WebSocket conformance tester (Autobahn|Testsuite cases, Python 3).",
    )
    modes = parser.add_subparsers(dest="command", required=True)
    client = modes.add_parser("fuzzingclient", help="test a WebSocket echo server")
    client.add_argument("url", help="the echo server, e.g. ws://127.0.0.1:9001")
    client.add_argument("--agent", help="name in the reports (default: the Server header)")
    client.add_argument("--outdir", default="reports/servers", type=Path)
    server = modes.add_parser(
        "fuzzingserver",
        help="test WebSocket clients (the original's /getCaseCount, /runCase, /updateReports)",
        description="Serve the cases to testee clients. Prints the server's ws:// URL "
        "once it listens.",
    )
    server.add_argument("--port", type=int, default=9001, help="0 picks a free port")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--outdir", default="reports/clients", type=Path)
    server.add_argument(
        "--exit-after",
        type=int,
        default=0,
        metavar="N",
        help="exit after N /updateReports requests (status 1 if a case of those agents "
        "failed); default: serve until interrupted",
    )
    for sub in (client, server):
        sub.add_argument(
            "--cases", nargs="+", default=["*"], help="case patterns, e.g. 1.* 6.4.* 7.7.1"
        )
        sub.add_argument("--exclude", nargs="+", default=[], help="case patterns to leave out")
        sub.add_argument(
            "--mode",
            choices=MODES,
            default="quick",
            help="quick: group 9 messages capped at 1 MiB, groups 12/13 reduced to 52 cases "
            "of 250 messages; full: as the original (up to 16 MiB, 216 deflate cases of 1000)",
        )
        sub.add_argument(
            "--strict", action="store_true", help="exit 1 unless every case is OK/INFORMATIONAL"
        )
        sub.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def _progress(quiet: bool) -> Callable[[CaseResult], None]:
    def show(r: CaseResult) -> None:
        if not quiet:
            v = r.verdict
            code = r.seen.remote_close_code
            print(
                f"{r.case.id:<8} {v.behavior:<13} {v.behavior_close:<16} {code!s:<5} "
                f"{r.duration_ms:>6} ms  {r.agent}",
                flush=True,
            )

    return show


def _conclude(results: Sequence[CaseResult], page: Path | None, strict: bool) -> int:
    """Print the summary of one agent's run; the exit status."""
    if not results:
        print("no case was run", file=sys.stderr)
        return 1
    failed = [
        r for r in results if is_failed(r.verdict.behavior, r.verdict.behavior_close, strict=strict)
    ]
    print(f"{len(results)} cases against {results[0].agent}; report: {page}")
    print("\n".join(summary_lines(results)))
    for r in failed:
        v = r.verdict
        print(f"  not passed: {r.case.id} {v.behavior}/{v.behavior_close}: {v.result}")
    sys.stdout.flush()
    return 1 if failed else 0


async def _serve(args: argparse.Namespace, cases: list[Case]) -> int:
    server = FuzzingServer(cases, args.outdir, args.mode, _progress(args.quiet))
    port = await server.start(args.host, args.port)
    print(f"ws://{args.host}:{port}", flush=True)
    status, reports = 0, 0
    try:
        while not args.exit_after or reports < args.exit_after:
            agent = await server.reported.get()
            reports += 1
            status |= _conclude(server.agent_results(agent), server.report_page, args.strict)
        return status
    finally:
        await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cases = select(all_cases(args.mode), _patterns(args.cases), _patterns(args.exclude))
    if not cases:
        print("no case matches the patterns given", file=sys.stderr)
        return 2
    if args.command == "fuzzingserver":
        try:
            return asyncio.run(_serve(args, cases))
        except KeyboardInterrupt:
            return 130
    results = asyncio.run(run_fuzzing_client(args.url, cases, args.agent, _progress(args.quiet)))
    return _conclude(results, write_reports(results, args.outdir, args.mode), args.strict)


if __name__ == "__main__":
    sys.exit(main())
