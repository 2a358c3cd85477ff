"""Notification keys: one value type whose text is exactly what the outbox has always stored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.keys import KeyKind, NotificationKey


@pytest.mark.parametrize(
    ("key", "text"),
    [
        (NotificationKey.release(7), "episode:7:release"),
        (NotificationKey.reminder(7, 3600), "episode:7:before:1h"),
        (NotificationKey.reminder(7, 86400 + 5400), "episode:7:before:1d1h30m"),
        (NotificationKey.season_event(4, "announced"), "season:4:announced"),
        (NotificationKey.season_event(4, "trailer"), "season:4:trailer"),
        (NotificationKey.season_event(4, "trailer", 2), "season:4:trailer:2"),
        (NotificationKey.season_event(4, "moved", 1), "season:4:moved:1"),
    ],
)
def test_keys_read_and_write_todays_text(key: NotificationKey, text: str):
    assert str(key) == text
    assert NotificationKey.parse(text) == key


def test_a_key_says_what_it_is_about():
    reminder = NotificationKey.parse("episode:7:before:1h")
    assert (reminder.kind, reminder.episode_id, reminder.offset) == (KeyKind.REMINDER, 7, 3600)
    assert reminder.is_reminder and not reminder.is_release
    moved = NotificationKey.parse("season:4:moved:3")
    assert (moved.kind, moved.season_id, moved.seq) == (KeyKind.MOVED, 4, 3)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "episode:x:release",
        "episode:7:before:90m",
        "episode:7:before:",
        "season:4:trailer:1",
        "season:4:moved",
        "episode:7:release:2",
        "digest:x",
    ],
)
def test_anything_but_a_canonical_key_is_refused(text: str):
    with pytest.raises(ValueError, match="not a notification key"):
        NotificationKey.parse(text)


@given(
    episode=st.integers(1, 10**9),
    offset=st.integers(0, 60 * 86400),
    season=st.integers(1, 10**9),
    seq=st.integers(1, 1000),
    kind=st.sampled_from(["announced", "trailer", "moved"]),
)
def test_every_key_survives_its_text(episode: int, offset: int, season: int, seq: int, kind: str):
    for key in (
        NotificationKey.release(episode),
        NotificationKey.reminder(episode, offset),
        NotificationKey.season_event(season, kind, seq),
    ):
        assert NotificationKey.parse(str(key)) == key
