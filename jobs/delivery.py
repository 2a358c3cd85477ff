"""The delivery engine: drain the outbox into the platforms, each row exactly once.

A row moves pending -> sending -> sent | failed, or back to pending with a later
`next_attempt_at` after a transient error. Claiming (pending -> sending) is one
transaction, so two processes never send one row. Every change is fenced by the runner
lease's generation (jobs/lease.py): a runner that was paused and superseded changes nothing,
and it reads the lease again before each send.

A crash leaves a row in `sending`; the next holder of the lease (a higher generation)
`recover()`s it at once: it asks the platform whether the post is there (Discord: the outbox
key in the embed footer; Slack: message metadata) and otherwise sends it again under the same
idempotency key (Discord's nonce is a first line of defence that lasts minutes).

A result the database refuses (disk full, locked, I/O error) is kept in memory, in order, and
written again with back-off; until all are written nothing is claimed or sent, so no row is
left in `sending` by our own storage error.

The engine knows platforms only through `bot.sender.Sender`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bot import compose
from bot.clock import Clock
from bot.messages import message_from_json
from bot.observer import FAILED, RETRY, SENT, SKIPPED, NullObserver, Observer
from bot.ratelimit import RateLimiter
from bot.sender import (
    CannotTellError,
    Delivery,
    PermanentSendError,
    Sender,
    SendError,
    SenderUnavailableError,
    TransientSendError,
    may_still_send,
)
from bot.store import FencedOut, OutboxRow, Store, StoreUnavailable
from jobs.dispatch import PlatformDispatcher
from jobs.lease import RunnerLease
from jobs.outbox import materialize

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class PassResult:
    planned: int = 0
    skipped: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    # Seconds from a drop's instant to its first accepted post in this pass, if any.
    drop_latency: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; gives up after `max_attempts`."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 900.0

    def delay(self, attempts: int, retry_after: float | None, rand: Callable[[], float]) -> float:
        if retry_after is not None:
            # The platform said when: honour it, with a little spread so a fan-out
            # does not come back as one burst.
            return retry_after + rand() * min(1.0, retry_after)
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return max(0.5, rand() * ceiling)


KEPT_RETRY_FIRST = 0.5  # seconds before writing kept results again; doubles up to the cap
KEPT_RETRY_MAX = 5.0  # so every kept result is written within seconds of the disk recovering


def idempotency_key(row_id: int) -> str:
    """Stable per outbox row: Discord nonces are at most 25 characters."""
    return f"eb{row_id}"


class DeliveryEngine:
    """Sends claimed rows and records each result, fenced by the runner lease.

    `lease`: the runner lease whose generation fences every outbox change; without one the
    engine takes the lease itself on first use (a test, a benchmark). `sleep` waits between
    attempts to write kept results (tests pass one that moves their clock instead).
    """

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        grace: timedelta = timedelta(hours=12),
        retry: RetryPolicy | None = None,
        limiters: Mapping[str, RateLimiter] | None = None,
        batch_size: int = 500,
        rand: Callable[[], float] = random.random,
        on_permanent_failure: Callable[[OutboxRow, str], Awaitable[None] | None] | None = None,
        observer: Observer | None = None,
        whole_grace_window: bool = False,
        lease: RunnerLease | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.clock = clock
        self.grace = grace
        self.retry = retry or RetryPolicy()
        self.limiters = dict(limiters or {})
        self.batch_size = batch_size
        self.rand = rand
        self.on_permanent_failure = on_permanent_failure
        self.sleep = sleep
        # Plan all of (now - grace, now] on every pass, not only what follows the watermark
        # (`deliver --now T` with T in the past; see jobs.outbox.materialize).
        self.whole_grace_window = whole_grace_window
        self._stopping = False
        # Results the store refused (disk full, locked, I/O error), oldest first: each is
        # written before anything new is claimed or sent.
        self._kept: deque[Callable[[], None]] = deque()
        self._storage_lock = asyncio.Lock()
        self._storage_delay = KEPT_RETRY_FIRST
        self._storage_down_since: datetime | None = None
        self.lease = lease
        if lease is not None:
            lease.on_lost(self._lease_lost)
        self._renewal: asyncio.Future[tuple[bool] | None] | None = None
        # Metrics listen here (posts, retries, 429s, drop latency, fan-out duration).
        self.observer: Observer = observer or NullObserver()

    @property
    def platforms(self) -> list[str]:
        return sorted(self.senders)

    @property
    def kept_results(self) -> int:
        """Results waiting in memory for the database to take them."""
        return len(self._kept)

    def stop(self) -> None:
        """Finish the sends in flight, claim nothing new, release claimed rows not started."""
        self._stopping = True

    async def run_pass(self) -> PassResult:
        """Materialize what is due now and send every due row (one delivery pass).

        Planning runs in a worker thread, a page of subscriptions at a time, and each page is
        sent as soon as it is written: the first posts of a drop to 100,000 channels go out
        while the rest is being planned, and the event loop stays free for the platforms
        (Slack's 3-second acknowledgement, Discord's heartbeat).
        """
        result = PassResult()
        started = time.perf_counter()
        # Rows a runner that is gone (its generation is over) left in `sending`.
        await self.recover()
        now = self.clock.now()
        loop = asyncio.get_running_loop()
        dispatchers = [self._dispatcher(platform, result) for platform in self.platforms]
        for dispatcher in dispatchers:
            dispatcher.expect_more(True)

        def page_written() -> None:
            for dispatcher in dispatchers:
                dispatcher.wake()

        planning = asyncio.create_task(
            asyncio.to_thread(
                materialize,
                self.store,
                now,
                self.grace,
                on_page=lambda: loop.call_soon_threadsafe(page_written),
                whole_grace_window=self.whole_grace_window,
            )
        )
        draining = asyncio.gather(*(dispatcher.run() for dispatcher in dispatchers))
        try:
            await asyncio.wait({planning})
        except asyncio.CancelledError:
            # A thread cannot be cancelled: let the planning finish (its writes are each
            # atomic) so nobody closes the store under it, then stop.
            draining.cancel()
            await asyncio.shield(planning)
            raise
        for dispatcher in dispatchers:
            dispatcher.expect_more(False)
        await draining
        await self._storage_ready()  # a pass never ends with a result only in memory
        planned = planning.result()  # a planning error surfaces here
        result.planned, result.skipped = planned.pending, planned.skipped
        if result.sent:
            self.observer.fanout_finished(time.perf_counter() - started, result.sent)
        return result

    async def drain(self, result: PassResult | None = None) -> PassResult:
        """Send every row that is due by the clock, each platform's in fair order.

        Nothing is claimed while results are kept (the database refused them): they are
        written first, however long the database takes to come back.
        """
        result = result or PassResult()
        await asyncio.gather(
            *(self._dispatcher(platform, result).run() for platform in self.platforms)
        )
        await self._storage_ready()  # a pass never ends with a result only in memory
        return result

    def _dispatcher(self, platform: str, result: PassResult) -> PlatformDispatcher:
        """The send loop of one platform (jobs/dispatch.py); every SQL in a worker thread."""
        limiter = self.limiters.get(platform)
        concurrency = max(1, self.senders[platform].max_concurrency)
        # About a second of sending in memory: deep enough to keep the platform busy, shallow
        # enough that a drop planned a moment later is not queued behind it.
        window = max(2 * concurrency, int(limiter.rate) if limiter else self.batch_size)

        async def claim(limit: int) -> list[OutboxRow]:
            if self._stopping or not await self._storage_ready():
                return []
            claimed = await self._until_stored(functools.partial(
                self.store.claim_fair, self.clock.now(), platform=platform, limit=limit,
                generation=self._generation(),
            ))  # fmt: skip
            return claimed[0] if claimed else []

        async def release(rows: list[OutboxRow]) -> None:
            await self._record(functools.partial(
                self.store.release_sending, [row.id for row in rows], self.clock.now(),
                generation=self._generation(),
            ))  # fmt: skip

        return PlatformDispatcher(
            claim=claim,
            send=lambda row: self._send_row(row, result),
            release=release,
            stopping=lambda: self._stopping,
            limiter=limiter,
            concurrency=concurrency,
            window=window,
            **({"monotonic": limiter.monotonic} if limiter else {}),
        )

    async def recover(self) -> int:
        """Resolve the rows a runner that is gone left in `sending`.

        A row claimed under an earlier lease generation is orphaned as soon as that generation
        is over (a crash, a kill, a takeover from a paused process): there is no timer to wait
        for. Each is marked sent if the platform has the post; otherwise it goes back to
        pending for a resend. When the platform cannot tell right now (Slack's history is
        rate-limited), the row waits and keeps its attempt count, so the retry looks again
        before posting.
        """
        if not await self._storage_ready():
            return 0
        adopted = await self._until_stored(functools.partial(
            self.store.adopt_orphans, platforms=self.platforms, generation=self._generation()
        ))  # fmt: skip
        if adopted is None:
            return 0
        orphans = adopted[0]
        generation = self._generation()
        for row in orphans:
            now = self.clock.now()
            sender = self.senders[row.channel.platform]
            try:
                receipt = await sender.find_sent(self._delivery(row))
            except TransientSendError as error:
                log.warning("cannot check outbox row %s yet: %s", row.id, error.reason)
                wait = max(1, math.ceil(error.retry_after or 60))
                await self._record(functools.partial(
                    self.store.mark_retry, row.id, error.reason, now + timedelta(seconds=wait),
                    now, generation=generation,
                ))  # fmt: skip
                continue
            except SendError as error:  # cannot tell, or cannot read: the resend decides
                log.warning("cannot check outbox row %s: %s; sending again", row.id, error)
                receipt = None
            if receipt is not None:
                await self._record(functools.partial(
                    self.store.mark_sent, row.id, receipt.platform_message_id, now,
                    generation=generation,
                ))  # fmt: skip
            else:
                await self._record(
                    functools.partial(self.store.release_sending, [row.id], now,
                                      generation=generation)
                )  # fmt: skip
        if orphans:
            log.info("recovered %d post(s) a runner that is gone left unfinished", len(orphans))
        return len(orphans)

    def next_wakeup(self) -> datetime | None:
        """When a pending retry becomes due (the scheduler sets a job for it)."""
        return self.store.next_attempt_at(self.platforms)

    # ------------------------------------------------------------------ one row

    async def _send_row(self, row: OutboxRow, result: PassResult) -> None:
        """Send one claimed row (its dispatcher already waited for the platform's limiter
        and the channel's turn) and record the outcome from a worker thread."""
        platform = row.channel.platform
        sender = self.senders[platform]
        limiter = self.limiters.get(platform)
        generation = self._generation()
        may_still_send.set(self._lease().fresh)  # this task's context: seen by the sender
        if self._stopping:  # claimed, never started: give it back for the next run
            await self._give_back(row)
            return
        delivery = self._delivery(row)
        release_at = delivery.message.release_at
        if row.notification_key.is_reminder and release_at and release_at <= self.clock.now():
            # Held up (retries, a long queue) until its drop: a late reminder is noise.
            await self._record(functools.partial(
                self.store.mark_skipped, row.id, "the drop has already happened",
                self.clock.now(), generation=generation,
            ))  # fmt: skip
            self.observer.post_finished(platform, SKIPPED)
            return
        unchecked = False
        try:
            receipt = None
            if row.attempts > 1:
                # An earlier attempt may have reached the platform before it failed (a
                # timeout, a reset connection): look before posting again.
                try:
                    receipt = await sender.find_sent(delivery)
                except CannotTellError as error:
                    log.warning("sending outbox row %s again unchecked: %s", row.id, error)
                    unchecked = True
            # Last look before the post leaves: a runner paused since its claim (SIGSTOP, a VM
            # migration) must not post what the runner that took over now owns. The sender
            # asks once more as the request is written (bot.sender.may_still_send).
            if receipt is None and not await self._may_send(row):
                return
            if receipt is None:
                receipt = await sender.send(delivery)
        except SenderUnavailableError as error:
            log.error(
                "%s refuses the bot's credentials (%s): posts wait; fix the token",
                platform, error.reason,
            )  # fmt: skip
            if limiter is not None and error.retry_after:
                limiter.back_off(error.retry_after)
            # Not the post's fault: it waits, however long, until the grace window ends.
            await self._retry_or_give_up(row, error.reason, error.retry_after, result, counts=False)
            return
        except TransientSendError as error:
            if limiter is not None and error.retry_after:
                # A platform that says when to come back is rate-limiting us (HTTP 429):
                # the limiter backs off, and pauses the whole platform when 429s cluster.
                limiter.observe(429, error.retry_after)
            await self._retry_or_give_up(
                row, error.reason, error.retry_after, result,
                rate_limited=error.retry_after is not None,
            )  # fmt: skip
            return
        except PermanentSendError as error:
            await self._fail(row, error.reason, result, pause=error.pause)
            return
        except Exception as error:  # a bug or an unexpected library error: retry
            log.exception("unexpected error sending outbox row %s", row.id)
            await self._retry_or_give_up(row, f"unexpected error: {error!r}"[:300], None, result)
            return
        now = self.clock.now()
        await self._record(functools.partial(
            self.store.mark_sent, row.id, receipt.platform_message_id, now,
            generation=generation, unchecked=unchecked,
        ))  # fmt: skip
        result.sent += 1
        first_try_of_drop = row.attempts == 1 and row.notification_key.is_release
        if first_try_of_drop and result.drop_latency is None:
            result.drop_latency = (now - row.due_at).total_seconds()
            self.observer.drop_delivered(result.drop_latency)
        self.observer.post_finished(platform, SENT)

    async def _may_send(self, row: OutboxRow) -> bool:
        """True when this runner may post `row` now: its results are all written and its lease
        was renewed within a heartbeat interval, or is renewed now (the store refuses that
        once its generation is over)."""
        if self._stopping or not await self._storage_ready():
            if not self._lost:
                await self._give_back(row)
            return False
        lease = self._lease()
        if lease.renewed_within(lease.heartbeat_every):
            # Renewed moments ago: no other runner can take over before its heartbeat is
            # stale, so nothing to ask the store (and nothing to await: sends keep their order).
            return True
        if self._renewal is None or self._renewal.done():
            self._renewal = asyncio.ensure_future(self._until_stored(lease.heartbeat))
        renewed = await asyncio.shield(self._renewal)  # one renewal, awaited in send order
        if not (renewed and renewed[0]):
            log.warning("not sending outbox row %s: this runner's lease is over", row.id)
            return False
        return True

    async def _give_back(self, row: OutboxRow) -> None:
        await self._record(functools.partial(
            self.store.release_sending, [row.id], self.clock.now(), generation=self._generation()
        ))  # fmt: skip

    async def _retry_or_give_up(
        self,
        row: OutboxRow,
        reason: str,
        retry_after: float | None,
        result: PassResult,
        *,
        counts: bool = True,
        rate_limited: bool = False,
    ) -> None:
        now = self.clock.now()
        generation = self._generation()
        if counts and row.attempts >= self.retry.max_attempts:
            log.error(
                "giving up on outbox row %s (%s to %s) after %s attempts: %s",
                row.id, row.notification_key, row.channel, row.attempts, reason,
            )  # fmt: skip
            await self._record(functools.partial(
                self.store.mark_failed, row, f"gave up after {row.attempts} attempts: {reason}",
                now, pause=False, generation=generation,
            ))  # fmt: skip
            result.failed += 1
            self.observer.post_finished(row.channel.platform, FAILED)
            return
        # The outbox keeps whole seconds: round up, or a 0.4 s delay would be due at once
        # and the retry would spin inside the same pass.
        delay = max(1, math.ceil(self.retry.delay(row.attempts, retry_after, self.rand)))
        await self._record(functools.partial(
            self.store.mark_retry, row.id, reason, now + timedelta(seconds=delay), now,
            generation=generation,
        ))  # fmt: skip
        result.retrying += 1
        self.observer.post_finished(row.channel.platform, RETRY, rate_limited=rate_limited)

    async def _fail(self, row: OutboxRow, reason: str, result: PassResult, *, pause: bool) -> None:
        log.warning(
            "permanent failure posting %s to %s: %s%s",
            row.notification_key, row.channel, reason, "; subscription paused" if pause else "",
        )  # fmt: skip
        await self._record(functools.partial(
            self.store.mark_failed, row, reason, self.clock.now(), pause=pause,
            generation=self._generation(),
        ))  # fmt: skip
        result.failed += 1
        self.observer.post_finished(row.channel.platform, FAILED)
        if self.on_permanent_failure is not None:
            outcome = self.on_permanent_failure(row, reason)
            if asyncio.iscoroutine(outcome):
                await outcome

    # ------------------------------------------------------------------ lease and storage

    def _lease(self) -> RunnerLease:
        if self.lease is None:  # a test or a benchmark: hold the lease for the engine's life
            self.lease = RunnerLease(self.store)
            self.lease.on_lost(self._lease_lost)
            self.lease.acquire("this delivery engine", supersede_own_process=True)
        return self.lease

    def _generation(self) -> int:
        return self._lease().generation

    @property
    def _lost(self) -> bool:
        return self.lease is not None and self.lease.lost_reason is not None

    def _lease_lost(self, reason: str) -> None:
        """Our generation is over: claim nothing, send nothing, write nothing more."""
        self._stopping = True
        if self.lease is not None:
            self.lease.lose(reason)
        if self._kept:
            log.error(
                "dropping %d result(s) this runner could not record: the runner that took "
                "over finds those posts on the platform before sending them again",
                len(self._kept),
            )
            self._kept.clear()

    async def _record(self, write: Callable[[], object]) -> None:
        """Write a send's result now (off the event loop), or keep it, in order, when the
        database refuses it."""
        if self._lost:
            return
        if self._kept:  # older results first
            self._kept.append(write)
            return
        try:
            await asyncio.to_thread(write)
        except StoreUnavailable as error:
            log.error("cannot record a send's result (%s): kept in memory, retrying", error)
            self._kept.append(write)
        except FencedOut as error:
            self._lease_lost(str(error))

    async def _storage_ready(self) -> bool:
        """Write every kept result, waiting with back-off while the database refuses them.
        False when this runner must stop instead (its lease is over)."""
        async with self._storage_lock:
            while self._kept and await self._until_stored(self._kept[0]):
                if self._kept:  # not cleared meanwhile by a lost lease
                    self._kept.popleft()
        return not self._lost

    async def _until_stored(self, call: Callable[[], T]) -> tuple[T] | None:
        """`(call(),)` once the database takes it (in a worker thread), waiting with back-off
        while it is unavailable; None when this runner's lease is over (it must stop)."""
        while not self._lost:
            try:
                outcome = await asyncio.to_thread(call)
            except StoreUnavailable as error:
                await self._storage_failed(error)
                continue
            except FencedOut as error:
                self._lease_lost(str(error))
                return None
            self._storage_recovered()
            return (outcome,)
        return None

    async def _storage_failed(self, error: StoreUnavailable) -> None:
        if self._storage_down_since is None:
            self._storage_down_since = self.clock.now()
            log.error(
                "the database refuses writes (%s): nothing is claimed or sent until it takes "
                "the %d result(s) kept in memory",
                error, len(self._kept),
            )  # fmt: skip
        await self.sleep(self._storage_delay)
        self._storage_delay = min(self._storage_delay * 2, KEPT_RETRY_MAX)

    def _storage_recovered(self) -> None:
        self._storage_delay = KEPT_RETRY_FIRST
        if self._storage_down_since is not None and not self._kept:
            log.warning(
                "the database takes writes again (down since %s); kept results written",
                self._storage_down_since.isoformat(),
            )
            self._storage_down_since = None

    @staticmethod
    def _delivery(row: OutboxRow) -> Delivery:
        return Delivery(
            outbox_id=row.id,
            notification_key=row.notification_key,
            due_at=row.due_at,
            channel=row.channel,
            message=compose.addressed(message_from_json(row.message), row.mention),
            idempotency_key=idempotency_key(row.id),
        )
