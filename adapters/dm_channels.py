"""Followers' DM channels, for the Discord and Slack senders.

A follow's notifications go to the member's direct messages, whose channel id the platform
gives when the app opens one (Discord `POST /users/@me/channels`, Slack
`conversations.open`). Each is opened once: the id is kept in memory and in the store's
platform objects, so a restart in the middle of a DM fan-out does not open them all again.
The store is read and written in a worker thread (SqliteStore is safe to share between
threads): a fan-out to thousands of followers must not hold the event loop on the database.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from bot.clock import Clock
from bot.store import Store


class DmChannels:
    """Each follower's DM channel id on one platform (`kind`, the platform objects' kind):
    remembered, else stored, else opened once with the platform's own call and stored."""

    def __init__(self, kind: str, store: Store | None, clock: Clock) -> None:
        self.kind = kind
        self.store = store
        self.clock = clock  # stamps the stored channels
        self._known: dict[tuple[str, str], str] = {}

    async def channel(
        self, tenant: str, user: str, open_channel: Callable[[], Awaitable[str]]
    ) -> str:
        """The channel id of `user`'s DMs (in `tenant`; "" where user ids are global)."""
        key = (tenant, user)
        if key in self._known:
            return self._known[key]
        known = None
        if self.store is not None:
            known = await asyncio.to_thread(self.store.platform_object, self.kind, tenant, user)
        if known is not None:
            channel = known.remote_id
        else:
            channel = await open_channel()
            if self.store is not None:
                remember = functools.partial(
                    self.store.put_platform_object,
                    self.kind,
                    tenant,
                    user,
                    remote_id=channel,
                    payload_hash="",
                    expires_at=None,
                    now=self.clock.now(),
                )
                await asyncio.to_thread(remember)
        self._known[key] = channel
        return channel
