"""The sources' HTTP client against local servers: User-Agent, rate limit, 429 with
Retry-After, backoff on 5xx and timeouts, and a clear error when a source stays down."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bot.sources.base import SourceError
from fakes.ical_feed import FeedFake
from fakes.serving import AppServer
from fakes.tvmaze import TvmazeServer
from sources_http import AiohttpClient, source_limiter


class Sleeps:
    """Records the waits the client asks for instead of waiting (time is not ours here)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def tvmaze():
    server = await TvmazeServer().start()
    yield server
    await server.stop()


async def test_every_request_names_the_bot_and_its_contact(tvmaze):
    async with AiohttpClient(contact="https://example.org/bot") as http:
        response = await http.get(f"{tvmaze.base_url}/shows/1")
    assert response.status == 200 and response.json()["name"] == "Under the Dome"
    assert tvmaze.fake.user_agents == ["episode-bot/0.1.0 (+https://example.org/bot)"]


async def test_staying_under_the_limit_never_meets_a_429(tvmaze):
    tvmaze.fake.rate_limit, tvmaze.fake.rate_window = 5, 0.3
    async with AiohttpClient(calls=5, window=0.3) as http:
        for _ in range(12):
            assert (await http.get(f"{tvmaze.base_url}/updates/shows")).status == 200
    assert tvmaze.fake.rate_limited == 0
    assert len(tvmaze.fake.requests) == 12


async def test_a_429_waits_for_retry_after_then_succeeds(tvmaze):
    tvmaze.fake.rate_limit, tvmaze.fake.rate_window = 1, 0.5  # Retry-After: 1
    async with AiohttpClient(calls=10, window=0.5) as http:
        await http.get(f"{tvmaze.base_url}/shows/1")
        assert (await http.get(f"{tvmaze.base_url}/shows/1")).status == 200
    assert tvmaze.fake.rate_limited == 1
    assert len(tvmaze.fake.requests) == 3


async def test_retry_after_holds_every_slot_that_long():
    now = [100.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    limiter = source_limiter(20, 10.0, monotonic=lambda: now[0], sleep=sleep)
    await limiter.acquire()
    limiter.back_off(7.0)
    await limiter.acquire()
    assert sleeps == [pytest.approx(7.0)]


async def test_5xx_backs_off_exponentially_then_gives_up_with_the_reason(tvmaze):
    tvmaze.fake.fail(503)
    sleeps = Sleeps()
    async with AiohttpClient(attempts=4, backoff=1.0, sleep=sleeps) as http:
        with pytest.raises(SourceError, match="answered 503 after 4 attempts"):
            await http.get(f"{tvmaze.base_url}/shows/1")
    assert len(tvmaze.fake.requests) == 4
    assert len(sleeps.waits) == 3  # between the attempts: 1 s, 2 s, 4 s, each +-20 % jitter
    for wait, base in zip(sleeps.waits, (1, 2, 4), strict=True):
        assert 0.8 * base <= wait <= 1.2 * base


async def test_a_5xx_that_passes_is_retried_transparently(tvmaze):
    tvmaze.fake.fail(500, count=2)
    async with AiohttpClient(backoff=0.0) as http:
        assert (await http.get(f"{tvmaze.base_url}/shows/1")).status == 200
    assert len(tvmaze.fake.requests) == 3


async def test_a_slow_source_times_out():
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/", slow)
    server = await AppServer(app).start()
    try:
        async with AiohttpClient(timeout=0.1, attempts=2, backoff=0.0) as http:
            with pytest.raises(SourceError, match=r"did not answer .*after 2 attempts"):
                await http.get(server.base_url + "/")
    finally:
        await server.stop()


async def test_redirects_are_handed_back_not_followed(tvmaze):
    async with AiohttpClient() as http:
        response = await http.get(f"{tvmaze.base_url}/lookup/shows", params={"imdb": "tt7772588"})
    assert response.status == 301
    assert response.headers["location"].endswith("/shows/36947")


async def test_the_limiter_allows_n_calls_per_window():
    now = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    limiter = source_limiter(20, 10.0, monotonic=lambda: now[0], sleep=sleep)
    for _ in range(45):
        await limiter.acquire()
    assert now[0] == pytest.approx(20.0)  # calls 21 and 41 each waited for a window


@pytest.fixture
async def feed_server():
    fake = FeedFake()
    server = await AppServer(fake.app()).start()
    yield server, fake
    await server.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_chat_client_never_connects_to_a_loopback_feed(feed_server, host):
    # The address is checked when the connection is made, after DNS ("localhost" resolves
    # there), so a host whose answer changes after a check cannot slip through.
    server, fake = feed_server
    url = server.base_url.replace("127.0.0.1", host) + "/feed/weekly.ics"
    sleeps = Sleeps()
    async with AiohttpClient(sleep=sleeps) as http:
        with pytest.raises(SourceError, match="is not a public address"):
            await http.public_only().get(url)
        assert fake.requests == [] and sleeps.waits == []  # refused at once, not retried
        response = await http.get(url)  # the operator's client reads it, as before
    assert response.status == 200 and len(fake.requests) == 1
