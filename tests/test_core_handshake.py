"""The opening handshake through ferrobahn._core: reading, validating, building."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ferrobahn import _core
from ferrobahn._core import HandshakeError

SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3


def request(*lines: str, method: str = "GET", version: str = "HTTP/1.1") -> bytes:
    head = [f"{method} /chat?room=1 {version}", *lines]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")


GOOD = [
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    f"Sec-WebSocket-Key: {SAMPLE_KEY}",
    "Origin: http://example.com",
    "Sec-WebSocket-Protocol: chat, superchat",
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
    "Sec-WebSocket-Version: 13",
]


def read_head(data: bytes, step: int) -> tuple[bytes, int]:
    reader = _core.HeadReader()
    fed = 0
    for i in range(0, len(data), step):
        used = reader.feed(data[i : i + step])
        if used is not None:
            return reader.head, fed + used
        fed += len(data[i : i + step])
    raise AssertionError("head never completed")


def test_accept_key_matches_rfc_and_hashlib() -> None:
    assert _core.accept_key(SAMPLE_KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    key = _core.generate_client_key()
    assert len(base64.b64decode(key, validate=True)) == 16
    guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    expected = base64.b64encode(hashlib.sha1(key.encode() + guid).digest()).decode()
    assert _core.accept_key(key) == expected


@pytest.mark.parametrize("step", [1, 7, 10_000])
def test_full_request_and_trailing_frame_bytes(step: int) -> None:
    frame = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
    data = request(*GOOD) + frame
    head, used = read_head(data, step)
    assert data[used:] == frame
    req = _core.parse_request(head)
    assert (req.method, req.target, req.version) == ("GET", "/chat?room=1", "HTTP/1.1")
    assert ("Origin", "http://example.com") in req.headers
    path, query, host, key, version, origin, protocols, extensions = req.upgrade()
    assert (path, query, host, key, version) == (
        "/chat",
        "room=1",
        "server.example.com",
        SAMPLE_KEY,
        13,
    )
    assert origin == "http://example.com"
    assert protocols == ["chat", "superchat"]
    assert extensions == [("permessage-deflate", [("client_max_window_bits", None)])]


def without(name: str) -> list[str]:
    return [line for line in GOOD if not line.startswith(name + ":")]


REJECTED = [
    ("missing key", request(*without("Sec-WebSocket-Key")), 400),
    ("duplicate key", request(*GOOD, f"Sec-WebSocket-Key: {SAMPLE_KEY}"), 400),
    ("short key", request(*without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: AAAA"), 400),
    (
        "non-base64 key",
        request(*without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: " + "*" * 24),
        400,
    ),
    ("version 8", request(*without("Sec-WebSocket-Version"), "Sec-WebSocket-Version: 8"), 426),
    ("missing version", request(*without("Sec-WebSocket-Version")), 426),
    ("POST", request(*GOOD, method="POST"), 405),
    ("HTTP/1.0", request(*GOOD, version="HTTP/1.0"), 505),
    ("missing Host", request(*without("Host")), 400),
    ("duplicate Host", request(*GOOD, "Host: other.example.com"), 400),
    ("duplicate Origin", request(*GOOD, "Origin: http://evil.example"), 400),
    ("no Upgrade", request(*without("Upgrade")), 400),
    ("no Connection upgrade", request(*without("Connection"), "Connection: keep-alive"), 400),
]


@pytest.mark.parametrize(("name", "data", "status"), REJECTED, ids=[r[0] for r in REJECTED])
def test_invalid_requests_get_their_status(name: str, data: bytes, status: int) -> None:
    with pytest.raises(HandshakeError) as info:
        _core.parse_request(data).upgrade()
    assert info.value.args[0] == status, name
    assert isinstance(info.value.args[1], str)


def test_lenient_where_the_rfc_is() -> None:
    lines = [*without("Connection"), "Connection: keep-alive, Upgrade"]
    lines = [line.replace("Upgrade: websocket", "Upgrade: WebSocket") for line in lines]
    assert _core.parse_request(request(*lines)).upgrade()[3] == SAMPLE_KEY


def test_head_limits() -> None:
    too_long_line = b"GET /" + b"a" * 8192 + b" HTTP/1.1\r\n"
    with pytest.raises(HandshakeError) as info:
        _core.HeadReader().feed(too_long_line)
    assert info.value.args[0] == 414
    many = request(*GOOD, *(f"X-{i}: {i}" for i in range(129)))
    with pytest.raises(HandshakeError) as info:
        _core.HeadReader().feed(many)
    assert info.value.args[0] == 431
    # An endless header line fails once it passes the line limit, however it is fed.
    reader = _core.HeadReader()
    reader.feed(b"GET / HTTP/1.1\r\nX-Long: ")
    with pytest.raises(HandshakeError) as info:
        for _ in range(10_000):
            reader.feed(b"a")
    assert info.value.args[0] == 431


def test_accept_response_roundtrips_through_the_client_checks() -> None:
    answer = _core.build_accept_response(
        SAMPLE_KEY,
        server="ferrobahn",
        protocol="chat",
        extensions="permessage-deflate",
        headers=[("X-Extra", "1")],
    )
    assert answer.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer
    head, used = read_head(answer, 5)
    assert used == len(answer)
    response = _core.parse_response(head)
    assert response.status == 101
    protocol, extensions = response.upgrade(SAMPLE_KEY, ["chat"], ["permessage-deflate"])
    assert protocol == "chat"
    assert extensions == [("permessage-deflate", [])]
    with pytest.raises(HandshakeError, match="Accept"):
        response.upgrade(_core.generate_client_key(), ["chat"], ["permessage-deflate"])
    with pytest.raises(HandshakeError):
        response.upgrade(SAMPLE_KEY, ["other"], ["permessage-deflate"])


def test_header_injection_is_refused() -> None:
    with pytest.raises(HandshakeError):
        _core.build_accept_response(SAMPLE_KEY, headers=[("X-Evil", "a\r\nSet-Cookie: x")])
    with pytest.raises(HandshakeError):
        _core.build_request("example.com", 80, "/", SAMPLE_KEY, headers=[("X", "a\nb")])


def test_error_response_for_version_mismatch() -> None:
    answer = _core.build_error_response(426, "Upgrade Required")
    assert answer.startswith(b"HTTP/1.1 426 ")
    assert b"Sec-WebSocket-Version: 13\r\n" in answer
    response = _core.parse_response(answer.split(b"\r\n\r\n")[0] + b"\r\n\r\n")
    assert response.status == 426


def test_client_request_and_server_view_agree() -> None:
    key = _core.generate_client_key()
    data = _core.build_request(
        "::1",
        9000,
        "/ws?x=1",
        key,
        useragent="ferrobahn-test",
        origin="http://localhost",
        protocols=["a", "b"],
        extensions="permessage-deflate",
    )
    path, query, host, got_key, _, origin, protocols, extensions = _core.parse_request(
        data
    ).upgrade()
    assert (path, query, host, got_key) == ("/ws", "x=1", "[::1]:9000", key)
    assert (origin, protocols) == ("http://localhost", ["a", "b"])
    assert extensions == [("permessage-deflate", [])]


def test_header_grammars() -> None:
    assert _core.parse_token_list(" a ,, b,c ") == ["a", "b", "c"]
    assert _core.parse_extensions(
        'permessage-deflate; server_max_window_bits="10", permessage-deflate'
    ) == [
        ("permessage-deflate", [("server_max_window_bits", "10")]),
        ("permessage-deflate", []),
    ]
    with pytest.raises(HandshakeError):
        _core.parse_extensions('x; a="unclosed')
