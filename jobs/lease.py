"""One delivering process per database: `episode-bot run`, or a `deliver` by hand.

The holder of the delivery lease writes a heartbeat (host, pid, a token, time) into the store
every few seconds. Another process that finds a fresh heartbeat refuses to start: two engines
would each take the other's in-flight rows for crashed ones and post them twice. A heartbeat
is stale after `stale_after` seconds (30 by default), or at once when its process is gone from
this host, so a restart after a crash is not held up.

Fencing. A heartbeat proves nothing about a process that was paused (SIGSTOP, a VM
migration, a long GC pause, a laptop lid) and wakes up after another took over. So taking the
lease bumps its generation, a fencing token: every outbox change a runner makes is applied
only while its generation is still the lease's (the store checks it in the same statement),
its heartbeat is refused once the generation is over, and before each send the engine makes
sure the lease was renewed within one heartbeat interval (renewing it then and there
otherwise). A pause can still fall between that renewal and the request leaving, so the sender
asks once more as the bytes are written (`bot.sender.may_still_send` -> `fresh()`): a process
whose last renewal is more than half the stale time old (by `elapsed_clock`, which runs on
while it is stopped or the machine sleeps) posts nothing, and no other runner can have taken
over sooner.

A runner that finds its generation over stops at once, says why in the log, and `run` exits
with code 3 rather than standing by: its Discord gateway and Slack connection would otherwise
answer commands twice beside the new holder's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import BotError
from bot.store import DELIVERY_LEASE, LeaseRecord, Store, StoreUnavailable

log = logging.getLogger(__name__)

STALE_AFTER = 30.0
BOOTTIME: int | None = getattr(time, "CLOCK_BOOTTIME", None)  # Linux only; elsewhere monotonic


def elapsed_clock() -> float:
    """Seconds on a clock that keeps counting while the process is stopped AND while the
    machine sleeps (Linux `CLOCK_BOOTTIME`). `time.monotonic` stops during a suspend (the
    laptop lid), so a runner waking from one would believe its lease still fresh while
    another runner, going by wall-clock heartbeats, has long taken over."""
    return time.clock_gettime(BOOTTIME) if BOOTTIME is not None else time.monotonic()


BEATS_PER_STALE = 6  # a heartbeat every stale_after / 6 seconds: five may fail before it is stale


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int
    token: str
    heartbeat: float
    generation: int

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, lease generation {self.generation}"


class RunnerBusy(BotError):
    """Another live process delivers from this database."""


def live_runner(
    store: Store,
    *,
    wall_clock: Callable[[], float] = time.time,
    stale_after: float = STALE_AFTER,
) -> Runner | None:
    """The process delivering from this database, if one is alive."""
    return _live(store.read_lease(DELIVERY_LEASE), wall_clock, stale_after)


class LeaseStanding(StrEnum):
    """Where this process stands with the delivery lease (/healthz reports it, /metrics
    counts a held lease)."""

    HELD = "held"
    STANDBY = "standby"  # another process delivers; this one is ready to take over
    FREE = "free"  # nobody delivers: no heartbeat is fresh


def lease_standing(
    store: Store,
    own_token: str | None,
    *,
    wall_clock: Callable[[], float] = time.time,
    stale_after: float = STALE_AFTER,
) -> LeaseStanding:
    """Whether the live runner is this process (its lease token is `own_token`), another
    one, or nobody. Reads the store: off the event loop from async code."""
    runner = live_runner(store, wall_clock=wall_clock, stale_after=stale_after)
    if runner is None:
        return LeaseStanding.FREE
    if own_token is not None and runner.token == own_token:
        return LeaseStanding.HELD
    return LeaseStanding.STANDBY


def refuse_if_running(
    store: Store,
    action: str,
    *,
    own_token: str | None = None,
    wall_clock: Callable[[], float] = time.time,
    stale_after: float = STALE_AFTER,
) -> None:
    runner = live_runner(store, wall_clock=wall_clock, stale_after=stale_after)
    if runner is not None and runner.token != own_token:
        raise RunnerBusy(
            f"episode-bot is already delivering from this database ({runner.describe()}); "
            f"{action} would race it.",
            hint="Stop `episode-bot run` first, or use another --db.",
        )


class RunnerLease:
    """This process's hold on the delivery lease, and the generation that fences its writes."""

    def __init__(
        self,
        store: Store,
        *,
        wall_clock: Callable[[], float] = time.time,
        stale_after: float = STALE_AFTER,
        monotonic: Callable[[], float] = elapsed_clock,
    ) -> None:
        self.store = store
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self.stale_after = stale_after
        self._renewed_at = 0.0
        self.token = uuid.uuid4().hex
        self.generation = 0  # 0: not taken yet
        self.lost_reason: str | None = None
        self._on_lost: list[Callable[[str], None]] = []

    @property
    def heartbeat_every(self) -> float:
        return self.stale_after / BEATS_PER_STALE

    def acquire(self, action: str = "a second run", *, supersede_own_process: bool = False) -> int:
        """Take the lease (a new generation) unless another live process holds it.

        `supersede_own_process`: a lease held by this very process is taken over (an engine
        that a test or a benchmark builds after another one on the same database)."""
        current = self.store.read_lease(DELIVERY_LEASE)
        previous = _live(current, self.wall_clock, self.stale_after)
        if previous is not None and supersede_own_process and previous.pid == os.getpid():
            previous = None
        if previous is not None and previous.token != self.token:
            raise RunnerBusy(
                f"episode-bot is already delivering from this database ({previous.describe()}); "
                f"{action} would race it.",
                hint="Stop `episode-bot run` first, or use another --db.",
            )
        generation = self.store.take_lease(
            DELIVERY_LEASE,
            expected_generation=current.generation if current else 0,
            holder=self._holder(),
            heartbeat=self.wall_clock(),
        )
        if generation is None:
            raise RunnerBusy(
                "Another episode-bot process started delivering from this database just now.",
                hint="Stop it first, or use another --db.",
            )
        self.generation, self.lost_reason = generation, None
        self._renewed_at = self.monotonic()
        log.info("delivery lease taken: generation %d", generation)
        return generation

    def on_lost(self, callback: Callable[[str], None]) -> None:
        """Call `callback(reason)` once, when this process learns its generation is over."""
        self._on_lost.append(callback)

    @property
    def held(self) -> bool:
        return self.generation > 0 and self.lost_reason is None

    def heartbeat(self) -> bool:
        """Renew the lease: False (and the lease counts as lost) when the store refuses it
        because our generation is over. Raises `StoreUnavailable` when the database cannot
        answer: the caller must not act as if the lease were renewed.

        The engine beats before each post too, so a superseded runner learns it before its
        next send, not at its next periodic beat."""
        if not self.held:
            return False
        if self.store.renew_lease(
            DELIVERY_LEASE, generation=self.generation, heartbeat=self.wall_clock()
        ):
            self._renewed_at = self.monotonic()
            return True
        self.lose("heartbeat refused: " + _superseded(
            self.generation, self.store.read_lease(DELIVERY_LEASE)
        ))  # fmt: skip
        return False

    def renewed_within(self, seconds: float) -> bool:
        """Held, and renewed (taken or beaten) less than `seconds` ago by `elapsed_clock`."""
        return self.held and self.monotonic() - self._renewed_at < seconds

    def fresh(self) -> bool:
        """True while no other runner can have taken the lease over: it is held and was
        renewed less than half the stale time ago, by `elapsed_clock`, which keeps running
        while the process is stopped or the machine sleeps. Cheap: called as a request leaves."""
        return self.renewed_within(self.stale_after / 2)

    def lose(self, reason: str) -> None:
        """Our generation is over: stop everything that delivers (once)."""
        if self.lost_reason is not None:
            return
        self.lost_reason = reason
        log.error("delivery lease lost, stopping delivery at once: %s", reason)
        for callback in self._on_lost:
            callback(reason)

    def release(self) -> None:
        """Free the lease on a clean shutdown (a no-op once our generation is over)."""
        if self.held:
            self.store.end_lease(DELIVERY_LEASE, generation=self.generation)

    async def keep_alive(self) -> None:
        """Beat until cancelled, or until the heartbeat is refused."""
        while True:
            await asyncio.sleep(self.heartbeat_every)
            try:
                if not self.heartbeat():
                    return
            except StoreUnavailable as error:  # a full disk, a lock: the next beat may do
                log.warning("could not write the delivery heartbeat: %s", error)

    def _holder(self) -> str:
        return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "token": self.token})


