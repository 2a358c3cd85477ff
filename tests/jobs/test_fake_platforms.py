"""The engine through the real adapter senders against the local fake Discord and Slack servers.

429 storms, 5xx bursts and a deleted channel: whatever the server throws, every channel ends
up with exactly one post, or a failed row and a paused subscription when it is gone.
Only the engine's clock is fixed; the HTTP is real (on localhost, never sleeping long).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.discord.sender import DiscordSender
from adapters.slack.sender import BoundedRateLimitRetryHandler, SlackSender
from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import ChannelRef
from bot.sender import Sender
from bot.store import Store
from fakes.discord_api import FakeDiscord
from fakes.slack_api import FakeSlackApi
from jobs.delivery import DeliveryEngine
from tests.jobs.support import FAM, FAM_DROPS, OPERATOR, START, claimed_by_a_crashed_runner

DISCORD_CHANNELS = [str(1000 + n) for n in range(12)]
SLACK_CHANNELS = [f"C{n:04d}" for n in range(12)]


def subscribed(store: Store, platform: str, tenant: str, channels: list[str]) -> None:
    commands = Commands(store, FixedClock(START))
    commands.show_add(OPERATOR, FAM, tz="America/New_York")
    commands.season_add(OPERATOR, FAM, 4, premiere="2023-11-10", episodes=10, every="friday")
    for channel in channels:
        commands.subscribe(OPERATOR, ChannelRef(platform, tenant, channel), FAM)


def engine_for(store: Store, sender: Sender, clock: FixedClock) -> DeliveryEngine:
    platform = sender.platform
    # No limiter: its back-off after a 429 waits in real time (tests/bot/test_ratelimit.py).
    return DeliveryEngine(store, {platform: sender}, clock, rand=lambda: 0.0)


async def drain_until_done(engine: DeliveryEngine, clock: FixedClock, rounds: int = 20) -> int:
    """Run passes, moving the fixed clock to each next retry, until nothing is pending."""
    passes = 0
    await engine.run_pass()
    while (wake := engine.next_wakeup()) is not None and passes < rounds:
        clock.set(max(wake, clock.now()))
        await engine.run_pass()
        passes += 1
    return passes


@pytest.fixture
async def discord() -> AsyncIterator[tuple[FakeDiscord, DiscordSender]]:
    async with FakeDiscord(token="t0ken-for-tests", global_limit=None) as api:
        sender = DiscordSender("t0ken-for-tests", api_base=api.base_url)
        yield api, sender
        await sender.close()


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlackApi, SlackSender]]:
    async with FakeSlackApi() as api:
        for channel in SLACK_CHANNELS:
            api.add_channel(channel)
        # Hand every 429 back to the engine (no in-place sleeping in tests).
        sender = SlackSender(
            api.bot_token, base_url=api.base_url,
            retry_handler=BoundedRateLimitRetryHandler(max_wait=0),
        )  # fmt: skip
        yield api, sender
        await sender.close()


async def test_discord_5xx_burst_is_retried_without_duplicates(store: Store, discord) -> None:
    api, sender = discord
    subscribed(store, "discord", "900", DISCORD_CHANNELS)
    api.fail_next(20, 503, path_contains="/messages")
    clock = FixedClock(FAM_DROPS[0])
    await drain_until_done(engine_for(store, sender, clock), clock)
    assert api.status_counts[503] == 20
    assert {c: api.message_count(c) for c in DISCORD_CHANNELS} == dict.fromkeys(DISCORD_CHANNELS, 1)
    assert store.outbox_counts()["sent"] == len(DISCORD_CHANNELS)


async def test_discord_429_storm_is_absorbed(store: Store, discord) -> None:
    api, sender = discord
    subscribed(store, "discord", "900", DISCORD_CHANNELS)
    # Longer than discord.py's own five tries for some requests: those reach the engine.
    api.rate_limit_next(40, retry_after=0.01, path_contains="/messages")
    api.rate_limit_next(5, retry_after=0.01, is_global=True, path_contains="/messages")
    clock = FixedClock(FAM_DROPS[0])
    await drain_until_done(engine_for(store, sender, clock), clock)
    assert api.status_counts[429] == 45
    assert all(api.message_count(c) == 1 for c in DISCORD_CHANNELS)
    assert store.outbox_counts()["sent"] == len(DISCORD_CHANNELS)


async def test_discord_channel_deleted_mid_season(store: Store, discord) -> None:
    api, sender = discord
    subscribed(store, "discord", "900", DISCORD_CHANNELS[:3])
    clock = FixedClock(FAM_DROPS[0])
    engine = engine_for(store, sender, clock)
    await drain_until_done(engine, clock)
    api.unknown_channels.add(DISCORD_CHANNELS[1])
    clock.set(FAM_DROPS[1])
    await drain_until_done(engine, clock)
    assert [api.message_count(c) for c in DISCORD_CHANNELS[:3]] == [2, 1, 2]
    [failed] = store.outbox(states=["failed"])
    assert failed.channel.channel == DISCORD_CHANNELS[1]
    assert "Unknown Channel" in (failed.last_error or "")
    [paused] = [s for s in store.subscriptions() if s.paused_reason]
    assert paused.channel.channel == DISCORD_CHANNELS[1]


async def test_slack_429_and_5xx_then_every_channel_once(store: Store, slack) -> None:
    api, sender = slack
    subscribed(store, "slack", "T01", SLACK_CHANNELS)
    api.fault("chat.postMessage", status=429, retry_after=3, times=8)
    api.fault("chat.postMessage", status=503, times=6)
    clock = FixedClock(FAM_DROPS[0])
    engine = engine_for(store, sender, clock)
    await engine.run_pass()
    # 8 x 429 (Retry-After 3 s, honoured) and 4 x 503 (backoff, at least 1 s).
    retrying = store.outbox(states=["pending"])
    assert len(retrying) == 12 and all(row.attempts == 1 for row in retrying)
    assert engine.next_wakeup() == FAM_DROPS[0] + timedelta(seconds=1)
    clock.set(FAM_DROPS[0] + timedelta(seconds=2.9))
    await engine.run_pass()
    # Two of the four 503ed rows hit the last two 503s; the 429ed ones still wait.
    assert sum(api.posts_per_channel.values()) == 2
    await drain_until_done(engine, clock)
    assert {c: api.posts_per_channel[c] for c in SLACK_CHANNELS} == dict.fromkeys(SLACK_CHANNELS, 1)


async def test_slack_recover_finds_a_post_made_before_a_crash(store: Store, slack) -> None:
    api, sender = slack
    subscribed(store, "slack", "T01", SLACK_CHANNELS[:2])
    clock = FixedClock(FAM_DROPS[0])
    engine = engine_for(store, sender, clock)
    from jobs.outbox import materialize

    materialize(store, clock.now(), timedelta(hours=12))
    claimed = claimed_by_a_crashed_runner(store, clock.now(), ["slack"])
    # The process "dies" right after Slack accepted the first post.
    await sender.send(engine._delivery(claimed[0]))
    assert await engine.recover() == 2
    await engine.run_pass()
    assert [api.posts_per_channel[c] for c in SLACK_CHANNELS[:2]] == [1, 1]
    assert store.outbox_counts()["sent"] == 2


async def test_discord_row_left_sending_is_found_not_posted_again_without_nonces(
    store: Store, discord
) -> None:
    """Discord forgot the nonce (minutes later, or the fake's memory off): the post is found
    by the outbox key in its footer, in the channel's messages, and adopted."""
    api, sender = discord
    api.remember_nonces = False
    channels = DISCORD_CHANNELS[:3]
    subscribed(store, "discord", "900", channels)
    clock = FixedClock(FAM_DROPS[0])
    from jobs.outbox import materialize

    materialize(store, clock.now(), timedelta(hours=12))
    claimed = claimed_by_a_crashed_runner(store, clock.now(), ["discord"])
    engine = engine_for(store, sender, clock)
    # The runner posted to the first channel, then died before recording it.
    posted = await sender.send(engine._delivery(claimed[0]))
    api.seed_message(channels[0], "a member's reply after our post")
    await engine.run_pass()
    assert [api.message_count(c) for c in channels] == [2, 1, 1]  # ours + the reply; 1; 1
    row = next(r for r in store.outbox(states=["sent"]) if r.id == claimed[0].id)
    assert row.platform_message_id == posted.platform_message_id
    assert len(api.requests_to("POST", rf"^/channels/{channels[0]}/messages$")) == 1
    assert store.outbox_counts()["sent"] == 3
