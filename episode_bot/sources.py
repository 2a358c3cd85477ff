"""Building the schedule sources from settings (composition root: CLI and `run`)."""

from __future__ import annotations

from datetime import timedelta

from bot.commands import Commands
from bot.observer import Observer
from bot.settings import Settings
from bot.sources.ical import IcalSource
from bot.sources.service import SourceService, SyncIntervals
from bot.sources.tvmaze import TvmazeSource
from sources_http import AiohttpClient


def intervals_from(settings: Settings) -> SyncIntervals:
    return SyncIntervals(
        updates=timedelta(hours=settings.episode_bot_sources_updates_hours),
        before_drop=timedelta(hours=settings.episode_bot_sources_before_drop_hours),
        feeds=timedelta(hours=settings.episode_bot_ical_refresh_hours),
    )


def build_sources(
    settings: Settings,
    commands: Commands,
    http: AiohttpClient | None = None,
    observer: Observer | None = None,
) -> tuple[SourceService, AiohttpClient]:
    """The source service and its HTTP client (the caller closes the client)."""
    http = http or AiohttpClient(
        contact=settings.episode_bot_sources_contact,
        backoff=settings.episode_bot_sources_backoff_seconds,
    )
    service = SourceService(
        commands,
        TvmazeSource(http, settings.tvmaze_api_base),
        IcalSource(http),
        intervals_from(settings),
        observer=observer,
        chat_ical=IcalSource(http.public_only()),
    )
    return service, http
