"""Start-up shows no library warning a user cannot act on (voice support the bot does not use,
a Slack token Bolt will not use), and every other warning still gets through."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from discord.voice_client import VoiceClient

from adapters.discord.client import EpisodeClient
from adapters.slack.app import SlackAdapter
from bot.clock import SystemClock
from bot.commands import Commands
from bot.store import open_store
from fakes.slack_api import FakeSlackApi
from tests.adapters.slack.conftest import APP_TOKEN, BOT_TOKEN, TEAM, make_settings


def test_discord_client_does_not_warn_about_voice(monkeypatch, caplog):
    # As in a fresh process: discord.py warns once per process, on the first client.
    monkeypatch.setattr(VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(VoiceClient, "warn_dave", True, raising=False)
    store = open_store(":memory:")
    with caplog.at_level(logging.WARNING):
        EpisodeClient(Commands(store, SystemClock()))
        logging.getLogger("discord.client").warning("a warning that concerns the bot")
    store.close()
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "voice" in m], messages
    assert "a warning that concerns the bot" in messages


async def test_slack_app_does_not_warn_about_the_token_it_reads_from_the_environment(
    monkeypatch, caplog
):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # as `make run` with .env exported
    store = open_store(":memory:")
    async with FakeSlackApi(bot_token=BOT_TOKEN, app_token=APP_TOKEN, team_id=TEAM) as api:
        with caplog.at_level(logging.WARNING):
            SlackAdapter(make_settings(api), Commands(store, SystemClock()))
            logging.getLogger("slack_bolt.AsyncApp").warning("a warning that concerns the bot")
    store.close()
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "will be unused" in m], messages
    assert "a warning that concerns the bot" in messages


def test_importing_the_discord_adapter_shows_no_deprecation_warning():
    # Python 3.11 warns that discord.py's optional voice code imports `audioop`.
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import adapters.discord"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert "audioop" not in done.stderr, done.stderr
