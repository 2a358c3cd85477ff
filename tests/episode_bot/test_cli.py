"""The command line end to end: the For All Mankind season 4 walk-through, DST, bad input.

Runs the real click CLI in-process against a real SQLite file; posts land in the local
console channel (stdout).
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from episode_bot.cli import cli

FAM = "For All Mankind"
TRAILER = "https://www.youtube.com/watch?v=0xEmwEc2JHs"
FRIDAYS = [
    "2023-11-10",
    "2023-11-17",
    "2023-11-24",
    "2023-12-01",
    "2023-12-08",
    "2023-12-15",
    "2023-12-22",
    "2023-12-29",
    "2024-01-05",
    "2024-01-12",
]


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "episode-bot.db"


@pytest.fixture
def run(db_path, monkeypatch):
    """Invoke `episode-bot ARGS...`; returns the click Result."""
    monkeypatch.chdir(db_path.parent)  # no stray .env from the developer's directory
    for name in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(cli, ["--db", str(db_path), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return invoke


def dump(db_path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return list(conn.iterdump())


def add_fam(run, premiere: str = "2023-11-10") -> None:
    run("show", "add", FAM, "--network", "Apple TV+", "--tz", "America/New_York", "--time", "00:00")
    run(
        "season", "add", FAM, "4", "--premiere", premiere, "--episodes", "10",
        "--every", "friday", "--trailer", TRAILER,
    )  # fmt: skip


def preview(run, start: str, end: str) -> list[dict]:
    return json.loads(run("preview", "--from", start, "--to", end, "--json").stdout)


def test_for_all_mankind_season_4_end_to_end(run):
    # The announcement's stray date first (Friday October 13th), then the real one.
    add_fam(run, premiere="2023-10-13")
    subscribed = run("subscribe", "console:general", "for all mankind", "--before", "1h")
    assert "Subscribed console:general to For All Mankind" in subscribed.stdout
    moved = run("season", "move", FAM, "4", "--premiere", "2023-11-10")
    assert "10 episode(s) rescheduled" in moved.stdout

    schedule = json.loads(run("schedule", FAM, "--json").stdout)
    assert [e["airdate"] for e in schedule["episodes"]] == FRIDAYS
    assert {e["airtime"] for e in schedule["episodes"]} == {"00:00"}
    assert schedule["episodes"][0]["airstamp"] == "2023-11-10T05:00:00Z"

    # Nothing is left on the old date.
    assert preview(run, "2023-10-01T00:00:00Z", "2023-11-09T00:00:00Z") == []

    posts = preview(run, "2023-11-01T00:00:00Z", "2024-02-01T00:00:00Z")
    expected = []
    for number, day in enumerate(FRIDAYS, start=1):
        expected.append((f"{day}T04:00:00Z", "reminder", f"S4E{number} drops in 1h"))
        kind = {1: "premiere", 10: "finale"}.get(number, "episode")
        expected.append((f"{day}T05:00:00Z", kind, f"S4E{number} "))
    assert [(p["due_at"], p["kind"]) for p in posts] == [(d, k) for d, k, _ in expected]
    for post, (_, _, label) in zip(posts, expected, strict=True):
        assert label in post["title"]
        assert post["channel"] == "console:general"
    assert posts[1]["title"] == "Season 4 premiere: For All Mankind S4E1 is out"
    assert posts[-1]["title"] == "Season finale: For All Mankind S4E10 is out"
    assert posts[1]["message"]["link"] == TRAILER

    # Deliver at every due instant, twice: each post appears exactly once.
    printed = []
    for due_at in sorted({p["due_at"] for p in posts}):
        first = run("deliver", "--now", due_at)
        again = run("deliver", "--now", due_at)
        assert again.stdout == ""
        printed += [line for line in first.stdout.splitlines() if line.startswith("[")]
    assert len(printed) == 20
    assert len(set(printed)) == 20
    assert "Season 4 premiere: For All Mankind S4E1 is out" in printed[1]
    assert "Fri 10 Nov 2023 00:00 EST" in printed[1]
    # A later pass, long after the season, has nothing left to send.
    assert run("deliver", "--now", "2024-03-01T00:00:00Z").stdout == ""


def test_deliver_skips_a_reminder_whose_drop_has_passed(run):
    add_fam(run)
    run("subscribe", "console:general", FAM, "--before", "1h")
    late = run("deliver", "--now", "2023-11-10T05:30:00Z")
    assert "S4E1 is out" in late.stdout
    assert "drops in 1h" not in late.stdout
    assert "skipped 1" in late.stderr


def test_season_crossing_the_end_of_daylight_saving_keeps_local_time(run):
    run("show", "add", "Slow Horses", "--tz", "America/New_York", "--time", "21:00")
    run("season", "add", "Slow Horses", "1", "--premiere", "2024-10-25", "--episodes", "3")
    episodes = json.loads(run("schedule", "Slow Horses", "--json").stdout)["episodes"]
    assert [e["airdate"] for e in episodes] == ["2024-10-25", "2024-11-01", "2024-11-08"]
    assert {e["airtime"] for e in episodes} == {"21:00"}
    # EDT (UTC-4) before 3 November, EST (UTC-5) after.
    assert [e["airstamp"] for e in episodes] == [
        "2024-10-26T01:00:00Z",
        "2024-11-02T01:00:00Z",
        "2024-11-09T02:00:00Z",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "season",
                "add",
                "For All Mankynd",
                "5",
                "--premiere",
                "2025-01-03",
                "--episodes",
                "8",
            ],
            'Did you mean: "For All Mankind"',
        ),
        (
            ["season", "add", FAM, "5", "--premiere", "03/01/2025", "--episodes", "8"],
            "Write dates as YYYY-MM-DD",
        ),
        (
            ["season", "add", FAM, "5", "--premiere", "2025-02-30", "--episodes", "8"],
            "not a day on the calendar",
        ),
        (
            [
                "season",
                "add",
                FAM,
                "5",
                "--premiere",
                "2025-01-03",
                "--episodes",
                "8",
                "--tz",
                "Mars/Olympus_Mons",
            ],
            "Unknown timezone",
        ),
        (
            ["season", "add", FAM, "5", "--premiere", "2025-01-03", "--episodes", "0"],
            "from 1 to 500",
        ),
        (
            ["season", "add", FAM, "5", "--premiere", "2025-01-03", "--episodes", "501"],
            "from 1 to 500",
        ),
        (
            [
                "season",
                "add",
                FAM,
                "5",
                "--premiere",
                "2025-01-03",
                "--episodes",
                "8",
                "--trailer",
                "javascript:alert(1)",
            ],
            "http:// or https://",
        ),
        (
            ["season", "add", FAM, "4", "--premiere", "2025-01-03", "--episodes", "8"],
            "already has a season 4",
        ),
        (
            [
                "season",
                "add",
                FAM,
                "5",
                "--premiere",
                "2025-01-03",
                "--episodes",
                "8",
                "--every",
                "fryday",
            ],
            "not a day of the week",
        ),
        (["season", "move", FAM, "4", "--premiere", "2023-11-31"], "not a day on the calendar"),
        (["season", "move", FAM, "9", "--premiere", "2023-11-24"], "has no season 9"),
        (["season", "trailer", FAM, "4", "ftp://example.com/t.mp4"], "http:// or https://"),
        (["show", "add", FAM], "exists already"),
        (["show", "add", "x" * 101], "100 characters or fewer"),
        (["show", "add", "Andor", "--time", "25:00"], "24-hour HH:MM"),
        (["show", "add", "Andor", "--tz", ""], "timezone"),
        (
            [
                "season",
                "add",
                FAM,
                "5",
                "--premiere",
                "2025-01-03",
                "--episodes",
                "2",
                "--date",
                "2025-01-03",
                "--date",
                "2025-01-10",
                "--premiere-episodes",
                "2",
            ],
            "does not go with explicit dates",
        ),
        (["subscribe", "general", FAM], "console:NAME"),
        (["subscribe", "discord:1/abc", FAM], "Write discord:TENANT/CHANNEL, e.g. discord:1234"),
        (["subscribe", "discord:1/123456789012345678901", FAM], "up to 20 digits"),
        (["subscribe", "slack:t01/C02", FAM], "workspace id starts with T"),
        (["subscribe", "slack:T01/c02", FAM], "channel id starts with C, G or D"),
        (["subscribe", "slack:T01", FAM], "it needs slack:TENANT/CHANNEL"),
        (["subscriptions", "discord:x/1"], "not a Discord channel"),
        (["subscribe", "teams:T/C", FAM], "platforms: discord, slack, console"),
        (["subscribe", "console:general", FAM, "--before", "yesterday"], "like 1d,1h"),
        (["subscribe", "console:general", FAM, "--before", "1m"], "from 5m to 28d"),
        (["unsubscribe", "console:general", FAM], "is not subscribed"),
        (["episode", "set", FAM, "4", "11", "--title", "Extra"], "has no episode 11"),
        (
            [
                "season",
                "add",
                FAM,
                "5",
                "--premiere",
                "2025-01-10",
                "--episodes",
                "3",
                "--title",
                "t" * 101,
            ],
            "The season title is 101 characters long. Keep it to 100",
        ),
        (["preview", "--from", "2023-11-01", "--to", "2023-12-01T00:00:00Z"], "no UTC offset"),
        (["deliver", "--now", "next friday"], "is not a time"),
    ],
)
def test_bad_input_is_refused_with_exit_2_and_changes_nothing(run, db_path, args, message):
    add_fam(run)
    before = dump(db_path)
    result = run(*args, ok=False)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert dump(db_path) == before


def test_mentions_in_user_text_are_stored_as_typed_and_never_parsed(run):
    run("show", "add", "@everyone <!channel> <@&123>")
    listed = json.loads(run("show", "list", "--json").stdout)
    assert listed[0]["title"] == "@everyone <!channel> <@&123>"


def test_show_list_suggests_close_titles(run):
    add_fam(run)
    run("show", "add", "Foundation", "--network", "Apple TV+")
    assert run("show", "list", "mankind").stdout.startswith("For All Mankind")
    assert "Foundation" in run("show", "list", "Fundation").stdout


def test_subscriptions_and_trailer(run):
    add_fam(run)
    run("subscribe", "console:general", FAM, "--before", "1d,1h", "--no-trailers")
    listed = json.loads(run("subscriptions", "--json").stdout)
    assert listed == [
        {
            "channel": "console:general",
            "show": FAM,
            "reminders": ["1d", "1h"],
            "trailers": False,
            "mention": None,
            "hide_titles": False,
            "paused": None,
        }
    ]
    assert TRAILER in run("trailer", FAM).stdout
    run("unsubscribe", "console:general", FAM)
    assert json.loads(run("subscriptions", "--json").stdout) == []


def test_deliver_refuses_to_race_a_live_run(run, db_path):
    import json
    import os
    import socket
    import time

    add_fam(run)
    with sqlite3.connect(db_path) as conn:
        runner = {"host": socket.gethostname(), "pid": os.getppid(), "token": "other"}
        conn.execute(
            "INSERT INTO leases (name, generation, holder, heartbeat) VALUES ('runner', 1, ?, ?)",
            [json.dumps(runner), time.time()],
        )
    result = run("deliver", "--now", "2023-11-10T05:00:00Z", ok=False)
    assert result.exit_code == 2
    assert "already delivering from this database" in result.stderr


def test_run_with_a_malformed_slack_token_stops_with_one_line_and_no_secret(
    db_path, monkeypatch, capsys
):
    from bot.settings import Settings
    from episode_bot.app import run as run_bot

    monkeypatch.chdir(db_path.parent)
    settings = Settings(episode_bot_db=db_path, slack_bot_token="SECRET-not-a-bot-token")
    assert run_bot(settings) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err
    assert "SECRET" not in err
    assert "Traceback" not in err


def test_discord_sync_without_discord_configured_says_what_to_set(run):
    result = run("discord", "sync", ok=False)
    assert result.exit_code == 2
    assert "Discord is not configured" in result.stderr and "DISCORD_TOKEN" in result.stderr


def test_subscribing_again_keeps_the_reminders_and_says_what_changed(run):
    add_fam(run)
    run("subscribe", "console:general", FAM, "--before", "1h")
    again = run("subscribe", "console:general", FAM, "--no-trailers")
    assert "trailers off" in again.stdout
    (subscription,) = json.loads(run("subscriptions", "--json").stdout)
    assert subscription["reminders"] == ["1h"]
    assert subscription["trailers"] is False
    assert "Nothing changed" in run("subscribe", "console:general", FAM).stdout


def test_season_title_is_shown_in_schedule_posts_and_json(run):
    run("show", "add", "Andor", "--tz", "UTC")
    run(
        "season", "add", "Andor", "2", "--premiere", "2025-04-22", "--episodes", "3",
        "--title", "The Road to Rogue One",
    )  # fmt: skip
    run("subscribe", "console:general", "Andor")
    assert "Season 2 “The Road to Rogue One”" in run("schedule", "Andor").stdout
    episodes = json.loads(run("schedule", "Andor", "--json").stdout)["episodes"]
    assert {e["season_title"] for e in episodes} == {"The Road to Rogue One"}
    (post,) = preview(run, "2025-04-21T23:00:00Z", "2025-04-22T01:00:00Z")
    fields = {name: value for name, value, _spoiler in post["message"]["fields"]}
    assert fields["Season"] == "2 “The Road to Rogue One”"
    posted = run("deliver", "--now", "2025-04-22T00:00:00Z").stdout
    assert "The Road to Rogue One" in posted


def test_schedule_columns_line_up_past_episode_nine(run):
    add_fam(run)
    lines = [line for line in run("schedule", FAM).stdout.splitlines() if "S4E" in line]
    assert len(lines) == 10
    assert len({line.index("Fri") for line in lines}) == 1, lines
    assert len({line.index("(20") for line in lines}) == 1, lines


def test_declining_season_remove_exits_0_and_removes_nothing(run, db_path):
    add_fam(run)
    before = dump(db_path)
    declined = CliRunner().invoke(
        cli, ["--db", str(db_path), "season", "remove", FAM, "4"], input="n\n"
    )
    assert declined.exit_code == 0, declined.output
    assert "Nothing removed" in declined.output
    assert dump(db_path) == before
