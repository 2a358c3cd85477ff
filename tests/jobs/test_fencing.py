"""Fencing: the delivery lease's generation grows with every takeover, and a runner whose
generation is over changes no outbox row, is refused its heartbeat and stops sending before
its next post. Wall clocks are injected: a takeover is "the old heartbeat is 31 s old"."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.ratelimit import RateLimiter
from bot.sender import Delivery, SendReceipt
from bot.store import DELIVERY_LEASE, FencedOut, Store
from jobs.delivery import DeliveryEngine
from jobs.lease import RunnerBusy, RunnerLease, elapsed_clock
from jobs.outbox import materialize
from tests.jobs.support import FAM_DROPS, FakeSender, World, claimed_by_a_crashed_runner


class WallClock:
    def __init__(self, at: float = 1000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def planned(world: World, *channels: str) -> None:
    world.add_fam()
    world.subscribe(*channels)
    world.clock.set(FAM_DROPS[0])
    materialize(world.store, FAM_DROPS[0], timedelta(hours=12))


def take_over(store: Store, wall: WallClock, *paused: WallClock) -> RunnerLease:
    """A second runner, once the first one's heartbeat is stale: 31 s went by, for the paused
    runner's monotonic clocks too."""
    wall.at += 31
    for clock in paused:
        clock.at += 31
    newcomer = RunnerLease(store, wall_clock=wall)
    newcomer.acquire()
    return newcomer


def test_every_takeover_is_a_new_generation_and_a_live_holder_is_not_taken(world: World):
    wall = WallClock()
    first = RunnerLease(world.store, wall_clock=wall)
    assert first.acquire() == 1
    with pytest.raises(RunnerBusy):
        RunnerLease(world.store, wall_clock=wall).acquire()  # fresh heartbeat: refused
    second = take_over(world.store, wall)
    assert second.generation == 2
    third = take_over(world.store, wall)
    assert third.generation == 3
    assert world.store.read_lease(DELIVERY_LEASE).generation == 3


def test_a_stale_generation_changes_no_outbox_row(world: World):
    planned(world, "a", "b")
    wall = WallClock()
    old = RunnerLease(world.store, wall_clock=wall)
    old.acquire()
    rows = world.store.claim_due(FAM_DROPS[0], platforms=["console"], generation=old.generation)
    assert len(rows) == 2
    new = take_over(world.store, wall)
    now = FAM_DROPS[0]
    with pytest.raises(FencedOut, match="generation 1 is over"):
        world.store.mark_sent(rows[0].id, "m1", now, generation=old.generation)
    with pytest.raises(FencedOut):
        world.store.mark_retry(rows[0].id, "503", now, now, generation=old.generation)
    with pytest.raises(FencedOut):
        world.store.mark_failed(rows[0], "gone", now, pause=True, generation=old.generation)
    with pytest.raises(FencedOut):
        world.store.mark_skipped(rows[0].id, "late", now, generation=old.generation)
    with pytest.raises(FencedOut):
        world.store.release_sending([r.id for r in rows], now, generation=old.generation)
    with pytest.raises(FencedOut):
        world.store.claim_due(now, platforms=["console"], generation=old.generation)
    assert world.store.outbox_counts()["sending"] == 2
    assert world.store.subscriptions(paused_only=True) == []
    # The new generation owns them once it adopts them (the old one still cannot touch them).
    adopted = world.store.adopt_orphans(platforms=["console"], generation=new.generation)
    assert [r.id for r in adopted] == [r.id for r in rows]
    with pytest.raises(FencedOut):
        world.store.mark_sent(rows[0].id, "m1", now, generation=old.generation)
    world.store.mark_sent(rows[0].id, "m1", now, generation=new.generation)
    assert world.store.outbox_counts()["sent"] == 1


def test_the_heartbeat_of_a_superseded_runner_is_refused_and_overwrites_nothing(world: World):
    wall = WallClock()
    old = RunnerLease(world.store, wall_clock=wall)
    old.acquire()
    reasons: list[str] = []
    old.on_lost(reasons.append)
    assert old.heartbeat()
    new = take_over(world.store, wall)
    wall.at += 1
    assert old.heartbeat() is False
    record = world.store.read_lease(DELIVERY_LEASE)
    assert record.generation == new.generation and new.token in record.holder
    assert record.heartbeat == wall.at - 1  # the newcomer's, not the old runner's
    assert len(reasons) == 1 and "generation 1 is over" in reasons[0]
    assert "generation 2" in reasons[0]
    old.release()  # a superseded runner's release frees nothing
    assert world.store.read_lease(DELIVERY_LEASE).holder == record.holder


