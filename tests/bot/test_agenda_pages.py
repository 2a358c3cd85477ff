"""Planning a page of subscriptions at a time: no show's drop waits for a bigger one."""

from __future__ import annotations

from datetime import timedelta

from bot.agenda import post_pages
from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import ChannelRef
from bot.store import Store, open_store
from tests.jobs.support import FAM, FAM_DROPS, OPERATOR, START

SMALL = "Small Show"


def two_shows_dropping_together(store: Store, big: int, small: int) -> None:
    """FAM (`big` channels, subscribed first: their ids are lower) and a small show
    (`small` channels) premiere at the same instant."""
    commands = Commands(store, FixedClock(START))
    commands.show_add(OPERATOR, FAM, network="Apple TV+", tz="America/New_York", time="00:00")
    commands.season_add(OPERATOR, FAM, 4, premiere="2023-11-10", episodes=10, every="friday")
    commands.show_add(OPERATOR, SMALL, network="Net", tz="America/New_York", time="00:00")
    commands.season_add(OPERATOR, SMALL, 1, premiere="2023-11-10", episodes=1, every=None)
    for n in range(big):
        commands.subscribe(OPERATOR, ChannelRef.parse(f"console:big{n}"), FAM)
    for n in range(small):
        commands.subscribe(OPERATOR, ChannelRef.parse(f"console:small{n}"), SMALL)


def test_a_small_show_is_planned_in_the_first_pages_not_after_a_big_one() -> None:
    store = open_store(":memory:")
    two_shows_dropping_together(store, big=12, small=2)
    window = (FAM_DROPS[0] - timedelta(minutes=1), FAM_DROPS[0])
    pages = [
        [post.subscription.channel.channel for post in page]
        for page in post_pages(store, *window, events=[], page_size=3)
    ]
    assert pages[0] == ["small0", "small1"]  # the shows that fit in a page, then...
    assert pages[1] == ["big0", "big1", "big2"]  # ...the big one's pages take their turn
    assert sum(len(page) for page in pages) == 14  # everyone, once
    store.close()


def test_big_shows_take_turns_page_by_page() -> None:
    store = open_store(":memory:")
    two_shows_dropping_together(store, big=7, small=5)  # both bigger than a page of 3
    window = (FAM_DROPS[0] - timedelta(minutes=1), FAM_DROPS[0])
    firsts = [
        page[0].subscription.channel.channel[:3]
        for page in post_pages(store, *window, events=[], page_size=3)
    ]
    assert firsts[:4] == ["big", "sma", "big", "sma"]
    store.close()
