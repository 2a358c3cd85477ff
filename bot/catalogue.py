"""The command catalogue: every command declared once, bound to its function with checked types.

To add a command:
1. Write the core function: a method of `bot.commands.Commands` taking `actor` first (and
   `channel: ChannelRef` if it acts on a channel), with type hints, returning a `Reply`
   (an `async def` when it awaits the network, like `show import`: front ends on an event
   loop call `Command.invoke_async`, the CLI runs it with `asyncio.run`).
   (A CLI-only command, e.g. a sync job, is a function in episode_bot/cli.py instead.)
2. Add one `Command(...)` to `CATALOGUE` below: its words, group, summary, options (each
   named after the function's parameter) and `core=Commands.method` (or `core=None`).
That is all for the CLI and the console prompt (episode_bot/cli.py builds the click
commands from this list), the Slack grammar and `/episodes help` (adapters/slack/grammar.py).
Discord's slash commands are written by hand for discord.py's idioms
(adapters/discord/commands.py); tests/adapters/discord/test_catalogue.py fails until the new
member or admin command is declared there with the catalogue's options.

Binding is checked when this module is imported: an option naming a parameter the function
does not have, an option type the parameter's hint does not accept, or a required
parameter no option fills raises `CatalogueError`. `Command.invoke` checks each call's
values against the hints again, so a front end passing a wrong name or type fails in its
tests, not in front of a user.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot import validation
from bot.commands import Commands
from bot.models import WEEKDAYS, Actor, ChannelRef, UserRef
from bot.replies import Reply


class CatalogueError(TypeError):
    """A declaration does not fit the function it binds to (a programming error)."""


class Group(StrEnum):
    MEMBER = "member"  # Discord `/episodes`, Slack `/episodes …`: any member of a tenant
    ADMIN = "admin"  # Discord `/episodes-admin`, Slack `/episodes admin …`: tenant managers
    OPERATOR = "operator"  # the CLI and the console prompt only: the bot's operator


class Front(StrEnum):
    CLI = "cli"  # the click CLI, and the console prompt that runs the same commands
    DISCORD = "discord"
    SLACK = "slack"  # the `/episodes` text grammar (and, for `season add`, the form)


ALL_FRONTS = frozenset(Front)
CLI_ONLY = frozenset({Front.CLI})
CHAT = frozenset({Front.DISCORD, Front.SLACK})


@dataclass(frozen=True)
class Option:
    """One parameter of a command, named after the bound function's parameter."""

    name: str
    type: type = str
    help: str = ""
    positional: bool = False  # CLI argument / Slack word; otherwise an option (--flag)
    required: bool = False
    multiple: bool = False  # repeatable: the function gets a list
    default: Any = None  # for bool options: the value when the flag is absent
    metavar: str | None = None  # the value's name in usage lines (positionals: SHOW)
    choices: tuple[str, ...] = ()
    min: int | None = None  # str: length; int: value
    max: int | None = None
    fronts: frozenset[Front] = ALL_FRONTS
    discord_name: str | None = None  # Discord's option name when it differs
    flag_name: str | None = None  # the CLI/Slack flag when it is not --name-with-dashes
    # A bool's flag for the other value (`--trailers` beside `--no-trailers`). With one, the
    # option is three-way: the flag, its opposite, or neither (None: the core keeps what
    # it had, e.g. subscribing a channel again).
    opposite: str | None = None

    @property
    def flag(self) -> str:
        """`--premiere-episodes`; a bool that defaults to True is turned off: `--no-trailers`."""
        if self.flag_name:
            return self.flag_name
        dashed = self.name.replace("_", "-")
        return f"--no-{dashed}" if self.type is bool and self.default is True else f"--{dashed}"

    @property
    def discord(self) -> str:
        return self.discord_name or self.name

    @property
    def usage(self) -> str:
        """How the option reads in a usage line: `SHOW`, `[--time HH:MM]`, `[--no-trailers]`."""
        if self.positional:
            word = self.metavar or self.name.upper()
            return word if self.required else f"[{word}]"
        text = self.flag if self.type is bool else f"{self.flag} {self.metavar or 'VALUE'}"
        return text if self.required else f"[{text}]"


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]  # ("season", "add"): the CLI words; on chat, under its group
    group: Group
    summary: str
    options: tuple[Option, ...] = ()
    # The function that does the work: a `Commands` method (called by its name on the
    # commands object, with actor and **values), or None for a CLI-only command the
    # composition root implements.
    core: Callable[..., Reply] | None = None
    ephemeral: bool = True  # only the invoker sees the answer (else the whole channel)
    changes_schedule: bool = False  # Discord defers these: the reconcile may take a while
    json: bool = False  # the CLI offers --json (the reply's data)
    chat_channel: bool = False  # on chat, `channel` is the channel the command is typed in
    chat_words: tuple[str, ...] | None = None  # the chat name when it differs (`shows`)
    cli_aliases: tuple[str, ...] = ()  # more CLI names for the same command
    confirm: str | None = None  # the CLI asks this first (--yes skips it)
    in_prompt: bool = True  # offered at the console prompt (not `run`, which is running)
    chat_only: bool = False  # Discord and Slack only (the CLI has its own, richer command)

    def __post_init__(self) -> None:
        if self.core is not None:
            check_binding(self, self.core, context=("self", "actor"))

    @property
    def name(self) -> str:
        return " ".join(self.words)

    @property
    def fronts(self) -> frozenset[Front]:
        if self.group is Group.OPERATOR:
            return CLI_ONLY
        return CHAT if self.chat_only else ALL_FRONTS

    @property
    def on_chat(self) -> tuple[str, ...]:
        return self.chat_words or self.words

    def options_for(self, front: Front) -> tuple[Option, ...]:
        return tuple(option for option in self.options if front in option.fronts)

    def option(self, name: str) -> Option:
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(f"{self.name} has no option {name!r}")

    @property
    def awaits(self) -> bool:
        """The core is a coroutine (it talks to the network: `show import`)."""
        return inspect.iscoroutinefunction(self.core)

    def invoke(self, commands: Commands, actor: Actor, **values: Any) -> Reply:
        """Call the core with `values` (named after its parameters); None means not given."""
        if self.awaits:
            raise CatalogueError(f"{self.name} awaits the network: call invoke_async")
        reply = self._call(commands, actor, values)
        return dataclasses.replace(reply, ephemeral=self.ephemeral)

    async def invoke_async(self, commands: Commands, actor: Actor, **values: Any) -> Reply:
        """`invoke` for front ends on an event loop: a coroutine core is awaited there."""
        reply = self._call(commands, actor, values)
        if inspect.isawaitable(reply):
            reply = await reply
        return dataclasses.replace(reply, ephemeral=self.ephemeral)

    def _call(self, commands: Commands, actor: Actor, values: dict[str, Any]) -> Any:
        if self.core is None:
            raise CatalogueError(f"{self.name} is a CLI command; the CLI runs it")
        given = {name: value for name, value in values.items() if value is not None}
        check_values(self, self.core, given)
        # Looked up on `commands` by name, not called as `core(commands, ...)`: a wrapper
        # such as bot.observer.ObservedCommands then sees the call (and times it).
        return getattr(commands, self.core.__name__)(actor, **given)


