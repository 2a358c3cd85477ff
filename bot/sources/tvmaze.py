"""TVmaze (https://www.tvmaze.com/api): public, no key, data under CC BY-SA.

What is asked, and why: one call per sync (`/shows/:id?embed[]=episodes&embed[]=seasons`),
a second only when specials are wanted (`/shows/:id/episodes?specials=1`: embedded episodes
leave specials out). `/updates/shows?since=day` tells which shows changed, so an hourly poll
of 2,000 linked shows costs one call plus one per changed show. Lookups by IMDb or TheTVDB
id answer `301` with the show's address in `Location`; that id is read from it rather than
following the redirect, so the show is fetched once, with its embeds.

Payloads are checked field by field: anything unexpected is a `SourceError` naming what was
wrong, and the catalog is left as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from bot.errors import InvalidInput, NotFound
from bot.sources.base import Fetched, HttpClient, SourceEpisode, SourceError, SourceLink, SourceShow
from bot.sources.rules import zone_for_country

DEFAULT_API_BASE = "https://api.tvmaze.com"

_REFERENCE_RE = re.compile(r"^(tvmaze|imdb|thetvdb):(\S+)$", re.IGNORECASE)
_IMDB_RE = re.compile(r"^tt\d{1,10}$")
_ID_RE = re.compile(r"^\d{1,10}$")


@dataclass(frozen=True)
class SearchHit:
    tvmaze_id: int
    name: str
    premiered: str | None  # YYYY-MM-DD
    network: str | None

    def label(self) -> str:
        """ "Doctor Who (2005), BBC One": how a person tells the matches apart."""
        year = f" ({self.premiered[:4]})" if self.premiered else ""
        where = f", {self.network}" if self.network else ""
        return f"{self.name}{year}{where}"

    def describe(self) -> str:
        return f"tvmaze:{self.tvmaze_id}  {self.label()}"


class AmbiguousShow(InvalidInput):
    """A title matched several shows: the list, and nothing imported."""

    def __init__(self, query: str, hits: list[SearchHit]) -> None:
        self.hits = hits
        listing = "; ".join(hit.describe() for hit in hits[:10])
        super().__init__(
            "source",
            f'{len(hits)} TVmaze shows match "{query[:80]}": {listing}.',
            hint="Import one by its id, e.g. `show import tvmaze:ID`.",
        )


class TvmazeSource:
    kind = "tvmaze"

    def __init__(self, http: HttpClient, base_url: str = DEFAULT_API_BASE) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    # ------------------------------------------------------------------ finding a show

    async def resolve(self, text: str) -> int:
        """`tvmaze:ID`, `imdb:tt…`, `thetvdb:ID` or a title -> a TVmaze show id.

        A title matching several shows raises `AmbiguousShow` (the list); none, `NotFound`.
        """
        text = " ".join(text.split())
        match = _REFERENCE_RE.match(text)
        if match is None:
            return await self._search(text)
        kind, value = match[1].lower(), match[2]
        if kind == "tvmaze":
            if not _ID_RE.match(value):
                raise InvalidInput(
                    "source", f"{value[:40]!r} is not a TVmaze id.", hint="E.g. tvmaze:36947."
                )
            return int(value)
        if (kind == "imdb" and not _IMDB_RE.match(value)) or (
            kind == "thetvdb" and not _ID_RE.match(value)
        ):
            raise InvalidInput(
                "source",
                f"{value[:40]!r} is not a valid {kind} id.",
                hint="E.g. imdb:tt7772588 or thetvdb:356202.",
            )
        response = await self.http.get(f"{self.base_url}/lookup/shows", params={kind: value})
        if response.status == 404:
            raise NotFound(f"TVmaze knows no show with {kind} id {value}.")
        location = response.headers.get("Location", "")
        found = re.search(r"/shows/(\d+)/?$", location)
        if response.status not in (301, 302) or found is None:
            raise SourceError(f"TVmaze's lookup answered {response.status} without a show")
        return int(found[1])

    async def _search(self, title: str) -> int:
        if not title:
            raise InvalidInput("source", "What should be imported?", hint=_SOURCE_HINT)
        response = await self.http.get(f"{self.base_url}/search/shows", params={"q": title})
        _expect_ok(response.status, "search")
        payload = response.json()
        if not isinstance(payload, list):
            raise SourceError("TVmaze's search answered something other than a list")
        hits = [_hit(item.get("show")) for item in payload if isinstance(item, dict)]
        if not hits:
            raise NotFound(f'TVmaze has no show called "{title[:80]}".', hint=_SOURCE_HINT)
        exact = [hit for hit in hits if hit.name.casefold() == title.casefold()]
        if len(hits) == 1 or len(exact) == 1:
            return (exact or hits)[0].tvmaze_id
        raise AmbiguousShow(title, hits)

    async def search(self, query: str, limit: int = 25) -> list[SearchHit]:
        """Shows matching `query` (autocomplete)."""
        response = await self.http.get(f"{self.base_url}/search/shows", params={"q": query})
        _expect_ok(response.status, "search")
        payload = response.json()
        if not isinstance(payload, list):
            raise SourceError("TVmaze's search answered something other than a list")
        return [_hit(item.get("show")) for item in payload if isinstance(item, dict)][:limit]

    # ------------------------------------------------------------------ reading a show

    async def fetch(self, link: SourceLink, *, now: datetime) -> Fetched:
        return Fetched(await self.fetch_show(int(link.ref), include_specials=link.include_specials))

    async def fetch_show(self, show_id: int, *, include_specials: bool = False) -> SourceShow:
        response = await self.http.get(
            f"{self.base_url}/shows/{show_id}?embed[]=episodes&embed[]=seasons"
        )
        if response.status == 404:
            raise NotFound(f"TVmaze has no show with id {show_id}.")
        _expect_ok(response.status, f"show {show_id}")
        payload = response.json()
        episodes = _field(payload, "_embedded", dict).get("episodes")
        if include_specials:
            listing = await self.http.get(
                f"{self.base_url}/shows/{show_id}/episodes", params={"specials": "1"}
            )
            _expect_ok(listing.status, f"episodes of show {show_id}")
            episodes = listing.json()
        return parse_show(payload, episodes)

    async def updated_since(self, period: str = "day") -> dict[int, int]:
        """Show id -> TVmaze's `updated` stamp, for shows changed in the last `period`."""
        response = await self.http.get(f"{self.base_url}/updates/shows", params={"since": period})
        _expect_ok(response.status, "updates")
        payload = response.json()
        if not isinstance(payload, dict):
            raise SourceError("TVmaze's updates answered something other than an object")
        try:
            return {int(key): int(value) for key, value in payload.items()}
        except (TypeError, ValueError):
            raise SourceError("TVmaze's updates hold something other than ids and stamps") from None


