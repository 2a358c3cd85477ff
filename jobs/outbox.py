"""Turning the plan into outbox rows: the transactional-outbox half of delivery.

The plan is materialized up to a watermark ("everything due up to T is in the outbox"),
so a pass only looks at (watermark, now]. What fell due while the bot was down is sent if
it is within the grace window and recorded as skipped otherwise; a reminder whose drop has
already happened is skipped. Insert-or-ignore on (subscription, key) makes passes
idempotent, including two processes running one at the same time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

from bot.agenda import post_pages
from bot.keys import NotificationKey
from bot.messages import Message, message_to_json
from bot.plan import PlannedPost
from bot.store import NewNotification, Store, from_db_time, to_db_time
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
    skipped = pending = 0
    # The plan shares Message objects between posts: encode each once. Keyed by id() for
    # speed, and the value keeps the message alive so that its id is never reused.
    encoded: dict[int, tuple[Message, str]] = {}
    pages: Iterable[list[PlannedPost]] = post_pages(store, since, max(now, since), events=events)
    moved = {e.season_id for e in events if e.kind in RESCHEDULING_EVENTS}
    if moved and since > late:
        # A season that moved may now have a drop in the part of the window planned before
        # the move (a premiere set to an hour ago): plan those releases too. Not reminders
        # whose time has passed, and not for channels that subscribed after the drop (they
        # may have had it under an earlier subscription); what was sent keeps its key.
        replanned = post_pages(store, late, since, events=[], season_ids=moved)
        pages = chain(pages, (_fresh_releases(page) for page in replanned))
    # Each platform's rows are tagged for its fair queue: a group (a season at an instant)
    # starts where the queue is now, so drops planned together take turns (jobs/fairness.py).
    # Priorities are queues of their own (claimed in priority order, tags compared within).
    assigners: dict[tuple[str, int], RankAssigner] = {}
    weights: dict[NotificationKey, float] = {}
    last_key: NotificationKey | None = None
    weight = 0.0
    for page in pages:
        rows: list[NewNotification] = []
        page_skipped: list[NewNotification] = []
        # The hot path of a big drop (one row per channel): keep the loop lean.
        for post in page:
            channel = post.subscription.channel
            platform = channel.platform
            priority = DIRECT_MESSAGE_PRIORITY if channel.is_direct else CHANNEL_PRIORITY
            assigner = assigners.get((platform, priority))
            if assigner is None:
                head = store.queue_head_rank(platform, priority, now)
                assigner = assigners[platform, priority] = RankAssigner(head)
            key = post.notification_key
            if key is not last_key:  # a drop's rows share one key object: hash it once
                weight = weights.get(key)
                if weight is None:
                    weight = weights[key] = weight_of(key)
                last_key = key
            due_at = post.due_at
            drop_at = post.drop_at
            if drop_at is not None and due_at < drop_at <= now:
                state, reason = "skipped", "the drop has already happened"
            elif due_at < late:
                state = "skipped"
                reason = f"fell due at {due_at:%Y-%m-%d %H:%M} UTC, past grace"
            else:
                state, reason = "pending", None
            cached = encoded.get(id(post.message))
            if cached is None:
                cached = encoded[id(post.message)] = (post.message, _encode(post.message))
            (page_skipped if reason is not None else rows).append(
                NewNotification(
                    post.subscription.id,
                    key,
                    platform,
                    due_at,
                    state,
                    cached[1],
                    post.season_id,
                    post.episode_id,
                    reason,
                    priority,
                    assigner.rank((post.season_id, due_at), weight),
                )
            )
        # Each page is committed on its own so the engine can send it at once; a crash
        # mid-way re-plans the same window next time, and insert-or-ignore keeps it single.
        # Counted as inserted, so a re-planned post that was sent is not reported skipped.
        if page_skipped:
            skipped += store.insert_notifications(page_skipped, now)
        pending += store.insert_notifications(rows, now)
        if on_page is not None:
            on_page()
    # Only when every page is in: "planned up to now".
    store.insert_notifications([], now, watermarks=watermarks)
    return MaterializeResult(pending, skipped)


# Among rows due at the same instant the engine claims lower numbers first: a drop reaches its
# channels before its followers' DMs. Within a priority, the fair queue's rank orders rows.
CHANNEL_PRIORITY = 0
DIRECT_MESSAGE_PRIORITY = 1


def _fresh_releases(page: list[PlannedPost]) -> list[PlannedPost]:
    return [
        post
        for post in page
        if post.notification_key.is_release
        and (post.subscription.created_at is None or post.subscription.created_at <= post.due_at)
    ]


def _encode(message: Message) -> str:
    return json.dumps(message_to_json(message), separators=(",", ":"))
