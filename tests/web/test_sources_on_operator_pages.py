"""Schedule sources on the operator's pages: each source's state on /status, failed syncs
counted on /metrics (TVmaze faked from its documented payloads, failing with 500s)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.commands import Commands
from bot.settings import Settings
from episode_bot.sources import build_sources
from fakes.tvmaze import TvmazeServer
from tests.conftest import OPERATOR
from tests.web.conftest import OPERATOR_TOKEN
from web.server import WebContext, create_app


@pytest.fixture
async def tvmaze() -> AsyncIterator[TvmazeServer]:
    server = await TvmazeServer().start()
    yield server
    await server.stop()


async def test_a_failing_source_shows_on_status_and_counts_in_metrics(
    tvmaze: TvmazeServer, web_context: WebContext, commands: Commands
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        tvmaze_api_base=tvmaze.base_url, episode_bot_sources_backoff_seconds=0, _env_file=None
    )
    service, http = build_sources(settings, commands, observer=web_context.metrics)
    web_context.sources_status = service.status
    try:
        await service.import_show(OPERATOR, "tvmaze:36947", tz="America/New_York")
        tvmaze.fake.fail(500)
        reply = await service.sync(OPERATOR)
        assert "sync failed" in reply.text
    finally:
        await http.close()
    async with TestClient(TestServer(create_app(web_context))) as client:
        page = await (
            await client.get("/status", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        ).text()
        metrics = await (await client.get("/metrics")).text()
    assert "For All Mankind" in page and "tvmaze:36947" in page and "failed: " in page
    errors = {
        sample.labels["source"]: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "episode_bot_source_sync_errors_total"
    }
    assert errors == {"tvmaze": 1}
