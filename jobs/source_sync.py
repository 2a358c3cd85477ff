"""APScheduler jobs that keep linked shows current (`episode-bot run`).

* `sources:updates`      every EPISODE_BOT_SOURCES_UPDATES_HOURS (first right at start):
                         TVmaze's /updates/shows, then only the linked shows that changed;
* `sources:before-drop`  every few minutes: a show whose next drop is within
                         EPISODE_BOT_SOURCES_BEFORE_DROP_HOURS is refreshed once;
* `sources:feeds`        every EPISODE_BOT_ICAL_REFRESH_HOURS: iCalendar feeds, conditionally.

A job never lets an error escape into the scheduler: a source's failure is already recorded
by the service (log and `sources status`); anything else is logged with its traceback, and
the job runs again at its next interval.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from bot.sources.service import SourceService

log = logging.getLogger(__name__)

UPDATES_JOB_ID = "sources:updates"
BEFORE_DROP_JOB_ID = "sources:before-drop"
FEEDS_JOB_ID = "sources:feeds"
BEFORE_DROP_CHECK = timedelta(minutes=10)


class SourceJobs:
    def __init__(self, service: SourceService, scheduler: BaseScheduler) -> None:
        self.service = service
        self.scheduler = scheduler

    def start(self) -> None:
        intervals = self.service.intervals
        soon = self.service.clock.now() + timedelta(seconds=1)
        self._every(UPDATES_JOB_ID, intervals.updates, self.poll_updates, first=soon)
        self._every(BEFORE_DROP_JOB_ID, BEFORE_DROP_CHECK, self.refresh_before_drops, first=soon)
        self._every(FEEDS_JOB_ID, intervals.feeds, self.refresh_feeds, first=soon)

    def _every(
        self, job_id: str, interval: timedelta, job: Callable[[], Awaitable[Any]], first: datetime
    ) -> None:
        self.scheduler.add_job(
            job,
            "interval",
            seconds=interval.total_seconds(),
            id=job_id,
            next_run_time=first,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    async def poll_updates(self) -> int:
        return await self._guarded("polling TVmaze updates", self.service.poll_updates)

    async def refresh_before_drops(self) -> int:
        return await self._guarded("refreshing before drops", self.service.refresh_before_drops)

    async def refresh_feeds(self) -> int:
        return await self._guarded("re-reading calendar feeds", self.service.refresh_feeds)

    async def _guarded(self, what: str, job: Callable[[], Awaitable[list]]) -> int:
        """How many shows were synced; errors are logged, never raised into APScheduler."""
        try:
            return len(await job())
        except Exception:
            log.exception("sources: %s failed; trying again at the next interval", what)
            return 0
