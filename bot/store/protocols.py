"""What any store must offer, one protocol per concern, and `Store`, all of them together.

Callers type against these, never against an implementation: `bot/store/sqlite.py` is the
embedded default, and a PostgreSQL store for several bot processes implements the same
methods. `tests/bot/store/` is the contract suite every implementation passes: changes are
atomic (a failing multi-row change leaves nothing), the outbox is insert-or-ignore on
(subscription, key), a row is never claimed twice, meta compare-and-set is atomic, every
outbox change is fenced by the delivery lease's generation (a superseded runner changes
nothing: `FencedOut`, checked in the same statement or transaction), a database that cannot
take a write right now raises `StoreUnavailable`, and a fresh database gets the latest schema
while opening it again changes nothing.

Instants are aware `datetime`s; a store keeps them to the second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from typing import Any, Protocol, runtime_checkable

from bot.models import (
    Cadence,
    ChannelRef,
    Digest,
    Episode,
    Season,
    Show,
    Subscription,
    UserRef,
)
from bot.sources.base import SourceLink
from bot.sources.sync import SyncChanges
from bot.store.rows import (
    AudiencePage,
    LeaseRecord,
    NewBroadcast,
    NewNotification,
    OutboxRow,
    PlatformObject,
    SeasonEvent,
)

# A season with its show and ALL its episodes: a post needs to know whether a drop is the
# premiere or the finale.
SeasonWithEpisodes = tuple[Show, Season, list[Episode]]


class MetaStore(Protocol):
    """Lifecycle, schema, small named values (watermarks, the runner lease) and the audit."""

    latest_schema_version: int

    def close(self) -> None: ...

    def schema_version(self) -> int: ...

    def migrate(self) -> int:
        """Apply what this database has not seen yet, each step atomically; how many ran."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def compare_and_set_meta(self, key: str, expected: str | None, value: str) -> bool:
        """Set `key` to `value` only if it still holds `expected` (None: absent), atomically."""
        ...

    def change_counter(self) -> int:
        """Bumped by every change to the plan; another process polls it to re-plan."""
        ...

    def audit_log(self, limit: int = 100) -> list[dict]: ...

    # The delivery lease (jobs/lease.py): its generation is the fencing token of the outbox.

    def read_lease(self, name: str) -> LeaseRecord | None: ...

    def take_lease(
        self, name: str, *, expected_generation: int, holder: str, heartbeat: float
    ) -> int | None:
        """Compare-and-set on the generation (0: never taken); the new generation or None."""
        ...

    def renew_lease(self, name: str, *, generation: int, heartbeat: float) -> bool:
        """The holder's heartbeat; False (nothing written) once `generation` is over."""
        ...

    def end_lease(self, name: str, *, generation: int) -> bool: ...


class CatalogStore(Protocol):
    """Shows, seasons and episodes; every change is one transaction with its audit entry."""

    def add_show(
        self,
        title: str,
        *,
        network: str | None,
        timezone: str,
        release_time: time,
        tenant_key: str | None,
        actor: str,
        now: datetime,
    ) -> Show:
        """Raises `AlreadyExists` for a title taken in that scope (case-insensitive)."""
        ...

    def get_show(self, show_id: int) -> Show: ...

    def visible_shows(self, tenant_key: str | None) -> list[Show]:
        """Global shows plus the tenant's private ones; None (the operator) sees every show."""
        ...

    def add_season(
        self,
        show: Show,
        *,
        number: int,
        premiere: date,
        episode_count: int,
        cadence: Cadence,
        premiere_episodes: int,
        release_time: time,
        timezone: str,
        trailer_url: str | None,
        title: str | None,
        release_instants: Sequence[datetime],
        actor: str,
        now: datetime,
    ) -> Season:
        """The season, its episodes and its "announced" event; `AlreadyExists` if taken."""
        ...

    def get_season(self, show_id: int, number: int) -> Season | None: ...

    def seasons_of(self, show_id: int) -> list[Season]: ...

    def episodes_of(self, season_id: int) -> list[Episode]: ...

    def episodes_by_season(self, season_ids: Sequence[int]) -> dict[int, list[Episode]]:
        """The episodes of several seasons at once (every given id is a key), by number."""
        ...

    def move_season(
        self,
        season: Season,
        *,
        premiere: date,
        cadence: Cadence,
        new_release_at: dict[int, datetime],
        show: Show,
        actor: str,
        now: datetime,
    ) -> int:
        """Move the premiere and the given episodes not yet released; how many moved."""
        ...

    def set_episode(
        self,
        episode: Episode,
        *,
        title: str | None,
        release_at: datetime | None,
        show: Show,
        season: Season,
        actor: str,
        now: datetime,
    ) -> None: ...

    def set_trailer(
        self, season: Season, url: str, *, show: Show, actor: str, now: datetime
    ) -> None: ...

    def remove_season(self, season: Season, *, show: Show, actor: str, now: datetime) -> None:
        """The season with its episodes, events and every notification about it."""
        ...

    def releases_between(self, start: datetime, end: datetime) -> list[SeasonWithEpisodes]:
        """Seasons with an episode released in (start, end]."""
        ...

    def seasons_with_episodes(self, season_ids: Iterable[int]) -> list[SeasonWithEpisodes]:
        """These seasons (those that still exist), in id order."""
        ...

    def seasons_releasing_after(
        self, show_ids: Sequence[int], after: datetime
    ) -> list[SeasonWithEpisodes]:
        """Seasons of these shows with an episode released after `after`."""
        ...

    def upcoming_due_instants(self, after: datetime, limit: int = 1000) -> list[datetime]:
        """The next instants at which a release or a reminder falls due, each once."""
        ...


