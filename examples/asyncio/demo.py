"""`make demo`: start the echo server, run the echo client against it, stop."""

import asyncio
import pathlib
import sys

HERE = pathlib.Path(__file__).parent
PORT = 9000


async def main() -> int:
    server = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "echo_server.py"), str(PORT), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        # The server prints its URL once it listens.
        ready = await asyncio.wait_for(server.stdout.readline(), 10)
        print(ready.decode().strip())
        client = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "echo_client.py"), f"ws://127.0.0.1:{PORT}", "1"
        )
        return await asyncio.wait_for(client.wait(), 60)
    finally:
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
