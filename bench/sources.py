"""Sync 2,000 TVmaze-linked shows through the updates endpoint when 20 changed.

The real `SourceService.poll_updates` and `AiohttpClient` (TVmaze's limit: 20 calls per
10 s) against `fakes/tvmaze.py` enforcing that same limit with 429s. Figures: requests
made (only the changed shows should be fetched), wall time against the bound the limit
sets, and 429s met.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import Actor
from bot.settings import Settings
from bot.store import open_store
from episode_bot.sources import build_sources
from fakes.tvmaze import TvmazeServer
from sources_http import AiohttpClient

TVMAZE_CALLS, TVMAZE_WINDOW = 20, 10.0


@dataclass(frozen=True)
class SourceSyncFigures:
    linked: int
    changed: int
    requests: int
    synced: int
    wall_s: float
    bound_s: float
    status_429: int
    import_s: float


async def run_source_sync(linked: int = 2000, changed: int = 20) -> SourceSyncFigures:
    server = await TvmazeServer().start()
    fake = server.fake
    ids = fake.add_linked_shows(linked)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "sources.db")
        clock = FixedClock(datetime(2013, 6, 1, tzinfo=UTC))
        settings = Settings(tvmaze_api_base=server.base_url, _env_file=None)  # type: ignore[call-arg]
        commands = Commands(store, clock)
        # Linking 2,000 shows is set-up, not the figure: no limit on either side for it.
        fake.rate_limit = 10**9
        setup, fast = build_sources(settings, commands, AiohttpClient(calls=10**9, window=1.0))
        started = time.perf_counter()
        for show_id in ids:
            await setup.import_show(Actor.operator(), f"tvmaze:{show_id}")
        import_s = time.perf_counter() - started
        await setup.poll_updates()  # the first poll (since=month) records the stamps
        await fast.close()
        fake.rate_limit, fake.rate_window = TVMAZE_CALLS, TVMAZE_WINDOW
        fake.rate_limited = 0
        fake._calls.clear()  # the set-up's calls do not count against the measured poll
        for show_id in ids[:: linked // changed][:changed]:
            fake.touch(show_id)
        clock.advance(timedelta(hours=1))
        fake.requests.clear()
        service, http = build_sources(settings, commands)  # TVmaze's own limit
        started = time.perf_counter()
        outcomes = await service.poll_updates()
        wall = time.perf_counter() - started
        await http.close()
        store.close()
    await server.stop()
    requests = len(fake.requests)
    # n calls at 20 per 10 s: the (n-1)th call waits for floor((n-1)/20) full windows.
    bound = math.floor((requests - 1) / TVMAZE_CALLS) * TVMAZE_WINDOW
    return SourceSyncFigures(
        linked=linked,
        changed=changed,
        requests=requests,
        synced=sum(o.ok for o in outcomes),
        wall_s=wall,
        bound_s=bound,
        status_429=fake.rate_limited,
        import_s=import_s,
    )
