"""A twisted.web site serving an HTML page at / and an echo WebSocket at /ws,
both on one port (AutobahnPython's echo_site example, with the page inline).

    python examples/twisted/echo_site.py [port]

Then open http://127.0.0.1:8080/ in a browser.
"""

import sys

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from ferrobahn.twisted.resource import WebSocketResource
from ferrobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol

PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ferrobahn echo</title></head>
<body>
<h1>ferrobahn echo</h1>
<form id="f"><input id="text" value="Hello, world!"><button>Send</button></form>
<pre id="log"></pre>
<script>
  const log = (line) => document.getElementById("log").textContent += line + "\\n";
  const ws = new WebSocket(location.href.replace(/^http/, "ws") + "ws");
  ws.onopen = () => log("connected");
  ws.onmessage = (event) => log("echo: " + event.data);
  ws.onclose = (event) => log("closed: " + event.code);
  document.getElementById("f").onsubmit = (event) => {
    event.preventDefault();
    ws.send(document.getElementById("text").value);
  };
</script>
</body></html>
"""


class EchoServerProtocol(WebSocketServerProtocol):
    def onConnect(self, request):
        print(f"WebSocket connection request from {request.peer} for {request.path}")

    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)


class Page(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return PAGE


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    factory = WebSocketServerFactory()
    factory.protocol = EchoServerProtocol

    root = Resource()
    root.putChild(b"", Page())
    root.putChild(b"ws", WebSocketResource(factory))  # Twisted paths are bytes
    listening = reactor.listenTCP(port, Site(root), interface="127.0.0.1")
    print(f"site on http://127.0.0.1:{listening.getHost().port}/", flush=True)
    reactor.run()
