"""The commands every front end calls: CLI, console, Discord and Slack.

Each method validates its input (bot.validation, bot.schedule), checks the caller's rights
(an `Actor`: who, in which tenant, admin or not), changes the store in one transaction and
answers with a `Reply`. Errors are `BotError`s whose text a user can act on; a failed
command changes nothing.

Scope rules: a show is global (added by the operator) or private to the tenant whose admin
added it. A tenant sees global shows and its own; a tenant admin edits only its own private
shows and subscribes only its own channels. The operator (the CLI) may do everything.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import digest as digests
from bot import schedule, validation
from bot.calendar import CalendarFeeds, FeedScope, feed_answer, feed_url
from bot.clock import Clock
from bot.compose import episode_label, long_date, season_name
from bot.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, UnknownShow
from bot.models import (
    Actor,
    Cadence,
    ChannelRef,
    Digest,
    Episode,
    Season,
    Show,
    Subscription,
    UserRef,
)
from bot.plan import Drop, drops
from bot.replies import Line, Link, Reply, When, line
from bot.store import Store

if TYPE_CHECKING:  # the service calls back into Commands
    from bot.sources.service import SourceService

__all__ = ["Commands", "Reply"]


class Commands:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        on_change: Callable[[], None] | None = None,
        *,
        calendar_base_url: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        # Called after every change to the plan, e.g. to reconcile the scheduler's jobs.
        self.on_change = on_change
        # Where the web server's calendar feeds are reached; None: the web server is off.
        self.calendar_base_url = calendar_base_url
        # Schedule sources (TVmaze, calendar feeds); the composition root sets it. None: off.
        self.sources: SourceService | None = None

    # ================================================================== members

    def subscribe(
        self,
        actor: Actor,
        channel: ChannelRef,
        show: str,
        *,
        before: str | None = None,
        trailers: bool | None = None,
        mention: str | None = None,
        hide_titles: bool | None = None,
    ) -> Reply:
        """Subscribe a channel, or change the options given of an existing subscription.

        An option left as None keeps its value (a new subscription takes the default); an
        empty `before` or `mention` clears it. The answer says what changed.
        """
        self._check_channel(actor, channel)
        target = self._find_show(actor, show)
        reminders = schedule.parse_durations(before) if before is not None else None
        mention_id = validation.parse_mention_id(mention) if mention is not None else None
        old = next(
            (s for s in self.store.subscriptions(channel=channel) if s.show_id == target.id), None
        )
        subscription, created = self.store.subscribe(
            channel,
            target,
            reminders=reminders if reminders is not None else (old.reminders if old else ()),
            trailers=trailers if trailers is not None else (old.trailers if old else True),
            mention=mention_id if mention is not None else (old.mention if old else None),
            hide_titles=(
                hide_titles if hide_titles is not None else (old.hide_titles if old else False)
            ),
            actor=_who(actor),
            now=self.clock.now(),
        )
        self._changed()
        if created or old is None:
            first = f"Subscribed {channel} to {target.title}.{_options_text(subscription)}"
        elif changes := _subscription_changes(old, subscription):
            first = (
                f"Updated the subscription of {channel} to {target.title}: "
                f"{'; '.join(changes)}.{_options_text(subscription)}"
            )
        else:
            first = (
                f"Nothing changed: {channel} already follows {target.title}."
                f"{_options_text(subscription)}"
            )
        lines = [line(first)]
        upcoming = self._next_drops([target]).get(target.id)
        if upcoming:
            season, drop = upcoming
            label = episode_label(season, drop.episodes)
            lines.append(line(f"Next: {label} ", When(drop.release_at, season.timezone), "."))
        trailer = self._latest_trailer(target)
        if trailer:
            lines.append(line("Trailer: ", Link(trailer)))
        return self._reply(actor, lines, data=_subscription_data(subscription, target))

    def unsubscribe(self, actor: Actor, channel: ChannelRef, show: str) -> Reply:
        self._check_channel(actor, channel)
        target = self._find_show(actor, show)
        if not self.store.unsubscribe(channel, target, actor=_who(actor), now=self.clock.now()):
            raise NotFound(
                f"{channel} is not subscribed to {target.title}.",
                hint="See what it follows with `subscriptions`.",
            )
        self._changed()
        return self._reply(actor, f"Unsubscribed {channel} from {target.title}.")

    def subscriptions(self, actor: Actor, channel: ChannelRef | None = None) -> Reply:
        """A channel's subscriptions, or (channel None) every one in the caller's tenant."""
        if channel is not None:
            self._check_tenant(actor, channel)
            found = self.store.subscriptions(channel=channel)
            where = str(channel)
        elif actor.is_operator:
            found = self.store.subscriptions()
            where = "any channel"
        else:
            found = self.store.subscriptions(tenant_key=actor.tenant_key)
            where = "this workspace/server"
        if not found:
            return self._reply(actor, f"No subscriptions in {where}.", data=[])
        shows = {show.id: show for show in self.store.visible_shows(None)}
        lines = [f"{sub.channel}: {shows[sub.show_id].title}{_options_text(sub)}" for sub in found]
        channels = {sub.channel for sub in found}
        lines += [
            f"{d.channel}: weekly digest, {digests.describe(d)}"
            + (" (instead of a post per drop)" if d.only else "")
            for d in self.store.digests()
            if d.channel in channels
        ]
        return self._reply(
            actor,
            "\n".join(lines),
            data=[_subscription_data(sub, shows[sub.show_id]) for sub in found],
        )

    def schedule(self, actor: Actor, show: str, season: int | str | None = None) -> Reply:
        """Every episode of a show (or one season) with local and UTC times."""
        target = self._find_show(actor, show)
        seasons = self.store.seasons_of(target.id)
        if season is not None:
            number = validation.parse_season_number(season)
            seasons = [s for s in seasons if s.number == number]
            if not seasons:
                raise NotFound(
                    f"{target.title} has no season {number}.",
                    hint=f"See its seasons with `schedule {target.title}`.",
                )
        if not seasons:
            return self._reply(
                actor,
                f"{target.title} has no seasons yet.",
                data={"show": _show_data(target), "episodes": []},
            )
        heading = f"{target.title}" + (f" ({target.network})" if target.network else "")
        lines, rows = [line(heading)], []
        link = self.store.show_source(target.id)
        if target.credit and target.source_page:
            lines.append(line(f"{Show.TVMAZE_CREDIT}: ", Link(target.source_page)))
        elif link is not None:
            lines.append(line(f"Follows {link.shown_ref}"))
        episodes_by_season = self.store.episodes_by_season([each.id for each in seasons])
        for each in seasons:
            held = "  [dates held: moved by hand]" if link and each.premiere_held else ""
            lines.append(line(f"Season {season_name(each)}: {each.cadence.describe()}{held}"))
            episodes = episodes_by_season[each.id]
            # Labels padded to the widest (S4E10), so the times line up in columns.
            width = max((len(episode_label(each, [e])) for e in episodes), default=0)
            for episode in episodes:
                row = _episode_data(target, each, episode)
                row.update(_provenance(link.kind if link else None, each, episode))
                rows.append(row)
                title = f"  “{episode.title}”" if episode.title else ""
                notes = ["time estimated"] if episode.time_estimated else []
                notes += [f"{field} held" for field in row["held"]]
                lines.append(
                    line(
                        f"  {episode_label(each, [episode]):<{width}}  ",
                        When(episode.release_at, each.timezone, show_utc=True),
                        title,
                        f"  [{'; '.join(notes)}]" if notes else "",
                    )
                )
        show_data = _show_data(target)
        if link is not None:
            show_data.update(source=link.kind, source_id=link.shown_ref, credit=target.credit)
        return self._reply(actor, lines, data={"show": show_data, "episodes": rows})

    def next(self, actor: Actor, channel: ChannelRef | None = None) -> Reply:
        """The next drop of each show the channel follows (or of every visible show)."""
        if channel is not None:
            self._check_tenant(actor, channel)
            show_ids = {sub.show_id for sub in self.store.subscriptions(channel=channel)}
            shows = [s for s in self._visible(actor) if s.id in show_ids]
        else:
            shows = self._visible(actor)
        upcoming: list[tuple[datetime, Line, dict]] = []
        next_drops = self._next_drops(shows)
        for show in shows:
            found = next_drops.get(show.id)
            if found is not None:
                season, drop = found
                data = _episode_data(show, season, drop.episodes[0])
                text = line(
                    f"{show.title} {episode_label(season, drop.episodes)}: ",
                    When(drop.release_at, season.timezone, show_utc=True),
                    " (time estimated)" if data["time_estimated"] else "",
                )
                upcoming.append((drop.release_at, text, data))
        upcoming.sort(key=lambda item: item[0])
        if not upcoming:
            return self._reply(actor, "Nothing is scheduled.", data=[])
        return self._reply(actor, [text for _, text, _ in upcoming], data=[d for *_, d in upcoming])

    def trailer(self, actor: Actor, show: str) -> Reply:
        target = self._find_show(actor, show)
        url = self._latest_trailer(target)
        if not url:
            raise NotFound(
                f"{target.title} has no trailer yet.",
                hint="An admin can add one with `season trailer`.",
            )
        return self._reply(actor, [line(f"{target.title}: ", Link(url))], data={"url": url})

    def shows(self, actor: Actor, query: str | None = None) -> Reply:
        """The shows visible to the caller, best matches first when a query is given."""
        visible = self._visible(actor)
        if query:
            needle = validation.clean_text(query, "query", max_length=validation.MAX_TITLE)
            visible = _fuzzy(visible, needle, limit=25)
        if not visible:
            hint = (
                "No show matches." if query else "No shows yet. An admin adds one with `show add`."
            )
            return self._reply(actor, hint, data=[])
        lines = [
            f"{show.title}"
            + (f" ({show.network})" if show.network else "")
            + ("" if show.is_global else " [private]")
            for show in visible
        ]
        return self._reply(actor, "\n".join(lines), data=[_show_data(s) for s in visible])

    def complete_show_titles(self, actor: Actor, prefix: str, limit: int = 25) -> list[str]:
        """Titles for autocomplete: matches of what was typed so far, at most `limit`."""
        visible = self._visible(actor)
        text = " ".join(prefix.split())[: validation.MAX_TITLE]
        matches = _fuzzy(visible, text, limit=limit) if text else visible[:limit]
        return [show.title for show in matches[:limit]]

    # ================================================================== admins

    def show_add(
        self,
        actor: Actor,
        title: str,
        *,
        network: str | None = None,
        tz: str | None = None,
        time: str | None = None,
    ) -> Reply:
        self._check_admin(actor)
        clean_title = validation.parse_title(title)
        # `is not None`: an empty --tz "" is a mistake to report, not "use the default".
        zone = schedule.load_zone(tz if tz is not None else "UTC")
        release_time = validation.parse_time(time if time is not None else "00:00")
        show = self.store.add_show(
            clean_title,
            network=validation.parse_network(network),
            timezone=zone.key,
            release_time=release_time,
            tenant_key=None if actor.is_operator else actor.tenant_key,
            actor=_who(actor),
            now=self.clock.now(),
        )
        scope = "for everyone" if show.is_global else "for this workspace/server only"
        return self._reply(
            actor,
            f"Added {show.title} ({show.timezone}, {show.release_time:%H:%M}) {scope}.",
            data=_show_data(show),
        )

    def season_add(
        self,
        actor: Actor,
        show: str,
        number: int | str,
        *,
        premiere: str,
        episodes: int | str,
        every: str | None = None,
        all_at_once: bool = False,
        premiere_episodes: int | str = 1,
        time: str | None = None,
        tz: str | None = None,
        trailer: str | None = None,
        title: str | None = None,
        dates: list[str] | None = None,
    ) -> Reply:
        self._check_admin(actor)
        target = self._find_show(actor, show)
        self._check_can_edit(actor, target)
        season_number = validation.parse_season_number(number)
        premiere_date = validation.parse_date(premiere, "premiere")
        count = validation.parse_episode_count(episodes)
        at_premiere = validation.parse_int(
            premiere_episodes, "premiere episodes", minimum=1, maximum=validation.MAX_EPISODES
        )
        cadence = _cadence(every, all_at_once, dates, premiere_date)
        if cadence.kind == "dates" and at_premiere != 1:
            raise InvalidInput(
                "premiere episodes",
                "--premiere-episodes does not go with explicit dates.",
                hint="Give the premiere date once per episode that drops at the premiere.",
            )
        zone = schedule.load_zone(tz if tz is not None else target.timezone)
        release_time = validation.parse_time(time) if time is not None else target.release_time
        trailer_url = validation.parse_url(trailer) if trailer is not None else None
        season_title = validation.parse_season_title(title)
        instants = schedule.release_instants(
            premiere_date, count, cadence, at_premiere, release_time, zone
        )
        if self.store.get_season(target.id, season_number):
            # Checked before writing so the answer is the same on every store; the UNIQUE
            # constraint still guards against a race.
            raise AlreadyExists(
                f'"{target.title}" already has a season {season_number}.',
                hint="Move it with `season move`, or remove it first with `season remove`.",
            )
        season = self.store.add_season(
            target,
            number=season_number,
            premiere=premiere_date,
            episode_count=count,
            cadence=cadence,
            premiere_episodes=at_premiere,
            release_time=release_time,
            timezone=zone.key,
            trailer_url=trailer_url,
            title=season_title,
            release_instants=instants,
            actor=_who(actor),
            now=self.clock.now(),
        )
        self._changed()
        episodes_added = self.store.episodes_of(season.id)
        first, last = episodes_added[0], episodes_added[-1]
        return self._reply(
            actor,
            [
                line(
                    f"Added {target.title} season {season.number}: {count} episodes, "
                    f"{cadence.describe()}, from ",
                    When(first.release_at, season.timezone),
                    " to ",
                    When(last.release_at, season.timezone),
                    ".",
                )
            ],
            data={
                "show": _show_data(target),
                "season": season.number,
                "episodes": [_episode_data(target, season, e) for e in episodes_added],
            },
        )

    def season_move(self, actor: Actor, show: str, number: int | str, *, premiere: str) -> Reply:
        """Move a season's premiere; its unreleased, not hand-set episodes follow."""
        self._check_admin(actor)
        target = self._find_show(actor, show)
        self._check_can_edit(actor, target)
        season = self._find_season(target, number)
        new_premiere = validation.parse_date(premiere, "premiere")
        if new_premiere == season.premiere:
            raise InvalidInput(
                "premiere",
                f"Season {season.number} already premieres on {new_premiere}.",
                hint="Give the new premiere date.",
            )
        if season.cadence.kind == "dates":
            cadence = Cadence(
                "dates",
                dates=tuple(
                    schedule.shift_dates(list(season.cadence.dates), season.premiere, new_premiere)
                ),
            )
        else:
            cadence = season.cadence
        instants = schedule.release_instants(
            new_premiere,
            season.episode_count,
            cadence,
            season.premiere_episodes,
            season.release_time,
            schedule.load_zone(season.timezone),
        )
        now = self.clock.now()
        episodes = self.store.episodes_of(season.id)
        moves = {
            episode.id: instant
            for episode, instant in zip(episodes, instants, strict=True)
            if not episode.manual and episode.release_at != instant
        }
        moved = self.store.move_season(
            season,
            premiere=new_premiere,
            cadence=cadence,
            new_release_at=moves,
            show=target,
            actor=_who(actor),
            now=now,
        )
        self._changed()
        return self._reply(
            actor,
            f"Moved {target.title} season {season.number} from {long_date(season.premiere)} "
            f"to {long_date(new_premiere)}; {moved} episode(s) rescheduled.",
            data={"moved_episodes": moved, "premiere": new_premiere.isoformat()},
        )

    def season_trailer(self, actor: Actor, show: str, number: int | str, url: str) -> Reply:
        self._check_admin(actor)
        target = self._find_show(actor, show)
        self._check_can_edit(actor, target)
        season = self._find_season(target, number)
        trailer_url = validation.parse_url(url)
        self.store.set_trailer(
            season, trailer_url, show=target, actor=_who(actor), now=self.clock.now()
        )
        self._changed()
        return self._reply(
            actor,
            [line(f"Trailer set for {target.title} season {season.number}: ", Link(trailer_url))],
        )

    def season_remove(self, actor: Actor, show: str, number: int | str) -> Reply:
        self._check_admin(actor)
        target = self._find_show(actor, show)
        self._check_can_edit(actor, target)
        season = self._find_season(target, number)
        self.store.remove_season(season, show=target, actor=_who(actor), now=self.clock.now())
        self._changed()
        return self._reply(
            actor, f"Removed {target.title} season {season.number} and everything planned for it."
        )

    def episode_set(
        self,
        actor: Actor,
        show: str,
        season: int | str,
        episode: int | str,
        *,
        title: str | None = None,
        date: str | None = None,
        time: str | None = None,
    ) -> Reply:
        """Give an episode a title, or move it by hand (a later season move leaves it be)."""
        self._check_admin(actor)
        target = self._find_show(actor, show)
        self._check_can_edit(actor, target)
        found_season = self._find_season(target, season)
        number = validation.parse_episode_number(episode)
        found = [e for e in self.store.episodes_of(found_season.id) if e.number == number]
        if not found:
            raise NotFound(
                f"{target.title} season {found_season.number} has no episode {number}.",
                hint=f"It has episodes 1 to {found_season.episode_count}.",
            )
        if title is None and date is None and time is None:
            raise InvalidInput(
                "episode", "Nothing to change.", hint="Give a title, a date or a time."
            )
        new_title = validation.parse_episode_title(title) if title is not None else None
        release_at = None
        if date is not None or time is not None:
            zone = schedule.load_zone(found_season.timezone)
            current_local = found[0].release_at.astimezone(zone)
            release_at = schedule.resolve_local(
                validation.parse_date(date) if date else current_local.date(),
                validation.parse_time(time) if time else current_local.time(),
                zone,
            )
        self.store.set_episode(
            found[0],
            title=new_title,
            release_at=release_at,
            show=target,
            season=found_season,
            actor=_who(actor),
            now=self.clock.now(),
        )
        self._changed()
        updated = next(e for e in self.store.episodes_of(found_season.id) if e.number == number)
        title = f" “{updated.title}”" if updated.title else ""
        return self._reply(
            actor,
            [
                line(
                    f"{target.title} {episode_label(found_season, [updated])}{title}: ",
                    When(updated.release_at, found_season.timezone, show_utc=True),
                    ".",
                )
            ],
            data=_episode_data(target, found_season, updated),
        )

    # ================================================================== schedule sources

    async def show_import(
        self,
        actor: Actor,
        source: str,
        show: str | None = None,
        tz: str | None = None,
        time: str | None = None,
        specials: bool = False,
    ) -> Reply:
        """A show that keeps itself up to date from TVmaze or a calendar feed (awaits: the
        source is read over HTTP)."""
        return await self._sources().import_show(
            actor, source, show=show, tz=tz, time=time, specials=specials
        )

    async def sources_sync(self, actor: Actor, show: str | None = None) -> Reply:
        """Sync a show (or every show the caller may edit) with its source now."""
        return await self._sources().sync(actor, show)

    def _sources(self) -> SourceService:
        if self.sources is None:
            raise InvalidInput(
                "source",
                "Schedule sources are not available here.",
                hint="Ask the bot's operator; `episode-bot show import` works from the CLI.",
            )
        return self.sources

    def sources_release(
        self,
        actor: Actor,
        show: str,
        season: int | str | None = None,
        episode: int | str | None = None,
    ) -> Reply:
        """Give fields set by hand back to the show's source: the next sync applies it."""
        target = self.editable_show(actor, show)
        link = self.store.show_source(target.id)
        if link is None:
            raise InvalidInput(
                "show",
                f"{target.title} does not follow a source: nothing is held.",
                hint="Import it with `show import` to follow TVmaze or a calendar feed.",
            )
        found = self._find_season(target, season) if season is not None else None
        if episode is not None and found is None:
            raise InvalidInput("episode", "Which season?", hint="Give --season with --episode.")
        number = validation.parse_episode_number(episode) if episode is not None else None
        released = self.store.release_holds(
            target, season=found, episode_number=number, actor=_who(actor), now=self.clock.now()
        )
        scope = target.title
        if found is not None:
            scope += f" season {found.number}" + (f" episode {number}" if number else "")
        if not released:
            return self._reply(actor, f"Nothing of {scope} was held.", data={"released": 0})
        return self._reply(
            actor,
            f"Released {released} hand edit(s) of {scope}: the next sync applies the source's "
            f"values (run `sources sync {target.title}` to do it now).",
            data={"released": released},
        )

    def require_admin(self, actor: Actor) -> None:
        self._check_admin(actor)

    def visible_shows(self, actor: Actor) -> list[Show]:
        return self._visible(actor)

    def visible_show(self, actor: Actor, title: str) -> Show | None:
        """The show called `title` that the caller sees, or None."""
        try:
            return self._find_show(actor, title)
        except UnknownShow:
            return None

    def editable_show(self, actor: Actor, title: str) -> Show:
        """The show called `title`, if the caller is an admin who may change it."""
        self._check_admin(actor)
        target = self._find_show(actor, title)
        self._check_can_edit(actor, target)
        return target

    def check_can_edit(self, actor: Actor, show: Show) -> None:
        self._check_can_edit(actor, show)

    @staticmethod
    def can_edit(actor: Actor, show: Show) -> bool:
        """The one rule for who may change a show: the operator, or the show's own
        server/workspace (a global show belongs to no tenant, so only the operator)."""
        return actor.is_operator or show.tenant_key == actor.tenant_key

    def reply(self, actor: Actor, content: str | list[Line], *, data: Any = None) -> Reply:
        return self._reply(actor, content, data=data)

    def notify_changed(self) -> None:
        """The catalog changed outside a command (a sync): re-plan."""
        self._changed()

    # ================================================================== platform events

    def pause_channel(self, channel: ChannelRef, reason: str) -> int:
        """The platform says the channel is gone or closed to the bot: stop posting there."""
        paused = self.store.pause_subscriptions(reason, channel=channel)
        if paused:
            self._changed()
        return paused

    def pause_tenant(self, platform: str, tenant: str, reason: str) -> int:
        """The bot was removed from a server / uninstalled from a workspace."""
        paused = self.store.pause_subscriptions(reason, tenant_key=f"{platform}:{tenant}")
        if paused:
            self._changed()
        return paused

    # ================================================================== calendar feeds

    def calendar_url(
        self, actor: Actor, channel: ChannelRef, *, server: bool = False, rotate: bool = False
    ) -> Reply:
        """The secret calendar feed URL of a channel, or (`server`) of every channel of the
        caller's server/workspace; `rotate` revokes the old URL. Only the asker sees it."""
        self._check_tenant(actor, channel)
        if server:
            self._check_admin(actor)  # a whole tenant's calendar is the admins' to hand out
            scope = FeedScope(channel.platform, channel.tenant)
        else:
            scope = FeedScope.of_channel(channel)
            if rotate:
                self._check_channel(actor, channel)
        if self.calendar_base_url is None:
            raise NotFound(
                "Calendar feeds are off: the bot's web server is not running.",
                hint="Ask the bot's operator to set EPISODE_BOT_WEB_PORT.",
            )
        # "The previous one no longer works" only if there was one.
        replaced = rotate and self.store.calendar_token(scope.key) is not None
        token = CalendarFeeds(self.store, self.clock).token_for(scope, rotate=rotate)
        lines = feed_answer(scope, self.calendar_base_url, token, rotated=replaced)
        page = feed_url(self.calendar_base_url, token, ics=False)
        # The last two lines are the page and the feed: links, so no platform escapes them.
        *text, _page_line, url = lines  # feed_answer ends with "Page: …" and the feed
        content = [*(line(each) for each in text), line("Page: ", Link(page)), line(Link(url))]
        return self._reply(actor, content, data={"url": url, "page": page})

    # ================================================================== helpers

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _reply(self, actor: Actor, content: str | list[Line], *, data: Any = None) -> Reply:
        """`content`: plain text, or lines with their instants and links."""
        lines = Reply.say(content).lines if isinstance(content, str) else tuple(content)
        return Reply(lines, data=data, notices=self._notices(actor))

    def _notices(self, actor: Actor) -> tuple[str, ...]:
        """Paused subscriptions in the admin's tenant, and the member's own paused follows:
        told every time until mended."""
        if actor.is_operator:
            return ()
        notices = self._follow_notices(actor)
        if not actor.is_admin:
            return notices
        paused = self.store.subscriptions(tenant_key=actor.tenant_key, paused_only=True)
        if not paused:
            return notices
        titles = {show.id: show.title for show in self._visible(actor)}
        return notices + tuple(
            f"Posts about {titles.get(sub.show_id, 'a show')} in {sub.channel} are paused: "
            f"{sub.paused_reason}. Fix it, then subscribe again to resume."
            for sub in paused
        )

    def _visible(self, actor: Actor) -> list[Show]:
        return self.store.visible_shows(None if actor.is_operator else actor.tenant_key)

    def _find_show(self, actor: Actor, title: str) -> Show:
        wanted = " ".join((title or "").split()).casefold()
        if not wanted:
            raise InvalidInput("show", "Which show?", hint="Give the show's title.")
        visible = self._visible(actor)
        matches = [show for show in visible if show.title.casefold() == wanted]
        if not matches:
            raise UnknownShow(
                " ".join(title.split())[:100], [s.title for s in _fuzzy(visible, wanted, limit=3)]
            )
        # A tenant's own private show wins over a global one of the same title.
        matches.sort(key=lambda show: show.is_global)
        return matches[0]

    def _find_season(self, show: Show, number: int | str) -> Season:
        season_number = validation.parse_season_number(number)
        season = self.store.get_season(show.id, season_number)
        if season is None:
            known = [s.number for s in self.store.seasons_of(show.id)]
            raise NotFound(
                f"{show.title} has no season {season_number}.",
                hint=(
                    f"Its seasons: {', '.join(map(str, known))}."
                    if known
                    else "Add one with `season add`."
                ),
            )
        return season

    def _check_admin(self, actor: Actor) -> None:
        if not (actor.is_admin or actor.is_operator):
            raise PermissionDenied(
                "Only admins can do that.",
                hint="Ask someone who can manage this server/workspace.",
            )

    def _check_can_edit(self, actor: Actor, show: Show) -> None:
        if self.can_edit(actor, show):
            return
        raise PermissionDenied(
            f"{show.title} is shared by every server and workspace; only the bot's operator "
            "can change it.",
            hint="Ask the operator, or add a private show of your own with `show add`.",
        )

    def _check_tenant(self, actor: Actor, channel: ChannelRef) -> None:
        if not actor.is_operator and channel.tenant_key != actor.tenant_key:
            raise PermissionDenied(
                "That channel belongs to another server/workspace.",
                hint="Use the command in the channel you want to change.",
            )

    def _check_channel(self, actor: Actor, channel: ChannelRef) -> None:
        self._check_tenant(actor, channel)
        if not (actor.can_manage_channels or actor.is_admin or actor.is_operator):
            raise PermissionDenied(
                "You need the right to manage this channel to change its subscriptions.",
                hint="Ask a moderator or an admin.",
            )

    def _next_drops(self, shows: list[Show]) -> dict[int, tuple[Season, Drop]]:
        """Each show's first drop after now (of any season), read in one batch; shows with
        nothing upcoming are absent."""
        now = self.clock.now()
        best: dict[int, tuple[Season, Drop]] = {}
        for show, season, episodes in self.store.seasons_releasing_after(
            [show.id for show in shows], now
        ):
            for drop in drops(show, season, episodes):
                if drop.release_at > now:
                    found = best.get(show.id)
                    if found is None or drop.release_at < found[1].release_at:
                        best[show.id] = (season, drop)
                    break
        return best

    def _latest_trailer(self, show: Show) -> str | None:
        urls = [s.trailer_url for s in self.store.seasons_of(show.id) if s.trailer_url]
        return urls[-1] if urls else None

    # ================================================================== follows and digests

    def follow(
        self,
        actor: Actor,
        show: str | int,
        *,
        before: str | None = None,
        user: UserRef | None = None,
    ) -> Reply:
        """Follow a show (a title, or an id from a "Notify me" button): its drops and the
        reminders asked for, in the member's DMs.

        A member follows for themselves, any show visible where they ask; the operator (CLI)
        names the `user`, and a private show only for a member of that show's platform."""
        member = self._member(actor, user)
        target = (
            self._show_by_id(actor, show) if isinstance(show, int) else self._find_show(actor, show)
        )
        followed_in = actor.tenant_key
        if actor.is_operator:
            followed_in = target.tenant_key or ""
            if target.tenant_key and not target.tenant_key.startswith(f"{member.platform}:"):
                raise PermissionDenied(
                    f"{target.title} is private to another platform's server or workspace.",
                    hint="Follow a show that member can see.",
                )
            private_elsewhere = target.tenant_key not in (None, member.inbox.tenant_key)
            if member.platform == "slack" and private_elsewhere:
                raise PermissionDenied(
                    f"{target.title} is private to another workspace.",
                    hint="Follow a show that member can see.",
                )
        reminders = schedule.parse_durations(before)
        if before is None:  # a "Notify me" click keeps the reminders chosen earlier
            earlier = [sub for sub, _ in self.store.follows(member) if sub.show_id == target.id]
            reminders = earlier[0].reminders if earlier else ()
        subscription, created = self.store.follow(
            member,
            target,
            reminders=reminders,
            followed_in=followed_in,
            actor=_who(actor),
            now=self.clock.now(),
        )
        self._changed()
        you = "You" if not actor.is_operator else str(member)
        stop = "Stop: /episodes unfollow" if not actor.is_operator else "Stop: unfollow"
        upcoming = self._next_drops([target]).get(target.id)
        when = (
            f"when {episode_label(upcoming[0], upcoming[1].episodes)} drops"
            if upcoming
            else f"when {target.title} has a new episode"
        )
        if created:
            text = f"{you} will get a direct message {when}{_follow_options(subscription)}. {stop}"
        else:
            text = f"{you} already follow{'' if you == 'You' else 's'} {target.title}"
            text += f"{_follow_options(subscription)}: a direct message {when}. {stop}"
        data = {**_follow_data(subscription, target, followed_in), "created": created}
        return self._reply(actor, text, data=data)

    def unfollow(self, actor: Actor, show: str | int, *, user: UserRef | None = None) -> Reply:
        """Stop following a show (a title, or an id from a DM's "Unfollow" button, which
        works wherever the member clicks it: only their own follow is touched)."""
        member = self._member(actor, user)
        if isinstance(show, int):
            followed = {sub.show_id for sub, _ in self.store.follows(member)}
            target = self.store.get_show(show) if show in followed else None
            if target is None:
                raise NotFound("You no longer follow that show.", hint="See `following`.")
        else:
            target = self._find_show(actor, show)
        if not self.store.unfollow(member, target, actor=_who(actor), now=self.clock.now()):
            raise NotFound(
                f"{'You do' if not actor.is_operator else f'{member} does'} not follow "
                f"{target.title}.",
                hint="See the shows followed with `following`.",
            )
        self._changed()
        who = "You" if not actor.is_operator else str(member)
        return self._reply(actor, f"{who} no longer get direct messages about {target.title}.")

    def following(self, actor: Actor, *, user: UserRef | None = None) -> Reply:
        """What a member follows: only they (and the operator) may ask."""
        member = self._member(actor, user)
        found = self.store.follows(member)
        who = "You follow" if not actor.is_operator else f"{member} follows"
        if not found:
            return self._reply(actor, f"{who} no shows.", data=[])
        shows = {show.id: show for show in self.store.visible_shows(None)}
        lines = [f"{who}:"] + [
            f"- {shows[sub.show_id].title}{_follow_options(sub)}" for sub, _ in found
        ]
        data = [_follow_data(sub, shows[sub.show_id], where) for sub, where in found]
        return self._reply(actor, "\n".join(lines), data=data)

    def forget_me(self, actor: Actor, *, user: UserRef | None = None) -> Reply:
        """Delete every follow of the member and the direct messages not sent yet."""
        member = self._member(actor, user)
        follows, unsent = self.store.forget_user(member, now=self.clock.now())
        if follows:
            self._changed()
        text = (
            f"Deleted {follows} follow{'s' if follows != 1 else ''} and {unsent} direct "
            f"message{'s' if unsent != 1 else ''} not yet sent. The bot keeps nothing about "
            "what you followed."
        )
        return self._reply(actor, text, data={"follows": follows, "unsent": unsent})

    def digest(
        self,
        actor: Actor,
        channel: ChannelRef,
        when: str,
        *,
        tz: str | None = None,
        only: bool = False,
    ) -> Reply:
        """Set a channel's weekly digest ("monday 09:00"), or turn it off ("off")."""
        self._check_channel(actor, channel)
        if (when or "").strip().casefold() == "off":
            if not self.store.remove_digest(channel, actor=_who(actor), now=self.clock.now()):
                raise NotFound(f"{channel} has no weekly digest.", hint='Set one: "monday 09:00".')
            self._changed()
            return self._reply(actor, f"No more weekly digest in {channel}.")
        weekday, at = digests.parse_when(when)
        zone = schedule.load_zone(tz or "UTC").key
        digest = Digest(channel=channel, weekday=weekday, at=at, timezone=zone, only=only)
        self.store.set_digest(digest, actor=_who(actor), now=self.clock.now())
        self._changed()
        first = digests.next_instant(digest, self.clock.now())
        instead = " instead of a post per drop" if only else ""
        lines = [
            line(
                f"{channel} gets a weekly digest{instead}: {digests.describe(digest)} (next ",
                When(first, zone),
                "). A week without drops posts nothing.",
            )
        ]
        return self._reply(actor, lines, data=_digest_data(digest))

    def _show_by_id(self, actor: Actor, show_id: int) -> Show:
        for show in self._visible(actor):
            if show.id == show_id:
                return show
        raise NotFound("That show is not available here.", hint="List the shows with `shows`.")

    def _member(self, actor: Actor, user: UserRef | None) -> UserRef:
        """Whose follows: the operator names anyone; a member only ever acts for themselves."""
        if actor.is_operator:
            if user is None:
                raise InvalidInput(
                    "user", "Whose follows?", hint="Name the user, e.g. discord-user:ID."
                )
            return user
        return UserRef.of_actor(actor)

    def _follow_notices(self, actor: Actor) -> tuple[str, ...]:
        paused = [
            sub for sub, _ in self.store.follows(UserRef.of_actor(actor)) if sub.paused_reason
        ]
        if not paused:  # every chat command asks: read the catalog only when there is news
            return ()
        titles = {show.id: show.title for show in self.store.visible_shows(None)}
        return tuple(
            f"Your direct messages about {titles.get(sub.show_id, 'a show')} are paused: "
            f"{sub.paused_reason}. Let the bot message you, then follow again to resume."
            for sub in paused
        )


