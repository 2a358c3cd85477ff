"""Follows and digests through the delivery engine: channel posts first, once only, pausing."""

from __future__ import annotations

from datetime import timedelta

from bot.models import ChannelRef, UserRef
from bot.sender import PermanentSendError
from tests.jobs.support import FAM, FAM_DROPS, OPERATOR, World, utc

PREMIERE = FAM_DROPS[0]


def follow(world: World, *names: str, before: str | None = None) -> None:
    for name in names:
        world.commands.follow(
            OPERATOR, FAM, before=before, user=UserRef.parse(f"console-user:{name}")
        )


async def test_a_drop_reaches_every_channel_before_any_follower(world: World) -> None:
    world.add_fam()
    follow(world, "f1", "f2", "f3")  # followed first: their ids are lower
    world.subscribe("a", "b", "c")
    world.engine.batch_size = 2  # several claims: the order holds across batches
    await world.scheduler.fire()  # the season's announcement, to the channels
    world.sender.sent.clear()
    world.clock.set(PREMIERE)
    result = await world.scheduler.fire()
    assert result.sent == 6
    assert [str(d.channel) for d in world.sender.sent] == [
        "console:a", "console:b", "console:c",
        "console-user:f1", "console-user:f2", "console-user:f3",
    ]  # fmt: skip
    assert (await world.scheduler.fire()).sent == 0  # once only


async def test_an_undeliverable_dm_pauses_that_follow_only(world: World) -> None:
    world.add_fam()
    world.subscribe("a")
    follow(world, "closed", "open")
    world.sender.fail = lambda d: (
        PermanentSendError("the member does not accept direct messages from the bot")
        if str(d.channel) == "console-user:closed"
        else None
    )
    await world.scheduler.fire()
    world.sender.sent.clear()
    world.clock.set(PREMIERE)
    await world.scheduler.fire()
    assert sorted(str(d.channel) for d in world.sender.sent) == [
        "console-user:open", "console:a"
    ]  # fmt: skip
    closed = world.store.follows(UserRef.parse("console-user:closed"))[0][0]
    assert closed.paused_reason == "the member does not accept direct messages from the bot"
    assert world.store.follows(UserRef.parse("console-user:open"))[0][0].paused_reason is None
    assert world.store.subscriptions(paused_only=True) == []  # no channel paused
    world.clock.set(FAM_DROPS[1])
    await world.scheduler.fire()
    assert "console-user:closed" not in [str(d.channel) for d in world.sender.sent]


async def test_the_scheduler_fires_the_weekly_digest_once(world: World) -> None:
    world.add_fam()
    world.subscribe("a")
    world.commands.digest(
        OPERATOR, ChannelRef.parse("console:a"), "monday 09:00", tz="America/New_York",
        only=True,
    )  # fmt: skip
    await world.scheduler.fire()
    world.sender.sent.clear()
    world.clock.set(utc(2023, 11, 1))
    await world.scheduler.fire()
    monday = utc(2023, 11, 6, 14, 0)  # 09:00 EST
    assert monday in world.scheduler.scheduled_instants()
    world.clock.set(monday)
    assert (await world.scheduler.fire()).sent == 1
    assert (await world.scheduler.fire()).sent == 0
    world.clock.set(PREMIERE + timedelta(minutes=1))
    await world.scheduler.fire()  # --only: no post for the drop itself
    (digest,) = world.sender.sent
    assert str(digest.notification_key) == "digest:console:a:2023-W45"
    assert [e.text for e in digest.message.entries] == ["For All Mankind S4E1"]