@asynccontextmanager
async def held_lease(
    store: Store, action: str, *, stale_after: float = STALE_AFTER
) -> AsyncIterator[RunnerLease]:
    """Hold the lease (with its heartbeat) for the length of the block."""
    lease = RunnerLease(store, stale_after=stale_after)
    lease.acquire(action)
    beating = asyncio.create_task(lease.keep_alive())
    try:
        yield lease
    finally:
        beating.cancel()
        lease.release()


def _superseded(generation: int, record: LeaseRecord | None) -> str:
    if record is None or not record.holder:
        return f"generation {generation} is over (the lease was freed)"
    holder = json.loads(record.holder)
    return (
        f"generation {generation} is over: pid {holder.get('pid')} on {holder.get('host')} "
        f"took the lease as generation {record.generation}"
    )


def _live(record: LeaseRecord | None, wall_clock: Callable[[], float], stale_after: float) -> (
    Runner | None
):  # fmt: skip
    if record is None or not record.holder:
        return None
    data = json.loads(record.holder)
    runner = Runner(
        data["host"], int(data["pid"]), data.get("token", ""), record.heartbeat, record.generation
    )
    if wall_clock() - runner.heartbeat > stale_after:
        return None
    if runner.host == socket.gethostname() and not _alive(runner.pid):
        return None
    return runner


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
