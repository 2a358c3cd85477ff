"""DiscordAdapter start-up and gateway events, and command sync, against the fake server
(REST and its minimal gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, dispatches)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import DiscordAdapter, DiscordStartupError, sync_commands
from adapters.discord.endpoints import DISCORD_API_BASE
from bot.commands import Commands
from bot.models import Actor, ChannelRef
from bot.settings import Settings
from fakes.discord_api import FakeDiscord
from fakes.discord_interactions import CHANNEL_A, GUILD_A
from tests.adapters.discord.conftest import TOKEN


def settings(api: FakeDiscord, token: str = TOKEN) -> Settings:
    return Settings(_env_file=None, discord_token=token, discord_api_base=api.base_url)


def subscribe_fam(core: Commands) -> None:
    core.show_add(Actor.operator(), "For All Mankind")
    core.subscribe(Actor.operator(), ChannelRef("discord", GUILD_A, CHANNEL_A), "For All Mankind")


async def until(condition, attempts: int = 200) -> None:
    """Let the loop run the client's event handlers (no clock involved)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def test_a_bad_token_stops_start_up_without_printing_it(api, core, caplog):
    caplog.set_level(logging.DEBUG)
    adapter = DiscordAdapter(settings(api, token="leaked-secret-xyz"), core)
    with pytest.raises(DiscordStartupError) as caught:
        await adapter.start()
    assert "DISCORD_TOKEN" in str(caught.value)
    assert "leaked-secret-xyz" not in str(caught.value) + caplog.text


async def test_gateway_events_pause_subscriptions(api, core: Commands):
    subscribe_fam(core)
    adapter = DiscordAdapter(settings(api), core, guild_ready_timeout=0.01)
    await adapter.start()
    try:
        await asyncio.wait_for(adapter.client.wait_until_ready(), 5)
        assert [g.id for g in adapter.client.guilds] == [int(GUILD_A)]
        [gateway_lookup] = api.requests_to("GET", "^/gateway/bot$")
        assert gateway_lookup.status == 200

        deleted = asyncio.ensure_future(adapter.client.wait_for("guild_channel_delete"))
        await api.dispatch("CHANNEL_DELETE", api.guilds[GUILD_A].channels[0])
        await asyncio.wait_for(deleted, 5)
        await until(lambda: core.store.subscriptions()[0].paused_reason == "channel deleted")

        core.subscribe(
            Actor.operator(),
            ChannelRef("discord", GUILD_A, "900000000000000102"),
            "For All Mankind",
        )
        removed = asyncio.ensure_future(adapter.client.wait_for("guild_remove"))
        await api.dispatch("GUILD_DELETE", {"id": GUILD_A})
        await asyncio.wait_for(removed, 5)
        await until(lambda: all(s.paused_reason for s in core.store.subscriptions()))
        reasons = {s.paused_reason for s in core.store.subscriptions()}
        assert "bot removed from the server" in reasons
    finally:
        await adapter.stop()
    assert Route.BASE == DISCORD_API_BASE  # the redirect ends with the adapter
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


async def test_the_adapter_sender_posts_through_the_configured_base(api, core):
    adapter = DiscordAdapter(settings(api), core)
    await adapter.start(connect_gateway=False)
    try:
        assert adapter.platform == adapter.sender.platform == "discord"
        assert adapter.sender.api_base == api.base_url
    finally:
        await adapter.stop()


async def test_sync_commands_for_a_guild_and_globally(api):
    names = await sync_commands(settings(api), guild_id=int(GUILD_A))
    assert sorted(names) == ["episodes", "episodes-admin"]
    synced = {c["name"]: c for c in api.synced_commands[GUILD_A]}
    admin = synced["episodes-admin"]
    assert int(admin["default_member_permissions"]) == 32  # manage_guild
    assert admin["dm_permission"] is False  # guild only
    groups = {o["name"]: o for o in admin["options"]}
    assert {o["name"] for o in groups["season"]["options"]} == {"add", "move", "trailer", "remove"}
    add = {o["name"]: o for o in groups["season"]["options"]}["add"]
    episodes = {o["name"]: o for o in add["options"]}["episodes"]
    assert (episodes["min_value"], episodes["max_value"]) == (1, 500)

    await sync_commands(settings(api), guild_id=None)
    assert {c["name"] for c in api.synced_commands[None]} == {"episodes", "episodes-admin"}
