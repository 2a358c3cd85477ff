"""Jobs mirror the plan: one per due instant, reconciled on every change; passes fire them."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.commands import Commands
from bot.models import ChannelRef
from bot.store import open_store
from jobs.scheduler import NOW_JOB_ID, RETRY_JOB_ID, drop_job_id
from tests.jobs.support import FAM, FAM_DROPS, OPERATOR, World, make_world, transient, utc


def drop_ids(world: World) -> list[str]:
    return sorted(i for i in world.job_ids() if i.startswith("drop:"))


def test_one_job_per_drop_instant_with_deterministic_ids(world: World) -> None:
    world.add_fam()
    world.subscribe("a", "b", "c")  # three channels, still one job per instant
    world.scheduler.reconcile()
    assert drop_ids(world) == [f"drop:2023-11-{d}T05:00:00Z" for d in (10, 17, 24)] + [
        drop_job_id(i) for i in FAM_DROPS[3:]
    ]
    assert world.scheduler.scheduled_instants() == FAM_DROPS
    # Reconciling again changes nothing.
    again = world.scheduler.reconcile()
    assert again.added == () and again.removed == ()


async def test_the_ten_drops_fire_in_order_each_once(world: World) -> None:
    world.add_fam()
    world.subscribe("a", "b", "c")
    world.scheduler.reconcile()
    for instant in list(world.scheduler.scheduled_instants()):
        assert drop_job_id(instant) in world.job_ids()
        world.clock.set(instant)
        result = await world.scheduler.fire()
        assert result.sent == 3
        # Firing the same instant again (a duplicate trigger) sends nothing.
        assert (await world.scheduler.fire()).sent == 0
        # The fired job is gone after the pass; later ones stay.
        assert world.scheduler.scheduled_instants() == [i for i in FAM_DROPS if i > instant]
    for channel in ("a", "b", "c"):
        posts = world.sender.to(channel)
        assert [d.message.episode_number for d in posts] == list(range(1, 11))
        assert all(d.notification_key.is_release for d in posts)
    assert world.store.outbox_counts()["sent"] == 30
    assert drop_ids(world) == []


async def test_reminder_instants_get_their_own_jobs(world: World) -> None:
    world.add_fam()
    world.subscribe("a", before="1d,1h")
    world.scheduler.reconcile()
    first = FAM_DROPS[0]
    instants = world.scheduler.scheduled_instants()
    assert instants[:3] == [first - timedelta(days=1), first - timedelta(hours=1), first]
    assert len(instants) == 30
    for instant in instants[:3]:
        world.clock.set(instant)
        await world.scheduler.fire()
    assert [str(d.notification_key).rsplit(":", 1)[-1] for d in world.sender.sent] == [
        "1d",
        "1h",
        "release",
    ]


async def test_moved_premiere_replaces_its_jobs(world: World) -> None:
    world.add_fam()
    world.subscribe("a")
    world.scheduler.reconcile()
    assert drop_job_id(utc(2023, 11, 10, 5)) in world.job_ids()
    world.clock.set(utc(2023, 11, 1))
    world.commands.season_move(OPERATOR, FAM, 4, premiere="2023-11-17")  # on_change reconciles
    ids = drop_ids(world)
    assert drop_job_id(utc(2023, 11, 10, 5)) not in ids
    assert ids[0] == drop_job_id(utc(2023, 11, 17, 5))
    assert ids[-1] == drop_job_id(utc(2024, 1, 19, 5))
    assert len(ids) == 10
    # "Moved" is due now: a pass is queued at once and posts it.
    assert NOW_JOB_ID in world.job_ids()
    await world.scheduler.fire()
    assert [d.message.kind for d in world.sender.sent] == ["moved"]
    # The old instant fires nothing (a stale trigger is harmless), the new one the premiere.
    world.clock.set(utc(2023, 11, 10, 5))
    assert (await world.scheduler.fire()).sent == 0
    world.clock.set(utc(2023, 11, 17, 5))
    result = await world.scheduler.fire()
    assert result.sent == 1 and world.sender.sent[-1].message.episode_number == 1


async def test_removed_season_leaves_no_job(world: World) -> None:
    world.add_fam()
    world.subscribe("a", before="1h")
    world.scheduler.reconcile()
    assert len(drop_ids(world)) == 20
    world.commands.season_remove(OPERATOR, FAM, 4)
    assert drop_ids(world) == []


async def test_unsubscribe_drops_reminder_jobs(world: World) -> None:
    world.add_fam()
    world.subscribe("a", before="2h")
    world.scheduler.reconcile()
    assert len(drop_ids(world)) == 20
    world.commands.subscribe(OPERATOR, ChannelRef.parse("console:a"), FAM, before="")  # none
    assert len(drop_ids(world)) == 10


async def test_changes_from_another_process_are_picked_up(tmp_path) -> None:
    path = tmp_path / "bot.db"
    store = open_store(path)
    world = make_world(store)
    world.scheduler.reconcile()
    assert await world.scheduler.poll_changes() is False
    # The CLI, in another process, with its own connection.
    other = open_store(path)
    cli = Commands(other, world.clock)
    cli.show_add(OPERATOR, FAM, tz="America/New_York")
    cli.season_add(OPERATOR, FAM, 4, premiere="2023-11-10", episodes=10, every="friday")
    other.close()
    assert await world.scheduler.poll_changes() is True
    assert world.scheduler.scheduled_instants() == FAM_DROPS
    assert await world.scheduler.poll_changes() is False
    store.close()


async def test_retry_job_follows_the_earliest_pending_retry(world: World) -> None:
    world.add_fam()
    world.subscribe("a")
    world.sender.fail = lambda d: transient("429", 30) if len(world.sender.attempts) == 1 else None
    world.clock.set(FAM_DROPS[0])
    await world.scheduler.fire()
    job = world.scheduler.scheduler.get_job(RETRY_JOB_ID)
    assert job is not None and job.trigger.run_date == FAM_DROPS[0] + timedelta(seconds=30)
    world.clock.set(FAM_DROPS[0] + timedelta(seconds=30))
    assert (await world.scheduler.fire()).sent == 1
    assert world.scheduler.scheduler.get_job(RETRY_JOB_ID) is None


async def test_overlapping_fires_coalesce_into_one_running_pass(world: World) -> None:
    world.add_fam()
    world.subscribe("a", "b")
    gate = asyncio.Event()
    original = world.sender.send

    async def slow_send(delivery):  # type: ignore[no-untyped-def]
        await gate.wait()
        return await original(delivery)

    world.sender.send = slow_send  # type: ignore[method-assign]
    world.clock.set(FAM_DROPS[0])
    first = asyncio.create_task(world.scheduler.fire())
    await asyncio.sleep(0)
    second = await world.scheduler.fire()  # returns at once: the running pass loops again
    assert second.sent == 0
    gate.set()
    result = await first
    assert result.sent == 2 and world.scheduler.passes == 2
    assert sorted(world.sender.channels()) == ["a", "b"]


async def test_start_queues_the_catch_up_pass(world: World) -> None:
    world.add_fam()
    world.scheduler.start(paused=True)
    try:
        ids = world.job_ids()
        assert NOW_JOB_ID in ids and "poll:changes" in ids and len(drop_ids(world)) == 10
    finally:
        world.scheduler.shutdown()


async def a_pass_held_mid_send(world: World) -> asyncio.Event:
    """Start the scheduler with one post due; returns once that post is in flight, held
    until the returned gate is set."""
    world.add_fam()
    world.subscribe("a")
    gate, sending = asyncio.Event(), asyncio.Event()
    original = world.sender.send

    async def slow_send(delivery):  # type: ignore[no-untyped-def]
        sending.set()
        await gate.wait()
        return await original(delivery)

    world.sender.send = slow_send  # type: ignore[method-assign]
    world.clock.set(FAM_DROPS[0])
    world.scheduler.start()  # the catch-up pass runs as an APScheduler job
    await sending.wait()
    return gate


async def test_stopping_lets_the_pass_in_flight_finish_its_post(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    gate = await a_pass_held_mid_send(world)
    world.engine.stop()
    stopping = asyncio.create_task(world.scheduler.stop(timeout=30))
    await asyncio.sleep(0)
    assert not stopping.done()  # waits for the post in flight...
    gate.set()
    assert await stopping is True  # ...which is sent, not cancelled half-way
    assert world.sender.channels() == ["a"]
    assert world.store.outbox_counts().get("sending", 0) == 0
    assert not world.scheduler.scheduler.running
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_pass_that_does_not_finish_in_time_is_stopped_with_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    gate = await a_pass_held_mid_send(world)
    world.engine.stop()
    assert await world.scheduler.stop(timeout=0) is False
    assert "did not finish" in caplog.text
    assert not world.scheduler.scheduler.running
    gate.set()
    await asyncio.gather(*asyncio.all_tasks() - {asyncio.current_task()}, return_exceptions=True)
    # Cut off or not (a race with the cancellation), the post is not lost: sent, or left
    # for the next start's recovery.
    counts = world.store.outbox_counts()
    assert counts.get("sent", 0) + counts.get("sending", 0) + counts.get("pending", 0) == 1
