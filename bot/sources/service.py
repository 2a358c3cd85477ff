"""Schedule sources as commands: import a show, sync it, poll for changes, report status.

Every front end (CLI, chat, `run`'s jobs) calls this one place. Rights are checked by
`Commands` (an admin imports; a tenant's import is private to it); what changes the catalog
is applied by the store in one transaction. A source that is down, slow or answers garbage
never changes the catalog: the failure is recorded on the link (`sources status`) and
logged, and the next sync tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot import schedule, validation
from bot.commands import Commands, Reply, _who
from bot.errors import AlreadyExists, BotError, InvalidInput
from bot.models import Actor, Show
from bot.observer import NullObserver, Observer
from bot.sources.base import Fetched, ScheduleSource, SourceError, SourceLink, SourceShow
from bot.sources.ical import IcalSource, check_public_feed, feed_url
from bot.sources.rules import apply_rules
from bot.sources.sync import SyncChanges, diff
from bot.sources.tvmaze import TvmazeSource

log = logging.getLogger("bot.sources")

UPDATES_POLLED_KEY = "sources_updates_polled_at"
T = TypeVar("T")


@dataclass(frozen=True)
class SyncIntervals:
    """How often `run` looks at the sources (settings; README "Follow a show")."""

    updates: timedelta = timedelta(hours=1)  # TVmaze's /updates/shows
    before_drop: timedelta = timedelta(hours=6)  # refresh a show this long before a drop
    feeds: timedelta = timedelta(hours=1)  # re-read iCalendar feeds


# The longest wait between two tries of a link that keeps failing (a show deleted at TVmaze
# answers 404 for good): four requests a day, and a passing fault's change still lands soon.
MAX_RETRY_WAIT = timedelta(hours=6)


def _retry_due(link: SourceLink, now: datetime, intervals: SyncIntervals) -> bool:
    """Whether a link whose last sync failed is tried again now: after waiting as long as it
    had been failing at its last try (doubling), at least one poll, at most `MAX_RETRY_WAIT`.
    """
    if link.last_error is None or link.last_attempt_at is None:
        return False
    failing_for = link.last_attempt_at - (link.last_ok_at or link.last_attempt_at)
    wait = min(MAX_RETRY_WAIT, max(intervals.updates, failing_for))
    return now - link.last_attempt_at >= wait


@dataclass
class SyncOutcome:
    show: str
    ok: bool
    changes: list[str] = field(default_factory=list)
    error: str | None = None

    def describe(self) -> str:
        if not self.ok:
            return f"{self.show}: sync failed, nothing changed: {self.error}"
        return f"{self.show}: " + ("; ".join(self.changes) if self.changes else "up to date")


class SourceService:
    def __init__(
        self,
        commands: Commands,
        tvmaze: TvmazeSource,
        ical: IcalSource,
        intervals: SyncIntervals | None = None,
        observer: Observer | None = None,
        *,
        chat_ical: IcalSource,
    ) -> None:
        """`chat_ical` reads the feeds chat admins add: its HTTP client connects to public
        addresses only (`sources_http.AiohttpClient.public_only`); `ical` reads the
        operator's, which may be on the operator's own network."""
        self.commands = commands
        # Metrics count failed syncs per source (web/metrics.py, when the web server is on).
        self.observer: Observer = observer or NullObserver()
        self.store = commands.store
        self.clock = commands.clock
        self.tvmaze = tvmaze
        self.ical = ical
        self.chat_ical = chat_ical
        self.sources: dict[str, ScheduleSource] = {tvmaze.kind: tvmaze, ical.kind: ical}
        self.intervals = intervals or SyncIntervals()

    # ------------------------------------------------------------------ import

    async def import_show(
        self,
        actor: Actor,
        source: str,
        *,
        show: str | None = None,
        tz: str | None = None,
        time: str | None = None,
        specials: bool = False,
    ) -> Reply:
        """`tvmaze:ID | imdb:tt… | thetvdb:ID | TITLE | ics:URL` -> a show that follows it."""
        self.commands.require_admin(actor)
        zone_override = schedule.load_zone(tz) if tz is not None else None
        release_time = validation.parse_time(time if time is not None else "00:00")
        wanted_title = validation.parse_title(show) if show is not None else None
        text = " ".join((source or "").split())
        now = self.clock.now()
        try:
            if text[:4].lower() == "ics:":
                link = SourceLink(0, "ics", feed_url(text[4:]), series=wanted_title)
                if not actor.is_operator:
                    await check_public_feed(link.ref)  # a clear answer before any request
                fetched = await self._source(link, from_chat=not actor.is_operator).fetch(
                    link, now=now
                )
            else:
                tvmaze_id = await self.tvmaze.resolve(text)
                self._check_not_linked(actor, "tvmaze", str(tvmaze_id))
                link = SourceLink(0, "tvmaze", str(tvmaze_id), include_specials=specials)
                fetched = await self.tvmaze.fetch(link, now=now)
        except SourceError as error:
            raise BotError(
                f"The source could not be read: {error.reason}. Nothing was imported.",
                hint="Check the address (ics:URL) or TVMAZE_API_BASE, or try again later.",
            ) from None
        found: SourceShow = fetched.show  # type: ignore[assignment]  # no etag sent: never None
        if link.kind == "ics":
            existing = self.commands.visible_show(actor, wanted_title or found.title)
            if existing is not None:
                return await self._link_existing(actor, existing, link, fetched)
        zone = zone_override or schedule.load_zone(found.timezone or "UTC")
        try:
            catalog = apply_rules(
                found, zone=zone, release_time=release_time, include_specials=specials
            )
        except SourceError as error:
            raise BotError(f"{error.reason}. Nothing was imported.") from None
        if not catalog.seasons:
            raise BotError(
                f"{found.title} has no dated episode at the source yet. Nothing was imported.",
                hint="Import it again once its dates are announced.",
            )
        title = wanted_title or catalog.title
        tenant_key = None if actor.is_operator else actor.tenant_key
        draft = Show(0, title, catalog.network, zone.key, release_time, tenant_key)
        changes = diff(draft, [], catalog, released=set(), now=now)
        if self.commands.visible_show(actor, title) is not None:
            raise AlreadyExists(
                f'A show called "{title}" exists already.',
                hint="Import it under another title with --show TITLE.",
            )
        imported = self.store.import_source_show(
            title,
            network=catalog.network,
            timezone=zone.key,
            release_time=release_time,
            tenant_key=tenant_key,
            link=SourceLink(
                0,
                link.kind,
                link.ref,
                page_url=found.page_url,
                series=found.title if link.kind == "ics" else None,
                include_specials=specials,
                summary=catalog.summary,
            ),
            changes=changes,
            actor=_who(actor),
            now=now,
            fetched=_fetched_state(fetched),
        )
        self.commands.notify_changed()
        if zone_override is not None:
            zone_note = "(--tz)"
        elif found.timezone:
            zone_note = "(from the source: the network's country or the feed's TZID)"
        else:
            zone_note = "(the source names no country: pass --tz to choose)"
        return self._import_reply(actor, imported, zone_note)

    def _check_not_linked(self, actor: Actor, kind: str, ref: str) -> None:
        for show_id in self.store.shows_linked_to(kind, ref):
            show = self.store.get_show(show_id)
            if actor.is_operator or show.tenant_key in (None, actor.tenant_key):
                raise AlreadyExists(
                    f"{show.title} follows {kind}:{ref} already.",
                    hint=f"Sync it with `sources sync {show.title}`.",
                )

    async def _link_existing(
        self, actor: Actor, show: Show, link: SourceLink, fetched: Fetched
    ) -> Reply:
        """ics:URL for a show the catalog has: the show follows the feed from now on."""
        self.commands.check_can_edit(actor, show)
        self.store.link_source(
            SourceLink(show.id, link.kind, link.ref, series=link.series or show.title),
            now=self.clock.now(),
        )
        outcome = await self.sync_show(show.id, fetched=fetched)
        if not outcome.ok:
            raise BotError(f"{outcome.error}. The show is linked; nothing else changed.")
        return self.commands.reply(
            actor,
            f"{show.title} now follows {link.shown_ref}.\n" + outcome.describe(),
            data={"show": show.title, "changes": outcome.changes},
        )

    def _import_reply(self, actor: Actor, show: Show, zone_note: str) -> Reply:
        seasons = self.store.seasons_of(show.id)
        by_season = self.store.episodes_by_season([s.id for s in seasons])
        episodes = [e for s in seasons for e in by_season[s.id]]
        estimated = sum(e.time_estimated for e in episodes)
        link = self.store.show_source(show.id)
        lines = [
            f"Imported {show.title}" + (f" ({show.network})" if show.network else "")
            + f" from {_source_name(link)}: {len(seasons)} season(s), {len(episodes)} episode(s).",
            f"Times are in {show.timezone} {zone_note}.",
        ]  # fmt: skip
        if estimated:
            lines.append(
                f"{estimated} episode(s) have a date only: time estimated as "
                f"{show.release_time:%H:%M} {show.timezone} (--time)."
            )
        if link and link.summary:
            lines.append(link.summary)
        show = self.store.get_show(show.id)
        if show.credit:
            lines.append(show.credit)
        return self.commands.reply(
            actor,
            "\n".join(lines),
            data={
                "show": show.title,
                "source": link.kind if link else None,
                "source_id": link.shown_ref if link else None,
                "seasons": len(seasons),
                "episodes": len(episodes),
                "time_estimated": estimated,
                "timezone": show.timezone,
                "credit": show.credit,
            },
        )

    # ------------------------------------------------------------------ sync

    async def sync(self, actor: Actor, show: str | None = None) -> Reply:
        """Sync one linked show (by title) or every linked show the caller may edit."""
        self.commands.require_admin(actor)
        if show is not None:
            target = self.commands.editable_show(actor, show)
            if self.store.show_source(target.id) is None:
                raise InvalidInput(
                    "show",
                    f"{target.title} does not follow a source.",
                    hint="Import it with `show import tvmaze:ID` or `show import ics:URL`.",
                )
            show_ids = [target.id]
        else:
            editable = {s.id for s in self.commands.visible_shows(actor)
                        if self.commands.can_edit(actor, s)}  # fmt: skip
            show_ids = [link.show_id for link in self.store.linked_sources()
                        if link.show_id in editable]  # fmt: skip
        outcomes = [await self.sync_show(show_id) for show_id in show_ids]
        if not outcomes:
            return self.commands.reply(actor, "No show follows a source.", data=[])
        return self.commands.reply(
            actor,
            "\n".join(outcome.describe() for outcome in outcomes),
            data=[outcome.__dict__ for outcome in outcomes],
        )

    async def sync_show(self, show_id: int, *, fetched: Fetched | None = None) -> SyncOutcome:
        """Read the show's source and apply the differences; never raises for the source's
        failures (they are recorded and logged, and the catalog is left as it was).

        The store's reads and writes, and the diff, run in a worker thread: a large show's
        sync must not hold up the commands and platforms the event loop is serving."""
        link, show = await self._in_thread(
            lambda: (self.store.show_source(show_id), self.store.get_show(show_id))
        )
        if link is None:
            return SyncOutcome(show.title, ok=False, error="the show follows no source")
        now = self.clock.now()
        try:
            if fetched is None:
                source = self._source(link, from_chat=show.tenant_key is not None)
                fetched = await source.fetch(link, now=now)
            changes = await self._in_thread(self._apply, show, link, fetched, now)
        except (SourceError, BotError) as error:
            reason = getattr(error, "reason", None) or str(error)
            await self._in_thread(self.store.record_sync_failure, show_id, reason, now=now)
            self.observer.source_sync_failed(link.kind)
            log.warning(
                "sync of %s from %s failed, nothing changed: %s", show.title, link.kind, reason
            )
            return SyncOutcome(show.title, ok=False, error=reason)
        lines = changes.describe() if fetched.show is not None else ["not modified"]
        if not changes.is_empty():
            log.info("sync of %s from %s: %s", show.title, link.kind, "; ".join(lines))
            self.commands.notify_changed()
        return SyncOutcome(show.title, ok=True, changes=lines)

    def _apply(self, show: Show, link: SourceLink, fetched: Fetched, now: datetime) -> SyncChanges:
        """The source's answer against the catalog, applied in one transaction (a worker
        thread: the store is safe to share between threads)."""
        changes = SyncChanges()
        if fetched.show is not None:
            catalog = apply_rules(
                fetched.show,
                zone=schedule.load_zone(show.timezone),
                release_time=show.release_time,
                include_specials=link.include_specials,
            )
            seasons = self.store.seasons_of(show.id)
            by_season = self.store.episodes_by_season([s.id for s in seasons])  # one query
            current = [(s, by_season[s.id]) for s in seasons]
            released = self.store.released_episode_ids([s.id for s, _ in current])
            changes = diff(show, current, catalog, released=released, now=now)
        self.store.apply_source_changes(
            show,
            changes,
            kind=link.kind,
            actor=f"source:{link.kind}",
            now=now,
            fetched=_fetched_state(fetched),
        )
        return changes

    @staticmethod
    async def _in_thread(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`work` in a worker thread, as the delivery engine runs its store work. A thread
        cannot be cancelled: on shutdown it is let finish (each write is atomic) so that
        nobody closes the store under it."""
        running = asyncio.ensure_future(asyncio.to_thread(work, *args, **kwargs))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            await asyncio.wait({running})
            raise

    def _source(self, link: SourceLink, *, from_chat: bool) -> ScheduleSource:
        """Where the link is read from; a chat admin's feed only from public addresses (its
        host may resolve to the operator's network, at the import or any time later)."""
        if link.kind == self.chat_ical.kind and from_chat:
            return self.chat_ical
        return self.sources[link.kind]

    async def poll_updates(self) -> list[SyncOutcome]:
        """Ask TVmaze which shows changed and sync only the linked ones among them, and
        those whose last sync failed.

        `since` widens to a week or a month when the last poll is older than a day (the bot
        was down), so a change is never missed.
        """
        now = self.clock.now()
        linked, last = await self._in_thread(self._start_updates_poll, now)
        if not linked:
            return []
        age = now - datetime.fromisoformat(last) if last else timedelta(days=365)
        period = "month"
        if age < timedelta(days=7):
            period = "day" if age < timedelta(days=1) else "week"
        try:
            updates = await self.tvmaze.updated_since(period)
        except SourceError as error:
            log.warning("TVmaze updates could not be read: %s; trying again later", error.reason)
            self.observer.source_sync_failed(self.tvmaze.kind)
            return []
        await self._in_thread(self.store.set_meta, UPDATES_POLLED_KEY, now.isoformat())
        changed = [
            link
            for link in linked
            if int(link.ref) in updates
            and (link.source_updated is None or updates[int(link.ref)] > link.source_updated)
        ]
        if period != "day":  # a stamp older than the window is not in it: sync unknown ones
            changed += [link for link in linked if link.last_ok_at is None and link not in changed]
        # A sync that failed (TVmaze down, an answer refused) is tried again until it works:
        # once the show leaves TVmaze's day of updates nothing else would ask before the
        # refresh ahead of its next drop, too late for a date moved earlier.
        changed += [
            link for link in linked if _retry_due(link, now, self.intervals) and link not in changed
        ]
        return [await self.sync_show(link.show_id) for link in changed]

    def _start_updates_poll(self, now: datetime) -> tuple[list[SourceLink], str | None]:
        """The linked TVmaze shows, marked with the next poll, and when the last one ran."""
        linked = self.store.linked_sources("tvmaze")
        if linked:
            next_poll = now + self.intervals.updates
            self.store.set_next_sync([link.show_id for link in linked], next_poll)
        return linked, self.store.get_meta(UPDATES_POLLED_KEY)

    async def refresh_before_drops(self) -> list[SyncOutcome]:
        """Sync each linked show once in the `before_drop` hours ahead of its next drop."""
        due = await self._in_thread(self._due_before_drops, self.clock.now())
        return [await self.sync_show(link.show_id) for link in due]

    def _due_before_drops(self, now: datetime) -> list[SourceLink]:
        linked = self.store.linked_sources()
        upcoming = self.store.next_release_by_show([link.show_id for link in linked], now)
        due = []
        for link in linked:
            drop = upcoming.get(link.show_id)
            if drop is None:
                continue
            window_opens = drop - self.intervals.before_drop
            if window_opens <= now and (
                link.last_attempt_at is None or link.last_attempt_at < window_opens
            ):
                due.append(link)
        return due

    async def refresh_feeds(self) -> list[SyncOutcome]:
        """Re-read every linked iCalendar feed (a conditional request: 304 costs nothing)."""
        linked = await self._in_thread(self._start_feeds_refresh, self.clock.now())
        return [await self.sync_show(link.show_id) for link in linked]

    def _start_feeds_refresh(self, now: datetime) -> list[SourceLink]:
        """The linked feeds, marked with the next refresh."""
        linked = self.store.linked_sources("ics")
        self.store.set_next_sync([link.show_id for link in linked], now + self.intervals.feeds)
        return linked

    # ------------------------------------------------------------------ status

    def status(self) -> list[dict[str, Any]]:
        """Each linked show: its source, last sync, result and next run (JSON-able).

        The next run is the one `run`'s jobs recorded when they last looked at the show
        (`next_run_at`, null before they ever did); `next_run` says it in words, and that
        it happens only while `run` is running (this command cannot know whether it is).
        """
        now = self.clock.now()
        linked = self.store.linked_sources()
        shows = {show.id: show for show in self.store.visible_shows(None)}
        upcoming = self.store.next_release_by_show([link.show_id for link in linked], now)
        rows = []
        for link in linked:
            next_run = self._next_run(link, upcoming.get(link.show_id), now)
            rows.append(
                {
                    "show": shows[link.show_id].title if link.show_id in shows else link.show_id,
                    "source": link.kind,
                    "ref": link.ref,
                    "page": link.page_url,
                    "last_attempt_at": _iso(link.last_attempt_at),
                    "last_ok_at": _iso(link.last_ok_at),
                    "result": "failed" if link.last_error else link.last_result,
                    "error": link.last_error,
                    "next_run_at": _iso(next_run),
                    "next_run": (
                        f"{_iso(next_run)}, while `run` is running ({self._cadence(link)})"
                        if next_run
                        else f"when `run` is running: {self._cadence(link)}"
                    ),
                }
            )
        return rows

    def _next_run(self, link: SourceLink, drop: datetime | None, now: datetime) -> datetime | None:
        """The recorded next poll, or the refresh before the next drop if that comes first."""
        if link.next_sync_at is None:  # `run`'s jobs have not looked at this show yet
            return None
        if link.kind == "tvmaze" and drop is not None:
            window_opens = drop - self.intervals.before_drop
            if link.last_attempt_at is None or link.last_attempt_at < window_opens:
                return min(link.next_sync_at, max(now, window_opens))
        return link.next_sync_at

    def _cadence(self, link: SourceLink) -> str:
        if link.kind == "tvmaze":
            return (
                f"TVmaze's changes every {_duration(self.intervals.updates)}, and once in "
                f"the {_duration(self.intervals.before_drop)} before each drop"
            )
        return f"every {_duration(self.intervals.feeds)}"


def format_status(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No show follows a source. Import one with `show import tvmaze:ID`."
    lines = []
    for row in rows:
        where = f"{row['source']}:{row['ref']}"
        lines.append(f"{row['show']}  ({where})")
        lines.append(f"  last sync: {row['last_attempt_at'] or 'never'}")
        if row["error"]:
            lines.append(f"  FAILED: {row['error']} (the catalog was left as it was)")
        else:
            lines.append(f"  result: {row['result'] or '-'}")
        lines.append(f"  next run: {row['next_run']}")
    return "\n".join(lines)


def _iso(instant: datetime | None) -> str | None:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ") if instant else None


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    return f"{minutes // 60:g} h" if minutes % 60 == 0 else f"{minutes} min"


def _source_name(link: SourceLink | None) -> str:
    if link is None:
        return "its source"
    return f"TVmaze (tvmaze:{link.ref})" if link.kind == "tvmaze" else link.shown_ref


def _fetched_state(fetched: Fetched) -> dict[str, Any]:
    state: dict[str, Any] = {"etag": fetched.etag, "last_modified": fetched.last_modified}
    if fetched.show is not None:
        state["source_updated"] = fetched.show.updated
        if fetched.show.page_url:
            state["page_url"] = fetched.show.page_url
    return state
