"""The README's For All Mankind walk-through, in the README's order: `make run` first (which
plans up to today on the same database), then the commands as printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from bot.store import open_store
from episode_bot.cli import cli
from jobs.outbox import WATERMARK_KEY, materialize

FAM = "For All Mankind"
TRAILER = "https://www.youtube.com/watch?v=0xEmwEc2JHs"


@pytest.fixture
def eb(cli_dir):
    db = cli_dir / "episode-bot.db"

    def invoke(*args: str):
        result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return invoke


def make_run_planned_up_to_today(db) -> None:
    """What `make run` leaves behind: its first pass planned everything up to now."""
    store = open_store(db)
    try:
        materialize(store, datetime.now(UTC), timedelta(hours=12))
        assert store.get_meta(WATERMARK_KEY) is not None
    finally:
        store.close()


def test_walkthrough_works_after_make_run_on_the_same_database(eb, tmp_path):
    db = tmp_path / "episode-bot.db"
    make_run_planned_up_to_today(db)
    watermark = open_store(db)
    planned_up_to = watermark.get_meta(WATERMARK_KEY)
    watermark.close()

    eb("show", "add", FAM, "--network", "Apple TV+", "--tz", "America/New_York", "--time", "00:00")
    eb(
        "season", "add", FAM, "4", "--premiere", "2023-10-13", "--episodes", "10",
        "--every", "friday", "--trailer", TRAILER,
    )  # fmt: skip
    eb("subscribe", "console:general", FAM, "--before", "1h")
    eb("season", "move", FAM, "4", "--premiere", "2023-11-10")
    eb("schedule", FAM)
    posts = eb("preview", "--from", "2023-11-01T00:00:00Z", "--to", "2024-02-01T00:00:00Z")
    assert len(posts.stdout.splitlines()) == 20

    reminder = eb("deliver", "--now", "2023-11-10T04:00:00Z")
    assert "For All Mankind S4E1 drops in 1h" in reminder.stdout
    assert "delivered 1" in reminder.stderr
    premiere = eb("deliver", "--now", "2023-11-10T05:00:00Z")
    assert "Season 4 premiere: For All Mankind S4E1 is out" in premiere.stdout
    assert "drops in 1h" not in premiere.stdout
    assert "delivered 1" in premiere.stderr
    again = eb("deliver", "--now", "2023-11-10T05:00:00Z")
    assert again.stdout == ""
    assert "delivered 0" in again.stderr
    assert "skipped 0" in again.stderr  # the sent reminder, planned again, is not "skipped"

    # The planning watermark never moved back.
    store = open_store(db)
    try:
        assert store.get_meta(WATERMARK_KEY) >= planned_up_to
    finally:
        store.close()
