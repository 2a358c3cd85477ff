"""APScheduler wiring: one date job per instant at which something falls due.

Why jobs only mirror the plan: the store is the truth (episodes, subscriptions, the outbox
watermark), and a job only says "run a delivery pass at T". So a job that fires late, twice or
not at all (the process was down) is harmless: the pass materializes (watermark, now] and the
outbox's insert-or-ignore keeps every post single. That is also why misfires are allowed
without limit: the catch-up rules (grace window, skipped reminders) live in jobs/outbox.py,
not in APScheduler's misfire handling.

Jobs:

* `drop:<UTC instant>`  one per upcoming release or reminder instant (not per subscription);
* `retry:next`          the earliest pending retry (`DeliveryEngine.next_wakeup`);
* `pass:now`            a pass right away, after a change that is due now (a season
                        announced, a trailer, a move);
* `poll:changes`        every few seconds: did another process (the CLI) change the plan?

`reconcile()` diffs the wanted `drop:` jobs against the scheduled ones, so a moved premiere
drops its old job and gains a new one, and a removed season leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import BaseScheduler

from bot import digest as digests
from bot.clock import Clock
from bot.store import Store
from jobs.delivery import DeliveryEngine, PassResult

log = logging.getLogger(__name__)

DROP_PREFIX = "drop:"
RETRY_JOB_ID = "retry:next"
NOW_JOB_ID = "pass:now"
POLL_JOB_ID = "poll:changes"
FAILED_PASS_JOB_ID = "pass:after-failure"
FAILED_PASS_DELAY = timedelta(seconds=30)


def drop_job_id(instant: datetime) -> str:
    """Deterministic: the same instant always maps to the same job, in every process."""
    return DROP_PREFIX + instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def instant_of(job_id: str) -> datetime:
    return datetime.strptime(job_id.removeprefix(DROP_PREFIX), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )


@dataclass(frozen=True)
class ReconcileResult:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    retry_at: datetime | None


class DropScheduler:
    """Keeps APScheduler's jobs equal to the plan's upcoming instants and runs passes.

    Testable without waiting: build it with an unstarted (or paused) scheduler, call
    `reconcile()` and look at `scheduler.get_jobs()`; call `fire()` with a FixedClock.
    """

    def __init__(
        self,
        store: Store,
        engine: DeliveryEngine,
        clock: Clock,
        scheduler: BaseScheduler | None = None,
        *,
        horizon: int = 1000,
        poll_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.scheduler = scheduler or AsyncIOScheduler(timezone=UTC)
        self.horizon = horizon  # at most this many drop jobs; the window slides on each fire
        self.poll_seconds = poll_seconds
        self._pass_lock = asyncio.Lock()
        self._pass_wanted = False
        self._seen_changes: int | None = None
        self._retry_at: datetime | None = None
        self.passes = 0  # how many delivery passes ran (tests, status)

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, paused: bool = False) -> None:
        """Reconcile, start the scheduler and queue the catch-up pass (call inside the loop).

        The first pass sends what fell due while the process was down (within the grace
        window) and skips the rest: APScheduler knows nothing about that time. It runs as a
        job, not awaited here, so a long catch-up never delays start-up or a SIGTERM.
        """
        self.reconcile()
        self.scheduler.add_job(
            self.poll_changes,
            "interval",
            seconds=self.poll_seconds,
            id=POLL_JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.request_pass()
        self.scheduler.start(paused=paused)

    async def wait_idle(self) -> None:
        """Wait for the pass in progress, if any, to finish (shutdown)."""
        async with self._pass_lock:
            return

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self, timeout: float) -> bool:
        """Fire nothing new, let the pass in progress finish (call `engine.stop()` first so
        that it claims nothing new), then shut down; whether it finished within `timeout`.

        Shutting APScheduler down first would cancel the pass mid-send: a post in flight
        would be left for the next start's recovery, and APScheduler logs the cancellation
        as a job that raised.
        """
        if self.scheduler.running:
            self.scheduler.pause()
        finished = True
        try:
            await asyncio.wait_for(self.wait_idle(), timeout)
        except TimeoutError:
            log.warning("the delivery pass did not finish in %.0f s; stopping it", timeout)
            finished = False
        self.shutdown()
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
        return finished

    # ------------------------------------------------------------------ jobs

    def reconcile(self) -> ReconcileResult:
        """Make the `drop:` jobs equal to the upcoming instants; refresh the retry job."""
        now = self.clock.now()
        self._seen_changes = self.store.change_counter()
        instants = self.store.upcoming_due_instants(now, limit=self.horizon)
        # Each weekly digest's next instant (the pass after it plans the one after).
        instants += [digests.next_instant(d, now) for d in self.store.digests()]
        wanted = {drop_job_id(instant): instant for instant in instants}
        scheduled = {job.id for job in self.scheduler.get_jobs() if job.id.startswith(DROP_PREFIX)}
        removed = sorted(scheduled - wanted.keys())
        added = sorted(wanted.keys() - scheduled)
        for job_id in removed:
            self._remove(job_id)
        for job_id in added:
            self._add_date_job(job_id, wanted[job_id])
        if added or removed:
            log.info("scheduler: %d drop job(s) added, %d removed", len(added), len(removed))
        return ReconcileResult(tuple(added), tuple(removed), self._reconcile_retry())

    def _reconcile_retry(self) -> datetime | None:
        """One job for the earliest pending retry; moved when that instant changes."""
        retry_at = self.engine.next_wakeup()
        if retry_at == self._retry_at and self._has_job(RETRY_JOB_ID) == (retry_at is not None):
            return retry_at
        self._remove(RETRY_JOB_ID)
        if retry_at is not None:
            self._add_date_job(RETRY_JOB_ID, max(retry_at, self.clock.now()))
        self._retry_at = retry_at
        return retry_at

    def request_pass(self) -> None:
        """A pass as soon as the loop gets to it (changes that fall due now)."""
        self._remove(NOW_JOB_ID)
        self.scheduler.add_job(
            self.fire,
            "date",
            id=NOW_JOB_ID,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    def on_change(self) -> None:
        """`Commands.on_change`: the plan changed in this process."""
        self.reconcile()
        self.request_pass()

    def scheduled_instants(self) -> list[datetime]:
        """The instants of the `drop:` jobs, in order (works before the scheduler starts)."""
        return sorted(
            instant_of(job.id)
            for job in self.scheduler.get_jobs()
            if job.id.startswith(DROP_PREFIX)
        )

    def _add_date_job(self, job_id: str, run_date: datetime) -> None:
        self.scheduler.add_job(
            self.fire,
            "date",
            run_date=run_date,
            id=job_id,
            # Catch-up is decided by the pass (watermark + grace), never by APScheduler.
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )

    def _has_job(self, job_id: str) -> bool:
        return self.scheduler.get_job(job_id) is not None

    def _remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(job_id)

    # ------------------------------------------------------------------ firing

    async def fire(self) -> PassResult:
        """Run one delivery pass; passes never overlap, and requests during one coalesce.

        A request that arrives while a pass runs makes that pass loop once more (with the
        clock read again) instead of starting a second pass beside it.
        """
        self._pass_wanted = True
        total = PassResult()
        if self._pass_lock.locked():
            return total
        async with self._pass_lock:
            try:
                while self._pass_wanted:
                    self._pass_wanted = False
                    result = await self.engine.run_pass()
                    self.passes += 1
                    _merge(total, result)
            except Exception:
                # A locked database, a bug: the drop must not wait for the next job (a week
                # away). Passes are idempotent, so simply try again soon.
                log.exception("delivery pass failed; trying again in %s", FAILED_PASS_DELAY)
                self._remove(FAILED_PASS_JOB_ID)
                self._add_date_job(FAILED_PASS_JOB_ID, self.clock.now() + FAILED_PASS_DELAY)
            finally:
                # Fired jobs are gone: slide the window forward and follow new retries.
                try:
                    self.reconcile()
                except Exception:
                    log.exception("reconciling the scheduler's jobs failed")
        return total

    async def poll_changes(self) -> bool:
        """Pick up changes made by another process; True if there were any."""
        counter = self.store.change_counter()
        if counter == self._seen_changes:
            return False
        log.info("scheduler: the plan changed in another process; reconciling")
        self.reconcile()
        await self.fire()
        return True


def _merge(total: PassResult, result: PassResult) -> None:
    total.planned += result.planned
    total.skipped += result.skipped
    total.sent += result.sent
    total.retrying += result.retrying
    total.failed += result.failed
