"""The narrow interface between the delivery engine (jobs/) and the platforms (adapters/).

The engine never imports a platform library: it hands a `Delivery` to the `Sender`
registered for the channel's platform and interprets the outcome:

* return a `SendReceipt`       -> the post is visible; the row is marked sent.
* raise `TransientSendError`   -> try again later (429, 5xx, timeout, connection reset);
                                  `retry_after` (seconds) is honoured when the platform gave one.
* raise `PermanentSendError`   -> retrying cannot help (channel deleted, bot removed, no
                                  permission); the row is marked failed and, unless
                                  `pause=False` (a payload the platform refuses), the
                                  subscription paused until an admin fixes it.
* raise `SenderUnavailableError` -> the platform refuses the bot itself (token reset or
                                  revoked): nothing is the channel's fault, so no subscription
                                  is paused; the row waits `retry_after` and the operator is
                                  told in the log and `status`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.keys import KeyKind, NotificationKey
from bot.messages import Message
from bot.models import ChannelRef

log = logging.getLogger(__name__)


def _always() -> bool:
    return True


# Set by the delivery engine for each send: may this process still post? The engine checks its
# lease just before calling `send`; a sender calls this again at the last moment before its
# request leaves (the Discord sender: as the bytes are written to the socket), so a runner that
# was paused in between (SIGSTOP, a VM migration) and may have been taken over posts nothing.
may_still_send: ContextVar[Callable[[], bool]] = ContextVar("may_still_send", default=_always)


@dataclass(frozen=True)
class Delivery:
    """One post to one channel, as stored in the outbox, with what a sender needs to know."""

    outbox_id: int
    notification_key: NotificationKey
    channel: ChannelRef
    message: Message
    # Stable across retries and restarts: Discord's message nonce (<= 25 chars), Slack's
    # message metadata. The same delivery always carries the same idempotency key.
    idempotency_key: str
    # When it fell due: the engine never posts it earlier (a lower bound for finding it).
    due_at: datetime

    @property
    def kind(self) -> KeyKind | str:
        """release, before (a reminder), announced, trailer, moved."""
        return self.notification_key.kind


@dataclass(frozen=True)
class SendReceipt:
    platform_message_id: str


class SendError(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TransientSendError(SendError):
    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(reason)


class PermanentSendError(SendError):
    """`reason` is shown to the tenant's admins and the operator, e.g. "channel not found"."""

    def __init__(self, reason: str, *, pause: bool = True) -> None:
        self.pause = pause
        super().__init__(reason)


class CannotTellError(SendError):
    """`find_sent` read what it may read (one page of the channel's history) and neither found
    the post nor can rule it out: the channel was too busy since the row fell due. The engine
    then sends again (the idempotency key is the only defence left) and `status` counts it."""


class SenderUnavailableError(TransientSendError):
    """The platform rejects the bot's credentials: every channel would fail alike."""

    def __init__(self, reason: str, *, retry_after: float = 900.0) -> None:
        super().__init__(reason, retry_after=retry_after)


class Sender(Protocol):
    """A platform's way to post. The engine (or the CLI's `deliver`) calls `start` before
    the first send and `close` after the last; both must be safe to call when there is
    nothing to open or close."""

    platform: str
    # How many sends the engine may have in flight at once on this platform.
    max_concurrency: int

    async def start(self) -> None:
        """Open connections and check credentials; `SenderUnavailableError` for a token the
        platform rejects (a setting to mend)."""
        ...

    async def close(self) -> None: ...

    async def send(self, delivery: Delivery) -> SendReceipt:
        """Post the message. Must be safe to call again with the same delivery after a crash."""
        ...

    async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
        """After a crash mid-send: the receipt if the platform already shows this delivery.

        Called before a row whose outcome is unknown is sent again: a row left `sending` by a
        runner that is gone (a crash, a kill, a takeover), or a retry after an error that may
        have come after the platform accepted the post (a timeout). Return None when the
        platform has no such post, raise `CannotTellError` when the read could not cover the
        time since the row fell due, `TransientSendError` when it cannot be read right now.
        """
        ...


class RequestBudget(Protocol):
    """A platform's shared request allowance (bot/ratelimit.RateLimiter is one).

    The platform counts every request of the bot against one limit (Discord: 50 per second),
    not only the engine's posts: an adapter makes its other requests (look-ups, scheduled
    events, `users/@me`) `acquire()` from the same budget, and reports each response's
    status so that 429s and other invalid requests slow the whole platform down.
    """

    async def acquire(self) -> None: ...

    def observe(self, status: int, retry_after: float | None = None) -> None: ...


# ----------------------------------------------------------------------------- failures


class Failure(StrEnum):
    """What a platform's refusal means for the engine."""

    TRANSIENT = "transient"  # try again later (server error, a hiccup)
    RATE_LIMITED = "rate_limited"  # transient, after the platform's Retry-After
    CHANNEL = "channel"  # this channel will not take our posts: pause its subscription
    TOKEN = "token"  # the bot itself is refused: pause nothing, wait, tell the operator
    PAYLOAD = "payload"  # this post is refused, the channel is fine: fail it, pause nothing


@dataclass(frozen=True)
class ErrorTable:
    """One platform's error codes (Discord's JSON codes, Slack's `error` strings), each with
    what it means and the reason shown to admins and the operator, plus the HTTP statuses
    that mean the same whatever the code (Discord: 403 and 404 are the channel's)."""

    platform: str  # as users know it: "Discord"
    codes: Mapping[int | str, tuple[Failure, str]]
    token_reason: str  # for a plain 401: what to mend
    by_status: Mapping[int, tuple[Failure, str]] = field(default_factory=dict)


def classify_failure(
    table: ErrorTable,
    status: int,
    code: int | str | None,
    *,
    retry_after: float | None = None,
    where: str = "",
) -> SendError:
    """A refusal (HTTP status and the platform's error code) as the error the engine acts on.

    Order: 429 (rate limited, `retry_after`); 5xx (transient); a code the table knows; 401
    (the token); a status the table knows; anything else (a code the platform added since)
    fails this one post without pausing: pausing takes an admin to undo, for every post of
    the channel, on a guess, while a wrongly failed post costs less and the log says why.
    """
    name = table.platform
    failure: Failure | None = None
    reason = ""
    if status == 429:
        failure = Failure.RATE_LIMITED
    elif status >= 500:
        failure, reason = Failure.TRANSIENT, f"{name} server error (HTTP {status})"
    elif code is not None and code in table.codes:
        failure, reason = table.codes[code]
    elif status == 401:
        failure, reason = Failure.TOKEN, table.token_reason
    elif status in table.by_status:
        failure, words = table.by_status[status]
        reason = f"{words} ({name} error {code})"
    if failure is Failure.RATE_LIMITED:
        return TransientSendError(f"rate limited by {name}", retry_after=retry_after)
    if failure is Failure.TRANSIENT:
        log.warning("%s refused a post%s for now: %s", name, where, reason)
        return TransientSendError(reason)
    if failure is Failure.TOKEN:
        log.error("%s refuses the bot itself%s (%s): no post can succeed", name, where, code)
        return SenderUnavailableError(reason)
    if failure is Failure.CHANNEL:
        return PermanentSendError(reason, pause=True)
    log.error("%s refused a post%s: HTTP %s, error %s", name, where, status, code)
    return PermanentSendError(
        reason or f"{name} refused the post (HTTP {status}, error {code})", pause=False
    )
