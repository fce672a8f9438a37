"""ferrobahn's testee client for the conformance tester's ``fuzzingserver`` mode on
Twisted, the shape of AutobahnPython's ``wstest/testee_client_tx.py``: ask for the
case count, run every case (echoing each message back), then ask the server to
update its reports; each next connection starts from ``clientConnectionLost``.

    python -m ferrobahn.testsuite fuzzingserver --port 9001 &
    python examples/testee/twisted_client.py [ws://127.0.0.1:9001]

Options as AutobahnPython's testee sets them (``testee.configure``). A
connection that does not end within ``CONNECTION_TIMEOUT`` is aborted; the exit
status is 1 if a connection failed.
"""

import sys

from testee import CONNECTION_TIMEOUT, configure, run_case, update_reports
from twisted.internet import reactor

from ferrobahn.twisted import __ident__
from ferrobahn.twisted.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    connectWS,
)
from ferrobahn.websocket import compress


class TesteeClientProtocol(WebSocketClientProtocol):
    def connectionMade(self):
        super().connectionMade()
        self.watchdog = reactor.callLater(CONNECTION_TIMEOUT, self.transport.abortConnection)

    def onMessage(self, payload, isBinary):
        if self.factory.case_count is None:
            self.factory.case_count = int(payload)
            print(f"Running {self.factory.case_count} cases as {self.factory.agent}", flush=True)
        else:
            self.sendMessage(payload, isBinary)

    def onClose(self, wasClean, code, reason):
        if self.watchdog.active():
            self.watchdog.cancel()


class TesteeClientFactory(WebSocketClientFactory):
    protocol = TesteeClientProtocol

    def __init__(self, url):
        self.agent = __ident__
        super().__init__(url, useragent=self.agent)
        configure(self, compress)
        self.case_count = None
        self.current_case = 0
        self.update_reports = True
        self.failed = False
        self.resource = "/getCaseCount"

    def clientConnectionLost(self, connector, reason):
        self.current_case += 1
        if self.case_count is not None and self.current_case <= self.case_count:
            self.resource = run_case(self.current_case, self.agent)
            connector.connect()
        elif self.case_count is not None and self.update_reports:
            self.resource = update_reports(self.agent)
            self.update_reports = False
            connector.connect()
        else:
            self.failed = self.case_count is None
            reactor.stop()

    def clientConnectionFailed(self, connector, reason):
        print(f"Connection to {self.url} failed: {reason.getErrorMessage()}", flush=True)
        self.failed = True
        reactor.stop()


if __name__ == "__main__":
    factory = TesteeClientFactory(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001")
    connectWS(factory)
    reactor.run()
    sys.exit(1 if factory.failed else 0)
