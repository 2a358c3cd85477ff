"""The delivery engine: drain the outbox into the platforms, each row exactly once.

A row moves pending -> sending -> sent | failed, or back to pending with a later
`next_attempt_at` after a transient error. Claiming (pending -> sending) is one
transaction, so two processes never send one row. A crash leaves a row in `sending`: at
start-up `recover()` asks the platform whether the post is there (Slack: message
metadata) and otherwise sends it again under the same idempotency key (Discord: the
message nonce with enforce_nonce), so the reader never sees it twice.

The engine knows platforms only through `bot.sender.Sender`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.messages import message_from_json
from bot.observer import FAILED, RETRY, SENT, SKIPPED, NullObserver, Observer
from bot.sender import (
    Delivery,
    PermanentSendError,
    Sender,
    SenderUnavailableError,
    TransientSendError,
)
from bot.store import OutboxRow, Store
from jobs.dispatch import PlatformDispatcher
from jobs.limiter import RateLimiter
from jobs.outbox import materialize

log = logging.getLogger(__name__)


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


# No send takes this long (discord.py waits out rate limits up to 30 s, slack_sdk up to 5 s,
# HTTP timeouts are 60 s): a row in `sending` for longer lost its result.
STUCK_SENDING = timedelta(minutes=10)


def idempotency_key(row_id: int) -> str:
    """Stable per outbox row: Discord nonces are at most 25 characters."""
    return f"eb{row_id}"


class DeliveryEngine:
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
        # Plan all of (now - grace, now] on every pass, not only what follows the watermark
        # (`deliver --now T` with T in the past; see jobs.outbox.materialize).
        self.whole_grace_window = whole_grace_window
        self._stopping = False
        # Metrics listen here (posts, retries, 429s, drop latency, fan-out duration).
        self.observer: Observer = observer or NullObserver()

    @property
    def platforms(self) -> list[str]:
        return sorted(self.senders)

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
        # A row stuck in `sending` (its result could not be written) is picked up again.
        await self.recover(older_than=STUCK_SENDING)
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
        planned = planning.result()  # a planning error surfaces here
        result.planned, result.skipped = planned.pending, planned.skipped
        if result.sent:
            self.observer.fanout_finished(time.perf_counter() - started, result.sent)
        return result

    async def drain(self, result: PassResult | None = None) -> PassResult:
        """Send every row that is due by the clock, each platform's in fair order."""
        result = result or PassResult()
        await asyncio.gather(
            *(self._dispatcher(platform, result).run() for platform in self.platforms)
        )
        return result

    def _dispatcher(self, platform: str, result: PassResult) -> PlatformDispatcher:
        """The send loop of one platform (jobs/dispatch.py); every SQL in a worker thread."""
        limiter = self.limiters.get(platform)
        concurrency = max(1, self.senders[platform].max_concurrency)
        # About a second of sending in memory: deep enough to keep the platform busy, shallow
        # enough that a drop planned a moment later is not queued behind it.
        window = max(2 * concurrency, int(limiter.rate) if limiter else self.batch_size)

        async def claim(limit: int) -> list[OutboxRow]:
            return await asyncio.to_thread(
                self.store.claim_fair, self.clock.now(), platform=platform, limit=limit
            )

        async def release(rows: list[OutboxRow]) -> None:
            ids = [row.id for row in rows]
            await asyncio.to_thread(self.store.release_sending, ids, self.clock.now())

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

    async def recover(self, *, older_than: timedelta | None = None) -> int:
        """Resolve rows a crash (or a failed write) left in `sending`.

        At start-up every such row is orphaned (one engine per database: the runner lease);
        during a run, only rows untouched for `older_than`. Each is marked sent if the
        platform has the post; otherwise it goes back to pending for a resend, which the
        idempotency key keeps from showing twice. When the platform cannot tell right now
        (Slack's history is rate-limited), the row waits and keeps its attempt count, so the
        retry looks again before posting.
        """
        now = self.clock.now()
        stale_before = now - older_than if older_than is not None else None
        resolved = 0
        # Off the event loop: every pass starts with this look-up, and commands are answered
        # on the loop meanwhile.
        stuck = await asyncio.to_thread(
            self.store.rows_in_state,
            "sending",
            platforms=self.platforms,
            updated_before=stale_before,
        )
        for row in stuck:
            sender = self.senders[row.channel.platform]
            try:
                receipt = await sender.find_sent(self._delivery(row))
            except TransientSendError as error:
                log.warning("cannot check outbox row %s yet: %s", row.id, error.reason)
                wait = max(1, math.ceil(error.retry_after or 60))
                self.store.mark_retry(row.id, error.reason, now + timedelta(seconds=wait), now)
                resolved += 1
                continue
            except PermanentSendError as error:
                log.warning("cannot check outbox row %s: %s; sending again", row.id, error)
                receipt = None
            if receipt is not None:
                self.store.mark_sent(row.id, receipt.platform_message_id, now)
            else:
                self.store.release_sending([row.id], now)
            resolved += 1
        return resolved

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
        delivery = self._delivery(row)
        release_at = delivery.message.release_at
        if row.notification_key.is_reminder and release_at and release_at <= self.clock.now():
            # Held up (retries, a long queue) until its drop: a late reminder is noise.
            await self._db(
                self.store.mark_skipped, row.id, "the drop has already happened",
                self.clock.now(),
            )  # fmt: skip
            self.observer.post_finished(platform, SKIPPED)
            return
        try:
            receipt = None
            if row.attempts > 1:
                # An earlier attempt may have reached the platform before it failed (a
                # timeout, a reset connection): look before posting again.
                receipt = await sender.find_sent(delivery)
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
        await self._db(self.store.mark_sent, row.id, receipt.platform_message_id, now)
        result.sent += 1
        first_try_of_drop = row.attempts == 1 and row.notification_key.is_release
        if first_try_of_drop and result.drop_latency is None:
            result.drop_latency = (now - row.due_at).total_seconds()
            self.observer.drop_delivered(result.drop_latency)
        self.observer.post_finished(platform, SENT)

    @staticmethod
    async def _db(write: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """A store write, off the event loop: it may wait for the database while planning
        writes a page, and commands are answered on the loop meanwhile."""
        await asyncio.to_thread(write, *args, **kwargs)

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
        if counts and row.attempts >= self.retry.max_attempts:
            log.error(
                "giving up on outbox row %s (%s to %s) after %s attempts: %s",
                row.id, row.notification_key, row.channel, row.attempts, reason,
            )  # fmt: skip
            await self._db(self.store.mark_failed, row,
                           f"gave up after {row.attempts} attempts: {reason}", now,
                           pause=False)  # fmt: skip
            result.failed += 1
            self.observer.post_finished(row.channel.platform, FAILED)
            return
        # The outbox keeps whole seconds: round up, or a 0.4 s delay would be due at once
        # and the retry would spin inside the same pass.
        delay = max(1, math.ceil(self.retry.delay(row.attempts, retry_after, self.rand)))
        await self._db(self.store.mark_retry, row.id, reason, now + timedelta(seconds=delay), now)
        result.retrying += 1
        self.observer.post_finished(row.channel.platform, RETRY, rate_limited=rate_limited)

    async def _fail(self, row: OutboxRow, reason: str, result: PassResult, *, pause: bool) -> None:
        log.warning(
            "permanent failure posting %s to %s: %s%s",
            row.notification_key, row.channel, reason, "; subscription paused" if pause else "",
        )  # fmt: skip
        await self._db(self.store.mark_failed, row, reason, self.clock.now(), pause=pause)
        result.failed += 1
        self.observer.post_finished(row.channel.platform, FAILED)
        if self.on_permanent_failure is not None:
            outcome = self.on_permanent_failure(row, reason)
            if asyncio.iscoroutine(outcome):
                await outcome

    @staticmethod
    def _delivery(row: OutboxRow) -> Delivery:
        return Delivery(
            outbox_id=row.id,
            notification_key=row.notification_key,
            due_at=row.due_at,
            channel=row.channel,
            message=message_from_json(row.message),
            idempotency_key=idempotency_key(row.id),
        )
