"""The platform registry: one entry per platform, one test for "is it configured", and a
platform's package loaded only when it is."""

from __future__ import annotations

import subprocess
import sys

from pydantic import SecretStr

from bot.platforms import CHANNEL_SYNTAXES
from bot.settings import Settings
from episode_bot.cli import build_senders
from episode_bot.platforms import PLATFORMS, configured_chat_platforms, how_to_add_platforms


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg,arg-type]


def test_every_platform_has_a_channel_syntax_and_every_syntax_a_platform():
    assert [entry.name for entry in PLATFORMS] == list(CHANNEL_SYNTAXES)
    assert [entry.name for entry in PLATFORMS if entry.fallback] == ["console"]


def test_run_and_deliver_agree_on_what_is_configured(monkeypatch):
    for name in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    nothing = settings()
    assert configured_chat_platforms(nothing) == []
    assert list(build_senders(nothing)) == ["console"]
    both = settings(discord_token=SecretStr("d-token"), slack_bot_token=SecretStr("xoxb-1"))
    assert [entry.name for entry in configured_chat_platforms(both)] == ["discord", "slack"]
    senders = build_senders(both)
    assert {name: sender.platform for name, sender in senders.items()} == {
        "discord": "discord", "slack": "slack", "console": "console"
    }  # fmt: skip
    assert all(sender.max_concurrency >= 1 for sender in senders.values())


def test_the_console_only_message_says_how_to_turn_each_platform_on():
    text = how_to_add_platforms()
    assert "No Discord or Slack credentials are set" in text
    assert "DISCORD_TOKEN" in text and "SLACK_BOT_TOKEN" in text


def test_an_unconfigured_platform_is_never_imported(tmp_path):
    code = (
        "import sys\n"
        "from bot.settings import Settings\n"
        "from episode_bot.cli import build_senders\n"
        "build_senders(Settings(_env_file=None))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('discord', 'slack_sdk', "
        "'slack_bolt') or m.startswith(('adapters.discord', 'adapters.slack'))))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
        check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "[]"
