"""Fan-out and drop latency: one drop to N channels, through the real scheduler, delivery
engine and platform sender, against the local fake platform API (fakes/).

* Discord: `DiscordSender` against `FakeDiscord`, which enforces a global limit of R requests/s
  (fixed one-second windows, 429 beyond) and Discord's per-channel message bucket (5 per 5 s).
* Slack: `SlackSender` (slack_sdk) against `FakeSlackApi`, which enforces a workspace limit of
  R_slack chat.postMessage calls/s (fixed one-second windows) and about one message per second
  per channel, answering 429 + Retry-After beyond. The engine uses the app's Slack limiter
  (`limiter_for("slack")`: burst, per-channel spacing) with its overall rate set to the
  bench's workspace rate.

The drop is scheduled a moment ahead of real time and fired by APScheduler, so one run
measures both:

* latency: from the scheduled instant to the first post the server accepted (target <= 1 s);
* fan-out: wall time from the instant to the last accepted post, against the bound N/R
  (ratio = bound / wall; target >= 0.9), with duplicates, lost posts and 429s counted.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.discord.sender import DiscordSender
from adapters.slack.sender import SlackSender
from bot.clock import FixedClock, SystemClock
from bot.commands import Commands
from bot.models import Actor
from bot.ratelimit import RateLimiter
from bot.sender import Delivery, Sender, SendReceipt
from bot.store import to_db_time
from bot.store.sqlite import SqliteStore  # seeded with bulk SQL: the SQLite store itself
from episode_bot.app import limiter_for
from fakes.discord_api import FakeDiscord
from fakes.slack_api import FakeSlackApi
from jobs.delivery import DeliveryEngine
from jobs.scheduler import DropScheduler

TOKEN = "bench-token-not-secret"
SLACK_TOKEN = "xoxb-bench-token-not-secret"
SLACK_TEAM = "T0BENCH"
LEAD = 2.0  # seconds between start-up and the scheduled drop
# The limiters run a hair under R: the fakes count fixed one-second windows, the limiter a
# smooth rate, and its small burst absorbs asyncio sleep overshoot without crossing R.
HEADROOM = 0.98


@dataclass
class FanoutFigures:
    platform: str
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

    def __init__(self, inner: Sender, expected: int) -> None:
        self.inner = inner
        self.platform = inner.platform
        self.max_concurrency = inner.max_concurrency
        self.first: float | None = None
        self.last: float | None = None
        self.accepted = 0
        self.expected = expected
        self.done = asyncio.Event()

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

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


def drop_instant() -> datetime:
    return datetime.fromtimestamp(int(time.time() + LEAD + 1), UTC)


def prepare_drops(
    path: Path,
    platform: str,
    drops: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    drop_at: datetime,
) -> None:
    """Per (show title, subscriptions): a show, a season whose first episode drops at
    `drop_at`, and one subscription per (tenant, channel) on `platform`."""
    store = SqliteStore.open(path)
    commands = Commands(store, FixedClock(drop_at - timedelta(days=30)))
    operator = Actor.operator()
    day = (drop_at + timedelta(days=7)).date().isoformat()
    created = to_db_time(drop_at - timedelta(days=1))
    for title, subscriptions in drops:
        commands.show_add(operator, title, network="Bench+", tz="UTC")
        commands.season_add(operator, title, 1, premiere=day, episodes=3, every=None)
        conn = store.db.conn
        [show_id] = conn.execute("SELECT id FROM shows WHERE title = ?", [title]).fetchone()
        conn.execute("BEGIN")
        # Bulk subscriptions and the exact drop instant: bench setup, not product code.
        conn.executemany(
            "INSERT INTO subscriptions (platform, tenant, channel, show_id, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(platform, tenant, channel, show_id, created) for tenant, channel in subscriptions],
        )
        conn.execute(
            "UPDATE episodes SET release_at = ? WHERE number = 1 AND season_id IN "
            "(SELECT id FROM seasons WHERE show_id = ?)",
            [to_db_time(drop_at), show_id],
        )
        conn.execute("COMMIT")
    store.close()


async def _deliver(db: Path, sender: TimedSender, limiter: RateLimiter, timeout: float) -> None:
    """Start the real scheduler and engine on `db`; return once every post was accepted."""
    store = SqliteStore.open(db)
    clock = SystemClock()
    engine = DeliveryEngine(
        store, {sender.platform: sender}, clock, limiters={sender.platform: limiter}
    )
    scheduler = DropScheduler(store, engine, clock)
    scheduler.start()
    try:
        await asyncio.wait_for(sender.done.wait(), timeout)
        await scheduler.wait_idle()
    finally:
        engine.stop()
        scheduler.shutdown()
        store.close()


def _figures(
    platform: str,
    rate: float,
    drop_at: datetime,
    sender: TimedSender,
    counts: Sequence[int],
    requests: int,
    limited: int,
) -> FanoutFigures:
    """Figures from the fake's view: `counts` = posts the server holds per channel."""
    instant = drop_at.timestamp()
    wall = (sender.last or instant) - instant
    bound = len(counts) / rate
    return FanoutFigures(
        platform=platform,
        channels=len(counts),
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


async def run_fanout(
    channels: int = 5000, rate: float = 200.0, concurrency: int = 50, timeout: float = 600.0
) -> FanoutFigures:
    """Discord: one drop to `channels` channels at a global limit of `rate` req/s."""
    ids = [str(10_000_000 + n) for n in range(channels)]
    subscriptions = [(str(1000 + n // 100), ids[n]) for n in range(channels)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "fanout.db"
        drop_at = drop_instant()
        prepare_drops(db, "discord", [("Bench Show", subscriptions)], drop_at)
        async with FakeDiscord(token=TOKEN, global_limit=int(rate), route_limit=5) as api:
            api.record_requests = False
            inner = DiscordSender(TOKEN, api_base=api.base_url, max_concurrency=concurrency)
            await inner.start()
            sender = TimedSender(inner, channels)
            limiter = RateLimiter(rate * HEADROOM, burst=3)
            try:
                await _deliver(db, sender, limiter, timeout)
            finally:
                await inner.close()
            counts = [len(api.messages.get(c, ())) for c in ids]
            requests = sum(api.status_counts.values())
            limited = api.status_counts[429]
    return _figures("discord", rate, drop_at, sender, counts, requests, limited)


def slack_limiter(rate: float) -> RateLimiter:
    """The app's Slack limiter (burst, per-channel spacing) at the workspace rate `rate`."""
    app = limiter_for("slack")
    return RateLimiter(
        rate * HEADROOM, burst=app.burst, per_channel_interval=app.per_channel_interval
    )


async def run_slack_fanout(
    channels: int = 1000,
    rate: float = 50.0,
    concurrency: int | None = None,
    timeout: float = 600.0,
    per_channel_interval: float = 1.0,
) -> FanoutFigures:
    """Slack: one drop to `channels` channels of one workspace limited to `rate` posts/s."""
    ids = [f"C{n:09d}" for n in range(channels)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "fanout-slack.db"
        drop_at = drop_instant()
        prepare_drops(db, "slack", [("Bench Show", [(SLACK_TEAM, c) for c in ids])], drop_at)
        api = FakeSlackApi(
            bot_token=SLACK_TOKEN,
            team_id=SLACK_TEAM,
            per_channel_interval=per_channel_interval,
            global_per_second=int(rate),
            record=False,
        )
        async with api:
            extra: dict[str, int] = {} if concurrency is None else {"max_concurrency": concurrency}
            inner = SlackSender(SLACK_TOKEN, base_url=api.base_url, **extra)
            sender = TimedSender(inner, channels)
            try:
                await _deliver(db, sender, slack_limiter(rate), timeout)
            finally:
                await inner.close()
            counts = [api.posts_per_channel[c] for c in ids]
            requests = api.calls["chat.postMessage"]
            limited = api.rate_limited["chat.postMessage"]
    return _figures("slack", rate, drop_at, sender, counts, requests, limited)
