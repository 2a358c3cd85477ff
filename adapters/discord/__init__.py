"""The Discord adapter (discord.py): slash commands in, release posts out.

Translation only: interactions become core calls (`bot.commands.Commands`), core messages become
Discord payloads, and the delivery engine posts them through `DiscordSender`. The core never
imports this package; the composition root imports it only when DISCORD_TOKEN is set.
"""

from adapters.discord.client import DiscordAdapter, DiscordStartupError, sync_commands
from adapters.discord.render import render_message, render_reply
from adapters.discord.sender import DiscordSender

__all__ = [
    "DiscordAdapter",
    "DiscordSender",
    "DiscordStartupError",
    "render_message",
    "render_reply",
    "sync_commands",
]
