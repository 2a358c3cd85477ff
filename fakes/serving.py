"""Run a fake's aiohttp app on 127.0.0.1 (random port), in the test's loop or in a thread.

A thread is for callers that run their own event loop per command (the click CLI's
`asyncio.run`): the fake keeps answering between commands.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


class AppServer:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.base_url = ""

    async def start(self, port: int = 0) -> AppServer:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextmanager
def served_in_thread(app: web.Application) -> Iterator[str]:
    """Serve `app` from a background thread's loop; yields its base URL."""
    loop = asyncio.new_event_loop()
    server = AppServer(app)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=serve, name="fake-server", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the fake server did not start")
    try:
        yield server.base_url
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
