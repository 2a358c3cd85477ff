"""The notifications plan: which post falls due for which subscription, and when.

Pure functions over catalog records, no I/O: the store supplies the records, `preview`
prints the plan, and the delivery pass turns the due part of it into outbox rows.

Each post carries a stable `NotificationKey` (bot/keys.py), so (subscription, key) is sent
at most once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby

from bot import compose
from bot.keys import NotificationKey
from bot.messages import Message
from bot.models import Episode, Season, Show, Subscription

# Reminders are at most this far ahead of a drop (see schedule.parse_durations).
MAX_REMINDER = timedelta(days=28)


@dataclass(frozen=True)
class Drop:
    """The episodes of one season that are released at the same instant."""

    show: Show
    season: Season
    episodes: tuple[Episode, ...]

    @property
    def release_at(self) -> datetime:
        return self.episodes[0].release_at

    @property
    def first_episode_id(self) -> int:
        return self.episodes[0].id

    @property
    def release_key(self) -> NotificationKey:
        return NotificationKey.release(self.first_episode_id)

    def reminder_key(self, offset: int) -> NotificationKey:
        return NotificationKey.reminder(self.first_episode_id, offset)


@dataclass(frozen=True)
class SeasonChange:
    """A season event (announced, trailer, moved) with what a post about it needs."""

    kind: str
    seq: int
    at: datetime
    detail: Mapping[str, str]
    show: Show
    season: Season
    episodes: tuple[Episode, ...]

    @property
    def key(self) -> NotificationKey:
        return NotificationKey.season_event(self.season.id, self.kind, self.seq)


@dataclass(slots=True)
class PlannedPost:
    subscription: Subscription
    notification_key: NotificationKey
    due_at: datetime
    message: Message
    season_id: int | None  # None: a digest (about several seasons)
    episode_id: int | None = None
    # For reminders: the drop they announce. A reminder whose drop has happened is not sent.
    drop_at: datetime | None = None


def drops(show: Show, season: Season, episodes: Sequence[Episode]) -> list[Drop]:
    ordered = tuple(sorted(episodes, key=lambda e: (e.release_at, e.number)))
    return [
        Drop(show, season, tuple(group))
        for _, group in groupby(ordered, key=lambda e: e.release_at)
    ]


def plan_posts(
    releases: Iterable[tuple[Show, Season, Sequence[Episode]]],
    changes: Iterable[SeasonChange],
    subscriptions: Iterable[Subscription],
    start: datetime,
    end: datetime,
    *,
    messages: MessageCache | None = None,
) -> list[PlannedPost]:
    """Every release and reminder due in (start, end], and a post for each change, in due order.

    Pages of subscriptions planned in turn share one `messages` cache, so each distinct post
    is composed once per window, not once per page.

    Releases and reminders go to every active subscription of the show. Announcements,
    trailers and moves go to subscriptions that want them and existed when the change was
    made (a channel that subscribes later sees the current state in the command's reply).
    """
    by_show: dict[int, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        if subscription.paused_reason is None:
            by_show[subscription.show_id].append(subscription)

    posts: list[PlannedPost] = []
    # Thousands of channels share a handful of distinct messages: compose each once.
    messages = messages if messages is not None else MessageCache()
    for show, season, episodes in releases:
        for drop in drops(show, season, episodes):
            _add_drop_posts(posts, drop, by_show.get(show.id, ()), start, end, messages)
    for change in changes:
        for subscription in by_show.get(change.show.id, ()):
            post = _change_post(change, subscription)
            if post is not None:
                posts.append(post)
    posts.sort(key=lambda post: (post.due_at, post.notification_key, post.subscription.id))
    return posts


class MessageCache(dict):
    """(drop key, reminder offset, hide titles, mention) -> Message."""

    def get_message(self, drop: Drop, offset: int | None, subscription: Subscription) -> Message:
        cache_key = (drop.first_episode_id, offset, subscription.hide_titles, subscription.mention)
        message = self.get(cache_key)
        if message is None:
            options = {"hide_titles": subscription.hide_titles, "mention": subscription.mention}
            if offset is None:
                message = compose.release_message(drop.show, drop.season, drop.episodes, **options)
            else:
                message = compose.reminder_message(
                    drop.show, drop.season, drop.episodes, offset, **options
                )
            self[cache_key] = message
        return message


def _add_drop_posts(
    posts: list[PlannedPost],
    drop: Drop,
    subscriptions: Iterable[Subscription],
    start: datetime,
    end: datetime,
    messages: MessageCache,
) -> None:
    """Append the drop's reminders and release due in (start, end] for each subscription.

    The hot path of a big drop (one post per channel): what is the same for every
    subscription (keys, the release's window check) is worked out once per drop."""
    release_at = drop.release_at
    season_id = drop.season.id
    episode_id = drop.episodes[0].id
    release_due = start < release_at <= end
    release_key = drop.release_key
    append = posts.append
    for subscription in subscriptions:
        for offset in subscription.reminders:
            due_at = release_at - timedelta(seconds=offset)
            if start < due_at <= end:
                append(
                    PlannedPost(
                        subscription,
                        drop.reminder_key(offset),
                        due_at,
                        messages.get_message(drop, offset, subscription),
                        season_id,
                        episode_id,
                        release_at,
                    )
                )
        if release_due:
            append(
                PlannedPost(
                    subscription,
                    release_key,
                    release_at,
                    messages.get_message(drop, None, subscription),
                    season_id,
                    episode_id,
                    release_at,
                )
            )


def _change_post(change: SeasonChange, subscription: Subscription) -> PlannedPost | None:
    # Both are stamped to the second: a channel subscribed in the same second as the change
    # gets the post too (better one post too many than a channel that misses it).
    existed = subscription.created_at is None or subscription.created_at <= change.at
    if not subscription.trailers or not existed:
        return None
    if change.kind == "announced":
        message = compose.announced_message(
            change.show, change.season, change.episodes, mention=subscription.mention
        )
    elif change.kind == "trailer":
        message = compose.trailer_message(
            change.show, change.season, change.detail["url"], mention=subscription.mention
        )
    elif change.kind == "moved":
        message = compose.moved_message(
            change.show,
            change.season,
            change.episodes,
            date.fromisoformat(change.detail["from"]),
            date.fromisoformat(change.detail["to"]),
            mention=subscription.mention,
            episodes_label=change.detail.get("episodes"),
        )
    else:  # an event kind from a newer version: nothing to say about it
        return None
    return PlannedPost(
        subscription=subscription,
        notification_key=change.key,
        due_at=change.at,
        message=message,
        season_id=change.season.id,
    )
