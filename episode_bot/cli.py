"""`episode-bot`: the command line, and the composition root with episode_bot/app.py.

Every command calls the same core functions as the chat platforms (bot.commands), acting
as the bot's operator. Exit codes: 0 success, 2 bad input (the message says what was
wrong and how to mend it), 1 an unexpected failure.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property, wraps
from pathlib import Path
from typing import Any

import aiohttp
import click
from pydantic import ValidationError

from bot.clock import Clock, FixedClock, SystemClock
from bot.commands import Commands, Reply
from bot.errors import BotError, InvalidInput
from bot.models import Actor, ChannelRef
from bot.settings import Settings
from bot.store import Store

EXIT_BAD_INPUT = 2


class AppContext:
    """What every command needs, built on first use (so `--help` opens no database)."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.actor = Actor.operator()

    @cached_property
    def store(self) -> Store:
        return Store.open(self.settings.episode_bot_db)

    @cached_property
    def commands(self) -> Commands:
        return Commands(self.store, self.clock)


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
    if ctx.obj is not None:  # the console prompt passes its own context
        return
    try:
        settings = Settings()
    except ValidationError as error:
        # pydantic's message names the setting and the problem; secrets are SecretStr.
        fail(f"bad setting: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}")
    if db is not None:
        settings.episode_bot_db = db
    ctx.obj = AppContext(settings)


pass_app = click.make_pass_decorator(AppContext)


# ---------------------------------------------------------------------- run


@cli.command()
@pass_app
def run(app: AppContext) -> None:
    """Run the bot: scheduler, delivery and every configured adapter (console if none)."""
    from episode_bot.app import run as run_bot

    sys.exit(run_bot(app.settings))


# ---------------------------------------------------------------------- shows


@cli.group()
def show() -> None:
    """Add and list shows."""


@show.command("add")
@click.argument("title")
@click.option("--network", help='Where it streams, e.g. "Apple TV+".')
@click.option("--tz", help="IANA timezone of its releases, e.g. America/New_York (default UTC).")
@click.option("--time", "release_time", help="Usual release time, HH:MM (default 00:00).")
@pass_app
@handles_errors
def show_add(
    app: AppContext, title: str, network: str | None, tz: str | None, release_time: str | None
) -> None:
    """Add a show everyone can subscribe to."""
    emit(app.commands.show_add(app.actor, title, network=network, tz=tz, time=release_time))


@show.command("list")
@click.argument("query", required=False)
@json_option
@pass_app
@handles_errors
def show_list(app: AppContext, query: str | None, as_json: bool) -> None:
    """List shows (best matches first when QUERY is given)."""
    emit(app.commands.shows(app.actor, query), as_json)


# `shows`, as the chat command is called, is the same command as `show list`.
cli.add_command(show_list, name="shows")


# ---------------------------------------------------------------------- seasons


@cli.group()
def season() -> None:
    """Add, move and remove seasons; set trailers."""


@season.command("add")
@click.argument("show_title", metavar="SHOW")
@click.argument("number")
@click.option("--premiere", required=True, help="Premiere date, YYYY-MM-DD (local).")
@click.option("--episodes", required=True, help="Number of episodes (1-500).")
@click.option("--every", help="Weekly on this day: monday .. sunday (default: premiere's day).")
@click.option("--all-at-once", is_flag=True, help="Every episode drops at the premiere.")
@click.option("--date", "dates", multiple=True, help="Explicit date per episode (repeat).")
@click.option("--premiere-episodes", default="1", help="Episodes released at the premiere.")
@click.option("--time", "release_time", help="Release time HH:MM (default: the show's).")
@click.option("--tz", help="IANA timezone (default: the show's).")
@click.option("--trailer", help="Trailer URL (http/https).")
@click.option("--title", help="Season title.")
@pass_app
@handles_errors
def season_add(app: AppContext, show_title: str, number: str, **options: Any) -> None:
    """Add season NUMBER of SHOW and its episodes."""
    emit(
        app.commands.season_add(
            app.actor,
            show_title,
            number,
            premiere=options["premiere"],
            episodes=options["episodes"],
            every=options["every"],
            all_at_once=options["all_at_once"],
            dates=list(options["dates"]) or None,
            premiere_episodes=options["premiere_episodes"],
            time=options["release_time"],
            tz=options["tz"],
            trailer=options["trailer"],
            title=options["title"],
        )
    )


