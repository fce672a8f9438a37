"""A real browser against ferrobahn: headless Chromium (Debian's ``chromium``
package; ``.ci/run`` installs it) loads a page whose script exchanges text (with
multi-byte characters), binary (every byte value) and a 70,000-byte text message
(64-bit length) with a ferrobahn echo server over ``ws://``, then closes with 1000,
writing what it saw into the page. ``chromium --dump-dom`` prints the page once it
has loaded, so the server holds the end of the page back until the script reports
(``GET /done``) that its WebSocket is closed: the dump then holds every result.

Two flavours: asyncio (the page from a minimal HTTP responder here, the WebSocket
from ferrobahn's asyncio server on its own port) and Twisted (page, report and
WebSocket on one port: a twisted.web site with ferrobahn's ``WebSocketResource``).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import RecordingProtocol, next_event, run, start_server
from flavours import Events, in_reactor

from ferrobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium; "
    ".ci/run installs it)",
)

#: Bound on the browser's whole run, and on how long the page is held back.
BROWSER_TIMEOUT = 30.0

PAGE_HEAD = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ferrobahn in a browser</title></head>
<body><pre id="result"></pre>
<script>
const log = (line) => { document.getElementById("result").textContent += line + "\\n"; };
const text = "Hello, ferrobahn! κόσμε 😀";
const bytes = Uint8Array.from({length: 256}, (_, i) => i);
const large = "ferrobahn ".repeat(7000);
const checks = [
  ["text", () => text, (data) => data === text],
  ["binary", () => bytes,
   (data) => data instanceof ArrayBuffer && new Uint8Array(data).every((v, i) => v === i)
             && data.byteLength === 256],
  ["large", () => large, (data) => data === large],
];
const ws = new WebSocket("WS_URL");
ws.binaryType = "arraybuffer";
let step = 0;
ws.onopen = () => { log("open"); ws.send(checks[0][1]()); };
ws.onmessage = (event) => {
  const [name, , check] = checks[step];
  log(name + " " + (check(event.data) ? "ok" : "WRONG"));
  step += 1;
  if (step < checks.length) { ws.send(checks[step][1]()); } else { ws.close(1000, "done"); }
};
ws.onerror = () => log("error");
ws.onclose = (event) => {
  log("closed " + event.code + " clean=" + event.wasClean + " reason=" + event.reason);
  fetch("/done");
};
</script>
"""
PAGE_TAIL = "</body></html>\n"
#: ferrobahn answers the browser's close (1000, "done") with 1000 and no reason
#: (echoCloseCodeReason off).
EXPECTED = ["open", "text ok", "binary ok", "large ok", "closed 1000 clean=true reason="]


async def dump_dom(url: str) -> str:
    """Chromium's DOM of ``url`` once loaded."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",  # needed as root (CI containers)
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), BROWSER_TIMEOUT)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return out.decode()


def results(dom: str) -> list[str]:
    """The lines the page's script wrote."""
    start = dom.index('<pre id="result">') + len('<pre id="result">')
    return dom[start : dom.index("</pre>", start)].splitlines()


class BrowserEcho(RecordingProtocol):
    """Echoes every message back (mixed into either flavour's server protocol)."""

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        super().onMessage(payload, isBinary)
        self.sendMessage(payload, isBinary)  # type: ignore[attr-defined]


class AsyncioBrowserEcho(BrowserEcho, WebSocketServerProtocol):
    pass


async def page_server(ws_url: str) -> tuple[asyncio.AbstractServer, int]:
    """A minimal HTTP responder: ``/`` is the page, its end held back until
    ``/done`` is requested (or ``BROWSER_TIMEOUT`` passes)."""
    done = asyncio.Event()

    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BROWSER_TIMEOUT)
            path = request.split(b" ", 2)[1]
            if path == b"/done":
                done.set()
                writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            elif path == b"/":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    b"Connection: close\r\n\r\n" + PAGE_HEAD.replace("WS_URL", ws_url).encode()
                )
                await writer.drain()
                await asyncio.wait_for(done.wait(), BROWSER_TIMEOUT)
                writer.write(PAGE_TAIL.encode())
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(respond, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


def test_chromium_with_asyncio_server() -> None:
    async def main() -> None:
        factory = WebSocketServerFactory()
        factory.protocol = AsyncioBrowserEcho
        factory.queue = asyncio.Queue()
        ws_server, ws_port = await start_server(factory)
        pages, page_port = await page_server(f"ws://127.0.0.1:{ws_port}/")
        try:
            dom = await dump_dom(f"http://127.0.0.1:{page_port}/")
            assert results(dom) == EXPECTED, dom
            assert await next_event(factory, "close") == (True, 1000, "done")
        finally:
            ws_server.close()
            pages.close()

    run(main(), BROWSER_TIMEOUT + 10)


def twisted_site(events: Events) -> Any:
    """Listen (in the reactor thread) with a site: ``/`` the held-back page,
    ``/done`` the release, ``/ws`` the WebSocket echo. Returns the port."""
    from twisted.internet import reactor
    from twisted.web.pages import notFound
    from twisted.web.resource import Resource
    from twisted.web.server import NOT_DONE_YET, Site

    from ferrobahn.twisted.resource import WebSocketResource
    from ferrobahn.twisted.websocket import WebSocketServerFactory as TwistedFactory
    from ferrobahn.twisted.websocket import WebSocketServerProtocol as TwistedProtocol

    class Echo(BrowserEcho, TwistedProtocol):
        pass

    held: list[Any] = []

    def release() -> None:
        while held:
            request = held.pop()
            if not request.finished and not request._disconnected:
                request.write(PAGE_TAIL.encode())
                request.finish()

    class Page(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> Any:
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            host = request.getHost()
            request.write(PAGE_HEAD.replace("WS_URL", f"ws://{host.host}:{host.port}/ws").encode())
            held.append(request)
            reactor.callLater(BROWSER_TIMEOUT, release)
            return NOT_DONE_YET

    class Done(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            reactor.callLater(0, release)
            return b""

    factory = TwistedFactory(reactor=reactor)
    factory.protocol = Echo
    factory.queue = events
    root = Resource()
    root.putChild(b"", Page())
    root.putChild(b"done", Done())
    root.putChild(b"ws", WebSocketResource(factory))
    root.putChild(b"favicon.ico", notFound())  # the browser asks for it
    return reactor.listenTCP(0, Site(root), interface="127.0.0.1")


def test_chromium_with_twisted_site() -> None:
    pytest.importorskip("twisted")
    events = Events()
    recorded = SimpleNamespace(queue=events)  # what next_event reads

    async def main() -> None:
        port = await in_reactor(twisted_site, events)
        try:
            dom = await dump_dom(f"http://127.0.0.1:{port.getHost().port}/")
            assert results(dom) == EXPECTED, dom
            assert await next_event(recorded, "close") == (True, 1000, "done")
        finally:
            await in_reactor(port.stopListening)

    run(main(), BROWSER_TIMEOUT + 10)
