"""The pages in a real browser: Debian's headless Chromium driven by Playwright.

No browser is downloaded: Playwright drives the system's `/usr/bin/chromium`
(`apt-get install chromium chromium-driver`). Without it these tests skip and say why,
unless EPISODE_BOT_REQUIRE_BROWSER=1 (set by .ci/run), where a skip would hide a gap.
Set EPISODE_BOT_SCREENSHOT=docs/calendar-page.png to refresh the README's screenshot.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.commands import Commands
from tests.conftest import OPERATOR
from tests.web.conftest import FAM
from web.server import WebContext

CHROMIUM = os.environ.get("EPISODE_BOT_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing_browser() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def chromium_path() -> str:
    reason = _missing_browser()
    if reason is not None:
        if os.environ.get("EPISODE_BOT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but cannot run: {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=FLAGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def base_url(web_context: WebContext, serve) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    server = serve(web_context)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("timezone", "premiere", "finale"),
    [
        (
            "America/New_York",
            "Friday, 10 November 2023 at 00:00",
            "Friday, 12 January 2024 at 00:00",
        ),
        ("Asia/Tokyo", "Friday, 10 November 2023 at 14:00", "Friday, 12 January 2024 at 14:00"),
    ],
)
async def test_the_calendar_page_shows_the_ten_drops_in_the_readers_timezone(
    browser, base_url: str, general_token: str, timezone: str, premiere: str, finale: str
) -> None:  # type: ignore[no-untyped-def]
    context = await browser.new_context(
        timezone_id=timezone, locale="en-GB", viewport={"width": 390, "height": 844}
    )
    page = await context.new_page()
    response = await page.goto(f"{base_url}/calendar/{general_token}")
    assert response is not None and response.status == 200
    drops = page.locator("li.drop")
    assert await drops.count() == 10
    times = [await drops.nth(n).locator("time").inner_text() for n in range(10)]
    assert times[0].startswith(premiere) and times[-1].startswith(finale)
    assert all(t.startswith("Friday") for t in times)
    assert (
        await page.locator("#zone-note").inner_text() == f"Times are in your timezone, {timezone}."
    )
    assert "Season 4 premiere" in await drops.nth(0).inner_text()
    assert "Season finale" in await drops.nth(9).inner_text()
    trailer = drops.nth(0).get_by_role("link", name="Trailer")
    assert await trailer.get_attribute("href") == "https://www.youtube.com/watch?v=0xEmwEc2JHs"
    subscribe = page.get_by_role("link", name="Subscribe in your calendar app")
    assert await subscribe.get_attribute("href") == (
        f"webcal://episodes.example.org/calendar/{general_token}.ics"
    )
    # Fits a phone: nothing wider than the screen.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    target = os.environ.get("EPISODE_BOT_SCREENSHOT")
    if target and timezone == "America/New_York":
        await page.screenshot(path=target, full_page=False)
    await context.close()


async def test_without_javascript_the_page_reads_in_the_shows_time_and_utc(
    browser, base_url: str, general_token: str
) -> None:  # type: ignore[no-untyped-def]
    context = await browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    page = await context.new_page()
    await page.goto(f"{base_url}/calendar/{general_token}")
    first = await page.locator("li.drop time").first.inner_text()
    assert first == "Friday 10 November 2023, 00:00 EST (05:00 UTC)"
    await context.close()


async def test_the_operator_page_refuses_the_browser_without_the_token(
    browser, base_url: str, fam: Commands
) -> None:  # type: ignore[no-untyped-def]
    fam.season_trailer(OPERATOR, FAM, 4, "https://example.org/second-trailer")
    context = await browser.new_context()
    page = await context.new_page()
    response = await page.goto(f"{base_url}/status")
    assert response is not None and response.status == 401
    assert "needs the operator token" in await page.locator("body").inner_text()
    await context.close()