@season.command("move")
@click.argument("show_title", metavar="SHOW")
@click.argument("number")
@click.option("--premiere", required=True, help="The new premiere date, YYYY-MM-DD.")
@pass_app
@handles_errors
def season_move(app: AppContext, show_title: str, number: str, premiere: str) -> None:
    """Move a season's premiere; its unreleased episodes follow."""
    emit(app.commands.season_move(app.actor, show_title, number, premiere=premiere))


@season.command("trailer")
@click.argument("show_title", metavar="SHOW")
@click.argument("number")
@click.argument("url")
@pass_app
@handles_errors
def season_trailer(app: AppContext, show_title: str, number: str, url: str) -> None:
    """Set a season's trailer link (subscribed channels get a post)."""
    emit(app.commands.season_trailer(app.actor, show_title, number, url))


@season.command("remove")
@click.argument("show_title", metavar="SHOW")
@click.argument("number")
@click.confirmation_option(prompt="Remove the season and everything planned for it?")
@pass_app
@handles_errors
def season_remove(app: AppContext, show_title: str, number: str) -> None:
    """Remove a season, its episodes and its pending posts."""
    emit(app.commands.season_remove(app.actor, show_title, number))


@cli.group()
def episode() -> None:
    """Change one episode."""


@episode.command("set")
@click.argument("show_title", metavar="SHOW")
@click.argument("season_number", metavar="SEASON")
@click.argument("episode_number", metavar="EPISODE")
@click.option("--title", help="Episode title.")
@click.option("--date", "release_date", help="New local release date, YYYY-MM-DD.")
@click.option("--time", "release_time", help="New local release time, HH:MM.")
@pass_app
@handles_errors
def episode_set(
    app: AppContext,
    show_title: str,
    season_number: str,
    episode_number: str,
    title: str | None,
    release_date: str | None,
    release_time: str | None,
) -> None:
    """Set an episode's title or move it by hand."""
    emit(
        app.commands.episode_set(
            app.actor,
            show_title,
            season_number,
            episode_number,
            title=title,
            date=release_date,
            time=release_time,
        )
    )


# ---------------------------------------------------------------------- subscriptions


@cli.command()
@click.argument("channel")
@click.argument("show_title", metavar="SHOW")
@click.option("--before", help="Reminders before each drop, e.g. 1d,1h.")
@click.option("--no-trailers", is_flag=True, help="No trailer/announcement/moved posts.")
@click.option("--mention", help="Role (Discord) or user group (Slack) id to mention.")
@click.option("--hide-titles", is_flag=True, help="Hide episode titles (spoilers).")
@pass_app
@handles_errors
def subscribe(
    app: AppContext,
    channel: str,
    show_title: str,
    before: str | None,
    no_trailers: bool,
    mention: str | None,
    hide_titles: bool,
) -> None:
    """Subscribe CHANNEL (discord:G/C, slack:T/C or console:NAME) to SHOW."""
    emit(
        app.commands.subscribe(
            app.actor,
            parse_channel(channel),
            show_title,
            before=before,
            trailers=not no_trailers,
            mention=mention,
            hide_titles=hide_titles,
        )
    )


@cli.command()
@click.argument("channel")
@click.argument("show_title", metavar="SHOW")
@pass_app
@handles_errors
def unsubscribe(app: AppContext, channel: str, show_title: str) -> None:
    """Stop posting about SHOW in CHANNEL."""
    emit(app.commands.unsubscribe(app.actor, parse_channel(channel), show_title))


@cli.command()
@click.argument("channel", required=False)
@json_option
@pass_app
@handles_errors
def subscriptions(app: AppContext, channel: str | None, as_json: bool) -> None:
    """List subscriptions (of CHANNEL, or all)."""
    target = parse_channel(channel) if channel else None
    emit(app.commands.subscriptions(app.actor, target), as_json)


# ---------------------------------------------------------------------- schedule


@cli.command("schedule")
@click.argument("show_title", metavar="SHOW")
@click.option("--season", "season_number", help="Only this season.")
@json_option
@pass_app
@handles_errors
def schedule_command(
    app: AppContext, show_title: str, season_number: str | None, as_json: bool
) -> None:
    """Episodes of SHOW with local and UTC release times."""
    emit(app.commands.schedule(app.actor, show_title, season_number), as_json)


