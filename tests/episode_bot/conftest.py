"""The CLI fixtures: `run` and `db_path` for every CLI test module, and `cli_dir`, the CLI
as a user runs it, in a directory of its own."""

from __future__ import annotations

import logging
from collections.abc import Iterator
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


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """`deliver` and `run` configure logging for the process: put the root level back and
    drop the handlers they added (theirs write to the test's captured stderr, closed once
    the test ends), so later tests log as if nothing happened."""
    root = logging.getLogger()
    level, before = root.level, set(root.handlers)
    yield
    root.setLevel(level)
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
