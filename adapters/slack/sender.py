"""`SlackSender`: the delivery engine's `Sender` for Slack (chat.postMessage via slack_sdk).

What makes a resend after a crash safe on Slack
-----------------------------------------------
Slack has no message nonce: posting the same thing twice shows it twice. So every post
carries Slack message metadata naming the outbox row::

    metadata = {"event_type": "episode_bot_post", "event_payload": {"key": <idempotency_key>}}

If the process dies after Slack accepted a post but before the engine recorded it, the row
stays in `sending`. On restart the engine calls `find_sent(delivery)`, which reads the
channel's history since the row fell due (`conversations.history`, `include_all_metadata=true`,
`oldest` = the due time less a minute, at most `history_limit` messages) and returns the
existing post's `ts` when a message with that key is there; only when none is found does the
engine `send` again. This needs the `channels:history` (and `groups:history` for private
channels) scope; without it `find_sent` cannot tell and returns None, and a crash in that
narrow window can show one duplicate.

conversations.history limits (May 2025): for apps distributed outside the Slack Marketplace
(new installations since 29 May 2025, existing ones from 3 March 2026) Slack allows 1 call per
minute per workspace and at most 15 messages per call (`limit` defaults to and is capped at 15);
internal and Marketplace apps keep Tier 3 (50+ per minute). Hence one small call per stuck row:
`limit=15` (`HISTORY_LIMIT`) and `oldest` so that those 15 are the messages posted since the row
fell due (`Delivery.due_at`), not whatever the channel said last. If more than 15 messages
arrived since and none is ours, `find_sent` cannot tell: it raises `CannotTellError`, the
engine resends and `status` counts it (the same path as Discord's). A 429 (`Retry-After`
60 s) comes back as TransientSendError: the row waits, nothing is posted twice meanwhile.

Errors are mapped for the engine (see bot/sender.py):
* the bot itself refused (`invalid_auth`, `not_authed`, `token_revoked`, `token_expired`,
  `account_inactive`, `missing_scope`, ...) -> SenderUnavailableError: nothing is paused, the
  row waits and the operator is told;
* the channel refuses us (`channel_not_found`, `not_in_channel`, `is_archived`,
  `restricted_action*`, ...) -> PermanentSendError(pause=True): the subscription is paused;
* the payload is refused (`invalid_blocks`, `msg_too_long`, `invalid_arguments`, ...) and codes
  we do not know -> PermanentSendError(pause=False): this post fails, nothing is paused;
* HTTP 429 (after slack_sdk's rate-limit retry handler gave up or the wait is too long for a
  concurrency slot), 5xx, `ratelimited`/`internal_error`-style codes, connection errors and
  timeouts -> TransientSendError, with Slack's `Retry-After` as `retry_after`.

A follower's direct message goes to the IM channel `conversations.open` gives for that user
(opened once, remembered in memory and in the store's platform objects), so that `find_sent`
can read its history like any channel's. `cannot_dm_bot`, `user_not_found`,
`user_not_visible` and `user_disabled` pause that follow only.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.dm_channels import DmChannels
from adapters.guarded_http import guarded_connector, withheld
from adapters.slack.render import render_message
from bot.clock import Clock, SystemClock
from bot.models import UserRef
from bot.sender import (
    CannotTellError,
    Delivery,
    ErrorTable,
    Failure,
    PermanentSendError,
    RequestBudget,
    SendError,
    SendReceipt,
    TransientSendError,
    classify_failure,
    may_still_send,
)
from bot.store import Store

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "episode_bot_post"

# Slack's cap on conversations.history `limit` (and its default) for commercially distributed
# apps outside the Marketplace; internal and Marketplace apps may pass a larger history_limit.
HISTORY_LIMIT = 15
# `oldest` for find_sent: this long before the row fell due (clock skew between us and Slack).
HISTORY_MARGIN = timedelta(minutes=1)

# The bot itself is refused: every channel of the workspace would fail alike, so nothing is
# paused (SenderUnavailableError); the operator mends the token or reinstalls the app.
UNAVAILABLE_REASONS = {
    "invalid_auth": "the Slack bot token is invalid (set a valid SLACK_BOT_TOKEN)",
    "not_authed": "no Slack bot token was sent (set SLACK_BOT_TOKEN)",
    "token_revoked": "the Slack bot token was revoked (the app was removed? reinstall it)",
    "token_expired": "the Slack bot token expired (reinstall the app or refresh the token)",
    "account_inactive": "the Slack bot account is inactive (the app was removed? reinstall it)",
    "team_access_not_granted": "the app has no access to this workspace (reinstall it)",
    "missing_scope": "the Slack app lacks a permission scope (reinstall it from the manifest)",
    "no_permission": "the Slack app lacks a permission (reinstall it from the manifest)",
}
# This channel will not take our posts until someone fixes it: the subscription is paused.
CHANNEL_REASONS = {
    "channel_not_found": "channel not found (deleted, or the bot cannot see it)",
    "not_in_channel": "the bot is not in this channel (invite it with /invite @episode-bot)",
    "is_archived": "the channel is archived",
    "restricted_action": "posting is restricted in this channel",
    "restricted_action_read_only_channel": "the channel is read-only for the bot",
    "restricted_action_thread_only_channel": "the channel only takes replies in threads",
    "restricted_action_non_threadable_channel": "posting is restricted in this channel",
    "restricted_action_thread_locked": "posting is restricted in this channel",
    "ekm_access_denied": "the workspace's encryption keys refuse access to the channel",
    "messages_tab_disabled": "the person's Messages tab with the bot is disabled",
    # A follower's DMs (conversations.open): that follow is paused.
    "cannot_dm_bot": "the member is a bot, which cannot get direct messages",
    "user_not_found": "no such Slack user (left the workspace?)",
    "user_not_visible": "the bot cannot see this Slack user",
    "user_disabled": "the member's Slack account is deactivated",
}
# The store keeps each follower's IM channel id under this platform name.
DM_CHANNELS = "slack-dm"
# Slack refuses this payload; the channel is fine: the post fails, nothing is paused.
PAYLOAD_REASONS = {
    "invalid_blocks": "Slack refused the message layout (invalid_blocks)",
    "invalid_blocks_format": "Slack refused the message layout (invalid_blocks_format)",
    "msg_too_long": "the message is too long for Slack (msg_too_long)",
    "msg_blocks_too_long": "the message is too long for Slack (msg_blocks_too_long)",
    "no_text": "the message is empty (no_text)",
    "too_many_attachments": "the message has too many attachments",
    "invalid_arguments": "Slack refused the message (invalid_arguments)",
    "invalid_arg_name": "Slack refused the message (invalid_arg_name)",
    "invalid_metadata_format": "Slack refused the message metadata",
    "invalid_metadata_schema": "Slack refused the message metadata",
    "metadata_too_large": "Slack refused the message metadata (too large)",
    "metadata_must_be_sent_from_app": "Slack refused the message metadata",
}
TRANSIENT_CODES = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
)
RATE_LIMIT_CODES = frozenset({"ratelimited", "rate_limited"})

# What each `error` string means, for the one classifier (bot/sender.py) both senders use.
SLACK_ERRORS = ErrorTable(
    platform="Slack",
    codes={
        **{code: (Failure.RATE_LIMITED, "") for code in RATE_LIMIT_CODES},
        **{code: (Failure.TRANSIENT, f"Slack error: {code}") for code in TRANSIENT_CODES},
        **{code: (Failure.TOKEN, reason) for code, reason in UNAVAILABLE_REASONS.items()},
        **{code: (Failure.CHANNEL, reason) for code, reason in CHANNEL_REASONS.items()},
        **{code: (Failure.PAYLOAD, reason) for code, reason in PAYLOAD_REASONS.items()},
    },
    token_reason=UNAVAILABLE_REASONS["invalid_auth"],
)

Sleep = Callable[[float], Awaitable[Any]]


class BoundedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry handler, waiting exactly `Retry-After` (+ small jitter).

    Why bounded: a send holds one of the engine's concurrency slots while it sleeps. A short
    Retry-After is cheaper to wait out in place; a long one is handed back to the engine as a
    TransientSendError(retry_after) so the slot serves other channels meanwhile. `sleep` is
    injectable so tests can check the wait without waiting.
    """

    def __init__(
        self, *, max_retry_count: int = 2, max_wait: float = 5.0, sleep: Sleep = asyncio.sleep
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        return _retry_after(response.headers) <= self.max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # pragma: no cover - slack_sdk only calls us with a response
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        await self.sleep(_retry_after(response.headers) + random.random() * 0.05)
        state.increment_current_attempt()


def _retry_after(headers: Any) -> float:
    """Retry-After from slack_sdk's header mapping (values may be lists), default 1 s."""
    if not headers:
        return 1.0
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return 1.0
    return 1.0


class SlackSender:
    """Posts deliveries with chat.postMessage; finds earlier posts by their metadata key."""

    platform = "slack"

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        max_concurrency: int = 32,
        history_limit: int = HISTORY_LIMIT,
        timeout: int = 15,
        retry_handler: BoundedRateLimitRetryHandler | None = None,
        store: Store | None = None,
        clock: Clock | None = None,
        history_budget: RequestBudget | None = None,
    ) -> None:
        self.max_concurrency = max_concurrency
        # conversations.history has a tier of its own (Tier 3: 50+ a minute; 1 a minute for
        # commercially distributed apps outside the Marketplace): look-ups draw from it.
        self.history_budget = history_budget
        self.history_limit = history_limit
        self._token = token
        self._base_url = base_url
        self._timeout = timeout
        self.retry_handler = retry_handler or BoundedRateLimitRetryHandler()
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        # Followers' IM channels ((team, user) -> D… id), kept in `store` too if given.
        self.dm_channels = DmChannels(DM_CHANNELS, store, clock or SystemClock())

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> SlackSender:
        if settings.slack_bot_token is None:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        return cls(
            settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_base,
            **kwargs,
        )

    @property
    def client(self) -> AsyncWebClient:
        """One client over one shared aiohttp session (slack_sdk opens a session per call
        otherwise, which a fan-out to thousands of channels cannot afford)."""
        if self._client is None:
            # Asks the engine's lease once more as each request is written (guarded_http).
            connector = guarded_connector(
                lambda: may_still_send.get()(), limit=max(self.max_concurrency, 1)
            )
            self._session = aiohttp.ClientSession(connector=connector)
            kwargs: dict[str, Any] = {}
            if self._base_url:
                kwargs["base_url"] = self._base_url
            self._client = AsyncWebClient(
                token=self._token,
                session=self._session,
                timeout=self._timeout,
                retry_handlers=[self.retry_handler],
                **kwargs,
            )
        return self._client

    async def start(self) -> None:
        """Nothing to open ahead: the client and its session are made on first use."""

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._client = None

    async def send(self, delivery: Delivery) -> SendReceipt:
        channel = await self._target(delivery)
        payload = render_message(delivery.message, direct=delivery.channel.is_direct)
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                text=payload.text,
                blocks=payload.blocks,
                metadata={
                    "event_type": METADATA_EVENT_TYPE,
                    "event_payload": {"key": delivery.idempotency_key},
                },
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            raise _translate(error) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _network_error(error) from None
        return SendReceipt(platform_message_id=str(response["ts"]))

    async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
        """The earlier post of this delivery, found by its metadata key in one history call
        (see the module docstring for why one call of at most 15 messages since it was due)."""
        channel = await self._target(delivery)
        oldest = earliest_post(delivery)
        args: dict[str, Any] = {
            "channel": channel,
            "limit": self.history_limit,
            "include_all_metadata": True,
            "oldest": f"{oldest.timestamp():.6f}",
        }
        if self.history_budget is not None:
            await self.history_budget.acquire()
        try:
            response = await self.client.conversations_history(**args)
        except SlackApiError as error:
            if self.history_budget is not None:
                status = error.response.status_code
                self.history_budget.observe(status, _retry_after(error.response.headers))
            translated = _translate(error)
            if isinstance(translated, TransientSendError):
                raise translated from None
            log.warning("find_sent cannot read %s: %s", delivery.channel, translated.reason)
            return None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _network_error(error) from None
        for message in response.get("messages") or ():
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT_TYPE
                and payload.get("key") == delivery.idempotency_key
            ):
                return SendReceipt(platform_message_id=str(message["ts"]))
        if response.get("has_more"):
            raise CannotTellError(
                f"more than {self.history_limit} messages in {delivery.channel} since "
                f"{oldest.isoformat()} and none is the post of "
                f"{delivery.notification_key}; posting again may show it twice"
            )
        return None

    async def _target(self, delivery: Delivery) -> str:
        """The channel id to post to: the channel's, or the follower's IM channel with the app
        (remembered, or `conversations.open`ed once)."""
        if not delivery.channel.is_direct:
            return _channel_id(delivery)
        user = UserRef.of_inbox(delivery.channel)

        async def open_channel() -> str:
            try:
                response = await self.client.conversations_open(users=user.user)
            except SlackApiError as error:
                raise _translate(error) from None
            except (TimeoutError, aiohttp.ClientError) as error:
                raise _network_error(error) from None
            return str(response["channel"]["id"])

        return await self.dm_channels.channel(user.tenant, user.user, open_channel)


def _network_error(error: BaseException) -> TransientSendError:
    if withheld(error):
        return TransientSendError("not sent: this runner's delivery lease is no longer fresh")
    return TransientSendError(f"network error: {type(error).__name__}")


def earliest_post(delivery: Delivery) -> datetime:
    """A lower bound on when the engine could have posted `delivery`: it never posts a row
    before it falls due. Less `HISTORY_MARGIN` for clock skew between us and Slack."""
    return delivery.due_at - HISTORY_MARGIN


def _channel_id(delivery: Delivery) -> str:
    if delivery.channel.platform != "slack":
        raise PermanentSendError(f"not a Slack channel: {delivery.channel}")
    return delivery.channel.channel


def _translate(error: SlackApiError) -> SendError:
    response = error.response
    data = getattr(response, "data", None)
    return classify_failure(
        SLACK_ERRORS,
        getattr(response, "status_code", 0) or 0,
        data.get("error") if isinstance(data, dict) else None,
        retry_after=_retry_after(getattr(response, "headers", None)),
    )