_SOURCE_HINT = "Give tvmaze:ID, imdb:tt…, thetvdb:ID, a title, or ics:URL."


def _expect_ok(status: int, what: str) -> None:
    if status != 200:
        raise SourceError(f"TVmaze answered {status} for {what}")


def _field(payload: Any, name: str, kind: type, *, optional: bool = False) -> Any:
    if not isinstance(payload, dict):
        raise SourceError("TVmaze answered a malformed payload (not an object)")
    value = payload.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SourceError(f"TVmaze answered a malformed payload ({name!r} is missing or wrong)")
    return value


def _hit(show: Any) -> SearchHit:
    channel = _channel(show)
    return SearchHit(
        tvmaze_id=_field(show, "id", int),
        name=_field(show, "name", str),
        premiered=_field(show, "premiered", str, optional=True),
        network=channel.get("name") if channel else None,
    )


def _channel(show: Any) -> Mapping[str, Any] | None:
    """The network, or for streaming shows the web channel (TVmaze sets one of the two)."""
    for name in ("network", "webChannel"):
        channel = _field(show, name, dict, optional=True)
        if channel:
            return channel
    return None


def parse_show(payload: Any, episodes: Any) -> SourceShow:
    """A TVmaze show object and its episode list as a `SourceShow`, or a `SourceError`."""
    show_id = _field(payload, "id", int)
    channel = _channel(payload)
    country = channel.get("country") if channel else None
    zone = None
    if isinstance(country, dict):
        zone = zone_for_country(country.get("code"), country.get("timezone"))
    if not isinstance(episodes, list):
        raise SourceError(f"TVmaze answered show {show_id} without its episode list")
    seasons = payload.get("_embedded", {}).get("seasons") or []
    season_ids = {
        season["number"]: str(season["id"])
        for season in seasons
        if isinstance(season, dict)
        and isinstance(season.get("number"), int)
        and isinstance(season.get("id"), int)
    }
    return SourceShow(
        source="tvmaze",
        source_id=str(show_id),
        title=_field(payload, "name", str),
        network=channel.get("name") if channel else None,
        timezone=zone,
        page_url=_field(payload, "url", str, optional=True),
        summary=_field(payload, "summary", str, optional=True),
        episodes=tuple(_episode(item) for item in episodes),
        season_ids=season_ids,
        updated=_field(payload, "updated", int, optional=True),
    )


def _episode(item: Any) -> SourceEpisode:
    airdate_text = _field(item, "airdate", str, optional=True) or ""
    airtime_text = _field(item, "airtime", str, optional=True) or ""
    airstamp_text = _field(item, "airstamp", str, optional=True) or ""
    number = _field(item, "number", int, optional=True)
    try:
        airdate = date.fromisoformat(airdate_text) if airdate_text else None
        airtime = time.fromisoformat(airtime_text) if airtime_text else None
        airstamp = datetime.fromisoformat(airstamp_text) if airstamp_text else None
    except ValueError:
        raise SourceError(
            f"TVmaze answered an episode with a malformed date: {item.get('id')}"
        ) from None
    if airstamp is not None and airstamp.tzinfo is None:
        raise SourceError(f"TVmaze answered an episode without a UTC offset: {item.get('id')}")
    return SourceEpisode(
        season=_field(item, "season", int),
        number=number,
        title=_field(item, "name", str, optional=True),
        airdate=airdate,
        airtime=airtime,
        airstamp=airstamp,
        kind=_field(item, "type", str, optional=True) or "regular",
        source_id=str(_field(item, "id", int)),
    )
