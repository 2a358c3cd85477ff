"""Fixtures: the fake Discord server, the real core on an in-memory store, and a logged-in
discord.py client with our command tree (no gateway: interactions are fed to the tree)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import discord
import pytest

from adapters.discord.client import EpisodeClient
from adapters.discord.commands import install_commands
from adapters.discord.endpoints import redirect_process
from bot.clock import FixedClock
from bot.commands import Commands
from bot.store import open_store
from fakes import discord_interactions as payloads
from fakes.discord_api import FakeDiscord, FakeGuild

TOKEN = "test-bot-token.XYZ"
NOW = datetime(2023, 10, 1, 12, 0, tzinfo=UTC)


def text_channel(channel_id: str, guild_id: str) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": guild_id,
        "name": f"c{channel_id[-3:]}",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


@pytest.fixture
async def api() -> AsyncIterator[FakeDiscord]:
    guild = FakeGuild(
        payloads.GUILD_A, channels=[text_channel(payloads.CHANNEL_A, payloads.GUILD_A)]
    )
    async with FakeDiscord(token=TOKEN, guilds=[guild]) as fake:
        yield fake


@pytest.fixture
def core() -> Iterator[Commands]:
    store = open_store(":memory:")
    yield Commands(store, FixedClock(NOW))
    store.close()


@pytest.fixture
async def bot(api: FakeDiscord, core: Commands) -> AsyncIterator[EpisodeClient]:
    with redirect_process(api.base_url):
        client = EpisodeClient(core)
        install_commands(client.tree, core)
        await client.login(TOKEN)
        try:
            yield client
        finally:
            await client.close()


async def invoke(bot: EpisodeClient, api: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    """Feed one interaction to the real CommandTree; return the callback the fake received."""
    before = len(api.interaction_callbacks)
    await bot.tree._call(discord.Interaction(data=payload, state=bot._connection))
    assert len(api.interaction_callbacks) == before + 1, "the command did not answer"
    return api.interaction_callbacks[-1]


async def answers(
    bot: EpisodeClient, api: FakeDiscord, payload: dict[str, Any]
) -> list[dict[str, Any]]:
    """The messages a command answered with: the type-4 callback's data, or, after a type-5
    defer, the followups posted to the interaction's webhook."""
    before = len(api.followups)
    callback = await invoke(bot, api, payload)
    if callback["type"] == 5:
        assert len(api.followups) > before, "deferred but never followed up"
        return api.followups[before:]
    assert len(api.followups) == before
    return [callback["data"]]


async def answer_of(bot: EpisodeClient, api: FakeDiscord, payload: dict[str, Any]) -> dict:
    """The one message a command answered with (see `answers`)."""
    [message] = await answers(bot, api, payload)
    return message
