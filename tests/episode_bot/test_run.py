"""`episode_bot.app.main`: start-up catch-up, clean stop on a stop event and on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import ChannelRef
from bot.settings import Settings
from bot.store import open_store
from episode_bot.app import limiter_for, main
from episode_bot.platforms import SLACK_HISTORY
from jobs.outbox import WATERMARK_KEY
from tests.jobs.support import FAM, FAM_DROPS, OPERATOR, START, FakeSender


@dataclass
class FakeAdapter:
    sender: FakeSender = field(default_factory=FakeSender)
    platform: str = "console"
    started: bool = False
    stopped: bool = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def on_schedule_changed(self) -> None:
        pass


def prepared(tmp_path: Path) -> Settings:
    db = tmp_path / "bot.db"
    store = open_store(db)
    commands = Commands(store, FixedClock(START))
    commands.show_add(OPERATOR, FAM, tz="America/New_York")
    commands.season_add(OPERATOR, FAM, 4, premiere="2023-11-10", episodes=10, every="friday")
    for name in ("a", "b"):
        commands.subscribe(OPERATOR, ChannelRef.parse(f"console:{name}"), FAM)
    store.set_meta(WATERMARK_KEY, "2023-11-09T00:00:00Z")  # last up the day before
    store.close()
    return Settings(episode_bot_db=db, _env_file=None)  # type: ignore[call-arg]


async def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(500):  # bounded: at most ~5 s
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_main_catches_up_at_start_and_stops_cleanly(tmp_path: Path) -> None:
    settings = prepared(tmp_path)
    adapter = FakeAdapter()
    stop = asyncio.Event()
    clock = FixedClock(FAM_DROPS[0] + timedelta(hours=2))  # down at the premiere, back 2 h later
    task = asyncio.create_task(main(settings, clock=clock, stop_event=stop, adapters=[adapter]))
    await wait_for(lambda: len(adapter.sender.sent) == 2, "the catch-up posts")
    assert adapter.started
    stop.set()
    assert await task == 0
    assert adapter.stopped
    store = open_store(settings.episode_bot_db)
    assert store.outbox_counts()["sent"] == 2 and store.outbox_counts()["sending"] == 0
    store.close()


async def test_sigterm_stops_main(tmp_path: Path) -> None:
    settings = prepared(tmp_path)
    adapter = FakeAdapter()
    clock = FixedClock(FAM_DROPS[0])
    task = asyncio.create_task(main(settings, clock=clock, adapters=[adapter]))
    await wait_for(lambda: len(adapter.sender.sent) == 2, "the premiere posts")
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 5) == 0
    assert adapter.stopped


def test_platform_limits() -> None:
    discord = limiter_for("discord")
    assert discord.rate + discord.burst <= 51  # within Discord's 50/s in any second
    slack = limiter_for("slack")
    assert slack.rate == 20 and slack.per_channel_interval == 1.0
    assert limiter_for("console").rate >= 1000


def test_raised_limits_come_from_settings() -> None:
    """A bot whose global limit Discord raised (or a Slack app on a higher tier) says so in
    the settings, and the fan-out's limiters follow."""
    raised = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_global_rate=500,
        slack_post_rate=40,
        slack_channel_interval=0.5,
        slack_history_per_minute=1,
    )
    discord = limiter_for("discord", raised)
    assert 0.95 * 500 <= discord.rate < 500 and discord.window_limit == 499
    slack = limiter_for("slack", raised)
    assert slack.rate == 40 and slack.per_channel_interval == 0.5
    assert limiter_for(SLACK_HISTORY, raised).rate == 1 / 60


def test_limits_are_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_GLOBAL_RATE", "1200")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert limiter_for("discord", settings).window_limit == 1199
