"""Twisted only: WebSocketResource in a twisted.web site, wss with a test
certificate authority made here, the client agent."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from typing import Any

import pytest
from conftest import RawClient, frame, http_exchange, next_event
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flavours import TwistedFlavour, in_reactor, run_on
from test_asyncio_bad_input import request
from twisted.internet.ssl import Certificate, PrivateCertificate, optionsForClientTLS
from twisted.web.resource import Resource
from twisted.web.server import Site

from ferrobahn.twisted.resource import WebSocketResource, WSGIRootResource
from ferrobahn.twisted.websocket import create_client_agent, listenWS

# Twisted's TLS options hand pyOpenSSL objects to pyOpenSSL, which now warns.
pytestmark = pytest.mark.filterwarnings("ignore:Passing pyOpenSSL:DeprecationWarning")

PAGE = b"<!DOCTYPE html><title>site</title><p>a plain resource</p>"


class Page(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/html")
        return PAGE


# --------------------------------------------------------------------------
# A test certificate authority and a server certificate for localhost
# --------------------------------------------------------------------------


def _pem(cert: Any) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[no-any-return]


def _certificate(subject: str, key: Any, issuer: Any, issuer_key: Any, ca: bool) -> Any:
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki() -> dict[str, bytes]:
    """PEM of a CA certificate (``ca``) and of a key and certificate for
    localhost and 127.0.0.1 that it signed (``server``)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("ferrobahn test CA", ca_key, None, None, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate("localhost", key, ca.subject, ca_key, ca=False)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {"ca": _pem(ca), "server": key_pem + _pem(cert)}


def server_tls(pki: dict[str, bytes]) -> Any:
    return PrivateCertificate.loadPEM(pki["server"]).options()


# --------------------------------------------------------------------------
# WebSocketResource
# --------------------------------------------------------------------------


async def start_site(tx: TwistedFlavour, tls: Any = None) -> tuple[Any, int]:
    """A site with a plain page at / and an echo WebSocket at /ws."""
    factory = tx.server_factory()
    root = Resource()
    root.putChild(b"", Page())
    root.putChild(b"ws", WebSocketResource(factory))
    site = Site(root)
    if tls is None:
        port = await tx.call(tx.reactor.listenTCP, 0, site, 50, "127.0.0.1")
    else:
        port = await tx.call(tx.reactor.listenSSL, 0, site, tls, 50, "127.0.0.1")
    tx._closers.append(port.stopListening)
    return factory, port.getHost().port


async def get_page(port: int, path: str = "/") -> tuple[int, bytes]:
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    status, _, body = await http_exchange(port, head.encode())
    return status, body


def test_resource_beside_a_plain_page_on_one_port() -> None:
    async def main(tx: TwistedFlavour, aio: Any) -> None:
        server_factory, port = await start_site(tx)
        assert await get_page(port) == (200, PAGE)
        for client_flavour in (aio, tx):
            client_factory = client_flavour.client_factory(port)
            client_factory.resource = "/ws?x=1"
            await client_flavour.connect(client_factory, port)
            await next_event(client_factory, "open")
            client = client_factory.instance
            await client_flavour.call(client.sendMessage, b"through the site")
            assert await next_event(client_factory, "message") == (b"through the site", False)
            big = bytes(range(256)) * 4096  # written as header + payload (writeSequence)
            await client_flavour.call(client.sendMessage, big, True)
            assert await next_event(client_factory, "message") == (big, True)
            assert server_factory.instance.http_request_path == "/ws"
            assert server_factory.instance.http_request_params == {"x": ["1"]}
            await client_flavour.call(client.sendClose, 1000)
            assert await next_event(client_factory, "close") == (True, 1000, "")
            assert (await next_event(server_factory, "close"))[0] is True
        assert await get_page(port) == (200, PAGE)  # the site still serves pages

    run_on(main, "twisted", "asyncio")


def test_resource_gets_frames_sent_with_the_handshake() -> None:
    """Bytes that arrive with the request head (in the same read) reach the
    WebSocket protocol, after the head."""

    async def main(tx: TwistedFlavour) -> None:
        _, port = await start_site(tx)
        raw = await RawClient.connect(port, handshake=False)
        raw.send(request(target="/ws") + frame(1, b"early"))
        status, _ = await raw.read_head()
        assert status == 101
        assert await raw.recv_frame() == (1, b"early")
        raw.close()

    run_on(main, "twisted")


def test_resource_answers_a_plain_get_and_a_bad_handshake() -> None:
    async def main(tx: TwistedFlavour) -> None:
        _, port = await start_site(tx)
        status, body = await get_page(port, "/ws")
        assert status == 200 and b"ferrobahn" in body
        status, _, _ = await http_exchange(port, request(target="/ws", Sec_WebSocket_Version="8"))
        assert status == 426

    run_on(main, "twisted")


def test_wsgi_root_resource_routes_children_and_the_rest() -> None:
    from twisted.web.wsgi import WSGIResource

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = f"wsgi {environ['PATH_INFO']}".encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    async def main(tx: TwistedFlavour) -> None:
        factory = tx.server_factory()
        wsgi = WSGIResource(tx.reactor, tx.reactor.getThreadPool(), app)
        root = WSGIRootResource(wsgi, {b"ws": WebSocketResource(factory)})
        port = await tx.call(tx.reactor.listenTCP, 0, Site(root), 50, "127.0.0.1")
        tx._closers.append(port.stopListening)
        number = port.getHost().port
        assert await get_page(number, "/some/page") == (200, b"wsgi /some/page")
        client_factory = tx.client_factory(number)
        client_factory.resource = "/ws"
        await tx.connect(client_factory, number)
        await next_event(client_factory, "open")

    run_on(main, "twisted")


# --------------------------------------------------------------------------
# wss
# --------------------------------------------------------------------------


async def listen_wss(tx: TwistedFlavour, pki: dict[str, bytes]) -> tuple[Any, int]:
    factory = tx.server_factory()
    factory.setSessionParameters("wss://localhost")
    factory.port = 0  # any free port (a URL cannot say so)
    port = await tx.call(listenWS, factory, server_tls(pki), 50, "127.0.0.1")
    tx._closers.append(port.stopListening)
    return factory, port.getHost().port


def wss_client(tx: TwistedFlavour, port: int) -> Any:
    factory = tx.client_factory(port)
    factory.setSessionParameters(f"wss://localhost:{port}")
    return factory


def test_wss_verifies_the_certificate_by_default(pki: dict[str, bytes]) -> None:
    async def main(tx: TwistedFlavour) -> None:
        _, port = await listen_wss(tx, pki)
        # No context factory: the system's trust roots, which lack our CA.
        untrusting = wss_client(tx, port)
        await tx.connect(untrusting, port)
        clean, code, reason = await next_event(untrusting, "close")
        assert (clean, code) == (False, 1006)
        assert "certificate verify failed" in reason
        # Trusting the test CA: connected, and the host name is checked too.
        trusting = wss_client(tx, port)
        ca = Certificate.loadPEM(pki["ca"])
        await tx.call(tx.module.connectWS, trusting, optionsForClientTLS("localhost", ca))
        await next_event(trusting, "open")
        await tx.call(trusting.instance.sendMessage, b"secret", True)
        assert await next_event(trusting, "message") == (b"secret", True)
        wrong_name = wss_client(tx, port)
        await tx.call(tx.module.connectWS, wrong_name, optionsForClientTLS("example.com", ca))
        assert (await next_event(wrong_name, "close"))[:2] == (False, 1006)

    run_on(main, "twisted")


async def open_asyncio_wss(aio: Any, pki: dict[str, bytes], port: int, path: str = "/") -> Any:
    """An asyncio client over TLS that trusts the test CA, open: its factory."""
    factory = aio.client_factory(port)
    factory.setSessionParameters(f"wss://localhost:{port}{path}")
    loop = asyncio.get_running_loop()
    context = ssl.create_default_context(cadata=pki["ca"].decode())
    await loop.create_connection(
        factory, "127.0.0.1", port, ssl=context, server_hostname="localhost"
    )
    await next_event(factory, "open")
    return factory


def test_wss_twisted_server_asyncio_client(pki: dict[str, bytes]) -> None:
    async def main(tx: TwistedFlavour, aio: Any) -> None:
        _, port = await listen_wss(tx, pki)
        factory = await open_asyncio_wss(aio, pki, port)
        factory.instance.sendMessage(b"over tls")
        assert await next_event(factory, "message") == (b"over tls", False)
        factory.instance.sendClose(1000)
        assert await next_event(factory, "close") == (True, 1000, "")

    run_on(main, "twisted", "asyncio")


def test_resource_in_a_tls_site(pki: dict[str, bytes]) -> None:
    async def main(tx: TwistedFlavour, aio: Any) -> None:
        _, port = await start_site(tx, tls=server_tls(pki))
        factory = await open_asyncio_wss(aio, pki, port, "/ws")
        factory.instance.sendMessage(b"tls site")
        assert await next_event(factory, "message") == (b"tls site", False)
        # Large enough that the server writes header and payload apart (writeSequence).
        big = bytes(range(256)) * 4096
        factory.instance.sendMessage(big, True)
        assert await next_event(factory, "message") == (big, True)

    run_on(main, "twisted", "asyncio")


async def connect_proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal HTTP CONNECT proxy (one connection)."""
    target = (await reader.readuntil(b"\r\n\r\n")).split()[1].decode()
    host, _, port = target.rpartition(":")
    up_reader, up_writer = await asyncio.open_connection(host, int(port))
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

    async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while chunk := await src.read(1 << 16):
            dst.write(chunk)
        dst.close()

    await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


def test_wss_through_an_http_proxy(pki: dict[str, bytes]) -> None:
    """TLS starts once the proxy connected (Twisted); asyncio cannot yet."""

    async def main(tx: TwistedFlavour, aio: Any) -> None:
        _, port = await listen_wss(tx, pki)
        proxy = await asyncio.start_server(connect_proxy, "127.0.0.1", 0)
        via = {"host": "127.0.0.1", "port": proxy.sockets[0].getsockname()[1]}
        factory = tx.client_factory(port, proxy=via)
        factory.setSessionParameters(f"wss://localhost:{port}", proxy=via)
        trust = optionsForClientTLS("localhost", Certificate.loadPEM(pki["ca"]))
        await tx.call(tx.module.connectWS, factory, trust)
        await next_event(factory, "open")
        await tx.call(factory.instance.sendMessage, b"via proxy")
        assert await next_event(factory, "message") == (b"via proxy", False)
        unable = aio.client_factory(port, proxy=via)
        unable.setSessionParameters(f"wss://localhost:{port}", proxy=via)
        await aio.connect(unable, via["port"])
        clean, code, reason = await next_event(unable, "close")
        assert (clean, code) == (False, 1006) and "proxy is not supported" in reason
        proxy.close()

    run_on(main, "twisted", "asyncio")


def test_listen_wss_needs_a_context_factory() -> None:
    factory = TwistedFlavour().server_factory()
    factory.setSessionParameters("wss://localhost")
    with pytest.raises(ValueError, match="context factory"):
        listenWS(factory)


# --------------------------------------------------------------------------
# The client agent
# --------------------------------------------------------------------------


def test_agent_opens_after_the_handshake_and_reports_failures(pki: dict[str, bytes]) -> None:
    async def main(tx: TwistedFlavour) -> None:
        port = await tx.listen(tx.server_factory())
        agent = create_client_agent(tx.reactor)
        proto = await in_reactor(agent.open, f"ws://127.0.0.1:{port}/", {"protocols": []})
        assert proto.state == proto.STATE_OPEN
        await tx.call(proto.sendClose, 1000)
        await tx.call(lambda: proto.is_closed)
        refused = await tx.listen(tx.server_factory(on_connect=lambda request: 1 / 0))
        with pytest.raises(ConnectionError, match=r"\[500\]"):
            await in_reactor(agent.open, f"ws://127.0.0.1:{refused}/", {})
        _, wss_port = await listen_wss(tx, pki)
        with pytest.raises(Exception, match="(?i)certificate"):  # noqa: B017
            await in_reactor(agent.open, f"wss://localhost:{wss_port}/", {})
        with pytest.raises(ValueError):
            agent.open("http://localhost/", {})
        with pytest.raises(ValueError):
            agent.open("ws://localhost/", {"bogus": 1})

    run_on(main, "twisted")
