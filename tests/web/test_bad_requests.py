"""Bad input and abuse: short 4xx answers, no traceback, no markup from user text."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from bot.calendar import CalendarFeeds, FeedScope
from bot.commands import Commands
from bot.models import ChannelRef
from bot.store import Store
from tests.conftest import OPERATOR

NASTY = '<img src=x onerror="alert(1)"> & <script>alert(2)</script>'


async def test_titles_are_text_never_markup(
    client: TestClient, commands: Commands, feeds: CalendarFeeds
) -> None:
    commands.show_add(OPERATOR, NASTY, network="<b>Net</b>", tz="UTC", time="12:00")
    commands.season_add(OPERATOR, NASTY, 1, premiere="2031-01-03", episodes=2)
    channel = ChannelRef.parse("console:general")
    commands.subscribe(OPERATOR, channel, NASTY)
    token = feeds.token_for(FeedScope.of_channel(channel))
    page = await (await client.get(f"/calendar/{token}")).text()
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>Net" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; &lt;script&gt;" in page
    feed = await (await client.get(f"/calendar/{token}.ics")).text()
    assert "SUMMARY:<img" in feed  # iCalendar text is not HTML: calendar apps show it as is


async def test_malformed_filters_are_400_saying_what_to_use(
    client: TestClient, general_token: str
) -> None:
    for query, says in (
        ("?only=everything", "premieres-finales"),
        ("?color=red", "unknown parameter"),
        ("?show=", "show's title"),
    ):
        response = await client.get(f"/calendar/{general_token}.ics{query}")
        assert response.status == 400
        assert says in await response.text()
    long = await client.get(f"/calendar/{general_token}.ics?show=" + "x" * 2000)
    assert long.status == 414


async def test_oversized_and_odd_requests_get_4xx_without_a_traceback(
    client: TestClient, general_token: str
) -> None:
    answers = [
        await client.get("/calendar/" + "A" * 20000),  # a request line past aiohttp's limit
        await client.get("/healthz", headers={"X-Filler": "y" * 20000}),
        await client.post(f"/calendar/{general_token}.ics", data=b"x" * 100_000),
        await client.delete("/status"),
        await client.get("/calendar/..%2F..%2Fetc%2Fpasswd"),
        await client.get("/calendar/" + "A" * 30 + ".ics%00"),
    ]
    for response in answers:
        assert 400 <= response.status < 500, response.status
        body = await response.text()
        assert "Traceback" not in body and len(body) < 500


async def test_an_internal_error_is_500_with_an_id_and_no_traceback(
    client: TestClient, general_token: str, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store.db.conn.execute("DROP TABLE calendar_revisions")  # a broken database
    response = await client.get(f"/calendar/{general_token}.ics")
    assert response.status == 500
    body = await response.text()
    assert body.startswith("500: internal error (id ") and "Traceback" not in body
    error_id = body.removeprefix("500: internal error (id ").split(")")[0]
    # Our log line (the test server's own access log is not the bot's: `run` has none).
    [logged] = [r.getMessage() for r in caplog.records if r.name == "web.server"]
    assert error_id in logged and "/calendar/{token}" in logged
    assert general_token not in logged  # the secret stays out of the log


async def test_pages_carry_headers_that_keep_the_secret_url_private(
    client: TestClient, general_token: str
) -> None:
    response = await client.get(f"/calendar/{general_token}")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'sha256-" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