def _union_members(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _accepts(hint: Any, value_type: type, *, multiple: bool = False) -> bool:
    """Whether a parameter hinted `hint` takes values of `value_type` (lists if multiple)."""
    for member in _union_members(hint):
        if member is Any:
            return True
        if multiple:
            if typing.get_origin(member) is list and typing.get_args(member) in ((value_type,), ()):
                return True
        elif isinstance(member, type) and issubclass(value_type, member):
            return True
    return False


def _accepts_value(hint: Any, value: Any) -> bool:
    if isinstance(value, list):
        return all(_accepts(hint, type(item), multiple=True) for item in value)
    if isinstance(value, bool):  # bool is an int; only a hint naming bool takes one
        return any(member is bool or member is Any for member in _union_members(hint))
    return _accepts(hint, type(value))


def _hints(function: Callable[..., Any]) -> tuple[inspect.Signature, dict[str, Any]]:
    return inspect.signature(function), typing.get_type_hints(function)


def check_binding(
    command: Command, function: Callable[..., Any], *, context: Iterable[str] = ()
) -> None:
    """Fail now if `command`'s options do not fit `function`'s parameters.

    `context` names the parameters the front end supplies itself (`self`, `actor`, the
    CLI's `app`); `channel` is one too when the command takes it from the chat.
    """
    signature, hints = _hints(function)
    parameters = signature.parameters
    supplied = set(context)
    for option in command.options:
        if option.name not in parameters:
            raise CatalogueError(
                f"{command.name}: option {option.name!r} is not a parameter of "
                f"{function.__qualname__}{signature}"
            )
        hint = hints.get(option.name, Any)
        if not _accepts(hint, option.type, multiple=option.multiple):
            raise CatalogueError(
                f"{command.name}: option {option.name!r} is {option.type.__name__}"
                f"{' (repeated)' if option.multiple else ''}, but {function.__qualname__} "
                f"takes {hint}"
            )
        supplied.add(option.name)
    if command.json:
        supplied.add("as_json")
    missing = [
        name
        for name, parameter in parameters.items()
        if name not in supplied
        and parameter.default is inspect.Parameter.empty
        and parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
    ]
    if missing:
        raise CatalogueError(f"{command.name}: no option fills {', '.join(missing)}")


def check_values(command: Command, function: Callable[..., Any], values: dict[str, Any]) -> None:
    """A front end's call: every name an option of the command, every value of its type."""
    _, hints = _hints(function)
    for name, value in values.items():
        known = {option.name for option in command.options}
        if name not in known:
            raise CatalogueError(f"{command.name} has no option {name!r} (it has {sorted(known)})")
        if not _accepts_value(hints.get(name, Any), value):
            raise CatalogueError(
                f"{command.name}: {name}={value!r} does not fit {hints.get(name, Any)}"
            )


# ---------------------------------------------------------------------- shared options


def _channel(*, required: bool, help: str) -> Option:
    # The CLI names the channel; chat front ends use the channel the command is typed in.
    return Option(
        "channel",
        ChannelRef,
        help,
        positional=True,
        required=required,
        metavar="CHANNEL",
        fronts=CLI_ONLY,
    )


def _show(name: str = "show", metavar: str = "SHOW") -> Option:
    return Option(
        name,
        str,
        "The show's title.",
        positional=True,
        required=True,
        metavar=metavar,
        min=1,
        max=validation.MAX_TITLE,
    )


SEASON_NUMBER = Option(
    "number",
    int,
    "Season number.",
    positional=True,
    required=True,
    metavar="NUMBER",
    min=1,
    max=validation.MAX_SEASON,
)
TIME = Option("time", str, "Release time, HH:MM.", metavar="HH:MM", min=1, max=5)
TZ = Option(
    "tz", str, "IANA timezone, e.g. America/New_York.", metavar="IANA", discord_name="timezone"
)
DATE_TEXT = {"metavar": "YYYY-MM-DD", "min": 8, "max": 10}
URL_MAX = 512  # Discord's limit for a link in an embed; the core allows longer ones

# ---------------------------------------------------------------------- the catalogue

SUBSCRIBE = Command(
    ("subscribe",),
    Group.MEMBER,
    "Post a show's new episodes in a channel.",
    (
        _channel(required=True, help="discord:GUILD/CHANNEL, slack:TEAM/CHANNEL or console:NAME"),
        _show(),
        Option("before", str, "Reminders before each drop, e.g. 1d,1h.", metavar="1d,1h"),
        Option(
            "trailers",
            bool,
            "No trailer/announcement/moved posts (--trailers: post them again).",
            default=True,
            opposite="--trailers",
        ),
        Option("mention", str, "Role (Discord) or user group (Slack) id to mention.", metavar="ID"),
        Option(
            "hide_titles",
            bool,
            "Hide episode titles (spoilers; --show-titles: show them again).",
            default=False,
            opposite="--show-titles",
        ),
    ),
    core=Commands.subscribe,
    changes_schedule=True,
    chat_channel=True,
)
UNSUBSCRIBE = Command(
    ("unsubscribe",),
    Group.MEMBER,
    "Stop posting a show in a channel.",
    (_channel(required=True, help="The channel."), _show()),
    core=Commands.unsubscribe,
    changes_schedule=True,
    chat_channel=True,
)
SUBSCRIPTIONS = Command(
    ("subscriptions",),
    Group.MEMBER,
    "The shows a channel follows.",
    (_channel(required=False, help="Only this channel (CLI default: every channel)."),),
    core=Commands.subscriptions,
    json=True,
    chat_channel=True,
)
SCHEDULE = Command(
    ("schedule",),
    Group.MEMBER,
    "A show's episodes with their release times.",
    (
        _show(),
        Option("season", int, "Only this season.", metavar="N", min=1, max=validation.MAX_SEASON),
    ),
    core=Commands.schedule,
    json=True,
)
NEXT = Command(
    ("next",),
    Group.MEMBER,
    "The next drop of each show a channel follows.",
    (_channel(required=False, help="Only the shows this channel follows (CLI default: all)."),),
    core=Commands.next,
    json=True,
    chat_channel=True,
)
TRAILER = Command(
    ("trailer",),
    Group.MEMBER,
    "A show's latest trailer link.",
    (_show(),),
    core=Commands.trailer,
)
SHOWS = Command(
    ("show", "list"),
    Group.MEMBER,
    "List or search the shows (best matches first).",
    (
        Option(
            "query",
            str,
            "Part of a title.",
            positional=True,
            metavar="QUERY",
            min=0,
            max=validation.MAX_TITLE,
        ),
    ),
    core=Commands.shows,
    json=True,
    chat_words=("shows",),
    cli_aliases=("shows",),
)
SHOW_ADD = Command(
    ("show", "add"),
    Group.ADMIN,
    "Add a show; one added in a server or workspace is theirs alone.",
    (
        _show("title", "TITLE"),
        Option(
            "network",
            str,
            'Where it streams, e.g. "Apple TV+".',
            metavar="N",
            min=1,
            max=validation.MAX_NETWORK,
        ),
        dataclasses.replace(TZ, help="IANA timezone of its releases (default UTC)."),
        dataclasses.replace(TIME, help="Usual release time, HH:MM (default 00:00)."),
    ),
    core=Commands.show_add,
    changes_schedule=True,
)
SEASON_ADD = Command(
    ("season", "add"),
    Group.ADMIN,
    "Add a season and its episodes.",
    (
        _show(),
        SEASON_NUMBER,
        Option("premiere", str, "Premiere date, YYYY-MM-DD (local).", required=True, **DATE_TEXT),
        Option(
            "episodes",
            int,
            "Number of episodes (1-500).",
            required=True,
            metavar="N",
            min=1,
            max=validation.MAX_EPISODES,
        ),
        Option(
            "every",
            str,
            "Weekly on this day: monday .. sunday (default: premiere's day).",
            metavar="DAY",
            choices=WEEKDAYS,
        ),
        Option("all_at_once", bool, "Every episode drops at the premiere.", default=False),
        Option(
            "dates",
            str,
            "Explicit date per episode (repeat).",
            multiple=True,
            metavar="YYYY-MM-DD",
            flag_name="--date",
            fronts=CLI_ONLY,
        ),
        Option(
            "premiere_episodes",
            int,
            "Episodes released at the premiere (default 1).",
            metavar="K",
            min=1,
            max=validation.MAX_EPISODES,
        ),
        dataclasses.replace(TIME, help="Release time HH:MM (default: the show's)."),
        dataclasses.replace(TZ, help="IANA timezone (default: the show's)."),
        Option("trailer", str, "Trailer URL (http/https).", metavar="URL", min=1, max=URL_MAX),
        Option("title", str, "Season title.", metavar="T", min=1, max=validation.MAX_TITLE),
    ),
    core=Commands.season_add,
    changes_schedule=True,
)
SEASON_MOVE = Command(
    ("season", "move"),
    Group.ADMIN,
    "Move a season's premiere; its unreleased episodes follow.",
    (
        _show(),
        SEASON_NUMBER,
        Option("premiere", str, "The new premiere date, YYYY-MM-DD.", required=True, **DATE_TEXT),
    ),
    core=Commands.season_move,
    changes_schedule=True,
)
SEASON_TRAILER = Command(
    ("season", "trailer"),
    Group.ADMIN,
    "Set a season's trailer link (subscribed channels get a post).",
    (
        _show(),
        SEASON_NUMBER,
        Option(
            "url",
            str,
            "Trailer URL (http/https).",
            positional=True,
            required=True,
            metavar="URL",
            min=1,
            max=URL_MAX,
        ),
    ),
    core=Commands.season_trailer,
    changes_schedule=True,
)
SEASON_REMOVE = Command(
    ("season", "remove"),
    Group.ADMIN,
    "Remove a season, its episodes and its pending posts.",
    (_show(), SEASON_NUMBER),
    core=Commands.season_remove,
    changes_schedule=True,
    confirm="Remove the season and everything planned for it?",
)
EPISODE_SET = Command(
    ("episode", "set"),
    Group.ADMIN,
    "Set one episode's title, or move it by hand.",
    (
        _show(),
        dataclasses.replace(SEASON_NUMBER, name="season", metavar="SEASON"),
        Option(
            "episode",
            int,
            "Episode number.",
            positional=True,
            required=True,
            metavar="EPISODE",
            min=1,
            max=validation.MAX_EPISODES,
        ),
        Option(
            "title", str, "Episode title.", metavar="T", min=1, max=validation.MAX_EPISODE_TITLE
        ),
        Option("date", str, "New local release date, YYYY-MM-DD.", **DATE_TEXT),
        dataclasses.replace(TIME, help="New local release time, HH:MM."),
    ),
    core=Commands.episode_set,
    changes_schedule=True,
)

# CLI-only: the composition root implements them (episode_bot/cli.py), checked the same way.
RUN = Command(
    ("run",),
    Group.OPERATOR,
    "Run the bot: scheduler, delivery and every configured adapter (console if none).",
    in_prompt=False,  # the prompt is part of the running bot
)
PREVIEW = Command(
    ("preview",),
    Group.OPERATOR,
    "Every post that would go out between --from and --to; nothing is sent.",
    (
        Option(
            "start",
            str,
            "ISO 8601 with offset or Z.",
            required=True,
            metavar="T",
            flag_name="--from",
        ),
        Option(
            "end", str, "ISO 8601 with offset or Z.", required=True, metavar="T", flag_name="--to"
        ),
        Option("channel", str, "Only posts to this channel.", metavar="CHANNEL"),
    ),
    json=True,
)
DELIVER = Command(
    ("deliver",),
    Group.OPERATOR,
    "One delivery pass as if the clock read --now: post what is due, once.",
    (
        Option(
            "now_text",
            str,
            "Act as if the clock read this time.",
            required=True,
            flag_name="--now",
            metavar="T",
        ),
    ),
    in_prompt=False,  # a second engine in the bot's process would race the running one
)
STATUS = Command(
    ("status",),
    Group.OPERATOR,
    "Upcoming drops, outbox counts, failures and last posts.",
    json=True,
)
DISCORD_SYNC = Command(
    ("discord", "sync"),
    Group.OPERATOR,
    "Register the slash commands with Discord (globally, or in one server).",
    (
        Option(
            "guild_id",
            int,
            "Sync to one server only (instant; dev).",
            flag_name="--guild",
            metavar="ID",
        ),
    ),
)

CALENDAR_URL = Command(
    ("calendar", "url"),
    Group.OPERATOR,
    "The secret feed URL of CHANNEL (or discord:GUILD / slack:TEAM), alone on the last line. "
    "Anyone holding the URL can read the calendar; --rotate makes the old one stop working.",
    (
        Option(
            "channel",
            str,
            "A channel, or a whole server/workspace.",
            positional=True,
            required=True,
            metavar="CHANNEL",
        ),
        Option("rotate", bool, "Revoke the current URL and issue a new one.", default=False),
    ),
)
# The chat side of `calendar url`: the feed of the channel it is typed in (or, for admins,
# of the whole server/workspace), answered to the asker only.
CALENDAR = Command(
    ("calendar",),
    Group.MEMBER,
    "This channel's calendar feed URL (.ics), for your calendar app; only you see it.",
    (
        _channel(required=True, help="The channel."),
        Option("server", bool, "Every channel of this server/workspace (admins).", default=False),
        Option("rotate", bool, "Revoke the current URL and issue a new one.", default=False),
    ),
    core=Commands.calendar_url,
    chat_channel=True,
    chat_only=True,
)

# Follows and weekly digests. A member follows for themselves (chat); the operator names the
# member (the CLI's USER).
_USER = Option(
    "user",
    UserRef,
    "discord-user:ID, slack-user:TEAM/ID or console-user:NAME.",
    positional=True,
    required=True,
    metavar="USER",
    fronts=CLI_ONLY,
)
FOLLOW = Command(
    ("follow",),
    Group.MEMBER,
    "Get a show's new episodes (and reminders) by direct message.",
    (
        _USER,
        _show(),
        Option("before", str, "Reminders before each drop, e.g. 1d,1h.", metavar="1d,1h"),
    ),
    core=Commands.follow,
    changes_schedule=True,
)
UNFOLLOW = Command(
    ("unfollow",),
    Group.MEMBER,
    "No more direct messages about a show.",
    (_USER, _show()),
    core=Commands.unfollow,
    changes_schedule=True,
)
FOLLOWING = Command(
    ("following",),
    Group.MEMBER,
    "The shows a member follows (only they and the operator may see it).",
    (_USER,),
    core=Commands.following,
    json=True,
)
FORGET_ME = Command(
    ("forget-me",),
    Group.MEMBER,
    "Delete every follow of a member and their direct messages not sent yet.",
    (_USER,),
    core=Commands.forget_me,
    changes_schedule=True,
)
DIGEST = Command(
    ("digest",),
    Group.MEMBER,
    'One post a week listing a channel\'s drops: "monday 09:00", or off.',
    (
        _channel(required=True, help="discord:GUILD/CHANNEL, slack:TEAM/CHANNEL or console:NAME"),
        Option(
            "when",
            str,
            'A weekday and a time, e.g. "monday 09:00"; or off.',
            positional=True,
            required=True,
            metavar='"DAY HH:MM"|off',
            min=2,
            max=40,
        ),
        dataclasses.replace(TZ, help="IANA timezone of the time (default UTC)."),
        Option("only", bool, "The digest replaces the post for each drop.", default=False),
    ),
    core=Commands.digest,
    changes_schedule=True,
    chat_channel=True,
)

# Schedule sources (README "Follow a show from TVmaze"). Import and sync await the source
# (HTTP): front ends call them with `invoke_async`.
SHOW_IMPORT = Command(
    ("show", "import"),
    Group.ADMIN,
    "Import a show that keeps itself up to date: tvmaze:ID, imdb:tt…, thetvdb:ID, a TVmaze "
    "title, or ics:URL (a calendar feed, e.g. Sonarr's).",
    (
        Option(
            "source",
            str,
            "tvmaze:ID | imdb:tt… | thetvdb:ID | TITLE | ics:URL",
            positional=True,
            required=True,
            metavar="SOURCE",
            min=1,
            max=2000,
        ),
        Option(
            "show",
            str,
            "The title to give it; for ics: which series of the feed (or a show you have).",
            metavar="TITLE",
            min=1,
            max=validation.MAX_TITLE,
        ),
        dataclasses.replace(TZ, help="IANA timezone (default: the network's country)."),
        dataclasses.replace(TIME, help="Release time of date-only episodes (default 00:00)."),
        Option("specials", bool, "Import specials too (numbered after the rest).", default=False),
    ),
    core=Commands.show_import,
    changes_schedule=True,
)
SOURCES_SYNC = Command(
    ("sources", "sync"),
    Group.ADMIN,
    "Sync SHOW (or every show that follows a source) now; `run` does it on its own.",
    (dataclasses.replace(_show(), required=False),),
    core=Commands.sources_sync,
    changes_schedule=True,
    json=True,
)
SOURCES_STATUS = Command(
    ("sources", "status"),
    Group.OPERATOR,
    "Each linked show: its source, last sync and result (or why it failed), next run.",
    json=True,
)
SOURCES_RELEASE = Command(
    ("sources", "release"),
    Group.ADMIN,
    "Give fields set by hand (episode set, season move) back to the source.",
    (
        _show(),
        Option("season", int, "Only this season.", metavar="N", min=1, max=validation.MAX_SEASON),
        Option(
            "episode",
            int,
            "Only this episode (with --season).",
            metavar="N",
            min=1,
            max=validation.MAX_EPISODES,
        ),
    ),
    core=Commands.sources_release,
    changes_schedule=True,
)

CATALOGUE: tuple[Command, ...] = (
    SUBSCRIBE,
    UNSUBSCRIBE,
    SUBSCRIPTIONS,
    SCHEDULE,
    NEXT,
    TRAILER,
    SHOWS,
    SHOW_ADD,
    SEASON_ADD,
    SEASON_MOVE,
    SEASON_TRAILER,
    SEASON_REMOVE,
    EPISODE_SET,
    RUN,
    PREVIEW,
    DELIVER,
    STATUS,
    DISCORD_SYNC,
    CALENDAR_URL,
    CALENDAR,
    FOLLOW,
    UNFOLLOW,
    FOLLOWING,
    FORGET_ME,
    DIGEST,
    SHOW_IMPORT,
    SOURCES_SYNC,
    SOURCES_STATUS,
    SOURCES_RELEASE,
)

# The words that group CLI commands (`episode-bot season add`), with their help.
SECTIONS: dict[str, str] = {
    "show": "Add and list shows.",
    "season": "Add, move and remove seasons; set trailers.",
    "episode": "Change one episode.",
    "discord": "Discord set-up.",
    "calendar": "Calendar feeds (.ics) of a channel or of a whole server/workspace.",
    "sources": "Shows that follow TVmaze or a calendar feed: sync, status, hand edits.",
}


def for_front(front: Front) -> tuple[Command, ...]:
    return tuple(command for command in CATALOGUE if front in command.fronts)
