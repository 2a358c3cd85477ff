"""`/episodes-admin show import` and `/episodes-admin sources …` end to end: the real
CommandTree and core, the real aiohttp client against the fake TVmaze, answers at the fake
Discord server; the source option autocompletes from TVmaze's search."""

from __future__ import annotations

import pytest

from bot.commands import Commands
from fakes.discord_interactions import ADMIN, GUILD_A, MEMBER, command, options
from fakes.tvmaze import FAM_ID, fam_season_4
from tests.adapters.discord.conftest import answer_of, invoke
from tests.adapters.sources_support import tvmaze_for


@pytest.fixture
async def tvmaze(core: Commands):
    async with tvmaze_for(core) as server:
        yield server


async def test_source_autocomplete_lists_tvmaze_matches_by_id(bot, api, tvmaze):
    completion = await invoke(
        bot,
        api,
        command(
            "episodes-admin show import",
            options(source="doctor who"),
            permissions=ADMIN,
            focused="source",
        ),
    )
    assert completion["type"] == 8
    assert completion["data"]["choices"] == [
        {"name": "Doctor Who (2005), BBC One", "value": "tvmaze:210"},
        {"name": "Doctor Who (1963), BBC One", "value": "tvmaze:766"},
    ]


async def test_a_slow_or_failing_tvmaze_autocompletes_nothing(bot, api, tvmaze):
    tvmaze.fake.fail(500)
    completion = await invoke(
        bot,
        api,
        command(
            "episodes-admin show import",
            options(source="doctor who"),
            permissions=ADMIN,
            focused="source",
        ),
    )
    assert completion["data"]["choices"] == []


async def test_an_admin_imports_a_private_show_and_syncs_it(bot, api, core, tvmaze):
    imported = await answer_of(
        bot,
        api,
        command(
            "episodes-admin show import",
            options(source="tvmaze:36947", timezone="America/New_York"),
            permissions=ADMIN,
        ),
    )
    assert "Imported For All Mankind (Apple TV+) from TVmaze" in imported["content"]
    assert "https://www.tvmaze.com/shows/36947/for-all-mankind" in imported["content"]
    [show] = core.store.visible_shows(f"discord:{GUILD_A}")
    assert show.tenant_key == f"discord:{GUILD_A}"  # private to this server
    tvmaze.fake.set_episodes(FAM_ID, 4, fam_season_4("2023-11-10"))
    synced = await answer_of(
        bot,
        api,
        command("episodes-admin sources sync", options(show="For All Mankind"), permissions=ADMIN),
    )
    assert "season 4 premiere moved from 2023-10-13 to 2023-11-10" in synced["content"]


async def test_members_cannot_import(bot, api, core, tvmaze):
    refused = await answer_of(
        bot,
        api,
        command("episodes-admin show import", options(source="tvmaze:1"), permissions=MEMBER),
    )
    assert "manage" in refused["content"].lower() or "admin" in refused["content"].lower()
    assert core.store.visible_shows(None) == []
    assert tvmaze.fake.requests == []
