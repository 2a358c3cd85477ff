"""`DiscordSender`: the delivery engine's `Sender` for Discord, REST only (no gateway needed).

It posts with discord.py's own `HTTPClient`, so discord.py's per-route buckets (learned from
`X-RateLimit-*` headers), its global-limit lock and its 429 retries all apply; the delivery
engine's limiter sits on top of that and decides how many sends run at once
(`max_concurrency`). What reaches the engine is only the outcome: a receipt, a
`TransientSendError` (try later, with Discord's `retry_after` when known), a
`SenderUnavailableError` or a `PermanentSendError`:

* 401 (the token was reset or is wrong) -> `SenderUnavailableError`: the bot itself is
  refused, every channel alike, so no subscription is paused; the operator mends the token.
* 10003 Unknown Channel, 50001 Missing Access, 50013 Missing Permissions, any other 403/404
  on the channel -> `PermanentSendError(pause=True)`: this channel will not take our posts
  until an admin fixes it, so its subscription is paused.
* 400 and other 4xx (e.g. 50035 Invalid Form Body: a payload Discord refuses) ->
  `PermanentSendError(pause=False)`: this post fails, the channel is fine, nothing pauses.

Finding a post without the nonce. Discord keeps nonces for a few minutes only, so a row whose
outcome is unknown for longer (a kill during a long outage, a paused runner taken over) could
show twice on the nonce alone. Every post therefore carries its outbox key in the embed footer
(`ref eb123`), and `find_sent` reads the channel's messages since the row fell due
(`GET /channels/{id}/messages?after=<snowflake of the due time less a minute>&limit=100`, which
needs Read Message History) and adopts the bot's own post with that footer. One page of 100
is read: if the channel had 100 messages since the row fell due and none is ours,
`CannotTellError` says so, and the engine resends under the nonce and counts it (`status`).
Without Read Message History Discord answers an empty list: the check then finds nothing.

A follower's direct message goes to the DM channel Discord gives for that user
(`POST /users/@me/channels`), opened once and remembered in the store's platform objects, so
later posts (and restarts) reuse it. 50007 (the member has DMs closed, or shares no server
with the bot) and 50033 (no such user) pause that follow only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from datetime import timedelta
from typing import Any

import aiohttp
import discord
from discord.http import Route
from pydantic import SecretStr

from adapters.discord.budget import budget_trace, prepaid
from adapters.discord.endpoints import RedirectingHTTPClient
from adapters.discord.render import post_marker, render_message
from adapters.dm_channels import DmChannels
from adapters.guarded_http import guarded_connector, withheld
from bot.clock import Clock, SystemClock
from bot.models import UserRef
from bot.sender import (
    CannotTellError,
    Delivery,
    ErrorTable,
    Failure,
    PermanentSendError,
    RequestBudget,
    SenderUnavailableError,
    SendReceipt,
    TransientSendError,
    classify_failure,
    may_still_send,
)
from bot.store import Store

log = logging.getLogger(__name__)

NONCE_LIMIT = 25  # Discord accepts a nonce of at most 25 characters
HISTORY_LIMIT = 100  # Discord's largest page of channel messages
HISTORY_MARGIN = timedelta(minutes=1)  # clock skew between us and Discord

# The store keeps each follower's DM channel id under this platform name (apart from the
# scheduled events, which are kept per guild under "discord").
DM_CHANNELS = "discord-dm"
_BAD_TOKEN = (
    "Discord rejected the bot token (401 Unauthorized); set a valid DISCORD_TOKEN "
    "(Developer Portal > your app > Bot > Reset Token)"
)
# What Discord's answers mean, for the one classifier (bot/sender.py) both senders use:
# JSON error codes that mean "this channel will not take posts from us", and any other
# 403/404 on the channel likewise; other 4xx are a payload Discord refuses.
DISCORD_ERRORS = ErrorTable(
    platform="Discord",
    codes={
        10003: (Failure.CHANNEL, "channel not found (Discord: Unknown Channel)"),
        50001: (Failure.CHANNEL, "the bot cannot see the channel (Discord: Missing Access)"),
        50013: (
            Failure.CHANNEL,
            "the bot lacks permission to post there: it needs View Channel, Send Messages and "
            "Embed Links (Discord: Missing Permissions)",
        ),
        50007: (
            Failure.CHANNEL,
            "the member does not accept direct messages from the bot (Discord: Cannot send "
            "messages to this user)",
        ),
        50033: (Failure.CHANNEL, "no such Discord user (Discord: Invalid Recipient)"),
    },
    token_reason=_BAD_TOKEN,
    by_status={404: (Failure.CHANNEL, "not found"), 403: (Failure.CHANNEL, "forbidden")},
)


def nonce_for(idempotency_key: str) -> str:
    """The message nonce for a delivery: the key itself, or a stable digest if it is too long.

    The same delivery always maps to the same nonce, which is what makes a resend safe.
    """
    if len(idempotency_key) <= NONCE_LIMIT:
        return idempotency_key
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return base64.b32encode(digest).decode().lower()[:NONCE_LIMIT]


class DiscordSender:
    """Posts release messages to Discord channels.

    `token` is the bot token; `api_base` redirects this sender's requests (a proxy, a test
    server) without touching the rest of the process. `max_ratelimit_timeout`: a rate limit
    longer than this (seconds, at least 30: discord.py's floor) is handed back to the engine
    as a `TransientSendError` with its `retry_after` instead of holding a send slot.
    `budget`: the platform's request budget (adapters/discord/budget.py); the engine pays for
    each post before calling `send`, every other request of this sender acquires it.
    """

    platform = "discord"

    def __init__(
        self,
        token: str | SecretStr,
        *,
        api_base: str | None = None,
        max_concurrency: int = 25,
        max_ratelimit_timeout: float = 30.0,
        timeout: float = 60.0,
        store: Store | None = None,
        clock: Clock | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self.budget = budget
        self.api_base = api_base
        self.max_concurrency = max_concurrency
        self.max_ratelimit_timeout = max_ratelimit_timeout
        self.timeout = timeout
        self.history_limit = HISTORY_LIMIT
        self._http: RedirectingHTTPClient | None = None
        self._bot_user_id: str | None = None
        self._login_lock = asyncio.Lock()
        # Followers' DM channels (user id -> channel id): in memory, and in `store` (if given)
        # so that a restart does not open them again.
        self.dm_channels = DmChannels(DM_CHANNELS, store, clock or SystemClock())

    def __repr__(self) -> str:  # never shows the token
        return f"DiscordSender(api_base={self.api_base!r}, max_concurrency={self.max_concurrency})"

    async def start(self) -> None:
        """Open the HTTP session and check the token (`GET /users/@me`).

        Raises `SenderUnavailableError` (a `bot.sender.SendError`, which the CLI reports as
        a setting to mend) for a token Discord rejects: no post can succeed with it, but no
        channel is to blame either. `send` logs in lazily through here too, so a 401 there must
        not look like a channel's fault (`PermanentSendError` would pause the subscription).
        """
        async with self._login_lock:
            if self._http is not None:
                return
            http = RedirectingHTTPClient(
                asyncio.get_running_loop(),
                connector=guarded_connector(lambda: may_still_send.get()()),
                api_base=self.api_base,
                max_ratelimit_timeout=self.max_ratelimit_timeout,
                http_trace=budget_trace(self.budget) if self.budget is not None else None,
            )
            try:
                me = await http.static_login(self._token.get_secret_value())
            except discord.LoginFailure:
                await http.close()
                raise SenderUnavailableError(_BAD_TOKEN) from None
            except BaseException:
                await http.close()
                raise
            self._http = http
            self._bot_user_id = str(me["id"])

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> DiscordSender:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, delivery: Delivery) -> SendReceipt:
        """Post the message with `nonce` + `enforce_nonce`: a resend returns the first message.

        Safe to call again for the same delivery: Discord answers a repeated nonce (from the
        same bot, within a few minutes) with the message it already created; after that,
        `find_sent` finds the post by the outbox key in its footer.
        """
        direct = delivery.channel.is_direct
        payload = render_message(delivery.message, direct=direct, ref=delivery.idempotency_key)
        payload["nonce"] = nonce_for(delivery.idempotency_key)
        payload["enforce_nonce"] = True
        if self._http is None:
            await self.start()
        assert self._http is not None
        channel_id = await self._dm_channel(delivery) if direct else _channel_id(delivery)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        with prepaid():  # the engine's dispatcher acquired the budget for this post
            data = await self._request(route, payload, delivery)
        return SendReceipt(platform_message_id=str(data["id"]))

    async def _request(self, route: Route, payload: dict[str, Any], delivery: Delivery) -> Any:
        assert self._http is not None
        try:
            # asyncio.timeout, not wait_for: no extra task, so the request is written in the
            # same loop step as the engine's last lease check when a connection is free.
            async with asyncio.timeout(self.timeout):
                return await self._http.request(route, json=payload)
        except Exception as exc:
            mapped = _classify(exc, delivery)
            if mapped is None:
                raise
            raise mapped from exc

    async def _dm_channel(self, delivery: Delivery) -> int:
        """The follower's DM channel: remembered, or opened once (`POST /users/@me/channels`,
        which returns the existing DM channel if there is one)."""
        user = UserRef.of_inbox(delivery.channel).user
        if not user.isdigit():
            raise PermanentSendError(f"{delivery.channel} is not a Discord user")

        async def open_channel() -> str:
            route = Route("POST", "/users/@me/channels")
            data = await self._request(route, {"recipient_id": user}, delivery)
            return str(data["id"])

        return int(await self.dm_channels.channel("", user, open_channel))

    async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
        """The bot's earlier post of this delivery, found by the outbox key in its footer
        among the channel's first 100 messages since the row fell due (module docstring)."""
        if self._http is None:
            await self.start()
        assert self._http is not None
        direct = delivery.channel.is_direct
        channel_id = await self._dm_channel(delivery) if direct else _channel_id(delivery)
        after = discord.utils.time_snowflake(delivery.due_at - HISTORY_MARGIN, high=False)
        try:
            async with asyncio.timeout(self.timeout):
                messages = await self._http.logs_from(channel_id, self.history_limit, after=after)
        except Exception as exc:
            mapped = _classify(exc, delivery)
            if mapped is None:
                raise
            raise mapped from exc
        marker = post_marker(delivery.idempotency_key)
        for message in messages:
            if str(message.get("author", {}).get("id")) != self._bot_user_id:
                continue
            if any((e.get("footer") or {}).get("text") == marker for e in message["embeds"]):
                return SendReceipt(platform_message_id=str(message["id"]))
        if len(messages) >= self.history_limit:
            raise CannotTellError(
                f"{len(messages)} messages in {delivery.channel} since "
                f"{delivery.due_at.isoformat()} and none is "
                f"the post of {delivery.notification_key}; it may be further on"
            )
        return None


def _channel_id(delivery: Delivery) -> int:
    channel = delivery.channel
    if channel.platform != "discord" or not channel.channel.isdigit():
        raise PermanentSendError(f"{channel} is not a Discord channel")
    return int(channel.channel)


def _retry_after(exc: discord.HTTPException) -> float | None:
    """Discord's wait after a 429 that outlasted discord.py's retries, from the headers."""
    response: Any = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        try:
            return float(headers[name])
        except (KeyError, ValueError):
            continue
    return None


def _classify(exc: Exception, delivery: Delivery) -> Exception | None:
    """Map what discord.py raised to what the engine understands."""
    if isinstance(exc, discord.RateLimited):
        return TransientSendError("rate limited by Discord", retry_after=exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        where = f" to {delivery.channel} ({delivery.notification_key})"
        return classify_failure(
            DISCORD_ERRORS, exc.status, exc.code, retry_after=_retry_after(exc), where=where
        )
    if withheld(exc):
        return TransientSendError("not sent: this runner's delivery lease is no longer fresh")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TransientSendError("timed out talking to Discord")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return TransientSendError(f"network error talking to Discord: {type(exc).__name__}")
    return None  # a bug of ours: let it propagate as is
