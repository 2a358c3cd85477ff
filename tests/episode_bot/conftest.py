"""The CLI fixtures: `run` and `db_path` for every CLI test module, and `cli_dir`, the CLI
as a user runs it, in a directory of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.episode_bot.test_cli import db_path, run  # noqa: F401


@pytest.fixture
def cli_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path as the working directory, with no platform credentials and no database
    setting from the developer's environment (nor a stray .env)."""
    monkeypatch.chdir(tmp_path)
    for name in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "EPISODE_BOT_DB"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path