@cli.command("next")
@click.argument("channel", required=False)
@json_option
@pass_app
@handles_errors
def next_command(app: AppContext, channel: str | None, as_json: bool) -> None:
    """The next drop of each show (that CHANNEL follows)."""
    target = parse_channel(channel) if channel else None
    emit(app.commands.next(app.actor, target), as_json)


@cli.command()
@click.argument("show_title", metavar="SHOW")
@pass_app
@handles_errors
def trailer(app: AppContext, show_title: str) -> None:
    """The latest trailer link of SHOW."""
    emit(app.commands.trailer(app.actor, show_title))


# ---------------------------------------------------------------------- delivery


@cli.command()
@click.option("--from", "start", required=True, help="ISO 8601 with offset or Z.")
@click.option("--to", "end", required=True, help="ISO 8601 with offset or Z.")
@click.option("--channel", help="Only posts to this channel.")
@json_option
@pass_app
@handles_errors
def preview(app: AppContext, start: str, end: str, channel: str | None, as_json: bool) -> None:
    """Every post that would go out between --from and --to; nothing is sent."""
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
                "notification_key": post.notification_key,
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


def build_senders(settings: Settings) -> dict[str, Any]:
    """The console sender, plus a REST-only sender for each platform with credentials.

    Imports a platform's adapter only when that platform is configured.
    """
    from adapters.console import ConsoleSender

    senders: dict[str, Any] = {"console": ConsoleSender()}
    if settings.discord_token is not None:
        from adapters.discord.sender import DiscordSender

        senders["discord"] = DiscordSender(
            settings.discord_token, api_base=settings.discord_api_base
        )
    if settings.slack_bot_token is not None:
        from adapters.slack.sender import SlackSender

        senders["slack"] = SlackSender.from_settings(settings)
    return senders


async def _open_senders(senders: dict[str, Any]) -> None:
    """Log every platform sender in; a rejected token is a setting to mend (exit 2)."""
    from bot.sender import SendError

    for platform, sender in senders.items():
        if hasattr(sender, "start"):
            try:
                await sender.start()
            except SendError as error:
                await _close_senders(senders)
                raise BotError(f"{platform}: {error.reason}") from None


async def _close_senders(senders: dict[str, Any]) -> None:
    for sender in senders.values():
        close = getattr(sender, "close", None) or getattr(sender, "aclose", None)
        if close is not None:
            await close()


@cli.command()
@click.option("--now", "now_text", required=True, help="Act as if the clock read this time.")
@pass_app
@handles_errors
def deliver(app: AppContext, now_text: str) -> None:
    """One delivery pass as if the clock read --now: post what is due, once."""
    from episode_bot.app import configure_logging
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
    senders = build_senders(app.settings)

    async def one_pass() -> Any:
        async with held_lease(
            app.store, "this delivery pass", stale_after=app.settings.episode_bot_lease_seconds
        ) as lease:
            engine = DeliveryEngine(
                app.store,
                senders,
                clock,
                grace=timedelta(hours=app.settings.episode_bot_grace_hours),
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


@cli.group()
def discord() -> None:
    """Discord set-up."""


@discord.command("sync")
@click.option("--guild", "guild_id", type=int, help="Sync to one server only (instant; dev).")
@pass_app
@handles_errors
def discord_sync(app: AppContext, guild_id: int | None) -> None:
    """Register the slash commands with Discord (globally, or in one server)."""
    if app.settings.discord_token is None or app.settings.discord_application_id is None:
        raise InvalidInput(
            "discord",
            "DISCORD_TOKEN and DISCORD_APPLICATION_ID must be set to sync commands.",
            hint="Put them in .env (see .env.example).",
        )
    from adapters.discord import DiscordStartupError, sync_commands

    try:
        names = asyncio.run(sync_commands(app.settings, guild_id))
    except DiscordStartupError as error:
        raise BotError(str(error)) from None
    where = f"server {guild_id}" if guild_id else "all servers (may take a while to show)"
    click.echo(f"Synced /{', /'.join(names)} to {where}.")


@cli.command()
@json_option
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Upcoming drops, outbox counts, failures and last posts."""
    from jobs.status import format_status, status_report

    report = status_report(app.store, app.clock.now())
    click.echo(json.dumps(report, indent=2, default=str) if as_json else format_status(report))


def main(args: list[str] | None = None, *, standalone_mode: bool = True) -> Any:
    """The console script; the console prompt calls it with the typed words as `args`."""
    return cli.main(args=args, prog_name="episode-bot", standalone_mode=standalone_mode)


if __name__ == "__main__":
    main()
