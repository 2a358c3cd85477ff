"""`/episodes calendar` on Slack: the channel's feed URL, visible only to the asker."""

from __future__ import annotations

import re

from bot.calendar import CalendarFeeds
from tests.adapters.slack.conftest import SlackHarness

BASE = "https://episodes.example.org"
FEED = re.compile(re.escape(BASE) + r"/calendar/([A-Za-z0-9_-]+)\.ics")


async def test_calendar_answers_the_feed_url_ephemerally(slack: SlackHarness) -> None:
    slack.commands.calendar_base_url = BASE
    answer = await slack.slash("calendar", user="UMEMBER")
    assert answer["response_type"] == "ephemeral"
    first = FEED.search(answer["text"])[1]
    feeds = CalendarFeeds(slack.store, slack.commands.clock)
    assert feeds.scope_for(first).key == "slack:T0001/C1"
    rotated = await slack.slash("calendar --rotate", user="UADMIN")
    second = FEED.search(rotated["text"])[1]
    assert second != first and feeds.scope_for(first) is None


async def test_a_member_cannot_hand_out_the_whole_workspace(slack: SlackHarness) -> None:
    slack.commands.calendar_base_url = BASE
    refused = await slack.slash("calendar --server", user="UMEMBER")
    assert refused["response_type"] == "ephemeral" and not FEED.search(refused["text"])
    answer = await slack.slash("calendar --server", user="UADMIN")
    token = FEED.search(answer["text"])[1]
    assert CalendarFeeds(slack.store, slack.commands.clock).scope_for(token).key == "slack:T0001"
