"""The Discord adapter (discord.py): slash commands in, release posts out.

Translation only: interactions become core calls (`bot.commands.Commands`), core messages become
Discord payloads, and the delivery engine posts them through `DiscordSender`. The core never
imports this package; the composition root imports it only when DISCORD_TOKEN is set.
"""

import warnings

# discord.py's voice support (which this bot never uses) imports `audioop`, deprecated since
# Python 3.11: a warning no user of the bot can act on. Only that one is silenced.
warnings.filterwarnings(
    "ignore", message="'audioop' is deprecated", category=DeprecationWarning, module="discord"
)

from adapters.discord.client import DiscordAdapter, DiscordStartupError, sync_commands  # noqa: E402
from adapters.discord.render import render_message, render_reply  # noqa: E402
from adapters.discord.sender import DiscordSender  # noqa: E402

__all__ = [
    "DiscordAdapter",
    "DiscordSender",
    "DiscordStartupError",
    "render_message",
    "render_reply",
    "sync_commands",
]
