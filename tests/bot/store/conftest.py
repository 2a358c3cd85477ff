"""The store contract suite: every test here runs against every store implementation.

`STORE_SITES` lists them: each makes a fresh, empty database and opens handles onto it (a
second handle is a second connection, as a second process would have). Today there is
SQLite; a PostgreSQL store adds its site here and must pass the same tests unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.keys import NotificationKey
from bot.models import Cadence, ChannelRef, Season, Show, Subscription
from bot.store import DELIVERY_LEASE, NewNotification, Store, open_store

NOW = datetime(2023, 9, 13, 12, 0, tzinfo=UTC)


@dataclass
class StoreSite:
    """One fresh database, and a way to open a store (a connection) onto it."""

    open_store: Callable[[], Store]
    opened: list[Store] = field(default_factory=list)

    def open(self) -> Store:
        store = self.open_store()
        self.opened.append(store)
        return store


def sqlite_site(tmp_path: Path) -> StoreSite:
    return StoreSite(lambda: open_store(tmp_path / "contract.db"))


STORE_SITES: list[Callable[[Path], StoreSite]] = [sqlite_site]


@pytest.fixture(params=STORE_SITES, ids=lambda make: make.__name__.removesuffix("_site"))
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSite]:
    made = request.param(tmp_path)
    yield made
    for store in made.opened:
        store.close()


@pytest.fixture
def store(site: StoreSite) -> Store:
    return site.open()


# ----------------------------------------------------------------------------- builders


def lease(store: Store) -> int:
    """The delivery lease's generation, taken for a test runner if nobody holds it: every
    outbox change is fenced by it."""
    record = store.read_lease(DELIVERY_LEASE)
    if record is not None and record.holder:
        return record.generation
    generation = store.take_lease(
        DELIVERY_LEASE,
        expected_generation=record.generation if record else 0,
        holder='{"host": "test", "pid": 1, "token": "test"}',
        heartbeat=0.0,
    )
    assert generation is not None
    return generation


def add_show(store: Store, title: str = "Severance", tenant_key: str | None = None) -> Show:
    return store.add_show(
        title, network="Apple TV+", timezone="UTC", release_time=time(0),
        tenant_key=tenant_key, actor="test", now=NOW,
    )  # fmt: skip


def add_season(
    store: Store, show: Show, number: int = 1, drops: Sequence[datetime] = (), **changes
) -> Season:
    drops = list(drops) or [
        datetime(2025, 1, 17, tzinfo=UTC) + timedelta(weeks=n) for n in range(3)
    ]
    args = dict(
        number=number, premiere=drops[0].date(), episode_count=len(drops),
        cadence=Cadence("weekly", weekday=drops[0].weekday()), premiere_episodes=1,
        release_time=time(0), timezone="UTC", trailer_url=None, title=None,
        release_instants=drops, actor="test", now=NOW,
    )  # fmt: skip
    args.update(changes)
    return store.add_season(show, **args)


def subscribe(
    store: Store, channel: str, show: Show, *, reminders: Sequence[int] = ()
) -> Subscription:
    subscription, _ = store.subscribe(
        ChannelRef.parse(channel), show, reminders=reminders, trailers=True, mention=None,
        hide_titles=False, actor="test", now=NOW,
    )  # fmt: skip
    return subscription


def notification(
    subscription: Subscription,
    key: str | NotificationKey = "episode:1:release",
    due_at: datetime = NOW,
    message_json: str = '{"title": "S1E1"}',
) -> NewNotification:
    return NewNotification(
        subscription_id=subscription.id,
        notification_key=key if isinstance(key, NotificationKey) else NotificationKey.parse(key),
        platform=subscription.channel.platform, due_at=due_at, state="pending",
        message_json=message_json, season_id=None, episode_id=None,
    )  # fmt: skip
