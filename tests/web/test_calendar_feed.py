"""The .ics feed, read back with `icalendar` as a calendar app would read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from icalendar import Calendar

from bot.calendar import CalendarFeeds, FeedScope
from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import ChannelRef
from tests.conftest import OPERATOR
from tests.web.conftest import FAM, GENERAL

FRIDAYS = [datetime(2023, 11, 10, 5, tzinfo=UTC) + timedelta(weeks=n) for n in range(10)]
TRAILER = "https://www.youtube.com/watch?v=0xEmwEc2JHs"


async def fetch(client: TestClient, path: str, **headers: str) -> tuple[int, bytes, Any]:
    response = await client.get(path, headers=headers)
    return response.status, await response.read(), response.headers


async def events(client: TestClient, token: str, query: str = "") -> list:
    status, body, headers = await fetch(client, f"/calendar/{token}.ics{query}")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(body)
    return list(calendar.walk("VEVENT"))


def start(event) -> datetime:  # type: ignore[no-untyped-def]
    return event.decoded("dtstart")


async def test_the_seed_season_is_ten_events_at_five_utc_on_the_fridays(
    client: TestClient, general_token: str
) -> None:
    found = await events(client, general_token)
    assert [start(e) for e in found] == FRIDAYS
    assert all(start(e).utcoffset() == timedelta(0) for e in found)
    uids = [str(e["uid"]) for e in found]
    assert len(set(uids)) == 10 and all(u.endswith("@episode-bot") for u in uids)
    summaries = [str(e["summary"]) for e in found]
    assert summaries[0] == "For All Mankind S4E1: season 4 premiere"
    assert summaries[-1] == "For All Mankind S4E10: season finale"
    assert summaries[4] == "For All Mankind S4E5"
    assert all(TRAILER in str(e["description"]) for e in found)
    assert all(int(e["sequence"]) == 0 for e in found)


async def test_a_moved_season_keeps_its_uids_with_new_times_and_a_higher_sequence(
    client: TestClient, general_token: str, fam: Commands, clock: FixedClock
) -> None:
    before = await events(client, general_token)
    clock.advance(timedelta(days=1))
    fam.season_move(OPERATOR, FAM, 4, premiere="2023-11-17")
    after = await events(client, general_token)
    assert [str(e["uid"]) for e in after] == [str(e["uid"]) for e in before]
    assert [start(e) for e in after] == [day + timedelta(weeks=1) for day in FRIDAYS]
    for old, new in zip(before, after, strict=True):
        assert int(new["sequence"]) > int(old["sequence"])
        assert new.decoded("last-modified") > old.decoded("last-modified")
    # Asked again with nothing changed: the same revision, not another bump.
    again = await events(client, general_token)
    assert [int(e["sequence"]) for e in again] == [int(e["sequence"]) for e in after]


async def test_filters_premieres_and_finales_and_one_show(
    client: TestClient, general_token: str, fam: Commands
) -> None:
    milestones = await events(client, general_token, "?only=premieres-finales")
    assert [start(e) for e in milestones] == [FRIDAYS[0], FRIDAYS[-1]]
    fam.show_add(OPERATOR, "Slow Horses", tz="Europe/London", time="08:00")
    fam.season_add(OPERATOR, "Slow Horses", 3, premiere="2023-11-29", episodes=6)
    fam.subscribe(OPERATOR, GENERAL, "Slow Horses")
    both = await events(client, general_token)
    assert len(both) == 16
    only_fam = await events(client, general_token, "?show=for%20all%20mankind")
    assert [start(e) for e in only_fam] == FRIDAYS
    horses_milestones = await events(
        client, general_token, "?show=Slow+Horses&only=premieres-finales"
    )
    assert [str(e["summary"]) for e in horses_milestones] == [
        "Slow Horses S3E1: season 3 premiere",
        "Slow Horses S3E6: season finale",
    ]


async def test_a_second_request_with_the_etag_is_304(
    client: TestClient, general_token: str
) -> None:
    status, _, headers = await fetch(client, f"/calendar/{general_token}.ics")
    assert status == 200 and headers["ETag"]
    status, again, _ = await fetch(
        client, f"/calendar/{general_token}.ics", **{"If-None-Match": headers["ETag"]}
    )
    assert status == 304 and again == b""
    status, _, _ = await fetch(client, f"/calendar/{general_token}.ics", **{"If-None-Match": '"x"'})
    assert status == 200


async def test_a_change_gives_a_new_etag(
    client: TestClient, general_token: str, fam: Commands
) -> None:
    _, _, first = await fetch(client, f"/calendar/{general_token}.ics")
    fam.season_trailer(OPERATOR, FAM, 4, "https://example.org/trailer-2")
    status, body, second = await fetch(
        client, f"/calendar/{general_token}.ics", **{"If-None-Match": first["ETag"]}
    )
    assert status == 200 and second["ETag"] != first["ETag"]
    assert b"trailer-2" in body


async def test_a_rotated_token_is_404_and_says_nothing(
    client: TestClient, general_token: str, feeds: CalendarFeeds
) -> None:
    new_token = feeds.token_for(FeedScope.of_channel(GENERAL), rotate=True)
    assert new_token != general_token
    revoked = await fetch(client, f"/calendar/{general_token}.ics")
    unknown = await fetch(client, "/calendar/" + "A" * 32 + ".ics")
    no_such_path = await fetch(client, "/no/such/path")
    assert revoked[0] == unknown[0] == no_such_path[0] == 404
    assert revoked[1] == unknown[1] == no_such_path[1]
    assert (await fetch(client, f"/calendar/{general_token}"))[0] == 404  # the page too
    assert len(await events(client, new_token)) == 10


async def test_a_tenant_feed_covers_every_channel_of_the_tenant_only(
    client: TestClient, fam: Commands, feeds: CalendarFeeds
) -> None:
    fam.show_add(OPERATOR, "Slow Horses", tz="Europe/London", time="08:00")
    fam.season_add(OPERATOR, "Slow Horses", 3, premiere="2023-11-29", episodes=6)
    fam.subscribe(OPERATOR, ChannelRef.parse("discord:1/10"), FAM)
    fam.subscribe(OPERATOR, ChannelRef.parse("discord:1/11"), "Slow Horses")
    fam.subscribe(OPERATOR, ChannelRef.parse("discord:2/20"), "Slow Horses")
    tenant = feeds.token_for(FeedScope.parse("discord:1"))
    found = await events(client, tenant)
    assert len(found) == 16  # each drop once, though two channels follow
    other = await events(client, feeds.token_for(FeedScope.parse("discord:2")))
    assert {str(e["summary"]).split(" S3")[0] for e in other} == {"Slow Horses"}


async def test_hidden_titles_stay_hidden_in_the_feed(
    client: TestClient, fam: Commands, feeds: CalendarFeeds
) -> None:
    fam.episode_set(OPERATOR, FAM, 4, 2, title="Spoiler Title")
    fam.subscribe(OPERATOR, ChannelRef.parse("console:quiet"), FAM, hide_titles=True)
    loud = feeds.token_for(FeedScope.of_channel(GENERAL))
    quiet = feeds.token_for(FeedScope.parse("console:quiet"))
    assert any("Spoiler Title" in str(e.get("description", "")) for e in await events(client, loud))
    assert not any("Spoiler" in e.to_ical().decode() for e in await events(client, quiet))
    # Read in turn, the two feeds agree on each drop's revision: no bump from hiding.
    sequences = {int(e["sequence"]) for e in await events(client, loud)}
    sequences |= {int(e["sequence"]) for e in await events(client, quiet)}
    assert sequences == {0}
    page = await (await client.get(f"/calendar/{quiet}")).text()
    assert "Spoiler" not in page


async def test_recent_drops_stay_and_older_ones_leave(
    client: TestClient, general_token: str, clock: FixedClock
) -> None:
    clock.set(FRIDAYS[5] + timedelta(hours=1))  # six drops have happened
    # The feed keeps the last 30 days: the premiere (35 days ago) has left it.
    assert [start(e) for e in await events(client, general_token)] == FRIDAYS[1:]
