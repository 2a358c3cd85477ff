"""A local fake of TVmaze's public API (api.tvmaze.com), for tests and bench/.

It answers from the JSON fixtures in `fakes/tvmaze_payloads/` (one file per show: the show
object as `/shows/:id?embed[]=episodes&embed[]=seasons` returns it, specials included), in
the shapes TVmaze documents:

- `GET /shows/:id` with `embed[]=episodes` and/or `embed[]=seasons` (`_embedded`; embedded
  episodes leave specials out, as TVmaze does);
- `GET /shows/:id/episodes` (`?specials=1` adds specials: `number: null`, `type:
  "significant_special"` / `"insignificant_special"`), `GET /shows/:id/seasons`;
- `GET /lookup/shows?imdb=tt…|thetvdb=N|tvrage=N`: `301 Moved Permanently` with `Location`
  pointing at the show, `404` when unknown;
- `GET /search/shows?q=` (a list of `{"score", "show"}`), `GET /singlesearch/shows?q=`;
- `GET /updates/shows?since=day|week|month`: `{"<id>": <updated timestamp>}`, only the
  shows updated in that span when the fake has a clock (`now`; without one, every show).

Quirks kept from the real service: streaming episodes carry an `airdate` and an empty
`airtime` (their `airstamp` is a made-up hour of that day in UTC), web channels replace the
network (`network: null`, `webChannel` with `country: null`), summaries are HTML. The rate
limit is TVmaze's: 20 calls in any 10 s from one address, beyond which it answers `429`
(with `Retry-After`). Tests switch on failures: a status for the next calls (500),
a malformed body, a show whose every episode is gone, a slow answer (timeouts).

Tests change a show between two syncs with `edit_show` / `set_episodes`, which also bump
the show's `updated` stamp as TVmaze does, so `/updates/shows` reports it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from fakes.serving import AppServer

# What `/updates/shows?since=` covers, in seconds (TVmaze: the last day, week or month).
UPDATE_SPANS = {"day": 86400, "week": 7 * 86400, "month": 30 * 86400}

PAYLOADS = Path(__file__).with_name("tvmaze_payloads")
FAM_ID = 36947  # For All Mankind in the fixtures
UNDER_THE_DOME_ID = 1  # broadcast, exact air times
DOCTOR_WHO_ID = 210  # specials


def load_fixture_shows() -> dict[int, dict[str, Any]]:
    """Every fixture show by id, with `_embedded.episodes` (specials too) and `.seasons`."""
    shows = {}
    for path in sorted(PAYLOADS.glob("show-*.json")):
        payload = json.loads(path.read_text())
        shows[payload["id"]] = payload
    return shows


def fam_season_4(premiere: str) -> list[dict[str, Any]]:
    """For All Mankind season 4's regular episodes weekly on Fridays from `premiere`, in the
    fixture's shape (dates only, empty airtime): used to move the premiere between syncs."""
    shows = load_fixture_shows()
    episodes = [
        e
        for e in shows[FAM_ID]["_embedded"]["episodes"]
        if e["season"] == 4 and e["type"] == "regular"
    ]
    start = date.fromisoformat(premiere)
    moved = []
    for index, episode in enumerate(episodes):
        day = (start + timedelta(weeks=index)).isoformat()
        moved.append({**episode, "airdate": day, "airstamp": f"{day}T00:00:00+00:00"})
    return moved


