"""Weekly digests: one post per week listing the coming seven days, planned like any post."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from adapters.console import render
from bot.agenda import posts_between
from bot.digest import ENTRIES_PER_POST
from bot.errors import InvalidInput, PermissionDenied
from bot.messages import MessageKind
from bot.models import Actor, ChannelRef
from tests.conftest import OPERATOR, add_fam, add_long_week

GENERAL = ChannelRef.parse("console:general")
SEASON_START = datetime(2023, 10, 1, tzinfo=UTC)
SEASON_END = datetime(2024, 2, 1, tzinfo=UTC)
_NY = ZoneInfo("America/New_York")


def digests_in(store, start=SEASON_START, end=SEASON_END):
    return [p for p in posts_between(store, start, end) if p.message.kind == MessageKind.DIGEST]


@pytest.fixture
def fam_digest(commands):
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, "For All Mankind")
    commands.digest(OPERATOR, GENERAL, "monday 09:00", tz="America/New_York")


def test_the_seed_season_gives_one_digest_a_week_each_listing_that_weeks_friday(store, fam_digest):
    posts = digests_in(store)
    mondays = [post.due_at.astimezone(_NY).date().isoformat() for post in posts]
    assert mondays == [
        "2023-11-06", "2023-11-13", "2023-11-20", "2023-11-27", "2023-12-04",
        "2023-12-11", "2023-12-18", "2023-12-25", "2024-01-01", "2024-01-08",
    ]  # fmt: skip
    for number, post in enumerate(posts, start=1):
        assert post.due_at.astimezone(_NY).strftime("%a %H:%M") == "Mon 09:00"
        (entry,) = post.message.entries
        assert entry.text == f"For All Mankind S4E{number}"
        assert entry.at.astimezone(_NY).strftime("%a %H:%M") == "Fri 00:00"
        monday = post.due_at.astimezone(_NY).date()
        assert (entry.at.astimezone(_NY).date() - monday).days == 4  # that week's Friday
    assert [post.message.entries[0].mark for post in posts] == ["premiere", *[None] * 8, "finale"]
    assert str(posts[0].notification_key) == "digest:console:general:2023-W45"
    assert len({post.notification_key for post in posts}) == 10


def test_a_digest_across_the_dst_change_keeps_local_times(commands, store):
    # Saturday 4 November is still EDT (UTC-4); the Friday drop it lists is EST (UTC-5).
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, "For All Mankind")
    commands.digest(OPERATOR, GENERAL, "saturday 09:00", tz="America/New_York")
    posts = digests_in(store, end=datetime(2023, 11, 12, tzinfo=UTC))
    assert [post.due_at for post in posts] == [
        datetime(2023, 11, 4, 13, 0, tzinfo=UTC),  # 09:00 EDT
        datetime(2023, 11, 11, 14, 0, tzinfo=UTC),  # 09:00 EST, a week later
    ]
    (premiere,) = posts[0].message.entries
    assert premiere.at == datetime(2023, 11, 10, 5, 0, tzinfo=UTC)  # 00:00 EST
    assert "Fri 10 Nov 00:00 EST  For All Mankind S4E1 (premiere)" in render(
        posts[0].message, str(GENERAL)
    )


def test_a_week_with_nothing_posts_nothing(commands, store, fam_digest):
    after_finale = datetime(2024, 1, 13, tzinfo=UTC)
    assert digests_in(store, after_finale, datetime(2024, 3, 1, tzinfo=UTC)) == []


def test_a_long_week_is_split_into_posts_within_limits(commands, store):
    add_long_week(commands, GENERAL)
    posts = digests_in(store, end=datetime(2023, 11, 7, tzinfo=UTC))
    assert [str(p.notification_key) for p in posts] == [
        "digest:console:general:2023-W45",
        "digest:console:general:2023-W45:2",
        "digest:console:general:2023-W45:3",
    ]
    assert [len(p.message.entries) for p in posts] == [ENTRIES_PER_POST, ENTRIES_PER_POST, 5]
    assert posts[0].message.title == "This week: 45 drops (1/3)"


def test_digest_only_replaces_the_per_drop_posts(commands, store):
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, "For All Mankind", before="1h")
    commands.digest(OPERATOR, GENERAL, "monday 09:00", only=True)
    kinds = {post.message.kind for post in posts_between(store, SEASON_START, SEASON_END)}
    assert MessageKind.DIGEST in kinds
    assert not kinds & {MessageKind.PREMIERE, MessageKind.EPISODE, MessageKind.REMINDER}
    assert MessageKind.ANNOUNCED not in kinds  # announced in September, before the window
    commands.digest(OPERATOR, GENERAL, "off")
    kinds = {post.message.kind for post in posts_between(store, SEASON_START, SEASON_END)}
    assert kinds == {MessageKind.PREMIERE, MessageKind.EPISODE, MessageKind.FINALE,
                     MessageKind.REMINDER}  # fmt: skip


@pytest.mark.parametrize(
    ("when", "tz"),
    [("mondy 09:00", None), ("monday 25:00", None), ("monday", None), ("monday 09:00", "Mars/X")],
)
def test_bad_digest_input_changes_nothing(commands, store, when, tz):
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, "For All Mankind")
    with pytest.raises(InvalidInput):
        commands.digest(OPERATOR, GENERAL, when, tz=tz)
    assert store.digests() == []


def test_only_whoever_may_subscribe_the_channel_sets_its_digest(commands, store):
    member = Actor("discord", "111", "u1", can_manage_channels=False)
    moderator = Actor("discord", "111", "u2", can_manage_channels=True)
    channel = ChannelRef("discord", "111", "900")
    with pytest.raises(PermissionDenied):
        commands.digest(member, channel, "monday 09:00")
    with pytest.raises(PermissionDenied):
        commands.digest(moderator, ChannelRef("discord", "222", "901"), "monday 09:00")
    commands.digest(moderator, channel, "friday 18:30", tz="Europe/Paris")
    (digest,) = store.digests()
    assert (digest.weekday, f"{digest.at:%H:%M}", digest.timezone) == (4, "18:30", "Europe/Paris")


def test_the_channels_subscriptions_show_its_digest(commands, fam_digest):
    answer = commands.subscriptions(OPERATOR, GENERAL).text.splitlines()
    assert answer == [
        "console:general: For All Mankind",
        "console:general: weekly digest, Mondays at 09:00 America/New_York",
    ]
