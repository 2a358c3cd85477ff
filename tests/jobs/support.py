"""Shared test helpers: the FAM S4 season, a recording fake Sender, a wired-up scheduler.

The fake Sender stands for a platform (it is not our code), so it may record and fail at will.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import Actor, ChannelRef
from bot.sender import Delivery, PermanentSendError, SendReceipt, TransientSendError
from bot.store import OutboxRow, Store
from jobs.delivery import DeliveryEngine, RetryPolicy
from jobs.lease import RunnerLease
from jobs.scheduler import DropScheduler

FAM = "For All Mankind"
OPERATOR = Actor.operator()
# FAM S4: premiere Friday 10 Nov 2023, ten episodes weekly on Fridays, 00:00 New York (EST).
FAM_DROPS = [datetime(2023, 11, 10, 5, tzinfo=UTC) + timedelta(weeks=n) for n in range(10)]
START = datetime(2023, 10, 1, tzinfo=UTC)  # before the season is added


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class FakeSender:
    """Records each accepted post; `fail` decides per delivery whether to raise instead."""

    platform: str = "console"
    max_concurrency: int = 8
    sent: list[Delivery] = field(default_factory=list)
    attempts: list[Delivery] = field(default_factory=list)
    fail: Callable[[Delivery], Exception | None] = lambda _d: None

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def send(self, delivery: Delivery) -> SendReceipt:
        self.attempts.append(delivery)
        error = self.fail(delivery)
        if error is not None:
            raise error
        self.sent.append(delivery)
        return SendReceipt(platform_message_id=f"m{delivery.outbox_id}")

    async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
        for done in self.sent:
            if done.idempotency_key == delivery.idempotency_key:
                return SendReceipt(platform_message_id=f"m{done.outbox_id}")
        return None

    def channels(self) -> list[str]:
        return [d.channel.channel for d in self.sent]

    def to(self, channel: str) -> list[Delivery]:
        return [d for d in self.sent if d.channel.channel == channel]


def transient(reason: str = "503", retry_after: float | None = None) -> TransientSendError:
    return TransientSendError(reason, retry_after=retry_after)


def permanent(reason: str = "channel not found") -> PermanentSendError:
    return PermanentSendError(reason)


@dataclass
class World:
    store: Store
    clock: FixedClock
    sender: FakeSender
    engine: DeliveryEngine
    scheduler: DropScheduler
    commands: Commands

    def add_fam(self, *, premiere: str = "2023-11-10") -> None:
        self.commands.show_add(
            OPERATOR, FAM, network="Apple TV+", tz="America/New_York", time="00:00"
        )
        self.commands.season_add(OPERATOR, FAM, 4, premiere=premiere, episodes=10, every="friday")

    def subscribe(self, *channels: str, before: str | None = None) -> None:
        for name in channels:
            self.commands.subscribe(OPERATOR, ChannelRef.parse(f"console:{name}"), FAM,
                                    before=before)  # fmt: skip

    def job_ids(self) -> set[str]:
        return {job.id for job in self.scheduler.scheduler.get_jobs()}


def make_world(
    store: Store,
    *,
    start: datetime = START,
    grace: timedelta = timedelta(hours=12),
    retry: RetryPolicy | None = None,
    rand: Callable[[], float] = lambda: 0.0,
) -> World:
    """Everything wired as bot/app.py does, with a FixedClock and an unstarted scheduler."""
    clock = FixedClock(start)
    sender = FakeSender()
    engine = DeliveryEngine(store, {"console": sender}, clock, grace=grace, retry=retry, rand=rand)
    scheduler = DropScheduler(store, engine, clock, AsyncIOScheduler(timezone=UTC))
    commands = Commands(store, clock, on_change=scheduler.on_change)
    return World(store, clock, sender, engine, scheduler, commands)


def claimed_by_a_crashed_runner(
    store: Store, now: datetime, platforms: list[str]
) -> list[OutboxRow]:
    """Rows an earlier runner claimed before it died: its heartbeat is long stale, so the
    next engine takes the lease over (a higher generation) and recovers them."""
    crashed = RunnerLease(store, wall_clock=lambda: 0.0)
    crashed.acquire()
    return store.claim_due(now, platforms=platforms, generation=crashed.generation)
