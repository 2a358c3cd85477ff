"""The aiohttp application: routes, their guards, and its lifecycle inside `run`.

Routes (GET and HEAD only; anything else is 405):

* `/calendar/{token}.ics`  the feed of a channel or tenant (ETag, 304), filters in the query:
                           `only=premieres-finales`, `show=TITLE`
* `/calendar/{token}`      the same drops as a page, week by week, in the reader's timezone
* `/status`                the operator page, `Authorization: Bearer EPISODE_BOT_OPERATOR_TOKEN`
* `/healthz`               200 when the loop answers, the database is reachable and this
                           process holds the delivery lease or stands by; else 503
* `/metrics`               Prometheus text format

An unknown or revoked token answers the same 404 as a path that does not exist. Store
reads run in worker threads so a big feed never holds up the bot's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.calendar import CalendarEntry, CalendarFeeds, FeedFilter, FeedScope, feed_url
from bot.clock import Clock
from bot.compose import long_date
from bot.errors import BotError
from bot.store import Store
from jobs.lease import STALE_AFTER, LeaseStanding, lease_standing
from jobs.status import status_report
from web.feed import build_ics
from web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from web.metrics import Metrics

log = logging.getLogger(__name__)

MAX_REQUEST_BODY = 16 * 1024  # every route is a GET: a large body is abuse
MAX_QUERY = 512  # characters of query string a filter needs, with room to spare
HEALTH_TIMEOUT = 3.0  # seconds the database may take to answer a health check
PAGE_LIMIT = 200  # drops on one page
MILESTONES = "premieres-finales"

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("web", "templates"),
    # Every value is escaped: a show called <script> is text, never markup.
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# The page's only script (local times), allowed by its hash and nothing else.
LOCAL_TIME_SCRIPT = _templates.loader.get_source(_templates, "localtime.js")[0]  # type: ignore[union-attr]
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(LOCAL_TIME_SCRIPT.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass
class WebContext:
    """What the web front end reads; built by the composition root."""

    store: Store
    clock: Clock
    metrics: Metrics
    public_url: str
    operator_token: str | None = None
    # The token of this process's delivery lease (jobs.lease.RunnerLease), if it has one.
    lease_token: Callable[[], str | None] = lambda: None
    # Seconds after which a heartbeat is stale (EPISODE_BOT_LEASE_SECONDS).
    lease_stale_after: float = STALE_AFTER
    # Each schedule source's state (bot.sources.service.SourceService.status), if any.
    sources_status: Callable[[], list[dict]] | None = None

    @property
    def feeds(self) -> CalendarFeeds:
        return CalendarFeeds(self.store, self.clock)


CONTEXT = web.AppKey("context", WebContext)


def create_app(context: WebContext) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BODY, middlewares=[_errors_without_traceback])
    app[CONTEXT] = context
    app.router.add_get("/calendar/{token}", calendar)
    app.router.add_get("/status", status)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.on_response_prepare.append(_security_headers)
    return app


class WebServer:
    """Starts and stops the application on HOST:PORT inside the running event loop."""

    def __init__(self, context: WebContext, host: str, port: int) -> None:
        self.runner = web.AppRunner(create_app(context), access_log=None)
        self.host, self.port = host, port

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:  # port taken, address not ours: a setting to mend
            await self.runner.cleanup()
            raise BotError(
                f"the web server cannot listen on {self.host}:{self.port}: {error.strerror}.",
                hint="Set EPISODE_BOT_WEB_PORT to a free port (0 turns the web server off).",
            ) from None
        log.info("web server listening on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        await self.runner.cleanup()


# ----------------------------------------------------------------------------- calendar


async def calendar(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    name = request.match_info["token"]
    token, is_feed = (name.removesuffix(".ics"), True) if name.endswith(".ics") else (name, False)
    feeds = context.feeds
    scope = await asyncio.to_thread(feeds.scope_for, token)
    if scope is None:
        raise web.HTTPNotFound()  # the same answer as any unknown path: nothing is revealed
    feed_filter = _feed_filter(request)
    page = feed_url(context.public_url, token, ics=False)
    if is_feed:
        entries = await asyncio.to_thread(feeds.entries, scope, feed_filter=feed_filter)
        body = build_ics(entries, name=_calendar_name(scope, feed_filter), page_url=page)
        return _conditional(request, body, "text/calendar", filename="episodes.ics")
    now = context.clock.now()
    entries = await asyncio.to_thread(feeds.entries, scope, since=now, feed_filter=feed_filter)
    query = ("?" + request.query_string) if request.query_string else ""
    ics = feed_url(context.public_url, token) + query
    html = _templates.get_template("calendar.html").render(
        title=_calendar_name(scope, feed_filter),
        weeks=_weeks(entries[:PAGE_LIMIT]),
        more=max(0, len(entries) - PAGE_LIMIT),
        feed_https=ics,
        feed_webcal="webcal://" + ics.split("://", 1)[1],
        milestones_url=page + "?only=" + MILESTONES,
        all_url=page,
        filtered=feed_filter != FeedFilter(),
        script=Markup(LOCAL_TIME_SCRIPT),  # our own file, allowed by its hash in the CSP
    )
    return _conditional(request, html.encode(), "text/html")


def _feed_filter(request: web.Request) -> FeedFilter:
    if len(request.query_string) > MAX_QUERY:
        raise web.HTTPRequestURITooLong()
    unknown = set(request.query) - {"only", "show"}
    if unknown:
        raise _bad_request(f"unknown parameter {sorted(unknown)[0]!r}; use only= or show=")
    only = request.query.get("only")
    if only not in (None, MILESTONES):
        raise _bad_request(f"only= takes {MILESTONES!r}")
    show = request.query.get("show")
    if show is not None and not show.strip():
        raise _bad_request("show= needs a show's title")
    return FeedFilter(milestones_only=only == MILESTONES, show=show.strip() if show else None)


def _calendar_name(scope: FeedScope, feed_filter: FeedFilter) -> str:
    name = f"Episodes: {scope.describe()}"
    if feed_filter.show:
        name += f", {feed_filter.show}"
    if feed_filter.milestones_only:
        name += " (premieres and finales)"
    return name


@dataclass(frozen=True)
class _PageDrop:
    entry: CalendarEntry
    utc_iso: str  # for <time datetime>, converted to the reader's zone by the script
    show_zone_text: str  # what reads well without JavaScript


def _weeks(entries: list[CalendarEntry]) -> list[tuple[str, list[_PageDrop]]]:
    """Drops grouped by the week (Monday first) of their date in the show's timezone."""

    def local(entry: CalendarEntry) -> datetime:
        return entry.release_at.astimezone(ZoneInfo(entry.timezone))

    def monday(entry: CalendarEntry) -> str:
        day = local(entry).date()
        return "Week of " + long_date(day - timedelta(days=day.weekday()))

    weeks = []
    for heading, group in groupby(entries, key=monday):
        drops = []
        for entry in group:
            at = local(entry)
            utc = entry.release_at.astimezone(UTC)
            drops.append(
                _PageDrop(
                    entry,
                    utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    f"{long_date(at.date())}, {at:%H:%M} {at.tzname()} ({utc:%H:%M} UTC)",
                )
            )
        weeks.append((heading, drops))
    return weeks


