"""A follower's DM channel is opened once: remembered, stored for a restart, and the store
is used off the event loop (a DM fan-out must not hold the loop on the database)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from adapters.dm_channels import DmChannels
from bot.clock import FixedClock
from bot.store import open_store

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


class ThreadNotingStore:
    """The real store, noting which thread each call of it ran in."""

    def __init__(self) -> None:
        self.store = open_store(":memory:")
        self.threads: list[int] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        def noted(*args: Any, **kwargs: Any) -> Any:
            self.threads.append(threading.get_ident())
            return method(*args, **kwargs)

        return noted


async def test_opened_once_stored_and_found_again_after_a_restart() -> None:
    store = ThreadNotingStore()
    opened: list[str] = []

    async def open_channel() -> str:
        opened.append("UMEMBER")
        return "DUMEMBER"

    first = DmChannels("slack-dm", store, FixedClock(NOW))  # type: ignore[arg-type]
    assert await first.channel("T0001", "UMEMBER", open_channel) == "DUMEMBER"
    assert await first.channel("T0001", "UMEMBER", open_channel) == "DUMEMBER"
    assert opened == ["UMEMBER"]
    stored = store.store.platform_object("slack-dm", "T0001", "UMEMBER")
    assert stored is not None and stored.remote_id == "DUMEMBER"

    restarted = DmChannels("slack-dm", store, FixedClock(NOW))  # type: ignore[arg-type]
    assert await restarted.channel("T0001", "UMEMBER", open_channel) == "DUMEMBER"
    assert opened == ["UMEMBER"]  # read back from the store, not opened again
    assert await restarted.channel("T0002", "UMEMBER", open_channel) == "DUMEMBER"
    assert opened == ["UMEMBER", "UMEMBER"]  # another workspace's member is another DM

    loop_thread = threading.get_ident()
    assert len(store.threads) == 5  # read + write, read, read + write
    assert loop_thread not in store.threads


async def test_without_a_store_it_is_remembered_in_memory() -> None:
    opened: list[str] = []

    async def open_channel() -> str:
        opened.append("42")
        return "900"

    channels = DmChannels("discord-dm", None, FixedClock(NOW))
    assert await channels.channel("", "42", open_channel) == "900"
    assert await channels.channel("", "42", open_channel) == "900"
    assert opened == ["42"]
