"""One delivering process per database: `episode-bot run`, or a `deliver` by hand.

The holder writes a heartbeat (host, pid, a token, time) into the store every few seconds.
Another process that finds a fresh heartbeat refuses to start: two engines would each take
the other's in-flight rows for crashed ones and post them twice. Taking the lease is one
compare-and-set, so two processes starting together cannot both win. A heartbeat is stale
after `STALE_AFTER` seconds, or at once when its process is gone from this host, so a
restart after a crash is not held up.
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

from bot.errors import BotError
from bot.store import Store

log = logging.getLogger(__name__)

LEASE_KEY = "runner"
HEARTBEAT_EVERY = 5.0
STALE_AFTER = 30.0


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int
    token: str
    heartbeat: float

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


class RunnerBusy(BotError):
    """Another live process delivers from this database."""


def live_runner(store: Store, *, wall_clock: Callable[[], float] = time.time) -> Runner | None:
    """The process delivering from this database, if one is alive."""
    return _live(store.get_meta(LEASE_KEY), wall_clock)


def refuse_if_running(
    store: Store,
    action: str,
    *,
    own_token: str | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> None:
    runner = live_runner(store, wall_clock=wall_clock)
    if runner is not None and runner.token != own_token:
        raise RunnerBusy(
            f"episode-bot is already delivering from this database ({runner.describe()}); "
            f"{action} would race it.",
            hint="Stop `episode-bot run` first, or use another --db.",
        )


class RunnerLease:
    def __init__(self, store: Store, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.wall_clock = wall_clock
        self.token = uuid.uuid4().hex

    def acquire(self, action: str = "a second run") -> None:
        current = self.store.get_meta(LEASE_KEY)
        refuse_if_running(self.store, action, own_token=self.token, wall_clock=self.wall_clock)
        if not self.store.compare_and_set_meta(LEASE_KEY, current, self._value()):
            raise RunnerBusy(
                "Another episode-bot process started delivering from this database just now.",
                hint="Stop it first, or use another --db.",
            )

    def heartbeat(self) -> None:
        self.store.set_meta(LEASE_KEY, self._value())

    def release(self) -> None:
        current = self.store.get_meta(LEASE_KEY)
        runner = _live(current, self.wall_clock)
        if runner is not None and runner.token == self.token:
            self.store.compare_and_set_meta(LEASE_KEY, current, "")

    async def keep_alive(self) -> None:
        """Beat until cancelled."""
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            try:
                self.heartbeat()
            except Exception:  # a locked database for a moment: the next beat will do
                log.warning("could not write the delivery heartbeat", exc_info=True)

    def _value(self) -> str:
        return json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "token": self.token,
                "heartbeat": self.wall_clock(),
            }
        )


@asynccontextmanager
async def held_lease(store: Store, action: str) -> AsyncIterator[RunnerLease]:
    """Hold the lease (with its heartbeat) for the length of the block."""
    lease = RunnerLease(store)
    lease.acquire(action)
    beating = asyncio.create_task(lease.keep_alive())
    try:
        yield lease
    finally:
        beating.cancel()
        lease.release()


def _live(raw: str | None, wall_clock: Callable[[], float]) -> Runner | None:
    if not raw:
        return None
    data = json.loads(raw)
    runner = Runner(data["host"], int(data["pid"]), data.get("token", ""), data["heartbeat"])
    if wall_clock() - runner.heartbeat > STALE_AFTER:
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
