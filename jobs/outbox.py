"""Turning the plan into outbox rows: the transactional-outbox half of delivery.

The plan is materialized up to a watermark ("everything due up to T is in the outbox"),
so a pass only looks at (watermark, now]. It is written per audience (a show's
subscriptions with the same settings): one set-based insert per audience and page of
subscriptions, so planning a drop costs per distinct setting, not per channel. What fell
due while the bot was down is sent if it is within the grace window and recorded as skipped
otherwise; a reminder whose drop has already happened is skipped. Insert-or-ignore on
(subscription, key) makes passes idempotent, including two processes running one at the
same time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import chain

from bot.agenda import BroadcastPage, broadcast_pages, digest_posts, plan_window
from bot.messages import Message, message_to_json
from bot.plan import Broadcast, PlannedPost
from bot.store import NewBroadcast, NewNotification, Store, from_db_time, to_db_time
from jobs.fairness import RankAssigner, weight_of

WATERMARK_KEY = "plan_watermark"
EVENT_WATERMARK_KEY = "plan_event_id"
# Events after which drops already behind the watermark may have moved into it.
RESCHEDULING_EVENTS = frozenset({"moved", "rescheduled"})


@dataclass(frozen=True)
class MaterializeResult:
    pending: int
    skipped: int


def materialize(
    store: Store,
    now: datetime,
    grace: timedelta,
    *,
    on_page: Callable[[], None] | None = None,
    whole_grace_window: bool = False,
) -> MaterializeResult:
    """Add to the outbox every notification due in (watermark, now], and every season
    event (announced, trailer, moved) recorded since the last one planned.

    `whole_grace_window` plans (now - grace, now] whatever the watermark says: `deliver
    --now T` with a T behind the watermark (a database `run` has planned up to today) still
    delivers what fell due shortly before T. Insert-or-ignore keeps each post single, and
    the watermark never moves back.
    """
    late = now - grace
    store.skip_overdue(late, now)
    stored = store.get_meta(WATERMARK_KEY)
    # First run: nothing to catch up on but what the grace window would still send.
    watermark = from_db_time(stored) if stored else now - grace
    since = min(watermark, late) if whole_grace_window else watermark
    stored_event_id = store.get_meta(EVENT_WATERMARK_KEY)
    last_event_id = (
        int(stored_event_id) if stored_event_id else store.last_event_id(until=now - grace)
    )
    events = store.events_after(last_event_id, until=now)
    if now <= since and not events:
        return MaterializeResult(0, 0)
    watermarks = {
        WATERMARK_KEY: to_db_time(max(now, watermark)),
        # Zero-padded so that the text sorts like the number (watermarks only move forward).
        EVENT_WATERMARK_KEY: f"{events[-1].id if events else last_event_id:020d}",
    }
    window = plan_window(store, since, max(now, since), events=events)
    pages: Iterable[BroadcastPage] = broadcast_pages(store, window, since, max(now, since))
    moved = {e.season_id for e in events if e.kind in RESCHEDULING_EVENTS}
    if moved and since > late:
        # A season that moved may now have a drop in the part of the window planned before
        # the move (a premiere set to an hour ago): plan those releases too. Not reminders
        # whose time has passed, and not for channels that subscribed after the drop (they
        # may have had it under an earlier subscription); what was sent keeps its key.
        replan = plan_window(store, late, since, events=[], season_ids=moved)
        pages = chain(pages, map(_fresh_releases, broadcast_pages(store, replan, late, since)))
    make = _RowMaker(store, now, late)
    skipped = pending = 0
    for page in pages:
        rows = [make.broadcast(broadcast, members) for broadcast, members in page.broadcasts]
        if not rows:  # a re-planned page without a release
            continue
        # Each page is committed on its own so the engine can send it at once; a crash
        # mid-way re-plans the same window next time, and insert-or-ignore keeps it single.
        # Counted as inserted, so a re-planned post that was sent is not reported skipped.
        counts = store.insert_broadcasts(rows, page=page.page, now=now)
        for row, inserted in zip(rows, counts, strict=True):
            if row.state == "pending":
                pending += inserted
            else:
                skipped += inserted
        if on_page is not None:
            on_page()
    # Weekly digests: a few posts, one per channel, each riding on one subscription.
    digests = digest_posts(store, since, max(now, since), store.digests())
    if digests:
        rows = [make.digest(post) for post in digests]
        skipped += store.insert_notifications([r for r in rows if r.state != "pending"], now)
        pending += store.insert_notifications([r for r in rows if r.state == "pending"], now)
    # Only when every page is in: "planned up to now".
    store.insert_notifications([], now, watermarks=watermarks)
    return MaterializeResult(pending, skipped)


class _RowMaker:
    """Outbox rows from the plan: each tagged for its platform's fair queue, its message
    encoded once however many pages share it.

    A group (a season at an instant) starts where the platform's queue is now, so drops
    planned together take turns (jobs/fairness.py). Priorities are queues of their own
    (claimed in priority order, tags compared within).
    """

    def __init__(self, store: Store, now: datetime, late: datetime) -> None:
        self.store, self.now, self.late = store, now, late
        self._assigners: dict[tuple[str, int], RankAssigner] = {}
        # Keyed by id() for speed; the value keeps the message alive so its id is not reused.
        self._encoded: dict[int, tuple[Message, str]] = {}

    def broadcast(self, broadcast: Broadcast, members: int) -> NewBroadcast:
        audience = broadcast.audience
        priority = DIRECT_MESSAGE_PRIORITY if audience.direct else CHANNEL_PRIORITY
        weight = weight_of(broadcast.notification_key)
        state, reason = _state_of(broadcast.due_at, broadcast.drop_at, self.now, self.late)
        return NewBroadcast(
            audience,
            broadcast.notification_key,
            broadcast.due_at,
            state,
            self._encode(broadcast.message),
            broadcast.season_id,
            broadcast.episode_id,
            reason,
            priority,
            self._assigner(audience.platform, priority).rank(
                (broadcast.season_id, broadcast.due_at), weight, members
            ),
            1.0 / weight,
            broadcast.subscribed_by,
        )

    def digest(self, post: PlannedPost) -> NewNotification:
        channel = post.subscription.channel
        priority = DIRECT_MESSAGE_PRIORITY if channel.is_direct else CHANNEL_PRIORITY
        state, reason = _state_of(post.due_at, post.drop_at, self.now, self.late)
        return NewNotification(
            post.subscription.id,
            post.notification_key,
            channel.platform,
            post.due_at,
            state,
            self._encode(post.message),
            post.season_id,
            post.episode_id,
            reason,
            priority,
            self._assigner(channel.platform, priority).rank(
                (post.season_id, post.due_at), weight_of(post.notification_key)
            ),
        )

    def _assigner(self, platform: str, priority: int) -> RankAssigner:
        assigner = self._assigners.get((platform, priority))
        if assigner is None:
            head = self.store.queue_head_rank(platform, priority, self.now)
            assigner = self._assigners[platform, priority] = RankAssigner(head)
        return assigner

    def _encode(self, message: Message) -> str:
        cached = self._encoded.get(id(message))
        if cached is None:
            cached = self._encoded[id(message)] = (message, _encode(message))
        return cached[1]


def _state_of(
    due_at: datetime, drop_at: datetime | None, now: datetime, late: datetime
) -> tuple[str, str | None]:
    """A planned post's first state, with the reason when it is not to be sent."""
    if drop_at is not None and due_at < drop_at <= now:
        return "skipped", "the drop has already happened"
    if due_at < late:
        return "skipped", f"fell due at {due_at:%Y-%m-%d %H:%M} UTC, past grace"
    return "pending", None


# Among rows due at the same instant the engine claims lower numbers first: a drop reaches its
# channels before its followers' DMs. Within a priority, the fair queue's rank orders rows.
CHANNEL_PRIORITY = 0
DIRECT_MESSAGE_PRIORITY = 1


def _fresh_releases(page: BroadcastPage) -> BroadcastPage:
    """Only the page's releases, only for members who had subscribed by the release."""
    return BroadcastPage(
        page.page,
        [
            (replace(broadcast, subscribed_by=broadcast.due_at), members)
            for broadcast, members in page.broadcasts
            if broadcast.notification_key.is_release
        ],
    )


def _encode(message: Message) -> str:
    return json.dumps(message_to_json(message), separators=(",", ":"))
