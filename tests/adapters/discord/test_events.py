"""Discord scheduled events for premieres and finales, through real discord.py against the
fake server: created, moved and deleted with the season; skipped without the permission."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.endpoints import RedirectingHTTPClient
from adapters.discord.events import (
    DESCRIPTION_LIMIT,
    NAME_LIMIT,
    ScheduledEventSync,
    event_payload,
    marker_key,
)
from bot.agenda import Milestone
from bot.commands import Commands
from bot.models import Actor, ChannelRef
from bot.settings import Settings
from fakes.discord_api import FakeDiscord
from fakes.discord_interactions import CHANNEL_A, CHANNEL_B, GUILD_A, GUILD_B
from tests.adapters.discord.conftest import TOKEN
from tests.conftest import add_fam

OPERATOR = Actor.operator()
FAM = "For All Mankind"
PREMIERE = datetime(2023, 11, 10, 5, 0, tzinfo=UTC)  # Friday 00:00 America/New_York
FINALE = datetime(2024, 1, 12, 5, 0, tzinfo=UTC)
EVENTS = r"/scheduled-events"


@pytest.fixture
async def sync(api: FakeDiscord, core: Commands) -> AsyncIterator[ScheduledEventSync]:
    http = RedirectingHTTPClient(asyncio.get_running_loop(), api_base=api.base_url)
    await http.static_login(TOKEN)
    try:
        yield ScheduledEventSync(core.store, core.clock, http)
    finally:
        await http.close()


def follow(core: Commands, guild: str = GUILD_A, channel: str = CHANNEL_A) -> None:
    core.subscribe(OPERATOR, ChannelRef("discord", guild, channel), FAM)


def events_of(api: FakeDiscord, guild: str = GUILD_A) -> dict[str, dict]:
    """The guild's events by name."""
    return {e["name"]: e for e in api.scheduled_events.values() if e["guild_id"] == guild}


def start_of(event: dict) -> datetime:
    return datetime.fromisoformat(event["scheduled_start_time"])


def requests(api: FakeDiscord, method: str, guild: str = GUILD_A) -> list:
    return api.requests_to(method, rf"^/guilds/{guild}{EVENTS}")


async def test_a_followed_season_gets_a_premiere_and_a_finale_event(api, core, sync):
    add_fam(core)
    follow(core)
    follow(core, channel="900000000000000102")  # a second channel: still one event each

    result = await sync.sync()

    assert result.created == 2
    events = events_of(api)
    premiere = events["For All Mankind: Season 4 premiere"]
    finale = events["For All Mankind: Season 4 finale"]
    assert start_of(premiere) == PREMIERE and start_of(finale) == FINALE
    for event in (premiere, finale):
        assert event["entity_type"] == 3 and event["privacy_level"] == 2
        assert event["entity_metadata"] == {"location": "Apple TV+"}
        end = datetime.fromisoformat(event["scheduled_end_time"])
        assert end - start_of(event) == timedelta(hours=1)
        assert "https://www.youtube.com/watch?v=0xEmwEc2JHs" in event["description"]
    assert "(S4E1)" in premiere["description"] and "(S4E10)" in finale["description"]
    stored = {o.object_key: o for o in core.store.platform_objects("discord", GUILD_A)}
    assert set(stored) == {"season:1:premiere", "season:1:finale"}
    assert stored["season:1:premiere"].remote_id == premiere["id"]
    assert stored["season:1:premiere"].expires_at == PREMIERE


