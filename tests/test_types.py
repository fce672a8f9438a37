"""Handshake and message value types, exceptions and interfaces (autobahn's names and checks)."""

from __future__ import annotations

import abc
import json
import pickle
from typing import Any

import pytest

import ferrobahn.websocket as ws
from ferrobahn.exception import (
    Disconnected,
    InvalidTypeError,
    InvalidValueError,
    PayloadExceededError,
)
from ferrobahn.websocket import interfaces
from ferrobahn.websocket.types import (
    ConnectingRequest,
    ConnectionAccept,
    ConnectionDeny,
    ConnectionRequest,
    ConnectionResponse,
    IncomingMessage,
    Message,
    OutgoingMessage,
    Ping,
    TransportDetails,
)

# --- package exports ----------------------------------------------------------------


def test_package_reexports() -> None:
    assert ws.ConnectionAccept is ConnectionAccept
    assert ws.ConnectionDeny is ConnectionDeny
    assert ws.ConnectionRequest is ConnectionRequest
    assert ws.ConnectionResponse is ConnectionResponse
    assert ws.ConnectingRequest is ConnectingRequest
    assert ws.IncomingMessage is IncomingMessage
    assert ws.Message is Message
    assert ws.OutgoingMessage is OutgoingMessage
    assert ws.IWebSocketChannel is interfaces.IWebSocketChannel
    assert ws.HAS_NVX is False and ws.USES_NVX is False
    for name in ws.__all__:
        assert hasattr(ws, name)


# --- exceptions ---------------------------------------------------------------------


def test_exceptions_are_runtime_errors() -> None:
    assert issubclass(Disconnected, RuntimeError)
    assert issubclass(PayloadExceededError, RuntimeError)


def test_check_errors_are_also_assertion_errors() -> None:
    # Code written for AutobahnPython's asserts keeps catching them; -O does not strip them.
    assert issubclass(InvalidTypeError, TypeError)
    assert issubclass(InvalidTypeError, AssertionError)
    assert issubclass(InvalidValueError, ValueError)
    assert issubclass(InvalidValueError, AssertionError)


# --- ConnectionRequest / ConnectionResponse -----------------------------------------


def make_request() -> ConnectionRequest:
    return ConnectionRequest(
        peer="tcp4:127.0.0.1:5678",
        headers={"host": "example.com", "origin": "https://example.com"},
        host="example.com",
        path="/chat",
        params={"room": ["a", "b"]},
        version=13,
        origin="https://example.com",
        protocols=["chat.v2", "chat.v1"],
        extensions=[("permessage-deflate", {"client_max_window_bits": [True]})],
    )


def test_connection_request_fields_and_json() -> None:
    req = make_request()
    data = req.__json__()
    assert list(data) == [
        "peer",
        "headers",
        "host",
        "path",
        "params",
        "version",
        "origin",
        "protocols",
        "extensions",
    ]
    assert data["params"] == {"room": ["a", "b"]}
    assert req.protocols == ["chat.v2", "chat.v1"]
    json.dumps(data)  # plain data only
    text = str(req)
    assert "'host': 'example.com'" in text and "chat.v2" in text


def test_connection_request_has_slots() -> None:
    req = make_request()
    assert not hasattr(req, "__dict__")
    with pytest.raises(AttributeError):
        req.unknown = 1  # type: ignore[attr-defined]


def test_connection_response() -> None:
    resp = ConnectionResponse("tcp4:1.2.3.4:80", {"upgrade": "websocket"}, 18, "chat", [])
    assert resp.__json__() == {
        "peer": "tcp4:1.2.3.4:80",
        "headers": {"upgrade": "websocket"},
        "version": 18,
        "protocol": "chat",
        "extensions": [],
    }
    assert "'protocol': 'chat'" in str(resp)
    assert not hasattr(resp, "__dict__")


# --- ConnectingRequest ---------------------------------------------------------------


def test_connecting_request_defaults() -> None:
    r = ConnectingRequest()
    assert (r.host, r.port, r.resource) == ("localhost", 80, "/")
    assert r.headers == {} and r.protocols == []
    assert r.useragent is None and r.origin is None
    # fresh containers per instance
    assert ConnectingRequest().headers is not r.headers
    assert ConnectingRequest().protocols is not r.protocols


