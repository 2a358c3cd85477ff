"""The rules that turn what a source says into catalog records: one function, `apply_rules`.

- Date only: an episode with a date and no time (streaming services publish dates only; an
  all-day calendar event) is released at the show's release time in the show's zone, and is
  marked "time estimated" wherever it is shown. TVmaze's `airstamp` for such an episode is
  a made-up hour of that day in UTC, so it is not used.
- Exact time: the source's instant (`airstamp`, a calendar event's start) is kept.
- Specials (no episode number, or a type other than "regular") are left out unless asked
  for; asked for, they are numbered after the season's regular episodes, in air order.
- HTML in summaries and titles is stripped, entities decoded; the text then goes through
  the same validation as typed input (bot.validation). An episode title that fails it is
  dropped, not the episode; a show title that fails it refuses the import.
- An episode without a date (to be announced) is left out until it has one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time
from html import unescape
from html.parser import HTMLParser
from importlib import resources
from zoneinfo import ZoneInfo

from bot import schedule, validation
from bot.errors import InvalidInput
from bot.models import Cadence
from bot.sources.base import SourceError, SourceShow

MAX_SUMMARY = 1000


@dataclass(frozen=True)
class CatalogEpisode:
    season: int
    number: int
    title: str | None
    release_at: datetime  # UTC
    time_estimated: bool
    source_id: str | None


@dataclass(frozen=True)
class CatalogSeason:
    number: int
    source_id: str | None
    episodes: tuple[CatalogEpisode, ...]  # in number order

    def local_dates(self, zone: ZoneInfo) -> list[date]:
        return [e.release_at.astimezone(zone).date() for e in self.episodes]


@dataclass(frozen=True)
class CatalogShow:
    title: str
    network: str | None
    summary: str | None
    seasons: tuple[CatalogSeason, ...]  # in number order


def apply_rules(
    show: SourceShow,
    *,
    zone: ZoneInfo,
    release_time: time,
    include_specials: bool = False,
) -> CatalogShow:
    """`show` as catalog records, by the rules in this module's docstring."""
    try:
        title = validation.parse_title(strip_html(show.title))
        network = validation.parse_network(strip_html(show.network or "")[: validation.MAX_NETWORK])
    except InvalidInput as error:
        raise SourceError(f"the source's show name is unusable: {error}") from None
    by_season: dict[int, list[CatalogEpisode]] = {}
    specials: dict[int, list[CatalogEpisode]] = {}
    for episode in show.episodes:
        if not 1 <= episode.season <= validation.MAX_SEASON:
            continue
        special = episode.number is None or episode.kind != "regular"
        if special and not include_specials:
            continue
        if episode.airtime is not None and episode.airstamp is not None:
            release_at, estimated = episode.airstamp, False
        elif episode.airdate is not None and episode.airtime is not None:
            release_at = schedule.resolve_local(episode.airdate, episode.airtime, zone)
            estimated = False
        elif episode.airdate is not None:
            release_at = schedule.resolve_local(episode.airdate, release_time, zone)
            estimated = True
        else:
            continue  # no date yet
        record = CatalogEpisode(
            season=episode.season,
            number=episode.number or 0,
            title=_clean_title(episode.title),
            release_at=release_at,
            time_estimated=estimated,
            source_id=episode.source_id,
        )
        (specials if special else by_season).setdefault(episode.season, []).append(record)
    seasons = []
    for number in sorted(set(by_season) | set(specials)):
        regular = {}
        for record in sorted(by_season.get(number, ()), key=lambda e: e.number):
            if 1 <= record.number <= validation.MAX_EPISODES:
                regular.setdefault(record.number, record)  # a duplicate number: the first wins
        last = max(regular, default=0)
        for offset, record in enumerate(
            sorted(specials.get(number, ()), key=lambda e: e.release_at), start=1
        ):
            if last + offset <= validation.MAX_EPISODES:
                regular[last + offset] = _renumbered(record, last + offset)
        if regular:
            episodes = tuple(regular[n] for n in sorted(regular))
            seasons.append(CatalogSeason(number, show.season_ids.get(number), episodes))
    return CatalogShow(
        title=title, network=network, summary=clean_summary(show.summary), seasons=tuple(seasons)
    )


def _renumbered(record: CatalogEpisode, number: int) -> CatalogEpisode:
    return CatalogEpisode(
        record.season, number, record.title, record.release_at, record.time_estimated,
        record.source_id,
    )  # fmt: skip


def _clean_title(title: str | None) -> str | None:
    text = strip_html(title or "")[: validation.MAX_EPISODE_TITLE]
    try:
        return validation.parse_episode_title(text)
    except InvalidInput:
        return None


def clean_summary(summary: str | None) -> str | None:
    """A summary as plain text (HTML stripped), at most MAX_SUMMARY characters, or None."""
    text = strip_html(summary or "")
    if len(text) > MAX_SUMMARY:
        text = text[: MAX_SUMMARY - 1].rsplit(" ", 1)[0] + "…"
    try:
        clean = validation.clean_text(text, "summary", max_length=MAX_SUMMARY, required=False)
        return clean or None
    except InvalidInput:
        return None


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")


def strip_html(text: str) -> str:
    """Text without tags, entities decoded, whitespace collapsed: "<p>A &amp; B</p>" -> "A & B"."""
    if "<" not in text and "&" not in text:
        return " ".join(text.split())
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return " ".join(unescape("".join(parser.parts)).split())


@functools.cache
def _zones_by_country() -> dict[str, str]:
    """ISO 3166 code -> the first zone tzdata's zone.tab lists for it (the most populous
    region: America/New_York for US, Europe/London for GB)."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    zones: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, name = line.split("\t")[:3]
            zones.setdefault(code, name)
    return zones


def zone_for_country(code: str | None, timezone: str | None = None) -> str | None:
    """The IANA zone for a network's country: the zone the source names, else the one
    tzdata gives the country code, else None (a web channel without a country)."""
    for candidate in (timezone, _zones_by_country().get((code or "").upper())):
        if candidate:
            try:
                return schedule.load_zone(candidate).key
            except InvalidInput:
                continue
    return None


def infer_cadence(dates: list[date]) -> tuple[Cadence, int]:
    """The season's cadence from its episodes' local dates, and how many drop at the premiere:
    weekly when the dates fit "K at the premiere, then one a week on a weekday", all at once
    when they share one date, else the explicit dates."""
    premiere = dates[0]
    at_premiere = sum(1 for d in dates if d == premiere)
    if at_premiere == len(dates):
        return Cadence("all_at_once"), 1
    weekly = Cadence("weekly", weekday=dates[at_premiere].weekday())
    try:
        fits = schedule.episode_dates(premiere, len(dates), weekly, at_premiere) == dates
    except InvalidInput:
        fits = False
    if fits:
        return weekly, at_premiere
    return Cadence("dates", dates=tuple(dates)), 1