class TakeoverLimiter(RateLimiter):
    """The engine's rate limiter, whose `after`-th grant lets another runner take the lease
    over, as if this runner had been paused right there (SIGSTOP) past the stale time."""

    def __init__(self, after: int, takeover) -> None:  # type: ignore[no-untyped-def]
        super().__init__(1000.0, burst=1000)
        self.after, self.takeover, self.calls = after, takeover, 0

    async def acquire(self, channel: object = None) -> None:
        await super().acquire()
        self.calls += 1
        if self.calls == self.after:
            self.takeover()


async def test_a_runner_stops_before_its_next_send_when_its_lease_is_taken(world: World):
    planned(world, "a", "b", "c", "d")
    wall, monotonic = WallClock(), WallClock()
    lease = RunnerLease(world.store, wall_clock=wall, monotonic=monotonic)
    lease.acquire()
    sender = FakeSender(max_concurrency=1)
    newcomer: list[RunnerLease] = []
    limiter = TakeoverLimiter(3, lambda: newcomer.append(take_over(world.store, wall, monotonic)))
    engine = DeliveryEngine(
        world.store, {"console": sender}, world.clock, lease=lease, limiters={"console": limiter}
    )
    result = await engine.drain()
    # Two posts went out and were recorded; the third was claimed but never sent: its lease
    # was no longer fresh, so it was renewed before the send, and the store refused that.
    assert [d.channel.channel for d in sender.sent] == ["a", "b"]
    assert result.sent == 2
    assert lease.lost_reason is not None and "generation 2" in lease.lost_reason
    assert world.store.outbox_counts()["sending"] == 2
    assert await engine.drain() == type(result)()  # stopped for good: claims nothing
    # The runner that took over resolves the two rows at once and posts each exactly once.
    successor = DeliveryEngine(world.store, {"console": sender}, world.clock, lease=newcomer[0])
    assert await successor.recover() == 2
    await successor.drain()
    assert sorted(sender.channels()) == ["a", "b", "c", "d"]
    assert world.store.outbox_counts()["sent"] == 4


async def test_a_result_refused_by_the_fence_stops_the_runner(world: World):
    planned(world, "a", "b")
    wall = WallClock()
    lease = RunnerLease(world.store, wall_clock=wall)
    lease.acquire()
    posted: list[Delivery] = []

    class PausedDuringTheSend(FakeSender):
        async def send(self, delivery: Delivery) -> SendReceipt:
            posted.append(delivery)
            take_over(world.store, wall)  # the platform took it; the answer came back late
            return SendReceipt("m1")

    engine = DeliveryEngine(
        world.store, {"console": PausedDuringTheSend(max_concurrency=1)}, world.clock, lease=lease
    )
    await engine.drain()
    assert len(posted) == 1  # the second row was never sent
    assert lease.lost_reason is not None
    assert world.store.outbox_counts()["sending"] == 2  # for the new holder to resolve


async def test_rows_of_a_runner_that_is_gone_are_recovered_at_once(world: World):
    planned(world, "a", "b")
    rows = claimed_by_a_crashed_runner(world.store, FAM_DROPS[0], ["console"])
    world.sender.sent.append(world.engine._delivery(rows[0]))  # posted, then the crash
    # No waiting: the crashed runner's generation is over the moment another takes the lease.
    result = await world.engine.run_pass()
    assert sorted(world.sender.channels()) == ["a", "b"]
    assert result.sent == 1 and world.store.outbox_counts()["sent"] == 2


def test_a_lease_not_renewed_for_half_its_stale_time_is_not_fresh(world: World):
    """What the sender asks as a request leaves: a process stopped for long enough that
    another could take over (its monotonic clock ran on) must not post on waking."""
    monotonic, wall = WallClock(50.0), WallClock()
    lease = RunnerLease(world.store, wall_clock=wall, stale_after=30, monotonic=monotonic)
    lease.acquire()
    assert lease.fresh()
    monotonic.at += 14.9
    assert lease.fresh()
    monotonic.at += 0.2  # 15.1 s since the last renewal: a takeover is 15 s away at most
    assert not lease.fresh()
    assert lease.heartbeat() and lease.fresh()  # renewed
    take_over(world.store, wall)
    assert not lease.heartbeat() and not lease.fresh()  # superseded: never fresh again


@pytest.mark.skipif(not hasattr(time, "CLOCK_BOOTTIME"), reason="CLOCK_BOOTTIME is Linux-only")
def test_the_lease_counts_time_the_machine_slept(world: World):
    """A suspended laptop's runner must find its lease stale on waking: the lease's default
    clock is CLOCK_BOOTTIME, which (unlike time.monotonic) keeps counting through a suspend."""
    lease = RunnerLease(world.store)
    before = time.clock_gettime(time.CLOCK_BOOTTIME)
    reading = lease.monotonic()
    after = time.clock_gettime(time.CLOCK_BOOTTIME)
    assert lease.monotonic is elapsed_clock
    assert before <= reading <= after
