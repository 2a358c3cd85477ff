"""`deliver` by hand is paced like `run`: a big hand delivery stays under the platform's
limit instead of bouncing off it (429s by the hundred get a Discord bot's IP banned)."""

from __future__ import annotations

import pytest

from fakes.discord_api import API_PREFIX, FakeDiscord
from fakes.serving import served_in_thread
from tests.episode_bot.test_cli import FAM, add_fam

TOKEN = "deliver-by-hand-token"
CHANNELS = [str(900_000 + n) for n in range(8)]


def test_a_delivery_by_hand_stays_under_discords_global_limit(run, monkeypatch: pytest.MonkeyPatch):
    fake = FakeDiscord(token=TOKEN, global_limit=5)  # 5 requests a second, 429 beyond
    add_fam(run)
    for channel in CHANNELS:
        run("subscribe", f"discord:1/{channel}", FAM)
    with served_in_thread(fake.app()) as url:
        monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
        monkeypatch.setenv("DISCORD_API_BASE", url + API_PREFIX)
        monkeypatch.setenv("DISCORD_GLOBAL_RATE", "5")
        result = run("deliver", "--now", "2023-11-10T05:00:00Z")  # the premiere
    assert "delivered 8" in result.stderr
    assert [len(fake.messages[channel]) for channel in CHANNELS] == [1] * 8
    # Nine requests (log-in and 8 posts) in two windows of 5, not a burst that Discord
    # would answer with 429s.
    assert fake.status_counts[429] == 0
    assert sum(fake.status_counts.values()) == 9