# ---------------------------------------------------------------------- module helpers


def _who(actor: Actor) -> str:
    return f"{actor.platform}:{actor.tenant}:{actor.user_id}"


def _cadence(
    every: str | None, all_at_once: bool, dates: list[str] | None, premiere: Any
) -> Cadence:
    chosen = sum(bool(x) for x in (every, all_at_once, dates))
    if chosen > 1:
        raise InvalidInput(
            "cadence",
            "Choose one schedule: --every DAY, --all-at-once or explicit dates.",
            hint="E.g. --every friday.",
        )
    if all_at_once:
        return Cadence("all_at_once")
    if dates:
        return Cadence("dates", dates=tuple(validation.parse_date(d) for d in dates))
    if every:
        return Cadence("weekly", weekday=validation.parse_weekday(every))
    return Cadence("weekly", weekday=premiere.weekday())


def _fuzzy(shows: list[Show], query: str, *, limit: int) -> list[Show]:
    """Substring matches first (in title order), then close spellings."""
    needle = query.casefold()
    by_key = {show.title.casefold(): show for show in shows}
    hits = [show for show in shows if needle in show.title.casefold()]
    close = difflib.get_close_matches(needle, list(by_key), n=limit, cutoff=0.6)
    for key in close:
        if by_key[key] not in hits:
            hits.append(by_key[key])
    return hits[:limit]


