"""The import rules, applied by one function: date-only episodes, specials, HTML, zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.models import Cadence
from bot.sources.base import SourceEpisode, SourceError, SourceShow
from bot.sources.rules import apply_rules, infer_cadence, strip_html, zone_for_country

NEW_YORK = ZoneInfo("America/New_York")


def show(*episodes: SourceEpisode, title: str = "Show", summary: str | None = None) -> SourceShow:
    return SourceShow("tvmaze", "1", title, "Net", None, None, summary, tuple(episodes))


def episode(number: int | None, day: str, at: str | None = None, **extra) -> SourceEpisode:
    airtime = time.fromisoformat(at) if at else None
    return SourceEpisode(
        season=extra.pop("season", 1),
        number=number,
        title=extra.pop("title", f"E{number}"),
        airdate=date.fromisoformat(day),
        airtime=airtime,
        airstamp=extra.pop("airstamp", None),
        kind=extra.pop("kind", "regular"),
        source_id=str(number),
    )


def test_a_date_without_a_time_gets_the_shows_time_and_is_marked_estimated():
    streaming = episode(1, "2023-11-10", airstamp=datetime(2023, 11, 10, 12, tzinfo=UTC))
    [season] = apply_rules(show(streaming), zone=NEW_YORK, release_time=time(3, 0)).seasons
    [record] = season.episodes
    assert record.release_at == datetime(2023, 11, 10, 8, tzinfo=UTC)  # 03:00 EST, not 12:00Z
    assert record.time_estimated


def test_an_exact_time_keeps_the_sources_instant():
    stamp = datetime(2013, 6, 25, 2, tzinfo=UTC)
    broadcast = episode(1, "2013-06-24", "22:00", airstamp=stamp)
    [season] = apply_rules(show(broadcast), zone=NEW_YORK, release_time=time(0)).seasons
    assert season.episodes[0].release_at == stamp and not season.episodes[0].time_estimated


def test_a_local_time_without_an_instant_is_read_in_the_zone():
    floating = episode(1, "2024-07-01", "21:00")
    [season] = apply_rules(show(floating), zone=NEW_YORK, release_time=time(0)).seasons
    assert season.episodes[0].release_at == datetime(2024, 7, 2, 1, tzinfo=UTC)  # EDT


def test_specials_are_left_out_or_numbered_after_the_season():
    episodes = (
        episode(1, "2021-10-31", "18:25"),
        episode(None, "2022-01-01", "19:05", kind="significant_special", title="Eve"),
        episode(2, "2021-11-07", "18:20"),
        episode(3, "2021-11-14", "18:20", kind="insignificant_special", title="Extra"),
    )
    plain = apply_rules(show(*episodes), zone=NEW_YORK, release_time=time(0))
    assert [e.number for e in plain.seasons[0].episodes] == [1, 2]
    everything = apply_rules(
        show(*episodes), zone=NEW_YORK, release_time=time(0), include_specials=True
    )
    assert [(e.number, e.title) for e in everything.seasons[0].episodes] == [
        (1, "E1"), (2, "E2"), (3, "Extra"), (4, "Eve"),
    ]  # fmt: skip


def test_html_is_stripped_and_text_validated():
    tagged = episode(1, "2023-11-10", title="<b>Glasnost</b> &amp; more")
    controlled = episode(2, "2023-11-17", title="bad\x07title")
    result = apply_rules(
        show(tagged, controlled, title="<i>For All Mankind</i>", summary="<p>A &mdash; B</p>"),
        zone=NEW_YORK,
        release_time=time(0),
    )
    assert result.title == "For All Mankind" and result.summary == "A — B"
    assert [e.title for e in result.seasons[0].episodes] == ["Glasnost & more", None]
    with pytest.raises(SourceError, match="show name is unusable"):
        apply_rules(show(tagged, title="<p></p>"), zone=NEW_YORK, release_time=time(0))


def test_episodes_without_a_date_wait():
    undated = SourceEpisode(1, 2, "TBA", None, None, None)
    result = apply_rules(
        show(episode(1, "2023-11-10"), undated), zone=NEW_YORK, release_time=time(0)
    )
    assert [e.number for e in result.seasons[0].episodes] == [1]


def test_the_networks_country_gives_the_zone():
    assert zone_for_country("US", "America/New_York") == "America/New_York"
    assert zone_for_country("GB") == "Europe/London"
    assert zone_for_country("DE", None) == "Europe/Berlin"
    assert zone_for_country(None, None) is None
    assert zone_for_country("XX", "Not/AZone") is None
    assert strip_html("<p>a<br>b</p>") == "a b"


def test_the_cadence_is_inferred_from_the_dates():
    fridays = [date(2023, 11, 10 + 7 * k) for k in range(3)]
    assert infer_cadence(fridays) == (Cadence("weekly", weekday=4), 1)
    double = [date(2023, 11, 10), date(2023, 11, 10), date(2023, 11, 17)]
    assert infer_cadence(double) == (Cadence("weekly", weekday=4), 2)
    assert infer_cadence([date(2023, 11, 10)] * 3) == (Cadence("all_at_once"), 1)
    odd = [date(2023, 11, 10), date(2023, 11, 12), date(2023, 11, 30)]
    assert infer_cadence(odd) == (Cadence("dates", dates=tuple(odd)), 1)
