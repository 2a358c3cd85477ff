"""The platform registry: what the composition root needs to run each platform.

Each platform declares, in one `Platform` entry: whether the settings configure it (the one
test, used by `run`, `deliver` and `discord sync` alike), how to configure it, its sender (the
delivery engine's REST-only way to post), its adapter (commands in, events) and the rate
limits the engine keeps to. Its channel syntax is core data (`bot/platforms.py`), so the
core can refuse a malformed channel without importing any platform library. A platform's
package is imported only inside its factories, so only when it is configured.

Adding a platform: its package under `adapters/`, a `ChannelSyntax` in `bot/platforms.py`,
and one `Platform` below.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.commands import Commands
from bot.platforms import CONSOLE, DISCORD, SLACK, ChannelSyntax
from bot.ratelimit import RateLimiter
from bot.sender import RequestBudget, Sender
from bot.settings import Settings
from bot.store import Store


class Adapter(Protocol):
    """A running front end of one platform: commands in, its sender for posts out."""

    platform: str
    sender: Sender

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def on_schedule_changed(self) -> None:
        """The schedule changed: bring anything mirrored on the platform in step."""
        ...


@dataclass(frozen=True)
class Platform:
    syntax: ChannelSyntax
    configured: Callable[[Settings], bool]
    how_to_configure: str  # one line: the settings that turn it on
    # The delivery engine's sender; `store` keeps what it learns (members' DM channels);
    # `budgets`: every request budget by name, which its own requests draw from.
    sender: Callable[[Settings, Store | None, Mapping[str, RequestBudget]], Sender]
    # Its front end; `budgets`: every request budget by name (its platform's is the engine's
    # limiter, which the adapter's own requests draw from too).
    adapter: Callable[[Settings, Commands, Mapping[str, RequestBudget]], Adapter]
    # The engine's pace on this platform, under its documented limits (from the settings).
    limiter: Callable[[Settings], RateLimiter]
    # Limits of its own for some API methods (Slack's per-method tiers), by budget name.
    other_budgets: Callable[[Settings], dict[str, RateLimiter]] = lambda settings: {}
    # The local console: always there to post to, and the front end `run` uses when no
    # other platform is configured.
    fallback: bool = False

    @property
    def name(self) -> str:
        return self.syntax.name


# ----------------------------------------------------------------------------- Discord


def _discord_sender(
    settings: Settings, store: Store | None, budgets: Mapping[str, RequestBudget]
) -> Sender:
    from adapters.discord.sender import DiscordSender

    assert settings.discord_token is not None
    return DiscordSender(
        settings.discord_token,
        api_base=settings.discord_api_base,
        store=store,
        budget=budgets.get(DISCORD.name),
    )


def _discord_adapter(
    settings: Settings, commands: Commands, budgets: Mapping[str, RequestBudget]
) -> Adapter:
    from adapters.discord import DiscordAdapter

    return DiscordAdapter(settings, commands, budget=budgets.get(DISCORD.name))


# The share of Discord's limit the fan-out paces itself to: what is left absorbs the timing
# noise between our clock and the platform's count (bench: 0 429s, >= 0.95 of the bound).
DISCORD_HEADROOM = 0.96


def _discord_limiter(settings: Settings) -> RateLimiter:
    # `DISCORD_GLOBAL_RATE` (50) requests/s per bot, counting every request: the adapter
    # draws its other requests from the same limiter. Per-route buckets are discord.py's job.
    # Paced a little under the limit with a burst of 2, so a late wake-up loses no rate; and
    # never more than limit - 1 in any second, however the wake-ups bunch up.
    rate = settings.discord_global_rate
    return RateLimiter(
        rate * DISCORD_HEADROOM, burst=2, window_limit=max(1, int(rate) - 1), window=1.0
    )


# ----------------------------------------------------------------------------- Slack


def _slack_sender(
    settings: Settings, store: Store | None, budgets: Mapping[str, RequestBudget]
) -> Sender:
    from adapters.slack.sender import SlackSender

    return SlackSender.from_settings(
        settings, store=store, history_budget=budgets.get(SLACK_HISTORY)
    )


def _slack_adapter(
    settings: Settings, commands: Commands, budgets: Mapping[str, RequestBudget]
) -> Adapter:
    from adapters.slack.app import SlackAdapter

    return SlackAdapter(settings, commands, history_budget=budgets.get(SLACK_HISTORY))


def _slack_limiter(settings: Settings) -> RateLimiter:
    # chat.postMessage: about 1 message/s per channel (`SLACK_CHANNEL_INTERVAL`) and
    # `SLACK_POST_RATE` (20) overall.
    return RateLimiter(
        settings.slack_post_rate, burst=3, per_channel_interval=settings.slack_channel_interval
    )


# Slack limits each Web API method on its own tier: conversations.history (the sender's
# look-ups) has its own budget, `SLACK_HISTORY_PER_MINUTE` (50, Tier 3).
SLACK_HISTORY = "slack:conversations.history"


def _slack_other_budgets(settings: Settings) -> dict[str, RateLimiter]:
    return {SLACK_HISTORY: RateLimiter(settings.slack_history_per_minute / 60, burst=1)}


# ----------------------------------------------------------------------------- console


def _console_sender(
    settings: Settings, store: Store | None, budgets: Mapping[str, RequestBudget]
) -> Sender:
    from adapters.console import ConsoleSender

    return ConsoleSender()


def _console_adapter(
    settings: Settings, commands: Commands, budgets: Mapping[str, RequestBudget]
) -> Adapter:
    from adapters.console import ConsoleAdapter
    from episode_bot.app import _cli_runner

    return ConsoleAdapter(_cli_runner(settings), stream=sys.stdout, interactive=sys.stdin.isatty())


def _console_limiter(settings: Settings) -> RateLimiter:
    return RateLimiter(1000.0, burst=1000)  # a terminal has no limit worth the name


# ----------------------------------------------------------------------------- the registry

PLATFORMS: tuple[Platform, ...] = (
    Platform(
        syntax=DISCORD,
        configured=lambda settings: settings.discord_token is not None,
        how_to_configure="set DISCORD_TOKEN in .env or the environment",
        sender=_discord_sender,
        adapter=_discord_adapter,
        limiter=_discord_limiter,
    ),
    Platform(
        syntax=SLACK,
        configured=lambda settings: settings.slack_bot_token is not None,
        how_to_configure="set SLACK_BOT_TOKEN and either SLACK_APP_TOKEN (Socket Mode) or "
        "SLACK_SIGNING_SECRET (HTTP mode)",
        sender=_slack_sender,
        adapter=_slack_adapter,
        limiter=_slack_limiter,
        other_budgets=_slack_other_budgets,
    ),
    Platform(
        syntax=CONSOLE,
        configured=lambda settings: True,
        how_to_configure="nothing to set",
        sender=_console_sender,
        adapter=_console_adapter,
        limiter=_console_limiter,
        fallback=True,
    ),
)


def platform(name: str) -> Platform:
    for entry in PLATFORMS:
        if entry.name == name:
            return entry
    raise KeyError(f"no platform called {name!r} is registered")


def configured_chat_platforms(settings: Settings) -> list[Platform]:
    """The platforms (not the console) whose settings are there."""
    return [entry for entry in PLATFORMS if not entry.fallback and entry.configured(settings)]


def fallback_platform() -> Platform:
    return next(entry for entry in PLATFORMS if entry.fallback)


def how_to_add_platforms() -> str:
    """What `run` logs when only the console runs: how to turn on each chat platform."""
    chat = [entry for entry in PLATFORMS if not entry.fallback]
    lines = [
        f"No {' or '.join(e.syntax.label for e in chat)} credentials are set: running with "
        "the local console only."
    ]
    lines += [f"  {e.syntax.label}: {e.how_to_configure}." for e in chat]
    lines.append("  See .env.example.")
    return "\n".join(lines)
