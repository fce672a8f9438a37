"""create_url / parse_url (autobahn.websocket.util behaviour) and the Origin policy helpers."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest

from ferrobahn.exception import InvalidTypeError, InvalidValueError
from ferrobahn.websocket.util import (
    create_url,
    normalize_origin,
    origin_allowed,
    parse_url,
    wildcards2patterns,
)

# --- create_url -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "url"),
    [
        ({"hostname": "localhost"}, "ws://localhost:80/"),
        ({"hostname": "localhost", "port": 8090}, "ws://localhost:8090/"),
        ({"hostname": "localhost", "path": "ws"}, "ws://localhost:80/ws"),
        ({"hostname": "localhost", "path": "/ws"}, "ws://localhost:80/ws"),
        ({"hostname": "localhost", "path": "/ws/foobar"}, "ws://localhost:80/ws/foobar"),
        ({"hostname": "localhost", "isSecure": True}, "wss://localhost:443/"),
        ({"hostname": "localhost", "isSecure": True, "port": 443}, "wss://localhost:443/"),
        ({"hostname": "localhost", "isSecure": True, "port": 80}, "wss://localhost:80/"),
        (
            {
                "hostname": "localhost",
                "isSecure": True,
                "port": 9090,
                "path": "ws",
                "params": {"foo": "bar"},
            },
            "wss://localhost:9090/ws?foo=bar",
        ),
        (
            {"hostname": "localhost", "path": "ws", "params": {"foo": "bar", "moo": 23}},
            "ws://localhost:80/ws?foo=bar&moo=23",
        ),
        ({"hostname": "localhost", "params": {}}, "ws://localhost:80/"),
        ({"hostname": "127.0.0.1", "path": "ws"}, "ws://127.0.0.1:80/ws"),
        ({"hostname": "sub.example.com", "path": "ws"}, "ws://sub.example.com:80/ws"),
        ({"hostname": "h", "path": "/a b/ü"}, "ws://h:80/a%20b/%C3%BC"),
        ({"hostname": "h", "params": {"q": "a b&c"}}, "ws://h:80/?q=a+b%26c"),
        ({"hostname": "h", "params": {"a": ["1", "2"]}}, "ws://h:80/?a=1&a=2"),
        ({"hostname": "h", "port": 65535}, "ws://h:65535/"),
        # IPv6 literals get brackets (AutobahnPython writes ws://::1:80/ws)
        ({"hostname": "::1", "path": "ws"}, "ws://[::1]:80/ws"),
        ({"hostname": "[::1]", "port": 9000}, "ws://[::1]:9000/"),
        # Unix domain socket form
        ({"hostname": "unix", "port": "/tmp/app.sock"}, "ws://unix:/tmp/app.sock"),
        (
            {"hostname": "unix", "port": "/tmp/app.sock", "isSecure": True},
            "wss://unix:/tmp/app.sock",
        ),
    ],
)
def test_create_url(kwargs: dict[str, Any], url: str) -> None:
    assert create_url(**kwargs) == url


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"hostname": "h", "isSecure": 1}, InvalidTypeError),
        ({"hostname": "h", "port": "80"}, InvalidTypeError),
        ({"hostname": "h", "port": True}, InvalidTypeError),
        ({"hostname": "h", "port": 0}, InvalidValueError),
        ({"hostname": "h", "port": 65536}, InvalidValueError),
        ({"hostname": "h", "port": -1}, InvalidValueError),
        ({"hostname": b"h"}, InvalidTypeError),
        ({"hostname": "h", "path": b"/x"}, InvalidTypeError),
        ({"hostname": "unix"}, InvalidTypeError),
        ({"hostname": "unix", "port": 80}, InvalidTypeError),
    ],
)
def test_create_url_rejects(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        create_url(**kwargs)
    with pytest.raises(AssertionError):  # autobahn asserts; ours are AssertionErrors too
        create_url(**kwargs)


# --- parse_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("ws://localhost", (False, "localhost", 80, "/", "/", {})),
        ("ws://localhost:80", (False, "localhost", 80, "/", "/", {})),
        ("wss://localhost", (True, "localhost", 443, "/", "/", {})),
        ("wss://localhost:443", (True, "localhost", 443, "/", "/", {})),
        ("wss://localhost/ws", (True, "localhost", 443, "/ws", "/ws", {})),
        (
            "wss://localhost/ws?foo=bar",
            (True, "localhost", 443, "/ws?foo=bar", "/ws", {"foo": ["bar"]}),
        ),
        (
            "wss://localhost/ws?foo=bar&moo=23&moo=44",
            (
                True,
                "localhost",
                443,
                "/ws?foo=bar&moo=23&moo=44",
                "/ws",
                {"moo": ["23", "44"], "foo": ["bar"]},
            ),
        ),
        ("ws://h:9000/a%20b", (False, "h", 9000, "/a%20b", "/a b", {})),
        ("ws://h/a;b", (False, "h", 80, "/a;b", "/a;b", {})),  # ';' stays in the path
        ("ws://h:1", (False, "h", 1, "/", "/", {})),
        ("ws://h:65535", (False, "h", 65535, "/", "/", {})),
        ("ws://h:/x", (False, "h", 80, "/x", "/x", {})),  # empty port means default
        ("WS://Example.COM/Path", (False, "example.com", 80, "/Path", "/Path", {})),
        ("ws://user:pw@h:81/", (False, "h", 81, "/", "/", {})),
        ("ws://[::1]:9000/x", (False, "::1", 9000, "/x", "/x", {})),
        ("wss://[fe80::1]", (True, "fe80::1", 443, "/", "/", {})),
        ("ws://h/?a=&b=1", (False, "h", 80, "/?a=&b=1", "/", {"b": ["1"]})),
    ],
)
def test_parse_url(url: str, parts: tuple[Any, ...]) -> None:
    assert parse_url(url) == parts


def test_parse_url_unix_socket() -> None:
    assert parse_url("ws://unix:/tmp/app.sock") == (
        False,
        "unix",
        "/tmp/app.sock",
        "/tmp/app.sock",
        "/tmp/app.sock",
        {},
    )
    secure, host, uds, resource, path, params = parse_url("wss://unix:/run/x.sock?k=v")
    assert (secure, host, uds) == (True, "unix", "/run/x.sock")
    assert resource == "/run/x.sock?k=v" and params == {"k": ["v"]}
    # a colon inside the socket path is kept
    assert parse_url("ws://unix:/tmp/a:b.sock")[2] == "/tmp/a:b.sock"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost",
        "https://localhost",
        "http://localhost:80",
        "ftp://localhost/ws",
        "localhost:9000",
        "//localhost/ws",
        "",
        "http://localhost#frag1",
        "ws://localhost/ws#frag",
        "ws://localhost/#",  # RFC 6455: '#' must be escaped, even with an empty fragment
        "wss://",
        "ws://",
        "ws:///path",
        "ws://:80/x",
        "ws://h:0",
        "ws://h:65536",
        "ws://h:99999",
        "ws://h:-1",
        "ws://h:+80",
        "ws://h: 80",
        "ws://h:abc",
        "ws://h:8 0",
        "ws://h:٨٠",  # non-ASCII digits
        "ws://[::1",
        "ws://unix",
        "ws://unix:",
    ],
)
def test_parse_url_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


def test_parse_url_rejects_non_str() -> None:
    with pytest.raises(InvalidTypeError):
        parse_url(b"ws://h")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        ("localhost", None, False, None, None),
        ("localhost", 9000, True, "/chat", {"room": ["a", "b"], "x": ["1"]}),
        ("example.com", 1, False, "/a b/c", None),
        ("::1", 8080, False, "/v6", {"q": ["x y"]}),
        ("10.0.0.1", 65535, True, "/", None),
    ],
)
def test_create_parse_round_trip(args: tuple[Any, ...]) -> None:
    host, port, secure, path, params = args
    url = create_url(host, port, secure, path, params)
    p_secure, p_host, p_port, resource, p_path, p_params = parse_url(url)
    assert p_secure is secure
    assert p_host == host
    assert p_port == (port if port is not None else (443 if secure else 80))
    assert p_path == (path or "/")
    assert p_params == (params or {})
    assert resource.startswith(urllib.parse.quote(path or "/"))
    # and back again
    assert create_url(p_host, p_port, p_secure, p_path, p_params) == url


def test_unix_round_trip() -> None:
    url = create_url("unix", "/var/run/app.sock")
    assert parse_url(url)[:3] == (False, "unix", "/var/run/app.sock")


def test_no_urllib_scheme_registration() -> None:
    # importing ferrobahn.websocket.util must not extend urllib's global scheme tables
    # (recent Pythons list ws/wss in uses_relative and uses_netloc themselves, once)
    for table in (urllib.parse.uses_params, urllib.parse.uses_query, urllib.parse.uses_fragment):
        assert "ws" not in table and "wss" not in table
    for table in (urllib.parse.uses_relative, urllib.parse.uses_netloc):
        assert table.count("ws") <= 1 and table.count("wss") <= 1


# --- wildcards2patterns -------------------------------------------------------------------


def test_wildcards2patterns_anchored_and_escaped() -> None:
    (p,) = wildcards2patterns(["https://a.com"])
    assert p.match("https://a.com")
    assert not p.match("https://a.com.evil.org")
    assert not p.match("https://aXcom")  # '.' is literal
    assert not p.match("https://a.com\n")  # no '$'-before-newline loophole
    assert not p.match("xhttps://a.com")
    (star,) = wildcards2patterns(["*"])
    assert star.match("") and star.match("anything://at.all:1")
    (sub,) = wildcards2patterns(["https://*.a.com:*"])
    assert sub.match("https://x.a.com:8443")
    assert not sub.match("https://x.a.com.evil.org:443")
    (meta,) = wildcards2patterns(["http://[::1]:(80)+?"])
    assert meta.match("http://[::1]:(80)+?")
    assert not meta.match("http://1:80")
    assert wildcards2patterns([]) == []
    assert wildcards2patterns(["HTTPS://A.COM"])[0].match("https://a.com")


def test_wildcards2patterns_type_check() -> None:
    with pytest.raises(InvalidTypeError):
        wildcards2patterns([b"x"])  # type: ignore[list-item]


def test_wildcards2patterns_same_object_in_ferrobahn_util() -> None:
    import ferrobahn.util

    assert ferrobahn.util.wildcards2patterns is wildcards2patterns


# --- normalize_origin ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "normal"),
    [
        ("https://a.com", "https://a.com:443"),
        ("http://a.com", "http://a.com:80"),
        ("HTTPS://A.COM", "https://a.com:443"),
        ("https://a.com:8443", "https://a.com:8443"),
        ("http://a.com:443", "http://a.com:443"),
        ("https://a.com/", "https://a.com:443"),
        ("https://a.com/path?q#f", "https://a.com:443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://[::1]", "https://[::1]:443"),
        ("chrome-extension://abcdef", "chrome-extension://abcdef"),
        ("  https://a.com  ", "https://a.com:443"),
        ("null", "null"),
        ("NULL", "null"),
        ("file://", "null"),
        ("file:///home/user/x.html", "null"),
    ],
)
def test_normalize_origin(origin: str, normal: str) -> None:
    assert normalize_origin(origin) == normal


@pytest.mark.parametrize(
    "origin",
    [
        "",
        "a.com",
        "https://",
        "https://:443",
        "https://a.com:0",
        "https://a.com:70000",
        "https://a.com:x",
        "https://a b.com",
        "https://a.com https://b.com",
        "https://a.com\\@b.com",
        "https://user@a.com",
        "https://a.com@evil.org",
        "//a.com",
    ],
)
def test_normalize_origin_rejects(origin: str) -> None:
    with pytest.raises(ValueError):
        normalize_origin(origin)


# --- origin_allowed: the policy matrix --------------------------------------------------------


def allowed(origin: str, allow: list[str], allow_null: bool = False) -> bool:
    return origin_allowed(origin, wildcards2patterns(allow), allow_null)


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://a.com", True),
        ("https://a.com:443", True),
        ("https://a.com/", True),
        ("HTTPS://A.COM", True),
        # lookalikes and near misses
        ("https://a.com.evil.org", False),
        ("https://evila.com", False),
        ("https://evil.a.com", False),
        ("https://a.com:8443", False),
        ("http://a.com", False),
        ("http://a.com:443", False),
        ("https://a.co", False),
        ("https://a.com@evil.org", False),
        ("https://evil.org/https://a.com", False),
        ("https://evil.org?https://a.com", False),
        ("https://evil.org#https://a.com", False),
        ("wss://a.com", False),
        ("null", False),
        ("file:///x", False),
        ("garbage", False),
        ("", False),
    ],
)
def test_exact_allowlist(origin: str, expected: bool) -> None:
    assert allowed(origin, ["https://a.com"]) is expected


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://a.com", True),
        ("http://localhost:8080", True),
        ("chrome-extension://abc", True),
        ("https://[::1]:1", True),
        ("null", False),
        ("file:///x", False),
        ("https://", False),  # malformed never passes
    ],
)
def test_star_allows_every_non_null(origin: str, expected: bool) -> None:
    assert allowed(origin, ["*"]) is expected


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://x.a.com", True),
        ("https://x.y.a.com", True),
        ("https://x.a.com:443", True),
        ("https://x.a.com.evil.org", False),
        ("https://x.a.com:8443", False),
        ("https://a.com", False),  # '*.' needs a subdomain
        ("https://xa.com", False),
        ("http://x.a.com", False),
    ],
)
def test_subdomain_wildcard(origin: str, expected: bool) -> None:
    assert allowed(origin, ["https://*.a.com"]) is expected


def test_port_wildcard_and_explicit_ports() -> None:
    assert allowed("https://a.com:8443", ["https://a.com:*"])
    assert allowed("https://a.com", ["https://a.com:*"])
    assert allowed("https://a.com", ["https://a.com:443"])  # AutobahnPython-style entry
    assert allowed("https://a.com:8443", ["https://a.com:8443"])
    assert not allowed("https://a.com:8443", ["https://a.com:443"])
    assert allowed("http://x.a.com:8080", ["*://*.a.com:*"])  # autobahn docs example


def test_multiple_patterns() -> None:
    allow = ["https://a.com", "http://localhost:*"]
    assert allowed("https://a.com", allow)
    assert allowed("http://localhost:3000", allow)
    assert not allowed("https://b.com", allow)


@pytest.mark.parametrize("origin", ["null", "Null", " null ", "file://", "file:///tmp/x.html"])
def test_null_origin(origin: str) -> None:
    assert not allowed(origin, ["*"])
    assert not allowed(origin, ["null"])  # patterns never admit null, only the flag does
    assert allowed(origin, ["*"], allow_null=True)
    assert allowed(origin, [], allow_null=True)


def test_empty_allowlist_rejects_everything_non_null() -> None:
    assert not allowed("https://a.com", [])


def test_origin_allowed_accepts_foreign_patterns() -> None:
    # a user-built pattern (as on allowedOriginsPatterns) must match the whole origin
    pats = [re.compile(r"https://a\.com:443")]
    assert origin_allowed("https://a.com", pats)
    assert not origin_allowed("https://a.com.evil.org", pats)
