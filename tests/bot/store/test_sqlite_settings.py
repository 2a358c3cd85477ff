"""What only the SQLite store does: its file settings, indexes and where a URL opens it."""

from __future__ import annotations

from bot.store import open_store
from bot.store.sqlite import MIGRATIONS, SqliteStore


def test_a_sqlite_file_is_in_wal_mode_with_foreign_keys_and_the_plan_indexes(tmp_path):
    store = open_store(tmp_path / "bot.db")
    assert isinstance(store, SqliteStore)
    assert store.schema_version() == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    indexes = {
        row[1] for row in store.db.execute("SELECT * FROM sqlite_master WHERE type = 'index'")
    }
    assert {"subscriptions_show", "notifications_claim", "episodes_release_at"} <= indexes
    # A prefix of notifications_claim: it would only slow every outbox insert.
    assert "notifications_pending" not in indexes
    store.close()


def test_a_sqlite_url_opens_the_same_file_as_its_path(tmp_path):
    path = tmp_path / "bot.db"
    open_store(path).set_meta("k", "v")
    assert open_store(f"sqlite:///{path}").get_meta("k") == "v"
    assert open_store(":memory:").get_meta("k") is None


def test_a_database_url_of_another_kind_is_refused_saying_what_works():
    import pytest

    from bot.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not supported") as caught:
        open_store("postgresql://db.example/episodes")
    assert "sqlite:///" in str(caught.value)


def test_every_public_method_of_the_sqlite_store_is_in_the_store_protocol():
    """Callers type against `bot.store.Store`: a method added to the SQLite store only would
    be one a later store does not have. Declare it in bot/store/protocols.py (the concern it
    belongs to) and state its behaviour in tests/bot/store/."""
    import inspect

    from bot.store import Store

    not_for_callers = {"open", "audit", "db"}  # the factory's, and the store's own helpers
    declared = {name for name in dir(Store) if not name.startswith("_")}
    for name, member in vars(SqliteStore).items():
        if name.startswith("_") or name in not_for_callers or not callable(member):
            continue
        assert name in declared, f"SqliteStore.{name} is not declared in the Store protocol"
        ours = inspect.signature(member).parameters
        theirs = inspect.signature(getattr(Store, name)).parameters
        assert list(ours) == list(theirs), f"{name}: {list(ours)} != {list(theirs)}"


def test_a_second_connection_in_one_process_keeps_the_first_ones_locks(tmp_path):
    """`run` opens the database twice (the engine has its own connection). Reading the file's
    header again on the second open closed a descriptor of the file, which dropped this
    process's SQLite locks: another process's reader then took the WAL for abandoned,
    checkpointed and deleted it, and our later commits went to an unlinked file that nobody
    else could see until we exited."""
    import subprocess
    import sys

    path = tmp_path / "bot.db"
    first = open_store(path)
    second = open_store(path)
    try:
        second.set_meta("probe", "before")
        reader = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "print(c.execute(\"SELECT value FROM meta WHERE key = 'probe'\").fetchone()[0]); "
            "c.close()"
        )
        run = [sys.executable, "-c", reader, str(path)]
        assert subprocess.run(run, capture_output=True, text=True).stdout.strip() == "before"
        second.set_meta("probe", "after")  # written after another process came and went
        assert subprocess.run(run, capture_output=True, text=True).stdout.strip() == "after"
    finally:
        second.close()
        first.close()


def test_a_digest_planned_twice_before_the_upgrade_keeps_the_row_that_was_sent(tmp_path):
    """Migration 12 makes a digest's key unique; a database where a digest was already
    planned twice (on two of a channel's subscriptions) keeps the row that was posted, not
    one still pending that would post it again."""
    import sqlite3

    from bot.store.sqlite import _split_sql

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:11]:
        conn.executescript(";\n".join(_split_sql(script)) + ";")
    at, key = "2025-01-13T09:00:00Z", "digest:console:general:2025-W03"
    conn.executescript(
        f"""
        INSERT INTO shows (id, title, title_key, timezone, release_time, created_at)
            VALUES (1, 'One', 'one', 'UTC', '00:00', '{at}'),
                   (2, 'Two', 'two', 'UTC', '00:00', '{at}');
        INSERT INTO subscriptions (id, platform, tenant, channel, show_id, created_at)
            VALUES (1, 'console', 'local', 'general', 1, '{at}'),
                   (2, 'console', 'local', 'general', 2, '{at}');
        INSERT INTO messages (id, digest, body) VALUES (1, 'd', '{{}}');
        INSERT INTO notifications (subscription_id, notification_key, platform, due_at, state,
            next_attempt_at, message_id, created_at, updated_at)
            VALUES (1, '{key}', 'console', '{at}', 'pending', '{at}', 1, '{at}', '{at}'),
                   (2, '{key}', 'console', '{at}', 'sent', '{at}', 1, '{at}', '{at}');
        PRAGMA user_version = 11;
        """
    )
    conn.close()
    store = SqliteStore.open(path)
    assert store.schema_version() == len(MIGRATIONS)
    assert [(row.subscription_id, row.state) for row in store.outbox()] == [(2, "sent")]
    store.close()
