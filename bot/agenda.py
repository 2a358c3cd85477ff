"""The plan read from the store: what falls due in a window of time.

`preview` shows it; the delivery pass (jobs/outbox.py) turns its due part into outbox rows.
"""

from __future__ import annotations

from datetime import datetime

from bot.plan import MAX_REMINDER, PlannedPost, SeasonChange, plan_posts
from bot.store import Store


def posts_between(store: Store, start: datetime, end: datetime) -> list[PlannedPost]:
    """Every post due in (start, end] for the current subscriptions, in due order."""
    # A reminder falls due before its drop: look that far ahead for the drops.
    releases = store.releases_between(start, end + MAX_REMINDER)
    changes = []
    for event in store.events_between(start, end):
        show, season, episodes = store.season_with_episodes(event.season_id)
        changes.append(
            SeasonChange(
                kind=event.kind,
                seq=event.seq,
                at=event.created_at,
                detail=event.detail,
                show=show,
                season=season,
                episodes=tuple(episodes),
            )
        )
    show_ids = {show.id for show, _, _ in releases} | {c.show.id for c in changes}
    subscriptions = store.subscriptions(show_ids=sorted(show_ids), active_only=True)
    return plan_posts(releases, changes, subscriptions, start, end)
