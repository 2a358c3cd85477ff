"""Release dates, instants across DST, time zones and reminder offsets (bot/schedule.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.models import Cadence
from bot.schedule import (
    episode_dates,
    format_duration,
    load_zone,
    parse_durations,
    release_instants,
    resolve_local,
    shift_dates,
)

NY = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
FRIDAY = 4

ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Santiago",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Casablanca",
    "Asia/Tehran",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Chatham",
    "Pacific/Apia",
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(weekday: int) -> Cadence:
    return Cadence("weekly", weekday=weekday)


def local_times(instants: list[datetime], zone: ZoneInfo) -> list[datetime]:
    return [instant.astimezone(zone) for instant in instants]


# --- the season that started it all ---------------------------------------------------


def test_for_all_mankind_season_4() -> None:
    instants = release_instants(date(2023, 11, 10), 10, weekly(FRIDAY), 1, time(0, 0), NY)
    fridays = [date(2023, 11, 10) + timedelta(weeks=k) for k in range(10)]
    assert fridays[-1] == date(2024, 1, 12)
    assert [i.date() for i in local_times(instants, NY)] == fridays
    assert instants == [datetime.combine(d, time(5, 0), tzinfo=UTC) for d in fridays]
    assert all(i.tzinfo is UTC for i in instants)


# --- DST: the wall clock is kept ------------------------------------------------------


def test_spring_forward_keeps_local_time() -> None:
    # Fridays 2024-02-23 .. 2024-04-26 at 21:00; US DST starts Sunday 2024-03-10.
    instants = release_instants(date(2024, 2, 23), 10, weekly(FRIDAY), 1, time(21, 0), NY)
    assert {i.astimezone(NY).time() for i in instants} == {time(21, 0)}
    assert instants[0] == utc(2024, 2, 24, 2, 0)  # EST, UTC-5
    assert instants[2] == utc(2024, 3, 9, 2, 0)  # 2024-03-08, still EST
    assert instants[3] == utc(2024, 3, 16, 1, 0)  # 2024-03-15, EDT, UTC-4
    assert instants[-1] == utc(2024, 4, 27, 1, 0)


def test_fall_back_keeps_local_time() -> None:
    # Fridays from 2024-10-18 at 00:00; US DST ends Sunday 2024-11-03.
    instants = release_instants(date(2024, 10, 18), 4, weekly(FRIDAY), 1, time(0, 0), NY)
    assert instants == [
        utc(2024, 10, 18, 4, 0),
        utc(2024, 10, 25, 4, 0),
        utc(2024, 11, 1, 4, 0),
        utc(2024, 11, 8, 5, 0),
    ]
    assert {i.astimezone(NY).time() for i in instants} == {time(0, 0)}


def test_gap_is_pushed_forward_by_its_length() -> None:
    instant = resolve_local(date(2024, 3, 10), time(2, 30), NY)
    assert instant == utc(2024, 3, 10, 7, 30)
    assert instant.astimezone(NY).replace(tzinfo=None) == datetime(2024, 3, 10, 3, 30)


def test_fold_takes_the_first_occurrence() -> None:
    assert resolve_local(date(2024, 11, 3), time(1, 30), NY) == utc(2024, 11, 3, 5, 30)
    # Whatever fold the caller passes, the rule is the same.
    assert resolve_local(date(2024, 11, 3), time(1, 30, fold=1), NY) == utc(2024, 11, 3, 5, 30)


def test_season_across_a_gap_day() -> None:
    # A Sunday 02:30 show: the episode on the spring-forward Sunday drops at 03:30 EDT.
    instants = release_instants(date(2024, 3, 3), 3, weekly(6), 1, time(2, 30), NY)
    assert instants == [
        utc(2024, 3, 3, 7, 30),
        utc(2024, 3, 10, 7, 30),
        utc(2024, 3, 17, 6, 30),
    ]


@pytest.mark.parametrize(
    ("zone", "day", "wall", "expected", "shown"),
    [
        # Europe/London: 01:00 -> 02:00 on 2024-03-31, 02:00 -> 01:00 on 2024-10-27.
        ("Europe/London", date(2024, 3, 31), time(1, 30), utc(2024, 3, 31, 1, 30), time(2, 30)),
        ("Europe/London", date(2024, 10, 27), time(1, 30), utc(2024, 10, 27, 0, 30), None),
        ("Europe/London", date(2024, 7, 1), time(0, 0), utc(2024, 6, 30, 23, 0), None),
        ("Europe/London", date(2024, 1, 1), time(0, 0), utc(2024, 1, 1, 0, 0), None),
        # Australia/Lord_Howe: a 30-minute DST. +10:30 -> +11:00 at 02:00 on 2024-10-06,
        # +11:00 -> +10:30 at 02:00 on 2024-04-07.
        (
            "Australia/Lord_Howe",
            date(2024, 10, 6),
            time(2, 15),
            utc(2024, 10, 5, 15, 45),
            time(2, 45),
        ),
        ("Australia/Lord_Howe", date(2024, 4, 7), time(1, 45), utc(2024, 4, 6, 14, 45), None),
        ("Australia/Lord_Howe", date(2024, 6, 1), time(1, 45), utc(2024, 5, 31, 15, 15), None),
    ],
)
def test_other_zones(
    zone: str, day: date, wall: time, expected: datetime, shown: time | None
) -> None:
    tz = ZoneInfo(zone)
    instant = resolve_local(day, wall, tz)
    assert instant == expected
    assert instant.tzinfo is UTC
    assert instant.astimezone(tz).time() == (shown or wall)


def test_aware_release_time_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_local(date(2024, 1, 1), time(0, 0, tzinfo=UTC), NY)
    assert info.value.field == "time"


# --- cadences -------------------------------------------------------------------------


def test_weekly_with_two_premiere_episodes() -> None:
    dates = episode_dates(date(2023, 11, 10), 5, weekly(FRIDAY), premiere_episodes=2)
    assert dates == [
        date(2023, 11, 10),
        date(2023, 11, 10),
        date(2023, 11, 17),
        date(2023, 11, 24),
        date(2023, 12, 1),
    ]


def test_premiere_on_another_weekday_than_the_cadence() -> None:
    # Premiere on a Sunday, then weekly on Wednesday: next is the first Wednesday after.
    dates = episode_dates(date(2024, 9, 1), 4, weekly(2))
    assert dates == [date(2024, 9, 1), date(2024, 9, 4), date(2024, 9, 11), date(2024, 9, 18)]
    # Premiere on a Thursday, weekly on Wednesday: six days later.
    dates = episode_dates(date(2024, 9, 5), 2, weekly(2))
    assert dates == [date(2024, 9, 5), date(2024, 9, 11)]


def test_same_weekday_next_drop_is_a_week_later() -> None:
    assert episode_dates(date(2024, 9, 6), 2, weekly(FRIDAY)) == [
        date(2024, 9, 6),
        date(2024, 9, 13),
    ]


def test_single_episode_and_all_premiere_episodes() -> None:
    assert episode_dates(date(2024, 9, 6), 1, weekly(0)) == [date(2024, 9, 6)]
    assert episode_dates(date(2024, 9, 6), 3, weekly(0), 3) == [date(2024, 9, 6)] * 3


def test_all_at_once() -> None:
    premiere = date(2024, 5, 17)
    assert episode_dates(premiere, 8, Cadence("all_at_once")) == [premiere] * 8
    instants = release_instants(premiere, 8, Cadence("all_at_once"), 1, time(3, 0), UTC_ZONE)
    assert instants == [utc(2024, 5, 17, 3, 0)] * 8


def test_explicit_dates() -> None:
    days = (date(2024, 1, 5), date(2024, 1, 5), date(2024, 1, 19), date(2024, 2, 2))
    cadence = Cadence("dates", dates=days)
    assert episode_dates(date(2024, 1, 5), 4, cadence) == list(days)
    instants = release_instants(date(2024, 1, 5), 4, cadence, 1, time(0, 0), NY)
    assert instants[-1] == utc(2024, 2, 2, 5, 0)


@pytest.mark.parametrize(
    ("premiere", "count", "days"),
    [
        (date(2024, 1, 5), 3, (date(2024, 1, 5), date(2024, 1, 12))),  # too few
        (date(2024, 1, 5), 1, (date(2024, 1, 5), date(2024, 1, 12))),  # too many
        (date(2024, 1, 5), 2, (date(2024, 1, 6), date(2024, 1, 12))),  # not the premiere
        (date(2024, 1, 5), 3, (date(2024, 1, 5), date(2024, 1, 19), date(2024, 1, 12))),
        (date(2024, 1, 5), 1, ()),
    ],
)
def test_bad_explicit_dates(premiere: date, count: int, days: tuple[date, ...]) -> None:
    with pytest.raises(InvalidInput) as info:
        episode_dates(premiere, count, Cadence("dates", dates=days))
    assert info.value.field == "dates"
    assert "premiere" in str(info.value)  # the hint says how to mend it


@pytest.mark.parametrize(
    ("count", "premiere_episodes", "field"),
    [
        (0, 1, "episodes"),
        (501, 1, "episodes"),
        (5, 0, "premiere_episodes"),
        (5, 6, "premiere_episodes"),
        (5, -1, "premiere_episodes"),
    ],
)
def test_bad_counts(count: int, premiere_episodes: int, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        episode_dates(date(2024, 1, 5), count, weekly(FRIDAY), premiere_episodes)
    assert info.value.field == field


@pytest.mark.parametrize(
    "cadence", [Cadence("weekly"), Cadence("weekly", weekday=7), Cadence("fortnightly")]
)
def test_bad_cadence(cadence: Cadence) -> None:
    with pytest.raises(InvalidInput) as info:
        episode_dates(date(2024, 1, 5), 3, cadence)
    assert info.value.field == "cadence"


def test_season_past_year_9999() -> None:
    with pytest.raises(InvalidInput):
        episode_dates(date(9999, 12, 1), 10, weekly(0))


def test_shift_dates() -> None:
    old = episode_dates(date(2023, 10, 13), 3, weekly(FRIDAY))
    moved = shift_dates(old, date(2023, 10, 13), date(2023, 11, 10))
    assert moved == [date(2023, 11, 10), date(2023, 11, 17), date(2023, 11, 24)]
    assert shift_dates(moved, date(2023, 11, 10), date(2023, 10, 13)) == old
    assert shift_dates([], date(2023, 1, 1), date(2024, 1, 1)) == []


def test_shift_keeps_wall_clock_across_dst() -> None:
    # Moving 00:00 NY episodes from October (EDT) to November (EST) changes the UTC hour.
    moved = shift_dates([date(2024, 10, 25)], date(2024, 10, 25), date(2024, 11, 8))
    assert resolve_local(moved[0], time(0, 0), NY) == utc(2024, 11, 8, 5, 0)


# --- time zones -----------------------------------------------------------------------


def test_load_zone_exact_and_case_insensitive() -> None:
    assert load_zone("Europe/London") == ZoneInfo("Europe/London")
    assert load_zone("europe/london").key == "Europe/London"
    assert load_zone("  AMERICA/NEW_YORK ").key == "America/New_York"
    assert load_zone("UTC").key == "UTC"


def test_load_zone_suggests_close_names() -> None:
    with pytest.raises(InvalidInput) as info:
        load_zone("Europe/Londn")
    assert info.value.field == "timezone"
    assert "Europe/London" in str(info.value)
    with pytest.raises(InvalidInput) as info:
        load_zone("London")
    assert "Europe/London" in str(info.value)


@pytest.mark.parametrize("name", ["", "   ", "Mars/Olympus_Mons", "EST5EDT6", "Nowhere"])
def test_load_zone_unknown(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        load_zone(name)
    assert info.value.field == "timezone"
    assert info.value.hint


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "Europe/../Europe/London",
        "Europe\\London",
        "Europe/London\x00",
        "Europe//London",
        "x" * 500,
    ],
)
def test_load_zone_refuses_paths(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        load_zone(name)
    assert info.value.field == "timezone"


# --- reminder offsets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1d,1h", (86400, 3600)),
        ("30m", (1800,)),
        ("2h,1d", (86400, 7200)),
        ("1h, 60m, 1h", (3600,)),
        ("1h30m", (5400,)),
        ("1W", (604800,)),
        ("4w", (28 * 86400,)),
        ("28d", (28 * 86400,)),
        ("5m", (300,)),
        ("1d,", (86400,)),
        ("", ()),
        ("   ", ()),
        (None, ()),
        ("1w,2d,3h,5m,4w", (28 * 86400, 604800, 172800, 10800, 300)),
    ],
)
def test_parse_durations_good(text: str | None, expected: tuple[int, ...]) -> None:
    assert parse_durations(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1x",
        "1",
        "h",
        "-1h",
        "1.5h",
        "1 h",
        "30s",
        "4m",
        "0m",
        "29d",
        "5w",
        "1m1h",
        "1h,2h,3h,4h,5h,6h",
        "1d;1h",
        "9" * 300 + "d",
    ],
)
def test_parse_durations_bad(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_durations(text)
    assert info.value.field == "before"
    assert "Write offsets like 1d,1h (units: w, d, h, m)." in str(info.value)


def test_five_offsets_is_the_limit() -> None:
    assert len(parse_durations("1h,2h,3h,4h,5h")) == 5


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(86400, "1d"), (5400, "1h30m"), (3600, "1h"), (300, "5m"), (604800, "1w"), (0, "0m")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=5, max_value=28 * 24 * 60))
def test_format_parse_round_trip(minutes: int) -> None:
    assert parse_durations(format_duration(minutes * 60)) == (minutes * 60,)


# --- properties -----------------------------------------------------------------------

# Times near DST transitions, which random times rarely hit, mixed with random ones.
TIMES = st.one_of(
    st.sampled_from([time(0, 0), time(0, 30), time(1, 30), time(2, 0), time(2, 30)]),
    st.times(),
)


def expected_wall_clock(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """What the clock in `zone` shows at the resolved instant, by the documented rule.

    In a gap, fold=1 uses the offset after the transition and fold=0 the one before, so
    their difference is the length of the gap; elsewhere it is zero or negative (fold).
    """
    naive = datetime.combine(day, wall.replace(fold=0))
    gap = naive.replace(tzinfo=zone, fold=1).utcoffset() - naive.replace(tzinfo=zone).utcoffset()
    return naive + max(gap, timedelta(0))


@settings(max_examples=40, deadline=None)
@given(
    premiere=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    count=st.integers(min_value=1, max_value=500),
    weekday=st.integers(min_value=0, max_value=6),
    data=st.data(),
    zone_name=st.sampled_from(ZONES),
    wall=TIMES,
)
def test_weekly_season_properties(
    premiere: date, count: int, weekday: int, data: st.DataObject, zone_name: str, wall: time
) -> None:
    zone = ZoneInfo(zone_name)
    premiere_episodes = data.draw(st.integers(min_value=1, max_value=count))
    cadence = weekly(weekday)
    dates = episode_dates(premiere, count, cadence, premiere_episodes)
    instants = release_instants(premiere, count, cadence, premiere_episodes, wall, zone)

    assert len(dates) == len(instants) == count
    assert dates == sorted(dates)
    assert instants == sorted(instants)
    assert dates[:premiere_episodes] == [premiere] * premiere_episodes
    later = dates[premiere_episodes:]
    if later:
        assert 1 <= (later[0] - premiere).days <= 7
    assert all(day.weekday() == weekday for day in later)
    assert all((b - a).days == 7 for a, b in pairwise(later))
    for day, instant in zip(dates, instants, strict=True):
        assert instant.tzinfo is UTC
        shown = instant.astimezone(zone).replace(tzinfo=None)
        assert shown == expected_wall_clock(day, wall, zone)
        assert timedelta(0) <= shown - datetime.combine(day, wall) <= timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31)),
    zone_name=st.sampled_from(ZONES),
)
def test_resolve_local_rule(moment: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    day, wall = moment.date(), moment.time().replace(fold=0)
    instant = resolve_local(day, wall, zone)
    assert instant.tzinfo is UTC
    assert instant.astimezone(zone).replace(tzinfo=None) == expected_wall_clock(day, wall, zone)
    # In a fold the earlier of the two instants wins; elsewhere both folds agree or the
    # fold=1 reading is later (gap).
    other = datetime.combine(day, wall, tzinfo=zone).replace(fold=1).astimezone(UTC)
    naive = datetime.combine(day, wall)
    if other.astimezone(zone).replace(tzinfo=None) == naive:
        assert instant <= other


@settings(max_examples=40, deadline=None)
@given(
    premiere=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    count=st.integers(min_value=1, max_value=60),
    weekday=st.integers(min_value=0, max_value=6),
    days=st.integers(min_value=-3650, max_value=3650),
)
def test_shift_preserves_spacing(premiere: date, count: int, weekday: int, days: int) -> None:
    dates = episode_dates(premiere, count, weekly(weekday))
    new = premiere + timedelta(days=days)
    moved = shift_dates(dates, premiere, new)
    assert moved[0] == new
    assert [b - a for a, b in pairwise(moved)] == [b - a for a, b in pairwise(dates)]
