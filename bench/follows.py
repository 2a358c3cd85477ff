"""Follows fan-out: one drop to N channels and M followers' DMs through the real scheduler,
delivery engine and `DiscordSender`, against `FakeDiscord` at a global limit of R req/s.

What it checks (issue: "a drop to 5,000 channels and 20,000 followers at the platform limits"):

* channel posts finish first: the last channel post is accepted before the first DM;
* DMs at the rate bound: ratio = (M / R) / (last DM - last channel post), target >= 0.9;
* no duplicates and no losses, counted per channel and per DM channel on the fake;
* memory flat: the bot process's RSS is sampled through the run; its growth from the moment
  the channel posts are done to the last DM is reported. The fake Discord runs in a process
  of its own, so its bookkeeping (a count per channel) is not counted as the bot's.

Followers' DM channels are opened at their first DM and remembered (`platform_objects`);
this bench measures a drop after that (every DM channel known), which is every drop but a
follower's first. A first DM costs one more request (`POST /users/@me/channels`).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from adapters.discord.sender import DM_CHANNELS, DiscordSender
from bench.fanout import HEADROOM, TOKEN, TimedSender, _deliver, drop_instant, prepare_drops
from bench.memory import rss_mb
from bench.remote_fake import fake_discord_process
from bot.models import UserRef
from bot.ratelimit import RateLimiter
from bot.sender import Delivery, SendReceipt
from bot.store import open_store, to_db_time
from bot.store.sqlite import SqliteStore  # seeded with bulk SQL: the SQLite store itself


@dataclass
class FollowFigures:
    channels: int
    followers: int
    rate: float
    channels_done_s: float  # scheduled instant -> last channel post
    first_dm_s: float
    last_dm_s: float
    dm_bound_s: float
    dm_ratio: float
    total_ratio: float  # ((N + M) / R) / (last post - instant)
    duplicates: int
    lost: int
    status_429: int
    requests: int
    rss_at_channels_done_mb: float
    rss_at_end_mb: float
    rss_peak_mb: float


class KindTimedSender(TimedSender):
    """Notes when the last channel post and the first and last DM were accepted."""

    def __init__(self, inner: DiscordSender, expected: int) -> None:
        super().__init__(inner, expected)
        self.last_channel: float | None = None
        self.first_dm: float | None = None
        self.rss_at_channels_done: float | None = None

    async def send(self, delivery: Delivery) -> SendReceipt:
        receipt = await super().send(delivery)
        now = time.time()
        if delivery.channel.is_direct:
            self.first_dm = self.first_dm or now
        else:
            self.last_channel = now
        return receipt


def _add_followers(db: Path, users: list[str], dm_channels: list[str], drop_at: datetime) -> None:
    """Followers of the bench show, with their DM channels already known (bench set-up)."""
    store = SqliteStore.open(db)
    conn = store.db.conn
    conn.execute("BEGIN")
    created = to_db_time(drop_at - timedelta(days=1))
    inboxes = [UserRef.parse(f"discord-user:{user}").inbox for user in users]
    conn.executemany(
        "INSERT INTO subscriptions (platform, tenant, channel, show_id, trailers, created_at, "
        "followed_in) VALUES (?, ?, ?, 1, 0, ?, '')",
        [(i.platform, i.tenant, i.channel, created) for i in inboxes],
    )
    conn.executemany(
        "INSERT INTO platform_objects (platform, tenant, object_key, remote_id, payload_hash, "
        "updated_at) VALUES (?, '', ?, ?, '', ?)",
        [(DM_CHANNELS, u, c, created) for u, c in zip(users, dm_channels, strict=True)],
    )
    conn.execute("COMMIT")
    store.close()


async def run_follows_fanout(
    channels: int = 5000,
    followers: int = 20000,
    rate: float = 200.0,
    concurrency: int = 50,
    timeout: float = 900.0,
) -> FollowFigures:
    ids = [str(10_000_000 + n) for n in range(channels)]
    users = [str(800_000_000 + n) for n in range(followers)]
    dm_ids = [str(20_000_000 + n) for n in range(followers)]
    async with fake_discord_process(
        rate=rate, dm_channels=dict(zip(users, dm_ids, strict=True))
    ) as api:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "follows.db"
            drop_at = drop_instant() + timedelta(seconds=2)  # set-up of 25,000 rows: ~1 s
            subscriptions = [(str(1000 + n // 100), ids[n]) for n in range(channels)]
            prepare_drops(db, "discord", [("Bench Show", subscriptions)], drop_at)
            _add_followers(db, users, dm_ids, drop_at)
            cache = open_store(db)  # where the sender finds the DM channels
            inner = DiscordSender(
                TOKEN, api_base=api.base_url, max_concurrency=concurrency, store=cache
            )
            await inner.start()
            sender = KindTimedSender(inner, channels + followers)
            limiter = RateLimiter(rate * HEADROOM, burst=3)
            samples: list[float] = []

            async def sample() -> None:
                while True:
                    samples.append(rss_mb())
                    if sender.rss_at_channels_done is None and sender.first_dm is not None:
                        sender.rss_at_channels_done = samples[-1]
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample())
            try:
                await _deliver(db, sender, limiter, timeout)
            finally:
                sampler.cancel()
                await inner.close()
                cache.close()
        seen = await api.results(ids + dm_ids)
    counts, requests, limited = seen.counts, seen.requests, seen.status_429
    # Every DM channel was known: one request per post, plus any 429s and the log-in.
    assert requests == channels + followers + limited + 1, (requests, limited)
    instant = drop_at.timestamp()
    last_channel = (sender.last_channel or instant) - instant
    last = (sender.last or instant) - instant
    dm_bound = followers / rate
    return FollowFigures(
        channels=channels,
        followers=followers,
        rate=rate,
        channels_done_s=last_channel,
        first_dm_s=(sender.first_dm or instant) - instant,
        last_dm_s=last,
        dm_bound_s=dm_bound,
        dm_ratio=dm_bound / (last - last_channel) if last > last_channel else 0.0,
        total_ratio=((channels + followers) / rate) / last if last > 0 else 0.0,
        duplicates=sum(max(0, c - 1) for c in counts),
        lost=sum(1 for c in counts if c == 0),
        status_429=limited,
        requests=requests,
        rss_at_channels_done_mb=sender.rss_at_channels_done or 0.0,
        rss_at_end_mb=samples[-1] if samples else 0.0,
        rss_peak_mb=max(samples, default=0.0),
    )