def _show_data(show: Show) -> dict:
    return {
        "id": show.id,
        "title": show.title,
        "network": show.network,
        "timezone": show.timezone,
        "time": f"{show.release_time:%H:%M}",
        "scope": "global" if show.is_global else "private",
    }


def _episode_data(show: Show, season: Season, episode: Episode) -> dict:
    """TVmaze's vocabulary: airdate and airtime are local, airstamp is the instant."""
    local = episode.release_at.astimezone(schedule.load_zone(season.timezone))
    return {
        "show": show.title,
        "season": season.number,
        "number": episode.number,
        "title": episode.title,
        "airdate": local.date().isoformat(),
        "airtime": f"{local:%H:%M}",
        "timezone": season.timezone,
        "airstamp": episode.release_at.isoformat().replace("+00:00", "Z"),
        "airstamp_utc": f"{episode.release_at:%Y-%m-%d %H:%M} UTC",
        "local": f"{local:%a %d %b %Y %H:%M} {local.tzname()}",
        "season_title": season.title,
        # The source gave a date only: the time is the show's usual one.
        "time_estimated": episode.time_estimated,
    }


def _provenance(source: str | None, season: Season, episode: Episode) -> dict:
    """Where an episode's fields come from (the source, or an admin) and which are held:
    set by hand on a show that follows a source, so a sync leaves them alone."""
    from_source = source if source and episode.source_id else "admin"
    dates_held = episode.manual or season.premiere_held
    held = []
    if source and dates_held:
        held.append("airstamp")
    if source and episode.title_held:
        held.append("title")
    return {
        "from": {
            "airstamp": "admin" if dates_held else from_source,
            "title": "admin" if episode.title_held else from_source,
        },
        "held": held,
        "source_id": episode.source_id,
    }


