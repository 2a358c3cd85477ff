"""The source service's polling: only linked shows that TVmaze lists as changed are fetched;
each show is refreshed once ahead of its next drop; no linked show, no request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.commands import Commands
from bot.errors import BotError
from bot.models import Actor
from bot.settings import Settings
from episode_bot.sources import build_sources
from fakes.ical_feed import FeedFake
from fakes.serving import AppServer
from fakes.tvmaze import DOCTOR_WHO_ID, FAM_ID, TvmazeServer, fam_season_4

OPERATOR = Actor.operator()
SHOW_CALL = "GET /shows/{}?embed%5B%5D=episodes&embed%5B%5D=seasons"


@pytest.fixture
async def tvmaze():
    server = await TvmazeServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def service(store, tvmaze):
    clock = FixedClock(datetime(2023, 10, 1, tzinfo=UTC))
    settings = Settings(tvmaze_api_base=tvmaze.base_url, _env_file=None)  # type: ignore[call-arg]
    built, http = build_sources(settings, Commands(store, clock))
    yield built
    await http.close()


async def test_nothing_linked_asks_nothing(service, tvmaze):
    assert await service.poll_updates() == []
    assert tvmaze.fake.requests == []


async def test_only_changed_linked_shows_are_fetched(service, tvmaze):
    await service.import_show(OPERATOR, "tvmaze:36947", tz="America/New_York")
    await service.import_show(OPERATOR, "tvmaze:1")
    tvmaze.fake.requests.clear()
    assert await service.poll_updates() == []  # first poll: since=month, nothing changed
    tvmaze.fake.set_episodes(FAM_ID, 4, fam_season_4("2023-11-10"))
    tvmaze.fake.touch(DOCTOR_WHO_ID)  # changed at TVmaze, but not followed here
    service.clock.advance(timedelta(hours=1))
    outcomes = await service.poll_updates()
    assert [o.show for o in outcomes] == ["For All Mankind"]
    assert tvmaze.fake.requests == [
        "GET /updates/shows?since=month",
        "GET /updates/shows?since=day",
        SHOW_CALL.format(FAM_ID),
    ]


async def test_each_show_is_refreshed_once_before_its_next_drop(service, tvmaze):
    await service.import_show(OPERATOR, "tvmaze:36947", tz="America/New_York")
    tvmaze.fake.requests.clear()
    service.clock.set(datetime(2023, 10, 12, 21, tzinfo=UTC))  # 7 h before: not yet
    assert await service.refresh_before_drops() == []
    service.clock.set(datetime(2023, 10, 12, 23, tzinfo=UTC))  # 5 h before
    assert len(await service.refresh_before_drops()) == 1
    service.clock.advance(timedelta(hours=1))
    assert await service.refresh_before_drops() == []  # once per drop
    assert tvmaze.fake.requests == [SHOW_CALL.format(FAM_ID)]
    status = service.status()
    assert status[0]["last_ok_at"] == "2023-10-12T23:00:00Z"
    # The updates poll never ran: no time is made up (`run` may not be running at all).
    assert status[0]["next_run_at"] is None
    assert status[0]["next_run"] == (
        "when `run` is running: TVmaze's changes every 1 h, and once in the 6 h before each drop"
    )


async def test_status_shows_the_next_run_the_jobs_recorded(service, tvmaze):
    await service.import_show(OPERATOR, "tvmaze:36947", tz="America/New_York")
    assert service.status()[0]["next_run_at"] is None  # imported; `run` never looked at it
    service.clock.set(datetime(2023, 10, 2, 9, 30, tzinfo=UTC))
    await service.poll_updates()
    row = service.status()[0]
    assert row["next_run_at"] == "2023-10-02T10:30:00Z"  # the updates job, an hour on
    assert row["next_run"] == (
        "2023-10-02T10:30:00Z, while `run` is running (TVmaze's changes every 1 h, "
        "and once in the 6 h before each drop)"
    )
    # Within 6 h of the next drop (2023-10-13 04:00 UTC), the refresh before it comes first.
    service.clock.set(datetime(2023, 10, 12, 21, 50, tzinfo=UTC))
    await service.poll_updates()
    assert service.status()[0]["next_run_at"] == "2023-10-12T22:00:00Z"


async def test_a_chat_admins_feed_that_turned_private_is_not_read(service, store):
    # Its host resolved to a public address at the import; a later sync finds it private
    # (DNS changed): the bot must not read the operator's network on a tenant's behalf.
    # The feed really answers on 127.0.0.1: the refusal is at the connection, not a guess.
    from bot.sources.base import SourceLink

    fake = FeedFake()
    server = await AppServer(fake.app()).start()
    url = f"{server.base_url}/feed/weekly.ics"
    try:
        admin = Actor("slack", "T01", "UADMIN", is_admin=True)
        service.commands.show_add(admin, "Private Feed Show")
        show = service.commands.visible_show(admin, "Private Feed Show")
        store.link_source(
            SourceLink(show.id, "ics", url, series=show.title), now=service.clock.now()
        )
        outcome = await service.sync_show(show.id)
        assert not outcome.ok and "is not a public address" in outcome.error
        assert service.status()[0]["error"] == outcome.error
        assert fake.requests == []  # nothing reached the operator's network
        # The operator's own feed on the same address is read, as before.
        await service.import_show(OPERATOR, f"ics:{url}")
        assert len(fake.requests) == 1
    finally:
        await server.stop()


@pytest.fixture
async def feeds():
    fake = FeedFake()
    server = await AppServer(fake.app()).start()
    yield server.base_url, fake
    await server.stop()


async def test_a_feed_that_moved_is_followed_to_where_it_is_now(service, store, feeds):
    base, fake = feeds
    await service.import_show(OPERATOR, f"ics:{base}/moved/moved/feed/weekly.ics")
    assert len(fake.requests) == 3  # two redirects, then the feed itself
    [show] = store.visible_shows(None)
    assert store.seasons_of(show.id)  # imported from the feed it led to
    # The link keeps the address the admin gave; each sync follows it again.
    assert store.show_source(show.id).ref == f"{base}/moved/moved/feed/weekly.ics"
    assert (await service.sync_show(show.id)).ok


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/moved/" + "moved/" * 6 + "feed/weekly.ics", "redirected more than 5 times"),
        ("/moved/x?to=ftp://example.com/cal.ics", "redirects to an address that is not http"),
    ],
)
async def test_a_feed_redirecting_nowhere_useful_imports_nothing(
    service, store, feeds, path, reason
):
    base, fake = feeds
    with pytest.raises(BotError, match=reason) as raised:
        await service.import_show(OPERATOR, f"ics:{base}{path}")
    assert "Nothing was imported" in str(raised.value) and "ftp://" not in str(raised.value)
    assert store.visible_shows(None) == []
    assert len(fake.requests) <= 6  # gave up at the limit: no endless loop


async def test_a_failed_sync_is_tried_again_after_tvmaze_stops_listing_the_show(
    service, store, tvmaze
):
    """TVmaze's `since=day` forgets a change after a day: a sync that failed meanwhile must
    not wait for the refresh before the next drop (too late for a date moved earlier)."""
    fake = tvmaze.fake
    fake.now = lambda: service.clock.now().timestamp()  # TVmaze's day, on the test's clock
    await service.import_show(OPERATOR, "tvmaze:36947", tz="America/New_York")
    [show] = store.visible_shows(None)
    start = service.clock.now()
    fake.set_episodes(FAM_ID, 4, fam_season_4("2023-10-06"))  # moved a week earlier
    fake.malformed.add(FAM_ID)  # ... and TVmaze answers garbage for a while
    for hours in (1, 23):  # listed as changed in both polls; both syncs fail
        service.clock.set(start + timedelta(hours=hours))
        [outcome] = await service.poll_updates()
        assert not outcome.ok
    fake.malformed.discard(FAM_ID)
    # A day on, TVmaze no longer lists it; failing for 23 h, it waits 6 h (the longest
    # wait) after its last try before the next.
    service.clock.set(start + timedelta(hours=26))
    assert await service.poll_updates() == []
    service.clock.set(start + timedelta(hours=29))
    [outcome] = await service.poll_updates()
    assert outcome.ok
    assert "GET /updates/shows?since=day" in fake.requests
    [season] = [s for s in store.seasons_of(show.id) if s.number == 4]
    assert season.premiere.isoformat() == "2023-10-06"
    assert service.status()[0]["error"] is None


async def test_a_link_that_keeps_failing_is_tried_less_and_less_often(service, store, tvmaze):
    """An answer TVmaze keeps refusing (a show deleted there answers 404 for good): each try
    waits as long as the link had been failing, up to 6 h, not one request every poll."""
    fake = tvmaze.fake
    await service.import_show(OPERATOR, "tvmaze:36947", tz="America/New_York")
    [show] = store.visible_shows(None)
    start = service.clock.now()
    fake.malformed.add(FAM_ID)
    service.clock.set(start + timedelta(hours=1))
    assert not (await service.sync_show(show.id)).ok  # e.g. the refresh before a drop
    tried = []
    # Polls on and between the hours it is due (fewer than hourly, to stay under TVmaze's
    # 20 calls per 10 s, which the client keeps in real time).
    for hour in (2, 3, 4, 6, 7, 8, 13, 14, 19, 20, 24):
        service.clock.set(start + timedelta(hours=hour))
        if await service.poll_updates():
            tried.append(hour)
    assert tried == [2, 4, 8, 14, 20]  # waits of 1, 2, 4, then 6 h