def test_connecting_request_values_kept() -> None:
    headers = {"X-Token": "abc"}
    r = ConnectingRequest(
        host="example.com",
        port=8443,
        resource="/ws?x=1",
        headers=headers,
        useragent="ua",
        origin="https://example.com",
        protocols=["p1"],
    )
    assert r.headers is headers
    assert r.__json__() == {
        "host": "example.com",
        "port": 8443,
        "resource": "/ws?x=1",
        "headers": {"X-Token": "abc"},
        "useragent": "ua",
        "origin": "https://example.com",
        "protocols": ["p1"],
    }
    assert "example.com" in str(r)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": 1},
        {"port": "80"},
        {"port": True},
        {"resource": b"/"},
        {"headers": [("a", "b")]},
        {"useragent": 1},
        {"origin": b"x"},
        {"protocols": "chat"},
        {"protocols": [1]},
    ],
)
def test_connecting_request_type_checks(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidTypeError):
        ConnectingRequest(**kwargs)


# --- ConnectionAccept / ConnectionDeny -------------------------------------------------


def test_connection_accept() -> None:
    a = ConnectionAccept()
    assert a.subprotocol is None and a.headers is None
    a = ConnectionAccept("chat", {"Set-Cookie": ["a=1", "b=2"], "X-A": "1", "X-B": ("x",)})
    assert a.subprotocol == "chat"
    assert a.headers is not None and a.headers["X-A"] == "1"


@pytest.mark.parametrize(
    "args",
    [
        (b"chat", None),
        (None, [("a", "b")]),
        (None, {1: "x"}),
        (None, {"a": 1}),
        (None, {"a": ["x", 2]}),
    ],
)
def test_connection_accept_type_checks(args: tuple[Any, Any]) -> None:
    with pytest.raises(AssertionError):  # what AutobahnPython raises, too
        ConnectionAccept(*args)


def test_connection_deny_constants() -> None:
    assert ConnectionDeny.BAD_REQUEST == 400
    assert ConnectionDeny.FORBIDDEN == 403
    assert ConnectionDeny.NOT_FOUND == 404
    assert ConnectionDeny.NOT_ACCEPTABLE == 406
    assert ConnectionDeny.REQUEST_TIMEOUT == 408
    assert ConnectionDeny.INTERNAL_SERVER_ERROR == 500
    assert ConnectionDeny.NOT_IMPLEMENTED == 501
    assert ConnectionDeny.SERVICE_UNAVAILABLE == 503


def test_connection_deny_is_raisable() -> None:
    with pytest.raises(ConnectionDeny) as info:
        raise ConnectionDeny(ConnectionDeny.FORBIDDEN, "go away")
    assert info.value.code == 403
    assert info.value.reason == "go away"
    assert isinstance(info.value, Exception)
    assert ConnectionDeny(404).reason is None


def test_connection_deny_pickles() -> None:
    d = pickle.loads(pickle.dumps(ConnectionDeny(403, "no")))
    assert (d.code, d.reason) == (403, "no")


@pytest.mark.parametrize("args", [("403",), (403.0,), (True,), (403, b"no")])
def test_connection_deny_type_checks(args: tuple[Any, ...]) -> None:
    with pytest.raises(InvalidTypeError):
        ConnectionDeny(*args)


# --- messages ------------------------------------------------------------------------


def test_messages() -> None:
    m = IncomingMessage(b"hi")
    assert isinstance(m, Message)
    assert (m.payload, m.is_binary) == (b"hi", False)
    o = OutgoingMessage(b"\x00", is_binary=True, skip_compress=True)
    assert isinstance(o, Message)
    assert (o.payload, o.is_binary, o.skip_compress) == (b"\x00", True, True)
    assert OutgoingMessage(b"").skip_compress is False
    for obj in (m, o, Message()):
        assert not hasattr(obj, "__dict__")


@pytest.mark.parametrize(
    "call",
    [
        lambda: IncomingMessage("text"),  # type: ignore[arg-type]
        lambda: IncomingMessage(bytearray(b"x")),  # type: ignore[arg-type]
        lambda: IncomingMessage(b"x", is_binary=1),  # type: ignore[arg-type]
        lambda: OutgoingMessage("text"),  # type: ignore[arg-type]
        lambda: OutgoingMessage(b"x", is_binary=None),  # type: ignore[arg-type]
        lambda: OutgoingMessage(b"x", skip_compress="yes"),  # type: ignore[arg-type]
        lambda: Ping("x"),  # type: ignore[arg-type]
    ],
)
def test_message_type_checks(call: Any) -> None:
    with pytest.raises(InvalidTypeError):
        call()


def test_ping() -> None:
    assert Ping().payload is None
    assert Ping(b"x" * 125).payload == b"x" * 125
    with pytest.raises(InvalidValueError, match="126 bytes"):
        Ping(b"x" * 126)


# --- TransportDetails -----------------------------------------------------------------


