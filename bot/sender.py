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

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Message
from bot.models import ChannelRef


@dataclass(frozen=True)
class Delivery:
    """One post to one channel, as stored in the outbox."""

    outbox_id: int
    notification_key: str
    channel: ChannelRef
    message: Message
    # Stable across retries and restarts: Discord's message nonce (<= 25 chars), Slack's
    # message metadata. The same delivery always carries the same idempotency key.
    idempotency_key: str


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


class SenderUnavailableError(TransientSendError):
    """The platform rejects the bot's credentials: every channel would fail alike."""

    def __init__(self, reason: str, *, retry_after: float = 900.0) -> None:
        super().__init__(reason, retry_after=retry_after)


class Sender(Protocol):
    platform: str
    # How many sends the engine may have in flight at once on this platform.
    max_concurrency: int

    async def send(self, delivery: Delivery) -> SendReceipt:
        """Post the message. Must be safe to call again with the same delivery after a crash."""
        ...

    async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
        """After a crash mid-send: the receipt if the platform already shows this delivery.

        Called only for rows left in the `sending` state. Return None when the platform cannot
        tell or has no such post; the engine then calls `send` again, which the idempotency key
        keeps from producing a visible duplicate where the platform supports it.
        """
        ...


class RequestBudget(Protocol):
    """A platform's shared request allowance (jobs/limiter.RateLimiter is one).

    The platform counts every request of the bot against one limit (Discord: 50 per second),
    not only the engine's posts: an adapter makes its other requests (look-ups, scheduled
    events, `users/@me`) `acquire()` from the same budget, and reports each response's
    status so that 429s and other invalid requests slow the whole platform down.
    """

    async def acquire(self) -> None: ...

    def observe(self, status: int, retry_after: float | None = None) -> None: ...
