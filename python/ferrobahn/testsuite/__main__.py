"""Command line. ``python -m ferrobahn.testsuite fuzzingclient URL`` tests a
WebSocket echo server; ``python -m ferrobahn.testsuite fuzzingserver --port N``
tests WebSocket clients (testee clients connect to ``/getCaseCount``,
``/runCase?case=N&agent=A`` and ``/updateReports?agent=A``); see ``--help``.
The exit status is 1 when a case failed (with ``--strict``: when any case is not
OK or INFORMATIONAL on both verdicts), so CI can gate on it; 2 for a usage error.

Both take ``--spec FILE``, the original's JSON spec files (``fuzzingclient.json``,
``fuzzingserver.json``; see ``spec.py``): the spec's servers (``fuzzingclient``:
run one after the other into one report), listening URL, outdir, cases,
exclude-cases and exclude-agent-cases fill in what the flags would; an explicit
flag wins (a URL or ``--agent`` given with a spec replaces the ``url``/``agent``
of its only server). Settings the tester does not implement (``options`` such as
failByDrop or version, ...) are ignored with one warning line on stderr.

``exclude-agent-cases`` leaves a case out for the agents matching a pattern:
``fuzzingclient`` does not run it against such a server (when the spec names no
agent, the ``Server`` header does, and the tester closes right after the opening
handshake, as the original does); ``fuzzingserver`` answers ``/runCase`` for it
with an immediate close frame and leaves it out of that agent's report, keeping
``/getCaseCount`` and the case numbers unchanged, as the original's fuzzing
server does (``fuzzingserver.py``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ferrobahn.testsuite.cases import MODES, Case, all_cases, select
from ferrobahn.testsuite.fuzzingserver import FuzzingServer
from ferrobahn.testsuite.report import summary_lines, write_reports
from ferrobahn.testsuite.runner import CaseResult, Excluded, run_fuzzing_client
from ferrobahn.testsuite.spec import AgentExclusions, Server, Spec, SpecError, load_spec
from ferrobahn.testsuite.verdict import is_failed

DEFAULT_OUTDIR = {
    "fuzzingclient": Path("reports/servers"),
    "fuzzingserver": Path("reports/clients"),
}
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 9001


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
    client.add_argument(
        "url", nargs="?", help="the echo server, e.g. ws://127.0.0.1:9001 (or the spec's servers)"
    )
    client.add_argument("--agent", help="name in the reports (default: the Server header)")
    client.add_argument("--outdir", type=Path, help="default: reports/servers")
    server = modes.add_parser(
        "fuzzingserver",
        help="test WebSocket clients (the original's /getCaseCount, /runCase, /updateReports)",
        description="Serve the cases to testee clients. Prints the server's ws:// URL "
        "once it listens.",
    )
    server.add_argument(
        "--port", type=int, help="0 picks a free port (default: the spec's url, else 9001)"
    )
    server.add_argument("--host", help="default: the spec's url, else 127.0.0.1")
    server.add_argument("--outdir", type=Path, help="default: reports/clients")
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
            "--spec",
            type=Path,
            metavar="FILE",
            help="an Autobahn|Testsuite JSON spec file (wstest -s); flags given win over it",
        )
        sub.add_argument(
            "--cases", nargs="+", help="case patterns, e.g. 1.* 6.4.* 7.7.1 (default: *)"
        )
        sub.add_argument("--exclude", nargs="+", help="case patterns to leave out")
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


def _skipped(quiet: bool) -> Callable[[Case, str], None]:
    def show(case: Case, agent: str) -> None:
        if not quiet:
            print(f"{case.id:<8} skipped for {agent} (exclude-agent-cases)", flush=True)

    return show


async def _serve(args: argparse.Namespace, cases: list[Case], excluded: Excluded | None) -> int:
    server = FuzzingServer(
        cases, args.outdir, args.mode, _progress(args.quiet), excluded, _skipped(args.quiet)
    )
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


async def _test_servers(
    servers: Sequence[Server], cases: list[Case], excluded: Excluded | None, quiet: bool
) -> list[list[CaseResult]]:
    """Each server's results, one server after the other."""
    return [
        await run_fuzzing_client(s.url, cases, s.agent, _progress(quiet), excluded, _skipped(quiet))
        for s in servers
    ]


def _servers(
    parser: argparse.ArgumentParser, args: argparse.Namespace, spec: Spec | None
) -> list[Server]:
    """The servers to test: the spec's, the command line's URL and ``--agent``
    replacing those of its only server."""
    listed = spec.servers if spec is not None else []
    if args.url is None and args.agent is None and listed:
        return listed
    if len(listed) > 1:
        parser.error(
            f"the spec lists {len(listed)} servers: a URL or --agent on the command line "
            "cannot say which one it replaces"
        )
    url = args.url or (listed[0].url if listed else None)
    if url is None:
        parser.error("fuzzingclient needs the server's URL: give it, or a --spec with servers")
    return [Server(url, args.agent or (listed[0].agent if listed else None))]


def _listen_on(args: argparse.Namespace, spec: Spec | None) -> None:
    """``--host``/``--port``, else the spec's url, else the defaults."""
    parts = urlsplit(spec.url) if spec is not None and spec.url is not None else None
    if args.host is None:
        args.host = (parts.hostname if parts is not None else None) or DEFAULT_HOST
    if args.port is None:
        args.port = (parts.port or 80) if parts is not None else DEFAULT_PORT


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    spec = None
    if args.spec is not None:
        try:
            spec = load_spec(args.spec, args.command)
        except SpecError as exc:
            parser.error(str(exc))
        if spec.ignored:
            print(
                f"warning: {args.spec}: not implemented by this tester, ignored: "
                + ", ".join(spec.ignored),
                file=sys.stderr,
                flush=True,
            )
    include = args.cases if args.cases is not None else spec.cases if spec else None
    exclude = args.exclude if args.exclude is not None else spec.exclude if spec else None
    if args.outdir is None:
        args.outdir = spec.outdir if spec and spec.outdir else DEFAULT_OUTDIR[args.command]
    exclusions = spec.exclusions if spec is not None else AgentExclusions()
    excluded = exclusions if exclusions else None
    cases = select(
        all_cases(args.mode), _patterns(["*"] if include is None else include), _patterns(exclude)
    )
    if not cases:
        print("no case matches the patterns given", file=sys.stderr)
        return 2
    if args.command == "fuzzingserver":
        _listen_on(args, spec)
        try:
            return asyncio.run(_serve(args, cases, excluded))
        except KeyboardInterrupt:
            return 130
    servers = _servers(parser, args, spec)
    runs = asyncio.run(_test_servers(servers, cases, excluded, args.quiet))
    everything = [r for results in runs for r in results]
    if not everything:
        print("no case was run", file=sys.stderr)
        return 1
    page = write_reports(everything, args.outdir, args.mode)
    status = 0
    for server, results in zip(servers, runs):
        if results:
            status |= _conclude(results, page, args.strict)
        else:
            print(f"no case was run against {server.agent or server.url} (exclude-agent-cases)")
    return status


if __name__ == "__main__":
    sys.exit(main())
