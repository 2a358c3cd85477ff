"""The chat command's core: a feed URL for the asker, within their own server/workspace."""

from __future__ import annotations

import pytest

from bot.calendar import CalendarFeeds
from bot.clock import FixedClock
from bot.commands import Commands
from bot.errors import NotFound, PermissionDenied
from bot.models import Actor, ChannelRef
from bot.store import Store

BASE = "https://episodes.example.org"
CHANNEL = ChannelRef.parse("discord:1/10")
MEMBER = Actor("discord", "1", "u1", can_manage_channels=False)
MODERATOR = Actor("discord", "1", "u2", can_manage_channels=True)
ADMIN = Actor("discord", "1", "u3", is_admin=True)
STRANGER = Actor("discord", "2", "u4", is_admin=True)


@pytest.fixture
def web_commands(store: Store, clock: FixedClock) -> Commands:
    return Commands(store, clock, calendar_base_url=BASE)


def test_a_member_gets_the_channels_url_only_for_themselves(
    web_commands: Commands, store: Store, clock: FixedClock
) -> None:
    reply = web_commands.calendar_url(MEMBER, CHANNEL)
    assert reply.ephemeral
    url = reply.text.splitlines()[-1]
    assert url == reply.data["url"] and url.startswith(BASE + "/calendar/")
    token = url.removeprefix(BASE + "/calendar/").removesuffix(".ics")
    assert str(CalendarFeeds(store, clock).scope_for(token).key) == "discord:1/10"
    assert web_commands.calendar_url(MEMBER, CHANNEL).data["url"] == url  # the same, again


def test_rotating_needs_the_right_to_manage_the_channel(web_commands: Commands) -> None:
    first = web_commands.calendar_url(MEMBER, CHANNEL).data["url"]
    with pytest.raises(PermissionDenied):
        web_commands.calendar_url(MEMBER, CHANNEL, rotate=True)
    rotated = web_commands.calendar_url(MODERATOR, CHANNEL, rotate=True)
    assert rotated.data["url"] != first and "no longer works" in rotated.text


def test_rotating_a_url_never_issued_claims_no_previous_one(web_commands: Commands) -> None:
    reply = web_commands.calendar_url(MODERATOR, CHANNEL, rotate=True)
    assert "no longer works" not in reply.text
    assert web_commands.calendar_url(MODERATOR, CHANNEL).data["url"] == reply.data["url"]


def test_the_whole_servers_feed_is_for_admins(web_commands: Commands) -> None:
    with pytest.raises(PermissionDenied):
        web_commands.calendar_url(MODERATOR, CHANNEL, server=True)
    reply = web_commands.calendar_url(ADMIN, CHANNEL, server=True)
    assert "every channel of discord:1" in reply.text


def test_another_servers_channel_is_refused(web_commands: Commands) -> None:
    with pytest.raises(PermissionDenied, match="another server"):
        web_commands.calendar_url(STRANGER, CHANNEL)


def test_without_the_web_server_it_says_whom_to_ask(commands: Commands) -> None:
    with pytest.raises(NotFound, match="EPISODE_BOT_WEB_PORT"):
        commands.calendar_url(ADMIN, CHANNEL)