def _options_text(subscription: Subscription) -> str:
    options = []
    if subscription.reminders:
        options.append(
            "reminders " + ", ".join(schedule.format_duration(s) for s in subscription.reminders)
        )
    if not subscription.trailers:
        options.append("no trailers")
    if subscription.mention:
        options.append("mentions a role")
    if subscription.hide_titles:
        options.append("titles hidden")
    if subscription.paused_reason:
        options.append(f"PAUSED: {subscription.paused_reason}")
    return f" ({'; '.join(options)})" if options else ""


def _subscription_data(subscription: Subscription, show: Show) -> dict:
    return {
        "channel": str(subscription.channel),
        "show": show.title,
        "reminders": [schedule.format_duration(s) for s in subscription.reminders],
        "trailers": subscription.trailers,
        "mention": subscription.mention,
        "hide_titles": subscription.hide_titles,
        "paused": subscription.paused_reason,
    }


def _follow_options(subscription: Subscription) -> str:
    options = []
    if subscription.reminders:
        reminders = ", ".join(schedule.format_duration(s) for s in subscription.reminders)
        options.append(f"and {reminders} before")
    if subscription.paused_reason:
        options.append(f"PAUSED: {subscription.paused_reason}")
    return f" ({'; '.join(options)})" if options else ""


