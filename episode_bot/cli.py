"""`episode-bot`: the command line, and the composition root with episode_bot/app.py.

The commands are built from the command catalogue (bot/catalogue.py): each catalogue entry
becomes a click command calling the same core function as the chat platforms, acting as
the bot's operator; the CLI-only ones (`run`, `preview`, `deliver`, `status`, `discord
sync`, `calendar url`) are functions here, installed with `cli_only` and checked against
their entries. Exit codes: 0 success, 2 bad input (the message says what was wrong and how
to mend it), 1 an unexpected failure.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property, wraps
from pathlib import Path
from typing import Any

import aiohttp
import click
from pydantic import ValidationError

from bot import catalogue
from bot.catalogue import CATALOGUE, SECTIONS, Command, Front, check_binding
from bot.clock import Clock, FixedClock, SystemClock
from bot.commands import Commands, Reply
from bot.errors import BotError, InvalidInput
from bot.models import Actor, ChannelRef, UserRef
from bot.sender import RequestBudget, Sender, SendError
from bot.settings import Settings, setting_errors
from bot.store import Store, open_store
from episode_bot.platforms import PLATFORMS
from episode_bot.platforms import platform as registered_platform

EXIT_BAD_INPUT = 2


class AppContext:
    """What every command needs, built on first use (so `--help` opens no database)."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.actor = Actor.operator()

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings.episode_bot_db)

    def run_with_sources(self, call: Callable[[], Any]) -> Any:
        """Run the coroutine `call()` with the schedule sources attached to the commands;
        their HTTP client is closed afterwards, in the same event loop."""
        from episode_bot.sources import build_sources

        async def go() -> Any:
            self.commands.sources, http = build_sources(self.settings, self.commands)
            try:
                return await call()
            finally:
                self.commands.sources = None
                await http.close()

        return asyncio.run(go())

    @cached_property
    def commands(self) -> Commands:
        web = self.settings.public_base_url if self.settings.web_enabled else None
        return Commands(self.store, self.clock, calendar_base_url=web)

    def close(self) -> None:
        """Close the database if a command opened it: the last connection to close removes
        SQLite's -wal/-shm files."""
        if "store" in self.__dict__:
            self.store.close()


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def handles_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Show a BotError as one clear line on stderr and exit 2; nothing was changed."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except BotError as error:
            fail(str(error))

    return wrapper