@dataclass
class TvmazeFake:
    """State of the fake service; tests change it between requests."""

    shows: dict[int, dict[str, Any]] = field(default_factory=load_fixture_shows)
    rate_limit: int = 20  # calls ...
    rate_window: float = 10.0  # ... per this many seconds, per client address
    retry_after: int | None = None  # the Retry-After sent with a 429 (None: time to wait)
    fail_status: int | None = None  # answer every call with this status (500, 503)
    fail_count: int = 0  # ... for this many calls (0 with fail_status set: every call)
    malformed: set[int] = field(default_factory=set)  # shows whose payload is garbage
    emptied: set[int] = field(default_factory=set)  # shows whose every episode is gone
    delay: float = 0.0  # seconds before answering (timeouts)
    requests: list[str] = field(default_factory=list)  # "GET /path?query" in order
    user_agents: list[str] = field(default_factory=list)
    rate_limited: int = 0  # how many 429s were sent
    # The fake's "now" (Unix seconds), for `since` and for `touch`; None: every show is
    # listed as updated whatever `since` says (the fixtures' stamps are of 2023).
    now: Callable[[], float] | None = None
    _calls: dict[str, deque[float]] = field(default_factory=dict)

    # ------------------------------------------------------------------ test controls

    def edit_show(self, show_id: int, **changes: Any) -> None:
        """Change fields of the show object (name, webChannel, ...) and mark it updated."""
        self.shows[show_id].update(changes)
        self.touch(show_id)

    def set_episodes(self, show_id: int, season: int, episodes: list[dict[str, Any]]) -> None:
        """Replace one season's regular episodes and mark the show updated."""
        embedded = self.shows[show_id]["_embedded"]
        kept = [e for e in embedded["episodes"] if e["season"] != season or e["type"] != "regular"]
        embedded["episodes"] = kept + episodes
        self.touch(show_id)

    def touch(self, show_id: int) -> None:
        later = self.shows[show_id]["updated"] + 3600
        self.shows[show_id]["updated"] = max(later, int(self.now())) if self.now else later

    def fail(self, status: int, count: int = 0) -> None:
        self.fail_status, self.fail_count = status, count

    def add_linked_shows(self, count: int, *, first_id: int = 500000) -> list[int]:
        """Many copies of a small fixture show (bench: thousands of linked shows)."""
        template = self.shows[UNDER_THE_DOME_ID]
        ids = []
        for offset in range(count):
            show_id = first_id + offset
            copied = copy.deepcopy(template)
            copied["id"] = show_id
            copied["name"] = f"Fixture Show {show_id}"
            copied["url"] = f"https://www.tvmaze.com/shows/{show_id}/fixture-show-{show_id}"
            self.shows[show_id] = copied
            ids.append(show_id)
        return ids

    # ------------------------------------------------------------------ HTTP

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/shows/{id}", self._show)
        app.router.add_get("/shows/{id}/episodes", self._episodes)
        app.router.add_get("/shows/{id}/seasons", self._seasons)
        app.router.add_get("/lookup/shows", self._lookup)
        app.router.add_get("/search/shows", self._search)
        app.router.add_get("/singlesearch/shows", self._singlesearch)
        app.router.add_get("/updates/shows", self._updates)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"GET {request.path_qs}")
        self.user_agents.append(request.headers.get("User-Agent", ""))
        waited = self._over_limit(request.remote or "")
        if waited is not None:
            self.rate_limited += 1
            retry = self.retry_after if self.retry_after is not None else math.ceil(waited)
            return web.json_response(
                {"name": "Too Many Requests", "message": "", "code": 0, "status": 429},
                status=429,
                headers={"Retry-After": str(retry)},
            )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_status is not None:
            status = self.fail_status
            if self.fail_count:
                self.fail_count -= 1
                if self.fail_count == 0:
                    self.fail_status = None
            return web.json_response(
                {"name": "Server Error", "message": "", "code": 0, "status": status},
                status=status,
            )
        return await handler(request)

    def _over_limit(self, address: str) -> float | None:
        """Seconds until a call is allowed again, or None if this one is within the limit."""
        now = time.monotonic()
        calls = self._calls.setdefault(address, deque())
        while calls and calls[0] <= now - self.rate_window:
            calls.popleft()
        if len(calls) >= self.rate_limit:
            return calls[0] + self.rate_window - now
        calls.append(now)
        return None

    def _find(self, request: web.Request) -> dict[str, Any]:
        try:
            show = self.shows[int(request.match_info["id"])]
        except (KeyError, ValueError):
            raise _not_found() from None
        return show

    def _bare(self, show: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in show.items() if key != "_embedded"}

    def _show_episodes(self, show: dict[str, Any], *, specials: bool) -> list[dict[str, Any]]:
        if show["id"] in self.emptied:
            return []
        episodes = show["_embedded"]["episodes"]
        if not specials:
            episodes = [e for e in episodes if e["type"] == "regular"]
        return sorted(episodes, key=lambda e: (e["airstamp"] or "", e["id"]))

    async def _show(self, request: web.Request) -> web.Response:
        show = self._find(request)
        if show["id"] in self.malformed:
            return _garbage()
        payload = self._bare(show)
        embeds = set(request.query.getall("embed[]", [])) | set(request.query.getall("embed", []))
        embedded = {}
        if "episodes" in embeds:
            embedded["episodes"] = self._show_episodes(show, specials=False)
        if "seasons" in embeds:
            embedded["seasons"] = show["_embedded"]["seasons"]
        if embedded:
            payload["_embedded"] = embedded
        return web.json_response(payload)

    async def _episodes(self, request: web.Request) -> web.Response:
        show = self._find(request)
        if show["id"] in self.malformed:
            return _garbage()
        specials = request.query.get("specials") == "1"
        return web.json_response(self._show_episodes(show, specials=specials))

    async def _seasons(self, request: web.Request) -> web.Response:
        show = self._find(request)
        return web.json_response(show["_embedded"]["seasons"])

    async def _lookup(self, request: web.Request) -> web.Response:
        for key in ("imdb", "thetvdb", "tvrage"):
            wanted = request.query.get(key)
            if wanted is None:
                continue
            for show in self.shows.values():
                if str(show["externals"].get(key)) == wanted:
                    location = f"{request.scheme}://{request.host}/shows/{show['id']}"
                    raise web.HTTPMovedPermanently(location=location)
        raise _not_found()

    def _matches(self, query: str) -> list[tuple[float, dict[str, Any]]]:
        words = set(re.findall(r"\w+", query.casefold()))
        found = []
        for show in self.shows.values():
            title = set(re.findall(r"\w+", show["name"].casefold()))
            if words and words <= title:
                found.append((round(0.9 - 0.01 * len(title - words), 4), show))
        return sorted(found, key=lambda item: (-item[0], item[1]["id"]))

    async def _search(self, request: web.Request) -> web.Response:
        hits = self._matches(request.query.get("q", ""))
        return web.json_response([{"score": s, "show": self._bare(show)} for s, show in hits])

    async def _singlesearch(self, request: web.Request) -> web.Response:
        hits = self._matches(request.query.get("q", ""))
        if not hits:
            raise _not_found()
        return web.json_response(self._bare(hits[0][1]))

    async def _updates(self, request: web.Request) -> web.Response:
        span = UPDATE_SPANS.get(request.query.get("since", ""))
        oldest = self.now() - span if self.now and span else -math.inf
        return web.json_response(
            {str(i): show["updated"] for i, show in self.shows.items() if show["updated"] >= oldest}
        )


def _not_found() -> web.HTTPNotFound:
    body = json.dumps({"name": "Not Found", "message": "", "code": 0, "status": 404})
    return web.HTTPNotFound(text=body, content_type="application/json")


def _garbage() -> web.Response:
    return web.Response(text='{"id": 36947, "name": "For All Mank', content_type="application/json")


class TvmazeServer(AppServer):
    """The fake on 127.0.0.1 and a random port; `base_url` is what TVMAZE_API_BASE takes."""

    def __init__(self, fake: TvmazeFake | None = None) -> None:
        self.fake = fake or TvmazeFake()
        super().__init__(self.fake.app())


async def _serve_forever(port: int) -> None:
    site = AppServer(TvmazeFake().app())
    await site.start(port)
    print(f"fake TVmaze on {site.base_url}: TVMAZE_API_BASE={site.base_url}", flush=True)
    await asyncio.Event().wait()  # until Ctrl-C


if __name__ == "__main__":
    # README "Follow a show from TVmaze": try the walk-through without the network.
    import argparse
    import contextlib

    parser = argparse.ArgumentParser(description="A local fake of TVmaze's API (fixtures).")
    parser.add_argument("--port", type=int, default=8765, help="0: any free port")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(parser.parse_args().port))
