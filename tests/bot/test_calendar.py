"""Calendar tokens and scopes: unguessable, revocable, and parsed like every channel."""

from __future__ import annotations

import pytest

from bot.calendar import CalendarFeeds, FeedScope, feed_url
from bot.errors import InvalidInput
from bot.store import Store


def test_tokens_are_long_random_and_stored_as_issued(feeds: CalendarFeeds) -> None:
    tokens = {feeds.token_for(FeedScope.parse(f"console:c{n}")) for n in range(50)}
    assert len(tokens) == 50
    assert all(len(token) >= 32 for token in tokens)  # 24 bytes: 192 bits
    scope = FeedScope.parse("console:c7")
    assert feeds.scope_for(feeds.token_for(scope)) == scope


def test_rotation_revokes_the_old_token(feeds: CalendarFeeds) -> None:
    scope = FeedScope.parse("slack:T01/C02")
    old = feeds.token_for(scope)
    new = feeds.token_for(scope, rotate=True)
    assert feeds.scope_for(old) is None and feeds.scope_for(new) == scope


@pytest.mark.parametrize("token", ["", "short", "x" * 200, "a/b" * 12, "A" * 32])
def test_malformed_or_unknown_tokens_open_nothing(feeds: CalendarFeeds, token: str) -> None:
    feeds.token_for(FeedScope.parse("console:general"))
    assert feeds.scope_for(token) is None


@pytest.mark.parametrize(
    ("text", "key", "channel"),
    [
        ("discord:1/2", "discord:1/2", "2"),
        ("slack:T01", "slack:T01", None),
        ("console:general", "console:general", "general"),
    ],
)
def test_scopes_parse(text: str, key: str, channel: str | None) -> None:
    scope = FeedScope.parse(text)
    assert scope.key == key and scope.channel == channel
    assert FeedScope.parse(scope.key) == scope


@pytest.mark.parametrize("text", ["", "irc:x/y", "discord:", "discord:1/2/3", "console:"])
def test_bad_scopes_say_how_to_write_one(text: str) -> None:
    with pytest.raises(InvalidInput, match="discord:GUILD/CHANNEL"):
        FeedScope.parse(text)


def test_feed_urls_join_the_base_cleanly() -> None:
    assert feed_url("https://x.example/", "t0k") == "https://x.example/calendar/t0k.ics"
    assert feed_url("https://x.example", "t0k", ics=False) == "https://x.example/calendar/t0k"


@pytest.fixture
def feeds(store: Store, clock) -> CalendarFeeds:  # type: ignore[no-untyped-def]
    return CalendarFeeds(store, clock)
