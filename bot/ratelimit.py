"""A request budget: a token bucket, a hard cap per window, and back-off.

Platforms publish limits (Discord: 50 requests/s per bot, counting every authenticated
request; Slack: per-method tiers, about one message per second per channel). Staying under
them costs less than bouncing off 429s, and on Discord 10,000 invalid requests (401, 403,
429) in 10 minutes get the bot's IP banned for an hour. So:

* `acquire()` paces requests with a token bucket (`rate`, `burst`) on a monotonic clock. It
  refills from elapsed time, so a late wake-up (a busy CPU, asyncio's sleep overshoot) does
  not lose rate, and no drift accumulates.
* `window_limit` caps what any `window` seconds may hold, measured on the same clock. A
  token bucket allows `burst + rate * window` in a window; the cap keeps the platform's own
  count (Discord counts fixed one-second windows) however the wake-ups bunch after a stall.
* `back_off(seconds)` stops every request on the platform (a 429's retry-after).
* `observe(status, retry_after)` is fed every response status (the Discord adapter's HTTP
  hook sees even the 429s discord.py retries by itself). A 429 backs off for its
  retry-after; a cluster of them within `cluster_window` (at least `cluster_threshold`, and
  at least `cluster_share` of the requests the rate allows in that time) pauses the whole
  platform, longer each time it recurs; invalid requests nearing `invalid_limit` in 10
  minutes pause it for a minute.

Every request the bot makes on a platform draws from its one limiter: the engine's posts
and, through the adapters' hooks, the rest (Discord: scheduled events, message look-ups,
`users/@me`). The schedule sources' HTTP client keeps one per host the same way (TVmaze: 20
calls in any 10 s). Pure asyncio, so it lives in the core where every layer may use it; time
and sleeping are injected so tests never wait.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

_EPSILON = 1e-9
INVALID_STATUSES = frozenset({401, 403, 429})
INVALID_WINDOW = 600.0  # Discord: 10,000 invalid requests per 10 minutes bans the IP


class RateLimiter:
    def __init__(
        self,
        rate_per_second: float,
        *,
        burst: int | None = None,
        per_channel_interval: float = 0.0,
        window_limit: int | None = None,
        window: float = 1.0,
        cluster_threshold: int = 3,
        cluster_share: float = 0.005,
        cluster_window: float = 10.0,
        cluster_pause: float = 2.0,
        max_pause: float = 60.0,
        invalid_limit: int = 1000,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.rate = rate_per_second
        self.burst = burst if burst is not None else max(1, int(rate_per_second))
        self.per_channel_interval = per_channel_interval
        self.window_limit = window_limit
        self.window = window
        # A 429 or two in thousands of requests is timing noise between our clock and the
        # platform's count (a request granted at the end of one second arriving in the
        # next); only at least `cluster_share` of them means the limit is not what we think.
        # At Discord's 50/s (paced at 48/s) that is 3 in 10 s; at a raised 500/s (480/s), 24.
        self.cluster_threshold = max(
            cluster_threshold, math.ceil(cluster_share * rate_per_second * cluster_window)
        )
        self.cluster_window = cluster_window
        self.cluster_pause = cluster_pause
        self.max_pause = max_pause
        self.invalid_limit = invalid_limit
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._updated = monotonic()
        self._blocked_until = 0.0
        self._channel_next: dict[Hashable, float] = {}
        self._sent: deque[float] = deque(maxlen=window_limit or 1)
        self._limited: deque[float] = deque()
        self._invalid: deque[float] = deque()
        self._clusters = 0
        self._last_cluster = -float("inf")
        self._lock = asyncio.Lock()
        # What it saw, for the benchmark and the logs.
        self.requests = 0
        self.rate_limited = 0
        self.pauses = 0

    @property
    def monotonic(self) -> Callable[[], float]:
        """The clock it paces by (the engine's dispatcher spaces channels on it too)."""
        return self._monotonic

    @property
    def blocked_until(self) -> float:
        """Monotonic time before which nothing may go out (0 when not backing off)."""
        return self._blocked_until

    def back_off(self, seconds: float) -> None:
        """The platform answered 429: send nothing on it for `seconds`."""
        self._blocked_until = max(self._blocked_until, self._monotonic() + seconds)

    def observe(self, status: int, retry_after: float | None = None) -> None:
        """One response from the platform: count invalid ones, back off on 429s."""
        now = self._monotonic()
        if status in INVALID_STATUSES:
            self._invalid.append(now)
            while self._invalid and self._invalid[0] <= now - INVALID_WINDOW:
                self._invalid.popleft()
            if len(self._invalid) >= self.invalid_limit:
                log.error(
                    "%d invalid requests (401/403/429) in 10 minutes: pausing the platform "
                    "for %.0f s before it bans the bot's address", len(self._invalid),
                    self.max_pause,
                )  # fmt: skip
                self._pause(self.max_pause)
                self._invalid.clear()
        if status != 429:
            return
        self.rate_limited += 1
        if retry_after:
            self.back_off(retry_after)
        self._limited.append(now)
        while self._limited and self._limited[0] <= now - self.cluster_window:
            self._limited.popleft()
        if len(self._limited) < self.cluster_threshold:
            return
        # 429s cluster: the limit is lower than we think, or someone else shares the token.
        # Pause everything, longer each time it happens again before things calm down.
        if now - self._last_cluster > self.max_pause * 5:
            self._clusters = 0
        self._clusters += 1
        self._last_cluster = now
        pause = min(self.max_pause, self.cluster_pause * 2 ** (self._clusters - 1))
        log.warning(
            "%d rate-limited answers within %.0f s: pausing the platform for %.1f s",
            len(self._limited), self.cluster_window, pause,
        )  # fmt: skip
        self._limited.clear()
        self._pause(pause)

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
                self._refill(now)
                wait = self._wait_at(now)
                if wait <= _EPSILON:
                    self._tokens -= 1
                    if self.window_limit:
                        self._sent.append(now)
                    self.requests += 1
                    return
                await self._sleep(wait)

    def must_wait(self) -> bool:
        """Would `acquire()` (no channel) wait if called now? If not, it grants without
        suspending: the engine races only a real wait against its stop flag."""
        if self._lock.locked():
            return True
        now = self._monotonic()
        self._refill(now)
        return self._wait_at(now) > _EPSILON

    def _wait_at(self, now: float) -> float:
        """How long from `now` (tokens refilled to it) until one more request may go out."""
        wait = self._blocked_until - now
        # Tolerate float dust: 0.999999999 tokens after an exact sleep is one token,
        # or a wait too small to move the clock would spin forever.
        if self._tokens < 1 - _EPSILON:
            wait = max(wait, (1 - self._tokens) / self.rate)
        if self.window_limit and len(self._sent) >= self.window_limit:
            wait = max(wait, self._sent[0] + self.window - now)
        return wait

    def _pause(self, seconds: float) -> None:
        self.pauses += 1
        self.back_off(seconds)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
