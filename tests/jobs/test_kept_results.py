"""A send's result is never lost: when the database refuses writes mid fan-out (disk full,
locked, I/O error) the results are kept in memory and written again with back-off, nothing
new is claimed or sent meanwhile, and once the database takes writes the kept results go
first. The database here is the real SQLite store behind a wrapper that refuses writes while
its "disk" is full, as SQLite does with `database or disk is full`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.sender import Delivery, SendReceipt
from bot.store import Store, StoreUnavailable
from jobs.delivery import KEPT_RETRY_FIRST, KEPT_RETRY_MAX, DeliveryEngine
from jobs.lease import RunnerLease
from jobs.outbox import materialize
from tests.jobs.support import FAM_DROPS, FakeSender, World

WRITES = frozenset({
    "claim_due", "claim_fair", "adopt_orphans", "mark_sent", "mark_retry", "mark_skipped",
    "mark_failed", "release_sending", "insert_notifications", "renew_lease",
})  # fmt: skip


class DiskFillingStore:
    """The real store; while `full`, every write raises `StoreUnavailable` and changes nothing."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.full = False
        self.log: list[str] = []  # "<method> <first argument>" of every write that went through

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in WRITES:
            return method

        def write(*args: Any, **kwargs: Any) -> Any:
            if self.full:
                raise StoreUnavailable("database or disk is full")
            outcome = method(*args, **kwargs)
            self.log.append(f"{name} {args[0] if args else ''}".strip())
            return outcome

        return write


class Recorder(FakeSender):
    """A platform that also notes whether the database was refusing writes at each post."""

    def __init__(self, store: DiskFillingStore, fill_on: int) -> None:
        # One send at a time: with more, sends cleared before the disk filled are in flight.
        super().__init__(max_concurrency=1)
        self.store, self.fill_on = store, fill_on
        self.posted_while_full: list[str] = []
        self.written_before: dict[str, list[str]] = {}  # channel -> writes done before its post

    async def send(self, delivery: Delivery) -> SendReceipt:
        if self.store.full:
            self.posted_while_full.append(delivery.channel.channel)
        self.written_before[delivery.channel.channel] = list(self.store.log)
        receipt = await super().send(delivery)
        if len(self.sent) == self.fill_on:
            self.store.full = True  # the disk fills right after this post was accepted
        return receipt


def wrapped(world: World) -> tuple[DiskFillingStore, list[float]]:
    world.add_fam()
    world.subscribe("a", "b", "c", "d")
    world.clock.set(FAM_DROPS[0])
    return DiskFillingStore(world.store), []


def engine_on(store: DiskFillingStore, world: World, sender: FakeSender, sleep: Any) -> Any:
    """The engine on the wrapped store, waiting through `sleep` (no real time passes)."""
    lease = RunnerLease(store)  # type: ignore[arg-type]  # its heartbeat is refused too
    lease.acquire()
    return DeliveryEngine(
        store,  # type: ignore[arg-type]
        {"console": sender},
        world.clock,
        lease=lease,
        sleep=sleep,
    )


async def test_results_kept_while_the_disk_is_full_are_written_first(world: World):
    store, waits = wrapped(world)
    sender = Recorder(store, fill_on=2)

    async def backoff(seconds: float) -> None:  # the engine's wait; frees the disk on the 4th
        waits.append(seconds)
        if len(waits) == 4:
            store.full = False

    engine = engine_on(store, world, sender, backoff)
    # Planned first: a plan that cannot be written fails the pass, which the scheduler
    # runs again (jobs/scheduler.py); here the disk fills during the fan-out.
    materialize(world.store, FAM_DROPS[0], timedelta(hours=12))
    result = await engine.drain()

    assert sorted(sender.channels()) == ["a", "b", "c", "d"]  # each exactly once
    assert sender.posted_while_full == []  # nothing was sent while the disk was full
    assert result.sent == 4
    assert world.store.outbox_counts() == {
        "pending": 0, "sending": 0, "sent": 4, "failed": 0, "skipped": 0,
    }  # fmt: skip
    # The result of the post that filled the disk was written before the next post left.
    kept = f"mark_sent {sender.sent[1].outbox_id}"
    assert kept not in sender.written_before[sender.sent[1].channel.channel]
    assert kept in sender.written_before[sender.sent[2].channel.channel]
    assert waits == [KEPT_RETRY_FIRST * 2**n for n in range(4)]  # back-off, doubling
    assert max(waits) <= KEPT_RETRY_MAX
    assert engine.kept_results == 0


async def test_nothing_is_claimed_while_the_disk_is_full(world: World):
    store, waits = wrapped(world)
    store.full = True
    sender = FakeSender()

    async def backoff(seconds: float) -> None:
        waits.append(seconds)
        assert sender.sent == []  # still nothing posted
        if len(waits) == 3:
            store.full = False

    engine = engine_on(store, world, sender, backoff)
    materialize(world.store, FAM_DROPS[0], timedelta(hours=12))  # planned before the disk filled
    result = await engine.drain()
    assert result.sent == 4 and len(waits) == 3
    assert world.store.outbox_counts()["sent"] == 4
