"""The engine shares a platform between drops (jobs/fairness.py through jobs/dispatch.py):
a small drop planned with a big one is not queued behind it, and 429s that cluster pause the
whole platform. Injected clocks, a recording fake sender: no waiting."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.models import ChannelRef
from bot.ratelimit import RateLimiter
from tests.bot.test_ratelimit import FakeTime
from tests.jobs.support import FAM_DROPS, OPERATOR, World, transient

SMALL = "Small Show"


def two_drops_at_one_instant(world: World, big: int, small: int) -> None:
    """FAM (followed by `big` channels, subscribed first, so its rows come first by id) and a
    small show (`small` channels) premiere at the same instant."""
    world.add_fam()
    world.commands.show_add(OPERATOR, SMALL, network="Net", tz="America/New_York", time="00:00")
    world.commands.season_add(OPERATOR, SMALL, 1, premiere="2023-11-10", episodes=1, every=None)
    world.subscribe(*(f"big{n}" for n in range(big)))
    for n in range(small):
        world.commands.subscribe(OPERATOR, ChannelRef.parse(f"console:small{n}"), SMALL)


async def test_a_small_drop_is_not_queued_behind_a_big_one(world: World) -> None:
    two_drops_at_one_instant(world, big=60, small=3)
    world.sender.max_concurrency = 1  # one post at a time: the order is the engine's choice
    world.clock.set(FAM_DROPS[0])
    result = await world.engine.run_pass()
    assert result.sent == 63
    order = world.sender.channels()
    last_small = max(i for i, channel in enumerate(order) if channel.startswith("small"))
    assert last_small < 6  # taking turns with the big drop, not after its 60 posts
    assert sorted(order) == sorted({*order})  # each channel once


async def test_429s_that_cluster_pause_the_platform(world: World) -> None:
    two_drops_at_one_instant(world, big=10, small=0)
    t = FakeTime()
    limiter = RateLimiter(50.0, cluster_threshold=3, cluster_pause=2.0,
                          monotonic=t.monotonic, sleep=t.sleep)  # fmt: skip
    world.engine.limiters["console"] = limiter
    world.sender.max_concurrency = 1
    world.sender.fail = lambda _d: transient("rate limited", retry_after=0.25)
    world.clock.set(FAM_DROPS[0])
    result = await world.engine.run_pass()
    assert result.retrying == 10
    assert limiter.rate_limited == 10 and limiter.pauses >= 1
    # The sends after the third 429 waited for the pause, not just each one's retry-after.
    assert t.now >= 2.0


async def test_a_failed_write_fails_the_pass_instead_of_vanishing(
    world: World, monkeypatch
) -> None:
    two_drops_at_one_instant(world, big=5, small=0)

    def locked(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(world.store, "mark_sent", locked)
    world.clock.set(FAM_DROPS[0])
    with pytest.raises(sqlite3.OperationalError):
        await world.engine.run_pass()


async def test_stopping_does_not_wait_for_a_long_pause(world: World) -> None:
    """The platform is paused (clustered 429s): a shutdown gives the claimed rows back at once
    instead of waiting for the pause to end."""
    two_drops_at_one_instant(world, big=3, small=0)
    limiter = RateLimiter(1000.0)
    limiter.back_off(3600.0)  # an hour: real time, which the test must not wait for
    world.engine.limiters["console"] = limiter
    world.clock.set(FAM_DROPS[0])
    running = asyncio.create_task(world.engine.run_pass())
    while not world.store.outbox_counts()["sending"]:
        await asyncio.sleep(0.01)  # until the rows are claimed and the dispatcher waits
    world.engine.stop()
    result = await asyncio.wait_for(running, timeout=10)
    assert result.sent == 0 and world.sender.sent == []
    assert world.store.outbox_counts()["pending"] == 3  # given back for the next run
