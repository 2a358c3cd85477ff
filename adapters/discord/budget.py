"""Every Discord request of the bot draws from one budget, as Discord counts them.

Discord's global limit (50 requests/s unless raised) counts every authenticated request of
the bot, not only message posts: scheduled events, command sync, `users/@me`, message
look-ups. Interaction callbacks and webhook-token routes are exempt (they authenticate by
the token in the URL). discord.py takes an `aiohttp.TraceConfig` (`http_trace`) whose hooks
run for every request its session makes, retries of 429s included, so that is where:

* each counted request waits for the budget before it leaves (`on_request_start`), except a
  post the delivery engine already paid for (its dispatcher acquired the budget to choose
  which post goes next, then calls the sender inside `prepaid()`);
* each response's status is reported (`on_request_end`): a global 429 backs the whole
  platform off for its retry-after; a per-route 429 (one channel's bucket, which discord.py
  waits out) only counts towards the invalid-request tally and the 429 clustering.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import aiohttp

from bot.sender import RequestBudget

_PREPAID: contextvars.ContextVar[bool] = contextvars.ContextVar("discord_prepaid", default=False)
_EXEMPT_PATHS = ("/interactions/", "/webhooks/")


@contextlib.contextmanager
def prepaid() -> Iterator[None]:
    """Requests made inside (in this task) were already counted by the caller."""
    token = _PREPAID.set(True)
    try:
        yield
    finally:
        _PREPAID.reset(token)


def counted(url: Any) -> bool:
    """Whether Discord counts a request to `url` against the bot's global limit."""
    path = getattr(url, "path", None) or str(url)
    return not any(part in path for part in _EXEMPT_PATHS)


def budget_trace(budget: RequestBudget) -> aiohttp.TraceConfig:
    """The `http_trace` for discord.py that makes its requests draw from `budget`."""

    async def on_start(_session: aiohttp.ClientSession, _ctx: SimpleNamespace, params: Any) -> None:
        if counted(params.url) and not _PREPAID.get():
            await budget.acquire()

    async def on_end(_session: aiohttp.ClientSession, _ctx: SimpleNamespace, params: Any) -> None:
        if not counted(params.url):
            return
        response = params.response
        retry_after = None
        if response.status == 429 and response.headers.get("X-RateLimit-Global") == "true":
            retry_after = _seconds(response.headers.get("Retry-After"))
        budget.observe(response.status, retry_after)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    return trace


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