async def test_syncing_twice_changes_nothing(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()
    before = len(api.requests)

    again = await sync.sync()

    assert (again.created, again.edited, again.deleted, again.unchanged) == (0, 0, 0, 2)
    assert len(api.requests) == before  # not a single request
    assert len(api.scheduled_events) == 2


async def test_a_moved_season_moves_its_events(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()
    ids = set(api.scheduled_events)

    core.season_move(OPERATOR, FAM, 4, premiere="2023-12-01")
    result = await sync.sync()

    assert (result.created, result.edited, result.deleted) == (0, 2, 0)
    assert set(api.scheduled_events) == ids  # the same events, edited: no duplicates
    assert len(requests(api, "POST")) == 2 and len(requests(api, "PATCH")) == 2
    events = events_of(api)
    assert start_of(events["For All Mankind: Season 4 premiere"]) == datetime(
        2023, 12, 1, 5, 0, tzinfo=UTC
    )
    assert start_of(events["For All Mankind: Season 4 finale"]) == datetime(
        2024, 2, 2, 5, 0, tzinfo=UTC
    )


async def test_a_removed_season_deletes_its_events(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()

    core.season_remove(OPERATOR, FAM, 4)
    result = await sync.sync()

    assert result.deleted == 2 and len(requests(api, "DELETE")) == 2
    assert api.scheduled_events == {}
    assert core.store.platform_objects("discord") == []


async def test_unsubscribing_deletes_the_events_of_that_guild_only(api, core, sync):
    add_fam(core)
    follow(core)
    follow(core, GUILD_B, CHANNEL_B)
    await sync.sync()
    assert len(events_of(api, GUILD_B)) == 2

    core.unsubscribe(OPERATOR, ChannelRef("discord", GUILD_B, CHANNEL_B), FAM)
    result = await sync.sync()

    assert result.deleted == 2
    assert events_of(api, GUILD_B) == {} and len(events_of(api, GUILD_A)) == 2


async def test_without_manage_events_a_guild_is_skipped_quietly(api, core, sync, caplog):
    caplog.set_level(logging.INFO, logger="adapters.discord.events")
    api.events_forbidden.add(GUILD_B)
    add_fam(core)
    follow(core)
    follow(core, GUILD_B, CHANNEL_B)

    result = await sync.sync()

    assert result.skipped_guilds == [GUILD_B] and result.created == 2
    assert core.store.platform_objects("discord", GUILD_B) == []
    assert len(events_of(api, GUILD_A)) == 2 and events_of(api, GUILD_B) == {}
    [refused] = requests(api, "POST", GUILD_B)
    assert refused.status == 403
    assert any("Manage Events" in r.getMessage() and r.levelname == "INFO" for r in caplog.records)

    await sync.sync()  # nothing changed: not asked again
    assert len(requests(api, "POST", GUILD_B)) == 1

    api.events_forbidden.clear()  # an admin grants the permission, then the schedule changes
    core.season_move(OPERATOR, FAM, 4, premiere="2023-11-17")
    await sync.sync()
    assert len(events_of(api, GUILD_B)) == 2


async def test_past_milestones_are_left_alone(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()
    ids = {o.object_key: o.remote_id for o in core.store.platform_objects("discord", GUILD_A)}

    core.clock.set(PREMIERE + timedelta(hours=2))  # the premiere is out
    core.season_trailer(OPERATOR, FAM, 4, "https://example.com/second-trailer")
    result = await sync.sync()

    assert (result.edited, result.created, result.deleted) == (1, 0, 0)
    [edit] = requests(api, "PATCH")
    assert edit.path.endswith("/" + ids["season:1:finale"])
    premiere = api.scheduled_events[ids["season:1:premiere"]]  # untouched on Discord
    assert "second-trailer" not in premiere["description"]
    assert [o.object_key for o in core.store.platform_objects("discord")] == ["season:1:finale"]


async def test_an_event_deleted_by_a_member_is_created_again_when_it_moves(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()
    api.scheduled_events.clear()  # a member deleted both in Discord

    core.season_move(OPERATOR, FAM, 4, premiere="2023-11-17")
    result = await sync.sync()

    assert (result.edited, result.created) == (0, 2)
    assert len(api.scheduled_events) == 2


async def test_a_server_error_skips_the_guild_until_the_next_sync(api, core, sync):
    add_fam(core)
    follow(core)
    api.fail_next(1, 503, path_contains=EVENTS)  # (500s discord.py retries, after sleeping)

    first = await sync.sync()

    assert first.skipped_guilds == [GUILD_A]
    second = await sync.sync()
    assert second.created + first.created == 2 and len(api.scheduled_events) == 2


def milestone(**changes) -> Milestone:
    values = {
        "tenant": GUILD_A,
        "object_key": "season:1:premiere",
        "kind": "premiere",
        "show_title": FAM,
        "network": None,
        "season_number": 4,
        "season_title": None,
        "first_episode": 1,
        "last_episode": 2,
        "release_at": PREMIERE,
        "timezone": "America/New_York",
        "trailer_url": None,
    }
    return Milestone(**{**values, **changes})


def test_payloads_stay_within_discord_limits():
    payload = event_payload(
        milestone(show_title="A" * 300, trailer_url="https://example.com/" + "x" * 2000)
    )
    assert len(payload["name"]) <= NAME_LIMIT
    assert payload["name"].endswith("…: Season 4 premiere")
    assert len(payload["description"]) <= DESCRIPTION_LIMIT
    assert payload["entity_metadata"] == {"location": "Streaming"}  # no network known
    assert "(S4E1–E2)" in event_payload(milestone())["description"]
    assert payload["description"].endswith("…\nepisode-bot:season:1:premiere")  # never clipped


def test_the_marker_names_the_key_on_the_last_line_only():
    description = event_payload(milestone(object_key="season:12:finale"))["description"]
    assert description.splitlines()[-1] == "episode-bot:season:12:finale"
    assert marker_key(description) == "season:12:finale"
    assert marker_key(description + "\n") == "season:12:finale"  # trailing space trimmed
    assert marker_key(description + "\nedited by a member") is None
    assert marker_key("episode-bot:") is None
    assert marker_key(None) is None and marker_key("") is None


async def test_the_adapter_syncs_at_start_up_and_on_every_change(api, core):
    add_fam(core)
    follow(core)
    settings = Settings(_env_file=None, discord_token=TOKEN, discord_api_base=api.base_url)
    adapter = DiscordAdapter(settings, core, events_poll_seconds=3600)
    core.on_change = adapter.on_schedule_changed  # what episode_bot.app.main wires
    await adapter.start(connect_gateway=False)
    try:
        await adapter.wait_events_idle()
        assert len(api.scheduled_events) == 2

        core.season_move(OPERATOR, FAM, 4, premiere="2023-12-01")
        core.season_trailer(OPERATOR, FAM, 4, "https://example.com/t2")  # during that sync
        await adapter.wait_events_idle()
        assert adapter.events.syncs <= 3  # start-up, then the two changes coalesced
        events = events_of(api)
        finale = events["For All Mankind: Season 4 finale"]
        assert start_of(finale) == datetime(2024, 2, 2, 5, 0, tzinfo=UTC)
        assert "https://example.com/t2" in finale["description"]
        assert len(api.scheduled_events) == 2

        # A change made by another process (the CLI) calls no hook: the watcher polls.
        other = Commands(core.store, core.clock)
        other.season_remove(OPERATOR, FAM, 4)
        assert await adapter.events.sync_if_changed() is True
        assert api.scheduled_events == {}
        assert await adapter.events.sync_if_changed() is False
    finally:
        await adapter.stop()


def forget(core: Commands, key: str, guild: str = GUILD_A) -> None:
    """The crash: Discord created the event, the bot died before recording it."""
    assert core.store.delete_platform_object("discord", guild, key)


def remote_ids(core: Commands, guild: str = GUILD_A) -> dict[str, str]:
    return {o.object_key: o.remote_id for o in core.store.platform_objects("discord", guild)}


async def test_every_event_carries_its_key_as_a_marker(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()

    for key, remote_id in remote_ids(core).items():
        description = api.scheduled_events[remote_id]["description"]
        assert description.splitlines()[-1] == f"episode-bot:{key}"


async def test_an_event_created_before_a_crash_is_adopted_not_duplicated(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()
    ids = remote_ids(core)
    premiere = api.scheduled_events[ids["season:1:premiere"]]
    strangers = [
        api.add_scheduled_event(GUILD_A, name=premiere["name"]),  # no marker
        api.add_scheduled_event(
            GUILD_A,
            name=premiere["name"],
            description="Ours, but another key\nepisode-bot:season:99:premiere",
        ),
    ]
    before = {e["id"]: dict(e) for e in strangers}
    forget(core, "season:1:premiere")

    result = await sync.sync()

    assert (result.adopted, result.created, result.edited, result.unchanged) == (1, 0, 0, 2)
    assert remote_ids(core) == ids  # the same event recorded again
    assert len(requests(api, "POST")) == 2  # only the first sync's: no duplicate
    assert requests(api, "PATCH") == []  # it already showed the right thing
    assert len(requests(api, "GET")) == 2  # first sync, then this one
    assert {e["id"]: api.scheduled_events[e["id"]] for e in strangers} == before  # untouched
    assert len(api.scheduled_events) == 4
    assert (await sync.sync()).unchanged == 2  # and in step again: nothing more


async def test_an_adopted_event_that_differs_is_edited(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()
    ids = remote_ids(core)
    forget(core, "season:1:premiere")
    forget(core, "season:1:finale")

    core.season_move(OPERATOR, FAM, 4, premiere="2023-12-01")
    result = await sync.sync()

    assert (result.adopted, result.edited, result.created) == (2, 2, 0)
    assert remote_ids(core) == ids
    assert set(api.scheduled_events) == set(ids.values())  # no duplicates
    assert len(requests(api, "POST")) == 2
    assert {r.path.rsplit("/", 1)[-1] for r in requests(api, "PATCH")} == set(ids.values())
    assert start_of(events_of(api)["For All Mankind: Season 4 premiere"]) == datetime(
        2023, 12, 1, 5, 0, tzinfo=UTC
    )
    assert (await sync.sync()).unchanged == 2


async def test_an_event_a_member_started_or_cancelled_is_not_adopted(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()
    old = remote_ids(core)["season:1:premiere"]
    api.scheduled_events[old]["status"] = 2  # active: the listing shows it, but not ours now
    forget(core, "season:1:premiere")

    result = await sync.sync()

    assert (result.adopted, result.created) == (0, 1)
    assert remote_ids(core)["season:1:premiere"] != old


async def test_the_guild_is_listed_only_when_a_record_is_missing(api, core, sync):
    add_fam(core)
    follow(core)
    await sync.sync()  # nothing recorded yet: one listing before creating
    assert len(requests(api, "GET")) == 1 and sync.listings == 1

    await sync.sync()  # in step
    core.season_move(OPERATOR, FAM, 4, premiere="2023-12-01")
    await sync.sync()  # edits of recorded events
    api.scheduled_events.clear()  # a member deleted both: recreated without listing
    core.season_move(OPERATOR, FAM, 4, premiere="2023-12-08")
    assert (await sync.sync()).created == 2
    assert len(requests(api, "GET")) == 1

    follow(core, GUILD_B, CHANNEL_B)  # a new guild: listed once, before its events are made
    assert (await sync.sync()).created == 2
    assert len(requests(api, "GET", GUILD_B)) == 1 and len(requests(api, "GET")) == 1

    core.season_remove(OPERATOR, FAM, 4)  # deleting needs no listing either
    assert (await sync.sync()).deleted == 4
    assert sync.listings == 2
