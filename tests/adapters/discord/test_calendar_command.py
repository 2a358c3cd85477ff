"""`/episodes calendar`: the channel's feed URL, answered to the asker only."""

from __future__ import annotations

import re

from bot.calendar import CalendarFeeds
from bot.commands import Commands
from fakes.discord_interactions import ADMIN, CHANNEL_A, GUILD_A, MEMBER, command, options
from tests.adapters.discord.conftest import answer_of

EPHEMERAL = 64
BASE = "https://episodes.example.org"
FEED = re.compile(re.escape(BASE) + r"/calendar/([A-Za-z0-9_-]+)\.ics")


async def test_a_member_gets_the_channels_feed_privately(bot, api, core: Commands):
    core.calendar_base_url = BASE
    answer = await answer_of(bot, api, command("episodes calendar", permissions=MEMBER))
    assert answer["flags"] & EPHEMERAL
    token = FEED.search(answer["content"])[1]
    scope = CalendarFeeds(core.store, core.clock).scope_for(token)
    assert scope is not None and scope.key == f"discord:{GUILD_A}/{CHANNEL_A}"


async def test_the_whole_servers_feed_is_for_admins_only(bot, api, core: Commands):
    core.calendar_base_url = BASE
    refused = await answer_of(
        bot, api, command("episodes calendar", options(server=True), permissions=MEMBER)
    )
    assert refused["flags"] & EPHEMERAL and not FEED.search(refused["content"])
    answer = await answer_of(
        bot, api, command("episodes calendar", options(server=True), permissions=ADMIN)
    )
    token = FEED.search(answer["content"])[1]
    assert CalendarFeeds(core.store, core.clock).scope_for(token).key == f"discord:{GUILD_A}"


async def test_without_the_web_server_it_says_so(bot, api, core: Commands):
    answer = await answer_of(bot, api, command("episodes calendar", permissions=MEMBER))
    assert answer["flags"] & EPHEMERAL
    assert "Calendar feeds are off" in answer["content"] and not FEED.search(answer["content"])
