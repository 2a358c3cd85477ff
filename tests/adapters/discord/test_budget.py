"""Every Discord request of the bot draws from one budget, counted as Discord counts them:
real discord.py against the fake server, the engine's limiter as the budget."""

from __future__ import annotations

import asyncio

from discord.http import HTTPClient, Ratelimit, Route

from adapters.discord.budget import budget_trace
from adapters.discord.endpoints import RedirectingHTTPClient
from adapters.discord.sender import DiscordSender
from bot.ratelimit import RateLimiter
from fakes.discord_api import FakeDiscord
from tests.adapters.discord.conftest import TOKEN
from tests.adapters.discord.test_sender import CHANNEL, delivery


def budget() -> RateLimiter:
    return RateLimiter(1000.0, burst=1000, cluster_threshold=3)


async def test_requests_other_than_posts_draw_from_the_budget(api: FakeDiscord) -> None:
    limiter = budget()
    async with DiscordSender(TOKEN, api_base=api.base_url, budget=limiter) as sender:
        assert limiter.requests == 1  # the log-in's GET /users/@me
        await sender.send(delivery())
        # The post was paid for by the engine's dispatcher before `send`: not twice.
        assert limiter.requests == 1
    assert api.message_count(CHANNEL) == 1


async def test_interaction_callbacks_are_not_counted(api: FakeDiscord) -> None:
    """Discord exempts token routes (interaction responses, webhooks) from the global limit."""
    limiter = budget()
    http = RedirectingHTTPClient(None, api_base=api.base_url, http_trace=budget_trace(limiter))
    await http.static_login(TOKEN)
    try:
        route = Route("POST", "/interactions/{id}/{token}/callback", id=1, token="tok")
        await http.request(route, json={"type": 1})
        assert limiter.requests == 1  # the log-in only
    finally:
        await http.close()


async def test_a_global_429_backs_the_whole_platform_off(api: FakeDiscord) -> None:
    limiter = budget()
    async with DiscordSender(TOKEN, api_base=api.base_url, budget=limiter) as sender:
        api.rate_limit_next(1, retry_after=0.05, is_global=True)
        await sender.send(delivery())  # discord.py waits it out and retries by itself...
        # ...but the limiter saw it: everything on the platform waits the retry-after.
        assert limiter.rate_limited == 1 and limiter.blocked_until > 0
    assert api.message_count(CHANNEL) == 1


async def test_per_route_429s_count_but_do_not_stop_the_platform(api: FakeDiscord) -> None:
    limiter = budget()
    async with DiscordSender(TOKEN, api_base=api.base_url, budget=limiter) as sender:
        api.rate_limit_next(1, retry_after=0.05)
        await sender.send(delivery())
        assert limiter.rate_limited == 1 and limiter.blocked_until == 0


async def test_a_fan_out_does_not_sweep_the_bucket_table_per_channel(monkeypatch) -> None:
    """Each channel is a route bucket in discord.py; its sweep of idle buckets runs over the
    whole table whenever a bucket is added. Ours sweeps at most every few seconds."""
    checks = 0
    original = Ratelimit.is_inactive

    def counted_check(self: Ratelimit) -> bool:
        nonlocal checks
        checks += 1
        return original(self)

    monkeypatch.setattr(Ratelimit, "is_inactive", counted_check)
    loop = asyncio.get_running_loop()
    http = RedirectingHTTPClient(loop)
    for channel in range(5000):
        http.get_ratelimit(f"POST /channels/{{channel_id}}/messages:{channel}")
    assert checks < 3 * 5000  # discord.py alone: about 12 million
    stock = HTTPClient(loop)
    checks = 0
    for channel in range(1000):
        stock.get_ratelimit(f"POST /channels/{{channel_id}}/messages:{channel}")
    assert checks > 100_000  # what the sweep costs unamortised, even at 1,000 channels
