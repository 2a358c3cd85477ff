"""A sync's store work runs in a worker thread, as the delivery engine's does: a large
show's sync or a poll of 2,000 linked shows must not hold up the commands and platforms
served on the event loop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import Actor
from bot.settings import Settings
from episode_bot.sources import build_sources
from fakes.ical_feed import FeedFake
from fakes.serving import AppServer
from fakes.tvmaze import FAM_ID, TvmazeServer, fam_season_4


class LoopWatchingStore:
    """The real store; notes each method called from the event loop's thread."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._loop_thread = threading.get_ident()
        self.on_loop: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == self._loop_thread:
                self.on_loop.append(name)
            return attribute(*args, **kwargs)

        return call


@pytest.fixture
async def servers():
    tvmaze = await TvmazeServer().start()
    feeds = FeedFake()
    feed_server = await AppServer(feeds.app()).start()
    yield tvmaze, f"{feed_server.base_url}/feed/allday.ics"
    await feed_server.stop()
    await tvmaze.stop()


async def test_syncs_and_polls_touch_the_store_only_from_worker_threads(store, servers):
    tvmaze, feed = servers
    watched = LoopWatchingStore(store)
    clock = FixedClock(datetime(2023, 10, 1, tzinfo=UTC))
    settings = Settings(tvmaze_api_base=tvmaze.base_url, _env_file=None)  # type: ignore[call-arg]
    service, http = build_sources(settings, Commands(watched, clock))
    operator = Actor.operator()
    await service.import_show(operator, "tvmaze:36947", tz="America/New_York")
    await service.import_show(operator, f"ics:{feed}")
    fam = service.commands.visible_show(operator, "For All Mankind")
    watched.on_loop.clear()  # imports are commands, answered on the loop like every other

    tvmaze.fake.set_episodes(FAM_ID, 4, fam_season_4("2023-11-10"))
    outcome = await service.sync_show(fam.id)
    assert outcome.ok and "season 4 premiere moved" in outcome.describe()
    clock.advance(timedelta(hours=1))
    await service.poll_updates()
    await service.refresh_feeds()
    clock.set(datetime(2023, 11, 9, 23, tzinfo=UTC))
    assert len(await service.refresh_before_drops()) == 1
    await http.close()
    assert watched.on_loop == []
