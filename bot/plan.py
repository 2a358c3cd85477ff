"""The notifications plan: which post falls due for which subscription, and when.

Pure functions over catalog records, no I/O: the store supplies the records, `preview`
prints the plan, and the delivery pass turns the due part of it into outbox rows.

The plan decides per `Audience` (a show's subscriptions with the same settings), so its cost
follows the number of distinct settings, not of channels: a `Broadcast` is one post to every
member of an audience, which the store writes as a set.

Each post carries a stable `NotificationKey` (bot/keys.py), so (subscription, key) is sent
at most once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby

from bot import compose
from bot.keys import NotificationKey
from bot.messages import Message
from bot.models import Audience, ChannelRef, Episode, Season, Show, Subscription

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
    """One post to one subscription: a `Broadcast` spelt out per member (previews, digests)."""

    subscription: Subscription
    notification_key: NotificationKey
    due_at: datetime
    message: Message
    season_id: int | None  # None: a digest (about several seasons)
    episode_id: int | None = None
    # For reminders: the drop they announce. A reminder whose drop has happened is not sent.
    drop_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Broadcast:
    """One post to every member of an audience (who had subscribed by `subscribed_by`, when
    set): what the plan decides. The store writes it as one row per member."""

    audience: Audience
    notification_key: NotificationKey
    due_at: datetime
    message: Message
    season_id: int
    episode_id: int | None = None
    # For reminders: the drop they announce. A reminder whose drop has happened is not sent.
    drop_at: datetime | None = None
    # Only members subscribed at or before this instant. A channel that subscribes after a
    # season was announced sees its state in the command's reply, not the old news as a post.
    subscribed_by: datetime | None = None

    def reaches(self, subscription: Subscription) -> bool:
        """Whether this member of the audience gets the post (the one per-member rule)."""
        # Both are stamped to the second: a channel subscribed in the same second as the change
        # gets the post too (better one post too many than a channel that misses it).
        return (
            self.subscribed_by is None
            or subscription.created_at is None
            or subscription.created_at <= self.subscribed_by
        )


def drops(show: Show, season: Season, episodes: Sequence[Episode]) -> list[Drop]:
    ordered = tuple(sorted(episodes, key=lambda e: (e.release_at, e.number)))
    return [
        Drop(show, season, tuple(group))
        for _, group in groupby(ordered, key=lambda e: e.release_at)
    ]


def plan_broadcasts(
    releases: Iterable[tuple[Show, Season, Sequence[Episode]]],
    changes: Iterable[SeasonChange],
    audiences: Iterable[Audience],
    start: datetime,
    end: datetime,
    *,
    messages: MessageCache | None = None,
) -> list[Broadcast]:
    """Every release and reminder due in (start, end], and a post for each change, for each
    audience: the rules of who is told what, and when.

    Releases and reminders go to every audience of the show but those that take the weekly
    digest instead. Announcements, trailers and moves go to audiences that want them, and
    only to members who had subscribed by then (`Broadcast.subscribed_by`).

    Pages planned in turn share one `messages` cache, so each distinct post is composed once
    per window, not once per page.
    """
    by_show: dict[int, list[Audience]] = defaultdict(list)
    for audience in audiences:
        by_show[audience.show_id].append(audience)
    broadcasts: list[Broadcast] = []
    # Thousands of channels share a handful of distinct messages: compose each once.
    messages = messages if messages is not None else MessageCache()
    for show, season, episodes in releases:
        per_drop = [audience for audience in by_show.get(show.id, ()) if not audience.digest_only]
        if per_drop:
            for drop in drops(show, season, episodes):
                _add_drop_broadcasts(broadcasts, drop, per_drop, start, end, messages)
    for change in changes:
        for audience in by_show.get(change.show.id, ()):
            broadcast = _change_broadcast(change, audience)
            if broadcast is not None:
                broadcasts.append(broadcast)
    return broadcasts


def plan_posts(
    releases: Iterable[tuple[Show, Season, Sequence[Episode]]],
    changes: Iterable[SeasonChange],
    subscriptions: Iterable[Subscription],
    start: datetime,
    end: datetime,
    *,
    digest_only: Collection[ChannelRef] = (),
) -> list[PlannedPost]:
    """`plan_broadcasts` spelt out per subscription, in due order, each message as it will be
    posted (with the subscription's role to ping): what `preview` shows.

    Paused subscriptions get nothing; `digest_only` channels take the weekly digest instead
    of per-drop posts.
    """
    members: dict[Audience, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        if subscription.paused_reason is None:
            only = subscription.channel in digest_only
            members[Audience.of(subscription, digest_only=only)].append(subscription)
    posts = [
        PlannedPost(
            subscription,
            broadcast.notification_key,
            broadcast.due_at,
            compose.addressed(broadcast.message, subscription.mention),
            broadcast.season_id,
            broadcast.episode_id,
            broadcast.drop_at,
        )
        for broadcast in plan_broadcasts(releases, changes, members, start, end)
        for subscription in members[broadcast.audience]
        if broadcast.reaches(subscription)
    ]
    posts.sort(key=lambda post: (post.due_at, post.notification_key, post.subscription.id))
    return posts


class MessageCache(dict):
    """(drop key, reminder offset, hide titles) -> Message."""

    def get_message(self, drop: Drop, offset: int | None, audience: Audience) -> Message:
        cache_key = (drop.first_episode_id, offset, audience.hide_titles)
        message = self.get(cache_key)
        if message is None:
            hide_titles = audience.hide_titles
            if offset is None:
                message = compose.release_message(
                    drop.show, drop.season, drop.episodes, hide_titles=hide_titles
                )
            else:
                message = compose.reminder_message(
                    drop.show, drop.season, drop.episodes, offset, hide_titles=hide_titles
                )
            self[cache_key] = message
        return message


def _add_drop_broadcasts(
    broadcasts: list[Broadcast],
    drop: Drop,
    audiences: Iterable[Audience],
    start: datetime,
    end: datetime,
    messages: MessageCache,
) -> None:
    """Append the drop's reminders and release due in (start, end] for each audience."""
    release_at = drop.release_at
    season_id = drop.season.id
    episode_id = drop.first_episode_id
    release_due = start < release_at <= end
    for audience in audiences:
        for offset in audience.reminders:
            due_at = release_at - timedelta(seconds=offset)
            if start < due_at <= end:
                broadcasts.append(
                    Broadcast(
                        audience,
                        drop.reminder_key(offset),
                        due_at,
                        messages.get_message(drop, offset, audience),
                        season_id,
                        episode_id,
                        release_at,
                    )
                )
        if release_due:
            broadcasts.append(
                Broadcast(
                    audience,
                    drop.release_key,
                    release_at,
                    messages.get_message(drop, None, audience),
                    season_id,
                    episode_id,
                    release_at,
                )
            )


def _change_broadcast(change: SeasonChange, audience: Audience) -> Broadcast | None:
    if not audience.trailers:
        return None
    if change.kind == "announced":
        message = compose.announced_message(change.show, change.season, change.episodes)
    elif change.kind == "trailer":
        message = compose.trailer_message(change.show, change.season, change.detail["url"])
    elif change.kind == "moved":
        message = compose.moved_message(
            change.show,
            change.season,
            change.episodes,
            date.fromisoformat(change.detail["from"]),
            date.fromisoformat(change.detail["to"]),
            episodes_label=change.detail.get("episodes"),
        )
    else:  # an event kind from a newer version: nothing to say about it
        return None
    return Broadcast(
        audience=audience,
        notification_key=change.key,
        due_at=change.at,
        message=message,
        season_id=change.season.id,
        subscribed_by=change.at,
    )
