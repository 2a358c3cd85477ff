"""Running one slash command: who asks, where, calling the core, and answering.

Everything a command needs from Discord is read here from the interaction Discord sent (the
member's resolved permissions, the guild, the channel), never from what the user typed.

The core is called directly on the event loop, not through `asyncio.to_thread`: its calls are
short SQLite transactions (milliseconds, far inside the 3-second interaction deadline), and a
change ends in `Commands.on_change`, which reconciles the scheduler's jobs; that scheduler
lives on this loop and is not safe to drive from a worker thread.

Commands that change the schedule (`slow=True`: subscribe, unsubscribe, every admin command)
end in that reconcile and, with many subscriptions, may not answer within the deadline. They
first defer (an ephemeral "thinking" response), then run the core and answer through
followups; read-only commands answer directly. Refusals the adapter itself decides (DMs,
the admin check) are always answered at once, without a defer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from adapters.discord.render import render_reply
from bot.catalogue import CatalogueError, Command, Front, Group
from bot.commands import Commands, Reply
from bot.errors import BotError
from bot.models import Actor, ChannelRef
from bot.sources.base import SourceError

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
AUTOCOMPLETE_LIMIT = 25  # Discord shows at most 25 choices
CHOICE_LIMIT = 100  # a choice's name and value are at most 100 characters
AUTOCOMPLETE_SECONDS = 2.0  # Discord drops an autocomplete answer after 3 s

DM_ANSWER = (
    "episode-bot works in server channels: run this command in the channel that should get "
    "the posts (DMs cannot be subscribed)."
)
ADMIN_REFUSAL = (
    "Only server managers can use /episodes-admin: you need the Manage Server permission."
)

# A core call answers a Reply, or an awaitable one (a command that reads a schedule source).
CoreCall = Callable[[Actor, ChannelRef], Reply | Awaitable[Reply]]

NOT_GIVEN = "none"  # a choice's value meaning "none of these" (e.g. no reminder)
# Options only the Discord declarations have, and what they do to the core call.
EVERYWHERE = "everywhere"  # `subscriptions everywhere:True`: every channel of the server
DISCORD_ONLY_OPTIONS = frozenset({EVERYWHERE})


def mention_refusal(interaction: discord.Interaction, role: discord.Role) -> str | None:
    """Why `role` may not be the subscription's ping for this member, or None if it may.

    Subscribing needs only Manage Channels, but the bot pings the role on every post (its
    `allowed_mentions` names the role, which overrides the role's own setting). So a member
    may pick a role only if anyone could ping it (`mentionable`) or they may ping any role
    themselves (Mention @everyone, @here and All Roles); @everyone is never a choice.
    """
    if role.is_default():
        return "Pick a role to mention, not @everyone."
    if role.mentionable or interaction.permissions.mention_everyone:
        return None
    return (
        f"You cannot make the bot ping @{role.name}: that role is not mentionable and you lack "
        "the Mention @everyone, @here and All Roles permission. Ask an admin, or make the role "
        "mentionable in Server Settings > Roles. Nothing was changed."
    )


def check_permission_name(name: str) -> str:
    """Fail at start-up, not at the first command, on a misspelt DISCORD_SUBSCRIBE_PERMISSION."""
    if name not in discord.Permissions.VALID_FLAGS:
        raise ValueError(
            f"DISCORD_SUBSCRIBE_PERMISSION={name!r} is not a Discord permission; "
            "use e.g. manage_channels or manage_guild"
        )
    return name


class CommandRunner:
    """Turns an interaction into a core call and the core's answer into an interaction reply."""

    def __init__(self, core: Commands, *, subscribe_permission: str = "manage_channels") -> None:
        self.core = core
        self.subscribe_permission = check_permission_name(subscribe_permission)

    def actor(self, interaction: discord.Interaction) -> Actor:
        perms = interaction.permissions  # resolved in this channel, as Discord computed them
        return Actor(
            "discord",
            str(interaction.guild_id),
            str(interaction.user.id),
            is_admin=bool(perms.administrator or perms.manage_guild),
            can_manage_channels=bool(
                perms.administrator or getattr(perms, self.subscribe_permission)
            ),
        )

    @staticmethod
    def channel(interaction: discord.Interaction) -> ChannelRef:
        return ChannelRef("discord", str(interaction.guild_id), str(interaction.channel_id))

    async def invoke(
        self, interaction: discord.Interaction, command: Command, options: dict[str, Any]
    ) -> None:
        """Run catalogue `command` with a slash command's `options` (by Discord name).

        Discord's values become the core's: a choice its value, a role its id (if this
        member may make the bot ping it). The group and whether to defer come from the
        catalogue: admin commands are checked here, schedule changes are deferred.
        """
        by_name = {option.discord: option for option in command.options_for(Front.DISCORD)}
        values: dict[str, Any] = {}
        everywhere = bool(options.pop(EVERYWHERE, False))
        for name, value in options.items():
            if name not in by_name:
                raise CatalogueError(f"/{command.name} has no Discord option {name!r}")
            if isinstance(value, app_commands.Choice):
                value = value.value
            if isinstance(value, discord.Role):
                refusal = mention_refusal(interaction, value)
                if refusal:
                    await answer(interaction, Reply.say(refusal))
                    return
                value = str(value.id)
            # "none of these" is an empty value, which clears (e.g. a subscription's
            # reminders); an option not given at all stays None: the core keeps what it had.
            values[by_name[name].name] = "" if value == NOT_GIVEN else value

        def call(actor: Actor, channel: ChannelRef) -> Awaitable[Reply]:
            if command.chat_channel:
                values["channel"] = None if everywhere else channel
            return command.invoke_async(self.core, actor, **values)

        await self.run(
            interaction,
            call,
            admin=command.group is Group.ADMIN,
            slow=command.changes_schedule,
        )

    async def run(
        self,
        interaction: discord.Interaction,
        call: CoreCall,
        *,
        admin: bool = False,
        slow: bool = False,
    ) -> None:
        """Run `call(actor, channel)` and answer; BotErrors become their message, bugs an id.

        `slow`: the call changes the schedule, so defer first and answer with followups.
        """
        if interaction.guild_id is None or interaction.channel_id is None:
            await answer(interaction, Reply.say(DM_ANSWER))
            return
        actor = self.actor(interaction)
        if admin and not actor.is_admin:
            # Discord lets server owners override the group's default permissions, so the
            # default_permissions hint is not a check; this is.
            await answer(interaction, Reply.say(ADMIN_REFUSAL))
            return
        if slow:
            # Ephemeral: every answer of these commands concerns only the invoker, and a
            # deferred response's visibility is fixed here, not by the followup.
            await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            called = call(actor, self.channel(interaction))
            reply = await called if inspect.isawaitable(called) else called
        except BotError as error:
            reply = Reply.say(str(error))
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception(
                "command /%s failed (error id %s, guild %s, channel %s, user %s)",
                _command_name(interaction),
                error_id,
                interaction.guild_id,
                interaction.channel_id,
                interaction.user.id,
            )
            reply = apology(error_id)
        if slow:  # the ephemeral defer fixed the answer's visibility; keep every part alike
            reply = dataclasses.replace(reply, ephemeral=True)
        await answer(interaction, reply)

    async def complete_tvmaze(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """TVmaze's search for what the admin typed: "Title (year), network" -> tvmaze:ID.

        Autocomplete must answer within 3 s: the search gets 2 s, and a slow, failing or
        rate-limited TVmaze answers no choices (the admin may still type a title or an id).
        """
        sources = self.core.sources
        text = " ".join(current.split())
        if interaction.guild_id is None or sources is None or len(text) < 2:
            return []
        if text.lower().startswith(("tvmaze:", "imdb:", "thetvdb:", "ics:")):
            return choices([text])
        try:
            hits = await asyncio.wait_for(sources.tvmaze.search(text), AUTOCOMPLETE_SECONDS)
        except (TimeoutError, BotError, SourceError):
            return []
        except Exception:
            log.exception("TVmaze autocomplete failed (guild %s)", interaction.guild_id)
            return []
        return [
            app_commands.Choice(name=hit.label()[:CHOICE_LIMIT], value=f"tvmaze:{hit.tvmaze_id}")
            for hit in hits[:AUTOCOMPLETE_LIMIT]
        ]

    async def complete_shows(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Show titles visible in this guild that match what the user typed (<= 25)."""
        if interaction.guild_id is None:
            return []
        try:
            titles = self.core.complete_show_titles(
                self.actor(interaction), current, AUTOCOMPLETE_LIMIT
            )
        except Exception:
            log.exception("show autocomplete failed (guild %s)", interaction.guild_id)
            return []
        return choices(titles or [])


def choices(values: list[str]) -> list[app_commands.Choice[str]]:
    """Autocomplete answers: at most 25, names and values within 100 characters."""
    result = []
    for value in values:
        if len(value) <= CHOICE_LIMIT:  # a longer title cannot be a choice value; type it
            result.append(app_commands.Choice(name=value, value=value))
        if len(result) == AUTOCOMPLETE_LIMIT:
            break
    return result


def apology(error_id: str) -> Reply:
    return Reply.say(
        f"Sorry, something went wrong on our side (error id {error_id}). "
        "Nothing was changed; the bot's operator can look the id up in the logs."
    )


async def answer(interaction: discord.Interaction, reply: Reply) -> None:
    """Send the reply (split if long), never pinging anyone, ephemeral when the core says so.

    Once the interaction has been answered or deferred, every part goes as a followup.
    """
    parts = render_reply(reply)
    first, rest = parts[0], parts[1:]
    if interaction.response.is_done():
        await interaction.followup.send(
            first, ephemeral=reply.ephemeral, allowed_mentions=NO_MENTIONS
        )
    else:
        await interaction.response.send_message(
            first, ephemeral=reply.ephemeral, allowed_mentions=NO_MENTIONS
        )
    for part in rest:
        await interaction.followup.send(
            part, ephemeral=reply.ephemeral, allowed_mentions=NO_MENTIONS
        )


def _command_name(interaction: discord.Interaction) -> str:
    command = interaction.command
    return command.qualified_name if command is not None else "?"
