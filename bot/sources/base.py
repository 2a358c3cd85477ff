"""What every schedule source shares: the HTTP seam, what a source answers, its errors.

Why an HTTP protocol here: the core decides what to ask and how to read the answer, but
imports no HTTP library (import-linter forbids aiohttp in bot/). The composition root hands
in an implementation (`sources_http.AiohttpClient`: rate limit, retries, User-Agent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = ""

    def json(self) -> Any:
        """The body as JSON, or a `SourceError` saying the answer was not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise SourceError(f"the answer from {self.url or 'the source'} is not JSON") from None


class HttpClient(Protocol):
    """GET with the politeness rules applied (rate limit, retries on 429/5xx/timeouts).

    Answers every status it finally got (200, 301, 304, 404); raises `SourceError` when the
    source stayed unreachable, slow or failing after its retries.
    """

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse: ...


class SourceError(Exception):
    """A source could not be read or answered something unusable; nothing was changed.

    The message is for the operator's log and `sources status`: it says what went wrong.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class SourceEpisode:
    """One episode as the source gives it, before the rules (bot.sources.rules)."""

    season: int
    number: int | None  # None: a special without a number
    title: str | None
    airdate: date | None  # local date at the network
    airtime: time | None  # None: the source publishes a date only
    airstamp: datetime | None  # the instant, when the source knows it
    kind: str = "regular"  # TVmaze: regular | significant_special | insignificant_special
    source_id: str | None = None


@dataclass(frozen=True)
class SourceShow:
    source: str  # "tvmaze" | "ics"
    source_id: str  # TVmaze show id, or the feed URL
    title: str
    network: str | None
    timezone: str | None  # the network's zone, when the source tells it
    page_url: str | None  # the show's page at the source (attribution)
    summary: str | None  # may be HTML
    episodes: tuple[SourceEpisode, ...]
    season_ids: Mapping[int, str] = field(default_factory=dict)  # season number -> source id
    updated: int | None = None  # TVmaze's `updated` stamp


@dataclass(frozen=True)
class SourceLink:
    """How a show follows its source (the `show_sources` row)."""

    show_id: int
    kind: str  # tvmaze | ics
    ref: str  # TVmaze show id, or the feed URL
    page_url: str | None = None
    series: str | None = None  # ics: which series of the feed
    include_specials: bool = False
    summary: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    source_updated: int | None = None
    last_attempt_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_result: str | None = None
    last_error: str | None = None
    next_sync_at: datetime | None = None  # set by `run`'s source jobs when they ran

    @property
    def shown_ref(self) -> str:
        """The ref as members may read it: a feed URL without its query, fragment or user
        info, where feeds keep their keys (Sonarr: `?apikey=`). `ref` itself keeps them."""
        return shown_url(self.ref) if self.kind == "ics" else self.ref


def shown_url(url: str) -> str:
    """`url` with what may be a secret (user info, query, fragment) cut off."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


@dataclass(frozen=True)
class Fetched:
    """A source's answer: the show, or None when a conditional request says "not modified"."""

    show: SourceShow | None
    etag: str | None = None
    last_modified: str | None = None


class ScheduleSource(Protocol):
    """A place schedules come from (TVmaze, an iCalendar feed)."""

    kind: str

    async def fetch(self, link: SourceLink, *, now: datetime) -> Fetched: ...
