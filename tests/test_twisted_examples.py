"""The programs in examples/twisted/, run as they would be, each in its own
interpreter (a server is stopped when its test ends)."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import re
import sys
from collections.abc import AsyncIterator

from conftest import http_exchange, run

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples" / "twisted"


async def run_example(script: str, *args: str) -> str:
    """Run an example to its end; its output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, out.decode()
    return out.decode()


@contextlib.asynccontextmanager
async def example_server(script: str) -> AsyncIterator[int]:
    """Start a server example on a free port; yields the port."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / script),
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()  # type: ignore[union-attr]
        found = re.search(r"127\.0\.0\.1:(\d+)", first)
        assert found, first
        yield int(found.group(1))
    finally:
        proc.kill()
        await proc.wait()


def test_echo_server_and_client() -> None:
    async def main() -> None:
        async with example_server("echo_server.py") as port:
            out = await run_example("echo_client.py", f"ws://127.0.0.1:{port}", "2")
        assert out.count("binary message echoed: 4 bytes") == 2
        assert "text message echoed: Hello, world! (1 to go)" in out
        assert "closed: clean=True code=1000" in out

    run(main())


def test_site_serves_page_and_websocket_on_one_port() -> None:
    async def main() -> None:
        async with example_server("echo_site.py") as port:
            head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            status, _, body = await http_exchange(port, head)
            assert status == 200 and b"new WebSocket(" in body
            out = await run_example("echo_client.py", f"ws://127.0.0.1:{port}/ws", "1")
        assert "closed: clean=True code=1000" in out

    run(main())


def test_wrapping_server_and_client() -> None:
    async def main() -> None:
        async with example_server("wrapping_server.py") as port:
            out = await run_example("wrapping_client.py", f"ws://127.0.0.1:{port}")
        assert "answer: HELLO\nanswer: A LINE PROTOCOL\nanswer: OVER WEBSOCKET\n" in out
        assert "closed cleanly" in out

    run(main())


def test_keepalive() -> None:
    async def main() -> None:
        out = await run_example("keepalive.py", "2")
        assert "server: pong #2" in out
        assert "client: pong b'my own ping'" in out
        assert "client: closed (clean=True, code=1000)" in out

    run(main())