def _follow_data(subscription: Subscription, show: Show, followed_in: str) -> dict:
    return {
        "user": str(subscription.channel),
        "show": show.title,
        "reminders": [schedule.format_duration(s) for s in subscription.reminders],
        "followed_in": followed_in or None,
        "paused": subscription.paused_reason,
    }


def _digest_data(digest: Digest) -> dict:
    return {
        "channel": str(digest.channel),
        "weekday": digest.weekday,
        "time": f"{digest.at:%H:%M}",
        "timezone": digest.timezone,
        "only": digest.only,
    }


def _subscription_changes(old: Subscription, new: Subscription) -> list[str]:
    """What a second `subscribe` changed, in words ("reminders 1h -> 1d", "trailers off")."""

    def reminders(sub: Subscription) -> str:
        return ", ".join(schedule.format_duration(s) for s in sub.reminders) or "none"

    changes = []
    if old.reminders != new.reminders:
        changes.append(f"reminders {reminders(old)} -> {reminders(new)}")
    if old.trailers != new.trailers:
        changes.append("trailers on" if new.trailers else "trailers off")
    if old.mention != new.mention:
        changes.append("mentions a role" if new.mention else "mentions nobody")
    if old.hide_titles != new.hide_titles:
        changes.append("titles hidden" if new.hide_titles else "titles shown")
    if old.paused_reason and not new.paused_reason:
        changes.append(f"resumed (it was paused: {old.paused_reason})")
    return changes
