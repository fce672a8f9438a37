"""Reference peer for validating the conformance tester: a `websockets` echo server.

websockets is known to pass the Autobahn|Testsuite (NON-STRICT on 3.2, 3.3, 4.1.3,
4.1.4, 4.2.3, 4.2.4, 5.15 and 6.4.1-6.4.4, a deliberate FAIL on 7.1.5), so any other
non-OK result against it points at a bug in the tester. Like websockets' own
compliance server: permessage-deflate on (the default), ``max_size`` 32 MiB.
websockets 14+ also limits a
message to 4096 frames (``WEBSOCKETS_MAX_FRAGMENTS``), newer than its published
Autobahn results; 9.3.1/9.4.1 send 16384 (quick) or 65536 (full) frames, so this
server raises that limit, as it raises ``max_size``.

    python examples/testee/websockets_echo_server.py [port]   # 0: any free port
"""

import asyncio
import os
import sys

os.environ.setdefault("WEBSOCKETS_MAX_FRAGMENTS", str(2**20))  # read when websockets loads

from websockets.asyncio.server import serve  # noqa: E402


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


async def main(port: int) -> None:
    async with serve(echo, "127.0.0.1", port, max_size=2**25) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"ws://127.0.0.1:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9002))
