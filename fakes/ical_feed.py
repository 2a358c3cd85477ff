"""A local calendar-feed server: serves `fakes/ical_payloads/*.ics` as a web server or
Sonarr (`/feed/<name>.ics`) would, with `ETag` and `Last-Modified`, answering `304 Not
Modified` to a matching `If-None-Match` / `If-Modified-Since`, and `/moved/...` redirects
as a feed that moved would. Tests replace a feed's content (`feeds[name] = ...`) between two
syncs and count the requests and 304s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

PAYLOADS = Path(__file__).with_name("ical_payloads")


def load_feeds() -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in sorted(PAYLOADS.glob("*.ics"))}


@dataclass
class FeedFake:
    feeds: dict[str, bytes] = field(default_factory=load_feeds)
    requests: list[dict[str, str]] = field(default_factory=list)  # headers of each request
    not_modified: int = 0  # how many 304s were sent
    modified_at: datetime = datetime(2023, 10, 1, 12, tzinfo=UTC)

    def replace(self, name: str, body: bytes) -> None:
        self.feeds[name] = body
        self.modified_at = datetime.now(UTC).replace(microsecond=0)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/feed/{name}.ics", self._feed)
        app.router.add_get("/moved/{path:.*}", self._moved)
        return app

    async def _moved(self, request: web.Request) -> web.Response:
        """`/moved/<where>` answers 301 with `Location: /<where>` (relative, as servers often
        do): `/moved/feed/weekly.ics` leads to the feed, `/moved/moved/...` to another
        redirect; `?to=URL` redirects there instead (another scheme, another host)."""
        self.requests.append(dict(request.headers))
        location = request.query.get("to") or "/" + request.match_info["path"]
        raise web.HTTPMovedPermanently(location)

    async def _feed(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.headers))
        body = self.feeds.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        last_modified = format_datetime(self.modified_at, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified}
        if request.headers.get("If-None-Match") == etag or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == last_modified
        ):
            self.not_modified += 1
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers, content_type="text/calendar")
