"""A setting that cannot work stops every command with one line naming the environment
variable (never the field, never a secret's value) and exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from episode_bot.cli import cli

SECRET = "MTIzNDU2Nzg5MDEy.secret-part"


@pytest.fixture
def invoke(cli_dir, monkeypatch):
    def run(env: dict[str, str], *args: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return CliRunner().invoke(cli, list(args or ["shows"]), catch_exceptions=False)

    return run


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"EPISODE_BOT_GRACE_HOURS": "-3"}, ["EPISODE_BOT_GRACE_HOURS", "greater than 0"]),
        ({"EPISODE_BOT_GRACE_HOURS": "soon"}, ["EPISODE_BOT_GRACE_HOURS", "number"]),
        ({"EPISODE_BOT_LOG_LEVEL": "LOUD"}, ["EPISODE_BOT_LOG_LEVEL", "DEBUG", "WARNING"]),
        ({"DISCORD_API_BASE": "ftp://example.com/api/v10"}, ["DISCORD_API_BASE", "http"]),
        ({"SLACK_API_BASE": "slack.com/api"}, ["SLACK_API_BASE", "http"]),
        ({"DISCORD_GATEWAY_URL": "http://gw.example"}, ["DISCORD_GATEWAY_URL", "wss://"]),
        ({"DISCORD_TOKEN": SECRET + "\nX-Injected: 1"}, ["DISCORD_TOKEN", "line break"]),
        ({"SLACK_BOT_TOKEN": "xoxb-1\r\n" + SECRET}, ["SLACK_BOT_TOKEN", "line break"]),
        ({"SLACK_SIGNING_SECRET": SECRET + " tail"}, ["SLACK_SIGNING_SECRET", "space"]),
        ({"TVMAZE_API_BASE": "api.tvmaze.com"}, ["TVMAZE_API_BASE", "http"]),
        ({"EPISODE_BOT_PUBLIC_URL": "episodes.example.org"}, ["EPISODE_BOT_PUBLIC_URL", "http"]),
        ({"EPISODE_BOT_OPERATOR_TOKEN": SECRET + " tail"}, ["EPISODE_BOT_OPERATOR_TOKEN", "space"]),
        ({"EPISODE_BOT_SOURCES_CONTACT": "a@b.org\r\nX-Injected: 1"}, ["CONTACT", "line break"]),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(invoke, env, words):
    result = invoke(env)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]
    assert "episode_bot_grace_hours" not in lines[0]  # the variable, not pydantic's field
    assert "secret-part" not in result.output
    assert "Traceback" not in result.output


def test_log_level_is_read_in_any_case(invoke):
    assert invoke({"EPISODE_BOT_LOG_LEVEL": "debug"}).exit_code == 0


def test_surrounding_whitespace_of_a_token_is_forgiven(invoke):
    # `.env` lines copied with a trailing space or newline still work.
    from bot.settings import Settings

    settings = Settings(_env_file=None, discord_token=f"  {SECRET}\n")  # type: ignore[call-arg]
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == SECRET


def test_the_variable_is_named_once(invoke):
    line = invoke({"EPISODE_BOT_OPERATOR_TOKEN": "too-short"}).stderr
    assert line.count("EPISODE_BOT_OPERATOR_TOKEN") == 1, line


def test_a_base_url_is_read_as_the_api_bases_are():
    # Any case of the scheme, surrounding whitespace dropped, as DISCORD_API_BASE/SLACK_API_BASE.
    from bot.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        episode_bot_public_url=" HTTPS://episodes.example.org/ ",
        tvmaze_api_base="http://127.0.0.1:8765 ",
    )
    assert settings.public_base_url == "HTTPS://episodes.example.org"
    assert settings.tvmaze_api_base == "http://127.0.0.1:8765"
