"""`follow`, `unfollow`, `following` and `digest` on the command line (the operator)."""

from __future__ import annotations

import json

import pytest

from tests.episode_bot.test_cli import FAM, add_fam, dump, preview


def test_follow_and_digest_walk_through(run):
    add_fam(run)
    run("subscribe", "console:general", FAM)
    followed = run("follow", "console-user:alice", FAM, "--before", "1h")
    assert followed.stdout.strip() == (
        # The CLI runs on the real clock: the 2023 season is over, no next drop to name.
        "console-user:alice will get a direct message when For All Mankind has a new episode "
        "(and 1h before). Stop: unfollow"
    )
    again = run("follow", "console-user:alice", FAM)
    assert again.stdout.startswith("console-user:alice already follows For All Mankind")
    [mine] = json.loads(run("following", "console-user:alice", "--json").stdout)
    assert mine == {
        "user": "console-user:alice", "show": FAM, "reminders": ["1h"],
        "followed_in": None, "paused": None,
    }  # fmt: skip
    run("digest", "console:general", "monday 09:00", "--tz", "America/New_York")
    posts = preview(run, "2023-11-06T00:00:00Z", "2023-11-11T00:00:00Z")
    assert [(p["due_at"], p["channel"], p["notification_key"]) for p in posts] == [
        ("2023-11-06T14:00:00Z", "console:general", "digest:console:general:2023-W45"),
        ("2023-11-10T04:00:00Z", "console-user:alice", "episode:1:before:1h"),
        ("2023-11-10T05:00:00Z", "console:general", "episode:1:release"),
        ("2023-11-10T05:00:00Z", "console-user:alice", "episode:1:release"),
    ]
    delivered = run("deliver", "--now", "2023-11-06T14:00:00Z")
    assert "This week: 1 drop" in delivered.stdout
    assert "Fri 10 Nov 00:00 EST  For All Mankind S4E1 (premiere)" in delivered.stdout
    run("unfollow", "console-user:alice", FAM)
    assert run("following", "console-user:alice").stdout.strip() == (
        "console-user:alice follows no shows."
    )
    run("digest", "console:general", "off")
    assert not [p for p in preview(run, "2023-11-12T00:00:00Z", "2023-11-14T00:00:00Z")
                if p["kind"] == "digest"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("follow", "alice", FAM), "is not a user"),
        (("follow", "console-user:alice", "For All Mankin"), 'Did you mean: "For All Mankind"'),
        (("follow", "console-user:alice", FAM, "--before", "1y"), "is not a reminder offset"),
        (("unfollow", "console-user:alice", FAM), "does not follow"),
        (("following", "discord:1/2"), "is not a user"),
        (("digest", "console:general", "someday 09:00"), "is not a day of the week"),
        (("digest", "console:general", "monday 9am"), "is not a time of day"),
        (("digest", "console:general", "monday 09:00", "--tz", "New_York"), "timezone"),
        (("digest", "console:general", "off"), "has no weekly digest"),
        (("digest", "general", "monday 09:00"), "is not a channel"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_changes_nothing(run, db_path, args, message):
    add_fam(run)
    before = dump(db_path)
    result = run(*args, ok=False)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before
