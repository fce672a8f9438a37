"""WebSocket URL helpers (``autobahn.websocket.util``) and the server's Origin policy.

``create_url`` / ``parse_url`` build and split ``ws://`` and ``wss://`` URLs, including
AutobahnPython's ``ws://unix:/path/to/socket`` form for Unix domain sockets.

``origin_allowed`` decides whether an ``Origin`` header passes an allow-list made by
``wildcards2patterns``. The origin is reduced to ``scheme://host:port`` (lower case,
default port made explicit) before matching, so a pattern can only ever see a scheme,
a host and a port, never user info, a path or a query that could smuggle in a
lookalike.

Unlike AutobahnPython, importing this module does not add ``ws``/``wss`` to
``urllib.parse``'s scheme lists: ``urlsplit`` already splits netloc, query and
fragment for any scheme, and not registering the schemes keeps a ``;`` in a path
(AutobahnPython's registration makes ``urlparse`` strip ``;params`` from ws paths).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Union
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from ferrobahn.exception import InvalidTypeError, InvalidValueError
from ferrobahn.util import wildcards2patterns

__all__ = (
    "create_url",
    "normalize_origin",
    "origin_allowed",
    "parse_url",
    "wildcards2patterns",
)

ParsedUrl = tuple[bool, str, Union[int, str], str, str, dict[str, list[str]]]
"""``(isSecure, host, port_or_uds_path, resource, path, params)`` as returned by ``parse_url``."""

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def create_url(
    hostname: str,
    port: int | str | None = None,
    isSecure: bool = False,
    path: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> str:
    """Build a ``ws://`` / ``wss://`` URL; the port is always written out (80/443 by default).

    ``path`` is percent-quoted and ``params`` urlencoded (a list value gives repeated
    keys, so ``parse_url``'s ``params`` round-trip). With ``hostname="unix"``, ``port``
    is the socket's file-system path: ``create_url("unix", "/tmp/s.sock")`` gives
    ``ws://unix:/tmp/s.sock``. An IPv6 literal host is written in brackets.
    """
    if not isinstance(hostname, str):
        raise InvalidTypeError(f"hostname must be a str, not {type(hostname).__name__}")
    if not isinstance(isSecure, bool):
        raise InvalidTypeError(f"isSecure must be a bool, not {type(isSecure).__name__}")
    scheme = "wss" if isSecure else "ws"

    if hostname == "unix":
        if not isinstance(port, str) or not port:
            raise InvalidTypeError("for hostname 'unix', port must be the socket path (a str)")
        netloc = f"unix:{port}"
        # No path given: leave the socket path as the whole URL path, so that
        # parse_url(create_url("unix", p)) returns p (AutobahnPython appends "/").
        ppath = "" if path is None else _quote_path(path)
    else:
        if port is None:
            port = 443 if isSecure else 80
        elif not isinstance(port, int) or isinstance(port, bool):
            raise InvalidTypeError(f"port must be an int or None, not {type(port).__name__}")
        elif not 1 <= port <= 65535:
            raise InvalidValueError(f"port must be in 1..65535, not {port}")
        host = hostname
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # IPv6 literal
        netloc = f"{host}:{port}"
        ppath = "/" if path is None else _quote_path(path)

    url = f"{scheme}://{netloc}{ppath}"
    if params:
        url += "?" + urlencode(params, doseq=True)
    return url


def _quote_path(path: str) -> str:
    if not isinstance(path, str):
        raise InvalidTypeError(f"path must be a str or None, not {type(path).__name__}")
    quoted = quote(path)
    return quoted if quoted.startswith("/") else "/" + quoted


def _raw_port(netloc: str) -> str | None:
    """Return the text after the host's ``:`` in a netloc, or None when there is no port."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        rest = hostport.partition("]")[2]
        return rest[1:] if rest.startswith(":") else None
    host, sep, port = hostport.partition(":")
    return port if sep else None


def _checked_port(netloc: str, default: int) -> int:
    raw = _raw_port(netloc)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError(f"invalid WebSocket URL: invalid port {raw!r}")
    port = int(raw)
    if not 1 <= port <= 65535:
        raise ValueError(f"invalid WebSocket URL: port {port} is not in 1..65535")
    return port


def parse_url(url: str) -> ParsedUrl:
    """Split a WebSocket URL into ``(isSecure, host, port, resource, path, params)``.

    ``port`` defaults to 80 (ws) or 443 (wss); ``resource`` is the raw path plus
    ``?query`` (what goes on the request line), ``path`` the percent-decoded path and
    ``params`` the query as ``{name: [values]}``. For ``ws://unix:/path/to/socket`` the
    host is ``"unix"`` and the third item is the socket path instead of a port.

    Raises ``ValueError`` for a scheme other than ws/wss, a missing host, a fragment
    (RFC 6455 forbids ``#`` in WebSocket URIs) or a bad port.
    """
    if not isinstance(url, str):
        raise InvalidTypeError(f"url must be a str, not {type(url).__name__}")
    parsed = urlsplit(url)

    if parsed.scheme not in ("ws", "wss"):
        raise ValueError(
            f"invalid WebSocket URL: protocol scheme {parsed.scheme!r} is not for WebSocket"
        )
    is_secure = parsed.scheme == "wss"
    hostname = parsed.hostname
    if not hostname:
        raise ValueError("invalid WebSocket URL: missing hostname")
    if "#" in url:
        raise ValueError(f"invalid WebSocket URL: fragment {parsed.fragment!r} is not allowed")

    if parsed.path:
        ppath = parsed.path
        path = unquote(ppath)
    else:
        ppath = path = "/"

    if parsed.query:
        resource = f"{ppath}?{parsed.query}"
        params = parse_qs(parsed.query)
    else:
        resource = ppath
        params = {}

    if hostname == "unix":
        # ws://unix:/tmp/app.sock -> netloc "unix:", path "/tmp/app.sock"
        uds_path = (parsed.netloc + parsed.path).partition(":")[2]
        if not uds_path:
            raise ValueError("invalid WebSocket URL: missing Unix domain socket path")
        return is_secure, hostname, uds_path, resource, path, params

    port = _checked_port(parsed.netloc, 443 if is_secure else 80)
    return is_secure, hostname, port, resource, path, params


# ---------------------------------------------------------------------------
# Origin policy
# ---------------------------------------------------------------------------

# Host characters we accept in an Origin: DNS names, IPv4, and (bracketless, as urllib
# returns them) IPv6 literals with an optional zone. Anything else cannot be a real
# browser origin and is refused rather than matched.
_ORIGIN_HOST = re.compile(r"[a-z0-9._~\-]+|[0-9a-f:.]+(%[a-z0-9._~\-]+)?", re.IGNORECASE)
_ORIGIN_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*", re.IGNORECASE)


def normalize_origin(origin: str) -> str:
    """Reduce an ``Origin`` header to ``scheme://host:port``, or ``"null"``.

    Scheme and host are lower-cased, an IPv6 host is bracketed and the default port of
    http/https (and ws/wss) is made explicit, as AutobahnPython does; any path or query is
    dropped. ``null`` and ``file://`` origins (browsers send these for local
    files and sandboxed frames) give ``"null"``. Raises ``ValueError`` for an origin
    without a host, with a bad host or port, or with user info (``user@host``).
    """
    if not isinstance(origin, str):
        raise InvalidTypeError(f"origin must be a str, not {type(origin).__name__}")
    text = origin.strip()
    if text.lower() == "null":
        return "null"
    parsed = urlsplit(text)
    scheme = parsed.scheme.lower()
    if scheme == "file":
        return "null"
    if not _ORIGIN_SCHEME.fullmatch(scheme):
        raise ValueError(f"no scheme in Origin {origin!r}")
    if "@" in parsed.netloc:
        # A serialized origin never carries user info; refuse rather than guess which
        # side of the "@" a browser or a proxy would take for the host.
        raise ValueError(f"user info in Origin {origin!r}")
    host = parsed.hostname
    if not host:
        raise ValueError(f"no host in Origin {origin!r}")
    if not _ORIGIN_HOST.fullmatch(host):
        raise ValueError(f"invalid host in Origin {origin!r}")
    raw = _raw_port(parsed.netloc)
    if raw:
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 65535:
            raise ValueError(f"invalid port in Origin {origin!r}")
        port: int | None = int(raw)
    else:
        port = _DEFAULT_PORTS.get(scheme)
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"


def origin_allowed(
    origin: str, patterns: Iterable[re.Pattern[str]], allow_null: bool = False
) -> bool:
    """Tell whether the ``Origin`` header ``origin`` passes the allow-list ``patterns``.

    The origin is normalised (:func:`normalize_origin`) and each pattern must match it
    entirely. Where the port is the scheme's default the origin is also tried without it,
    so an allow-list entry ``https://a.com`` accepts ``https://a.com`` and
    ``https://a.com:443`` but not ``https://a.com:8443``; write ``https://a.com:*`` to
    accept any port. A ``null`` or ``file://`` origin passes only when ``allow_null``
    (a ``*`` pattern does not let it through). A malformed origin never passes.
    """
    try:
        normal = normalize_origin(origin)
    except ValueError:
        return False
    if normal == "null":
        return allow_null

    candidates = [normal]
    scheme, _, hostport = normal.partition("://")
    default = _DEFAULT_PORTS.get(scheme)
    if default is not None and hostport.endswith(f":{default}"):
        candidates.append(normal[: -len(f":{default}")])

    for pattern in patterns:
        for candidate in candidates:
            if pattern.fullmatch(candidate):
                return True
    return False
