"""The `/episodes` grammar: quoting, Slack's escaping and link markup, and usage on errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.grammar import SPECS, UsageError, clean, help_text, parse


@pytest.mark.parametrize(
    ("text", "method", "args"),
    [
        ('subscribe "For All Mankind"', "subscribe", {"show": "For All Mankind"}),
        ("subscribe 'For All Mankind'", "subscribe", {"show": "For All Mankind"}),
        ("subscribe “For All Mankind”", "subscribe", {"show": "For All Mankind"}),
        ("subscribe For All Mankind", "subscribe", {"show": "For All Mankind"}),
        ("subscribe Grey's Anatomy", "subscribe", {"show": "Grey's Anatomy"}),
        ("SUBSCRIBE Severance", "subscribe", {"show": "Severance"}),
        (
            'subscribe "For All Mankind" --before 1d,1h --no-trailers',
            "subscribe",
            {"show": "For All Mankind", "before": "1d,1h", "trailers": False},
        ),
        (
            "subscribe Severance --trailers --show-titles",
            "subscribe",
            {"show": "Severance", "trailers": True, "hide_titles": False},
        ),
        (
            "subscribe Severance --mention <!subteam^S0123ABC|@tv-fans>",
            "subscribe",
            {"show": "Severance", "mention": "S0123ABC"},
        ),
        ("unsubscribe Severance", "unsubscribe", {"show": "Severance"}),
        ("subscriptions", "subscriptions", {}),
        ("schedule Severance --season 2", "schedule", {"show": "Severance", "season": "2"}),
        ("next", "next", {}),
        ("trailer Severance", "trailer", {"show": "Severance"}),
        ("shows", "shows", {}),
        ("shows for all", "shows", {"query": "for all"}),
        ("help", "help", {}),
        ("", "help", {}),
        (
            'admin show add "For All Mankind" --network "Apple TV+" --tz America/New_York '
            "--time 00:00",
            "show_add",
            {
                "title": "For All Mankind",
                "network": "Apple TV+",
                "tz": "America/New_York",
                "time": "00:00",
            },
        ),
        ("admin show add Law &amp; Order", "show_add", {"title": "Law & Order"}),
        (
            'admin season add "For All Mankind" 4 --premiere 2023-11-10 --episodes 10 '
            "--every friday --time 00:00 --tz America/New_York "
            "--trailer <https://www.youtube.com/watch?v=abc&amp;t=1|youtube.com/watch>",
            "season_add",
            {
                "show": "For All Mankind",
                "number": "4",
                "premiere": "2023-11-10",
                "episodes": "10",
                "every": "friday",
                "time": "00:00",
                "tz": "America/New_York",
                "trailer": "https://www.youtube.com/watch?v=abc&t=1",
            },
        ),
        (
            "admin season add For All Mankind 4 --premiere=2023-11-10 --episodes=10 "
            "--all-at-once --premiere-episodes 3",
            "season_add",
            {
                "show": "For All Mankind",
                "number": "4",
                "premiere": "2023-11-10",
                "episodes": "10",
                "all_at_once": True,
                "premiere_episodes": "3",
            },
        ),
        (
            'admin season move "For All Mankind" 4 --premiere 2023-11-17',
            "season_move",
            {"show": "For All Mankind", "number": "4", "premiere": "2023-11-17"},
        ),
        (
            'admin season trailer "For All Mankind" 4 <https://youtu.be/x>',
            "season_trailer",
            {"show": "For All Mankind", "number": "4", "url": "https://youtu.be/x"},
        ),
        (
            'admin season remove "For All Mankind" 4',
            "season_remove",
            {"show": "For All Mankind", "number": "4"},
        ),
        (
            'admin episode set "For All Mankind" 4 1 --title "Glasnost" --date 2023-11-11',
            "episode_set",
            {
                "show": "For All Mankind",
                "season": "4",
                "episode": "1",
                "title": "Glasnost",
                "date": "2023-11-11",
            },
        ),
    ],
)
def test_parses(text: str, method: str, args: dict) -> None:
    parsed = parse(text)
    assert parsed.method == method
    assert parsed.args == args


@pytest.mark.parametrize(
    ("text", "usage_fragment"),
    [
        ("subscribe", "subscribe SHOW"),
        ('subscribe "For All Mankind', "help"),
        ("subscribe X --bogus", "subscribe SHOW"),
        ("subscribe X --before", "subscribe SHOW"),
        ("subscribe X --before 1d --before 1h", "subscribe SHOW"),
        ("subscribe X --no-trailers=yes", "subscribe SHOW"),
        ("subscribe X --mention everyone", "--mention @group"),
        ("unsubscribe", "unsubscribe SHOW"),
        ("subscriptions now", "subscriptions"),
        ("next week", "next"),
        ("schedule", "schedule SHOW"),
        ("trailer", "trailer SHOW"),
        ("frobnicate", "help"),
        ("admin", "admin season add"),
        ("admin season", "admin season add"),
        ("admin season frob X 1", "admin season add"),
        ("admin show add", "admin show add TITLE"),
        ("admin season add X", "--premiere"),
        ("admin season add X 4 --episodes 10", "--premiere"),
        ("admin season add X 4 --premiere 2023-11-10", "--episodes"),
        ("admin season add X --premiere 2023-11-10 --episodes 10", "SHOW NUMBER"),
        (
            "admin season add X 4 --premiere 2023-11-10 --episodes 10 --every friday --all-at-once",
            "--all-at-once",
        ),
        ("admin season move X 4", "--premiere"),
        ("admin season trailer X 4", "admin season trailer SHOW NUMBER URL"),
        ("admin season remove X", "admin season remove SHOW NUMBER"),
        ("admin episode set X 4", "admin episode set SHOW SEASON EPISODE"),
    ],
)
def test_malformed_commands_get_usage(text: str, usage_fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert "Usage: /episodes" in str(caught.value)
    assert usage_fragment in str(caught.value)


def test_slack_markup_is_unwrapped_and_inert() -> None:
    assert clean("&lt;!channel&gt; &amp; friends") == "<!channel> & friends"
    assert clean("<!channel> <!here> <@U123|bob> <#C1|general>") == "@channel @here @bob #general"
    assert clean("<https://a.example/x|a.example/x>") == "https://a.example/x"
    assert clean("<mailto:a@b.example|a@b.example>") == "a@b.example"


def test_help_lists_every_command() -> None:
    text = help_text()
    for spec in SPECS:
        assert spec.usage in text
    assert "admin" not in help_text(admin=False)


@given(st.text(max_size=200))
def test_any_text_parses_or_gives_usage(text: str) -> None:
    try:
        parsed = parse(text)
    except UsageError as error:
        assert "Usage:" in str(error)
    else:
        assert parsed.method
