"""Catch-up, retries, permanent failures and status, driven by a FixedClock (no waiting)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store import Store
from jobs.delivery import RetryPolicy
from jobs.status import format_status, status_report
from tests.jobs.support import (
    FAM,
    FAM_DROPS,
    OPERATOR,
    FakeSender,
    World,
    make_world,
    permanent,
    transient,
    utc,
)

PREMIERE = FAM_DROPS[0]


async def settle(world: World, at) -> None:  # type: ignore[no-untyped-def]
    """A pass at `at`: the bot was up then (it sets the watermark)."""
    world.clock.set(at)
    await world.scheduler.fire()


async def test_catch_up_inside_the_grace_window_sends_once(world: World) -> None:
    world.add_fam()
    world.subscribe("a", "b")
    await settle(world, PREMIERE - timedelta(days=1))  # up the day before, then down
    world.clock.set(PREMIERE + timedelta(hours=11))  # back up 11 h after the drop
    result = await world.scheduler.fire()
    assert result.sent == 2 and result.skipped == 0
    assert sorted(world.sender.channels()) == ["a", "b"]
    assert (await world.scheduler.fire()).sent == 0


async def test_catch_up_beyond_the_grace_window_is_skipped_not_sent(world: World) -> None:
    world.add_fam()
    world.subscribe("a")
    await settle(world, PREMIERE - timedelta(days=1))
    world.clock.set(PREMIERE + timedelta(hours=13))  # grace is 12 h
    result = await world.scheduler.fire()
    assert result.sent == 0 and result.skipped == 1
    [row] = world.store.outbox(states=["skipped"])
    assert "past grace" in (row.last_error or "")
    assert world.store.outbox_counts()["skipped"] == 1
    # Down for two weeks: two drops skipped, the one inside the window sent.
    world.clock.set(FAM_DROPS[3] + timedelta(hours=1))
    result = await world.scheduler.fire()
    assert (result.sent, result.skipped) == (1, 2)
    assert [d.message.episode_number for d in world.sender.sent] == [4]


async def test_reminders_are_skipped_when_their_drop_has_passed(world: World) -> None:
    world.add_fam()
    world.subscribe("a", before="1d,1h")
    await settle(world, PREMIERE - timedelta(days=2))
    world.clock.set(PREMIERE + timedelta(minutes=30))  # both reminders fell due while down
    result = await world.scheduler.fire()
    assert result.sent == 1 and result.skipped == 2
    assert [str(d.notification_key).rsplit(":", 1)[-1] for d in world.sender.sent] == ["release"]
    reasons = {row.last_error for row in world.store.outbox(states=["skipped"])}
    assert reasons == {"the drop has already happened"}


async def test_a_missed_reminder_before_its_drop_is_sent_within_grace(world: World) -> None:
    world.add_fam()
    world.subscribe("a", before="1d,1h")
    await settle(world, PREMIERE - timedelta(days=2))
    world.clock.set(PREMIERE - timedelta(minutes=30))  # 1d and 1h reminders both fell due
    result = await world.scheduler.fire()
    # The 1h one is 30 min late: sent. The 1d one is 23.5 h late, past the 12 h grace.
    assert (result.sent, result.skipped) == (1, 1)
    assert str(world.sender.sent[0].notification_key).endswith(":before:1h")


async def test_transient_errors_back_off_exponentially_then_succeed(store: Store) -> None:
    world = make_world(store, retry=RetryPolicy(max_attempts=8, base_seconds=2), rand=lambda: 1.0)
    world.add_fam()
    world.subscribe("a")
    world.sender.fail = lambda d: transient("503") if len(world.sender.attempts) <= 3 else None
    world.clock.set(PREMIERE)
    delays = []
    for _ in range(3):
        await world.scheduler.fire()
        wake = world.engine.next_wakeup()
        delays.append((wake - world.clock.now()).total_seconds())
        # One second early: nothing is retried yet.
        world.clock.set(wake - timedelta(seconds=1))
        assert (await world.scheduler.fire()).sent == 0
        world.clock.set(wake)
    assert delays == [2.0, 4.0, 8.0]
    assert (await world.scheduler.fire()).sent == 1
    [row] = world.store.outbox(states=["sent"])
    assert row.attempts == 4


async def test_retry_after_from_a_429_is_honoured(world: World) -> None:
    world.add_fam()
    world.subscribe("a")
    world.sender.fail = lambda d: transient("429", 120) if not world.sender.attempts[:-1] else None
    world.clock.set(PREMIERE)
    result = await world.scheduler.fire()
    assert result.retrying == 1
    assert world.engine.next_wakeup() == PREMIERE + timedelta(seconds=120)
    world.clock.set(PREMIERE + timedelta(seconds=119))
    assert (await world.scheduler.fire()).sent == 0
    world.clock.set(PREMIERE + timedelta(seconds=120))
    assert (await world.scheduler.fire()).sent == 1


async def test_giving_up_after_max_attempts_fails_without_pausing(store: Store) -> None:
    world = make_world(store, retry=RetryPolicy(max_attempts=3))
    world.add_fam()
    world.subscribe("a")
    world.sender.fail = lambda d: transient("502 Bad Gateway")
    world.clock.set(PREMIERE)
    for _ in range(3):
        await world.scheduler.fire()
        if (wake := world.engine.next_wakeup()) is not None:
            world.clock.set(wake)
    assert world.store.outbox_counts()["failed"] == 1
    [row] = world.store.outbox(states=["failed"])
    assert "gave up after 3 attempts" in (row.last_error or "")
    assert world.store.subscriptions()[0].paused_reason is None


async def test_channel_deleted_mid_season(world: World) -> None:
    world.add_fam()
    world.subscribe("a", "gone", "c")
    deleted = False
    world.sender.fail = lambda d: (
        permanent("channel not found") if deleted and d.channel.channel == "gone" else None
    )
    world.scheduler.reconcile()
    for number, instant in enumerate(FAM_DROPS, start=1):
        deleted = number >= 4  # the channel is deleted after the third drop
        world.clock.set(instant)
        await world.scheduler.fire()
    assert len(world.sender.to("a")) == len(world.sender.to("c")) == 10
    assert [d.message.episode_number for d in world.sender.to("gone")] == [1, 2, 3]
    # One failed attempt, then the paused subscription gets nothing more.
    assert len([d for d in world.sender.attempts if d.channel.channel == "gone"]) == 4
    assert world.store.outbox_counts()["failed"] == 1
    [paused] = [s for s in world.store.subscriptions() if s.paused_reason]
    assert paused.channel.channel == "gone" and paused.paused_reason == "channel not found"


async def test_permanent_failure_shows_in_status(world: World) -> None:
    world.add_fam()
    world.subscribe("ok", "gone")
    world.sender.fail = lambda d: permanent("the bot lacks permission") if (
        d.channel.channel == "gone"
    ) else None  # fmt: skip
    world.clock.set(PREMIERE)
    await world.scheduler.fire()
    report = status_report(world.store, world.clock.now())
    assert report["outbox"]["sent"] == 1 and report["outbox"]["failed"] == 1
    [failure] = report["failures"]
    assert failure["channel"] == "console:gone"
    assert failure["reason"] == "the bot lacks permission"
    assert report["paused_subscriptions"] == [
        {"channel": "console:gone", "show": "For All Mankind", "reason": "the bot lacks permission"}
    ]
    assert report["last_sent"] == {"console": "2023-11-10T05:00:00Z"}
    assert report["upcoming_jobs"][0]["id"] == "drop:2023-11-17T05:00:00Z"
    text = format_status(report)
    assert "console:gone" in text and "the bot lacks permission" in text
    assert "console: 2023-11-10T05:00:00Z" in text
    # The tenant's admins hear about it the next time they use a command (core notices).


async def test_status_on_an_empty_database(store: Store) -> None:
    report = status_report(store, utc(2023, 1, 1))
    assert report["upcoming_jobs"] == [] and report["failures"] == []
    assert report["next_retry_at"] is None
    assert "none" in format_status(report)


async def test_stop_releases_claimed_rows_that_never_started(world: World) -> None:
    world.add_fam()
    world.subscribe(*[f"c{i}" for i in range(6)])
    world.sender.max_concurrency = 1
    gate = asyncio.Event()
    started = asyncio.Event()
    original = world.sender.send

    async def blocking_send(delivery):  # type: ignore[no-untyped-def]
        started.set()
        await gate.wait()
        return await original(delivery)

    world.sender.send = blocking_send  # type: ignore[method-assign]
    world.engine = type(world.engine)(world.store, {"console": world.sender}, world.clock)
    world.clock.set(PREMIERE)
    task = asyncio.create_task(world.engine.run_pass())
    await started.wait()  # one send is in flight, the other claimed rows wait their turn
    world.engine.stop()
    gate.set()
    result = await task
    assert result.sent == 1  # the one in flight finished
    counts = world.store.outbox_counts()
    assert counts["sent"] == 1 and counts["pending"] == 5 and counts["sending"] == 0


def test_fake_sender_is_a_sender() -> None:
    from bot.sender import Sender

    sender: Sender = FakeSender()
    assert sender.platform == "console"


async def test_an_event_stamped_in_the_same_second_as_the_last_pass_is_not_lost(
    world: World,
) -> None:
    world.add_fam()
    world.subscribe("a")
    at = utc(2023, 10, 20, 12)
    await settle(world, at + timedelta(milliseconds=300))  # watermark: 12:00:00
    world.clock.set(at + timedelta(milliseconds=600))  # same second, after the pass
    world.commands.season_trailer(OPERATOR, FAM, 4, "https://example.com/trailer")
    world.clock.set(at + timedelta(seconds=2))
    result = await world.scheduler.fire()
    assert result.sent == 1 and world.sender.sent[0].message.kind == "trailer"
    assert (await world.scheduler.fire()).sent == 0
