"""A per-platform rate limiter: a global token bucket plus spacing per channel.

Platforms publish limits (Discord: 50 requests/s per bot; Slack: about one message per
second per channel). Staying under them costs less than bouncing off 429s; when a 429
comes anyway, `back_off` stops every send on the platform until its retry-after passes.
Time and sleeping are injected so tests never wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

_EPSILON = 1e-9


class RateLimiter:
    def __init__(
        self,
        rate_per_second: float,
        *,
        burst: int | None = None,
        per_channel_interval: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.rate = rate_per_second
        self.burst = burst if burst is not None else max(1, int(rate_per_second))
        self.per_channel_interval = per_channel_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._updated = monotonic()
        self._blocked_until = 0.0
        self._channel_next: dict[Hashable, float] = {}
        self._lock = asyncio.Lock()

    def back_off(self, seconds: float) -> None:
        """The platform answered 429: send nothing on it for `seconds`."""
        self._blocked_until = max(self._blocked_until, self._monotonic() + seconds)

    async def acquire(self, channel: Hashable | None = None) -> None:
        """Wait until one more request may go out (to `channel`)."""
        if channel is not None and self.per_channel_interval:
            # Reserve this channel's next slot (no await in between, so no race) and wait for
            # it outside the global lock: one busy channel never holds up the others.
            now = self._monotonic()
            slot = max(now, self._channel_next.get(channel, 0.0))
            self._channel_next[channel] = slot + self.per_channel_interval
            if slot - now > _EPSILON:
                await self._sleep(slot - now)
        async with self._lock:
            while True:
                now = self._monotonic()
                wait = self._blocked_until - now
                self._refill(now)
                # Tolerate float dust: 0.999999999 tokens after an exact sleep is one token,
                # or a wait too small to move the clock would spin forever.
                if self._tokens < 1 - _EPSILON:
                    wait = max(wait, (1 - self._tokens) / self.rate)
                if wait <= _EPSILON:
                    self._tokens -= 1
                    return
                await self._sleep(wait)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
