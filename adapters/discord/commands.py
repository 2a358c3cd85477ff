"""The slash commands: `/episodes …` for members and `/episodes-admin …` for server managers.

Only declarations live here: typed options (so Discord validates ranges and choices before
we see them) and autocomplete. Each callback hands its options, by name, to the command's
entry in the catalogue (bot/catalogue.py); tests/adapters/discord/test_catalogue.py holds
these declarations to the catalogue (names, types, limits, choices, groups). The core
validates every value again (autocomplete is a suggestion, not a guarantee).
"""

from __future__ import annotations

import functools
import logging
import secrets
import zoneinfo
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice, Range

from adapters.discord.interactions import (
    AUTOCOMPLETE_LIMIT,
    NOT_GIVEN,
    CommandRunner,
    answer,
    apology,
)
from bot import catalogue
from bot.commands import Commands, Reply
from bot.models import WEEKDAYS

log = logging.getLogger(__name__)

BEFORE_CHOICES = [
    Choice(name="no reminder", value=NOT_GIVEN),
    Choice(name="1 hour before", value="1h"),
    Choice(name="1 day before", value="1d"),
    Choice(name="1 day and 1 hour before", value="1d,1h"),
]
WEEKDAY_CHOICES = [Choice(name=day.capitalize(), value=day) for day in WEEKDAYS]

Show = Range[str, 1, 100]
SeasonNumber = Range[int, 1, 1000]
EpisodeNumber = Range[int, 1, 500]


@functools.cache
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


