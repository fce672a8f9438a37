"""ferrobahn's testee client for the conformance tester's ``fuzzingserver`` mode
(asyncio), the shape of AutobahnPython's ``wstest/testee_client_aio.py``: ask for the
case count, run every case (echoing each message back), then ask the server to
update its reports. Written against the public API like any user program; given
``autobahn`` as second argument it runs on AutobahnPython itself (a reference peer
for validating the tester).

    python -m ferrobahn.testsuite fuzzingserver --port 9001 &
    python examples/testee/asyncio_client.py [ws://127.0.0.1:9001] [ferrobahn|autobahn]

Options as AutobahnPython's testee sets them (``testee.configure``): no drop
without a close frame, limits above the largest case, permessage-deflate offered
(AutobahnPython's default offer; the tester accepts it in groups 12 and 13 only).
Every connection is
bounded in time; the exit status is 1 if a connection could not be made or did
not end.
"""

import asyncio
import sys

from testee import CONNECTION_TIMEOUT, configure, run_case, update_reports

if len(sys.argv) > 2 and sys.argv[2] == "autobahn":
    from autobahn.asyncio import __ident__
    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
    from autobahn.websocket import compress
else:
    from ferrobahn.asyncio import __ident__
    from ferrobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
    from ferrobahn.websocket import compress


class TesteeClientProtocol(WebSocketClientProtocol):
    def onMessage(self, payload, isBinary):
        if self.factory.case_count is None:
            self.factory.case_count = int(payload)
        else:
            self.sendMessage(payload, isBinary)

    def onClose(self, wasClean, code, reason):
        if not self.factory.done.done():
            self.factory.done.set_result(None)


class TesteeClientFactory(WebSocketClientFactory):
    protocol = TesteeClientProtocol

    def __init__(self, url, agent):
        super().__init__(url, useragent=agent)
        self.agent = agent
        self.case_count = None
        self.done = None
        configure(self, compress)


async def connection(factory, resource):
    """One connection to ``resource``, until the WebSocket connection is closed."""
    loop = asyncio.get_running_loop()
    factory.resource = resource
    factory.done = loop.create_future()
    transport, _ = await asyncio.wait_for(
        loop.create_connection(factory, factory.host, factory.port), 10
    )
    try:
        await asyncio.wait_for(factory.done, CONNECTION_TIMEOUT)
    finally:
        transport.abort()  # a no-op once the connection is closed


async def main(url):
    factory = TesteeClientFactory(url, __ident__)
    await connection(factory, "/getCaseCount")
    if factory.case_count is None:
        raise SystemExit(f"{url} did not send the case count")
    print(f"Running {factory.case_count} cases as {factory.agent}", flush=True)
    for case in range(1, factory.case_count + 1):
        await connection(factory, run_case(case, factory.agent))
    await connection(factory, update_reports(factory.agent))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"))
