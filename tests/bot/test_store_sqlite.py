"""The store: schema and migrations, SQLite settings, atomic changes, idempotent outbox."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.errors import AlreadyExists
from bot.models import Cadence, ChannelRef
from bot.store import DELIVERY_LEASE, MIGRATIONS, NewNotification, Store

NOW = datetime(2023, 9, 13, tzinfo=UTC)


def test_migrations_run_once_and_in_order(tmp_path):
    path = tmp_path / "bot.db"
    store = Store.open(path)
    assert store.schema_version() == len(MIGRATIONS)
    store.close()
    reopened = Store.open(path)  # applying again is a no-op, not an error
    assert reopened.schema_version() == len(MIGRATIONS)
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reopened.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    indexes = {
        row[1] for row in reopened.db.execute("SELECT * FROM sqlite_master WHERE type = 'index'")
    }
    assert {"subscriptions_show", "notifications_pending", "episodes_release_at"} <= indexes


def test_a_failed_multi_row_change_leaves_nothing(store):
    show = store.add_show(
        "Severance", network=None, timezone="UTC", release_time=time(0), tenant_key=None,
        actor="test", now=NOW,
    )  # fmt: skip
    season_args = dict(
        number=2, premiere=datetime(2025, 1, 17).date(), episode_count=2,
        cadence=Cadence("weekly", weekday=4), premiere_episodes=1, release_time=time(0),
        timezone="UTC", trailer_url=None, title=None, actor="test", now=NOW,
        release_instants=[datetime(2025, 1, 17, tzinfo=UTC), datetime(2025, 1, 24, tzinfo=UTC)],
    )  # fmt: skip
    store.add_season(show, **season_args)
    counts = [store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("seasons", "episodes", "season_events", "audit_log")]  # fmt: skip
    with pytest.raises(AlreadyExists):
        store.add_season(show, **season_args)
    assert counts == [store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                      for t in ("seasons", "episodes", "season_events", "audit_log")]  # fmt: skip


def test_outbox_insert_is_idempotent_per_subscription_and_key(store):
    show = store.add_show(
        "Severance", network=None, timezone="UTC", release_time=time(0), tenant_key=None,
        actor="test", now=NOW,
    )  # fmt: skip
    subscription, created = store.subscribe(
        ChannelRef.parse("console:general"), show, reminders=(), trailers=True, mention=None,
        hide_titles=False, actor="test", now=NOW,
    )  # fmt: skip
    assert created
    row = NewNotification(
        subscription_id=subscription.id, notification_key="episode:1:release",
        platform="console", due_at=NOW, state="pending", message_json="{}",
        season_id=None, episode_id=None,
    )  # fmt: skip
    assert store.insert_notifications([row, row], NOW) == 1
    assert store.insert_notifications([row], NOW) == 0
    generation = store.take_lease(DELIVERY_LEASE, expected_generation=0, holder="me", heartbeat=0)
    claimed = store.claim_due(NOW, platforms=["console"], generation=generation)
    assert [r.notification_key for r in claimed] == ["episode:1:release"]
    # claimed rows are not re-claimed
    assert store.claim_due(NOW, platforms=["console"], generation=generation) == []
    store.mark_sent(claimed[0].id, "m1", NOW, generation=generation)
    assert store.outbox_counts()["sent"] == 1
    # Unsubscribing removes the subscription's outbox rows with it.
    assert store.unsubscribe(ChannelRef.parse("console:general"), show, actor="t", now=NOW)
    assert store.outbox_counts()["sent"] == 0


def test_a_second_connection_in_one_process_keeps_the_first_ones_locks(tmp_path):
    """`run` opens the database twice (the engine has its own connection). Reading the file's
    header again on the second open closed a descriptor of the file, which dropped this
    process's SQLite locks: another process's reader then took the WAL for abandoned,
    checkpointed and deleted it, and our later commits went to an unlinked file that nobody
    else could see until we exited."""
    import subprocess
    import sys

    path = tmp_path / "bot.db"
    first = Store.open(path)
    second = Store.open(path)
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
