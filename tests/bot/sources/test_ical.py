"""Calendar feeds parsed with icalendar + recurring-ical-events, from the fixtures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.errors import InvalidInput
from bot.sources.base import SourceError, SourceLink
from bot.sources.ical import feed_url, parse_feed
from fakes.ical_feed import load_feeds

FEEDS = load_feeds()
NOW = datetime(2023, 10, 1, tzinfo=UTC)


def parse(name: str, series: str | None = None):
    return parse_feed(FEEDS[name], url=f"https://example.org/{name}.ics", series=series, now=NOW)


def test_sonarrs_summaries_give_series_season_episode_and_title():
    show = parse("sonarr", "for all mankind")
    assert show.title == "For All Mankind" and len(show.episodes) == 10
    first = show.episodes[0]
    assert (first.season, first.number, first.title) == (4, 1, "Glasnost")
    assert first.airstamp == datetime(2023, 11, 10, 5, tzinfo=UTC)
    assert first.source_id == "NzbDrone_episode_4001"
    with pytest.raises(InvalidInput, match="holds 2 series: For All Mankind, Slow Horses"):
        parse("sonarr")


def test_a_weekly_recurring_event_is_expanded_and_numbered():
    show = parse("weekly")
    assert [(e.season, e.number) for e in show.episodes] == [(4, n) for n in range(1, 11)]
    assert show.episodes[-1].airstamp == datetime(2024, 1, 12, 5, tzinfo=UTC)  # 00:00 EST
    assert show.episodes[0].airstamp == datetime(2023, 11, 10, 5, tzinfo=UTC)
    assert show.timezone == "America/New_York"  # the TZID names an IANA zone


def test_all_day_events_are_dates_without_a_time():
    show = parse_feed(FEEDS["allday"], url="u", series=None, now=datetime(2024, 12, 1, tzinfo=UTC))
    first = show.episodes[0]
    assert (first.airdate, first.airtime, first.airstamp) == (date(2025, 1, 17), None, None)
    assert first.title == "Hello, Ms. Cobel"


def test_a_vtimezone_of_its_own_is_honoured():
    show = parse("vtimezone")
    # 21:00 in the feed's own Central European zone: summer time, then winter time.
    assert [e.airstamp.astimezone(UTC) for e in show.episodes] == [
        datetime(2023, 10, 28, 19, tzinfo=UTC),
        datetime(2023, 11, 4, 20, tzinfo=UTC),
    ]


def test_a_malformed_feed_is_a_source_error():
    with pytest.raises(SourceError, match="not a valid iCalendar file"):
        parse("malformed")
    with pytest.raises(SourceError, match="not a valid iCalendar file"):
        parse_feed(b"<html>hello</html>", url="u", series=None, now=NOW)


def test_only_http_feeds_are_read():
    assert feed_url(" https://sonarr.local/feed/calendar/Sonarr.ics?apikey=x ").startswith("https")
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "https://"):
        with pytest.raises(InvalidInput):
            feed_url(bad)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://sonarr.example/feed/v3/calendar/Sonarr.ics?apikey=k3y",
            "https://sonarr.example/feed/v3/calendar/Sonarr.ics",
        ),
        ("https://user:pa55@cal.example:8443/a.ics#x", "https://cal.example:8443/a.ics"),
        ("http://[::1]:8989/feed.ics?apikey=k3y", "http://[::1]:8989/feed.ics"),
    ],
)
def test_a_feeds_secrets_are_cut_from_what_members_see(url: str, shown: str) -> None:
    link = SourceLink(1, "ics", url)
    assert link.shown_ref == shown and link.ref == url


LONG_RUNNING = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//episode-bot tests//EN
BEGIN:VEVENT
UID:long-running
DTSTART;VALUE=DATE:20200103
RRULE:FREQ=WEEKLY;COUNT=200
SUMMARY:Long Show S01E01
END:VEVENT
END:VCALENDAR
"""


def test_a_recurring_event_keeps_its_numbers_as_time_passes():
    # Begun three years before now, longer ago than the expansion window: an episode's
    # number is still counted from the first occurrence, and a week later it is the same.
    def numbers(now: datetime) -> dict[date, int]:
        show = parse_feed(LONG_RUNNING, url="u", series=None, now=now)
        return {e.airdate: e.number for e in show.episodes}

    this_week = numbers(datetime(2023, 1, 1, tzinfo=UTC))
    next_week = numbers(datetime(2023, 1, 8, tzinfo=UTC))
    assert this_week[date(2023, 10, 27)] == next_week[date(2023, 10, 27)] == 200
    assert this_week[date(2021, 1, 1)] == 53  # the 53rd Friday from 3 January 2020
    assert min(this_week) >= date(2021, 1, 1)  # still only the window's episodes


def test_a_feed_of_old_events_only_says_they_are_out_of_reach():
    # The fixture's episodes are of 2023; read in 2026 they are all more than two years ago.
    with pytest.raises(SourceError, match="from two years ago to two years ahead"):
        parse_feed(FEEDS["weekly"], url="u", series=None, now=datetime(2026, 6, 1, tzinfo=UTC))
