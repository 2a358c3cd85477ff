"""The schedule sources' HTTP client (aiohttp), outside the core.

Why a package of its own: the core (bot/) must not import aiohttp, and this client is an
outside-facing adapter like adapters/ (not scheduling, so not jobs/). The core sees it only
through `bot.sources.base.HttpClient`. Why aiohttp rather than urllib in a thread: the bot
already runs one asyncio loop with aiohttp for Discord and Slack, and the politeness rules
(waiting for the rate limit, Retry-After, backoff) are plain awaits there, cancelled cleanly
on shutdown instead of blocking a worker thread.
"""

from sources_http.client import AiohttpClient, source_limiter

__all__ = ["AiohttpClient", "source_limiter"]
