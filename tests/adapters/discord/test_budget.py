"""Every Discord request of the bot draws from one budget, counted as Discord counts them:
real discord.py against the fake server, the engine's limiter as the budget."""

from __future__ import annotations

from discord.http import Route

from adapters.discord.budget import budget_trace
from adapters.discord.endpoints import RedirectingHTTPClient
from adapters.discord.sender import DiscordSender
from fakes.discord_api import FakeDiscord
from jobs.limiter import RateLimiter
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
