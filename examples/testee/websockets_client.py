"""Reference peer for validating the conformance tester's ``fuzzingserver`` mode: a
`websockets` testee client, the shape of websockets' own compliance client (case
count, every case echoing each message, then the reports). Like that client:
permessage-deflate on (websockets' default offer, ``client_max_window_bits``
only), ``max_size`` 32 MiB; and the 4096-frame limit of websockets 14+ raised for
9.3.1/9.4.1. Its offer lacks ``client_no_context_takeover``, which the original's
server rules for 13.2, 13.5 and 13.6 require of an offer, so those sub-groups are
UNIMPLEMENTED for this client, as they are with the original suite.

    python examples/testee/websockets_client.py [ws://127.0.0.1:9001]
"""

import asyncio
import os
import sys

os.environ.setdefault("WEBSOCKETS_MAX_FRAGMENTS", str(2**20))  # read when websockets loads

from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import WebSocketException  # noqa: E402

AGENT = "websockets"
#: Longer than the longest case of the full mode (9.5.x/9.6.x: 1000 s).
CONNECTION_TIMEOUT = 1100.0


async def run_case(url: str, case: int) -> None:
    async with connect(
        f"{url}/runCase?case={case}&agent={AGENT}",
        max_size=2**25,
        ping_interval=None,
        proxy=None,
    ) as ws:
        try:
            async for message in ws:
                await ws.send(message)
        except WebSocketException:
            pass


async def main(url: str) -> None:
    async with connect(f"{url}/getCaseCount", proxy=None) as ws:
        count = int(await asyncio.wait_for(ws.recv(), 10))
    print(f"Running {count} cases as {AGENT}", flush=True)
    for case in range(1, count + 1):
        try:
            await asyncio.wait_for(run_case(url, case), CONNECTION_TIMEOUT)
        except WebSocketException as exc:  # e.g. a failed opening handshake
            print(f"case {case}: {exc!r}", flush=True)
    async with connect(f"{url}/updateReports?agent={AGENT}", proxy=None):
        pass


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"))
