"""The plan read from the store: what falls due in a window of time, and what is coming up.

`preview` shows the posts one per subscription; the delivery pass (jobs/outbox.py) writes the
same plan, per audience, as outbox rows. `milestones_by_tenant` lists each tenant's upcoming
premieres and finales, which an adapter may mirror as platform objects (Discord scheduled
events); it decides nothing about how.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import digest as digests
from bot.models import Digest, Episode, Season, Show
from bot.plan import (
    MAX_REMINDER,
    Broadcast,
    MessageCache,
    PlannedPost,
    SeasonChange,
    drops,
    plan_broadcasts,
    plan_posts,
)
from bot.store import AudiencePage, SeasonEvent, Store

# Subscriptions planned (and written, and sent) at a time: small enough to start posting
# within a fraction of a second, large enough that a page is one cheap query.
PAGE_SIZE = 5000


@dataclass(frozen=True)
class PlanWindow:
    """What may fall due in a window: the drops with a release or a reminder in it, and the
    season events to post about."""

    releases: list[tuple[Show, Season, list[Episode]]]
    changes: list[SeasonChange]
    # Shows with nothing but reminders due: only their members with a reminder need a look.
    reminder_only_show_ids: list[int]

    @property
    def show_ids(self) -> list[int]:
        return sorted({show.id for show, _, _ in self.releases} | {c.show.id for c in self.changes})


@dataclass(frozen=True)
class BroadcastPage:
    """The plan for one page of subscriptions: each broadcast with the number of its
    audience's members in `page` (what the store writes for them)."""

    page: AudiencePage
    broadcasts: list[tuple[Broadcast, int]]


def posts_between(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    events: list[SeasonEvent] | None = None,
) -> list[PlannedPost]:
    """Every post due in (start, end] for the current subscriptions, in due order, one per
    subscription: what `preview` shows (delivery writes the same plan as `broadcast_pages`).

    Season events (announced, trailer, moved) are those stamped in the window, or exactly
    `events` when given: delivery follows them by id (see `Store.events_after`).
    """
    window = plan_window(store, start, end, events=events)
    all_digests = store.digests()
    posts = plan_posts(
        window.releases,
        window.changes,
        store.subscriptions(show_ids=window.show_ids, active_only=True, direct=None),
        start,
        end,
        digest_only={d.channel for d in all_digests if d.only},
    )
    posts += digest_posts(store, start, end, all_digests)
    posts.sort(key=lambda post: (post.due_at, post.notification_key, post.subscription.id))
    return posts


def plan_window(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    events: list[SeasonEvent] | None = None,
    season_ids: set[int] | None = None,
) -> PlanWindow:
    """The drops and season events that may have posts due in (start, end].

    `season_ids` limits the releases and reminders to those seasons (re-planning seasons
    that changed after their window was planned)."""
    # A reminder falls due before its drop: look as far ahead as the longest reminder in use,
    # and keep only the drops with a release or a reminder due in the window. Planning every
    # drop of the next four weeks for every subscriber would cost seconds at scale.
    offsets = store.reminder_offsets_by_show()
    longest = max((max(o) for o in offsets.values() if o), default=0)
    releases = []
    horizon = end + min(MAX_REMINDER, timedelta(seconds=longest))
    candidates = (
        store.releases_between(start, horizon)
        if season_ids is None
        else store.seasons_with_episodes(season_ids)
    )
    for show, season, episodes in candidates:
        before = [timedelta(seconds=o) for o in offsets.get(show.id, ())]
        due = [
            e
            for e in episodes
            if start < e.release_at <= end or any(start < e.release_at - b <= end for b in before)
        ]
        if due:
            releases.append((show, season, due))
    changes = []
    events = store.events_between(start, end) if events is None else events
    # One batched read for every season the events are about (not one per event).
    seasons = {s.id: (show, s, e) for show, s, e in store.seasons_with_episodes(
        {event.season_id for event in events}
    )}  # fmt: skip
    for event in events:
        if event.season_id not in seasons:  # removed since: its events went with it
            continue
        show, season, episodes = seasons[event.season_id]
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
    everyone = {c.show.id for c in changes} | {
        show.id for show, _, due in releases if any(start < e.release_at <= end for e in due)
    }
    reminder_only = sorted({show.id for show, _, _ in releases} - everyone)
    return PlanWindow(releases, changes, reminder_only)


def broadcast_pages(
    store: Store,
    window: PlanWindow,
    start: datetime,
    end: datetime,
    *,
    page_size: int | None = None,
) -> Iterator[BroadcastPage]:
    """The window's plan a page of subscriptions at a time, so that a drop to 100,000
    channels can be written and sent while the rest is still being planned. Pages without
    a post are left out."""
    if not window.show_ids:
        return
    page_size = page_size or PAGE_SIZE
    sizes = store.subscription_counts(window.show_ids, cap=page_size)
    messages = MessageCache()
    # Channels first, then members' DMs: a drop's channel posts are written (and so sent)
    # before its direct messages.
    for direct in (False, True):
        for page in _pages_taking_turns(store, window, sizes, page_size, direct):
            broadcasts = plan_broadcasts(
                window.releases, window.changes, page.audiences, start, end, messages=messages
            )
            if broadcasts:
                members = page.audiences
                yield BroadcastPage(
                    page, [(each, len(members[each.audience])) for each in broadcasts]
                )