def emit(reply: Reply, as_json: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(reply.data, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(reply.text)
    for notice in reply.notices:
        click.echo(f"note: {notice}", err=True)


def parse_instant(value: str, option: str) -> datetime:
    """ISO 8601 with an offset or Z, as the contract says."""
    try:
        instant = datetime.fromisoformat(
            value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        )
    except ValueError:
        raise InvalidInput(
            option, f"{value[:40]!r} is not a time.", hint="Write e.g. 2023-11-10T05:00:00Z."
        ) from None
    if instant.tzinfo is None:
        raise InvalidInput(
            option,
            f"{value} has no UTC offset.",
            hint="Add Z or an offset, e.g. 2023-11-10T00:00:00-05:00.",
        )
    return instant.astimezone(UTC)


def parse_channel(value: str) -> ChannelRef:
    return ChannelRef.parse(value)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite database file (default: $EPISODE_BOT_DB or ./episode-bot.db).",
)
@click.pass_context
def cli(ctx: click.Context, db: Path | None) -> None:
    """New-episode notifications for Discord and Slack channels."""
    if ctx.obj is not None:  # a caller passed its own context (tests: an injected clock)
        return
    try:
        settings = Settings()
    except ValidationError as error:
        fail(f"bad setting {setting_errors(error)}. Mend it in .env or the environment.")
    if db is not None:
        settings.episode_bot_db = db
    ctx.obj = AppContext(settings)
    ctx.call_on_close(ctx.obj.close)


pass_app = click.make_pass_decorator(AppContext)


# ---------------------------------------------------------------------- from the catalogue


def _click_command(command: Command, callback: Callable[..., Any]) -> click.Command:
    """The click command for a catalogue entry: its arguments and options, in its order.

    Numbers stay text for core commands: the core checks them and says what was wrong in
    one line (click's own type errors print a usage block). CLI-only commands, which have
    no core to check for them, get click's types.
    """
    decorators: list[Callable[[Any], Any]] = []
    for option in command.options_for(Front.CLI):
        if option.positional:
            decorators.append(
                # `option.usage`: an optional one reads `[QUERY]`, as on Slack and in README.
                click.argument(option.name, metavar=option.usage, required=option.required)
            )
        elif option.type is bool and option.opposite:
            # Three-way: absent is None, so the core keeps what it had.
            on, off = (
                (option.opposite, option.flag) if option.default else (option.flag, option.opposite)
            )
            decorators.append(
                click.option(f"{on}/{off}", option.name, default=None, help=option.help)
            )
        elif option.type is bool:
            decorators.append(
                click.option(
                    option.flag,
                    option.name,
                    is_flag=True,
                    flag_value=not option.default,
                    default=bool(option.default),
                    help=option.help,
                )
            )
        else:
            decorators.append(
                click.option(
                    option.flag,
                    option.name,
                    required=option.required,
                    multiple=option.multiple,
                    metavar=option.metavar,
                    type=click.INT if option.type is int and command.core is None else None,
                    help=option.help,
                )
            )
    if command.json:
        decorators.append(json_option)
    if command.confirm:
        decorators.append(click.option("--yes", is_flag=True, help="Do not ask first."))
        callback = _asking_first(command.confirm, callback)
    for decorator in reversed(decorators):
        callback = decorator(callback)
    return click.command(command.words[-1], help=command.summary)(callback)


def _asking_first(question: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    """Ask `question` unless --yes. Saying no is an answer, not a failure: "Nothing
    removed." and exit 0 (exit 1 is for unexpected failures). The commands that ask are
    removals."""

    @wraps(callback)
    def asking(*args: Any, yes: bool, **kwargs: Any) -> Any:
        if not yes and not click.confirm(question):
            click.echo("Nothing removed.")
            return None
        return callback(*args, **kwargs)

    return asking


def _install(command: Command, click_command: click.Command) -> None:
    parent: click.Group = cli
    for word in command.words[:-1]:
        found = parent.commands.get(word)
        if not isinstance(found, click.Group):
            found = click.Group(word, help=SECTIONS.get(word))
            parent.add_command(found)
        parent = found
    parent.add_command(click_command)
    for alias in command.cli_aliases:  # top-level names: `shows` is `show list`
        cli.add_command(click_command, name=alias)


def _cli_values(command: Command, values: dict[str, Any]) -> dict[str, Any]:
    """What click parsed -> the core's values: channels parsed, repeated options as lists."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        option = command.option(name)
        if option.multiple:
            value = list(value) or None
        elif option.type in (ChannelRef, UserRef) and value is not None:
            value = option.type.parse(value)
        out[name] = value
    return out


def _core_command(command: Command) -> click.Command:
    """Every core command runs the same way: parse, call the core as the operator, print."""

    @pass_app
    @handles_errors
    def run_core(app: AppContext, as_json: bool = False, **values: Any) -> None:
        given = _cli_values(command, values)
        if command.awaits:  # reads a schedule source over HTTP
            reply = app.run_with_sources(
                lambda: command.invoke_async(app.commands, app.actor, **given)
            )
        else:
            reply = command.invoke(app.commands, app.actor, **given)
        emit(reply, as_json)

    return _click_command(command, run_core)


def cli_only(command: Command) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Install a CLI-only command's function (`function(app, **options)`), checked against
    its catalogue entry now, at import."""

    def install(function: Callable[..., Any]) -> Callable[..., Any]:
        check_binding(command, function, context=("app",))
        _install(command, _click_command(command, pass_app(handles_errors(function))))
        return function

    return install


for _command in CATALOGUE:
    if _command.core is not None and Front.CLI in _command.fronts:
        _install(_command, _core_command(_command))


# ---------------------------------------------------------------------- run


@cli_only(catalogue.RUN)
def run(app: AppContext) -> None:
    from episode_bot.app import run as run_bot

    sys.exit(run_bot(app.settings))


# ---------------------------------------------------------------------- delivery


@cli_only(catalogue.PREVIEW)
def preview(app: AppContext, start: str, end: str, channel: str | None, as_json: bool) -> None:
    from bot.agenda import posts_between
    from bot.messages import message_to_json

    since, until = parse_instant(start, "from"), parse_instant(end, "to")
    if until <= since:
        raise InvalidInput("to", "--to must be after --from.", hint="Swap the two times.")
    target = parse_channel(channel) if channel else None
    posts = [
        post
        for post in posts_between(app.store, since, until)
        if target is None or post.subscription.channel == target
    ]
    if as_json:
        documents = [
            {
                "due_at": post.due_at.isoformat().replace("+00:00", "Z"),
                "channel": str(post.subscription.channel),
                "notification_key": str(post.notification_key),
                "kind": post.message.kind.value,
                "title": post.message.title,
                "message": message_to_json(post.message),
            }
            for post in posts
        ]
        click.echo(json.dumps(documents, indent=2, ensure_ascii=False))
        return
    if not posts:
        click.echo("Nothing would be posted in that window.")
    for post in posts:
        click.echo(
            f"{post.due_at:%Y-%m-%d %H:%M}Z  {post.subscription.channel}  "
            f"{post.notification_key}  {post.message.title}"
        )


def build_senders(
    settings: Settings,
    store: Store | None = None,
    *,
    budgets: Mapping[str, RequestBudget] | None = None,
) -> dict[str, Sender]:
    """A REST-only sender for each configured platform, the console's always (`store`:
    where the senders remember members' DM channels; `budgets`: the request budgets by
    name, `episode_bot.app.request_budgets`, which the senders' own requests draw from).

    Imports a platform's package only when that platform is configured.
    """
    return {
        entry.name: entry.sender(settings, store, budgets or {})
        for entry in PLATFORMS
        if entry.configured(settings)
    }


async def _open_senders(senders: dict[str, Sender]) -> None:
    """Log every platform sender in; a rejected token is a setting to mend (exit 2)."""
    for platform, sender in senders.items():
        try:
            await sender.start()
        except SendError as error:
            await _close_senders(senders)
            raise BotError(f"{platform}: {error.reason}") from None


async def _close_senders(senders: dict[str, Sender]) -> None:
    for sender in senders.values():
        await sender.close()


@cli_only(catalogue.DELIVER)
def deliver(app: AppContext, now_text: str) -> None:
    from episode_bot.app import configure_logging, request_budgets
    from jobs.delivery import DeliveryEngine
    from jobs.lease import held_lease

    configure_logging(app.settings)  # platform libraries log; secrets stay redacted
    clock = FixedClock(parse_instant(now_text, "now"))
    if clock.now() > datetime.now(UTC) + timedelta(minutes=1):
        click.echo(
            "warning: --now is in the future: what falls due until then is posted now, "
            "and a later `run` will not post it again.",
            err=True,
        )
    # Paced as `run` paces itself: a delivery by hand may be a big one, and bouncing off a
    # platform's limits gets the bot's IP banned (Discord: 10,000 invalid requests / 10 min).
    budgets = request_budgets(app.settings)
    senders = build_senders(app.settings, app.store, budgets=budgets)

    async def one_pass() -> Any:
        async with held_lease(
            app.store, "this delivery pass", stale_after=app.settings.episode_bot_lease_seconds
        ) as lease:
            engine = DeliveryEngine(
                app.store,
                senders,
                clock,
                grace=timedelta(hours=app.settings.episode_bot_grace_hours),
                whole_grace_window=True,  # T may be behind what `run` planned on this database
                limiters={platform: budgets[platform] for platform in senders},
                lease=lease,
            )
            await _open_senders(senders)
            try:
                await engine.recover()
                return await engine.run_pass()
            finally:
                await _close_senders(senders)

    try:
        result = asyncio.run(one_pass())
    except (aiohttp.ClientError, OSError) as error:
        raise BotError(
            f"cannot reach a platform: {error}.",
            hint="Check DISCORD_API_BASE / SLACK_API_BASE and the network.",
        ) from None
    click.echo(
        f"delivered {result.sent}, retrying {result.retrying}, failed {result.failed}, "
        f"skipped {result.skipped}",
        err=True,
    )


@cli_only(catalogue.DISCORD_SYNC)
def discord_sync(app: AppContext, guild_id: int | None) -> None:
    discord_platform = registered_platform("discord")
    if not discord_platform.configured(app.settings):
        raise InvalidInput(
            "discord",
            "Discord is not configured, so there is nothing to sync.",
            hint=f"To sync, {discord_platform.how_to_configure} (see .env.example).",
        )
    from adapters.discord import DiscordStartupError, sync_commands

    try:
        names = asyncio.run(sync_commands(app.settings, guild_id))
    except DiscordStartupError as error:
        raise BotError(str(error)) from None
    where = f"server {guild_id}" if guild_id else "all servers (may take a while to show)"
    click.echo(f"Synced /{', /'.join(names)} to {where}.")


@cli_only(catalogue.STATUS)
def status(app: AppContext, as_json: bool) -> None:
    from jobs.status import format_status, status_report

    report = status_report(app.store, app.clock.now())
    click.echo(json.dumps(report, indent=2, default=str) if as_json else format_status(report))


@cli_only(catalogue.CALENDAR_URL)
def calendar_url(app: AppContext, channel: str, rotate: bool) -> None:
    from bot.calendar import CalendarFeeds, FeedScope, feed_answer

    scope = FeedScope.parse(channel)
    token = CalendarFeeds(app.store, app.clock).token_for(scope, rotate=rotate)
    for line in feed_answer(scope, app.settings.public_base_url, token, rotated=rotate):
        click.echo(line)


PROMPT_NAME = ""  # at the prompt, a command is typed without the program name


class _PromptGroup(click.Group):
    """The prompt's command group: its usage line names no program (none is typed), where
    click would print "Usage:  [OPTIONS] COMMAND" around an empty name."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_text("Usage: COMMAND [ARGS]...")


def prompt_commands() -> click.Group:
    """The console prompt's commands: the CLI's, on the database the bot runs on.

    No global options (`--db` would open another database than the running bot's), and
    none of the commands the running bot is doing itself (`run`, `deliver`).
    """
    hidden = {command.words[0] for command in CATALOGUE if not command.in_prompt}
    return _PromptGroup(
        PROMPT_NAME,
        commands={name: each for name, each in cli.commands.items() if name not in hidden},
        help="Commands for the running bot, as the operator. `quit` leaves the prompt.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )


# ---------------------------------------------------------------------- schedule sources


@cli_only(catalogue.SOURCES_STATUS)
def sources_status(app: AppContext, as_json: bool) -> None:
    from bot.sources.service import format_status
    from episode_bot.sources import build_sources

    service, _ = build_sources(app.settings, app.commands)  # reads the store: no request
    rows = service.status()
    click.echo(json.dumps(rows, indent=2) if as_json else format_status(rows))


def main(args: list[str] | None = None, *, standalone_mode: bool = True) -> Any:
    """The console script."""
    return cli.main(args=args, prog_name="episode-bot", standalone_mode=standalone_mode)


if __name__ == "__main__":
    main()
