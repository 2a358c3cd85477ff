"""discord.py's rate-limit buckets stay few and cheap however many channels a drop reaches."""

from __future__ import annotations

import asyncio

from adapters.discord.endpoints import RedirectingHTTPClient


async def test_idle_buckets_are_swept_at_most_once_per_interval():
    http = RedirectingHTTPClient(asyncio.get_running_loop(), api_base="http://127.0.0.1:9/api")
    try:
        now = http.loop.time()  # the buckets keep loop time
        for n in range(300):  # a drop's channels, each window over, nothing in flight
            http.get_ratelimit(f"channel:{n}").expires = now - 1
        busy = http.get_ratelimit("channel:busy")
        busy.outgoing = 1  # a request in flight keeps its bucket
        # The 256th new bucket swept the idle ones (and ran discord.py's scan only then).
        assert len(http._buckets) < 300 and "channel:busy" in http._buckets
        swept = len(http._buckets)
        for n in range(300, 600):  # within the interval: no second scan, no sweep
            http.get_ratelimit(f"channel:{n}").expires = now - 1
        assert len(http._buckets) == swept + 300
        http._last_bucket_sweep -= 60  # the interval passed
        http.get_ratelimit("channel:new")
        assert set(http._buckets) == {"channel:busy", "channel:new"}
    finally:
        await http.close()
