"""The store: every read and write of the bot's state.

Callers import from here and type against `Store` (the protocols in `protocols.py`), never
against an implementation; they get one from `open_store`. `sqlite.py` is the embedded
default; a later backend lives beside it, registers in `factory.py` and passes the same
contract suite (`tests/bot/store/`).
"""

from bot.store.errors import FencedOut, StoreUnavailable
from bot.store.factory import open_store
from bot.store.protocols import (
    CalendarStore,
    CatalogStore,
    DigestStore,
    MetaStore,
    OutboxStore,
    PlatformObjectStore,
    RequestMemoryStore,
    SeasonEventStore,
    SeasonWithEpisodes,
    SourceStore,
    Store,
    SubscriptionStore,
)
from bot.store.rows import (
    DELIVERY_LEASE,
    OUTBOX_STATES,
    AudiencePage,
    LeaseRecord,
    NewBroadcast,
    NewNotification,
    OutboxRow,
    PlatformObject,
    SeasonEvent,
    from_db_time,
    to_db_time,
)

__all__ = [
    "DELIVERY_LEASE",
    "OUTBOX_STATES",
    "AudiencePage",
    "CalendarStore",
    "CatalogStore",
    "DigestStore",
    "FencedOut",
    "LeaseRecord",
    "MetaStore",
    "NewBroadcast",
    "NewNotification",
    "OutboxRow",
    "OutboxStore",
    "PlatformObject",
    "PlatformObjectStore",
    "RequestMemoryStore",
    "SeasonEvent",
    "SeasonEventStore",
    "SeasonWithEpisodes",
    "SourceStore",
    "Store",
    "StoreUnavailable",
    "SubscriptionStore",
    "from_db_time",
    "open_store",
    "to_db_time",
]