def digest_posts(
    store: Store, start: datetime, end: datetime, all_digests: list[Digest]
) -> list[PlannedPost]:
    """Every weekly digest of `all_digests` due in (start, end]: the drops of the following
    seven days of the shows its channel follows. A week with nothing in it has no post.

    The outbox addresses a post by subscription: a digest rides on its channel's oldest
    active subscription. The key names the channel and week, and the store keeps it once
    only whichever subscription carries it (`Store.insert_notifications`)."""
    posts = []
    # Digests tend to share an instant (Monday 09:00): read each week's releases once.
    weeks: dict[datetime, list[tuple[Show, Season, list[Episode]]]] = {}
    for digest in all_digests:
        instants = digests.instants_between(digest, start, end)
        if not instants:
            continue
        subscriptions = store.subscriptions(channel=digest.channel, active_only=True)
        if not subscriptions:
            continue
        anchor = min(subscriptions, key=lambda subscription: subscription.id)
        show_ids = {subscription.show_id for subscription in subscriptions}
        for instant in instants:
            if instant not in weeks:
                weeks[instant] = store.releases_between(
                    instant - timedelta(seconds=1), instant + digests.DIGEST_SPAN
                )
            week = [
                drop
                for show, season, episodes in weeks[instant]
                if show.id in show_ids
                for drop in drops(show, season, episodes)
                if instant <= drop.release_at < instant + digests.DIGEST_SPAN
            ]
            messages = digests.compose_digest(digest, instant, week)
            keys = digests.notification_keys(digest, instant, len(messages))
            posts.extend(
                PlannedPost(
                    subscription=anchor,
                    notification_key=key,
                    due_at=instant,
                    message=message,
                    season_id=None,
                )
                for key, message in zip(keys, messages, strict=True)
            )
    return posts


def _pages_taking_turns(
    store: Store, window: PlanWindow, sizes: dict[int, int], page_size: int, direct: bool
) -> Iterator[AudiencePage]:
    """Subscription pages in which no show's drop waits for a bigger one to be planned.

    Paged in one order, a show followed by 5 channels could be planned (and so sent) after
    the 100,000 of another show dropping at the same instant. Instead the shows that fit in
    one page (`sizes`: subscriptions per show, counted up to a page and one) are paged
    together, each bigger show has a cursor of its own, and these streams take turns page by
    page: every drop has rows written after a few pages. Shows with only reminders due are
    paged over their members with a reminder alone.
    """
    reminder_only = set(window.reminder_only_show_ids)
    streams = []
    for reminders in (False, True):
        ids = [i for i in window.show_ids if (i in reminder_only) == reminders]
        small = [i for i in ids if sizes.get(i, 0) <= page_size]
        big = [[i] for i in ids if sizes.get(i, 0) > page_size]
        streams += [
            store.audience_pages(
                show_ids=group, page_size=page_size, direct=direct, with_reminders_only=reminders
            )
            for group in ([small] if small else []) + big
        ]
    while streams:
        for stream in list(streams):
            page = next(stream, None)
            if page is None:
                streams.remove(stream)
            else:
                yield page


@dataclass(frozen=True)
class Milestone:
    """A season's premiere or finale drop, as one tenant should see it coming."""

    tenant: str
    object_key: str  # stable: season:<id>:premiere | season:<id>:finale
    kind: str  # premiere | finale
    show_title: str
    network: str | None
    season_number: int
    season_title: str | None
    first_episode: int
    last_episode: int  # several episodes may drop at once
    release_at: datetime  # UTC
    timezone: str
    trailer_url: str | None


def milestones_by_tenant(store: Store, platform: str, now: datetime) -> dict[str, list[Milestone]]:
    """Per tenant of `platform`, the premieres and finales after `now` of the shows its channels
    follow (active subscriptions only), in release order.

    A season whose episodes all drop at once has a premiere and no finale. Tenants following
    nothing upcoming are absent.
    """
    followed = store.subscribed_show_ids_by_tenant(platform)
    show_ids = sorted(set().union(*followed.values())) if followed else []
    by_show: dict[int, list[Milestone]] = {}
    for show, season, episodes in store.seasons_releasing_after(show_ids, now):
        season_drops = drops(show, season, episodes)
        if not season_drops:
            continue
        ends = [("premiere", season_drops[0])]
        if len(season_drops) > 1:
            ends.append(("finale", season_drops[-1]))
        for kind, drop in ends:
            if drop.release_at <= now:
                continue  # past: the premiere of a season that is still running
            milestone = Milestone(
                tenant="",
                object_key=f"season:{season.id}:{kind}",
                kind=kind,
                show_title=show.title,
                network=show.network,
                season_number=season.number,
                season_title=season.title,
                first_episode=drop.episodes[0].number,
                last_episode=drop.episodes[-1].number,
                release_at=drop.release_at,
                timezone=season.timezone,
                trailer_url=season.trailer_url,
            )
            by_show.setdefault(show.id, []).append(milestone)
    result: dict[str, list[Milestone]] = {}
    for tenant, ids in followed.items():
        found = [
            replace(milestone, tenant=tenant)
            for show_id in ids
            for milestone in by_show.get(show_id, ())
        ]
        if found:
            result[tenant] = sorted(found, key=lambda m: (m.release_at, m.object_key))
    return result
