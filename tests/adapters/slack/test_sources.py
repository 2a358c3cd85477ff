"""`/episodes admin show import …` and `/episodes admin sources …` on Slack: signed slash
commands to the real Bolt app, the real core and aiohttp client against the fake TVmaze."""

from __future__ import annotations

import pytest

from bot.commands import Commands
from tests.adapters.slack.conftest import SlackHarness
from tests.adapters.sources_support import tvmaze_for


@pytest.fixture
async def tvmaze(commands: Commands):
    async with tvmaze_for(commands) as server:
        yield server


async def test_a_workspace_admin_imports_and_syncs(slack: SlackHarness, tvmaze) -> None:
    answer = await slack.slash("admin show import imdb:tt1553656", user="UADMIN")
    assert "Imported Under the Dome (CBS) from TVmaze" in answer["text"]
    assert "https://www.tvmaze.com/shows/1/under-the-dome" in answer["text"]
    [show] = slack.store.visible_shows("slack:T0001")
    assert show.tenant_key == "slack:T0001"
    synced = await slack.slash('admin sources sync "Under the Dome"', user="UADMIN")
    assert "Under the Dome: up to date" in synced["text"]


async def test_several_matches_are_listed_and_nothing_is_imported(
    slack: SlackHarness, tvmaze
) -> None:
    answer = await slack.slash('admin show import "Doctor Who"', user="UADMIN")
    assert "tvmaze:210" in answer["text"] and "tvmaze:766" in answer["text"]
    assert slack.store.visible_shows(None) == []


async def test_members_cannot_import(slack: SlackHarness, tvmaze) -> None:
    answer = await slack.slash("admin show import tvmaze:1", user="UMEMBER")
    assert "Only workspace admins and owners" in answer["text"]
    assert tvmaze.fake.requests == []


async def test_a_workspace_admin_cannot_point_the_bot_at_a_private_network(
    slack: SlackHarness, tvmaze
) -> None:
    for url in (
        "http://127.0.0.1:8080/status",
        "http://169.254.169.254/latest/",
        "http://10.0.0.7/x.ics",
    ):
        answer = await slack.slash(f"admin show import ics:{url} --show X", user="UADMIN")
        assert "is not a public address" in answer["text"], answer["text"]
    assert slack.store.visible_shows(None) == []
