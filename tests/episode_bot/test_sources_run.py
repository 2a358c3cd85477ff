"""`episode-bot run` keeps linked shows current on its own: the updates poll at start,
only changed shows fetched, the "new date" post delivered once across restarts.

The real `main` wiring (APScheduler, delivery engine, the aiohttp client) against the fake
TVmaze in the test's loop; the clock is injected; the platform is a recording sender.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import Actor, ChannelRef
from bot.settings import Settings
from bot.store import open_store
from episode_bot.app import main
from episode_bot.sources import build_sources
from fakes.tvmaze import FAM_ID, TvmazeServer, fam_season_4
from tests.episode_bot.test_run import FakeAdapter, wait_for

FAM = "For All Mankind"
OPERATOR = Actor.operator()


@pytest.fixture
async def tvmaze():
    server = await TvmazeServer().start()
    yield server
    await server.stop()


async def imported(tmp_path: Path, server: TvmazeServer) -> Settings:
    """FAM imported on 2023-10-01 (premiere announced for October 13th), one channel."""
    settings = Settings(
        episode_bot_db=tmp_path / "bot.db",
        tvmaze_api_base=server.base_url,
        episode_bot_sources_backoff_seconds=0.01,
        _env_file=None,  # type: ignore[call-arg]
    )
    store = open_store(settings.episode_bot_db)
    clock = FixedClock(datetime(2023, 10, 1, tzinfo=UTC))
    commands = Commands(store, clock)
    service, http = build_sources(settings, commands)
    await service.import_show(OPERATOR, "tvmaze:36947", tz="America/New_York")
    await http.close()
    clock.advance(timedelta(minutes=1))
    commands.subscribe(OPERATOR, ChannelRef.parse("console:general"), FAM)
    store.close()
    return settings


async def run_until(settings: Settings, at: datetime, condition, what: str) -> FakeAdapter:  # type: ignore[no-untyped-def]
    adapter = FakeAdapter()
    stop = asyncio.Event()
    task = asyncio.create_task(
        main(settings, clock=FixedClock(at), stop_event=stop, adapters=[adapter])
    )
    try:
        await wait_for(lambda: condition(adapter), what)
    finally:
        stop.set()
        assert await task == 0
    return adapter


async def test_run_follows_the_move_and_posts_the_new_date_once(tmp_path, tvmaze):
    settings = await imported(tmp_path, tvmaze)
    tvmaze.fake.add_linked_shows(50)  # other shows changing at TVmaze, not followed here
    tvmaze.fake.set_episodes(FAM_ID, 4, fam_season_4("2023-11-10"))
    tvmaze.fake.requests.clear()

    adapter = await run_until(
        settings,
        datetime(2023, 10, 5, 12, tzinfo=UTC),
        lambda a: len(a.sender.sent) == 1,
        "the new-date post",
    )
    [post] = adapter.sender.sent
    assert post.message.title == "For All Mankind season 4 has a new date"
    assert post.channel == ChannelRef.parse("console:general")
    # One call for the updates, one for the only linked show that changed.
    assert tvmaze.fake.requests == [
        "GET /updates/shows?since=month",
        "GET /shows/36947?embed%5B%5D=episodes&embed%5B%5D=seasons",
    ]

    # A restart an hour later: the poll finds nothing new; the post is not made again.
    tvmaze.fake.requests.clear()
    again = await run_until(
        settings,
        datetime(2023, 10, 5, 13, tzinfo=UTC),
        lambda _a: "GET /updates/shows?since=day" in tvmaze.fake.requests,
        "the second updates poll",
    )
    assert again.sender.sent == []
    # On the old premiere day nothing goes out: the drops moved to November.
    tvmaze.fake.requests.clear()
    october_13 = await run_until(
        settings,
        datetime(2023, 10, 13, 5, tzinfo=UTC),
        lambda _a: "GET /updates/shows?since=month" in tvmaze.fake.requests,  # 8 days on
        "the poll on October 13th",
    )
    assert october_13.sender.sent == []
    store = open_store(settings.episode_bot_db)
    assert store.outbox_counts()["sent"] == 1
    assert store.show_source(1).last_error is None  # type: ignore[union-attr]
    store.close()


async def test_run_refreshes_a_show_hours_before_its_drop(tmp_path, tvmaze):
    settings = await imported(tmp_path, tvmaze)
    tvmaze.fake.requests.clear()
    # 5 h before the premiere of October 13th: inside the 6 h window, the show is refreshed
    # even though TVmaze's updates do not list it as changed.
    await run_until(
        settings,
        datetime(2023, 10, 12, 23, tzinfo=UTC),
        lambda _a: (
            "GET /shows/36947?embed%5B%5D=episodes&embed%5B%5D=seasons" in tvmaze.fake.requests
        ),
        "the refresh before the drop",
    )
    assert sum("/shows/36947" in r for r in tvmaze.fake.requests) == 1


async def test_a_failing_source_leaves_run_delivering(tmp_path, tvmaze):
    settings = await imported(tmp_path, tvmaze)
    tvmaze.fake.set_episodes(FAM_ID, 4, fam_season_4("2023-11-10"))
    tvmaze.fake.fail(500, count=0)
    adapter = await run_until(
        settings,
        datetime(2023, 10, 13, 4, tzinfo=UTC),  # the old premiere instant
        lambda a: len(a.sender.sent) == 1,
        "the premiere post despite TVmaze failing",
    )
    assert "premiere" in adapter.sender.sent[0].message.title


async def test_run_gives_chat_admins_the_sources(tmp_path, tvmaze, monkeypatch):
    """The commands `run` hands the chat adapters import from TVmaze (not "not available")."""
    given = {}

    def adapters(settings, commands, *, budgets=None):  # type: ignore[no-untyped-def]
        given["commands"] = commands
        return [FakeAdapter()]

    monkeypatch.setattr("episode_bot.app.build_adapters", adapters)  # to see what they get
    settings = Settings(
        episode_bot_db=tmp_path / "bot.db",
        tvmaze_api_base=tvmaze.base_url,
        episode_bot_sources_backoff_seconds=0.01,
        _env_file=None,  # type: ignore[call-arg]
    )
    stop = asyncio.Event()
    clock = FixedClock(datetime(2023, 10, 1, tzinfo=UTC))
    task = asyncio.create_task(main(settings, clock=clock, stop_event=stop))
    try:
        await wait_for(lambda: "commands" in given, "the adapters")
        admin = Actor("slack", "T01", "UADMIN", is_admin=True)
        reply = await given["commands"].show_import(admin, "tvmaze:36947")
    finally:
        stop.set()
        assert await task == 0
    assert reply.text.startswith("Imported For All Mankind"), reply.text
