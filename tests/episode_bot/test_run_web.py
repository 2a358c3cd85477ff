"""`run` serves the web front end in its own event loop, on the configured port."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import FixedClock
from bot.errors import BotError
from episode_bot.app import main
from tests.episode_bot.test_run import FakeAdapter, prepared, wait_for
from tests.jobs.support import FAM_DROPS
from web import healthcheck


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_run_serves_health_and_metrics_while_it_delivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    settings = prepared(tmp_path)
    settings.episode_bot_web_port = port
    adapter = FakeAdapter()
    stop = asyncio.Event()
    clock = FixedClock(FAM_DROPS[0])
    task = asyncio.create_task(main(settings, clock=clock, stop_event=stop, adapters=[adapter]))
    await wait_for(lambda: len(adapter.sender.sent) == 2, "the premiere posts")
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        async with session.get("/healthz") as response:
            assert response.status == 200
            assert (await response.json())["checks"]["lease"] == "held"
        async with session.get("/metrics") as response:
            families = {f.name: f for f in text_string_to_metric_families(await response.text())}
        assert families["episode_bot_delivery_lease_held"].samples[0].value == 1
        sent = [
            s for s in families["episode_bot_posts"].samples if s.labels.get("outcome") == "sent"
        ]
        assert sent[0].value == 2
        async with session.get("/status") as response:
            assert response.status == 404  # no EPISODE_BOT_OPERATOR_TOKEN: the page is off
    monkeypatch.setenv("EPISODE_BOT_WEB_PORT", str(port))
    assert await asyncio.to_thread(healthcheck.main) == 0  # the container's HEALTHCHECK
    stop.set()
    assert await task == 0
    with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the bot
        async with aiohttp.ClientSession() as session:
            await session.get(f"http://127.0.0.1:{port}/healthz")
    assert await asyncio.to_thread(healthcheck.main) == 1


async def test_a_taken_port_stops_start_up_with_a_setting_to_mend(tmp_path: Path) -> None:
    settings = prepared(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings.episode_bot_web_port = taken.getsockname()[1]
        with pytest.raises(BotError, match="EPISODE_BOT_WEB_PORT"):
            await main(settings, clock=FixedClock(FAM_DROPS[0]), adapters=[FakeAdapter()])
