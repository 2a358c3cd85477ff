"""The notifications plan: properties that hold for any season and any subscriptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Cadence, ChannelRef, Episode, Season, Show, Subscription
from bot.plan import plan_posts
from bot.schedule import load_zone, release_instants

SHOW = Show(1, "Andor", "Disney+", "America/Los_Angeles", time(18), None)
OFFSETS = st.sets(st.sampled_from([300, 3600, 86400, 7 * 86400]), max_size=3)


def season_with_episodes(premiere: date, count: int, at_premiere: int, weekday: int):
    season = Season(
        7, 1, 2, premiere, count, Cadence("weekly", weekday=weekday), at_premiere,
        time(18), "America/Los_Angeles", None, None,
    )  # fmt: skip
    instants = release_instants(
        premiere, count, season.cadence, at_premiere, time(18), load_zone(season.timezone)
    )
    episodes = [Episode(100 + n, 7, n, None, at, False) for n, at in enumerate(instants, 1)]
    return season, episodes


@settings(max_examples=60, deadline=None)
@given(
    premiere=st.dates(date(2000, 1, 1), date(2090, 12, 31)),
    count=st.integers(1, 30),
    at_premiere=st.integers(1, 3),
    weekday=st.integers(0, 6),
    reminder_sets=st.lists(OFFSETS, min_size=1, max_size=4),
)
def test_every_drop_and_reminder_is_planned_once_and_in_order(
    premiere, count, at_premiere, weekday, reminder_sets
):
    at_premiere = min(at_premiere, count)
    season, episodes = season_with_episodes(premiere, count, at_premiere, weekday)
    subscriptions = [
        Subscription(n, ChannelRef("console", "local", f"c{n}"), 1, tuple(sorted(r)))
        for n, r in enumerate(reminder_sets, 1)
    ]
    start = datetime.combine(premiere, time(0), UTC) - timedelta(days=30)
    end = episodes[-1].release_at + timedelta(days=1)
    posts = plan_posts([(SHOW, season, episodes)], [], subscriptions, start, end)

    pairs = [(p.subscription.id, p.notification_key) for p in posts]
    assert len(pairs) == len(set(pairs))  # the idempotency pair is unique
    assert [p.due_at for p in posts] == sorted(p.due_at for p in posts)
    drops = count - at_premiere + 1
    for subscription in subscriptions:
        own = [p for p in posts if p.subscription is subscription]
        assert len(own) == drops * (1 + len(subscription.reminders))
        releases = [p for p in own if p.notification_key.is_release]
        assert releases[0].message.kind.value == "premiere"
        if drops > 1:
            assert releases[-1].message.kind.value == "finale"
        for post in own:
            if post.drop_at is not None and post.notification_key.is_reminder:
                assert post.due_at < post.drop_at