class SeasonEventStore(Protocol):
    """Season events (announced, trailer, moved, rescheduled), followed by id."""

    def events_after(self, event_id: int, *, until: datetime) -> list[SeasonEvent]:
        """Events with a larger id, in id order, up to the first one stamped after `until`.

        Ids only grow (one never comes back after a season is removed), so a pass that
        follows them never misses an event committed just after it read."""
        ...

    def last_event_id(self, *, until: datetime) -> int: ...

    def events_between(self, start: datetime, end: datetime) -> list[SeasonEvent]: ...


class SubscriptionStore(Protocol):
    """Which channel follows which show, with its options."""

    def subscribe(
        self,
        channel: ChannelRef,
        show: Show,
        *,
        reminders: Sequence[int],
        trailers: bool,
        mention: str | None,
        hide_titles: bool,
        actor: str,
        now: datetime,
    ) -> tuple[Subscription, bool]:
        """Subscribe, or update (and un-pause) an existing one; and whether it is new."""
        ...

    def unsubscribe(
        self, channel: ChannelRef, show: Show, *, actor: str, now: datetime
    ) -> bool: ...

    def subscriptions(
        self,
        *,
        channel: ChannelRef | None = None,
        tenant_key: str | None = None,
        show_ids: Sequence[int] | None = None,
        active_only: bool = False,
        paused_only: bool = False,
        direct: bool | None = False,
    ) -> list[Subscription]:
        """Channel subscriptions by default; `direct=True`: follows (members' DMs); None: both
        (a given `channel` is taken as it is)."""
        ...

    def audience_pages(
        self,
        *,
        show_ids: Sequence[int],
        page_size: int,
        direct: bool,
        with_reminders_only: bool = False,
    ) -> Iterator[AudiencePage]:
        """The active subscriptions of these shows (only follows when `direct`, else only
        channels; only those with a reminder when `with_reminders_only`), `page_size` at a
        time in (show id, subscription id) order, each page as its audiences and their sizes.

        A member's audience is `Audience.of(subscription)`, its `digest_only` true when its
        channel has a digest that replaces per-drop posts. Pages do not overlap, and together
        they hold every such subscription once.
        """
        ...

    def subscribed_show_ids_by_tenant(self, platform: str) -> dict[str, set[int]]: ...

    def pause_subscriptions(
        self,
        reason: str,
        *,
        subscription_id: int | None = None,
        channel: ChannelRef | None = None,
        tenant_key: str | None = None,
    ) -> int:
        """Stop posting (their pending posts are skipped) until re-subscribed; how many."""
        ...

    def reminder_offsets_by_show(self) -> dict[int, set[int]]:
        """Reminder offsets (seconds) in use by active subscriptions, per show."""
        ...

    # A follow is a subscription of the member's DMs (`UserRef.inbox`).
    def follow(
        self,
        user: UserRef,
        show: Show,
        *,
        reminders: Sequence[int],
        followed_in: str,
        actor: str,
        now: datetime,
    ) -> tuple[Subscription, bool]: ...

    def unfollow(self, user: UserRef, show: Show, *, actor: str, now: datetime) -> bool: ...

    def follows(self, user: UserRef) -> list[tuple[Subscription, str]]:
        """The member's follows with the tenant where each was made."""
        ...

    def forget_user(self, user: UserRef, *, now: datetime) -> tuple[int, int]:
        """Every follow of the member, their outbox rows and audit entries naming them, gone;
        (follows, unsent DMs)."""
        ...

    def subscription_counts(self, show_ids: Sequence[int], *, cap: int) -> dict[int, int]:
        """Subscriptions per show, counted only up to `cap` + 1: enough to tell a show that
        fits in a page of `cap` from a bigger one (planning pages take turns between them)."""
        ...


