"""`AiohttpClient`: GET for schedule sources, polite by construction.

- Rate limit: at most `calls` requests in any `window` seconds per host (TVmaze allows 20
  per 10 s per address), waiting for a slot rather than bouncing off 429s; the window is
  kept 5 % longer, since the server counts a call when it arrives.
- 429: waits for `Retry-After` (seconds or an HTTP date; a full window when absent), then
  tries again.
- 5xx, timeouts, connection errors: exponential backoff with jitter, `attempts` in all;
  then a `SourceError` saying what happened (the caller changes nothing).
- Every request says who is asking: `User-Agent: episode-bot/<version> (+<contact>)`.
- Redirects are not followed: TVmaze's lookup answers 301 and the caller reads `Location`.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict

from bot.sources.base import HttpResponse, SourceError

VERSION = "0.1.0"
MAX_BODY = 20_000_000
WINDOW_HEADROOM = 0.05


class SlidingWindowLimiter:
    """At most `calls` acquisitions in any `window` seconds."""

    def __init__(
        self,
        calls: int = 20,
        window: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.calls = calls
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._stamps and self._stamps[0] <= now - self.window:
                    self._stamps.popleft()
                if len(self._stamps) < self.calls:
                    self._stamps.append(now)
                    return
                await self._sleep(self._stamps[0] + self.window - now)

    def hold_off(self, seconds: float) -> None:
        """The server said wait (429): no request before `seconds` from now."""
        until = self._clock() + seconds - self.window
        self._stamps = deque([until] * self.calls)


class AiohttpClient:
    def __init__(
        self,
        *,
        contact: str = "",
        calls: int = 20,
        window: float = 10.0,
        timeout: float = 15.0,
        attempts: int = 4,
        backoff: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        agent = f"episode-bot/{VERSION}"
        self.user_agent = f"{agent} (+{contact})" if contact else agent
        self.calls, self.window = calls, window
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0  # sent, retries included (bench, tests)

    async def __aenter__(self) -> AiohttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _limiter(self, url: str) -> SlidingWindowLimiter:
        host = urlsplit(url).netloc
        if host not in self._limiters:
            # 5 % headroom: the server counts a call when it arrives, a little after we sent it.
            window = self.window * (1 + WINDOW_HEADROOM)
            self._limiters[host] = SlidingWindowLimiter(self.calls, window, sleep=self._sleep)
        return self._limiters[host]

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"User-Agent": self.user_agent}
            )
        limiter = self._limiter(url)
        host = urlsplit(url).netloc
        problem = ""
        for attempt in range(1, self.attempts + 1):
            await limiter.acquire()
            self.requests += 1
            try:
                async with self._session.get(
                    url, params=params, headers=headers, allow_redirects=False
                ) as response:
                    body = await response.content.read(MAX_BODY + 1)
                    status, answer_headers = response.status, CIMultiDict(response.headers)
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                problem = f"{host} did not answer ({type(error).__name__})"
            else:
                if len(body) > MAX_BODY:
                    raise SourceError(f"{host} answered more than {MAX_BODY // 1_000_000} MB")
                if status == 429:
                    wait = _retry_after(answer_headers.get("Retry-After"), default=self.window)
                    limiter.hold_off(wait)
                    problem = f"{host} is rate limiting us (429)"
                    continue
                if status < 500:
                    return HttpResponse(status, answer_headers, body, url=url)
                problem = f"{host} answered {status}"
            if attempt < self.attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                await self._sleep(delay * random.uniform(0.8, 1.2))
        raise SourceError(f"{problem} after {self.attempts} attempts")


def _retry_after(value: str | None, *, default: float) -> float:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110), else `default`."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