def _conditional(
    request: web.Request, body: bytes, content_type: str, *, filename: str | None = None
) -> web.Response:
    """Answer 304 when the client already holds these bytes (If-None-Match)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
    if filename:
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if_none_match = request.headers.get("If-None-Match", "")
    if etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


# ----------------------------------------------------------------------------- operator


async def status(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    if context.operator_token is None:
        raise web.HTTPNotFound()  # off unless the operator set a token
    given = request.headers.get("Authorization", "")
    scheme, _, credentials = given.partition(" ")
    authorised = scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), context.operator_token.encode()
    )
    if not authorised:
        return web.Response(
            status=401,
            text="401: this page needs the operator token "
            "(Authorization: Bearer EPISODE_BOT_OPERATOR_TOKEN).\n",
            headers={"WWW-Authenticate": 'Bearer realm="episode-bot"'},
        )
    report = await asyncio.to_thread(_operator_report, context)
    headers = {"Cache-Control": "no-store"}
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response(report, headers=headers, dumps=_json)
    html = _templates.get_template("status.html").render(title="episode-bot status", report=report)
    return web.Response(text=html, content_type="text/html", headers=headers)


def _operator_report(context: WebContext) -> dict:
    """What `episode-bot status` reports, with each schedule source's state."""
    report = status_report(context.store, context.clock.now())
    if context.sources_status is not None:
        report["sources"] = context.sources_status()
    return report


# ----------------------------------------------------------------------------- health


async def healthz(request: web.Request) -> web.Response:
    """The loop answers (this handler runs); the database and the lease are checked."""
    context = request.app[CONTEXT]
    checks: dict[str, str] = {"loop": "ok"}
    healthy = True
    try:
        standing = await asyncio.wait_for(
            asyncio.to_thread(
                functools.partial(
                    lease_standing,
                    context.store,
                    context.lease_token(),
                    stale_after=context.lease_stale_after,
                )
            ),
            HEALTH_TIMEOUT,
        )
        checks["database"] = "ok"
    except Exception as error:  # locked, closed, disk gone: not healthy, say why briefly
        checks["database"] = f"unreachable: {type(error).__name__}"
        checks["lease"] = "unknown"
        healthy = False
    else:
        # standby: another process delivers and we are ready to take over; free: nobody
        # delivers, so our heartbeat has stopped.
        checks["lease"] = str(standing)
        healthy = standing is not LeaseStanding.FREE
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return web.json_response(
        body, status=200 if healthy else 503, headers={"Cache-Control": "no-store"}
    )


async def metrics(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    body = await asyncio.to_thread(context.metrics.render)
    return web.Response(
        body=body, headers={"Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store"}
    )


# ----------------------------------------------------------------------------- guards


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=f"400: {reason}\n")


@web.middleware
async def _errors_without_traceback(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Errors answer with a short text; a bug answers 500 with an id that is in the log."""
    try:
        return await handler(request)
    except web.HTTPException:  # 4xx and 304: aiohttp's short text answer
        raise
    except Exception:
        error_id = uuid.uuid4().hex[:8]
        # The route, not the path: a calendar path carries its secret token.
        resource = request.match_info.route.resource
        where = resource.canonical if resource is not None else "?"
        log.exception("web request failed (error id %s): %s", error_id, where)
        return web.Response(status=500, text=f"500: internal error (id {error_id})\n")


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Feed URLs carry a secret: never send them on to a trailer's site as a Referer.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")


def _json(value: object) -> str:
    return json.dumps(value, default=str)
