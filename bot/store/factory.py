"""`open_store`: the one way in to a store, so that a new backend plugs in here only."""

from __future__ import annotations

import re
from pathlib import Path

from bot.errors import InvalidInput
from bot.store.protocols import Store

_URL = re.compile(r"^([a-z][a-z0-9+.-]*)://(.*)$", re.IGNORECASE)


def open_store(location: str | Path) -> Store:
    """Open (creating and migrating if needed) the store at `location`.

    `location` is a SQLite file path, `:memory:`, or a URL: `sqlite:///path/to/file.db`.
    Other schemes (a later `postgresql://…`) are refused with a message saying what works.
    """
    from bot.store.sqlite import SqliteStore  # the default backend, loaded on first use

    text = str(location)
    match = _URL.match(text)
    if match is None:
        return SqliteStore.open(Path(text) if text != ":memory:" else text)
    scheme, rest = match[1].lower(), match[2]
    if scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy writes them.
        return SqliteStore.open(rest[1:] if rest.startswith("/") else rest)
    raise InvalidInput(
        "db",
        f"{scheme}:// databases are not supported.",
        hint="Give a SQLite file path (or sqlite:///path.db).",
    )
