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
- `public_only()`: the same client for feeds added from chat, whose connector refuses every
  address that is not public (`bot.sources.addresses`) at the moment it connects, so the
  address checked is the address used (no DNS-rebinding gap between a check and the request).
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import random
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict

from bot.ratelimit import RateLimiter
from bot.sources.addresses import NOT_PUBLIC, is_public_address
from bot.sources.base import HttpResponse, SourceError

VERSION = "0.1.0"
MAX_BODY = 20_000_000
WINDOW_HEADROOM = 0.05


def source_limiter(
    calls: int,
    window: float,
    *,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RateLimiter:
    """At most `calls` requests in any `window` seconds (TVmaze: 20 per 10 s): the bot's one
    rate limiter (`bot.ratelimit`), its window cap the binding rule."""
    return RateLimiter(
        calls / window, burst=calls, window_limit=calls, window=window,
        monotonic=monotonic, sleep=sleep,
    )  # fmt: skip


class NonPublicAddress(ConnectionRefusedError):
    """Raised instead of connecting to an address a chat admin's feed may not reach."""

    def __init__(self) -> None:
        # One message whatever the address: happy eyeballs re-raises it as is when every
        # address of the host was refused, and the operator's log need not list them.
        super().__init__(errno.EACCES, NOT_PUBLIC)


def _public_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """The connector's socket factory for chat feeds: the check sits on the very address
    about to be connected to, after DNS, so nothing can change in between."""
    family, type_, proto, _, address = addr_info
    if not is_public_address(str(address[0])):
        raise NonPublicAddress()
    return socket.socket(family=family, type=type_, proto=proto)


class PublicOnlyClient:
    """`HttpClient` for feeds added from chat: `AiohttpClient.get` through the connector
    that refuses non-public addresses. Shares the client's rate limits and lifetime."""

    def __init__(self, client: AiohttpClient) -> None:
        self._client = client

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        return await self._client._get(url, params=params, headers=headers, public_only=True)


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
        self._limiters: dict[str, RateLimiter] = {}
        self._sessions: dict[bool, aiohttp.ClientSession] = {}  # by public_only
        self.requests = 0  # sent, retries included (bench, tests)

    async def __aenter__(self) -> AiohttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    def public_only(self) -> PublicOnlyClient:
        """This client, for feeds added from chat: only public addresses are connected to."""
        return PublicOnlyClient(self)

    def _session(self, public_only: bool) -> aiohttp.ClientSession:
        if public_only not in self._sessions:
            connector = aiohttp.TCPConnector(socket_factory=_public_socket) if public_only else None
            self._sessions[public_only] = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, headers={"User-Agent": self.user_agent}
            )
        return self._sessions[public_only]

    def _limiter(self, url: str) -> RateLimiter:
        host = urlsplit(url).netloc
        if host not in self._limiters:
            # 5 % headroom: the server counts a call when it arrives, a little after we sent it.
            window = self.window * (1 + WINDOW_HEADROOM)
            self._limiters[host] = source_limiter(self.calls, window, sleep=self._sleep)
        return self._limiters[host]

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        return await self._get(url, params=params, headers=headers, public_only=False)

    async def _get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        public_only: bool,
    ) -> HttpResponse:
        session = self._session(public_only)
        limiter = self._limiter(url)
        # The host as said in errors, which members may read: never a `user:password@`.
        host = urlsplit(url).hostname or "the source"
        problem = ""
        for attempt in range(1, self.attempts + 1):
            await limiter.acquire()
            self.requests += 1
            try:
                async with session.get(
                    url, params=params, headers=headers, allow_redirects=False
                ) as response:
                    body = await response.content.read(MAX_BODY + 1)
                    status, answer_headers = response.status, CIMultiDict(response.headers)
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                if isinstance(getattr(error, "os_error", error), NonPublicAddress):
                    # Not a passing fault: no retry.
                    raise SourceError(f"the feed's host {host[:80]!r} {NOT_PUBLIC}") from None
                problem = f"{host} did not answer ({type(error).__name__})"
            else:
                if len(body) > MAX_BODY:
                    raise SourceError(f"{host} answered more than {MAX_BODY // 1_000_000} MB")
                if status == 429:
                    wait = _retry_after(answer_headers.get("Retry-After"), default=self.window)
                    limiter.back_off(wait)
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
