"""`FakeDiscord` in a process of its own.

At hundreds of requests a second, a fake server in the bot's event loop takes half of the
loop's time: the figure measured would be the bot and the fake sharing one core. Served from
another process, the fake has a core of its own and the bench measures the bot.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

from bench.fanout import TOKEN
from fakes.discord_api import FakeDiscord


@dataclass(frozen=True)
class DiscordResults:
    """What the fake saw: messages per channel asked about, requests answered, 429s."""

    counts: list[int]
    requests: int
    status_429: int


@dataclass
class RemoteDiscord:
    base_url: str
    _conn: Connection

    async def results(self, channels: list[str]) -> DiscordResults:
        """The fake's figures (ask once, at the end)."""
        self._conn.send(channels)
        counts, requests, limited = await asyncio.to_thread(self._conn.recv)
        return DiscordResults(counts, requests, limited)


def _serve(conn: Connection, rate: float, latency: float, dm_channels: dict[str, str]) -> None:
    """The process's body: serve, send the URL, answer one `results` question, stop."""

    async def serve() -> None:
        fake = FakeDiscord(token=TOKEN, global_limit=int(rate), route_limit=5, latency=latency)
        async with fake as api:
            api.record_requests = False
            api.record_messages = False
            for user, dm in dm_channels.items():  # the DM channels Discord already has
                api.dm_channels[user] = dm
                api._dm_users[dm] = user
            conn.send(api.base_url)
            channels = await asyncio.to_thread(conn.recv)
            counts = [len(api.messages.get(c, ())) for c in channels]
            conn.send((counts, sum(api.status_counts.values()), api.status_counts[429]))

    asyncio.run(serve())


@asynccontextmanager
async def fake_discord_process(
    *, rate: float, latency: float = 0.0, dm_channels: dict[str, str] | None = None
) -> AsyncIterator[RemoteDiscord]:
    """A `FakeDiscord` enforcing `rate` requests/s and 5 posts per 5 s per channel, answering
    after `latency` seconds, in a spawned process that ends with the block."""
    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    server = spawn.Process(
        target=_serve, args=(there, rate, latency, dm_channels or {}), daemon=True
    )
    server.start()
    try:
        if not await asyncio.to_thread(here.poll, 60):
            raise RuntimeError("the fake Discord process did not start")
        yield RemoteDiscord(here.recv(), here)
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.kill()
