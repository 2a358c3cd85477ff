"""The CLI fixtures (`run`, `db_path`) for every CLI test module."""

from tests.episode_bot.test_cli import db_path, run  # noqa: F401
