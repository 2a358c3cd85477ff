"""Fair fan-out: two drops at one instant on Discord, with commands answered meanwhile.

One show followed by N_big channels and one followed by N_small drop at the same instant.
Everything is the production wiring of `episode-bot run` (episode_bot/app.py): the
scheduler, the delivery engine on its own database connection, the app's Discord limiter
(`limiter_for("discord")` at `DISCORD_GLOBAL_RATE` = R), the real `DiscordSender` and a real
discord.py client for the slash commands, both drawing from that limiter. The server is
`FakeDiscord` with Discord's limits: R requests/s global counting every authenticated
request, 5 posts per 5 s per channel, and `latency` per answer (30 ms), served from a process
of its own (bench/remote_fake.py) so that the figures are the bot's, not the bot's and the
fake's sharing one event loop.

Measured:
* the small drop: time from the instant to its last post (target <= 1 s);
* the big drop: N_big / R against its wall time (ratio, target >= 0.95);
* 429s per request (target <= 0.5 %), duplicates and lost posts (0), peak RSS;
* `/episodes next` and `/episodes schedule`, fed to the real command tree every 200 ms while
  the drops fan out: time until the answer reached the fake, p50 and p99 (target p99 <= 200 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import discord

from adapters.discord.budget import budget_trace
from adapters.discord.client import EpisodeClient
from adapters.discord.commands import install_commands
from adapters.discord.endpoints import redirect_process
from adapters.discord.sender import DiscordSender
from bench import memory
from bench.fanout import TOKEN, TimedSender, drop_instant, prepare_drops
from bench.remote_fake import fake_discord_process
from bot.clock import SystemClock
from bot.commands import Commands
from bot.settings import Settings
from bot.store import open_store
from episode_bot.app import limiter_for
from fakes.discord_interactions import command, options
from jobs.delivery import DeliveryEngine
from jobs.scheduler import DropScheduler

COMMAND_EVERY = 0.2  # seconds between two commands during the fan-out


@dataclass
class FairFigures:
    big: int
    small: int
    rate: float
    small_last_s: float
    big_wall_s: float
    big_ratio: float
    requests: int
    status_429: int
    duplicates: int
    lost: int
    peak_rss_mb: float
    command_ms: dict[str, tuple[float, float, int]]  # name -> (p50, p99, count)

    @property
    def pct_429(self) -> float:
        return 100.0 * self.status_429 / self.requests if self.requests else 0.0


class PostTimes(TimedSender):
    """Also notes when each channel's post was accepted."""

    def __init__(self, inner: DiscordSender, expected: int) -> None:
        super().__init__(inner, expected)
        self.at: dict[str, float] = {}

    async def send(self, delivery):  # type: ignore[no-untyped-def]
        receipt = await super().send(delivery)
        self.at[delivery.channel.channel] = time.time()
        return receipt


async def _commands_meanwhile(
    bot: EpisodeClient, guild: str, channel: str, until: asyncio.Event
) -> dict[str, list[float]]:
    """Feed `/episodes next` and `/episodes schedule` alternately until `until` is set."""
    timings: dict[str, list[float]] = {"/episodes next": [], "/episodes schedule": []}
    payloads = {
        "/episodes next": lambda: command("episodes next", guild=guild, channel=channel),
        "/episodes schedule": lambda: command(
            "episodes schedule", options(show="Bench Show"), guild=guild, channel=channel
        ),
    }
    names = list(payloads)
    n = 0
    while not until.is_set():
        name = names[n % 2]
        interaction = discord.Interaction(data=payloads[name](), state=bot._connection)
        started = time.perf_counter()
        await bot.tree._call(interaction)  # returns once the answer reached the server
        timings[name].append((time.perf_counter() - started) * 1000)
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), COMMAND_EVERY)
    return timings


def _percentiles(values: list[float]) -> tuple[float, float, int]:
    if not values:
        return 0.0, 0.0, 0
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered), p99, len(ordered)


async def run_two_drops(
    big: int = 5000,
    small: int = 5,
    rate: float = 50.0,
    *,
    latency: float = 0.03,
    concurrency: int = 25,
    with_commands: bool = True,
    timeout: float = 900.0,
) -> FairFigures:
    big_ids = [str(10_000_000 + n) for n in range(big)]
    small_ids = [str(20_000_000 + n) for n in range(small)]
    tenant = lambda n: str(1000 + n // 100)  # noqa: E731
    # The fake first: its process takes a moment to start, and the drop is set from now.
    async with fake_discord_process(rate=rate, latency=latency) as api:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "fair.db"
            drop_at = drop_instant()
            prepare_drops(
                db,
                "discord",
                [
                    ("Bench Show", [(tenant(n), c) for n, c in enumerate(big_ids)]),
                    ("Small Show", [(tenant(n), c) for n, c in enumerate(small_ids)]),
                ],
                drop_at,
            )
            settings = Settings(_env_file=None, discord_global_rate=rate)  # type: ignore[call-arg]
            limiter = limiter_for("discord", settings)
            inner = DiscordSender(
                TOKEN, api_base=api.base_url, max_concurrency=concurrency, budget=limiter
            )
            sender = PostTimes(inner, big + small)
            engine_store, command_store = open_store(db), open_store(db)
            clock = SystemClock()
            engine = DeliveryEngine(
                engine_store, {"discord": sender}, clock, limiters={"discord": limiter}
            )
            scheduler = DropScheduler(command_store, engine, clock)
            core = Commands(command_store, clock)
            done = asyncio.Event()
            with redirect_process(api.base_url):
                bot = EpisodeClient(core, http_trace=budget_trace(limiter))
                install_commands(bot.tree, core)
                await bot.login(TOKEN)
                await inner.start()
                scheduler.start()
                commands = asyncio.create_task(
                    _commands_meanwhile(bot, tenant(0), big_ids[0], done)
                    if with_commands
                    else asyncio.sleep(0, result={})
                )
                try:
                    await asyncio.wait_for(sender.done.wait(), timeout)
                    await scheduler.wait_idle()
                finally:
                    done.set()
                    timings = await commands
                    engine.stop()
                    scheduler.shutdown()
                    await inner.close()
                    await bot.close()
                    engine_store.close()
                    command_store.close()
        seen = await api.results(big_ids + small_ids)
    instant = drop_at.timestamp()
    small_last = max(sender.at[c] for c in small_ids) - instant if small else 0.0
    big_wall = max(sender.at[c] for c in big_ids) - instant
    return FairFigures(
        big=big,
        small=small,
        rate=rate,
        small_last_s=small_last,
        big_wall_s=big_wall,
        big_ratio=(big / rate) / big_wall if big_wall > 0 else 0.0,
        requests=seen.requests,
        status_429=seen.status_429,
        duplicates=sum(max(0, c - 1) for c in seen.counts),
        lost=sum(1 for c in seen.counts if c == 0),
        peak_rss_mb=memory.peak_rss_mb(),
        command_ms={name: _percentiles(values) for name, values in timings.items()},
    )
