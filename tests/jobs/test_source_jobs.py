"""`run`'s source jobs: scheduled from the injected clock, like every other rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import FixedClock
from bot.commands import Commands
from bot.settings import Settings
from episode_bot.sources import build_sources
from jobs.source_sync import BEFORE_DROP_JOB_ID, FEEDS_JOB_ID, UPDATES_JOB_ID, SourceJobs


async def test_the_first_runs_are_a_second_after_the_clocks_now(store):
    clock = FixedClock(datetime(2023, 10, 1, 12, tzinfo=UTC))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    service, http = build_sources(settings, Commands(store, clock))
    scheduler = AsyncIOScheduler(timezone=UTC)  # not started: the jobs wait, pending
    SourceJobs(service, scheduler).start()
    first = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    soon = clock.now() + timedelta(seconds=1)
    assert first == {UPDATES_JOB_ID: soon, BEFORE_DROP_JOB_ID: soon, FEEDS_JOB_ID: soon}
    await http.close()