def test_transport_details_defaults() -> None:
    td = TransportDetails()
    for name in (
        "channel_type",
        "channel_framing",
        "peer",
        "is_server",
        "is_secure",
        "own_pid",
        "http_headers_received",
        "http_headers_sent",
    ):
        assert getattr(td, name) is None
    assert td.channel_typeid == "null-null-null"
    assert td == TransportDetails()


def test_transport_details_values() -> None:
    td = TransportDetails(
        channel_type=TransportDetails.CHANNEL_TYPE_TLS,
        channel_framing=TransportDetails.CHANNEL_FRAMING_WEBSOCKET,
        peer="tcp4:127.0.0.1:9000",
        is_server=False,
        is_secure=True,
        own_pid=1234,
        http_headers_received={"upgrade": "websocket"},
    )
    assert td.channel_typeid == "tls-websocket-null"
    marshalled = td.marshal()
    assert marshalled["channel_type"] == "tls"
    assert marshalled["channel_framing"] == "websocket"
    assert marshalled["channel_serializer"] is None
    assert marshalled["peer"] == "tcp4:127.0.0.1:9000"
    assert marshalled["own_pid"] == 1234
    assert "tcp4:127.0.0.1:9000" in str(td)
    assert td != TransportDetails()
    assert td != "not details"
    td.peer = "unix:/tmp/x"  # attributes are writable, as on autobahn's
    assert td.peer == "unix:/tmp/x"


def test_transport_details_constants() -> None:
    assert TransportDetails.CHANNEL_TYPE_TCP == 4
    assert TransportDetails.CHANNEL_TYPE_TLS == 5
    assert TransportDetails.CHANNEL_FRAMING_WEBSOCKET == 2
    assert TransportDetails.CHANNEL_TYPE_FROM_STR["tcp"] == 4
    assert TransportDetails.CHANNEL_FRAMING_FROM_STR["websocket"] == 2


# --- interfaces ------------------------------------------------------------------------

CHANNEL_METHODS = {
    "onConnecting",
    "onConnect",
    "onOpen",
    "sendMessage",
    "onMessage",
    "sendPing",
    "onPing",
    "sendPong",
    "onPong",
    "sendClose",
    "onClose",
    "dropConnection",
}
FRAME_METHODS = {
    "onMessageBegin",
    "onMessageFrame",
    "onMessageEnd",
    "beginMessage",
    "sendMessageFrame",
    "endMessage",
}
STREAMING_METHODS = {
    "onMessageFrameBegin",
    "onMessageFrameData",
    "onMessageFrameEnd",
    "beginMessageFrame",
    "sendMessageFrameData",
}


def test_interface_hierarchy_and_abstract_methods() -> None:
    i = interfaces
    assert issubclass(i.IWebSocketChannelFrameApi, i.IWebSocketChannel)
    assert issubclass(i.IWebSocketChannelStreamingApi, i.IWebSocketChannelFrameApi)
    assert i.IWebSocketChannel.__abstractmethods__ == CHANNEL_METHODS
    assert i.IWebSocketChannelFrameApi.__abstractmethods__ == CHANNEL_METHODS | FRAME_METHODS
    assert (
        i.IWebSocketChannelStreamingApi.__abstractmethods__
        == CHANNEL_METHODS | FRAME_METHODS | STREAMING_METHODS
    )
    factory_methods = {"setSessionParameters", "setProtocolOptions", "resetProtocolOptions"}
    assert i.IWebSocketServerChannelFactory.__abstractmethods__ == factory_methods
    assert i.IWebSocketClientChannelFactory.__abstractmethods__ == factory_methods
    assert i.IWebSocketClientAgent.__abstractmethods__ == {"open"}
    for cls in (
        i.IWebSocketChannel,
        i.IWebSocketChannelFrameApi,
        i.IWebSocketChannelStreamingApi,
        i.IWebSocketServerChannelFactory,
        i.IWebSocketClientChannelFactory,
        i.IWebSocketClientAgent,
    ):
        assert isinstance(cls, abc.ABCMeta)
        assert cls.__doc__
        for name in cls.__abstractmethods__:
            assert getattr(cls, name).__doc__, f"{cls.__name__}.{name} lacks a docstring"
        with pytest.raises(TypeError):
            cls()  # type: ignore[abstract]


def test_interfaces_can_be_registered() -> None:
    class Proto:
        pass

    interfaces.IWebSocketChannelStreamingApi.register(Proto)
    assert isinstance(Proto(), interfaces.IWebSocketChannel)
    assert isinstance(Proto(), interfaces.IWebSocketChannelFrameApi)
