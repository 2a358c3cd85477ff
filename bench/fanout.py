"""Fan-out and drop latency: one drop to N Discord channels, through the real scheduler,
delivery engine and `DiscordSender`, against the local fake Discord (tests/fakes).

The fake enforces a global limit of R requests/s (fixed one-second windows, 429 beyond) and
Discord's per-channel message bucket (5 per 5 s). The drop is scheduled a moment ahead of real
time and fired by APScheduler, so one run measures both:

* latency: from the scheduled instant to the first post the server accepted (target <= 1 s);
* fan-out: wall time from the instant to the last accepted post, against the bound N/R
  (ratio = bound / wall; target >= 0.9), with duplicates, lost posts and 429s counted.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.discord.sender import DiscordSender
from bot.clock import FixedClock, SystemClock
from bot.commands import Commands
from bot.models import Actor
from bot.sender import Delivery, SendReceipt
from bot.store import Store, to_db_time
from jobs.delivery import DeliveryEngine
from jobs.limiter import RateLimiter
from jobs.scheduler import DropScheduler
from tests.fakes.discord_api import FakeDiscord

TOKEN = "bench-token-not-secret"
LEAD = 2.0  # seconds between start-up and the scheduled drop


@dataclass
class FanoutFigures:
    channels: int
    rate: float
    latency_s: float
    wall_s: float
    bound_s: float
    ratio: float
    duplicates: int
    lost: int
    requests: int
    status_429: int
    pct_429: float


class TimedSender:
    """Wraps the real sender to note when the server accepted the first and last post."""

    def __init__(self, inner: DiscordSender, expected: int) -> None:
        self.inner = inner
        self.platform = inner.platform
        self.max_concurrency = inner.max_concurrency
        self.first: float | None = None
        self.last: float | None = None
        self.accepted = 0
        self.expected = expected
        self.done = asyncio.Event()

    async def send(self, delivery: Delivery) -> SendReceipt:
        receipt = await self.inner.send(delivery)
        now = time.time()
        self.first = self.first or now
        self.last = now
        self.accepted += 1
        if self.accepted >= self.expected:
            self.done.set()
        return receipt

    async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
        return await self.inner.find_sent(delivery)


def _prepare(path: Path, channels: int, drop_at: datetime) -> None:
    """A show, a season whose first episode drops at `drop_at`, N subscribed channels."""
    store = Store.open(path)
    commands = Commands(store, FixedClock(drop_at - timedelta(days=30)))
    operator = Actor.operator()
    commands.show_add(operator, "Bench Show", network="Bench+", tz="UTC")
    day = (drop_at + timedelta(days=7)).date().isoformat()
    commands.season_add(operator, "Bench Show", 1, premiere=day, episodes=3, every=None)
    conn = store.db.conn
    conn.execute("BEGIN")
    # Bulk subscriptions and the exact drop instant: bench setup, not product code.
    conn.executemany(
        "INSERT INTO subscriptions (platform, tenant, channel, show_id, created_at) "
        "VALUES ('discord', ?, ?, 1, ?)",
        [
            (str(1000 + n // 100), str(10_000_000 + n), to_db_time(drop_at - timedelta(days=1)))
            for n in range(channels)
        ],
    )
    conn.execute("UPDATE episodes SET release_at = ? WHERE number = 1", [to_db_time(drop_at)])
    conn.execute("COMMIT")
    store.close()


async def run_fanout(
    channels: int = 5000, rate: float = 200.0, concurrency: int = 50, timeout: float = 600.0
) -> FanoutFigures:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "fanout.db"
        drop_at = datetime.fromtimestamp(int(time.time() + LEAD + 1), UTC)
        _prepare(db, channels, drop_at)
        async with FakeDiscord(token=TOKEN, global_limit=int(rate), route_limit=5) as api:
            api.record_requests = False
            inner = DiscordSender(TOKEN, api_base=api.base_url, max_concurrency=concurrency)
            await inner.start()
            sender = TimedSender(inner, channels)
            store = Store.open(db)
            clock = SystemClock()
            # A hair under R: the server counts fixed windows, the limiter a smooth rate;
            # a burst of 3 absorbs asyncio sleep overshoot without crossing R in any window.
            limiter = RateLimiter(rate * 0.98, burst=3)
            engine = DeliveryEngine(
                store, {"discord": sender}, clock, limiters={"discord": limiter}
            )
            scheduler = DropScheduler(store, engine, clock)
            scheduler.start()
            try:
                await asyncio.wait_for(sender.done.wait(), timeout)
                await scheduler.wait_idle()
            finally:
                engine.stop()
                scheduler.shutdown()
                await inner.close()
                store.close()
            counts = [len(api.messages.get(str(10_000_000 + n), ())) for n in range(channels)]
            requests = sum(api.status_counts.values())
            limited = api.status_counts[429]
    instant = drop_at.timestamp()
    wall = (sender.last or instant) - instant
    bound = channels / rate
    return FanoutFigures(
        channels=channels,
        rate=rate,
        latency_s=(sender.first or instant) - instant,
        wall_s=wall,
        bound_s=bound,
        ratio=bound / wall if wall > 0 else 0.0,
        duplicates=sum(max(0, c - 1) for c in counts),
        lost=sum(1 for c in counts if c == 0),
        requests=requests,
        status_429=limited,
        pct_429=100.0 * limited / requests if requests else 0.0,
    )