class DigestStore(Protocol):
    """Channels' weekly digests."""

    def set_digest(self, digest: Digest, *, actor: str, now: datetime) -> bool:
        """Set or replace a channel's digest; whether it is new."""
        ...

    def remove_digest(self, channel: ChannelRef, *, actor: str, now: datetime) -> bool: ...

    def digests(self, channel: ChannelRef | None = None) -> list[Digest]: ...


class CalendarStore(Protocol):
    """Calendar feeds: a secret token per scope, and each drop's revision in the feed."""

    def calendar_token(self, scope: str) -> str | None: ...

    def replace_calendar_token(self, scope: str, token: str, now: datetime) -> None:
        """Issue `token` for `scope`; any earlier token of the scope stops working."""
        ...

    def calendar_token_by_digest(self, digest: str) -> tuple[str, str] | None:
        """(scope, token) of the current token whose sha256 (hex) is `digest`."""
        ...

    def calendar_revisions(
        self, episode_ids: Sequence[int]
    ) -> dict[int, tuple[str, int, datetime]]: ...

    def save_calendar_revisions(
        self, revisions: Iterable[tuple[int, str, int, datetime]]
    ) -> None: ...


class OutboxStore(Protocol):
    """Notifications to send: pending -> sending -> sent | failed | skipped."""

    def insert_notifications(
        self,
        rows: Iterable[NewNotification],
        now: datetime,
        *,
        watermarks: dict[str, str] | None = None,
    ) -> int:
        """Insert-or-ignore on (subscription, key), and on the key alone for a digest (once
        per channel and week, whichever of the channel's subscriptions carries it), with
        watermarks (meta values that only move forward) in the same transaction; how many
        rows are new.

        A digest's row outlives the subscription it rides on while the channel has another:
        it moves to one of those."""
        ...

    def insert_broadcasts(
        self, broadcasts: Sequence[NewBroadcast], *, page: AudiencePage, now: datetime
    ) -> list[int]:
        """For each broadcast, one row per active member of its audience whose id is in the
        page's range (and who had subscribed by `subscribed_by`, when set), tagged in id
        order; insert-or-ignore on (subscription, key). One transaction; how many rows each
        broadcast added."""
        ...

    def claim_due(
        self, now: datetime, *, platforms: Sequence[str], limit: int = 500, generation: int
    ) -> list[OutboxRow]:
        """Move up to `limit` due pending rows to `sending` under `generation`: no row is ever
        claimed twice. Every change below takes the claiming `generation` and raises
        `FencedOut` instead of changing anything once it is no longer the lease's."""
        ...

    def claim_fair(
        self, now: datetime, *, platform: str, limit: int, generation: int
    ) -> list[OutboxRow]:
        """Like `claim_due` for one platform, in fair-queue order (priority, tag, then id):
        the rows of drops planned together come out interleaved (jobs/fairness.py)."""
        ...

    def adopt_orphans(self, *, platforms: Sequence[str], generation: int) -> list[OutboxRow]:
        """Rows left `sending` by an earlier generation, now claimed by `generation`."""
        ...

    def queue_head_rank(self, platform: str, priority: int, now: datetime) -> float:
        """The tag a platform's fair queue (at one priority) is serving: the lowest of its due
        pending rows, or (nothing waiting) the highest handed out."""
        ...

    def mark_sent(
        self,
        row_id: int,
        platform_message_id: str,
        now: datetime,
        *,
        generation: int,
        unchecked: bool = False,
    ) -> None: ...

    def mark_retry(
        self, row_id: int, error: str, next_attempt_at: datetime, now: datetime, *, generation: int
    ) -> None: ...

    def mark_skipped(self, row_id: int, reason: str, now: datetime, *, generation: int) -> None: ...

    def mark_failed(
        self, row: OutboxRow, error: str, now: datetime, *, pause: bool, generation: int
    ) -> None: ...

    def release_sending(self, row_ids: Sequence[int], now: datetime, *, generation: int) -> None:
        """Give claimed rows back (their attempt does not count)."""
        ...

    def skip_overdue(self, before: datetime, now: datetime) -> int: ...

    def next_attempt_at(self, platforms: Sequence[str]) -> datetime | None: ...

    def outbox_counts(self) -> dict[str, int]: ...

    def outbox(
        self,
        *,
        states: Sequence[str] | None = None,
        limit: int = 1000,
        newest_first: bool = False,
        with_error: bool = False,
    ) -> list[OutboxRow]: ...

    def last_sent_by_platform(self) -> dict[str, datetime]: ...

    def unchecked_resends(self) -> int:
        """Rows sent again although the platform could not tell whether they were there."""
        ...


