"""`DiscordAdapter`: the gateway client (slash commands, guild events) plus the REST sender.

Start-up logs in over REST first, so a bad token stops `episode-bot run` with a clear message
before anything else happens; the gateway then runs in a background task with the `guilds`
intent only (no privileged intents: the bot reads no messages and no member lists). Commands
are never synced here: syncing is an explicit step (`episode-bot discord sync`), because
Discord rate-limits command registration and a sync on every start would hit it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, cast

import aiohttp
import discord
from discord import app_commands

from adapters.discord.budget import budget_trace
from adapters.discord.buttons import BUTTONS
from adapters.discord.commands import EpisodeTree, install_commands
from adapters.discord.endpoints import redirect_process
from adapters.discord.events import ScheduledEventSync
from adapters.discord.sender import DiscordSender
from bot.commands import Commands
from bot.errors import BotError
from bot.models import ChannelRef
from bot.sender import RequestBudget
from bot.settings import Settings

log = logging.getLogger(__name__)


class _DeclarationsOnly:
    """Stands in for the core while commands are only declared and synced, never run."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("sync_commands declares the commands; it cannot run them")


class DiscordStartupError(BotError):
    """Discord cannot be used with these settings; the message says what to change."""


def intents() -> discord.Intents:
    """Guild and channel create/delete events only: enough for clean-up, nothing privileged."""
    return discord.Intents(guilds=True)


class EpisodeClient(discord.Client):
    """A `discord.Client` that forwards the guild events the core cares about."""

    def __init__(
        self,
        core: Commands,
        *,
        application_id: int | None = None,
        guild_ready_timeout: float = 2.0,
        http_trace: aiohttp.TraceConfig | None = None,
    ) -> None:
        # The bot posts text only: discord.py's "voice will NOT be supported" warnings (no
        # PyNaCl/davey) concern nothing it does. discord.py's own switches turn them off.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            http_trace=http_trace,
            intents=intents(),
            application_id=application_id,
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.core = core
        self.tree = EpisodeTree(self)
        # "Notify me" / "Unfollow" on posts of any age: matched by custom id, not by message.
        self.add_dynamic_items(*BUTTONS)

    async def on_ready(self) -> None:
        log.info("Discord gateway ready as %s in %d servers", self.user, len(self.guilds))

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        ref = ChannelRef("discord", str(channel.guild.id), str(channel.id))
        paused = self.core.pause_channel(ref, "channel deleted")
        log.info("channel %s deleted: %s subscription(s) paused", ref, paused)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        paused = self.core.pause_tenant("discord", str(guild.id), "bot removed from the server")
        log.info("removed from Discord server %s: %s subscription(s) paused", guild.id, paused)


EVENTS_POLL_SECONDS = 30.0  # how often to look for schedule changes made by another process


