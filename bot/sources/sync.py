"""What a sync changes: the difference between the catalog and what the source says now.

Pure (no I/O): `diff` reads a snapshot of the show's seasons and the source's records after
the rules, and returns the changes; the store applies them in one transaction
(`Store.apply_source_changes`), re-checking inside it which releases were posted.

The changes are the same season events an admin's edit makes:

- a season the catalog lacks -> added, with its "season announced" post;
- a premiere that moved -> its drops rescheduled and a "new date" post (`moved` event);
  a later drop whose date moved -> rescheduled and a "new date" post naming it;
- a time that changed on the same date, episodes added or removed -> the schedule updated
  (a quiet `rescheduled` event re-plans the season, nobody is told);
- titles -> changed quietly.

What a sync never does: move or remove an episode whose release was posted, or one in the
past; touch a field an admin set by hand (held until released); delete a whole season with
episodes still to come (the payload is refused instead, and the catalog stays as it was).
A second sync of the same data finds no difference, so every change is posted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from bot.models import Cadence, Episode, Season, Show
from bot.schedule import load_zone
from bot.sources.base import SourceError
from bot.sources.rules import CatalogEpisode, CatalogSeason, CatalogShow, infer_cadence


@dataclass(frozen=True)
class NewSeason:
    number: int
    source_id: str | None
    premiere: date
    cadence: Cadence
    premiere_episodes: int
    release_time: time
    timezone: str
    episodes: tuple[CatalogEpisode, ...]


@dataclass
class SeasonChanges:
    season: Season
    source_id: str | None = None
    premiere: date | None = None  # the new premiere, when it moved
    cadence: Cadence | None = None  # the new cadence, when dates changed
    premiere_episodes: int | None = None
    episode_count: int | None = None
    added: list[CatalogEpisode] = field(default_factory=list)
    removed: list[Episode] = field(default_factory=list)
    moved: list[tuple[Episode, CatalogEpisode]] = field(default_factory=list)
    retitled: list[tuple[Episode, str | None]] = field(default_factory=list)
    marked: list[tuple[Episode, CatalogEpisode]] = field(default_factory=list)  # ids, flags
    announcement: dict[str, str] | None = None  # a "moved" event's detail: a post

    @property
    def replans(self) -> bool:
        """Releases changed without a post: the plan must look at the season again."""
        return bool(self.added or self.removed or self.moved) and self.announcement is None

    def is_empty(self) -> bool:
        return (
            not (self.added or self.removed or self.moved or self.retitled or self.marked)
            and self.source_id == self.season.source_id
        )


@dataclass
class SyncChanges:
    network: str | None = None  # the new network, when it changed
    new_seasons: list[NewSeason] = field(default_factory=list)
    seasons: list[SeasonChanges] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.network is None and not self.new_seasons and not self.seasons

    def describe(self) -> list[str]:
        """One line per change, for the operator (CLI answer, log)."""
        lines = [f"network is now {self.network}"] if self.network else []
        for new in self.new_seasons:
            lines.append(
                f"season {new.number} added: {len(new.episodes)} episode(s) from {new.premiere}"
            )
        for each in self.seasons:
            number = each.season.number
            if each.announcement and "episodes" in each.announcement:
                detail = each.announcement
                lines.append(
                    f"season {number} {detail['episodes']} moved from {detail['from']} "
                    f"to {detail['to']}"
                )
            elif each.announcement:
                lines.append(
                    f"season {number} premiere moved from {each.announcement['from']} "
                    f"to {each.announcement['to']}"
                )
            counts = [
                (len(each.moved), "rescheduled"),
                (len(each.added), "added"),
                (len(each.removed), "removed"),
                (len(each.retitled), "retitled"),
            ]
            done = ", ".join(f"{n} episode(s) {what}" for n, what in counts if n)
            if done:
                lines.append(f"season {number}: {done}")
        return lines


def diff(
    show: Show,
    current: Sequence[tuple[Season, Sequence[Episode]]],
    catalog: CatalogShow,
    *,
    released: set[int],
    now: datetime,
) -> SyncChanges:
    """The changes that make the catalog say what the source says (see the module doc).

    `released`: ids of episodes whose release was posted. Raises `SourceError` when the
    source's answer would delete a whole season that still has episodes to come.
    """
    changes = SyncChanges()
    if catalog.network and catalog.network != show.network:
        changes.network = catalog.network
    from_source = {season.number: season for season in catalog.seasons}
    for season, episodes in current:
        if season.number in from_source:
            continue
        upcoming = [e for e in episodes if e.release_at > now and e.id not in released]
        if season.source_id is not None and upcoming:
            raise SourceError(
                f"the source no longer lists season {season.number}, which has "
                f"{len(upcoming)} episode(s) to come: refusing to delete a whole season"
            )
    known = {season.number: (season, episodes) for season, episodes in current}
    for number, wanted in from_source.items():
        if number not in known:
            changes.new_seasons.append(_new_season(show, wanted))
            continue
        season, episodes = known[number]
        found = _season_changes(season, episodes, wanted, released=released, now=now)
        if not found.is_empty():
            changes.seasons.append(found)
    return changes


def _new_season(show: Show, wanted: CatalogSeason) -> NewSeason:
    zone = load_zone(show.timezone)
    dates = wanted.local_dates(zone)
    cadence, at_premiere = infer_cadence(dates)
    return NewSeason(
        number=wanted.number,
        source_id=wanted.source_id,
        premiere=min(dates),
        cadence=cadence,
        premiere_episodes=at_premiere,
        release_time=show.release_time,
        timezone=show.timezone,
        episodes=wanted.episodes,
    )


def _season_changes(
    season: Season,
    episodes: Sequence[Episode],
    wanted: CatalogSeason,
    *,
    released: set[int],
    now: datetime,
) -> SeasonChanges:
    zone = load_zone(season.timezone)
    found = SeasonChanges(season, source_id=wanted.source_id or season.source_id)
    by_number = {episode.number: episode for episode in episodes}
    wanted_by_number = {episode.number: episode for episode in wanted.episodes}
    # Fixed: posted, past, or set by hand (the episode, or the whole season's dates).
    fixed = {e.id for e in episodes if e.id in released or e.release_at <= now or e.manual} | (
        {e.id for e in episodes} if season.premiere_held else set()
    )
    date_moves: list[tuple[Episode, date, date]] = []
    for number, record in wanted_by_number.items():
        episode = by_number.get(number)
        if episode is None:
            found.added.append(record)
            continue
        if record.release_at != episode.release_at and episode.id not in fixed:
            found.moved.append((episode, record))
            old_day = episode.release_at.astimezone(zone).date()
            new_day = record.release_at.astimezone(zone).date()
            if old_day != new_day:
                date_moves.append((episode, old_day, new_day))
        elif (record.time_estimated, record.source_id) != (
            episode.time_estimated,
            episode.source_id,
        ) and episode.id not in fixed:
            found.marked.append((episode, record))
        if record.title != episode.title and not episode.title_held and record.title:
            found.retitled.append((episode, record.title))
    for number, episode in by_number.items():
        if number not in wanted_by_number and episode.id not in fixed:
            found.removed.append(episode)
    if found.added or found.removed or found.moved:
        _reshape(found, season, episodes, zone, date_moves)
    return found


def _reshape(
    found: SeasonChanges,
    season: Season,
    episodes: Sequence[Episode],
    zone: object,
    date_moves: list[tuple[Episode, date, date]],
) -> None:
    """The season's premiere, cadence and count after the changes; the post they deserve."""
    moved = {episode.id: record.release_at for episode, record in found.moved}
    removed = {episode.id for episode in found.removed}
    instants = sorted(
        [(e.number, moved.get(e.id, e.release_at)) for e in episodes if e.id not in removed]
        + [(record.number, record.release_at) for record in found.added]
    )
    dates = [instant.astimezone(zone).date() for _, instant in instants]  # type: ignore[arg-type]
    if not dates:
        return
    cadence, at_premiere = infer_cadence(dates)
    found.cadence, found.premiere_episodes = cadence, at_premiere
    found.episode_count = max(number for number, _ in instants)
    premiere = min(dates)
    if premiere != season.premiere:
        found.premiere = premiere
        if any(old == season.premiere for _, old, _ in date_moves):
            found.announcement = {"from": season.premiere.isoformat(), "to": premiere.isoformat()}
            return
    if date_moves:
        episode, old_day, new_day = min(date_moves, key=lambda item: item[0].number)
        found.announcement = {
            "from": old_day.isoformat(),
            "to": new_day.isoformat(),
            "episodes": f"S{season.number}E{episode.number}",
        }
