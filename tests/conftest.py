"""Shared fixtures: a migrated store on a temporary file and an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import Actor
from bot.store import Store, open_store

# Before the season was announced, so every event and drop is in the future.
ANNOUNCED = datetime(2023, 9, 13, 12, 0, tzinfo=UTC)
OPERATOR = Actor.operator()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(ANNOUNCED)


@pytest.fixture
def store(tmp_path) -> Store:
    opened = open_store(tmp_path / "episode-bot.db")
    yield opened
    opened.close()


@pytest.fixture
def commands(store: Store, clock: FixedClock) -> Commands:
    return Commands(store, clock)


def add_fam(commands: Commands, *, premiere: str = "2023-11-10", trailer: bool = True) -> None:
    """For All Mankind season 4 as the seed announcement describes it."""
    commands.show_add(
        OPERATOR, "For All Mankind", network="Apple TV+", tz="America/New_York", time="00:00"
    )
    commands.season_add(
        OPERATOR,
        "For All Mankind",
        4,
        premiere=premiere,
        episodes=10,
        every="friday",
        trailer="https://www.youtube.com/watch?v=0xEmwEc2JHs" if trailer else None,
    )


@pytest.fixture(autouse=True)
def _no_web_server_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run` starts the web server on port 8080 by default; tests that want it pick a port."""
    monkeypatch.setenv("EPISODE_BOT_WEB_PORT", "0")


def add_long_week(commands: Commands, channel, *, marker: str = "") -> None:
    """45 shows with long titles (`marker`: text that must stay inert), each premiering on
    Wednesday 2023-11-08 00:00 UTC, all followed by `channel`, which gets a Monday 09:00 UTC
    digest: the week of 6 November lists 45 drops, more than one post holds."""
    for number in range(45):
        title = f"Show {number:02d} {marker} " + "x" * 80
        commands.show_add(OPERATOR, title, tz="UTC")
        commands.season_add(OPERATOR, title, 1, premiere="2023-11-08", episodes=3)
        commands.subscribe(OPERATOR, channel, title)
    commands.digest(OPERATOR, channel, "monday 09:00")
