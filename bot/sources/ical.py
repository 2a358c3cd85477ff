"""iCalendar feeds (RFC 5545): Sonarr's calendar feed, or any calendar with one event per
episode. Parsed with `icalendar`; recurring events expanded with `recurring-ical-events`.

- Season and episode numbers come from the event's SUMMARY: `S04E01`, `4x01`, and Sonarr's
  "Show - 4x01 - Title". The text before the numbers is the series, the text after them
  the episode title. A recurring event numbered `S04E01` is episodes 1, 2, 3... of its
  occurrences, in order. Events without numbers are left out.
- All-day events (DTSTART;VALUE=DATE) follow the date-only rule (bot.sources.rules).
  Timed events keep their instant: TZID and VTIMEZONE are honoured by icalendar; a floating
  time (no zone) is read in the show's zone.
- Conditional requests: the feed's ETag / Last-Modified are kept and sent back
  (If-None-Match / If-Modified-Since); `304 Not Modified` costs nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import icalendar
import recurring_ical_events

from bot.errors import InvalidInput
from bot.schedule import load_zone
from bot.sources.addresses import NOT_PUBLIC, is_public_address
from bot.sources.base import (
    Fetched,
    HttpClient,
    HttpResponse,
    SourceEpisode,
    SourceError,
    SourceLink,
    SourceShow,
)

# How far around now recurring events are expanded (an endless RRULE must stop somewhere).
EXPAND_BEFORE = timedelta(days=2 * 365)
EXPAND_AFTER = timedelta(days=2 * 365)
# How far back a recurring event is expanded only to number its occurrences from the first.
EXPAND_NUMBERING_FROM = timedelta(days=30 * 365)
MAX_FEED_BYTES = 5_000_000
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

_NUMBERS_RE = re.compile(
    r"^(?P<series>.*?)[\s\-–:|]*\b(?:S(?P<s1>\d{1,4})\s*E(?P<e1>\d{1,4})|(?P<s2>\d{1,4})x(?P<e2>\d{1,4}))\b"
    r"[\s\-–:|]*(?P<title>.*)$",
    re.IGNORECASE,
)


def feed_url(text: str) -> str:
    """The URL of `ics:URL` (http or https only), or `InvalidInput` saying how to mend it."""
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidInput(
            "source",
            f"{url[:80]!r} is not a calendar feed address.",
            hint="Give ics:https://…, e.g. Sonarr's feed URL (Calendar -> iCal Link).",
        )
    return url


async def check_public_feed(url: str) -> None:
    """Refuse a feed whose host is (or resolves to) a private, loopback, link-local or
    reserved address: a server's admin must not make the bot read the operator's own
    network (the bot's /status, a cloud metadata service). The operator's CLI may.

    This is the import's early, clear answer; what enforces it is the HTTP client chat
    feeds are read with, which checks the address it actually connects to."""
    host = urlsplit(url).hostname or ""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None)
    except (OSError, UnicodeError):
        raise InvalidInput(
            "source", f"The feed's host {host[:80]!r} cannot be found.", hint="Check the address."
        ) from None
    for *_, address in found:
        if not is_public_address(str(address[0])):
            raise InvalidInput(
                "source",
                f"The feed's host {host[:80]!r} {NOT_PUBLIC}.",
                hint="Only the bot's operator can import a feed from a private network.",
            )


class IcalSource:
    kind = "ics"

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def fetch(self, link: SourceLink, *, now: datetime) -> Fetched:
        headers = {}
        if link.etag:
            headers["If-None-Match"] = link.etag
        if link.last_modified:
            headers["If-Modified-Since"] = link.last_modified
        response = await self._get_following_redirects(link.ref, headers)
        if response.status == 304:
            return Fetched(None, link.etag, link.last_modified)
        if response.status != 200:
            raise SourceError(f"the feed answered {response.status}")
        if len(response.body) > MAX_FEED_BYTES:
            raise SourceError(f"the feed is larger than {MAX_FEED_BYTES // 1_000_000} MB")
        show = parse_feed(response.body, url=link.ref, series=link.series, now=now)
        return Fetched(show, response.headers.get("ETag"), response.headers.get("Last-Modified"))

    async def _get_following_redirects(self, url: str, headers: dict[str, str]) -> HttpResponse:
        """GET the feed, following up to `MAX_REDIRECTS` redirects (a feed moved to https,
        a calendar service's short link) to http(s) addresses only. Each hop is a request of
        its own through the same client, so a chat feed's client checks every address it
        connects to: a redirect cannot lead it into a private network."""
        for _hop in range(MAX_REDIRECTS + 1):
            response = await self.http.get(url, headers=headers)
            if response.status not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("Location")
            if not location:
                raise SourceError(f"the feed answered {response.status} without saying where to")
            try:
                url = feed_url(urljoin(url, location))
            except InvalidInput:
                # Not the address itself: it may carry a secret, and members see this.
                raise SourceError("the feed redirects to an address that is not http(s)") from None
        raise SourceError(f"the feed redirected more than {MAX_REDIRECTS} times")


def parse_feed(body: bytes, *, url: str, series: str | None, now: datetime) -> SourceShow:
    """One series of the feed as a `SourceShow` titled as in the feed.

    `series` picks it by name; None (or a name the feed lacks, when it holds one series
    only: then it is the title to give the show) takes the feed's only series.
    """
    items = _numbered_events(_calendar(body), now)
    names = sorted({item["series"] for item in items})
    if not names:
        raise SourceError(
            "the feed has no event with season and episode numbers (S04E01, 4x01) "
            "from two years ago to two years ahead"
        )
    matching = [name for name in names if series and name.casefold() == series.casefold()]
    if not matching and len(names) > 1:
        raise InvalidInput(
            "show",
            f"The feed holds {len(names)} series: {', '.join(names[:10])}.",
            hint="Pick one with --show TITLE.",
        )
    chosen_name = (matching or names)[0]
    chosen = [item for item in items if item["series"] in (chosen_name, "")]
    return SourceShow(
        source="ics",
        source_id=url,
        title=chosen_name,
        network=None,
        timezone=_feed_zone(item["episode"] for item in chosen),
        page_url=None,
        summary=None,
        episodes=tuple(item["episode"] for item in chosen),
    )


def _calendar(body: bytes) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError):
        # The parser's message quotes the feed: not something to echo into a chat.
        raise SourceError("the feed is not a valid iCalendar file") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise SourceError("the feed is not a VCALENDAR")
    return calendar


def _numbered_events(calendar: icalendar.Calendar, now: datetime) -> list[dict[str, Any]]:
    window_opens = now - EXPAND_BEFORE
    try:
        # A recurring event's occurrences are numbered from its first one (its DTSTART),
        # however long ago: counted from the window's start instead, the numbers would
        # shift by one every time the window slid past an occurrence.
        occurrences = recurring_ical_events.of(calendar).between(
            _first_recurrence(calendar, window_opens), now + EXPAND_AFTER
        )
    except Exception:  # the library's errors for bad RRULEs/dates have no common base
        raise SourceError("the feed's events have dates or rules that cannot be read") from None
    # A recurring event's occurrences share its UID: number them in order from the first.
    by_uid: dict[str, list[Any]] = defaultdict(list)
    for event in occurrences:
        by_uid[str(event.get("UID", id(event)))].append(event)
    items = []
    for uid, events in by_uid.items():
        events.sort(key=lambda e: _sort_key(e.get("DTSTART")))
        for index, event in enumerate(events):
            match = _NUMBERS_RE.match(" ".join(str(event.get("SUMMARY", "")).split()))
            start = event.get("DTSTART")
            if match is None or start is None or _instant(start.dt) < window_opens:
                continue  # (one before the window still counted in the numbering)
            season = int(match["s1"] or match["s2"])
            number = int(match["e1"] or match["e2"]) + (index if len(events) > 1 else 0)
            airdate, airtime, airstamp = _when(start.dt)
            items.append(
                {
                    "series": match["series"].strip(" -–:|"),
                    "episode": SourceEpisode(
                        season=season,
                        number=number,
                        title=match["title"].strip() or None,
                        airdate=airdate,
                        airtime=airtime,
                        airstamp=airstamp,
                        source_id=uid if len(events) == 1 else f"{uid}#{index + 1}",
                    ),
                }
            )
    return items


def _first_recurrence(calendar: icalendar.Calendar, window_opens: datetime) -> datetime:
    """Where to start expanding: the earliest start of a recurring event, if before the
    window (at most EXPAND_NUMBERING_FROM back: an endless rule from 1970 stays cheap)."""
    starts = [
        _instant(event["DTSTART"].dt)
        for event in calendar.walk("VEVENT")
        if event.get("RRULE") and event.get("DTSTART") is not None
    ]
    return max(min([window_opens, *starts]), window_opens - EXPAND_NUMBERING_FROM)


def _instant(value: date | datetime) -> datetime:
    """An event start as an aware instant, near enough to compare with the window (a date
    or a floating time is read as UTC)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _feed_zone(episodes: Iterable[SourceEpisode]) -> str | None:
    """The IANA zone the feed's events are written in (TZID), if it names one."""
    for episode in episodes:
        key = getattr(episode.airstamp and episode.airstamp.tzinfo, "key", None)
        if key and key != "UTC":
            try:
                return load_zone(key).key
            except InvalidInput:
                continue
    return None


def _sort_key(start: Any) -> str:
    value = getattr(start, "dt", None)
    return value.isoformat() if value is not None else ""


def _when(value: date | datetime) -> tuple[date | None, time | None, datetime | None]:
    """(airdate, airtime, airstamp) of an event start: a date is all-day (date only);
    an aware datetime is an instant; a floating one is a local date and time."""
    if not isinstance(value, datetime):
        return value, None, None
    if value.tzinfo is None:
        return value.date(), value.time().replace(second=0, microsecond=0), None
    return value.date(), value.timetz().replace(tzinfo=None), value
