"""Plain data shared by every layer: channels, callers, and the catalog records."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from bot.errors import InvalidInput

PLATFORMS = ("discord", "slack", "console")
CONSOLE_TENANT = "local"

# Ids are what the platforms use: Discord snowflakes, Slack T…/C…/E… ids, console names.
_ID = r"[A-Za-z0-9_.-]{1,64}"
_CHANNEL_RE = re.compile(rf"^(discord|slack):({_ID})/({_ID})$")
_CONSOLE_RE = re.compile(rf"^console:({_ID})$")


@dataclass(frozen=True, order=True)
class ChannelRef:
    """Where posts go: `discord:GUILD/CHANNEL`, `slack:TEAM/CHANNEL` or `console:NAME`."""

    platform: str
    tenant: str
    channel: str

    @classmethod
    def parse(cls, text: str) -> ChannelRef:
        text = text.strip()
        if match := _CHANNEL_RE.match(text):
            return cls(match[1], match[2], match[3])
        if match := _CONSOLE_RE.match(text):
            return cls("console", CONSOLE_TENANT, match[1])
        raise InvalidInput(
            "channel",
            f"{text[:80]!r} is not a channel.",
            hint="Write platform:tenant/channel (discord:123/456, slack:T01/C02) or console:NAME.",
        )

    @property
    def tenant_key(self) -> str:
        return f"{self.platform}:{self.tenant}"

    @property
    def is_direct(self) -> bool:
        """A member's direct messages (a follow), not a channel: see `UserRef.inbox`."""
        return self.channel.startswith(DIRECT_PREFIX)

    def __str__(self) -> str:
        if self.is_direct:
            return str(UserRef.of_inbox(self))
        if self.platform == "console":
            return f"console:{self.channel}"
        return f"{self.platform}:{self.tenant}/{self.channel}"


@dataclass(frozen=True)
class Actor:
    """Who is asking, in which tenant, with which rights. Every core command takes one.

    Adapters fill it from the platform's own answer (Discord member permissions, Slack
    `users.info`), never from anything the user typed.
    """

    platform: str
    tenant: str
    user_id: str
    is_admin: bool = False  # may use admin commands inside its own tenant
    is_operator: bool = False  # the bot's operator (CLI): global shows, every tenant
    can_manage_channels: bool = True  # may (un)subscribe the channel it acts in

    @property
    def tenant_key(self) -> str:
        return f"{self.platform}:{self.tenant}"

    @classmethod
    def operator(cls) -> Actor:
        return cls("console", CONSOLE_TENANT, "operator", is_admin=True, is_operator=True)


@dataclass(frozen=True)
class Show:
    id: int
    title: str
    network: str | None
    timezone: str
    release_time: time
    tenant_key: str | None  # None: global (operator's); else private to that tenant
    source: str | None = None  # tvmaze | ics when the show follows a schedule source
    source_page: str | None = None  # the show's page at the source

    @property
    def is_global(self) -> bool:
        return self.tenant_key is None

    @property
    def credit(self) -> str | None:
        """The credit its data requires: TVmaze's is CC BY-SA, with a link to the show."""
        if self.source == "tvmaze":
            return "Data from TVmaze (CC BY-SA)" + (
                f": {self.source_page}" if self.source_page else ""
            )
        return None


@dataclass(frozen=True)
class Cadence:
    """How a season's episodes are spread out.

    kind is "weekly" (one episode a week on `weekday`, 0=Monday), "all_at_once", or
    "dates" (explicit per-episode dates in `dates`).
    """

    kind: str
    weekday: int | None = None
    dates: tuple[date, ...] = ()

    def describe(self) -> str:
        if self.kind == "weekly" and self.weekday is not None:
            return "weekly on " + WEEKDAYS[self.weekday].capitalize()
        if self.kind == "all_at_once":
            return "all at once"
        return "on set dates"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Season:
    id: int
    show_id: int
    number: int
    premiere: date
    episode_count: int
    cadence: Cadence
    premiere_episodes: int
    release_time: time
    timezone: str
    trailer_url: str | None
    title: str | None
    source_id: str | None = None  # the season's id at its schedule source, if imported
    premiere_held: bool = False  # moved by hand: a sync leaves its dates alone


@dataclass(frozen=True)
class Episode:
    id: int
    season_id: int
    number: int
    title: str | None
    release_at: datetime  # UTC
    manual: bool  # set by hand with `episode set`; a season move keeps it
    time_estimated: bool = False  # the source gave a date only: the time is the show's
    title_held: bool = False  # titled by hand: a sync leaves the title alone
    source_id: str | None = None  # the episode's id at its schedule source, if imported


@dataclass(frozen=True)
class Subscription:
    id: int
    channel: ChannelRef
    show_id: int
    reminders: tuple[int, ...] = ()  # seconds before a drop, e.g. (86400, 3600)
    trailers: bool = True  # trailer, season announced and season moved posts
    mention: str | None = None  # opted-in role (Discord) / user group (Slack) id
    hide_titles: bool = False
    paused_reason: str | None = None
    created_at: datetime | None = None


# A follow is stored like a subscription whose "channel" is the member's direct messages:
# the same plan, outbox, once-only keys, reminders and pausing serve both. The prefix cannot
# occur in a real channel id (see `_ID`), so no typed channel can ever name someone's DMs.
DIRECT_PREFIX = "@"
# Discord users are global (a DM is not inside a server): their inbox has no tenant.
_DISCORD_INBOX_TENANT = "@"
_USER_RE = re.compile(
    rf"^discord-user:({_ID})$|^slack-user:({_ID})/({_ID})$|^console-user:({_ID})$"
)


@dataclass(frozen=True, order=True)
class UserRef:
    """A member who follows shows: `discord-user:ID`, `slack-user:TEAM/ID` or
    `console-user:NAME`. Slack user ids are per workspace; Discord's are global."""

    platform: str
    tenant: str
    user: str

    @classmethod
    def parse(cls, text: str) -> UserRef:
        match = _USER_RE.match(text.strip())
        if match is None:
            raise InvalidInput(
                "user",
                f"{text.strip()[:80]!r} is not a user.",
                hint="Write discord-user:ID, slack-user:TEAM/ID or console-user:NAME.",
            )
        if match[1]:
            return cls("discord", _DISCORD_INBOX_TENANT, match[1])
        if match[2]:
            return cls("slack", match[2], match[3])
        return cls("console", CONSOLE_TENANT, match[4])

    @classmethod
    def of_actor(cls, actor: Actor) -> UserRef:
        tenant = _DISCORD_INBOX_TENANT if actor.platform == "discord" else actor.tenant
        return cls(actor.platform, tenant, actor.user_id)

    @classmethod
    def of_inbox(cls, inbox: ChannelRef) -> UserRef:
        return cls(inbox.platform, inbox.tenant, inbox.channel.removeprefix(DIRECT_PREFIX))

    @property
    def inbox(self) -> ChannelRef:
        """Where this member's direct messages go, as the outbox addresses them."""
        return ChannelRef(self.platform, self.tenant, DIRECT_PREFIX + self.user)

    def __str__(self) -> str:
        if self.platform == "discord":
            return f"discord-user:{self.user}"
        if self.platform == "slack":
            return f"slack-user:{self.tenant}/{self.user}"
        return f"console-user:{self.user}"


@dataclass(frozen=True)
class Digest:
    """A channel's weekly "this week" post: on `weekday` (0=Monday) at `at` in `timezone`.
    `only`: the digest replaces the channel's per-drop posts and reminders."""

    channel: ChannelRef
    weekday: int
    at: time
    timezone: str
    only: bool