async def complete_timezone(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
    """IANA names containing what was typed, prefix matches first (<= 25)."""
    needle = current.strip().lower().replace(" ", "_")
    names = _timezones()
    prefix = [n for n in names if n.lower().startswith(needle)]
    rest = [n for n in names if needle in n.lower() and not n.lower().startswith(needle)]
    return [Choice(name=n, value=n) for n in (prefix + rest)[:AUTOCOMPLETE_LIMIT]]


class EpisodesGroup(app_commands.Group):
    """`/episodes`: what any member can do; (un)subscribing needs a channel permission."""

    def __init__(self, runner: CommandRunner) -> None:
        super().__init__(name="episodes", description="Never miss a new episode in this channel")
        self.runner = runner

    async def _shows(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return await self.runner.complete_shows(interaction, current)

    @app_commands.command(name="subscribe", description="Post a show's new episodes here")
    @app_commands.describe(
        show="The show",
        before="Also remind before each episode",
        mention="A role to ping with each post (off by default)",
        trailers="Also post trailers and season announcements",
        hide_titles="Hide episode titles behind spoiler tags",
    )
    @app_commands.choices(before=BEFORE_CHOICES)
    async def subscribe(
        self,
        interaction: discord.Interaction,
        show: Show,
        before: Choice[str] | None = None,
        mention: discord.Role | None = None,
        trailers: bool | None = None,  # not given: a new subscription posts them,
        hide_titles: bool | None = None,  # an existing one keeps what it had
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SUBSCRIBE, _options(locals()))

    @app_commands.command(name="unsubscribe", description="Stop posting a show here")
    async def unsubscribe(self, interaction: discord.Interaction, show: Show) -> None:
        await self.runner.invoke(interaction, catalogue.UNSUBSCRIBE, _options(locals()))

    @app_commands.command(name="subscriptions", description="The shows this channel follows")
    @app_commands.describe(everywhere="List every channel of this server")
    async def subscriptions(
        self, interaction: discord.Interaction, everywhere: bool = False
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SUBSCRIPTIONS, _options(locals()))

    @app_commands.command(name="schedule", description="A show's episodes and release times")
    async def schedule(
        self, interaction: discord.Interaction, show: Show, season: SeasonNumber | None = None
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SCHEDULE, _options(locals()))

    @app_commands.command(name="next", description="The next drops for this channel's shows")
    async def next_(self, interaction: discord.Interaction) -> None:
        await self.runner.invoke(interaction, catalogue.NEXT, _options(locals()))

    @app_commands.command(name="trailer", description="A show's latest trailer")
    async def trailer(self, interaction: discord.Interaction, show: Show) -> None:
        await self.runner.invoke(interaction, catalogue.TRAILER, _options(locals()))

    @app_commands.command(name="shows", description="Shows you can subscribe to")
    @app_commands.describe(query="Part of a title")
    async def shows(
        self, interaction: discord.Interaction, query: Range[str, 0, 100] | None = None
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SHOWS, _options(locals()))

    @app_commands.command(name="calendar", description="This channel's calendar feed URL")
    @app_commands.describe(
        server="Every channel of this server (admins)",
        rotate="Revoke the current URL and issue a new one",
    )
    async def calendar(
        self, interaction: discord.Interaction, server: bool = False, rotate: bool = False
    ) -> None:
        await self.runner.invoke(interaction, catalogue.CALENDAR, _options(locals()))

    @app_commands.command(name="follow", description="Get a show's new episodes by direct message")
    @app_commands.describe(show="The show", before="Also remind you before each episode")
    @app_commands.choices(before=BEFORE_CHOICES)
    async def follow(
        self, interaction: discord.Interaction, show: Show, before: Choice[str] | None = None
    ) -> None:
        await self.runner.invoke(interaction, catalogue.FOLLOW, _options(locals()))

    @app_commands.command(name="unfollow", description="No more direct messages about a show")
    async def unfollow(self, interaction: discord.Interaction, show: Show) -> None:
        await self.runner.invoke(interaction, catalogue.UNFOLLOW, _options(locals()))

    @app_commands.command(name="following", description="The shows you follow (only you see it)")
    async def following(self, interaction: discord.Interaction) -> None:
        await self.runner.invoke(interaction, catalogue.FOLLOWING, _options(locals()))

    @app_commands.command(
        name="forget-me", description="Delete every follow of yours and your pending messages"
    )
    async def forget_me(self, interaction: discord.Interaction) -> None:
        await self.runner.invoke(interaction, catalogue.FORGET_ME, _options(locals()))

    @app_commands.command(name="digest", description="One post a week listing this channel's drops")
    @app_commands.describe(
        when='A weekday and a time, e.g. "monday 09:00"; or off',
        timezone="The time's timezone (IANA; default UTC)",
        only="The digest replaces the post for each drop",
    )
    async def digest(
        self,
        interaction: discord.Interaction,
        when: Range[str, 2, 40],
        timezone: str | None = None,
        only: bool = False,
    ) -> None:
        await self.runner.invoke(interaction, catalogue.DIGEST, _options(locals()))

    subscribe.autocomplete("show")(_shows)
    unsubscribe.autocomplete("show")(_shows)
    schedule.autocomplete("show")(_shows)
    trailer.autocomplete("show")(_shows)
    follow.autocomplete("show")(_shows)
    unfollow.autocomplete("show")(_shows)
    digest.autocomplete("timezone")(complete_timezone)


class AdminGroup(app_commands.Group):
    """`/episodes-admin`: the catalog of this server's shows and seasons.

    `default_permissions(manage_guild)` only hides the group from members by default (owners
    can change that in Server Settings > Integrations); every command checks the member's
    permissions again through `CommandRunner.run(admin=True)`. Every command changes the
    schedule, so each runs with `slow=True` (deferred, answered with followups).
    """

    show = app_commands.Group(name="show", description="Add shows")
    season = app_commands.Group(name="season", description="Add, move and remove seasons")
    episode = app_commands.Group(name="episode", description="Fix one episode")
    sources = app_commands.Group(
        name="sources", description="Shows that follow TVmaze or a calendar feed"
    )

    def __init__(self, runner: CommandRunner) -> None:
        super().__init__(
            name="episodes-admin",
            description="Manage this server's shows and seasons",
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
        )
        self.runner = runner

    async def _shows(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return await self.runner.complete_shows(interaction, current)

    @show.command(name="add", description="Add a show for this server")
    @app_commands.describe(
        title="The show's title",
        network="Where it airs, e.g. Apple TV+",
        timezone="The release timezone (IANA), e.g. America/New_York",
        time="Default release time, HH:MM",
    )
    async def show_add(
        self,
        interaction: discord.Interaction,
        title: Show,
        network: Range[str, 1, 60] | None = None,
        timezone: str | None = None,
        time: Range[str, 1, 5] | None = None,
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SHOW_ADD, _options(locals()))

    @season.command(name="add", description="Add a season and its episodes")
    @app_commands.describe(
        show="The show",
        number="Season number",
        premiere="Premiere date, YYYY-MM-DD",
        episodes="How many episodes (1-500)",
        every="Weekly on this day (default: the premiere's weekday)",
        all_at_once="Every episode drops at the premiere",
        premiere_episodes="How many episodes drop at the premiere",
        time="Release time, HH:MM (default: the show's)",
        timezone="Release timezone (default: the show's)",
        trailer="Trailer link (http/https)",
        title="Season title",
    )
    @app_commands.choices(every=WEEKDAY_CHOICES)
    async def season_add(
        self,
        interaction: discord.Interaction,
        show: Show,
        number: SeasonNumber,
        premiere: Range[str, 8, 10],
        episodes: EpisodeNumber,
        every: Choice[str] | None = None,
        all_at_once: bool = False,
        premiere_episodes: EpisodeNumber = 1,
        time: Range[str, 1, 5] | None = None,
        timezone: str | None = None,
        trailer: Range[str, 1, 512] | None = None,
        title: Range[str, 1, 100] | None = None,
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SEASON_ADD, _options(locals()))

    @season.command(name="move", description="Move a season's premiere; reschedules the rest")
    @app_commands.describe(premiere="New premiere date, YYYY-MM-DD")
    async def season_move(
        self,
        interaction: discord.Interaction,
        show: Show,
        number: SeasonNumber,
        premiere: Range[str, 8, 10],
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SEASON_MOVE, _options(locals()))

    @season.command(name="trailer", description="Set a season's trailer link")
    async def season_trailer(
        self,
        interaction: discord.Interaction,
        show: Show,
        number: SeasonNumber,
        url: Range[str, 1, 512],
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SEASON_TRAILER, _options(locals()))

    @season.command(name="remove", description="Remove a season and its episodes")
    async def season_remove(
        self, interaction: discord.Interaction, show: Show, number: SeasonNumber
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SEASON_REMOVE, _options(locals()))

    @episode.command(name="set", description="Set one episode's title, date or time")
    @app_commands.describe(date="Release date, YYYY-MM-DD", time="Release time, HH:MM")
    async def episode_set(
        self,
        interaction: discord.Interaction,
        show: Show,
        season: SeasonNumber,
        episode: EpisodeNumber,
        title: Range[str, 1, 200] | None = None,
        date: Range[str, 8, 10] | None = None,
        time: Range[str, 1, 5] | None = None,
    ) -> None:
        await self.runner.invoke(interaction, catalogue.EPISODE_SET, _options(locals()))

    @show.command(name="import", description="Import a show that keeps itself up to date")
    @app_commands.describe(
        source="A TVmaze title (pick from the list), tvmaze:ID, imdb:tt…, thetvdb:ID or ics:URL",
        show="The title to give it; for a calendar feed: which series",
        timezone="The release timezone (default: the network's country)",
        time="Release time of episodes with a date only, HH:MM (default 00:00)",
        specials="Import specials too",
    )
    async def show_import(
        self,
        interaction: discord.Interaction,
        source: Range[str, 1, 2000],
        show: Show | None = None,
        timezone: str | None = None,
        time: Range[str, 1, 5] | None = None,
        specials: bool = False,
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SHOW_IMPORT, _options(locals()))

    @sources.command(name="sync", description="Sync a show (or all) with its source now")
    async def sources_sync(
        self, interaction: discord.Interaction, show: Show | None = None
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SOURCES_SYNC, _options(locals()))

    @sources.command(name="release", description="Give hand edits back to the show's source")
    @app_commands.describe(season="Only this season", episode="Only this episode")
    async def sources_release(
        self,
        interaction: discord.Interaction,
        show: Show,
        season: SeasonNumber | None = None,
        episode: EpisodeNumber | None = None,
    ) -> None:
        await self.runner.invoke(interaction, catalogue.SOURCES_RELEASE, _options(locals()))

    async def _tvmaze(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return await self.runner.complete_tvmaze(interaction, current)

    for _command in (
        season_add, season_move, season_trailer, season_remove, episode_set, sources_sync,
        sources_release,
    ):  # fmt: skip
        _command.autocomplete("show")(_shows)
    show_add.autocomplete("timezone")(complete_timezone)
    season_add.autocomplete("timezone")(complete_timezone)
    show_import.autocomplete("timezone")(complete_timezone)
    show_import.autocomplete("source")(_tvmaze)
    del _command


class EpisodeTree(app_commands.CommandTree):
    """The command tree; errors that escape a command still get a polite, logged answer."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        error_id = secrets.token_hex(4)
        log.error(
            "slash command error (error id %s, guild %s, user %s): %r",
            error_id,
            interaction.guild_id,
            interaction.user.id,
            error,
            exc_info=error,
        )
        if isinstance(error, app_commands.TransformerError):
            reply = _reply(f"That value is not valid here: {error.value!r}.")
        else:
            reply = apology(error_id)
        try:
            await answer(interaction, reply)
        except discord.HTTPException:
            log.warning("could not answer interaction after error %s", error_id)


def install_commands(
    tree: app_commands.CommandTree, core: Commands, *, subscribe_permission: str = "manage_channels"
) -> CommandRunner:
    """Add both groups to `tree` (in memory only: syncing to Discord is `sync_commands`)."""
    runner = CommandRunner(core, subscribe_permission=subscribe_permission)
    tree.add_command(EpisodesGroup(runner))
    tree.add_command(AdminGroup(runner))
    return runner


def _reply(text: str) -> Reply:
    return Reply.say(text)


def _options(parameters: dict[str, Any]) -> dict[str, Any]:
    """A command callback's `locals()` (taken first thing) -> its options by Discord name.

    Passing them on by name, rather than binding each by hand, is what lets a test hold the
    declarations to the catalogue: the option a parameter fills is the one with its name.
    """
    return {k: v for k, v in parameters.items() if k not in ("self", "interaction")}
