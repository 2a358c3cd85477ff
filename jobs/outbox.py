"""Turning the plan into outbox rows: the transactional-outbox half of delivery.

The plan is materialized up to a watermark ("everything due up to T is in the outbox"),
so a pass only looks at (watermark, now]. What fell due while the bot was down is sent if
it is within the grace window and recorded as skipped otherwise; a reminder whose drop has
already happened is skipped. Insert-or-ignore on (subscription, key) makes passes
idempotent, including two processes running one at the same time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.agenda import posts_between
from bot.messages import Message, message_to_json
from bot.store import NewNotification, Store, from_db_time

WATERMARK_KEY = "plan_watermark"
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class MaterializeResult:
    pending: int
    skipped: int


def materialize(store: Store, now: datetime, grace: timedelta) -> MaterializeResult:
    """Add to the outbox every notification due in (watermark, now]."""
    stored = store.get_meta(WATERMARK_KEY)
    # First run: nothing to catch up on but what the grace window would still send.
    since = from_db_time(stored) if stored else now - grace
    if now <= since:
        return MaterializeResult(0, 0)
    if stored and store.events_between(since - _SECOND, since):
        # Events are stamped in whole seconds: one made in the same second as the last pass,
        # but after it, is stamped `since` and would fall outside (since, now]. Re-plan that
        # second; insert-or-ignore keeps what was planned already single.
        since -= _SECOND
    rows: list[NewNotification] = []
    skipped = 0
    late = now - grace
    encoded: dict[int, str] = {}  # the plan shares Message objects: encode each once
    # The hot path of a big drop (one row per channel): keep the loop lean.
    for post in posts_between(store, since, now):
        state, reason = "pending", None
        if post.drop_at is not None and post.due_at < post.drop_at <= now:
            state, reason = "skipped", "the drop has already happened"
        elif post.due_at < late:
            state, reason = "skipped", f"fell due at {post.due_at:%Y-%m-%d %H:%M} UTC, past grace"
        if reason is not None:
            skipped += 1
        message_json = encoded.get(id(post.message))
        if message_json is None:
            message_json = encoded[id(post.message)] = _encode(post.message)
        rows.append(
            NewNotification(
                subscription_id=post.subscription.id,
                notification_key=post.notification_key,
                platform=post.subscription.channel.platform,
                due_at=post.due_at,
                state=state,
                message_json=message_json,
                season_id=post.season_id,
                episode_id=post.episode_id,
                last_error=reason,
            )
        )
    store.insert_notifications(rows, now, watermark=(WATERMARK_KEY, now))
    return MaterializeResult(len(rows) - skipped, skipped)


def _encode(message: Message) -> str:
    return json.dumps(message_to_json(message), separators=(",", ":"))
