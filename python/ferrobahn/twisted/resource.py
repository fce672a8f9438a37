"""WebSocket inside a ``twisted.web`` site (``autobahn.twisted.resource``).

``WebSocketResource`` serves a WebSocket endpoint on the same port and URL
tree as ordinary resources: when a request reaches it, it takes the
connection over from the HTTP channel, replays the request head to a
ferrobahn server protocol, and from then on the channel passes every byte
to that protocol.
"""

from __future__ import annotations

from typing import Any

from twisted.web.pages import notFound
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

__all__ = ["WSGIRootResource", "WebSocketResource"]


class WSGIRootResource(Resource):
    """A root resource that serves a WSGI application (``WSGIResource`` has
    no ``putChild``) and the resources in ``children`` under their paths."""

    def __init__(self, wsgiResource: Any, children: dict[bytes, Any]) -> None:
        Resource.__init__(self)  # type: ignore[no-untyped-call]
        self._wsgiResource = wsgiResource
        self.children = children

    def getChild(self, path: bytes, request: Any) -> Any:
        request.prepath.pop()
        request.postpath.insert(0, path)
        return self._wsgiResource


def _request_head(request: Any) -> bytes:
    """The request's HTTP head (and body), rebuilt for the WebSocket protocol."""
    lines = [request.method + b" " + request.uri + b" HTTP/1.1"]
    for name, values in request.requestHeaders.getAllRawHeaders():
        lines.extend(name + b": " + value for value in values)
    body: bytes = request.content.read()
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@implementer(IResource)
class WebSocketResource:
    """A ``twisted.web`` resource that is a WebSocket endpoint of ``factory``
    (a ``ferrobahn.twisted.websocket.WebSocketServerFactory``)."""

    isLeaf = True

    def __init__(self, factory: Any) -> None:
        self._factory = factory

    def getChildWithDefault(self, name: bytes, request: Any) -> Any:
        """This resource has no children."""
        return notFound(message="No such child resource.")

    def putChild(self, path: bytes, child: Any) -> None:
        """This resource has no children: ignored."""

    def render(self, request: Any) -> Any:
        channel = request.channel
        transport = channel.transport
        if transport is None:
            # HTTP/2: there is no connection of its own to take over.
            request.setResponseCode(426, b"Upgrade Required")
            request.setHeader(b"Upgrade", b"websocket")
            request.setHeader(b"Sec-WebSocket-Version", b"13")
            return b"WebSocket needs HTTP/1.1\n"
        proto = self._factory.buildProtocol(transport.getPeer())
        if proto is None:
            request.setResponseCode(500)
            return b""
        # The channel stays the transport's protocol, and forwards: later
        # reads arrive through dataReceived, the rest of the current read
        # through rawDataReceived (the channel switched to raw mode).
        channel.dataReceived = proto.dataReceived
        channel.rawDataReceived = proto.dataReceived
        channel.connectionLost = proto.connectionLost
        # The channel registered itself as the transport's producer, and
        # stops reading while a request is being served: undo both.
        transport.unregisterProducer()
        transport.resumeProducing()
        proto.makeConnection(transport)
        proto.dataReceived(_request_head(request))
        return NOT_DONE_YET
