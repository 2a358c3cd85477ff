"""Plain data shared by every layer: channels, callers, and the catalog records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from bot.errors import InvalidInput
from bot.platforms import (
    CHANNEL_SYNTAXES,
    CONSOLE,
    ChannelSyntax,
    channel_syntax,
    platform_names,
)

# The operator (CLI, console prompt) acts from the local console's one tenant.
CONSOLE_TENANT = CONSOLE.fixed_tenant or "local"


@dataclass(frozen=True, order=True)
class ChannelRef:
    """Where posts go: `discord:GUILD/CHANNEL`, `slack:TEAM/CHANNEL` or `console:NAME`, in
    each platform's own id syntax (`bot/platforms.py`)."""

    platform: str
    tenant: str
    channel: str

    @classmethod
    def parse(cls, text: str) -> ChannelRef:
        text = text.strip()
        name, colon, rest = text.partition(":")
        syntax = channel_syntax(name) if colon else None
        if syntax is None:
            raise InvalidInput(
                "channel",
                f"{text[:80]!r} is not a channel.",
                hint="Write platform:tenant/channel (discord:123/456, slack:T01/C02) or "
                f"console:NAME; platforms: {', '.join(platform_names())}.",
            )
        if syntax.fixed_tenant is not None:
            return cls(name, syntax.fixed_tenant, _checked(syntax, rest, text, tenant=False))
        tenant, slash, channel = rest.partition("/")
        if not slash:
            raise _bad_channel(syntax, text, f"it needs {syntax.shape}")
        return cls(
            name,
            _checked(syntax, tenant, text, tenant=True),
            _checked(syntax, channel, text, tenant=False),
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
        syntax = channel_syntax(self.platform)
        if syntax is not None and syntax.fixed_tenant is not None:
            return f"{self.platform}:{self.channel}"
        return f"{self.platform}:{self.tenant}/{self.channel}"


def _checked(syntax: ChannelSyntax, value: str, text: str, *, tenant: bool) -> str:
    pattern = syntax.tenant_id if tenant else syntax.channel_id
    if pattern is None or not pattern.fullmatch(value):
        raise _bad_channel(syntax, text, syntax.tenant_words if tenant else syntax.channel_words)
    return value


def _bad_channel(syntax: ChannelSyntax, text: str, expected: str) -> InvalidInput:
    return InvalidInput(
        "channel",
        f"{text[:80]!r} is not a {syntax.label} channel: {expected}.",
        hint=f"Write {syntax.shape}, e.g. {syntax.example}.",
    )


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
        return cls(CONSOLE.name, CONSOLE_TENANT, "operator", is_admin=True, is_operator=True)


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

    TVMAZE_CREDIT = "Data from TVmaze (CC BY-SA)"  # not a field: one wording everywhere

    @property
    def credit(self) -> str | None:
        """The credit its data requires: TVmaze's is CC BY-SA, with a link to the show."""
        if self.source == "tvmaze":
            return self.TVMAZE_CREDIT + (f": {self.source_page}" if self.source_page else "")
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


@dataclass(frozen=True, slots=True)
class Audience:
    """A show's active subscriptions that are told the same things: one platform, one kind of
    channel, the same settings (but the role each pings, added as a post is sent:
    `compose.addressed`).

    The plan decides per audience, not per subscription, and the store writes each decision
    for the audience's members as one set: a drop to 100,000 channels sharing their settings
    is planned once, not 100,000 times (`Store.insert_broadcasts`).
    """

    show_id: int
    platform: str
    direct: bool  # members' DMs (follows), not channels
    reminders: tuple[int, ...]
    trailers: bool
    hide_titles: bool
    digest_only: bool = False  # the channel takes the weekly digest instead of per-drop posts

    @classmethod
    def of(cls, subscription: Subscription, *, digest_only: bool = False) -> Audience:
        return cls(
            show_id=subscription.show_id,
            platform=subscription.channel.platform,
            direct=subscription.channel.is_direct,
            reminders=subscription.reminders,
            trailers=subscription.trailers,
            hide_titles=subscription.hide_titles,
            digest_only=digest_only,
        )


# A follow is stored like a subscription whose "channel" is the member's direct messages:
# the same plan, outbox, once-only keys, reminders and pausing serve both. The prefix cannot
# occur in a real channel id (see bot/platforms.py), so no typed channel can name someone's DMs.
DIRECT_PREFIX = "@"
# A member whose id is unique across the platform (Discord): their inbox is in no tenant.
_GLOBAL_INBOX_TENANT = "@"


@dataclass(frozen=True, order=True)
class UserRef:
    """A member who follows shows: `discord-user:ID`, `slack-user:TEAM/ID` or
    `console-user:NAME`, in each platform's id syntax (`bot/platforms.py`). Slack user ids
    are per workspace; Discord's are global."""

    platform: str
    tenant: str
    user: str

    @classmethod
    def parse(cls, text: str) -> UserRef:
        text = text.strip()
        head, colon, rest = text.partition(":")
        syntax = channel_syntax(head.removesuffix("-user")) if head.endswith("-user") else None
        tenant, user = _GLOBAL_INBOX_TENANT, rest
        if syntax is not None and syntax.fixed_tenant is not None:
            tenant = syntax.fixed_tenant
        elif syntax is not None and syntax.users_per_tenant:
            tenant, _, user = rest.partition("/")
            if syntax.tenant_id is None or not syntax.tenant_id.fullmatch(tenant):
                syntax = None
        if not colon or syntax is None or not (syntax.user_id and syntax.user_id.fullmatch(user)):
            shapes = [s.user_shape for s in CHANNEL_SYNTAXES.values() if s.user_id is not None]
            raise InvalidInput(
                "user",
                f"{text[:80]!r} is not a user.",
                hint=f"Write {', '.join(shapes[:-1])} or {shapes[-1]}.",
            )
        return cls(syntax.name, tenant, user)

    @classmethod
    def of_actor(cls, actor: Actor) -> UserRef:
        syntax = channel_syntax(actor.platform)
        global_users = syntax is not None and not syntax.users_per_tenant
        tenant = _GLOBAL_INBOX_TENANT if global_users and not syntax.fixed_tenant else actor.tenant
        return cls(actor.platform, tenant, actor.user_id)

    @classmethod
    def of_inbox(cls, inbox: ChannelRef) -> UserRef:
        return cls(inbox.platform, inbox.tenant, inbox.channel.removeprefix(DIRECT_PREFIX))

    @property
    def inbox(self) -> ChannelRef:
        """Where this member's direct messages go, as the outbox addresses them."""
        return ChannelRef(self.platform, self.tenant, DIRECT_PREFIX + self.user)

    def __str__(self) -> str:
        syntax = channel_syntax(self.platform)
        if syntax is not None and syntax.users_per_tenant:
            return f"{self.platform}-user:{self.tenant}/{self.user}"
        return f"{self.platform}-user:{self.user}"


@dataclass(frozen=True)
class Digest:
    """A channel's weekly "this week" post: on `weekday` (0=Monday) at `at` in `timezone`.
    `only`: the digest replaces the channel's per-drop posts and reminders."""

    channel: ChannelRef
    weekday: int
    at: time
    timezone: str
    only: bool
