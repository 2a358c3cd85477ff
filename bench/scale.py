"""Scale: 2,000 shows, 20,000 seasons of episodes, 100,000 channels, 1,000,000 subscriptions.

Run as two subprocesses so that peak RSS is the measured work's own, not the loader's:

    python -m bench.scale load PATH      # bulk-load with executemany (not through Commands)
    python -m bench.scale measure PATH   # prints one JSON document of figures
    python -m bench.scale load-global PATH N [--role-per-channel]; measure-global PATH

Shape: show 1 ("Big Show") is followed by every channel, so one of its drops fans out to
100,000 channels; the other 900,000 subscriptions spread over the other shows (9 each per
channel). Each show releases at its own minute of the day, so that drop is alone at its
instant, as a drop of one show would be.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import memory
from bot.clock import FixedClock
from bot.store import to_db_time
from bot.store.sqlite import SqliteStore  # seeded with bulk SQL: the SQLite store itself

SHOWS = 2_000
SEASONS = 20_000
EPISODES_PER_SEASON = 10
CHANNELS = 100_000
SUBSCRIPTIONS = 1_000_000
BIG_SHOW = 1
# The measured drop: Big Show's first episode of its last season.
EPOCH = datetime(2024, 1, 5, tzinfo=UTC)  # a Friday
START = EPOCH - timedelta(hours=1)  # "now" at start-up: an hour before the drop


def _release(show: int, season: int, episode: int) -> datetime:
    """Weekly episodes; seasons of a show a quarter apart, the last one airing around EPOCH."""
    per_show = SEASONS // SHOWS
    weeks_back = (per_show - 1 - season) * 13
    minute = (show * 7) % 1440 if show != BIG_SHOW else 0
    return EPOCH + timedelta(weeks=episode - weeks_back, minutes=minute)


def _bulk_load(path: Path) -> tuple[SqliteStore, sqlite3.Connection, str]:
    """A new migrated database at `path`, its bulk-load transaction begun; and the creation
    stamp of everything loaded."""
    path.unlink(missing_ok=True)
    store = SqliteStore.open(path)
    store.db.conn.execute("BEGIN")
    return store, store.db.conn, to_db_time(START - timedelta(days=400))


def load(path: Path) -> dict:
    began = time.perf_counter()
    store, conn, stamp = _bulk_load(path)
    conn.executemany(
        "INSERT INTO shows (id, title, title_key, network, timezone, release_time, tenant_key, "
        "created_at) VALUES (?, ?, ?, 'Net', 'UTC', '00:00', '', ?)",
        [
            (i, f"Show {i}" if i != BIG_SHOW else "Big Show", f"show {i}", stamp)
            for i in range(1, SHOWS + 1)
        ],
    )
    per_show = SEASONS // SHOWS
    conn.executemany(
        "INSERT INTO seasons (id, show_id, number, premiere, episode_count, cadence_kind, "
        "cadence_weekday, cadence_dates, premiere_episodes, release_time, timezone, created_at) "
        "VALUES (?, ?, ?, ?, ?, 'weekly', 4, '[]', 1, '00:00', 'UTC', ?)",
        [
            (
                (show - 1) * per_show + n + 1,
                show,
                n + 1,
                _release(show, n, 0).date().isoformat(),
                EPISODES_PER_SEASON,
                stamp,
            )
            for show in range(1, SHOWS + 1)
            for n in range(per_show)
        ],
    )
    conn.executemany(
        "INSERT INTO episodes (season_id, number, release_at) VALUES (?, ?, ?)",
        (
            ((show - 1) * per_show + n + 1, e + 1, to_db_time(_release(show, n, e)))
            for show in range(1, SHOWS + 1)
            for n in range(per_show)
            for e in range(EPISODES_PER_SEASON)
        ),
    )
    others = SUBSCRIPTIONS // CHANNELS - 1
    conn.executemany(
        "INSERT INTO subscriptions (platform, tenant, channel, show_id, reminders, created_at) "
        "VALUES ('discord', ?, ?, ?, ?, ?)",
        (
            (str(c // 50), str(10_000_000 + c), show, "3600" if k == 1 else "", stamp)
            for c in range(CHANNELS)
            for k, show in enumerate(
                [BIG_SHOW, *(2 + (c * others + j) % (SHOWS - 1) for j in range(others))]
            )
        ),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    loaded = time.perf_counter() - began
    counts = {
        table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("shows", "seasons", "episodes", "subscriptions")
    }
    store.close()
    return {"load_seconds": round(loaded, 2), **counts}


async def measure(path: Path) -> dict:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.sender import Delivery, SendReceipt
    from jobs.delivery import DeliveryEngine
    from jobs.outbox import materialize
    from jobs.scheduler import DropScheduler

    class NullSender:
        platform = "discord"
        max_concurrency = 64
        first_send_at: float | None = None

        async def start(self) -> None:
            pass

        async def close(self) -> None:
            pass

        async def send(self, delivery: Delivery) -> SendReceipt:
            if self.first_send_at is None:
                self.first_send_at = time.perf_counter()
            return SendReceipt(str(delivery.outbox_id))

        async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
            return None

    clock = FixedClock(START)
    began = time.perf_counter()
    store = SqliteStore.open(path)  # migrations (a no-op check on a current database)
    opened = time.perf_counter()
    sender = NullSender()
    engine = DeliveryEngine(store, {"discord": sender}, clock)
    scheduler = DropScheduler(store, engine, clock, AsyncIOScheduler(timezone=UTC))
    reconciled = scheduler.reconcile()
    reconcile_done = time.perf_counter()
    grace = timedelta(hours=12)
    first = materialize(store, clock.now(), grace)  # the start-up catch-up plan
    startup = time.perf_counter() - began
    jobs = len(scheduler.scheduled_instants())

    clock.set(EPOCH)  # Big Show's drop: 100,000 channels
    t0 = time.perf_counter()
    drop = materialize(store, clock.now(), grace)
    outbox_seconds = time.perf_counter() - t0
    # The next week's drop through the engine, which plans page by page and sends each page
    # as it lands: time to the first accepted post, and to the last.
    # The week between, as if every pass had run and sent (not measured).
    next_drop = EPOCH + timedelta(weeks=1)
    materialize(store, next_drop - timedelta(seconds=1), grace)
    store.db.conn.execute("UPDATE notifications SET state = 'sent' WHERE state = 'pending'")
    clock.set(next_drop)
    t0 = time.perf_counter()
    sent = await engine.run_pass()
    pass_seconds = time.perf_counter() - t0
    first_post_seconds = (sender.first_send_at or time.perf_counter()) - t0
    rss_mb = memory.peak_rss_mb()
    store.close()
    return {
        "startup_seconds": round(startup, 3),
        "open_migrate_seconds": round(opened - began, 3),
        "reconcile_seconds": round(reconcile_done - opened, 3),
        "startup_plan_seconds": round(startup - (reconcile_done - began), 3),
        "startup_planned": first.pending + first.skipped,
        "jobs": jobs,
        "jobs_added": len(reconciled.added),
        "drop_outbox_seconds": round(outbox_seconds, 3),
        "drop_rows": drop.pending,
        "engine_first_post_seconds": round(first_post_seconds, 3),
        "engine_pass_seconds": round(pass_seconds, 3),
        "engine_sent": sent.sent,
        "peak_rss_mb": round(rss_mb, 1),
    }


GLOBAL_SHOW = 1  # the global drop's show: one show followed by every channel


def load_global(path: Path, channels: int, *, role_per_channel: bool = False) -> dict:
    """A global show on a big public bot: one show, one drop at EPOCH, `channels`
    subscriptions (one per channel; `role_per_channel`: each pinging a role of its own)."""
    began = time.perf_counter()
    store, conn, stamp = _bulk_load(path)
    conn.execute(
        "INSERT INTO shows (id, title, title_key, network, timezone, release_time, tenant_key, "
        "created_at) VALUES (?, 'Global Show', 'global show', 'Net', 'UTC', '00:00', '', ?)",
        [GLOBAL_SHOW, stamp],
    )
    conn.execute(
        "INSERT INTO seasons (id, show_id, number, premiere, episode_count, cadence_kind, "
        "cadence_weekday, cadence_dates, premiere_episodes, release_time, timezone, created_at) "
        "VALUES (1, ?, 1, ?, 1, 'weekly', 4, '[]', 1, '00:00', 'UTC', ?)",
        [GLOBAL_SHOW, EPOCH.date().isoformat(), stamp],
    )
    conn.execute(
        "INSERT INTO episodes (season_id, number, release_at) VALUES (1, 1, ?)", [to_db_time(EPOCH)]
    )
    conn.executemany(
        "INSERT INTO subscriptions (platform, tenant, channel, show_id, mention, created_at) "
        "VALUES ('discord', ?, ?, ?, ?, ?)",
        (
            (str(c // 50), str(10_000_000 + c), GLOBAL_SHOW,
             str(30_000_000 + c) if role_per_channel else None, stamp)
            for c in range(channels)
        ),
    )  # fmt: skip
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    loaded = time.perf_counter() - began
    store.close()
    return {"load_seconds": round(loaded, 2), "subscriptions": channels}


async def measure_global(path: Path) -> dict:
    """The global drop through the engine (a null sender: the platform is not measured here):
    time from the instant to the first post, to the whole outbox written, and peak RSS."""
    from jobs.delivery import DeliveryEngine

    clock = FixedClock(EPOCH - timedelta(minutes=1))
    store = SqliteStore.open(path)
    engine = DeliveryEngine(store, {"discord": _FirstPostSender()}, clock)
    await engine.run_pass()  # the start-up pass: nothing due yet, the watermark is set
    clock.set(EPOCH)
    sender = _FirstPostSender()
    engine = DeliveryEngine(store, {"discord": sender}, clock)
    # Sending a million posts to a null sender measures nothing: stop at the first one; the
    # planning (a worker thread) still writes the whole outbox before the pass returns.
    sender.on_first = engine.stop
    planned_at: list[float] = []
    t0 = time.perf_counter()
    original = store.insert_broadcasts

    def timed_insert(*args, **kwargs):  # type: ignore[no-untyped-def]
        inserted = original(*args, **kwargs)
        planned_at.append(time.perf_counter())
        return inserted

    store.insert_broadcasts = timed_insert  # type: ignore[method-assign]
    result = await engine.run_pass()
    pass_seconds = time.perf_counter() - t0
    rss_mb = memory.peak_rss_mb()
    store.close()
    return {
        "planned": result.planned,
        "first_post_seconds": round((sender.first_send_at or t0) - t0, 3),
        "outbox_written_seconds": round(planned_at[-1] - t0, 3),
        "pass_seconds": round(pass_seconds, 3),
        "peak_rss_mb": round(rss_mb, 1),
    }


class _FirstPostSender:
    """Accepts every post at once; notes when the first one came."""

    platform = "discord"
    max_concurrency = 64
    first_send_at: float | None = None
    on_first: Callable[[], None] = staticmethod(lambda: None)

    async def send(self, delivery):  # type: ignore[no-untyped-def]
        from bot.sender import SendReceipt

        if self.first_send_at is None:
            self.first_send_at = time.perf_counter()
            self.on_first()
        return SendReceipt(str(delivery.outbox_id))

    async def find_sent(self, delivery):  # type: ignore[no-untyped-def]
        return None


if __name__ == "__main__":
    command, db = sys.argv[1], Path(sys.argv[2])
    if command == "load":
        print(json.dumps(load(db)))
    elif command == "load-global":
        roles = "--role-per-channel" in sys.argv[4:]
        print(json.dumps(load_global(db, int(sys.argv[3]), role_per_channel=roles)))
    elif command == "measure-global":
        print(json.dumps(asyncio.run(measure_global(db))))
    else:
        print(json.dumps(asyncio.run(measure(db))))
