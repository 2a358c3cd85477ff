"""One platform's send loop: claim due rows in fair order, send them within the limits.

The engine (jobs/delivery.py) runs one `PlatformDispatcher` per platform for each drain. It
keeps a window of claimed rows in a `FairQueue` (jobs/fairness.py), refills it from the
outbox in a worker thread (a claim is SQL whose cost must not land on the event loop, where
commands are answered), and whenever the platform's limiter grants a request, sends the row
the fairness policy picks at that moment. Choosing at grant time, not at claim time, is what
lets a drop planned a moment later take its turn at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.ratelimit import RateLimiter
from bot.store import OutboxRow
from jobs.fairness import FairQueue

STOP_CHECK_SECONDS = 0.5  # while waiting for the limiter, how often to look at the stop flag


class PlatformDispatcher:
    """Drains one platform's due rows: `await run()` returns when none is left.

    `claim(limit)` claims up to `limit` due rows (pending -> sending) in fair order;
    `send(row)` sends one and records the outcome; `release(rows)` gives claimed rows back
    when the engine stops; `stopping()` says whether it does. `wake()` says new rows may be
    due (a page of a drop was just planned): they are claimed before the next send.
    """

    def __init__(
        self,
        *,
        claim: Callable[[int], Awaitable[list[OutboxRow]]],
        send: Callable[[OutboxRow], Awaitable[None]],
        release: Callable[[list[OutboxRow]], Awaitable[None]],
        stopping: Callable[[], bool],
        limiter: RateLimiter | None,
        concurrency: int,
        window: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._claim = claim
        self._send = send
        self._release = release
        self._stopping = stopping
        self.limiter = limiter
        self.concurrency = max(1, concurrency)
        self.window = max(1, window)
        self.queue: FairQueue[OutboxRow] = FairQueue(
            channel_interval=limiter.per_channel_interval if limiter else 0.0,
            monotonic=monotonic,
        )
        self._monotonic = monotonic
        self._woken = asyncio.Event()
        self._sent = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._more_expected = False
        self._failure: Exception | None = None  # a send that raised (a store write failed)

    def wake(self) -> None:
        self._woken.set()

    def expect_more(self, expected: bool) -> None:
        """While planning runs, an empty outbox is not the end: wait for `wake()`."""
        self._more_expected = expected
        if not expected:
            self._woken.set()

    async def run(self) -> None:
        exhausted = False
        try:
            while not self._stopping() and self._failure is None:
                low = not exhausted and len(self.queue) < self.window // 2
                # Woken (new rows planned): claim even with a full window, since the newcomers
                # may rank first; up to twice the window, so memory stays bounded.
                woken = self._woken.is_set() and len(self.queue) < 2 * self.window
                if low or woken:
                    self._woken.clear()
                    rows = await self._claim(max(self.window - len(self.queue), self.window // 2))
                    for row in rows:
                        self.queue.push(
                            row,
                            rank=(row.priority, row.queue_rank),  # as claimed: priority, then tag
                            channel=row.channel,
                            order=(row.due_at, row.id),
                        )
                    exhausted = not rows
                    continue  # the claim took time: look at the stop flag and the queue again
                if len(self._in_flight) >= self.concurrency or not self.queue.has_ready():
                    idle = not self.queue and not self._in_flight
                    if idle and exhausted and not self._more_expected:
                        return
                    await self._wait()
                    continue
                if self.limiter is not None and not await self._granted():
                    break
                row = self.queue.pop()
                assert row is not None  # has_ready() held, and nothing popped since
                self._in_flight.add(asyncio.create_task(self._send_one(row)))
        finally:
            leftover = self.queue.drain()
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            if leftover:
                await self._release(leftover)
        if self._failure is not None:  # the pass fails (and is tried again), as it says
            raise self._failure

    async def _granted(self) -> bool:
        """The limiter's grant for one request; False when the engine stops first (a pause
        after clustered 429s can last a minute, and shutdown must not wait for it)."""
        assert self.limiter is not None
        if not self.limiter.must_wait():  # the usual case: granted at once, nothing to race
            await self.limiter.acquire()
            return not self._stopping()
        grant = asyncio.ensure_future(self.limiter.acquire())
        while not grant.done():
            await asyncio.wait({grant}, timeout=STOP_CHECK_SECONDS)
            if self._stopping() and not grant.done():
                grant.cancel()
                return False
        grant.result()
        return not self._stopping()

    async def _send_one(self, row: OutboxRow) -> None:
        try:
            await self._send(row)
        except Exception as error:  # `send` records every platform outcome: this is ours
            self._failure = self._failure or error
        finally:
            # Here, not in a done callback (which runs a loop turn later): when the loop wakes
            # on `_sent`, the counts it reads must already include this send.
            self._in_flight.discard(asyncio.current_task())  # type: ignore[arg-type]
            self.queue.done(row.channel)
            self._sent.set()

    async def _wait(self) -> None:
        """Until a send finishes, new rows may be due, or a spaced channel may post again."""
        sent = self._sent
        sent.clear()
        waiters = {asyncio.ensure_future(sent.wait())}
        if len(self.queue) < 2 * self.window:  # else new rows wait for room in the window
            waiters.add(asyncio.ensure_future(self._woken.wait()))
        timeout = None
        ready_at = self.queue.next_ready_at()
        if ready_at is not None:
            timeout = max(0.0, ready_at - self._monotonic())
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
