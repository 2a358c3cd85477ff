"""The fake TVmaze, with the core's schedule sources pointed at it (chat adapter tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.commands import Commands
from bot.settings import Settings
from episode_bot.sources import build_sources
from fakes.tvmaze import TvmazeServer


@asynccontextmanager
async def tvmaze_for(commands: Commands) -> AsyncIterator[TvmazeServer]:
    server = await TvmazeServer().start()
    settings = Settings(
        tvmaze_api_base=server.base_url,
        episode_bot_sources_backoff_seconds=0.01,
        _env_file=None,  # type: ignore[call-arg]
    )
    commands.sources, http = build_sources(settings, commands)
    try:
        yield server
    finally:
        await http.close()
        await server.stop()
