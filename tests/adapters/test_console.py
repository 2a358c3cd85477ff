"""The local console adapter: what a post looks like, and the prompt's command line."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import pytest

from adapters.console import ConsoleAdapter, ConsoleSender, parse_console_line, render
from bot.keys import NotificationKey
from bot.messages import Message, MessageField, MessageKind
from bot.models import ChannelRef
from bot.sender import Delivery
from bot.settings import Settings
from bot.store import open_store
from episode_bot.app import _cli_runner

PREMIERE = Message(
    kind=MessageKind.PREMIERE,
    title="Season 4 premiere: For All Mankind S4E1 is out",
    text="New on For All Mankind: S4E1 on Apple TV+.",
    show_title="For All Mankind",
    season_number=4,
    episode_number=1,
    fields=(MessageField("Show", "For All Mankind"), MessageField("Title", "Glasnost", True)),
    link="https://www.youtube.com/watch?v=0xEmwEc2JHs",
    link_label="Watch the trailer",
    release_at=datetime(2023, 11, 10, 5, tzinfo=UTC),
    timezone="America/New_York",
)


def test_a_post_shows_local_time_fields_link_and_hides_spoilers():
    assert render(PREMIERE, "console:general").splitlines() == [
        "[console:general] · Fri 10 Nov 2023 00:00 EST · "
        "Season 4 premiere: For All Mankind S4E1 is out",
        "    New on For All Mankind: S4E1 on Apple TV+.",
        "    Show: For All Mankind | Title: (hidden)",
        "    Watch the trailer: https://www.youtube.com/watch?v=0xEmwEc2JHs",
    ]


async def test_the_console_sender_prints_and_returns_a_receipt():
    stream = io.StringIO()
    delivery = Delivery(7, NotificationKey.release(1), ChannelRef.parse("console:tv"), PREMIERE,
                        "eb7", due_at=PREMIERE.release_at)  # fmt: skip
    receipt = await ConsoleSender(stream).send(delivery)
    assert receipt.platform_message_id == "console-7"
    assert stream.getvalue().startswith("[console:tv] · Fri 10 Nov 2023")


def test_prompt_lines_split_like_a_shell():
    assert parse_console_line('schedule "For All Mankind" --json') == [
        "schedule",
        "For All Mankind",
        "--json",
    ]
    assert parse_console_line("help season") == ["season", "--help"]
    assert parse_console_line("run") == []  # already running
    assert parse_console_line("deliver --now 2023-11-10T05:00:00Z") == []  # would race it
    assert parse_console_line('show add "unclosed') == []


def test_the_prompt_refuses_to_switch_database(capsys):
    for line in ("--db other.db shows", "shows --db other.db", "--db=other.db shows"):
        assert parse_console_line(line) == []
        err = capsys.readouterr().err
        assert "the prompt always uses the database the bot runs on" in err
        assert "episode-bot --db PATH" in err


def test_prompt_help_shows_the_commands_but_no_database_option(tmp_path, capsys):
    run = _cli_runner(Settings(episode_bot_db=tmp_path / "bot.db"))
    assert run(parse_console_line("help")) == 0
    out = capsys.readouterr().out
    assert "--db" not in out
    assert "schedule" in out and "subscribe" in out
    assert "deliver" not in out and "run " not in out  # the running bot does those
    assert "quit" in out
    # No program name is typed at the prompt, so none is shown (not "Usage:  [OPTIONS]").
    assert out.startswith("Usage: COMMAND [ARGS]...\n")
    assert run(parse_console_line("help schedule")) == 0
    assert capsys.readouterr().out.startswith("Usage: schedule [OPTIONS] SHOW")


def test_prompt_commands_use_the_bots_database(tmp_path, capsys):
    bots = tmp_path / "bot.db"
    run = _cli_runner(Settings(episode_bot_db=bots))
    assert run(["show", "add", "Severance"]) == 0
    assert open_store(bots).visible_shows(None)[0].title == "Severance"


@pytest.mark.parametrize("word", ["quit", "exit", " QUIT "])
async def test_quit_and_exit_end_the_prompt(word, capsys):
    typed = iter(["shows", word, "shows"])
    ran: list[list[str]] = []

    def run_command(args: list[str]) -> int:
        ran.append(args)
        return 0

    adapter = ConsoleAdapter(run_command, interactive=True, read_line=lambda: next(typed, None))
    await adapter.start()
    await asyncio.wait_for(adapter._task, timeout=5)
    assert ran == [["shows"]]  # nothing after `quit` ran
    assert "Left the prompt" in capsys.readouterr().out
    assert next(typed) == "shows"  # the prompt stopped reading


def test_prompt_commands_run_the_cli_and_keep_going_on_errors(tmp_path, capsys):
    run = _cli_runner(Settings(episode_bot_db=tmp_path / "bot.db"))
    assert run(["show", "add", "Severance", "--tz", "America/New_York"]) == 0
    assert "Added Severance" in capsys.readouterr().out
    assert run(["season", "add", "Severance"]) == 2  # usage error: shown, prompt goes on
    assert "Missing argument 'NUMBER'" in capsys.readouterr().err
    assert run(["season", "add", "Severanse", "2", "--premiere", "2025-01-17",
                "--episodes", "10"]) == 2  # fmt: skip
    assert 'Did you mean: "Severance"' in capsys.readouterr().err
    assert run(["subscribe", "discord:1/abc", "Severance"]) == 2  # refused at the command
    assert "Write discord:TENANT/CHANNEL" in capsys.readouterr().err


def test_log_lines_and_tracebacks_never_show_a_token(tmp_path, capsys):
    import logging

    from episode_bot.app import configure_logging

    token = "xoxb-1234567890-secret-token"
    configure_logging(Settings(episode_bot_db=tmp_path / "bot.db", slack_bot_token=token))
    try:
        raise RuntimeError(f"request failed with Authorization: Bearer {token}")
    except RuntimeError:
        logging.getLogger("episode_bot.test").exception("posting failed for %s", token)
    err = capsys.readouterr().err
    assert "posting failed for [redacted]" in err
    assert "Bearer [redacted]" in err  # the traceback too
    assert token not in err
