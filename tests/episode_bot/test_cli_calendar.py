"""`episode-bot calendar url CHANNEL [--rotate]`: the secret feed URL, alone on the last line."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result
from icalendar import Calendar

from bot.clock import FixedClock
from bot.store import open_store
from episode_bot.cli import cli
from tests.conftest import ANNOUNCED
from web.metrics import Metrics
from web.server import WebContext, create_app

FAM = "For All Mankind"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("EPISODE_BOT_PUBLIC_URL", "https://episodes.example.org/")
    db = tmp_path / "bot.db"

    def invoke(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    invoke("show", "add", FAM, "--tz", "America/New_York", "--time", "00:00")
    invoke("season", "add", FAM, "4", "--premiere", "2023-11-10", "--episodes", "10")
    invoke("subscribe", "console:general", FAM)
    invoke.db = db  # type: ignore[attr-defined]
    return invoke


def last_line(result: Result) -> str:
    return result.stdout.strip().splitlines()[-1]


def test_prints_the_same_url_until_rotated(run) -> None:  # type: ignore[no-untyped-def]
    first = last_line(run("calendar", "url", "console:general"))
    assert first.startswith("https://episodes.example.org/calendar/") and first.endswith(".ics")
    token = first.removeprefix("https://episodes.example.org/calendar/").removesuffix(".ics")
    assert len(token) >= 32  # 192 bits in URL-safe base64
    assert last_line(run("calendar", "url", "console:general")) == first
    rotated = last_line(run("calendar", "url", "console:general", "--rotate"))
    assert rotated != first and rotated.endswith(".ics")
    assert last_line(run("calendar", "url", "console:general")) == rotated


def test_a_tenant_gets_its_own_url(run) -> None:  # type: ignore[no-untyped-def]
    channel = last_line(run("calendar", "url", "discord:123/456"))
    tenant = last_line(run("calendar", "url", "discord:123"))
    assert channel != tenant


def test_a_bad_channel_is_exit_2_with_one_line(run) -> None:  # type: ignore[no-untyped-def]
    result = run("calendar", "url", "irc:#general", code=2)
    assert result.stderr.count("\n") == 1 and "discord:GUILD/CHANNEL" in result.stderr


async def test_the_printed_url_serves_the_feed(run) -> None:  # type: ignore[no-untyped-def]
    url = last_line(run("calendar", "url", "console:general"))
    store = open_store(run.db)
    context = WebContext(store, FixedClock(ANNOUNCED), Metrics(store), "https://x.example")
    try:
        async with TestClient(TestServer(create_app(context))) as client:
            response = await client.get(url.removeprefix("https://episodes.example.org"))
            assert response.status == 200
            assert len(Calendar.from_ical(await response.read()).walk("VEVENT")) == 10
    finally:
        store.close()