class DiscordAdapter:
    """The Discord side of `episode-bot run`: `await start()`, `await stop()`, `sender`, and
    `on_schedule_changed()` for the composition root to call after every schedule change."""

    platform = "discord"

    def __init__(
        self,
        settings: Settings,
        commands: Commands,
        *,
        guild_ready_timeout: float = 2.0,
        events_poll_seconds: float = EVENTS_POLL_SECONDS,
        budget: RequestBudget | None = None,
    ) -> None:
        """`guild_ready_timeout`: how long discord.py waits for more servers before `on_ready`
        (its default, 2 s; tests shorten it). `events_poll_seconds`: how often the scheduled
        events follow changes another process (the CLI) made to the schedule. `budget`: the
        platform's request budget, which every request of the bot draws from
        (adapters/discord/budget.py)."""
        if settings.discord_token is None:
            raise DiscordStartupError("DISCORD_TOKEN is not set")
        self.settings = settings
        self.commands = commands
        self.sender = DiscordSender(
            settings.discord_token,
            api_base=settings.discord_api_base,
            store=commands.store,
            budget=budget,
        )
        self.client = EpisodeClient(
            commands,
            application_id=settings.discord_application_id,
            guild_ready_timeout=guild_ready_timeout,
            http_trace=budget_trace(budget) if budget is not None else None,
        )
        install_commands(
            self.client.tree,
            commands,
            subscribe_permission=settings.discord_subscribe_permission,
        )
        self._redirect = contextlib.ExitStack()
        self._gateway: asyncio.Task[None] | None = None
        self.events = ScheduledEventSync(
            commands.store,
            commands.clock,
            self.client.http,
            can_manage=self._can_manage_events,
        )
        self.events_poll_seconds = events_poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event_tasks: set[asyncio.Task[Any]] = set()

    @property
    def tree(self) -> app_commands.CommandTree:
        return self.client.tree

    async def start(self, *, connect_gateway: bool = True) -> None:
        """Log in (REST), then connect the gateway in the background.

        Raises `DiscordStartupError` when Discord rejects the token; the token itself is never
        part of any message or log line.
        """
        self._redirect.enter_context(
            redirect_process(self.settings.discord_api_base, self.settings.discord_gateway_url)
        )
        try:
            await login(self.client, self.settings)
            await self.sender.start()
            if connect_gateway:
                await self._use_gateway_url()
                self._gateway = asyncio.create_task(self._run_gateway(), name="discord-gateway")
        except BaseException:
            await self.stop()
            raise
        self._loop = asyncio.get_running_loop()
        self.on_schedule_changed()  # bring the scheduled events in step, in the background
        self._spawn(self._watch_changes(), "discord-events-watch")

    # ------------------------------------------------------------------ scheduled events

    def on_schedule_changed(self) -> None:
        """The schedule changed (`Commands.on_change`): bring the scheduled events in step.

        Returns at once; the sync runs in the background, one at a time (a change during a
        sync makes it run once more). Safe to call from any thread, and before `start()`.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._spawn(self.sync_scheduled_events(), "discord-events-sync")
        else:
            loop.call_soon_threadsafe(
                self._spawn, self.sync_scheduled_events(), "discord-events-sync"
            )

    async def sync_scheduled_events(self) -> None:
        """One sync now (or a request for one more, if a sync is running); never raises."""
        try:
            await self.events.sync()
        except Exception:
            log.exception("syncing Discord scheduled events failed")

    async def wait_events_idle(self) -> None:
        """Wait for the syncs started so far (tests; shutdown)."""
        while pending := [t for t in self._event_tasks if t.get_name() != "discord-events-watch"]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _watch_changes(self) -> None:
        """Follow changes made by another process (the CLI), which call no hook here."""
        while True:
            await asyncio.sleep(self.events_poll_seconds)
            try:
                await self.events.sync_if_changed()
            except Exception:
                log.exception("syncing Discord scheduled events failed")

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    def _can_manage_events(self, guild_id: str) -> bool | None:
        """From the gateway's cache: may the bot manage events there? None when unknown."""
        guild = self.client.get_guild(int(guild_id))
        me = guild.me if guild is not None else None
        if me is None:
            return None
        permissions = me.guild_permissions
        return bool(permissions.manage_events or permissions.create_events)

    async def stop(self) -> None:
        self._loop = None  # no new syncs
        tasks = list(self._event_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._gateway is not None:
            self._gateway.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._gateway
            self._gateway = None
        await self.client.close()
        await self.sender.close()
        self._redirect.close()

    async def _use_gateway_url(self) -> None:
        """With DISCORD_API_BASE (and no DISCORD_GATEWAY_URL) ask that server for its gateway,
        as Discord documents (`GET /gateway/bot`); discord.py would otherwise use its own."""
        if self.settings.discord_api_base is None or self.settings.discord_gateway_url:
            return
        _shards, url, _limits = await self.client.http.get_bot_gateway()
        self._redirect.enter_context(redirect_process(self.settings.discord_api_base, url))

    async def _run_gateway(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except discord.PrivilegedIntentsRequired:
            log.error("Discord refused the gateway: privileged intents requested")
        except Exception:
            log.exception("Discord gateway stopped; slash commands are unavailable until restart")


async def login(client: discord.Client, settings: Settings) -> None:
    """`client.login` with a clear, token-free error for a rejected token."""
    assert settings.discord_token is not None
    try:
        await client.login(settings.discord_token.get_secret_value())
    except discord.LoginFailure:
        raise DiscordStartupError(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized). Copy the bot token again from "
            "the Developer Portal (Applications > your app > Bot > Reset Token)."
        ) from None


async def sync_commands(settings: Settings, guild_id: int | None) -> list[str]:
    """Register the slash commands with Discord: one guild (instant; for development) or
    globally (for production; Discord may take a while to show them everywhere).

    Returns the names of the synced top-level commands. REST only: no gateway connection.
    """
    client = EpisodeClient(
        cast(Commands, _DeclarationsOnly()), application_id=settings.discord_application_id
    )
    install_commands(
        client.tree, client.core, subscribe_permission=settings.discord_subscribe_permission
    )
    with redirect_process(settings.discord_api_base, settings.discord_gateway_url):
        try:
            await login(client, settings)
            if guild_id is not None:
                guild = discord.Object(id=guild_id)
                client.tree.copy_global_to(guild=guild)
                synced = await client.tree.sync(guild=guild)
            else:
                synced = await client.tree.sync()
        finally:
            await client.close()
    return [command.name for command in synced]
