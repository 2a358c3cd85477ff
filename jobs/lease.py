"""One `episode-bot run` per database, and `deliver` never races it.

The running process writes a heartbeat (host, pid, time) into the store every few seconds.
Another `run`, or a `deliver` by hand, that finds a fresh heartbeat refuses to start: two
engines would each take the other's in-flight rows for crashed ones and post them twice.
A heartbeat is stale after `STALE_AFTER` seconds, or at once when its process is gone from
this host, so a restart after a crash is not held up.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import BotError
from bot.store import Store

LEASE_KEY = "runner"
HEARTBEAT_EVERY = 5.0
STALE_AFTER = 30.0


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int
    heartbeat: float

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


class RunnerBusy(BotError):
    """Another live process delivers from this database."""


def live_runner(store: Store, *, wall_clock: Callable[[], float] = time.time) -> Runner | None:
    """The process running `episode-bot run` on this database, if one is alive."""
    raw = store.get_meta(LEASE_KEY)
    if not raw:
        return None
    data = json.loads(raw)
    runner = Runner(data["host"], int(data["pid"]), float(data["heartbeat"]))
    if wall_clock() - runner.heartbeat > STALE_AFTER:
        return None
    if runner.host == socket.gethostname() and not _alive(runner.pid):
        return None
    return runner


def refuse_if_running(
    store: Store, action: str, *, wall_clock: Callable[[], float] = time.time
) -> None:
    runner = live_runner(store, wall_clock=wall_clock)
    if runner is not None and runner.pid != os.getpid():
        raise RunnerBusy(
            f"episode-bot run is live on this database ({runner.describe()}); "
            f"it would race {action}.",
            hint="Stop it first, or use another --db.",
        )


class RunnerLease:
    """Held by `episode-bot run` for as long as it runs."""

    def __init__(self, store: Store, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.wall_clock = wall_clock

    def acquire(self) -> None:
        refuse_if_running(self.store, "a second run", wall_clock=self.wall_clock)
        self.heartbeat()

    def heartbeat(self) -> None:
        self.store.set_meta(
            LEASE_KEY,
            json.dumps(
                {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat": self.wall_clock()}
            ),
        )

    def release(self) -> None:
        self.store.set_meta(LEASE_KEY, "")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
