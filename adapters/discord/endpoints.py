"""Where discord.py sends its requests: discord.com by default, `DISCORD_API_BASE` when set.

discord.py 2.x builds every URL as `Route.BASE + path` when a `Route` is constructed, with
`Route.BASE` a class attribute (`https://discord.com/api/v10`). Two scopes are offered:

* `RedirectingHTTPClient`: one `HTTPClient` whose requests go to another base. Nothing global
  changes, so a sender (or a benchmark) can talk to a test server while anything else in the
  process still talks to Discord. The sender uses this.
* `redirect_process(api_base, gateway_url)`: the gateway client's interaction responses go
  through discord.py's webhook adapter, which builds its own module-level `Route`s, and the
  gateway address is `DiscordWebSocket.DEFAULT_GATEWAY`; neither can be set per client. This
  context manager sets both for as long as the adapter runs and restores them afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route

DISCORD_API_BASE = Route.BASE  # what discord.py uses when nothing is redirected
# discord.py looks for idle rate-limit buckets (unused for 300 s) on every new bucket once
# it holds 256; each channel and each follower's DM channel is a bucket, so a drop to 25,000
# of them scanned 25,000 buckets 25,000 times (O(n²): DMs ran at a third of the rate bound)
# and kept every bucket for five minutes (memory grew with the fan-out). The sweep runs at
# most once per this many seconds, and also drops buckets whose window has passed with
# nothing in flight: Discord's headers teach the limit again on the next request.
BUCKET_SWEEP_INTERVAL = 10.0


def normalize_base(api_base: str) -> str:
    """`http://host:8080/api/v10/` -> `http://host:8080/api/v10` (Route appends `/path`)."""
    base = api_base.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"DISCORD_API_BASE must be an http(s) URL, got {api_base!r}")
    return base


class RedirectingHTTPClient(HTTPClient):
    """An `HTTPClient` that sends every REST request to `api_base` instead of discord.com.

    It rewrites the URL of each `Route` just before discord.py's own `request` (which does the
    rate limiting, retries and error mapping) sees it, so all of discord.py's behaviour is kept.
    """

    def __init__(self, *args: Any, api_base: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_base = normalize_base(api_base) if api_base else None
        self._last_bucket_sweep = float("-inf")

    def _try_clear_expired_ratelimits(self) -> None:
        """Drop idle rate-limit buckets, at most every `BUCKET_SWEEP_INTERVAL` seconds."""
        now = time.monotonic()
        if len(self._buckets) < 256 or now - self._last_bucket_sweep < BUCKET_SWEEP_INTERVAL:
            return
        self._last_bucket_sweep = now
        idle = [
            key
            for key, bucket in self._buckets.items()
            if bucket.outgoing == 0
            and not bucket._pending_requests
            and (bucket.is_expired() or bucket.is_inactive())
        ]
        for key in idle:
            del self._buckets[key]

    async def request(self, route: Route, **kwargs: Any) -> Any:
        if self.api_base is not None:
            current = Route.BASE
            if route.url.startswith(current) and current != self.api_base:
                route.url = self.api_base + route.url[len(current) :]
        return await super().request(route, **kwargs)


_active: list[tuple[str | None, str | None]] = []


@contextmanager
def redirect_process(api_base: str | None, gateway_url: str | None = None) -> Iterator[None]:
    """Point all of discord.py (REST, interaction webhooks, gateway) elsewhere, then restore.

    Process-wide because discord.py keeps these as class attributes; nesting with the same
    values is allowed, a conflicting redirect raises instead of silently mixing servers.
    """
    wanted = (normalize_base(api_base) if api_base else None, gateway_url)
    if wanted[0] and any(base not in (None, wanted[0]) for base, _ in _active):
        raise RuntimeError("discord.py is already redirected to another API base in this process")
    saved_base, saved_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if wanted[0]:
        Route.BASE = wanted[0]
    if wanted[1]:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(wanted[1])
    _active.append(wanted)
    try:
        yield
    finally:
        _active.pop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved_base, saved_gateway