class PlatformObjectStore(Protocol):
    """Objects the bot keeps on a platform's side (Discord scheduled events), by stable key."""

    def platform_objects(
        self, platform: str, tenant: str | None = None
    ) -> list[PlatformObject]: ...

    def platform_object(
        self, platform: str, tenant: str, object_key: str
    ) -> PlatformObject | None: ...

    def put_platform_object(
        self,
        platform: str,
        tenant: str,
        object_key: str,
        *,
        remote_id: str,
        payload_hash: str,
        expires_at: datetime | None,
        now: datetime,
    ) -> None: ...

    def delete_platform_object(self, platform: str, tenant: str, object_key: str) -> bool: ...


class SourceStore(Protocol):
    """Schedule sources (TVmaze, iCalendar feeds): which show follows which source, how its
    syncs went, and a sync's changes applied atomically."""

    def show_source(self, show_id: int) -> SourceLink | None: ...

    def linked_sources(self, kind: str | None = None) -> list[SourceLink]:
        """Every show's link to its source (of one kind), in show id order."""
        ...

    def shows_linked_to(self, kind: str, ref: str) -> list[int]:
        """Ids of the shows that follow this source (one TVmaze show, one feed)."""
        ...

    def released_episode_ids(self, season_ids: Sequence[int]) -> set[int]:
        """Episodes whose release was posted (or is being posted) to some channel."""
        ...

    def next_release_by_show(self, show_ids: Sequence[int], after: datetime) -> dict[int, datetime]:
        """Each show's first episode release after `after` (shows with none are absent)."""
        ...

    def import_source_show(
        self,
        title: str,
        *,
        network: str | None,
        timezone: str,
        release_time: time,
        tenant_key: str | None,
        link: SourceLink,
        changes: SyncChanges,
        actor: str,
        now: datetime,
        fetched: dict[str, Any] | None = None,
    ) -> Show:
        """A new show, its link and everything the source holds, in one transaction."""
        ...

    def link_source(self, link: SourceLink, *, now: datetime) -> None: ...

    def apply_source_changes(
        self,
        show: Show,
        changes: SyncChanges,
        *,
        kind: str,
        actor: str,
        now: datetime,
        fetched: dict[str, Any] | None = None,
    ) -> None:
        """A sync's changes, recorded as the show's last good sync, atomically."""
        ...

    def record_sync_failure(self, show_id: int, error: str, *, now: datetime) -> None: ...

    def set_next_sync(self, show_ids: list[int], at: datetime | None) -> None:
        """When `run`'s source jobs will next look at these shows (`sources status`)."""
        ...

    def release_holds(
        self,
        show: Show,
        *,
        season: Season | None,
        episode_number: int | None,
        actor: str,
        now: datetime,
    ) -> int:
        """Let the source own again what an admin set by hand; how many records held."""
        ...


class RequestMemoryStore(Protocol):
    """Signed requests seen lately (Slack's replay guard), kept across restarts."""

    def first_sighting(self, request_key: str, *, now: datetime, keep_until: datetime) -> bool:
        """Record a signed request; False if it was seen before (a replay). Expired keys go."""
        ...


@runtime_checkable
class Store(
    MetaStore,
    CatalogStore,
    SeasonEventStore,
    SubscriptionStore,
    DigestStore,
    OutboxStore,
    PlatformObjectStore,
    CalendarStore,
    SourceStore,
    RequestMemoryStore,
    Protocol,
):
    """Everything the bot keeps; what `open_store` returns and every caller takes."""
