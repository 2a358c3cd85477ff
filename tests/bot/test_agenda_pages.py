"""Planning a page of subscriptions at a time: no show's drop waits for a bigger one."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from bot.agenda import BroadcastPage, broadcast_pages, plan_window
from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import ChannelRef
from bot.store import AudiencePage, Store, open_store
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


def pages_at_the_premiere(store: Store, page_size: int) -> list[BroadcastPage]:
    window = (FAM_DROPS[0] - timedelta(minutes=1), FAM_DROPS[0])
    plan = plan_window(store, *window, events=[])
    return list(broadcast_pages(store, plan, *window, page_size=page_size))


def shows_and_sizes(page: BroadcastPage) -> list[tuple[str, int]]:
    """(show title, members in the page) of each broadcast of a page."""
    return [(b.message.show_title, members) for b, members in page.broadcasts]


def test_a_small_show_is_planned_in_the_first_pages_not_after_a_big_one() -> None:
    store = open_store(":memory:")
    two_shows_dropping_together(store, big=12, small=2)
    pages = pages_at_the_premiere(store, page_size=3)
    assert shows_and_sizes(pages[0]) == [(SMALL, 2)]  # the shows that fit in a page, then...
    assert shows_and_sizes(pages[1]) == [(FAM, 3)]  # ...the big one's pages take their turn
    assert sum(members for page in pages for _, members in page.broadcasts) == 14  # all, once
    store.close()


def test_big_shows_take_turns_page_by_page() -> None:
    store = open_store(":memory:")
    two_shows_dropping_together(store, big=7, small=5)  # both bigger than a page of 3
    pages = pages_at_the_premiere(store, page_size=3)
    firsts = [shows_and_sizes(page)[0][0] for page in pages]
    assert firsts[:4] == [FAM, SMALL, FAM, SMALL]
    store.close()


def test_each_streams_pages_follow_on_from_each_other() -> None:
    store = open_store(":memory:")
    two_shows_dropping_together(store, big=7, small=5)
    per_stream: dict[str, list[AudiencePage]] = {}
    for page in pages_at_the_premiere(store, page_size=3):
        per_stream.setdefault(shows_and_sizes(page)[0][0], []).append(page.page)
    for pages in per_stream.values():
        assert pages[0].after == (0, 0)
        assert all(a.last == b.after for a, b in pairwise(pages))
    store.close()


def test_a_show_with_only_reminders_due_is_paged_over_its_reminded_members_alone() -> None:
    store = open_store(":memory:")
    two_shows_dropping_together(store, big=0, small=0)
    commands = Commands(store, FixedClock(START))
    for n in range(10):
        reminder = "1h" if n in (3, 7) else None
        commands.subscribe(OPERATOR, ChannelRef.parse(f"console:c{n}"), SMALL, before=reminder)
    hour_before = FAM_DROPS[0] - timedelta(hours=1)
    window = (hour_before - timedelta(minutes=1), hour_before)
    plan = plan_window(store, *window, events=[])
    assert plan.show_ids == plan.reminder_only_show_ids
    [page] = broadcast_pages(store, plan, *window, page_size=3)
    assert shows_and_sizes(page) == [(SMALL, 2)]  # one page, although 10 channels follow
    store.close()


def test_followers_dms_take_turns_too() -> None:
    """The DM pass pages like the channel pass: a small show's followers are not planned
    after every DM of a big one."""
    from bot.models import UserRef

    store = open_store(":memory:")
    two_shows_dropping_together(store, big=2, small=1)  # channels first, then the DMs
    commands = Commands(store, FixedClock(START))
    for n in range(7):
        commands.follow(OPERATOR, FAM, user=UserRef.parse(f"console-user:big{n}"))
    commands.follow(OPERATOR, SMALL, user=UserRef.parse("console-user:small"))
    pages = pages_at_the_premiere(store, page_size=3)
    dm_pages = [page for page in pages if next(iter(page.page.audiences)).direct]
    firsts = [shows_and_sizes(page)[0] for page in dm_pages]
    assert firsts[:2] == [(SMALL, 1), (FAM, 3)]  # not after all of the big show's pages
    store.close()
