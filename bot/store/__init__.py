"""The store: every read and write of the bot's state.

Callers import from here, never from an implementation module. `sqlite` is the embedded
default (sqlite-utils); a later backend lives beside it and passes the same contract suite
(`tests/bot/store/`).
"""

from bot.store.errors import FencedOut, StoreUnavailable
from bot.store.sqlite import (
    DELIVERY_LEASE,
    MIGRATIONS,
    OUTBOX_STATES,
    LeaseRecord,
    NewNotification,
    OutboxRow,
    PlatformObject,
    SeasonEvent,
    Store,
    from_db_time,
    to_db_time,
)

__all__ = [
    "DELIVERY_LEASE",
    "MIGRATIONS",
    "OUTBOX_STATES",
    "FencedOut",
    "LeaseRecord",
    "NewNotification",
    "OutboxRow",
    "PlatformObject",
    "SeasonEvent",
    "Store",
    "StoreUnavailable",
    "from_db_time",
    "to_db_time",
]
