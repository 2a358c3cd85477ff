"""The records the store hands out and takes in, whatever the database behind it.

Instants cross the store boundary as aware `datetime`s; inside a database they are kept as
fixed-width UTC text (`to_db_time`), whose string order is time order in every SQL engine,
so the same comparisons work in SQLite and PostgreSQL. Meta values (watermarks) use the same
text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.keys import NotificationKey
from bot.models import Audience, ChannelRef

OUTBOX_STATES = ("pending", "sending", "sent", "failed", "skipped")

# The lease the delivering process holds; outbox changes are fenced by its generation.
DELIVERY_LEASE = "runner"


def to_db_time(instant: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order in every database."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: instants must be timezone-aware")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db_time(text: str) -> datetime:
    # fromisoformat reads "...Z" as UTC since 3.11 and is ~40x faster than strptime, which
    # matters when a drop loads 100,000 subscriptions.
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class SeasonEvent:
    """Something that happened to a season (announced, trailer, moved, rescheduled)."""

    id: int
    season_id: int
    kind: str
    seq: int
    created_at: datetime
    detail: dict[str, Any]


@dataclass(frozen=True)
class OutboxRow:
    id: int
    subscription_id: int
    notification_key: NotificationKey
    channel: ChannelRef
    due_at: datetime
    state: str
    attempts: int
    message: dict[str, Any]
    last_error: str | None = None
    platform_message_id: str | None = None
    priority: int = 0  # among rows due at once, lower is claimed first
    queue_rank: float = 0.0  # its tag in the platform's fair queue (jobs/fairness.py)
    mention: str | None = None  # its subscription's role to ping (`compose.addressed`)


@dataclass(slots=True)
class NewNotification:
    """An outbox row to insert; (subscription_id, notification_key) is the idempotency pair."""

    subscription_id: int
    notification_key: NotificationKey
    platform: str
    due_at: datetime
    state: str  # pending or skipped
    message_json: str
    season_id: int | None
    episode_id: int | None
    last_error: str | None = None
    priority: int = 0  # among rows due at once, lower is claimed first
    queue_rank: float = 0.0  # its tag in the platform's fair queue (jobs/fairness.py)


@dataclass(frozen=True, slots=True)
class NewBroadcast:
    """Outbox rows to insert, one per member of `audience` in a page of subscriptions (still
    active, and subscribed by `subscribed_by` when set), in subscription id order: the k-th
    gets the tag `queue_rank + k * rank_step`. Insert-or-ignore on (subscription, key), as
    for `NewNotification`."""

    audience: Audience
    notification_key: NotificationKey
    due_at: datetime
    state: str  # pending or skipped
    message_json: str
    season_id: int
    episode_id: int | None
    last_error: str | None
    priority: int
    queue_rank: float
    rank_step: float
    subscribed_by: datetime | None = None


@dataclass(frozen=True)
class AudiencePage:
    """A page of active subscriptions as audiences, each with its members' subscription ids
    in the page (in id order). Pages run in (show id, subscription id) order, `after` to
    `last`: the next page starts after `last`.

    The members are those of the moment the page was read: a channel that changes its
    settings before the page is written still gets the post as planned for it then."""

    after: tuple[int, int]
    last: tuple[int, int]
    audiences: dict[Audience, tuple[int, ...]]


@dataclass(frozen=True)
class PlatformObject:
    """Something the bot created on a platform and keeps in step with the schedule."""

    platform: str
    tenant: str
    object_key: str
    remote_id: str
    payload_hash: str
    expires_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class LeaseRecord:
    """A named lease: its generation (the fencing token), holder ('' when free), heartbeat."""

    name: str
    generation: int
    holder: str
    heartbeat: float
